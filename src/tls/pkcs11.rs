//! What the PKCS#11 tokens hold, for the message when the engine finds no key matching a
//! `pkcs11:` URI: read through p11-kit's proxy module (the module OpenSSL's pkcs11 engine
//! uses unless configured otherwise). mqtts does not log in: the private keys are listed
//! when the engine's own login is still open (the token was found and the PIN accepted),
//! else only what the token shows to anyone (public keys, certificates). Only on that
//! failure path.

use super::files::printable;
use std::ffi::{c_uchar, c_ulong, c_void};

type Rv = c_ulong;
const CKR_OK: Rv = 0;
const CKR_CRYPTOKI_ALREADY_INITIALIZED: Rv = 0x191;
const CKF_TOKEN_INITIALIZED: c_ulong = 1 << 10;
const CKF_SERIAL_SESSION: c_ulong = 1 << 2;
const CKA_CLASS: c_ulong = 0;
const CKA_LABEL: c_ulong = 3;
const CKA_ID: c_ulong = 0x102;
const CKO_CERTIFICATE: c_ulong = 1;
const CKO_PUBLIC_KEY: c_ulong = 2;
const CKO_PRIVATE_KEY: c_ulong = 3;
/// At most this many objects are named per token.
const MAX_OBJECTS: usize = 12;

/// `CK_ATTRIBUTE`.
#[repr(C)]
struct Attribute {
    kind: c_ulong,
    value: *mut c_void,
    len: c_ulong,
}

/// The start of `CK_FUNCTION_LIST` (PKCS#11 2.x order), up to `C_FindObjectsFinal`.
#[repr(C)]
struct FunctionList {
    version: [c_uchar; 2],
    initialize: unsafe extern "C" fn(*mut c_void) -> Rv,
    finalize: unsafe extern "C" fn(*mut c_void) -> Rv,
    _get_info: usize,
    _get_function_list: usize,
    get_slot_list: unsafe extern "C" fn(c_uchar, *mut c_ulong, *mut c_ulong) -> Rv,
    _get_slot_info: usize,
    get_token_info: unsafe extern "C" fn(c_ulong, *mut c_void) -> Rv,
    _get_mechanism_list: usize,
    _get_mechanism_info: usize,
    _init_token: usize,
    _init_pin: usize,
    _set_pin: usize,
    open_session:
        unsafe extern "C" fn(c_ulong, c_ulong, *mut c_void, *mut c_void, *mut c_ulong) -> Rv,
    close_session: unsafe extern "C" fn(c_ulong) -> Rv,
    _close_all_sessions: usize,
    _get_session_info: usize,
    _get_operation_state: usize,
    _set_operation_state: usize,
    _login: usize,
    _logout: usize,
    _create_object: usize,
    _copy_object: usize,
    _destroy_object: usize,
    _get_object_size: usize,
    get_attribute_value: unsafe extern "C" fn(c_ulong, c_ulong, *mut Attribute, c_ulong) -> Rv,
    _set_attribute_value: usize,
    find_objects_init: unsafe extern "C" fn(c_ulong, *mut Attribute, c_ulong) -> Rv,
    find_objects: unsafe extern "C" fn(c_ulong, *mut c_ulong, c_ulong, *mut c_ulong) -> Rv,
    find_objects_final: unsafe extern "C" fn(c_ulong) -> Rv,
}

/// A token: its label and the objects it shows without logging in.
struct Token {
    label: String,
    objects: Vec<String>,
}

