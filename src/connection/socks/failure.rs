//! Why a connection through the SOCKS5 proxy failed, and how that is told: the line
//! naming the proxy, the broker and the proxy's answer, and mosquitto's exit code for it.

use super::{AUTH, ERRNO, NO_CONN, PROXY, RESET, Route, UNKNOWN_REPLY};
use crate::exit::Failure;
use crate::tls::{os_error, printable};
use std::io;
use std::net::SocketAddr;

/// What went wrong on the way to the broker.
#[derive(Debug)]
pub(super) enum SocksError {
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
    /// The user name or password is longer than RFC 1929 can carry (255 bytes).
    CredentialsTooLong,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    Greeting,
    Auth,
    Connect,
}

impl Stage {
    pub(super) fn name(self) -> &'static str {
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
    pub(super) fn errno(&self) -> libc::c_int {
        match self {
            SocksError::Connect(e) | SocksError::Io(_, e) => {
                e.raw_os_error().unwrap_or(libc::ECONNREFUSED)
            }
            SocksError::Timeout(_) => libc::ETIMEDOUT,
            _ => libc::ECONNREFUSED,
        }
    }

    pub(super) fn failure(&self, r: &Route, addr: SocketAddr) -> Failure {
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
            SocksError::CredentialsTooLong => Failure::new(
                crate::exit::GENERAL,
                "Error: the user name or password in --proxy is too long for SOCKS5 (at most 255 bytes).",
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
