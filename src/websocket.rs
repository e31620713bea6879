//! MQTT over WebSockets: naming a failed WebSocket upgrade.
//!
//! paho.mqtt.c speaks WebSockets itself for the `ws://` and `wss://` URIs the plan builds
//! (HTTP path [`crate::plan::WS_PATH`]): after the TCP connect (and the TLS handshake for
//! `wss://`) it sends an HTTP/1.1 `GET` with `Upgrade: websocket` and
//! `Sec-WebSocket-Protocol: mqtt`, accepts only an `HTTP/1.1 101` answer with
//! `Connection: Upgrade` and the right `Sec-WebSocket-Accept`, and then carries MQTT in
//! binary frames (WebSocket.c). Every other answer ends in its generic connect failure
//! (measured: an HTTP 404 from `python3 -m http.server`, a plain MQTT broker closing the
//! connection on the request; both within ~10 ms), with nothing said about the cause.
//!
//! After such a failure [`upgrade`] sends the same request on a fresh connection (after
//! the TCP and TLS checks of `tls::probe`, which apply unchanged) and reads the answer,
//! and [`failure`] names what the port said.

use crate::exit::{CONN_LOST, Failure};
use std::io::{Read, Write};

/// WebSockets mismatch: with `--ws`, the port answered but not as a WebSocket endpoint
/// (plain MQTT, or not HTTP at all); without, the port is a WebSocket endpoint.
pub const NOT_WEBSOCKET: i32 = 89;
/// An HTTP server refused the WebSocket upgrade (any status but 101).
pub const UPGRADE_REFUSED: i32 = 90;

/// What a port said to the WebSocket upgrade request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `101` with the right headers: a WebSocket endpoint.
    Upgraded,
    /// An HTTP status other than 101: its code and the rest of the status line.
    Status(u16, String),
    /// `101`, but without what makes it a WebSocket upgrade (the reason).
    BadUpgrade(&'static str),
    /// Bytes that are not an HTTP answer (the first few).
    NotHttp(Vec<u8>),
    /// The connection ended before any answer.
    Closed,
    /// Nothing came back within the probe's read timeout.
    Silent,
}

/// The upgrade request paho sends (path `path`, `Host: host:port`), and its
/// `Sec-WebSocket-Key`.
pub fn request(host: &str, port: u16, path: &str) -> (String, String) {
    let mut nonce = [0u8; 16];
    let _ = openssl::rand::rand_bytes(&mut nonce);
    let key = openssl::base64::encode_block(&nonce);
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: mqtt\r\n\r\n"
    );
    (request, key)
}

/// Whether `got` holds a whole answer (its header ends), or as much as is worth reading.
pub fn complete(got: &[u8]) -> bool {
    got.windows(4).any(|w| w == b"\r\n\r\n") || got.len() >= 8192
}

/// Send the [`request`] on `s` and read the answer. `s` should have a read timeout.
pub fn upgrade<S: Read + Write>(s: &mut S, host: &str, port: u16, path: &str) -> Answer {
    let (request, key) = request(host, port, path);
    if s.write_all(request.as_bytes()).is_err() {
        return Answer::Closed;
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !complete(&got) {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if got.is_empty()
                    && matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
            {
                return Answer::Silent;
            }
            Err(_) => break,
        }
    }
    read_answer(&got, &key)
}

/// [`upgrade`] over TLS, reading with `ssl_read`: a TLS error before any answer is returned
/// for the TLS diagnosis (with TLS 1.3 the broker's verdict on the client certificate
/// arrives on the first read), except a read timeout, which is [`Answer::Silent`].
pub fn upgrade_tls(
    s: &mut openssl::ssl::SslStream<std::net::TcpStream>,
    host: &str,
    port: u16,
    path: &str,
) -> Result<Answer, openssl::ssl::Error> {
    let (request, key) = request(host, port, path);
    if s.write_all(request.as_bytes()).is_err() {
        return Ok(Answer::Closed);
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !complete(&got) {
        match s.ssl_read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if got.is_empty() => {
                let timed_out = e.io_error().is_some_and(|io| {
                    matches!(
                        io.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    )
                });
                return if timed_out {
                    Ok(Answer::Silent)
                } else {
                    Err(e)
                };
            }
            Err(_) => break,
        }
    }
    Ok(read_answer(&got, &key))
}

