//! Command-line options, parsed exactly as mosquitto_pub/mosquitto_sub 2.0 parse them.
//!
//! One table ([`OPTIONS`]) lists every option: its spellings, whether it takes a value,
//! which client accepts it and its help text. The parser walks argv (and config-file
//! lines, see `config_file`) against that table. The same table generates completions and
//! is checked against the man pages, so a flag is defined, parsed and documented here.
//!
//! Why not clap's parser: mosquitto takes a value verbatim even when it starts with `-`,
//! has no `--opt=value` form, no bundling, applies options in order (`-D` switches to v5 at
//! that point, the last of `-p`/`-L`/`--unix` wins) and prints its own error texts. clap
//! cannot express that, so clap is used only to generate completions from the table.

/// Which program is parsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    Pub,
    Sub,
}

impl Client {
    /// The mosquitto program this one replaces (used in the help line).
    pub fn mosquitto_name(self) -> &'static str {
        match self {
            Client::Pub => "mosquitto_pub",
            Client::Sub => "mosquitto_sub",
        }
    }
    /// Our program name.
    pub fn name(self) -> &'static str {
        match self {
            Client::Pub => "mqtts-pub",
            Client::Sub => "mqtts-sub",
        }
    }
}

/// MQTT protocol version as given by `-V`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Protocol {
    V31,
    #[default]
    V311,
    V5,
}

/// Where a pub message comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageSource {
    /// `-m`: argv bytes.
    Message(Vec<u8>),
    /// `-f`: the whole file.
    File(std::path::PathBuf),
    /// `-s`: all of stdin.
    StdinFile,
    /// `-l`: one message per stdin line.
    StdinLine,
    /// `-n`: zero-length.
    Null,
}

/// One `-D CMD NAME VALUE` property, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropertyArg {
    /// connect, publish, subscribe, unsubscribe, disconnect or will (lower case).
    pub command: String,
    /// MQTT v5 property identifier (e.g. 0x26 for user-property).
    pub id: u8,
    pub value: PropertyValue,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PropertyValue {
    Int(u32),
    String(String),
    Binary(Vec<u8>),
    Pair(String, String),
}

/// TLS settings from the command line (mosquitto's flags plus mqtts's own).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsArgs {
    pub cafile: Option<String>,
    pub capath: Option<String>,
    pub cert: Option<String>,
    pub key: Option<String>,
    pub keyform: Option<String>,
    pub ciphers: Option<String>,
    pub tls_version: Option<String>,
    pub tls_max_version: Option<String>,
    pub tls_alpn: Option<String>,
    pub tls_engine: Option<String>,
    pub tls_engine_kpass_sha1: Option<String>,
    pub insecure: bool,
    pub use_os_certs: bool,
    pub psk: Option<String>,
    pub psk_identity: Option<String>,
    pub key_password_file: Option<String>,
    pub pkcs12: Option<String>,
    /// `--cert-expiry-warn`; None = default (30 days).
    pub cert_expiry_warn: Option<std::time::Duration>,
}

/// Everything the command line and config file said, after mosquitto's cross-option checks.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub client: Client,
    pub host: String,
    /// `-p` / `-L` port; None = default (1883, or 8883 with --cafile/--capath/--psk).
    pub port: Option<u16>,
    /// `--unix PATH` (or `-p 0`): connect to a unix socket at `host`.
    pub unix_socket: bool,
    /// `-L mqtts://`: TLS with the OS trust store.
    pub url_tls: bool,
    pub bind_address: Option<String>,
    pub id: Option<String>,
    pub id_prefix: Option<String>,
    pub keepalive: u16,
    pub clean_session: bool,
    pub protocol: Protocol,
    pub qos: u8,
    pub username: Option<String>,
    pub password: Option<String>,
    pub debug: bool,
    pub quiet: bool,
    pub nodelay: bool,
    pub max_inflight: u32,
    /// `-x`: session expiry interval (v5); None = not given.
    pub session_expiry: Option<u32>,
    pub properties: Vec<PropertyArg>,
    pub will_topic: Option<String>,
    pub will_payload: Option<Vec<u8>>,
    pub will_qos: u8,
    pub will_retain: bool,
    /// `--proxy` URL as given.
    pub proxy: Option<String>,
    /// `--proxy` split and decoded (mosquitto's rules, including `%40` → `:`).
    pub proxy_args: Option<ProxyArgs>,
    pub tls: TlsArgs,
    /// `-L …:PORT` outside 0..=65535 (mosquitto does not check it at parse time; connecting
    /// then fails with `Unable to connect (Invalid arguments provided.).`). `port` is None then.
    pub port_invalid: Option<i32>,

    // pub
    /// pub: the topic (last -t wins); sub: all -t filters in order.
    pub topics: Vec<String>,
    pub message: Option<MessageSource>,
    pub retain: bool,
    pub repeat: u32,
    pub repeat_delay: std::time::Duration,

    // sub
    pub filter_out: Vec<String>,
    pub unsubscribe: Vec<String>,
    pub count: Option<u32>,
    pub timeout: Option<u32>,
    pub no_retained: bool,
    pub exit_after_sub: bool,
    pub eol: bool,
    pub verbose: bool,
    pub format: Option<String>,
    pub pretty: bool,
    pub retained_only: bool,
    pub remove_retained: bool,
    /// `--random-filter` percentage (100 = print all).
    pub random_filter: f64,
    pub retain_as_published: bool,
}

/// `--proxy socks5h://[user[:pass]@]host[:port]`, split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyArgs {
    pub host: String,
    /// 1080 when not given.
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// What the parser decided instead of a set of options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    Run,
    /// `--help`: usage on stdout, exit 1.
    Help,
    /// `--version`: version line on stdout, exit 1.
    Version,
}

/// A command line mosquitto rejects: the exact stderr text and whether the help line follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError {
    /// Exact text for stderr, with mosquitto's trailing newlines (one or two).
    pub message: String,
    /// Print `\nUse 'mqtts-pub --help' to see usage.\n` after it.
    pub help_line: bool,
    /// pub without topic or message: the full usage goes to stdout instead of the help line.
    pub usage_on_stdout: bool,
}

use std::ffi::OsString;
use std::time::Duration;

// ───────────────────────────── the option table ─────────────────────────────

/// Which of our two programs accept an option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clients {
    Both,
    Pub,
    Sub,
}

