//! Hostile input never panics: random (and mutated valid) input for every parser that sees
//! user-controlled bytes. Each bad input must end as an `Err` that carries a message.
//!
//! Bounded for CI: a few hundred to a thousand cases per property, all in well under 20 s
//! on a debug build. `PROPTEST_CASES=N` overrides the count for a longer local run.
//!
//! The same entry points are fuzzed with cargo-fuzz in `fuzz/` (see `fuzz/run`).

mod common;

use mqtts::exit::Failure;
use mqtts::format::{self, Output, Property, Received, Timestamp, Zone};
use mqtts::options::{self, Client, OPTIONS, PROPERTIES, Parsed};
use mqtts::plan::{self, Plan};
use mqtts::{config_file, tls, url};
use proptest::prelude::*;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

fn cases(n: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n);
    ProptestConfig {
        cases: n,
        // Shrinking re-runs cases; keep a failing run short too.
        max_shrink_iters: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn check_failure(f: &Failure, what: &str) {
    assert!(
        f.lines.iter().any(|l| !l.trim().is_empty()),
        "{what}: failure without a message: {f:?}"
    );
    assert!(f.code != 0, "{what}: failure with exit code 0: {f:?}");
}

/// Every command that can go wrong after parsing and before the network: the option
/// checks, the plan (TLS files, client id, URI) and paho's connect options (-D).
fn plan_and_connect_options(opts: &options::Options) {
    if options::option_set_checks(opts).is_err() {
        return;
    }
    match Plan::new(opts) {
        Ok(p) => {
            if let Err(f) = p.connect_options(opts) {
                check_failure(&f, "connect_options");
            }
            for cmd in [
                "connect",
                "publish",
                "subscribe",
                "unsubscribe",
                "disconnect",
                "will",
            ] {
                if let Err(f) = plan::properties(opts, cmd) {
                    check_failure(&f, "properties");
                }
            }
        }
        Err(f) => check_failure(&f, "Plan::new"),
    }
}

fn parse_checked(client: Client, config: &[config_file::Line], argv: &[Vec<u8>]) {
    let args: Vec<OsString> = argv.iter().cloned().map(OsString::from_vec).collect();
    match options::parse_with_config(client, config, &args) {
        Ok((Parsed::Run, opts)) => plan_and_connect_options(&opts),
        Ok(_) => {}
        Err(e) => {
            // With --quiet mosquitto drops some messages but still prints the help line.
            let (stderr, _, code) = options::render(client, client.name(), &e);
            assert!(
                !stderr.is_empty() || e.usage_on_stdout,
                "usage error without a message for {argv:?}: {e:?}"
            );
            assert_eq!(code, 1);
        }
    }
}

/// An option spelling of either program (valid or not for `client`).
fn option_word() -> impl Strategy<Value = Vec<u8>> {
    let words: Vec<Vec<u8>> = OPTIONS
        .iter()
        .flat_map(|s| s.short.into_iter().chain(s.long))
        .map(|w| w.as_bytes().to_vec())
        .collect();
    prop::sample::select(words)
}

/// A value: short random bytes, or something that looks like a number/topic/URL.
fn value_word() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 0..12),
        2 => "[-0-9]{0,12}".prop_map(String::into_bytes),
        2 => "[a-z/+#$]{0,10}".prop_map(String::into_bytes),
        1 => "mqtts?://[a-z:@]{0,8}(/[a-z#+]{0,5})?".prop_map(String::into_bytes),
        1 => prop::sample::select(vec![
            b"tlsv1.2".to_vec(), b"tlsv1.4".to_vec(), b"5".to_vec(), b"mqttv311".to_vec(),
            b"0".to_vec(), b"65536".to_vec(), b"-1".to_vec(), b"4294967296".to_vec(),
            b"%".to_vec(), b"\xff\xfe".to_vec(), b"".to_vec(), b"a\0b".to_vec(),
            b"/nonexistent/file".to_vec(), b"1d".to_vec(), b"99999999999999999999".to_vec(),
        ]),
    ]
}

