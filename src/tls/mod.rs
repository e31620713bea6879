//! TLS: mapping mosquitto's TLS flags onto paho, checking files before connecting, and
//! naming the cause of every TLS failure.
//!
//! Interface used by the connection code:
//! - [`plan`] decides whether the connection is TLS (mosquitto 2.0's rules plus "any TLS
//!   option means TLS or an error"), rejects options mqtts cannot honour, and checks the
//!   files before connecting (readable, PEM, key matches cert, key password, expiry);
//! - [`plan`] also makes OpenSSL enforce `--tls-version`/`--tls-max-version` for the
//!   whole process (paho's `ssl_version` is a no-op on OpenSSL 3): OpenSSL reads its
//!   configuration at its first use, which is `plan`'s file checks (see `process`);
//! - [`TlsPlan::ssl_options`] builds paho's options (host name verification on unless
//!   `--insecure`);
//! - [`diagnose`] names the cause after paho reports a connect failure (a plain TCP
//!   connect, then a handshake with the same settings through the `openssl` crate);
//! - [`plaintext_password_warning`] for `-P` sent without TLS to another host.
//!
//! # Exit codes
//!
//! One stable code per failure class. mosquitto's code is kept where mosquitto's is
//! deterministic (1 for file/option problems and refused/unreachable/DNS, 7 for plain
//! MQTT to a TLS port); the TLS handshake classes, where mosquitto exits 1 or 14 at
//! random, get their own codes in 80–88 (clear of CONNACK codes 1–5 and 128–162). The
//! other classes mqtts adds are `websocket`'s 89 and 90 and the `--proxy` codes of
//! `connection::socks` (3, 4, 7, 11, 14, 16: mosquitto's); the man pages' EXIT STATUS
//! tables list them all.
//!
//! | Class | Constant | Code |
//! |---|---|---|
//! | TLS file missing/unreadable/not PEM, `--cert` without `--key`, key/cert mismatch, key password missing or wrong, engine not loadable / engine key not found / wrong token PIN, expired client cert or CA file, bad TLS option value, TLS option without TLS, `--psk` empty or with certificate options | [`FILE_ERROR`] | 1 |
//! | TCP connection refused / network unreachable / DNS failure / no answer | [`NETWORK`] | 1 |
//! | plain MQTT spoken to a TLS port | [`PLAIN_TO_TLS_PORT`] | 7 |
//! | TLS handshake failed, cause not identified | [`TLS_FAILED`] | 8 |
//! | server certificate not trusted by the CA given (with `--psk`: any certificate) | [`SERVER_CERT_UNTRUSTED`] | 80 |
//! | server certificate (or its CA) expired / not yet valid | [`SERVER_CERT_EXPIRED`] | 81 |
//! | host name does not match the server certificate | [`HOSTNAME_MISMATCH`] | 82 |
//! | broker requires a client certificate, none given | [`CLIENT_CERT_REQUIRED`] | 83 |
//! | broker rejected the client certificate | [`CLIENT_CERT_REJECTED`] | 84 |
//! | TLS version / cipher / ALPN negotiation failed | [`TLS_NEGOTIATION`] | 85 |
//! | TLS spoken to a port that answers without TLS | [`TLS_TO_PLAIN_PORT`] | 86 |
//! | broker rejected the PSK: identity unknown, or its key differs from `--psk` | [`PSK_REJECTED`] | 87 |
//! | the broker's public key is not one of `--pinnedpubkey` | [`PIN_MISMATCH`] | 88 |

pub mod engine;
mod files;
pub mod handshake;
pub mod keylog;
pub mod peer;
pub mod pin;
mod pkcs11;
pub(crate) use files::{os_error, printable};
mod probe;
mod process;
pub mod psk;

use crate::exit::Failure;
use crate::options::Options;
use std::sync::Arc;

