//! The vertical slice against mosquitto's own clients on a real broker: the same arguments
//! through mosquitto_pub/mosquitto_sub and mqtts-pub/mqtts-sub give the same stdout
//! (including the `-d` trace) and the same exit code.

mod common;

use common::*;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

/// stdout as compared: mosquitto 2.0.11's documented differences and broker-assigned
/// client ids normalised, nothing else.
fn norm(out: &RunOutput) -> String {
    normalise_auto_id(&normalise_2011(&out.stdout_str()))
}

fn args(broker: &Broker, listener: &str, extra: &[&str]) -> Vec<String> {
    let mut a = broker.client_args(listener);
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

/// Run the same publish through both programs and compare stdout and exit code.
fn same_pub(broker: &Broker, listener: &str, extra: &[&str]) -> RunOutput {
    let a = args(broker, listener, extra);
    let theirs = mosquitto_pub(&a);
    let ours = ours_pub(&a);
    assert_eq!(
        norm(&ours),
        norm(&theirs),
        "stdout differs for {:?}\nours: {ours}\ntheirs: {theirs}",
        a
    );
    assert_eq!(
        ours.code, theirs.code,
        "exit code differs for {a:?}\nours: {ours}\ntheirs: {theirs}"
    );
    ours
}

#[test]
fn publish_debug_trace_qos_0_1_2_v311_and_v31() {
    let broker = Broker::start();
    for qos in ["0", "1", "2"] {
        let t = unique_topic("slice/pub");
        let out = same_pub(
            &broker,
            "plain",
            &["-d", "-t", &t, "-m", "hello", "-q", qos],
        );
        assert_eq!(out.code, Some(0));
        assert!(out.stdout_str().contains("sending PUBLISH (d0, q"), "{out}");
        // Retained, with an id, and MQTT 3.1 (which needs an id to be comparable: without
        // one both generate a random mosq-… id).
        same_pub(
            &broker,
            "plain",
            &["-d", "-t", &t, "-m", "x", "-q", qos, "-r", "-i", "slice-id"],
        );
        same_pub(
            &broker,
            "plain",
            &[
                "-d", "-t", &t, "-m", "", "-q", qos, "-V", "mqttv31", "-i", "v31",
            ],
        );
        // Clear the retained message again.
        same_pub(&broker, "plain", &["-t", &t, "-n", "-r", "-q", qos]);
    }
}

#[test]
fn publish_debug_trace_v5_adopts_the_assigned_id() {
    let broker = Broker::start();
    let t = unique_topic("slice/v5");
    // A subscriber, so that the broker acknowledges with reason code 0: with nobody
    // subscribed mosquitto 2.0 answers 16, which paho.mqtt.c does not pass on (a documented
    // difference, checked below).
    let sub = start_subscriber(
        &broker,
        Prog::MosquittoSub,
        args(&broker, "plain", &["-t", &t]),
    );
    for qos in ["0", "1", "2"] {
        let out = same_pub(
            &broker,
            "plain",
            &["-d", "-V", "5", "-t", &t, "-m", "v5", "-q", qos],
        );
        let text = out.stdout_str();
        assert!(
            text.starts_with("Client null sending CONNECT\nClient auto-"),
            "{text}"
        );
    }
    drop(sub);
    // Nobody subscribed: the broker's success code 16 shows, as with mosquitto_pub.
    let t2 = unique_topic("slice/v5-nosub");
    let ours = same_pub(
        &broker,
        "plain",
        &["-d", "-V", "5", "-t", &t2, "-m", "x", "-q", "1"],
    );
    assert!(
        ours.stdout_str()
            .contains("received PUBACK (Mid: 1, RC:16)"),
        "{ours}"
    );
}

#[test]
fn subscribe_output_and_debug_trace_match() {
    let broker = Broker::start();
    let t = unique_topic("slice/sub");
    let filter = format!("{t}/#");
    let sub_args = args(
        &broker,
        "plain",
        &[
            "-d", "-v", "-q", "2", "-C", "4", "-t", &filter, "-t", "other/x",
        ],
    );
    let theirs = start_subscriber(&broker, Prog::MosquittoSub, &sub_args);
    let ours = start_subscriber(&broker, Prog::OursSub, &sub_args);
    // One message at a time: a QoS 2 delivery still under way when the next message
    // arrives interleaves differently from run to run (in mosquitto_sub too).
    for (qos, msg) in [("0", "zero"), ("1", "one"), ("2", "two")] {
        mosquitto_pub(args(
            &broker,
            "plain",
            &["-t", &format!("{t}/{qos}"), "-m", msg, "-q", qos],
        ))
        .assert_success();
        let line = format!("{t}/{qos} {msg}\n");
        assert!(
            theirs.wait_for_stdout(&line, WAIT),
            "{}",
            theirs.stdout_str()
        );
        assert!(ours.wait_for_stdout(&line, WAIT), "{}", ours.stdout_str());
    }
    mosquitto_pub(args(
        &broker,
        "plain",
        &["-t", &format!("{t}/empty"), "-n", "-q", "1"],
    ))
    .assert_success();
    let theirs = theirs.wait(WAIT);
    let ours = ours.wait(WAIT);
    assert_eq!(theirs.code, Some(0), "{theirs}");
    assert_eq!(ours.code, Some(0), "{ours}");
    assert_eq!(norm(&ours), norm(&theirs), "ours: {ours}\ntheirs: {theirs}");
    assert!(
        ours.stdout_str().contains(&format!("{t}/empty (null)\n")),
        "{ours}"
    );
}

#[test]
fn subscribe_default_output_is_raw_bytes() {
    let broker = Broker::start();
    let t = unique_topic("slice/raw");
    let sub_args = args(&broker, "plain", &["-C", "3", "-t", &t]);
    let theirs = start_subscriber(&broker, Prog::MosquittoSub, &sub_args);
    let ours = start_subscriber(&broker, Prog::OursSub, &sub_args);
    let dir = TempDir::new("raw");
    let bin = dir.join("bin");
    std::fs::write(&bin, [0u8, 1, 2, 255, b'\n', 0x80, b'x']).unwrap();
    mosquitto_pub(args(&broker, "plain", &["-t", &t, "-m", "text"])).assert_success();
    mosquitto_pub(args(&broker, "plain", &["-t", &t, "-n"])).assert_success();
    mosquitto_pub(args(
        &broker,
        "plain",
        &["-t", &t, "-f", bin.to_str().unwrap()],
    ))
    .assert_success();
    let theirs = theirs.wait(WAIT);
    let ours = ours.wait(WAIT);
    assert_eq!(ours.stdout, theirs.stdout, "ours: {ours}\ntheirs: {theirs}");
    assert_eq!(ours.stdout, b"text\n\0\x01\x02\xff\n\x80x\n");
    assert_eq!((ours.code, theirs.code), (Some(0), Some(0)));
}

#[test]
fn values_are_taken_verbatim_even_when_they_look_like_options() {
    let broker = Broker::start();
    let t = unique_topic("slice/dash");
    let sub = start_subscriber(
        &broker,
        Prog::OursSub,
        args(&broker, "plain", &["-C", "1", "-t", &t]),
    );
    ours_pub(args(&broker, "plain", &["-t", &t, "-m", "-n"])).assert_success();
    let out = sub.wait(WAIT);
    assert_eq!(out.stdout, b"-n\n", "{out}");
}

#[test]
fn connack_refusals_give_mosquittos_exit_codes_and_messages() {
    let broker = Broker::start();
    let mut bad = broker.client_args("auth");
    let pw = bad.iter().position(|a| a == "-P").unwrap() + 1;
    bad[pw] = "wrong-password".into();
    for version in ["311", "5"] {
        let mut a = bad.clone();
        a.extend(["-t", "x", "-m", "y", "-V", version].map(String::from));
        let theirs = mosquitto_pub(&a);
        let ours = ours_pub(&a);
        assert_ne!(theirs.code, Some(0), "{theirs}");
        assert_eq!(ours.code, theirs.code, "ours: {ours}\ntheirs: {theirs}");
        assert_eq!(
            ours.stderr_str(),
            theirs.stderr_str(),
            "ours: {ours}\ntheirs: {theirs}"
        );
        // mosquitto_sub prints only the first line.
        let theirs = mosquitto_sub(a.iter().filter(|s| *s != "-m" && *s != "y"));
        let ours = ours_sub(a.iter().filter(|s| *s != "-m" && *s != "y"));
        assert_eq!(ours.code, theirs.code, "ours: {ours}\ntheirs: {theirs}");
        assert_eq!(
            ours.stderr_str(),
            theirs.stderr_str(),
            "ours: {ours}\ntheirs: {theirs}"
        );
    }
}

#[test]
fn publish_over_mutual_tls_with_debug() {
    let broker = Broker::start();
    let t = unique_topic("slice/mtls");
    let out = same_pub(
        &broker,
        "mtls",
        &["-d", "-t", &t, "-m", "secret", "-q", "1"],
    );
    assert_eq!(out.code, Some(0), "{out}");
}
