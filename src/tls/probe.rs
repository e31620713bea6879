//! The diagnosis after paho's generic connect failure: a plain TCP connect (refused,
//! unreachable, DNS, timeout), then a handshake with the same settings through the
//! `openssl` crate, whose verify results and alerts name the cause.

use super::files::{name, os_error, printable};
use super::*;
use openssl::asn1::Asn1Time;
use openssl::ssl::{
    HandshakeError, Ssl, SslContext, SslContextBuilder, SslMethod, SslStream, SslVerifyMode,
};
use openssl::x509::{X509, X509Ref, X509VerifyResult};
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Mutex;
use std::time::Duration;

const DNS_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const IO_TIMEOUT: Duration = Duration::from_secs(3);

thread_local! {
    /// How long paho waited before giving up (see [`diagnose_after`]), for the messages
    /// about a silent peer.
    static WAITED: std::cell::Cell<Option<Duration>> = const { std::cell::Cell::new(None) };
}

/// Seconds to name in "nothing within N s": how long paho waited when known (rounded),
/// and at least the probe's own wait, which found the same silence.
fn waited_secs() -> u64 {
    let paho = WAITED.with(|w| w.get()).unwrap_or_default();
    (paho + Duration::from_millis(500))
        .as_secs()
        .max(IO_TIMEOUT.as_secs())
}

/// [`diagnose`] after paho waited `waited` for the connection (its connect timeout).
pub(crate) fn diagnose_after(
    host: &str,
    port: u16,
    tls: Option<&TlsPlan>,
    waited: Option<Duration>,
    websockets: bool,
) -> Failure {
    WAITED.with(|w| w.set(waited));
    let f = diagnose_over(host, port, tls, websockets);
    WAITED.with(|w| w.set(None));
    f
}

pub(crate) fn diagnose(host: &str, port: u16, tls: Option<&TlsPlan>) -> Failure {
    diagnose_over(host, port, tls, false)
}

/// `websockets`: after the TCP (and TLS) checks, probe the WebSocket upgrade instead of
/// speaking MQTT directly.
fn diagnose_over(host: &str, port: u16, tls: Option<&TlsPlan>, websockets: bool) -> Failure {
    // The probes' own handshakes are not the connection the expiry warning is about.
    super::peer::forget();
    // paho's handshake succeeded but the broker's key is not pinned: that is the cause.
    if let Some(f) = super::pin::take_mismatch() {
        return f;
    }
    // The probes' handshakes are not pin-checked; later reconnects are again.
    let _pins = super::pin::suspend();
    let h = printable(host);
    if host.starts_with('/') {
        // --unix PATH
        return match std::os::unix::net::UnixStream::connect(host) {
            Err(e) => Failure::new(
                NETWORK,
                format!("Error: unix socket {h}: {}.", os_error(&e)),
            )
            .and("Check the path given with --unix and that the broker listens there."),
            Ok(_) => Failure::new(
                crate::exit::GENERAL,
                format!("Error: could not connect over the unix socket {h}."),
            )
            .and("The socket accepts connections; run with -d to see the exchange."),
        };
    }
    let addr = match resolve(host, port) {
        Ok(a) => a,
        Err(f) => return f,
    };
    let tcp = match connect(&h, port, addr) {
        Ok(s) => s,
        Err(f) => return f,
    };
    match tls {
        None if websockets => {
            let mut tcp = tcp;
            let answer = crate::websocket::upgrade(&mut tcp, host, port, crate::plan::WS_PATH);
            let mqtt = || fresh(addr).is_some_and(|mut s| speaks_mqtt(&mut s));
            let (wait, unknown) = (waited_secs(), crate::exit::GENERAL);
            crate::websocket::failure(&h, port, answer, mqtt, false, wait, unknown)
        }
        None => plain(&h, port, addr, tcp),
        Some(plan) => with_tls(host, port, addr, tcp, plan, websockets),
    }
}