impl Clients {
    pub fn includes(self, c: Client) -> bool {
        match self {
            Clients::Both => true,
            Clients::Pub => c == Client::Pub,
            Clients::Sub => c == Client::Sub,
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
    Timeout,
    WillPayload,
    WillQos,
    WillRetain,
    WillTopic,
    SessionExpiry,
    TlsMaxVersion,
    KeyPasswordFile,
    Pkcs12,
    CertExpiryWarn,
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

use Clients::{Both, Pub as P, Sub as S};

/// Every option of mqtts-pub and mqtts-sub: spellings, value, owning programs, help.
///
/// This table is the single source of truth: the parser looks options up here (exact
/// whole-word match, no abbreviations), `usage()` prints it, completions are generated from
/// it and the man pages are checked against it. Rows with `mosquitto: false` are mqtts
/// extensions. Options mosquitto 2.0 does not have (`-o`, `-e`, `-S`, `--ws`, …) are absent
/// and therefore rejected as unknown, as mosquitto_pub/mosquitto_sub 2.0 reject them.
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
        P,
        "no file specified",
        "send the contents of a file as the message",
    ),
    o(
        Key::Format,
        Some("-F"),
        None,
        Some("format"),
        S,
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
        "private key (PEM) for the client certificate",
    ),
    o(
        Key::Keyform,
        None,
        Some("--keyform"),
        Some("pem|engine"),
        Both,
        "no keyform specified",
        "format of the private key",
    ),
    o(
        Key::Url,
        Some("-L"),
        Some("--url"),
        Some("url"),
        Both,
        "no URL specified",
        "mqtt(s)://[user[:password]@]host[:port]/topic",
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
        P,
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
        P,
        "",
        "send a zero-length message",
    ),
    o(
        Key::NoEol,
        Some("-N"),
        None,
        None,
        S,
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
        S,
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
        "connect through a SOCKS5 proxy: socks5h://[user[:pass]@]host[:port]",
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
        S,
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
        S,
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
        P,
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
        "topic to publish to, or filter to subscribe to (repeatable for mqtts-sub)",
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
        "OpenSSL engine for TLS",
    ),
    o(
        Key::TlsEngineKpassSha1,
        None,
        Some("--tls-engine-kpass-sha1"),
        Some("sha1"),
        Both,
        "no kpass sha1 specified",
        "SHA1 of the key password, for the engine",
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
        S,
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
        S,
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
        "read the password of an encrypted --key from this file",
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
];

/// The table row for an argv word, if it is an option of either program.
pub fn lookup(word: &[u8]) -> Option<&'static OptSpec> {
    OPTIONS.iter().find(|s| {
        s.short.is_some_and(|x| x.as_bytes() == word)
            || s.long.is_some_and(|x| x.as_bytes() == word)
    })
}

// ───────────────────────────── C number semantics ─────────────────────────────

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// C `strtol` on a byte string: returns (value, bytes consumed; 0 = no number).
/// `base0` = base 0 (0x… hex, 0… octal); otherwise base 10. Saturates like glibc.
fn strtol(s: &[u8], base0: bool) -> (i64, usize) {
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let mut base = 10u32;
    if base0 && i < s.len() && s[i] == b'0' {
        if s.get(i + 1).is_some_and(|c| c | 0x20 == b'x')
            && s.get(i + 2).is_some_and(|c| c.is_ascii_hexdigit())
        {
            base = 16;
            i += 2;
        } else {
            base = 8;
        }
    }
    let start = i;
    let mut acc: i128 = 0;
    while i < s.len() {
        let d = match (s[i] as char).to_digit(base) {
            Some(d) => d,
            None => break,
        };
        if acc <= i64::MAX as i128 + 1 {
            acc = acc * base as i128 + d as i128;
        }
        i += 1;
    }
    if i == start {
        // "0x" without hex digits parses the "0" (octal branch handles it); else nothing.
        return (0, 0);
    }
    let v = if neg { -acc } else { acc };
    let v = v.clamp(i64::MIN as i128, i64::MAX as i128) as i64;
    (v, i)
}

/// C `atol`.
pub fn atol(s: &[u8]) -> i64 {
    strtol(s, false).0
}

/// C `atoi` (glibc: `(int)strtol(s, NULL, 10)`, so out-of-range values wrap).
pub fn atoi(s: &[u8]) -> i32 {
    atol(s) as i32
}

/// C `atof` (`strtod` prefix): leading spaces, sign, decimal with exponent, inf, nan, hex.
pub fn atof(s: &[u8]) -> f64 {
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let t = &s[i..];
    let (neg, t) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let sign = if neg { -1.0 } else { 1.0 };
    let lower: Vec<u8> = t.iter().take(8).map(|b| b.to_ascii_lowercase()).collect();
    if lower.starts_with(b"inf") {
        return sign * f64::INFINITY;
    }
    if lower.starts_with(b"nan") {
        return f64::NAN;
    }
    if lower.starts_with(b"0x") {
        // Hexadecimal float: 0xH[.H][pE]
        let mut j = 2;
        let mut mant = 0f64;
        let mut digits = 0;
        let mut exp: i64 = 0;
        while j < t.len() && t[j].is_ascii_hexdigit() {
            mant = mant * 16.0 + (t[j] as char).to_digit(16).unwrap_or(0) as f64;
            j += 1;
            digits += 1;
        }
        if j < t.len() && t[j] == b'.' {
            j += 1;
            while j < t.len() && t[j].is_ascii_hexdigit() {
                mant = mant * 16.0 + (t[j] as char).to_digit(16).unwrap_or(0) as f64;
                exp -= 4;
                j += 1;
                digits += 1;
            }
        }
        if digits == 0 {
            return 0.0;
        }
        if j < t.len() && (t[j] | 0x20) == b'p' {
            let (e, used) = strtol(&t[j + 1..], false);
            let first = t.get(j + 1).copied().unwrap_or(b' ');
            if used > 0 && !is_c_space(first) {
                exp = exp.saturating_add(e);
            }
        }
        return sign * mant * 2f64.powi(exp.clamp(-4000, 4000) as i32);
    }
    let mut j = 0;
    let mut digits = 0;
    while j < t.len() && t[j].is_ascii_digit() {
        j += 1;
        digits += 1;
    }
    if j < t.len() && t[j] == b'.' {
        j += 1;
        while j < t.len() && t[j].is_ascii_digit() {
            j += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return 0.0;
    }
    let mut end = j;
    if j < t.len() && (t[j] | 0x20) == b'e' {
        let mut k = j + 1;
        if k < t.len() && (t[k] == b'+' || t[k] == b'-') {
            k += 1;
        }
        let ds = k;
        while k < t.len() && t[k].is_ascii_digit() {
            k += 1;
        }
        if k > ds {
            end = k;
        }
    }
    let text = std::str::from_utf8(&t[..end]).unwrap_or("0");
    let text = text.strip_suffix('.').unwrap_or(text);
    let text = if text.starts_with('.') {
        format!("0{text}")
    } else {
        text.to_string()
    };
    sign * text.parse::<f64>().unwrap_or(0.0)
}

// ───────────────────────────── topics and UTF-8 ─────────────────────────────

/// mosquitto's UTF-8 check (`mosquitto_validate_utf8`): well-formed, no surrogates, no
/// overlongs, no U+FDD0..FDEF or xFFFE/xFFFF non-characters, no C0/C1 controls, ≤ 65536 bytes.
pub fn valid_mqtt_utf8(s: &[u8]) -> bool {
    if s.len() > 65536 {
        return false;
    }
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        let (len, mut cp) = match b {
            0 => return false,
            0x01..=0x7f => (1, b as u32),
            0xc0 | 0xc1 => return false,
            _ if b & 0xe0 == 0xc0 => (2, (b & 0x1f) as u32),
            _ if b & 0xf0 == 0xe0 => (3, (b & 0x0f) as u32),
            _ if b & 0xf8 == 0xf0 => {
                if b > 0xf4 {
                    return false;
                }
                (4, (b & 0x07) as u32)
            }
            _ => return false,
        };
        if i + len > s.len() {
            return false;
        }
        for k in 1..len {
            let c = s[i + k];
            if c & 0xc0 != 0x80 {
                return false;
            }
            cp = (cp << 6) | (c & 0x3f) as u32;
        }
        if (0xd800..=0xdfff).contains(&cp)
            || (len == 3 && cp < 0x800)
            || (len == 4 && !(0x10000..=0x10ffff).contains(&cp))
            || (0xfdd0..=0xfdef).contains(&cp)
            || cp & 0xffff == 0xfffe
            || cp & 0xffff == 0xffff
            || cp <= 0x1f
            || (0x7f..=0x9f).contains(&cp)
        {
            return false;
        }
        i += len;
    }
    true
}

/// Publish topic check: no `+` or `#`, at most 65535 bytes.
pub fn pub_topic_ok(t: &[u8]) -> bool {
    !t.iter().any(|&b| b == b'+' || b == b'#') && t.len() <= 65535
}

/// Subscription filter check: `+` and `#` only as whole levels, `#` only last.
pub fn sub_topic_ok(t: &[u8]) -> bool {
    let mut prev = 0u8;
    for (i, &c) in t.iter().enumerate() {
        let next = t.get(i + 1).copied().unwrap_or(0);
        if c == b'+' {
            if (prev != 0 && prev != b'/') || (next != 0 && next != b'/') {
                return false;
            }
        } else if c == b'#' && ((prev != 0 && prev != b'/') || next != 0) {
            return false;
        }
        prev = c;
    }
    t.len() <= 65535
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

// ───────────────────────────── -D / --property ─────────────────────────────

/// MQTT v5 property value types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropType {
    Byte,
    Int16,
    Int32,
    Varint,
    Binary,
    String,
    StringPair,
}

impl PropType {
    /// mosquitto's numeric type code (used in its "Error adding property" message).
    fn code(self) -> u8 {
        match self {
            PropType::Byte => 1,
            PropType::Int16 => 2,
            PropType::Int32 => 3,
            PropType::Varint => 4,
            PropType::Binary => 5,
            PropType::String => 6,
            PropType::StringPair => 7,
        }
    }
}

/// All MQTT v5 property names mosquitto knows (matched case-insensitively), their
/// identifiers and value types.
pub static PROPERTIES: &[(&str, u8, PropType)] = &[
    ("payload-format-indicator", 1, PropType::Byte),
    ("message-expiry-interval", 2, PropType::Int32),
    ("content-type", 3, PropType::String),
    ("response-topic", 8, PropType::String),
    ("correlation-data", 9, PropType::Binary),
    ("subscription-identifier", 11, PropType::Varint),
    ("session-expiry-interval", 17, PropType::Int32),
    ("assigned-client-identifier", 18, PropType::String),
    ("server-keep-alive", 19, PropType::Int16),
    ("authentication-method", 21, PropType::String),
    ("authentication-data", 22, PropType::Binary),
    ("request-problem-information", 23, PropType::Byte),
    ("will-delay-interval", 24, PropType::Int32),
    ("request-response-information", 25, PropType::Byte),
    ("response-information", 26, PropType::String),
    ("server-reference", 28, PropType::String),
    ("reason-string", 31, PropType::String),
    ("receive-maximum", 33, PropType::Int16),
    ("topic-alias-maximum", 34, PropType::Int16),
    ("topic-alias", 35, PropType::Int16),
    ("maximum-qos", 36, PropType::Byte),
    ("retain-available", 37, PropType::Byte),
    ("user-property", 38, PropType::StringPair),
    ("maximum-packet-size", 39, PropType::Int32),
    ("wildcard-subscription-available", 40, PropType::Byte),
    ("subscription-identifier-available", 41, PropType::Byte),
    ("shared-subscription-available", 42, PropType::Byte),
];

/// Packet names `-D` understands (case-insensitive), in mosquitto's spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    Connect,
    Connack,
    Publish,
    Puback,
    Pubrec,
    Pubrel,
    Pubcomp,
    Subscribe,
    Unsubscribe,
    Disconnect,
    Auth,
    Will,
}

