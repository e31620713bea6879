//! `mqtts-pub -l --topic-separator SEP`: each line is TOPIC SEP PAYLOAD, published on its
//! topic over one connection; bad lines are named by number, skipped, and make the exit
//! status non-zero. Checked with mosquitto_sub as the receiver.

mod common;

use common::*;
use std::time::Duration;

#[test]
fn each_line_goes_to_its_topic() {
    let broker = Broker::shared();
    let base = unique_topic("lines");
    let port = broker.port("plain").to_string();
    let sub = start_subscriber(
        broker,
        Prog::MosquittoSub,
        strs(&[
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-i",
            &format!("{base}-sub"),
            "-t",
            &format!("{base}/#"),
            "-v",
        ]),
    );
    let input = format!(
        "{base}/a: one\n\
         no separator here\n\
         {base}/b: two: with the separator inside\n\
         {base}/+: wildcard\n\
         : empty topic\n\
         {base}/c: three\n"
    );
    let out = Run::prog(Prog::OursPub)
        .args(strs(&[
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-l",
            "--topic-separator",
            ": ",
            "-q",
            "1",
            "-d",
        ]))
        .stdin(input)
        .run();
    assert_eq!(out.code, Some(1), "{out}");
    assert_eq!(
        out.stderr_str(),
        format!(
            "Error: line 2: no topic separator \": \"; not published.\n\
             Error: line 4: invalid publish topic '{base}/+', does it contain '+' or '#'?; not published.\n\
             Error: line 5: the topic is empty; not published.\n\
             Error: 3 lines of 6 not published (named above).\n"
        ),
        "{out}"
    );
    // The -d trace names each line's topic.
    let trace = out.stdout_str();
    for (t, len) in [("a", 3), ("b", 30), ("c", 5)] {
        let needle = format!("'{base}/{t}', ... ({len} bytes))");
        assert!(trace.contains(&needle), "{needle}: {out}");
    }
    assert!(
        sub.wait_for_lines(3, Duration::from_secs(5)),
        "{:?}",
        sub.lines()
    );
    let got = sub.kill();
    assert_eq!(
        got.stdout_str(),
        format!("{base}/a one\n{base}/b two: with the separator inside\n{base}/c three\n"),
        "{got}"
    );
}

#[test]
fn all_good_lines_exit_zero() {
    let broker = Broker::shared();
    let base = unique_topic("lines-ok");
    let port = broker.port("plain").to_string();
    let out = Run::prog(Prog::OursPub)
        .args(strs(&[
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-l",
            "--topic-separator",
            "\t",
        ]))
        .stdin(format!("{base}/x\t1\n{base}/y\t2\n"))
        .run();
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(out.stderr_str(), "", "{out}");
}

#[test]
fn topic_separator_usage_errors() {
    let help = "\nUse 'mqtts-pub --help' to see usage.\n";
    for (args, msg) in [
        (
            vec!["--topic-separator", ":", "-m", "x"],
            "Error: --topic-separator needs -l: each line of standard input is TOPIC SEP PAYLOAD.\n",
        ),
        (
            vec!["--topic-separator", "", "-l"],
            "Error: --topic-separator must not be empty.\n",
        ),
        (
            vec!["--topic-separator", ":", "-l", "-t", "a"],
            "Error: -t (or a topic in -L) and --topic-separator cannot be used together: each line names its topic.\n",
        ),
        (
            vec![
                "--topic-separator",
                ":",
                "-l",
                "-V",
                "5",
                "-D",
                "publish",
                "topic-alias",
                "1",
            ],
            "Error: --topic-separator cannot be used with the topic-alias property.\n",
        ),
        (
            vec!["-l", "--topic-separator"],
            "Error: --topic-separator argument given but no separator specified.\n\n",
        ),
    ] {
        let out = ours_pub(&args);
        assert_eq!(out.code, Some(1), "{out}");
        assert_eq!(out.stderr_str(), format!("{msg}{help}"), "{out}");
    }
    // mqtts-sub has no such option.
    let out = ours_sub(["--topic-separator", ":", "-t", "x"]);
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stderr_str()
            .starts_with("Error: Unknown option '--topic-separator'."),
        "{out}"
    );
}
