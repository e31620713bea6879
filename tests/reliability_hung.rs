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

/// The broker hangs after CONNACK (no PINGRESP): mqtts-pub -l waiting for stdin notices
/// through the keepalive and ends non-zero (7, a lost connection; mosquitto_pub would
/// reconnect, the documented -l difference).
#[test]
fn pub_line_mode_ends_when_broker_stops_answering_pings() {
    let fake = FakeBroker::start(|s| {
        if reliability_support::accept_connect(s).is_none() {
            return;
        }
        // Read and ignore everything (PINGREQ included).
        while reliability_support::read_packet(s).is_some() {}
    });
    let port = fake.port().to_string();
    let mut p = Run::prog(Prog::OursPub)
        .args(["-h", "127.0.0.1", "-p", &port, "-k", "5", "-t", "t", "-l"])
        .stdin_pipe()
        .timeout(Duration::from_secs(40))
        .spawn();
    // stdin stays open: the only way out is the keepalive.
    p.write_stdin(b"one\n").unwrap();
    // (`wait` would close stdin: poll instead.)
    let start = std::time::Instant::now();
    while p.is_running() && start.elapsed() < Duration::from_secs(40) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = p.wait(Duration::ZERO);
    assert!(!out.timed_out, "hung:\n{out}");
    assert!(out.elapsed < Duration::from_secs(30), "{out}");
    assert_eq!(out.code, Some(mqtts::exit::CONN_LOST), "{out}");
}
