//! TLS failures end to end through both binaries: every situation of the bad-certificate
//! matrix fails with its documented exit code and a stderr that names the cause and its
//! facts; none is accepted. (tests/tls.rs checks the same classes on the TLS module
//! directly and in more detail.) The last test checks that good TLS connects still deliver.

mod common;

use common::*;

fn s(p: &std::path::Path) -> String {
    p.display().to_string()
}

/// Run `args` through mqtts-pub and mqtts-sub; both must exit with `code` and name every
/// needle on stderr.
fn expect(args: &[String], env: &[(&str, &str)], code: i32, needles: &[&str]) {
    for prog in [Prog::OursPub, Prog::OursSub] {
        let mut run = Run::prog(prog).args(args).args(["-t", "tls/cli"]);
        run = match prog {
            Prog::OursPub => run.args(["-m", "x"]),
            _ => run.args(["-C", "1", "-W", "10"]),
        };
        for (k, v) in env {
            run = run.env(k, v);
        }
        let out = run.run();
        assert_eq!(out.code, Some(code), "{out}");
        let err = out.stderr_str();
        for n in needles {
            assert!(err.contains(n), "stderr lacks {n:?}: {out}");
        }
        assert!(
            err.lines().count() <= 4,
            "at most a cause and three lines of facts: {out}"
        );
    }
}

fn to(broker: &Broker, listener: &str) -> Vec<String> {
    strs(&["-h", "localhost", "-p", &broker.port(listener).to_string()])
}

fn with(mut a: Vec<String>, more: &[&str]) -> Vec<String> {
    a.extend(more.iter().map(|m| m.to_string()));
    a
}

#[test]
fn server_certificate_problems_are_named() {
    let broker = Broker::start();
    let pki = pki();
    let ca = s(&pki.ca);
    expect(
        &with(to(&broker, "wrong_host"), &["--cafile", &ca]),
        &[],
        82,
        &["wrong.example", "localhost"],
    );
    expect(
        &with(to(&broker, "expired"), &["--cafile", &ca]),
        &[],
        81,
        &["expired"],
    );
    expect(
        &with(to(&broker, "not_yet_valid"), &["--cafile", &ca]),
        &[],
        81,
        &["not yet valid"],
    );
    expect(
        &with(to(&broker, "untrusted_ca"), &["--cafile", &ca]),
        &[],
        80,
        &["not trusted", &ca],
    );
    // --insecure skips the host name check only: a wrong CA still fails.
    expect(
        &with(
            to(&broker, "untrusted_ca"),
            &["--cafile", &ca, "--insecure"],
        ),
        &[],
        80,
        &["not trusted"],
    );
}

#[test]
fn insecure_skips_only_the_host_name_and_says_so() {
    let broker = Broker::start();
    let a = with(
        to(&broker, "wrong_host"),
        &[
            "--cafile",
            &s(&pki().ca),
            "--insecure",
            "-t",
            "x",
            "-m",
            "y",
        ],
    );
    let out = ours_pub(&a);
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(
        out.stderr_str().lines().count(),
        1,
        "one warning line: {out}"
    );
    assert!(
        out.stderr_str().to_lowercase().contains("host name"),
        "{out}"
    );
}

#[test]
fn client_certificate_problems_are_named() {
    let broker = Broker::start();
    let pki = pki();
    let ca = s(&pki.ca);
    let mtls = with(to(&broker, "mtls"), &["--cafile", &ca]);
    expect(&mtls, &[], 83, &["requires a client certificate", "--cert"]);
    let cert_key = |cert: &std::path::Path, key: &std::path::Path| {
        with(mtls.clone(), &["--cert", &s(cert), "--key", &s(key)])
    };
    expect(
        &cert_key(&pki.client_untrusted_cert, &pki.client_untrusted_key),
        &[],
        84,
        &["rejected"],
    );
    // Checked before connecting.
    expect(
        &cert_key(&pki.client_expired_cert, &pki.client_expired_key),
        &[],
        1,
        &["expired", &s(&pki.client_expired_cert)],
    );
    expect(
        &cert_key(&pki.client_mismatch_cert, &pki.client_mismatch_key),
        &[],
        1,
        &[&s(&pki.client_mismatch_cert), &s(&pki.client_mismatch_key)],
    );
    // mosquitto's own argument error.
    expect(
        &with(mtls.clone(), &["--cert", &s(&pki.client_rsa_cert)]),
        &[],
        1,
        &["Both certfile and keyfile must be provided"],
    );
    expect(
        &cert_key(&pki.client_encrypted_cert, &pki.client_encrypted_key),
        &[("MQTTS_KEY_PASSWORD", "not the password")],
        1,
        &[&s(&pki.client_encrypted_key)],
    );
    // The right password works.
    let ok = Run::prog(Prog::OursPub)
        .args(with(
            cert_key(&pki.client_encrypted_cert, &pki.client_encrypted_key),
            &["-t", "x", "-m", "y"],
        ))
        .env("MQTTS_KEY_PASSWORD", KEY_PASSWORD)
        .run();
    assert_eq!(ok.code, Some(0), "{ok}");
}

