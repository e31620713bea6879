//! Malformed and unexpected packets from a fake broker (CONNACK, then something wrong):
//! mqtts-pub and mqtts-sub end cleanly with a message and a non-zero exit, or (sub)
//! reconnect silently as mosquitto_sub does until `-W` ends them. Never a crash or a hang.

mod common;
mod reliability_support;

use common::*;
use reliability_support::*;
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

const BOUND: Duration = Duration::from_secs(30);

/// A fake broker that accepts CONNECT, grants any SUBSCRIBE, then sends `bytes` and
/// keeps serving (PINGRESP, SUBACK …) until the client goes away.
fn after_subscribe(bytes: Vec<u8>) -> FakeBroker {
    FakeBroker::start(move |s: &mut TcpStream| {
        let Some(version) = accept_connect(s) else {
            return;
        };
        let v5 = version == 5;
        // Wait for the SUBSCRIBE, answer it, then misbehave.
        if let Some((first, body)) = read_packet(s)
            && first >> 4 == 8
        {
            let mut r = vec![0x90, 3, body[0], body[1]];
            if v5 {
                r = vec![0x90, 4, body[0], body[1], 0];
            }
            r.push(0);
            let _ = s.write_all(&r);
        }
        std::thread::sleep(Duration::from_millis(100));
        let _ = s.write_all(&bytes);
        serve_rest(s, v5);
    })
}

/// A fake broker that sends `bytes` right after its CONNACK.
fn after_connack(bytes: Vec<u8>) -> FakeBroker {
    FakeBroker::start(move |s: &mut TcpStream| {
        let Some(version) = accept_connect(s) else {
            return;
        };
        let _ = s.write_all(&bytes);
        serve_rest(s, version == 5);
    })
}

fn sub(fake: &FakeBroker, extra: &[&str]) -> RunOutput {
    let port = fake.port().to_string();
    let mut args = vec!["-h", "127.0.0.1", "-p", &port, "-t", "#", "-W", "4"];
    args.extend(extra);
    Run::prog(Prog::OursSub).args(args).timeout(BOUND).run()
}

fn publ(fake: &FakeBroker, extra: &[&str]) -> RunOutput {
    let port = fake.port().to_string();
    let mut args = vec!["-h", "127.0.0.1", "-p", &port, "-t", "t", "-m", "x"];
    args.extend(extra);
    Run::prog(Prog::OursPub).args(args).timeout(BOUND).run()
}

#[track_caller]
fn assert_clean_failure(out: &RunOutput) {
    assert!(!out.timed_out, "hung:\n{out}");
    assert!(
        out.signal.is_none(),
        "killed by signal ({}):\n{out}",
        status(out)
    );
    assert!(
        matches!(out.code, Some(c) if c != 0 && c != 101),
        "expected a non-zero exit that is not a panic, got {}:\n{out}",
        status(out)
    );
    assert!(!out.stderr_str().contains("panicked"), "panic:\n{out}");
}

/// Garbage where the next packet should be: the connection is dropped; mqtts-sub
/// reconnects silently (as mosquitto_sub) until -W ends it with 27 "Timed out".
#[test]
fn sub_garbage_after_suback() {
    let fake = after_subscribe(vec![0xff; 64]);
    let out = sub(&fake, &[]);
    assert_clean_failure(&out);
    assert_eq!(out.code, Some(27), "{out}");
    assert!(
        fake.accepted() >= 2,
        "expected a reconnect, {} connections",
        fake.accepted()
    );
}

/// A remaining length of more than four bytes (malformed varint).
#[test]
fn sub_bad_remaining_length() {
    let fake = after_subscribe(vec![0x30, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 1, b'a']);
    let out = sub(&fake, &[]);
    assert_clean_failure(&out);
    assert_eq!(out.code, Some(27), "{out}");
}

