//! Broker restart mid-stream. Nothing a tool reported as delivered may be lost:
//!
//! * `mqtts-pub -l` (QoS 1 and 2): reconnects as mosquitto_pub does (input waits
//!   meanwhile), publishes again what was not confirmed, and exits 0 once every line
//!   reached a persistent subscriber; stderr says once that the connection was lost and
//!   once that it is back. A refusal at reconnect ends the run with mosquitto's message
//!   and code, and the count of lines not confirmed.
//! * `mqtts-sub -c -i ID -q 1`: reconnects silently (as mosquitto_sub) and receives every
//!   message the broker accepted, including those queued for its session while it was
//!   away.
//!
//! The restart is a clean one (`Broker::restart`: SIGTERM, the broker saves its
//! persistence database): with a crash (SIGKILL) the broker itself may lose messages it
//! acknowledged, which says nothing about the tools.

mod common;
mod reliability_support;

use common::*;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// A broker that queues without limit for the offline subscriber: the publisher often
/// reconnects before the subscriber, and mosquitto's default queue (1,000 messages per
/// offline session) would drop lines the publisher was rightly told were delivered (seen:
/// lines 1211-2000 of 2000 missing, exactly 1,000 after the 210 before the restart).
fn private_broker() -> Broker {
    Broker::builder()
        .tls12only(false)
        .config("max_queued_messages 0")
        .start()
}

