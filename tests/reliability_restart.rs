//! Broker restart mid-stream. Nothing a tool reported as delivered may be lost:
//!
//! * `mqtts-pub -l -q 1`: either it reconnects and finishes (exit 0: every line reached a
//!   persistent subscriber), or it exits non-zero saying how many lines were not
//!   confirmed; then every line whose PUBACK it received (`-d` shows them) must have
//!   reached the subscriber.
//! * `mqtts-sub -c -i ID -q 1`: reconnects silently (as mosquitto_sub) and receives every
//!   message the broker accepted, including those queued for its session while it was
//!   away.
//!
//! The restart is a clean one (`Broker::restart`: SIGTERM, the broker saves its
//! persistence database): with a crash (SIGKILL) the broker itself may lose messages it
//! acknowledged, which says nothing about the tools.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

fn private_broker() -> Broker {
    Broker::builder().tls12only(false).start()
}

fn line(i: usize) -> String {
    format!("line-{i:05}")
}

fn received(lines: &[String]) -> BTreeSet<String> {
    lines.iter().cloned().collect()
}

/// The mids of the PUBACKs in a `-d` trace, in order.
fn pubacks(trace: &str) -> Vec<usize> {
    trace
        .lines()
        .filter_map(|l| l.split("received PUBACK (Mid: ").nth(1))
        .filter_map(|r| r.split(',').next()?.parse().ok())
        .collect()
}

