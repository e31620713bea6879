use super::values::strtol;
use super::*;
use std::ffi::OsString;
use std::time::Duration;

fn run(client: Client, args: &[&str]) -> Result<(Parsed, Options), UsageError> {
    let a: Vec<OsString> = args.iter().map(OsString::from).collect();
    parse_with_config(client, &[], &a)
}
fn ok(client: Client, args: &[&str]) -> Options {
    match run(client, args) {
        Ok((Parsed::Run, o)) => o,
        other => panic!("{args:?}: {other:?}"),
    }
}
fn msg(client: Client, args: &[&str]) -> String {
    run(client, args).expect_err("should fail").message
}

#[test]
fn defaults_are_mosquittos() {
    let o = ok(Client::Pub, &["-t", "a", "-m", "b"]);
    assert_eq!(o.host, "localhost");
    assert_eq!(o.port, None);
    assert_eq!(o.keepalive, 60);
    assert!(o.clean_session);
    assert_eq!(o.protocol, Protocol::V311);
    assert_eq!((o.qos, o.max_inflight, o.repeat), (0, 20, 1));
    assert_eq!(o.random_filter, 100.0);
    assert!(o.eol);
    assert_eq!(o.topics, vec!["a".to_string()]);
    assert_eq!(o.message, Some(MessageSource::Message(b"b".to_vec())));
    let d = defaults(Client::Sub);
    assert!(d.topics.is_empty() && d.message.is_none());
}

#[test]
fn verbatim_values_and_c_numbers() {
    let o = ok(
        Client::Pub,
        &["-m", "-n", "-t", "a", "-q", "abc", "-p", "0"],
    );
    assert_eq!(o.message, Some(MessageSource::Message(b"-n".to_vec())));
    assert_eq!(o.qos, 0);
    assert!(o.unix_socket);
    let o = ok(
        Client::Pub,
        &["-t", "a", "-m", "", "-q", " 2xyz", "-k", "5"],
    );
    assert_eq!(o.qos, 2);
    assert_eq!(o.message, Some(MessageSource::Message(vec![])));
    assert_eq!(atoi(b"99999999999"), 1215752191);
    assert_eq!(atoi(b"99999999999999999999"), -1);
    assert_eq!(atoi(b"  -12abc"), -12);
    assert_eq!(atof(b"1.5e3x"), 1500.0);
    assert_eq!(atof(b".5"), 0.5);
    assert_eq!(atof(b"abc"), 0.0);
    assert_eq!(atof(b"0x10"), 16.0);
    assert!(atof(b"-inf").is_infinite());
    assert_eq!(strtol(b"0x1f", true), (31, 4));
    assert_eq!(strtol(b"010", true), (8, 3));
    assert_eq!(strtol(b"0x", true), (0, 1));
}

#[test]
fn topics_accumulate_for_sub_last_wins_for_pub() {
    let o = ok(Client::Sub, &["-t", "a", "-t", "b/#", "-L", "mqtt://h:1/c"]);
    assert_eq!(o.topics, vec!["a", "b/#", "c"]);
    let o = ok(Client::Pub, &["-L", "mqtt://h:1/c", "-t", "a", "-m", "x"]);
    assert_eq!(o.topics, vec!["a"]);
    assert_eq!((o.host.as_str(), o.port), ("h", Some(1)));
}

#[test]
fn url_sets_host_port_credentials_tls() {
    let o = ok(
        Client::Pub,
        &["-u", "x", "-P", "y", "-L", "mqtts://u@h/t", "-m", "m"],
    );
    assert_eq!(o.username.as_deref(), Some("u"));
    assert_eq!(o.password.as_deref(), Some("y"));
    assert_eq!(o.port, Some(8883));
    assert!(o.url_tls && o.tls.use_os_certs);
    let o = ok(Client::Pub, &["-L", "mqtt://h:99999/t", "-m", "m"]);
    assert_eq!((o.port, o.port_invalid), (None, Some(99999)));
    let o = ok(Client::Pub, &["-L", "mqtt://h:1/t", "-p", "2", "-m", "m"]);
    assert_eq!(o.port, Some(2));
    let o = ok(
        Client::Pub,
        &["-p", "2", "--unix", "/s", "-m", "m", "-t", "t"],
    );
    assert!(o.unix_socket);
    assert_eq!(o.host, "/s");
}

