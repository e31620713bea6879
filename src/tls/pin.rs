//! `--pinnedpubkey`: the broker's public key must be one of the pinned ones, on top of the
//! normal certificate verification (curl's option and syntax).
//!
//! A pin is `sha256//` and the base64 of the SHA-256 of the key's SubjectPublicKeyInfo
//! (DER); several are separated by `;`. Instead of pins, the option can name a file holding
//! the public key (PEM or DER). [`accepts`] runs when paho's handshake has succeeded (from
//! [`super::handshake::after`]); a key that is not pinned fails the handshake there, and
//! the reason waits in [`take_mismatch`] for the diagnosis, with the pin of the key the
//! broker presented so that the user can check it and pin it.

use super::files::{name, printable};
use crate::exit::Failure;
use foreign_types::ForeignType;
use openssl::pkey::{PKey, PKeyRef, Public};
use std::sync::Mutex;

/// The pinned keys' SHA-256 hashes, and how they were given (for messages).
#[derive(Clone, Debug)]
pub struct Pins {
    hashes: Vec<[u8; 32]>,
    /// The pins, or `file PATH`.
    shown: String,
}

const PREFIX: &str = "sha256//";

/// `sha256//` + base64 of the SHA-256 of `key`'s SubjectPublicKeyInfo.
pub fn pin_of(key: &PKeyRef<Public>) -> Option<String> {
    let der = key.public_key_to_der().ok()?;
    Some(format!(
        "{PREFIX}{}",
        openssl::base64::encode_block(&openssl::sha::sha256(&der))
    ))
}

fn bad(line: String) -> Failure {
    super::option_error(line)
}

/// Parse `--pinnedpubkey ARG`: pins, or a public-key file.
pub(crate) fn parse(arg: &str) -> Result<Pins, Failure> {
    if arg.starts_with(PREFIX) {
        let mut hashes = Vec::new();
        for pin in arg.split(';') {
            let decoded = pin
                .strip_prefix(PREFIX)
                .and_then(|b| openssl::base64::decode_block(b).ok())
                .and_then(|h| <[u8; 32]>::try_from(h).ok());
            match decoded {
                Some(h) => hashes.push(h),
                None => {
                    return Err(bad(format!(
                        "Error: --pinnedpubkey: {:?} is not a pin.",
                        printable(pin)
                    ))
                    .and(
                        "A pin is sha256// and the base64 of a 32-byte SHA-256 hash; \
                         separate several with ';'.",
                    ));
                }
            }
        }
        return Ok(Pins {
            hashes,
            shown: arg.split(';').collect::<Vec<_>>().join(", "),
        });
    }
    let data = std::fs::read(arg).map_err(|e| {
        bad(format!(
            "Error: --pinnedpubkey {}: {}",
            printable(arg),
            super::files::os_error(&e)
        ))
        .and("Give pins (sha256//BASE64[;sha256//BASE64...]) or a public-key file (PEM or DER).")
    })?;
    let key = PKey::public_key_from_pem(&data)
        .or_else(|_| PKey::public_key_from_der(&data))
        .map_err(|_| {
            let hint = if openssl::x509::X509::from_pem(&data).is_ok() {
                "It holds a certificate: take its key with openssl x509 -in FILE -pubkey -noout."
            } else {
                "Give a public key in PEM (BEGIN PUBLIC KEY) or DER."
            };
            bad(format!(
                "Error: --pinnedpubkey {} is not a public key file.",
                printable(arg)
            ))
            .and(hint)
        })?;
    let der = key
        .public_key_to_der()
        .map_err(|e| bad(format!("Error: --pinnedpubkey {}: {e}", printable(arg))))?;
    Ok(Pins {
        hashes: vec![openssl::sha::sha256(&der)],
        shown: format!(
            "{} (the key in {})",
            pin_of(&key).unwrap_or_default(),
            printable(arg)
        ),
    })
}

struct Armed {
    pins: Pins,
    host: String,
    port: u16,
}

static ARMED: Mutex<Option<Armed>> = Mutex::new(None);
static MISMATCH: Mutex<Option<Failure>> = Mutex::new(None);

/// Check the broker's key against `pins` in the handshakes that follow.
pub(crate) fn arm(pins: Option<Pins>, host: &str, port: u16) {
    if let Ok(mut a) = ARMED.lock() {
        *a = pins.map(|pins| Armed {
            pins,
            host: host.to_string(),
            port,
        });
    }
}