fn resolve(host: &str, port: u16) -> Result<SocketAddr, Failure> {
    let h = printable(host);
    let (tx, rx) = std::sync::mpsc::channel();
    let owned = host.to_string();
    let _ = std::thread::Builder::new()
        .name("mqtts-dns".into())
        .spawn(move || {
            let r = (owned.as_str(), port)
                .to_socket_addrs()
                .map(|a| a.collect::<Vec<_>>());
            let _ = tx.send(r);
        });
    match rx.recv_timeout(DNS_TIMEOUT) {
        Ok(Ok(addrs)) => {
            // Like paho: the first IPv4 address if there is one.
            let pick = addrs
                .iter()
                .find(|a| a.is_ipv4())
                .or_else(|| addrs.first())
                .copied();
            pick.ok_or_else(|| {
                Failure::new(NETWORK, format!("Error: DNS failure: {h} has no address."))
                    .and("Check the host name (-h).")
            })
        }
        Ok(Err(e)) => {
            let why = e.to_string();
            let why = why
                .strip_prefix("failed to lookup address information: ")
                .unwrap_or(&why)
                .to_string();
            Err(Failure::new(
                NETWORK,
                format!("Error: DNS failure: cannot resolve host name {h} ({why})."),
            )
            .and("Check the host name (-h) and this machine's DNS settings."))
        }
        Err(_) => Err(Failure::new(
            NETWORK,
            format!(
                "Error: DNS failure: no answer resolving {h} within {} s.",
                DNS_TIMEOUT.as_secs()
            ),
        )
        .and("Check this machine's DNS settings.")),
    }
}

fn connect(h: &str, port: u16, addr: SocketAddr) -> Result<TcpStream, Failure> {
    match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
        Ok(s) => {
            let _ = s.set_read_timeout(Some(IO_TIMEOUT));
            let _ = s.set_write_timeout(Some(IO_TIMEOUT));
            Ok(s)
        }
        Err(e) => {
            let ip = if h == addr.ip().to_string() {
                String::new()
            } else {
                format!(" ({})", addr.ip())
            };
            let f = match e.kind() {
                std::io::ErrorKind::ConnectionRefused => Failure::new(
                    NETWORK,
                    format!("Error: connection refused by {h} port {port}{ip}."),
                )
                .and("Nothing listens on that port: check the port (-p) and that the broker runs."),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => Failure::new(
                    NETWORK,
                    format!(
                        "Error: no answer from {h} port {port}{ip} within {} s.",
                        CONNECT_TIMEOUT.as_secs()
                    ),
                )
                .and("The host is down or a firewall drops the connection."),
                _ if matches!(
                    e.raw_os_error(),
                    Some(libc::ENETUNREACH | libc::EHOSTUNREACH | libc::EADDRNOTAVAIL)
                ) =>
                {
                    Failure::new(
                        NETWORK,
                        format!(
                            "Error: {h} port {port}{ip} is unreachable: {}.",
                            os_error(&e)
                        ),
                    )
                    .and("Check the address and this machine's network and routes.")
                }
                _ => Failure::new(
                    NETWORK,
                    format!(
                        "Error: cannot connect to {h} port {port}{ip}: {}.",
                        os_error(&e)
                    ),
                ),
            };
            Err(f)
        }
    }
}

/// An MQTT 3.1.1 CONNECT (clean session, client id "mqtts-probe").
const MQTT_CONNECT: [u8; 25] = [
    0x10, 23, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 10, 0, 11, b'm', b'q', b't', b't', b's',
    b'-', b'p', b'r', b'o', b'b', b'e',
];
const MQTT_DISCONNECT: [u8; 2] = [0xe0, 0];

/// Does `s` speak MQTT: send CONNECT, expect a CONNACK.
fn speaks_mqtt<S: Read + Write>(s: &mut S) -> bool {
    if s.write_all(&MQTT_CONNECT).is_err() {
        return false;
    }
    let mut buf = [0u8; 2];
    let ok = s.read_exact(&mut buf).is_ok() && buf[0] == 0x20;
    if ok {
        let _ = s.write_all(&MQTT_DISCONNECT);
    }
    ok
}

fn fresh(addr: SocketAddr) -> Option<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).ok()?;
    let _ = s.set_read_timeout(Some(IO_TIMEOUT));
    let _ = s.set_write_timeout(Some(IO_TIMEOUT));
    Some(s)
}

/// A verification problem seen during the handshake.
#[derive(Clone)]
struct Issue {
    error: X509VerifyResult,
    depth: u32,
    cert: Option<X509>,
}

/// What one probe handshake found.
pub(super) struct Outcome {
    issues: Vec<Issue>,
    /// The broker's leaf certificate (seen in the verify callback).
    pub(super) leaf: Option<X509>,
    pub(super) result: Result<SslStream<TcpStream>, Handshake>,
}

/// Why a handshake failed.
pub(super) struct Handshake {
    /// OpenSSL SSL-library reason codes and texts, oldest first.
    reasons: Vec<(i32, String)>,
    /// The connection ended (EOF/reset) without an SSL-level error.
    io: Option<String>,
    timed_out: bool,
}