#[test]
fn websockets_from_ws_flag_and_ws_urls() {
    assert!(!ok(Client::Sub, &["-t", "a"]).websockets);
    let o = ok(Client::Sub, &["--ws", "-t", "a"]);
    assert!(o.websockets && !o.url_tls && o.port.is_none());
    let o = ok(Client::Pub, &["--ws", "-t", "a", "-m", "m"]);
    assert!(o.websockets);
    let o = ok(Client::Pub, &["-L", "ws://u:p@h/a/b", "-m", "m"]);
    assert!(o.websockets && !o.url_tls && !o.tls.use_os_certs);
    assert_eq!(
        (o.host.as_str(), o.port, o.topics[0].as_str()),
        ("h", Some(1883), "a/b")
    );
    assert_eq!(o.password.as_deref(), Some("p"));
    let o = ok(Client::Sub, &["-L", "wss://h:443/#"]);
    assert!(o.websockets && o.url_tls && o.tls.use_os_certs);
    assert_eq!((o.port, o.topics[0].as_str()), (Some(443), "#"));
    // --ws takes no value: the next word is the next option.
    let o = ok(Client::Sub, &["--ws", "-v", "-t", "a"]);
    assert!(o.websockets && o.verbose);
}

#[test]
fn debug_output_never_shows_passwords() {
    let o = ok(
        Client::Pub,
        &[
            "-u",
            "x",
            "-P",
            "hunter2",
            "--proxy",
            "socks5h://pu:proxypw@p",
            "-m",
            "m",
            "-t",
            "t",
        ],
    );
    assert_eq!(o.password.as_deref(), Some("hunter2"));
    let shown = format!("{o:?}");
    assert!(shown.contains("Secret(..)"), "{shown}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("proxypw"),
        "{shown}"
    );
}

#[test]
fn property_switches_to_v5_at_that_point() {
    let o = ok(
        Client::Pub,
        &[
            "-V",
            "311",
            "-D",
            "publish",
            "content-type",
            "x",
            "-t",
            "a",
            "-n",
        ],
    );
    assert_eq!(o.protocol, Protocol::V5);
    let o = ok(
        Client::Pub,
        &[
            "-D",
            "publish",
            "content-type",
            "x",
            "-V",
            "311",
            "-t",
            "a",
            "-n",
        ],
    );
    assert_eq!(o.protocol, Protocol::V311);
    assert_eq!(
        o.properties,
        vec![PropertyArg {
            command: "publish".into(),
            id: 3,
            value: PropertyValue::String("x".into())
        }]
    );
    let o = ok(
        Client::Sub,
        &[
            "-t",
            "a",
            "-D",
            "SUBSCRIBE",
            "user-property",
            "k",
            "v",
            "-D",
            "connect",
            "receive-maximum",
            "7",
        ],
    );
    assert_eq!(
        o.properties[0].value,
        PropertyValue::Pair("k".into(), "v".into())
    );
    assert_eq!(o.properties[0].command, "subscribe");
    assert_eq!(o.properties[1].value, PropertyValue::Int(7));
    let o = ok(
        Client::Pub,
        &[
            "-t",
            "a",
            "-n",
            "-D",
            "publish",
            "correlation-data",
            "\u{1}",
        ],
    );
    assert_eq!(o.properties[0].value, PropertyValue::Binary(vec![1]));
}

#[test]
fn session_expiry() {
    let o = ok(Client::Sub, &["-t", "a", "-V", "5", "-c", "-i", "x"]);
    assert_eq!(o.session_expiry, Some(u32::MAX));
    let o = ok(Client::Sub, &["-t", "a", "-x", "0x10"]);
    assert_eq!(o.session_expiry, Some(16));
    let o = ok(Client::Sub, &["-t", "a", "-x", "-1", "-V", "5", "-i", "x"]);
    assert_eq!(o.session_expiry, Some(u32::MAX));
    assert!(msg(Client::Sub, &["-t", "a", "-x", "∞", "-V", "5"]).contains("infinite"));
}

#[test]
fn repeat_delay_seconds_and_durations() {
    let d = |v: &str| ok(Client::Pub, &["-t", "a", "-n", "--repeat-delay", v]).repeat_delay;
    assert_eq!(d("0.5"), Duration::from_millis(500));
    assert_eq!(d("2"), Duration::from_secs(2));
    assert_eq!(d("250ms"), Duration::from_millis(250));
    assert_eq!(d("1m"), Duration::from_secs(60));
    assert_eq!(d("abc"), Duration::ZERO);
    assert_eq!(d("1e1"), Duration::from_secs(10));
}

