//! Expected bytes marked "captured" come from real `mosquitto_sub` 2.0.11 runs against a
//! private broker (`-F …`, `mosquitto_pub` sending the payload), with the 2.0.11 → 2.0.20
//! fix applied (JSON `tst` without the stray `Z`) and the clock fields replaced by the
//! injected clock. Times use a fixed UTC zone so they are deterministic.

use super::*;

/// 2026-11-23T03:48:48.185135833Z (the spec's `%U` example).
const TS: Timestamp = Timestamp {
    secs: 1_795_405_728,
    nanos: 185_135_833,
};
const TST: &str = "2026-11-23T03:48:48.185135+0000";

fn m<'a>(topic: &'a str, payload: &'a [u8]) -> Received<'a> {
    Received {
        topic,
        payload,
        qos: 0,
        retain: false,
        mid: 0,
        properties: &[],
    }
}

fn out_with(o: &Output, msg: &Received) -> (Vec<u8>, Option<String>) {
    let mut v = Vec::new();
    let w = o.write_message_at(msg, TS, &mut v);
    (v, w)
}

fn fmt_opts(f: &str, msg: &Received, eol: bool, pretty: bool) -> Vec<u8> {
    let o = Output::new(false, eol, Some(f), pretty).with_zone(Zone::Fixed(0));
    let (v, w) = out_with(&o, msg);
    assert_eq!(w, None, "unexpected warning for {f:?}");
    v
}

fn fmt(f: &str, msg: &Received) -> Vec<u8> {
    fmt_opts(f, msg, true, false)
}

#[track_caller]
fn eq(got: Vec<u8>, want: &[u8]) {
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(want),
        "raw: {got:?}"
    );
    assert_eq!(got, want);
}

// ---------------------------------------------------------------- check_format

#[test]
fn check_format_errors_captured() {
    let inc = "Error: Incomplete format specifier.\n";
    let cases: &[(&str, &str)] = &[
        ("%", inc),
        ("%-", inc),
        ("%0", inc),
        ("%5", inc),
        ("%5.", inc),
        ("%5.3", inc),
        ("%10", inc),
        ("@", inc),
        ("ok@", inc),
        ("%0-5l", "Error: Invalid format specifier '-'.\n"),
        ("%--l", "Error: Invalid format specifier '-'.\n"),
        ("%z", "Error: Invalid format specifier 'z'.\n"),
        ("%d", "Error: Invalid format specifier 'd'.\n"),
        ("%c", "Error: Invalid format specifier 'c'.\n"),
        ("%e", "Error: Invalid format specifier 'e'.\n"),
        ("%f", "Error: Invalid format specifier 'f'.\n"),
        ("%.5.3t", "Error: Invalid format specifier '.'.\n"),
        ("\\", "Error: Incomplete escape specifier.\n"),
        ("abc\\", "Error: Incomplete escape specifier.\n"),
        ("\\q", "Error: Invalid escape specifier 'q'.\n"),
        ("\\x", "Error: Invalid escape specifier 'x'.\n"),
    ];
    for (f, want) in cases {
        assert_eq!(check_format(f), Err(want.to_string()), "format {f:?}");
    }
}

#[test]
fn check_format_accepts() {
    for f in [
        "",
        "plain",
        "%-05l",
        "%00l",
        "%1.l",
        "%-.t",
        "%%",
        "%A%C%D%E%F%I%l%m%P%p%q%R%S%r%t%j%J%U%x%X",
        "%-10.3t",
        "%010.5p",
        "@@",
        "@Y-@m @N @Q @é",
        "\\\\\\0\\a\\e\\n\\r\\t\\v",
        "%5%",
    ] {
        assert_eq!(check_format(f), Ok(()), "format {f:?}");
    }
}

#[test]
fn check_format_non_ascii_byte() {
    // Captured: mosquitto echoes the first byte of the UTF-8 sequence.
    assert_eq!(
        check_format_bytes("ab%é".as_bytes()),
        Err(b"Error: Invalid format specifier '\xc3'.\n".to_vec())
    );
    assert_eq!(
        check_format("ab%é"),
        Err("Error: Invalid format specifier '\u{fffd}'.\n".to_string())
    );
    // A NUL ends the string, as in C.
    assert_eq!(check_format_bytes(b"ok\0%z"), Ok(()));
}

// ---------------------------------------------------------------- default / -v / -N

#[test]
fn default_and_verbose_modes_captured() {
    let cases: &[(bool, bool, &[u8], &[u8])] = &[
        (false, true, b"a b", b"a b\n"),
        (false, false, b"a b", b"a b"),
        (false, true, b"", b""),
        (false, false, b"", b""),
        (true, true, b"a b", b"cap/t a b\n"),
        (true, false, b"a b", b"cap/t a b"),
        (true, true, b"", b"cap/t (null)\n"),
        (true, false, b"", b""),
        (false, true, b"\x00\xff\n", b"\x00\xff\n\n"),
    ];
    for &(verbose, eol, payload, want) in cases {
        let o = Output::new(verbose, eol, None, false);
        assert!(!o.needs_time());
        let (got, w) = out_with(&o, &m("cap/t", payload));
        assert_eq!(w, None);
        assert_eq!(got, want, "verbose={verbose} eol={eol} payload={payload:?}");
    }
}