/// TLS files and options: missing/unreadable/not PEM, cert/key pairing, passwords,
/// expired certificates, TLS option without TLS.
pub const FILE_ERROR: i32 = crate::exit::GENERAL;
/// TCP refused, network/host unreachable, DNS failure, connect timeout.
pub const NETWORK: i32 = crate::exit::GENERAL;
/// Plain MQTT to a port that expects TLS (mosquitto_pub exits 7 here: the connection is
/// lost).
pub const PLAIN_TO_TLS_PORT: i32 = crate::exit::CONN_LOST;
/// TLS failed and the probe could not tell why (mosquitto's MOSQ_ERR_TLS).
pub const TLS_FAILED: i32 = 8;
/// The broker's certificate chain is not trusted by the CA file/dir/OS store.
pub const SERVER_CERT_UNTRUSTED: i32 = 80;
/// The broker's certificate (or a CA in its chain) is expired or not yet valid.
pub const SERVER_CERT_EXPIRED: i32 = 81;
/// The host name (`-h`) is not among the names in the broker's certificate.
pub const HOSTNAME_MISMATCH: i32 = 82;
/// The broker requires a client certificate and none was given.
pub const CLIENT_CERT_REQUIRED: i32 = 83;
/// The broker rejected the client certificate (unknown CA, expired, revoked, …).
pub const CLIENT_CERT_REJECTED: i32 = 84;
/// No common TLS version, cipher or ALPN protocol.
pub const TLS_NEGOTIATION: i32 = 85;
/// The port answered without TLS (TLS options used against a plain MQTT port).
pub const TLS_TO_PLAIN_PORT: i32 = 86;
/// The broker rejected the pre-shared key: it does not know `--psk-identity`, or its key
/// for that identity differs from `--psk`.
pub const PSK_REJECTED: i32 = 87;
/// The broker's certificate verified, but its public key is not one of `--pinnedpubkey`.
pub const PIN_MISMATCH: i32 = 88;

/// Environment variable with the client key (or PKCS#12) password.
pub const KEY_PASSWORD_ENV: &str = "MQTTS_KEY_PASSWORD";

/// Default for `--cert-expiry-warn`.
pub const DEFAULT_EXPIRY_WARN: std::time::Duration = std::time::Duration::from_secs(30 * 86400);

/// Where the OS CA directory is (added with `--tls-use-os-certs` next to `--cafile`).
pub const OS_CA_DIR: &str = "/etc/ssl/certs";

/// A TLS protocol version as mosquitto's `--tls-version` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    V1_1,
    V1_2,
    V1_3,
}

impl TlsVersion {
    /// `tlsv1.1`, `tlsv1.2`, `tlsv1.3` (any case).
    pub fn parse(s: &str) -> Option<TlsVersion> {
        match s.to_ascii_lowercase().as_str() {
            "tlsv1.1" => Some(TlsVersion::V1_1),
            "tlsv1.2" => Some(TlsVersion::V1_2),
            "tlsv1.3" => Some(TlsVersion::V1_3),
            _ => None,
        }
    }
    /// OpenSSL's spelling (`TLSv1.2`), as in openssl.cnf and `SSL_get_version`.
    pub fn openssl_name(self) -> &'static str {
        match self {
            TlsVersion::V1_1 => "TLSv1.1",
            TlsVersion::V1_2 => "TLSv1.2",
            TlsVersion::V1_3 => "TLSv1.3",
        }
    }
    fn ssl(self) -> openssl::ssl::SslVersion {
        match self {
            TlsVersion::V1_1 => openssl::ssl::SslVersion::TLS1_1,
            TlsVersion::V1_2 => openssl::ssl::SslVersion::TLS1_2,
            TlsVersion::V1_3 => openssl::ssl::SslVersion::TLS1_3,
        }
    }
}

/// A string that must never be printed (passwords).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub(crate) String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// The client certificate chain and its (decrypted) key, kept for the diagnosis probe.
#[derive(Clone)]
pub struct Identity {
    /// Leaf first, then the rest of the chain.
    pub chain: Vec<openssl::x509::X509>,
    pub(crate) key: openssl::pkey::PKey<openssl::pkey::Private>,
    /// What to call the certificate in messages: `--cert PATH` or `--pkcs12 PATH`.
    pub source: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("source", &self.source)
            .field("certs", &self.chain.len())
            .finish_non_exhaustive()
    }
}

