//! mqtts-pub against mosquitto_pub, option by option, on a real broker.
//!
//! Each case runs the same arguments (and stdin) through mosquitto_pub and mqtts-pub and
//! compares stdout (the `-d` trace, after normalising mosquitto 2.0.11's documented
//! differences and broker-assigned ids), the exit code, stderr, and, byte for byte, what a
//! mosquitto_sub subscriber received (topic, QoS, retain, v5 properties, payload).

mod common;

use common::*;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// What the subscriber prints per message: topic, QoS, retain (as published), payload
/// length, the v5 properties mosquitto_sub can show, then the raw payload.
const SUB_FORMAT: &str = "%t|q%q|r%r|l%l|C%C|D%D|E%E|F%F|R%R|P%P|%p";

fn norm(out: &RunOutput) -> String {
    normalise_auto_id(&normalise_2011(&out.stdout_str()))
}

fn broker() -> Broker {
    Broker::builder().tls12only(false).start()
}

/// One publisher run and what a subscriber on its topic got.
struct Outcome {
    publisher: RunOutput,
    received: RunOutput,
}

/// Run `prog` with `args` (+ `stdin`) while a v5 mosquitto_sub on `topic` waits for
/// `messages` messages. Clears a retained message on `topic` afterwards.
fn run_one(
    broker: &Broker,
    prog: Prog,
    topic: &str,
    args: &[String],
    stdin: Option<&[u8]>,
    messages: usize,
) -> Outcome {
    let mut sub_args = broker.client_args("plain");
    sub_args.extend(
        [
            "-V",
            "5",
            "-q",
            "2",
            "--retain-as-published",
            "-W",
            "30",
            "-F",
            SUB_FORMAT,
            "-t",
            topic,
        ]
        .map(String::from),
    );
    sub_args.extend(["-C".to_string(), messages.max(1).to_string()]);
    let sub = start_subscriber(broker, Prog::MosquittoSub, &sub_args);
    let mut run = Run::prog(prog).args(args).timeout(WAIT);
    if let Some(input) = stdin {
        run = run.stdin(input.to_vec());
    }
    let publisher = run.run();
    let received = if messages == 0 {
        sub.kill()
    } else {
        sub.wait(WAIT)
    };
    // Remove a retained message so that the next subscriber starts clean.
    let mut clear = broker.client_args("plain");
    clear.extend(["-t", topic, "-r", "-n"].map(String::from));
    mosquitto_pub(&clear).assert_success();
    Outcome {
        publisher,
        received,
    }
}

/// The same publish through both programs: same stdout, exit code, stderr and deliveries.
fn same(broker: &Broker, listener: &str, extra: &[&str], stdin: Option<&[u8]>, messages: usize) {
    same_topic(
        broker,
        listener,
        &unique_topic("diff"),
        extra,
        stdin,
        messages,
    );
}

