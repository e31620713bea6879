//! TLS-PSK (`--psk HEX --psk-identity ID`): the key and identity, handed to libssl through
//! the `SSL_connect` seam, and the diagnosis of a PSK handshake that failed.
//!
//! paho.mqtt.c has a PSK callback in its C SSL options, but paho-mqtt's Rust API does not
//! reach it. So paho gets SSL options with no trust store and no host check (there is no
//! certificate), and [`before_handshake`], called by `crate::seams::SSL_connect` before
//! libssl's handshake, installs [`client_callback`] on paho's `SSL*`. libssl calls it
//! for TLS 1.3 (a PSK with SHA-256, as mosquitto's client does) and for the TLS ≤ 1.2
//! `PSK-*` cipher suites.
//!
//! The diagnosis probe's own handshake (the `openssl` crate) also goes through the seam, so
//! it gets the same callback on top of its context's; both offer the same key.
//!
//! A broker that answers with a certificate instead is not trusted: paho verifies the
//! peer (`SSL_VERIFY_PEER`) against an empty trust store, so the handshake fails and
//! [`diagnose`] names the certificate. mosquitto_pub/sub 2.0 would connect there without
//! checking anything.

use super::files::{name, printable};
use super::probe::{self, Handshake, Outcome};
use super::{Failure, PSK_REJECTED, SERVER_CERT_UNTRUSTED, TlsPlan, option_error};
use crate::options::Options;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// libssl's limits on what the PSK callback may return (`PSK_MAX_IDENTITY_LEN`,
/// `PSK_MAX_PSK_LEN` in `openssl/ssl.h`).
const MAX_IDENTITY_LEN: usize = 256;
const MAX_KEY_LEN: usize = 512;

/// A pre-shared key and the identity it belongs to.
#[derive(Clone, PartialEq, Eq)]
pub struct Psk {
    pub identity: String,
    key: Vec<u8>,
}

impl std::fmt::Debug for Psk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Psk")
            .field("identity", &self.identity)
            .field("key", &format_args!("({} bytes)", self.key.len()))
            .finish()
    }
}

/// The key bytes of `--psk HEX`, read as mosquitto reads it (`mosquitto__hex2bin`, on
/// both the client and the broker side): each leading `00` pair is a zero byte, the rest
/// is one big-endian number in as few bytes as it needs (so `abc` is `0a bc`). None when
/// `hex` is not hexadecimal or is empty (mosquitto then offers no key at all).
pub fn key_bytes(hex: &str) -> Option<Vec<u8>> {
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut rest = hex;
    let mut out = Vec::new();
    while let Some(r) = rest.strip_prefix("00") {
        out.push(0);
        rest = r;
    }
    let digits = rest.trim_start_matches('0').as_bytes();
    let nibble = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
    let (head, tail) = digits.split_at(digits.len() % 2);
    if let [d] = head {
        out.push(nibble(*d));
    }
    out.extend(tail.chunks(2).map(|p| nibble(p[0]) << 4 | nibble(p[1])));
    Some(out)
}

/// `--psk-identity` without `--psk` would be silently unused (mosquitto ignores it and
/// connects without the key, in plaintext unless TLS is on otherwise): an error.
pub(super) fn identity_without_key(opts: &Options) -> Result<(), Failure> {
    if opts.tls.psk_identity.is_some() && opts.tls.psk.is_none() {
        return Err(
            option_error("Error: --psk-identity is given without --psk.")
                .and("Give the key with --psk HEX (TLS-PSK), or drop --psk-identity."),
        );
    }
    Ok(())
}

