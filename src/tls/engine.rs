//! Private keys held by an OpenSSL engine: `--keyform engine --tls-engine ENGINE --key
//! KEY-ID` (e.g. the `pkcs11` engine and a PKCS#11 URI), and `--tls-engine` alone.
//!
//! Interface:
//! - [`load`] (plan time, before any network traffic): loads the engine, makes it
//!   OpenSSL's default for all its methods (as mosquitto does), loads the key and keeps it
//!   for the connection; every failure is named with its facts;
//! - [`load_engine_only`] for `--tls-engine` without `--keyform engine`;
//! - [`key`], for the `SSL_CTX_use_PrivateKey_file` seam: paho always loads the key from
//!   a PEM file, and when an engine key was loaded the seam installs it instead.
//!
//! The PIN (password) an engine asks for: `pin-value=` in a PKCS#11 URI (the engine reads
//! it itself); otherwise `--tls-engine-kpass-sha1` as mosquitto passes it (the engine's
//! `SECRET_MODE` and `PIN` controls); otherwise a UI method that answers the engine's
//! prompt from mqtts's key-password sources (`--key-password-file`, `MQTTS_KEY_PASSWORD`,
//! a prompt on the terminal), asked only when the engine needs a PIN.

use super::files::{self, PasswordSource};
use super::{FILE_ERROR, option_error};
use crate::exit::Failure;
use crate::options::Options;
use foreign_types::ForeignType;
use openssl::pkey::{PKey, Private};
use std::ffi::{CStr, CString, c_char, c_int, c_long, c_uint, c_void};
use std::sync::{Mutex, OnceLock};

/// libcrypto's opaque `ENGINE`, `UI_METHOD`, `UI` and `UI_STRING`.
type RawEngine = c_void;
type UiMethod = c_void;
type Ui = c_void;
type UiString = c_void;

/// `ENGINE_METHOD_ALL` (openssl/engine.h).
const ENGINE_METHOD_ALL: c_uint = 0xFFFF;
/// `UIT_PROMPT`, `UIT_VERIFY` (openssl/ui.h): the string types that want an answer.
const UIT_PROMPT: c_int = 1;
const UIT_VERIFY: c_int = 2;
/// mosquitto's engine controls for `--tls-engine-kpass-sha1` (its lib/net_mosq.h).
const SECRET_MODE: &CStr = c"SECRET_MODE";
const SECRET_MODE_SHA: c_long = 0x1000;
const PIN: &CStr = c"PIN";

// The ENGINE and UI API of libcrypto (deprecated in OpenSSL 3 but present; openssl-sys
// does not bind it).
unsafe extern "C" {
    fn ENGINE_load_builtin_engines();
    fn ENGINE_by_id(id: *const c_char) -> *mut RawEngine;
    fn ENGINE_init(e: *mut RawEngine) -> c_int;
    fn ENGINE_free(e: *mut RawEngine) -> c_int;
    fn ENGINE_set_default(e: *mut RawEngine, flags: c_uint) -> c_int;
    fn ENGINE_ctrl_cmd(
        e: *mut RawEngine,
        cmd: *const c_char,
        i: c_long,
        p: *mut c_void,
        f: Option<unsafe extern "C" fn()>,
        optional: c_int,
    ) -> c_int;
    fn ENGINE_ctrl_cmd_string(
        e: *mut RawEngine,
        cmd: *const c_char,
        arg: *const c_char,
        optional: c_int,
    ) -> c_int;
    fn ENGINE_load_private_key(
        e: *mut RawEngine,
        key_id: *const c_char,
        ui: *mut UiMethod,
        data: *mut c_void,
    ) -> *mut openssl_sys::EVP_PKEY;
    fn UI_create_method(name: *const c_char) -> *mut UiMethod;
    fn UI_method_set_reader(
        m: *mut UiMethod,
        f: unsafe extern "C" fn(*mut Ui, *mut UiString) -> c_int,
    ) -> c_int;
    fn UI_get_string_type(uis: *mut UiString) -> c_int;
    fn UI_set_result(ui: *mut Ui, uis: *mut UiString, result: *const c_char) -> c_int;
}

/// The engine key the connection uses (set once, at plan time).
static KEY: OnceLock<PKey<Private>> = OnceLock::new();