impl Handshake {
    fn from_error(e: &openssl::ssl::Error) -> Handshake {
        let mut reasons = Vec::new();
        if let Some(stack) = e.ssl_error() {
            for er in stack.errors() {
                let reason = (er.code() & 0x7f_ffff) as i32;
                reasons.push((reason, er.reason().unwrap_or("").to_string()));
            }
        }
        let timed_out = e.io_error().is_some_and(|io| {
            matches!(
                io.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            )
        });
        Handshake {
            reasons,
            io: e.io_error().map(os_error),
            timed_out,
        }
    }
    /// The TLS alert the broker sent (reason = 1000 + alert number).
    pub(super) fn alert(&self) -> Option<u8> {
        self.reasons
            .iter()
            .find(|(r, _)| (1000..1256).contains(r))
            .map(|(r, _)| (r - 1000) as u8)
    }
    fn has(&self, reason: i32) -> bool {
        self.reasons.iter().any(|(r, _)| *r == reason)
    }
}

// OpenSSL 3 SSL reason codes (ssl/sslerr.h).
const R_WRONG_VERSION_NUMBER: i32 = 267;
const R_UNSUPPORTED_PROTOCOL: i32 = 258;
const R_NO_PROTOCOLS_AVAILABLE: i32 = 191;
const R_NO_CIPHERS_AVAILABLE: i32 = 181;
const R_NO_SHARED_CIPHER: i32 = 193;
const R_PACKET_LENGTH_TOO_LONG: i32 = 198;
const R_RECORD_LENGTH_MISMATCH: i32 = 213;
const R_UNEXPECTED_EOF: i32 = 294;
const R_RECORD_LAYER_FAILURE: i32 = 313;

pub(super) fn alert_name(a: u8) -> &'static str {
    match a {
        0 => "close notify",
        10 => "unexpected message",
        20 => "bad record MAC",
        40 => "handshake failure",
        42 => "bad certificate",
        43 => "unsupported certificate",
        44 => "certificate revoked",
        45 => "certificate expired",
        46 => "certificate unknown",
        47 => "illegal parameter",
        48 => "unknown CA",
        49 => "access denied",
        50 => "decode error",
        51 => "decrypt error",
        70 => "protocol version",
        71 => "insufficient security",
        80 => "internal error",
        86 => "inappropriate fallback",
        90 => "user canceled",
        109 => "missing extension",
        110 => "unsupported extension",
        112 => "unrecognized name",
        115 => "unknown PSK identity",
        116 => "certificate required",
        120 => "no application protocol",
        _ => "unknown alert",
    }
}

struct Settings<'a> {
    plan: Option<&'a TlsPlan>,
    /// Apply the plan's version limits.
    versions: bool,
    /// Apply the plan's cipher list and ALPN.
    ciphers: bool,
    /// Check the host name (`-h`).
    check_host: bool,
}

fn context(
    s: &Settings,
    issues: Arc<Mutex<(Vec<Issue>, Option<X509>)>>,
) -> Result<SslContext, openssl::error::ErrorStack> {
    let mut b: SslContextBuilder = SslContext::builder(SslMethod::tls_client())?;
    if let Some(p) = s.plan {
        if let Some(psk) = &p.psk {
            // No trust store: a certificate is recorded below, never trusted.
            super::psk::offer(&mut b, psk);
        } else if p.cafile.is_some() || p.capath.is_some() {
            if let Some(f) = &p.cafile {
                b.set_ca_file(f)?;
            }
            if let Some(d) = &p.capath {
                b.load_verify_locations(None, Some(std::path::Path::new(d)))?;
            } else if p.use_os_certs {
                let _ = b.load_verify_locations(None, Some(std::path::Path::new(OS_CA_DIR)));
            }
        } else {
            b.set_default_verify_paths()?;
        }
        if let Some(id) = &p.identity {
            b.set_certificate(&id.chain[0])?;
            for c in &id.chain[1..] {
                b.add_extra_chain_cert(c.clone())?;
            }
            b.set_private_key(&id.key)?;
        }
        if s.versions {
            b.set_min_proto_version(Some(p.min_version.ssl()))?;
            b.set_max_proto_version(p.max_version.map(TlsVersion::ssl))?;
        } else {
            b.set_min_proto_version(None)?;
            b.set_max_proto_version(None)?;
        }
        if s.ciphers {
            if let Some(c) = &p.ciphers {
                b.set_cipher_list(c)?;
            }
            if let Some(a) = &p.alpn {
                let mut wire = vec![a.len() as u8];
                wire.extend_from_slice(a.as_bytes());
                b.set_alpn_protos(&wire)?;
            }
        }
    } else {
        b.set_min_proto_version(None)?;
        b.set_max_proto_version(None)?;
    }
    // Record every verification problem and carry on, so the probe sees the whole
    // handshake; the problems are reported first, as paho stops at them.
    b.set_verify_callback(SslVerifyMode::PEER, move |ok, ctx| {
        if let Ok(mut g) = issues.lock() {
            let depth = ctx.error_depth();
            if depth == 0 && g.1.is_none() {
                g.1 = ctx.current_cert().map(|c| c.to_owned());
            }
            if !ok {
                g.0.push(Issue {
                    error: ctx.error(),
                    depth,
                    cert: ctx.current_cert().map(|c| c.to_owned()),
                });
            }
        }
        true
    });
    Ok(b.build())
}

