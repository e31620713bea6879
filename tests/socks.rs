//! `--proxy socks5h://…` through a real SOCKS5 proxy (Debian's `microsocks`), against
//! mosquitto_pub/mosquitto_sub 2.0.11 doing the same.
//!
//! Each proxy is started with `-b 127.0.0.3`: it connects to the broker from that address,
//! while the clients connect from 127.0.0.1 (or the `-A` address). So a broker log line
//! `New connection from 127.0.0.3` proves that a connection came through the proxy, and the
//! proxy's own log line `<client address>: connected to <host>:<port>` shows whom it
//! connected to (the broker's name as given: the proxy resolved it).

mod common;

use common::*;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
/// The address the proxies connect to the broker from.
const PROXY_SOURCE: &str = "127.0.0.3";
const USER: &str = "alice";
const PASS: &str = "s3cr:t%";
/// `PASS` as written in a proxy URL (mosquitto's escapes: `%3A` → `:`, `%25` → `%`).
const PASS_IN_URL: &str = "s3cr%3At%25";

/// A running microsocks, killed on drop.
struct Socks {
    port: u16,
    log: PathBuf,
    child: Option<Child>,
    _dir: TempDir,
}

impl Socks {
    fn start(auth: bool) -> Socks {
        let dir = TempDir::new("socks");
        let log = dir.join("microsocks.log");
        let port = free_port();
        let out = std::fs::File::create(&log).expect("create log");
        let mut cmd = Command::new("microsocks");
        cmd.args(["-i", LOOPBACK, "-p", &port.to_string(), "-b", PROXY_SOURCE]);
        if auth {
            cmd.args(["-u", USER, "-P", PASS]);
        }
        cmd.stdin(Stdio::null())
            .stdout(out.try_clone().expect("dup"))
            .stderr(out);
        die_with_parent(&mut cmd);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run microsocks (is it installed?): {e}"));
        kill_at_exit(child.id());
        assert!(
            wait_until(Duration::from_secs(5), || port_accepts(port)),
            "microsocks does not accept on port {port}"
        );
        Socks {
            port,
            log,
            child: Some(child),
            _dir: dir,
        }
    }

    /// The `--proxy` URL for this proxy, with the right credentials when it wants them.
    fn url(&self, with_credentials: bool) -> String {
        if with_credentials {
            format!("socks5h://{USER}:{PASS_IN_URL}@{LOOPBACK}:{}", self.port)
        } else {
            format!("socks5h://{LOOPBACK}:{}", self.port)
        }
    }

    /// How many times the proxy logged `needle`.
    fn log_count(&self, needle: &str) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .matches(needle)
            .count()
    }
}

impl Drop for Socks {
    fn drop(&mut self) {
        kill_and_reap(self.child.take());
    }
}

fn broker() -> Broker {
    Broker::builder().tls12only(false).start()
}

/// `-h localhost -p PORT` and the TLS options of `listener` (the server certificate is for
/// localhost: host-name verification against the broker's name, through the tunnel).
fn by_name(broker: &Broker, listener: &str) -> Vec<String> {
    let mut a = broker.client_args(listener);
    a[1] = "localhost".to_string();
    a
}

fn from_proxy(broker: &Broker) -> usize {
    broker.log_count(&format!("New connection from {PROXY_SOURCE}:"))
}

/// Runs `prog` with `args`; asserts it went through `socks` to `broker` (one more
/// connection from the proxy's address, and the proxy connected to localhost:`port`).
fn through(broker: &Broker, socks: &Socks, port: u16, prog: Prog, args: &[String]) -> RunOutput {
    let before = (
        from_proxy(broker),
        socks.log_count(&format!("connected to localhost:{port}")),
    );
    let out = Run::prog(prog).args(args).timeout(WAIT).run();
    assert_eq!(
        from_proxy(broker),
        before.0 + 1,
        "broker saw no connection from the proxy:\n{out}\n{}",
        broker.main_log()
    );
    assert_eq!(
        socks.log_count(&format!("connected to localhost:{port}")),
        before.1 + 1,
        "the proxy did not connect to localhost:{port}:\n{out}"
    );
    out
}

