//! mqtts's TLS options beyond mosquitto 2.0, end to end through the binaries against a real
//! mosquitto (and `openssl s_server` where the server's view is the proof):
//! `--tls-server-name`, `--pinnedpubkey`, `--tls-keylog`.

mod common;

use common::pki::{CertSpec, Usage};
use common::*;

fn s(p: &std::path::Path) -> String {
    p.display().to_string()
}

/// `-h 127.0.0.1 -p PORT-of-listener --cafile CA` plus `more`.
fn conn_args(broker: &Broker, listener: &str, more: &[&str]) -> Vec<String> {
    let mut a = strs(&[
        "-h",
        "127.0.0.1",
        "-p",
        &broker.port(listener).to_string(),
        "--cafile",
        &s(&pki().ca),
    ]);
    a.extend(more.iter().map(|m| m.to_string()));
    a
}

/// [`conn_args`], publishing one message.
fn pub_args(broker: &Broker, listener: &str, more: &[&str]) -> Vec<String> {
    let mut a = conn_args(broker, listener, more);
    a.extend(strs(&["-t", "beyond/x", "-m", "hello"]));
    a
}

#[test]
fn tls_server_name_is_checked_instead_of_the_host() {
    let broker = Broker::shared();
    // The wrong_host listener's certificate is for wrong.example only: reached by address,
    // it is accepted when that name is given.
    let out = ours_pub(pub_args(
        broker,
        "wrong_host",
        &["--tls-server-name", "wrong.example"],
    ));
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(out.stderr_str(), "", "{out}");
    // Without it, 127.0.0.1 is checked and does not match.
    let out = ours_pub(pub_args(broker, "wrong_host", &[]));
    assert_eq!(out.code, Some(82), "{out}");

    // A name the certificate is not for: named, exit 82, with the names it holds, for
    // both programs; the good certificate (which has IP:127.0.0.1) does not let -h pass.
    for (listener, held) in [
        ("wrong_host", "DNS:wrong.example"),
        ("tls", "DNS:localhost"),
    ] {
        for prog in [Prog::OursPub, Prog::OursSub] {
            let conn = conn_args(broker, listener, &["--tls-server-name", "other.example"]);
            let out = match prog {
                Prog::OursPub => Run::prog(prog).args(conn).args(["-t", "x", "-m", "y"]),
                _ => Run::prog(prog)
                    .args(conn)
                    .args(["-t", "x", "-C", "1", "-W", "5"]),
            }
            .run();
            assert_eq!(out.code, Some(82), "{out}");
            let err = out.stderr_str();
            assert!(
                err.starts_with(
                    "Error: server name other.example (--tls-server-name) does not match the certificate of 127.0.0.1 port"
                ),
                "{out}"
            );
            assert!(err.contains(held), "{out}");
        }
    }

    // An IP address as the name: checked against the certificate's IP entries (the good
    // certificate has IP:127.0.0.1, wrong_host's has none).
    for (listener, code) in [("tls", 0), ("wrong_host", 82)] {
        let out = ours_pub(strs(&[
            "-h",
            "localhost",
            "-p",
            &broker.port(listener).to_string(),
            "--cafile",
            &s(&pki().ca),
            "--tls-server-name",
            "127.0.0.1",
            "-t",
            "x",
            "-m",
            "y",
        ]));
        assert_eq!(out.code, Some(code), "{out}");
    }

    // --insecure: the name is still sent, not checked.
    let out = ours_pub(pub_args(
        broker,
        "wrong_host",
        &["--tls-server-name", "other.example", "--insecure"],
    ));
    assert_eq!(out.code, Some(0), "{out}");
}

#[test]
fn tls_server_name_is_sent_as_sni() {
    // s_server prints the SNI each client sent.
    let pki = pki();
    let (cert, key) = (s(&pki.server_cert), s(&pki.server_key));
    let server = TlsServer::start(
        &pki.server_cert,
        &pki.server_key,
        &["-servername", "x", "-cert2", &cert, "-key2", &key],
    );
    let out = Run::prog(Prog::OursPub)
        .args(strs(&[
            "-h",
            "localhost",
            "-p",
            &server.port().to_string(),
            "--cafile",
            &s(&pki.ca),
            "--tls-server-name",
            "sni.example",
            "--insecure",
            "-t",
            "x",
            "-m",
            "y",
            "-k",
            "5",
        ]))
        .run();
    assert_ne!(out.code, Some(0), "s_server does not speak MQTT: {out}");
    let sent = |name: &str| format!("Hostname in TLS extension: \"{name}\"");
    assert!(
        wait_until(std::time::Duration::from_secs(3), || server
            .output()
            .contains(&sent("sni.example"))),
        "{}",
        server.output()
    );
    assert!(
        !server.output().contains(&sent("localhost")),
        "{}",
        server.output()
    );
}