/// The handshake on `ssl` succeeded: is the broker's key pinned? (true when nothing is
/// pinned). A mismatch is kept for [`take_mismatch`].
pub(crate) fn accepts(ssl: *mut openssl_sys::SSL) -> bool {
    let Ok(guard) = ARMED.lock() else {
        return false;
    };
    let Some(a) = guard.as_ref() else {
        return true;
    };
    // SAFETY: `ssl` is the live connection whose handshake just completed; get1 returns a
    // new reference (or null), which the X509 value owns and frees.
    let cert = unsafe { openssl_sys::SSL_get1_peer_certificate(ssl) };
    if cert.is_null() {
        return false;
    }
    // SAFETY: a non-null, owned X509 pointer (see above).
    let cert = unsafe { openssl::x509::X509::from_ptr(cert) };
    let Ok(key) = cert.public_key() else {
        return false;
    };
    let Ok(der) = key.public_key_to_der() else {
        return false;
    };
    if a.pins.hashes.contains(&openssl::sha::sha256(&der)) {
        return true;
    }
    let f = Failure::new(
        super::PIN_MISMATCH,
        format!(
            "Error: the public key of {} port {} is not one of the pinned keys (--pinnedpubkey).",
            printable(&a.host),
            a.port
        ),
    )
    .and(format!(
        "The broker presented {} (certificate {}).",
        pin_of(&key).unwrap_or_default(),
        name(cert.subject_name())
    ))
    .and(format!("Pinned: {}.", a.pins.shown))
    .and("If the broker's key was changed on purpose, check the new pin and give it with --pinnedpubkey.");
    if let Ok(mut m) = MISMATCH.lock() {
        *m = Some(f);
    }
    false
}

/// The pin mismatch that failed paho's handshake, if one did.
pub(crate) fn take_mismatch() -> Option<Failure> {
    MISMATCH.lock().ok().and_then(|mut m| m.take())
}

/// The pin check stopped while the guard lives (the diagnosis probe's own handshakes are
/// not checked), and back when it is dropped: a later reconnect is checked again.
pub(crate) struct Suspended(Option<Armed>);

pub(crate) fn suspend() -> Suspended {
    Suspended(ARMED.lock().ok().and_then(|mut a| a.take()))
}

impl Drop for Suspended {
    fn drop(&mut self) {
        if let (Some(a), Ok(mut g)) = (self.0.take(), ARMED.lock()) {
            *g = Some(a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_and_refuse() {
        let h = openssl::base64::encode_block(&[7u8; 32]);
        let p = parse(&format!("sha256//{h};sha256//{h}")).unwrap();
        assert_eq!(p.hashes, vec![[7u8; 32], [7u8; 32]]);
        for bad in [
            "sha256//",
            "sha256//abc",
            &format!("sha256//{h};"),
            &format!("sha256//{h};md5//{h}"),
        ] {
            let f = parse(bad).unwrap_err();
            assert!(f.lines[0].contains("is not a pin"), "{bad}: {f:?}");
        }
        let f = parse("/nonexistent/key.pem").unwrap_err();
        assert!(f.lines[0].contains("No such file"), "{f:?}");
    }

    #[test]
    fn suspended_checks_come_back() {
        let h = openssl::base64::encode_block(&[1u8; 32]);
        arm(Some(parse(&format!("sha256//{h}")).unwrap()), "h", 1);
        {
            let _s = suspend();
            assert!(ARMED.lock().unwrap().is_none());
        }
        assert!(ARMED.lock().unwrap().is_some());
        arm(None, "", 0);
    }

    #[test]
    fn key_files_pin_like_the_hash() {
        let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
        let key = PKey::from_rsa(rsa).unwrap();
        let dir = std::env::temp_dir().join(format!("mqtts-pin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pem = dir.join("k.pem");
        let der = dir.join("k.der");
        std::fs::write(&pem, key.public_key_to_pem().unwrap()).unwrap();
        std::fs::write(&der, key.public_key_to_der().unwrap()).unwrap();
        let public = PKey::public_key_from_der(&key.public_key_to_der().unwrap()).unwrap();
        let pin = pin_of(&public).unwrap();
        let by_hash = parse(&pin).unwrap();
        for f in [&pem, &der] {
            let p = parse(f.to_str().unwrap()).unwrap();
            assert_eq!(p.hashes, by_hash.hashes);
            assert!(p.shown.starts_with(&pin), "{}", p.shown);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
