//! Checks of the TLS files with the `openssl` crate, before connecting: readable, PEM,
//! certificate/key pairing, key passwords, expiry; and handing PKCS#12 to paho safely.

use super::{FILE_ERROR, Identity, KEY_PASSWORD_ENV, Secret, TlsPlan, option_error};
use crate::exit::Failure;
use crate::options::Options;
use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private};
use openssl::x509::{X509, X509NameRef, X509Ref};
use std::sync::Arc;

/// `s` with control characters replaced, for messages.
pub(crate) fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// An OS error without Rust's " (os error N)" suffix.
pub(crate) fn os_error(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn file_error(line: String) -> Failure {
    Failure::new(FILE_ERROR, line)
}

fn read(option: &str, path: &str) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| {
        file_error(format!(
            "Error: {option} {}: {}",
            printable(path),
            os_error(&e)
        ))
    })
}

/// `CN=x, O=y` for a certificate name.
pub(crate) fn name(n: &X509NameRef) -> String {
    let parts: Vec<String> = n
        .entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?");
            let val = e
                .data()
                .to_string()
                .map(|s| printable(&s))
                .unwrap_or_else(|_| "?".into());
            format!("{key}={val}")
        })
        .collect();
    if parts.is_empty() {
        "(empty)".into()
    } else {
        parts.join(", ")
    }
}

/// What a file that is not usable PEM of the wanted kind contains.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Found {
    Empty,
    DerCert,
    DerKey,
    Pkcs12,
    Der,
    /// PEM, with these block labels (e.g. `PRIVATE KEY`).
    Pem(Vec<String>),
    Garbage,
}

pub(crate) fn sniff(data: &[u8]) -> Found {
    if data.iter().all(|b| b.is_ascii_whitespace()) {
        return Found::Empty;
    }
    let text = String::from_utf8_lossy(data);
    if text.contains("-----BEGIN ") {
        let labels = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("-----BEGIN "))
            .map(|l| l.trim_end_matches('-').to_string())
            .collect();
        return Found::Pem(labels);
    }
    if data.first() == Some(&0x30) {
        if X509::from_der(data).is_ok() {
            return Found::DerCert;
        }
        if Pkcs12::from_der(data).is_ok() {
            return Found::Pkcs12;
        }
        if PKey::private_key_from_der(data).is_ok() {
            return Found::DerKey;
        }
        return Found::Der;
    }
    Found::Garbage
}

/// The error for a file that holds no PEM of `wanted` ("certificate"/"private key").
fn not_pem(option: &str, path: &str, found: Found, wanted: &str) -> Failure {
    let p = printable(path);
    let (what, advice) = match found {
        Found::Empty => ("is empty".to_string(), None),
        Found::DerCert => (
            "looks like a DER (binary) certificate, not PEM".to_string(),
            Some(format!(
                "Convert it: openssl x509 -inform der -in {p} -out {p}.pem"
            )),
        ),
        Found::DerKey => (
            "looks like a DER (binary) private key, not PEM".to_string(),
            Some(format!(
                "Convert it: openssl pkey -inform der -in {p} -out {p}.pem"
            )),
        ),
        Found::Pkcs12 => (
            "looks like a PKCS#12 bundle, not PEM".to_string(),
            Some(if option == "--cafile" {
                format!("Convert it: openssl pkcs12 -in {p} -cacerts -nokeys -out ca.pem")
            } else {
                format!("Use --pkcs12 {p}, or convert it: openssl pkcs12 -in {p} -out client.pem")
            }),
        ),
        Found::Der => (
            "looks like DER (binary ASN.1) but is no certificate or key".to_string(),
            None,
        ),
        Found::Pem(labels) if labels.is_empty() => ("has no PEM blocks".to_string(), None),
        Found::Pem(labels) => {
            let swapped = if wanted == "private key" && labels.iter().any(|l| l == "CERTIFICATE") {
                Some("It holds a certificate: are --cert and --key swapped?".to_string())
            } else if wanted == "certificate" && labels.iter().any(|l| l.contains("PRIVATE KEY")) {
                Some("It holds a private key: are --cert and --key swapped?".to_string())
            } else {
                None
            };
            (
                format!(
                    "contains no PEM {wanted} (found: {})",
                    printable(&labels.join(", "))
                ),
                swapped,
            )
        }
        Found::Garbage => (
            "is not PEM (no -----BEGIN line), DER or PKCS#12".to_string(),
            None,
        ),
    };
    let mut f = file_error(format!("Error: {option} {p} {what}."));
    if let Some(a) = advice {
        f = f.and(a);
    }
    f
}

