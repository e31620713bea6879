//! The probe's own TLS handshake: an `openssl` context with the plan's settings (or some
//! of them relaxed), which records every verification problem and carries on, and the
//! reasons and alert of a failed handshake.

use super::tcp::fresh;
use crate::tls::{OS_CA_DIR, TlsPlan, TlsVersion, os_error};
use openssl::ssl::{
    HandshakeError, Ssl, SslContext, SslContextBuilder, SslMethod, SslStream, SslVerifyMode,
};
use openssl::x509::{X509, X509VerifyResult};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};

/// A verification problem seen during the handshake.
#[derive(Clone)]
pub(super) struct Issue {
    pub(super) error: X509VerifyResult,
    pub(super) depth: u32,
    pub(super) cert: Option<X509>,
}

/// What one probe handshake found.
pub(in crate::tls) struct Outcome {
    pub(super) issues: Vec<Issue>,
    /// The broker's leaf certificate (seen in the verify callback).
    pub(in crate::tls) leaf: Option<X509>,
    pub(in crate::tls) result: Result<SslStream<TcpStream>, Handshake>,
}

/// Why a handshake failed.
pub(in crate::tls) struct Handshake {
    /// OpenSSL SSL-library reason codes and texts, oldest first.
    pub(super) reasons: Vec<(i32, String)>,
    /// The connection ended (EOF/reset) without an SSL-level error.
    pub(super) io: Option<String>,
    pub(super) timed_out: bool,
}

impl Handshake {
    pub(super) fn from_error(e: &openssl::ssl::Error) -> Handshake {
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
    pub(in crate::tls) fn alert(&self) -> Option<u8> {
        self.reasons
            .iter()
            .find(|(r, _)| (1000..1256).contains(r))
            .map(|(r, _)| (r - 1000) as u8)
    }
    pub(super) fn has(&self, reason: i32) -> bool {
        self.reasons.iter().any(|(r, _)| *r == reason)
    }
}

// OpenSSL 3 SSL reason codes (ssl/sslerr.h).
pub(super) const R_WRONG_VERSION_NUMBER: i32 = 267;
pub(super) const R_UNSUPPORTED_PROTOCOL: i32 = 258;
pub(super) const R_NO_PROTOCOLS_AVAILABLE: i32 = 191;
pub(super) const R_NO_CIPHERS_AVAILABLE: i32 = 181;
pub(super) const R_NO_SHARED_CIPHER: i32 = 193;
pub(super) const R_PACKET_LENGTH_TOO_LONG: i32 = 198;
pub(super) const R_RECORD_LENGTH_MISMATCH: i32 = 213;
pub(super) const R_UNEXPECTED_EOF: i32 = 294;
pub(super) const R_RECORD_LAYER_FAILURE: i32 = 313;

pub(in crate::tls) fn alert_name(a: u8) -> &'static str {
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

pub(super) struct Settings<'a> {
    pub(super) plan: Option<&'a TlsPlan>,
    /// Apply the plan's version limits.
    pub(super) versions: bool,
    /// Apply the plan's cipher list and ALPN.
    pub(super) ciphers: bool,
    /// Check the host name (`-h`).
    pub(super) check_host: bool,
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

pub(super) fn handshake(host: &str, tcp: TcpStream, s: &Settings) -> Result<Outcome, String> {
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
pub(in crate::tls) fn tls13_alert(host: &str, addr: SocketAddr, plan: &TlsPlan) -> Option<u8> {
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
