//! Acknowledge the broker's TLS 1.3 session tickets at once, so CONNACK is not held ~40 ms.
//!
//! Why: after a TLS 1.3 handshake the server sends NewSessionTicket messages (OpenSSL: two,
//! each written separately). mosquitto does not set `TCP_NODELAY` on its sockets, so Nagle's
//! algorithm holds the second ticket, and the CONNACK written behind it, until the client
//! has acknowledged the first ticket. The client's kernel, in delayed-ACK ("pingpong") mode
//! since it answered the server's handshake flight, acknowledges only when its delayed-ACK
//! timer fires, about 40 ms later (Linux `TCP_DELACK_MIN`), because the client has nothing
//! to send: it is waiting for CONNACK. Seen on loopback with tcpdump: ticket 1 comes right
//! after CONNECT, then 40–44 ms of silence, then the client's bare ACK, then ticket 2 and
//! CONNACK in one segment. mosquitto_pub pays the same wait. TLS 1.2 is not affected (its
//! ticket travels with the server's Finished, in one write).
//!
//! What: while a TLS connect is under way ([`arm`]), the protocol-trace line paho writes
//! right after it has sent CONNECT (`<fd> <client id> -> CONNECT …`, which names the
//! socket) makes us set `TCP_QUICKACK` on that socket ([`connect_sent`]). That takes the
//! socket out of delayed-ACK mode, so the kernel acknowledges the tickets as they arrive
//! (or at once, if one is already waiting), the broker sends the rest straight away, and
//! CONNACK comes within a round trip. Nothing else changes: the same TLS 1.3 handshake and
//! verification, the same bytes; only some bare ACKs go out sooner. Linux ends quick-ACK
//! mode by itself once the client sends data again (the next request), so later traffic
//! is acknowledged as before.
//!
//! The trace line is the only notice paho gives between its handshake and CONNACK (setting
//! the option earlier does not last: Linux re-enters delayed-ACK mode when the client
//! sends its Finished). paho reports protocol lines only while its trace level asks for
//! them: without `-d`, [`arm`] turns them on for the connect and the returned guard turns
//! them off again ([`crate::trace::protocol_lines`]). That costs about 80 formatted lines
//! per TLS connect (60 are paho's list of ciphers; each line's `localtime` also stats
//! /etc/localtime): ~0.3 ms of CPU, measured, against the ~40 ms saved with TLS 1.3. Plain
//! TCP connects are not armed (nothing is held there).
//!
//! `TCP_QUICKACK` is Linux-only; elsewhere [`arm`] does nothing.

use std::sync::atomic::{AtomicBool, Ordering};

/// Set while a connect is watched.
static ARMED: AtomicBool = AtomicBool::new(false);

/// Watching a connect; dropping it stops watching.
pub struct Armed(bool);

/// Watch the connect about to start, if it uses TLS. Keep the guard until it has finished.
pub fn arm(tls: bool) -> Armed {
    let on = tls && cfg!(any(target_os = "linux", target_os = "android"));
    if on {
        ARMED.store(true, Ordering::SeqCst);
        crate::trace::protocol_lines(true);
    }
    Armed(on)
}

impl Drop for Armed {
    fn drop(&mut self) {
        if self.0 {
            ARMED.store(false, Ordering::SeqCst);
            crate::trace::protocol_lines(false);
        }
    }
}

/// Look at one protocol-trace line from paho. Called on paho's thread, right after the
/// packet the line reports was written.
pub fn connect_sent(line: &str) {
    if ARMED.load(Ordering::Relaxed)
        && let Some(fd) = connect_socket(line)
    {
        quick_ack(fd);
    }
}

/// The socket of a `-> CONNECT` line: `YYYYMMDD HHMMSS.mmm <fd> <client id> -> CONNECT version …`.
fn connect_socket(line: &str) -> Option<libc::c_int> {
    if !line.contains(" -> CONNECT version ") {
        return None;
    }
    line.get(20..)?.split(' ').next()?.parse().ok()
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn quick_ack(fd: libc::c_int) {
    let on: libc::c_int = 1;
    // SAFETY: setsockopt reads `size_of::<c_int>()` bytes from a live local. The fd is the
    // socket paho has just written CONNECT to; were it anything else the call would fail
    // (ENOTSOCK, EOPNOTSUPP for a unix socket) and change nothing.
    unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_QUICKACK,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn quick_ack(_fd: libc::c_int) {}

#[cfg(test)]
mod tests {
    use super::connect_socket;

    #[test]
    fn finds_the_socket_of_connect_lines_only() {
        let l = "20261123 032542.228 5 probe-1 -> CONNECT version 4 clean: 1 (0)";
        assert_eq!(connect_socket(l), Some(5));
        let l = "20261123 032542.228 17  -> CONNECT version 5 clean: 1 (0)";
        assert_eq!(connect_socket(l), Some(17));
        assert_eq!(
            connect_socket("20261123 032542.228 5 probe-1 <- CONNACK rc: 0"),
            None
        );
        assert_eq!(
            connect_socket("20261123 032542.228 5 probe-1 -> PUBLISH qos: 0 retained: 0 rc: 0"),
            None
        );
        assert_eq!(
            connect_socket("SSL state connect: -> CONNECT version "),
            None
        );
        assert_eq!(connect_socket("short"), None);
    }
}