const CMDS: &[(&str, Cmd)] = &[
    ("connect", Cmd::Connect),
    ("connack", Cmd::Connack),
    ("publish", Cmd::Publish),
    ("puback", Cmd::Puback),
    ("pubrec", Cmd::Pubrec),
    ("pubrel", Cmd::Pubrel),
    ("pubcomp", Cmd::Pubcomp),
    ("subscribe", Cmd::Subscribe),
    ("unsubscribe", Cmd::Unsubscribe),
    ("disconnect", Cmd::Disconnect),
    ("auth", Cmd::Auth),
    ("will", Cmd::Will),
];

fn cmd_name(c: Cmd) -> &'static str {
    CMDS.iter()
        .find(|(_, x)| *x == c)
        .map(|(n, _)| *n)
        .unwrap_or("")
}

/// May property `id` appear in packet `cmd` (MQTT v5 table as mosquitto encodes it)?
fn prop_allowed(cmd: Cmd, id: u8) -> bool {
    use Cmd::*;
    match id {
        1 | 2 | 3 | 8 | 9 => matches!(cmd, Publish | Will),
        11 => matches!(cmd, Publish | Subscribe),
        17 => matches!(cmd, Connect | Connack | Disconnect),
        21 | 22 => matches!(cmd, Connect | Connack | Auth),
        18 | 19 | 26 | 36 | 37 | 40 | 41 | 42 => cmd == Connack,
        24 => cmd == Will,
        23 | 25 => cmd == Connect,
        28 => matches!(cmd, Connack | Disconnect),
        31 => !matches!(cmd, Connect | Publish | Subscribe | Unsubscribe),
        33 | 34 | 39 => matches!(cmd, Connect | Connack),
        35 => cmd == Publish,
        38 => true,
        _ => false,
    }
}

fn prop_err(text: String) -> UsageError {
    UsageError {
        message: text,
        help_line: true,
        usage_on_stdout: false,
    }
}

/// Parse `-D` words starting at `args[at]` (the command). Returns the property and how many
/// words were consumed.
fn parse_property(args: &[Vec<u8>], at: usize) -> Result<(PropertyArg, usize), UsageError> {
    let not_enough = || {
        prop_err("Error: --property argument given but not enough arguments specified.\n\n".into())
    };
    if at + 2 >= args.len() {
        return Err(not_enough());
    }
    let cmdname = &args[at];
    let cmd = CMDS
        .iter()
        .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(cmdname))
        .map(|(_, c)| *c)
        .ok_or_else(|| {
            prop_err("Error: Invalid command given in --property argument.\n\n".into())
        })?;
    let propname = &args[at + 1];
    let &(_, id, ty) = PROPERTIES
        .iter()
        .find(|(n, _, _)| n.as_bytes().eq_ignore_ascii_case(propname))
        .ok_or_else(|| {
            prop_err("Error: Invalid property name given in --property argument.\n\n".into())
        })?;
    let (pn, cn) = (lossy(propname), lossy(cmdname));
    if !prop_allowed(cmd, id) {
        return Err(prop_err(format!(
            "Error: {pn} property not allowed for {cn} in --property argument.\n\n"
        )));
    }
    let (key, value, used) = if ty == PropType::StringPair {
        if at + 3 >= args.len() {
            return Err(not_enough());
        }
        (Some(&args[at + 2]), &args[at + 3], 4)
    } else {
        (None, &args[at + 2], 3)
    };
    let unsupported = || {
        prop_err(format!(
            "Error: {pn} property not supported for {cn} in --property argument.\n\n"
        ))
    };
    match cmd {
        Cmd::Publish if id == 11 => return Err(unsupported()),
        Cmd::Subscribe if id != 11 && id != 38 => return Err(unsupported()),
        Cmd::Auth | Cmd::Puback | Cmd::Pubrec | Cmd::Pubrel | Cmd::Pubcomp => {
            return Err(unsupported());
        }
        // mosquitto: suback/unsuback would be "not supported" too, but they are not packet
        // names it parses; connack passes the checks and then fails without a message.
        Cmd::Connack => return Err(prop_err(String::new())),
        _ => {}
    }
    let adding_failed = || prop_err(format!("Error adding property {pn} {}\n", ty.code()));
    let range = |max: i64| -> Result<u32, UsageError> {
        let v = atol(value);
        if v < 0 || v > max {
            return Err(prop_err(format!(
                "Error: Property value ({v}) out of range for property {pn}.\n\n"
            )));
        }
        Ok(v as u32)
    };
    let value = match ty {
        PropType::Byte => PropertyValue::Int(range(255)?),
        PropType::Int16 => PropertyValue::Int(range(65535)?),
        PropType::Int32 => PropertyValue::Int(range(u32::MAX as i64)?),
        PropType::Varint => {
            let v = range(u32::MAX as i64)?;
            if v > 268_435_455 {
                return Err(adding_failed());
            }
            PropertyValue::Int(v)
        }
        PropType::Binary => {
            if value.len() > 65535 {
                return Err(prop_err(format!(
                    "Error: Property value too long for property {pn}.\n\n"
                )));
            }
            PropertyValue::Binary(value.clone())
        }
        PropType::String => {
            if !valid_mqtt_utf8(value) {
                return Err(adding_failed());
            }
            PropertyValue::String(lossy(value))
        }
        PropType::StringPair => {
            let k = key.map(|k| k.as_slice()).unwrap_or(b"");
            if !valid_mqtt_utf8(k) {
                return Err(adding_failed());
            }
            // mosquitto 2.0 checks only the name of a user property, not its value.
            PropertyValue::Pair(lossy(k), lossy(value))
        }
    };
    Ok((
        PropertyArg {
            command: cmd_name(cmd).to_string(),
            id,
            value,
        },
        used,
    ))
}

/// mosquitto_property_check_all for one packet's list: value sanity, then duplicates.
/// Err holds mosquitto_strerror's text.
fn check_props(cmd: Cmd, props: &[&PropertyArg]) -> Result<(), &'static str> {
    const PROTOCOL: &str = "A network protocol error occurred when communicating with the broker.";
    for (i, p) in props.iter().enumerate() {
        let bad = match (&p.value, p.id) {
            (PropertyValue::Int(v), 1 | 23 | 25 | 36 | 37 | 40 | 41 | 42) => *v > 1,
            (PropertyValue::Int(v), 39 | 33 | 35) => *v == 0,
            (PropertyValue::String(t), 8) => t.is_empty() || !pub_topic_ok(t.as_bytes()),
            _ => false,
        };
        if bad || !prop_allowed(cmd, p.id) {
            return Err(PROTOCOL);
        }
        if p.id != 38 && props[i + 1..].iter().any(|q| q.id == p.id) {
            return Err("Duplicate property in property list");
        }
    }
    Ok(())
}

// ───────────────────────────── the parser ─────────────────────────────

fn err(message: impl Into<String>) -> UsageError {
    UsageError {
        message: message.into(),
        help_line: true,
        usage_on_stdout: false,
    }
}

/// Parser state, close to mosquitto's own config structure (raw C-like values).
struct State {
    client: Client,
    host: Option<Vec<u8>>,
    /// -1 = not given.
    port: i32,
    bind_address: Option<Vec<u8>>,
    id: Option<Vec<u8>>,
    id_prefix: Option<Vec<u8>>,
    keepalive: i32,
    clean_session: bool,
    protocol: Protocol,
    qos: i32,
    username: Option<Vec<u8>>,
    password: Option<Vec<u8>>,
    debug: bool,
    quiet: bool,
    nodelay: bool,
    max_inflight: i32,
    /// -1 = not given.
    session_expiry: i64,
    properties: Vec<PropertyArg>,
    will_topic: Option<Vec<u8>>,
    will_payload: Option<Vec<u8>>,
    will_qos: i32,
    will_retain: bool,
    proxy: Option<Vec<u8>>,
    proxy_args: Option<ProxyArgs>,
    tls: TlsArgs,
    url_tls: bool,
    pub_topic: Option<String>,
    sub_topics: Vec<String>,
    message: Option<MessageSource>,
    retain: bool,
    repeat: i32,
    repeat_delay: Duration,
    filter_out: Vec<String>,
    unsubscribe: Vec<String>,
    count: Option<u32>,
    timeout: Option<u32>,
    no_retained: bool,
    exit_after_sub: bool,
    eol: bool,
    verbose: bool,
    format: Option<String>,
    pretty: bool,
    retained_only: bool,
    remove_retained: bool,
    /// mosquitto's unit: 1/100 percent (10000 = all).
    random_filter: i32,
    retain_as_published: bool,
}

