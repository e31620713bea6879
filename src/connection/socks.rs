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
//!   back connected (0), as a connect that completed at once. TLS then runs inside the
//!   tunnel, with SNI and host-name verification against the broker's name, as without a
//!   proxy; the diagnosis probe's connections take the same route.
//!
//! The broker is addressed as libmosquitto does: an IPv4 or IPv6 literal as an address,
//! anything else as a domain name. A failure is kept for [`take_failure`], which names it
//! (proxy unreachable, credentials refused, the proxy's reply in words) with mosquitto's
//! exit code for it, in place of paho's generic connect failure.

use crate::exit::Failure;
use crate::options::ProxyArgs;
use crate::tls::{os_error, printable};
use std::ffi::{CStr, CString};
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

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
struct Route {
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
/// connect to the proxy and the SOCKS5 exchange together. Once per process.
pub fn arm(proxy: &ProxyArgs, broker: &str, port: u16, timeout: Duration) {
    let Ok(proxy_c) = CString::new(proxy.host.as_str()) else {
        return;
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
/// connect); otherwise the connect through the proxy was made on `fd`: 0, or -1 with
/// errno set and the failure kept for [`take_failure`].
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
        let addrs = r.proxy_addrs.lock().ok()?;
        if addrs.contains(&dest.ip()) {
            dest.ip()
        } else if r.broker_ip == Some(dest.ip()) {
            *addrs.first()?
        } else {
            return None;
        }
    };
    let proxy = SocketAddr::new(proxy_ip, r.proxy.port);
    match tunnel(fd, proxy, r) {
        Ok(()) => Some(0),
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

/// What went wrong on the way to the broker.
#[derive(Debug)]
enum SocksError {
    /// The TCP connect to the proxy failed.
    Connect(io::Error),
    /// The proxy accepted no data within the time left, at `Stage`.
    Timeout(Stage),
    /// The proxy closed the connection at `Stage`.
    Closed(Stage),
    Io(Stage, io::Error),
    /// The first byte of an answer was not the SOCKS5 (or RFC 1929) version.
    NotSocks5(Stage, u8),
    /// The proxy wants user name/password and none was given.
    NeedsCredentials,
    /// The proxy accepts none of the offered methods (0xFF) though credentials were offered.
    NoAcceptableMethod,
    /// The proxy chose a method that was not offered.
    UnexpectedMethod(u8),
    /// RFC 1929 status other than 0.
    AuthRejected(u8),
    /// The CONNECT reply code other than 0.
    Reply(u8),
    /// The CONNECT reply's address type is not one SOCKS5 defines.
    BadAddressType(u8),
    /// The broker's host name is longer than SOCKS5 can carry (255 bytes).
    NameTooLong,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Greeting,
    Auth,
    Connect,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::Greeting => "the SOCKS5 greeting",
            Stage::Auth => "the user name/password authentication",
            Stage::Connect => "the SOCKS5 CONNECT request",
        }
    }
}

/// The words for a SOCKS5 reply code (RFC 1928 §6).
fn reply_words(code: u8) -> String {
    match code {
        1 => "general failure".into(),
        2 => "connection not allowed by the proxy's rules".into(),
        3 => "network unreachable".into(),
        4 => "host unreachable".into(),
        5 => "connection refused".into(),
        6 => "TTL expired".into(),
        7 => "command not supported".into(),
        8 => "address type not supported".into(),
        _ => format!("unknown reply {code:#04x}"),
    }
}

fn method_name(m: u8) -> &'static str {
    match m {
        0 => "no authentication",
        1 => "GSSAPI",
        2 => "user name/password",
        3..=0x7f => "IANA-assigned",
        _ => "private",
    }
}

impl SocksError {
    fn errno(&self) -> libc::c_int {
        match self {
            SocksError::Connect(e) | SocksError::Io(_, e) => {
                e.raw_os_error().unwrap_or(libc::ECONNREFUSED)
            }
            SocksError::Timeout(_) => libc::ETIMEDOUT,
            _ => libc::ECONNREFUSED,
        }
    }

