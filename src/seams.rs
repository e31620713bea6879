//! The one seam into paho.mqtt.c: the libc and libssl functions this program defines in
//! place of the library ones.
//!
//! paho.mqtt.c owns the socket and the TLS connection, and its Rust wrapper exposes neither.
//! But paho is linked statically into this program, so each call it makes to `connect`,
//! `SSL_connect` … resolves to a function of that name defined here, if there is one. Each
//! override makes the real call (the system call, or libssl's function found with
//! `dlsym(RTLD_NEXT)`) and, before or after it, calls into the module that owns the
//! behaviour. Nothing else in mqtts defines such a function: a new socket or TLS behaviour
//! is one call added here.
//!
//! | override | paho calls it to | before / after the real call | for |
//! |---|---|---|---|
//! | [`getaddrinfo`] | resolve the broker's host name | [`crate::connection::socks::proxy_name_for`]: with `--proxy`, the broker's exact name is looked up as the proxy's (all other lookups, std's too, unchanged); `socks::looked_up` after | `--proxy` (the proxy resolves the broker's name) |
//! | [`connect`] | connect its socket to the broker | [`crate::tap::watch`]: this is paho's socket (and [`crate::connection::read_ahead::arm`], [`crate::connection::write_batch::connected`]); `bind::before_connect`: bind to `-A`; [`crate::connection::socks::connect`] in place of the real call for a connect to the proxy with the broker's port: connect to the proxy's port and run SOCKS5 (bounded by the connect timeout), return EINPROGRESS (connected) | `-d` packet facts; `-A`; `--proxy` |
//! | [`recv`] | read MQTT bytes (TCP); read its wake-up socket | [`crate::connection::wakeup::recv`] *instead of* the real call when nothing was written to the wake-up pair; [`crate::connection::read_ahead::recv`] *instead of* it on paho's connection (served from bytes read ahead); after: [`crate::tap::feed`] | one system call for many packets; `-d`: v5 ack reason codes, DUP flag |
//! | [`poll`] | wait for its sockets | [`crate::connection::read_ahead::poll`]: while bytes are read ahead, the real call without waiting, and the connection readable | as `recv` |
//! | [`send`] | wake its receive thread (a byte to its socket pair) | [`crate::connection::wakeup::sent`] before | as `recv` |
//! | [`socketpair`] | create that pair | [`crate::connection::wakeup::created`] after | as `recv` |
//! | [`SSL_read`] | read MQTT bytes (TLS) | [`crate::tap::feed`] | `-d` (as `recv`) |
//! | [`SSL_pending`] | ask whether to read again before polling | [`crate::connection::read_ahead::ssl_pending`] after: records read ahead count too | one system call for many records |
//! | [`writev`] | write MQTT packets (TCP) | before: [`crate::connection::write_batch::before_write`]; after: [`crate::connection::quickack::written`], [`crate::connection::dead_write::writev`] | packets written in a row leave together; no 40 ms delayed-ACK wait; no double free when the connection dies mid-write |
//! | [`SSL_write`] | write MQTT packets (TLS) | as `writev`; [`crate::connection::dead_write::ssl_write_failed`] | as `writev` |
//! | [`pthread_setname_np`] | name its threads | [`crate::connection::write_batch::named`] before | finding the send thread |
//! | [`pthread_cond_timedwait`] | let its send thread wait for work | [`crate::connection::write_batch::before_wait`] before | what the send thread wrote leaves before it waits |
//! | [`SSL_get_error`] | classify a failed TLS call | [`crate::connection::dead_write::ssl_get_error`] | a write to a dead TLS connection is "want write" (as `writev`) |
//! | [`SSL_connect`] | run the TLS handshake | before: [`crate::tls::psk::before_handshake`] and [`crate::tls::handshake::before`] (SNI and the name to check, the key-log callback), [`crate::connection::read_ahead::tls`] (libssl reads ahead); after: [`crate::tls::handshake::after`] (fail it when the broker's key is not pinned), [`crate::tls::peer::look`] on success | `--psk` (paho's Rust API has no PSK hook); `--tls-server-name`; fewer reads; `--tls-keylog`; `--pinnedpubkey`; broker-certificate expiry warning |
//! | [`SSL_CTX_use_PrivateKey_file`] | load the client key (always as a PEM file, from `--key` or else the certificate file) | [`crate::tls::engine::key`]: when `--keyform engine` loaded a key at plan time, `SSL_CTX_use_PrivateKey` with it *instead of* the real call (the file holds no key) | keys held by an OpenSSL engine (PKCS#11 tokens) |
//! | [`SSL_CTX_set_msg_callback`] | install a debug callback | nothing is installed | ~10% of the CPU a received message costs |
//!
//! What an override may do: the real call with the caller's arguments unchanged (unless the
//! table says otherwise), quick work before or after it, and no panic (a panic here would
//! unwind into C and abort). Each runs on paho's threads and on every call, so the common
//! path is one relaxed atomic load.