/// A `-D` argument triple (command, property name, value).
fn property_args() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let names: Vec<Vec<u8>> = PROPERTIES
        .iter()
        .map(|(n, _, _)| n.as_bytes().to_vec())
        .chain([b"no-such-property".to_vec(), b"".to_vec()])
        .collect();
    let cmds: Vec<Vec<u8>> = [
        "connect",
        "publish",
        "subscribe",
        "unsubscribe",
        "disconnect",
        "will",
        "auth",
        "puback",
        "CONNECT",
        "x",
    ]
    .iter()
    .map(|c| c.as_bytes().to_vec())
    .collect();
    (
        prop::sample::select(cmds),
        prop::sample::select(names),
        value_word(),
        value_word(),
        any::<bool>(),
    )
        .prop_map(|(c, n, v, v2, pair)| {
            let mut a = vec![b"-D".to_vec(), c, n, v];
            if pair {
                a.push(v2);
            }
            a
        })
}

fn argv() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let token = prop_oneof![
        4 => option_word().prop_map(|w| vec![w]),
        4 => (option_word(), value_word()).prop_map(|(o, v)| vec![o, v]),
        2 => property_args(),
        1 => prop::collection::vec(any::<u8>(), 0..16).prop_map(|b| vec![b]),
    ];
    prop::collection::vec(token, 0..10).prop_map(|v| v.into_iter().flatten().collect())
}

proptest! {
    #![proptest_config(cases(1500))]

    /// Random argv (non-UTF-8 included) for both programs, through the plan.
    #[test]
    fn options_never_panic(argv in argv(), sub in any::<bool>()) {
        let client = if sub { Client::Sub } else { Client::Pub };
        parse_checked(client, &[], &argv);
    }

    /// `-D` arguments, always with v5, with a topic and a message so parsing gets to
    /// the properties and the plan builds them.
    #[test]
    fn property_args_never_panic(props in prop::collection::vec(property_args(), 1..4), sub in any::<bool>()) {
        let client = if sub { Client::Sub } else { Client::Pub };
        let mut a: Vec<Vec<u8>> = vec![b"-V".to_vec(), b"5".to_vec(), b"-t".to_vec(), b"t".to_vec()];
        if !sub {
            a.extend([b"-m".to_vec(), b"m".to_vec()]);
        }
        a.extend(props.into_iter().flatten());
        parse_checked(client, &[], &a);
    }

    /// `-L` URLs: the splitter, and the same bytes through the option parser.
    #[test]
    fn urls_never_panic(
        body in prop::collection::vec(any::<u8>(), 0..40),
        scheme in prop::sample::select(vec!["mqtt://", "mqtts://", "MQTTS://", "ws://", ""]),
        sub in any::<bool>(),
    ) {
        let mut u = scheme.as_bytes().to_vec();
        u.extend(body);
        match url::parse(&u) {
            Ok(parsed) => prop_assert!(parsed.port == parsed.port),
            Err(e) => prop_assert!(!e.message().trim().is_empty()),
        }
        let client = if sub { Client::Sub } else { Client::Pub };
        let mut a = vec![b"-L".to_vec(), u];
        if !sub {
            a.extend([b"-m".to_vec(), b"x".to_vec()]);
        }
        parse_checked(client, &[], &a);
    }

    /// Config files: random bytes and random option lines, split and parsed.
    #[test]
    fn config_files_never_panic(
        raw in prop::collection::vec(any::<u8>(), 0..300),
        lines in prop::collection::vec((option_word(), value_word()), 0..6),
        sub in any::<bool>(),
    ) {
        let client = if sub { Client::Sub } else { Client::Pub };
        let split = config_file::split(&raw);
        parse_checked(client, &split, &[]);
        let mut text = Vec::new();
        for (o, v) in lines {
            text.extend(o);
            text.push(b' ');
            text.extend(v);
            text.push(b'\n');
        }
        let split = config_file::split(&text);
        parse_checked(client, &split, &[b"-t".to_vec(), b"t".to_vec()]);
    }
}

fn property() -> impl Strategy<Value = Property> {
    let s = || prop::collection::vec(any::<char>(), 0..6).prop_map(|c| c.into_iter().collect());
    prop_oneof![
        any::<u8>().prop_map(Property::PayloadFormatIndicator),
        any::<u32>().prop_map(Property::MessageExpiryInterval),
        s().prop_map(Property::ContentType),
        s().prop_map(Property::ResponseTopic),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(Property::CorrelationData),
        any::<u32>().prop_map(Property::SubscriptionIdentifier),
        any::<u16>().prop_map(Property::TopicAlias),
        (s(), s()).prop_map(|(k, v)| Property::UserProperty(k, v)),
    ]
}

