//! mqtts's TLS options beyond mosquitto 2.0, end to end through the binaries against a real
//! mosquitto (and `openssl s_server` where the server's view is the proof):
//! `--tls-server-name`.

mod common;

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
