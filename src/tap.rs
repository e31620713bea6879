//! What paho's protocol trace leaves out, read off the bytes paho receives.
//!
//! paho.mqtt.c traces every packet, but its lines lack two things mosquitto's `-d` trace
//! shows: the reason code of a received v5 PUBACK/PUBCOMP (paho passes a failing one to
//! the request's callback and drops a successful one such as 16 "no matching subscribers")
//! and the DUP flag of a received PUBLISH. Both are in the packets themselves.
//!
//! paho's calls to `recv(2)` (plain TCP) and `SSL_read` (TLS) go through
//! [`crate::seams`], which shows the bytes to a small MQTT framer here when they came from
//! paho's connection (the socket the `connect` seam saw last, see [`watch`]). The framer keeps one record per received
//! packet: its type, DUP flag, packet id and reason code. [`take`] hands the trace the
//! record of the packet a trace line is about; paho reads one packet at a time and traces
//! it before reading the next, so records are at most a packet ahead of the lines.
//!
//! Only active while [`enable`]d (with `-d` or when message ids are shown); otherwise the
//! hooks are the plain calls.
//!
//! Over WebSockets ([`websockets`]) the bytes read are an HTTP answer and WebSocket frames
//! around the MQTT bytes: [`websocket::Unwrap`] takes them off before the framer.

mod websocket;

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// What the framer saw of one received packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    /// MQTT control packet type (3 = PUBLISH, 4 = PUBACK, 7 = PUBCOMP, …).
    pub kind: u8,
    pub dup: bool,
    /// Packet id of an acknowledgement (PUBACK, PUBREC, PUBREL, PUBCOMP); 0 otherwise.
    pub msgid: u16,
    /// v5 reason code of an acknowledgement (0 when the packet has none).
    pub rc: u8,
}

static ENABLED: AtomicBool = AtomicBool::new(false);
/// The socket paho connected last (-1: none).
static WATCHED: AtomicI32 = AtomicI32::new(-1);
static STATE: Mutex<Framer> = Mutex::new(Framer::new());
/// Some while paho's connection is a WebSocket one (locked after `STATE`).
static WS: Mutex<Option<websocket::Unwrap>> = Mutex::new(None);
static WEBSOCKETS: AtomicBool = AtomicBool::new(false);

/// Whether paho's connections are WebSocket ones (before connecting).
pub fn websockets(on: bool) {
    WEBSOCKETS.store(on, Ordering::SeqCst);
}

/// Start recording (before the client connects).
pub fn enable() {
    ENABLED.store(true, Ordering::SeqCst);
}

/// A new connection on `fd` (called by the `connect` hook): remember it as paho's, and
/// start framing it afresh.
pub fn watch(fd: i32) {
    if ENABLED.load(Ordering::Relaxed)
        && let Ok(mut f) = STATE.lock()
    {
        *f = Framer::new();
        if let Ok(mut w) = WS.lock() {
            *w = WEBSOCKETS
                .load(Ordering::SeqCst)
                .then(websocket::Unwrap::new);
        }
    }
    WATCHED.store(fd, Ordering::SeqCst);
}

/// The socket paho connected last (-1: none yet).
pub(crate) fn watched() -> i32 {
    WATCHED.load(Ordering::Relaxed)
}

/// The record of the oldest received packet of type `kind` not taken yet; records of other
/// types before it are dropped (packets paho does not trace).
pub fn take(kind: u8) -> Option<Seen> {
    let mut f = STATE.lock().ok()?;
    while let Some(s) = f.seen.pop_front() {
        if s.kind == kind {
            return Some(s);
        }
    }
    None
}

/// Whether the tap records (the seams skip it otherwise).
pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Bytes paho read from `fd` (called by the `recv`/`SSL_read` seams).
pub(crate) fn feed(fd: i32, bytes: &[u8]) {
    if bytes.is_empty() || fd != WATCHED.load(Ordering::Relaxed) {
        return;
    }
    if let Ok(mut f) = STATE.lock() {
        match WS.lock().as_deref_mut() {
            Ok(Some(u)) => u.push(bytes, &mut |b: &[u8]| f.push(b)),
            _ => f.push(bytes),
        }
    }
}