use std::ffi::{CStr, c_void};
use std::sync::OnceLock;

/// The address of `name` in the libraries loaded after this program, i.e. the library
/// function that a definition of the same name here hides (libssl's `SSL_read` behind
/// ours), looked up once into `cache`; 0 when there is none.
fn next_symbol(cache: &'static OnceLock<usize>, name: &CStr) -> usize {
    *cache.get_or_init(|| {
        // SAFETY: a lookup of a symbol by a NUL-terminated name.
        unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr()) as usize }
    })
}

/// The library's own `name` (libssl's, libc's), of type `$ty`, found once (None when
/// there is no such symbol).
macro_rules! real {
    ($name:literal, $ty:ty) => {{
        static REAL: OnceLock<usize> = OnceLock::new();
        let p = next_symbol(&REAL, $name);
        // SAFETY: when found, the symbol is the library's function of that name, of type `$ty`.
        (p != 0).then(|| unsafe { std::mem::transmute::<usize, $ty>(p) })
    }};
}

unsafe extern "C" {
    /// libssl's descriptor of an SSL object (not bound by openssl-sys).
    fn SSL_get_fd(ssl: *const openssl_sys::SSL) -> libc::c_int;
}

/// The descriptor of a TLS connection (-1 when it has none).
fn ssl_fd(ssl: *mut openssl_sys::SSL) -> libc::c_int {
    // SAFETY: callers pass a live SSL object (the one libssl was just called with).
    unsafe { SSL_get_fd(ssl) }
}

/// `getaddrinfo(3)`: libc's, for the proxy's name in place of the broker's (`--proxy`).
///
/// # Safety
/// The contract of `getaddrinfo(3)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn getaddrinfo(
    node: *const libc::c_char,
    service: *const libc::c_char,
    hints: *const libc::addrinfo,
    res: *mut *mut libc::addrinfo,
) -> libc::c_int {
    type F = unsafe extern "C" fn(
        *const libc::c_char,
        *const libc::c_char,
        *const libc::addrinfo,
        *mut *mut libc::addrinfo,
    ) -> libc::c_int;
    let Some(real) = real!(c"getaddrinfo", F) else {
        return libc::EAI_SYSTEM;
    };
    // SAFETY: the caller's node, a NUL-terminated string or null.
    match unsafe { crate::connection::socks::proxy_name_for(node) } {
        // SAFETY: the caller's arguments, passed on unchanged.
        None => unsafe { real(node, service, hints, res) },
        Some(proxy) => {
            // SAFETY: the caller's arguments, with another NUL-terminated node.
            let rc = unsafe { real(proxy.as_ptr(), service, hints, res) };
            // SAFETY: on success `*res` is the list libc just returned.
            unsafe {
                let list = if rc == 0 { *res } else { std::ptr::null_mut() };
                crate::connection::socks::looked_up(rc, list);
            }
            rc
        }
    }
}

/// `connect(2)`: remember paho's socket, bind it to `-A`, then the system call (or, for
/// the broker behind `--proxy`, the connect through the proxy).
///
/// # Safety
/// The contract of `connect(2)`: `addr` points to `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn connect(
    fd: libc::c_int,
    addr: *const libc::sockaddr,
    len: libc::socklen_t,
) -> libc::c_int {
    crate::tap::watch(fd);
    crate::connection::read_ahead::arm(fd);
    crate::connection::write_batch::connected();
    // SAFETY: the caller's valid address, passed on.
    if !unsafe { crate::connection::bind::before_connect(fd, addr) } {
        return -1;
    }
    // SAFETY: as above.
    if let Some(rc) = unsafe { crate::connection::socks::connect(fd, addr, len) } {
        return rc;
    }
    // SAFETY: the real system call with the caller's arguments.
    unsafe { libc::syscall(libc::SYS_connect, fd, addr, len) as libc::c_int }
}