/// `--psk`/`--psk-identity` as a [`Psk`] (None without `--psk`), or the reason it cannot
/// work. The option parser has already required `--psk-identity` and refused `--psk` with
/// `--cafile`/`--capath`, and the library checks refused non-hex keys, as mosquitto does.
pub(super) fn from_options(opts: &Options) -> Result<Option<Psk>, Failure> {
    let t = &opts.tls;
    let Some(hex) = &t.psk else {
        return Ok(None);
    };
    let identity = t.psk_identity.clone().unwrap_or_default();
    let key = key_bytes(hex).filter(|k| !k.is_empty()).ok_or_else(|| {
        option_error("Error: --psk: the key is empty.")
            .and("Give the key as hexadecimal digits, the same as in the broker's psk_file.")
    })?;
    if key.len() > MAX_KEY_LEN {
        return Err(option_error(format!(
            "Error: --psk: the key is {} bytes long; TLS allows at most {MAX_KEY_LEN}.",
            key.len()
        )));
    }
    if identity.is_empty() || identity.len() > MAX_IDENTITY_LEN || identity.contains('\0') {
        return Err(option_error(format!(
            "Error: --psk-identity {}: an identity is 1 to {MAX_IDENTITY_LEN} bytes.",
            printable(&identity)
        )));
    }
    // Options that only mean something with certificates would be silently unused
    // (mosquitto ignores --cert/--key with --psk, and --tls-use-os-certs drops the PSK).
    let cert_only = [
        (t.cert.is_some(), "--cert"),
        (t.key.is_some(), "--key"),
        (t.pkcs12.is_some(), "--pkcs12"),
        (t.use_os_certs, "--tls-use-os-certs"),
    ];
    if let Some((_, opt)) = cert_only.iter().find(|(given, _)| *given) {
        return Err(option_error(format!(
            "Error: {opt} cannot be used with --psk: a PSK connection has no certificates."
        ))
        .and("Use either --psk/--psk-identity or certificates (--cafile, --cert, --key)."));
    }
    Ok(Some(Psk { identity, key }))
}

/// The PSK of this process's connection, once paho's options are made ([`arm`]); the
/// flag keeps the seam's common path (no PSK) to one atomic load.
static ARMED: AtomicBool = AtomicBool::new(false);
static ACTIVE: Mutex<Option<Psk>> = Mutex::new(None);

/// Offer `psk` on every TLS handshake paho makes from now on (the last one armed).
pub(super) fn arm(psk: &Psk) {
    if let Ok(mut a) = ACTIVE.lock() {
        *a = Some(psk.clone());
        ARMED.store(true, Ordering::Release);
    }
}

unsafe extern "C" {
    /// libssl's per-connection PSK client callback setter (not bound by openssl-sys).
    fn SSL_set_psk_client_callback(ssl: *mut openssl_sys::SSL, cb: Option<ClientCallback>);
}

type ClientCallback = unsafe extern "C" fn(
    *mut openssl_sys::SSL,
    *const libc::c_char,
    *mut libc::c_char,
    libc::c_uint,
    *mut libc::c_uchar,
    libc::c_uint,
) -> libc::c_uint;

/// Called by `crate::seams::SSL_connect` before each call of libssl's: with a PSK armed,
/// install [`client_callback`] on `ssl` (idempotent; paho calls `SSL_connect` again while
/// the handshake waits for the network). Without one: one atomic load.
pub(crate) fn before_handshake(ssl: *mut openssl_sys::SSL) {
    if ARMED.load(Ordering::Acquire) && !ssl.is_null() {
        // SAFETY: `ssl` is the live SSL object paho is about to hand to SSL_connect.
        unsafe { SSL_set_psk_client_callback(ssl, Some(client_callback)) };
    }
}

/// libssl asks for the identity and key: copy them in (identity NUL-terminated), return
/// the key length, 0 (no PSK) if they do not fit.
unsafe extern "C" fn client_callback(
    _ssl: *mut openssl_sys::SSL,
    _hint: *const libc::c_char,
    identity: *mut libc::c_char,
    max_identity_len: libc::c_uint,
    psk: *mut libc::c_uchar,
    max_psk_len: libc::c_uint,
) -> libc::c_uint {
    let Ok(guard) = ACTIVE.lock() else { return 0 };
    let Some(p) = guard.as_ref() else { return 0 };
    let id = p.identity.as_bytes();
    if identity.is_null() || psk.is_null() {
        return 0;
    }
    if id.len() >= max_identity_len as usize || p.key.len() > max_psk_len as usize {
        return 0;
    }
    // SAFETY: libssl gives `max_identity_len` writable bytes at `identity` and
    // `max_psk_len` at `psk`; both copies fit (checked above).
    unsafe {
        std::ptr::copy_nonoverlapping(id.as_ptr(), identity.cast::<u8>(), id.len());
        *identity.add(id.len()) = 0;
        std::ptr::copy_nonoverlapping(p.key.as_ptr(), psk, p.key.len());
    }
    p.key.len() as libc::c_uint
}

/// The probe's context offers the same PSK (the `openssl` crate's own callback).
pub(super) fn offer(b: &mut openssl::ssl::SslContextBuilder, psk: &Psk) {
    let psk = psk.clone();
    b.set_psk_client_callback(move |_ssl, _hint, identity, key| {
        let id = psk.identity.as_bytes();
        if id.len() >= identity.len() || psk.key.len() > key.len() {
            return Ok(0);
        }
        identity[..id.len()].copy_from_slice(id);
        identity[id.len()] = 0;
        key[..psk.key.len()].copy_from_slice(&psk.key);
        Ok(psk.key.len())
    });
}

