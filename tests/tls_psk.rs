//! TLS-PSK (`--psk`/`--psk-identity`) against mosquitto's `psk` listeners (TLS 1.3, and
//! `psk12only`: TLS 1.2 at most): the same command line through mosquitto_pub/sub 2.0.11
//! and ours gives the same `-d` trace and exit status and delivers; each PSK failure is
//! named with its facts and exit status; option conflicts give mosquitto's text.

mod common;

use common::broker::{PSK_IDENTITY, PSK_KEY, PSK_ZEROS_IDENTITY, PSK_ZEROS_KEY};
use common::*;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

fn with(mut a: Vec<String>, more: &[&str]) -> Vec<String> {
    a.extend(more.iter().map(|m| m.to_string()));
    a
}

/// `-h 127.0.0.1 -p PORT` of `listener` and nothing else.
fn to(broker: &Broker, listener: &str) -> Vec<String> {
    strs(&["-h", LOOPBACK, "-p", &broker.port(listener).to_string()])
}

/// TLS 1.2 with a PSK cipher, for the `psk12only` listener.
const TLS12: &[&str] = &[
    "--tls-version",
    "tlsv1.2",
    "--ciphers",
    "PSK-AES128-GCM-SHA256",
];

/// Publish with `-d` through mosquitto_pub and mqtts-pub (same id, one after the
/// other): same exit status 0, same trace, nothing on our stderr; a subscriber on the
/// same listener receives both messages.
fn pub_same(broker: &Broker, conn: &[String], version: &str, qos: &str) {
    let topic = unique_topic("psk/pub");
    let sub = start_subscriber(
        broker,
        Prog::MosquittoSub,
        with(
            conn.to_vec(),
            &[
                "-t",
                &topic,
                "-C",
                "2",
                "-i",
                &format!("psk-sub-{qos}-{version}"),
            ],
        ),
    );
    let args = with(
        conn.to_vec(),
        &[
            "-d", "-i", "psk-pub", "-V", version, "-q", qos, "-t", &topic, "-m", "hello",
        ],
    );
    let theirs = mosquitto_pub(&args);
    let ours = ours_pub(&args);
    theirs.assert_success();
    ours.assert_success();
    assert_eq!(
        normalise_trace(&ours.stdout_str()),
        normalise_trace(&theirs.stdout_str()),
        "-d trace differs\nours:\n{ours}\nmosquitto:\n{theirs}"
    );
    assert!(ours.stdout_str().contains("received CONNACK (0)"), "{ours}");
    assert_eq!(ours.stderr_str(), "", "{ours}");
    let got = sub.wait(WAIT);
    assert_eq!(got.stdout_str(), "hello\nhello\n", "{got}");
}

#[test]
fn pub_over_psk_matches_mosquitto() {
    let broker = Broker::start();
    let psk = broker.client_args("psk");
    for version in ["mqttv311", "mqttv5"] {
        for qos in ["0", "1", "2"] {
            pub_same(&broker, &psk, version, qos);
        }
    }
    // TLS 1.2 with a PSK cipher suite (the broker serves TLS 1.2 at most).
    let psk12 = with(broker.client_args("psk12only"), TLS12);
    for version in ["mqttv311", "mqttv5"] {
        pub_same(&broker, &psk12, version, "1");
    }
    // TLS 1.3 only.
    pub_same(
        &broker,
        &with(psk.clone(), &["--tls-version", "tlsv1.3"]),
        "mqttv5",
        "1",
    );
    // A key with leading zero bytes, read the same way on both sides.
    pub_same(
        &broker,
        &with(
            to(&broker, "psk"),
            &["--psk", PSK_ZEROS_KEY, "--psk-identity", PSK_ZEROS_IDENTITY],
        ),
        "mqttv311",
        "1",
    );
}