#[test]
fn format_overrides_verbose_and_n_applies() {
    let o = Output::new(true, false, Some("%t"), false);
    let (got, _) = out_with(&o, &m("a/b", b"x"));
    eq(got, b"a/b");
    // -F with an empty payload still prints the line.
    eq(fmt("[%p]", &m("a/b", b"")), b"[]\n");
}

#[test]
fn appends_to_existing_buffer() {
    let o = Output::new(false, true, None, false);
    let mut v = b"prev".to_vec();
    o.write_message_at(&m("t", b"x"), TS, &mut v);
    assert_eq!(v, b"prevx\n");
}

// ---------------------------------------------------------------- % conversions

#[test]
fn spec_example_line() {
    let mut msg = m("fmt/t", b"message");
    msg.qos = 1;
    msg.mid = 1;
    eq(
        fmt("%-05l|%5.2p|%.3t|%30I|%5q|%5r|@Q|%5m|%5U", &msg),
        b"7    |messa|fmt|      2026-11-23T03:48:48+0000|1|0|%Q|    1|1795405728.185135833\n",
    );
}

#[test]
fn payload_padding_captured() {
    eq(
        fmt(
            "%-p|%-x|%-5p|%05p|%-05p|%3p|%-12p|",
            &m("cap/t", b"message"),
        ),
        b"message       |6d657373616765       |messa|messa|messa|mes|message     |\n",
    );
}

#[test]
fn escapes_and_fields_captured() {
    // Captured with QoS 1 (mid 1); only %20x %-20X %020x differ: see deviation test.
    let mut msg = m("cap/t", b"message");
    msg.qos = 1;
    msg.mid = 1;
    let f = "\\\\|\\0|\\a|\\e|\\n|\\r|\\t|\\v|@@|@Q|%%|%q|%r|%m|%5m|%-5m|%05m|%l|%t|%.2t|%8t|\
             %-8t|%8.2t|%-8.2t|%x|%X|%-x|%20x|%-20X|%020x|%.3p|%0p|%-0p|%p";
    let want: &[&[u8]] = &[
        b"\\|\x00|\x07|\x1b|\n|\r|\t|\x0b|@|%Q|%|1|0|1|    1|1    |00001|7|cap/t|ca|   cap/t|",
        b"cap/t   |      ca|ca      |6d657373616765|6D657373616765|6d657373616765       |",
        b"      6d657373616765|6D657373616765      |0000006d657373616765|message|message|",
        b"message       |message\n",
    ];
    eq(fmt(f, &msg), &want.concat());
}

#[test]
fn hex_width_deviation() {
    // 2.0 printed "            6d6573" (3 bytes); mqtts prints the whole payload.
    eq(fmt("%18x", &m("t", b"message")), b"    6d657373616765\n");
    eq(fmt("%-18X|", &m("t", b"message")), b"6D657373616765    |\n");
    // Width smaller than the hex text: no truncation, no padding.
    eq(
        fmt("%4x|%-4x|", &m("t", b"message")),
        b"6d657373616765|6d657373616765|\n",
    );
    eq(fmt("%x|%X|%5x", &m("t", b"")), b"||     \n");
    eq(fmt("%x", &m("t", b"\x00\xff\x10")), b"00ff10\n");
}

#[test]
fn int_flags() {
    let mut msg = m("t", b"abc");
    msg.mid = 42;
    msg.qos = 2;
    eq(
        fmt("[%m][%5m][%-5m][%05m][%-05m][%0m][%.3m]", &msg),
        b"[42][   42][42   ][00042][42   ][42][42]\n",
    );
    eq(
        fmt("[%l][%3l][%-3l|][%03l]", &msg),
        b"[3][  3][3  |][003]\n",
    );
    eq(fmt("%q%r%5q%-5r", &msg), b"2020\n");
    msg.retain = true;
    eq(fmt("%r", &msg), b"1\n");
}

#[test]
fn topic_width_precision() {
    let msg = m("sensors/temp", b"x");
    eq(fmt("[%t]", &msg), b"[sensors/temp]\n");
    eq(fmt("[%15t]", &msg), b"[   sensors/temp]\n");
    eq(fmt("[%-15t]", &msg), b"[sensors/temp   ]\n");
    eq(fmt("[%.7t]", &msg), b"[sensors]\n");
    eq(fmt("[%-.7t]", &msg), b"[sensors]\n");
    eq(fmt("[%10.3t]", &msg), b"[       sen]\n");
    eq(fmt("[%-10.3t]", &msg), b"[sen       ]\n");
    eq(fmt("[%.0t]", &msg), b"[]\n");
    eq(fmt("[%.t]", &msg), b"[]\n");
    eq(fmt("[%5t]", &msg), b"[sensors/temp]\n");
    // %0 does not zero-pad strings.
    eq(fmt("[%015t]", &msg), b"[   sensors/temp]\n");
    // Precision counts bytes, even inside a UTF-8 sequence.
    eq(fmt("[%.1t]", &m("é", b"x")), b"[\xc3]\n");
}