// TLS alerts that answer a PSK (RFC 8446 / 4279).
const ALERT_BAD_RECORD_MAC: u8 = 20;
const ALERT_HANDSHAKE_FAILURE: u8 = 40;
const ALERT_ILLEGAL_PARAMETER: u8 = 47;
const ALERT_DECRYPT_ERROR: u8 = 51;
const ALERT_UNKNOWN_PSK_IDENTITY: u8 = 115;

/// paho's PSK handshake with `h` port `port` failed: the probe's handshake (same PSK,
/// versions, ciphers) and what the broker answered. None: not a PSK-specific answer, the
/// caller's general diagnosis of the handshake applies.
pub(super) fn diagnose(
    host: &str,
    port: u16,
    addr: std::net::SocketAddr,
    plan: &TlsPlan,
    psk: &Psk,
    o: &Outcome,
) -> Option<Failure> {
    let h = printable(host);
    let id = printable(&psk.identity);
    if let Some(leaf) = &o.leaf {
        return Some(
            Failure::new(
                SERVER_CERT_UNTRUSTED,
                format!(
                    "Error: {h} port {port} is not a PSK listener: it presented a certificate \
                     ({}), and --psk trusts no certificate.",
                    name(leaf.subject_name())
                ),
            )
            .and(format!("Issuer: {}.", name(leaf.issuer_name())))
            .and("Connect to the broker's PSK port, or use certificates: --cafile FILE (the broker's CA) instead of --psk."),
        );
    }
    let hs: &Handshake = o.result.as_ref().err()?;
    let alert = hs.alert()?;
    let an = probe::alert_name(alert);
    match alert {
        ALERT_ILLEGAL_PARAMETER | ALERT_BAD_RECORD_MAC | ALERT_DECRYPT_ERROR => Some(
            Failure::new(
                PSK_REJECTED,
                format!(
                    "Error: {h} port {port} knows the PSK identity \"{id}\" but could not verify \
                     the key: its key for \"{id}\" differs from --psk."
                ),
            )
            .and(format!("The broker sent the TLS alert \"{an}\"."))
            .and("Give the key of that identity in the broker's psk_file (hexadecimal)."),
        ),
        ALERT_UNKNOWN_PSK_IDENTITY => Some(unknown_identity(&h, port, &id, an)),
        // TLS 1.3: a broker that finds no key for the identity ignores the PSK and has no
        // certificate to fall back to. (In TLS 1.2 this alert means no common cipher: a
        // TLS 1.3 handshake must fail the same way to tell.)
        ALERT_HANDSHAKE_FAILURE
            if plan
                .max_version
                .is_none_or(|v| v == super::TlsVersion::V1_3)
                && probe::tls13_alert(host, addr, plan) == Some(ALERT_HANDSHAKE_FAILURE) =>
        {
            Some(unknown_identity(&h, port, &id, an))
        }
        _ => None,
    }
}

fn unknown_identity(h: &str, port: u16, id: &str, an: &str) -> Failure {
    Failure::new(
        PSK_REJECTED,
        format!("Error: {h} port {port} does not know the PSK identity \"{id}\"."),
    )
    .and(format!("The broker sent the TLS alert \"{an}\"."))
    .and("Check --psk-identity against the identities in the broker's psk_file.")
}

#[cfg(test)]
mod tests {
    use super::key_bytes;

    #[test]
    fn keys_read_as_mosquitto_reads_them() {
        assert_eq!(key_bytes("deadbeef"), Some(vec![0xde, 0xad, 0xbe, 0xef]));
        assert_eq!(key_bytes("DeadBeef"), Some(vec![0xde, 0xad, 0xbe, 0xef]));
        assert_eq!(key_bytes("abc"), Some(vec![0x0a, 0xbc]));
        assert_eq!(key_bytes("00ab12"), Some(vec![0, 0xab, 0x12]));
        assert_eq!(key_bytes("000a"), Some(vec![0, 0x0a]));
        assert_eq!(key_bytes("0a"), Some(vec![0x0a]));
        assert_eq!(key_bytes("0000"), Some(vec![0, 0]));
        assert_eq!(key_bytes("000"), Some(vec![0]));
        assert_eq!(key_bytes("00abc"), Some(vec![0, 0x0a, 0xbc]));
        assert_eq!(key_bytes("0"), Some(vec![]));
        assert_eq!(key_bytes(""), None);
        assert_eq!(key_bytes("xyz"), None);
        assert_eq!(key_bytes("-1"), None);
    }
}