/// A persistent subscriber (`-c -i ID`) at `qos` on `topic`: it reconnects by itself
/// and the broker queues for its session while it is away.
fn persistent_sub(
    b: &Broker,
    prog: Prog,
    conn: &[String],
    topic: &str,
    qos: u8,
    id: &str,
) -> Background {
    let q = qos.to_string();
    let args = [
        conn.to_vec(),
        strs(&["-t", topic, "-q", &q, "-c", "-i", id]),
    ]
    .concat();
    start_subscriber(b, prog, args)
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

/// How the broker goes away mid-stream.
#[derive(Clone, Copy)]
enum Cut {
    /// Clean restart at once.
    Restart,
    /// Stopped, down for this long, started again.
    Outage(Duration),
    /// The publisher's connection (through a TCP relay) is reset both ways; the broker
    /// stays up.
    Reset,
}

/// What a `-l` stream through a cut gave.
struct Streamed {
    out: RunOutput,
    /// Lines (of `expected`) the persistent subscriber never got.
    missing: Vec<String>,
    /// Lines the subscriber got more than once.
    duplicates: usize,
}

/// Stream N lines into `mqtts-pub -l -q QOS` (plus `extra`) through `cut`; on exit 0 every
/// line counts as reported delivered, otherwise those whose PUBACK the `-d` trace shows.
fn stream_through(qos: u8, cut: Cut, extra: &[&str]) -> Streamed {
    stream_to(qos, 1, cut, extra, "plain", 2000)
}

/// [`stream_through`] with the subscriber at `sub_qos`, both on `listener`, `n` lines.
fn stream_to(qos: u8, sub_qos: u8, cut: Cut, extra: &[&str], listener: &str, n: usize) -> Streamed {
    #[allow(non_snake_case)]
    let N = n;
    let mut b = private_broker();
    let conn = b.client_args(listener);
    let topic = unique_topic("restart-pub");
    let sub_id = format!("restart-sub-{}-{qos}", std::process::id());
    // The persistent subscriber is mosquitto_sub: it reconnects by itself, and the broker
    // queues QoS 1 messages for its session while it is away.
    let sub = persistent_sub(&b, Prog::MosquittoSub, &conn, &topic, sub_qos, &sub_id);
    let q = qos.to_string();
    let relay = reliability_support::relay::Relay::start(b.port(listener));
    let mut conn = conn;
    if matches!(cut, Cut::Reset) {
        let i = conn.iter().position(|a| a == "-p").unwrap();
        conn[i + 1] = relay.port().to_string();
    }
    let mut publisher = Run::prog(Prog::OursPub)
        .args(
            [
                conn,
                strs(&["-t", &topic, "-l", "-q", &q, "-d"]),
                strs(extra),
            ]
            .concat(),
        )
        .stdin_pipe()
        .timeout(Duration::from_secs(120))
        .spawn();
    let first: String = (1..=N / 2).map(|i| format!("{}\n", line(i))).collect();
    publisher.write_stdin(first.as_bytes()).unwrap();
    // Cut once the stream is flowing.
    assert!(
        sub.wait_for_lines(N / 10, Duration::from_secs(20)),
        "no stream before the restart"
    );
    match cut {
        Cut::Restart => b.restart(),
        Cut::Outage(d) => {
            b.stop();
            std::thread::sleep(d);
            b.restart();
        }
        Cut::Reset => {
            relay.reset_all();
            assert!(
                wait_until(Duration::from_secs(30), || relay.accepted() >= 2),
                "no second connection through the relay"
            );
        }
    }
    let rest: String = (N / 2 + 1..=N).map(|i| format!("{}\n", line(i))).collect();
    // The publisher may have exited already (connection lost): ignore a broken pipe.
    let _ = publisher.write_stdin(rest.as_bytes());
    publisher.close_stdin();
    let out = publisher.wait(Duration::from_secs(90));
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
            err.contains("not confirmed by the broker"),
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
    let lines = sub.lines();
    let duplicates = lines.len() - received(&lines).len();
    let _ = sub.stop_with(libc::SIGTERM, Duration::from_secs(10));
    Streamed {
        out,
        missing,
        duplicates,
    }
}

/// Whatever mqtts-pub -l did about the restart, no line it reported delivered is lost,
/// and a non-zero exit counts the unconfirmed lines.
#[test]
fn pub_line_mode_restart_loses_nothing_reported_delivered() {
    let s = stream_through(1, Cut::Restart, &[]);
    assert!(
        s.missing.is_empty(),
        "{} line(s) reported delivered were lost, e.g. {:?}\n{}",
        s.missing.len(),
        &s.missing[..s.missing.len().min(5)],
        s.out
    );
}

/// A long pipeline through several broker restarts, without `-d` (the quiet path, where
/// completions are collected a window at a time): each restart is ridden out, every line
/// arrives, exit 0, in bounded time. (A result dropped on that path once left a publish
/// outstanding for ever: about 1 restart in 8 hung the run.)
#[test]
fn pub_line_mode_survives_repeated_restarts_quietly() {
    use std::io::Write;
    const N: usize = 30_000;
    const RESTARTS: usize = 4;
    let mut b = private_broker();
    let conn = b.client_args("plain");
    let topic = unique_topic("restarts");
    let sub_id = format!("restarts-sub-{}", std::process::id());
    let sub = persistent_sub(&b, Prog::MosquittoSub, &conn, &topic, 1, &sub_id);
    let mut publisher = Run::prog(Prog::OursPub)
        .args([conn, strs(&["-t", &topic, "-l", "-q", "1"])].concat())
        .stdin_pipe()
        .timeout(Duration::from_secs(150))
        .spawn();
    let mut stdin = publisher.take_stdin().unwrap();
    // Written as fast as the pipe takes them (held back while the broker is away).
    let writer = std::thread::spawn(move || {
        for i in 1..=N {
            if stdin
                .write_all(format!("{}\n", line(i)).as_bytes())
                .is_err()
            {
                return;
            }
        }
    });
    for k in 1..=RESTARTS {
        // Each restart once the stream has moved on since the one before.
        let _ = sub.wait_for_lines(k * N / (RESTARTS + 2), Duration::from_secs(30));
        b.restart();
    }
    let out = publisher.wait(Duration::from_secs(120));
    writer.join().unwrap();
    assert!(!out.timed_out, "mqtts-pub -l hung across restarts:\n{out}");
    assert_eq!(out.code, Some(0), "{out}");
    let err = out.stderr_str();
    let lost = err.matches("The connection was lost").count();
    assert!(
        (1..=RESTARTS).contains(&lost) && err.matches("Reconnected after ").count() == lost,
        "{out}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let missing = loop {
        let got = received(&sub.lines());
        let missing = (1..=N).filter(|&i| !got.contains(&line(i))).count();
        if missing == 0 || Instant::now() >= deadline {
            break missing;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = sub.stop_with(libc::SIGTERM, Duration::from_secs(10));
    assert_eq!(missing, 0, "{missing} of {N} lines never arrived\n{out}");
}

/// Exit 0, every line arrived, and stderr said once "lost" and once "back".
fn assert_rode_it_out(s: &Streamed) {
    let out = &s.out;
    assert_eq!(
        out.code,
        Some(0),
        "mqtts-pub -l did not ride out the cut:\n{out}"
    );
    assert!(
        s.missing.is_empty(),
        "lines lost: {:?} ({} duplicates)\n{out}",
        s.missing,
        s.duplicates
    );
    let err = out.stderr_str();
    assert_eq!(
        err.matches("Warning: The connection was lost; reconnecting")
            .count(),
        1,
        "{out}"
    );
    assert_eq!(err.matches("Reconnected after ").count(), 1, "{out}");
    // -d: the new CONNECT/CONNACK pair, as mosquitto_pub prints it.
    let trace = out.stdout_str();
    assert_eq!(trace.matches(" sending CONNECT\n").count(), 2, "{out}");
    assert_eq!(trace.matches(" received CONNACK (0)\n").count(), 2, "{out}");
}

/// Issue 13's measure: every line of a 10,000-line pipe arrives across the cut, exit 0
/// (bench/reconnect prints mosquitto_pub's figures for the same runs).
fn ten_thousand(qos: u8, cut: Cut) {
    assert_rode_it_out(&stream_to(qos, 1, cut, &[], "plain", 10_000));
}

/// As mosquitto_pub -l, it reconnects, and unlike it loses nothing: exit 0.
#[test]
fn pub_line_mode_reconnects_after_broker_restart() {
    ten_thousand(1, Cut::Restart);
}

#[test]
fn pub_line_mode_qos2_reconnects_after_broker_restart() {
    ten_thousand(2, Cut::Restart);
}

/// A broker that stays away for 3 s (several failed attempts, one message each way on
/// stderr).
#[test]
fn pub_line_mode_qos1_rides_out_a_3s_outage() {
    ten_thousand(1, Cut::Outage(Duration::from_secs(3)));
}

#[test]
fn pub_line_mode_qos2_rides_out_a_3s_outage() {
    ten_thousand(2, Cut::Outage(Duration::from_secs(3)));
}

/// `-c` with a fixed id: the session the broker kept continues (paho resends its
/// in-flight QoS 2 messages, DUP set) and every line arrives.
#[test]
fn pub_line_mode_qos2_session_resumes_after_restart() {
    let id = format!("restart-pub-{}", std::process::id());
    // (A QoS 2 subscription: at QoS 1 the broker's own resends to the subscriber after its
    // restart would show as duplicates.)
    let s = stream_to(2, 2, Cut::Restart, &["-c", "-i", &id], "plain", 2000);
    assert_rode_it_out(&s);
    // Not asserted: exactly once. Runs showed 0 or 1 duplicate at the QoS 2 subscriber,
    // and whether it comes from this session or from the broker's resend to the
    // subscriber after its restart (mosquitto_sub does not drop a QoS 2 resend it
    // received before its own reconnect) is not settled.
}

/// A connection reset mid-stream by a relay (the broker stays up, keeps the old
/// connection's messages): reconnect, every line arrives, exit 0.
#[test]
fn pub_line_mode_rides_out_a_connection_reset_mid_stream() {
    assert_rode_it_out(&stream_through(1, Cut::Reset, &[]));
}

/// MQTT 5 with a topic alias: the alias belongs to the connection, so after the reconnect
/// the first PUBLISH names the topic again (a message kept with only the alias is
/// published with the topic); every line arrives, exit 0.
///
/// Not asserted: one lost/back pair (a line handed in just as the connection went can
/// still reach the new one first with only the alias; the broker ends that one too, and
/// the next names the topic). Before mqtts-pub held the window to `-M` with an alias,
/// paho's queue sent such lines first after every reconnect: 6 of 6 runs ended with 7.
#[test]
fn pub_line_mode_topic_alias_survives_a_restart() {
    let s = stream_to(
        1,
        1,
        Cut::Restart,
        &["-V", "5", "-D", "publish", "topic-alias", "1"],
        "plain",
        2000,
    );
    assert_eq!(s.out.code, Some(0), "{}", s.out);
    assert!(
        s.missing.is_empty(),
        "lines lost: {:?}\n{}",
        s.missing,
        s.out
    );
}

/// The same over TLS (a new handshake at reconnect, host name verified).
#[test]
fn pub_line_mode_reconnects_over_tls() {
    assert_rode_it_out(&stream_to(1, 1, Cut::Restart, &[], "tls", 2000));
}

/// The broker comes back with a certificate that no longer verifies (rotated to one for
/// another host name): the reconnect fails as a first connect to it fails (same
/// diagnosis, same exit code), plus the count of lines not confirmed.
#[test]
fn pub_line_mode_tls_failure_at_reconnect_is_diagnosed_as_a_first_connect() {
    let mut b = private_broker();
    let topic = unique_topic("rotated");
    let args = [b.client_args("tls"), strs(&["-t", &topic, "-l", "-q", "1"])].concat();
    let p = line_publisher_streaming(&b, Prog::OursPub, "tls", &topic, Duration::from_secs(60));
    b.stop();
    assert!(
        stderr_shows(&p, "The connection was lost", Duration::from_secs(20)),
        "idle TLS connection: the loss was not noticed\n{}",
        String::from_utf8_lossy(&p.stderr())
    );
    let pki = pki();
    let conf = std::fs::read_to_string(b.config_path()).unwrap();
    let good = format!("certfile {}\n", pki.server_cert.display());
    assert!(conf.contains(&good), "{conf}");
    let rotated = format!("certfile {}\n", pki.server_wrong_host_cert.display());
    std::fs::write(b.config_path(), conf.replace(&good, &rotated)).unwrap();
    b.restart();
    let out = p.wait(Duration::from_secs(40));
    assert!(!out.timed_out, "{out}");
    let first = Run::prog(Prog::OursPub)
        .args(&args)
        .stdin("x\n")
        .timeout(Duration::from_secs(40))
        .run();
    assert_ne!(first.code, Some(0), "{first}");
    assert_eq!(
        out.code, first.code,
        "reconnect:\n{out}\nfirst connect:\n{first}"
    );
    let err = out.stderr_str();
    assert!(
        err.contains("Warning: The connection was lost; reconnecting"),
        "{out}"
    );
    assert!(
        err.contains(&first.stderr_str()),
        "reconnect:\n{out}\nfirst connect:\n{first}"
    );
    assert!(
        err.ends_with("0 of the 2 lines read were not confirmed by the broker.\n"),
        "{out}"
    );
}

/// `--repeat N` rides out a broker restart too (every one of the N messages arrives,
/// exit 0), where mosquitto_pub ends with "The connection was lost." and 7 (measured
/// side by side: a documented difference).
#[test]
fn pub_repeat_reconnects_where_mosquitto_pub_ends_with_7() {
    let run = |prog: Prog| -> (RunOutput, usize) {
        let mut b = private_broker();
        let conn = b.client_args("plain");
        let topic = unique_topic("repeat");
        let sub_id = format!("repeat-sub-{}-{}", std::process::id(), prog.name());
        let sub = persistent_sub(&b, Prog::MosquittoSub, &conn, &topic, 1, &sub_id);
        let p = Run::prog(prog)
            .args(
                [
                    conn,
                    strs(&[
                        "-t",
                        &topic,
                        "-q",
                        "1",
                        "-m",
                        "hi",
                        "--repeat",
                        "6",
                        "--repeat-delay",
                        "1",
                    ]),
                ]
                .concat(),
            )
            .timeout(Duration::from_secs(60))
            .spawn();
        assert!(sub.wait_for_lines(2, Duration::from_secs(20)), "no stream");
        b.restart();
        let out = p.wait(Duration::from_secs(40));
        assert!(!out.timed_out, "{out}");
        if out.code == Some(0) {
            assert!(sub.wait_for_lines(6, Duration::from_secs(20)), "{out}");
        }
        std::thread::sleep(Duration::from_millis(500));
        let n = sub.lines().len();
        let _ = sub.stop_with(libc::SIGTERM, Duration::from_secs(10));
        (out, n)
    };
    let (theirs, _) = run(Prog::MosquittoPub);
    assert_eq!(theirs.code, Some(7), "{theirs}");
    assert_eq!(
        theirs.stderr_str(),
        "Error: The connection was lost.\n",
        "{theirs}"
    );
    let (ours, arrived) = run(Prog::OursPub);
    assert_eq!(ours.code, Some(0), "{ours}");
    assert!(arrived >= 6, "{arrived} of 6 arrived\n{ours}");
    let err = ours.stderr_str();
    assert!(
        err.starts_with("Warning: The connection was lost; reconnecting.\nReconnected after "),
        "{ours}"
    );
}

/// A broker that drops the connection at a message (MQTT 3.1.1 broker without retained
/// messages, `-r`): publishing it again after each reconnect would loop for ever
/// (mosquitto_pub 2.0.11 does: it never ends). mqtts-pub gives up after 5 connections in a
/// row that confirmed nothing: exit 7, and says why and how many lines were not confirmed.
#[test]
fn pub_line_mode_gives_up_when_every_reconnect_is_dropped() {
    let b = Broker::builder()
        .tls12only(false)
        .listener_config("plain", "retain_available false")
        .start();
    let topic = unique_topic("dropped");
    let out = Run::prog(Prog::OursPub)
        .args(
            [
                b.client_args("plain"),
                strs(&["-V", "311", "-t", &topic, "-l", "-q", "1", "-r"]),
            ]
            .concat(),
        )
        .stdin("a\nb\n")
        .timeout(Duration::from_secs(60))
        .run();
    assert!(!out.timed_out, "{out}");
    assert_eq!(out.code, Some(7), "{out}");
    let err = out.stderr_str();
    assert_eq!(
        err.matches("The connection was lost; reconnecting").count(),
        1,
        "{out}"
    );
    assert!(
        err.ends_with(
            "Error: The connection was lost.\n\
             The broker closed the connection 5 times in a row without confirming anything \
             published on it; giving up.\n\
             2 of the 2 lines read were not confirmed by the broker.\n"
        ),
        "{out}"
    );
}

/// A refusal at reconnect cannot heal: mosquitto_pub's message and exit code (measured
/// side by side), and how many lines were not confirmed.
#[test]
fn pub_line_mode_refused_at_reconnect_ends_as_mosquitto() {
    let run = |prog: Prog| -> RunOutput {
        let mut b = private_broker();
        let topic = unique_topic("refused");
        let mut p = line_publisher_streaming(&b, prog, "plain", &topic, Duration::from_secs(60));
        b.stop();
        let conf = std::fs::read_to_string(b.config_path()).unwrap();
        std::fs::write(
            b.config_path(),
            conf.replace("allow_anonymous true", "allow_anonymous false"),
        )
        .unwrap();
        b.restart();
        // The refused reconnect, then one more line: mosquitto_pub sits in fgets() until
        // input comes, and only then sees the refusal (ours ends at once: ignore a
        // broken pipe).
        assert!(
            b.wait_for_log_count("not authorised", 1, Duration::from_secs(20)),
            "{}",
            b.log()
        );
        let _ = p.write_stdin(b"three\n");
        let out = p.wait(Duration::from_secs(40));
        assert!(!out.timed_out, "{out}");
        out
    };
    let theirs = run(Prog::MosquittoPub);
    let ours = run(Prog::OursPub);
    assert_eq!(ours.code, theirs.code, "ours:\n{ours}\ntheirs:\n{theirs}");
    let (o, t) = (ours.stderr_str(), theirs.stderr_str());
    let refusal = "Connection error: Connection Refused: not authorised.\n";
    assert!(t.starts_with(refusal), "{theirs}");
    assert!(o.contains(refusal), "{ours}");
    assert!(
        o.ends_with("0 of the 2 lines read were not confirmed by the broker.\n"),
        "{ours}"
    );
}

#[test]
fn persistent_sub_survives_broker_restart() {
    let mut b = private_broker();
    let conn = b.client_args("plain");
    let topic = unique_topic("restart-sub");
    let id = format!("restart-ours-{}", std::process::id());
    let sub = persistent_sub(&b, Prog::OursSub, &conn, &topic, 1, &id);
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
