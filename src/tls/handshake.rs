//! What mqtts adds to paho's own TLS handshakes: the server name (`--tls-server-name`), the
//! key log (`--tls-keylog`, `SSLKEYLOGFILE`, see [`super::keylog`]) and the public-key pins
//! (`--pinnedpubkey`, see [`super::pin`]).
//!
//! paho creates the `SSL` object and its context; its call to `SSL_connect` goes through
//! [`crate::seams`], which calls [`before`] ahead of libssl's handshake and [`after`] once
//! it returns. [`arm`] (from the connection, just before paho connects) says what to do;
//! until then both are one relaxed atomic load.
//!
//! The diagnosis probe's handshakes (`probe`) go through the same override and get the same
//! server name (the probe sets it itself as well) and key log; the diagnosis suspends the pin check
//! while it runs ([`super::pin::suspend`]).

use super::TlsPlan;
use super::keylog::KeyLog;
use foreign_types::ForeignTypeRef;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// What [`before`]/[`after`] do, from the plan.
struct Extras {
    /// `--tls-server-name` and whether to check it (not with `--insecure`).
    server_name: Option<(String, bool)>,
    keylog: Option<Arc<KeyLog>>,
}

static ARMED: AtomicBool = AtomicBool::new(false);
static EXTRAS: Mutex<Option<Extras>> = Mutex::new(None);

unsafe extern "C" {
    /// libssl: 1 while no handshake message was sent yet (not bound by openssl-sys).
    fn SSL_in_before(s: *const openssl_sys::SSL) -> libc::c_int;
}

/// Apply `plan`'s server name, key log and pins to the TLS handshakes that follow (with `host` and
/// `port` to name the broker in a pin mismatch).
pub fn arm(plan: Option<&TlsPlan>, host: &str, port: u16) {
    let Some(p) = plan else { return };
    if p.server_name.is_none() && p.pins.is_none() && p.keylog.is_none() {
        return;
    }
    super::pin::arm(p.pins.clone(), host, port);
    if let Ok(mut e) = EXTRAS.lock() {
        *e = Some(Extras {
            server_name: p.server_name.clone().map(|n| (n, !p.insecure)),
            keylog: p.keylog.clone(),
        });
    }
    ARMED.store(true, Ordering::Relaxed);
}

/// Before libssl's `SSL_connect` on `ssl` (called on every call: paho's socket is
/// non-blocking, so one handshake is many calls; only the first, before anything was
/// sent, changes anything).
pub(crate) fn before(ssl: *mut openssl_sys::SSL) {
    if !ARMED.load(Ordering::Relaxed) || ssl.is_null() {
        return;
    }
    // SAFETY: a live SSL object, the one paho passes to SSL_connect.
    if unsafe { SSL_in_before(ssl) } != 1 {
        return;
    }
    let Ok(guard) = EXTRAS.lock() else { return };
    let Some(x) = guard.as_ref() else { return };
    if let Some(log) = &x.keylog {
        log.install(ssl);
    }
    if let Some((name, check)) = &x.server_name {
        set_server_name(ssl, name, *check);
    }
}

/// After libssl's `SSL_connect` on `ssl` returned `rc`: the result paho sees (a key that
/// is not pinned turns success into a failure, -1, which paho handles as any failed
/// handshake).
pub(crate) fn after(ssl: *mut openssl_sys::SSL, rc: libc::c_int) -> libc::c_int {
    if rc != 1 || !ARMED.load(Ordering::Relaxed) {
        return rc;
    }
    if super::pin::accepts(ssl) { rc } else { -1 }
}

/// SNI = `name` (none for an IP address, which SNI cannot carry), and, when `check`, the
/// certificate must be for `name` (checked by libssl during the handshake, so a mismatch
/// fails it with "certificate verify failed").
fn set_server_name(ssl: *mut openssl_sys::SSL, name: &str, check: bool) {
    // SAFETY: a live SSL object, not used elsewhere during this call (paho's thread is in
    // SSL_connect, which called us).
    let s = unsafe { openssl::ssl::SslRef::from_ptr_mut(ssl) };
    match name.parse::<std::net::IpAddr>() {
        Ok(ip) => {
            // SAFETY: a null name clears the SNI paho set from -h.
            unsafe { openssl_sys::SSL_set_tlsext_host_name(ssl, std::ptr::null_mut()) };
            if check {
                let _ = s.param_mut().set_ip(ip);
            }
        }
        Err(_) => {
            let _ = s.set_hostname(name);
            if check {
                let _ = s.param_mut().set_host(name);
            }
        }
    }
}

/// Is `name` usable as `--tls-server-name`: a DNS name or an IP address.
pub(crate) fn valid_server_name(name: &str) -> bool {
    if name.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    let n = name.strip_suffix('.').unwrap_or(name);
    !n.is_empty()
        && n.len() <= 253
        && n.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::valid_server_name;

    #[test]
    fn server_names() {
        for ok in [
            "broker.example",
            "localhost",
            "10.0.0.5",
            "::1",
            "a-b.c_d.example.",
        ] {
            assert!(valid_server_name(ok), "{ok}");
        }
        for bad in ["", ".", "a..b", "with space", "a/b", "x\0y", "*.example"] {
            assert!(!valid_server_name(bad), "{bad:?}");
        }
    }
}