#[test]
fn iso_time_and_unix_time() {
    let msg = m("t", b"x");
    eq(fmt("%I", &msg), b"2026-11-23T03:48:48+0000\n");
    eq(fmt("[%.10I]", &msg), b"[2026-11-23]\n");
    eq(fmt("[%-26I]", &msg), b"[2026-11-23T03:48:48+0000  ]\n");
    eq(
        fmt("%U|%20U|%-5U", &msg),
        b"1795405728.185135833|1795405728.185135833|1795405728.185135833\n",
    );
    let o = Output::new(false, true, Some("%I"), false).with_zone(Zone::Fixed(3600 + 1800));
    eq(out_with(&o, &msg).0, b"2026-11-23T05:18:48+0130\n");
    let o = Output::new(false, true, Some("%I|%U"), false).with_zone(Zone::Fixed(-5 * 3600));
    eq(
        out_with(&o, &msg).0,
        b"2026-11-22T22:48:48-0500|1795405728.185135833\n",
    );
}

#[test]
fn at_sequences() {
    let msg = m("t", b"x");
    eq(
        fmt("@@|@N|@s|@Y-@m-@d @H:@M:@S|@Q|@z|@Z|@F", &msg),
        b"@|185135833|1795405728|2026-11-23 03:48:48|%Q|+0000|UTC|2026-11-23\n",
    );
    // Nanoseconds keep their leading zeros.
    let o = Output::new(false, true, Some("@N"), false).with_zone(Zone::Fixed(0));
    let mut v = Vec::new();
    o.write_message_at(&msg, Timestamp { secs: 0, nanos: 5 }, &mut v);
    eq(v, b"000000005\n");
    // A lone trailing @ (not accepted by check_format) prints nothing.
    eq(
        Output::new(false, true, Some("a@"), false)
            .with_zone(Zone::Fixed(0))
            .write_to_vec(&msg),
        b"a\n",
    );
    assert!(!Output::new(false, true, Some("@@"), false).needs_time());
    assert!(Output::new(false, true, Some("@N"), false).needs_time());
    assert!(Output::new(false, true, Some("%I"), false).needs_time());
    assert!(!Output::new(false, true, Some("%t %p %x"), false).needs_time());
}

impl Output {
    fn write_to_vec(&self, msg: &Received) -> Vec<u8> {
        let mut v = Vec::new();
        self.write_message_at(msg, TS, &mut v);
        v
    }
}

#[test]
fn local_zone_runs() {
    // Whatever the machine's zone, the layout is fixed.
    let o = Output::new(false, false, Some("%I"), false);
    let mut v = Vec::new();
    assert_eq!(o.write_message(&m("t", b"x"), &mut v), None);
    assert_eq!(v.len(), 24, "{:?}", String::from_utf8_lossy(&v));
}

#[test]
fn printer_tolerates_unchecked_formats() {
    // Formats check_format rejects still print like mosquitto's printer, never panic.
    let msg = m("t", b"pay");
    eq(fmt("a%", &msg), b"a\n");
    eq(fmt("a%-", &msg), b"a\n");
    eq(fmt("%z|%0-5l", &msg), b"|5l\n");
    eq(fmt("a\\", &msg), b"a\n");
    eq(fmt("\\q.", &msg), b".\n");
    eq(
        fmt("%99999999999999999999p|", &msg),
        {
            let mut v = vec![b' '; MAX_WIDTH - 3];
            v.extend_from_slice(b"pay|\n");
            v
        }
        .as_slice(),
    );
}

#[test]
fn never_panics_on_arbitrary_formats_and_payloads() {
    // Deterministic pseudo-random bytes.
    let mut seed: u64 = 0x1234_5678_9abc_def0;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let alphabet = b"%@\\-0123456789.ACDEFIlmPpqRSrtjJUxXN@s{}[]\",:e\x00\xff ";
    let props = [
        Property::TopicAlias(3),
        Property::UserProperty("k".into(), "v".into()),
        Property::CorrelationData(vec![0, 1, 2]),
    ];
    for round in 0..3000 {
        let n = (next() % 24) as usize;
        let f: Vec<u8> = (0..n)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect();
        let _ = check_format_bytes(&f);
        let p: Vec<u8> = (0..(next() % 24))
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect();
        let o = Output::from_bytes(false, round % 2 == 0, Some(&f), round % 3 == 0)
            .with_zone(Zone::Fixed(0));
        let mut msg = m("t/x", &p);
        msg.properties = if round % 2 == 0 { &props } else { &[] };
        let mut v = Vec::new();
        let _ = o.write_message_at(&msg, TS, &mut v);
        let mut v = Vec::new();
        let _ = json::reprint(&mut v, &p, round % 2 == 0, 1);
    }
}

// ---------------------------------------------------------------- v5 properties

fn broker_props() -> Vec<Property> {
    // The order mosquitto's broker forwarded them in the captured run.
    vec![
        Property::UserProperty("k".into(), "v1".into()),
        Property::UserProperty("k".into(), "v2".into()),
        Property::ContentType("text/json".into()),
        Property::CorrelationData(b"abc".to_vec()),
        Property::ResponseTopic("r/t".into()),
        Property::PayloadFormatIndicator(1),
        Property::MessageExpiryInterval(60),
    ]
}