impl State {
    fn new(client: Client) -> State {
        State {
            client,
            host: None,
            port: -1,
            bind_address: None,
            id: None,
            id_prefix: None,
            keepalive: 60,
            clean_session: true,
            protocol: Protocol::V311,
            qos: 0,
            username: None,
            password: None,
            debug: false,
            quiet: false,
            nodelay: false,
            max_inflight: 20,
            session_expiry: -1,
            properties: Vec::new(),
            will_topic: None,
            will_payload: None,
            will_qos: 0,
            will_retain: false,
            proxy: None,
            proxy_args: None,
            tls: TlsArgs::default(),
            url_tls: false,
            pub_topic: None,
            sub_topics: Vec::new(),
            message: None,
            retain: false,
            repeat: 1,
            repeat_delay: Duration::ZERO,
            filter_out: Vec::new(),
            unsubscribe: Vec::new(),
            count: None,
            timeout: None,
            no_retained: false,
            exit_after_sub: false,
            eol: true,
            verbose: false,
            format: None,
            pretty: false,
            retained_only: false,
            remove_retained: false,
            random_filter: 10000,
            retain_as_published: false,
        }
    }

    /// mosquitto's err_printf: suppressed by an earlier `--quiet`.
    fn quiet_err(&self, text: String) -> UsageError {
        err(if self.quiet { String::new() } else { text })
    }

    fn add_topic(&mut self, topic: &[u8], label: &str) -> Result<(), UsageError> {
        if !valid_mqtt_utf8(topic) {
            return Err(err(format!(
                "Error: Malformed UTF-8 in {label} argument.\n\n"
            )));
        }
        let t = lossy(topic);
        match self.client {
            Client::Pub => {
                if !pub_topic_ok(topic) {
                    return Err(err(format!(
                        "Error: Invalid publish topic '{t}', does it contain '+' or '#'?\n"
                    )));
                }
                self.pub_topic = Some(t);
            }
            Client::Sub => {
                if !sub_topic_ok(topic) {
                    return Err(err(format!(
                        "Error: Invalid subscription topic '{t}', are all '+' and '#' wildcards correct?\n"
                    )));
                }
                self.sub_topics.push(t);
            }
        }
        Ok(())
    }

    fn set_message(&mut self, m: MessageSource) -> Result<(), UsageError> {
        if self.message.is_some() {
            return Err(err(
                "Error: Only one type of message can be sent at once.\n\n",
            ));
        }
        self.message = Some(m);
        Ok(())
    }

    /// Process one argument vector (argv or one config line). Some(..) = stop with --help
    /// or --version.
    fn process(&mut self, args: &[Vec<u8>]) -> Result<Option<Parsed>, UsageError> {
        let mut i = 0;
        while i < args.len() {
            let word = &args[i];
            let unknown = || err(format!("Error: Unknown option '{}'.\n", lossy(word)));
            let spec = match lookup(word) {
                Some(s) if s.clients.includes(self.client) => s,
                _ => return Err(unknown()),
            };
            let next = args.get(i + 1);
            let missing = || {
                err(format!(
                    "Error: {} argument given but {}.\n\n",
                    spec.label(),
                    spec.missing
                ))
            };
            // Options whose checks come before the missing-value check.
            match spec.key {
                Key::File | Key::Message if self.message.is_some() => {
                    return Err(err(
                        "Error: Only one type of message can be sent at once.\n\n",
                    ));
                }
                Key::Id if self.id_prefix.is_some() => {
                    return Err(err(
                        "Error: -i and -I argument cannot be used together.\n\n",
                    ));
                }
                Key::IdPrefix if self.id.is_some() => {
                    return Err(err(
                        "Error: -i and -I argument cannot be used together.\n\n",
                    ));
                }
                _ => {}
            }
            if spec.key == Key::Property {
                let (p, used) = parse_property(args, i + 1)?;
                self.properties.push(p);
                self.protocol = Protocol::V5;
                i += 1 + used;
                continue;
            }
            let v: &[u8] = if spec.value.is_some() {
                match next {
                    Some(v) => v,
                    None => return Err(missing()),
                }
            } else {
                b""
            };
            let vs = || Some(lossy(v));
            match spec.key {
                Key::BindAddress => self.bind_address = Some(v.to_vec()),
                Key::Cafile => self.tls.cafile = vs(),
                Key::Capath => self.tls.capath = vs(),
                Key::Cert => self.tls.cert = vs(),
                Key::Ciphers => self.tls.ciphers = vs(),
                Key::Count => {
                    let n = atoi(v);
                    if n < 1 {
                        return Err(err(format!("Error: Invalid message count \"{n}\".\n\n")));
                    }
                    self.count = Some(n as u32);
                }
                Key::DisableCleanSession => self.clean_session = false,
                Key::Debug => self.debug = true,
                Key::Property => {}
                Key::ExitAfterSub => self.exit_after_sub = true,
                Key::File => {
                    use std::os::unix::ffi::OsStrExt;
                    let p = std::path::PathBuf::from(std::ffi::OsStr::from_bytes(v));
                    self.message = Some(MessageSource::File(p));
                }
                Key::Format => {
                    let f = lossy(v);
                    if let Err(text) = crate::format::check_format(&f) {
                        return Err(err(text));
                    }
                    self.format = Some(f);
                }
                Key::Help => return Ok(Some(Parsed::Help)),
                Key::Version => return Ok(Some(Parsed::Version)),
                Key::Host => self.host = Some(v.to_vec()),
                Key::Insecure => self.tls.insecure = true,
                Key::Id => self.id = Some(v.to_vec()),
                Key::IdPrefix => self.id_prefix = Some(v.to_vec()),
                Key::Keepalive => {
                    self.keepalive = atoi(v);
                    if !(5..=65535).contains(&self.keepalive) {
                        return Err(err(
                            "Error: Invalid keepalive given, it must be between 5 and 65535 inclusive.\n\n",
                        ));
                    }
                }
                Key::Key => self.tls.key = vs(),
                Key::Keyform => self.tls.keyform = vs(),
                Key::Url => {
                    let u = crate::url::parse(v).map_err(|e| err(e.message()))?;
                    self.port = u.port;
                    if u.tls {
                        self.url_tls = true;
                        self.tls.use_os_certs = true;
                    }
                    self.add_topic(&u.topic, "-L topic")?;
                    if let Some(user) = u.username {
                        if u.password.is_some() {
                            self.password = u.password;
                        }
                        self.username = Some(user);
                    }
                    self.host = Some(u.host);
                }
                Key::StdinLine => self.set_message(MessageSource::StdinLine)?,
                Key::Message => {
                    if v.len() > 268_435_455 {
                        return Err(err(
                            "Error: Message length must be less than 268435455 bytes.\n\n",
                        ));
                    }
                    self.message = Some(MessageSource::Message(v.to_vec()));
                }
                Key::MaxInflight => {
                    let n = atoi(v);
                    if n < 1 {
                        return Err(err(
                            "Error: Maximum inflight messages must be greater than 0.\n\n",
                        ));
                    }
                    self.max_inflight = n;
                }
                Key::Nodelay => self.nodelay = true,
                Key::NullMessage => self.set_message(MessageSource::Null)?,
                Key::NoEol => self.eol = false,
                Key::Port => {
                    self.port = atoi(v);
                    if !(0..=65535).contains(&self.port) {
                        return Err(err(format!("Error: Invalid port given: {}\n", self.port)));
                    }
                }
                Key::Pretty => self.pretty = true,
                Key::Password => self.password = Some(v.to_vec()),
                Key::Proxy => {
                    self.proxy_args = Some(self.parse_proxy(v)?);
                    self.proxy = Some(v.to_vec());
                }
                Key::Psk => self.tls.psk = vs(),
                Key::PskIdentity => self.tls.psk_identity = vs(),
                Key::Qos => {
                    self.qos = atoi(v);
                    if !(0..=2).contains(&self.qos) {
                        return Err(err(format!("Error: Invalid QoS given: {}\n", self.qos)));
                    }
                }
                Key::Quiet => self.quiet = true,
                Key::Retain => self.retain = true,
                Key::NoRetained => self.no_retained = true,
                Key::RandomFilter => {
                    let f = 10.0 * atof(v);
                    // C's (int) cast of an out-of-range double gives INT_MIN on x86.
                    let n = if f.is_finite() && f.abs() < 2.1e9 {
                        f as i32
                    } else {
                        i32::MIN
                    };
                    if !(1..=10000).contains(&n) {
                        return Err(err(
                            "Error: --random-filter chance must be between 0.1-100.0\n\n",
                        ));
                    }
                    self.random_filter = n;
                }
                Key::RemoveRetained => self.remove_retained = true,
                Key::Repeat => {
                    self.repeat = atoi(v);
                    if self.repeat < 1 {
                        return Err(err("Error: --repeat argument must be >0.\n\n"));
                    }
                }
                Key::RepeatDelay => self.repeat_delay = repeat_delay(v)?,
                Key::RetainAsPublished => self.retain_as_published = true,
                Key::RetainedOnly => self.retained_only = true,
                Key::StdinFile => self.set_message(MessageSource::StdinFile)?,
                Key::Topic => self.add_topic(v, "-t")?,
                Key::FilterOut | Key::Unsubscribe => {
                    let (label, what) = if spec.key == Key::FilterOut {
                        ("-T", "filter")
                    } else {
                        ("-U", "unsubscribe")
                    };
                    if !valid_mqtt_utf8(v) {
                        return Err(err(format!(
                            "Error: Malformed UTF-8 in {label} argument.\n\n"
                        )));
                    }
                    let t = lossy(v);
                    if !sub_topic_ok(v) {
                        return Err(err(format!(
                            "Error: Invalid {what} topic '{t}', are all '+' and '#' wildcards correct?\n"
                        )));
                    }
                    if spec.key == Key::FilterOut {
                        self.filter_out.push(t);
                    } else {
                        self.unsubscribe.push(t);
                    }
                }
                Key::TlsAlpn => self.tls.tls_alpn = vs(),
                Key::TlsEngine => self.tls.tls_engine = vs(),
                Key::TlsEngineKpassSha1 => self.tls.tls_engine_kpass_sha1 = vs(),
                Key::TlsUseOsCerts => self.tls.use_os_certs = true,
                Key::TlsVersion => self.tls.tls_version = vs(),
                Key::Username => self.username = Some(v.to_vec()),
                Key::Unix => {
                    self.host = Some(v.to_vec());
                    self.port = 0;
                }
                Key::ProtocolVersion => {
                    self.protocol = match v {
                        b"mqttv31" | b"31" => Protocol::V31,
                        b"mqttv311" | b"311" => Protocol::V311,
                        b"mqttv5" | b"5" => Protocol::V5,
                        _ => {
                            return Err(err("Error: Invalid protocol version argument given.\n\n"));
                        }
                    }
                }
                Key::Verbose => self.verbose = true,
                Key::Timeout => {
                    let n = atoi(v);
                    if n < 1 {
                        return Err(err(format!("Error: Invalid timeout \"{n}\".\n\n")));
                    }
                    self.timeout = Some(n as u32);
                }
                Key::WillPayload => self.will_payload = Some(v.to_vec()),
                Key::WillQos => {
                    self.will_qos = atoi(v);
                    if !(0..=2).contains(&self.will_qos) {
                        return Err(err(format!(
                            "Error: Invalid will QoS {}.\n\n",
                            self.will_qos
                        )));
                    }
                }
                Key::WillRetain => self.will_retain = true,
                Key::WillTopic => {
                    if !valid_mqtt_utf8(v) {
                        return Err(err("Error: Malformed UTF-8 in --will-topic argument.\n\n"));
                    }
                    if !pub_topic_ok(v) {
                        return Err(err(format!(
                            "Error: Invalid will topic '{}', does it contain '+' or '#'?\n",
                            lossy(v)
                        )));
                    }
                    self.will_topic = Some(v.to_vec());
                }
                Key::SessionExpiry => self.session_expiry = session_expiry(v)?,
                Key::TlsMaxVersion => {
                    let ok = ["tlsv1.3", "tlsv1.2", "tlsv1.1"]
                        .iter()
                        .any(|w| w.as_bytes().eq_ignore_ascii_case(v));
                    if !ok {
                        return Err(err(
                            "Error: --tls-max-version must be one of tlsv1.3, tlsv1.2 or tlsv1.1.\n\n",
                        ));
                    }
                    self.tls.tls_max_version = Some(lossy(v).to_ascii_lowercase());
                }
                Key::KeyPasswordFile => self.tls.key_password_file = vs(),
                Key::Pkcs12 => self.tls.pkcs12 = vs(),
                Key::CertExpiryWarn => {
                    let s = lossy(v);
                    let d = if s.trim() == "0" {
                        Ok(Duration::ZERO)
                    } else {
                        humantime::parse_duration(s.trim())
                    };
                    match d {
                        Ok(d) => self.tls.cert_expiry_warn = Some(d),
                        Err(_) => {
                            return Err(err(format!(
                                "Error: Invalid --cert-expiry-warn duration '{s}' (examples: 30days, 12h, 0 = off).\n\n"
                            )));
                        }
                    }
                }
            }
            i += if spec.value.is_some() { 2 } else { 1 };
        }
        Ok(None)
    }