#[test]
fn tls_server_name_needs_tls_and_a_valid_name() {
    let out = ours_pub(strs(&[
        "-p",
        "1",
        "--tls-server-name",
        "broker.example",
        "-t",
        "x",
        "-m",
        "y",
    ]));
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stderr_str()
            .starts_with("Error: --tls-server-name needs TLS"),
        "{out}"
    );
    let out = ours_pub(strs(&[
        "-p",
        "1",
        "--cafile",
        &s(&pki().ca),
        "--tls-server-name",
        "a b",
        "-t",
        "x",
        "-m",
        "y",
    ]));
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stderr_str()
            .contains("is not a host name or an IP address"),
        "{out}"
    );
}

/// The pin of the public key in certificate file `cert`: sha256// + base64(SHA-256(SPKI)).
fn pin_of_cert(cert: &std::path::Path) -> String {
    let x = openssl::x509::X509::from_pem(&std::fs::read(cert).unwrap()).unwrap();
    let der = x.public_key().unwrap().public_key_to_der().unwrap();
    format!(
        "sha256//{}",
        openssl::base64::encode_block(&openssl::sha::sha256(&der))
    )
}

#[test]
fn pinned_public_key_must_match() {
    let broker = Broker::shared();
    let pki = pki();
    let good = pin_of_cert(&pki.server_cert);
    let other = pin_of_cert(&pki.client_rsa_cert);
    // The broker's key among the pins: connects.
    let out = ours_pub(pub_args(
        broker,
        "tls",
        &["--pinnedpubkey", &format!("{other};{good}")],
    ));
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(out.stderr_str(), "", "{out}");
    // The same key given as a PEM public-key file.
    let dir = TempDir::new("pin");
    let keyfile = dir.join("server.pub.pem");
    let x = openssl::x509::X509::from_pem(&std::fs::read(&pki.server_cert).unwrap()).unwrap();
    std::fs::write(
        &keyfile,
        x.public_key().unwrap().public_key_to_pem().unwrap(),
    )
    .unwrap();
    let out = ours_pub(pub_args(broker, "tls", &["--pinnedpubkey", &s(&keyfile)]));
    assert_eq!(out.code, Some(0), "{out}");

    // Not pinned: exit 88, and the broker's own pin is shown, for both programs.
    for prog in [Prog::OursPub, Prog::OursSub] {
        let conn = conn_args(broker, "tls", &["--pinnedpubkey", &other]);
        let out = match prog {
            Prog::OursPub => Run::prog(prog).args(conn).args(["-t", "x", "-m", "y"]),
            _ => Run::prog(prog)
                .args(conn)
                .args(["-t", "x", "-C", "1", "-W", "5"]),
        }
        .run();
        assert_eq!(out.code, Some(88), "{out}");
        let err = out.stderr_str();
        assert!(
            err.starts_with(&format!(
                "Error: the public key of 127.0.0.1 port {} is not one of the pinned keys (--pinnedpubkey).\n",
                broker.port("tls")
            )),
            "{out}"
        );
        assert!(
            err.contains(&format!(
                "The broker presented {good} (certificate O=mqtts tests, CN=localhost)"
            )),
            "{out}"
        );
        assert!(err.contains(&format!("Pinned: {other}.")), "{out}");
        assert!(err.lines().count() <= 4, "{out}");
    }

    // On top of verification: a pinned key with an untrusted chain still fails as untrusted.
    let out = ours_pub(pub_args(
        broker,
        "untrusted_ca",
        &["--pinnedpubkey", &pin_of_cert(&pki.server_untrusted_cert)],
    ));
    assert_eq!(out.code, Some(80), "{out}");
}

#[test]
fn pinned_public_key_bad_values() {
    let ca = s(&pki().ca);
    for (pin, needle) in [
        ("sha256//abc", "is not a pin"),
        ("/nonexistent/pub.pem", "No such file or directory"),
        (ca.as_str(), "It holds a certificate"),
    ] {
        let out = ours_pub(strs(&[
            "-p",
            "1",
            "--cafile",
            &ca,
            "--pinnedpubkey",
            pin,
            "-t",
            "x",
            "-m",
            "y",
        ]));
        assert_eq!(out.code, Some(1), "{out}");
        assert!(out.stderr_str().contains(needle), "{needle}: {out}");
    }
    let out = ours_pub(strs(&[
        "-p",
        "1",
        "--pinnedpubkey",
        "sha256//x",
        "-t",
        "x",
        "-m",
        "y",
    ]));
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stderr_str()
            .starts_with("Error: --pinnedpubkey needs TLS"),
        "{out}"
    );
}