#[test]
fn sub_fields() {
    let o = ok(
        Client::Sub,
        &[
            "-t",
            "a",
            "-C",
            "3",
            "-W",
            "9",
            "-T",
            "x/+",
            "-U",
            "u",
            "-v",
            "-N",
            "-R",
            "-E",
            "--random-filter",
            "50",
            "--pretty",
            "--remove-retained",
            "--retain-as-published",
        ],
    );
    assert_eq!((o.count, o.timeout), (Some(3), Some(9)));
    assert_eq!(o.filter_out, vec!["x/+"]);
    assert_eq!(o.unsubscribe, vec!["u"]);
    assert!(o.verbose && !o.eol && o.no_retained && o.exit_after_sub && o.pretty);
    assert!(o.remove_retained && o.retain_as_published);
    // mosquitto's scale: the chance is applied per 10000 after multiplying by 10.
    assert_eq!(o.random_filter, 5.0);
}

#[test]
fn extensions() {
    let o = ok(
        Client::Pub,
        &[
            "-t",
            "a",
            "-n",
            "--tls-max-version",
            "TLSv1.2",
            "--key-password-file",
            "f",
            "--pkcs12",
            "p.p12",
            "--cert-expiry-warn",
            "30days",
        ],
    );
    assert_eq!(o.tls.tls_max_version.as_deref(), Some("tlsv1.2"));
    assert_eq!(o.tls.key_password_file.as_deref(), Some("f"));
    assert_eq!(o.tls.pkcs12.as_deref(), Some("p.p12"));
    assert_eq!(
        o.tls.cert_expiry_warn,
        Some(Duration::from_secs(30 * 86400))
    );
    let o = ok(Client::Sub, &["-t", "a", "--cert-expiry-warn", "0"]);
    assert_eq!(o.tls.cert_expiry_warn, Some(Duration::ZERO));
    assert_eq!(
        msg(Client::Sub, &["-t", "a", "--pkcs12"]),
        "Error: --pkcs12 argument given but no file specified.\n\n"
    );
    assert!(msg(Client::Sub, &["-t", "a", "--cert-expiry-warn", "soon"]).starts_with("Error: "));
    assert!(msg(Client::Sub, &["-t", "a", "--tls-max-version", "tlsv1.0"]).starts_with("Error: "));
}

#[test]
fn help_and_version_stop_parsing() {
    assert_eq!(
        run(Client::Pub, &["--help", "-q", "9"]).unwrap().0,
        Parsed::Help
    );
    assert_eq!(
        run(Client::Sub, &["-c", "--version"]).unwrap().0,
        Parsed::Version
    );
    assert!(run(Client::Pub, &["-q", "9", "--help"]).is_err());
}

#[test]
fn render_adds_help_line_or_usage() {
    let e = run(Client::Pub, &["-q", "9"]).unwrap_err();
    let (err, out, code) = render(Client::Pub, "mqtts-pub", &e);
    assert_eq!(
        String::from_utf8(err).unwrap(),
        "Error: Invalid QoS given: 9\n\nUse 'mqtts-pub --help' to see usage.\n"
    );
    assert!(out.is_empty());
    assert_eq!(code, 1);
    let e = run(Client::Pub, &["-t", "a"]).unwrap_err();
    let (err, out, _) = render(Client::Pub, "mqtts-pub", &e);
    assert_eq!(err, b"Error: Both topic and message must be supplied.\n");
    assert_eq!(
        String::from_utf8(out).unwrap(),
        usage(Client::Pub, "mqtts-pub")
    );
}

#[test]
fn config_file_lines_go_first() {
    let cfg = crate::config_file::split(b"-q 1\n-t c\n-m hello world  \n");
    let a: Vec<OsString> = vec!["-t".into(), "a".into()];
    let (_, o) = parse_with_config(Client::Pub, &cfg, &a).unwrap();
    assert_eq!(o.qos, 1);
    assert_eq!(o.topics, vec!["a"]);
    assert_eq!(
        o.message,
        Some(MessageSource::Message(b"hello world  ".to_vec()))
    );
    let cfg = crate::config_file::split(b"-t c\n");
    let (_, o) = parse_with_config(Client::Sub, &cfg, &a).unwrap();
    assert_eq!(o.topics, vec!["c", "a"]);
}