    /// `--proxy`: mosquitto's SOCKS URL rules, error texts and silent failures.
    fn parse_proxy(&self, url: &[u8]) -> Result<ProxyArgs, UsageError> {
        let Some(s) = url.strip_prefix(b"socks5h://".as_slice()) else {
            return Err(self.quiet_err(format!(
                "Error: Unsupported proxy protocol: {}\n",
                lossy(url)
            )));
        };
        let silent = || err(String::new());
        let mut start = 0;
        let mut user_or_host: Option<&[u8]> = None;
        let mut username: Option<&[u8]> = None;
        let mut password: Option<&[u8]> = None;
        let mut host: Option<&[u8]> = None;
        let mut port: Option<&[u8]> = None;
        let mut have_auth = false;
        for (i, &c) in s.iter().enumerate() {
            if c == b':' {
                if i == start {
                    return Err(silent());
                }
                if have_auth {
                    if host.is_some() {
                        return Err(silent());
                    }
                    host = Some(&s[start..i]);
                    start = i + 1;
                } else if user_or_host.is_none() {
                    user_or_host = Some(&s[start..i]);
                    start = i + 1;
                }
            } else if c == b'@' {
                if i == start {
                    return Err(silent());
                }
                have_auth = true;
                if let Some(u) = user_or_host.take() {
                    username = Some(u);
                    password = Some(&s[start..i]);
                } else {
                    if username.is_some() {
                        return Err(silent());
                    }
                    username = Some(&s[start..i]);
                }
                start = i + 1;
            }
        }
        if s.len() > start {
            let rest = &s[start..];
            if host.is_some() {
                port = Some(rest);
            } else if let Some(h) = user_or_host.take() {
                host = Some(h);
                port = Some(rest);
            } else {
                host = Some(rest);
            }
        }
        let Some(host) = host else {
            return Err(self.quiet_err("Error: Invalid proxy.\n".into()));
        };
        let username = match username {
            Some(u) => Some(url_decode(u).ok_or_else(silent)?),
            None => None,
        };
        let password = match password {
            Some(p) => Some(url_decode(p).ok_or_else(silent)?),
            None => None,
        };
        let port = match port {
            Some(p) => {
                let n = atoi(p);
                if !(1..=65535).contains(&n) {
                    return Err(self.quiet_err(format!("Error: Invalid proxy port {n}\n")));
                }
                n as u16
            }
            None => 1080,
        };
        Ok(ProxyArgs {
            host: lossy(host),
            port,
            username: username.map(|u| lossy(&u)),
            password: password.map(|p| lossy(&p)),
        })
    }
}

/// mosquitto's proxy credential decoding: `%25` → `%`, `%3A`/`%3a` → `:`, and (its bug)
/// `%40` → `:`. Anything else after `%` fails.
fn url_decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            if i + 2 >= s.len() {
                return None;
            }
            match (s[i + 1], s[i + 2]) {
                (b'2', b'5') => out.push(b'%'),
                (b'3', b'A' | b'a') | (b'4', b'0') => out.push(b':'),
                _ => return None,
            }
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    Some(out)
}

/// `-x`: strtol base 0 over the whole word, or `∞`; -1 means never (u32::MAX).
fn session_expiry(v: &[u8]) -> Result<i64, UsageError> {
    if v == "\u{221e}".as_bytes() {
        return Ok(u32::MAX as i64);
    }
    let (n, used) = strtol(v, true);
    if used == 0 || used != v.len() {
        return Err(err("Error: session-expiry-interval not a number.\n\n"));
    }
    if n > u32::MAX as i64 || n < -1 {
        return Err(err("Error: session-expiry-interval out of range.\n\n"));
    }
    Ok(if n == -1 { u32::MAX as i64 } else { n })
}

/// `--repeat-delay`: a humantime duration with a unit (`250ms`, `2s`, `1m`), else seconds
/// as C `atof` reads them (`0.5`, `abc` = 0); negative → mosquitto's error.
fn repeat_delay(v: &[u8]) -> Result<Duration, UsageError> {
    if let Ok(s) = std::str::from_utf8(v)
        && s.bytes().any(|b| b.is_ascii_alphabetic())
        && let Ok(d) = humantime::parse_duration(s.trim())
    {
        return Ok(d);
    }
    // mosquitto works in float microseconds.
    let f = atof(v) as f32;
    if f < 0.0 {
        return Err(err("Error: --repeat-delay argument must be >=0.0.\n\n"));
    }
    let us = (f * 1.0e6) as f64;
    if !us.is_finite() || us <= 0.0 {
        return Ok(Duration::ZERO);
    }
    Ok(Duration::from_micros(us.min(1.0e18) as u64))
}