/// A decided TLS configuration for one connection.
#[derive(Debug, Clone)]
pub struct TlsPlan {
    pub cafile: Option<String>,
    pub capath: Option<String>,
    /// `--tls-use-os-certs`, or no cafile/capath (then the OS store is the trust).
    pub use_os_certs: bool,
    /// The certificate file handed to paho (`--cert`, or the in-memory PEM made from
    /// `--pkcs12`).
    pub cert: Option<String>,
    /// The key file handed to paho.
    pub key: Option<String>,
    /// Password for an encrypted PEM `--key`, given to paho's `private_key_password`.
    pub key_password: Option<Secret>,
    pub identity: Option<Identity>,
    pub insecure: bool,
    pub ciphers: Option<String>,
    pub alpn: Option<String>,
    /// `--psk`/`--psk-identity`: no certificates, no trust store, no host check.
    pub psk: Option<psk::Psk>,
    /// Minimum TLS version (default TLSv1.2, like mosquitto).
    pub min_version: TlsVersion,
    pub max_version: Option<TlsVersion>,
    /// `--cert-expiry-warn` (default 30 days).
    pub expiry_warn: std::time::Duration,
    /// `--tls-server-name`: sent as SNI and checked instead of `-h`.
    pub server_name: Option<String>,
    /// `--pinnedpubkey`: the broker's public key must be one of these.
    pub pins: Option<pin::Pins>,
    /// `--tls-keylog` / `SSLKEYLOGFILE`: where the TLS secrets go.
    pub keylog: Option<Arc<keylog::KeyLog>>,
    /// Warnings to print on stderr before connecting (expiry, --insecure, …).
    pub warnings: Vec<String>,
    /// Keeps the memfd behind `/proc/self/fd/N` (PKCS#12 → PEM) open for paho.
    pub(crate) _memfd: Option<Arc<std::fs::File>>,
}

pub(crate) fn option_error(line: impl Into<String>) -> Failure {
    let mut f = Failure::new(FILE_ERROR, line);
    f.always = true;
    f
}

/// `--keyform engine`: `--key` names a key held by the `--tls-engine` engine.
pub(crate) fn keyform_engine(opts: &Options) -> bool {
    opts.tls
        .keyform
        .as_deref()
        .is_some_and(|k| k.eq_ignore_ascii_case("engine"))
}

/// The first TLS-only option given, by its command-line name.
fn first_tls_only_option(opts: &Options) -> Option<&'static str> {
    let t = &opts.tls;
    [
        (t.cert.is_some(), "--cert"),
        (t.key.is_some(), "--key"),
        (t.pkcs12.is_some(), "--pkcs12"),
        (t.key_password_file.is_some(), "--key-password-file"),
        (t.insecure, "--insecure"),
        (t.ciphers.is_some(), "--ciphers"),
        (t.tls_version.is_some(), "--tls-version"),
        (t.tls_max_version.is_some(), "--tls-max-version"),
        (t.tls_alpn.is_some(), "--tls-alpn"),
        (t.tls_engine.is_some(), "--tls-engine"),
        (t.server_name.is_some(), "--tls-server-name"),
        (t.pinned_pubkey.is_some(), "--pinnedpubkey"),
        (t.keylog.is_some(), "--tls-keylog"),
    ]
    .into_iter()
    .find(|(given, _)| *given)
    .map(|(_, name)| name)
}

fn parse_version(option: &str, v: Option<&str>) -> Result<Option<TlsVersion>, Failure> {
    match v {
        None => Ok(None),
        Some(s) => TlsVersion::parse(s).map(Some).ok_or_else(|| {
            option_error(format!(
                "Error: {option} {}: unknown TLS version.",
                files::printable(s)
            ))
            .and("Use tlsv1.1, tlsv1.2 or tlsv1.3.")
        }),
    }
}