    fn failure(&self, r: &Route, addr: SocketAddr) -> Failure {
        let host = printable(&r.proxy.host);
        let ip = if host == addr.ip().to_string() {
            String::new()
        } else {
            format!(" ({})", addr.ip())
        };
        let proxy = format!("the SOCKS5 proxy {host} port {}{ip}", r.proxy.port);
        let broker = format!("{} port {}", printable(&r.broker), r.broker_port);
        let secs = r.timeout.as_secs().max(1);
        let check = "Check the host and port in --proxy, and that the proxy runs.";
        match self {
            SocksError::Connect(e) => match e.raw_os_error() {
                Some(libc::ECONNREFUSED) => Failure::new(
                    crate::exit::GENERAL,
                    format!("Error: connection refused by {proxy}."),
                )
                .and(format!("Nothing listens there. {check}")),
                Some(libc::ETIMEDOUT) => Failure::new(
                    crate::exit::GENERAL,
                    format!("Error: no answer from {proxy} within {secs} s."),
                )
                .and("The host is down or a firewall drops the connection."),
                Some(libc::ENETUNREACH | libc::EHOSTUNREACH | libc::EADDRNOTAVAIL) => {
                    Failure::new(
                        crate::exit::GENERAL,
                        format!("Error: {proxy} is unreachable: {}.", os_error(e)),
                    )
                    .and(check)
                }
                _ => Failure::new(
                    crate::exit::GENERAL,
                    format!("Error: cannot connect to {proxy}: {}.", os_error(e)),
                )
                .and(check),
            },
            SocksError::Timeout(stage) => Failure::new(
                PROXY,
                format!(
                    "Error: {proxy} accepted the connection but did not answer {} within {secs} s.",
                    stage.name()
                ),
            )
            .and("Check that the port in --proxy is a SOCKS5 proxy's."),
            SocksError::Closed(stage) => Failure::new(
                PROXY,
                format!(
                    "Error: {proxy} closed the connection during {}.",
                    stage.name()
                ),
            )
            .and(match stage {
                Stage::Greeting => "Check that the port in --proxy is a SOCKS5 proxy's.",
                _ => "The proxy gave no reason; its log may say more.",
            }),
            SocksError::Io(stage, e) => Failure::new(
                if e.raw_os_error() == Some(libc::ECONNRESET) {
                    RESET
                } else {
                    ERRNO
                },
                format!(
                    "Error: the connection to {proxy} failed during {}: {}.",
                    stage.name(),
                    os_error(e)
                ),
            ),
            SocksError::NotSocks5(stage, b) => Failure::new(
                PROXY,
                format!(
                    "Error: {proxy} did not answer {} as SOCKS5 does (first byte {b:#04x}).",
                    stage.name()
                ),
            )
            .and("Check that the port in --proxy is a SOCKS5 proxy's (not an HTTP proxy's)."),
            SocksError::NeedsCredentials => Failure::new(
                AUTH,
                format!("Error: {proxy} requires a user name and password."),
            )
            .and("Give them in the proxy URL: --proxy socks5h://USER:PASSWORD@HOST:PORT."),
            SocksError::NoAcceptableMethod => Failure::new(
                AUTH,
                format!(
                    "Error: {proxy} accepts none of the authentication methods offered \
                     (no authentication, user name/password)."
                ),
            ),
            SocksError::UnexpectedMethod(m) => Failure::new(
                AUTH,
                format!(
                    "Error: {proxy} chose authentication method {m:#04x} ({}), which was not offered.",
                    method_name(*m)
                ),
            )
            .and("mqtts offers no authentication and user name/password only."),
            SocksError::AuthRejected(status) => {
                let user = r.proxy.username.as_deref().unwrap_or("");
                Failure::new(
                    AUTH,
                    format!(
                        "Error: {proxy} refused the user name and password of user {} (status {status:#04x}).",
                        printable(user)
                    ),
                )
                .and("Check the user name and password in --proxy.")
            }
            SocksError::Reply(code) => {
                let exit = match code {
                    2 => AUTH,
                    3..=5 => NO_CONN,
                    1 | 6..=8 => PROXY,
                    _ => UNKNOWN_REPLY,
                };
                let f = Failure::new(
                    exit,
                    format!(
                        "Error: {proxy} could not connect to the broker {broker}: {} (SOCKS5 reply {code}).",
                        reply_words(*code)
                    ),
                );
                match code {
                    1 => f.and(
                        "The proxy gives no reason; some proxies answer this to a host name \
                         they cannot resolve (the proxy resolves -h).",
                    ),
                    3 | 4 => f.and("Check the host name (-h): the proxy resolves it and connects to it."),
                    5 => f.and(
                        "Nothing listens on that port as seen from the proxy: check the port (-p) \
                         and that the broker runs.",
                    ),
                    _ => f,
                }
            }
            SocksError::NameTooLong => Failure::new(
                crate::exit::GENERAL,
                "Error: the broker's host name is too long for SOCKS5 (at most 255 bytes).",
            ),
            SocksError::BadAddressType(t) => Failure::new(
                PROXY,
                format!(
                    "Error: {proxy} answered the SOCKS5 CONNECT request with an unknown address type {t:#04x}."
                ),
            ),
        }
    }
}