/// Classify the bytes of an answer to a request made with `Sec-WebSocket-Key: key`.
pub fn read_answer(got: &[u8], key: &str) -> Answer {
    if got.is_empty() {
        return Answer::Closed;
    }
    let text = String::from_utf8_lossy(got);
    let mut lines = text.split("\r\n");
    let status = lines.next().unwrap_or("");
    let mut words = status.splitn(3, ' ');
    let (Some(version), Some(code)) = (words.next(), words.next()) else {
        return Answer::NotHttp(got[..got.len().min(8)].to_vec());
    };
    let code = match code.parse::<u16>() {
        Ok(c) if version.starts_with("HTTP/") && code.len() == 3 => c,
        _ => return Answer::NotHttp(got[..got.len().min(8)].to_vec()),
    };
    let reason = crate::tls::printable(words.next().unwrap_or("").trim());
    if code != 101 {
        return Answer::Status(code, reason);
    }
    let header = |name: &str| {
        text.split("\r\n")
            .skip(1)
            .take_while(|l| !l.is_empty())
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
    };
    let mut expected = key.as_bytes().to_vec();
    expected.extend_from_slice(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    let accept = openssl::base64::encode_block(&openssl::sha::sha1(&expected));
    if !version.eq_ignore_ascii_case("HTTP/1.1") {
        Answer::BadUpgrade("in HTTP/1.0, which WebSocket upgrades do not use")
    } else if !header("connection").is_some_and(|v| v.to_ascii_lowercase().contains("upgrade")) {
        Answer::BadUpgrade("without \"Connection: Upgrade\"")
    } else if header("sec-websocket-accept").as_deref() != Some(accept.as_str()) {
        Answer::BadUpgrade("without the Sec-WebSocket-Accept value that proves the upgrade")
    } else {
        Answer::Upgraded
    }
}

/// The failure to report for `answer` from `h` port `port`. `speaks_mqtt` checks (on a
/// fresh connection, with the same TLS settings) whether the port is a plain MQTT
/// listener; `wss`: the connection was TLS; `waited`: seconds the silence lasted;
/// `unknown`: the code when the upgrade works and the cause is elsewhere.
pub fn failure(
    h: &str,
    port: u16,
    answer: Answer,
    mut speaks_mqtt: impl FnMut() -> bool,
    wss: bool,
    waited: u64,
    unknown: i32,
) -> Failure {
    let scheme = if wss { "wss" } else { "ws" };
    let path = crate::plan::WS_PATH;
    match answer {
        Answer::Upgraded => Failure::new(
            unknown,
            format!("Error: could not connect to {h} port {port} over WebSockets ({scheme}://)."),
        )
        .and(format!(
            "The port accepts the WebSocket upgrade to {path} (HTTP 101); run with -d to see the exchange."
        )),
        Answer::Status(code, reason) => {
            let mut f = Failure::new(
                UPGRADE_REFUSED,
                format!(
                    "Error: {h} port {port} refused the WebSocket upgrade: HTTP {code} {reason}."
                ),
            );
            f = f.and(format!(
                "mqtts asked for GET {path} (the path mosquitto and most brokers use) with \
                 Upgrade: websocket and Sec-WebSocket-Protocol: mqtt."
            ));
            f.and(match code {
                401 | 403 | 407 => "The server wants credentials the WebSocket request does not carry; check the port (-p).",
                _ => "This is an HTTP server, but not the broker's MQTT-over-WebSockets listener there: check the port (-p).",
            })
        }
        Answer::BadUpgrade(why) => Failure::new(
            NOT_WEBSOCKET,
            format!("Error: {h} port {port} answered the WebSocket upgrade with HTTP 101, but {why}."),
        )
        .and("It is not a WebSocket endpoint paho can use: check the port (-p)."),
        Answer::NotHttp(_) | Answer::Closed if speaks_mqtt() => Failure::new(
            NOT_WEBSOCKET,
            format!("Error: {h} port {port} answered plain MQTT, not WebSockets."),
        )
        .and(format!(
            "It is an MQTT listener without WebSockets: drop --ws (or use -L {}://) to connect to it, or use the broker's WebSocket port.",
            if wss { "mqtts" } else { "mqtt" }
        )),
        Answer::NotHttp(first) => {
            let hex: Vec<String> = first.iter().map(|b| format!("{b:02x}")).collect();
            let f = Failure::new(
                NOT_WEBSOCKET,
                format!(
                    "Error: {h} port {port} answered the WebSocket upgrade request without HTTP (first bytes: {}).",
                    hex.join(" ")
                ),
            );
            if !wss && matches!(first.first(), Some(0x15 | 0x16)) {
                f.and("That is TLS: use -L wss:// (or --ws with --cafile / --tls-use-os-certs).")
            } else {
                f.and("The port belongs to another service: check the port (-p).")
            }
        }
        Answer::Closed => Failure::new(
            NOT_WEBSOCKET,
            format!(
                "Error: {h} port {port} closed the connection without answering the WebSocket upgrade request."
            ),
        )
        .and(if wss {
            "The TLS handshake worked, then the broker hung up: it refused this client after \
             the handshake (its log says why), or the port is not a WebSocket listener (check -p)."
        } else {
            "The port is not a WebSocket listener (nor plain MQTT): check the port (-p)."
        }),
        Answer::Silent => Failure::new(
            CONN_LOST,
            format!(
                "Error: {h} port {port} accepted the connection but did not answer the WebSocket upgrade request within {waited} s."
            ),
        )
        .and("The broker is hung or overloaded, or the port belongs to a service that waits for the client (check -p)."),
    }
}

/// Plain MQTT (no `--ws`) went to `h` port `port`, which accepts the WebSocket upgrade.
pub fn websocket_port(h: &str, port: u16, tls: bool) -> Failure {
    let (scheme, how) = if tls {
        ("wss", "--ws (with the same TLS options)")
    } else {
        ("ws", "--ws")
    };
    Failure::new(
        NOT_WEBSOCKET,
        format!(
            "Error: {h} port {port} is an MQTT-over-WebSockets listener, and this connection was plain MQTT."
        ),
    )
    .and(format!(
        "Add {how}, or use -L {scheme}://{h}:{port}/TOPIC (it accepts the upgrade to {}).",
        crate::plan::WS_PATH
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    #[test]
    fn answers() {
        // RFC 6455's example key and accept value.
        let ok = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                  Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
        assert_eq!(read_answer(ok.as_bytes(), KEY), Answer::Upgraded);
        let wrong = ok.replace("s3pP", "AAAA");
        assert!(matches!(
            read_answer(wrong.as_bytes(), KEY),
            Answer::BadUpgrade(_)
        ));
        let v10 = ok.replace("HTTP/1.1", "HTTP/1.0");
        assert!(matches!(
            read_answer(v10.as_bytes(), KEY),
            Answer::BadUpgrade(_)
        ));
        assert_eq!(
            read_answer(b"HTTP/1.0 404 File not found\r\nServer: x\r\n\r\n", KEY),
            Answer::Status(404, "File not found".into())
        );
        assert_eq!(
            read_answer(b"HTTP/1.1 400\r\n\r\n", KEY),
            Answer::Status(400, "".into())
        );
        assert_eq!(read_answer(b"", KEY), Answer::Closed);
        assert_eq!(
            read_answer(&[0x15, 3, 3, 0, 2, 2, 40], KEY),
            Answer::NotHttp(vec![0x15, 3, 3, 0, 2, 2, 40])
        );
        assert!(matches!(
            read_answer(b"HTTP/1.1 abc x\r\n\r\n", KEY),
            Answer::NotHttp(_)
        ));
    }

    #[test]
    fn failures_name_what_answered() {
        let f = failure(
            "h",
            1,
            Answer::Status(404, "Not Found".into()),
            || false,
            false,
            3,
            1,
        );
        assert_eq!(f.code, UPGRADE_REFUSED);
        assert_eq!(
            f.lines[0],
            "Error: h port 1 refused the WebSocket upgrade: HTTP 404 Not Found."
        );
        let f = failure("h", 1, Answer::Closed, || true, false, 3, 1);
        assert_eq!(f.code, NOT_WEBSOCKET);
        assert!(f.lines[0].contains("answered plain MQTT, not WebSockets"));
        let f = failure(
            "h",
            1,
            Answer::NotHttp(vec![0x15, 3]),
            || false,
            false,
            3,
            1,
        );
        assert!(f.lines[0].contains("(first bytes: 15 03)") && f.lines[1].contains("wss://"));
        assert_eq!(
            failure("h", 1, Answer::Silent, || false, true, 5, 1).code,
            CONN_LOST
        );
        assert_eq!(
            failure("h", 1, Answer::Upgraded, || false, true, 5, 8).code,
            8
        );
    }
}
