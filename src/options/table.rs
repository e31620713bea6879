//! The option table: every option's spellings, value, owning programs and help text,
//! and the `--help` text generated from it.

use super::Client;

/// Which of our programs accept an option (`Both` = every program, rr included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clients {
    Both,
    Pub,
    Sub,
    /// mqtts-pub and mqtts-rr (the request's message).
    PubRr,
    /// mqtts-sub and mqtts-rr (the response's output).
    SubRr,
    /// mqtts-rr only.
    Rr,
}

impl Clients {
    pub fn includes(self, c: Client) -> bool {
        match self {
            Clients::Both => true,
            Clients::Pub => c == Client::Pub,
            Clients::Sub => c == Client::Sub,
            Clients::PubRr => c != Client::Sub,
            Clients::SubRr => c != Client::Pub,
            Clients::Rr => c == Client::Rr,
        }
    }
}

/// Identifies an option independently of its spellings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    BindAddress,
    Cafile,
    Capath,
    Cert,
    Ciphers,
    Count,
    DisableCleanSession,
    Debug,
    Property,
    ExitAfterSub,
    File,
    Format,
    Help,
    Host,
    Insecure,
    Id,
    IdPrefix,
    Keepalive,
    Key,
    Keyform,
    Url,
    StdinLine,
    Message,
    MaxInflight,
    Nodelay,
    NullMessage,
    NoEol,
    Port,
    Pretty,
    Password,
    Proxy,
    Psk,
    PskIdentity,
    Qos,
    Quiet,
    Retain,
    NoRetained,
    RandomFilter,
    RemoveRetained,
    Repeat,
    RepeatDelay,
    RetainAsPublished,
    RetainedOnly,
    StdinFile,
    Topic,
    FilterOut,
    TlsAlpn,
    TlsEngine,
    TlsEngineKpassSha1,
    TlsUseOsCerts,
    TlsVersion,
    Unsubscribe,
    Username,
    Unix,
    ProtocolVersion,
    Verbose,
    Version,
    ResponseTopic,
    Timeout,
    WillPayload,
    WillQos,
    WillRetain,
    WillTopic,
    Ws,
    SessionExpiry,
    TlsMaxVersion,
    KeyPasswordFile,
    Pkcs12,
    CertExpiryWarn,
    TlsServerName,
    PinnedPubkey,
    TlsKeylog,
    PwFile,
    TopicSeparator,
}

/// One row of [`OPTIONS`].
#[derive(Clone, Copy, Debug)]
pub struct OptSpec {
    pub key: Key,
    /// Short spelling, e.g. `-t`.
    pub short: Option<&'static str>,
    /// Long spelling, e.g. `--topic`.
    pub long: Option<&'static str>,
    /// Value name(s) shown in usage; None for a flag.
    pub value: Option<&'static str>,
    /// Which programs accept it (the other one says `Unknown option`).
    pub clients: Clients,
    /// For options with a value: the end of the "argument given but …" error (mosquitto's words).
    pub missing: &'static str,
    /// false for mqtts's own options (not in mosquitto 2.0).
    pub mosquitto: bool,
    /// One-line help text.
    pub help: &'static str,
}

impl OptSpec {
    /// The help text as `client` shows it (mqtts-rr defaults to MQTT v5, as mosquitto_rr).
    pub fn help_for(&self, client: Client) -> &'static str {
        match (client, self.key) {
            (Client::Rr, Key::ProtocolVersion) => {
                "MQTT version: mqttv5 (default), mqttv311 or mqttv31"
            }
            _ => self.help,
        }
    }

    /// The name mosquitto uses in its "argument given but" messages.
    pub fn label(&self) -> &'static str {
        if self.key == Key::ProtocolVersion {
            return "--protocol-version";
        }
        self.short.or(self.long).unwrap_or("")
    }
}

const fn o(
    key: Key,
    short: Option<&'static str>,
    long: Option<&'static str>,
    value: Option<&'static str>,
    clients: Clients,
    missing: &'static str,
    help: &'static str,
) -> OptSpec {
    OptSpec {
        key,
        short,
        long,
        value,
        clients,
        missing,
        mosquitto: true,
        help,
    }
}

const fn ext(
    key: Key,
    long: &'static str,
    value: &'static str,
    missing: &'static str,
    help: &'static str,
) -> OptSpec {
    OptSpec {
        key,
        short: None,
        long: Some(long),
        value: Some(value),
        clients: Clients::Both,
        missing,
        mosquitto: false,
        help,
    }
}

