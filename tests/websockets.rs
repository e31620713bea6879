//! MQTT over WebSockets (`--ws`, `-L ws://`, `-L wss://`, mosquitto 2.1's options) against
//! a real rumqttd (Debian's mosquitto 2.0.11 has no WebSockets listener): messages go from
//! mqtts-pub to mqtts-sub through a ws:// and a wss:// listener. rumqttd is installed by
//! scripts/lib.sh (`cargo install rumqttd`).

mod common;

use common::*;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A rumqttd with an MQTT 3.1.1 listener, a ws:// and a wss:// listener (the test PKI's
/// server certificate), on free loopback ports. Killed on drop.
struct Rumqttd {
    _dir: TempDir,
    ws: u16,
    wss: u16,
    child: Option<Child>,
    log: PathBuf,
}

fn rumqttd_path() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    [
        home.join(".cargo/bin/rumqttd"),
        PathBuf::from("/usr/local/bin/rumqttd"),
    ]
    .into_iter()
    .find(|p| p.exists())
    .unwrap_or_else(|| PathBuf::from("rumqttd"))
}

impl Rumqttd {
    fn start() -> Rumqttd {
        let pki = pki();
        let dir = TempDir::new("rumqttd");
        let ports = free_ports(3);
        let conns = "connection_timeout_ms = 60000\nmax_payload_size = 20480\n\
                     max_inflight_count = 100\ndynamic_filters = true\n";
        let ws_conns = "connection_timeout_ms = 60000\nmax_client_id_len = 256\n\
                        throttle_delay_ms = 0\nmax_payload_size = 20480\n\
                        max_inflight_count = 500\nmax_inflight_size = 1024\n";
        let conf = format!(
            "id = 0\n\
             [router]\nid = 0\nmax_connections = 100\nmax_outgoing_packet_count = 200\n\
             max_segment_size = 104857600\nmax_segment_count = 10\n\
             [v4.1]\nname = \"v4-1\"\nlisten = \"127.0.0.1:{tcp}\"\nnext_connection_delay_ms = 1\n\
             [v4.1.connections]\n{conns}\
             [ws.1]\nname = \"ws-1\"\nlisten = \"127.0.0.1:{ws}\"\nnext_connection_delay_ms = 1\n\
             [ws.1.connections]\n{ws_conns}\
             [ws.2]\nname = \"wss-1\"\nlisten = \"127.0.0.1:{wss}\"\nnext_connection_delay_ms = 1\n\
             [ws.2.tls]\ncertpath = \"{cert}\"\nkeypath = \"{key}\"\n\
             [ws.2.connections]\n{ws_conns}",
            tcp = ports[0],
            ws = ports[1],
            wss = ports[2],
            cert = pki.server_cert.display(),
            key = pki.server_key.display(),
        );
        let conf_path = dir.join("rumqttd.toml");
        std::fs::write(&conf_path, conf).unwrap();
        let log = dir.join("rumqttd.log");
        let out = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(rumqttd_path());
        cmd.arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        die_with_parent(&mut cmd);
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e} (scripts/lib.sh installs it: cargo install rumqttd)",
                rumqttd_path().display()
            )
        });
        kill_at_exit(child.id());
        let server = Rumqttd {
            _dir: dir,
            ws: ports[1],
            wss: ports[2],
            child: Some(child),
            log,
        };
        assert!(
            wait_until(Duration::from_secs(10), || port_accepts(ports[1])
                && port_accepts(ports[2])),
            "rumqttd did not start:\n{}",
            server.log()
        );
        server
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Rumqttd {
    fn drop(&mut self) {
        kill_and_reap(self.child.take());
    }
}

/// Subscribe with `sub_args` (waiting for its SUBACK in its `-d` trace), publish with
/// `pub_args`, and return what the subscriber printed.
fn round_trip(sub_args: &[String], pub_args: &[String]) -> String {
    let sub = Run::prog(Prog::OursSub)
        .args(sub_args)
        .args(["-C", "1", "-W", "10", "-d"])
        .spawn();
    assert!(
        sub.wait_for_stdout("Subscribed", Duration::from_secs(5)),
        "{:?}",
        sub.lines()
    );
    let out = Run::prog(Prog::OursPub).args(pub_args).run();
    assert_eq!(out.code, Some(0), "{out}");
    let got = sub.wait(Duration::from_secs(10));
    assert_eq!(got.code, Some(0), "{got}");
    got.stdout_str()
}

#[test]
fn publish_and_subscribe_over_ws_and_wss() {
    let broker = Rumqttd::start();
    let ca = pki().ca.display().to_string();

    // ws://: --ws with -h/-p, and -L ws://.
    let ws = broker.ws.to_string();
    let got = round_trip(
        &strs(&["--ws", "-h", "127.0.0.1", "-p", &ws, "-t", "ws/a", "-v"]),
        &strs(&["-L", &format!("ws://127.0.0.1:{ws}/ws/a"), "-m", "over ws"]),
    );
    assert!(got.contains("\nws/a over ws\n"), "{got}\n{}", broker.log());
    assert!(got.starts_with("Client null sending CONNECT\n"), "{got}");

    // wss://: TLS (with host name verification) around the WebSocket.
    let wss = broker.wss.to_string();
    let got = round_trip(
        &strs(&[
            "--ws",
            "-h",
            "localhost",
            "-p",
            &wss,
            "--cafile",
            &ca,
            "-t",
            "wss/b",
            "-v",
        ]),
        &strs(&[
            "-L",
            &format!("wss://localhost:{wss}/wss/b"),
            "--cafile",
            &ca,
            "-m",
            "over wss",
        ]),
    );
    assert!(
        got.contains("\nwss/b over wss\n"),
        "{got}\n{}",
        broker.log()
    );

    // The TLS checks hold over WebSockets too: a name the certificate is not for.
    let out = ours_pub(strs(&[
        "--ws",
        "-h",
        "127.0.0.1",
        "-p",
        &wss,
        "--cafile",
        &ca,
        "--tls-server-name",
        "other.example",
        "-t",
        "x",
        "-m",
        "y",
    ]));
    assert_eq!(out.code, Some(82), "{out}");
}

#[test]
fn ws_usage() {
    let out = ours_pub(["--ws", "--unix", "/tmp/x.sock", "-t", "x", "-m", "y"]);
    assert_eq!(out.code, Some(1), "{out}");
    assert_eq!(
        out.stderr_str(),
        "Error: --ws cannot be used with --unix: WebSockets need a TCP connection.\n"
    );
}

#[test]
fn ws_to_a_port_without_websockets_is_named() {
    // mosquitto's plain MQTT listener does not speak WebSockets.
    let broker = Broker::shared();
    let port = broker.port("plain").to_string();
    let out = ours_pub(["--ws", "-h", "127.0.0.1", "-p", &port, "-t", "x", "-m", "y"]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stderr_str().starts_with(&format!(
            "Error: could not connect to 127.0.0.1 port {port} over WebSockets (ws://127.0.0.1:{port}/mqtt).\n"
        )),
        "{out}"
    );
}