fn handshake(host: &str, tcp: TcpStream, s: &Settings) -> Result<Outcome, String> {
    let rec = Arc::new(Mutex::new((Vec::new(), None)));
    let ctx = context(s, rec.clone()).map_err(|e| e.to_string())?;
    let mut ssl = Ssl::new(&ctx).map_err(|e| e.to_string())?;
    // The name paho's handshake used: --tls-server-name, else -h.
    let host = s.plan.map_or(host, |p| p.name_to_check(host));
    let _ = ssl.set_hostname(host);
    if s.check_host {
        let r = match host.parse::<IpAddr>() {
            Ok(ip) => ssl.param_mut().set_ip(ip),
            Err(_) => ssl.param_mut().set_host(host),
        };
        r.map_err(|e| e.to_string())?;
    }
    let result = match ssl.connect(tcp) {
        Ok(stream) => Ok(stream),
        Err(HandshakeError::SetupFailure(e)) => return Err(e.to_string()),
        Err(HandshakeError::Failure(m)) | Err(HandshakeError::WouldBlock(m)) => {
            Err(Handshake::from_error(m.error()))
        }
    };
    let (issues, leaf) = rec.lock().map(|g| g.clone()).unwrap_or_default();
    Ok(Outcome {
        issues,
        leaf,
        result,
    })
}

/// A fresh probe handshake with `plan` limited to TLS 1.3: the alert the broker sent
/// (None: no alert, or no connection).
pub(super) fn tls13_alert(host: &str, addr: SocketAddr, plan: &TlsPlan) -> Option<u8> {
    let mut p = plan.clone();
    p.min_version = TlsVersion::V1_3;
    p.max_version = Some(TlsVersion::V1_3);
    let s = Settings {
        plan: Some(&p),
        versions: true,
        ciphers: true,
        check_host: false,
    };
    let o = handshake(host, fresh(addr)?, &s).ok()?;
    o.result.err()?.alert()
}

/// Plain MQTT failed: is the port a TLS port?
fn plain(h: &str, port: u16, addr: SocketAddr, tcp: TcpStream) -> Failure {
    let s = Settings {
        plan: None,
        versions: false,
        ciphers: false,
        check_host: false,
    };
    if let Ok(o) = handshake(h, tcp, &s) {
        // Nothing came back to a ClientHello either: the port accepts and stays silent
        // (a hung broker, or a service that waits for the client); don't wait again.
        if o.leaf.is_none() && matches!(&o.result, Err(hs) if hs.timed_out && hs.alert().is_none())
        {
            return Failure::new(
                crate::exit::CONN_LOST,
                format!(
                    "Error: {h} port {port} accepted the connection but sent no CONNACK within {} s.",
                    waited_secs()
                ),
            )
            .and(
                "The broker is hung or overloaded, or the port belongs to a service that \
                 waits for the client (check -p). -k sets how long to wait (at most 30 s).",
            );
        }
        let spoke_tls = o.leaf.is_some()
            || match &o.result {
                Ok(_) => true,
                Err(hs) => hs.alert().is_some(),
            };
        if spoke_tls {
            return Failure::new(
                PLAIN_TO_TLS_PORT,
                format!("Error: {h} port {port} expects TLS, but this connection was plain MQTT."),
            )
            .and(format!(
                "Turn TLS on: --cafile FILE (the broker's CA), --tls-use-os-certs, or -L mqtts://{h}:{port}/"
            ));
        }
    }
    let mqtt = fresh(addr).is_some_and(|mut s| speaks_mqtt(&mut s));
    let ws = || {
        fresh(addr).is_some_and(|mut s| {
            let a = crate::websocket::upgrade(&mut s, h, port, crate::plan::WS_PATH);
            a == crate::websocket::Answer::Upgraded
        })
    };
    if mqtt {
        Failure::new(
            crate::exit::GENERAL,
            format!("Error: could not connect to {h} port {port}."),
        )
        .and("The port accepts TCP and answers MQTT; run with -d to see the exchange.")
    } else if ws() {
        crate::websocket::websocket_port(h, port, false)
    } else {
        Failure::new(
            crate::exit::CONN_LOST,
            format!("Error: {h} port {port} accepted the connection but does not answer MQTT."),
        )
        .and("Check the port (-p): it may belong to another service.")
    }
}