/// Stream `-l -q 1` through a broker restart; returns the publisher's result and the
/// lines it reported delivered (all lines on exit 0, the PUBACKed ones otherwise) that
/// the persistent subscriber never got.
fn pub_line_mode_through_restart() -> (RunOutput, Vec<String>) {
    let mut b = private_broker();
    let conn = b.client_args("plain");
    let topic = unique_topic("restart-pub");
    let sub_id = format!("restart-sub-{}", std::process::id());
    // The persistent subscriber is mosquitto_sub: it reconnects by itself, and the broker
    // queues QoS 1 messages for its session while it is away.
    let sub = start_subscriber(
        &b,
        Prog::MosquittoSub,
        [
            conn.clone(),
            strs(&["-t", &topic, "-q", "1", "-c", "-i", &sub_id]),
        ]
        .concat(),
    );
    const N: usize = 2000;
    let mut publisher = Run::prog(Prog::OursPub)
        .args([conn, strs(&["-t", &topic, "-l", "-q", "1", "-d"])].concat())
        .stdin_pipe()
        .timeout(Duration::from_secs(90))
        .spawn();
    let first: String = (1..=N / 2).map(|i| format!("{}\n", line(i))).collect();
    publisher.write_stdin(first.as_bytes()).unwrap();
    // Restart once the stream is flowing.
    assert!(
        sub.wait_for_lines(N / 10, Duration::from_secs(20)),
        "no stream before the restart"
    );
    b.restart();
    let rest: String = (N / 2 + 1..=N).map(|i| format!("{}\n", line(i))).collect();
    // The publisher may have exited already (connection lost): ignore a broken pipe.
    let _ = publisher.write_stdin(rest.as_bytes());
    publisher.close_stdin();
    let out = publisher.wait(Duration::from_secs(60));
    assert!(
        !out.timed_out,
        "mqtts-pub -l hung after the restart:\n{out}"
    );
    assert!(out.signal.is_none(), "{out}");

    let expected: Vec<String> = if out.code == Some(0) {
        (1..=N).map(line).collect()
    } else {
        // It gave up: it must say how many lines were not confirmed, and every line it
        // saw a PUBACK for (mid i = line i on the first connection) must have arrived.
        let err = out.stderr_str();
        assert!(
            err.contains("were not confirmed by the broker"),
            "a non-zero exit must count the unconfirmed lines:\n{out}"
        );
        pubacks(&out.stdout_str())
            .into_iter()
            .filter(|&m| m <= N)
            .map(line)
            .collect()
    };
    // Lines flowed before the restart, so some were confirmed: never a vacuous check.
    assert!(!expected.is_empty(), "no PUBACK in the -d trace:\n{out}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let missing = loop {
        let got = received(&sub.lines());
        let missing: Vec<&String> = expected.iter().filter(|l| !got.contains(*l)).collect();
        if missing.is_empty() || Instant::now() >= deadline {
            break missing.into_iter().cloned().collect::<Vec<_>>();
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = sub.stop_with(libc::SIGTERM, Duration::from_secs(10));
    (out, missing)
}

/// Whatever mqtts-pub -l did about the restart, no line it reported delivered is lost,
/// and a non-zero exit counts the unconfirmed lines.
#[test]
fn pub_line_mode_restart_loses_nothing_reported_delivered() {
    let (out, missing) = pub_line_mode_through_restart();
    assert!(
        missing.is_empty(),
        "{} line(s) reported delivered were lost, e.g. {:?}\n{out}",
        missing.len(),
        &missing[..missing.len().min(5)],
    );
}

/// The behaviour wanted (as mosquitto_pub -l, which reconnects): finish with exit 0.
#[test]
#[ignore = "mqtts-pub -l does not reconnect yet (main 4284690): exits 7 with 'Error: The connection was lost.' and 'N of the M lines published were not confirmed by the broker; input after line M was not published.'"]
fn pub_line_mode_reconnects_after_broker_restart() {
    let (out, missing) = pub_line_mode_through_restart();
    assert_eq!(
        out.code,
        Some(0),
        "mqtts-pub -l -q 1 did not reconnect after the broker restart:\n{out}"
    );
    assert!(missing.is_empty(), "{missing:?}");
}

#[test]
fn persistent_sub_survives_broker_restart() {
    let mut b = private_broker();
    let conn = b.client_args("plain");
    let topic = unique_topic("restart-sub");
    let id = format!("restart-ours-{}", std::process::id());
    let sub = start_subscriber(
        &b,
        Prog::OursSub,
        [
            conn.clone(),
            strs(&["-t", &topic, "-q", "1", "-c", "-i", &id]),
        ]
        .concat(),
    );
    const N: usize = 300;
    let publish = |from: usize, to: usize| {
        let input: String = (from..=to).map(|i| format!("{}\n", line(i))).collect();
        Run::prog(Prog::MosquittoPub)
            .args([conn.clone(), strs(&["-t", &topic, "-l", "-q", "1"])].concat())
            .stdin(input)
            .timeout(Duration::from_secs(30))
            .run()
    };
    // Acknowledged by the broker before the restart …
    publish(1, N / 2).assert_success();
    b.restart();
    // … and after it, while mqtts-sub may still be reconnecting (queued for its session).
    publish(N / 2 + 1, N).assert_success();
    let all: Vec<String> = (1..=N).map(line).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let got = received(&sub.lines());
        if all.iter().all(|l| got.contains(l)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = sub.stop_with(libc::SIGTERM, Duration::from_secs(10));
    assert_eq!(out.code, Some(0), "{out}");
    let got = received(
        &out.stdout_str()
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>(),
    );
    let missing: Vec<&String> = all.iter().filter(|l| !got.contains(*l)).collect();
    assert!(
        missing.is_empty(),
        "mqtts-sub -c lost {} message(s) across the restart, e.g. {:?}\nstderr:\n{}",
        missing.len(),
        &missing[..missing.len().min(5)],
        out.stderr_str()
    );
    assert!(out.stderr.is_empty(), "reconnect must be silent:\n{out}");
}

/// Messages queued for a persistent session while mqtts-sub was not running come right
/// after the CONNACK of the next run, before the connect request completes; they were
/// dropped there (found by the restart test above; fixed in `Connection::await_done`).
#[test]
fn persistent_sub_gets_messages_queued_while_away() {
    let b = Broker::shared();
    let conn = b.client_args("plain");
    let topic = unique_topic("queued");
    let id = format!("queued-{}", std::process::id());
    let sub_args = [
        conn.clone(),
        strs(&["-t", &topic, "-q", "1", "-c", "-i", &id]),
    ]
    .concat();
    // Create the session, then leave.
    let first = start_subscriber(b, Prog::OursSub, &sub_args);
    first
        .stop_with(libc::SIGTERM, Duration::from_secs(10))
        .assert_success();
    const N: usize = 200;
    let input: String = (1..=N).map(|i| format!("{}\n", line(i))).collect();
    Run::prog(Prog::MosquittoPub)
        .args([conn, strs(&["-t", &topic, "-l", "-q", "1"])].concat())
        .stdin(input)
        .run()
        .assert_success();
    let out = Run::prog(Prog::OursSub)
        .args(&sub_args)
        .args(["-C", &N.to_string()])
        .timeout(Duration::from_secs(20))
        .run();
    out.assert_success();
    let text = out.stdout_str();
    let got: Vec<&str> = text.lines().collect();
    let want: Vec<String> = (1..=N).map(line).collect();
    assert_eq!(got, want, "{out}");
}