/// The engine key loaded by [`load`], if any: what the `SSL_CTX_use_PrivateKey_file`
/// seam installs in place of the file paho names.
pub fn key() -> Option<*mut openssl_sys::EVP_PKEY> {
    KEY.get().map(|k| k.as_ptr())
}

/// The Debian package that provides an engine, for the "cannot be loaded" message.
fn package_of(engine: &str) -> Option<&'static str> {
    match engine {
        "pkcs11" | "libpkcs11" => Some("libengine-pkcs11-openssl"),
        "tpm2" | "tpm2tss" => Some("libtpm2tss-openssl (tpm2-tss-engine)"),
        _ => None,
    }
}

/// A key id for messages: control characters replaced and a PKCS#11 URI's `pin-value`
/// hidden (the PIN is never printed).
pub(crate) fn shown_key_id(id: &str) -> String {
    let id = files::printable(id);
    let mut shown = String::new();
    let mut rest = id.as_str();
    loop {
        let end = rest.find(['?', ';', '&']).unwrap_or(rest.len());
        let (part, tail) = rest.split_at(end);
        if part.to_ascii_lowercase().starts_with("pin-value=") {
            shown.push_str("pin-value=(hidden)");
        } else {
            shown.push_str(part);
        }
        let mut chars = tail.chars();
        match chars.next() {
            Some(sep) => shown.push(sep),
            None => return shown,
        }
        rest = chars.as_str();
    }
}

/// A failure of the engine or its key: exit status FILE_ERROR, like a key file's, and
/// silenced by `--quiet` (mosquitto prints nothing then either).
fn engine_error(line: impl Into<String>) -> Failure {
    Failure::new(FILE_ERROR, line)
}

/// OpenSSL's error queue, emptied: the reasons, as text ("object not found; …").
fn drain_errors() -> String {
    let mut reasons: Vec<String> = Vec::new();
    for e in openssl::error::ErrorStack::get().errors() {
        let r = e.reason().unwrap_or("").to_string();
        let r = match e.data() {
            Some(d) if !d.is_empty() => format!("{r} ({})", files::printable(d)),
            _ => r,
        };
        if !r.is_empty() && !reasons.contains(&r) {
            reasons.push(r);
        }
    }
    reasons.join("; ")
}

/// An engine with a functional reference (ENGINE_init done); never finished: the engine
/// stays loaded for the life of the process, as mosquitto's does for its connection.
struct Engine(*mut RawEngine);

/// Load engine `id`, initialise it and make it the default for all its methods.
fn open(id: &str) -> Result<Engine, Failure> {
    let shown = files::printable(id);
    let cid = CString::new(id).map_err(|_| {
        option_error(format!(
            "Error: --tls-engine {shown}: an engine name has no NUL byte."
        ))
    })?;
    // SAFETY: plain libcrypto calls with a NUL-terminated name; the pointers returned are
    // checked before use.
    unsafe {
        ENGINE_load_builtin_engines();
        let e = ENGINE_by_id(cid.as_ptr());
        if e.is_null() {
            let errors = drain_errors();
            let mut f = engine_error(format!(
                "Error: the OpenSSL engine \"{shown}\" (--tls-engine) cannot be loaded."
            ));
            f = match package_of(id) {
                Some(pkg) => f.and(format!(
                    "OpenSSL has no engine of that name: install the package {pkg} \
                     (apt-get install {})",
                    pkg.split(' ').next().unwrap_or(pkg)
                )),
                None => f.and(
                    "OpenSSL has no engine of that name (the PKCS#11 engine is \"pkcs11\", \
                     package libengine-pkcs11-openssl).",
                ),
            };
            if !errors.is_empty() {
                f = f.and(format!("OpenSSL: {errors}."));
            }
            return Err(f);
        }
        if ENGINE_init(e) != 1 {
            let _ = drain_errors();
            ENGINE_free(e);
            return Err(engine_error(format!(
                "Error: the OpenSSL engine \"{shown}\" (--tls-engine) was found but failed \
                 to initialise."
            ))
            .and(
                "For pkcs11: check that p11-kit finds the token's module (p11-kit list-modules).",
            ));
        }
        // The structural reference from ENGINE_by_id is no longer needed: the functional
        // one from ENGINE_init keeps the engine.
        ENGINE_free(e);
        ENGINE_set_default(e, ENGINE_METHOD_ALL);
        // libp11's engine prints its own error lines on stderr; mqtts names the failure
        // itself. An engine without this control ignores it (optional).
        ENGINE_ctrl_cmd(e, c"QUIET".as_ptr(), 0, std::ptr::null_mut(), None, 1);
        Ok(Engine(e))
    }
}

