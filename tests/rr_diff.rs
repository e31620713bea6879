//! mqtts-rr against mosquitto_rr on a real broker with a real responder: the same
//! arguments give the same stdout (after normalising mosquitto 2.0.11's documented
//! differences and broker-assigned ids), the same stderr and the same exit code.
//!
//! The MQTT v5 responder is a paho client in this process that answers each request on its
//! Response Topic, with its Correlation Data, a user property and a content type. The MQTT
//! 3.1.1 responder is mosquitto_sub (one request) followed by mosquitto_pub (the reply on
//! the agreed topic), as scripts answer without request/response properties.

mod common;

use common::*;
use paho_mqtt as mqtt;
use std::time::Duration;

/// A v5 responder: replies `re:<payload>` on each request's Response Topic.
struct Responder {
    client: mqtt::Client,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Responder {
    fn start(broker: &Broker, request_topic: &str) -> Responder {
        let uri = format!("tcp://127.0.0.1:{}", broker.port("plain"));
        let create = mqtt::CreateOptionsBuilder::new()
            .server_uri(uri)
            .client_id(unique_topic("responder").replace('/', "-"))
            .mqtt_version(mqtt::MQTT_VERSION_5)
            .finalize();
        let client = mqtt::Client::new(create).expect("responder client");
        let rx = client.start_consuming();
        let copts = mqtt::ConnectOptionsBuilder::new_v5()
            .clean_start(true)
            .finalize();
        client.connect(copts).expect("responder connects");
        client
            .subscribe(request_topic, 2)
            .expect("responder subscribes");
        let publisher = client.clone();
        let thread = std::thread::spawn(move || {
            for msg in rx.iter() {
                let Some(msg) = msg else { break };
                let props = msg.properties();
                let Some(topic) = props.get_string(mqtt::PropertyCode::ResponseTopic) else {
                    continue;
                };
                let mut reply = mqtt::Properties::new();
                if let Some(c) = props.get_binary(mqtt::PropertyCode::CorrelationData) {
                    reply
                        .push_binary(mqtt::PropertyCode::CorrelationData, c)
                        .unwrap();
                }
                reply
                    .push_string(mqtt::PropertyCode::ContentType, "text/plain")
                    .unwrap();
                reply
                    .push_string_pair(mqtt::PropertyCode::UserProperty, "by", "responder")
                    .unwrap();
                let mut payload = b"re:".to_vec();
                payload.extend_from_slice(msg.payload());
                let m = mqtt::MessageBuilder::new()
                    .topic(topic)
                    .payload(payload)
                    .qos(msg.qos())
                    .properties(reply)
                    .finalize();
                if publisher.publish(m).is_err() {
                    break;
                }
            }
        });
        Responder {
            client,
            thread: Some(thread),
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.client.stop_consuming();
        let _ = self.client.disconnect(None);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn args(broker: &Broker, listener: &str, extra: &[&str]) -> Vec<String> {
    let mut a = broker.client_args(listener);
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

/// Runs mosquitto_rr and then mqtts-rr with `a`; asserts the same stdout (normalised),
/// stderr and exit code; returns (ours, theirs).
fn same(a: &[String]) -> (RunOutput, RunOutput) {
    let theirs = mosquitto_rr(a);
    let ours = ours_rr(a);
    assert_eq!(
        normalise_trace(&ours.stdout_str()),
        normalise_trace(&theirs.stdout_str()),
        "stdout differs for {a:?}\nours: {ours}\ntheirs: {theirs}"
    );
    assert_eq!(
        ours.stderr_str(),
        theirs.stderr_str(),
        "stderr differs for {a:?}\nours: {ours}\ntheirs: {theirs}"
    );
    assert_eq!(
        ours.code, theirs.code,
        "{a:?}\nours: {ours}\ntheirs: {theirs}"
    );
    assert!(!ours.timed_out && !theirs.timed_out, "{a:?}");
    (ours, theirs)
}

#[test]
fn v5_request_and_response_match_mosquitto_rr() {
    let broker = Broker::shared();
    let req = unique_topic("rr/req");
    let resp = unique_topic("rr/resp");
    let _responder = Responder::start(broker, &req);
    let base = ["-t", req.as_str(), "-e", resp.as_str(), "-W", "5"];
    let cases: &[&[&str]] = &[
        &["-m", "hello"],
        &["-m", "hello", "-v"],
        &["-m", "hello", "-d"],
        &["-m", "hello", "-N"],
        &["-n", "-q", "1", "-d", "-v"],
        &["-m", "two", "-q", "2", "-d"],
        &["-m", "fmt", "-F", "%t|%p|%D|%C|%P|%q|%l"],
        &[
            "-m",
            "corr",
            "-D",
            "publish",
            "correlation-data",
            "abc-123",
            "-D",
            "publish",
            "user-property",
            "k",
            "v",
            "-F",
            "%D %C",
            "-d",
        ],
        &["-m", "x", "-i", "rr-fixed-id", "-d", "-x", "30"],
        &["-m", "x", "--quiet", "-v"],
    ];
    for extra in cases {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        let (ours, _) = same(&args(broker, "plain", &a));
        assert_eq!(ours.code, Some(0), "{ours}");
        assert!(ours.stdout_str().contains("re:") || extra.contains(&"%D %C"));
    }
}

#[test]
fn tls_and_mutual_tls_requests_match() {
    let broker = Broker::shared();
    let req = unique_topic("rr/tlsreq");
    let resp = unique_topic("rr/tlsresp");
    let _responder = Responder::start(broker, &req);
    for listener in ["tls", "mtls", "auth"] {
        let a = args(
            broker,
            listener,
            &["-t", &req, "-e", &resp, "-m", listener, "-d", "-v"],
        );
        let (ours, _) = same(&a);
        assert!(
            ours.stdout_str()
                .ends_with(&format!("{resp} re:{listener}\n")),
            "{ours}"
        );
    }
}

#[test]
fn timeouts_match() {
    let broker = Broker::shared();
    // Nobody answers on this request topic.
    let req = unique_topic("rr/unanswered");
    let resp = unique_topic("rr/never");
    for extra in [
        &["-W", "1"][..],
        &["-W", "1", "-d", "-q", "1"],
        &["-W", "1", "--quiet"],
    ] {
        let mut a = vec!["-t", req.as_str(), "-e", resp.as_str(), "-m", "x"];
        a.extend_from_slice(extra);
        let (ours, _) = same(&args(broker, "plain", &a));
        assert_eq!(ours.code, Some(27), "{ours}");
    }
}

#[test]
fn retained_response_and_dash_r() {
    let broker = Broker::shared();
    let req = unique_topic("rr/retreq");
    let _responder = Responder::start(broker, &req);
    // A fresh response topic per run: the answer to a run that ended on the retained
    // message must not reach the next one.
    let stale = || {
        let resp = unique_topic("rr/retresp");
        mosquitto_pub(args(broker, "plain", &["-t", &resp, "-m", "stale", "-r"])).assert_success();
        resp
    };
    // Without -R the retained message is the response (the request still goes out first).
    for extra in [&["-v"][..], &["-d", "-W", "5"]] {
        let resp = stale();
        let mut a = vec!["-t", req.as_str(), "-e", resp.as_str(), "-m", "a"];
        a.extend_from_slice(extra);
        let (ours, _) = same(&args(broker, "plain", &a));
        assert!(ours.stdout_str().ends_with("stale\n"), "{ours}");
    }
    // With -R it is skipped and the responder's answer printed: 2.0.20's behaviour
    // (mosquitto 2.0.11 ignores -R in mosquitto_rr, fixed in 2.0.18), so ours only.
    let resp = stale();
    let ours = ours_rr(args(
        broker,
        "plain",
        &["-t", &req, "-e", &resp, "-m", "b", "-R", "-v", "-W", "5"],
    ));
    assert_eq!(
        (ours.code, ours.stdout_str()),
        (Some(0), format!("{resp} re:b\n")),
        "{ours}"
    );
}

/// A refused CONNACK: mosquitto_rr names v3.x codes from the v5 table ("Unknown reason").
#[test]
fn broker_refusal_matches() {
    let broker = Broker::shared();
    for v in ["5", "311"] {
        let mut a = args(broker, "auth", &["-V", v, "-t", "a", "-e", "b", "-m", "x"]);
        let pw = a.iter().position(|s| s == "-P").unwrap() + 1;
        a[pw] = "wrong".into();
        let (ours, _) = same(&a);
        assert_ne!(ours.code, Some(0), "{ours}");
        // With -d mosquitto_rr also shows the DISCONNECT it tries to send after the refusal;
        // paho has closed the connection by then (see the man page, COMPATIBILITY).
        a.push("-d".into());
        let theirs = mosquitto_rr(&a);
        let ours = ours_rr(&a);
        let mut want: Vec<String> = normalise_trace(&theirs.stdout_str())
            .lines()
            .map(String::from)
            .collect();
        assert_eq!(
            want.pop().as_deref(),
            Some("Client null sending DISCONNECT")
        );
        let got: Vec<String> = normalise_trace(&ours.stdout_str())
            .lines()
            .map(String::from)
            .collect();
        assert_eq!(got, want, "{ours}\n{theirs}");
        assert_eq!((ours.code, ours.stderr), (theirs.code, theirs.stderr));
    }
}

/// mosquitto_rr exits 1 without a word for a duplicate response topic under --quiet.
#[test]
fn quiet_duplicate_response_topic_matches() {
    let a = strs(&[
        "-h",
        "127.0.0.1",
        "-p",
        "1",
        "-t",
        "a",
        "-e",
        "b",
        "-m",
        "x",
        "--quiet",
        "-D",
        "publish",
        "response-topic",
        "c",
    ]);
    let (ours, _) = same(&a);
    assert_eq!(ours.code, Some(1));
    assert!(ours.stdout.is_empty() && ours.stderr.is_empty());
}

/// MQTT 3.1.1 / 3.1: no properties; the responder (mosquitto_sub + mosquitto_pub) answers
/// on the agreed topic.
#[test]
fn mqtt311_request_response_matches() {
    let broker = Broker::shared();
    for (n, v) in ["mqttv311", "mqttv31"].iter().enumerate() {
        let req = unique_topic("rr/v3req");
        let resp = unique_topic("rr/v3resp");
        let id = format!("rr-v3-{n}-{}", std::process::id());
        let extra = [
            "-V", v, "-t", &req, "-e", &resp, "-m", "ping", "-i", &id, "-d", "-v", "-W", "5",
        ];
        let a = args(broker, "plain", &extra);
        let mut outs = Vec::new();
        for prog in [Prog::MosquittoRr, Prog::OursRr] {
            let sub_id = format!("{id}-responder");
            let responder = start_subscriber(
                broker,
                Prog::MosquittoSub,
                args(
                    broker,
                    "plain",
                    &["-V", "311", "-t", &req, "-C", "1", "-i", &sub_id],
                ),
            );
            let pub_args = args(broker, "plain", &["-V", "311", "-t", &resp, "-m", "pong"]);
            let answer = std::thread::spawn(move || {
                let asked = responder.wait(Duration::from_secs(10));
                mosquitto_pub(pub_args).assert_success();
                asked
            });
            let out = Run::prog(prog).args(&a).run();
            let asked = answer.join().unwrap();
            assert_eq!(asked.stdout_str(), "ping\n", "{asked}");
            outs.push(out);
        }
        let (theirs, ours) = (&outs[0], &outs[1]);
        assert_eq!(
            normalise_trace(&ours.stdout_str()),
            normalise_trace(&theirs.stdout_str()),
            "{ours}\n{theirs}"
        );
        assert_eq!((ours.code, &ours.stderr), (theirs.code, &theirs.stderr));
        assert_eq!(ours.code, Some(0));
        assert!(
            ours.stdout_str().ends_with(&format!("{resp} pong\n")),
            "{ours}"
        );
    }
}

/// The broker goes away while mosquitto_rr waits: "Error: The connection was lost.", 7,
/// no reconnection.
#[test]
fn lost_connection_matches() {
    let mut broker = Broker::start();
    let mut outs = Vec::new();
    for prog in [Prog::MosquittoRr, Prog::OursRr] {
        let a = args(
            &broker,
            "plain",
            &[
                "-t",
                "rr/lost",
                "-e",
                "rr/lost/resp",
                "-m",
                "x",
                "-d",
                "-W",
                "10",
            ],
        );
        // The request has gone out when a subscriber to it got it (mosquitto_rr's stdout,
        // a pipe here, is only flushed at exit).
        let watcher = start_subscriber(
            &broker,
            Prog::MosquittoSub,
            args(&broker, "plain", &["-t", "rr/lost", "-C", "1"]),
        );
        let bg = Run::prog(prog).args(&a).spawn();
        let seen = watcher.wait(Duration::from_secs(5));
        assert_eq!(seen.stdout_str(), "x\n", "{seen}");
        broker.stop();
        outs.push(bg.wait(Duration::from_secs(10)));
        broker.restart();
    }
    let (theirs, ours) = (&outs[0], &outs[1]);
    assert_eq!(
        normalise_trace(&ours.stdout_str()),
        normalise_trace(&theirs.stdout_str()),
        "{ours}\n{theirs}"
    );
    assert_eq!((ours.code, &ours.stderr), (theirs.code, &theirs.stderr));
    assert_eq!(ours.code, Some(7), "{ours}");
}

/// The configuration file: mosquitto_rr's own file is read (as defaults, before argv), and
/// mqtts-rr's file comes first when it exists.
#[test]
fn config_file_matches() {
    let broker = Broker::shared();
    let req = unique_topic("rr/cfgreq");
    let resp = unique_topic("rr/cfgresp");
    let _responder = Responder::start(broker, &req);
    let dir = TempDir::new("rr-config");
    std::fs::write(
        dir.join("mosquitto_rr"),
        format!("-t {req}\n-e {resp}\n-v\n"),
    )
    .unwrap();
    let a = args(broker, "plain", &["-m", "cfg", "-W", "5"]);
    let run = |prog| {
        Run::prog(prog)
            .args(&a)
            .env("XDG_CONFIG_HOME", dir.path())
            .run()
    };
    let (theirs, ours) = (run(Prog::MosquittoRr), run(Prog::OursRr));
    assert_eq!(
        (ours.code, ours.stdout_str(), &ours.stderr),
        (theirs.code, theirs.stdout_str(), &theirs.stderr)
    );
    assert_eq!(ours.stdout_str(), format!("{resp} re:cfg\n"));
    std::fs::write(dir.join("mqtts-rr"), format!("-t {req}\n-e {resp}\n-N\n")).unwrap();
    let ours = run(Prog::OursRr);
    assert_eq!((ours.code, ours.stdout_str()), (Some(0), "re:cfg".into()));
}

/// SIGTERM while waiting for the response: mosquitto_rr has no handler for it, so the
/// process ends by the signal (no message, no DISCONNECT); mqtts-rr too.
#[test]
fn sigterm_ends_it_as_mosquitto_rr() {
    let broker = Broker::shared();
    let req = unique_topic("rr/termreq");
    let resp = unique_topic("rr/termresp");
    let mut outs = Vec::new();
    for prog in [Prog::MosquittoRr, Prog::OursRr] {
        // Once a subscriber to the request got it, mqtts-rr is waiting for the response.
        let watcher = start_subscriber(
            broker,
            Prog::MosquittoSub,
            args(broker, "plain", &["-t", &req, "-C", "1"]),
        );
        let a = args(
            broker,
            "plain",
            &["-t", &req, "-e", &resp, "-m", "x", "-W", "10"],
        );
        let bg = Run::prog(prog).args(&a).spawn();
        let seen = watcher.wait(Duration::from_secs(5));
        assert_eq!(seen.stdout_str(), "x\n", "{seen}");
        outs.push(bg.stop_with(libc::SIGTERM, Duration::from_secs(5)));
    }
    let (theirs, ours) = (&outs[0], &outs[1]);
    assert_eq!(
        (ours.code, ours.signal, &ours.stdout, &ours.stderr),
        (theirs.code, theirs.signal, &theirs.stdout, &theirs.stderr),
        "{ours}\n{theirs}"
    );
    assert_eq!(ours.signal, Some(libc::SIGTERM), "{ours}");
}

/// `-f` and `-s`: mqtts-rr sends the contents (a documented difference: mosquitto_rr 2.0
/// never reads them and sends an empty request, so its responder gets `re:`).
#[test]
fn file_and_stdin_requests_send_their_contents() {
    let broker = Broker::shared();
    let req = unique_topic("rr/filereq");
    let resp = unique_topic("rr/fileresp");
    let _responder = Responder::start(broker, &req);
    let dir = TempDir::new("rr-file");
    std::fs::write(dir.join("body"), b"from a file").unwrap();
    let body = dir.join("body").display().to_string();
    let file = args(
        broker,
        "plain",
        &["-t", &req, "-e", &resp, "-f", &body, "-W", "5"],
    );
    let theirs = mosquitto_rr(&file);
    assert_eq!(
        (theirs.code, theirs.stdout_str()),
        (Some(0), "re:\n".into())
    );
    let ours = ours_rr(&file);
    assert_eq!(
        (ours.code, ours.stdout_str()),
        (Some(0), "re:from a file\n".into())
    );
    let stdin = args(broker, "plain", &["-t", &req, "-e", &resp, "-s", "-W", "5"]);
    let ours = Run::prog(Prog::OursRr)
        .args(&stdin)
        .stdin(b"from stdin".to_vec())
        .run();
    assert_eq!(
        (ours.code, ours.stdout_str()),
        (Some(0), "re:from stdin\n".into())
    );
}

/// JSON output of the response (`-F %j`, with `--pretty`), properties included; the
/// timestamps differ between runs and are compared as `"tst":"TST"`.
#[test]
fn json_output_matches() {
    let broker = Broker::shared();
    let req = unique_topic("rr/jsonreq");
    let resp = unique_topic("rr/jsonresp");
    let _responder = Responder::start(broker, &req);
    let tst = |s: &str| -> String {
        // "tst":"2026-…+0000" (and --pretty's "tst":<TAB>"…"): the value is one quoted word.
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("\"tst\":") {
            out.push_str(&rest[..i + 6]);
            let t = rest[i + 6..].trim_start_matches('\t');
            let end = t[1..].find('"').map(|e| e + 2).unwrap_or(t.len());
            out.push_str("\"TST\"");
            rest = &t[end..];
        }
        out.push_str(rest);
        out
    };
    for extra in [&["-F", "%j"][..], &["-F", "%j", "--pretty"]] {
        let mut a = vec![
            "-t",
            req.as_str(),
            "-e",
            resp.as_str(),
            "-m",
            "js",
            "-W",
            "5",
        ];
        a.extend_from_slice(extra);
        let a = args(broker, "plain", &a);
        let theirs = mosquitto_rr(&a);
        let ours = ours_rr(&a);
        assert_eq!(
            tst(&normalise_2011(&ours.stdout_str())),
            tst(&normalise_2011(&theirs.stdout_str())),
            "{ours}\n{theirs}"
        );
        assert_eq!((ours.code, &ours.stderr), (theirs.code, &theirs.stderr));
        assert!(ours.stdout_str().contains("re:js"), "{ours}");
    }
}

/// A refused SUBACK for the response topic: mosquitto_rr prints the reason string
/// ("Unspecified error" for 0x80), disconnects and exits 0, on MQTT 5 and 3.1.1. (mosquitto
/// 2.0 never refuses a subscription: the server is tests/common/denying.rs.)
#[test]
fn refused_subscription_matches() {
    let port = denying_server().to_string();
    for v in ["5", "311"] {
        for extra in [&["-d"][..], &[], &["--quiet"]] {
            let mut e = vec!["-h", "127.0.0.1", "-p", &port, "-V", v];
            e.extend(["-t", "req", "-e", "denied/resp", "-m", "x", "-W", "5"]);
            e.extend_from_slice(extra);
            let (ours, _) = same(&strs(&e));
            assert_eq!(ours.code, Some(0), "{ours}");
            if extra.is_empty() {
                assert_eq!(ours.stderr_str(), "Unspecified error\n");
            }
        }
    }
}

/// The request topic is the response topic: the request itself is the response, through
/// the whole QoS 1 and QoS 2 flows of both directions (the -d traces interleave them).
#[test]
fn request_to_its_own_response_topic_matches() {
    let broker = Broker::shared();
    let t = unique_topic("rr/self");
    for v in ["5", "311"] {
        for q in ["0", "1", "2"] {
            let id = format!("rr-self-{v}-{q}-{}", std::process::id());
            let e = [
                "-V", v, "-t", &t, "-e", &t, "-m", "hi", "-q", q, "-d", "-W", "5",
            ];
            let mut a = args(broker, "plain", &e);
            if v == "311" {
                a.extend(["-i".to_string(), id]);
            }
            let (ours, _) = same(&a);
            assert!(ours.stdout_str().ends_with("\nhi\n"), "{ours}");
        }
    }
}
