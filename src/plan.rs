//! The connection plan: what the options mean for one connection (address, TLS, client
//! id, session, will, properties), decided before anything touches the network.

use crate::exit::{Failure, GENERAL};
use crate::options::{Options, PropertyArg, PropertyValue, Protocol, ProxyArgs};
use crate::tls::{self, TlsPlan};
use paho_mqtt as mqtt;

/// Everything needed to create the paho client and connect.
pub struct Plan {
    /// Host name (or unix socket path) as given: used in messages, SNI and host checks.
    pub host: String,
    /// Effective TCP port (0 for a unix socket).
    pub port: u16,
    /// paho's server URI: `tcp://`, `ssl://`, `unix://`, or `ws://`/`wss://` with the HTTP
    /// path [`WS_PATH`].
    pub uri: String,
    /// MQTT over WebSockets (`--ws`, `-L ws://`, `-L wss://`).
    pub websockets: bool,
    pub tls: Option<TlsPlan>,
    /// `--proxy`: the SOCKS5 proxy to connect through (see `connection::socks`).
    pub proxy: Option<ProxyArgs>,
    /// The client id sent in CONNECT ("" lets the broker assign one).
    pub client_id: String,
    pub mqtt_version: u32,
    /// How long paho waits for the TCP/TLS connect and the CONNACK ([`connect_timeout`]).
    pub connect_timeout: std::time::Duration,
    /// The password to send (see [`crate::password`]).
    pub password: Option<crate::options::Secret>,
    /// Lines for stderr before connecting (certificate expiry, `--insecure`, a password
    /// going out in plaintext).
    pub warnings: Vec<String>,
}

/// paho's connect timeout (TCP connect, TLS handshake and CONNACK together): one
/// keepalive interval, at most 30 s (paho's default); 30 s with `-k 0`. A broker that
/// accepts the connection and then says nothing ends the run after `-k` seconds (plus the
/// bounded diagnosis, see `tls::diagnose_after`), instead of hanging or waiting 30 s.
pub fn connect_timeout(keepalive: u16) -> std::time::Duration {
    const MAX: u16 = 30;
    let secs = if keepalive == 0 {
        MAX
    } else {
        keepalive.min(MAX)
    };
    std::time::Duration::from_secs(secs.into())
}

/// `--proxy`, checked against what SOCKS5 can carry: a host and port (not `--unix`), and
/// names and credentials of at most 255 bytes each.
fn proxy(opts: &Options) -> Result<Option<ProxyArgs>, Failure> {
    let Some(p) = &opts.proxy_args else {
        return Ok(None);
    };
    let error = |line: String, hint: &str| {
        let mut f = Failure::new(GENERAL, line).and(hint);
        f.always = true;
        f
    };
    if opts.unix_socket {
        return Err(error(
            "Error: --proxy cannot be used with --unix: a SOCKS5 proxy connects to a host and port."
                .into(),
            "Connect over TCP (-h HOST -p PORT) through the proxy, or drop --proxy.",
        ));
    }
    let too_long = [
        (Some(opts.host.as_str()), "the broker's host name (-h)"),
        (p.username.as_deref(), "the user name in --proxy"),
        (p.password.as_deref(), "the password in --proxy"),
    ]
    .into_iter()
    .find_map(|(v, what)| v.filter(|v| v.len() > 255).map(|_| what));
    if let Some(what) = too_long {
        return Err(error(
            format!("Error: {what} is too long for SOCKS5 (at most 255 bytes)."),
            "SOCKS5 carries names and credentials of up to 255 bytes.",
        ));
    }
    Ok(Some(p.clone()))
}

/// The HTTP path of the WebSocket upgrade request: `/mqtt`, as mosquitto's client library
/// (develop) always sends, and where brokers serve MQTT over WebSockets by convention.
pub const WS_PATH: &str = "/mqtt";