fn versions(plan: &TlsPlan) -> String {
    match plan.max_version {
        Some(max) if max == plan.min_version => max.openssl_name().to_string(),
        Some(max) => format!(
            "{} to {}",
            plan.min_version.openssl_name(),
            max.openssl_name()
        ),
        None => format!("{} or later", plan.min_version.openssl_name()),
    }
}

fn trust_source(plan: &TlsPlan) -> String {
    let mut v = Vec::new();
    if let Some(f) = &plan.cafile {
        v.push(format!("--cafile {}", printable(f)));
    }
    if let Some(d) = &plan.capath {
        v.push(format!("--capath {}", printable(d)));
    }
    if v.is_empty() || (plan.use_os_certs && plan.capath.is_none()) {
        v.push("the OS trust store".to_string());
    }
    v.join(" + ")
}

fn cert_names(c: &X509Ref) -> String {
    let mut names = Vec::new();
    if let Some(sans) = c.subject_alt_names() {
        for g in sans.iter() {
            if let Some(d) = g.dnsname() {
                names.push(format!("DNS:{}", printable(d)));
            } else if let Some(ip) = g.ipaddress() {
                let ip = match ip.len() {
                    4 => <[u8; 4]>::try_from(ip).map(IpAddr::from).ok(),
                    16 => <[u8; 16]>::try_from(ip).map(IpAddr::from).ok(),
                    _ => None,
                };
                if let Some(ip) = ip {
                    names.push(format!("IP:{ip}"));
                }
            }
        }
    }
    let cn: Vec<String> = c
        .subject_name()
        .entries_by_nid(openssl::nid::Nid::COMMONNAME)
        .filter_map(|e| e.data().to_string().ok().map(|s| printable(&s)))
        .collect();
    let mut out = if names.is_empty() {
        "no subjectAltName".to_string()
    } else {
        names.join(", ")
    };
    if !cn.is_empty() {
        out.push_str(&format!(" (CN={})", cn.join(", ")));
    }
    out
}

// X509_V_ERR_* values.
const V_NOT_YET_VALID: i32 = 9;
const V_EXPIRED: i32 = 10;
const V_HOSTNAME_MISMATCH: i32 = 62;
const V_EMAIL_MISMATCH: i32 = 63;
const V_IP_MISMATCH: i32 = 64;