/// Packet types a broker must not send: a second CONNACK, a reserved type 0, and an
/// AUTH (15) on MQTT 3.1.1.
#[test]
fn sub_unexpected_packet_types() {
    for bytes in [
        vec![0x20, 2, 0, 0],
        vec![0x00, 0],
        vec![0xf0, 0],
        vec![0x10, 0],
        vec![0x62, 2, 0x12, 0x34],
    ] {
        let fake = after_subscribe(bytes.clone());
        let out = sub(&fake, &[]);
        eprintln!(
            "{bytes:02x?}: {} after {:?}, {} connection(s), stderr {:?}",
            status(&out),
            out.elapsed,
            fake.accepted(),
            out.stderr_str()
        );
        assert!(
            !out.timed_out && out.signal.is_none(),
            "{bytes:02x?}:\n{out}"
        );
        assert!(
            matches!(out.code, Some(c) if c != 101),
            "{bytes:02x?}: {}\n{out}",
            status(&out)
        );
    }
}

/// The broker answers the QoS 1 PUBLISH with garbage (paho drops the connection).
fn pub_against_garbage_puback() -> RunOutput {
    let fake = FakeBroker::start(|s: &mut TcpStream| {
        if accept_connect(s).is_none() {
            return;
        }
        // Wait for the PUBLISH, then answer garbage.
        let _ = read_packet(s);
        let _ = s.write_all(&[0xff; 16]);
        std::thread::sleep(Duration::from_secs(2));
    });
    publ(&fake, &["-q", "1"])
}

/// Garbage instead of a PUBACK: no crash, no hang.
#[test]
fn pub_garbage_instead_of_puback_ends() {
    for _ in 0..5 {
        let out = pub_against_garbage_puback();
        assert!(!out.timed_out && out.signal.is_none(), "{out}");
        assert!(!out.stderr_str().contains("panicked"), "{out}");
        assert!(matches!(out.code, Some(0 | 7)), "{out}");
    }
}

/// …and the unconfirmed message must make it fail (exit 7 with the count), every time.
#[test]
fn pub_garbage_instead_of_puback_fails() {
    for _ in 0..10 {
        let out = pub_against_garbage_puback();
        assert_clean_failure(&out);
        assert_eq!(out.code, Some(7), "{out}");
        assert!(
            out.stderr_str().contains("Error: The connection was lost.")
                && out.stderr_str().contains("1 message was not confirmed"),
            "{out}"
        );
    }
}

#[test]
fn pub_unexpected_publish_after_connack() {
    let fake = after_connack(publish_packet(b"x", b"unsolicited", false));
    let out = publ(&fake, &["-q", "1"]);
    assert!(!out.timed_out && out.signal.is_none(), "{out}");
    // paho delivers it to the (unused) message callback; the publish itself goes on.
    out.assert_success();
}

/// What paho-mqtt 0.14 cannot deliver: its C message callback unwraps the topic's UTF-8
/// and NUL checks (`async_client.rs:361-364`), and a panic there aborts the process.
/// `connection::paho_guard` turns that into mosquitto's "Malformed UTF-8" error, exit 18,
/// after printing every message received before. Without the guard these runs end with
/// SIGABRT and lose the earlier message.
const BAD_TOPICS: &[&[u8]] = &[b"bad/\xff\xfe", b"bad/\0/x", b"bad/\0/\xff"];

#[track_caller]
fn assert_malformed_utf8(out: &RunOutput, stdout: &str) {
    assert!(!out.timed_out, "hung:\n{out}");
    assert_eq!(
        out.code,
        Some(18),
        "expected exit 18 (Malformed UTF-8), got {}:\n{out}",
        status(out)
    );
    assert!(out.stderr_str().contains("Error: Malformed UTF-8"), "{out}");
    assert!(!out.stderr_str().contains("panicked"), "{out}");
    assert_eq!(out.stdout_str(), stdout, "{out}");
}