/// Decide TLS for `opts` connecting to the effective `port`; `Ok(None)` = plain MQTT.
///
/// TLS is on (mosquitto 2.0) with `--cafile`, `--capath`, `--psk`, `--tls-use-os-certs`,
/// `-L mqtts://` (or `wss://`), or the effective port 8883, over TCP or WebSockets alike. Any other TLS option without TLS on is an
/// error, never a silent plaintext connection. When TLS is on, the files are checked
/// here, before connecting, and `plan.warnings` collects expiry and `--insecure` lines.
pub fn plan(opts: &Options, port: u16) -> Result<Option<TlsPlan>, Failure> {
    psk::identity_without_key(opts)?;
    let t = &opts.tls;
    let tls_on_by_option =
        t.cafile.is_some() || t.capath.is_some() || t.use_os_certs || t.psk.is_some();
    if opts.unix_socket {
        let opt = if t.cafile.is_some() {
            Some("--cafile")
        } else if t.capath.is_some() {
            Some("--capath")
        } else if t.use_os_certs {
            Some("--tls-use-os-certs")
        } else if t.psk.is_some() {
            Some("--psk")
        } else if opts.url_tls {
            Some("-L mqtts://")
        } else {
            first_tls_only_option(opts)
        };
        if let Some(opt) = opt {
            return Err(option_error(format!(
                "Error: {opt} cannot be used with --unix: mqtts has no TLS over unix sockets."
            ))
            .and("Connect over TCP (-h HOST -p PORT) to use TLS, or drop the TLS options."));
        }
        return Ok(None);
    }
    let on = tls_on_by_option || opts.url_tls || port == 8883;
    if !on {
        if let Some(opt) = first_tls_only_option(opts) {
            return Err(option_error(format!(
                "Error: {opt} needs TLS, but this connection to port {port} is not TLS."
            ))
            .and(
                "mqtts never falls back to plaintext: turn TLS on with --cafile FILE, \
                 --capath DIR or --tls-use-os-certs, or use -p 8883 / -L mqtts://.",
            ));
        }
        return Ok(None);
    }

    let min_version =
        parse_version("--tls-version", t.tls_version.as_deref())?.unwrap_or(TlsVersion::V1_2);
    let max_version = parse_version("--tls-max-version", t.tls_max_version.as_deref())?;
    if let Some(max) = max_version.filter(|m| *m < min_version) {
        return Err(option_error(format!(
            "Error: --tls-max-version {} is lower than the minimum {}.",
            max.openssl_name(),
            min_version.openssl_name()
        ))
        .and("--tls-version sets the minimum version, --tls-max-version the maximum."));
    }
    // Before any other use of OpenSSL in this process: OpenSSL reads its config once.
    process::init(min_version, max_version);
    let psk = psk::from_options(opts)?;

    let mut plan = TlsPlan {
        cafile: t.cafile.clone(),
        capath: t.capath.clone(),
        use_os_certs: psk.is_none()
            && (t.use_os_certs || (t.cafile.is_none() && t.capath.is_none())),
        cert: None,
        key: None,
        key_password: None,
        identity: None,
        insecure: t.insecure,
        ciphers: t.ciphers.clone(),
        alpn: t.tls_alpn.clone(),
        psk,
        min_version,
        max_version,
        expiry_warn: t.cert_expiry_warn.unwrap_or(DEFAULT_EXPIRY_WARN),
        server_name: server_name(t.server_name.as_deref())?,
        pins: t.pinned_pubkey.as_deref().map(pin::parse).transpose()?,
        keylog: None,
        warnings: Vec::new(),
        _memfd: None,
    };
    if keyform_engine(opts) && t.tls_engine.is_none() {
        return Err(option_error(
            "Error: --keyform engine needs --tls-engine ENGINE: the engine that holds the key.",
        )
        .and("For a PKCS#11 token: --tls-engine pkcs11 --key 'pkcs11:token=…;object=…'."));
    }
    if let (Some(e), false) = (&t.tls_engine, keyform_engine(opts)) {
        engine::load_engine_only(e)?;
    }
    files::check(opts, &mut plan)?;
    if let Some((log, warning)) = keylog::open(t.keylog.as_deref())? {
        plan.keylog = Some(log);
        plan.warnings.extend(warning);
    }
    if t.use_os_certs && t.cafile.is_some() && t.capath.is_some() {
        plan.warnings.push(format!(
            "Warning: --tls-use-os-certs is not used together with --capath: paho takes one CA \
             directory, so {OS_CA_DIR} is not searched."
        ));
    }
    if plan.insecure && plan.psk.is_some() {
        plan.warnings.push(
            "Warning: --insecure has no effect with --psk: there is no certificate or host \
             name to check (the key authenticates the broker)."
                .to_string(),
        );
    } else if plan.insecure {
        plan.warnings.push(
            "Warning: --insecure: the broker's host name is not checked against its \
             certificate (the certificate chain still is)."
                .to_string(),
        );
    }
    Ok(Some(plan))
}

/// `--tls-server-name NAME`, checked: a DNS name or an IP address.
fn server_name(name: Option<&str>) -> Result<Option<String>, Failure> {
    match name {
        None => Ok(None),
        Some(n) if handshake::valid_server_name(n) => Ok(Some(n.to_string())),
        Some(n) => Err(option_error(format!(
            "Error: --tls-server-name {:?} is not a host name or an IP address.",
            files::printable(n)
        ))
        .and(
            "Give the name the broker's certificate is for, e.g. --tls-server-name broker.example.",
        )),
    }
}

impl TlsPlan {
    /// The name the broker's certificate must be for: `--tls-server-name`, else `host`.
    pub fn name_to_check<'a>(&'a self, host: &'a str) -> &'a str {
        self.server_name.as_deref().unwrap_or(host)
    }