fn from_issues(h: &str, port: u16, plan: &TlsPlan, o: &Outcome) -> Option<Failure> {
    let code = |i: &Issue| i.error.as_raw();
    let untrusted = o.issues.iter().find(|i| {
        !matches!(
            code(i),
            V_NOT_YET_VALID | V_EXPIRED | V_HOSTNAME_MISMATCH | V_EMAIL_MISMATCH | V_IP_MISMATCH
        )
    });
    let leaf_desc = |c: &X509Ref| {
        format!(
            "Server certificate: subject {}; issuer {}.",
            name(c.subject_name()),
            name(c.issuer_name())
        )
    };
    if let Some(i) = untrusted {
        let leaf = o.leaf.as_deref().or(i.cert.as_deref());
        let mut f = Failure::new(
            SERVER_CERT_UNTRUSTED,
            format!(
                "Error: the certificate of {h} port {port} is not trusted by {} ({}).",
                trust_source(plan),
                i.error.error_string()
            ),
        );
        if let Some(c) = leaf {
            f = f.and(leaf_desc(c));
        }
        return Some(
            f.and("Give the CA that signed the broker's certificate with --cafile (or --capath)."),
        );
    }
    if let Some(i) = o
        .issues
        .iter()
        .find(|i| matches!(code(i), V_EXPIRED | V_NOT_YET_VALID))
    {
        let c = i.cert.as_deref().or(o.leaf.as_deref())?;
        let whose = if i.depth == 0 {
            "the broker's certificate".to_string()
        } else {
            format!(
                "the CA certificate {} in the broker's chain",
                name(c.subject_name())
            )
        };
        let now = Asn1Time::days_from_now(0)
            .map(|t| t.to_string())
            .unwrap_or_default();
        let main = if code(i) == V_EXPIRED {
            format!(
                "Error: {whose} expired on {} ({h} port {port}).",
                c.not_after()
            )
        } else {
            format!(
                "Error: {whose} is not yet valid: valid from {} ({h} port {port}).",
                c.not_before()
            )
        };
        return Some(
            Failure::new(SERVER_CERT_EXPIRED, main)
                .and(leaf_desc(c))
                .and(format!(
                    "This machine's time is {now}; the broker's admin must renew it."
                )),
        );
    }
    if o.issues.iter().any(|i| {
        matches!(
            code(i),
            V_HOSTNAME_MISMATCH | V_IP_MISMATCH | V_EMAIL_MISMATCH
        )
    }) {
        let names = o
            .leaf
            .as_deref()
            .map(cert_names)
            .unwrap_or_else(|| "unknown".into());
        let f = match &plan.server_name {
            None => Failure::new(
                HOSTNAME_MISMATCH,
                format!("Error: host name {h} does not match the certificate of {h} port {port}."),
            )
            .and(format!("The certificate is for: {names}."))
            .and("Connect with one of those names (-h); --insecure skips this check, for testing only."),
            Some(n) => Failure::new(
                HOSTNAME_MISMATCH,
                format!(
                    "Error: server name {} (--tls-server-name) does not match the certificate of {h} port {port}.",
                    printable(n)
                ),
            )
            .and(format!("The certificate is for: {names}."))
            .and("Give one of those names with --tls-server-name; --insecure skips this check, for testing only."),
        };
        return Some(f);
    }
    None
}

/// The broker refused our client certificate with TLS alert `an`: the message and the
/// certificate's facts.
fn client_cert_rejected(h: &str, port: u16, an: &str, plan: &TlsPlan) -> Failure {
    let f = Failure::new(
        CLIENT_CERT_REJECTED,
        format!("Error: {h} port {port} rejected the client certificate (TLS alert \"{an}\")."),
    );
    match client_cert_facts(plan) {
        Some(facts) => f.and(facts),
        None => f,
    }
}

fn client_cert_facts(plan: &TlsPlan) -> Option<String> {
    plan.identity.as_ref().map(|id| {
        format!(
            "Client certificate {}: subject {}; issuer {}.",
            id.source,
            name(id.chain[0].subject_name()),
            name(id.chain[0].issuer_name())
        )
    })
}