#[test]
fn sub_malformed_topic_ends_with_malformed_utf8() {
    for v5 in [false, true] {
        for topic in BAD_TOPICS {
            let fake = after_subscribe(
                [
                    publish_packet(b"ok/before", b"first", v5),
                    publish_packet(topic, b"payload", v5),
                    publish_packet(b"ok/after", b"never printed", v5),
                ]
                .concat(),
            );
            let v = if v5 { "5" } else { "311" };
            let out = sub(&fake, &["-v", "-V", v]);
            assert_malformed_utf8(&out, "ok/before first\n");
        }
    }
}

/// `--quiet` leaves the message out; the exit code still says what happened.
#[test]
fn sub_malformed_topic_quiet() {
    let fake = after_subscribe(
        [
            publish_packet(b"ok/before", b"first", false),
            publish_packet(BAD_TOPICS[0], b"payload", false),
        ]
        .concat(),
    );
    let out = sub(&fake, &["-v", "--quiet"]);
    assert_eq!(out.code, Some(18), "{out}");
    assert_eq!(out.stdout_str(), "ok/before first\n", "{out}");
    assert!(out.stderr.is_empty(), "{out}");
}

/// With -d, the trace lines before the bad message are kept too.
#[test]
fn sub_malformed_topic_with_debug() {
    let fake = after_subscribe(
        [
            publish_packet(b"ok/before", b"first", false),
            publish_packet(BAD_TOPICS[1], b"payload", false),
        ]
        .concat(),
    );
    let out = sub(&fake, &["-d"]);
    assert_eq!(out.code, Some(18), "{out}");
    let stdout = out.stdout_str();
    assert!(stdout.contains("received SUBACK"), "{out}");
    assert!(stdout.contains("first\n"), "{out}");
    assert!(!out.stderr_str().contains("panicked"), "{out}");
}

/// mqtts-pub never subscribes, but paho delivers an unsolicited PUBLISH to it all the
/// same. mqtts-pub's loop waits for its PUBACK and does not stop on the guard's wake-up,
/// so the guard ends the process itself (after about 5 s) with the same error.
#[test]
fn pub_unsolicited_malformed_topic() {
    let fake = FakeBroker::start(|s: &mut TcpStream| {
        if accept_connect(s).is_none() {
            return;
        }
        // After the client's PUBLISH (so mqtts-pub waits for its PUBACK, not the CONNACK).
        let _ = read_packet(s);
        let _ = s.write_all(&publish_packet(b"bad/\0", b"x", false));
        // Never acknowledge the QoS 1 publish.
        std::thread::sleep(Duration::from_secs(20));
    });
    let out = publ(&fake, &["-q", "1"]);
    assert_malformed_utf8(&out, "");
}

/// A QoS 1 PUBLISH the broker sends again (DUP set): the -d trace shows `d1` as
/// mosquitto_sub does (paho's trace has no DUP flag; it is read off the packet).
#[test]
fn sub_debug_shows_the_dup_flag() {
    // PUBLISH, DUP, QoS 1: topic "t/dup", packet id 1, payload "x".
    let mut p = vec![0x3a, 0];
    p.extend([0, 5]);
    p.extend(b"t/dup");
    p.extend([0, 1]);
    p.extend(b"x");
    p[1] = (p.len() - 2) as u8;
    let mut outs = Vec::new();
    for prog in [Prog::MosquittoSub, Prog::OursSub] {
        let fake = after_subscribe(p.clone());
        let port = fake.port().to_string();
        let args = [
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-t",
            "#",
            "-q",
            "1",
            "-C",
            "1",
            "-d",
            "-i",
            "dup",
            "-W",
            "10",
        ];
        let out = Run::prog(prog).args(args).timeout(BOUND).run();
        assert_eq!(out.code, Some(0), "{out}");
        outs.push(out);
    }
    let (theirs, ours) = (outs[0].stdout_str(), outs[1].stdout_str());
    assert!(
        ours.contains("Client dup received PUBLISH (d1, q1, r0, m1, 't/dup', ... (1 bytes))"),
        "{}",
        outs[1]
    );
    assert_eq!(ours, theirs, "{}\n{}", outs[1], outs[0]);
}
