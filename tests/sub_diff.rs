//! mqtts-sub against mosquitto_sub on a real broker: the same arguments, the same published
//! messages, the same stdout (after normalising mosquitto 2.0.11's documented differences,
//! broker-assigned ids and clock readings) and the same exit code.

mod common;

use common::*;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(15);

/// stdout as compared: 2.0.11 differences, assigned ids and JSON timestamps normalised,
/// and our deliberate `payload_base64` member (see format.rs) taken out.
fn norm(out: &[u8]) -> String {
    let s = normalise_auto_id(&normalise_2011(&String::from_utf8_lossy(out)));
    without_base64(&normalise_tst(&s))
}

/// Removes `,"payload_base64":"…"` (compact) and `,⏎<TABs>"payload_base64":<TAB>"…"`.
fn without_base64(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("\"payload_base64\":") {
        let head = rest[..i].trim_end_matches(['\t', '\n']);
        let head = head.strip_suffix(',').unwrap_or(head);
        out.push_str(head);
        let tail = &rest[i + 17..];
        let tail = tail.trim_start_matches('\t');
        let end = tail[1..].find('"').map(|e| e + 2).unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// `"tst":"2026-11-23T03:25:45.176287+0000"` (also `--pretty`'s `"tst":<TAB>"…"`) →
/// `"tst":"TST"`.
fn normalise_tst(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("\"tst\":") {
        let (head, tail) = rest.split_at(i + 6);
        out.push_str(head);
        let ws = tail.len() - tail.trim_start_matches(['\t', ' ']).len();
        out.push_str(&tail[..ws]);
        let t = &tail[ws..];
        match t
            .strip_prefix('"')
            .and_then(|t| t.find('"').map(|e| &t[e + 1..]))
        {
            Some(after) => {
                out.push_str("\"TST\"");
                rest = after;
            }
            None => rest = t,
        }
    }
    out.push_str(rest);
    out
}

fn args(broker: &Broker, listener: &str, extra: &[&str]) -> Vec<String> {
    let mut a = broker.client_args(listener);
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

/// Publish with mosquitto_pub on the plain listener.
fn publish(broker: &Broker, extra: &[&str]) {
    mosquitto_pub(args(broker, "plain", extra)).assert_success();
}

/// Both subscribers, started with the same arguments (each returns once subscribed).
struct Pair {
    theirs: Background,
    ours: Background,
    args: Vec<String>,
    /// Client ids given to each (the broker would make two equal ids kick each other).
    ids: Option<(String, String)>,
}

fn pair(broker: &Broker, listener: &str, extra: &[&str]) -> Pair {
    let a = args(broker, listener, extra);
    Pair {
        theirs: start_subscriber(broker, Prog::MosquittoSub, &a),
        ours: start_subscriber(broker, Prog::OursSub, &a),
        args: a,
        ids: None,
    }
}

/// [`pair`] with client id `id-m` for mosquitto_sub and `id-o` for ours; the ids are
/// made equal again before comparing.
fn pair_with_id(broker: &Broker, listener: &str, extra: &[&str], id: &str) -> Pair {
    let a = args(broker, listener, extra);
    let (im, io) = (format!("{id}-m"), format!("{id}-o"));
    let with = |i: &str| {
        let mut a = a.clone();
        a.extend(["-i".to_string(), i.to_string()]);
        a
    };
    Pair {
        theirs: start_subscriber(broker, Prog::MosquittoSub, with(&im)),
        ours: start_subscriber(broker, Prog::OursSub, with(&io)),
        args: a,
        ids: Some((im, io)),
    }
}

fn unify_ids(out: &mut RunOutput, ids: &Option<(String, String)>) {
    if let Some((m, o)) = ids {
        for id in [m, o] {
            let s = String::from_utf8_lossy(&out.stdout)
                .replace(&format!("Client {id} "), "Client ID ");
            out.stdout = s.into_bytes();
        }
    }
}

impl Pair {
    /// Wait until both printed `needle`.
    fn wait_for(&self, needle: &str) {
        assert!(
            self.theirs.wait_for_stdout(needle, WAIT),
            "mosquitto_sub never printed {needle:?}: {}",
            self.theirs.stdout_str()
        );
        assert!(
            self.ours.wait_for_stdout(needle, WAIT),
            "mqtts-sub never printed {needle:?}: {}",
            self.ours.stdout_str()
        );
    }

    /// Wait until both printed `needle` `n` times.
    fn wait_for_count(&self, needle: &str, n: usize) {
        for (who, b) in [("mosquitto_sub", &self.theirs), ("mqtts-sub", &self.ours)] {
            assert!(
                wait_until(WAIT, || b.stdout_str().matches(needle).count() >= n),
                "{who} never printed {needle:?} {n} times: {}",
                b.stdout_str()
            );
        }
    }

    /// Let both end by themselves and compare.
    fn finish(self) -> (RunOutput, RunOutput) {
        let mut theirs = self.theirs.wait(WAIT);
        let mut ours = self.ours.wait(WAIT);
        unify_ids(&mut theirs, &self.ids);
        unify_ids(&mut ours, &self.ids);
        same(&self.args, &ours, &theirs);
        (ours, theirs)
    }

    /// Stop both with `sig` and compare.
    fn stop(self, sig: i32) -> (RunOutput, RunOutput) {
        let mut theirs = self.theirs.stop_with(sig, WAIT);
        let mut ours = self.ours.stop_with(sig, WAIT);
        unify_ids(&mut theirs, &self.ids);
        unify_ids(&mut ours, &self.ids);
        same(&self.args, &ours, &theirs);
        (ours, theirs)
    }
}

#[track_caller]
fn same(args: &[String], ours: &RunOutput, theirs: &RunOutput) {
    assert!(!theirs.timed_out, "mosquitto_sub did not end: {theirs}");
    assert!(!ours.timed_out, "mqtts-sub did not end: {ours}");
    assert_eq!(
        norm(&ours.stdout),
        norm(&theirs.stdout),
        "stdout differs for {args:?}\nours: {ours}\ntheirs: {theirs}"
    );
    assert_eq!(
        ours.code, theirs.code,
        "exit code differs for {args:?}\nours: {ours}\ntheirs: {theirs}"
    );
}

/// Same arguments, run to completion without a broker interaction in between.
#[track_caller]
fn same_run(a: &[String]) -> (RunOutput, RunOutput) {
    let theirs = mosquitto_sub(a);
    let ours = ours_sub(a);
    same(a, &ours, &theirs);
    assert_eq!(
        ours.stderr_str(),
        theirs.stderr_str(),
        "stderr differs for {a:?}\nours: {ours}\ntheirs: {theirs}"
    );
    (ours, theirs)
}

/// A file with a binary (non-UTF-8, NUL-containing) payload.
fn binary_file(dir: &TempDir) -> String {
    let p = dir.join("bin");
    std::fs::write(&p, [b'a', 0, 1, 2, 0xff, b'\n', 0x80, b'z']).unwrap();
    p.display().to_string()
}

/// Publishes a fixed mix of payloads (text, empty, JSON, binary, QoS 1 and 2) on `t`, one
/// after the other, each once the previous has been printed by both (`marker` lines).
fn publish_mix(broker: &Broker, t: &str, dir: &TempDir) {
    let bin = binary_file(dir);
    publish(broker, &["-t", t, "-m", "hello world"]);
    publish(broker, &["-t", t, "-n", "-q", "1"]);
    publish(broker, &["-t", t, "-f", &bin]);
    publish(broker, &["-t", t, "-m", "not json", "-q", "1"]);
    // QoS 2 last: on MQTT 3.x a QoS 2 message is delivered at PUBREL, so a message
    // published after it may overtake it (in mosquitto_sub too).
    publish(
        broker,
        &[
            "-t",
            t,
            "-m",
            r#"{"a":[1,2.5,"x\u00e9"],"b":null,"c":1e10}"#,
            "-q",
            "2",
        ],
    );
}

#[test]
fn sub_output_formats_match() {
    let broker = Broker::builder().tls12only(false).start();
    let dir = TempDir::new("fmt");
    let formats: &[&[&str]] = &[
        &[],
        &["-v"],
        &["-N"],
        &["-v", "-N"],
        &["-F", "%t|%p|%l|%q|%r|%m|%%|\\t\\\\|%x|%X"],
        &["-F", "%10t|%-12p|%.3t|%05l|%3p|%-5q|@@|\\e[0m"],
        &["-F", "%j"],
        &["-F", "%J"],
        &["--pretty", "-F", "%J"],
        &["--pretty", "-F", "%j", "-N"],
        &["-F", "%t %x", "-N"],
    ];
    for (n, f) in formats.iter().enumerate() {
        let t = unique_topic("fmt");
        let mut extra = vec!["-q", "2", "-C", "5", "-t", &t];
        extra.extend_from_slice(f);
        let p = pair(&broker, "plain", &extra);
        publish_mix(&broker, &t, &dir);
        let (ours, theirs) = p.finish();
        assert_eq!(ours.code, Some(0), "case {n}: {ours}");
        // %J on a non-JSON payload: the same complaint on stderr.
        if f.contains(&"%J") {
            assert_eq!(ours.stderr_str(), theirs.stderr_str(), "case {n}");
        }
    }
}

/// A burst of messages (printed by paho's receive thread itself when nothing else goes to
/// stdout): every one in order, `-C` exact, filtered and retained ones handled as
/// mosquitto_sub does, in default output and JSON.
#[test]
fn sub_burst_is_printed_in_order_and_counted_exactly() {
    let broker = Broker::builder().tls12only(false).start();
    let lines: Vec<u8> = (0..3000)
        .flat_map(|i| format!("burst {i}\n").into_bytes())
        .collect();
    let cases: &[&[&str]] = &[&[], &["-F", "%j"], &["-v", "-R"], &["-F", "%t %p", "-N"]];
    for (n, f) in cases.iter().enumerate() {
        let t = unique_topic("burst");
        // A retained message first (dropped by -R), then the burst on a subtopic and on
        // a topic filtered out with -T, interleaved.
        publish(&broker, &["-t", &format!("{t}/a"), "-m", "kept", "-r"]);
        let filter = format!("{t}/#");
        let skip = format!("{t}/skip");
        let mut extra = vec!["-C", "2500", "-t", &filter, "-T", &skip];
        extra.extend_from_slice(f);
        let p = pair(&broker, "tls", &extra);
        for (topic, chunk) in [(&skip, &lines[..800]), (&format!("{t}/a"), &lines[..])] {
            Run::prog(Prog::MosquittoPub)
                .args(args(&broker, "plain", &["-t", topic, "-l"]))
                .stdin(chunk.to_vec())
                .run()
                .assert_success();
        }
        let (ours, _) = p.finish();
        assert_eq!(ours.code, Some(0), "case {n}: {ours}");
        assert!(ours.stdout_str().contains("burst 2498"), "case {n}: {ours}");
    }
}

#[test]
fn sub_json_keeps_binary_payloads_in_base64() {
    let broker = Broker::builder().tls12only(false).start();
    let dir = TempDir::new("b64");
    let t = unique_topic("b64");
    let p = pair(&broker, "plain", &["-C", "1", "-t", &t, "-F", "%j"]);
    publish(&broker, &["-t", &t, "-f", &binary_file(&dir)]);
    let theirs = p.theirs.wait(WAIT);
    let ours = p.ours.wait(WAIT);
    assert_eq!((ours.code, theirs.code), (Some(0), Some(0)));
    // Our deliberate addition: everything of 2.0's object, then the lossless payload.
    let raw = |b: &[u8]| normalise_tst(&normalise_2011(&String::from_utf8_lossy(b)));
    let o = raw(&ours.stdout);
    let m = raw(&theirs.stdout);
    let m = m.trim_end().strip_suffix('}').unwrap();
    assert_eq!(o, format!("{m},\"payload_base64\":\"YQABAv8KgHo=\"}}\n"));
}

#[test]
fn sub_v5_properties_and_debug_trace_match() {
    let broker = Broker::builder().tls12only(false).start();
    let t = unique_topic("v5");
    for f in [
        &["-F", "%P|%C|%R|%D|%F|%A|%S|%t|%p|%m|%q"][..],
        &["-F", "%j"],
        &["--pretty", "-F", "%J"],
        &["-v", "-d"],
    ] {
        let mut extra = vec![
            "-V",
            "5",
            "-q",
            "2",
            "-C",
            "3",
            "-t",
            &t,
            "-D",
            "subscribe",
            "subscription-identifier",
            "7",
        ];
        extra.extend_from_slice(f);
        let p = pair(&broker, "plain", &extra);
        for (n, (qos, payload)) in [("0", "{\"x\":1}"), ("1", "[1,2]"), ("2", "\"s\"")]
            .into_iter()
            .enumerate()
        {
            publish(
                &broker,
                &[
                    "-V",
                    "5",
                    "-t",
                    &t,
                    "-m",
                    payload,
                    "-q",
                    qos,
                    "-D",
                    "publish",
                    "user-property",
                    "k",
                    "v1",
                    "-D",
                    "publish",
                    "user-property",
                    "k2",
                    "v2",
                    "-D",
                    "publish",
                    "content-type",
                    "text/json",
                    "-D",
                    "publish",
                    "response-topic",
                    "r/t",
                    "-D",
                    "publish",
                    "correlation-data",
                    "abc",
                    "-D",
                    "publish",
                    "payload-format-indicator",
                    "1",
                ],
            );
            // One delivery at a time: a QoS 2 flow still under way when the next message
            // arrives interleaves differently from run to run (in mosquitto_sub too).
            p.wait_for_count(&t, n + 1);
        }
        let (ours, _) = p.finish();
        assert_eq!(ours.code, Some(0));
    }
}

#[test]
fn sub_debug_trace_per_qos_and_protocol_matches() {
    let broker = Broker::builder().tls12only(false).start();
    for (v, id) in [("mqttv31", "sub-v31"), ("311", "sub-311"), ("5", "sub-v5")] {
        for qos in ["0", "1", "2"] {
            let t = unique_topic("dbg");
            let p = pair_with_id(
                &broker,
                "plain",
                &["-d", "-V", v, "-q", qos, "-C", "3", "-t", &t],
                id,
            );
            for pq in ["0", "1", "2"] {
                let msg = format!("m-{pq}");
                publish(&broker, &["-t", &t, "-m", &msg, "-q", pq]);
                p.wait_for(&format!("{msg}\n"));
            }
            p.finish();
        }
    }
}

#[test]
fn sub_filters_retained_handling_and_unsubscribe_match() {
    let broker = Broker::builder().tls12only(false).start();
    for v in ["311", "5"] {
        let base = unique_topic("ret");
        let all = format!("{base}/#");
        publish(&broker, &["-t", &format!("{base}/r1"), "-m", "old1", "-r"]);
        publish(
            &broker,
            &["-t", &format!("{base}/r2"), "-m", "old2", "-r", "-q", "1"],
        );

        // -R: retained messages are not printed (and, on v5, not even sent).
        let p = pair(
            &broker,
            "plain",
            &["-V", v, "-R", "-v", "-C", "1", "-t", &all],
        );
        publish(&broker, &["-t", &format!("{base}/fresh"), "-m", "new"]);
        let (ours, _) = p.finish();
        assert_eq!(ours.stdout_str(), format!("{base}/fresh new\n"));

        // -T: filtered messages are neither printed nor counted.
        let p = pair(
            &broker,
            "plain",
            &[
                "-V",
                v,
                "-v",
                "-C",
                "2",
                "-t",
                &all,
                "-T",
                &format!("{base}/r1"),
                "-T",
                "+/+/+/skip/#",
            ],
        );
        publish(&broker, &["-t", &format!("{base}/skip/x"), "-m", "no"]);
        publish(&broker, &["-t", &format!("{base}/b"), "-m", "yes"]);
        let (ours, _) = p.finish();
        assert_eq!(
            ours.stdout_str(),
            format!("{base}/r2 old2\n{base}/b yes\n"),
            "{ours}"
        );

        // --retained-only: print the retained ones, end (0) at the first fresh message.
        let p = pair(
            &broker,
            "plain",
            &["-V", v, "-v", "-d", "--retained-only", "-t", &all],
        );
        publish(&broker, &["-t", &format!("{base}/c"), "-m", "ends"]);
        let (ours, _) = p.finish();
        assert!(ours.stdout_str().contains("old1\n"), "{ours}");
        assert!(!ours.stdout_str().contains(" ends\n"), "{ours}");

        // -U after -t, with -E and the trace: one UNSUBSCRIBE per -U, DISCONNECT after SUBACK.
        let (ours, _) = same_run(&args(
            &broker,
            "plain",
            &[
                "-V", v, "-d", "-E", "-q", "1", "-t", &all, "-t", "x/y", "-U", &all, "-U", "z",
            ],
        ));
        assert!(
            ours.stdout_str()
                .contains("sending UNSUBSCRIBE (Mid: 3, Topic: z)")
        );

        // -U really unsubscribes: nothing arrives, -W ends it.
        let p = pair(
            &broker,
            "plain",
            &["-V", v, "-v", "-W", "2", "-t", &all, "-U", &all],
        );
        publish(&broker, &["-t", &format!("{base}/d"), "-m", "unseen"]);
        let (ours, theirs) = p.finish();
        assert_eq!((ours.code, theirs.code), (Some(27), Some(27)));
        assert_eq!(ours.stderr_str(), theirs.stderr_str());

        // --retain-as-published (v5: options 0x08 in the trace; v3: ignored).
        same_run(&args(
            &broker,
            "plain",
            &[
                "-V",
                v,
                "-d",
                "-E",
                "--retain-as-published",
                "-R",
                "-t",
                "q/q",
            ],
        ));
        publish(&broker, &["-t", &format!("{base}/r1"), "-n", "-r"]);
        publish(&broker, &["-t", &format!("{base}/r2"), "-n", "-r"]);
    }
}

#[test]
fn sub_remove_retained_clears_and_retained_only_does_not_hang() {
    let broker = Broker::builder().tls12only(false).start();
    let base = unique_topic("rm");
    let all = format!("{base}/#");
    let seed = |broker: &Broker| {
        publish(
            broker,
            &["-t", &format!("{base}/a"), "-m", "one", "-r", "-q", "1"],
        );
        publish(
            broker,
            &["-t", &format!("{base}/b"), "-m", "two", "-r", "-q", "1"],
        );
    };
    let retained_left = |broker: &Broker| {
        // -W: mosquitto_sub's own way to end when nothing (more) is retained.
        let out = mosquitto_sub(args(
            broker,
            "plain",
            &["-v", "--retained-only", "-W", "1", "-t", &all],
        ));
        out.stdout_str()
    };
    // Each clears (a stop by signal is needed: with --retained-only mosquitto_sub hangs).
    // One program at a time: a second one started together may subscribe only after the
    // first cleared everything. mosquitto_sub 2.0.11 itself sometimes ignores the SIGINT
    // that comes while it clears (it then hangs, and may leave the last message retained):
    // it only shows the expected output here; mqtts-sub must end with 0 and clear all.
    for prog in [Prog::MosquittoSub, Prog::OursSub] {
        seed(&broker);
        let a = args(&broker, "plain", &["-v", "--remove-retained", "-t", &all]);
        let sub = start_subscriber(&broker, prog, &a);
        let needle = format!("{base}/b two\n");
        assert!(
            sub.wait_for_stdout(&needle, WAIT),
            "{prog:?} never printed {needle:?}: {}",
            sub.stdout_str()
        );
        if prog == Prog::OursSub {
            sub.stop_with(libc::SIGINT, WAIT).assert_success();
            assert_eq!(retained_left(&broker), "", "{prog:?}");
        } else {
            let _ = sub.stop_with(libc::SIGINT, Duration::from_secs(3));
        }
    }

    // The same with the trace, QoS 0 and 1: clearing PUBLISH before each output, the
    // broker's echo of each clear (an empty message) afterwards. One program at a time
    // (each would see the other's clears).
    for qos in ["0", "1"] {
        let mut outs = Vec::new();
        for prog in [Prog::MosquittoSub, Prog::OursSub] {
            seed(&broker);
            let a = args(
                &broker,
                "plain",
                &["-d", "-v", "-q", qos, "--remove-retained", "-t", &all],
            );
            let sub = start_subscriber(&broker, prog, &a);
            assert!(wait_until(WAIT, || sub
                .stdout_str()
                .matches(" (null)\n")
                .count()
                == 2));
            // Published after the broker acknowledged both clears.
            publish(&broker, &["-t", &format!("{base}/z"), "-m", "end"]);
            assert!(sub.wait_for_stdout(&format!("{base}/z end\n"), WAIT));
            outs.push(sub.stop_with(libc::SIGINT, WAIT));
        }
        same(&[], &outs[1], &outs[0]);
    }

    // mqtts-sub with --retained-only --remove-retained: clears, then ends by itself (0).
    for qos in ["0", "1"] {
        seed(&broker);
        let out = ours_sub(args(
            &broker,
            "plain",
            &[
                "-v",
                "-q",
                qos,
                "--retained-only",
                "--remove-retained",
                "-t",
                &all,
            ],
        ));
        out.assert_success();
        assert_eq!(
            out.stdout_str(),
            format!("{base}/a one\n{base}/b two\n"),
            "{out}"
        );
        assert_eq!(retained_left(&broker), "");
    }
    // The trace shows the clearing PUBLISH before the message's output, as mosquitto.
    seed(&broker);
    let out = ours_sub(args(
        &broker,
        "plain",
        &[
            "-d",
            "-v",
            "-C",
            "1",
            "--remove-retained",
            "-t",
            &format!("{base}/a"),
        ],
    ));
    out.assert_success();
    let text = out.stdout_str();
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("received PUBLISH"))
        .unwrap();
    assert_eq!(
        &lines[at..at + 2],
        &[
            format!("Client null received PUBLISH (d0, q0, r1, m0, '{base}/a', ... (3 bytes))"),
            format!("Client null sending PUBLISH (d0, q1, r1, m2, '{base}/a', ... (0 bytes))"),
        ],
        "{out}"
    );
    assert_eq!(lines[at + 2], format!("{base}/a one"));
    assert!(
        text.ends_with("received PUBACK (Mid: 2, RC:0)\nClient null sending DISCONNECT\n"),
        "{out}"
    );
    publish(&broker, &["-t", &format!("{base}/b"), "-n", "-r"]);
}

#[test]
fn sub_random_filter_prints_a_share_but_counts_all() {
    let broker = Broker::builder().tls12only(false).start();
    let t = unique_topic("rnd");
    // mosquitto multiplies the percentage by 10 and then compares per 10000: "50" prints
    // about 5 % of the messages.
    let p = pair(
        &broker,
        "plain",
        &["--random-filter", "50", "-C", "200", "-t", &t],
    );
    let lines: String = (0..200).map(|i| format!("m{i}\n")).collect();
    Run::prog(Prog::MosquittoPub)
        .args(args(&broker, "plain", &["-t", &t, "-l", "-q", "1"]))
        .stdin(lines)
        .run()
        .assert_success();
    let theirs = p.theirs.wait(WAIT);
    let ours = p.ours.wait(WAIT);
    for out in [&ours, &theirs] {
        assert_eq!(out.code, Some(0), "{out}");
        let n = out.stdout_str().lines().count();
        assert!(n < 60, "{n} of 200 printed with a 5 % chance: {out}");
    }
    // 0.1 (the minimum, 1 in 10000) prints nothing, 100 % of 1000 per 10000 = 10 %.
    let p = pair(
        &broker,
        "plain",
        &["--random-filter", "0.1", "-C", "3", "-t", &t],
    );
    for _ in 0..3 {
        publish(&broker, &["-t", &t, "-m", "x"]);
    }
    let (ours, _) = p.finish();
    assert!(ours.stdout.len() <= 2, "{ours}");
}

#[test]
fn sub_exit_codes_match() {
    let broker = Broker::builder().tls12only(false).start();
    let t = unique_topic("exit");
    // -W after CONNACK: 27 and "Timed out".
    for v in ["311", "5"] {
        let (ours, _) = same_run(&args(
            &broker,
            "plain",
            &["-V", v, "-d", "-W", "1", "-t", &t],
        ));
        assert_eq!(ours.code, Some(27));
        assert_eq!(ours.stderr_str(), "Timed out\n");
    }
    // --quiet hides it.
    same_run(&args(&broker, "plain", &["--quiet", "-W", "1", "-t", &t]));
    // SIGINT / SIGTERM while connected: DISCONNECT, 0.
    for sig in [libc::SIGINT, libc::SIGTERM] {
        for v in ["311", "5"] {
            let p = pair_with_id(&broker, "plain", &["-V", v, "-d", "-t", &t], "sig");
            // A message both print proves both handled the SUBACK before the signal.
            publish(&broker, &["-t", &t, "-m", "seen"]);
            p.wait_for_count("\nseen\n", 1);
            let (ours, _) = p.stop(sig);
            assert_eq!(ours.code, Some(0));
            assert!(
                ours.stdout_str()
                    .ends_with("Client ID sending DISCONNECT\n")
            );
        }
    }
    // Before CONNACK (a listener that accepts and never answers): -W and signals give 255.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let h = held.clone();
    std::thread::spawn(move || {
        for s in silent.incoming().flatten() {
            h.lock().unwrap().push(s);
        }
    });
    let a: Vec<String> = ["-h", "127.0.0.1", "-p", &port, "-W", "1", "-t", "x", "-d"]
        .map(String::from)
        .to_vec();
    let (ours, _) = same_run(&a);
    assert_eq!(ours.code, Some(255));
    let a: &[String] = &a[..4];
    let a = [a, &["-t".to_string(), "x".to_string()]].concat();
    let a = &a[..];
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let before = held.lock().unwrap().len();
        let theirs = Run::prog(Prog::MosquittoSub).args(a).spawn();
        let ours = Run::prog(Prog::OursSub).args(a).spawn();
        assert!(wait_until(WAIT, || held.lock().unwrap().len() >= before + 2));
        std::thread::sleep(Duration::from_millis(200));
        let theirs = theirs.stop_with(sig, WAIT);
        let ours = ours.stop_with(sig, WAIT);
        same(a, &ours, &theirs);
        assert_eq!(ours.code, Some(255), "{ours}");
    }
    // Connection refused on the first connect: 1, no retry.
    let closed = free_port().to_string();
    let theirs = mosquitto_sub(["-h", "127.0.0.1", "-p", &closed, "-t", "x"]);
    let ours = ours_sub(["-h", "127.0.0.1", "-p", &closed, "-t", "x"]);
    assert_eq!(
        (ours.code, theirs.code),
        (Some(1), Some(1)),
        "{ours}\n{theirs}"
    );
    // Bad credentials: the CONNACK code and mosquitto_sub's one line.
    for v in ["311", "5"] {
        let mut a = args(&broker, "auth", &["-V", v, "-t", "x"]);
        let pw = a.iter().position(|s| s == "-P").unwrap() + 1;
        a[pw] = "wrong".into();
        let (ours, _) = same_run(&a);
        assert_ne!(ours.code, Some(0));
        // And good ones work (v3 and v5, TLS listener, -u/-P).
        same_run(&args(&broker, "auth", &["-V", v, "-d", "-E", "-t", "x"]));
    }
}

#[test]
fn sub_denied_subscriptions_end_the_run() {
    let port = denying_server().to_string();
    for v in ["311", "5"] {
        for extra in [&["-d"][..], &[], &["--quiet", "-d"]] {
            let mut e = vec!["-h", "127.0.0.1", "-p", &port, "-V", v, "-t", "denied/x"];
            e.extend(["-t", "denied/y"]);
            e.extend_from_slice(extra);
            let a: Vec<String> = e.iter().map(|s| s.to_string()).collect();
            let (ours, _) = same_run(&a);
            assert_eq!(ours.code, Some(0));
            if !extra.contains(&"--quiet") {
                assert_eq!(
                    ours.stderr_str(),
                    "All subscription requests were denied.\n"
                );
            }
        }
        // One allowed, one denied: runs on (-W ends it).
        let a: Vec<String> = [
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-V",
            v,
            "-d",
            "-W",
            "1",
            "-t",
            "denied/x",
            "-t",
            "allowed/x",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (ours, _) = same_run(&a);
        assert_eq!(ours.code, Some(27));
    }
}

#[test]
fn sub_will_is_published_on_v5_signal_and_timeout_only() {
    let broker = Broker::builder().tls12only(false).start();
    for (v, how, expect) in [
        ("5", "INT", true),
        ("5", "TERM", true),
        ("5", "W", true),
        ("311", "INT", false),
        ("5", "C", false),
    ] {
        let wt = unique_topic("will");
        let t = unique_topic("willsub");
        let watcher = start_subscriber(
            &broker,
            Prog::MosquittoSub,
            args(&broker, "plain", &["-v", "-t", &wt]),
        );
        let mut extra = vec![
            "-V",
            v,
            "-t",
            &t,
            "--will-topic",
            &wt,
            "--will-payload",
            "gone",
            "--will-qos",
            "1",
        ];
        if v == "5" {
            // (-D switches to v5 itself: only on the v5 runs.)
            extra.extend(["-D", "will", "content-type", "text/plain"]);
        }
        if how == "W" {
            extra.extend(["-W", "1"]);
        }
        if how == "C" {
            extra.extend(["-C", "1"]);
        }
        let sub = start_subscriber(&broker, Prog::OursSub, args(&broker, "plain", &extra));
        let out = match how {
            "INT" => sub.stop_with(libc::SIGINT, WAIT),
            "TERM" => sub.stop_with(libc::SIGTERM, WAIT),
            "C" => {
                publish(&broker, &["-t", &t, "-m", "x"]);
                sub.wait(WAIT)
            }
            _ => sub.wait(WAIT),
        };
        assert_eq!(out.code, Some(if how == "W" { 27 } else { 0 }), "{out}");
        if !expect {
            // No will: the next message on the topic is the first one the watcher sees.
            publish(&broker, &["-t", &wt, "-m", "sentinel"]);
            assert!(watcher.wait_for_stdout("sentinel\n", WAIT));
        } else {
            assert!(watcher.wait_for_stdout(" gone\n", WAIT));
        }
        let seen = watcher.kill();
        let first = seen.stdout_str().lines().next().unwrap_or("").to_string();
        assert_eq!(first == format!("{wt} gone"), expect, "{v} {how}: {seen}");
    }
}

#[test]
fn sub_reconnects_resubscribes_and_gets_queued_messages() {
    let mut broker = Broker::builder().tls12only(false).start();
    let t = unique_topic("recon");
    let theirs = start_subscriber(
        &broker,
        Prog::MosquittoSub,
        args(
            &broker,
            "plain",
            &["-v", "-c", "-q", "1", "-i", "recon-theirs", "-t", &t],
        ),
    );
    let ours = start_subscriber(
        &broker,
        Prog::OursSub,
        args(
            &broker,
            "plain",
            &["-d", "-v", "-c", "-q", "1", "-i", "recon-ours", "-t", &t],
        ),
    );
    publish(&broker, &["-t", &t, "-m", "before", "-q", "1"]);
    assert!(ours.wait_for_stdout("before\n", WAIT));
    broker.restart();
    // Published while the subscribers are away (they retry once a second), queued in
    // their persistent sessions.
    publish(&broker, &["-t", &t, "-m", "while-away", "-q", "1"]);
    assert!(
        theirs.wait_for_stdout("while-away\n", WAIT),
        "{}",
        theirs.stdout_str()
    );
    assert!(
        ours.wait_for_stdout("while-away\n", WAIT),
        "{}",
        ours.stdout_str()
    );
    // Subscribed again: a fresh message arrives too.
    assert!(broker.wait_for_log_count("Sending SUBACK to recon-ours", 2, WAIT));
    publish(&broker, &["-t", &t, "-m", "after", "-q", "1"]);
    assert!(ours.wait_for_stdout(&format!("{t} after\n"), WAIT));
    assert!(
        theirs.wait_for_stdout(&format!("{t} after\n"), WAIT),
        "{}",
        theirs.stdout_str()
    );
    let theirs = theirs.stop_with(libc::SIGINT, WAIT);
    let ours = ours.stop_with(libc::SIGINT, WAIT);
    assert_eq!((ours.code, theirs.code), (Some(0), Some(0)));
    assert!(ours.stderr.is_empty(), "silent: {ours}");
    let text = ours.stdout_str();
    // (A QoS 1 message whose PUBACK the broker had not processed before it stopped is
    // delivered again after the restart, to either program: duplicates are fine.)
    let printed = |text: &str| -> Vec<String> {
        let mut v: Vec<String> = text
            .lines()
            .filter(|l| l.starts_with(&t))
            .map(String::from)
            .collect();
        v.dedup();
        v
    };
    let expected = [
        format!("{t} before"),
        format!("{t} while-away"),
        format!("{t} after"),
    ];
    assert_eq!(printed(&text), expected, "{ours}");
    assert_eq!(printed(&theirs.stdout_str()), expected, "{theirs}");
    // The trace: CONNECT, CONNACK, SUBSCRIBE again (new mid), no DISCONNECT of ours
    // until the end.
    assert_eq!(text.matches("sending DISCONNECT").count(), 1, "{text}");
    assert!(
        text.contains(&format!(
            "Client recon-ours sending CONNECT\nClient recon-ours received CONNACK (0)\n\
         Client recon-ours sending SUBSCRIBE (Mid: 2, Topic: {t}, QoS: 1, Options: 0x00)\n"
        )),
        "{text}"
    );
}

#[test]
fn sub_keeps_retrying_while_the_broker_is_gone_until_w() {
    let mut broker = Broker::builder().tls12only(false).start();
    let t = unique_topic("gone");
    let p = pair(&broker, "plain", &["-v", "-W", "4", "-t", &t]);
    broker.stop();
    let theirs = p.theirs.wait(WAIT);
    let ours = p.ours.wait(WAIT);
    assert_eq!(
        (ours.code, theirs.code),
        (Some(27), Some(27)),
        "{ours}\n{theirs}"
    );
    assert_eq!(ours.stderr_str(), theirs.stderr_str());
    assert_eq!(ours.stdout, theirs.stdout);
}

#[test]
fn sub_flushes_each_message_and_dies_of_sigpipe() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let broker = Broker::builder().tls12only(false).start();
    for prog in [Prog::MosquittoSub, Prog::OursSub] {
        let t = unique_topic("pipe");
        let mut cmd = Command::new(prog.path());
        cmd.args(args(&broker, "plain", &["-t", &t, "-i", "pipe-sub"]))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        die_with_parent(&mut cmd);
        // As from a shell: the test harness (Rust) ignores SIGPIPE, and children inherit that.
        // SAFETY: only async-signal-safe signal() between fork and exec.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
                Ok(())
            });
        }
        let before = broker.log_count("Sending SUBACK to pipe-sub\n");
        let mut child = cmd.spawn().unwrap();
        assert!(wait_until(WAIT, || broker
            .log_count("Sending SUBACK to pipe-sub\n")
            > before));
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        // Each message is readable before the next one is published.
        for i in 0..3 {
            publish(&broker, &["-t", &t, "-m", &format!("line {i}")]);
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            assert_eq!(line, format!("line {i}\n"), "{}", prog.name());
        }
        // `| head -3`: the reader goes away; the next message kills it with SIGPIPE.
        drop(reader);
        let mut status = None;
        for _ in 0..50 {
            publish(&broker, &["-t", &t, "-m", "more"]);
            if let Some(s) = child.try_wait().unwrap() {
                status = Some(s);
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let status = status.unwrap_or_else(|| {
            let _ = child.kill();
            child.wait().unwrap()
        });
        use std::os::unix::process::ExitStatusExt;
        if prog == Prog::OursSub {
            // 2.0.20 (spec §3.1): killed by SIGPIPE, a shell shows 141.
            assert_eq!(status.signal(), Some(libc::SIGPIPE), "{status:?}");
        } else {
            // The installed 2.0.11 ignores SIGPIPE (mosquitto_lib_init; 2.0.20 no longer
            // does): the failed write makes it disconnect and exit 0.
            assert_eq!(status.code(), Some(0), "{status:?}");
        }
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        assert_eq!(err, "", "{}", prog.name());
    }
}