/// mosquitto's default port: 8883 when a CA (or PSK) is given, else 1883.
pub fn effective_port(opts: &Options) -> u16 {
    match opts.port {
        Some(p) => p,
        None if opts.tls.cafile.is_some()
            || opts.tls.capath.is_some()
            || opts.tls.psk.is_some() =>
        {
            8883
        }
        None => 1883,
    }
}

impl Plan {
    pub fn new(opts: &Options) -> Result<Plan, Failure> {
        let port = if opts.unix_socket {
            0
        } else {
            effective_port(opts)
        };
        if opts.unix_socket && opts.websockets {
            return Err(Failure::new(
                GENERAL,
                "Error: WebSockets (--ws, -L ws:// or wss://) cannot be used with --unix: mqtts \
                 speaks WebSockets over TCP only.",
            )
            .and("Connect over TCP (-h HOST -p PORT) to use WebSockets, or drop --ws."));
        }
        let tls = tls::plan(opts, port)?;
        let proxy = proxy(opts)?;
        let uri = if opts.unix_socket {
            format!("unix://{}", opts.host)
        } else {
            let (scheme, path) = match (opts.websockets, tls.is_some()) {
                (false, false) => ("tcp", ""),
                (false, true) => ("ssl", ""),
                (true, false) => ("ws", WS_PATH),
                (true, true) => ("wss", WS_PATH),
            };
            if opts.host.contains(':') && !opts.host.starts_with('[') {
                format!("{scheme}://[{}]:{port}{path}", opts.host)
            } else {
                format!("{scheme}://{}:{port}{path}", opts.host)
            }
        };
        let client_id = match (&opts.id, &opts.id_prefix) {
            (Some(id), _) => id.clone(),
            (None, Some(prefix)) => format!("{prefix}{}", std::process::id()),
            (None, None) if opts.protocol == Protocol::V31 => random_v31_id(),
            (None, None) => String::new(),
        };
        let mqtt_version = match opts.protocol {
            Protocol::V31 => mqtt::MQTT_VERSION_3_1,
            Protocol::V311 => mqtt::MQTT_VERSION_3_1_1,
            Protocol::V5 => mqtt::MQTT_VERSION_5,
        };
        let password = crate::password::resolve(opts)?;
        let mut warnings = tls.as_ref().map(|t| t.warnings.clone()).unwrap_or_default();
        warnings.extend(password.warning.clone());
        warnings.extend(tls::password_in_clear_warning(
            opts,
            &opts.host,
            tls.is_some(),
            password.secret.as_ref().map(|_| password.source),
        ));
        warnings.extend(opts.config_warning.clone());
        Ok(Plan {
            host: opts.host.clone(),
            port,
            uri,
            websockets: opts.websockets,
            tls,
            proxy,
            client_id,
            mqtt_version,
            connect_timeout: connect_timeout(opts.keepalive),
            password: password.secret,
            warnings,
        })
    }

    /// Print the warnings on stderr (not with `--quiet`), and have the broker's certificate
    /// checked for expiry when the TLS handshake is done ([`tls::peer`]).
    pub fn print_warnings(&self, quiet: bool) {
        if !quiet {
            for w in &self.warnings {
                eprintln!("{w}");
            }
            if let Some(t) = &self.tls {
                tls::peer::watch(&self.host, self.port, t.expiry_warn);
            }
        }
    }

    pub fn is_v5(&self) -> bool {
        self.mqtt_version == mqtt::MQTT_VERSION_5
    }