/// A `-F` format: random bytes, or random sequences of format pieces (with widths and
/// precisions, including huge ones).
fn format_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 0..4),
        4 => ("[-0]{0,2}[0-9]{0,3}(\\.[0-9]{0,3})?", prop::sample::select(b"%ACDEFIlmPpqRSrtjJUxXz".to_vec()))
            .prop_map(|(flags, c)| { let mut v = b"%".to_vec(); v.extend(flags.into_bytes()); v.push(c); v }),
        2 => any::<u8>().prop_map(|c| vec![b'@', c]),
        2 => any::<u8>().prop_map(|c| vec![b'\\', c]),
        1 => ("[-0]{0,2}[1-9][0-9]{4}", prop::sample::select(b"lmqCDEFS".to_vec()))
            .prop_map(|(w, c)| { let mut v = b"%".to_vec(); v.extend(w.into_bytes()); v.push(c); v }),
        1 => Just(b"%99999999999999999999999l".to_vec()),
        1 => Just(b"%.99999999999999999999p".to_vec()),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(cases(1500))]

    /// `-F` formats: the check, and rendering any format (checked or not) with random
    /// messages and properties, in every mode.
    #[test]
    fn formats_never_panic(
        fmt in format_bytes(),
        topic in any::<String>(),
        payload in prop::collection::vec(any::<u8>(), 0..64),
        qos in 0u8..3,
        retain in any::<bool>(),
        mid in any::<u16>(),
        props in prop::collection::vec(property(), 0..4),
        secs in -1_000_000_000_000i64..1_000_000_000_000i64,
        nanos in 0u32..1_000_000_000,
        flags in any::<(bool, bool, bool, bool)>(),
        offset in -100_000i32..100_000,
    ) {
        let (verbose, eol, pretty, use_format) = flags;
        if let Err(e) = format::check_format_bytes(&fmt) {
            prop_assert!(e.starts_with(b"Error: "));
        }
        let f = use_format.then_some(fmt.as_slice());
        let out = Output::from_bytes(verbose, eol, f, pretty).with_zone(Zone::Fixed(offset));
        let msg = Received { topic: &topic, payload: &payload, qos, retain, mid, properties: &props };
        let mut buf = Vec::new();
        let _ = out.write_message_at(&msg, Timestamp { secs, nanos }, &mut buf);
        let s = String::from_utf8_lossy(&fmt).into_owned();
        let _ = format::check_format(&s);
    }
}

// ───────────────────────── TLS file loaders ─────────────────────────

/// Mutate `data`: flip, insert, delete and truncate at random positions.
fn mutate(data: &[u8], ops: &[(u8, usize, u8)]) -> Vec<u8> {
    let mut v = data.to_vec();
    for &(op, pos, byte) in ops {
        let i = if v.is_empty() { 0 } else { pos % v.len() };
        match op % 5 {
            0 if !v.is_empty() => v[i] ^= byte | 1,
            1 => v.insert(i, byte),
            2 if !v.is_empty() => {
                v.remove(i);
            }
            3 => v.truncate(i),
            _ => {
                // Duplicate a chunk (PEM blocks repeated, bundles).
                let end = (i + byte as usize).min(v.len());
                let chunk = v[i..end].to_vec();
                v.splice(i..i, chunk);
            }
        }
    }
    v
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    Cafile,
    Cert,
    Key,
    Pkcs12,
    Password,
}

/// The valid files to start from, per slot.
fn seeds(slot: Slot) -> Vec<Vec<u8>> {
    let p = common::pki();
    let read = |path: &std::path::Path| std::fs::read(path).expect("pki file");
    match slot {
        Slot::Cafile => vec![read(&p.ca), read(&p.server_cert)],
        Slot::Cert => vec![
            read(&p.client_rsa_cert),
            read(&p.client_ec_cert),
            read(&p.client_encrypted_cert),
        ],
        Slot::Key => vec![
            read(&p.client_rsa_key),
            read(&p.client_ec_key),
            read(&p.client_encrypted_key),
            read(&p.client_encrypted_key_legacy),
        ],
        Slot::Pkcs12 => vec![read(&p.client_p12)],
        Slot::Password => vec![
            common::KEY_PASSWORD.as_bytes().to_vec(),
            common::P12_PASSWORD.as_bytes().to_vec(),
        ],
    }
}