#[test]
fn wrong_port_or_protocol_is_named() {
    let broker = Broker::start();
    let ca = s(&pki().ca);
    // TLS to a plain MQTT port, plain MQTT to a TLS port.
    expect(
        &with(to(&broker, "plain"), &["--cafile", &ca]),
        &[],
        86,
        &["without TLS"],
    );
    expect(&to(&broker, "tls"), &[], 7, &["expects TLS"]);
    // Nothing listening.
    let closed = free_port().to_string();
    expect(
        &strs(&["-h", "127.0.0.1", "-p", &closed]),
        &[],
        1,
        &["refused", &closed],
    );
    // Missing file: the option and the path.
    expect(
        &with(to(&broker, "tls"), &["--cafile", "/nonexistent/ca.crt"]),
        &[],
        1,
        &["--cafile", "/nonexistent/ca.crt"],
    );
    // A TLS option alone never means plaintext.
    expect(
        &with(to(&broker, "plain"), &["--insecure"]),
        &[],
        1,
        &["--insecure"],
    );
}

#[test]
fn tls_version_limits_are_enforced() {
    let broker = Broker::start();
    let ca = s(&pki().ca);
    expect(
        &with(
            to(&broker, "tls12only"),
            &["--cafile", &ca, "--tls-version", "tlsv1.3"],
        ),
        &[],
        85,
        &["TLS"],
    );
    expect(
        &with(
            to(&broker, "tls13"),
            &["--cafile", &ca, "--tls-max-version", "tlsv1.2"],
        ),
        &[],
        85,
        &["TLS"],
    );
    let ok = ours_pub(with(
        to(&broker, "tls13"),
        &[
            "--cafile",
            &ca,
            "--tls-version",
            "tlsv1.3",
            "-t",
            "x",
            "-m",
            "y",
        ],
    ));
    assert_eq!(ok.code, Some(0), "{ok}");
}

/// A TLS connect is watched for paho's CONNECT, whose socket then acknowledges the broker's
/// session tickets at once (src/connection/quickack.rs). That must change nothing users
/// see: mqtts-sub (started first) receives what mqtts-pub sends over TLS 1.3, TLS 1.2,
/// TLS (default versions) and mutual TLS, with and without `-d`, and `-d` still prints the
/// CONNACK line. Delivery only; how fast is for bench/run.
#[test]
fn ours_round_trip_over_every_tls_version() {
    let broker = Broker::start();
    for listener in ["tls13", "tls12only", "tls", "mtls"] {
        for debug in [&[][..], &["-d"]] {
            let conn = broker.client_args(listener);
            let topic = unique_topic(listener);
            let msg = format!("hello over {listener}");
            let sub = start_subscriber(
                &broker,
                Prog::OursSub,
                [conn.clone(), strs(&["-t", &topic, "-C", "1", "-v"])].concat(),
            );
            let out = ours_pub(
                [
                    conn,
                    strs(&["-t", &topic, "-m", &msg, "-q", "1"]),
                    strs(debug),
                ]
                .concat(),
            );
            out.assert_success();
            if !debug.is_empty() {
                assert!(
                    out.stdout_str().contains(" received CONNACK (0)\n"),
                    "{listener}: {out}"
                );
            }
            let got = sub.wait(std::time::Duration::from_secs(10));
            got.assert_success();
            assert_eq!(got.stdout_str(), format!("{topic} {msg}\n"), "{listener}");
        }
    }
}
