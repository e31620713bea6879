complete -c mqtts-pub -s A -d 'bind the local end of the connection to this address' -r -f -a "(__fish_print_hostnames)"
complete -c mqtts-pub -l cafile -d 'PEM file of trusted CA certificates; turns TLS on' -r -F
complete -c mqtts-pub -l capath -d 'directory of trusted CA certificates (c_rehash layout); turns TLS on' -r -f -a "(__fish_complete_directories)"
complete -c mqtts-pub -l cert -d 'client certificate (PEM) for TLS client authentication' -r -F
complete -c mqtts-pub -l ciphers -d 'OpenSSL cipher list for TLS 1.2 and below' -r -f
complete -c mqtts-pub -s D -l property -d 'add an MQTT v5 property to a packet (switches to MQTT v5)' -r
complete -c mqtts-pub -s f -l file -d 'send the contents of a file as the message' -r -F
complete -c mqtts-pub -s h -l host -d 'broker host name or address (default localhost)' -r -f -a "(__fish_print_hostnames)"
complete -c mqtts-pub -s i -l id -d 'client identifier' -r -f
complete -c mqtts-pub -s I -l id-prefix -d 'client identifier made of this prefix and the process id' -r -f
complete -c mqtts-pub -s k -l keepalive -d 'keepalive interval, 5..65535 seconds (default 60)' -r -f
complete -c mqtts-pub -l key -d 'private key (PEM) for the client certificate' -r -F
complete -c mqtts-pub -l keyform -d 'format of the private key' -r -f -a "pem\t''
engine\t''"
complete -c mqtts-pub -s L -l url -d 'mqtt(s)://[user[:password]@]host[:port]/topic' -r -f
complete -c mqtts-pub -s m -l message -d 'send this message' -r -f
complete -c mqtts-pub -s M -d 'maximum number of QoS 1/2 messages in flight (default 20)' -r -f
complete -c mqtts-pub -s p -l port -d 'broker port (default 1883, or 8883 with TLS); 0 means a unix socket' -r -f
complete -c mqtts-pub -s P -l pw -d 'password for authentication' -r -f
complete -c mqtts-pub -l proxy -d 'connect through a SOCKS5 proxy: socks5h://[user[:pass]@]host[:port]' -r -f
complete -c mqtts-pub -l psk -d 'TLS pre-shared key in hex (needs --psk-identity)' -r -f
complete -c mqtts-pub -l psk-identity -d 'identity for --psk' -r -f
complete -c mqtts-pub -s q -l qos -d 'quality of service (default 0)' -r -f -a "0\t''
1\t''
2\t''"
complete -c mqtts-pub -l repeat -d 'publish the message this many times' -r -f
complete -c mqtts-pub -l repeat-delay -d 'wait between repeats: seconds, or a duration such as 250ms' -r -f
complete -c mqtts-pub -s t -l topic -d 'topic to publish to, or filter to subscribe to (repeatable for mqtts-sub)' -r -f
complete -c mqtts-pub -l tls-alpn -d 'TLS ALPN protocol name' -r -f
complete -c mqtts-pub -l tls-engine -d 'OpenSSL engine for TLS' -r -f
complete -c mqtts-pub -l tls-engine-kpass-sha1 -d 'SHA1 of the key password, for the engine' -r -f
complete -c mqtts-pub -l tls-version -d 'minimum TLS version: tlsv1.3, tlsv1.2 (default) or tlsv1.1' -r -f -a "tlsv1.3\t''
tlsv1.2\t''
tlsv1.1\t''"
complete -c mqtts-pub -s u -l username -d 'user name for authentication' -r -f -a "(__fish_complete_users)"
complete -c mqtts-pub -l unix -d 'connect to a broker on this unix socket' -r -F
complete -c mqtts-pub -s V -l protocol-version -d 'MQTT version: mqttv5, mqttv311 (default) or mqttv31' -r -f -a "mqttv5\t''
mqttv311\t''
mqttv31\t''
5\t''
311\t''
31\t''"
complete -c mqtts-pub -l will-payload -d 'payload of the will message' -r -f
complete -c mqtts-pub -l will-qos -d 'QoS of the will message' -r -f -a "0\t''
1\t''
2\t''"
complete -c mqtts-pub -l will-topic -d 'topic of the will message' -r -f
complete -c mqtts-pub -s x -d 'session expiry interval (MQTT v5); -1 or ∞ for never' -r -f
complete -c mqtts-pub -l tls-max-version -d 'maximum TLS version: tlsv1.3, tlsv1.2 or tlsv1.1' -r -f -a "tlsv1.3\t''
tlsv1.2\t''
tlsv1.1\t''"
complete -c mqtts-pub -l key-password-file -d 'read the password of an encrypted --key from this file' -r -F
complete -c mqtts-pub -l pkcs12 -d 'client certificate and key from a PKCS#12 file' -r -F
complete -c mqtts-pub -l cert-expiry-warn -d 'warn when a certificate expires within this time (default 30days, 0 = off)' -r -f
complete -c mqtts-pub -s c -l disable-clean-session -d 'keep the session on the broker (needs -i)'
complete -c mqtts-pub -s d -l debug -d 'print protocol debug lines on stdout'
complete -c mqtts-pub -l help -d 'show this help and exit'
complete -c mqtts-pub -l insecure -d 'do not check that the broker certificate matches the host name'
complete -c mqtts-pub -s l -l stdin-line -d 'send each line read from stdin as a separate message'
complete -c mqtts-pub -l nodelay -d 'disable Nagle\'s algorithm (TCP_NODELAY)'
complete -c mqtts-pub -s n -l null-message -d 'send a zero-length message'
complete -c mqtts-pub -l quiet -d 'do not print error messages while running'
complete -c mqtts-pub -s r -l retain -d 'ask the broker to retain the message'
complete -c mqtts-pub -s s -l stdin-file -d 'send all of stdin as one message'
complete -c mqtts-pub -l tls-use-os-certs -d 'trust the operating system\'s CA certificates; turns TLS on'
complete -c mqtts-pub -l version -d 'show the version and exit'
complete -c mqtts-pub -l will-retain -d 'retain the will message'