/// Connect `fd` to the proxy at `proxy` and through it to the broker, within the
/// connect timeout; the socket's flags are as before when this returns.
fn tunnel(fd: libc::c_int, proxy: SocketAddr, r: &Route) -> Result<(), SocksError> {
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
    result
}

fn tcp_connect(fd: libc::c_int, to: SocketAddr, deadline: Instant) -> Result<(), SocksError> {
    let (ss, len) = super::bind::raw(&to);
    // SAFETY: the real system call with a valid address of length `len`.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_connect,
            fd,
            (&ss as *const libc::sockaddr_storage).cast::<libc::sockaddr>(),
            len,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() != Some(libc::EINPROGRESS) {
        return Err(SocksError::Connect(e));
    }
    let wire = Wire { fd, deadline };
    match wire.wait(libc::POLLOUT) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::TimedOut => {
            return Err(SocksError::Connect(io::Error::from_raw_os_error(
                libc::ETIMEDOUT,
            )));
        }
        Err(e) => return Err(SocksError::Connect(e)),
    }
    let mut err: libc::c_int = 0;
    let mut l = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: reads an int option into `err`.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&mut err as *mut libc::c_int).cast(),
            &mut l,
        )
    };
    if rc != 0 {
        return Err(SocksError::Connect(io::Error::last_os_error()));
    }
    if err != 0 {
        return Err(SocksError::Connect(io::Error::from_raw_os_error(err)));
    }
    Ok(())
}

/// A non-blocking socket read and written with a deadline.
struct Wire {
    fd: libc::c_int,
    deadline: Instant,
}

impl Wire {
    fn wait(&self, events: libc::c_short) -> io::Result<()> {
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            let mut p = libc::pollfd {
                fd: self.fd,
                events,
                revents: 0,
            };
            let ms = left.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
            // SAFETY: one valid pollfd.
            match unsafe { libc::poll(&mut p, 1, ms) } {
                0 => return Err(io::ErrorKind::TimedOut.into()),
                n if n > 0 => return Ok(()),
                _ => {
                    let e = io::Error::last_os_error();
                    if e.kind() != io::ErrorKind::Interrupted {
                        return Err(e);
                    }
                }
            }
        }
    }

    /// Retry `f` (a read or write returning -1/errno) until it is not EAGAIN/EINTR.
    fn io(&self, events: libc::c_short, mut f: impl FnMut() -> isize) -> io::Result<usize> {
        loop {
            let n = f();
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::WouldBlock => self.wait(events)?,
                io::ErrorKind::Interrupted => {}
                _ => return Err(e),
            }
        }
    }
}

impl Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let fd = self.fd;
        // SAFETY: reads at most buf.len() bytes into buf.
        self.io(libc::POLLIN, || unsafe {
            libc::read(fd, buf.as_mut_ptr().cast(), buf.len())
        })
    }
}