#[test]
fn sub_connection_options_match() {
    let dir = TempDir::new("unix");
    let sock = dir.join("mqtt.sock").display().to_string();
    let broker = Broker::builder()
        .tls12only(false)
        .config(format!("listener 0 {sock}"))
        .config("allow_anonymous true")
        .start();
    let plain = |e: &[&str]| args(&broker, "plain", e);
    // Client ids, keepalive, clean session, session expiry, protocol versions, -D on
    // every command sub uses, --nodelay (paho always sets TCP_NODELAY).
    for a in [
        plain(&["-d", "-E", "-t", "a", "-i", "fixed-id", "-k", "5"]),
        plain(&["-d", "-E", "-t", "a", "-i", "fixed-id", "-c", "-q", "2"]),
        plain(&[
            "-d", "-E", "-t", "a", "-i", "fixed-id", "-V", "5", "-c", "-x", "30",
        ]),
        plain(&[
            "-d",
            "-E",
            "-t",
            "a",
            "-i",
            "x31",
            "-V",
            "mqttv31",
            "--nodelay",
        ]),
        plain(&[
            "-d",
            "-E",
            "-V",
            "5",
            "-t",
            "a",
            "-U",
            "a",
            "-D",
            "connect",
            "user-property",
            "c",
            "1",
            "-D",
            "subscribe",
            "user-property",
            "s",
            "2",
            "-D",
            "unsubscribe",
            "user-property",
            "u",
            "3",
            "-D",
            "disconnect",
            "session-expiry-interval",
            "0",
            "-D",
            "connect",
            "session-expiry-interval",
            "10",
            "-i",
            "props",
        ]),
        plain(&[
            "-d",
            "-E",
            "-t",
            "a",
            "--will-topic",
            "w",
            "--will-payload",
            "p",
            "--will-retain",
            "--will-qos",
            "2",
        ]),
        plain(&["-d", "-E", "-t", "a", "--quiet"]),
        vec![
            "-d".into(),
            "-E".into(),
            "--unix".into(),
            sock.clone(),
            "-t".into(),
            "a".into(),
        ],
        vec![
            "-d".into(),
            "-E".into(),
            "--nodelay".into(),
            "--unix".into(),
            sock.clone(),
            "-t".into(),
            "a".into(),
        ],
        vec![
            "-d".into(),
            "-E".into(),
            "-L".into(),
            format!("mqtt://127.0.0.1:{}/url/topic", broker.port("plain")),
        ],
    ] {
        same_run(&a);
    }
    // A missing socket: 1 like mosquitto; the message is mqtts's diagnosis (src/tls),
    // which names the cause as mosquitto's `Error: No such file or directory` does.
    let missing = dir.join("missing").display().to_string();
    let a = ["-E", "--unix", &missing, "-t", "a"];
    let (theirs, ours) = (mosquitto_sub(a), ours_sub(a));
    assert_eq!((ours.code, theirs.code), (Some(1), Some(1)), "{ours}");
    assert_eq!(theirs.stderr_str(), "Error: No such file or directory\n");
    assert!(
        ours.stderr_str().contains("No such file or directory"),
        "{ours}"
    );
    // -I: prefix + pid, so compare with the pid taken out.
    let a = plain(&["-d", "-E", "-t", "a", "-I", "pfx-"]);
    let theirs = mosquitto_sub(&a);
    let ours = ours_sub(&a);
    let strip = |s: String| -> String {
        s.lines()
            .map(|l| match l.strip_prefix("Client pfx-") {
                Some(rest) => {
                    let d = rest.bytes().take_while(u8::is_ascii_digit).count();
                    assert!(d > 0, "{l}");
                    format!("Client pfx-PID{}\n", &rest[d..])
                }
                None => format!("{l}\n"),
            })
            .collect()
    };
    assert_eq!(strip(ours.stdout_str()), strip(theirs.stdout_str()));
    assert_eq!(ours.code, theirs.code);
}