#[test]
fn properties_fields_captured() {
    let props = broker_props();
    let mut msg = m("cap/t", b"{\"x\":1}");
    msg.properties = &props;
    let want = format!(
        "{{\"tst\":\"{TST}\",\"topic\":\"cap/t\",\"qos\":0,\"retain\":0,\"payloadlen\":7,\
         \"properties\":{{\"user-properties\":{{\"k\":\"v1\",\"k\":\"v2\"}},\"content-type\":\"text/json\",\
         \"correlation-data\":\"abc\",\"response-topic\":\"r/t\",\"payload-format-indicator\":1,\
         \"message-expiry-interval\":60}},\"payload\":\"{{\\\"x\\\":1}}\"}}\
         ||text/json|abc|60|1|k:v1 k:v2|r/t||     |     |00000|text/json|  r/t|00060|text/json|te|\n"
    );
    eq(
        fmt(
            "%j|%A|%C|%D|%E|%F|%P|%R|%S|%5A|%-5A|%05A|%5C|%5R|%05E|%-8C|%.2C|",
            &msg,
        ),
        want.as_bytes(),
    );
}

#[test]
fn properties_absent_captured() {
    let msg = m("cap/t", b"x");
    eq(
        fmt("[%5A|%-5A|%05A|%-05A|%5C|%5R|%05E|%5F|%05S|%P|%D]", &msg),
        b"[     |     |00000|00000|     ||00000|     |00000||]\n",
    );
}

#[test]
fn properties_spec_sample() {
    // §3.3 example (run against 2.0.20).
    let props = vec![
        Property::SubscriptionIdentifier(7),
        Property::UserProperty("k".into(), "v1".into()),
        Property::UserProperty("k".into(), "v2".into()),
        Property::ContentType("text/json".into()),
        Property::CorrelationData(b"abc".to_vec()),
        Property::ResponseTopic("r/t".into()),
        Property::PayloadFormatIndicator(1),
        Property::MessageExpiryInterval(60),
    ];
    let mut msg = m("p/t", b"{\"x\":1}");
    msg.properties = &props;
    let want = format!(
        "{{\"tst\":\"{TST}\",\"topic\":\"p/t\",\"qos\":0,\"retain\":0,\"payloadlen\":7,\"properties\":{{\"subscription-identifier\":7,\"user-properties\":{{\"k\":\"v1\",\"k\":\"v2\"}},\"content-type\":\"text/json\",\"correlation-data\":\"abc\",\"response-topic\":\"r/t\",\"payload-format-indicator\":1,\"message-expiry-interval\":60}},\"payload\":\"{{\\\"x\\\":1}}\"}}\n"
    );
    eq(fmt("%j", &msg), want.as_bytes());
}

#[test]
fn properties_more_cases() {
    let props = vec![
        Property::TopicAlias(5),
        Property::SubscriptionIdentifier(9),
        Property::SubscriptionIdentifier(10),
        Property::MessageExpiryInterval(4_000_000_000),
        Property::UserProperty("a".into(), "1".into()),
        Property::ContentType("x".into()),
        Property::UserProperty("b\0c".into(), "2\0z".into()),
        Property::CorrelationData(b"q\0r\n".to_vec()),
    ];
    let mut msg = m("t", b"");
    msg.properties = &props;
    // First of each kind; %E as a C int; %P joins all, cut at NUL; %D raw bytes.
    eq(
        fmt("%A|%S|%E|%P|%D|%-4A|%04S", &msg),
        b"5|9|-294967296|a:1 b:2|q\0r\n|5   |0009\n",
    );
    let want = format!(
        "{{\"tst\":\"{TST}\",\"topic\":\"t\",\"qos\":0,\"retain\":0,\"payloadlen\":0,\"properties\":{{\"topic-alias\":5,\"subscription-identifier\":9,\"subscription-identifier\":10,\"message-expiry-interval\":4000000000,\"user-properties\":{{\"a\":\"1\",\"b\":\"2\"}},\"content-type\":\"x\",\"correlation-data\":\"q\"}},\"payload\":null}}\n"
    );
    eq(fmt("%j", &msg), want.as_bytes());
}

#[test]
fn properties_pretty_captured() {
    let props = vec![
        Property::UserProperty("k".into(), "v1".into()),
        Property::UserProperty("k2".into(), "v2".into()),
    ];
    let mut msg = m("cap/t", b"");
    msg.properties = &props;
    let want = format!(
        "{{\n\t\"tst\":\t\"{TST}\",\n\t\"topic\":\t\"cap/t\",\n\t\"qos\":\t0,\n\t\"retain\":\t0,\n\
         \t\"payloadlen\":\t0,\n\t\"properties\":\t{{\n\t\t\"user-properties\":\t{{\n\
         \t\t\t\"k\":\t\"v1\",\n\t\t\t\"k2\":\t\"v2\"\n\t\t}}\n\t}},\n\t\"payload\":\tnull\n}}\n"
    );
    eq(fmt_opts("%j", &msg, true, true), want.as_bytes());
}

