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

mod checks;
mod parse;
mod program;
mod properties;
mod table;
mod values;

#[cfg(test)]
mod tests;

pub use checks::option_set_checks;
pub use parse::{defaults, parse, parse_with_config};
pub use program::invoked_name;
pub use properties::{PROPERTIES, PropType};
pub use table::{Clients, Key, OPTIONS, OptSpec, lookup, usage};
pub use values::{
    TLS_VERSIONS, atof, atoi, atol, pub_topic_ok, sub_topic_ok, tls_version_ok, valid_mqtt_utf8,
};

/// Which program is parsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    Pub,
    Sub,
    /// mqtts-rr: request/response (mosquitto_rr).
    Rr,
}

impl Client {
    /// The mosquitto program this one replaces (`--version`, `--help`, its config file).
    pub fn mosquitto_name(self) -> &'static str {
        match self {
            Client::Pub => "mosquitto_pub",
            Client::Sub => "mosquitto_sub",
            Client::Rr => "mosquitto_rr",
        }
    }
    /// Our program's real name (`--version`, man page, config file); messages use the
    /// name it was invoked as ([`invoked_name`]).
    pub fn name(self) -> &'static str {
        match self {
            Client::Pub => "mqtts-pub",
            Client::Sub => "mqtts-sub",
            Client::Rr => "mqtts-rr",
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
    /// `--tls-server-name`: SNI and the name checked instead of `-h`.
    pub server_name: Option<String>,
    /// `--pinnedpubkey` as given (pins or a key file).
    pub pinned_pubkey: Option<String>,
    /// `--tls-keylog FILE`.
    pub keylog: Option<String>,
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
    /// `-L mqtts://` or `-L wss://`: TLS with the OS trust store.
    pub url_tls: bool,
    /// `--ws`, `-L ws://`, `-L wss://`: MQTT over WebSockets (HTTP path `/mqtt`).
    pub websockets: bool,
    pub bind_address: Option<String>,
    pub id: Option<String>,
    pub id_prefix: Option<String>,
    pub keepalive: u16,
    pub clean_session: bool,
    pub protocol: Protocol,
    pub qos: u8,
    pub username: Option<String>,
    pub password: Option<Secret>,
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
    /// `--proxy` URL as given (it may hold a password).
    pub proxy: Option<Secret>,
    /// `--proxy` split and decoded (mosquitto's rules, including `%40` → `:`).
    pub proxy_args: Option<ProxyArgs>,
    pub tls: TlsArgs,
    /// `-L …:PORT` outside 0..=65535 (mosquitto does not check it at parse time; connecting
    /// then fails with `Unable to connect (Invalid arguments provided.).`). `port` is None then.
    pub port_invalid: Option<i32>,
    /// The config file holds a password and other users can read or write it: the warning
    /// (found while [`parse`] read the file; printed with the plan's warnings).
    pub config_warning: Option<String>,

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
    /// `--pw-file`: the password is the file's first line (when `-P` is not given).
    pub pw_file: Option<String>,
    /// `--topic-separator` (pub `-l`): each line is TOPIC SEP PAYLOAD.
    pub topic_separator: Option<Vec<u8>>,

    // rr
    /// `-e`: where the response is expected (rr: `topics` holds the request topic).
    pub response_topic: Option<String>,
}

/// A password: used like a `String`, but `{:?}` never shows it (so printing `Options`
/// for debugging cannot leak `-P` or a `--proxy` password).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl std::ops::Deref for Secret {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret(s.to_owned())
    }
}

/// `--proxy socks5h://[user[:pass]@]host[:port]`, split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyArgs {
    pub host: String,
    /// 1080 when not given.
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<Secret>,
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
    /// Print `\nUse 'NAME --help' to see usage.\n` after it ([`help_line`]).
    pub help_line: bool,
    /// pub without topic or message: the full usage goes to stdout instead of the help line.
    pub usage_on_stdout: bool,
}

/// The help line that follows most argument errors; `name` is the name the program was
/// invoked as ([`invoked_name`]).
pub fn help_line(name: &str) -> String {
    format!("\nUse '{name} --help' to see usage.\n")
}

/// What the binary invoked as `name` prints for a [`UsageError`]: (stderr bytes, stdout
/// bytes, exit code).
pub fn render(client: Client, name: &str, e: &UsageError) -> (Vec<u8>, Vec<u8>, i32) {
    let mut stderr = e.message.clone().into_bytes();
    if e.help_line {
        stderr.extend_from_slice(help_line(name).as_bytes());
    }
    let stdout = if e.usage_on_stdout {
        usage(client, name).into_bytes()
    } else {
        Vec::new()
    };
    (stderr, stdout, crate::exit::GENERAL)
}

/// The `--version` line: always the real name, whatever the program was invoked as.
pub fn version_line(client: Client) -> String {
    format!(
        "{} version {} (compatible with {} 2.0.20)\n",
        client.name(),
        env!("CARGO_PKG_VERSION"),
        client.mosquitto_name()
    )
}