/// Splits a byte stream into MQTT packets, keeping what [`Seen`] needs of each.
#[derive(Debug)]
pub struct Framer {
    /// Fixed header byte of the packet being read (None: waiting for one).
    header: Option<u8>,
    /// Remaining length: value so far, multiplier, and whether it is complete.
    length: u32,
    shift: u32,
    length_done: bool,
    /// Body bytes still to come, and the first few of them.
    left: u32,
    head: [u8; 3],
    got: usize,
    pub seen: VecDeque<Seen>,
}

/// More records than this means nobody takes them (no trace): stop growing.
const MAX_SEEN: usize = 4096;

impl Framer {
    pub const fn new() -> Framer {
        Framer {
            header: None,
            length: 0,
            shift: 0,
            length_done: false,
            left: 0,
            head: [0; 3],
            got: 0,
            seen: VecDeque::new(),
        }
    }

    pub fn push(&mut self, mut bytes: &[u8]) {
        while let Some((&b, rest)) = bytes.split_first() {
            let Some(header) = self.header else {
                self.header = Some(b);
                (self.length, self.shift, self.length_done, self.got) = (0, 0, false, 0);
                bytes = rest;
                continue;
            };
            if !self.length_done {
                self.length |= u32::from(b & 0x7f) << self.shift;
                self.shift += 7;
                if b & 0x80 == 0 || self.shift > 21 {
                    self.length_done = true;
                    self.left = self.length;
                    if self.left == 0 {
                        self.finish(header);
                    }
                }
                bytes = rest;
                continue;
            }
            // Body: keep the first three bytes, skip the rest in one step.
            let take = (self.left as usize).min(bytes.len());
            for &x in &bytes[..take] {
                if self.got < self.head.len() {
                    self.head[self.got] = x;
                }
                self.got += 1;
            }
            self.left -= take as u32;
            bytes = &bytes[take..];
            if self.left == 0 {
                self.finish(header);
            }
        }
    }

    fn finish(&mut self, header: u8) {
        let kind = header >> 4;
        let ack = matches!(kind, 4..=7);
        let n = self.got.min(self.head.len());
        let msgid = if ack && n >= 2 {
            u16::from_be_bytes([self.head[0], self.head[1]])
        } else {
            0
        };
        let rc = if ack && n >= 3 { self.head[2] } else { 0 };
        if self.seen.len() < MAX_SEEN {
            self.seen.push_back(Seen {
                kind,
                dup: kind == 3 && header & 0x08 != 0,
                msgid,
                rc,
            });
        }
        self.header = None;
    }
}

impl Default for Framer {
    fn default() -> Self {
        Framer::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(chunks: &[&[u8]]) -> Vec<Seen> {
        let mut f = Framer::new();
        for c in chunks {
            f.push(c);
        }
        f.seen.into_iter().collect()
    }

    #[test]
    fn acks_with_and_without_reason_codes() {
        let s = frames(&[
            &[0x20, 3, 0, 0, 0],
            &[0x40, 2, 0, 7],
            &[0x40, 4, 0, 8, 16, 0],
        ]);
        assert_eq!(s[0].kind, 2);
        assert_eq!((s[1].kind, s[1].msgid, s[1].rc), (4, 7, 0));
        assert_eq!((s[2].kind, s[2].msgid, s[2].rc), (4, 8, 16));
    }

    #[test]
    fn byte_at_a_time_and_long_bodies() {
        let mut stream = vec![0x3a, 0x83, 0x01]; // PUBLISH, DUP, QoS 1, length 131
        stream.extend(std::iter::repeat_n(b'x', 131));
        stream.extend([0x70, 3, 1, 2, 0x92]); // PUBCOMP 258, rc 0x92
        stream.extend([0xd0, 0]); // PINGRESP
        let mut f = Framer::new();
        for b in &stream {
            f.push(std::slice::from_ref(b));
        }
        let s: Vec<_> = f.seen.into_iter().collect();
        assert_eq!(s.len(), 3);
        assert!(s[0].dup && s[0].kind == 3 && s[0].msgid == 0);
        assert_eq!((s[1].kind, s[1].msgid, s[1].rc), (7, 258, 0x92));
        assert_eq!(s[2].kind, 13);
        assert_eq!(frames(&[&stream]), s);
    }

    #[test]
    fn take_skips_untraced_packets() {
        let mut f = STATE.lock().unwrap();
        *f = Framer::new();
        f.push(&[0x30, 2, 0, 0, 0x40, 3, 0, 1, 16]);
        drop(f);
        assert_eq!(take(4).map(|s| (s.msgid, s.rc)), Some((1, 16)));
        assert_eq!(take(4), None);
    }
}