use Clients::{Both, Pub as P, PubRr as PR, Rr as R, Sub as S, SubRr as SR};

/// Every option of mqtts-pub, mqtts-sub and mqtts-rr: spellings, value, owning programs, help.
///
/// This table is the single source of truth: the parser looks options up here (exact
/// whole-word match, no abbreviations), `usage()` prints it, completions are generated from
/// it and the man pages are checked against it. Rows with `mosquitto: false` are mqtts
/// extensions. Options mosquitto 2.0 does not have (`-o`, `-S`, …) are absent
/// and therefore rejected as unknown, as mosquitto's clients 2.0 reject them.
pub static OPTIONS: &[OptSpec] = &[
    o(
        Key::BindAddress,
        Some("-A"),
        None,
        Some("address"),
        Both,
        "no address specified",
        "bind the local end of the connection to this address",
    ),
    o(
        Key::Cafile,
        None,
        Some("--cafile"),
        Some("file"),
        Both,
        "no file specified",
        "PEM file of trusted CA certificates; turns TLS on",
    ),
    o(
        Key::Capath,
        None,
        Some("--capath"),
        Some("dir"),
        Both,
        "no directory specified",
        "directory of trusted CA certificates (c_rehash layout); turns TLS on",
    ),
    o(
        Key::Cert,
        None,
        Some("--cert"),
        Some("file"),
        Both,
        "no file specified",
        "client certificate (PEM) for TLS client authentication",
    ),
    o(
        Key::Ciphers,
        None,
        Some("--ciphers"),
        Some("list"),
        Both,
        "no ciphers specified",
        "OpenSSL cipher list for TLS 1.2 and below",
    ),
    o(
        Key::Count,
        Some("-C"),
        None,
        Some("count"),
        S,
        "no count specified",
        "exit after this many messages",
    ),
    o(
        Key::DisableCleanSession,
        Some("-c"),
        Some("--disable-clean-session"),
        None,
        Both,
        "",
        "keep the session on the broker (needs -i)",
    ),
    o(
        Key::Debug,
        Some("-d"),
        Some("--debug"),
        None,
        Both,
        "",
        "print protocol debug lines on stdout",
    ),
    o(
        Key::Property,
        Some("-D"),
        Some("--property"),
        Some("command name value"),
        Both,
        "",
        "add an MQTT v5 property to a packet (switches to MQTT v5)",
    ),
    o(
        Key::ResponseTopic,
        Some("-e"),
        None,
        Some("topic"),
        R,
        "no response topic specified",
        "topic to subscribe to for the response (mqtts-rr)",
    ),
    o(
        Key::ExitAfterSub,
        Some("-E"),
        None,
        None,
        S,
        "",
        "exit as soon as the subscription is acknowledged",
    ),
    o(
        Key::File,
        Some("-f"),
        Some("--file"),
        Some("file"),
        PR,
        "no file specified",
        "send the contents of a file as the message",
    ),
    o(
        Key::Format,
        Some("-F"),
        None,
        Some("format"),
        SR,
        "no format specified",
        "print messages with a format string (% fields, @ times, \\ escapes)",
    ),
    o(
        Key::Help,
        None,
        Some("--help"),
        None,
        Both,
        "",
        "show this help and exit",
    ),
    o(
        Key::Host,
        Some("-h"),
        Some("--host"),
        Some("host"),
        Both,
        "no host specified",
        "broker host name or address (default localhost)",
    ),
    o(
        Key::Insecure,
        None,
        Some("--insecure"),
        None,
        Both,
        "",
        "do not check that the broker certificate matches the host name",
    ),
    o(
        Key::Id,
        Some("-i"),
        Some("--id"),
        Some("id"),
        Both,
        "no id specified",
        "client identifier",
    ),
    o(
        Key::IdPrefix,
        Some("-I"),
        Some("--id-prefix"),
        Some("prefix"),
        Both,
        "no id prefix specified",
        "client identifier made of this prefix and the process id",
    ),
    o(
        Key::Keepalive,
        Some("-k"),
        Some("--keepalive"),
        Some("seconds"),
        Both,
        "no keepalive specified",
        "keepalive interval, 5..65535 seconds (default 60)",
    ),
    o(
        Key::Key,
        None,
        Some("--key"),
        Some("file"),
        Both,
        "no file specified",
        "private key (PEM file, or engine key id) for the client certificate",
    ),
    o(
        Key::Keyform,
        None,
        Some("--keyform"),
        Some("pem|engine"),
        Both,
        "no keyform specified",
        "engine: --key names a key held by the --tls-engine engine",
    ),
    o(
        Key::Url,
        Some("-L"),
        Some("--url"),
        Some("url"),
        Both,
        "no URL specified",
        "mqtt(s)://[user[:password]@]host[:port]/topic, or ws(s):// for WebSockets",
    ),
    o(
        Key::StdinLine,
        Some("-l"),
        Some("--stdin-line"),
        None,
        P,
        "",
        "send each line read from stdin as a separate message",
    ),
    o(
        Key::Message,
        Some("-m"),
        Some("--message"),
        Some("message"),
        PR,
        "no message specified",
        "send this message",
    ),
    o(
        Key::MaxInflight,
        Some("-M"),
        None,
        Some("count"),
        Both,
        "max_inflight not specified",
        "maximum number of QoS 1/2 messages in flight (default 20)",
    ),
    o(
        Key::Nodelay,
        None,
        Some("--nodelay"),
        None,
        Both,
        "",
        "disable Nagle's algorithm (TCP_NODELAY)",
    ),
    o(
        Key::NullMessage,
        Some("-n"),
        Some("--null-message"),
        None,
        PR,
        "",
        "send a zero-length message",
    ),
    o(
        Key::NoEol,
        Some("-N"),
        None,
        None,
        SR,
        "",
        "do not add a newline after each printed message",
    ),
    o(
        Key::Port,
        Some("-p"),
        Some("--port"),
        Some("port"),
        Both,
        "no port specified",
        "broker port (default 1883, or 8883 with TLS); 0 means a unix socket",
    ),
    o(
        Key::Pretty,
        None,
        Some("--pretty"),
        None,
        SR,
        "",
        "indent the JSON of %j and %J",
    ),
    o(
        Key::Password,
        Some("-P"),
        Some("--pw"),
        Some("password"),
        Both,
        "no password specified",
        "password for authentication",
    ),
    o(
        Key::Proxy,
        None,
        Some("--proxy"),
        Some("socks-url"),
        Both,
        "no proxy url specified",
        "connect through a SOCKS5 proxy, which resolves the broker's name: socks5h://[user[:pass]@]host[:port] (port 1080)",
    ),
    o(
        Key::Psk,
        None,
        Some("--psk"),
        Some("hex-key"),
        Both,
        "no key specified",
        "TLS pre-shared key in hex (needs --psk-identity)",
    ),
    o(
        Key::PskIdentity,
        None,
        Some("--psk-identity"),
        Some("identity"),
        Both,
        "no identity specified",
        "identity for --psk",
    ),
    o(
        Key::Qos,
        Some("-q"),
        Some("--qos"),
        Some("0|1|2"),
        Both,
        "no QoS specified",
        "quality of service (default 0)",
    ),
    o(
        Key::Quiet,
        None,
        Some("--quiet"),
        None,
        Both,
        "",
        "do not print error messages while running",
    ),
    o(
        Key::Retain,
        Some("-r"),
        Some("--retain"),
        None,
        P,
        "",
        "ask the broker to retain the message",
    ),
    o(
        Key::NoRetained,
        Some("-R"),
        None,
        None,
        SR,
        "",
        "do not print retained messages",
    ),
    o(
        Key::RandomFilter,
        None,
        Some("--random-filter"),
        Some("chance"),
        S,
        "no chance specified",
        "print only some messages, chosen at random (as mosquitto_sub)",
    ),
    o(
        Key::RemoveRetained,
        None,
        Some("--remove-retained"),
        None,
        S,
        "",
        "clear each retained message that is received",
    ),
    o(
        Key::Repeat,
        None,
        Some("--repeat"),
        Some("count"),
        P,
        "no count specified",
        "publish the message this many times",
    ),
    o(
        Key::RepeatDelay,
        None,
        Some("--repeat-delay"),
        Some("time"),
        P,
        "no time specified",
        "wait between repeats: seconds, or a duration such as 250ms",
    ),
    o(
        Key::RetainAsPublished,
        None,
        Some("--retain-as-published"),
        None,
        SR,
        "",
        "keep the retain flag of forwarded messages (MQTT v5)",
    ),
    o(
        Key::RetainedOnly,
        None,
        Some("--retained-only"),
        None,
        S,
        "",
        "print only retained messages; stop at the first live one",
    ),
    o(
        Key::StdinFile,
        Some("-s"),
        Some("--stdin-file"),
        None,
        PR,
        "",
        "send all of stdin as one message",
    ),
    o(
        Key::Topic,
        Some("-t"),
        Some("--topic"),
        Some("topic"),
        Both,
        "no topic specified",
        "topic to publish to, or filter to subscribe to (repeatable when subscribing)",
    ),
    o(
        Key::FilterOut,
        Some("-T"),
        Some("--filter-out"),
        Some("filter"),
        S,
        "no topic filter specified",
        "ignore messages whose topic matches this filter (repeatable)",
    ),
    o(
        Key::TlsAlpn,
        None,
        Some("--tls-alpn"),
        Some("protocol"),
        Both,
        "no protocol specified",
        "TLS ALPN protocol name",
    ),
    o(
        Key::TlsEngine,
        None,
        Some("--tls-engine"),
        Some("engine"),
        Both,
        "no engine_id specified",
        "OpenSSL engine to load, e.g. pkcs11 for a key in a PKCS#11 token",
    ),
    o(
        Key::TlsEngineKpassSha1,
        None,
        Some("--tls-engine-kpass-sha1"),
        Some("sha1"),
        Both,
        "no kpass sha1 specified",
        "SHA1 of the key password, for engines with a SECRET_MODE control",
    ),
    o(
        Key::TlsUseOsCerts,
        None,
        Some("--tls-use-os-certs"),
        None,
        Both,
        "",
        "trust the operating system's CA certificates; turns TLS on",
    ),
    o(
        Key::TlsVersion,
        None,
        Some("--tls-version"),
        Some("version"),
        Both,
        "no version specified",
        "minimum TLS version: tlsv1.3, tlsv1.2 (default) or tlsv1.1",
    ),
    o(
        Key::Unsubscribe,
        Some("-U"),
        Some("--unsubscribe"),
        Some("filter"),
        S,
        "no unsubscribe topic specified",
        "unsubscribe from this filter (repeatable)",
    ),
    o(
        Key::Username,
        Some("-u"),
        Some("--username"),
        Some("username"),
        Both,
        "no username specified",
        "user name for authentication",
    ),
    o(
        Key::Unix,
        None,
        Some("--unix"),
        Some("path"),
        Both,
        "no socket path specified",
        "connect to a broker on this unix socket",
    ),
    o(
        Key::ProtocolVersion,
        Some("-V"),
        Some("--protocol-version"),
        Some("version"),
        Both,
        "no version specified",
        "MQTT version: mqttv5, mqttv311 (default) or mqttv31",
    ),
    o(
        Key::Verbose,
        Some("-v"),
        Some("--verbose"),
        None,
        SR,
        "",
        "print the topic before each message",
    ),
    o(
        Key::Version,
        None,
        Some("--version"),
        None,
        Both,
        "",
        "show the version and exit",
    ),
    o(
        Key::Timeout,
        Some("-W"),
        None,
        Some("seconds"),
        SR,
        "no timeout specified",
        "give up after this many seconds",
    ),
    o(
        Key::WillPayload,
        None,
        Some("--will-payload"),
        Some("payload"),
        Both,
        "no will payload specified",
        "payload of the will message",
    ),
    o(
        Key::WillQos,
        None,
        Some("--will-qos"),
        Some("0|1|2"),
        Both,
        "no will QoS specified",
        "QoS of the will message",
    ),
    o(
        Key::WillRetain,
        None,
        Some("--will-retain"),
        None,
        Both,
        "",
        "retain the will message",
    ),
    o(
        Key::WillTopic,
        None,
        Some("--will-topic"),
        Some("topic"),
        Both,
        "no will topic specified",
        "topic of the will message",
    ),
    // mosquitto 2.1's spelling (develop branch); 2.0 has no WebSockets.
    OptSpec {
        key: Key::Ws,
        short: None,
        long: Some("--ws"),
        value: None,
        clients: Both,
        missing: "",
        mosquitto: false,
        help: "MQTT over WebSockets (ws://, or wss:// with TLS), HTTP path /mqtt",
    },
    o(
        Key::SessionExpiry,
        Some("-x"),
        None,
        Some("seconds"),
        Both,
        "no session expiry interval specified",
        "session expiry interval (MQTT v5); -1 or \u{221e} for never",
    ),
    ext(
        Key::TlsMaxVersion,
        "--tls-max-version",
        "version",
        "no version specified",
        "maximum TLS version: tlsv1.3, tlsv1.2 or tlsv1.1",
    ),
    ext(
        Key::KeyPasswordFile,
        "--key-password-file",
        "file",
        "no file specified",
        "read the password of an encrypted --key (or a token PIN) from this file",
    ),
    ext(
        Key::Pkcs12,
        "--pkcs12",
        "file",
        "no file specified",
        "client certificate and key from a PKCS#12 file",
    ),
    ext(
        Key::CertExpiryWarn,
        "--cert-expiry-warn",
        "duration",
        "no duration specified",
        "warn when a certificate expires within this time (default 30days, 0 = off)",
    ),
    ext(
        Key::TlsServerName,
        "--tls-server-name",
        "name",
        "no name specified",
        "name to send as SNI and to check the broker's certificate against (default: -h)",
    ),
    ext(
        Key::PinnedPubkey,
        "--pinnedpubkey",
        "pins",
        "no public key specified",
        "the broker's public key must be one of these: sha256//BASE64[;...] or a key file",
    ),
    ext(
        Key::TlsKeylog,
        "--tls-keylog",
        "file",
        "no file specified",
        "append TLS secrets to this file (NSS key log format, for Wireshark)",
    ),
    ext(
        Key::PwFile,
        "--pw-file",
        "file",
        "no file specified",
        "read the password (for -u) from the first line of this file",
    ),
    OptSpec {
        key: Key::TopicSeparator,
        short: None,
        long: Some("--topic-separator"),
        value: Some("sep"),
        clients: P,
        missing: "no separator specified",
        mosquitto: false,
        help: "with -l: each line is TOPIC sep PAYLOAD, published on TOPIC",
    },
];