#[test]
fn non_utf8_arguments() {
    use std::os::unix::ffi::OsStringExt;
    let a = |v: &[&[u8]]| -> Vec<OsString> {
        v.iter().map(|b| OsString::from_vec(b.to_vec())).collect()
    };
    let (_, o) =
        parse_with_config(Client::Pub, &[], &a(&[b"-t", b"a", b"-m", b"\xff\x00"])).unwrap();
    assert_eq!(
        o.message,
        Some(MessageSource::Message(b"\xff\x00".to_vec()))
    );
    let e = parse_with_config(Client::Sub, &[], &a(&[b"-t", b"\xff"])).unwrap_err();
    assert_eq!(e.message, "Error: Malformed UTF-8 in -t argument.\n\n");
    let (_, o) = parse_with_config(Client::Pub, &[], &a(&[b"-f", b"\xfe", b"-t", b"a"])).unwrap();
    assert!(matches!(o.message, Some(MessageSource::File(_))));
}

#[test]
fn never_panics() {
    // Deterministic pseudo-random argument vectors built from option names and junk.
    let words: Vec<Vec<u8>> = OPTIONS
        .iter()
        .flat_map(|s| s.short.into_iter().chain(s.long))
        .map(|w| w.as_bytes().to_vec())
        .chain(
            [
                &b"publish"[..],
                b"connect",
                b"user-property",
                b"topic-alias",
                b"-1",
                b"0",
                b"5",
                b"\xff",
                b"a/#",
                b"+",
                b"mqtt://h:1/t",
                b"socks5h://u:p@h:1",
                b"\xe2\x88\x9e",
                b"",
                b"0x",
                b"99999999999999999999",
                b"%25",
                b"1.5",
                b"nan",
            ]
            .iter()
            .map(|w| w.to_vec()),
        )
        .collect();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    use std::os::unix::ffi::OsStringExt;
    for _ in 0..20000 {
        let n = (next() % 7) as usize;
        let args: Vec<OsString> = (0..n)
            .map(|_| OsString::from_vec(words[(next() as usize) % words.len()].clone()))
            .collect();
        for c in [Client::Pub, Client::Sub] {
            if let Ok((Parsed::Run, o)) = parse_with_config(c, &[], &args) {
                let _ = option_set_checks(&o);
            }
        }
    }
}

#[test]
fn table_and_usage() {
    for s in OPTIONS {
        assert!(s.short.is_some() || s.long.is_some());
        assert_eq!(
            s.value.is_some(),
            !s.missing.is_empty() || s.key == Key::Property,
            "{s:?}"
        );
        let name = s.short.or(s.long).unwrap();
        for c in [Client::Pub, Client::Sub, Client::Rr] {
            let listed = usage(c, c.name()).lines().any(|l| {
                l.strip_prefix(' ')
                    .and_then(|l| l.strip_prefix(name))
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with([',', ' ']))
            });
            assert_eq!(listed, s.clients.includes(c), "{name} {c:?}");
        }
    }
    assert!(lookup(b"-o").is_none() && lookup(b"-S").is_none());
    assert!(lookup(b"-e").is_some_and(|s| s.clients == Clients::Rr));
    assert_eq!(
        help_line("mqtts-sub"),
        "\nUse 'mqtts-sub --help' to see usage.\n"
    );
}

#[test]
fn messages_name_the_program_as_invoked() {
    let e = run(Client::Sub, &["-q", "9", "-t", "a"]).unwrap_err();
    let (err, _, _) = render(Client::Sub, "mosquitto_sub", &e);
    assert_eq!(
        String::from_utf8(err).unwrap(),
        "Error: Invalid QoS given: 9\n\nUse 'mosquitto_sub --help' to see usage.\n"
    );
    let e = run(Client::Pub, &["-t", "a"]).unwrap_err();
    let (_, out, _) = render(Client::Pub, "mosquitto_pub", &e);
    let out = String::from_utf8(out).unwrap();
    assert_eq!(out, usage(Client::Pub, "mosquitto_pub"));
    let v = env!("CARGO_PKG_VERSION");
    assert!(out.starts_with(&format!("mosquitto_pub (mqtts-pub {v}): publish ")));
    assert!(out.contains("\nUsage: mosquitto_pub {-t topic"), "{out}");
    assert!(!out.contains("Usage: mqtts-pub"), "{out}");
    // What it really is, and where its files and manual are, keep the real name.
    assert!(out.contains("$XDG_CONFIG_HOME/mqtts-pub") && out.contains("See mqtts-pub(1)"));
    let own = usage(Client::Sub, "mqtts-sub");
    assert!(
        own.starts_with(&format!("mqtts-sub {v}: subscribe ")),
        "{own}"
    );
    assert!(own.contains("\nUsage: mqtts-sub {-t filter"), "{own}");
    assert!(version_line(Client::Pub).starts_with("mqtts-pub version "));
}