#[test]
fn properties_from_paho_keeps_wire_order() {
    use paho_mqtt::{Properties, PropertyCode};
    let mut p = Properties::new();
    p.push_int(PropertyCode::SubscriptionIdentifier, 7).unwrap();
    p.push_string_pair(PropertyCode::UserProperty, "k", "v1")
        .unwrap();
    p.push_string(PropertyCode::ContentType, "text/json")
        .unwrap();
    p.push_string_pair(PropertyCode::UserProperty, "k", "v2")
        .unwrap();
    p.push_binary(PropertyCode::CorrelationData, b"a\0c".to_vec())
        .unwrap();
    p.push_string(PropertyCode::ResponseTopic, "r/t").unwrap();
    p.push_byte(PropertyCode::PayloadFormatIndicator, 1)
        .unwrap();
    p.push_u32(PropertyCode::MessageExpiryInterval, 60).unwrap();
    p.push_u16(PropertyCode::TopicAlias, 3).unwrap();
    p.push_string(PropertyCode::ReasonString, "ignored")
        .unwrap();
    assert_eq!(
        properties_from_paho(&p),
        vec![
            Property::SubscriptionIdentifier(7),
            Property::UserProperty("k".into(), "v1".into()),
            Property::ContentType("text/json".into()),
            Property::UserProperty("k".into(), "v2".into()),
            Property::CorrelationData(b"a\0c".to_vec()),
            Property::ResponseTopic("r/t".into()),
            Property::PayloadFormatIndicator(1),
            Property::MessageExpiryInterval(60),
            Property::TopicAlias(3),
        ]
    );
    assert_eq!(properties_from_paho(&Properties::new()), vec![]);
}

// ---------------------------------------------------------------- %j

#[test]
fn json_escaping_captured() {
    let payload = b"a\x01\x1f\x7f\"\\/\x08\x0c\n\r\t\xc3\xa9\xff\x00zz";
    let want = [
        format!("{{\"tst\":\"{TST}\",\"topic\":\"cap/t\",\"qos\":0,\"retain\":0,\"payloadlen\":18,\"payload\":\"")
            .as_bytes(),
        b"a\\u0001\\u001f\x7f\\\"\\\\/\\b\\f\\n\\r\\t\xc3\xa9\xff\"",
        b",\"payload_base64\":\"YQEffyJcLwgMCg0Jw6n/AHp6\"}|18|61011f7f225c2f080c0a0d09c3a9ff007a7a\n",
    ]
    .concat();
    eq(fmt("%j|%l|%x", &m("cap/t", payload)), &want);
}

#[test]
fn json_plain_payload_and_qos() {
    let mut msg = m("a\"b", b"hello\tworld");
    msg.qos = 2;
    msg.mid = 65535;
    msg.retain = true;
    let want = format!(
        "{{\"tst\":\"{TST}\",\"topic\":\"a\\\"b\",\"qos\":2,\"retain\":1,\"payloadlen\":11,\"mid\":65535,\"payload\":\"hello\\tworld\"}}\n"
    );
    eq(fmt("%j", &msg), want.as_bytes());
}

#[test]
fn json_binary_payload_rule() {
    // Valid UTF-8 without NUL: exactly as 2.0, no extra member.
    let want = format!(
        "{{\"tst\":\"{TST}\",\"topic\":\"t\",\"qos\":0,\"retain\":0,\"payloadlen\":4,\"payload\":\"\\u0001é/\"}}"
    );
    eq(
        fmt_opts("%j", &m("t", "\x01é/".as_bytes()), false, false),
        want.as_bytes(),
    );
    // Leading NUL: payload "" (2.0) + base64 of all bytes.
    let want = format!(
        "{{\"tst\":\"{TST}\",\"topic\":\"t\",\"qos\":0,\"retain\":0,\"payloadlen\":3,\"payload\":\"\",\"payload_base64\":\"AAEC\"}}"
    );
    eq(
        fmt_opts("%j", &m("t", b"\x00\x01\x02"), false, false),
        want.as_bytes(),
    );
    // Pretty: the extra member follows the layout; the raw byte is copied as is.
    let head = format!(
        "{{\n\t\"tst\":\t\"{TST}\",\n\t\"topic\":\t\"t\",\n\t\"qos\":\t0,\n\t\"retain\":\t0,\n\t\"payloadlen\":\t1,\n\t\"payload\":\t\""
    );
    let want = [
        head.as_bytes(),
        b"\xfe\",\n\t\"payload_base64\":\t\"/g==\"\n}",
    ]
    .concat();
    eq(fmt_opts("%j", &m("t", b"\xfe"), false, true), &want);
}

#[test]
fn json_empty_payload_captured() {
    let obj = format!(
        "{{\"tst\":\"{TST}\",\"topic\":\"cap/t\",\"qos\":0,\"retain\":0,\"payloadlen\":0,\"payload\":null}}"
    );
    let want = format!("||0|{obj}|{obj}\n");
    eq(fmt("%p|%x|%l|%j|%J", &m("cap/t", b"")), want.as_bytes());
}

