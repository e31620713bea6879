//! The MQTT bytes inside a WebSocket connection, for the tap.
//!
//! Over WebSockets (`--ws`) what paho reads is the broker's HTTP answer to the upgrade
//! request (status line and headers, up to the empty line), then WebSocket frames
//! (RFC 6455 §5.2): two header bytes (FIN and opcode; mask bit and a 7-bit length), a
//! 16- or 64-bit length when the 7-bit one is 126 or 127, a 4-byte mask key when the mask
//! bit is set (never from a server, but allowed for here), then the payload. MQTT travels
//! in the payload of binary frames and their continuations; ping, pong and close frames
//! carry none. [`Unwrap`] hands the MQTT bytes on, in order, whatever the read sizes.

/// Where [`Unwrap`] is in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// In the HTTP answer; how many bytes of the closing `\r\n\r\n` were just seen.
    Http(u8),
    /// In a frame header: its bytes so far.
    Header,
    /// In a frame's payload: bytes left, whether they are MQTT bytes.
    Payload { left: u64, data: bool },
}

/// Removes the HTTP answer and the WebSocket framing from the bytes a client reads.
#[derive(Debug)]
pub struct Unwrap {
    part: Part,
    head: [u8; 14],
    got: usize,
    mask: Option<[u8; 4]>,
    /// Payload bytes of the current frame passed so far (the mask index).
    offset: u64,
}

impl Unwrap {
    pub const fn new() -> Unwrap {
        Unwrap {
            part: Part::Http(0),
            head: [0; 14],
            got: 0,
            mask: None,
            offset: 0,
        }
    }

    /// Feed bytes read from the connection; `out` gets the MQTT bytes among them.
    pub fn push(&mut self, mut bytes: &[u8], out: &mut impl FnMut(&[u8])) {
        while !bytes.is_empty() {
            match self.part {
                Part::Http(seen) => {
                    let b = bytes[0];
                    bytes = &bytes[1..];
                    let want = b"\r\n\r\n"[seen as usize];
                    self.part = if b == want {
                        if seen == 3 {
                            self.got = 0;
                            Part::Header
                        } else {
                            Part::Http(seen + 1)
                        }
                    } else if b == b'\r' {
                        Part::Http(1)
                    } else {
                        Part::Http(0)
                    };
                }
                Part::Header => {
                    self.head[self.got] = bytes[0];
                    self.got += 1;
                    bytes = &bytes[1..];
                    if let Some(part) = self.header_done() {
                        self.part = part;
                    }
                }
                Part::Payload { left, data } => {
                    let n = (left.min(bytes.len() as u64)) as usize;
                    if data {
                        match self.mask {
                            None => out(&bytes[..n]),
                            Some(k) => {
                                let plain: Vec<u8> = bytes[..n]
                                    .iter()
                                    .enumerate()
                                    .map(|(i, b)| b ^ k[((self.offset + i as u64) % 4) as usize])
                                    .collect();
                                out(&plain);
                            }
                        }
                    }
                    self.offset += n as u64;
                    bytes = &bytes[n..];
                    self.part = if left == n as u64 {
                        self.got = 0;
                        Part::Header
                    } else {
                        Part::Payload {
                            left: left - n as u64,
                            data,
                        }
                    };
                }
            }
        }
    }

    /// The payload part once the frame header in `head[..got]` is complete.
    fn header_done(&mut self) -> Option<Part> {
        if self.got < 2 {
            return None;
        }
        let masked = self.head[1] & 0x80 != 0;
        let (len_bytes, mut len) = match self.head[1] & 0x7f {
            126 => (2, 0),
            127 => (8, 0),
            n => (0, u64::from(n)),
        };
        let need = 2 + len_bytes + if masked { 4 } else { 0 };
        if self.got < need {
            return None;
        }
        for &b in &self.head[2..2 + len_bytes] {
            len = (len << 8) | u64::from(b);
        }
        self.mask = masked.then(|| {
            let k = &self.head[2 + len_bytes..need];
            [k[0], k[1], k[2], k[3]]
        });
        self.offset = 0;
        // Continuation (0), text (1) and binary (2) frames carry MQTT; 8–10 are control.
        let data = self.head[0] & 0x0f <= 2;
        self.got = 0;
        Some(if len == 0 {
            Part::Header
        } else {
            Part::Payload { left: len, data }
        })
    }
}

impl Default for Unwrap {
    fn default() -> Self {
        Unwrap::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unwrap_in(chunks: &[&[u8]]) -> Vec<u8> {
        let mut u = Unwrap::new();
        let mut got = Vec::new();
        for c in chunks {
            u.push(c, &mut |b: &[u8]| got.extend_from_slice(b));
        }
        got
    }

    #[test]
    fn http_answer_then_frames_of_every_length_form() {
        let mut s = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n".to_vec();
        s.extend([0x82, 4, 0x20, 2, 0, 0]); // CONNACK in a binary frame
        s.extend([0x89, 1, b'x']); // a ping: not MQTT
        let big = vec![7u8; 300];
        s.extend([0x82, 126, 1, 44]); // 300 bytes, 16-bit length
        s.extend(&big);
        s.extend([0x02, 127, 0, 0, 0, 0, 0, 0, 0, 1, 0x90]); // 64-bit length, no FIN
        s.extend([0x80, 0x82, 1, 2, 3, 4, 3 ^ 1, 2]); // masked continuation: 3, 0
        let mut want = vec![0x20, 2, 0, 0];
        want.extend(&big);
        want.extend([0x90, 3, 0]);
        assert_eq!(unwrap_in(&[&s]), want);
        let bytes: Vec<&[u8]> = s.chunks(1).collect();
        assert_eq!(unwrap_in(&bytes), want);
        let odd: Vec<&[u8]> = s.chunks(7).collect();
        assert_eq!(unwrap_in(&odd), want);
    }

    #[test]
    fn header_lines_with_lone_cr_or_lf() {
        let s = b"HTTP/1.1 101 x\r\nA: b\r\r\nC: \n\r\n\r\n\x82\x02\xd0\x00";
        assert_eq!(unwrap_in(&[s]), vec![0xd0, 0]);
    }
}
