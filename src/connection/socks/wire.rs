//! The SOCKS5 exchange (RFC 1928, with RFC 1929 user name/password) on paho's socket:
//! the TCP connect to the proxy, then greeting, authentication and CONNECT, each read and
//! write bounded by one deadline.

use super::Route;
use super::failure::{SocksError, Stage};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Instant;

pub(super) fn tcp_connect(
    fd: libc::c_int,
    to: SocketAddr,
    deadline: Instant,
) -> Result<(), SocksError> {
    let (ss, len) = super::super::bind::raw(&to);
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
    // EINTR: the connect goes on in the background, as with EINPROGRESS.
    if !matches!(e.raw_os_error(), Some(libc::EINPROGRESS | libc::EINTR)) {
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
pub(super) struct Wire {
    pub(super) fd: libc::c_int,
    pub(super) deadline: Instant,
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

pub(super) trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// The CONNECT request for `host`:`port`: an IPv4 or IPv6 literal as an address,
/// anything else as a domain name (as libmosquitto addresses the broker).
pub(super) fn connect_request(host: &str, port: u16) -> Option<Vec<u8>> {
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
pub(super) fn handshake(s: &mut impl ReadWrite, r: &Route) -> Result<(), SocksError> {
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
            let (Ok(ulen), Ok(plen)) = (u8::try_from(u.len()), u8::try_from(p.len())) else {
                return Err(SocksError::CredentialsTooLong);
            };
            let mut m = vec![1, ulen];
            m.extend(u.as_bytes());
            m.push(plen);
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
