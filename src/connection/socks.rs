//! `--proxy socks5h://…`: paho's connection to the broker, through a SOCKS5 proxy.
//!
//! paho.mqtt.c has no SOCKS support, and it resolves the broker's host name and connects
//! its socket itself. Two calls from [`crate::seams`] route that connection through the
//! proxy, once [`arm`]ed:
//!
//! - [`proxy_name_for`] (the `getaddrinfo` seam): a lookup of the broker's exact host name
//!   becomes a lookup of the proxy's host name, so paho connects its socket to the proxy's
//!   address (with the broker's port); the broker's name is resolved by the proxy
//!   (`socks5h`). [`looked_up`] records the proxy's addresses, or why they could not be
//!   found. Every other lookup is untouched.
//! - [`connect`] (the `connect` seam): a connect to one of those addresses with the
//!   broker's port (or to the broker's own IP literal and port) is a connect through the
//!   proxy: the socket is connected to the proxy's port instead, the SOCKS5 greeting,
//!   user name/password authentication (RFC 1929) and CONNECT to the broker's host and
//!   port run on it within the connect timeout, its flags are restored, and it is handed
//!   back connected (as "in progress" to paho, whose socket is non-blocking, so that its
//!   receive thread polls it at once; 0 to a blocking caller). TLS then runs inside the
//!   tunnel, with SNI and host-name verification against the broker's name, as without a
//!   proxy; the diagnosis probe's connections take the same route.
//!
//! The broker is addressed as libmosquitto does: an IPv4 or IPv6 literal as an address,
//! anything else as a domain name. A failure is kept for [`take_failure`], which names it
//! (proxy unreachable, credentials refused, the proxy's reply in words) with mosquitto's
//! exit code for it, in place of paho's generic connect failure.

mod failure;
mod wire;

use crate::exit::Failure;
use crate::options::ProxyArgs;
use crate::tls::printable;
use failure::SocksError;
use std::ffi::{CStr, CString};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use wire::{Wire, handshake, tcp_connect};

/// The proxy refused the credentials, wants credentials not given, offers no method we
/// support, or does not allow the connection (mosquitto's MOSQ_ERR_AUTH).
pub const AUTH: i32 = 11;
/// The proxy could not reach the broker: network or host unreachable, connection refused
/// (mosquitto's MOSQ_ERR_NO_CONN).
pub const NO_CONN: i32 = 4;
/// Any other failure of the proxy: general failure, TTL expired, command or address type
/// not supported, not a SOCKS5 answer, closed or silent (mosquitto's MOSQ_ERR_PROXY).
pub const PROXY: i32 = 16;
/// A reply code SOCKS5 does not define (mosquitto's MOSQ_ERR_INVAL).
pub const UNKNOWN_REPLY: i32 = 3;
/// The proxy reset the connection (mosquitto's MOSQ_ERR_CONN_LOST).
pub const RESET: i32 = crate::exit::CONN_LOST;
/// Another socket error talking to the proxy (mosquitto's MOSQ_ERR_ERRNO).
pub const ERRNO: i32 = 14;

/// Where to connect through, for one run.
pub(super) struct Route {
    proxy: ProxyArgs,
    /// The proxy's host name, for the real `getaddrinfo`.
    proxy_c: CString,
    /// The broker's host as given (`-h`), sent to the proxy.
    broker: String,
    /// The broker's host as paho looks it up (without IPv6 brackets).
    broker_lookup: String,
    /// The broker's IP when `-h` is an IP literal (std's lookups of a literal skip
    /// `getaddrinfo`).
    broker_ip: Option<IpAddr>,
    broker_port: u16,
    timeout: Duration,
    /// The proxy's addresses, as looked up in place of the broker's name.
    proxy_addrs: Mutex<Vec<IpAddr>>,
}

static ARMED: AtomicBool = AtomicBool::new(false);
static ROUTE: OnceLock<Route> = OnceLock::new();
static FAILURE: Mutex<Option<Failure>> = Mutex::new(None);

fn route() -> Option<&'static Route> {
    if !ARMED.load(Ordering::Relaxed) {
        return None;
    }
    ROUTE.get()
}

