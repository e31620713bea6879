//! paho's wake-up socket pair, read only when something was written to it.
//!
//! paho.mqtt.c's receive thread reads a byte from the read end of a socket pair before and
//! after every `poll(2)` (two `recv` calls per packet received, nearly always to find
//! nothing): another thread writes a byte to the other end to cut a poll short. Both go
//! through [`crate::seams`]: [`sent`] counts the bytes written to the pair, and [`recv`]
//! answers "nothing there" (-1, `EAGAIN`, as paho's non-blocking socket would) without a
//! system call while every byte written has been read. A byte being written while it is
//! asked for is found by the next read (the poll in between returns at once for it).
//!
//! The pair is the one created while paho's client is created ([`expect`]: paho makes it
//! then, once per process).

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};

/// Set while paho's client is being created.
static EXPECTED: AtomicBool = AtomicBool::new(false);
/// The read and write ends (-1: not known).
static READ_END: AtomicI32 = AtomicI32::new(-1);
static WRITE_END: AtomicI32 = AtomicI32::new(-1);
/// Bytes written to the pair and not read yet (counted before they are written).
static UNREAD: AtomicU64 = AtomicU64::new(0);

/// paho's client is about to be created (true) or has been (false).
pub fn expect(on: bool) {
    EXPECTED.store(on, Ordering::SeqCst);
}

/// A socket pair was created (by the `socketpair` seam): while paho's client is being
/// created, the first stream pair is its wake-up pair.
pub fn created(kind: libc::c_int, fds: [libc::c_int; 2]) {
    // (The low bits are the type; SOCK_NONBLOCK or SOCK_CLOEXEC may be or-ed in.)
    if kind & 0xf == libc::SOCK_STREAM && EXPECTED.swap(false, Ordering::SeqCst) {
        UNREAD.store(0, Ordering::SeqCst);
        WRITE_END.store(fds[1], Ordering::SeqCst);
        READ_END.store(fds[0], Ordering::SeqCst);
    }
}

/// Before `send(2)` of `len` bytes on `fd`.
pub fn sent(fd: libc::c_int, len: libc::size_t) {
    if fd == WRITE_END.load(Ordering::Relaxed) {
        UNREAD.fetch_add(len as u64, Ordering::SeqCst);
    }
}

/// `recv(2)` on the read end while nothing is unread: -1 with errno `EAGAIN`. None: make
/// the real call (and tell [`read`] what it returned).
pub fn recv(fd: libc::c_int) -> Option<libc::ssize_t> {
    if fd != READ_END.load(Ordering::Relaxed) || UNREAD.load(Ordering::SeqCst) != 0 {
        return None;
    }
    // SAFETY: sets this thread's errno.
    unsafe { *libc::__errno_location() = libc::EAGAIN };
    Some(-1)
}

/// A real `recv(2)` on `fd` returned `n`.
pub fn read(fd: libc::c_int, n: libc::ssize_t) {
    if n > 0 && fd == READ_END.load(Ordering::Relaxed) {
        let _ = UNREAD.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |u| {
            Some(u.saturating_sub(n as u64))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recv_byte(fd: libc::c_int) -> libc::ssize_t {
        let mut b = 0u8;
        // SAFETY: one writable byte; `crate::seams::recv` is what paho calls.
        unsafe { crate::seams::recv(fd, (&mut b as *mut u8).cast(), 1, 0) }
    }

    #[test]
    fn the_read_end_is_read_only_after_a_byte_was_sent() {
        let mut fds = [0; 2];
        expect(true);
        // SAFETY: the socketpair seam, as paho calls it, into a two-element array.
        let rc = unsafe {
            crate::seams::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, fds.as_mut_ptr())
        };
        assert_eq!(rc, 0);
        assert!(!EXPECTED.load(Ordering::SeqCst));
        let [r, w] = fds;
        // SAFETY: non-blocking read end, as paho's.
        unsafe { libc::fcntl(r, libc::F_SETFL, libc::O_NONBLOCK) };
        // Nothing sent: EAGAIN.
        assert_eq!(recv_byte(r), -1);
        assert_eq!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::EAGAIN)
        );
        // A byte sent through the seam is counted and read, then EAGAIN again.
        // SAFETY: the send seam with a static one-byte buffer.
        assert_eq!(
            unsafe { crate::seams::send(w, b"w".as_ptr().cast(), 1, 0) },
            1
        );
        assert_eq!(recv_byte(r), 1);
        assert_eq!(UNREAD.load(Ordering::SeqCst), 0);
        assert_eq!(recv_byte(r), -1);
        // With the other end closed the kernel would say end of stream (0): the answer is
        // still EAGAIN, so no system call was made.
        // SAFETY: closing our own descriptor.
        unsafe { libc::close(w) };
        assert_eq!(recv_byte(r), -1);
        // SAFETY: as above.
        unsafe { libc::close(r) };
        READ_END.store(-1, Ordering::SeqCst);
        WRITE_END.store(-1, Ordering::SeqCst);
    }
}