/// `recv(2)`: answered without a system call where paho's wake-up pair holds nothing or
/// its connection was read ahead, else the system call; then the bytes to the packet tap.
///
/// # Safety
/// The contract of `recv(2)`: `buf` points to `len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn recv(
    fd: libc::c_int,
    buf: *mut c_void,
    len: libc::size_t,
    flags: libc::c_int,
) -> libc::ssize_t {
    if let Some(n) = crate::connection::wakeup::recv(fd) {
        return n;
    }
    // SAFETY: the caller's buffer of `len` bytes.
    let n = match unsafe { crate::connection::read_ahead::recv(fd, buf, len, flags) } {
        Some(n) => n,
        None => {
            // SAFETY: the real system call with the caller's arguments (recv = recvfrom
            // without an address).
            let n = unsafe {
                libc::syscall(
                    libc::SYS_recvfrom,
                    fd,
                    buf,
                    len,
                    flags,
                    std::ptr::null_mut::<libc::sockaddr>(),
                    std::ptr::null_mut::<libc::socklen_t>(),
                )
            };
            n as libc::ssize_t
        }
    };
    crate::connection::wakeup::read(fd, n);
    if n > 0 && flags & libc::MSG_PEEK == 0 && crate::tap::enabled() {
        // SAFETY: the kernel wrote `n` bytes to `buf`.
        crate::tap::feed(fd, unsafe {
            std::slice::from_raw_parts(buf.cast::<u8>(), n as usize)
        });
    }
    n
}

/// `SSL_read`: libssl's, then the bytes to the packet tap.
///
/// # Safety
/// The contract of `SSL_read`: a valid `ssl`, `buf` pointing to `num` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn SSL_read(
    ssl: *mut openssl_sys::SSL,
    buf: *mut c_void,
    num: libc::c_int,
) -> libc::c_int {
    type F = unsafe extern "C" fn(*mut openssl_sys::SSL, *mut c_void, libc::c_int) -> libc::c_int;
    let Some(real) = real!(c"SSL_read", F) else {
        return -1;
    };
    // SAFETY: the caller's arguments, passed on unchanged.
    let n = unsafe { real(ssl, buf, num) };
    if n > 0 && crate::tap::enabled() {
        // SAFETY: libssl wrote `n` bytes to `buf`.
        crate::tap::feed(ssl_fd(ssl), unsafe {
            std::slice::from_raw_parts(buf.cast::<u8>(), n as usize)
        });
    }
    n
}

/// `writev(2)`: the batch started, the system call, then the quick-ACK check.
///
/// # Safety
/// The contract of `writev(2)`: `iov` points to `cnt` valid iovecs.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn writev(
    fd: libc::c_int,
    iov: *const libc::iovec,
    cnt: libc::c_int,
) -> libc::ssize_t {
    crate::connection::write_batch::before_write(fd, crate::tap::watched());
    // SAFETY: the real system call with the caller's arguments.
    let n = unsafe { libc::syscall(libc::SYS_writev, fd, iov, cnt) } as libc::ssize_t;
    crate::connection::quickack::written(fd, n);
    crate::connection::dead_write::writev(n)
}

/// `SSL_write`: the batch started, libssl's, then the quick-ACK check.
///
/// # Safety
/// The contract of `SSL_write`: a valid `ssl`, `buf` pointing to `num` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn SSL_write(
    ssl: *mut openssl_sys::SSL,
    buf: *const c_void,
    num: libc::c_int,
) -> libc::c_int {
    type F = unsafe extern "C" fn(*mut openssl_sys::SSL, *const c_void, libc::c_int) -> libc::c_int;
    let Some(real) = real!(c"SSL_write", F) else {
        return -1;
    };
    if crate::connection::write_batch::on_sender() {
        crate::connection::write_batch::before_write(ssl_fd(ssl), crate::tap::watched());
    }
    // SAFETY: the caller's arguments, passed on unchanged.
    let n = unsafe { real(ssl, buf, num) };
    if crate::connection::quickack::armed() {
        crate::connection::quickack::written(ssl_fd(ssl), n as isize);
    }
    crate::connection::dead_write::ssl_write_failed(n, || {
        // SAFETY: libssl's own classification of the call just made on `ssl`.
        real!(c"SSL_get_error", G).map_or(0, |g| unsafe { g(ssl, n) })
    });
    n
}