    /// paho's connect options for this plan.
    pub fn connect_options(&self, opts: &Options) -> Result<mqtt::ConnectOptions, Failure> {
        let mut b = mqtt::ConnectOptionsBuilder::with_mqtt_version(self.mqtt_version);
        b.keep_alive_interval(std::time::Duration::from_secs(opts.keepalive.into()));
        b.connect_timeout(self.connect_timeout);
        b.max_inflight(opts.max_inflight.min(65535) as i32);
        if self.is_v5() {
            b.clean_start(opts.clean_session);
            let mut props = properties(opts, "connect")?;
            // mosquitto always sends receive-maximum on v5 (20, or -C when below 20).
            if props.get(mqtt::PropertyCode::ReceiveMaximum).is_none() {
                let rm = opts.count.filter(|&c| c < 20).unwrap_or(20);
                push(&mut props, mqtt::PropertyCode::ReceiveMaximum, rm)?;
            }
            let expiry = match opts.session_expiry {
                Some(x) => x,
                None if !opts.clean_session => u32::MAX,
                None => 0,
            };
            if expiry > 0
                && props
                    .get(mqtt::PropertyCode::SessionExpiryInterval)
                    .is_none()
            {
                push(
                    &mut props,
                    mqtt::PropertyCode::SessionExpiryInterval,
                    expiry,
                )?;
            }
            b.properties(props);
        } else {
            // mosquitto's library refuses v5-only settings on MQTT 3.x before connecting.
            if opts.will_topic.is_some() && opts.properties.iter().any(|p| p.command == "will") {
                return Err(Failure::new(GENERAL, "Error: Problem setting will."));
            }
            if opts.properties.iter().any(|p| p.command == "connect") {
                return Err(Failure::new(
                    GENERAL,
                    "Unable to connect (This feature is not supported.).",
                ));
            }
            b.clean_session(opts.clean_session);
        }
        if let Some(u) = &opts.username {
            b.user_name(u.as_str());
        }
        if let Some(p) = &self.password {
            b.password(&**p);
        }
        if let Some(topic) = &opts.will_topic {
            let mut m = mqtt::MessageBuilder::new()
                .topic(topic.as_str())
                .payload(opts.will_payload.clone().unwrap_or_default())
                .qos(opts.will_qos as i32)
                .retained(opts.will_retain);
            if self.is_v5() {
                m = m.properties(properties(opts, "will")?);
            }
            b.will_message(m.finalize());
        }
        if let Some(tls) = &self.tls {
            b.ssl_options(tls.ssl_options()?);
        }
        Ok(b.finalize())
    }
}

/// The `-D` properties given for `command` as paho properties.
pub fn properties(opts: &Options, command: &str) -> Result<mqtt::Properties, Failure> {
    let mut props = mqtt::Properties::new();
    for p in opts.properties.iter().filter(|p| p.command == command) {
        add_property(&mut props, p)?;
    }
    Ok(props)
}

fn add_property(props: &mut mqtt::Properties, p: &PropertyArg) -> Result<(), Failure> {
    let bad = || Failure::new(GENERAL, format!("Error: invalid property {:#04x}.", p.id));
    let code = mqtt::PropertyCode::new(p.id.into()).ok_or_else(bad)?;
    // paho-mqtt unwraps `CString::new` on string properties: a NUL byte would panic
    // there. (argv and config lines cannot carry one; callers of this library can.)
    let nul = |s: &str| s.contains('\0');
    match &p.value {
        PropertyValue::String(s) if nul(s) => return Err(bad()),
        PropertyValue::Pair(k, v) if nul(k) || nul(v) => return Err(bad()),
        _ => {}
    }
    let prop = match &p.value {
        PropertyValue::Int(v) => return push(props, code, *v),
        PropertyValue::String(s) => mqtt::Property::new_string(code, s),
        PropertyValue::Binary(b) => mqtt::Property::new_binary(code, b.clone()),
        PropertyValue::Pair(k, v) => mqtt::Property::new_string_pair(code, k, v),
    };
    props.push(prop.map_err(|_| bad())?).map_err(|_| bad())
}

/// Push an integer property with the width its code requires.
fn push(props: &mut mqtt::Properties, code: mqtt::PropertyCode, v: u32) -> Result<(), Failure> {
    use mqtt::PropertyType as T;
    let prop = match code.property_type() {
        T::Byte => mqtt::Property::new_byte(code, v as u8),
        T::TwoByteInteger => mqtt::Property::new_u16(code, v as u16),
        // subscription-identifier: paho's new_u32 takes only 4-byte integers.
        T::VariableByteInteger => mqtt::Property::new_int(code, v as i32),
        _ => mqtt::Property::new_u32(code, v),
    };
    let bad = |_| {
        Failure::new(
            GENERAL,
            format!("Error: invalid value {v} for property {code:?}."),
        )
    };
    props.push(prop.map_err(bad)?).map_err(bad)
}