/// Certificates from a PEM file given with `option`.
fn load_certs(option: &str, path: &str) -> Result<Vec<X509>, Failure> {
    let data = read(option, path)?;
    let certs = X509::stack_from_pem(&data).unwrap_or_default();
    if certs.is_empty() {
        return Err(not_pem(option, path, sniff(&data), "certificate"));
    }
    Ok(certs)
}

/// Seconds until `t` (negative when past).
pub(crate) fn secs_until(t: &Asn1TimeRef) -> Option<i64> {
    let now = Asn1Time::days_from_now(0).ok()?;
    let d = now.diff(t).ok()?;
    Some(i64::from(d.days) * 86400 + i64::from(d.secs))
}

/// Expired / not yet valid → error; expiring within `warn` → a warning line.
fn check_validity(
    what: &str,
    option: &str,
    path: &str,
    cert: &X509Ref,
    warn: std::time::Duration,
) -> Result<Option<String>, Failure> {
    let subject = name(cert.subject_name());
    let p = printable(path);
    if secs_until(cert.not_before()).is_some_and(|s| s > 0) {
        return Err(file_error(format!(
            "Error: the {what} in {option} {p} is not yet valid: valid from {}.",
            cert.not_before()
        ))
        .and(format!(
            "Certificate: {subject}. Check this machine's clock."
        )));
    }
    match secs_until(cert.not_after()) {
        Some(s) if s < 0 => Err(file_error(format!(
            "Error: the {what} in {option} {p} expired on {}.",
            cert.not_after()
        ))
        .and(format!("Certificate: {subject}. Renew it."))),
        Some(s) if (s as u64) < warn.as_secs() => Ok(Some(format!(
            "Warning: the {what} in {option} {p} ({subject}) expires on {} ({}).",
            cert.not_after(),
            super::time_left(s)
        ))),
        _ => Ok(None),
    }
}

/// Where a key password comes from, for messages.
pub(super) enum PasswordSource {
    File(String),
    Env,
    Prompt,
}

impl PasswordSource {
    pub(super) fn describe(&self) -> String {
        match self {
            PasswordSource::File(p) => format!("from --key-password-file {}", printable(p)),
            PasswordSource::Env => format!("from {KEY_PASSWORD_ENV}"),
            PasswordSource::Prompt => "typed at the prompt".into(),
        }
    }
}

/// The password for an encrypted `what` (`--key PATH`): --key-password-file, then
/// MQTTS_KEY_PASSWORD, then a prompt on the terminal. A NUL byte in it is refused here:
/// the `openssl` crate unwraps `CString::new` on passwords (found by `fuzz/run
/// tls_files`: a password file with a NUL byte panicked).
fn get_password(opts: &Options, what: &str) -> Result<(Secret, PasswordSource), Failure> {
    let (pw, src) = read_password(opts, what)?;
    if pw.0.contains('\0') {
        return Err(file_error(format!(
            "Error: the password {} for {what} contains a NUL byte.",
            src.describe()
        )));
    }
    Ok((pw, src))
}

/// The PIN an engine asks for `what`, from the same sources as a key password: Ok(None)
/// when there is none (no --key-password-file, no MQTTS_KEY_PASSWORD, no terminal).
pub(super) fn engine_pin(
    opts: &Options,
    what: &str,
) -> Result<Option<(Secret, PasswordSource)>, Failure> {
    if opts.tls.key_password_file.is_some() || std::env::var_os(KEY_PASSWORD_ENV).is_some() {
        return get_password(opts, what).map(Some);
    }
    Ok(prompt_password(&format!("Enter the PIN for {what}: "))
        .map(|p| (Secret(p), PasswordSource::Prompt)))
}

