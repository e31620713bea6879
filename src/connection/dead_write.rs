//! A write to a dead connection is reported to paho.mqtt.c as "nothing written yet".
//!
//! Why: paho.mqtt.c 1.3.16 frees a QoS 1/2 publish twice when the write of its PUBLISH
//! fails (`MQTTAsync_processCommand`: the publication is already stored for the session
//! and its payload is freed once with the command, again when the session is cleaned;
//! paho.mqtt.c issues #1532, #1621, #1622). Measured: a broker restart under a fast
//! `-l -q 1` stream aborted mqtts-pub ("double free") 6 times out of 6. With a kept
//! session (`-c`) the same path reads freed memory when the message is sent again.
//!
//! What: paho's `writev` (TCP) and `SSL_write` (TLS) calls go through [`crate::seams`].
//! When the real call fails because the connection is gone (reset, broken pipe, timed out
//! …), [`writev`] turns the failure into "0 bytes written" and [`ssl_write_failed`] makes
//! paho's next `SSL_get_error` on that thread say "want write". paho then keeps the packet
//! as a pending write (its path for a full socket buffer, where the publish is owned once)
//! and the connection is found lost by its receive side (the read fails or ends), which
//! cleans the session once. Nothing else changes: a write that succeeds, or fails for a
//! reason that is not a dead connection, or is made by mqtts's own main thread (its TLS
//! probes), is reported as it was.

use std::cell::Cell;

/// errno values that mean the connection is gone.
fn dead(errno: i32) -> bool {
    matches!(
        errno,
        libc::EPIPE
            | libc::ECONNRESET
            | libc::ETIMEDOUT
            | libc::ENOTCONN
            | libc::EHOSTUNREACH
            | libc::ENETUNREACH
            | libc::ENETDOWN
            | libc::ECONNABORTED
    )
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Whether the caller is one of paho's threads, not ours: mqtts's own TLS probes (run on
/// the main thread with the `openssl` crate, whose calls land here too) must see the
/// real errors.
fn on_paho_thread() -> bool {
    !OFF.load(std::sync::atomic::Ordering::Relaxed) && std::thread::current().name() != Some("main")
}

/// Set for MQTT over WebSockets: paho's WebSocket layer does not treat "0 bytes written"
/// as a pending write, and a subscriber then never noticed a broker restart (tests/
/// websockets.rs); the translation was measured over TCP and TLS only.
static OFF: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Keep paho's own write errors (no translation) for the connections that follow.
pub fn disable(off: bool) {
    OFF.store(off, std::sync::atomic::Ordering::Relaxed);
}

/// The result paho sees for a `writev` that returned `n`.
pub fn writev(n: libc::ssize_t) -> libc::ssize_t {
    if n < 0 && dead(errno()) && on_paho_thread() {
        0
    } else {
        n
    }
}

thread_local! {
    /// The last `SSL_write` on this thread failed on a dead connection.
    static SSL_DEAD: Cell<bool> = const { Cell::new(false) };
}

/// After `SSL_write` returned `n` with `error` = libssl's `SSL_get_error` for it (only
/// looked up when `n <= 0`): remember a dead connection for [`ssl_get_error`].
pub fn ssl_write_failed(n: libc::c_int, error: impl FnOnce() -> libc::c_int) {
    if n > 0 {
        SSL_DEAD.with(|d| d.set(false));
        return;
    }
    let os = errno();
    if !on_paho_thread() {
        return;
    }
    let e = error();
    let gone = match e {
        openssl_sys::SSL_ERROR_SYSCALL => os == 0 || dead(os),
        openssl_sys::SSL_ERROR_SSL | openssl_sys::SSL_ERROR_ZERO_RETURN => true,
        _ => false,
    };
    SSL_DEAD.with(|d| d.set(gone));
}

/// What paho's `SSL_get_error` returns, given libssl's answer `real`.
pub fn ssl_get_error(real: impl FnOnce() -> libc::c_int) -> libc::c_int {
    if SSL_DEAD.with(|d| d.replace(false)) {
        openssl_sys::SSL_ERROR_WANT_WRITE
    } else {
        real()
    }
}
