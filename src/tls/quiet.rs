//! paho.mqtt.c installs an OpenSSL message callback on every TLS context it creates
//! (`SSLSocket_setSocketForSSL`). OpenSSL calls it twice per TLS record received or
//! sent, and it formats the protocol version (with `snprintf`, for TLS 1.3) before
//! passing a line to paho's trace at a level below anything we ever enable, so the line
//! is always discarded: about a tenth of the instructions a received message costs.
//!
//! paho.mqtt.c is linked statically into this program, so its call to
//! `SSL_CTX_set_msg_callback` resolves to the function defined here, which installs
//! nothing. Nothing else in the program sets a message callback.

use std::ffi::c_void;

/// `SSL_CTX_set_msg_callback(ctx, cb)` for the whole program: leaves the context without
/// a message callback (OpenSSL's default).
///
/// # Safety
/// None needed: the arguments are not used.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn SSL_CTX_set_msg_callback(_ctx: *mut c_void, _cb: *const c_void) {}
