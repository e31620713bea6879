//! Signals. mosquitto_sub ends cleanly with 0 on SIGINT/SIGTERM while connected (a clean
//! DISCONNECT, no partial line); mosquitto_pub keeps the default action (killed by the
//! signal). mqtts does the same; these tests pin it down, also mid-stream.

mod common;

use common::*;
use std::time::Duration;

const LINE: &str = "0123456789abcdefghijklmnopqrstuvwxyz-0123456789abcdefghijklmnopqrstuvwxyz";

fn broker() -> &'static Broker {
    Broker::shared()
}

/// mqtts-sub gets `sig` while messages stream in: exit 0, only whole lines, each intact,
/// and the broker saw a DISCONNECT (not a lost connection).
fn sub_signal_mid_stream(sig: i32) {
    let b = broker();
    let conn = b.client_args("plain");
    let topic = unique_topic("sig");
    let id = format!("sig-sub-{sig}-{}", std::process::id());
    let sub = start_subscriber(
        b,
        Prog::OursSub,
        [conn.clone(), strs(&["-t", &topic, "-i", &id])].concat(),
    );
    // A publisher streaming lines at QoS 0 for as long as the test needs.
    let mut publisher = Run::prog(Prog::OursPub)
        .args([conn, strs(&["-t", &topic, "-l"])].concat())
        .stdin_pipe()
        .timeout(Duration::from_secs(60))
        .spawn();
    let chunk: String = (0..200).map(|_| format!("{LINE}\n")).collect();
    let mut sent = 0;
    while !sub.wait_for_lines(500, Duration::from_millis(50)) && sent < 400 {
        publisher.write_stdin(chunk.as_bytes()).unwrap();
        sent += 1;
    }
    assert!(
        sub.wait_for_lines(500, Duration::from_secs(10)),
        "no stream"
    );
    // Keep it streaming while the signal lands.
    publisher.write_stdin(chunk.as_bytes()).unwrap();
    let out = sub.stop_with(sig, Duration::from_secs(10));
    publisher.close_stdin();
    let _ = publisher.wait(Duration::from_secs(10));
    assert_eq!(
        out.code,
        Some(0),
        "signal {sig} should end mqtts-sub with 0:\n{out}"
    );
    let text = out.stdout_str();
    assert!(text.ends_with('\n'), "partial last line after signal {sig}");
    assert!(
        text.lines().all(|l| l == LINE),
        "a line was cut or mangled: {:?}",
        text.lines().find(|l| *l != LINE)
    );
    assert!(out.stderr.is_empty(), "{out}");
    assert!(
        b.wait_for_log_count(
            &format!("Client {id} disconnected"),
            1,
            Duration::from_secs(5)
        ),
        "broker did not log a clean disconnect of {id}:\n{}",
        b.main_log()
    );
}

#[test]
fn sub_sigint_mid_stream_exits_0() {
    sub_signal_mid_stream(libc::SIGINT);
}

#[test]
fn sub_sigterm_mid_stream_exits_0() {
    sub_signal_mid_stream(libc::SIGTERM);
}

/// Idle but connected (no message yet): exit 0, nothing printed.
#[test]
fn sub_sigterm_idle_exits_0() {
    let b = broker();
    let topic = unique_topic("sig-idle");
    let sub = start_subscriber(
        b,
        Prog::OursSub,
        [b.client_args("tls"), strs(&["-t", &topic, "-i", &topic])].concat(),
    );
    let out = sub.stop_with(libc::SIGTERM, Duration::from_secs(10));
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out}");
}

/// mqtts-pub -l is ended by SIGINT/SIGTERM like mosquitto_pub (default action: killed by
/// the signal; a shell shows 130/143).
#[test]
fn pub_line_mode_is_killed_by_signals() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let b = broker();
        let topic = unique_topic("sig-pub");
        let sub = start_subscriber(
            b,
            Prog::OursSub,
            [b.client_args("plain"), strs(&["-t", &topic, "-i", &topic])].concat(),
        );
        let mut publisher = Run::prog(Prog::OursPub)
            .args(
                [
                    b.client_args("plain"),
                    strs(&["-t", &topic, "-l", "-q", "1"]),
                ]
                .concat(),
            )
            .stdin_pipe()
            .spawn();
        publisher.write_stdin(b"one\ntwo\n").unwrap();
        assert!(sub.wait_for_lines(2, Duration::from_secs(10)), "no stream");
        // Signal with stdin still open (`stop_with` closes stdin first: EOF would race).
        publisher.signal(sig);
        let start = std::time::Instant::now();
        while publisher.is_running() && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = publisher.wait(Duration::from_secs(1));
        assert_eq!(out.code, None, "expected death by signal {sig}:\n{out}");
        assert_eq!(out.signal, Some(sig), "{out}");
        let _ = sub.kill();
    }
}

/// SIGINT/SIGTERM while the broker is away (mqtts-pub -l keeps reconnecting) ends the run
/// promptly, killed by the signal as above, after saying how many lines read were not
/// confirmed; never a silent 0.
#[test]
fn pub_line_mode_signal_while_disconnected_counts_and_dies() {
    for (sig, name) in [(libc::SIGINT, "SIGINT"), (libc::SIGTERM, "SIGTERM")] {
        let mut b = Broker::builder().tls12only(false).start();
        let topic = unique_topic("sig-away");
        let timeout = Duration::from_secs(60);
        let mut publisher = line_publisher_streaming(&b, Prog::OursPub, "plain", &topic, timeout);
        b.stop();
        let stderr = |p: &Background| String::from_utf8_lossy(&p.stderr()).into_owned();
        assert!(
            stderr_shows(
                &publisher,
                "The connection was lost",
                Duration::from_secs(20)
            ),
            "{}",
            stderr(&publisher)
        );
        // A line that cannot be published now, then the signal while disconnected.
        publisher.write_stdin(b"three\n").unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        publisher.signal(sig);
        let start = std::time::Instant::now();
        while publisher.is_running() && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "not prompt: {:?}",
            start.elapsed()
        );
        let out = publisher.wait(Duration::from_secs(1));
        assert_eq!(out.signal, Some(sig), "expected death by {name}:\n{out}");
        assert!(
            out.stderr_str().ends_with(&format!(
                "Interrupted by {name}: 1 of the 3 lines read was not confirmed by the broker.\n"
            )),
            "{out}"
        );
    }
}