/// `--tls-engine ENGINE` without `--keyform engine`: the engine does the crypto it
/// offers (as mosquitto: default for all its methods), the key comes from `--key`.
pub(super) fn load_engine_only(id: &str) -> Result<(), Failure> {
    open(id).map(|_| ())
}

/// What the UI method did while the engine loaded the key.
#[derive(Default)]
struct PinState {
    /// The options, for the PIN sources (--key-password-file, MQTTS_KEY_PASSWORD).
    opts: Option<Options>,
    /// What the PIN is for, in the prompt.
    what: String,
    /// Where the PIN came from, once the engine asked for one.
    asked: Option<PasswordSource>,
    /// The engine asked but there was no PIN to give (no file, variable or terminal).
    missing: bool,
    /// The PIN source could not be read (e.g. the file is missing): that failure.
    failure: Option<Failure>,
}

static PIN_STATE: Mutex<Option<PinState>> = Mutex::new(None);

/// The UI method's reader: answers the engine's PIN prompt from mqtts's key-password
/// sources. Never panics (it runs inside libcrypto).
unsafe extern "C" fn read_pin(ui: *mut Ui, uis: *mut UiString) -> c_int {
    // SAFETY: `uis` is the string libcrypto asks about.
    let kind = unsafe { UI_get_string_type(uis) };
    if kind != UIT_PROMPT && kind != UIT_VERIFY {
        return 1;
    }
    let answer = std::panic::catch_unwind(|| {
        let mut guard = PIN_STATE.lock().ok()?;
        let state = guard.as_mut()?;
        let opts = state.opts.as_ref()?;
        let what = state.what.clone();
        match files::engine_pin(opts, &what) {
            Ok(Some((pw, src))) => {
                state.asked = Some(src);
                CString::new(pw.0).ok()
            }
            Ok(None) => {
                state.missing = true;
                None
            }
            Err(f) => {
                state.failure = Some(f);
                None
            }
        }
    });
    match answer {
        // SAFETY: a NUL-terminated answer for the string libcrypto asked about; it copies it.
        Ok(Some(pin)) => (unsafe { UI_set_result(ui, uis, pin.as_ptr()) } == 0) as c_int,
        _ => 0,
    }
}

/// The UI method [`read_pin`] answers through (made once).
fn ui_method() -> *mut UiMethod {
    static METHOD: OnceLock<usize> = OnceLock::new();
    *METHOD.get_or_init(|| {
        // SAFETY: creates a method with a static name; the reader is a valid function.
        unsafe {
            let m = UI_create_method(c"mqtts key password".as_ptr());
            if !m.is_null() {
                UI_method_set_reader(m, read_pin);
            }
            m as usize
        }
    }) as *mut UiMethod
}

