complete -c mqtts-rr -s A -d 'bind the local end of the connection to this address' -r -f -a "(__fish_print_hostnames)"
complete -c mqtts-rr -l cafile -d 'PEM file of trusted CA certificates; turns TLS on' -r -F
complete -c mqtts-rr -l capath -d 'directory of trusted CA certificates (c_rehash layout); turns TLS on' -r -f -a "(__fish_complete_directories)"
complete -c mqtts-rr -l cert -d 'client certificate (PEM) for TLS client authentication' -r -F
complete -c mqtts-rr -l ciphers -d 'OpenSSL cipher list for TLS 1.2 and below' -r -f
complete -c mqtts-rr -s D -l property -d 'add an MQTT v5 property to a packet (switches to MQTT v5)' -r
complete -c mqtts-rr -s e -d 'topic to subscribe to for the response (mqtts-rr)' -r -f
complete -c mqtts-rr -s f -l file -d 'send the contents of a file as the message' -r -F
complete -c mqtts-rr -s F -d 'print messages with a format string (% fields, @ times, \\ escapes)' -r -f
complete -c mqtts-rr -s h -l host -d 'broker host name or address (default localhost)' -r -f -a "(__fish_print_hostnames)"
complete -c mqtts-rr -s i -l id -d 'client identifier' -r -f
complete -c mqtts-rr -s I -l id-prefix -d 'client identifier made of this prefix and the process id' -r -f
complete -c mqtts-rr -s k -l keepalive -d 'keepalive interval, 5..65535 seconds (default 60)' -r -f
complete -c mqtts-rr -l key -d 'private key (PEM file, or engine key id) for the client certificate' -r -F
complete -c mqtts-rr -l keyform -d 'engine: --key names a key held by the --tls-engine engine' -r -f -a "pem\t''
engine\t''"
complete -c mqtts-rr -s L -l url -d 'mqtt(s)://[user[:password]@]host[:port]/topic, or ws(s):// for WebSockets' -r -f
complete -c mqtts-rr -s m -l message -d 'send this message' -r -f
complete -c mqtts-rr -s M -d 'maximum number of QoS 1/2 messages in flight (default 20)' -r -f
complete -c mqtts-rr -s p -l port -d 'broker port (default 1883, or 8883 with TLS); 0 means a unix socket' -r -f
complete -c mqtts-rr -s P -l pw -d 'password for authentication' -r -f
complete -c mqtts-rr -l proxy -d 'connect through a SOCKS5 proxy, which resolves the broker\'s name: socks5h://[user[:pass]@]host[:port] (port 1080)' -r -f
complete -c mqtts-rr -l psk -d 'TLS pre-shared key in hex (needs --psk-identity)' -r -f
complete -c mqtts-rr -l psk-identity -d 'identity for --psk' -r -f
complete -c mqtts-rr -s q -l qos -d 'quality of service (default 0)' -r -f -a "0\t''
1\t''
2\t''"
complete -c mqtts-rr -s t -l topic -d 'topic to publish to, or filter to subscribe to (repeatable when subscribing)' -r -f
complete -c mqtts-rr -l tls-alpn -d 'TLS ALPN protocol name' -r -f
complete -c mqtts-rr -l tls-engine -d 'OpenSSL engine to load, e.g. pkcs11 for a key in a PKCS#11 token' -r -f
complete -c mqtts-rr -l tls-engine-kpass-sha1 -d 'SHA1 of the key password, for engines with a SECRET_MODE control' -r -f
complete -c mqtts-rr -l tls-version -d 'minimum TLS version: tlsv1.3, tlsv1.2 (default) or tlsv1.1' -r -f -a "tlsv1.3\t''
tlsv1.2\t''
tlsv1.1\t''"
complete -c mqtts-rr -s u -l username -d 'user name for authentication' -r -f -a "(__fish_complete_users)"
complete -c mqtts-rr -l unix -d 'connect to a broker on this unix socket' -r -F
complete -c mqtts-rr -s V -l protocol-version -d 'MQTT version: mqttv5 (default), mqttv311 or mqttv31' -r -f -a "mqttv5\t''
mqttv311\t''
mqttv31\t''
5\t''
311\t''
31\t''"
complete -c mqtts-rr -s W -d 'give up after this many seconds' -r -f
complete -c mqtts-rr -l will-payload -d 'payload of the will message' -r -f
complete -c mqtts-rr -l will-qos -d 'QoS of the will message' -r -f -a "0\t''
1\t''
2\t''"
complete -c mqtts-rr -l will-topic -d 'topic of the will message' -r -f
complete -c mqtts-rr -s x -d 'session expiry interval (MQTT v5); -1 or ∞ for never' -r -f
complete -c mqtts-rr -l tls-max-version -d 'maximum TLS version: tlsv1.3, tlsv1.2 or tlsv1.1' -r -f -a "tlsv1.3\t''
tlsv1.2\t''
tlsv1.1\t''"
complete -c mqtts-rr -l key-password-file -d 'read the password of an encrypted --key (or a token PIN) from this file' -r -F
complete -c mqtts-rr -l pkcs12 -d 'client certificate and key from a PKCS#12 file' -r -F
complete -c mqtts-rr -l cert-expiry-warn -d 'warn when a certificate expires within this time (default 30days, 0 = off)' -r -f
complete -c mqtts-rr -l tls-server-name -d 'name to send as SNI and to check the broker\'s certificate against (default: -h)' -r -f
complete -c mqtts-rr -l pinnedpubkey -d 'the broker\'s public key must be one of these: sha256//BASE64[;...] or a key file' -r -f
complete -c mqtts-rr -l tls-keylog -d 'append TLS secrets to this file (NSS key log format, for Wireshark)' -r -F
complete -c mqtts-rr -l pw-file -d 'read the password (for -u) from the first line of this file' -r -F
complete -c mqtts-rr -s c -l disable-clean-session -d 'keep the session on the broker (needs -i)'
complete -c mqtts-rr -s d -l debug -d 'print protocol debug lines on stdout'
complete -c mqtts-rr -l help -d 'show this help and exit'
complete -c mqtts-rr -l insecure -d 'do not check that the broker certificate matches the host name'
complete -c mqtts-rr -l nodelay -d 'disable Nagle\'s algorithm (TCP_NODELAY)'
complete -c mqtts-rr -s n -l null-message -d 'send a zero-length message'
complete -c mqtts-rr -s N -d 'do not add a newline after each printed message'
complete -c mqtts-rr -l pretty -d 'indent the JSON of %j and %J'
complete -c mqtts-rr -l quiet -d 'do not print error messages while running'
complete -c mqtts-rr -s R -d 'do not print retained messages'
complete -c mqtts-rr -l retain-as-published -d 'keep the retain flag of forwarded messages (MQTT v5)'
complete -c mqtts-rr -s s -l stdin-file -d 'send all of stdin as one message'
complete -c mqtts-rr -l tls-use-os-certs -d 'trust the operating system\'s CA certificates; turns TLS on'
complete -c mqtts-rr -s v -l verbose -d 'print the topic before each message'
complete -c mqtts-rr -l version -d 'show the version and exit'
complete -c mqtts-rr -l will-retain -d 'retain the will message'
complete -c mqtts-rr -l ws -d 'MQTT over WebSockets (ws://, or wss:// with TLS), HTTP path /mqtt'