/// Classify an alert (or local SSL error) from the broker.
fn from_handshake(
    h: &str,
    port: u16,
    addr: SocketAddr,
    plan: &TlsPlan,
    hs: &Handshake,
    saw_server_cert: bool,
) -> Failure {
    let alert = hs.alert();
    let has_cert = plan.identity.is_some();
    if let Some(a) = alert {
        let an = alert_name(a);
        match a {
            116 | 40 | 42 if !has_cert && (a == 116 || saw_server_cert) => {
                return Failure::new(
                    CLIENT_CERT_REQUIRED,
                    format!(
                        "Error: {h} port {port} requires a client certificate, and none was given."
                    ),
                )
                .and(format!("The broker sent the TLS alert \"{an}\"."))
                .and("Give one with --cert FILE --key FILE (or --pkcs12 FILE).");
            }
            42..=46 | 48 | 49 | 51 | 116 if has_cert => {
                return client_cert_rejected(h, port, an, plan).and(match a {
                    48 => "The broker does not trust its issuer: use a certificate from the broker's CA.",
                    45 => "The broker considers it expired: renew it.",
                    44 => "The broker says it was revoked: get a new one.",
                    _ => "Use a certificate the broker accepts (signed by the CA it trusts).",
                });
            }
            40 if has_cert && saw_server_cert => {
                return client_cert_rejected(h, port, an, plan);
            }
            70 | 71 | 40 | 120 => {
                return negotiation(h, port, addr, plan, &format!("TLS alert \"{an}\""));
            }
            _ => {
                let f = Failure::new(
                    TLS_FAILED,
                    format!(
                        "Error: the TLS handshake with {h} port {port} failed: the broker sent the alert \"{an}\"."
                    ),
                );
                // paho (like mosquitto) sends the host as the server name even when it is
                // an address, which RFC 6066 forbids and rustls-based brokers refuse.
                return if a == 50 && h.parse::<IpAddr>().is_ok() {
                    f.and(
                        "The host is an IP address, which paho sends as the TLS server name \
                         (SNI); some brokers (rustls-based ones) refuse that: connect by host name (-h).",
                    )
                } else {
                    f
                };
            }
        }
    }
    if hs.has(R_UNSUPPORTED_PROTOCOL)
        || hs.has(R_NO_PROTOCOLS_AVAILABLE)
        || hs.has(R_NO_CIPHERS_AVAILABLE)
        || hs.has(R_NO_SHARED_CIPHER)
    {
        let why = hs
            .reasons
            .first()
            .map(|(_, t)| t.clone())
            .unwrap_or_default();
        return negotiation(h, port, addr, plan, &why);
    }
    let not_tls = hs.has(R_WRONG_VERSION_NUMBER)
        || hs.has(R_PACKET_LENGTH_TOO_LONG)
        || hs.has(R_RECORD_LENGTH_MISMATCH)
        || hs.has(R_RECORD_LAYER_FAILURE);
    let closed = hs.has(R_UNEXPECTED_EOF) || (hs.reasons.is_empty() && !hs.timed_out);
    if (not_tls || closed) && !saw_server_cert {
        let mqtt = fresh(addr).is_some_and(|mut s| speaks_mqtt(&mut s));
        if mqtt || not_tls {
            let what = if mqtt {
                "plain MQTT"
            } else {
                "something that is not TLS"
            };
            return Failure::new(
                TLS_TO_PLAIN_PORT,
                format!("Error: {h} port {port} answered without TLS ({what})."),
            )
            .and("Use the broker's TLS port (often 8883), or drop the TLS options to connect without TLS.");
        }
        return Failure::new(
            TLS_FAILED,
            format!("Error: {h} port {port} closed the connection during the TLS handshake."),
        )
        .and("The port may not be a TLS listener, or the broker refused this client.");
    }
    if hs.timed_out {
        return Failure::new(
            TLS_FAILED,
            format!(
                "Error: {h} port {port} accepted the connection but the TLS handshake did not complete within {} s.",
                waited_secs()
            ),
        )
        .and(
            "The broker is hung or overloaded, or the port is not a TLS listener and waits \
             for the client. -k sets how long to wait (at most 30 s).",
        );
    }
    let why = hs
        .reasons
        .last()
        .map(|(_, t)| t.clone())
        .or_else(|| hs.io.clone())
        .unwrap_or_else(|| "unknown reason".into());
    Failure::new(
        TLS_FAILED,
        format!("Error: the TLS handshake with {h} port {port} failed ({why})."),
    )
}

/// Version / cipher / ALPN negotiation failed: say what was offered and what the broker
/// picks when offered everything.
fn negotiation(h: &str, port: u16, addr: SocketAddr, plan: &TlsPlan, why: &str) -> Failure {
    let mut offered = format!("TLS {}", versions(plan));
    if let Some(c) = &plan.ciphers {
        offered.push_str(&format!(", ciphers {} (TLS 1.2 and below)", printable(c)));
    }
    if let Some(a) = &plan.alpn {
        offered.push_str(&format!(", ALPN {}", printable(a)));
    }
    let what = if why.contains("application protocol") {
        "the ALPN protocol"
    } else if why.contains("protocol version") || why.contains("unsupported protocol") {
        "the TLS versions"
    } else if plan.ciphers.is_some() {
        "the ciphers"
    } else {
        "the TLS versions/ciphers"
    };
    let mut f = Failure::new(
        TLS_NEGOTIATION,
        format!("Error: {h} port {port} refused {what} offered ({why})."),
    )
    .and(format!("Offered: {offered}."));
    // What does the broker pick without the cipher list, or else without the versions?
    let tries = if plan.ciphers.is_some() || plan.alpn.is_some() {
        [
            (true, false, "no --ciphers/--tls-alpn"),
            (false, false, "no limits"),
        ]
    } else {
        [
            (false, true, "any TLS version"),
            (false, false, "no limits"),
        ]
    };
    for (versions, ciphers, label) in tries {
        let s = Settings {
            plan: Some(plan),
            versions,
            ciphers,
            check_host: false,
        };
        let Some(tcp) = fresh(addr) else { break };
        if let Ok(Outcome {
            result: Ok(stream), ..
        }) = handshake(h, tcp, &s)
        {
            let ssl = stream.ssl();
            let cipher = ssl.current_cipher().map(|c| c.name()).unwrap_or("?");
            f = f.and(format!(
                "With {label} the broker negotiates {} with {cipher}.",
                ssl.version_str()
            ));
            break;
        }
    }
    if plan.alpn.is_some() && why.contains("application protocol") {
        f = f.and("Check --tls-alpn: the broker does not accept that protocol name.");
    } else {
        f = f.and(
            "Adjust --tls-version / --tls-max-version / --ciphers to what the broker supports.",
        );
    }
    f
}