impl State {
    /// mosquitto's checks after all options are read (client_config_load, then the
    /// programs' main), in its order, and conversion to [`Options`].
    fn finish(mut self) -> Result<Options, UsageError> {
        if self.will_payload.is_some() && self.will_topic.is_none() {
            return Err(err("Error: Will payload given, but no will topic given.\n"));
        }
        if self.will_retain && self.will_topic.is_none() {
            return Err(err("Error: Will retain given, but no will topic given.\n"));
        }
        let t = &self.tls;
        if t.cert.is_some() != t.key.is_some() {
            return Err(err(
                "Error: Both certfile and keyfile must be provided if one of them is set.\n",
            ));
        }
        if t.keyform.is_some() && t.key.is_none() {
            return Err(err(
                "Error: If keyform is set, keyfile must be also specified.\n",
            ));
        }
        if t.tls_engine_kpass_sha1.is_some() && (t.keyform.is_none() || t.tls_engine.is_none()) {
            return Err(err(
                "Error: when using tls-engine-kpass-sha1, both tls-engine and keyform must also be provided.\n",
            ));
        }
        if (t.cafile.is_some() || t.capath.is_some()) && t.psk.is_some() {
            return Err(err(
                "Error: Only one of --psk or --cafile/--capath may be used at once.\n",
            ));
        }
        if t.psk.is_some() && t.psk_identity.is_none() {
            return Err(err("Error: --psk-identity required if --psk used.\n"));
        }
        let no_id = self.id_prefix.is_some() || self.id.is_none();
        // The session-expiry property that mosquitto adds to CONNECT (v5, value > 0).
        let mut sei_prop = None;
        if self.protocol == Protocol::V5 {
            if !self.clean_session && self.session_expiry == -1 {
                self.session_expiry = u32::MAX as i64;
            }
            if self.session_expiry > 0 {
                if self.session_expiry == u32::MAX as i64 && no_id {
                    return Err(err(
                        "Error: You must provide a client id if you are using an infinite session expiry interval.\n",
                    ));
                }
                sei_prop = Some(PropertyArg {
                    command: "connect".into(),
                    id: 17,
                    value: PropertyValue::Int(self.session_expiry as u32),
                });
            }
        } else if !self.clean_session && no_id {
            return Err(err(
                "Error: You must provide a client id if you are using the -c option.\n",
            ));
        }
        if self.client == Client::Sub && self.sub_topics.is_empty() {
            return Err(err("Error: You must specify a topic to subscribe to.\n"));
        }
        for (cmd, title) in [
            (Cmd::Connect, "CONNECT"),
            (Cmd::Publish, "PUBLISH"),
            (Cmd::Subscribe, "SUBSCRIBE"),
            (Cmd::Unsubscribe, "UNSUBSCRIBE"),
            (Cmd::Disconnect, "DISCONNECT"),
            (Cmd::Will, "Will"),
        ] {
            let name = cmd_name(cmd);
            let mut list: Vec<&PropertyArg> = self
                .properties
                .iter()
                .filter(|p| p.command == name)
                .collect();
            if cmd == Cmd::Connect
                && let Some(p) = &sei_prop
            {
                list.push(p);
            }
            if let Err(why) = check_props(cmd, &list) {
                return Err(self.quiet_err(format!("Error in {title} properties: {why}\n")));
            }
        }
        match self.client {
            Client::Pub => {
                if self.pub_topic.is_none() || self.message.is_none() {
                    return Err(UsageError {
                        message: "Error: Both topic and message must be supplied.\n".into(),
                        help_line: false,
                        usage_on_stdout: true,
                    });
                }
            }
            Client::Sub => {
                if self.no_retained && self.retained_only {
                    return Err(UsageError {
                        message: "\nError: Combining '-R' and '--retained-only' makes no sense.\n"
                            .into(),
                        help_line: false,
                        usage_on_stdout: false,
                    });
                }
            }
        }
        let (port, port_invalid) = match self.port {
            -1 => (None, None),
            p @ 0..=65535 => (Some(p as u16), None),
            p => (None, Some(p)),
        };
        let topics = match self.client {
            Client::Pub => self.pub_topic.into_iter().collect(),
            Client::Sub => self.sub_topics,
        };
        let s = |o: Option<Vec<u8>>| o.map(|b| lossy(&b));
        Ok(Options {
            client: self.client,
            host: self
                .host
                .map(|h| lossy(&h))
                .unwrap_or_else(|| "localhost".into()),
            port,
            unix_socket: port == Some(0),
            url_tls: self.url_tls,
            bind_address: s(self.bind_address),
            id: s(self.id),
            id_prefix: s(self.id_prefix),
            keepalive: self.keepalive as u16,
            clean_session: self.clean_session,
            protocol: self.protocol,
            qos: self.qos as u8,
            username: s(self.username),
            password: s(self.password),
            debug: self.debug,
            quiet: self.quiet,
            nodelay: self.nodelay,
            max_inflight: self.max_inflight as u32,
            session_expiry: match self.session_expiry {
                -1 => None,
                n => Some(n as u32),
            },
            properties: self.properties,
            will_topic: s(self.will_topic),
            will_payload: self.will_payload,
            will_qos: self.will_qos as u8,
            will_retain: self.will_retain,
            proxy: s(self.proxy),
            proxy_args: self.proxy_args,
            tls: self.tls,
            port_invalid,
            topics,
            message: self.message,
            retain: self.retain,
            repeat: self.repeat as u32,
            repeat_delay: self.repeat_delay,
            filter_out: self.filter_out,
            unsubscribe: self.unsubscribe,
            count: self.count,
            timeout: self.timeout,
            no_retained: self.no_retained,
            exit_after_sub: self.exit_after_sub,
            eol: self.eol,
            verbose: self.verbose,
            format: self.format,
            pretty: self.pretty,
            retained_only: self.retained_only,
            remove_retained: self.remove_retained,
            random_filter: self.random_filter as f64 / 100.0,
            retain_as_published: self.retain_as_published,
        })
    }
}

// ───────────────────────────── public entry points ─────────────────────────────

fn os_bytes(a: &std::ffi::OsStr) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    a.as_bytes().to_vec()
}

/// Parse the config file (see [`crate::config_file`]) and then `args` (argv without argv[0])
/// exactly as mosquitto_pub / mosquitto_sub 2.0 do.
///
/// Ok((Parsed::Run, options)) to run; Ok((Parsed::Help | Parsed::Version, options)) when
/// `--help` / `--version` stopped parsing (options then hold defaults plus what came before,
/// unchecked); Err for a command line mosquitto refuses (print it with [`render`]).
pub fn parse(client: Client, args: &[OsString]) -> Result<(Parsed, Options), UsageError> {
    parse_with_config(client, &crate::config_file::load(client), args)
}

/// [`parse`] with the config-file lines given explicitly (for tests and callers that locate
/// the file themselves).
pub fn parse_with_config(
    client: Client,
    config: &[crate::config_file::Line],
    args: &[OsString],
) -> Result<(Parsed, Options), UsageError> {
    let mut st = State::new(client);
    for line in config {
        if let Some(stop) = st.process(line)? {
            return Ok((stop, st.unchecked()));
        }
    }
    let argv: Vec<Vec<u8>> = args.iter().map(|a| os_bytes(a)).collect();
    if let Some(stop) = st.process(&argv)? {
        return Ok((stop, st.unchecked()));
    }
    Ok((Parsed::Run, st.finish()?))
}

impl State {
    /// Options without the cross-option checks (for --help / --version).
    fn unchecked(mut self) -> Options {
        // Satisfy the checks that would otherwise refuse a half-filled state.
        self.will_payload = None;
        self.will_retain = self.will_retain && self.will_topic.is_some();
        let tls = std::mem::take(&mut self.tls);
        let client = self.client;
        self.pub_topic.get_or_insert_with(String::new);
        if self.sub_topics.is_empty() {
            self.sub_topics.push(String::new());
        }
        self.message.get_or_insert(MessageSource::Null);
        self.clean_session = true;
        self.no_retained = self.no_retained && !self.retained_only;
        self.properties.clear();
        let mut o = self.finish().unwrap_or_else(|_| defaults(client));
        o.tls = tls;
        o
    }
}

/// Options with every default (what an empty command line would give, minus the topic).
pub fn defaults(client: Client) -> Options {
    let mut st = State::new(client);
    st.pub_topic = Some(String::new());
    st.sub_topics.push(String::new());
    st.message = Some(MessageSource::Null);
    let mut o = st.finish().expect("defaults pass the checks");
    o.topics.clear();
    o.message = None;
    o
}

/// The help line that follows most argument errors.
pub fn help_line(client: Client) -> String {
    format!("\nUse '{} --help' to see usage.\n", client.name())
}

/// What the binary prints for a [`UsageError`]: (stderr bytes, stdout bytes, exit code).
pub fn render(client: Client, e: &UsageError) -> (Vec<u8>, Vec<u8>, i32) {
    let mut stderr = e.message.clone().into_bytes();
    if e.help_line {
        stderr.extend_from_slice(help_line(client).as_bytes());
    }
    let stdout = if e.usage_on_stdout {
        usage(client).into_bytes()
    } else {
        Vec::new()
    };
    (stderr, stdout, crate::exit::GENERAL)
}

/// The `--version` line.
pub fn version_line(client: Client) -> String {
    format!(
        "{} version {} (compatible with {} 2.0.20)\n",
        client.name(),
        env!("CARGO_PKG_VERSION"),
        client.mosquitto_name()
    )
}

