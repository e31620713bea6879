//! The diagnosis after paho's generic connect failure: a plain TCP connect (refused,
//! unreachable, DNS, timeout), then a handshake with the same settings through the
//! `openssl` crate, whose verify results and alerts name the cause.
//!
//! The probes by concern: [`tcp`] (name resolution, TCP connect, the plain-MQTT probe),
//! [`tls`] (the probe's own handshake), [`explain`] (what a handshake found, in words);
//! this file holds the order in which they run.

mod explain;
mod tcp;
mod tls;

pub(super) use tls::{Handshake, Outcome, alert_name, tls13_alert};

use super::files::printable;
use super::*;
use explain::{from_handshake, from_issues};
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use tcp::{IO_TIMEOUT, MQTT_CONNECT, MQTT_DISCONNECT, connect, fresh, plain, resolve, speaks_mqtt};
use tls::{Settings, handshake};

thread_local! {
    /// How long paho waited before giving up (see [`diagnose_after`]), for the messages
    /// about a silent peer.
    static WAITED: std::cell::Cell<Option<Duration>> = const { std::cell::Cell::new(None) };
}

/// Seconds to name in "nothing within N s": how long paho waited when known (rounded),
/// and at least the probe's own wait, which found the same silence.
fn waited_secs() -> u64 {
    let paho = WAITED.with(|w| w.get()).unwrap_or_default();
    (paho + Duration::from_millis(500))
        .as_secs()
        .max(IO_TIMEOUT.as_secs())
}

/// [`diagnose`] after paho waited `waited` for the connection (its connect timeout).
pub(crate) fn diagnose_after(
    host: &str,
    port: u16,
    tls: Option<&TlsPlan>,
    waited: Option<Duration>,
    websockets: bool,
) -> Failure {
    WAITED.with(|w| w.set(waited));
    let f = diagnose_over(host, port, tls, websockets);
    WAITED.with(|w| w.set(None));
    f
}

pub(crate) fn diagnose(host: &str, port: u16, tls: Option<&TlsPlan>) -> Failure {
    diagnose_over(host, port, tls, false)
}

/// `websockets`: after the TCP (and TLS) checks, probe the WebSocket upgrade instead of
/// speaking MQTT directly.
fn diagnose_over(host: &str, port: u16, tls: Option<&TlsPlan>, websockets: bool) -> Failure {
    // The probes' own handshakes are not the connection the expiry warning is about.
    super::peer::forget();
    // paho's handshake succeeded but the broker's key is not pinned: that is the cause.
    if let Some(f) = super::pin::take_mismatch() {
        return f;
    }
    // The probes' handshakes are not pin-checked; later reconnects are again.
    let _pins = super::pin::suspend();
    let h = printable(host);
    if host.starts_with('/') {
        // --unix PATH
        return match std::os::unix::net::UnixStream::connect(host) {
            Err(e) => Failure::new(
                NETWORK,
                format!("Error: unix socket {h}: {}.", os_error(&e)),
            )
            .and("Check the path given with --unix and that the broker listens there."),
            Ok(_) => Failure::new(
                crate::exit::GENERAL,
                format!("Error: could not connect over the unix socket {h}."),
            )
            .and("The socket accepts connections; run with -d to see the exchange."),
        };
    }
    let addr = match resolve(host, port) {
        Ok(a) => a,
        Err(f) => return f,
    };
    let tcp = match connect(&h, port, addr) {
        Ok(s) => s,
        Err(f) => return f,
    };
    match tls {
        None if websockets => {
            let mut tcp = tcp;
            let answer = crate::websocket::upgrade(&mut tcp, host, port, crate::plan::WS_PATH);
            let mqtt = || fresh(addr).is_some_and(|mut s| speaks_mqtt(&mut s));
            let (wait, unknown) = (waited_secs(), crate::exit::GENERAL);
            crate::websocket::failure(&h, port, answer, mqtt, false, wait, unknown)
        }
        None => plain(&h, port, addr, tcp),
        Some(plan) => with_tls(host, port, addr, tcp, plan, websockets),
    }
}