    /// paho's SSL options for this plan.
    pub fn ssl_options(&self) -> Result<paho_mqtt::SslOptions, Failure> {
        let mut b = paho_mqtt::SslOptionsBuilder::new();
        let bad = |e: paho_mqtt::Error| {
            Failure::new(
                FILE_ERROR,
                format!("Error: problem setting TLS options: {e}"),
            )
        };
        if let Some(f) = &self.cafile {
            b.trust_store(f).map_err(bad)?;
        }
        if let Some(d) = &self.capath {
            b.ca_path(d).map_err(bad)?;
        } else if self.use_os_certs && self.cafile.is_some() {
            // paho loads the default paths only when neither file nor dir is set.
            b.ca_path(OS_CA_DIR).map_err(bad)?;
        }
        if let Some(f) = &self.cert {
            b.key_store(f).map_err(bad)?;
        }
        if let Some(f) = &self.key {
            b.private_key(f).map_err(bad)?;
        }
        if let Some(p) = &self.key_password {
            b.private_key_password(p.0.as_str());
        }
        if let Some(c) = &self.ciphers {
            b.enabled_cipher_suites(c.as_str());
        }
        if let Some(a) = &self.alpn {
            b.alpn_protos(&[a.as_str()]);
        }
        b.enable_server_cert_auth(true);
        if let Some(p) = &self.psk {
            // No CA: any certificate the broker presents fails verification. No host
            // check: paho's runs X509_check_host on the peer certificate, and a PSK
            // handshake has none. The key goes in at the SSL_connect seam.
            b.disable_default_trust_store(true);
            b.verify(false);
            psk::arm(p);
        } else {
            // paho checks the URI host (-h) after the handshake; with --tls-server-name
            // the name is checked during the handshake instead (handshake::before).
            b.verify(!self.insecure && self.server_name.is_none());
        }
        Ok(b.finalize())
    }
}

/// After paho failed to connect to `host:port`: find and name the cause.
/// `tls` is None for a plain MQTT connection. Bounded: a few seconds at most.
pub fn diagnose(host: &str, port: u16, tls: Option<&TlsPlan>) -> Failure {
    probe::diagnose(host, port, tls)
}

/// [`diagnose`] after paho tried for `waited` (at most its connect timeout): a peer that
/// accepts and stays silent is reported as "no CONNACK within N s" / "the TLS handshake
/// did not complete within N s" with that N. Bounded like [`diagnose`] (about 3 s for a
/// silent peer: one probe, whose silence is the answer).
pub fn diagnose_after(
    host: &str,
    port: u16,
    tls: Option<&TlsPlan>,
    waited: std::time::Duration,
) -> Failure {
    probe::diagnose_after(host, port, tls, Some(waited), false)
}

/// [`diagnose_after`] for MQTT over WebSockets: the same TCP and TLS checks, then the
/// WebSocket upgrade itself (see [`crate::websocket`]).
pub fn diagnose_websocket_after(
    host: &str,
    port: u16,
    tls: Option<&TlsPlan>,
    waited: std::time::Duration,
) -> Failure {
    probe::diagnose_after(host, port, tls, Some(waited), true)
}

/// "in 3 days", "in 1 day", "within a day" for an expiry `secs` from now.
pub(crate) fn time_left(secs: i64) -> String {
    match secs / 86400 {
        0 => "within a day".to_string(),
        1 => "in 1 day".to_string(),
        d => format!("in {d} days"),
    }
}

/// `true` for `localhost` (and `*.localhost`, `ip6-localhost`) and loopback addresses.
fn is_loopback_host(host: &str) -> bool {
    let h = host
        .trim_end_matches('.')
        .trim_start_matches('[')
        .trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost")
        || h.eq_ignore_ascii_case("ip6-localhost")
        || h.to_ascii_lowercase().ends_with(".localhost")
    {
        return true;
    }
    h.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// The warning line for a password (`-P`) about to go out in plaintext to a host that is
/// not this machine; None when there is nothing to warn about.
pub fn plaintext_password_warning(opts: &Options, host: &str, tls_on: bool) -> Option<String> {
    let source = opts.password.is_some().then_some("-P");
    password_in_clear_warning(opts, host, tls_on, source)
}

/// [`plaintext_password_warning`] for a password from `source` (`-P`, `--pw-file`,
/// `MQTTS_PASSWORD`; None = no password).
pub fn password_in_clear_warning(
    opts: &Options,
    host: &str,
    tls_on: bool,
    source: Option<&str>,
) -> Option<String> {
    let source = source?;
    if tls_on || opts.unix_socket || is_loopback_host(host) {
        return None;
    }
    Some(format!(
        "Warning: the password ({source}) is sent to {} in plaintext; use TLS (--cafile, \
         --tls-use-os-certs or -p 8883) to protect it.",
        files::printable(host)
    ))
}