/// Route connections to `broker`:`port` through `proxy` from now on; `timeout` bounds the
/// connect to the proxy and the SOCKS5 exchange together. Once per process (a later call
/// changes nothing).
pub fn arm(proxy: &ProxyArgs, broker: &str, port: u16, timeout: Duration) -> Result<(), Failure> {
    let Ok(proxy_c) = CString::new(proxy.host.as_str()) else {
        return Err(Failure::new(
            crate::exit::GENERAL,
            "Error: the host in --proxy contains a NUL byte.",
        ));
    };
    let lookup = broker.strip_prefix('[').unwrap_or(broker);
    let lookup = lookup.strip_suffix(']').unwrap_or(lookup);
    let set = ROUTE.set(Route {
        proxy: proxy.clone(),
        proxy_c,
        broker: broker.to_string(),
        broker_lookup: lookup.to_string(),
        broker_ip: lookup.parse().ok(),
        broker_port: port,
        timeout,
        proxy_addrs: Mutex::new(Vec::new()),
    });
    if set.is_ok() {
        ARMED.store(true, Ordering::SeqCst);
    }
    Ok(())
}

/// The name to look up in place of `node`: the proxy's, when `node` is the broker's.
///
/// # Safety
/// `node` is null or a NUL-terminated string.
pub unsafe fn proxy_name_for(node: *const libc::c_char) -> Option<&'static CStr> {
    let r = route()?;
    if node.is_null() {
        return None;
    }
    // SAFETY: the caller passes a NUL-terminated string.
    let n = unsafe { CStr::from_ptr(node) };
    (n.to_bytes() == r.broker_lookup.as_bytes()).then_some(r.proxy_c.as_c_str())
}

/// The result of looking up the proxy's name ([`proxy_name_for`]): `rc` and, when 0, the
/// list `res` the real `getaddrinfo` returned.
///
/// # Safety
/// When `rc` is 0, `res` is a valid `addrinfo` list.
pub unsafe fn looked_up(rc: libc::c_int, res: *const libc::addrinfo) {
    let Some(r) = route() else { return };
    if rc != 0 {
        // SAFETY: gai_strerror returns a static string for any code.
        let why = unsafe { CStr::from_ptr(libc::gai_strerror(rc)) }.to_string_lossy();
        record(
            Failure::new(
                crate::exit::GENERAL,
                format!(
                    "Error: DNS failure: cannot resolve the SOCKS5 proxy's host name {} ({why}).",
                    printable(&r.proxy.host)
                ),
            )
            .and("Check the host in --proxy and this machine's DNS settings."),
        );
        return;
    }
    let mut ai = res;
    let mut found = Vec::new();
    while !ai.is_null() {
        // SAFETY: a node of the list getaddrinfo returned.
        let a = unsafe { &*ai };
        // SAFETY: ai_addr points to ai_addrlen bytes of a socket address.
        if let Some(sa) = unsafe { from_raw(a.ai_addr, a.ai_addrlen) } {
            found.push(sa.ip());
        }
        ai = a.ai_next;
    }
    if let Ok(mut addrs) = r.proxy_addrs.lock() {
        for ip in found {
            if !addrs.contains(&ip) {
                addrs.push(ip);
            }
        }
    }
}

/// A socket address from C, for IPv4 and IPv6.
///
/// # Safety
/// `sa` is null or points to `len` readable bytes of a socket address.
unsafe fn from_raw(sa: *const libc::sockaddr, len: libc::socklen_t) -> Option<SocketAddr> {
    if sa.is_null() {
        return None;
    }
    // SAFETY: a valid socket address; each variant is read only when `len` covers it.
    unsafe {
        match libc::c_int::from((*sa).sa_family) {
            libc::AF_INET if len as usize >= std::mem::size_of::<libc::sockaddr_in>() => {
                let s = &*sa.cast::<libc::sockaddr_in>();
                let ip = Ipv4Addr::from(u32::from_be(s.sin_addr.s_addr));
                Some(SocketAddr::new(ip.into(), u16::from_be(s.sin_port)))
            }
            libc::AF_INET6 if len as usize >= std::mem::size_of::<libc::sockaddr_in6>() => {
                let s = &*sa.cast::<libc::sockaddr_in6>();
                let ip = Ipv6Addr::from(s.sin6_addr.s6_addr);
                Some(SocketAddr::new(ip.into(), u16::from_be(s.sin6_port)))
            }
            _ => None,
        }
    }
}