/// [`same`] with `-t topic` added and a chosen topic.
fn same_topic(
    broker: &Broker,
    listener: &str,
    topic: &str,
    extra: &[&str],
    stdin: Option<&[u8]>,
    messages: usize,
) -> (Outcome, Outcome) {
    let mut args = broker.client_args(listener);
    args.extend(["-t".to_string(), topic.to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let theirs = run_one(broker, Prog::MosquittoPub, topic, &args, stdin, messages);
    let ours = run_one(broker, Prog::OursPub, topic, &args, stdin, messages);
    compare(&args, &ours, &theirs, true);
    (ours, theirs)
}

/// [`same`] without comparing stderr (for documented differences); returns ours.
fn same_but_stderr(broker: &Broker, extra: &[&str], messages: usize) -> RunOutput {
    let topic = unique_topic("diff");
    let mut args = broker.client_args("plain");
    args.extend(["-t".to_string(), topic.clone()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let theirs = run_one(broker, Prog::MosquittoPub, &topic, &args, None, messages);
    let ours = run_one(broker, Prog::OursPub, &topic, &args, None, messages);
    compare(&args, &ours, &theirs, false);
    ours.publisher
}

#[track_caller]
fn compare(args: &[String], ours: &Outcome, theirs: &Outcome, stderr: bool) {
    let (o, t) = (&ours.publisher, &theirs.publisher);
    assert_eq!(
        norm(o),
        norm(t),
        "stdout differs for {args:?}\nours: {o}\ntheirs: {t}"
    );
    assert_eq!(
        o.code, t.code,
        "exit code for {args:?}\nours: {o}\ntheirs: {t}"
    );
    if stderr {
        assert_eq!(
            o.stderr_str(),
            t.stderr_str(),
            "stderr for {args:?}\nours: {o}\ntheirs: {t}"
        );
    }
    let (ro, rt) = (&ours.received, &theirs.received);
    assert_eq!(
        ro.stdout, rt.stdout,
        "subscriber got different messages for {args:?}\nours: {ro}\ntheirs: {rt}"
    );
    assert_eq!(
        ro.code, rt.code,
        "subscriber exit for {args:?}\nours: {ro}\ntheirs: {rt}"
    );
}

#[test]
fn message_qos_retain_and_ids() {
    let b = broker();
    for qos in ["0", "1", "2"] {
        same(&b, "plain", &["-m", "hello", "-q", qos], None, 1);
        same(
            &b,
            "plain",
            &["-d", "--qos", qos, "--message", "hi"],
            None,
            1,
        );
        same(&b, "plain", &["-d", "-m", "kept", "-q", qos, "-r"], None, 1);
        same(
            &b,
            "plain",
            &["-d", "-n", "-q", qos, "-i", "pub-n"],
            None,
            1,
        );
        same(
            &b,
            "plain",
            &["-d", "-m", "", "-q", qos, "--retain"],
            None,
            1,
        );
    }
    same(&b, "plain", &["--id", "long-id", "-m", "x", "-d"], None, 1);
    same(&b, "plain", &["-I", "pfx-", "-m", "x"], None, 1);
    same(
        &b,
        "plain",
        &["--id-prefix", "pfx-", "-m", "x", "-q", "1"],
        None,
        1,
    );
    same(&b, "plain", &["-k", "5", "-m", "x", "-d"], None, 1);
    same(&b, "plain", &["--keepalive", "65535", "-m", "x"], None, 1);
    same(&b, "plain", &["--quiet", "-m", "x", "-d"], None, 1);
    same(
        &b,
        "plain",
        &["--nodelay", "-m", "x", "-d", "-q", "1"],
        None,
        1,
    );
    same(
        &b,
        "plain",
        &["-u", "someone", "-P", "pw", "-m", "x", "-d"],
        None,
        1,
    );
    same(&b, "plain", &["-m", "-n", "-d"], None, 1);
    same(
        &b,
        "plain",
        &["-M", "1", "-m", "x", "-q", "2", "-d"],
        None,
        1,
    );
}

#[test]
fn protocol_versions_and_debug_traces() {
    let b = broker();
    for v in ["mqttv31", "31"] {
        for qos in ["0", "1", "2"] {
            same(
                &b,
                "plain",
                &["-d", "-V", v, "-i", "v31", "-m", "x", "-q", qos],
                None,
                1,
            );
        }
    }
    for v in ["mqttv311", "311", "mqttv5", "5"] {
        for qos in ["0", "1", "2"] {
            same(
                &b,
                "plain",
                &["-d", "-V", v, "-m", "abc", "-q", qos],
                None,
                1,
            );
            same(
                &b,
                "plain",
                &["-d", "--protocol-version", v, "-m", "r", "-r", "-q", qos],
                None,
                1,
            );
        }
    }
    // MQTT 3.1 without an id: both make up `mosq-` + 18 random characters.
    let t = unique_topic("v31-noid");
    let mut a = b.client_args("plain");
    a.extend(["-d", "-V", "31", "-t", &t, "-m", "x"].map(String::from));
    for prog in [Prog::MosquittoPub, Prog::OursPub] {
        let out = Run::prog(prog).args(&a).run();
        out.assert_success();
        let first = out.stdout_str().lines().next().unwrap_or("").to_string();
        let id = first
            .strip_prefix("Client ")
            .and_then(|s| s.strip_suffix(" sending CONNECT"))
            .unwrap_or_else(|| panic!("{out}"));
        assert!(
            id.len() == 23 && id.starts_with("mosq-"),
            "{prog:?}: {id:?}\n{out}"
        );
    }
}

#[test]
fn repeat_publishes_one_after_another() {
    let b = broker();
    for qos in ["0", "1", "2"] {
        same(
            &b,
            "plain",
            &["-d", "-m", "rep", "-q", qos, "--repeat", "3"],
            None,
            3,
        );
        same(
            &b,
            "plain",
            &[
                "-d",
                "-m",
                "rep",
                "-q",
                qos,
                "--repeat",
                "2",
                "--repeat-delay",
                "0.2",
            ],
            None,
            2,
        );
        same(
            &b,
            "plain",
            &["-d", "-V", "5", "-m", "r5", "-q", qos, "--repeat", "3"],
            None,
            3,
        );
    }
    same(&b, "plain", &["-d", "-n", "--repeat", "2"], None, 2);
    // A topic alias: only the first PUBLISH names the topic ('(null)' in the trace).
    same(
        &b,
        "plain",
        &[
            "-d",
            "-q",
            "1",
            "-m",
            "a",
            "-D",
            "publish",
            "topic-alias",
            "1",
            "--repeat",
            "3",
        ],
        None,
        3,
    );
    // QoS > 0: each publish waits for the previous acknowledgement (the trace shows it).
    let t = unique_topic("repeat-order");
    let mut a = b.client_args("plain");
    a.extend(["-d", "-q", "1", "-t", &t, "-m", "x", "--repeat", "4"].map(String::from));
    let out = ours_pub(&a);
    out.assert_success();
    let lines: Vec<String> = out.stdout_str().lines().map(String::from).collect();
    for m in 1..=4 {
        let sent = lines
            .iter()
            .position(|l| l.contains(&format!("PUBLISH (d0, q1, r0, m{m},")))
            .unwrap_or_else(|| panic!("{out}"));
        assert!(
            lines[sent + 1].contains(&format!("received PUBACK (Mid: {m}, RC:0)")),
            "{out}"
        );
    }
}

#[test]
fn repeat_delay_takes_durations() {
    // mosquitto reads `--repeat-delay 250ms` as 250 seconds (atof); mqtts takes the unit.
    let b = broker();
    let t = unique_topic("repeat-ms");
    let mut a = b.client_args("plain");
    a.extend(
        [
            "-t",
            &t,
            "-m",
            "x",
            "--repeat",
            "3",
            "--repeat-delay",
            "250ms",
        ]
        .map(String::from),
    );
    let sub = start_subscriber(&b, Prog::MosquittoSub, {
        let mut s = b.client_args("plain");
        s.extend(["-C", "3", "-t", &t].map(String::from));
        s
    });
    let out = ours_pub(&a);
    out.assert_success();
    assert!(out.elapsed >= Duration::from_millis(500), "{out}");
    assert_eq!(sub.wait(WAIT).stdout, b"x\nx\nx\n");
}

#[test]
fn properties_reach_the_subscriber() {
    let b = broker();
    same(
        &b,
        "plain",
        &[
            "-d",
            "-q",
            "1",
            "-m",
            "props",
            "-D",
            "publish",
            "user-property",
            "key",
            "value",
            "-D",
            "publish",
            "user-property",
            "key2",
            "value 2",
            "-D",
            "publish",
            "content-type",
            "text/plain",
            "-D",
            "publish",
            "correlation-data",
            "corr-123",
            "-D",
            "publish",
            "response-topic",
            "reply/here",
            "-D",
            "publish",
            "payload-format-indicator",
            "1",
            "-D",
            "publish",
            "message-expiry-interval",
            "3600",
        ],
        None,
        1,
    );
    same(
        &b,
        "plain",
        &[
            "-d",
            "-m",
            "c",
            "-i",
            "props-conn",
            "-D",
            "connect",
            "session-expiry-interval",
            "10",
            "-D",
            "connect",
            "user-property",
            "ck",
            "cv",
            "-D",
            "connect",
            "receive-maximum",
            "5",
            "-D",
            "connect",
            "maximum-packet-size",
            "100000",
            "-D",
            "disconnect",
            "user-property",
            "dk",
            "dv",
            "-D",
            "disconnect",
            "session-expiry-interval",
            "0",
        ],
        None,
        1,
    );
    // PUBLISH properties on MQTT 3.1.1 (a later -V wins): mosquitto publishes nothing and
    // exits 0 without a word; mqtts does the same but warns.
    let ours = same_but_stderr(
        &b,
        &[
            "-D",
            "publish",
            "content-type",
            "x",
            "-V",
            "311",
            "-m",
            "x",
            "-d",
        ],
        0,
    );
    assert_eq!(
        ours.stderr_str(),
        "Warning: PUBLISH properties (-D publish) need MQTT v5; nothing was published.\n"
    );
    // Will properties on v3: "Error: Problem setting will." before connecting.
    same(
        &b,
        "plain",
        &[
            "-D",
            "will",
            "content-type",
            "x",
            "-V",
            "311",
            "--will-topic",
            "w",
            "-m",
            "x",
            "-d",
        ],
        None,
        0,
    );
    // DISCONNECT properties on v3: mosquitto_pub 2.0 never disconnects and hangs (its
    // library refuses the DISCONNECT); mqtts leaves them out and ends normally.
    let t = unique_topic("v3-disconnect-props");
    let mut a = b.client_args("plain");
    a.extend(
        [
            "-t",
            &t,
            "-m",
            "x",
            "-D",
            "disconnect",
            "user-property",
            "a",
            "b",
            "-V",
            "311",
        ]
        .map(String::from),
    );
    ours_pub(&a).assert_success();
    // CONNECT properties on v3: "Unable to connect (This feature is not supported.)."
    same(
        &b,
        "plain",
        &[
            "-D",
            "connect",
            "session-expiry-interval",
            "5",
            "-V",
            "311",
            "-m",
            "x",
        ],
        None,
        0,
    );
}

#[test]
fn session_options() {
    let b = broker();
    // -c with an id, v3 and v5 (v5 without -x: session expiry "never").
    same(
        &b,
        "plain",
        &["-d", "-c", "-i", "sess-3", "-q", "1", "-m", "x"],
        None,
        1,
    );
    same(
        &b,
        "plain",
        &["-d", "-c", "-i", "sess-5", "-V", "5", "-q", "1", "-m", "x"],
        None,
        1,
    );
    same(
        &b,
        "plain",
        &[
            "-d",
            "--disable-clean-session",
            "-i",
            "sess-x",
            "-V",
            "5",
            "-x",
            "60",
            "-m",
            "x",
        ],
        None,
        1,
    );
    same(
        &b,
        "plain",
        &["-d", "-x", "30", "-V", "5", "-m", "x"],
        None,
        1,
    );
    // -x is ignored on v3 in 2.0.
    same(&b, "plain", &["-d", "-x", "30", "-m", "x"], None, 1);
    // A second -c run with the same id finds the session (CONNACK flags are not shown, but
    // the broker log tells).
    same(
        &b,
        "plain",
        &["-d", "-c", "-i", "sess-3", "-q", "1", "-m", "again"],
        None,
        1,
    );
}

#[test]
fn files_stdin_and_binary_payloads() {
    let b = broker();
    let dir = TempDir::new("pub-files");
    let empty = dir.join("empty");
    std::fs::write(&empty, b"").unwrap();
    let binary = dir.join("binary");
    let bin: Vec<u8> = (0..=255u8).chain(b"\r\n\0end".iter().copied()).collect();
    std::fs::write(&binary, &bin).unwrap();
    let e = empty.to_str().unwrap();
    let bi = binary.to_str().unwrap();
    same(&b, "plain", &["-d", "-f", e], None, 1);
    same(&b, "plain", &["-d", "--file", bi, "-q", "1"], None, 1);
    same(&b, "plain", &["-d", "-s", "-q", "2"], Some(&bin), 1);
    same(&b, "plain", &["-d", "--stdin-file"], Some(b"one line\n"), 1);
    // Errors: a missing file, empty stdin (exit 1, messages on stderr).
    same(&b, "plain", &["-f", "/nonexistent/file"], None, 0);
    same(&b, "plain", &["-s"], Some(b""), 0);
    same(&b, "plain", &["-d", "-s", "-q", "1"], Some(b""), 0);
}

#[test]
fn large_payloads_arrive_intact() {
    // 20 MB through -f and -s (the limit is 256 MB, checked by the unit test of `load`).
    let b = broker();
    let dir = TempDir::new("pub-large");
    let big: Vec<u8> = (0..20 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let path = dir.join("big");
    std::fs::write(&path, &big).unwrap();
    let t = unique_topic("large");
    for (args, stdin) in [
        (vec!["-f", path.to_str().unwrap(), "-q", "1"], None),
        (vec!["-s", "-q", "2"], Some(big.as_slice())),
    ] {
        let mut a = b.client_args("plain");
        a.extend(["-t", t.as_str()].map(String::from));
        a.extend(args.iter().map(|s| s.to_string()));
        let theirs = run_big(&b, Prog::MosquittoPub, &t, &a, stdin);
        let ours = run_big(&b, Prog::OursPub, &t, &a, stdin);
        assert_eq!(ours.0.code, Some(0), "{}", ours.0);
        assert_eq!(ours.0.code, theirs.0.code);
        assert_eq!(ours.1.len(), big.len() + 1);
        assert!(ours.1 == theirs.1, "the 20 MB payloads differ");
        assert_eq!(&ours.1[..big.len()], big.as_slice());
    }
}

#[test]
fn payload_size_limits() {
    // Sparse files: nothing is written to disk. One byte over mosquitto's limit is refused
    // before connecting; exactly the limit passes that check, but the packet (topic and
    // header added) is too large: a message, no PUBLISH sent, exit 0.
    let b = broker();
    let dir = TempDir::new("pub-limits");
    for (name, size) in [("over", 268_435_456u64), ("max", 268_435_455)] {
        let path = dir.join(name);
        std::fs::File::create(&path).unwrap().set_len(size).unwrap();
        let p = path.to_str().unwrap();
        same(&b, "plain", &["-f", p, "-q", "1"], None, 0);
        same(&b, "plain", &["-d", "-f", p, "-r"], None, 0);
    }
    // v5: the PUBLISH properties count too. Without them this payload would just fit
    // (topic, 1 byte of empty property length); a user property makes the packet too large.
    let topic = unique_topic("big");
    let path = dir.join("v5");
    let size = 268_435_455 - (2 + topic.len() as u64) - 1;
    std::fs::File::create(&path).unwrap().set_len(size).unwrap();
    let p = path.to_str().unwrap();
    let args = [
        "-V",
        "5",
        "-D",
        "publish",
        "user-property",
        "k",
        "v",
        "-f",
        p,
    ];
    same_topic(&b, "plain", &topic, &args, None, 0);
    // A directory is "too large" to mosquitto (ftell on it).
    same(&b, "plain", &["-f", dir.path().to_str().unwrap()], None, 0);
}

fn run_big(
    b: &Broker,
    prog: Prog,
    topic: &str,
    args: &[String],
    stdin: Option<&[u8]>,
) -> (RunOutput, Vec<u8>) {
    let mut s = b.client_args("plain");
    s.extend(["-C", "1", "-q", "1", "-t", topic].map(String::from));
    let sub = start_subscriber(b, Prog::MosquittoSub, &s);
    let mut run = Run::prog(prog).args(args).timeout(Duration::from_secs(60));
    if let Some(i) = stdin {
        run = run.stdin(i.to_vec());
    }
    let out = run.run();
    let got = sub.wait(Duration::from_secs(60));
    assert_eq!(got.code, Some(0), "{got}");
    (out, got.stdout)
}

#[test]
fn url_unix_socket_and_auth() {
    let dir = TempDir::new("pub-unix");
    let sock = dir.join("mqtt.sock");
    // mosquitto drops privileges; the socket directory must be reachable for it.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let b = Broker::builder()
        .tls12only(false)
        .config(format!(
            "listener 0 {}\nallow_anonymous true",
            sock.display()
        ))
        .start();
    assert!(
        wait_until(Duration::from_secs(5), || sock.exists()),
        "{}",
        b.log()
    );
    let s = sock.to_str().unwrap();
    let t = unique_topic("unix");
    // --unix: the subscriber listens over TCP, the publisher comes over the socket.
    for (prog, expect) in [(Prog::MosquittoPub, "theirs"), (Prog::OursPub, "ours")] {
        let mut sa = b.client_args("plain");
        sa.extend(["-C", "1", "-t", &t].map(String::from));
        let sub = start_subscriber(&b, Prog::MosquittoSub, &sa);
        let out = Run::prog(prog)
            .args(["--unix", s, "-t", &t, "-m", expect, "-d", "-q", "1"])
            .run();
        out.assert_success();
        assert_eq!(sub.wait(WAIT).stdout, format!("{expect}\n").into_bytes());
        assert!(
            out.stdout_str().contains("received PUBACK (Mid: 1, RC:0)"),
            "{out}"
        );
    }
    // -L mqtt://host:port/topic, and with user:pass against the password listener.
    let port = b.port("plain");
    let url = format!("mqtt://127.0.0.1:{port}/{t}");
    let (o, th) = both(&["-L", &url, "-m", "via-url", "-d"]);
    assert_eq!(norm(&o), norm(&th));
    assert_eq!((o.code, th.code), (Some(0), Some(0)), "{o}\n{th}");
    let auth = b.port("auth");
    let mut base: Vec<String> = b.client_args("auth");
    // The auth listener is TLS: keep the TLS arguments, drop host/port/user/password.
    strip_pairs(&mut base, &["-h", "-p", "-u", "-P"]);
    for (user, pw, code) in [
        (AUTH_USER, AUTH_PASSWORD, 0),
        (AUTH_USER, "wrong", 5),
        ("nobody", AUTH_PASSWORD, 5),
    ] {
        let url = format!("mqtts://{user}:{pw}@127.0.0.1:{auth}/{t}");
        let mut a = base.clone();
        a.extend(["-L", url.as_str(), "-m", "x", "-d"].map(String::from));
        let (o, th) = both_args(&a);
        assert_eq!(norm(&o), norm(&th), "{o}\n{th}");
        assert_eq!(o.code, Some(code), "{o}");
        assert_eq!(o.code, th.code, "{o}\n{th}");
        assert_eq!(o.stderr_str(), th.stderr_str());
    }
}

fn strip_pairs(args: &mut Vec<String>, names: &[&str]) {
    let mut i = 0;
    while i < args.len() {
        if names.contains(&args[i].as_str()) && i + 1 < args.len() {
            args.drain(i..i + 2);
        } else {
            i += 1;
        }
    }
}

fn both(args: &[&str]) -> (RunOutput, RunOutput) {
    let a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    both_args(&a)
}

fn both_args(a: &[String]) -> (RunOutput, RunOutput) {
    (ours_pub(a), mosquitto_pub(a))
}

#[test]
fn will_is_published_by_the_broker_on_takeover() {
    let b = broker();
    for version in ["311", "5"] {
        let t = unique_topic("will");
        let mut got = Vec::new();
        for prog in [Prog::MosquittoPub, Prog::OursPub] {
            let id = format!("will-{version}-{}", prog.name());
            let mut sa = b.client_args("plain");
            sa.extend(
                ["-V", "5", "-q", "2", "-C", "1", "-F", SUB_FORMAT, "-t", &t].map(String::from),
            );
            let sub = start_subscriber(&b, Prog::MosquittoSub, &sa);
            let mut pa = b.client_args("plain");
            pa.extend(
                [
                    "-l",
                    "-t",
                    "will/unused",
                    "-i",
                    &id,
                    "-V",
                    version,
                    "--will-topic",
                    &t,
                    "--will-payload",
                    "gone away",
                    "--will-qos",
                    "2",
                    "--will-retain",
                ]
                .map(String::from),
            );
            if version == "5" {
                pa.extend(
                    [
                        "-D",
                        "will",
                        "user-property",
                        "wk",
                        "wv",
                        "-D",
                        "will",
                        "content-type",
                        "text/bye",
                    ]
                    .map(String::from),
                );
            }
            let mut publisher = Run::prog(prog).args(&pa).stdin_pipe().timeout(WAIT).spawn();
            let needle = format!(" as {id} ");
            assert!(
                wait_until(WAIT, || b.log().contains(&needle)),
                "{}",
                b.log()
            );
            // Another client with the same id takes the session over: the broker publishes
            // the first connection's will.
            let mut ta = b.client_args("plain");
            ta.extend(["-i", &id, "-t", "will/none", "-E"].map(String::from));
            mosquitto_sub(&ta).assert_success();
            let received = sub.wait(WAIT);
            assert_eq!(received.code, Some(0), "{received}");
            got.push(received.stdout);
            publisher.close_stdin();
            // mosquitto_pub reconnects and ends normally; mqtts-pub reports the lost
            // connection (a documented difference).
            let out = publisher.wait(WAIT);
            assert!(!out.timed_out, "{out}");
            // The will was retained.
            let mut ra = b.client_args("plain");
            ra.extend(["-C", "1", "-F", "%r %p", "-t", &t].map(String::from));
            assert_eq!(mosquitto_sub(&ra).stdout, b"1 gone away\n");
            let mut clear = b.client_args("plain");
            clear.extend(["-t", &t, "-r", "-n"].map(String::from));
            mosquitto_pub(&clear).assert_success();
        }
        assert_eq!(
            String::from_utf8_lossy(&got[1]),
            String::from_utf8_lossy(&got[0]),
            "will differs (v{version})"
        );
        assert!(
            String::from_utf8_lossy(&got[0]).contains("gone away"),
            "{:?}",
            got[0]
        );
    }
}

#[test]
fn exit_codes_and_errors() {
    let b = broker();
    // Plain MQTT to a TLS port: the connection is lost (7).
    let tls_port = b.port("tls").to_string();
    for extra in [
        &[][..],
        &["-d"],
        &["--quiet"],
        &["-d", "-q", "1", "-i", "lost"],
    ] {
        let mut a: Vec<String> = ["-h", "127.0.0.1", "-p", &tls_port, "-t", "x", "-m", "y"]
            .map(String::from)
            .to_vec();
        a.extend(extra.iter().map(|s| s.to_string()));
        let (o, t) = both_args(&a);
        assert_eq!((o.code, t.code), (Some(7), Some(7)), "{o}\n{t}");
        assert_eq!(norm(&o), norm(&t), "{o}\n{t}");
        // Our diagnosis names the cause (src/tls) where mosquitto says "The connection was
        // lost."; --quiet silences both.
        if extra.contains(&"--quiet") {
            assert!(o.stderr.is_empty() && t.stderr.is_empty(), "{o}\n{t}");
        } else {
            assert!(o.stderr_str().contains("expects TLS"), "{o}");
        }
    }
    // Nothing listening: 1 (our message is more detailed than "Error: Connection refused").
    let closed = free_port().to_string();
    let (o, t) = both(&["-h", "127.0.0.1", "-p", &closed, "-t", "x", "-m", "y"]);
    assert_eq!((o.code, t.code), (Some(1), Some(1)), "{o}\n{t}");
    let (o, t) = both(&[
        "-h",
        "127.0.0.1",
        "-p",
        &closed,
        "-t",
        "x",
        "-m",
        "y",
        "--quiet",
    ]);
    assert_eq!((o.code, t.code), (Some(1), Some(1)), "{o}\n{t}");
    // CONNACK refusals, v3 and v5, with -d and --quiet.
    let mut bad = b.client_args("auth");
    let pw = bad.iter().position(|a| a == "-P").unwrap() + 1;
    bad[pw] = "wrong-password".into();
    for version in ["31", "311", "5"] {
        for extra in [&["-d"][..], &["--quiet"], &["-d", "--quiet"]] {
            let mut a = bad.clone();
            a.extend(["-t", "x", "-m", "y", "-V", version, "-i", "refused"].map(String::from));
            a.extend(extra.iter().map(|s| s.to_string()));
            let (o, t) = both_args(&a);
            assert_ne!(t.code, Some(0), "{t}");
            assert_eq!(o.code, t.code, "{o}\n{t}");
            assert_eq!(norm(&o), norm(&t), "{o}\n{t}");
            assert_eq!(o.stderr_str(), t.stderr_str(), "{o}\n{t}");
        }
    }
    // Topic or message missing: exit 1, the error on stderr and the usage on stdout.
    for args in [&["-m", "x"][..], &["-t", "x"], &[]] {
        let mut a = b.client_args("plain");
        a.extend(args.iter().map(|s| s.to_string()));
        let (o, t) = both_args(&a);
        assert_eq!((o.code, t.code), (Some(1), Some(1)), "{o}\n{t}");
        assert_eq!(o.stderr_str(), t.stderr_str());
        assert_eq!(
            o.stderr_str(),
            "Error: Both topic and message must be supplied.\n"
        );
        assert!(o.stdout_str().contains("Usage: mqtts-pub"), "{o}");
    }
    // --help and --version: exit 1, text on stdout.
    for w in ["--help", "--version"] {
        let (o, t) = both(&[w]);
        assert_eq!((o.code, t.code), (Some(1), Some(1)), "{o}\n{t}");
        assert!(!o.stdout.is_empty() && o.stderr.is_empty(), "{o}");
    }
    // -o is a 2.1 option: unknown in 2.0.
    let (o, t) = both(&["-o", "file", "-t", "x", "-m", "y"]);
    assert_eq!((o.code, t.code), (Some(1), Some(1)), "{o}\n{t}");
    assert_eq!(
        help_line_to_ours(&t.stderr_str()),
        o.stderr_str(),
        "{o}\n{t}"
    );
}

/// A v5 broker acknowledges a publish nobody subscribed to with reason code 16 (No
/// matching subscribers); the -d trace shows it as mosquitto_pub does, over TCP and TLS,
/// one-shot, --repeat and -l (one line: the order of pipelined lines is timing), QoS 1 and 2.
#[test]
fn v5_success_reason_codes_in_the_trace() {
    let b = broker();
    for listener in ["plain", "tls"] {
        for qos in ["1", "2"] {
            for extra in [&["-m", "y"][..], &["-m", "y", "--repeat", "3"], &["-l"]] {
                let mut a = b.client_args(listener);
                let topic = unique_topic("nosubs");
                a.extend(["-V", "5", "-d", "-t", &topic, "-q", qos].map(String::from));
                a.extend(extra.iter().map(|s| s.to_string()));
                let o = Run::prog(Prog::OursPub).args(&a).stdin("a\n").run();
                let t = Run::prog(Prog::MosquittoPub).args(&a).stdin("a\n").run();
                assert_eq!((o.code, t.code), (Some(0), Some(0)), "{o}\n{t}");
                assert_eq!(norm(&o), norm(&t), "{o}\n{t}");
                if qos == "1" {
                    assert!(o.stdout_str().contains("RC:16)"), "{o}");
                }
            }
        }
    }
}

/// A broker without retained messages (Retain Available 0): on v5 mosquitto_pub clears the
/// retain flag and publishes (exit 0); mqtts-pub does the same and says so on stderr. On
/// v3 there is no such property: the broker drops the connection for both (exit 7).
#[test]
fn retain_not_available() {
    let b = Broker::builder()
        .tls12only(false)
        .listener_config("plain", "retain_available false")
        .start();
    for v in ["5", "311"] {
        let mut a = b.client_args("plain");
        let topic = unique_topic("noretain");
        a.extend(["-V", v, "-d", "-r", "-q", "1", "-t", &topic, "-m", "x"].map(String::from));
        let (o, t) = both_args(&a);
        assert_eq!(o.code, t.code, "{o}\n{t}");
        assert_eq!(norm(&o), norm(&t), "{o}\n{t}");
        let warned = o
            .stderr_str()
            .contains("does not support retained messages");
        if v == "5" {
            assert_eq!(o.code, Some(0), "{o}");
            assert!(o.stdout_str().contains(", r0, m1,") && warned, "{o}");
        } else {
            assert_eq!(o.code, Some(7), "{o}");
            assert!(!warned, "{o}");
        }
    }
}

/// A v5 broker with a Maximum Packet Size: a larger message is not sent. One-shot: like
/// mosquitto_pub, DISCONNECT and exit 0 (mqtts-pub also says why); -l: mosquitto's error
/// and exit 25 (MOSQ_ERR_OVERSIZE_PACKET). The boundary is mosquitto's (100 accepted,
/// 101 refused, counted as its library counts).
#[test]
fn broker_maximum_packet_size() {
    let b = Broker::builder()
        .tls12only(false)
        .listener_config("plain", "max_packet_size 100")
        .start();
    let topic = unique_topic("maxpacket");
    // Remaining length of a v5 QoS 1 PUBLISH: topic length field, topic, packet id,
    // property length (0), payload; plus 1 length byte below 128.
    let fits = 100 - 1 - (2 + topic.len() + 2 + 1);
    let one_shot = |payload: usize| {
        let mut a = b.client_args("plain");
        let m = "x".repeat(payload);
        a.extend(["-V", "5", "-d", "-q", "1", "-t", &topic, "-m", &m].map(String::from));
        a
    };
    let (o, t) = both_args(&one_shot(fits));
    assert_eq!((o.code, t.code), (Some(0), Some(0)), "{o}\n{t}");
    assert_eq!(norm(&o), norm(&t), "{o}\n{t}");
    assert!(o.stdout_str().contains("sending PUBLISH"), "{o}");
    assert!(o.stderr.is_empty(), "{o}");
    // One byte more: mosquitto_pub 2.0.11 aborts here (assertion in log__printf, status
    // 134); 2.0.20's library refuses the publish and mosquitto_pub disconnects with 0.
    let o = ours_pub(one_shot(fits + 1));
    assert_eq!(o.code, Some(0), "{o}");
    let out = o.stdout_str();
    assert!(
        !out.contains("sending PUBLISH") && out.ends_with("sending DISCONNECT\n"),
        "{o}"
    );
    assert_eq!(
        o.stderr_str(),
        "Error: Packet larger than supported by the server.\n",
        "{o}"
    );
    let mut a = b.client_args("plain");
    a.extend(["-V", "5", "-d", "-q", "1", "-t", &topic, "-l"].map(String::from));
    let input = format!("short\n{}\nnever\n", "x".repeat(fits + 1));
    // (mosquitto_pub 2.0.11 aborts here too; 2.0.20 prints this error and exits 25.)
    let o = Run::prog(Prog::OursPub).args(&a).stdin(input).run();
    assert_eq!(o.code, Some(25), "{o}");
    assert_eq!(
        o.stderr_str(),
        "Error: Packet larger than supported by the server.\n",
        "{o}"
    );
    // The line before was published and confirmed; the one after was not read.
    let out = o.stdout_str();
    assert!(
        out.contains("(5 bytes))\n") && out.contains("received PUBACK (Mid: 1"),
        "{o}"
    );
    assert!(!out.contains("m2,"), "{o}");
}

#[test]
fn v5_refused_publish_warns_with_the_mid() {
    let dir = TempDir::new("pub-acl");
    let acl = dir.join("acl");
    std::fs::write(&acl, "topic readwrite allowed/#\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&acl, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let b = Broker::builder()
        .tls12only(false)
        .listener_config("plain", format!("acl_file {}", acl.display()))
        .start();
    for qos in ["1", "2"] {
        for extra in [&["-d"][..], &["--repeat", "3"], &["-d", "--quiet"]] {
            let mut a = b.client_args("plain");
            a.extend(["-V", "5", "-t", "denied/x", "-m", "y", "-q", qos].map(String::from));
            a.extend(extra.iter().map(|s| s.to_string()));
            let (o, t) = both_args(&a);
            assert_eq!((o.code, t.code), (Some(0), Some(0)), "{o}\n{t}");
            assert_eq!(norm(&o), norm(&t), "{o}\n{t}");
            assert_eq!(o.stderr_str(), t.stderr_str(), "{o}\n{t}");
        }
    }
    let mut a = b.client_args("plain");
    a.extend(
        [
            "-V", "5", "-t", "denied/x", "-m", "y", "-q", "1", "--repeat", "2",
        ]
        .map(String::from),
    );
    assert_eq!(
        ours_pub(&a).stderr_str(),
        "Warning: Publish 1 failed: Not authorized.\nWarning: Publish 2 failed: Not authorized.\n"
    );
    // v3: the broker drops the message silently and acknowledges it.
    let mut a = b.client_args("plain");
    a.extend(["-t", "denied/x", "-m", "y", "-q", "1", "-d"].map(String::from));
    let (o, t) = both_args(&a);
    assert_eq!((o.code, t.code), (Some(0), Some(0)), "{o}\n{t}");
    assert_eq!(norm(&o), norm(&t), "{o}\n{t}");
    assert_eq!(o.stderr_str(), t.stderr_str(), "{o}\n{t}");
}

#[test]
fn signals_end_the_publisher_like_mosquitto_pub() {
    let b = broker();
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let mut codes = Vec::new();
        for prog in [Prog::MosquittoPub, Prog::OursPub] {
            let id = format!("sig-{sig}-{}", prog.name());
            let mut a = b.client_args("plain");
            a.extend(["-l", "-t", "sig/x", "-i", &id].map(String::from));
            let p = Run::prog(prog).args(&a).stdin_pipe().timeout(WAIT).spawn();
            let needle = format!(" as {id} ");
            assert!(
                wait_until(WAIT, || b.log().contains(&needle)),
                "{}",
                b.log()
            );
            // The signal comes while stdin is still open (Ctrl-C on a pipeline): closing
            // stdin first would race the signal against a normal end of input.
            send_signal(p.pid().unwrap(), sig);
            let out = p.wait(WAIT);
            assert!(!out.timed_out, "{out}");
            codes.push((out.code, out.signal, out.stdout.clone(), out.stderr.clone()));
        }
        assert_eq!(codes[0], codes[1], "{sig}");
        assert_eq!(codes[1].1, Some(sig));
    }
}

#[test]
fn bind_address_binds_the_local_end() {
    let b = broker();
    // 127.0.0.2 is a loopback address too: the broker logs where the connection came from.
    for prog in [Prog::MosquittoPub, Prog::OursPub] {
        let id = format!("bind-{}", prog.name());
        let mut a = b.client_args("plain");
        a.extend(
            [
                "-A",
                "127.0.0.2",
                "-i",
                &id,
                "-t",
                "x",
                "-m",
                "y",
                "-q",
                "1",
            ]
            .map(String::from),
        );
        let out = Run::prog(prog).args(&a).run();
        out.assert_success();
        let log = b.log();
        let line = log
            .lines()
            .find(|l| l.contains(&format!(" as {id} ")))
            .unwrap_or_else(|| panic!("{log}"));
        assert!(line.contains("from 127.0.0.2:"), "{prog:?}: {line}");
    }
    same(
        &b,
        "plain",
        &["-A", "127.0.0.1", "-d", "-m", "x", "-q", "2"],
        None,
        1,
    );
    // An address this host does not have, and a name that does not resolve: exit 1.
    for addr in ["192.0.2.1", "no-such-host.invalid"] {
        let mut a = b.client_args("plain");
        a.extend(["-A", addr, "-t", "x", "-m", "y"].map(String::from));
        let (o, t) = both_args(&a);
        assert_eq!((o.code, t.code), (Some(1), Some(1)), "{o}\n{t}");
        // Ours names the same cause in more words.
        let cause = t.stderr_str();
        let cause = cause
            .trim()
            .trim_start_matches("Error: ")
            .trim_end_matches('.');
        assert!(o.stderr_str().contains(cause), "{o}\n{t}");
    }
}

#[test]
fn keepalive_pings_while_waiting_between_repeats() {
    // The one slow test: -k 5 and a 6 s pause between two publishes shows PINGREQ/PINGRESP.
    // Both programs run at the same time (different ids, compared after renaming).
    let b = broker();
    let t = unique_topic("ping");
    let args = |id: &str| {
        let mut a = b.client_args("plain");
        a.extend(
            [
                "-d",
                "-k",
                "5",
                "-i",
                id,
                "-t",
                &t,
                "-m",
                "x",
                "-q",
                "1",
                "--repeat",
                "2",
                "--repeat-delay",
                "6",
            ]
            .map(String::from),
        );
        a
    };
    let theirs = Run::prog(Prog::MosquittoPub)
        .args(args("pinger-theirs"))
        .timeout(Duration::from_secs(30));
    let ours = Run::prog(Prog::OursPub)
        .args(args("pinger-ours"))
        .timeout(Duration::from_secs(30));
    let th = std::thread::spawn(move || theirs.run());
    let o = ours.run();
    let t = th.join().unwrap();
    assert_eq!((o.code, t.code), (Some(0), Some(0)), "{o}\n{t}");
    assert_eq!(
        norm(&o).replace("pinger-ours", "pinger"),
        norm(&t).replace("pinger-theirs", "pinger"),
        "{o}\n{t}"
    );
    assert!(
        o.stdout_str()
            .contains("Client pinger-ours sending PINGREQ\nClient pinger-ours received PINGRESP\n"),
        "{o}"
    );
}