/// One connection of mqtts-pub (with `keylog_args`, `env`) to an `openssl s_server
/// -keylogfile` with `server_args`: (our key-log lines, the server's lines). s_server does
/// not answer MQTT: the handshake completes, then the run ends after -k 5 (and the
/// diagnosis, whose handshakes are logged on both sides too).
fn keylogs(
    server_args: &[&str],
    ours: &[&str],
    env: &[(&str, &str)],
) -> (Vec<String>, Vec<String>) {
    let pki = pki();
    let dir = TempDir::new("keylog");
    let server_log = s(&dir.join("server.keys"));
    let mut extra = vec!["-keylogfile", server_log.as_str()];
    extra.extend_from_slice(server_args);
    let server = TlsServer::start(&pki.server_cert, &pki.server_key, &extra);
    let mut run = Run::prog(Prog::OursPub)
        .args(strs(&[
            "-h",
            "localhost",
            "-p",
            &server.port().to_string(),
            "--cafile",
            &s(&pki.ca),
            "-t",
            "x",
            "-m",
            "y",
            "-k",
            "5",
        ]))
        .args(ours)
        .current_dir(dir.path());
    for (k, v) in env {
        run = run.env(k, v);
    }
    let out = run.run();
    assert_ne!(out.code, Some(0), "s_server does not speak MQTT: {out}");
    let ours_path = dir.join("ours.keys");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&ours_path)
        .unwrap_or_else(|e| panic!("no key log: {e}: {out}"))
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "created private");
    let lines = |p: &std::path::Path| -> Vec<String> {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(str::to_string)
            .collect()
    };
    drop(server);
    (lines(&ours_path), lines(&dir.join("server.keys")))
}

#[test]
fn tls_keylog_lines_match_the_servers() {
    let t13 = std::thread::spawn(|| keylogs(&["-tls1_3"], &["--tls-keylog", "ours.keys"], &[]));
    let t12 = std::thread::spawn(|| keylogs(&["-tls1_2"], &[], &[("SSLKEYLOGFILE", "ours.keys")]));
    for (version, (ours, server), label) in [
        ("TLS 1.3", t13.join().unwrap(), "CLIENT_TRAFFIC_SECRET_0 "),
        ("TLS 1.2", t12.join().unwrap(), "CLIENT_RANDOM "),
    ] {
        assert!(
            ours.iter().any(|l| l.starts_with(label)),
            "{version}: no {label}line in {ours:#?}"
        );
        for l in &ours {
            assert!(
                server.contains(l),
                "{version}: {l} is not in s_server's log {server:#?}"
            );
        }
        // The first handshake s_server saw is paho's: every line it logged for that client
        // random is in ours too. (The failure diagnosis then makes handshakes of its own,
        // which are logged as well; the last may be cut short by the exit, so the totals
        // are not compared.)
        let first = server[0].split(' ').nth(1).expect("client random");
        for l in server.iter().filter(|l| l.split(' ').nth(1) == Some(first)) {
            assert!(
                ours.contains(l),
                "{version}: paho's handshake line {l} is not in ours {ours:#?}"
            );
        }
    }
}

#[test]
fn tls_keylog_file_problems_are_named() {
    let out = ours_pub(strs(&[
        "-p",
        "1",
        "--cafile",
        &s(&pki().ca),
        "--tls-keylog",
        "/nonexistent/dir/keys",
        "-t",
        "x",
        "-m",
        "y",
    ]));
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stderr_str()
            .starts_with("Error: --tls-keylog /nonexistent/dir/keys: No such file or directory"),
        "{out}"
    );
}

#[test]
fn pins_hold_on_a_reconnect_after_a_failed_one() {
    // mqtts-sub reconnects after a lost connection; a failed attempt runs the diagnosis
    // (whose own handshakes are not pin-checked). The attempt after it must be checked:
    // the broker comes back with another key, and the run ends with 88.
    let pki = pki();
    let mut broker = Broker::builder().tls12only(false).start();
    let good = pin_of_cert(&pki.server_cert);
    let sub = start_subscriber(
        &broker,
        Prog::OursSub,
        conn_args(
            &broker,
            "tls",
            &["--pinnedpubkey", &good, "-t", "x", "-i", "pinned-sub"],
        ),
    );
    broker.stop();
    // At least one reconnect attempt (one a second) fails while the broker is down.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let dir = TempDir::new("rekeyed");
    let (cert, key) = pki.issue(
        dir.path(),
        "rekeyed",
        &CertSpec {
            common_name: "localhost",
            dns: &["localhost"],
            ips: &["127.0.0.1"],
            not_before: -60,
            not_after: 365 * 86400,
            usage: Usage::Server,
        },
    );
    let conf = std::fs::read_to_string(broker.config_path()).unwrap();
    let at = conf.find("\n# tls\n").expect("the tls listener's block");
    let end = conf[at + 1..]
        .find("\n# ")
        .map_or(conf.len(), |e| at + 1 + e);
    let block = conf[at..end]
        .replace(&s(&pki.server_cert), &s(&cert))
        .replace(&s(&pki.server_key), &s(&key));
    std::fs::write(
        broker.config_path(),
        format!("{}{block}{}", &conf[..at], &conf[end..]),
    )
    .unwrap();
    broker.restart();
    let out = sub.wait(std::time::Duration::from_secs(10));
    assert_eq!(out.code, Some(88), "{out}");
    assert!(
        out.stderr_str().contains(&format!("Pinned: {good}.")),
        "{out}"
    );
}