/// libssl's `SSL_get_error`.
type G = unsafe extern "C" fn(*const openssl_sys::SSL, libc::c_int) -> libc::c_int;

/// `SSL_get_error`: libssl's, unless the `SSL_write` just before on this thread failed on
/// a dead connection (see [`crate::connection::dead_write`]).
///
/// # Safety
/// The contract of `SSL_get_error`: a valid `ssl`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn SSL_get_error(
    ssl: *const openssl_sys::SSL,
    ret: libc::c_int,
) -> libc::c_int {
    crate::connection::dead_write::ssl_get_error(|| {
        // SAFETY: the caller's arguments, passed on unchanged.
        real!(c"SSL_get_error", G).map_or(openssl_sys::SSL_ERROR_SSL, |g| unsafe { g(ssl, ret) })
    })
}

/// `SSL_connect`: the PSK callback (with `--psk`) and the server name set, libssl's
/// handshake, the pins checked, then a look at the broker's certificate on success.
///
/// # Safety
/// The contract of `SSL_connect`: a valid `ssl`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn SSL_connect(ssl: *mut openssl_sys::SSL) -> libc::c_int {
    type F = unsafe extern "C" fn(*mut openssl_sys::SSL) -> libc::c_int;
    let Some(real) = real!(c"SSL_connect", F) else {
        return -1;
    };
    crate::tls::psk::before_handshake(ssl);
    crate::tls::handshake::before(ssl);
    // SAFETY: the caller's valid `ssl`.
    unsafe { crate::connection::read_ahead::tls(ssl) };
    // SAFETY: the caller's argument, passed on unchanged.
    let rc = crate::tls::handshake::after(ssl, unsafe { real(ssl) });
    if rc == 1 {
        crate::tls::peer::look(ssl);
    }
    rc
}

/// `SSL_CTX_use_PrivateKey_file`: the engine's key when one was loaded, else libssl's.
///
/// # Safety
/// The contract of `SSL_CTX_use_PrivateKey_file`: a valid `ctx`, a NUL-terminated `file`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn SSL_CTX_use_PrivateKey_file(
    ctx: *mut openssl_sys::SSL_CTX,
    file: *const libc::c_char,
    kind: libc::c_int,
) -> libc::c_int {
    if let Some(key) = crate::tls::engine::key() {
        // SAFETY: a valid context and a live key (kept for the life of the process);
        // the context takes its own reference.
        return unsafe { openssl_sys::SSL_CTX_use_PrivateKey(ctx, key) };
    }
    type F = unsafe extern "C" fn(
        *mut openssl_sys::SSL_CTX,
        *const libc::c_char,
        libc::c_int,
    ) -> libc::c_int;
    let Some(real) = real!(c"SSL_CTX_use_PrivateKey_file", F) else {
        return 0;
    };
    // SAFETY: the caller's arguments, passed on unchanged.
    unsafe { real(ctx, file, kind) }
}

/// `SSL_CTX_set_msg_callback(ctx, cb)`: installs nothing.
///
/// paho.mqtt.c installs an OpenSSL message callback on every TLS context it creates
/// (`SSLSocket_setSocketForSSL`). OpenSSL calls it twice per TLS record received or sent,
/// and it formats a line for paho's trace at a level below anything mqtts enables, so the
/// line is always thrown away: about a tenth of the instructions a received message costs.
/// Nothing else in the program sets a message callback.
///
/// # Safety
/// None needed: the arguments are not used.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn SSL_CTX_set_msg_callback(_ctx: *mut c_void, _cb: *const c_void) {}