#[test]
fn json_topic_cut_at_nul() {
    let want = format!(
        "{{\"tst\":\"{TST}\",\"topic\":\"a\",\"qos\":0,\"retain\":0,\"payloadlen\":1,\"payload\":\"x\"}}|a|a\n"
    );
    eq(fmt("%j|%t|%.5t", &m("a\0b", b"x")), want.as_bytes());
}

#[test]
fn json_tst_in_other_zone() {
    let o =
        Output::new(false, false, Some("%j"), false).with_zone(Zone::Fixed(-(9 * 3600 + 30 * 60)));
    let got = out_with(&o, &m("t", b"")).0;
    assert!(
        got.starts_with(b"{\"tst\":\"2026-11-22T18:18:48.185135-0930\""),
        "{}",
        String::from_utf8_lossy(&got)
    );
}

#[test]
fn json_tst_kept_per_second() {
    // The text of a second is reused for later messages of that second only.
    let o = Output::new(false, false, Some("%j"), false).with_zone(Zone::Fixed(0));
    let tst = |ts: Timestamp| {
        let mut v = Vec::new();
        assert_eq!(o.write_message_at(&m("t", b""), ts, &mut v), None);
        String::from_utf8_lossy(&v[8..40]).into_owned()
    };
    let at = |secs, nanos| Timestamp { secs, nanos };
    assert_eq!(tst(at(0, 1_000)), "1970-01-01T00:00:00.000001+0000\"");
    assert_eq!(tst(at(0, 999_999_999)), "1970-01-01T00:00:00.999999+0000\"");
    assert_eq!(tst(at(86_399, 0)), "1970-01-01T23:59:59.000000+0000\"");
    assert_eq!(tst(at(0, 5_000)), "1970-01-01T00:00:00.000005+0000\"");
    // %J uses the same text.
    let o = Output::new(false, false, Some("%J%j"), false).with_zone(Zone::Fixed(3600));
    let mut v = Vec::new();
    o.write_message_at(&m("t", b"1"), at(7200, 2_000), &mut v);
    let s = String::from_utf8_lossy(&v);
    assert_eq!(
        s.matches("1970-01-01T03:00:00.000002+0100").count(),
        2,
        "{s}"
    );
}

// ---------------------------------------------------------------- %J

fn j(payload: &[u8]) -> Option<String> {
    let mut v = Vec::new();
    if json::reprint(&mut v, payload, false, 1) {
        Some(String::from_utf8_lossy(&v).into_owned())
    } else {
        None
    }
}

fn jp(payload: &[u8]) -> Option<String> {
    let mut v = Vec::new();
    if json::reprint(&mut v, payload, true, 1) {
        Some(String::from_utf8_lossy(&v).into_owned())
    } else {
        None
    }
}

#[test]
fn json_numbers_captured() {
    assert_eq!(
        j(b"[1e10,1.5e300,12345678901234567890,0.1,-0.0,2147483648,1e400,01,1.,-.5,0.30000000000000004]").as_deref(),
        Some("[10000000000,1.5e+300,1.2345678901234567e+19,0.1,-0,2147483648,null,1,1,-0.5,0.3]")
    );
    assert_eq!(j(b"-0").as_deref(), Some("-0"));
}

#[test]
fn json_numbers_more() {
    let cases: &[(&str, &str)] = &[
        ("0", "0"),
        ("-1", "-1"),
        ("2147483647", "2147483647"),
        ("-2147483648", "-2147483648"),
        ("1e15", "1e+15"),
        ("123456789012345", "123456789012345"),
        ("1234567890123456", "1234567890123456"),
        ("3.14159", "3.14159"),
        ("1e-5", "1e-05"),
        ("0.0001", "0.0001"),
        ("0.00001234", "1.234e-05"),
        ("1E+2", "100"),
        ("2.5e-300", "2.5e-300"),
        ("1e-400", "0"),
        ("-1e400", "null"),
        ("0.1e1", "1"),
        ("100000000000000000000", "1e+20"),
        ("4.35", "4.35"),
        ("0.1", "0.1"),
        ("123456789012345678", "1.2345678901234568e+17"),
        ("1.7976931348623157e308", "1.79769313486232e+308"),
        ("5e-324", "4.94065645841247e-324"),
        ("999999999999999", "999999999999999"),
        ("-999999999999999", "-999999999999999"),
        ("1000000000000001", "1000000000000001"),
        ("-4294967296", "-4294967296"),
        ("12.0", "12"),
        ("-0.0e5", "-0"),
    ];
    for (input, want) in cases {
        assert_eq!(j(input.as_bytes()).as_deref(), Some(*want), "input {input}");
    }
}