/// Subscribe with `-d -C 1 -v` through `prog`, publish one message with mosquitto_pub;
/// the subscriber's result.
fn sub_run(broker: &Broker, prog: Prog, conn: &[String], version: &str) -> RunOutput {
    let topic = unique_topic("psk/sub");
    let sub = start_subscriber(
        broker,
        prog,
        with(
            conn.to_vec(),
            &[
                "-d", "-C", "1", "-v", "-i", "psk-sub", "-V", version, "-q", "1", "-t", &topic,
            ],
        ),
    );
    mosquitto_pub(with(
        conn.to_vec(),
        &["-t", &topic, "-m", "over psk", "-q", "1"],
    ))
    .assert_success();
    let out = sub.wait(WAIT);
    // Topics differ between the runs: compare with the topic replaced.
    RunOutput {
        stdout: out.stdout_str().replace(&topic, "TOPIC").into_bytes(),
        ..out
    }
}

#[test]
fn sub_over_psk_matches_mosquitto() {
    let broker = Broker::start();
    let cases = [
        (broker.client_args("psk"), "mqttv311"),
        (broker.client_args("psk"), "mqttv5"),
        (with(broker.client_args("psk12only"), TLS12), "mqttv311"),
        (with(broker.client_args("psk12only"), TLS12), "mqttv5"),
    ];
    for (conn, version) in cases {
        let theirs = sub_run(&broker, Prog::MosquittoSub, &conn, version);
        let ours = sub_run(&broker, Prog::OursSub, &conn, version);
        theirs.assert_success();
        ours.assert_success();
        assert!(ours.stdout_str().contains("TOPIC over psk\n"), "{ours}");
        assert_eq!(
            normalise_trace(&ours.stdout_str()),
            normalise_trace(&theirs.stdout_str()),
            "-d trace differs\nours:\n{ours}\nmosquitto:\n{theirs}"
        );
        assert_eq!(ours.stderr_str(), "", "{ours}");
    }
}

/// `args` through mqtts-pub and mqtts-sub: exit `code`, every needle on stderr, at most
/// four lines; and through mosquitto_pub, which fails too (it exits 1 or 8 and says
/// "A TLS error occurred.").
fn named(args: &[String], code: i32, needles: &[&str]) {
    for prog in [Prog::OursPub, Prog::OursSub] {
        let mut run = Run::prog(prog).args(args).args(["-t", "psk/fail"]);
        run = match prog {
            Prog::OursPub => run.args(["-m", "x"]),
            _ => run.args(["-C", "1", "-W", "10"]),
        };
        let out = run.run();
        assert_eq!(out.code, Some(code), "{out}");
        let err = out.stderr_str();
        assert!(err.starts_with("Error: "), "{out}");
        for n in needles {
            assert!(err.contains(n), "stderr lacks {n:?}: {out}");
        }
        assert!(err.lines().count() <= 4, "{out}");
        if let Some(key) = args.iter().skip_while(|a| *a != "--psk").nth(1) {
            let both = format!("{}{err}", out.stdout_str());
            assert!(
                !both.contains(key.as_str()),
                "the key is never printed: {out}"
            );
        }
    }
    let theirs = mosquitto_pub(with(args.to_vec(), &["-t", "psk/fail", "-m", "x"]));
    theirs.assert_failure();
    assert!(
        theirs.stderr_str().contains("A TLS error occurred"),
        "{theirs}"
    );
}

