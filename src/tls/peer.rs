//! The broker's certificate, looked at when paho's TLS handshake has just succeeded.
//!
//! paho.mqtt.c does not show the peer certificate, but its call to `SSL_connect` goes
//! through [`crate::seams`]: libssl's `SSL_connect`, and, on the first success while
//! [`watch`] is set, [`look`] at the certificate the broker presented. If it expires within `--cert-expiry-warn` (30 days by default), a warning
//! goes to standard error. No second handshake, nothing on the wire changes.
//!
//! Armed by [`crate::plan::Plan::print_warnings`] (so `--quiet` leaves it off); it warns at
//! most once per run (not again after a reconnect).

use foreign_types::ForeignType;
use std::sync::Mutex;

/// What the warning needs to name: the broker as given on the command line, the window.
struct Watch {
    host: String,
    port: u16,
    window: std::time::Duration,
}

static WATCH: Mutex<Option<Watch>> = Mutex::new(None);

/// Warn about the broker certificate of the next successful handshake.
pub fn watch(host: &str, port: u16, window: std::time::Duration) {
    if let Ok(mut w) = WATCH.lock() {
        *w = Some(Watch {
            host: host.to_string(),
            port,
            window,
        });
    }
}

/// Stop watching (the connection failed; a diagnosis makes handshakes of its own).
pub(crate) fn forget() {
    if let Ok(mut w) = WATCH.lock() {
        *w = None;
    }
}

/// The handshake on `ssl` has succeeded: warn if its peer certificate expires soon.
pub(crate) fn look(ssl: *mut openssl_sys::SSL) {
    let Some(w) = WATCH.lock().ok().and_then(|mut g| g.take()) else {
        return;
    };
    // SAFETY: `ssl` is the live connection whose handshake just completed; get1 returns a
    // new reference (or null), which the X509 value owns and frees.
    let cert = unsafe { openssl_sys::SSL_get1_peer_certificate(ssl) };
    if cert.is_null() {
        return;
    }
    // SAFETY: a non-null, owned X509 pointer (see above).
    let cert = unsafe { openssl::x509::X509::from_ptr(cert) };
    if let Some(line) = expiry_warning(&w.host, w.port, &cert, w.window) {
        // Not eprintln!: a panic here (stderr a closed pipe) would abort inside paho's
        // call to SSL_connect.
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "{line}");
    }
}

/// A warning when the broker's certificate `leaf` expires within `window`.
fn expiry_warning(
    host: &str,
    port: u16,
    leaf: &openssl::x509::X509Ref,
    window: std::time::Duration,
) -> Option<String> {
    let secs = super::files::secs_until(leaf.not_after())?;
    if secs < 0 || secs as u64 >= window.as_secs() {
        return None;
    }
    Some(format!(
        "Warning: the certificate of {} port {port} ({}) expires on {} ({}).",
        super::files::printable(host),
        super::files::name(leaf.subject_name()),
        leaf.not_after(),
        super::time_left(secs)
    ))
}
