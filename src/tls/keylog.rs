//! `--tls-keylog FILE` (mosquitto 2.1's option) and the `SSLKEYLOGFILE` environment
//! variable: the TLS secrets of every handshake, one NSS key-log line each, appended to the
//! file, so that Wireshark can decrypt a capture of the connection.
//!
//! The file is opened before connecting (created with mode 0600; a file other users can
//! read gets a warning). [`KeyLog::install`] runs before each handshake (from
//! [`super::handshake::before`]) and sets OpenSSL's key-log callback on the context of
//! the `SSL` paho (or the diagnosis probe) is about to use.

use super::files::{os_error, printable};
use crate::exit::Failure;
use std::ffi::{CStr, c_char};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// The environment variable browsers and curl read for the same purpose.
pub const ENV: &str = "SSLKEYLOGFILE";

/// An open key-log file.
#[derive(Debug)]
pub struct KeyLog {
    file: std::fs::File,
}

/// The key log the callback writes to (the callback has no user pointer).
static CURRENT: Mutex<Option<Arc<KeyLog>>> = Mutex::new(None);

/// An opened key log and the warning for a file other users can read.
pub(crate) type Opened = (Arc<KeyLog>, Option<String>);

/// Open `--tls-keylog FILE`, or else `$SSLKEYLOGFILE` when set and not empty.
pub(crate) fn open(option: Option<&str>) -> Result<Option<Opened>, Failure> {
    let env = std::env::var_os(ENV).filter(|v| !v.is_empty());
    let (what, path) = match (option, &env) {
        (Some(p), _) => ("--tls-keylog".to_string(), std::path::PathBuf::from(p)),
        (None, Some(p)) => (format!("{ENV}="), std::path::PathBuf::from(p)),
        (None, None) => return Ok(None),
    };
    let shown = printable(&path.to_string_lossy());
    let sep = if what.ends_with('=') { "" } else { " " };
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| {
            super::option_error(format!("Error: {what}{sep}{shown}: {}", os_error(&e)))
                .and("The TLS key log must be a file this user can create or append to.")
        })?;
    let mode = file.metadata().map(|m| m.permissions().mode()).unwrap_or(0);
    let warning = (mode & 0o077 != 0).then(|| {
        format!(
            "Warning: {what}{sep}{shown} is accessible by other users (mode {:04o}); anyone who can \
             read it can decrypt the recorded TLS traffic: chmod 600 {shown}",
            mode & 0o7777
        )
    });
    Ok(Some((Arc::new(KeyLog { file }), warning)))
}

impl KeyLog {
    /// Log the secrets of the handshake about to run on `ssl`.
    pub(crate) fn install(self: &Arc<Self>, ssl: *mut openssl_sys::SSL) {
        if let Ok(mut c) = CURRENT.lock() {
            *c = Some(self.clone());
        }
        // SAFETY: `ssl` is live; its context outlives it, and the callback is a plain
        // function that stays valid for the whole process.
        unsafe {
            let ctx = openssl_sys::SSL_get_SSL_CTX(ssl);
            if !ctx.is_null() {
                openssl_sys::SSL_CTX_set_keylog_callback(ctx, Some(write_line));
            }
        }
    }
}

/// OpenSSL's key-log callback: one line (without its newline) to append.
extern "C" fn write_line(_ssl: *const openssl_sys::SSL, line: *const c_char) {
    if line.is_null() {
        return;
    }
    // SAFETY: OpenSSL passes a NUL-terminated line.
    let text = unsafe { CStr::from_ptr(line) }.to_bytes();
    let mut buf = Vec::with_capacity(text.len() + 1);
    buf.extend_from_slice(text);
    buf.push(b'\n');
    let Ok(current) = CURRENT.lock() else { return };
    if let Some(log) = current.as_ref() {
        // One write of the whole line: O_APPEND keeps lines of other writers whole.
        let _ = (&log.file).write_all(&buf);
    }
}