#[test]
fn sub_bind_address_binds_like_mosquitto_sub() {
    // -A works (see connection.rs, mod bind): same output and exit code as mosquitto_sub.
    let broker = Broker::builder().tls12only(false).start();
    for extra in [&[][..], &["--quiet"], &["-d", "-i", "bind-sub"]] {
        let mut e = vec!["-A", "127.0.0.1", "-t", "a", "-E"];
        e.extend_from_slice(extra);
        let a = args(&broker, "plain", &e);
        let (ours, theirs) = (ours_sub(&a), mosquitto_sub(&a));
        assert_eq!(ours.code, Some(0), "{ours}");
        assert_eq!(ours.code, theirs.code, "{ours}\n{theirs}");
        assert_eq!(
            normalise_2011(&ours.stdout_str()),
            normalise_2011(&theirs.stdout_str())
        );
    }
}

#[test]
fn sub_help_and_version_exit_1_on_stdout() {
    for a in ["--help", "--version"] {
        let theirs = mosquitto_sub([a]);
        let ours = ours_sub([a]);
        assert_eq!((ours.code, theirs.code), (Some(1), Some(1)));
        assert!(!ours.stdout.is_empty() && ours.stderr.is_empty(), "{ours}");
    }
}

#[test]
fn sub_debug_trace_across_a_reconnect_matches() {
    let mut broker = Broker::builder().tls12only(false).start();
    for v in ["311", "5"] {
        let t = unique_topic("retrace");
        let p = pair_with_id(
            &broker,
            "plain",
            &["-d", "-V", v, "-t", &t, "-U", "nothing/here"],
            &format!("rt{v}"),
        );
        broker.restart();
        // Retained: each gets it once subscribed again (mosquitto_sub's stdout is a pipe,
        // block-buffered: its trace shows only when a message is printed).
        publish(&broker, &["-t", &t, "-m", "after", "-r"]);
        p.wait_for_count("\nafter\n", 1);
        // Packet ids go on counting: SUBSCRIBE 3, UNSUBSCRIBE 4.
        assert!(wait_until(WAIT, || p
            .ours
            .stdout_str()
            .matches("received UNSUBACK")
            .count()
            == 2));
        assert!(
            p.ours
                .stdout_str()
                .contains("sending UNSUBSCRIBE (Mid: 4, Topic: nothing/here)")
        );
        // mosquitto_sub's trace is buffered until exit, so whether it processed its second
        // UNSUBACK cannot be seen: once the broker sent it, one more message that both
        // print proves both read everything before it.
        assert!(broker.wait_for_log_count(&format!("Sending UNSUBACK to rt{v}-m"), 2, WAIT));
        publish(&broker, &["-t", &t, "-m", "last"]);
        p.wait_for_count("\nlast\n", 1);
        p.stop(libc::SIGINT);
        publish(&broker, &["-t", &t, "-n", "-r"]);
    }
}