/// `poll(2)`: libc's, without waiting while paho's connection has bytes read ahead (it is
/// then readable).
///
/// # Safety
/// The contract of `poll(2)`: `fds` points to `nfds` pollfd entries.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn poll(
    fds: *mut libc::pollfd,
    nfds: libc::nfds_t,
    timeout: libc::c_int,
) -> libc::c_int {
    type F = unsafe extern "C" fn(*mut libc::pollfd, libc::nfds_t, libc::c_int) -> libc::c_int;
    let Some(real) = real!(c"poll", F) else {
        return -1;
    };
    // SAFETY: libc's poll with the caller's entries.
    unsafe { crate::connection::read_ahead::poll(fds, nfds, timeout, |f, n, t| real(f, n, t)) }
}

/// `send(2)`: counted when it wakes paho's receive thread, then the system call.
///
/// # Safety
/// The contract of `send(2)`: `buf` points to `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn send(
    fd: libc::c_int,
    buf: *const c_void,
    len: libc::size_t,
    flags: libc::c_int,
) -> libc::ssize_t {
    crate::connection::wakeup::sent(fd, len);
    // SAFETY: the real system call with the caller's arguments (send = sendto without an
    // address).
    unsafe {
        libc::syscall(
            libc::SYS_sendto,
            fd,
            buf,
            len,
            flags,
            std::ptr::null::<libc::sockaddr>(),
            0 as libc::socklen_t,
        ) as libc::ssize_t
    }
}

/// `socketpair(2)`: the system call, then paho's wake-up pair recognised.
///
/// # Safety
/// The contract of `socketpair(2)`: `sv` points to two writable ints.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn socketpair(
    domain: libc::c_int,
    kind: libc::c_int,
    protocol: libc::c_int,
    sv: *mut libc::c_int,
) -> libc::c_int {
    // SAFETY: the real system call with the caller's arguments.
    let rc =
        unsafe { libc::syscall(libc::SYS_socketpair, domain, kind, protocol, sv) } as libc::c_int;
    if rc == 0 {
        // SAFETY: the kernel filled the two ints.
        crate::connection::wakeup::created(kind, unsafe { [*sv, *sv.add(1)] });
    }
    rc
}

/// `SSL_pending`: libssl's count, or 1 when records read ahead wait to be opened.
///
/// # Safety
/// The contract of `SSL_pending`: a valid `ssl`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn SSL_pending(ssl: *const openssl_sys::SSL) -> libc::c_int {
    type F = unsafe extern "C" fn(*const openssl_sys::SSL) -> libc::c_int;
    let Some(real) = real!(c"SSL_pending", F) else {
        return 0;
    };
    // SAFETY: the caller's valid `ssl`, passed on unchanged.
    unsafe { crate::connection::read_ahead::ssl_pending(ssl, real(ssl)) }
}

/// `pthread_setname_np`: paho's send thread recognised by its name, then libc's.
///
/// # Safety
/// The contract of `pthread_setname_np`: a live thread, a NUL-terminated name.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pthread_setname_np(
    thread: libc::pthread_t,
    name: *const libc::c_char,
) -> libc::c_int {
    // SAFETY: pthread_self has no preconditions.
    if !name.is_null() && thread == unsafe { libc::pthread_self() } {
        // SAFETY: the caller's NUL-terminated name.
        crate::connection::write_batch::named(unsafe { CStr::from_ptr(name) });
    }
    type F = unsafe extern "C" fn(libc::pthread_t, *const libc::c_char) -> libc::c_int;
    let Some(real) = real!(c"pthread_setname_np", F) else {
        return libc::ENOSYS;
    };
    // SAFETY: the caller's arguments, passed on unchanged.
    unsafe { real(thread, name) }
}

/// `pthread_cond_timedwait`: what paho's send thread wrote leaves, then libc's (`dlsym`
/// finds the symbol's default version, the one a call from paho binds to).
///
/// # Safety
/// The contract of `pthread_cond_timedwait`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pthread_cond_timedwait(
    cond: *mut libc::pthread_cond_t,
    mutex: *mut libc::pthread_mutex_t,
    abstime: *const libc::timespec,
) -> libc::c_int {
    crate::connection::write_batch::before_wait();
    type F = unsafe extern "C" fn(
        *mut libc::pthread_cond_t,
        *mut libc::pthread_mutex_t,
        *const libc::timespec,
    ) -> libc::c_int;
    let Some(real) = real!(c"pthread_cond_timedwait", F) else {
        return libc::EINVAL;
    };
    // SAFETY: the caller's arguments, passed on unchanged.
    unsafe { real(cond, mutex, abstime) }
}