fn with_tls(
    host: &str,
    port: u16,
    addr: SocketAddr,
    tcp: TcpStream,
    plan: &TlsPlan,
    websockets: bool,
) -> Failure {
    let h = printable(host);
    let s = Settings {
        plan: Some(plan),
        versions: true,
        ciphers: true,
        check_host: !plan.insecure && plan.psk.is_none(),
    };
    let o = match handshake(host, tcp, &s) {
        Ok(o) => o,
        Err(e) => {
            return Failure::new(
                TLS_FAILED,
                format!(
                    "Error: cannot set up TLS for {h} port {port}: {}.",
                    printable(&e)
                ),
            );
        }
    };
    if let Some(f) = plan
        .psk
        .as_ref()
        .and_then(|psk| super::psk::diagnose(host, port, addr, plan, psk, &o))
    {
        return f;
    }
    if let Some(f) = from_issues(&h, port, plan, &o) {
        return f;
    }
    let saw_cert = o.leaf.is_some();
    match o.result {
        Err(hs) => from_handshake(&h, port, addr, plan, &hs, saw_cert),
        Ok(mut stream) if websockets => {
            let path = crate::plan::WS_PATH;
            let answer = match crate::websocket::upgrade_tls(&mut stream, host, port, path) {
                Ok(a) => a,
                Err(e) => {
                    // TLS 1.3: a rejected (or missing) client certificate shows up here.
                    let hs = Handshake::from_error(&e);
                    if hs.alert().is_some() {
                        return from_handshake(&h, port, addr, plan, &hs, true);
                    }
                    crate::websocket::Answer::Closed
                }
            };
            // Plain MQTT over TLS: the same handshake on a fresh connection, then CONNECT.
            let mqtt = || {
                fresh(addr)
                    .and_then(|tcp| handshake(host, tcp, &s).ok())
                    .and_then(|o| o.result.ok())
                    .is_some_and(|mut st| speaks_mqtt(&mut st))
            };
            crate::websocket::failure(&h, port, answer, mqtt, true, waited_secs(), TLS_FAILED)
        }
        Ok(mut stream) => {
            // A WebSocket listener (paho spoke MQTT to it without --ws)?
            let ws = || {
                fresh(addr)
                    .and_then(|tcp| handshake(host, tcp, &s).ok())
                    .and_then(|o| o.result.ok())
                    .is_some_and(|mut st| {
                        let a =
                            crate::websocket::upgrade(&mut st, host, port, crate::plan::WS_PATH);
                        a == crate::websocket::Answer::Upgraded
                    })
            };
            // TLS 1.3: a rejected client certificate shows up on the first read.
            let _ = stream.write_all(&MQTT_CONNECT);
            let mut buf = [0u8; 2];
            match stream.ssl_read(&mut buf) {
                Ok(n) if n > 0 && buf[0] == 0x20 => {
                    let _ = stream.write_all(&MQTT_DISCONNECT);
                    let ssl = stream.ssl();
                    Failure::new(
                        TLS_FAILED,
                        format!("Error: could not connect to {h} port {port} over TLS."),
                    )
                    .and(format!(
                        "A TLS handshake with the same settings works ({}, the broker answers MQTT).",
                        ssl.version_str()
                    ))
                    .and("Run with -d to see paho's side of the failure.")
                }
                Ok(_) if ws() => crate::websocket::websocket_port(&h, port, true),
                Ok(_) => Failure::new(
                    TLS_FAILED,
                    format!("Error: {h} port {port} completed TLS but does not answer MQTT."),
                ),
                Err(e) => {
                    let hs = Handshake::from_error(&e);
                    if hs.alert().is_some() {
                        from_handshake(&h, port, addr, plan, &hs, true)
                    } else if ws() {
                        crate::websocket::websocket_port(&h, port, true)
                    } else {
                        Failure::new(
                            TLS_FAILED,
                            format!(
                                "Error: {h} port {port} closed the TLS connection before answering MQTT."
                            ),
                        )
                    }
                }
            }
        }
    }
}