fn read_password(opts: &Options, what: &str) -> Result<(Secret, PasswordSource), Failure> {
    if let Some(f) = &opts.tls.key_password_file {
        let data = read("--key-password-file", f)?;
        let text = String::from_utf8(data).map_err(|_| {
            file_error(format!(
                "Error: --key-password-file {} is not text.",
                printable(f)
            ))
        })?;
        let line = text.lines().next().unwrap_or("").to_string();
        return Ok((Secret(line), PasswordSource::File(f.clone())));
    }
    if let Some(Ok(p)) = std::env::var_os(KEY_PASSWORD_ENV).map(|p| p.into_string()) {
        return Ok((Secret(p), PasswordSource::Env));
    }
    match prompt_password(&format!("Enter the password for {what}: ")) {
        Some(p) => Ok((Secret(p), PasswordSource::Prompt)),
        None => Err(file_error(format!(
            "Error: {what} is encrypted and no password was given."
        ))
        .and(format!(
            "Give it with --key-password-file FILE or the {KEY_PASSWORD_ENV} environment \
                 variable (there is no terminal to ask on)."
        ))),
    }
}

/// Ask on /dev/tty with echo off; None when there is no terminal.
fn prompt_password(prompt: &str) -> Option<String> {
    use std::io::{BufRead, Write};
    use std::os::fd::AsRawFd;
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()?;
    let fd = tty.as_raw_fd();
    // SAFETY: termios is plain data; tcgetattr fills it for a valid fd.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(fd, &mut t) } != 0 {
        return None;
    }
    let saved = t;
    t.c_lflag &= !libc::ECHO;
    t.c_lflag |= libc::ECHONL;
    // Echo off first (TCSAFLUSH drops pending input), then ask: typing that follows
    // the prompt is never flushed.
    // SAFETY: valid fd and termios.
    unsafe { libc::tcsetattr(fd, libc::TCSAFLUSH, &t) };
    if (&tty).write_all(prompt.as_bytes()).is_err() {
        // SAFETY: restores the settings read above.
        unsafe { libc::tcsetattr(fd, libc::TCSAFLUSH, &saved) };
        return None;
    }
    let _ = (&tty).flush();
    let mut line = String::new();
    let r = std::io::BufReader::new(&tty).read_line(&mut line);
    // SAFETY: restores the settings read above.
    unsafe { libc::tcsetattr(fd, libc::TCSAFLUSH, &saved) };
    r.ok()?;
    while line.ends_with('\n') || line.ends_with('\r') {
        line.pop();
    }
    Some(line)
}

fn is_encrypted_pem(text: &str) -> bool {
    text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        || text.contains("Proc-Type: 4,ENCRYPTED")
}

/// Load `--key`: (key, password if it was encrypted).
fn load_key(opts: &Options, path: &str) -> Result<(PKey<Private>, Option<Secret>), Failure> {
    let data = read("--key", path)?;
    let text = String::from_utf8_lossy(&data);
    let p = printable(path);
    if !text.contains("PRIVATE KEY-----") {
        return Err(not_pem("--key", path, sniff(&data), "private key"));
    }
    if is_encrypted_pem(&text) {
        let (pw, src) = get_password(opts, &format!("the key --key {p}"))?;
        return match PKey::private_key_from_pem_passphrase(&data, pw.0.as_bytes()) {
            Ok(k) => Ok((k, Some(pw))),
            Err(_) => Err(file_error(format!(
                "Error: wrong password for the encrypted key --key {p}."
            ))
            .and(format!(
                "The password {} does not decrypt it.",
                src.describe()
            ))),
        };
    }
    PKey::private_key_from_pem(&data)
        .map(|k| (k, None))
        .map_err(|_| {
            file_error(format!(
                "Error: --key {p} holds a PEM private key that OpenSSL cannot read."
            ))
        })
}

/// Write `data` to an unlinked in-memory file named `name` (never on disk; `flags` as for
/// `memfd_create`, e.g. `MFD_CLOEXEC`) and return it with its `/proc/self/fd/N` path,
/// which paho and OpenSSL can open by name.
pub(super) fn memfd_with(
    name: &std::ffi::CStr,
    flags: libc::c_uint,
    data: &[u8],
) -> Option<(std::fs::File, String)> {
    use std::io::Write;
    use std::os::fd::FromRawFd;
    // SAFETY: valid NUL-terminated name; the returned fd is owned by the File below.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), flags) };
    if fd < 0 {
        return None;
    }
    // SAFETY: fd was just created and is not owned elsewhere.
    let mut f = unsafe { std::fs::File::from_raw_fd(fd) };
    f.write_all(data).ok()?;
    let path = format!("/proc/self/fd/{fd}");
    std::path::Path::new(&path).exists().then_some((f, path))
}

