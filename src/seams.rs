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
//! | [`connect`] | connect its socket to the broker | [`crate::tap::watch`]: this is paho's socket; `bind::before_connect`: bind to `-A`; [`crate::connection::socks::connect`] in place of the real call for a connect to the proxy with the broker's port: connect to the proxy's port and run SOCKS5 (bounded by the connect timeout), return EINPROGRESS (connected) | `-d` packet facts; `-A`; `--proxy` |
//! | [`recv`] | read MQTT bytes (TCP) | [`crate::tap::feed`] | `-d`: v5 ack reason codes, DUP flag |
//! | [`SSL_read`] | read MQTT bytes (TLS) | [`crate::tap::feed`] | as `recv` |
//! | [`writev`] | write MQTT packets (TCP) | [`crate::connection::quickack::written`]; [`crate::connection::dead_write::writev`] | no 40 ms delayed-ACK wait; no double free when the connection dies mid-write |
//! | [`SSL_write`] | write MQTT packets (TLS) | as `writev`; [`crate::connection::dead_write::ssl_write_failed`] | as `writev` |
//! | [`SSL_get_error`] | classify a failed TLS call | [`crate::connection::dead_write::ssl_get_error`] | a write to a dead TLS connection is "want write" (as `writev`) |
//! | [`SSL_connect`] | run the TLS handshake | before: [`crate::tls::psk::before_handshake`] and [`crate::tls::handshake::before`] (SNI and the name to check, the key-log callback); after: [`crate::tls::handshake::after`] (fail it when the broker's key is not pinned), [`crate::tls::peer::look`] on success | `--psk` (paho's Rust API has no PSK hook); `--tls-server-name`; `--tls-keylog`; `--pinnedpubkey`; broker-certificate expiry warning |
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

/// `recv(2)`: the system call, then the bytes to the packet tap.
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
    // SAFETY: the real system call with the caller's arguments (recv = recvfrom without
    // an address).
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
    } as libc::ssize_t;
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

/// `writev(2)`: the system call, then the quick-ACK check.
///
/// # Safety
/// The contract of `writev(2)`: `iov` points to `cnt` valid iovecs.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn writev(
    fd: libc::c_int,
    iov: *const libc::iovec,
    cnt: libc::c_int,
) -> libc::ssize_t {
    // SAFETY: the real system call with the caller's arguments.
    let n = unsafe { libc::syscall(libc::SYS_writev, fd, iov, cnt) } as libc::ssize_t;
    crate::connection::quickack::written(fd, n);
    crate::connection::dead_write::writev(n)
}

/// `SSL_write`: libssl's, then the quick-ACK check.
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
