//! The TCP probes and the plain-MQTT probe: name resolution, the TCP connect (refused,
//! unreachable, DNS, timeout), whether a port answers MQTT, and, after plain MQTT failed,
//! what the port is instead (TLS, WebSockets, another service).

use super::tls::{Settings, handshake};
use super::waited_secs;
use crate::exit::Failure;
use crate::tls::{NETWORK, PLAIN_TO_TLS_PORT, os_error, printable};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

const DNS_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub(super) const IO_TIMEOUT: Duration = Duration::from_secs(3);

pub(super) fn resolve(host: &str, port: u16) -> Result<SocketAddr, Failure> {
    let h = printable(host);
    let (tx, rx) = std::sync::mpsc::channel();
    let owned = host.to_string();
    let _ = std::thread::Builder::new()
        .name("mqtts-dns".into())
        .spawn(move || {
            let r = (owned.as_str(), port)
                .to_socket_addrs()
                .map(|a| a.collect::<Vec<_>>());
            let _ = tx.send(r);
        });
    match rx.recv_timeout(DNS_TIMEOUT) {
        Ok(Ok(addrs)) => {
            // Like paho: the first IPv4 address if there is one.
            let pick = addrs
                .iter()
                .find(|a| a.is_ipv4())
                .or_else(|| addrs.first())
                .copied();
            pick.ok_or_else(|| {
                Failure::new(NETWORK, format!("Error: DNS failure: {h} has no address."))
                    .and("Check the host name (-h).")
            })
        }
        Ok(Err(e)) => {
            let why = e.to_string();
            let why = why
                .strip_prefix("failed to lookup address information: ")
                .unwrap_or(&why)
                .to_string();
            Err(Failure::new(
                NETWORK,
                format!("Error: DNS failure: cannot resolve host name {h} ({why})."),
            )
            .and("Check the host name (-h) and this machine's DNS settings."))
        }
        Err(_) => Err(Failure::new(
            NETWORK,
            format!(
                "Error: DNS failure: no answer resolving {h} within {} s.",
                DNS_TIMEOUT.as_secs()
            ),
        )
        .and("Check this machine's DNS settings.")),
    }
}

pub(super) fn connect(h: &str, port: u16, addr: SocketAddr) -> Result<TcpStream, Failure> {
    match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
        Ok(s) => {
            let _ = s.set_read_timeout(Some(IO_TIMEOUT));
            let _ = s.set_write_timeout(Some(IO_TIMEOUT));
            Ok(s)
        }
        Err(e) => {
            let ip = if h == addr.ip().to_string() {
                String::new()
            } else {
                format!(" ({})", addr.ip())
            };
            let f = match e.kind() {
                std::io::ErrorKind::ConnectionRefused => Failure::new(
                    NETWORK,
                    format!("Error: connection refused by {h} port {port}{ip}."),
                )
                .and("Nothing listens on that port: check the port (-p) and that the broker runs."),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => Failure::new(
                    NETWORK,
                    format!(
                        "Error: no answer from {h} port {port}{ip} within {} s.",
                        CONNECT_TIMEOUT.as_secs()
                    ),
                )
                .and("The host is down or a firewall drops the connection."),
                _ if matches!(
                    e.raw_os_error(),
                    Some(libc::ENETUNREACH | libc::EHOSTUNREACH | libc::EADDRNOTAVAIL)
                ) =>
                {
                    Failure::new(
                        NETWORK,
                        format!(
                            "Error: {h} port {port}{ip} is unreachable: {}.",
                            os_error(&e)
                        ),
                    )
                    .and("Check the address and this machine's network and routes.")
                }
                _ => Failure::new(
                    NETWORK,
                    format!(
                        "Error: cannot connect to {h} port {port}{ip}: {}.",
                        os_error(&e)
                    ),
                ),
            };
            Err(f)
        }
    }
}

/// An MQTT 3.1.1 CONNECT (clean session, client id "mqtts-probe").
pub(super) const MQTT_CONNECT: [u8; 25] = [
    0x10, 23, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 10, 0, 11, b'm', b'q', b't', b't', b's',
    b'-', b'p', b'r', b'o', b'b', b'e',
];
pub(super) const MQTT_DISCONNECT: [u8; 2] = [0xe0, 0];

/// Does `s` speak MQTT: send CONNECT, expect a CONNACK.
pub(super) fn speaks_mqtt<S: Read + Write>(s: &mut S) -> bool {
    if s.write_all(&MQTT_CONNECT).is_err() {
        return false;
    }
    let mut buf = [0u8; 2];
    let ok = s.read_exact(&mut buf).is_ok() && buf[0] == 0x20;
    if ok {
        let _ = s.write_all(&MQTT_DISCONNECT);
    }
    ok
}

pub(super) fn fresh(addr: SocketAddr) -> Option<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).ok()?;
    let _ = s.set_read_timeout(Some(IO_TIMEOUT));
    let _ = s.set_write_timeout(Some(IO_TIMEOUT));
    Some(s)
}

/// Plain MQTT failed: is the port a TLS port?
pub(super) fn plain(h: &str, port: u16, addr: SocketAddr, tcp: TcpStream) -> Failure {
    let s = Settings {
        plan: None,
        versions: false,
        ciphers: false,
        check_host: false,
    };
    if let Ok(o) = handshake(h, tcp, &s) {
        // Nothing came back to a ClientHello either: the port accepts and stays silent
        // (a hung broker, or a service that waits for the client); don't wait again.
        if o.leaf.is_none() && matches!(&o.result, Err(hs) if hs.timed_out && hs.alert().is_none())
        {
            return Failure::new(
                crate::exit::CONN_LOST,
                format!(
                    "Error: {h} port {port} accepted the connection but sent no CONNACK within {} s.",
                    waited_secs()
                ),
            )
            .and(
                "The broker is hung or overloaded, or the port belongs to a service that \
                 waits for the client (check -p). -k sets how long to wait (at most 30 s).",
            );
        }
        let spoke_tls = o.leaf.is_some()
            || match &o.result {
                Ok(_) => true,
                Err(hs) => hs.alert().is_some(),
            };
        if spoke_tls {
            return Failure::new(
                PLAIN_TO_TLS_PORT,
                format!("Error: {h} port {port} expects TLS, but this connection was plain MQTT."),
            )
            .and(format!(
                "Turn TLS on: --cafile FILE (the broker's CA), --tls-use-os-certs, or -L mqtts://{h}:{port}/"
            ));
        }
    }
    let mqtt = fresh(addr).is_some_and(|mut s| speaks_mqtt(&mut s));
    let ws = || {
        fresh(addr).is_some_and(|mut s| {
            let a = crate::websocket::upgrade(&mut s, h, port, crate::plan::WS_PATH);
            a == crate::websocket::Answer::Upgraded
        })
    };
    if mqtt {
        Failure::new(
            crate::exit::GENERAL,
            format!("Error: could not connect to {h} port {port}."),
        )
        .and("The port accepts TCP and answers MQTT; run with -d to see the exchange.")
    } else if ws() {
        crate::websocket::websocket_port(h, port, false)
    } else {
        Failure::new(
            crate::exit::CONN_LOST,
            format!("Error: {h} port {port} accepted the connection but does not answer MQTT."),
        )
        .and("Check the port (-p): it may belong to another service.")
    }
}