fn load_pkcs12(opts: &Options, path: &str, plan: &mut TlsPlan) -> Result<Identity, Failure> {
    let p = printable(path);
    let data = read("--pkcs12", path)?;
    let p12 = Pkcs12::from_der(&data).map_err(|_| {
        let found = sniff(&data);
        let what = match found {
            Found::Pem(_) => "is PEM, not PKCS#12; give it with --cert and --key".to_string(),
            Found::Empty => "is empty".to_string(),
            Found::DerCert => "is a DER certificate, not PKCS#12".to_string(),
            _ => "is not a PKCS#12 file".to_string(),
        };
        file_error(format!("Error: --pkcs12 {p} {what}."))
    })?;
    let parsed = match p12.parse2("") {
        Ok(x) if opts.tls.key_password_file.is_none() => x,
        _ => {
            let (pw, src) = get_password(opts, &format!("--pkcs12 {p}"))?;
            p12.parse2(&pw.0).map_err(|_| {
                file_error(format!("Error: wrong password for --pkcs12 {p}."))
                    .and(format!("The password {} does not open it.", src.describe()))
            })?
        }
    };
    let (Some(cert), Some(key)) = (parsed.cert, parsed.pkey) else {
        return Err(file_error(format!(
            "Error: --pkcs12 {p} does not hold both a certificate and its private key."
        )));
    };
    let mut chain = vec![cert];
    if let Some(ca) = parsed.ca {
        chain.extend(ca);
    }
    let mut pem = Vec::new();
    for c in &chain {
        pem.extend(c.to_pem().map_err(|_| {
            file_error(format!(
                "Error: --pkcs12 {p}: cannot convert the certificate."
            ))
        })?);
    }
    pem.extend(
        key.private_key_to_pem_pkcs8()
            .map_err(|_| file_error(format!("Error: --pkcs12 {p}: cannot convert the key.")))?,
    );
    let (file, fdpath) =
        memfd_with(c"mqtts-client-identity", libc::MFD_CLOEXEC, &pem).ok_or_else(|| {
            file_error(format!(
                "Error: --pkcs12 {p}: cannot hand the key to paho (no memfd or /proc)."
            ))
            .and("Convert it with openssl pkcs12 and use --cert and --key.")
        })?;
    // Overwrite the in-process copy of the key PEM.
    pem.iter_mut().for_each(|b| *b = 0);
    plan._memfd = Some(Arc::new(file));
    plan.cert = Some(fdpath.clone());
    plan.key = Some(fdpath);
    Ok(Identity {
        chain,
        key,
        source: format!("--pkcs12 {p}"),
    })
}

/// A warning when the `--key-password-file` can be read (or written) by other users.
fn password_file_warning(path: &str) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o077 != 0).then(|| {
        let p = printable(path);
        format!(
            "Warning: --key-password-file {p} is accessible by other users (mode {:04o}); \
             make it private: chmod 600 {p}",
            mode & 0o7777
        )
    })
}