#[test]
fn json_reprint_structure() {
    let cases: &[(&[u8], Option<&str>)] = &[
        (b"5", Some("5")),
        (b"\"str\"", Some("\"str\"")),
        (b"[1] ", Some("[1]")),
        (
            b" \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\" : { } } \n",
            Some("{\"a\":[1,2],\"b\":{}}"),
        ),
        (b"\x01\x1f{}\x7f", None),
        (b"\x01\x1f{}\x20", Some("{}")),
        (b"true", Some("true")),
        (b"false", Some("false")),
        (b"null", Some("null")),
        (b"nul", None),
        (b"True", None),
        (b"[1,]", None),
        (b"[1 2]", None),
        (b"{\"a\":1,}", None),
        (b"{a:1}", None),
        (b"{\"a\" 1}", None),
        (b"[", None),
        (b"{", None),
        (b"]", None),
        (b"1 2", None),
        (b"{}x", None),
        (b"+1", None),
        (b".5", None),
        (b"-", None),
        (b"1e", None),
        (b"1e+", None),
        (b"0x10", None),
        (b"1.5.3", None),
        (b"--1", None),
        (b"\"abc", None),
        (b"\"abc\\", None),
        (b"\"a\\qb\"", None),
        (b"{\"a\":1}\x00", None),
        (b"\x00", None),
        (
            b"{\"a\":{\"a\":1},\"a\":2}",
            Some("{\"a\":{\"a\":1},\"a\":2}"),
        ),
        // Escapes decoded and re-escaped the cJSON way.
        (
            b"\"\\u00e9\\/\\b\\f\\n\\r\\t\\\"\\\\\\u0001\\u001F\"",
            Some("\"\u{e9}/\\b\\f\\n\\r\\t\\\"\\\\\\u0001\\u001f\""),
        ),
        (b"\"\\ud83d\\ude00\"", Some("\"\u{1f600}\"")),
        (b"\"\\ud83d\"", None),
        (b"\"\\ude00\"", None),
        (b"\"\\ud83dx\\ude00\"", None),
        (b"\"\\u12\"", None),
        // \u0000 (or bad hex) decodes to NUL: the rest of the string is not printed.
        (b"\"ab\\u0000cd\"", Some("\"ab\"")),
        (b"\"ab\\uzzzzcd\"", Some("\"ab\"")),
        (b"{\"k\\u0000x\":1}", Some("{\"k\":1}")),
        // Raw control bytes inside strings are accepted and escaped on output.
        (b"\"a\tb\x01\"", Some("\"a\\tb\\u0001\"")),
        // Raw bytes >= 0x80 (valid or not) pass through.
        (b"\"\xc3\xa9\xff\"", Some("\"\u{e9}\u{fffd}\"")),
        // BOM skipped only with at least 4 bytes in total.
        (b"\xEF\xBB\xBF5", Some("5")),
        (b"\xEF\xBB\xBF", None),
        (b"[[]]", Some("[[]]")),
    ];
    for (input, want) in cases {
        assert_eq!(
            j(input).as_deref(),
            *want,
            "input {:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn json_number_length_limit() {
    // cJSON hands at most 63 bytes to strtod; the rest is garbage.
    let ok = "1".repeat(63);
    assert_eq!(j(ok.as_bytes()).as_deref(), Some("1.1111111111111112e+62"));
    let bad = "1".repeat(64);
    assert_eq!(j(bad.as_bytes()), None);
}

#[test]
fn json_nesting_limit() {
    let ok = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
    assert_eq!(j(ok.as_bytes()).as_deref(), Some(ok.as_str()));
    let bad = format!("{}{}", "[".repeat(1001), "]".repeat(1001));
    assert_eq!(j(bad.as_bytes()), None);
    let mixed = format!("{}{}", "{\"a\":[".repeat(500), "]}".repeat(500));
    assert!(j(mixed.as_bytes()).is_some());
    let mixed = format!("{}1{}", "{\"a\":[".repeat(501), "]}".repeat(501));
    assert_eq!(j(mixed.as_bytes()), None);
}

#[test]
fn json_pretty_reprint_captured() {
    let input = br#"{"a":[1,{"b":[],"c":{}},[]],"d":{},"e":"x\u00e9\u0000y","f":true,"g":null, "h":"\u0001\/"}"#;
    let want = "{\n\t\t\"a\":\t[1, {\n\t\t\t\t\"b\":\t[],\n\t\t\t\t\"c\":\t{\n\t\t\t\t}\n\t\t\t}, []],\n\
                \t\t\"d\":\t{\n\t\t},\n\t\t\"e\":\t\"x\u{e9}\",\n\t\t\"f\":\ttrue,\n\t\t\"g\":\tnull,\n\
                \t\t\"h\":\t\"\\u0001/\"\n\t}";
    assert_eq!(jp(input).as_deref(), Some(want));
    assert_eq!(jp(b"[]").as_deref(), Some("[]"));
    assert_eq!(jp(b"{}").as_deref(), Some("{\n\t}"));
    assert_eq!(jp(b"[1,2,3]").as_deref(), Some("[1, 2, 3]"));
}

#[test]
fn pretty_spec_sample() {
    let want = format!(
        "{{\n\t\"tst\":\t\"{TST}\",\n\t\"topic\":\t\"fmt/t\",\n\t\"qos\":\t0,\n\t\"retain\":\t0,\n\
         \t\"payloadlen\":\t7,\n\t\"payload\":\t{{\n\t\t\"a\":\t1\n\t}}\n}}\n"
    );
    eq(
        fmt_opts("%J", &m("fmt/t", b"{\"a\":1}"), true, true),
        want.as_bytes(),
    );
}

#[test]
fn json_j_with_qos_and_props_pretty() {
    let props = vec![Property::ContentType("c".into())];
    let mut msg = m("t", b"[1,2]");
    msg.qos = 1;
    msg.mid = 7;
    msg.properties = &props;
    let want = format!(
        "{{\n\t\"tst\":\t\"{TST}\",\n\t\"topic\":\t\"t\",\n\t\"qos\":\t1,\n\t\"retain\":\t0,\n\
         \t\"payloadlen\":\t5,\n\t\"mid\":\t7,\n\t\"properties\":\t{{\n\t\t\"content-type\":\t\"c\"\n\t}},\n\
         \t\"payload\":\t[1, 2]\n}}"
    );
    eq(fmt_opts("%J", &msg, false, true), want.as_bytes());
}

#[test]
fn json_invalid_payload() {
    let o = Output::new(false, true, Some("a%Jb%Jc"), false).with_zone(Zone::Fixed(0));
    let (got, w) = out_with(&o, &m("top/ic", b"{bad"));
    eq(got, b"abc\n");
    let e = "Error: Message payload is not valid JSON on topic top/ic.\n";
    assert_eq!(w, Some(format!("{e}{e}")));
    // %j of the same payload is fine.
    let o = Output::new(false, true, Some("%j"), false).with_zone(Zone::Fixed(0));
    assert_eq!(out_with(&o, &m("t", b"{bad")).1, None);
    // NUL inside otherwise valid JSON is invalid.
    let o = Output::new(false, false, Some("%J"), true).with_zone(Zone::Fixed(0));
    let (got, w) = out_with(&o, &m("t", b"{}\0"));
    assert!(got.is_empty());
    assert!(w.is_some());
}

#[test]
fn base64_vectors() {
    for (input, want) in [
        (&b""[..], ""),
        (b"f", "Zg=="),
        (b"fo", "Zm8="),
        (b"foo", "Zm9v"),
        (b"foob", "Zm9vYg=="),
        (b"fooba", "Zm9vYmE="),
        (b"foobar", "Zm9vYmFy"),
        (b"\xff\xfe\x00", "//4A"),
    ] {
        let mut v = Vec::new();
        json::write_base64(&mut v, input);
        assert_eq!(String::from_utf8(v).unwrap(), want);
    }
}

#[test]
fn user_properties_shape_is_2_0() {
    // Guard: switching the shape is a deliberate decision (see module docs).
    const { assert!(!USER_PROPERTIES_AS_ARRAY) };
}

/// Throughput check: `cargo test --release --lib format::tests::throughput -- --ignored
/// --nocapture`.
#[test]
#[ignore]
fn throughput() {
    let props = broker_props();
    let mut msg = m(
        "sensors/room1/temperature",
        b"{\"t\":21.5,\"h\":[40,41,42],\"ok\":true}",
    );
    msg.qos = 1;
    msg.mid = 17;
    msg.properties = &props;
    for (name, o) in [
        ("default", Output::new(false, true, None, false)),
        ("-v", Output::new(true, true, None, false)),
        ("-F %t %p", Output::new(false, true, Some("%t %p"), false)),
        (
            "-F %I %U @H:@M:@S",
            Output::new(false, true, Some("%I %U @H:@M:@S"), false),
        ),
        ("-F %j", Output::new(false, true, Some("%j"), false)),
        ("-F %J --pretty", Output::new(false, true, Some("%J"), true)),
    ] {
        let mut out = Vec::with_capacity(1 << 16);
        let start = std::time::Instant::now();
        let mut bytes = 0;
        for _ in 0..100_000 {
            out.clear();
            let _ = o.write_message(&msg, &mut out);
            bytes += out.len();
        }
        eprintln!(
            "{name:24} 100k messages: {:?} ({bytes} bytes)",
            start.elapsed()
        );
    }
}

#[test]
fn user_properties_array_shape_available() {
    let props = vec![
        Property::UserProperty("k".into(), "v1".into()),
        Property::ContentType("c".into()),
        Property::UserProperty("k".into(), "v2".into()),
    ];
    let o = Output::new(false, false, Some("%j"), false);
    let mut v = Vec::new();
    o.json_properties(&props, true, &mut v);
    eq(
        v,
        br#"{"user-properties":[{"k":"v1"},{"k":"v2"}],"content-type":"c"}"#,
    );
    let o = Output::new(false, false, Some("%j"), true);
    let mut v = Vec::new();
    o.json_properties(&props, true, &mut v);
    eq(
        v,
        b"{\n\t\t\"user-properties\":\t[{\n\t\t\t\t\"k\":\t\"v1\"\n\t\t\t}, {\n\t\t\t\t\"k\":\t\"v2\"\n\t\t\t}],\n\t\t\"content-type\":\t\"c\"\n\t}",
    );
}

#[test]
fn needs_mid_only_for_message_id_and_json() {
    let needs = |f: &str| Output::new(false, true, Some(f), false).needs_mid();
    assert!(needs("%m"));
    assert!(needs("x %j"));
    assert!(needs("%J"));
    assert!(!needs("%t %p %%m"));
    assert!(!Output::new(true, true, None, false).needs_mid());
}
