complete -c mqtts-sub -s A -d 'bind the local end of the connection to this address' -r -f -a "(__fish_print_hostnames)"
complete -c mqtts-sub -l cafile -d 'PEM file of trusted CA certificates; turns TLS on' -r -F
complete -c mqtts-sub -l capath -d 'directory of trusted CA certificates (c_rehash layout); turns TLS on' -r -f -a "(__fish_complete_directories)"
complete -c mqtts-sub -l cert -d 'client certificate (PEM) for TLS client authentication' -r -F
complete -c mqtts-sub -l ciphers -d 'OpenSSL cipher list for TLS 1.2 and below' -r -f
complete -c mqtts-sub -s C -d 'exit after this many messages' -r -f
complete -c mqtts-sub -s D -l property -d 'add an MQTT v5 property to a packet (switches to MQTT v5)' -r
complete -c mqtts-sub -s F -d 'print messages with a format string (% fields, @ times, \\ escapes)' -r -f
complete -c mqtts-sub -s h -l host -d 'broker host name or address (default localhost)' -r -f -a "(__fish_print_hostnames)"
complete -c mqtts-sub -s i -l id -d 'client identifier' -r -f
complete -c mqtts-sub -s I -l id-prefix -d 'client identifier made of this prefix and the process id' -r -f
complete -c mqtts-sub -s k -l keepalive -d 'keepalive interval, 5..65535 seconds (default 60)' -r -f
complete -c mqtts-sub -l key -d 'private key (PEM) for the client certificate' -r -F
complete -c mqtts-sub -l keyform -d 'format of the private key' -r -f -a "pem\t''
engine\t''"
complete -c mqtts-sub -s L -l url -d 'mqtt(s)://[user[:password]@]host[:port]/topic' -r -f
complete -c mqtts-sub -s M -d 'maximum number of QoS 1/2 messages in flight (default 20)' -r -f
complete -c mqtts-sub -s p -l port -d 'broker port (default 1883, or 8883 with TLS); 0 means a unix socket' -r -f
complete -c mqtts-sub -s P -l pw -d 'password for authentication' -r -f
complete -c mqtts-sub -l proxy -d 'connect through a SOCKS5 proxy: socks5h://[user[:pass]@]host[:port]' -r -f
complete -c mqtts-sub -l psk -d 'TLS pre-shared key in hex (needs --psk-identity)' -r -f
complete -c mqtts-sub -l psk-identity -d 'identity for --psk' -r -f
complete -c mqtts-sub -s q -l qos -d 'quality of service (default 0)' -r -f -a "0\t''
1\t''
2\t''"
complete -c mqtts-sub -l random-filter -d 'print only some messages, chosen at random (as mosquitto_sub)' -r -f
complete -c mqtts-sub -s t -l topic -d 'topic to publish to, or filter to subscribe to (repeatable for mqtts-sub)' -r -f
complete -c mqtts-sub -s T -l filter-out -d 'ignore messages whose topic matches this filter (repeatable)' -r -f
complete -c mqtts-sub -l tls-alpn -d 'TLS ALPN protocol name' -r -f
complete -c mqtts-sub -l tls-engine -d 'OpenSSL engine for TLS' -r -f
complete -c mqtts-sub -l tls-engine-kpass-sha1 -d 'SHA1 of the key password, for the engine' -r -f
complete -c mqtts-sub -l tls-version -d 'minimum TLS version: tlsv1.3, tlsv1.2 (default) or tlsv1.1' -r -f -a "tlsv1.3\t''
tlsv1.2\t''
tlsv1.1\t''"
complete -c mqtts-sub -s U -l unsubscribe -d 'unsubscribe from this filter (repeatable)' -r -f
complete -c mqtts-sub -s u -l username -d 'user name for authentication' -r -f -a "(__fish_complete_users)"
complete -c mqtts-sub -l unix -d 'connect to a broker on this unix socket' -r -F
complete -c mqtts-sub -s V -l protocol-version -d 'MQTT version: mqttv5, mqttv311 (default) or mqttv31' -r -f -a "mqttv5\t''
mqttv311\t''
mqttv31\t''
5\t''
311\t''
31\t''"
complete -c mqtts-sub -s W -d 'give up after this many seconds' -r -f
complete -c mqtts-sub -l will-payload -d 'payload of the will message' -r -f
complete -c mqtts-sub -l will-qos -d 'QoS of the will message' -r -f -a "0\t''
1\t''
2\t''"
complete -c mqtts-sub -l will-topic -d 'topic of the will message' -r -f
complete -c mqtts-sub -s x -d 'session expiry interval (MQTT v5); -1 or ∞ for never' -r -f
complete -c mqtts-sub -l tls-max-version -d 'maximum TLS version: tlsv1.3, tlsv1.2 or tlsv1.1' -r -f -a "tlsv1.3\t''
tlsv1.2\t''
tlsv1.1\t''"
complete -c mqtts-sub -l key-password-file -d 'read the password of an encrypted --key from this file' -r -F
complete -c mqtts-sub -l pkcs12 -d 'client certificate and key from a PKCS#12 file' -r -F
complete -c mqtts-sub -l cert-expiry-warn -d 'warn when a certificate expires within this time (default 30days, 0 = off)' -r -f
complete -c mqtts-sub -s c -l disable-clean-session -d 'keep the session on the broker (needs -i)'
complete -c mqtts-sub -s d -l debug -d 'print protocol debug lines on stdout'
complete -c mqtts-sub -s E -d 'exit as soon as the subscription is acknowledged'
complete -c mqtts-sub -l help -d 'show this help and exit'
complete -c mqtts-sub -l insecure -d 'do not check that the broker certificate matches the host name'
complete -c mqtts-sub -l nodelay -d 'disable Nagle\'s algorithm (TCP_NODELAY)'
complete -c mqtts-sub -s N -d 'do not add a newline after each printed message'
complete -c mqtts-sub -l pretty -d 'indent the JSON of %j and %J'
complete -c mqtts-sub -l quiet -d 'do not print error messages while running'
complete -c mqtts-sub -s R -d 'do not print retained messages'
complete -c mqtts-sub -l remove-retained -d 'clear each retained message that is received'
complete -c mqtts-sub -l retain-as-published -d 'keep the retain flag of forwarded messages (MQTT v5)'
complete -c mqtts-sub -l retained-only -d 'print only retained messages; stop at the first live one'
complete -c mqtts-sub -l tls-use-os-certs -d 'trust the operating system\'s CA certificates; turns TLS on'
complete -c mqtts-sub -s v -l verbose -d 'print the topic before each message'
complete -c mqtts-sub -l version -d 'show the version and exit'
complete -c mqtts-sub -l will-retain -d 'retain the will message'