/// Publish through the proxy with mosquitto_pub and mqtts-pub: same trace and exit code,
/// and the direct subscriber got both messages.
fn publish_case(broker: &Broker, socks: &Socks, listener: &str, credentials: bool) {
    let topic = unique_topic("socks-pub");
    let sub = start_subscriber(
        broker,
        Prog::MosquittoSub,
        [
            broker.client_args("plain"),
            strs(&["-t", &topic, "-C", "2", "-W", "20"]),
        ]
        .concat(),
    );
    let mut outs = Vec::new();
    for prog in [Prog::MosquittoPub, Prog::OursPub] {
        let mut args = by_name(broker, listener);
        args.extend(strs(&["--proxy", &socks.url(credentials), "-d", "-q", "1"]));
        // Payloads of the same length: the traces show it.
        let payload = if prog == Prog::OursPub {
            "from-ours"
        } else {
            "from-mosq"
        };
        args.extend(strs(&["-t", &topic, "-m", payload]));
        let out = through(broker, socks, broker.port(listener), prog, &args);
        out.assert_success();
        outs.push(out);
    }
    assert_eq!(
        normalise_trace(&outs[1].stdout_str()),
        normalise_trace(&outs[0].stdout_str()),
        "-d trace differs:\n{}\n{}",
        outs[0],
        outs[1]
    );
    assert!(outs[1].stdout_str().contains("received PUBACK"));
    assert_eq!(
        sub.wait(WAIT).stdout_str(),
        "from-mosq\nfrom-ours\n",
        "{listener}"
    );
}

/// Subscribe through the proxy with mosquitto_sub and mqtts-sub: same trace, message and
/// exit code.
fn subscribe_case(broker: &Broker, socks: &Socks, listener: &str, credentials: bool) {
    let mut outs = Vec::new();
    for prog in [Prog::MosquittoSub, Prog::OursSub] {
        let topic = unique_topic("socks-sub");
        let mut args = by_name(broker, listener);
        args.extend(strs(&["--proxy", &socks.url(credentials), "-d", "-v"]));
        args.extend(strs(&[
            "-i",
            "socks-sub",
            "-t",
            &topic,
            "-C",
            "1",
            "-W",
            "20",
        ]));
        let before = from_proxy(broker);
        let bg = start_subscriber(broker, prog, &args);
        assert_eq!(from_proxy(broker), before + 1, "{}", broker.main_log());
        let mut publish = broker.client_args("plain");
        publish.extend(strs(&["-t", &topic, "-m", "through the proxy"]));
        mosquitto_pub(&publish).assert_success();
        let out = bg.wait(WAIT);
        out.assert_success();
        outs.push((out, topic));
    }
    let norm = |(o, t): &(RunOutput, String)| normalise_trace(&o.stdout_str()).replace(t, "TOPIC");
    assert_eq!(
        norm(&outs[1]),
        norm(&outs[0]),
        "-d trace differs:\n{}\n{}",
        outs[0].0,
        outs[1].0
    );
    assert!(outs[1].0.stdout_str().contains(" through the proxy\n"));
}

#[test]
fn publish_through_the_proxy_plain_tls_and_mutual_tls() {
    let broker = broker();
    let open = Socks::start(false);
    let auth = Socks::start(true);
    for listener in ["plain", "tls", "mtls"] {
        publish_case(&broker, &open, listener, false);
        publish_case(&broker, &auth, listener, true);
    }
}

#[test]
fn subscribe_through_the_proxy_plain_tls_and_mutual_tls() {
    let broker = broker();
    let open = Socks::start(false);
    let auth = Socks::start(true);
    for listener in ["plain", "tls", "mtls"] {
        subscribe_case(&broker, &open, listener, false);
        subscribe_case(&broker, &auth, listener, true);
    }
}