#[test]
fn psk_failures_are_named() {
    let broker = Broker::start();
    let wrong_key = ["--psk", "0123456789abcdef", "--psk-identity", PSK_IDENTITY];
    let unknown = ["--psk", PSK_KEY, "--psk-identity", "nobody"];
    let id = format!("\"{PSK_IDENTITY}\"");
    // TLS 1.3: the broker checks the key's binder (alert "illegal parameter"); an
    // unknown identity leaves it without a key and without a certificate.
    named(
        &with(to(&broker, "psk"), &wrong_key),
        87,
        &[
            "knows the PSK identity",
            &id,
            "differs from --psk",
            "illegal parameter",
        ],
    );
    named(
        &with(to(&broker, "psk"), &unknown),
        87,
        &["does not know the PSK identity \"nobody\"", "psk_file"],
    );
    // TLS 1.2: the broker cannot decrypt our Finished / has no such identity.
    named(
        &with(with(to(&broker, "psk12only"), TLS12), &wrong_key),
        87,
        &["knows the PSK identity", &id, "bad record MAC"],
    );
    named(
        &with(with(to(&broker, "psk12only"), TLS12), &unknown),
        87,
        &[
            "does not know the PSK identity \"nobody\"",
            "unknown PSK identity",
        ],
    );
    // Leading zero bytes are part of the key: without them it is another key.
    named(
        &with(
            to(&broker, "psk"),
            &["--psk", "c0ffee", "--psk-identity", PSK_ZEROS_IDENTITY],
        ),
        87,
        &["knows the PSK identity", "differs from --psk"],
    );
    // TLS 1.3 with a TLS 1.2 cipher list: the cipher list does not hide the identity.
    named(
        &with(
            to(&broker, "psk"),
            &[
                "--psk",
                PSK_KEY,
                "--psk-identity",
                "nobody",
                "--ciphers",
                "PSK-AES128-GCM-SHA256",
            ],
        ),
        87,
        &[
            "does not know the PSK identity \"nobody\"",
            "handshake failure",
        ],
    );
    // TLS 1.2 without a PSK cipher: the same alert means no common cipher.
    named(
        &with(
            broker.client_args("psk12only"),
            &["--ciphers", "ECDHE-RSA-AES128-GCM-SHA256"],
        ),
        85,
        &["refused the ciphers", "ECDHE-RSA-AES128-GCM-SHA256", "PSK"],
    );
    // TLS 1.3 only, against a TLS 1.2 PSK listener.
    named(
        &with(
            broker.client_args("psk12only"),
            &["--tls-version", "tlsv1.3"],
        ),
        85,
        &["TLSv1.3", "TLSv1.2"],
    );
}

/// `--insecure` changes nothing with a PSK, and says so.
#[test]
fn psk_insecure_warns_that_it_does_nothing() {
    let broker = Broker::start();
    let out = ours_pub(with(
        broker.client_args("psk"),
        &["--insecure", "-t", "a", "-m", "x"],
    ));
    out.assert_success();
    assert_eq!(
        out.stderr_str().lines().count(),
        1,
        "one warning line: {out}"
    );
    assert!(
        out.stderr_str()
            .starts_with("Warning: --insecure has no effect with --psk"),
        "{out}"
    );
}

#[test]
fn psk_quiet_failure_keeps_the_status() {
    let broker = Broker::start();
    let out = ours_pub(with(
        to(&broker, "psk"),
        &[
            "--psk",
            "ab",
            "--psk-identity",
            "nobody",
            "--quiet",
            "-t",
            "a",
            "-m",
            "x",
        ],
    ));
    assert_eq!(out.code, Some(87), "{out}");
    assert_eq!(out.stderr_str(), "", "{out}");
}

/// mosquitto_pub connects to a certificate listener with --psk and checks nothing;
/// mqtts refuses it and names the certificate.
#[test]
fn psk_to_a_certificate_listener_is_refused() {
    let broker = Broker::start();
    let args = with(
        to(&broker, "tls"),
        &["--psk", PSK_KEY, "--psk-identity", PSK_IDENTITY],
    );
    for prog in [Prog::OursPub, Prog::OursSub] {
        let mut run = Run::prog(prog).args(&args).args(["-t", "psk/cert"]);
        run = match prog {
            Prog::OursPub => run.args(["-m", "x"]),
            _ => run.args(["-C", "1", "-W", "10"]),
        };
        let out = run.run();
        assert_eq!(out.code, Some(80), "{out}");
        let err = out.stderr_str();
        for n in [
            "not a PSK listener",
            "CN=localhost",
            "mqtts test CA",
            "--cafile",
        ] {
            assert!(err.contains(n), "stderr lacks {n:?}: {out}");
        }
    }
    let theirs = mosquitto_pub(with(args, &["-t", "psk/cert", "-m", "x"]));
    assert_eq!(
        theirs.code,
        Some(0),
        "mosquitto_pub 2.0.11 connects unverified (man COMPATIBILITY): {theirs}"
    );
}