fn with_tls(
    host: &str,
    port: u16,
    addr: SocketAddr,
    tcp: TcpStream,
    plan: &TlsPlan,
    websockets: bool,
) -> Failure {
    let h = printable(host);
    let s = Settings {
        plan: Some(plan),
        versions: true,
        ciphers: true,
        check_host: !plan.insecure && plan.psk.is_none(),
    };
    let o = match handshake(host, tcp, &s) {
        Ok(o) => o,
        Err(e) => {
            return Failure::new(
                TLS_FAILED,
                format!(
                    "Error: cannot set up TLS for {h} port {port}: {}.",
                    printable(&e)
                ),
            );
        }
    };
    if let Some(f) = plan
        .psk
        .as_ref()
        .and_then(|psk| super::psk::diagnose(host, port, addr, plan, psk, &o))
    {
        return f;
    }
    if let Some(f) = from_issues(&h, port, plan, &o) {
        return f;
    }
    let saw_cert = o.leaf.is_some();
    match o.result {
        Err(hs) => from_handshake(&h, port, addr, plan, &hs, saw_cert),
        Ok(mut stream) if websockets => {
            let path = crate::plan::WS_PATH;
            let answer = match crate::websocket::upgrade_tls(&mut stream, host, port, path) {
                Ok(a) => a,
                Err(e) => {
                    // TLS 1.3: a rejected (or missing) client certificate shows up here.
                    let hs = Handshake::from_error(&e);
                    if hs.alert().is_some() {
                        return from_handshake(&h, port, addr, plan, &hs, true);
                    }
                    crate::websocket::Answer::Closed
                }
            };
            // Plain MQTT over TLS: the same handshake on a fresh connection, then CONNECT.
            let mqtt = || {
                fresh(addr)
                    .and_then(|tcp| handshake(host, tcp, &s).ok())
                    .and_then(|o| o.result.ok())
                    .is_some_and(|mut st| speaks_mqtt(&mut st))
            };
            crate::websocket::failure(&h, port, answer, mqtt, true, waited_secs(), TLS_FAILED)
        }
        Ok(mut stream) => {
            // A WebSocket listener (paho spoke MQTT to it without --ws)?
            let ws = || {
                fresh(addr)
                    .and_then(|tcp| handshake(host, tcp, &s).ok())
                    .and_then(|o| o.result.ok())
                    .is_some_and(|mut st| {
                        let a =
                            crate::websocket::upgrade(&mut st, host, port, crate::plan::WS_PATH);
                        a == crate::websocket::Answer::Upgraded
                    })
            };
            // TLS 1.3: a rejected client certificate shows up on the first read.
            let _ = stream.write_all(&MQTT_CONNECT);
            let mut buf = [0u8; 2];
            match stream.ssl_read(&mut buf) {
                Ok(n) if n > 0 && buf[0] == 0x20 => {
                    let _ = stream.write_all(&MQTT_DISCONNECT);
                    let ssl = stream.ssl();
                    Failure::new(
                        TLS_FAILED,
                        format!("Error: could not connect to {h} port {port} over TLS."),
                    )
                    .and(format!(
                        "A TLS handshake with the same settings works ({}, the broker answers MQTT).",
                        ssl.version_str()
                    ))
                    .and("Run with -d to see paho's side of the failure.")
                }
                Ok(_) if ws() => crate::websocket::websocket_port(&h, port, true),
                Ok(_) => Failure::new(
                    TLS_FAILED,
                    format!("Error: {h} port {port} completed TLS but does not answer MQTT."),
                ),
                Err(e) => {
                    let hs = Handshake::from_error(&e);
                    if hs.alert().is_some() {
                        from_handshake(&h, port, addr, plan, &hs, true)
                    } else if ws() {
                        crate::websocket::websocket_port(&h, port, true)
                    } else {
                        Failure::new(
                            TLS_FAILED,
                            format!(
                                "Error: {h} port {port} closed the TLS connection before answering MQTT."
                            ),
                        )
                    }
                }
            }
        }
    }
}