/// mqtts-sub reconnects through the proxy after the broker went away, also while the proxy
/// answers that it cannot reach the broker (as mosquitto_sub retries).
#[test]
fn subscriber_reconnects_through_the_proxy() {
    let mut broker = broker();
    let socks = Socks::start(true);
    let topic = unique_topic("socks-again");
    let mut args = by_name(&broker, "plain");
    args.extend(strs(&[
        "--proxy",
        &socks.url(true),
        "-t",
        &topic,
        "-C",
        "2",
        "-q",
        "1",
    ]));
    args.extend(strs(&["-i", "socks-again", "-c", "-W", "30"]));
    let mut bg = start_subscriber(&broker, Prog::OursSub, &args);
    let mut publish = broker.client_args("plain");
    publish.extend(strs(&["-t", &topic, "-q", "1", "-m"]));
    mosquitto_pub([publish.clone(), strs(&["one"])].concat()).assert_success();
    assert!(bg.wait_for_stdout("one\n", WAIT), "{}", bg.stdout_str());
    // Acknowledged before the broker stops, or it comes again in the resumed session.
    assert!(
        broker.wait_for_log_count("Received PUBACK from socks-again", 1, WAIT),
        "{}",
        broker.main_log()
    );
    let subacks = broker.log_count("Sending SUBACK to socks-again");
    broker.stop();
    // mqtts-sub tries again every second; the proxy answers "connection refused" (SOCKS5
    // reply 5, which ends a first connect with 4) and mqtts-sub goes on trying.
    let refused = socks.log_count("connected to localhost");
    std::thread::sleep(Duration::from_millis(2500));
    assert!(bg.is_running(), "{}", bg.stderr().len());
    broker.restart();
    assert!(
        broker.wait_for_log_count("Sending SUBACK to socks-again", subacks + 1, WAIT),
        "{}",
        broker.main_log()
    );
    mosquitto_pub([publish, strs(&["two"])].concat()).assert_success();
    let out = bg.wait(WAIT);
    out.assert_success();
    assert_eq!(
        out.stdout_str(),
        "one\ntwo\n",
        "{out}\n{}",
        broker.main_log()
    );
    // The one connection after the restart came through the proxy.
    assert_eq!(
        socks.log_count("connected to localhost"),
        refused + 1,
        "{out}\n{}",
        std::fs::read_to_string(&socks.log).unwrap_or_default()
    );
    assert!(from_proxy(&broker) >= 1, "{}", broker.main_log());
}

/// An IPv4 literal as the broker: sent to the proxy as an address (as mosquitto does), and
/// `-A` binds the connection to the proxy.
#[test]
fn ip_literal_broker_and_bind_address() {
    let broker = broker();
    let socks = Socks::start(false);
    let port = broker.port("tls");
    for prog in [Prog::MosquittoPub, Prog::OursPub] {
        let mut args = broker.client_args("tls");
        args.extend(strs(&["--proxy", &socks.url(false), "-A", "127.0.0.2"]));
        args.extend(strs(&["-t", "socks/literal", "-m", "x"]));
        let before = from_proxy(&broker);
        let needle = format!("127.0.0.2: connected to 127.0.0.1:{port}");
        let logged = socks.log_count(&needle);
        Run::prog(prog)
            .args(&args)
            .timeout(WAIT)
            .run()
            .assert_success();
        assert_eq!(from_proxy(&broker), before + 1, "{}", prog.name());
        assert_eq!(socks.log_count(&needle), logged + 1, "{}", prog.name());
    }
}

/// Runs mosquitto_pub (when `mosquitto_too`) and mqtts-pub with `args`: both exit `code`,
/// print nothing on stdout; ours names `facts` on stderr.
fn fails(args: &[String], code: i32, facts: &[&str], mosquitto_too: bool) -> RunOutput {
    let progs: &[Prog] = if mosquitto_too {
        &[Prog::MosquittoPub, Prog::OursPub]
    } else {
        &[Prog::OursPub]
    };
    let mut ours = None;
    for &prog in progs {
        let out = Run::prog(prog).args(args).timeout(WAIT).run();
        out.assert_code(code);
        assert_eq!(out.stdout_str(), "", "{out}");
        ours = Some(out);
    }
    let ours = ours.expect("ran");
    for f in facts {
        assert!(ours.stderr_str().contains(f), "missing {f:?}:\n{ours}");
    }
    assert!(!ours.stderr_str().contains(PASS), "password shown:\n{ours}");
    ours
}

fn pub_args(host: &str, port: u16, proxy: &str) -> Vec<String> {
    strs(&[
        "-h",
        host,
        "-p",
        &port.to_string(),
        "--proxy",
        proxy,
        "-t",
        "socks/fail",
        "-m",
        "x",
        "-d",
    ])
}

#[test]
fn proxy_down_or_unknown() {
    let broker = broker();
    let port = broker.port("plain");
    let nothing = free_port();
    fails(
        &pub_args(
            "localhost",
            port,
            &format!("socks5h://{LOOPBACK}:{nothing}"),
        ),
        1,
        &[&format!(
            "connection refused by the SOCKS5 proxy 127.0.0.1 port {nothing}"
        )],
        true,
    );
    fails(
        &pub_args("localhost", port, "socks5h://no-such-proxy.invalid:1080"),
        1,
        &["cannot resolve the SOCKS5 proxy's host name no-such-proxy.invalid"],
        true,
    );
}