impl Write for Wire {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let fd = self.fd;
        // SAFETY: writes at most buf.len() bytes from buf.
        self.io(libc::POLLOUT, || unsafe {
            libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL)
        })
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Send `msg` at `stage`.
fn send(s: &mut impl ReadWrite, stage: Stage, msg: &[u8]) -> Result<(), SocksError> {
    s.write_all(msg).map_err(|e| io_error(stage, e))
}

fn read(s: &mut impl ReadWrite, stage: Stage, buf: &mut [u8]) -> Result<(), SocksError> {
    s.read_exact(buf).map_err(|e| io_error(stage, e))
}

fn io_error(stage: Stage, e: io::Error) -> SocksError {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => SocksError::Closed(stage),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => SocksError::Timeout(stage),
        _ => SocksError::Io(stage, e),
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// The CONNECT request for `host`:`port`: an IPv4 or IPv6 literal as an address,
/// anything else as a domain name (as libmosquitto addresses the broker).
fn connect_request(host: &str, port: u16) -> Option<Vec<u8>> {
    let mut m = vec![5, 1, 0];
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        m.push(1);
        m.extend(ip.octets());
    } else if let Ok(ip) = host.parse::<Ipv6Addr>() {
        m.push(4);
        m.extend(ip.octets());
    } else {
        let len = u8::try_from(host.len()).ok()?;
        m.push(3);
        m.push(len);
        m.extend(host.as_bytes());
    }
    m.extend(port.to_be_bytes());
    Some(m)
}

/// The SOCKS5 exchange on a connected stream: greeting, authentication, CONNECT.
fn handshake(s: &mut impl ReadWrite, r: &Route) -> Result<(), SocksError> {
    let user = r.proxy.username.as_deref();
    let greeting: &[u8] = if user.is_some() {
        &[5, 2, 0, 2]
    } else {
        &[5, 1, 0]
    };
    send(s, Stage::Greeting, greeting)?;
    let mut answer = [0u8; 2];
    read(s, Stage::Greeting, &mut answer)?;
    if answer[0] != 5 {
        return Err(SocksError::NotSocks5(Stage::Greeting, answer[0]));
    }
    match (answer[1], user) {
        (0, _) => {}
        (2 | 0xff, None) => return Err(SocksError::NeedsCredentials),
        (0xff, Some(_)) => return Err(SocksError::NoAcceptableMethod),
        (2, Some(u)) => {
            let p = r.proxy.password.as_deref().unwrap_or("");
            let mut m = vec![1, u.len() as u8];
            m.extend(u.as_bytes());
            m.push(p.len() as u8);
            m.extend(p.as_bytes());
            send(s, Stage::Auth, &m)?;
            read(s, Stage::Auth, &mut answer)?;
            if answer[0] != 1 {
                return Err(SocksError::NotSocks5(Stage::Auth, answer[0]));
            }
            if answer[1] != 0 {
                return Err(SocksError::AuthRejected(answer[1]));
            }
        }
        (m, _) => return Err(SocksError::UnexpectedMethod(m)),
    }
    let req = connect_request(&r.broker, r.broker_port).ok_or(SocksError::NameTooLong)?;
    send(s, Stage::Connect, &req)?;
    let mut head = [0u8; 4];
    read(s, Stage::Connect, &mut head)?;
    if head[0] != 5 {
        return Err(SocksError::NotSocks5(Stage::Connect, head[0]));
    }
    if head[1] != 0 {
        return Err(SocksError::Reply(head[1]));
    }
    // The address the proxy connected from: read and dropped.
    let rest = match head[3] {
        1 => 4 + 2,
        4 => 16 + 2,
        3 => {
            let mut l = [0u8; 1];
            read(s, Stage::Connect, &mut l)?;
            usize::from(l[0]) + 2
        }
        t => return Err(SocksError::BadAddressType(t)),
    };
    let mut skip = vec![0u8; rest];
    read(s, Stage::Connect, &mut skip)
}

#[cfg(test)]
mod tests;