/// The value of `attr` in a `pkcs11:` URI's path (percent-decoded), e.g. `token`.
fn uri_attr(uri: &str, attr: &str) -> Option<String> {
    let path = uri.strip_prefix("pkcs11:")?.split('?').next()?;
    let v = path
        .split(';')
        .find_map(|p| p.strip_prefix(attr)?.strip_prefix('='))?;
    let b = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(x)) => {
                out.push(x);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// A line saying what the tokens hold, for a key `uri` the engine did not find; None
/// when p11-kit's proxy module cannot be used.
pub(super) fn describe(uri: &str) -> Option<String> {
    let tokens = list()?;
    let shown = |l: &str| format!("\"{}\"", printable(l));
    if tokens.is_empty() {
        return Some("p11-kit finds no initialised token.".to_string());
    }
    if let Some(want) = uri_attr(uri, "token")
        && !tokens.iter().any(|t| t.label == want)
    {
        let labels: Vec<String> = tokens.iter().map(|t| shown(&t.label)).collect();
        return Some(format!(
            "No token is labelled {}; the tokens present: {}.",
            shown(&want),
            labels.join(", ")
        ));
    }
    let want = uri_attr(uri, "token");
    let lines: Vec<String> = tokens
        .iter()
        .filter(|t| want.as_ref().is_none_or(|w| *w == t.label))
        .map(|t| {
            if t.objects.is_empty() {
                format!(
                    "Token {} shows no keys or certificates (without logging in).",
                    shown(&t.label)
                )
            } else {
                format!("Token {} holds: {}.", shown(&t.label), t.objects.join(", "))
            }
        })
        .collect();
    Some(lines.join(" "))
}

/// The initialised tokens and what they show, through p11-kit-proxy.so.
fn list() -> Option<Vec<Token>> {
    // SAFETY: dlopen/dlsym with NUL-terminated names; the function list and every
    // function called through it follow the PKCS#11 2.x C ABI, with buffers sized as
    // the calls require.
    unsafe {
        let lib = libc::dlopen(
            c"p11-kit-proxy.so".as_ptr(),
            libc::RTLD_NOW | libc::RTLD_LOCAL,
        );
        if lib.is_null() {
            return None;
        }
        let get = libc::dlsym(lib, c"C_GetFunctionList".as_ptr());
        if get.is_null() {
            return None;
        }
        let get: unsafe extern "C" fn(*mut *const FunctionList) -> Rv = std::mem::transmute(get);
        let mut f: *const FunctionList = std::ptr::null();
        if get(&mut f) != CKR_OK || f.is_null() {
            return None;
        }
        let f = &*f;
        let rv = (f.initialize)(std::ptr::null_mut());
        if rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED {
            return None;
        }
        let tokens = tokens(f);
        if rv == CKR_OK {
            (f.finalize)(std::ptr::null_mut());
        }
        tokens
    }
}

/// # Safety
/// `f` is an initialised module's function list.
unsafe fn tokens(f: &FunctionList) -> Option<Vec<Token>> {
    let mut n: c_ulong = 0;
    // SAFETY: first call asks for the count, second fills `slots` of that size.
    unsafe {
        if (f.get_slot_list)(1, std::ptr::null_mut(), &mut n) != CKR_OK {
            return None;
        }
        let mut slots = vec![0 as c_ulong; n as usize];
        if (f.get_slot_list)(1, slots.as_mut_ptr(), &mut n) != CKR_OK {
            return None;
        }
        slots.truncate(n as usize);
        let mut out = Vec::new();
        for slot in slots {
            // CK_TOKEN_INFO is 208 bytes on LP64; the label is its first 32, the flags
            // follow the four text fields at offset 96.
            let mut info = [0u64; 32];
            if (f.get_token_info)(slot, info.as_mut_ptr().cast()) != CKR_OK {
                continue;
            }
            let bytes: &[u8] = std::slice::from_raw_parts(info.as_ptr().cast(), 256);
            let flags = c_ulong::from_ne_bytes(bytes[96..104].try_into().ok()?);
            if flags & CKF_TOKEN_INITIALIZED == 0 {
                continue;
            }
            let label = String::from_utf8_lossy(&bytes[..32]).trim_end().to_string();
            out.push(Token {
                label,
                objects: objects(f, slot).unwrap_or_default(),
            });
        }
        Some(out)
    }
}

/// # Safety
/// `f` is an initialised module's function list, `slot` one of its slots.
unsafe fn objects(f: &FunctionList, slot: c_ulong) -> Option<Vec<String>> {
    let mut session: c_ulong = 0;
    // SAFETY: a read-only session, closed below; attribute buffers sized by the module's
    // answer to the first (length-only) query.
    unsafe {
        let null = std::ptr::null_mut();
        if (f.open_session)(slot, CKF_SERIAL_SESSION, null, null, &mut session) != CKR_OK {
            return None;
        }
        let mut found = Vec::new();
        if (f.find_objects_init)(session, null.cast(), 0) == CKR_OK {
            let mut handles = [0 as c_ulong; 64];
            let mut n: c_ulong = 0;
            if (f.find_objects)(session, handles.as_mut_ptr(), 64, &mut n) == CKR_OK {
                for &h in &handles[..(n as usize).min(64)] {
                    if let Some(d) = describe_object(f, session, h) {
                        found.push(d);
                    }
                    if found.len() == MAX_OBJECTS {
                        break;
                    }
                }
            }
            (f.find_objects_final)(session);
        }
        (f.close_session)(session);
        Some(found)
    }
}

/// `public key "client" (id 01)` for a key or certificate object; None for others.
///
/// # Safety
/// An open `session` of `f`, and one of its object handles.
unsafe fn describe_object(f: &FunctionList, session: c_ulong, h: c_ulong) -> Option<String> {
    let mut class: c_ulong = 0;
    let mut attrs = [
        Attribute {
            kind: CKA_CLASS,
            value: (&mut class as *mut c_ulong).cast(),
            len: std::mem::size_of::<c_ulong>() as c_ulong,
        },
        Attribute {
            kind: CKA_LABEL,
            value: std::ptr::null_mut(),
            len: 0,
        },
        Attribute {
            kind: CKA_ID,
            value: std::ptr::null_mut(),
            len: 0,
        },
    ];
    // SAFETY: the first call fills the class and the label/id lengths; the second the
    // label and id into buffers of those lengths.
    unsafe {
        (f.get_attribute_value)(session, h, attrs.as_mut_ptr(), 3);
        let kind = match class {
            CKO_PRIVATE_KEY => "private key",
            CKO_PUBLIC_KEY => "public key",
            CKO_CERTIFICATE => "certificate",
            _ => return None,
        };
        let size = |a: &Attribute| {
            if a.len == c_ulong::MAX || a.len > 4096 {
                0
            } else {
                a.len as usize
            }
        };
        let mut label = vec![0u8; size(&attrs[1])];
        let mut id = vec![0u8; size(&attrs[2])];
        let mut second = [
            Attribute {
                kind: CKA_LABEL,
                value: label.as_mut_ptr().cast(),
                len: label.len() as c_ulong,
            },
            Attribute {
                kind: CKA_ID,
                value: id.as_mut_ptr().cast(),
                len: id.len() as c_ulong,
            },
        ];
        (f.get_attribute_value)(session, h, second.as_mut_ptr(), 2);
        let mut d = format!("{kind} \"{}\"", printable(&String::from_utf8_lossy(&label)));
        if !id.is_empty() {
            let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
            d.push_str(&format!(" (id {hex})"));
        }
        Some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::uri_attr;

    #[test]
    fn uri_attributes() {
        let u = "pkcs11:token=my%20token;object=k;type=private?pin-value=1";
        assert_eq!(uri_attr(u, "token").as_deref(), Some("my token"));
        assert_eq!(uri_attr(u, "object").as_deref(), Some("k"));
        assert_eq!(uri_attr(u, "pin-value"), None);
        assert_eq!(uri_attr("slot_0-id_1", "token"), None);
    }
}
