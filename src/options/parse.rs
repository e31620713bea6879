//! The parser: argv and config-file lines walked against the option table, in order, as
//! mosquitto does; then the cross-option checks (`finish`).

mod finish;

use std::ffi::OsString;
use std::time::Duration;

use super::properties::{Cmd, check_props, cmd_name, parse_property};
use super::values::{lossy, strtol, url_decode};
use super::*;

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
    /// `--ws`, `-L ws://`, `-L wss://`.
    websockets: bool,
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
    pw_file: Option<String>,
    topic_separator: Option<Vec<u8>>,
    response_topic: Option<String>,
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
            // mosquitto_rr defaults to MQTT v5 and stops after one message.
            protocol: if client == Client::Rr {
                Protocol::V5
            } else {
                Protocol::V311
            },
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
            websockets: false,
            pub_topic: None,
            sub_topics: Vec::new(),
            message: None,
            retain: false,
            repeat: 1,
            repeat_delay: Duration::ZERO,
            filter_out: Vec::new(),
            unsubscribe: Vec::new(),
            count: (client == Client::Rr).then_some(1),
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
            pw_file: None,
            topic_separator: None,
            response_topic: None,
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
            Client::Pub | Client::Rr => {
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
                    // Like mosquitto develop: ws:// and wss:// turn WebSockets on, and a
                    // later mqtt:// does not turn them off.
                    self.websockets |= u.websockets;
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
                Key::ResponseTopic => {
                    if !valid_mqtt_utf8(v) {
                        return Err(err("Error: Malformed UTF-8 in -e argument.\n\n"));
                    }
                    if !pub_topic_ok(v) {
                        return Err(err(format!(
                            "Error: Invalid response topic '{}', does it contain '+' or '#'?\n",
                            lossy(v)
                        )));
                    }
                    self.response_topic = Some(lossy(v));
                }
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
                Key::Ws => self.websockets = true,
                Key::SessionExpiry => self.session_expiry = session_expiry(v)?,
                Key::TlsMaxVersion => {
                    if !tls_version_ok(v) {
                        return Err(err(
                            "Error: --tls-max-version must be one of tlsv1.3, tlsv1.2 or tlsv1.1.\n\n",
                        ));
                    }
                    self.tls.tls_max_version = Some(lossy(v).to_ascii_lowercase());
                }
                Key::KeyPasswordFile => self.tls.key_password_file = vs(),
                Key::Pkcs12 => self.tls.pkcs12 = vs(),
                Key::TlsServerName => self.tls.server_name = vs(),
                Key::PinnedPubkey => self.tls.pinned_pubkey = vs(),
                Key::TlsKeylog => self.tls.keylog = vs(),
                Key::PwFile => self.pw_file = vs(),
                Key::TopicSeparator => self.topic_separator = Some(v.to_vec()),
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
            password: password.map(|p| lossy(&p).into()),
        })
    }
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
    let config = crate::config_file::load(client);
    let (parsed, mut options) = parse_with_config(client, &config.lines, args)?;
    options.config_warning = config.secrets_warning;
    Ok((parsed, options))
}

/// [`parse`] with the config-file lines given explicitly (for tests and callers that locate
/// the file themselves); `config_warning` is then None.
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
        self.response_topic.get_or_insert_with(String::new);
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
    st.response_topic = Some(String::new());
    st.sub_topics.push(String::new());
    st.message = Some(MessageSource::Null);
    let mut o = st.finish().expect("defaults pass the checks");
    o.topics.clear();
    o.message = None;
    o.response_topic = None;
    o
}
