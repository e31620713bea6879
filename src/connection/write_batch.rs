//! Send paho's packets in batches: what its send thread writes in one go leaves together.
//!
//! paho.mqtt.c's send thread writes each packet with its own `writev` (TCP) or `SSL_write`
//! (TLS), and the kernel sends each at once: one segment, one wake-up of the broker, one
//! acknowledgement per packet. During a `-l -q 1` stream the thread is woken when
//! acknowledgements free room in the `-M` window and then writes several publishes in a
//! row; sending those together cut the CPU that the client and the broker spend per
//! message by about 30% each (measured in bench/README.md).
//!
//! [`crate::seams`] passes the send thread's writes to paho's connection through
//! [`before_write`], which sets `TCP_CORK` on the socket (the kernel then sends only full
//! segments), and its waits for more work through [`before_wait`], which clears it
//! (the kernel sends what is held at once). So nothing written waits longer than the
//! thread takes to run out of work. The send thread is the one paho names
//! "MQTTAsync_send" ([`named`]); writes from paho's other threads (the connect, a partly
//! written packet continued, acknowledgements) are left alone, and sent at once unless
//! the send thread is writing at that moment (they then leave with its batch).
//!
//! Should the send thread ever keep writing without waiting, the kernel sends a held
//! partial segment after 200 ms on its own (Linux's limit for `TCP_CORK`). A socket that
//! refuses the option (a Unix socket) is written as before.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

thread_local! {
    /// This thread is paho's send thread.
    static SENDER: Cell<bool> = const { Cell::new(false) };
}

/// The socket corked (-1: none).
static CORKED: AtomicI32 = AtomicI32::new(-1);
/// The option was refused on the current connection: do not try again.
static REFUSED: AtomicBool = AtomicBool::new(false);

/// A thread named itself `name` (by the `pthread_setname_np` seam, called by paho on the
/// thread itself).
pub fn named(name: &std::ffi::CStr) {
    if name == c"MQTTAsync_send" {
        SENDER.with(|s| s.set(true));
    }
}

/// Is the calling thread paho's send thread?
pub fn on_sender() -> bool {
    SENDER.with(Cell::get)
}

/// A new connection: it may take the option.
pub fn connected() {
    REFUSED.store(false, Ordering::Relaxed);
}

/// Before the send thread writes to `fd` (paho's connection: `watched`).
pub fn before_write(fd: libc::c_int, watched: libc::c_int) {
    if fd != watched
        || !on_sender()
        || CORKED.load(Ordering::Relaxed) == fd
        || REFUSED.load(Ordering::Relaxed)
    {
        return;
    }
    if set(fd, true) {
        CORKED.store(fd, Ordering::Relaxed);
    } else {
        REFUSED.store(true, Ordering::Relaxed);
    }
}

/// Before the send thread waits for work: send what it wrote.
pub fn before_wait() {
    if !on_sender() {
        return;
    }
    let fd = CORKED.swap(-1, Ordering::Relaxed);
    if fd >= 0 {
        set(fd, false);
    }
}

/// Set `TCP_CORK` on `fd` to `on`; false when refused.
fn set(fd: libc::c_int, on: bool) -> bool {
    super::set_tcp_option(fd, super::TcpOption::Cork, on)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corked(fd: libc::c_int) -> bool {
        let mut v: libc::c_int = 0;
        let mut l = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt into a c_int of the size given.
        unsafe {
            libc::getsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_CORK,
                (&mut v as *mut libc::c_int).cast(),
                &mut l,
            )
        };
        v != 0
    }

    #[test]
    fn only_the_send_thread_corks_and_its_wait_uncorks() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let s = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&s);
        // Another thread's write, or a write to another socket: left alone.
        before_write(fd, fd);
        assert!(!corked(fd));
        std::thread::spawn(move || {
            // SAFETY: names this thread as paho names its send thread, through the seam.
            unsafe {
                crate::seams::pthread_setname_np(libc::pthread_self(), c"MQTTAsync_send".as_ptr())
            };
            assert!(on_sender());
            before_write(fd, fd + 1);
            assert!(!corked(fd));
            before_write(fd, fd);
            assert!(corked(fd));
            before_wait();
            assert!(!corked(fd));
        })
        .join()
        .unwrap();
    }
}
