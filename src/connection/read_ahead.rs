//! Read paho's connection ahead: one system call for many received packets.
//!
//! paho.mqtt.c reads a packet at a time: over TCP with three `recv` calls (type byte,
//! length, rest), over TLS with `SSL_read`s that make libssl read each record with two
//! `read` calls (header, body), and it polls its sockets before every packet. A `-l -q 1`
//! stream paid five `recv` and two `poll` calls per PUBACK; a subscriber the same per
//! message.
//!
//! - TCP: paho's `recv` calls go through [`crate::seams`]. For the connection the
//!   `connect` seam saw last ([`arm`]) the seam reads whatever the kernel holds (up to
//!   64 KiB) into a buffer here and serves paho's small reads from it ([`recv`]). paho's
//!   `poll` goes through the seam too: while bytes wait here the kernel is asked without
//!   waiting and the connection is reported readable ([`poll`]), which the kernel would
//!   have said had they not been read yet.
//! - TLS: libssl's own read-ahead is turned on before the handshake ([`tls`]): it reads as
//!   many records as the kernel holds. paho asks `SSL_pending` after each packet whether
//!   to read again before polling; that counts only the bytes of a record already opened,
//!   so [`ssl_pending`] also counts records read ahead and not yet opened
//!   (`SSL_has_pending`), or paho would poll a socket whose bytes libssl already holds.
//!
//! Publishers only ([`enable`]): they receive acknowledgements in bursts and their own CPU
//! sets the pace. A subscriber waits on the broker, and one that drains its socket this
//! fast is asleep whenever the next message comes: the broker then spends more to wake it
//! than the subscriber saves (bench/run, 100,000 messages over TLS: broker CPU 370 → 470 ms,
//! subscriber 0.87 → 1.07 of mosquitto_sub's wall time).
//!
//! The bytes and their order are unchanged; an end of stream or an error comes after the
//! bytes before it, as before. Calls with flags or without a buffer (paho's
//! `recv(fd, NULL, 0, 0)` when closing) go to the kernel, and so does a read at least as
//! large as the buffer when nothing is held (a large payload is not copied twice). A new
//! connection on any socket ([`arm`]) drops what was held: like the packet tap, this
//! takes the last connection made as paho's; mqtts's own connections (diagnosis probes)
//! are made only when paho's has failed, and are read through here just as faithfully.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};

/// Most bytes read ahead at once.
const CAP: usize = 64 * 1024;

/// Connections are read ahead (see [`enable`]).
static ON: AtomicBool = AtomicBool::new(false);
/// The socket read ahead (-1: none).
static FD: AtomicI32 = AtomicI32::new(-1);
/// Bytes held for it (the quick check of [`poll`]).
static HELD: AtomicUsize = AtomicUsize::new(0);
static BUF: Mutex<Held> = Mutex::new(Held {
    data: Vec::new(),
    start: 0,
    end: 0,
});

/// `data[start..end]` is held.
struct Held {
    data: Vec<u8>,
    start: usize,
    end: usize,
}

/// Read the connections made from now on ahead (publishers; before connecting).
pub fn enable() {
    ON.store(true, Ordering::SeqCst);
}

/// `fd` is a new connection: read it ahead from now on (when enabled), and drop what an
/// earlier one left.
pub fn arm(fd: libc::c_int) {
    if let Ok(mut b) = BUF.lock() {
        b.start = 0;
        b.end = 0;
        HELD.store(0, Ordering::SeqCst);
        let on = ON.load(Ordering::SeqCst);
        FD.store(if on { fd } else { -1 }, Ordering::SeqCst);
    }
}