#[test]
fn sub_time_specifiers_have_mosquittos_shape() {
    let broker = Broker::builder().tls12only(false).start();
    let t = unique_topic("time");
    let p = pair(
        &broker,
        "plain",
        &[
            "-C",
            "1",
            "-t",
            &t,
            "-F",
            "%I|%U|@Y-@m-@dT@H:@M:@S|@N|@@|%30I|%-30I|%.4I",
        ],
    );
    publish(&broker, &["-t", &t, "-m", "x"]);
    let theirs = p.theirs.wait(WAIT);
    let ours = p.ours.wait(WAIT);
    // Clock readings differ: compare with every digit as 0.
    let shape = |o: &RunOutput| -> String {
        o.stdout_str()
            .chars()
            .map(|c| if c.is_ascii_digit() { '0' } else { c })
            .collect()
    };
    assert_eq!(
        shape(&ours),
        shape(&theirs),
        "ours: {ours}\ntheirs: {theirs}"
    );
    assert_eq!((ours.code, theirs.code), (Some(0), Some(0)));
}

#[test]
fn sub_keepalive_pings_show_in_the_trace() {
    let broker = Broker::builder().tls12only(false).start();
    let t = unique_topic("ping");
    // -k 5: one PINGREQ/PINGRESP exchange before -W 8 ends both.
    let p = pair_with_id(
        &broker,
        "plain",
        &["-d", "-k", "5", "-W", "8", "-t", &t],
        "ka",
    );
    let (ours, theirs) = p.finish();
    assert_eq!((ours.code, theirs.code), (Some(27), Some(27)));
    assert!(
        ours.stdout_str()
            .contains("Client ID sending PINGREQ\nClient ID received PINGRESP\n")
    );
}