/// All file checks for `plan` (TLS is on).
pub(crate) fn check(opts: &Options, plan: &mut TlsPlan) -> Result<(), Failure> {
    let t = &opts.tls;
    if let Some(w) = t
        .key_password_file
        .as_deref()
        .and_then(password_file_warning)
    {
        plan.warnings.push(w);
    }
    let warn = t.cert_expiry_warn.unwrap_or(super::DEFAULT_EXPIRY_WARN);
    if let Some(f) = &t.cafile {
        let certs = load_certs("--cafile", f)?;
        // A bundle may carry some expired roots; fail only when nothing is valid.
        let mut results: Vec<_> = certs
            .iter()
            .map(|c| check_validity("CA certificate", "--cafile", f, c, warn))
            .collect();
        if results.iter().all(|r| r.is_err()) {
            return results.swap_remove(0).map(|_| ());
        }
        if certs.len() <= 3 {
            plan.warnings
                .extend(results.into_iter().filter_map(|r| r.ok().flatten()));
        }
    }
    if let Some(d) = &t.capath {
        match std::fs::read_dir(d) {
            Ok(_) => {}
            Err(e) => {
                return Err(file_error(format!(
                    "Error: --capath {}: {}",
                    printable(d),
                    os_error(&e)
                )));
            }
        }
    }
    if let Some(c) = &t.ciphers {
        let ok = openssl::ssl::SslContext::builder(openssl::ssl::SslMethod::tls_client())
            .and_then(|mut b| b.set_cipher_list(c))
            .is_ok();
        if !ok {
            return Err(option_error(format!(
                "Error: --ciphers {}: no cipher matches this list.",
                printable(c)
            ))
            .and("Use OpenSSL cipher names, e.g. ECDHE-RSA-AES128-GCM-SHA256 (see openssl ciphers -v)."));
        }
    }
    if let Some(a) = t
        .tls_alpn
        .as_ref()
        .filter(|a| a.is_empty() || a.len() > 255)
    {
        return Err(option_error(format!(
            "Error: --tls-alpn {}: a protocol name is 1 to 255 bytes.",
            printable(a)
        )));
    }
    if let Some(p12) = &t.pkcs12 {
        if t.cert.is_some() || t.key.is_some() {
            return Err(option_error(
                "Error: --pkcs12 and --cert/--key both give the client certificate; use one.",
            ));
        }
        let id = load_pkcs12(opts, p12, plan)?;
        if let Some(w) = check_validity("client certificate", "--pkcs12", p12, &id.chain[0], warn)?
        {
            plan.warnings.push(w);
        }
        plan.identity = Some(id);
        return Ok(());
    }
    match (&t.cert, &t.key) {
        (None, None) => Ok(()),
        (Some(c), None) => Err(option_error(format!(
            "Error: --cert {} was given without --key.",
            printable(c)
        ))
        .and("Give both --cert and --key (the client certificate and its private key).")),
        (None, Some(k)) => Err(option_error(format!(
            "Error: --key {} was given without --cert.",
            printable(k)
        ))
        .and("Give both --cert and --key (the client certificate and its private key).")),
        (Some(c), Some(k)) if super::keyform_engine(opts) => {
            let chain = load_certs("--cert", c)?;
            let engine = t.tls_engine.as_deref().unwrap_or_default();
            let key = super::engine::load(opts, engine, k)?;
            let leaf = &chain[0];
            if !leaf.public_key().is_ok_and(|pk| pk.public_eq(&key)) {
                return Err(file_error(format!(
                    "Error: the certificate --cert {} does not belong to the engine key --key {}.",
                    printable(c),
                    super::engine::shown_key_id(k)
                ))
                .and(format!(
                    "Certificate: {}. Give the certificate issued for the token's key.",
                    name(leaf.subject_name())
                )));
            }
            if let Some(w) = check_validity("client certificate", "--cert", c, leaf, warn)? {
                plan.warnings.push(w);
            }
            // paho loads the key from the certificate file (no --key file); the
            // SSL_CTX_use_PrivateKey_file seam installs the engine's key instead.
            plan.cert = Some(c.clone());
            plan.identity = Some(Identity {
                chain,
                key,
                source: format!("--cert {}", printable(c)),
            });
            Ok(())
        }
        (Some(c), Some(k)) => {
            let chain = load_certs("--cert", c)?;
            let (key, password) = load_key(opts, k)?;
            let leaf = &chain[0];
            let matches = leaf
                .public_key()
                .map(|pk| pk.public_eq(&key))
                .unwrap_or(false);
            if !matches {
                return Err(file_error(format!(
                    "Error: the private key --key {} does not match the certificate --cert {}.",
                    printable(k),
                    printable(c)
                ))
                .and(format!(
                    "Certificate: {}. Give the key that belongs to it.",
                    name(leaf.subject_name())
                )));
            }
            if let Some(w) = check_validity("client certificate", "--cert", c, leaf, warn)? {
                plan.warnings.push(w);
            }
            plan.cert = Some(c.clone());
            plan.key = Some(k.clone());
            plan.key_password = password;
            plan.identity = Some(Identity {
                chain,
                key,
                source: format!("--cert {}", printable(c)),
            });
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_formats() {
        assert_eq!(sniff(b""), Found::Empty);
        assert_eq!(sniff(b"hello world"), Found::Garbage);
        assert_eq!(
            sniff(b"-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n"),
            Found::Pem(vec!["PRIVATE KEY".into()])
        );
        assert_eq!(sniff(&[0x30, 0x03, 0x02, 0x01, 0x00]), Found::Der);
    }

    #[test]
    fn strips_os_error_suffix() {
        let e = std::io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(os_error(&e), "No such file or directory");
    }
}