/// The `--help` text, generated from [`OPTIONS`].
pub fn usage(client: Client) -> String {
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
    };
    out.push_str(&format!(
        "{} {}: {what}.\nDrop-in replacement for {} 2.0 (same options, output and exit codes).\n\n",
        client.name(),
        env!("CARGO_PKG_VERSION"),
        client.mosquitto_name()
    ));
    out.push_str(&format!("Usage: {} {synopsis}\n\n", client.name()));
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
            (left, s.help)
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

/// The option checks mosquitto makes after parsing, when it hands the options to its
/// library (`client_opts_set`), that need no files or network: username/password on v3,
/// `--keyform`, `--psk` hex, `--tls-engine-kpass-sha1`, `--tls-version`. Errors have no help
/// line and are silenced by `--quiet` (empty message), as in mosquitto. The caller runs this
/// after building the client id and before the CA/cert/key file checks; mosquitto checks the
/// files between the keyform and the PSK/kpass/tls-version steps, so when both a file and
/// one of the later checks are wrong the message can differ.
pub fn option_set_checks(o: &Options) -> Result<(), UsageError> {
    let fail = |text: &str| {
        Err(UsageError {
            message: if o.quiet {
                String::new()
            } else {
                text.to_string()
            },
            help_line: false,
            usage_on_stdout: false,
        })
    };
    if o.protocol != Protocol::V5 && o.password.is_some() && o.username.is_none() {
        return fail("Error: Problem setting username and/or password.\n");
    }
    if let Some(u) = &o.username
        && (u.len() > 65535 || !valid_mqtt_utf8(u.as_bytes()))
    {
        return fail("Error: Problem setting username and/or password.\n");
    }
    let t = &o.tls;
    if let Some(k) = &t.keyform
        && !k.eq_ignore_ascii_case("pem")
        && !k.eq_ignore_ascii_case("engine")
    {
        return fail("Error: Problem setting key form, it must be one of 'pem' or 'engine'.\n");
    }
    if t.cafile.is_none()
        && t.capath.is_none()
        && let Some(psk) = &t.psk
        && !psk.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return fail("Error: Problem setting TLS-PSK options.\n");
    }
    if let Some(k) = &t.tls_engine_kpass_sha1
        && (k.len() != 40 || !k.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return fail(
            "Error: Problem setting TLS engine key pass sha, is it a 40 character hex string?\n",
        );
    }
    if let Some(v) = &t.tls_version
        && !["tlsv1.3", "tlsv1.2", "tlsv1.1"]
            .iter()
            .any(|w| w.eq_ignore_ascii_case(v))
    {
        return fail("Error: Problem setting TLS options, check the options are valid.\n");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(client: Client, args: &[&str]) -> Result<(Parsed, Options), UsageError> {
        let a: Vec<OsString> = args.iter().map(OsString::from).collect();
        parse_with_config(client, &[], &a)
    }
    fn ok(client: Client, args: &[&str]) -> Options {
        match run(client, args) {
            Ok((Parsed::Run, o)) => o,
            other => panic!("{args:?}: {other:?}"),
        }
    }
    fn msg(client: Client, args: &[&str]) -> String {
        run(client, args).expect_err("should fail").message
    }

    #[test]
    fn defaults_are_mosquittos() {
        let o = ok(Client::Pub, &["-t", "a", "-m", "b"]);
        assert_eq!(o.host, "localhost");
        assert_eq!(o.port, None);
        assert_eq!(o.keepalive, 60);
        assert!(o.clean_session);
        assert_eq!(o.protocol, Protocol::V311);
        assert_eq!((o.qos, o.max_inflight, o.repeat), (0, 20, 1));
        assert_eq!(o.random_filter, 100.0);
        assert!(o.eol);
        assert_eq!(o.topics, vec!["a".to_string()]);
        assert_eq!(o.message, Some(MessageSource::Message(b"b".to_vec())));
        let d = defaults(Client::Sub);
        assert!(d.topics.is_empty() && d.message.is_none());
    }

    #[test]
    fn verbatim_values_and_c_numbers() {
        let o = ok(
            Client::Pub,
            &["-m", "-n", "-t", "a", "-q", "abc", "-p", "0"],
        );
        assert_eq!(o.message, Some(MessageSource::Message(b"-n".to_vec())));
        assert_eq!(o.qos, 0);
        assert!(o.unix_socket);
        let o = ok(
            Client::Pub,
            &["-t", "a", "-m", "", "-q", " 2xyz", "-k", "5"],
        );
        assert_eq!(o.qos, 2);
        assert_eq!(o.message, Some(MessageSource::Message(vec![])));
        assert_eq!(atoi(b"99999999999"), 1215752191);
        assert_eq!(atoi(b"99999999999999999999"), -1);
        assert_eq!(atoi(b"  -12abc"), -12);
        assert_eq!(atof(b"1.5e3x"), 1500.0);
        assert_eq!(atof(b".5"), 0.5);
        assert_eq!(atof(b"abc"), 0.0);
        assert_eq!(atof(b"0x10"), 16.0);
        assert!(atof(b"-inf").is_infinite());
        assert_eq!(strtol(b"0x1f", true), (31, 4));
        assert_eq!(strtol(b"010", true), (8, 3));
        assert_eq!(strtol(b"0x", true), (0, 1));
    }

    #[test]
    fn topics_accumulate_for_sub_last_wins_for_pub() {
        let o = ok(Client::Sub, &["-t", "a", "-t", "b/#", "-L", "mqtt://h:1/c"]);
        assert_eq!(o.topics, vec!["a", "b/#", "c"]);
        let o = ok(Client::Pub, &["-L", "mqtt://h:1/c", "-t", "a", "-m", "x"]);
        assert_eq!(o.topics, vec!["a"]);
        assert_eq!((o.host.as_str(), o.port), ("h", Some(1)));
    }

    #[test]
    fn url_sets_host_port_credentials_tls() {
        let o = ok(
            Client::Pub,
            &["-u", "x", "-P", "y", "-L", "mqtts://u@h/t", "-m", "m"],
        );
        assert_eq!(o.username.as_deref(), Some("u"));
        assert_eq!(o.password.as_deref(), Some("y"));
        assert_eq!(o.port, Some(8883));
        assert!(o.url_tls && o.tls.use_os_certs);
        let o = ok(Client::Pub, &["-L", "mqtt://h:99999/t", "-m", "m"]);
        assert_eq!((o.port, o.port_invalid), (None, Some(99999)));
        let o = ok(Client::Pub, &["-L", "mqtt://h:1/t", "-p", "2", "-m", "m"]);
        assert_eq!(o.port, Some(2));
        let o = ok(
            Client::Pub,
            &["-p", "2", "--unix", "/s", "-m", "m", "-t", "t"],
        );
        assert!(o.unix_socket);
        assert_eq!(o.host, "/s");
    }

    #[test]
    fn property_switches_to_v5_at_that_point() {
        let o = ok(
            Client::Pub,
            &[
                "-V",
                "311",
                "-D",
                "publish",
                "content-type",
                "x",
                "-t",
                "a",
                "-n",
            ],
        );
        assert_eq!(o.protocol, Protocol::V5);
        let o = ok(
            Client::Pub,
            &[
                "-D",
                "publish",
                "content-type",
                "x",
                "-V",
                "311",
                "-t",
                "a",
                "-n",
            ],
        );
        assert_eq!(o.protocol, Protocol::V311);
        assert_eq!(
            o.properties,
            vec![PropertyArg {
                command: "publish".into(),
                id: 3,
                value: PropertyValue::String("x".into())
            }]
        );
        let o = ok(
            Client::Sub,
            &[
                "-t",
                "a",
                "-D",
                "SUBSCRIBE",
                "user-property",
                "k",
                "v",
                "-D",
                "connect",
                "receive-maximum",
                "7",
            ],
        );
        assert_eq!(
            o.properties[0].value,
            PropertyValue::Pair("k".into(), "v".into())
        );
        assert_eq!(o.properties[0].command, "subscribe");
        assert_eq!(o.properties[1].value, PropertyValue::Int(7));
        let o = ok(
            Client::Pub,
            &[
                "-t",
                "a",
                "-n",
                "-D",
                "publish",
                "correlation-data",
                "\u{1}",
            ],
        );
        assert_eq!(o.properties[0].value, PropertyValue::Binary(vec![1]));
    }

    #[test]
    fn session_expiry() {
        let o = ok(Client::Sub, &["-t", "a", "-V", "5", "-c", "-i", "x"]);
        assert_eq!(o.session_expiry, Some(u32::MAX));
        let o = ok(Client::Sub, &["-t", "a", "-x", "0x10"]);
        assert_eq!(o.session_expiry, Some(16));
        let o = ok(Client::Sub, &["-t", "a", "-x", "-1", "-V", "5", "-i", "x"]);
        assert_eq!(o.session_expiry, Some(u32::MAX));
        assert!(msg(Client::Sub, &["-t", "a", "-x", "∞", "-V", "5"]).contains("infinite"));
    }

    #[test]
    fn repeat_delay_seconds_and_durations() {
        let d = |v: &str| ok(Client::Pub, &["-t", "a", "-n", "--repeat-delay", v]).repeat_delay;
        assert_eq!(d("0.5"), Duration::from_millis(500));
        assert_eq!(d("2"), Duration::from_secs(2));
        assert_eq!(d("250ms"), Duration::from_millis(250));
        assert_eq!(d("1m"), Duration::from_secs(60));
        assert_eq!(d("abc"), Duration::ZERO);
        assert_eq!(d("1e1"), Duration::from_secs(10));
    }

    #[test]
    fn sub_fields() {
        let o = ok(
            Client::Sub,
            &[
                "-t",
                "a",
                "-C",
                "3",
                "-W",
                "9",
                "-T",
                "x/+",
                "-U",
                "u",
                "-v",
                "-N",
                "-R",
                "-E",
                "--random-filter",
                "50",
                "--pretty",
                "--remove-retained",
                "--retain-as-published",
            ],
        );
        assert_eq!((o.count, o.timeout), (Some(3), Some(9)));
        assert_eq!(o.filter_out, vec!["x/+"]);
        assert_eq!(o.unsubscribe, vec!["u"]);
        assert!(o.verbose && !o.eol && o.no_retained && o.exit_after_sub && o.pretty);
        assert!(o.remove_retained && o.retain_as_published);
        // mosquitto's scale: the chance is applied per 10000 after multiplying by 10.
        assert_eq!(o.random_filter, 5.0);
    }

    #[test]
    fn extensions() {
        let o = ok(
            Client::Pub,
            &[
                "-t",
                "a",
                "-n",
                "--tls-max-version",
                "TLSv1.2",
                "--key-password-file",
                "f",
                "--pkcs12",
                "p.p12",
                "--cert-expiry-warn",
                "30days",
            ],
        );
        assert_eq!(o.tls.tls_max_version.as_deref(), Some("tlsv1.2"));
        assert_eq!(o.tls.key_password_file.as_deref(), Some("f"));
        assert_eq!(o.tls.pkcs12.as_deref(), Some("p.p12"));
        assert_eq!(
            o.tls.cert_expiry_warn,
            Some(Duration::from_secs(30 * 86400))
        );
        let o = ok(Client::Sub, &["-t", "a", "--cert-expiry-warn", "0"]);
        assert_eq!(o.tls.cert_expiry_warn, Some(Duration::ZERO));
        assert_eq!(
            msg(Client::Sub, &["-t", "a", "--pkcs12"]),
            "Error: --pkcs12 argument given but no file specified.\n\n"
        );
        assert!(
            msg(Client::Sub, &["-t", "a", "--cert-expiry-warn", "soon"]).starts_with("Error: ")
        );
        assert!(
            msg(Client::Sub, &["-t", "a", "--tls-max-version", "tlsv1.0"]).starts_with("Error: ")
        );
    }

    #[test]
    fn help_and_version_stop_parsing() {
        assert_eq!(
            run(Client::Pub, &["--help", "-q", "9"]).unwrap().0,
            Parsed::Help
        );
        assert_eq!(
            run(Client::Sub, &["-c", "--version"]).unwrap().0,
            Parsed::Version
        );
        assert!(run(Client::Pub, &["-q", "9", "--help"]).is_err());
    }

    #[test]
    fn render_adds_help_line_or_usage() {
        let e = run(Client::Pub, &["-q", "9"]).unwrap_err();
        let (err, out, code) = render(Client::Pub, &e);
        assert_eq!(
            String::from_utf8(err).unwrap(),
            "Error: Invalid QoS given: 9\n\nUse 'mqtts-pub --help' to see usage.\n"
        );
        assert!(out.is_empty());
        assert_eq!(code, 1);
        let e = run(Client::Pub, &["-t", "a"]).unwrap_err();
        let (err, out, _) = render(Client::Pub, &e);
        assert_eq!(err, b"Error: Both topic and message must be supplied.\n");
        assert_eq!(String::from_utf8(out).unwrap(), usage(Client::Pub));
    }

    #[test]
    fn config_file_lines_go_first() {
        let cfg = crate::config_file::split(b"-q 1\n-t c\n-m hello world  \n");
        let a: Vec<OsString> = vec!["-t".into(), "a".into()];
        let (_, o) = parse_with_config(Client::Pub, &cfg, &a).unwrap();
        assert_eq!(o.qos, 1);
        assert_eq!(o.topics, vec!["a"]);
        assert_eq!(
            o.message,
            Some(MessageSource::Message(b"hello world  ".to_vec()))
        );
        let cfg = crate::config_file::split(b"-t c\n");
        let (_, o) = parse_with_config(Client::Sub, &cfg, &a).unwrap();
        assert_eq!(o.topics, vec!["c", "a"]);
    }

    #[test]
    fn non_utf8_arguments() {
        use std::os::unix::ffi::OsStringExt;
        let a = |v: &[&[u8]]| -> Vec<OsString> {
            v.iter().map(|b| OsString::from_vec(b.to_vec())).collect()
        };
        let (_, o) =
            parse_with_config(Client::Pub, &[], &a(&[b"-t", b"a", b"-m", b"\xff\x00"])).unwrap();
        assert_eq!(
            o.message,
            Some(MessageSource::Message(b"\xff\x00".to_vec()))
        );
        let e = parse_with_config(Client::Sub, &[], &a(&[b"-t", b"\xff"])).unwrap_err();
        assert_eq!(e.message, "Error: Malformed UTF-8 in -t argument.\n\n");
        let (_, o) =
            parse_with_config(Client::Pub, &[], &a(&[b"-f", b"\xfe", b"-t", b"a"])).unwrap();
        assert!(matches!(o.message, Some(MessageSource::File(_))));
    }

    #[test]
    fn never_panics() {
        // Deterministic pseudo-random argument vectors built from option names and junk.
        let words: Vec<Vec<u8>> = OPTIONS
            .iter()
            .flat_map(|s| s.short.into_iter().chain(s.long))
            .map(|w| w.as_bytes().to_vec())
            .chain(
                [
                    &b"publish"[..],
                    b"connect",
                    b"user-property",
                    b"topic-alias",
                    b"-1",
                    b"0",
                    b"5",
                    b"\xff",
                    b"a/#",
                    b"+",
                    b"mqtt://h:1/t",
                    b"socks5h://u:p@h:1",
                    b"\xe2\x88\x9e",
                    b"",
                    b"0x",
                    b"99999999999999999999",
                    b"%25",
                    b"1.5",
                    b"nan",
                ]
                .iter()
                .map(|w| w.to_vec()),
            )
            .collect();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        use std::os::unix::ffi::OsStringExt;
        for _ in 0..20000 {
            let n = (next() % 7) as usize;
            let args: Vec<OsString> = (0..n)
                .map(|_| OsString::from_vec(words[(next() as usize) % words.len()].clone()))
                .collect();
            for c in [Client::Pub, Client::Sub] {
                if let Ok((Parsed::Run, o)) = parse_with_config(c, &[], &args) {
                    let _ = option_set_checks(&o);
                }
            }
        }
    }

    #[test]
    fn table_and_usage() {
        for s in OPTIONS {
            assert!(s.short.is_some() || s.long.is_some());
            assert_eq!(
                s.value.is_some(),
                !s.missing.is_empty() || s.key == Key::Property,
                "{s:?}"
            );
            let name = s.short.or(s.long).unwrap();
            for c in [Client::Pub, Client::Sub] {
                let listed = usage(c).lines().any(|l| {
                    l.strip_prefix(' ')
                        .and_then(|l| l.strip_prefix(name))
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with([',', ' ']))
                });
                assert_eq!(listed, s.clients.includes(c), "{name} {c:?}");
            }
        }
        assert!(lookup(b"-o").is_none() && lookup(b"-e").is_none() && lookup(b"-S").is_none());
        assert_eq!(
            help_line(Client::Sub),
            "\nUse 'mqtts-sub --help' to see usage.\n"
        );
    }

    #[test]
    fn option_set_checks_follow_mosquitto() {
        let c = |args: &[&str]| option_set_checks(&ok(Client::Pub, args)).map_err(|e| e.message);
        assert!(c(&["-t", "a", "-n"]).is_ok());
        assert!(
            c(&["-t", "a", "-n", "-P", "p"])
                .unwrap_err()
                .contains("username")
        );
        assert!(c(&["-t", "a", "-n", "-P", "p", "-V", "5"]).is_ok());
        assert!(
            c(&[
                "-t",
                "a",
                "-n",
                "--key",
                "k",
                "--cert",
                "c",
                "--keyform",
                "der"
            ])
            .unwrap_err()
            .contains("key form")
        );
        assert!(
            c(&["-t", "a", "-n", "--psk", "zz", "--psk-identity", "i"])
                .unwrap_err()
                .contains("PSK")
        );
        assert!(c(&["-t", "a", "-n", "--tls-version", "TLSv1.2"]).is_ok());
        assert!(
            c(&["-t", "a", "-n", "--tls-version", "tls1"])
                .unwrap_err()
                .contains("valid")
        );
        assert_eq!(
            c(&["--quiet", "-t", "a", "-n", "--tls-version", "x"]),
            Err(String::new())
        );
    }
}