#[test]
fn option_set_checks_follow_mosquitto() {
    let c = |args: &[&str]| option_set_checks(&ok(Client::Pub, args)).map_err(|e| e.message);
    assert!(c(&["-t", "a", "-n"]).is_ok());
    assert!(
        c(&["-t", "a", "-n", "-P", "p"])
            .unwrap_err()
            .contains("username")
    );
    assert!(c(&["-t", "a", "-n", "-P", "p", "-V", "5"]).is_ok());
    assert!(
        c(&[
            "-t",
            "a",
            "-n",
            "--key",
            "k",
            "--cert",
            "c",
            "--keyform",
            "der"
        ])
        .unwrap_err()
        .contains("key form")
    );
    assert!(
        c(&["-t", "a", "-n", "--psk", "zz", "--psk-identity", "i"])
            .unwrap_err()
            .contains("PSK")
    );
    assert!(c(&["-t", "a", "-n", "--tls-version", "TLSv1.2"]).is_ok());
    assert!(
        c(&["-t", "a", "-n", "--tls-version", "tls1"])
            .unwrap_err()
            .contains("valid")
    );
    assert_eq!(
        c(&["--quiet", "-t", "a", "-n", "--tls-version", "x"]),
        Err(String::new())
    );
}

/// mosquitto_rr's option set (client_shared.c's per-client guards) and defaults.
#[test]
fn rr_options_follow_mosquitto_rr() {
    let base = ["-t", "req", "-e", "resp", "-m", "x"];
    let with = |extra: &[&str]| {
        let mut a: Vec<&str> = base.to_vec();
        a.extend_from_slice(extra);
        run(Client::Rr, &a)
    };
    for unknown in [
        "-l",
        "-r",
        "-C",
        "-E",
        "-T",
        "-U",
        "--repeat",
        "--repeat-delay",
    ] {
        let e = with(&[unknown, "1"]).unwrap_err();
        assert_eq!(e.message, format!("Error: Unknown option '{unknown}'.\n"));
    }
    for unknown in ["--retained-only", "--remove-retained", "--random-filter"] {
        assert!(with(&[unknown, "50"]).is_err(), "{unknown}");
    }
    for accepted in [
        &["-F", "%p"][..],
        &["-N"],
        &["-v"],
        &["--pretty"],
        &["-R"],
        &["--retain-as-published"],
        &["-W", "3"],
    ] {
        assert!(with(accepted).is_ok(), "{accepted:?}");
    }
    let o = ok(Client::Rr, &base);
    assert_eq!(o.protocol, Protocol::V5);
    assert_eq!(o.count, Some(1));
    assert_eq!(o.topics, vec!["req".to_string()]);
    assert_eq!(o.response_topic.as_deref(), Some("resp"));
    assert_eq!(
        ok(Client::Rr, &[&base[..], &["-V", "311"]].concat()).protocol,
        Protocol::V311
    );
    let missing = "Error: All of topic, message, and response topic must be supplied.\n";
    for a in [
        &["-t", "a", "-m", "x"][..],
        &["-e", "a", "-m", "x"],
        &["-t", "a", "-e", "b"],
    ] {
        let e = run(Client::Rr, a).unwrap_err();
        assert_eq!((e.message.as_str(), e.help_line), (missing, true));
    }
    let e = with(&["-D", "publish", "response-topic", "x"]).unwrap_err();
    assert_eq!(
        (e.message.as_str(), e.help_line),
        (
            "Error in PUBLISH properties: Duplicate response topic.\n",
            false
        )
    );
    let e = run(Client::Rr, &["-t", "a", "-e", "r/#", "-m", "x"]).unwrap_err();
    assert_eq!(
        e.message,
        "Error: Invalid response topic 'r/#', does it contain '+' or '#'?\n"
    );
    assert!(run(Client::Pub, &["-e", "x"]).is_err() && run(Client::Sub, &["-e", "x"]).is_err());
    assert_eq!(
        help_line(Client::Rr.name()),
        "\nUse 'mqtts-rr --help' to see usage.\n"
    );
}