/// `recv(2)` on the socket read ahead: served from what is held, refilled with one system
/// call when nothing is. None: not for this module (the caller makes the real call).
///
/// # Safety
/// `buf` points to `len` writable bytes.
pub unsafe fn recv(
    fd: libc::c_int,
    buf: *mut libc::c_void,
    len: libc::size_t,
    flags: libc::c_int,
) -> Option<libc::ssize_t> {
    if fd != FD.load(Ordering::Relaxed) || flags != 0 || len == 0 || buf.is_null() {
        return None;
    }
    let mut b = BUF.lock().ok()?;
    if b.start == b.end {
        if len >= CAP {
            return None;
        }
        if b.data.is_empty() {
            b.data = vec![0; CAP];
        }
        // SAFETY: the system call into our own buffer of CAP bytes.
        let n = unsafe {
            libc::syscall(
                libc::SYS_recvfrom,
                fd,
                b.data.as_mut_ptr(),
                CAP,
                0,
                std::ptr::null_mut::<libc::sockaddr>(),
                std::ptr::null_mut::<libc::socklen_t>(),
            )
        } as libc::ssize_t;
        if n <= 0 {
            // End of stream, or an error with errno as the kernel set it.
            return Some(n);
        }
        b.start = 0;
        b.end = n as usize;
    }
    let k = len.min(b.end - b.start);
    // SAFETY: `k` bytes from our buffer into the caller's, which holds at least `len`.
    unsafe { std::ptr::copy_nonoverlapping(b.data.as_ptr().add(b.start), buf.cast(), k) };
    b.start += k;
    HELD.store(b.end - b.start, Ordering::Relaxed);
    Some(k as libc::ssize_t)
}

/// `poll(2)` as the kernel answers it (`real`), and while bytes are held for a socket in
/// `fds` polled for reading, that socket readable too: the kernel is then asked without
/// waiting (its other news, such as a hang-up, still counts: paho reads a socket with a
/// write pending only on that news).
///
/// # Safety
/// `fds` is null or points to `nfds` pollfd entries.
pub unsafe fn poll(
    fds: *mut libc::pollfd,
    nfds: libc::nfds_t,
    timeout: libc::c_int,
    real: impl FnOnce(*mut libc::pollfd, libc::nfds_t, libc::c_int) -> libc::c_int,
) -> libc::c_int {
    let fd = FD.load(Ordering::Relaxed);
    let wanted = |p: &libc::pollfd| p.fd == fd && p.events & libc::POLLIN != 0;
    let held = HELD.load(Ordering::Relaxed) != 0 && !fds.is_null() && {
        // SAFETY: the caller's `nfds` entries.
        unsafe { std::slice::from_raw_parts(fds, nfds as usize) }
            .iter()
            .any(wanted)
    };
    if !held {
        return real(fds, nfds, timeout);
    }
    let n = real(fds, nfds, 0);
    if n < 0 {
        return n;
    }
    // SAFETY: the caller's `nfds` entries, filled in by the kernel.
    let entries = unsafe { std::slice::from_raw_parts_mut(fds, nfds as usize) };
    let mut ready = 0;
    for p in entries.iter_mut() {
        if wanted(p) {
            p.revents |= libc::POLLIN;
        }
        if p.revents != 0 {
            ready += 1;
        }
    }
    ready
}

unsafe extern "C" {
    // libssl (not bound by openssl-sys).
    fn SSL_set_read_ahead(ssl: *mut openssl_sys::SSL, yes: libc::c_int);
    fn SSL_has_pending(ssl: *const openssl_sys::SSL) -> libc::c_int;
}

/// Before a TLS handshake step on `ssl`: let libssl read ahead.
///
/// # Safety
/// `ssl` is a live SSL object.
pub unsafe fn tls(ssl: *mut openssl_sys::SSL) {
    if ON.load(Ordering::Relaxed) {
        // SAFETY: the caller's live SSL object.
        unsafe { SSL_set_read_ahead(ssl, 1) };
    }
}