#[test]
fn proxy_refuses_the_credentials() {
    let broker = broker();
    let port = broker.port("plain");
    let socks = Socks::start(true);
    let url = format!("socks5h://{USER}:wrong@{LOOPBACK}:{}", socks.port);
    let proxy = format!("the SOCKS5 proxy 127.0.0.1 port {}", socks.port);
    fails(
        &pub_args("localhost", port, &url),
        11,
        &[&proxy, "refused the user name and password of user alice"],
        true,
    );
    fails(
        &pub_args("localhost", port, &socks.url(false)),
        11,
        &[&proxy, "requires a user name and password"],
        true,
    );
    // --quiet: the same status, nothing said.
    let mut quiet = pub_args("localhost", port, &url);
    quiet.push("--quiet".into());
    let out = Run::prog(Prog::OursPub).args(&quiet).timeout(WAIT).run();
    out.assert_code(11);
    assert_eq!(out.stderr_str(), "", "{out}");
    // Credentials given and not asked for: the proxy without authentication takes them.
    let open = Socks::start(false);
    Run::prog(Prog::OursPub)
        .args(pub_args("localhost", port, &open.url(true)))
        .timeout(WAIT)
        .run()
        .assert_success();
}

#[test]
fn proxy_cannot_reach_the_broker() {
    let broker = broker();
    let socks = Socks::start(false);
    let closed = free_port();
    let proxy = format!("the SOCKS5 proxy 127.0.0.1 port {}", socks.port);
    let out = fails(
        &pub_args("localhost", closed, &socks.url(false)),
        4,
        &[
            &proxy,
            &format!("could not connect to the broker localhost port {closed}"),
            "connection refused (SOCKS5 reply 5)",
        ],
        true,
    );
    assert!(!out.stderr_str().contains("TLS"), "{out}");
    fails(
        &pub_args(
            "no-such-broker.invalid",
            broker.port("plain"),
            &socks.url(false),
        ),
        16,
        &[
            "could not connect to the broker no-such-broker.invalid port",
            "general failure (SOCKS5 reply 1)",
        ],
        true,
    );
    // mosquitto_sub retries this one for ever; mqtts-sub ends with the same code as pub.
    let mut args = pub_args("localhost", closed, &socks.url(false));
    args.truncate(6);
    args.extend(strs(&["-t", "socks/fail"]));
    let out = Run::prog(Prog::OursSub).args(&args).timeout(WAIT).run();
    out.assert_code(4);
    assert!(
        out.stderr_str()
            .contains("connection refused (SOCKS5 reply 5)"),
        "{out}"
    );
}

/// A TLS failure behind the proxy is diagnosed through the proxy: the broker's certificate
/// does not name the host.
#[test]
fn tls_failure_behind_the_proxy_is_named() {
    let broker = broker();
    let socks = Socks::start(false);
    let mut args = by_name(&broker, "wrong_host");
    args.extend(strs(&[
        "--proxy",
        &socks.url(false),
        "-t",
        "socks/tls",
        "-m",
        "x",
    ]));
    let before = from_proxy(&broker);
    let out = Run::prog(Prog::OursPub).args(&args).timeout(WAIT).run();
    out.assert_code(82);
    assert!(out.stderr_str().contains("localhost"), "{out}");
    assert!(out.stderr_str().contains("wrong.example"), "{out}");
    assert!(from_proxy(&broker) > before, "{}", broker.main_log());
}

/// Names and credentials longer than SOCKS5 carries: exit 1 as mosquitto_pub, with a
/// message (mosquitto says "Out of memory." or nothing).
#[test]
fn too_long_for_socks5() {
    let long = "h".repeat(256);
    fails(
        &pub_args(&long, 1883, "socks5h://127.0.0.1:1"),
        1,
        &["the broker's host name (-h) is too long for SOCKS5 (at most 255 bytes)"],
        true,
    );
    fails(
        &pub_args(
            "localhost",
            1883,
            &format!("socks5h://{long}:pw@127.0.0.1:1"),
        ),
        1,
        &["the user name in --proxy is too long for SOCKS5"],
        true,
    );
}

#[test]
fn proxy_with_unix_socket_is_refused() {
    let out = Run::prog(Prog::OursPub)
        .args(strs(&[
            "--unix",
            "/nonexistent/mqtt.sock",
            "--proxy",
            "socks5h://127.0.0.1:1",
            "-t",
            "a",
            "-m",
            "b",
        ]))
        .timeout(WAIT)
        .run();
    out.assert_code(1);
    assert!(
        out.stderr_str()
            .contains("--proxy cannot be used with --unix"),
        "{out}"
    );
}
