//! A minimal MQTT server (3.1.1 and 5) that refuses subscriptions: mosquitto 2.0's own
//! ACLs never refuse one, so the clients' reaction to a failed SUBACK (mosquitto_sub's
//! "All subscription requests were denied.", mosquitto_rr's reason string) needs it.

/// Reads one MQTT packet: (first byte, body).
pub fn read_packet(s: &mut std::net::TcpStream) -> Option<(u8, Vec<u8>)> {
    use std::io::Read;
    let mut b = [0u8; 1];
    s.read_exact(&mut b).ok()?;
    let first = b[0];
    let (mut len, mut mult) = (0usize, 1usize);
    loop {
        s.read_exact(&mut b).ok()?;
        len += (b[0] & 127) as usize * mult;
        mult *= 128;
        if b[0] & 128 == 0 {
            break;
        }
    }
    let mut body = vec![0; len];
    s.read_exact(&mut body).ok()?;
    Some((first, body))
}

/// A minimal MQTT server (3.1.1 and 5) that accepts every CONNECT and answers each
/// SUBSCRIBE with 0x80 (failure) for filters starting with `denied/`, else granted QoS 0.
/// mosquitto 2.0's own ACLs never refuse a subscription (its acl_file ignores SUBSCRIBE).
pub fn denying_server() -> u16 {
    use std::io::Write;
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut v5 = false;
                while let Some((first, body)) = read_packet(&mut s) {
                    let reply: Vec<u8> = match first >> 4 {
                        1 => {
                            v5 = body.get(6) == Some(&5);
                            if v5 {
                                vec![0x20, 3, 0, 0, 0]
                            } else {
                                vec![0x20, 2, 0, 0]
                            }
                        }
                        8 => {
                            let mut i = 2;
                            if v5 {
                                i += 1 + body[2] as usize; // short property length
                            }
                            let mut codes = Vec::new();
                            while i + 2 <= body.len() {
                                let n = u16::from_be_bytes([body[i], body[i + 1]]) as usize;
                                let f = &body[i + 2..i + 2 + n];
                                codes.push(if f.starts_with(b"denied/") { 0x80 } else { 0 });
                                i += 3 + n;
                            }
                            let mut r = vec![body[0], body[1]];
                            if v5 {
                                r.push(0);
                            }
                            r.extend(codes);
                            let mut p = vec![0x90, r.len() as u8];
                            p.extend(r);
                            p
                        }
                        12 => vec![0xd0, 0],
                        14 => break,
                        _ => continue,
                    };
                    if s.write_all(&reply).is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}