fn tls_file(slot: Slot) -> impl Strategy<Value = Vec<u8>> {
    let seeds = seeds(slot);
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..200),
        4 => (prop::sample::select(seeds), prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 0..4))
            .prop_map(|(s, ops)| mutate(&s, &ops)),
    ]
}

proptest! {
    #![proptest_config(cases(300))]

    /// Random and mutated files as --cafile/--cert/--key/--pkcs12/--key-password-file,
    /// through `tls::plan`: a plan or a failure with a message, never a panic or a
    /// password prompt.
    #[test]
    fn tls_loaders_never_panic(
        ca in prop::option::of(tls_file(Slot::Cafile)),
        cert in prop::option::of(tls_file(Slot::Cert)),
        key in prop::option::of(tls_file(Slot::Key)),
        p12 in prop::option::of(tls_file(Slot::Pkcs12)),
        pw in tls_file(Slot::Password),
    ) {
        let dir = common::TempDir::new("proptest-tls");
        let mut opts = options::defaults(Client::Pub);
        opts.port = Some(8883);
        let put = |name: &str, data: &[u8]| {
            let path = dir.join(name);
            std::fs::write(&path, data).expect("write");
            Some(path.display().to_string())
        };
        opts.tls.cafile = ca.as_deref().and_then(|d| put("ca.pem", d));
        opts.tls.cert = cert.as_deref().and_then(|d| put("cert.pem", d));
        opts.tls.key = key.as_deref().and_then(|d| put("key.pem", d));
        opts.tls.pkcs12 = p12.as_deref().and_then(|d| put("c.p12", d));
        // Always a password file, so an encrypted key never prompts on a terminal.
        opts.tls.key_password_file = put("pw", &pw);
        match tls::plan(&opts, 8883) {
            Ok(Some(p)) => {
                // Building paho's options from an accepted plan must work too.
                if let Err(f) = p.ssl_options() {
                    check_failure(&f, "ssl_options");
                }
            }
            Ok(None) => prop_assert!(false, "port 8883 must mean TLS"),
            Err(f) => check_failure(&f, "tls::plan"),
        }
    }
}

/// Found by `fuzz/run format`: widths above 65535 for the integer conversions panicked in
/// Rust's formatter (`{:w$}`); they are padded by hand now, like printf.
#[test]
fn huge_integer_widths_do_not_panic() {
    let msg = Received {
        topic: "t",
        payload: b"abc",
        qos: 1,
        retain: false,
        mid: 7,
        properties: &[Property::MessageExpiryInterval(u32::MAX)],
    };
    let render = |f: &str| {
        let out = Output::new(false, false, Some(f), false).with_zone(Zone::Fixed(0));
        let mut buf = Vec::new();
        out.write_message_at(&msg, Timestamp { secs: 0, nanos: 0 }, &mut buf);
        buf
    };
    assert_eq!(render("%-5l|%05l|%5l|%m"), b"3    |00003|    3|7");
    // mosquitto prints the expiry interval through a signed int: -1 here.
    assert_eq!(render("%05E|%-4E|%4E"), b"-0001|-1  |  -1");
    for f in ["%070000l", "%-70000m", "%1048576E"] {
        let out = render(f);
        assert!(out.len() >= 70000, "{f}: {} bytes", out.len());
    }
}

/// Found by `fuzz/run tls_files`: a key password with a NUL byte panicked in the openssl
/// crate (`CString::new(..).unwrap()` in `private_key_from_pem_passphrase` and
/// `Pkcs12::parse2`); it is refused with a message now, for --key and --pkcs12.
#[test]
fn nul_in_key_password_is_an_error() {
    let dir = common::TempDir::new("nul-pw");
    let pw = dir.join("pw");
    std::fs::write(&pw, b"mqtts\0key-pass\n").unwrap();
    let p = common::pki();
    for pkcs12 in [false, true] {
        let mut opts = options::defaults(Client::Pub);
        opts.tls.cafile = Some(p.ca.display().to_string());
        if pkcs12 {
            opts.tls.pkcs12 = Some(p.client_p12.display().to_string());
        } else {
            opts.tls.cert = Some(p.client_encrypted_cert.display().to_string());
            opts.tls.key = Some(p.client_encrypted_key.display().to_string());
        }
        opts.tls.key_password_file = Some(pw.display().to_string());
        let f = tls::plan(&opts, 8883).expect_err("a NUL byte cannot be a password");
        assert!(f.lines[0].contains("contains a NUL byte"), "{f:?}");
    }
}
