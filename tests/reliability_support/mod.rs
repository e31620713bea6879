//! A fake MQTT broker for the reliability tests: a TCP listener on a free loopback port
//! (the OS picks it) whose every connection is handled by a script, e.g. "accept and say
//! nothing", "CONNACK, then garbage". Connections are kept open until the broker is
//! dropped, so a silent script really stays silent.
#![allow(dead_code)]

pub mod relay;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct FakeBroker {
    port: u16,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    /// Every accepted connection, kept open until drop.
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl FakeBroker {
    /// Listen on 127.0.0.1 (free port) and run `script` on a thread for each connection.
    pub fn start<F>(script: F) -> FakeBroker
    where
        F: Fn(&mut TcpStream) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake broker");
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let conns = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(script);
        let (s, a, c) = (stop.clone(), accepted.clone(), conns.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        a.fetch_add(1, Ordering::SeqCst);
                        if let Ok(keep) = stream.try_clone() {
                            c.lock().unwrap().push(keep);
                        }
                        let script = script.clone();
                        std::thread::spawn(move || {
                            let mut stream = stream;
                            let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                            script(&mut stream);
                            // Keep the connection open (the clone in `conns` holds it).
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        FakeBroker {
            port,
            stop,
            accepted,
            conns,
        }
    }

    /// Accepts and never sends a byte.
    pub fn silent() -> FakeBroker {
        FakeBroker::start(|s| {
            let mut buf = [0u8; 4096];
            // Read (and drop) whatever comes, never answer.
            while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for FakeBroker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// Read one MQTT packet: (first byte, body). None on EOF/error/timeout.
pub fn read_packet(s: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut b = [0u8; 1];
    s.read_exact(&mut b).ok()?;
    let first = b[0];
    let mut len = 0usize;
    let mut shift = 0;
    loop {
        s.read_exact(&mut b).ok()?;
        len |= ((b[0] & 0x7f) as usize) << shift;
        if b[0] & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 21 {
            return None;
        }
    }
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).ok()?;
    Some((first, body))
}

/// Read the CONNECT and answer CONNACK (accepted); the MQTT version from the CONNECT
/// decides the CONNACK's shape (v5 gets an empty property length). Returns the version.
pub fn accept_connect(s: &mut TcpStream) -> Option<u8> {
    let (first, body) = read_packet(s)?;
    if first >> 4 != 1 || body.len() < 7 {
        return None;
    }
    let name_len = u16::from_be_bytes([body[0], body[1]]) as usize;
    let version = *body.get(2 + name_len)?;
    let connack: &[u8] = if version == 5 {
        &[0x20, 3, 0, 0, 0]
    } else {
        &[0x20, 2, 0, 0]
    };
    s.write_all(connack).ok()?;
    Some(version)
}

/// Answer every further packet the client sends as a broker would (SUBACK granting QoS 0
/// for each filter, PINGRESP, PUBACK), until EOF.
pub fn serve_rest(s: &mut TcpStream, v5: bool) {
    while let Some((first, body)) = read_packet(s) {
        let reply: Vec<u8> = match first >> 4 {
            8 if body.len() >= 2 => {
                // SUBSCRIBE: count the filters (each: 2-byte length, name, options byte).
                let mut i = 2;
                if v5 {
                    i += 1 + body[2] as usize;
                }
                let mut n = 0;
                while i + 2 <= body.len() {
                    let l = u16::from_be_bytes([body[i], body[i + 1]]) as usize;
                    i += 2 + l + 1;
                    n += 1;
                }
                let mut r = vec![0x90, 0, body[0], body[1]];
                if v5 {
                    r.push(0);
                }
                r.extend(std::iter::repeat_n(0u8, n));
                r[1] = (r.len() - 2) as u8;
                r
            }
            12 => vec![0xd0, 0],
            3 if (first >> 1) & 3 == 1 => {
                let tl = u16::from_be_bytes([body[0], body[1]]) as usize;
                vec![0x40, 2, body[2 + tl], body[3 + tl]]
            }
            14 => return,
            _ => Vec::new(),
        };
        if !reply.is_empty() && s.write_all(&reply).is_err() {
            return;
        }
    }
}

/// A PUBLISH packet (QoS 0, no properties for v3; empty properties for v5).
pub fn publish_packet(topic: &[u8], payload: &[u8], v5: bool) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend((topic.len() as u16).to_be_bytes());
    body.extend(topic);
    if v5 {
        body.push(0);
    }
    body.extend(payload);
    let mut p = vec![0x30];
    let mut len = body.len();
    loop {
        let mut b = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            b |= 0x80;
        }
        p.push(b);
        if len == 0 {
            break;
        }
    }
    p.extend(body);
    p
}

/// Exit code or signal of a run, for messages.
pub fn status(out: &crate::common::RunOutput) -> String {
    match (out.code, out.signal) {
        (Some(c), _) => format!("exit {c}"),
        (None, Some(s)) => format!("signal {s}"),
        _ => "no status".into(),
    }
}
