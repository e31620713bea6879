//! MQTT over WebSockets (`--ws`, `-L ws://`, `-L wss://`) against a real rumqttd with ws and
//! wss listeners (tests/common/rumqttd.rs): messages cross, the `-d` trace is the one the
//! same run prints over TCP/TLS, every TLS option applies to wss, and a port that answers
//! but not as a WebSocket endpoint is named.

mod common;

use common::rumqttd::WS_P12_PASSWORD;
use common::*;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

fn s(p: &std::path::Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The host the tests connect to: a name, because rumqttd (rustls) refuses a ClientHello
/// whose server name (SNI) is an IP address, and paho sends the host as SNI.
const HOST: &str = "localhost";

/// `-h localhost -p PORT`, then `more`.
fn at(port: u16, more: &[&str]) -> Vec<String> {
    let mut v = strs(&["-h", HOST, "-p", &port.to_string()]);
    v.extend(strs(more));
    v
}

/// The CA and rumqttd's client certificate (mutual TLS).
fn mtls(r: &Rumqttd) -> Vec<String> {
    vec![
        "--cafile".into(),
        s(&pki().ca),
        "--cert".into(),
        s(&r.client_cert),
        "--key".into(),
        s(&r.client_key),
    ]
}

/// A subscriber (with `-d`, so that its SUBACK can be seen) that has subscribed.
fn subscribed(prog: Prog, args: Vec<String>) -> Background {
    let bg = Run::prog(prog).args(args).timeout(WAIT).spawn();
    assert!(
        bg.wait_for_stdout("received SUBACK", WAIT),
        "not subscribed: {}\n{}",
        bg.stdout_str(),
        String::from_utf8_lossy(&bg.stderr())
    );
    bg
}

#[test]
fn ws_and_wss_messages_reach_subscribers() {
    let r = Rumqttd::start();
    // ws: --ws with -h/-p for one side, -L ws:// for the other.
    let topic = unique_topic("ws");
    let sub = subscribed(
        Prog::OursSub,
        at(r.ws, &["--ws", "-d", "-t", &topic, "-C", "1", "-v"]),
    );
    let url = format!("ws://{HOST}:{}/{topic}", r.ws);
    ours_pub(strs(&["-L", &url, "-m", "over ws", "-q", "1"])).assert_success();
    let out = sub.wait(WAIT);
    out.assert_success();
    assert!(
        out.stdout_str().contains(&format!("\n{topic} over ws\n")),
        "{out}"
    );

    // wss with mutual TLS: -L wss:// (OS store + --cafile) and PEM files for the
    // subscriber; --ws, --capath and PKCS#12 for the publisher.
    let topic = unique_topic("wss");
    let url = format!("wss://{HOST}:{}/{topic}", r.wss);
    let mut args = strs(&["-L", &url, "-d", "-C", "1", "-v"]);
    args.extend(mtls(&r));
    let sub = subscribed(Prog::OursSub, args);
    let capath = TempDir::new("ws-capath");
    let hash = pki().ca_x509().subject_name_hash();
    std::fs::copy(&pki().ca, capath.join(format!("{hash:08x}.0"))).unwrap();
    let p12 = s(&r.client_p12);
    let publish = Run::prog(Prog::OursPub)
        .args(at(r.wss, &["--ws", "--capath", &s(capath.path())]))
        .args(["--pkcs12", &p12, "-t", &topic, "-m", "over wss", "-q", "1"])
        .env("MQTTS_KEY_PASSWORD", WS_P12_PASSWORD)
        .run();
    publish.assert_success();
    let out = sub.wait(WAIT);
    out.assert_success();
    assert!(
        out.stdout_str().contains(&format!("\n{topic} over wss\n")),
        "{out}"
    );
}

#[test]
fn subscriber_reconnects_over_websockets_after_a_broker_restart() {
    let mut r = Rumqttd::start();
    let topic = unique_topic("restart");
    let sub = subscribed(
        Prog::OursSub,
        at(
            r.ws,
            &["--ws", "-d", "-i", "ws-restart", "-t", &topic, "-v"],
        ),
    );
    r.restart();
    let suback_again = wait_until(WAIT, || {
        sub.stdout_str().matches("received SUBACK").count() >= 2
    });
    assert!(suback_again, "no resubscription: {}", sub.stdout_str());
    ours_pub(at(r.ws, &["--ws", "-t", &topic, "-m", "after restart"])).assert_success();
    let line = format!("{topic} after restart\n");
    assert!(sub.wait_for_stdout(&line, WAIT), "{}", sub.stdout_str());
    let out = sub.kill();
    assert_eq!(
        out.stdout_str().matches("sending CONNECT").count(),
        2,
        "{out}"
    );
}

/// The `-d` output of a subscriber (`-C 1`) and a QoS 1 publisher to it, both with fixed
/// ids, connected with `conn`.
fn traced_exchange(conn: &[String], topic: &str) -> (String, String) {
    let mut sub_args = conn.to_vec();
    sub_args.extend(strs(&["-d", "-i", "ws-sub", "-t", topic, "-C", "1", "-v"]));
    let sub = subscribed(Prog::OursSub, sub_args);
    let mut pub_args = conn.to_vec();
    pub_args.extend(strs(&[
        "-d", "-i", "ws-pub", "-t", topic, "-m", "hi", "-q", "1",
    ]));
    let publish = ours_pub(pub_args);
    publish.assert_success();
    let out = sub.wait(WAIT);
    out.assert_success();
    (out.stdout_str(), publish.stdout_str())
}

#[test]
fn debug_trace_over_websockets_is_the_tcp_trace() {
    let r = Rumqttd::start();
    let topic = unique_topic("trace");
    let tcp = traced_exchange(&at(r.tcp, &[]), &topic);
    let ws = traced_exchange(&at(r.ws, &["--ws"]), &topic);
    assert!(tcp.1.contains("received PUBACK"), "{}", tcp.1);
    assert!(tcp.0.contains(&format!("{topic} hi\n")), "{}", tcp.0);
    assert_eq!(ws, tcp);

    let mut tls = at(r.tls, &[]);
    tls.extend(mtls(&r));
    let mut wss = at(r.wss, &["--ws"]);
    wss.extend(mtls(&r));
    let tls = traced_exchange(&tls, &topic);
    let wss = traced_exchange(&wss, &topic);
    assert_eq!(wss, tls);
    assert_eq!(wss, tcp);
}

#[track_caller]
fn assert_named(out: &RunOutput, code: i32, needles: &[&str]) {
    let err = out.stderr_str();
    assert_eq!(out.code, Some(code), "{out}");
    assert!(err.starts_with("Error: "), "{out}");
    for n in needles {
        assert!(err.contains(n), "missing {n:?} in:\n{err}");
    }
    assert!(
        out.elapsed < Duration::from_secs(8),
        "took {:?}",
        out.elapsed
    );
}

#[test]
fn ws_to_a_plain_mqtt_port_is_named() {
    let r = Rumqttd::start();
    let out = ours_pub(at(r.tcp, &["--ws", "-t", "a", "-m", "x"]));
    assert_named(
        &out,
        89,
        &["answered plain MQTT, not WebSockets", "drop --ws"],
    );
    // The same for wss to a TLS MQTT port (the TLS layer passes, the upgrade does not).
    let mut args = at(r.tls, &["--ws", "-t", "a", "-m", "x"]);
    args.extend(mtls(&r));
    let out = ours_pub(args);
    assert_named(
        &out,
        89,
        &["answered plain MQTT, not WebSockets", "-L mqtts://"],
    );
}

#[test]
fn plain_mqtt_to_a_websocket_port_is_named() {
    let r = Rumqttd::start();
    let out = ours_pub(at(r.ws, &["-t", "a", "-m", "x"]));
    assert_named(
        &out,
        89,
        &["is an MQTT-over-WebSockets listener", "Add --ws"],
    );
    let mut args = at(r.wss, &["-t", "a"]);
    args.extend(mtls(&r));
    let out = ours_sub(args);
    assert_named(&out, 89, &["is an MQTT-over-WebSockets listener", "wss://"]);
}

#[test]
fn ws_to_a_tls_port_says_it_is_tls() {
    let r = Rumqttd::start();
    let out = ours_sub(at(r.wss, &["--ws", "-t", "a"]));
    assert_named(&out, 89, &["without HTTP (first bytes: 15 03", "wss://"]);
}

/// `python3 -m http.server` on a free loopback port; killed on drop.
struct HttpServer {
    port: u16,
    child: Option<Child>,
    _dir: TempDir,
}

impl HttpServer {
    fn start() -> HttpServer {
        let dir = TempDir::new("http");
        let port = free_port();
        let mut cmd = Command::new("python3");
        cmd.args(["-m", "http.server", &port.to_string(), "--bind", LOOPBACK])
            .arg("--directory")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        die_with_parent(&mut cmd);
        let child = cmd.spawn().expect("python3 -m http.server");
        kill_at_exit(child.id());
        assert!(
            wait_until(WAIT, || port_accepts(port)),
            "http.server did not start"
        );
        HttpServer {
            port,
            child: Some(child),
            _dir: dir,
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        kill_and_reap(self.child.take());
    }
}

#[test]
fn ws_to_an_http_server_names_its_status() {
    let http = HttpServer::start();
    let out = ours_pub(at(http.port, &["--ws", "-t", "a", "-m", "x"]));
    assert_named(
        &out,
        90,
        &["refused the WebSocket upgrade: HTTP 404", "GET /mqtt"],
    );
    let url = format!("ws://{HOST}:{}/a", http.port);
    let out = ours_sub(strs(&["-L", &url]));
    assert_named(&out, 90, &["HTTP 404"]);
}

#[test]
fn wss_tls_failures_are_the_tls_diagnosis() {
    let r = Rumqttd::start();
    let p = pki();
    // Wrong CA.
    let out = ours_pub(at(
        r.wss,
        &[
            "--ws",
            "--cafile",
            &s(&p.untrusted_ca),
            "-t",
            "a",
            "-m",
            "x",
        ],
    ));
    assert_named(
        &out,
        80,
        &["is not trusted by --cafile", "Server certificate: subject"],
    );
    // No client certificate where one is required.
    let out = ours_pub(at(
        r.wss,
        &["--ws", "--cafile", &s(&p.ca), "-t", "a", "-m", "x"],
    ));
    assert_named(&out, 83, &["requires a client certificate", "--cert"]);
    // -L wss:// alone trusts the OS store, which does not hold the test CA.
    let url = format!("wss://{HOST}:{}/a", r.wss);
    let out = ours_sub(strs(&["-L", &url]));
    assert_named(&out, 80, &["is not trusted by the OS trust store"]);
    // The TLS version limits apply: rumqttd offers TLS 1.2 and 1.3.
    let mut args = at(
        r.wss,
        &["--ws", "--tls-version", "tlsv1.3", "-t", "a", "-m", "x"],
    );
    args.extend(mtls(&r));
    ours_pub(args).assert_success();
    let mut args = at(
        r.wss,
        &[
            "--ws",
            "--tls-version",
            "tlsv1.1",
            "--tls-max-version",
            "tlsv1.1",
        ],
    );
    args.extend(strs(&["-t", "a", "-m", "x"]));
    args.extend(mtls(&r));
    let out = ours_pub(args);
    assert_named(&out, 85, &["TLS versions", "Offered: TLS TLSv1.1"]);
    // The broker certificate's expiry warning, from the wss handshake.
    let mut args = at(
        r.wss,
        &["--ws", "--cert-expiry-warn", "36500days", "-t", "a"],
    );
    args.extend(mtls(&r));
    args.extend(strs(&["-m", "x"]));
    let out = ours_pub(args);
    out.assert_success();
    let port = r.wss;
    assert!(
        out.stderr_str()
            .contains(&format!("Warning: the certificate of {HOST} port {port} ")),
        "{out}"
    );
    // By IP address: paho sends it as the server name, which rustls refuses (RFC 6066
    // allows no addresses there); the alert is named, with that explanation.
    let mut args = strs(&["-h", LOOPBACK, "-p", &r.wss.to_string(), "--ws"]);
    args.extend(mtls(&r));
    args.extend(strs(&["-t", "a", "-m", "x"]));
    let out = ours_pub(args);
    assert_named(
        &out,
        8,
        &["the alert \"decode error\"", "server name (SNI)"],
    );
}

#[test]
fn ws_to_a_silent_port_says_nothing_answered() {
    // Accepts connections and never answers (a hung service), on a free loopback port.
    let listener = std::net::TcpListener::bind((LOOPBACK, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        let mut conns = Vec::new();
        for c in listener.incoming().take(2) {
            conns.push(c);
        }
        std::thread::sleep(Duration::from_secs(10));
    });
    // paho waits -k 5 seconds, then the probe its own 3: well inside the 20 s allowed.
    let out = Run::prog(Prog::OursPub)
        .args(at(port, &["--ws", "-k", "5", "-t", "a", "-m", "x"]))
        .timeout(Duration::from_secs(20))
        .run();
    assert_eq!(out.code, Some(7), "{out}");
    let err = out.stderr_str();
    assert!(
        err.starts_with(&format!(
            "Error: {HOST} port {port} accepted the connection but did not answer the WebSocket upgrade request within 5 s."
        )),
        "{out}"
    );
    assert!(
        out.elapsed < Duration::from_secs(10),
        "took {:?}",
        out.elapsed
    );
    drop(held);
}