#[test]
fn sub_w_fires_while_a_reconnect_waits_for_connack() {
    let mut broker = Broker::builder().tls12only(false).start();
    let port = broker.port("plain");
    let t = unique_topic("silent");
    let p = pair(&broker, "plain", &["-W", "4", "-t", &t]);
    broker.stop();
    // The broker's port now accepts and never answers: the reconnects hang before CONNACK.
    let silent = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in silent.incoming().flatten() {
            held.push(s);
        }
    });
    let theirs = p.theirs.wait(WAIT);
    let ours = p.ours.wait(WAIT);
    assert_eq!(
        (ours.code, theirs.code),
        (Some(27), Some(27)),
        "{ours}\n{theirs}"
    );
    assert_eq!(ours.stderr_str(), "Timed out\n");
    assert_eq!(ours.stderr_str(), theirs.stderr_str());
}

#[test]
fn sub_unix_connect_failures_do_not_corrupt_the_heap() {
    // paho.mqtt.c reports an immediate unix-socket connect failure twice; the second
    // report used to read a freed token (about 1 run in 10 aborted or printed glibc's
    // "malloc(): unsorted double linked list corrupted" with tcache off).
    let dir = TempDir::new("unixfail");
    let missing = dir.join("missing").display().to_string();
    for _ in 0..60 {
        let out = Run::prog(Prog::OursSub)
            .args(["-E", "--unix", &missing, "-t", "a"])
            .env("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0")
            .run();
        assert_eq!(out.code, Some(1), "{out}");
        let err = out.stderr_str();
        assert!(
            !err.contains("malloc") && !err.contains("corrupt") && !err.contains("tcache"),
            "{out}"
        );
    }
}