/// `--keyform engine --tls-engine RawEngine --key KEY_ID`: load the engine and the key (at
/// plan time), and keep the key for the connection ([`key`]).
pub(super) fn load(opts: &Options, engine: &str, key_id: &str) -> Result<PKey<Private>, Failure> {
    let e = open(engine)?;
    let eng = files::printable(engine);
    let shown = shown_key_id(key_id);
    let cid = CString::new(key_id)
        .map_err(|_| option_error(format!("Error: --key {shown}: a key id has no NUL byte.")))?;
    let mut ui = ui_method();
    if let Some(sha1) = &opts.tls.tls_engine_kpass_sha1 {
        // As mosquitto: the engine takes the SHA1 of the password in its "secret mode".
        let csha = CString::new(sha1.as_str()).unwrap_or_default();
        // SAFETY: the live engine, NUL-terminated control names and argument.
        let ok = unsafe {
            ENGINE_ctrl_cmd(
                e.0,
                SECRET_MODE.as_ptr(),
                SECRET_MODE_SHA,
                std::ptr::null_mut(),
                None,
                0,
            ) == 1
                && ENGINE_ctrl_cmd_string(e.0, PIN.as_ptr(), csha.as_ptr(), 0) == 1
        };
        if !ok {
            let _ = drain_errors();
            return Err(engine_error(format!(
                "Error: --tls-engine-kpass-sha1: the engine \"{eng}\" does not take a SHA1 of \
                 the key password (it has no SECRET_MODE control)."
            ))
            .and(
                "For the pkcs11 engine give the PIN itself: pin-value= in the key URI, \
                 --key-password-file FILE or the MQTTS_KEY_PASSWORD environment variable.",
            ));
        }
        ui = std::ptr::null_mut();
    }
    if let Ok(mut g) = PIN_STATE.lock() {
        *g = Some(PinState {
            opts: Some(opts.clone()),
            what: format!("the token of --key {shown}"),
            ..PinState::default()
        });
    }
    // SAFETY: the live engine, a NUL-terminated key id, our UI method (or none).
    let raw = unsafe { ENGINE_load_private_key(e.0, cid.as_ptr(), ui, std::ptr::null_mut()) };
    let state = PIN_STATE
        .lock()
        .ok()
        .and_then(|mut g| g.take())
        .unwrap_or_default();
    let errors = drain_errors();
    if raw.is_null() {
        return Err(key_failure(&eng, &shown, key_id, &state, &errors));
    }
    // SAFETY: the engine returned a new reference to a private key; PKey owns it now.
    let key = unsafe { PKey::<Private>::from_ptr(raw) };
    let _ = KEY.set(key.clone());
    Ok(key)
}

/// The named failure for a key the engine did not load.
fn key_failure(eng: &str, shown: &str, key_id: &str, state: &PinState, errors: &str) -> Failure {
    if let Some(f) = &state.failure {
        return f.clone();
    }
    let lower = errors.to_ascii_lowercase();
    let pin_wrong = lower.contains("pin_incorrect") || lower.contains("pin incorrect");
    let pin_locked = lower.contains("pin_locked") || lower.contains("pin locked");
    let in_uri = key_id.to_ascii_lowercase().contains("pin-value=");
    if pin_locked {
        return engine_error(format!(
            "Error: the token of the engine key --key {shown} is locked (too many wrong PINs)."
        ))
        .and("Unlock it with the token's security officer PIN.");
    }
    if pin_wrong || (state.asked.is_some() && lower.contains("login")) {
        let from = match &state.asked {
            Some(src) => src.describe(),
            None if in_uri => "from pin-value= in the key URI".to_string(),
            None => "given".to_string(),
        };
        return engine_error(format!(
            "Error: wrong PIN for the token of the engine key --key {shown}."
        ))
        .and(format!("The token refused the PIN {from}."));
    }
    if state.missing {
        return engine_error(format!(
            "Error: the token of the engine key --key {shown} needs a PIN and none was given."
        ))
        .and(format!(
            "Give it with pin-value= in the key URI, --key-password-file FILE or the {} \
             environment variable (there is no terminal to ask on).",
            super::KEY_PASSWORD_ENV
        ));
    }
    let mut f = engine_error(format!(
        "Error: the engine \"{eng}\" found no private key --key {shown}."
    ));
    f = match key_id
        .starts_with("pkcs11:")
        .then(|| super::pkcs11::describe(key_id))
    {
        Some(Some(held)) => f.and(held).and("Check token=, object= or id= in the URI."),
        Some(None) => f.and(
            "No token holds a private key matching this URI: check token=, object= or id= \
             (`p11-kit list-modules` lists the tokens, `pkcs11-tool --module \
             /usr/lib/x86_64-linux-gnu/p11-kit-proxy.so --list-objects --login` their keys).",
        ),
        None => f.and("Check the key id: the engine does not know it."),
    };
    if !errors.is_empty() {
        f = f.and(format!("The engine said: {errors}."));
    }
    f
}

#[cfg(test)]
mod tests {
    use super::shown_key_id;

    #[test]
    fn pin_value_is_hidden() {
        assert_eq!(
            shown_key_id("pkcs11:token=t;object=k;pin-value=1234"),
            "pkcs11:token=t;object=k;pin-value=(hidden)"
        );
        assert_eq!(
            shown_key_id("pkcs11:token=t?pin-value=1234&x=1"),
            "pkcs11:token=t?pin-value=(hidden)&x=1"
        );
        assert_eq!(shown_key_id("slot_0-id_01"), "slot_0-id_01");
    }
}