/// The table row for an argv word, if it is an option of either program.
pub fn lookup(word: &[u8]) -> Option<&'static OptSpec> {
    OPTIONS.iter().find(|s| {
        s.short.is_some_and(|x| x.as_bytes() == word)
            || s.long.is_some_and(|x| x.as_bytes() == word)
    })
}

/// The `--help` text, generated from [`OPTIONS`], for the program invoked as `name`
/// (see `invoked_name`): the usage line says `name`; the header, the man page and the
/// config files keep the real name.
pub fn usage(client: Client, name: &str) -> String {
    let mut out = String::new();
    let (what, synopsis) = match client {
        Client::Pub => (
            "publish one message (or a stream of lines) to an MQTT broker and exit",
            "{-t topic | -L url} {-m message | -f file | -s | -l | -n} [options]",
        ),
        Client::Sub => (
            "subscribe to MQTT topics and print the messages that arrive",
            "{-t filter ... | -L url} [options]",
        ),
        Client::Rr => (
            "publish a request and print the first response that arrives",
            "{-t topic | -L url} -e response-topic {-m message | -f file | -s | -n} [options]",
        ),
    };
    let real = format!("{} {}", client.name(), env!("CARGO_PKG_VERSION"));
    let title = if name == client.name() {
        real
    } else {
        format!("{name} ({real})")
    };
    out.push_str(&format!(
        "{title}: {what}.\nDrop-in replacement for {} 2.0 (same options, output and exit codes).\n\n",
        client.mosquitto_name()
    ));
    out.push_str(&format!("Usage: {name} {synopsis}\n\n"));
    let rows: Vec<(String, &str)> = OPTIONS
        .iter()
        .filter(|s| s.clients.includes(client))
        .map(|s| {
            let mut names = Vec::new();
            names.extend(s.short);
            names.extend(s.long);
            let mut left = names.join(", ");
            if let Some(v) = s.value {
                left.push(' ');
                left.push_str(v);
            }
            (left, s.help_for(client))
        })
        .collect();
    let width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0).min(34);
    for (left, help) in rows {
        if left.len() > width {
            out.push_str(&format!(" {left}\n {:width$}  {help}\n", ""));
        } else {
            out.push_str(&format!(" {left:width$}  {help}\n"));
        }
    }
    out.push_str(&format!(
        "\nDefaults are read first from $XDG_CONFIG_HOME/{0} (or ~/.config/{0}),\n\
         falling back to {1}'s file in the same place: one option per line.\n\
         See {0}(1) for details.\n",
        client.name(),
        client.mosquitto_name()
    ));
    out
}