/// Option conflicts and bad keys: mosquitto's text and status, byte for byte (the help
/// line names our program), before anything connects.
#[test]
fn psk_option_errors_match_mosquitto() {
    let vectors: &[&[&str]] = &[
        &["--psk", "zz", "--psk-identity", "i"],
        &["--psk", "12g4", "--psk-identity", "i", "--quiet"],
        &["--psk", "00", "--cafile", "x", "--psk-identity", "i"],
        &["--psk", "00", "--capath", "x", "--psk-identity", "i"],
        &["--psk", "00"],
        &["--psk-identity", "i", "--psk"],
        &["--psk", "00", "--psk-identity"],
    ];
    for v in vectors {
        for (theirs, ours) in [
            (Prog::MosquittoPub, Prog::OursPub),
            (Prog::MosquittoSub, Prog::OursSub),
        ] {
            let mut args = strs(&["-h", LOOPBACK, "-p", "1", "-t", "a"]);
            if theirs == Prog::MosquittoPub {
                args.extend(strs(&["-m", "msg"]));
            }
            let args = with(args, v);
            let t = Run::prog(theirs).args(&args).run();
            let o = Run::prog(ours).args(&args).run();
            assert_eq!(o.code, t.code, "{v:?}\nours:\n{o}\nmosquitto:\n{t}");
            assert_eq!(
                o.stderr_str(),
                help_line_to_ours(&t.stderr_str()),
                "{v:?}\nours:\n{o}\nmosquitto:\n{t}"
            );
            assert_eq!(t.code, Some(1), "{t}");
        }
    }
}

/// `--psk-identity` without `--psk` is never silently unused (mosquitto would connect
/// without TLS here).
#[test]
fn psk_identity_alone_is_an_error() {
    let out = ours_pub(strs(&[
        "-h",
        LOOPBACK,
        "-p",
        "1",
        "--psk-identity",
        "i",
        "-t",
        "a",
        "-m",
        "x",
    ]));
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stderr_str()
            .starts_with("Error: --psk-identity is given without --psk."),
        "{out}"
    );
}

/// mqtts-sub reconnects after the broker restarts (as mosquitto_sub) and the new TLS
/// connection offers the key again: a message published after the restart arrives.
#[test]
fn sub_reconnects_over_psk() {
    let mut broker = Broker::builder().tls12only(false).start();
    let conn = broker.client_args("psk");
    let topic = unique_topic("psk/restart");
    let sub = start_subscriber(
        &broker,
        Prog::OursSub,
        with(
            conn.clone(),
            &["-t", &topic, "-q", "1", "-C", "2", "-i", "psk-restart"],
        ),
    );
    mosquitto_pub(with(
        conn.clone(),
        &["-t", &topic, "-m", "before", "-q", "1"],
    ))
    .assert_success();
    assert!(
        sub.wait_for_lines(1, WAIT),
        "first message: {}",
        sub.stdout_str()
    );
    let subacks = broker.log_count("Sending SUBACK to psk-restart");
    broker.restart();
    // Resubscribed on the new connection (the broker's log file is appended to).
    assert!(
        broker.wait_for_log_count("Sending SUBACK to psk-restart", subacks + 1, WAIT),
        "no resubscription after the restart\n{}",
        broker.log()
    );
    mosquitto_pub(with(conn, &["-t", &topic, "-m", "after", "-q", "1"])).assert_success();
    let out = sub.wait(WAIT);
    out.assert_success();
    assert_eq!(out.stdout_str(), "before\nafter\n", "{out}");
}