/// A v5 broker ends the session with DISCONNECT 142 (another client took the id over):
/// mosquitto_sub reconnects (taking it back) and subscribes again; so does mqtts-sub, with
/// the same trace, until -W ends both (27).
#[test]
fn v5_session_taken_over_reconnects_like_mosquitto_sub() {
    let broker = Broker::builder().tls12only(false).start();
    let mut outs = Vec::new();
    for prog in [Prog::MosquittoSub, Prog::OursSub] {
        let id = format!("takeover-{}", outs.len());
        let t = unique_topic("takeover");
        let a = args(
            &broker,
            "plain",
            &["-V", "5", "-d", "-i", &id, "-t", &t, "-W", "3"],
        );
        let sub = start_subscriber(&broker, prog, &a);
        // The taker-over itself may be taken over again by the reconnect: its exit does
        // not matter.
        let _ = mosquitto_pub(args(
            &broker,
            "plain",
            &["-V", "5", "-i", &id, "-t", "other", "-m", "x"],
        ));
        let out = sub.wait(WAIT);
        assert_eq!(out.code, Some(27), "{out}");
        let text = norm(&out.stdout).replace(&id, "ID").replace(&t, "T");
        assert_eq!(text.matches("sending SUBSCRIBE").count(), 2, "{out}");
        outs.push(text);
    }
    assert_eq!(outs[1], outs[0]);
}