/// MQTT 3.1 with no id: `mosq-` and 18 random characters from [a-zA-Z0-9], as mosquitto.
fn random_v31_id() -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut bytes = [0u8; 18];
    if openssl::rand::rand_bytes(&mut bytes).is_err() {
        let seed = std::process::id() as u64
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (seed >> ((i % 8) * 8)) as u8 ^ i as u8;
        }
    }
    let mut id = String::from("mosq-");
    id.extend(
        bytes
            .iter()
            .map(|b| CHARS[*b as usize % CHARS.len()] as char),
    );
    id
}

#[cfg(test)]
mod tests {
    #[test]
    fn v31_ids_look_like_mosquittos() {
        let id = super::random_v31_id();
        assert_eq!(id.len(), 23);
        assert!(id.starts_with("mosq-"));
        assert!(id[5..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(id, super::random_v31_id());
    }

    #[test]
    fn connect_timeout_follows_keepalive() {
        use super::connect_timeout;
        use std::time::Duration;
        assert_eq!(connect_timeout(5), Duration::from_secs(5));
        assert_eq!(connect_timeout(60), Duration::from_secs(30));
        assert_eq!(connect_timeout(0), Duration::from_secs(30));
        assert_eq!(connect_timeout(u16::MAX), Duration::from_secs(30));
    }

    fn plan_for(args: &[&str]) -> Result<super::Plan, crate::exit::Failure> {
        let a: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
        let (_, o) = crate::options::parse_with_config(crate::options::Client::Sub, &[], &a)
            .expect("options parse");
        super::Plan::new(&o)
    }

    #[test]
    fn websocket_uris_follow_mosquitto_develop() {
        let uri = |args: &[&str]| plan_for(args).map(|p| (p.uri, p.websockets)).ok();
        let ws = |u: &str| Some((u.to_string(), true));
        assert_eq!(
            uri(&["-t", "a", "--ws", "-h", "b.example"]),
            ws("ws://b.example:1883/mqtt")
        );
        assert_eq!(
            uri(&["-L", "ws://b.example/a/b"]),
            ws("ws://b.example:1883/mqtt")
        );
        assert_eq!(
            uri(&["-L", "wss://b.example/a"]),
            ws("wss://b.example:8883/mqtt")
        );
        assert_eq!(
            uri(&["-L", "WSS://b.example:443/a"]),
            ws("wss://b.example:443/mqtt")
        );
        // The 8883 rule turns TLS on over WebSockets as over TCP.
        assert_eq!(
            uri(&["-t", "a", "--ws", "-p", "8883"]),
            ws("wss://localhost:8883/mqtt")
        );
        assert_eq!(
            uri(&["-t", "a", "--ws", "-h", "::1"]),
            ws("ws://[::1]:1883/mqtt")
        );
        // A later mqtt:// URL keeps --ws (as develop does); without --ws nothing changes.
        assert_eq!(uri(&["--ws", "-L", "mqtt://h/t"]), ws("ws://h:1883/mqtt"));
        assert_eq!(
            uri(&["-L", "mqtt://h/t"]),
            Some(("tcp://h:1883".into(), false))
        );
        let e = plan_for(&["-t", "a", "--ws", "--unix", "/tmp/s"])
            .err()
            .expect("refused");
        assert!(
            e.lines[0].contains("cannot be used with --unix"),
            "{:?}",
            e.lines
        );
        let e = plan_for(&["-L", "wss://h/t", "--unix", "/tmp/s"])
            .err()
            .expect("refused");
        assert!(e.lines[0].starts_with("Error: WebSockets (--ws, -L ws:// or wss://)"));
    }
}