/// The `connect` seam: None when `addr` is not the broker's (go on with the real
/// connect); otherwise the connect through the proxy was made on `fd`: 0 (blocking
/// socket) or -1/EINPROGRESS (non-blocking) when connected, or -1 with errno set and the
/// failure kept for [`take_failure`].
///
/// # Safety
/// `addr` is null or points to `len` readable bytes of a socket address.
pub unsafe fn connect(
    fd: libc::c_int,
    addr: *const libc::sockaddr,
    len: libc::socklen_t,
) -> Option<libc::c_int> {
    let r = route()?;
    // SAFETY: the caller's valid address.
    let dest = unsafe { from_raw(addr, len) }?;
    if dest.port() != r.broker_port {
        return None;
    }
    let proxy_ip = {
        let addrs = r.proxy_addrs.lock().unwrap_or_else(|p| p.into_inner());
        if addrs.contains(&dest.ip()) {
            Some(dest.ip())
        } else if r.broker_ip == Some(dest.ip()) {
            addrs.first().copied()
        } else {
            None
        }
    };
    // Nothing in mqtts connects to the broker's port but the connection to the broker:
    // with a proxy configured, that never goes straight to the network.
    let Some(proxy_ip) = proxy_ip else {
        record(
            Failure::new(
                crate::exit::GENERAL,
                format!(
                    "Error: a connection to {dest} did not go through the SOCKS5 proxy {} port {}: \
                     mqtts refused to make it.",
                    printable(&r.proxy.host),
                    r.proxy.port
                ),
            )
            .and("This is a bug in mqtts; please report it with the command line."),
        );
        // SAFETY: errno is thread-local and writable.
        unsafe { *libc::__errno_location() = libc::ECONNREFUSED };
        return Some(-1);
    };
    let proxy = SocketAddr::new(proxy_ip, r.proxy.port);
    match tunnel(fd, proxy, r) {
        Ok(nonblocking) => {
            // A failure of an earlier attempt (mqtts-sub reconnects) is not the cause of
            // a later one.
            take_failure();
            if !nonblocking {
                return Some(0);
            }
            // A non-blocking socket (paho's) is handed back "in progress", though it is
            // connected: paho then wakes its receive thread to poll it, which it does not
            // for a connect that completed at once (the thread would go on sleeping in its
            // 10 ms poll: measured +10 ms per connection). The poll finds it writable.
            // SAFETY: errno is thread-local and writable.
            unsafe { *libc::__errno_location() = libc::EINPROGRESS };
            Some(-1)
        }
        Err(e) => {
            let errno = e.errno();
            record(e.failure(r, proxy));
            // SAFETY: errno is thread-local and writable.
            unsafe { *libc::__errno_location() = errno };
            Some(-1)
        }
    }
}

fn record(f: Failure) {
    if let Ok(mut g) = FAILURE.lock() {
        *g = Some(f);
    }
}

/// Why the last connection through the proxy failed (None if it did not, or no proxy).
pub fn take_failure() -> Option<Failure> {
    FAILURE.lock().ok()?.take()
}

/// Connect `fd` to the proxy at `proxy` and through it to the broker, within the
/// connect timeout; the socket's flags are as before when this returns. Ok(whether the
/// socket is non-blocking).
fn tunnel(fd: libc::c_int, proxy: SocketAddr, r: &Route) -> Result<bool, SocksError> {
    let deadline = Instant::now() + r.timeout;
    // SAFETY: fcntl on the caller's descriptor.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(SocksError::Connect(io::Error::last_os_error()));
    }
    // SAFETY: as above; the flags are restored below.
    unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) };
    let result = tcp_connect(fd, proxy, deadline).and_then(|()| {
        let mut wire = Wire { fd, deadline };
        handshake(&mut wire, r)
    });
    // SAFETY: as above.
    unsafe { libc::fcntl(fd, libc::F_SETFL, flags) };
    result.map(|()| flags & libc::O_NONBLOCK != 0)
}

#[cfg(test)]
mod tests;