/// What `SSL_pending` answers: libssl's count (`pending`), or 1 when it is 0 but records
/// read ahead wait to be opened.
///
/// # Safety
/// `ssl` is a live SSL object.
pub unsafe fn ssl_pending(ssl: *const openssl_sys::SSL, pending: libc::c_int) -> libc::c_int {
    // SAFETY: the caller's live SSL object.
    if pending == 0 && ON.load(Ordering::Relaxed) && unsafe { SSL_has_pending(ssl) } == 1 {
        1
    } else {
        pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The module has one connection: tests take turns.
    static TURN: Mutex<()> = Mutex::new(());

    /// A socket pair whose one end is read ahead; the other end is returned for writing.
    fn armed_pair() -> (libc::c_int, libc::c_int) {
        let mut fds = [0; 2];
        // SAFETY: the system call itself (not the seam, which another test watches) into
        // a two-element array.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_socketpair,
                libc::AF_UNIX,
                libc::SOCK_STREAM,
                0,
                fds.as_mut_ptr(),
            )
        };
        assert_eq!(rc, 0);
        enable();
        arm(fds[0]);
        (fds[0], fds[1])
    }

    fn read(fd: libc::c_int, len: usize) -> Option<Vec<u8>> {
        let mut v = vec![0u8; len];
        // SAFETY: a buffer of `len` bytes.
        let n = unsafe { recv(fd, v.as_mut_ptr().cast(), len, 0) }?;
        v.truncate(n.max(0) as usize);
        Some(v)
    }

    #[test]
    fn serves_small_reads_in_order_and_polls_readable_while_bytes_are_held() {
        let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        let (r, w) = armed_pair();
        // SAFETY: writes six bytes from a static buffer.
        unsafe { libc::write(w, b"@\x02\x00\x01@\x02".as_ptr().cast(), 6) };
        assert_eq!(read(r, 1).unwrap(), b"@");
        let mut p = [
            libc::pollfd {
                fd: 99,
                events: libc::POLLIN,
                revents: 7,
            },
            libc::pollfd {
                fd: r,
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // The kernel is asked without waiting, and the held bytes make the socket readable.
        let mut asked = None;
        let kernel = |f: *mut libc::pollfd, _: libc::nfds_t, t: libc::c_int| {
            asked = Some(t);
            // SAFETY: the test's two entries: the kernel has news for the first only.
            unsafe {
                (*f).revents = libc::POLLHUP;
                (*f.add(1)).revents = 0;
            }
            1
        };
        // SAFETY: two pollfd entries.
        assert_eq!(unsafe { poll(p.as_mut_ptr(), 2, 1000, kernel) }, 2);
        assert_eq!(asked, Some(0));
        assert_eq!((p[0].revents, p[1].revents), (libc::POLLHUP, libc::POLLIN));
        assert_eq!(read(r, 1).unwrap(), b"\x02");
        assert_eq!(read(r, 2).unwrap(), b"\x00\x01");
        assert_eq!(read(r, 4).unwrap(), b"@\x02");
        // Nothing held: poll is the kernel's (with the caller's timeout), and a read says
        // what the kernel says.
        // SAFETY: as above.
        assert_eq!(unsafe { poll(p.as_mut_ptr(), 2, 1000, |_, _, t| t) }, 1000);
        // SAFETY: closing our own descriptors.
        unsafe { libc::close(w) };
        assert_eq!(read(r, 1).unwrap(), b"");
        // SAFETY: as above.
        unsafe { libc::close(r) };
    }

    #[test]
    fn leaves_other_sockets_flags_and_large_reads_to_the_kernel() {
        let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        let (r, w) = armed_pair();
        let mut byte = 0u8;
        let buf = (&mut byte as *mut u8).cast();
        // SAFETY: one writable byte.
        unsafe {
            assert_eq!(recv(w, buf, 1, 0), None);
            assert_eq!(recv(r, buf, 1, libc::MSG_PEEK), None);
            assert_eq!(recv(r, std::ptr::null_mut(), 0, 0), None);
        }
        assert_eq!(read(r, CAP), None);
        // A new connection drops what an earlier one left.
        // SAFETY: writes two bytes from a static buffer.
        unsafe { libc::write(w, b"ab".as_ptr().cast(), 2) };
        assert_eq!(read(r, 1).unwrap(), b"a");
        arm(-1);
        assert_eq!(HELD.load(Ordering::SeqCst), 0);
        // SAFETY: closing our own descriptors.
        unsafe {
            libc::close(w);
            libc::close(r);
        }
    }
}
