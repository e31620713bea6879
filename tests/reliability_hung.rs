//! A hung broker: a port that accepts the TCP connection and then never answers, in plain
//! MQTT (no CONNACK) and in TLS (the handshake never completes). mqtts-pub and mqtts-sub
//! must end on their own, with a message naming the situation and a non-zero exit.
//!
//! How long: paho's connect timeout is the keepalive (`-k`, at most 30 s; see
//! `plan::connect_timeout`), then `tls::diagnose_after` spends one bounded probe (~3 s)
//! to tell a silent peer from the other causes. So `-k 5` ends after about 8–10 s.

mod common;
mod reliability_support;

use common::*;
use reliability_support::{FakeBroker, status};
use std::time::Duration;

/// Generous bound for `-k 5` (5 s + ~3 s probe), for a loaded machine.
const BOUND: Duration = Duration::from_secs(25);

fn run_against(prog: Prog, port: u16, extra: &[&str]) -> RunOutput {
    let port = port.to_string();
    let mut args = vec!["-h", "127.0.0.1", "-p", &port, "-k", "5", "-t", "hung/t"];
    if prog == Prog::OursPub {
        args.extend(["-m", "x"]);
    }
    args.extend(extra);
    Run::prog(prog)
        .args(args)
        .timeout(BOUND + Duration::from_secs(15))
        .run()
}

fn assert_ends(out: &RunOutput, needle: &str) {
    assert!(!out.timed_out, "hung instead of ending:\n{out}");
    assert!(
        out.elapsed < BOUND,
        "took {:?} (bound {BOUND:?}):\n{out}",
        out.elapsed
    );
    assert!(
        matches!(out.code, Some(c) if c != 0),
        "expected a non-zero exit, got {}:\n{out}",
        status(out)
    );
    assert!(
        out.stderr_str().contains(needle),
        "stderr should name the situation ({needle:?}):\n{out}"
    );
    assert!(
        !out.stderr_str().contains("panicked"),
        "panic on stderr:\n{out}"
    );
}

#[test]
fn pub_ends_when_broker_never_sends_connack() {
    let fake = FakeBroker::silent();
    let out = run_against(Prog::OursPub, fake.port(), &[]);
    assert_ends(&out, "sent no CONNACK within 5 s");
    assert_eq!(out.code, Some(7), "{out}");
    assert!(fake.accepted() >= 1);
}

#[test]
fn sub_ends_when_broker_never_sends_connack() {
    let fake = FakeBroker::silent();
    let out = run_against(Prog::OursSub, fake.port(), &[]);
    assert_ends(&out, "sent no CONNACK within 5 s");
    assert_eq!(out.code, Some(7), "{out}");
}

#[test]
fn pub_ends_when_tls_handshake_never_completes() {
    let fake = FakeBroker::silent();
    let ca = pki().ca.display().to_string();
    let out = run_against(Prog::OursPub, fake.port(), &["--cafile", &ca]);
    assert_ends(&out, "TLS handshake did not complete within 5 s");
    assert_eq!(out.code, Some(8), "{out}");
}

#[test]
fn sub_ends_when_tls_handshake_never_completes() {
    let fake = FakeBroker::silent();
    let ca = pki().ca.display().to_string();
    let out = run_against(Prog::OursSub, fake.port(), &["--cafile", &ca]);
    assert_ends(&out, "TLS handshake did not complete within 5 s");
    assert_eq!(out.code, Some(8), "{out}");
}

/// With `-d` the trace shows the CONNECT that went unanswered, and the run still ends.
#[test]
fn pub_debug_shows_the_unanswered_connect() {
    let fake = FakeBroker::silent();
    let out = run_against(Prog::OursPub, fake.port(), &["-d"]);
    assert_ends(&out, "sent no CONNACK");
    assert!(out.stdout_str().contains("sending CONNECT"), "{out}");
}

/// The diagnosis alone is bounded and names the silent peer (no paho involved).
#[test]
fn diagnose_after_names_a_silent_peer() {
    let fake = FakeBroker::silent();
    let start = std::time::Instant::now();
    let f = mqtts::tls::diagnose_after("127.0.0.1", fake.port(), None, Duration::from_secs(7));
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "{:?}",
        start.elapsed()
    );
    assert!(f.lines[0].contains("no CONNACK within 7 s"), "{f:?}");
    assert_ne!(f.code, 0);
}

/// The broker hangs after CONNACK (a half-open connection: it reads, never answers, not
/// even PINGREQ): mqtts-pub -l -q 1 waiting for stdin finds it through the keepalive,
/// reconnects (as mosquitto_pub), publishes the unconfirmed line again on the new
/// connection, where it is acknowledged, and exits 0 at end of input.
#[test]
fn pub_line_mode_reconnects_when_broker_stops_answering_pings() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let conns = std::sync::Arc::new(AtomicUsize::new(0));
    let publishes_on_second = std::sync::Arc::new(AtomicUsize::new(0));
    let (c, p2) = (conns.clone(), publishes_on_second.clone());
    let fake = FakeBroker::start(move |s| {
        let first = c.fetch_add(1, Ordering::SeqCst) == 0;
        if reliability_support::accept_connect(s).is_none() {
            return;
        }
        if first {
            // Read and ignore everything (PINGREQ included).
            while reliability_support::read_packet(s).is_some() {}
            return;
        }
        // Second connection: acknowledge as a broker would, counting the PUBLISHes.
        while let Some((first_byte, body)) = reliability_support::read_packet(s) {
            use std::io::Write;
            match first_byte >> 4 {
                3 => {
                    p2.fetch_add(1, Ordering::SeqCst);
                    // QoS 1: topic, then the packet id.
                    let tl = u16::from_be_bytes([body[0], body[1]]) as usize;
                    let _ = s.write_all(&[0x40, 2, body[2 + tl], body[3 + tl]]);
                }
                12 => {
                    let _ = s.write_all(&[0xD0, 0]);
                }
                14 => return,
                _ => {}
            }
        }
    });
    let port = fake.port().to_string();
    let mut p = Run::prog(Prog::OursPub)
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-k",
            "5",
            "-t",
            "t",
            "-l",
            "-q",
            "1",
        ])
        .stdin_pipe()
        .timeout(Duration::from_secs(60))
        .spawn();
    // stdin stays open: only the keepalive can find the hang.
    p.write_stdin(b"one\n").unwrap();
    assert!(
        wait_until(Duration::from_secs(40), || publishes_on_second
            .load(Ordering::SeqCst)
            >= 1),
        "the line was not published again on a second connection (accepted {})",
        fake.accepted()
    );
    // End of input: exit 0 once the line is confirmed.
    let out = p.wait(Duration::from_secs(20));
    assert!(!out.timed_out, "hung:\n{out}");
    assert_eq!(out.code, Some(0), "{out}");
    let err = out.stderr_str();
    assert_eq!(err.matches("The connection was lost").count(), 1, "{out}");
    assert_eq!(err.matches("Reconnected after").count(), 1, "{out}");
    assert!(err.contains("1 unconfirmed line published again."), "{out}");
    assert_eq!(fake.accepted(), 2, "{out}");
}
