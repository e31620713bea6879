//! Acknowledge the broker's packets at once where its Nagle holds the next one: the TLS 1.3
//! session tickets before CONNACK, and SUBACK before a retained message (~40 ms each).
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
//! What: while a TLS connect is under way ([`arm`]), the first `SSL_write` on paho's
//! connection (CONNECT, right after the handshake) is followed by setting `TCP_QUICKACK`
//! on its socket. paho's `SSL_write` (TLS) and `writev` (TCP) calls go through
//! [`crate::seams`], which makes the real call and then calls [`written`].
//! The option takes the socket out of delayed-ACK mode, so the kernel acknowledges the
//! tickets as they arrive (or at once, if one is already waiting), the broker sends the
//! rest straight away, and CONNACK comes within a round trip. Nothing else changes: the
//! same TLS 1.3 handshake and verification, the same bytes; only some bare ACKs go out
//! sooner. Linux ends quick-ACK mode by itself once the client sends data again, so later
//! traffic is acknowledged as before. Setting it earlier does not help: sending the
//! handshake's Finished puts the socket back into delayed-ACK mode.
//!
//! The same wait hits a subscriber whose SUBSCRIBE is answered by SUBACK and then a
//! retained message (written separately, so Nagle holds it until SUBACK is acknowledged):
//! `-C 1` on a retained topic took ~40 ms more than it needs, plain TCP or TLS.
//! [`after_next_write`] arms the same quick-ACK for the SUBSCRIBE.
//!
//! `TCP_QUICKACK` is Linux-only; elsewhere nothing is set.

use std::sync::atomic::{AtomicBool, Ordering};

/// Set until the next write to paho's connection.
static ARMED: AtomicBool = AtomicBool::new(false);

/// Watching a connect; dropping it stops watching.
pub struct Armed;

/// Watch the connect about to start, if it uses TLS. Keep the guard until it has finished.
pub fn arm(tls: bool) -> Armed {
    if tls {
        after_next_write();
    }
    Armed
}

impl Drop for Armed {
    fn drop(&mut self) {
        ARMED.store(false, Ordering::SeqCst);
    }
}

/// Quick-ACK what answers the next packet paho writes (e.g. SUBSCRIBE).
pub fn after_next_write() {
    if cfg!(any(target_os = "linux", target_os = "android")) {
        ARMED.store(true, Ordering::SeqCst);
    }
}

/// Whether a quick-ACK is waiting for the next write.
pub(crate) fn armed() -> bool {
    ARMED.load(Ordering::Relaxed)
}

/// A write of `n` bytes to `fd` has been made (the `writev`/`SSL_write` seams): quick-ACK
/// if armed and it is paho's socket.
pub(crate) fn written(fd: libc::c_int, n: isize) {
    if n > 0
        && ARMED.load(Ordering::Relaxed)
        && fd == crate::tap::watched()
        && ARMED.swap(false, Ordering::SeqCst)
    {
        // The fd is the socket of the connection just written to.
        super::set_tcp_option(fd, super::TcpOption::QuickAck, true);
    }
}
