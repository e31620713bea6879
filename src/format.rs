//! Everything mosquitto_sub 2.0.20 prints for one received message: the default output,
//! `-v`, `-N`, and `-F` (`%` fields with flags/width/precision, `@` time sequences, `\`
//! escapes, `%j`/`%J` JSON with `--pretty`).
//!
//! Use: validate `-F` with [`check_format`] while parsing options, build one [`Output`]
//! with [`Output::new`], then call [`Output::write_message`] for each message, appending
//! to a reusable buffer that the caller writes to stdout (and flushes) per message.
//! A `Some(text)` result is for stderr (e.g. `%J` on a payload that is not JSON).
//!
//! JSON follows cJSON 1.7.15 (what Debian 12's mosquitto links): escaping, number
//! re-printing, the lenient `%J` parser and the `cJSON_Print` TAB layout; see
//! `format/json.rs`.
//!
//! # Reproduced oddities of 2.0.20 (on purpose, they are its stdout bytes)
//!
//! * `%-p` / `%-x` with no width print the payload followed by *payload-length* spaces
//!   (mosquitto pads with a negative printf width).
//! * `%p` with a width truncates the payload to that width; its precision is ignored.
//! * A missing v5 property pads with the `0` flag's pad char even when left-aligned
//!   (`%-05A` → `00000`); `%C` pads with spaces; `%R`/`%D`/`%P` print nothing.
//! * `%E`/`%S` print the value as a C `int` (an expiry above 2147483647 is negative).
//! * Topic, string properties and user properties are printed as C strings (cut at a
//!   NUL byte); `%D` prints all correlation-data bytes raw.
//! * JSON `-0` stays `-0` (cJSON 1.7.15; 1.7.16+ would print `0`).
//!
//! # Differences from mosquitto_sub
//!
//! * **`%x` / `%X` with a width** print the whole payload in hex and then pad to the
//!   width (2.0 prints only `min(len,width)/2` bytes: `%18x` of `message` gave 3 bytes).
//!   Without a width the output is 2.0's (whole payload, and the `%-x` padding oddity).
//! * **`%j` with a binary payload**: `"payload"` is printed exactly as 2.0 prints it
//!   (a C string, so cut at the first NUL byte, invalid UTF-8 copied raw). When that
//!   string cannot carry the payload losslessly — the payload contains a NUL byte or is
//!   not valid UTF-8 — one extra member follows it:
//!   `"payload_base64":"<standard base64 of all payloadlen bytes>"`. Valid UTF-8 without
//!   NUL bytes (control characters are escaped losslessly) prints exactly as 2.0.
//!   `%J` is unchanged (such payloads are not valid JSON there anyway).
//! * **Clock readings**: one reading per message serves every time field (`%I`, `%U`,
//!   `%j`/`%J` `tst`, all `@` sequences). 2.0 reads the clock again for each `%`
//!   time specifier, so its fields can differ by a few microseconds.
//! * **Huge widths/precisions** are capped at [`MAX_WIDTH`] (2.0 would try to print up
//!   to 2^31 pad bytes per message).
//!
//! # User properties in JSON
//!
//! Kept in 2.0's shape, as the project decided for this module: one object
//! `"user-properties":{"k":"v1","k":"v2"}` placed where the first user property
//! appears, holding every user property in order, duplicate keys emitted as
//! duplicates. This is what 2.0.20 prints and what scripts written against it parse
//! (most JSON parsers keep the last duplicate). Note that the spec's closing section
//! ("Which version mqtts follows") lists the duplicate keys among the 2.0 bugs *not*
//! reproduced; if the project settles on that instead, flip
//! [`USER_PROPERTIES_AS_ARRAY`] to print develop/2.1's shape,
//! `"user-properties":[{"k":"v1"},{"k":"v2"}]` (already implemented, cJSON layout).

mod json;
mod time;

use std::fmt::Write as _;
use std::io::Write as _;

#[cfg(test)]
mod tests;

pub use time::{Timestamp, Zone};

/// Widths and precisions above this are treated as this (see "Differences").
pub const MAX_WIDTH: usize = 1 << 20;

/// false: 2.0's object with duplicate keys; true: develop's array of one-key objects.
pub const USER_PROPERTIES_AS_ARRAY: bool = false;

// ---------------------------------------------------------------------------------------
// Validation

/// Check a `-F` format string as mosquitto does when parsing options.
///
/// `Err` holds mosquitto's exact message with its trailing newline, e.g.
/// `"Error: Invalid format specifier 'z'.\n"`; the caller adds the help line. For a
/// non-ASCII byte after `%` or `\` mosquitto prints that single byte; this `&str`
/// version shows it lossily (U+FFFD), [`check_format_bytes`] gives the exact bytes.
pub fn check_format(format: &str) -> Result<(), String> {
    check_format_bytes(format.as_bytes()).map_err(|e| String::from_utf8_lossy(&e).into_owned())
}

/// [`check_format`] on raw bytes (an argv word need not be UTF-8); `Err` is the exact
/// stderr bytes. Like mosquitto, the string ends at a NUL byte.
pub fn check_format_bytes(format: &[u8]) -> Result<(), Vec<u8>> {
    const INCOMPLETE: &[u8] = b"Error: Incomplete format specifier.\n";
    const INCOMPLETE_ESC: &[u8] = b"Error: Incomplete escape specifier.\n";
    let s = json::c_str(format);
    let len = s.len();
    let invalid = |what: &str, c: u8| {
        let mut v = format!("Error: Invalid {what} specifier '").into_bytes();
        v.push(c);
        v.extend_from_slice(b"'.\n");
        v
    };
    // The byte after `i`; a specifier cut short by the end of the string is incomplete.
    let next =
        |i: usize, incomplete: &[u8]| s.get(i + 1).copied().ok_or_else(|| incomplete.to_vec());
    let mut i = 0;
    while i < len {
        match s[i] {
            b'%' => {
                if matches!(next(i, INCOMPLETE)?, b'0' | b'-') {
                    i += 1;
                }
                while next(i, INCOMPLETE)?.is_ascii_digit() {
                    i += 1;
                }
                if next(i, INCOMPLETE)? == b'.' {
                    i += 1;
                    while next(i, INCOMPLETE)?.is_ascii_digit() {
                        i += 1;
                    }
                }
                let c = next(i, INCOMPLETE)?;
                if !b"%ACDEFIlmPpqRSrtjJUxX".contains(&c) {
                    return Err(invalid("format", c));
                }
                i += 1;
            }
            b'@' => {
                next(i, INCOMPLETE)?;
                i += 1;
            }
            b'\\' => {
                let c = next(i, INCOMPLETE_ESC)?;
                if !b"\\0aenrtv".contains(&c) {
                    return Err(invalid("escape", c));
                }
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Messages

/// An MQTT v5 PUBLISH property that mosquitto_sub can print. Other property kinds are
/// never printed by mosquitto_sub and are not represented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Property {
    PayloadFormatIndicator(u8),
    MessageExpiryInterval(u32),
    ContentType(String),
    ResponseTopic(String),
    CorrelationData(Vec<u8>),
    SubscriptionIdentifier(u32),
    TopicAlias(u16),
    /// (key, value); may repeat, duplicates allowed.
    UserProperty(String, String),
}

/// One received message, borrowed from wherever the caller keeps it.
#[derive(Clone, Copy, Debug)]
pub struct Received<'a> {
    pub topic: &'a str,
    pub payload: &'a [u8],
    /// 0, 1 or 2.
    pub qos: u8,
    pub retain: bool,
    /// Packet id; 0 for QoS 0.
    pub mid: u16,
    /// v5 properties in the order received (empty for MQTT v3 or none).
    pub properties: &'a [Property],
}

/// Convert paho's received properties into [`Property`] values, in the order they
/// appeared in the PUBLISH packet (the broker's order, which `%j`/`%J` show).
///
/// paho-mqtt 0.14's safe API only looks properties up by code, which loses the order
/// between different codes, so this reads paho's C property array (`MQTTProperties`,
/// filled in wire order by paho.mqtt.c) directly. That relies on `Properties` being a
/// wrapper of exactly one `MQTTProperties`, which a compile-time size check enforces.
/// Properties mosquitto_sub never prints are skipped; strings that are not UTF-8 are
/// converted lossily.
pub fn properties_from_paho(p: &paho_mqtt::Properties) -> Vec<Property> {
    use paho_mqtt_sys as ffi;
    const _: () = assert!(
        std::mem::size_of::<paho_mqtt::Properties>() == std::mem::size_of::<ffi::MQTTProperties>()
            && std::mem::align_of::<paho_mqtt::Properties>()
                == std::mem::align_of::<ffi::MQTTProperties>()
    );
    if p.is_empty() {
        return Vec::new();
    }
    // SAFETY: `Properties` has exactly one field, an `MQTTProperties`, and the sizes are
    // equal (checked above), so that field is at offset 0 and the cast is a reborrow.
    let raw: &ffi::MQTTProperties =
        unsafe { &*(p as *const paho_mqtt::Properties as *const ffi::MQTTProperties) };
    if raw.count <= 0 || raw.array.is_null() {
        return Vec::new();
    }
    // SAFETY: paho keeps `count` initialised entries at `array`, alive as long as `p`.
    let items = unsafe { std::slice::from_raw_parts(raw.array, raw.count as usize) };
    // SAFETY (for the helpers): a length-prefixed buffer owned by the property list.
    let bytes = |s: &ffi::MQTTLenString| -> Vec<u8> {
        if s.data.is_null() || s.len <= 0 {
            Vec::new()
        } else {
            unsafe { std::slice::from_raw_parts(s.data as *const u8, s.len as usize) }.to_vec()
        }
    };
    let string = |s: &ffi::MQTTLenString| String::from_utf8_lossy(&bytes(s)).into_owned();
    let mut v = Vec::with_capacity(items.len());
    for it in items {
        // SAFETY: the union member read matches the property's type per MQTT v5 (the
        // same mapping paho uses when it parses the packet).
        let prop = unsafe {
            match it.identifier {
                1 => Property::PayloadFormatIndicator(it.value.byte),
                2 => Property::MessageExpiryInterval(it.value.integer4),
                3 => Property::ContentType(string(&it.value.__bindgen_anon_1.data)),
                8 => Property::ResponseTopic(string(&it.value.__bindgen_anon_1.data)),
                9 => Property::CorrelationData(bytes(&it.value.__bindgen_anon_1.data)),
                11 => Property::SubscriptionIdentifier(it.value.integer4),
                35 => Property::TopicAlias(it.value.integer2),
                38 => Property::UserProperty(
                    string(&it.value.__bindgen_anon_1.data),
                    string(&it.value.__bindgen_anon_1.value),
                ),
                _ => continue,
            }
        };
        v.push(prop);
    }
    v
}

// ---------------------------------------------------------------------------------------
// Compiled output description

#[derive(Clone, Debug, PartialEq, Eq)]
enum Mode {
    Payload,
    Verbose,
    Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Spec {
    conv: u8,
    left: bool,
    zero: bool,
    width: usize,
    prec: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    /// Bytes `start..end` of `Output::lit`.
    Lit(usize, usize),
    Spec(Spec),
    /// `@X`: strftime("%X"); the NUL-terminated 3-byte format.
    Strftime([u8; 3]),
    /// `@N`
    Nanos,
    /// `@s`: epoch seconds (what glibc's `%s` gives for local time).
    EpochSecs,
}

/// What to print for each message, compiled once from the options.
#[derive(Clone, Debug)]
pub struct Output {
    mode: Mode,
    eol: bool,
    pretty: bool,
    zone: Zone,
    lit: Vec<u8>,
    items: Vec<Item>,
    needs_time: bool,
    /// JSON `tst` of the last second rendered (see [`Output::tst`]).
    tst: std::cell::RefCell<Option<(i64, Vec<u8>)>>,
}

impl Output {
    /// `verbose` = `-v`, `eol` = not `-N`, `format` = `-F` (takes precedence over `-v`),
    /// `pretty` = `--pretty`. The format should have passed [`check_format`]; anything
    /// else is still handled the way mosquitto's printer would, without panicking.
    pub fn new(verbose: bool, eol: bool, format: Option<&str>, pretty: bool) -> Output {
        Output::from_bytes(verbose, eol, format.map(str::as_bytes), pretty)
    }

    /// [`Output::new`] with a `-F` format given as raw bytes.
    pub fn from_bytes(verbose: bool, eol: bool, format: Option<&[u8]>, pretty: bool) -> Output {
        let mut o = Output {
            mode: if format.is_some() {
                Mode::Format
            } else if verbose {
                Mode::Verbose
            } else {
                Mode::Payload
            },
            eol,
            pretty,
            zone: Zone::Local,
            lit: Vec::new(),
            items: Vec::new(),
            needs_time: false,
            tst: Default::default(),
        };
        if let Some(f) = format {
            o.compile(json::c_str(f));
        }
        o
    }

    /// Render local-time fields in `zone` instead of the C library's local time.
    pub fn with_zone(mut self, zone: Zone) -> Output {
        self.zone = zone;
        self.tst = Default::default();
        self
    }

    /// Whether printing reads the clock (so callers can skip it otherwise).
    pub fn needs_time(&self) -> bool {
        self.needs_time
    }

    /// Whether the output shows the message id (`%m`, `%j`, `%J`), which only paho's
    /// protocol trace gives (so callers can leave the trace off otherwise).
    pub fn needs_mid(&self) -> bool {
        self.items
            .iter()
            .any(|i| matches!(i, Item::Spec(s) if matches!(s.conv, b'm' | b'j' | b'J')))
    }

    fn push_lit(&mut self, bytes: &[u8]) {
        let start = self.lit.len();
        self.lit.extend_from_slice(bytes);
        let end = self.lit.len();
        if let Some(Item::Lit(_, e)) = self.items.last_mut()
            && *e == start
        {
            *e = end;
            return;
        }
        self.items.push(Item::Lit(start, end));
    }

    /// Walk the format exactly like mosquitto's printer (which tolerates anything).
    fn compile(&mut self, f: &[u8]) {
        let len = f.len();
        let digits = |acc: usize, c: u8| {
            acc.saturating_mul(10)
                .saturating_add((c - b'0') as usize)
                .min(MAX_WIDTH)
        };
        let mut i = 0;
        while i < len {
            match f[i] {
                b'%' => {
                    if i < len - 1 {
                        i += 1;
                        let mut spec = Spec {
                            conv: 0,
                            left: false,
                            zero: false,
                            width: 0,
                            prec: None,
                        };
                        if f[i] == b'-' {
                            spec.left = true;
                            if i < len - 1 {
                                i += 1;
                            }
                        }
                        if f[i] == b'0' {
                            spec.zero = true;
                            if i < len - 1 {
                                i += 1;
                            }
                        }
                        while i < len - 1 && f[i].is_ascii_digit() {
                            spec.width = digits(spec.width, f[i]);
                            i += 1;
                        }
                        if f[i] == b'.' && i < len - 1 {
                            i += 1;
                            let mut p = 0;
                            while i < len - 1 && f[i].is_ascii_digit() {
                                p = digits(p, f[i]);
                                i += 1;
                            }
                            spec.prec = Some(p);
                        }
                        spec.conv = f[i];
                        if matches!(spec.conv, b'I' | b'U' | b'j' | b'J') {
                            self.needs_time = true;
                        }
                        if spec.conv == b'%' {
                            self.push_lit(b"%");
                        } else if b"ACDEFIlmPpqRSrtjJUxX".contains(&spec.conv) {
                            self.items.push(Item::Spec(spec));
                        }
                    }
                }
                b'@' => {
                    if i < len - 1 {
                        i += 1;
                        match f[i] {
                            b'@' => self.push_lit(b"@"),
                            c => {
                                self.needs_time = true;
                                self.items.push(match c {
                                    b'N' => Item::Nanos,
                                    b's' => Item::EpochSecs,
                                    _ => Item::Strftime([b'%', c, 0]),
                                });
                            }
                        }
                    }
                }
                b'\\' => {
                    if i < len - 1 {
                        i += 1;
                        let b = match f[i] {
                            b'\\' => Some(b'\\'),
                            b'0' => Some(0),
                            b'a' => Some(0x07),
                            b'e' => Some(0x1b),
                            b'n' => Some(b'\n'),
                            b'r' => Some(b'\r'),
                            b't' => Some(b'\t'),
                            b'v' => Some(0x0b),
                            _ => None,
                        };
                        if let Some(b) = b {
                            self.push_lit(&[b]);
                        }
                    }
                }
                c => self.push_lit(&[c]),
            }
            i += 1;
        }
    }

    /// Append the output for one message to `out`, reading the clock if the format
    /// needs it. Returns text for stderr, if any (with its trailing newline).
    pub fn write_message(&self, msg: &Received, out: &mut Vec<u8>) -> Option<String> {
        let now = if self.needs_time {
            Timestamp::now()
        } else {
            Timestamp { secs: 0, nanos: 0 }
        };
        self.write_message_at(msg, now, out)
    }

    /// [`Output::write_message`] with the clock reading given (one reading serves all
    /// time fields of the message).
    pub fn write_message_at(
        &self,
        msg: &Received,
        now: Timestamp,
        out: &mut Vec<u8>,
    ) -> Option<String> {
        match self.mode {
            Mode::Payload => {
                if !msg.payload.is_empty() {
                    out.extend_from_slice(msg.payload);
                    if self.eol {
                        out.push(b'\n');
                    }
                }
                None
            }
            Mode::Verbose => {
                let topic = json::c_str(msg.topic.as_bytes());
                if !msg.payload.is_empty() {
                    out.extend_from_slice(topic);
                    out.push(b' ');
                    out.extend_from_slice(msg.payload);
                    if self.eol {
                        out.push(b'\n');
                    }
                } else if self.eol {
                    out.extend_from_slice(topic);
                    out.extend_from_slice(b" (null)\n");
                }
                None
            }
            Mode::Format => self.formatted(msg, now, out),
        }
    }

    fn formatted(&self, msg: &Received, now: Timestamp, out: &mut Vec<u8>) -> Option<String> {
        let mut warn: Option<String> = None;
        let mut tm_cache: Option<Option<libc::tm>> = None;
        let mut get_tm = || *tm_cache.get_or_insert_with(|| time::broken_down(now, self.zone));
        let mut add_warn = |w: String| match &mut warn {
            Some(s) => s.push_str(&w),
            None => warn = Some(w),
        };
        const TIME_ERR: &str = "Error obtaining system time.\n";
        for item in &self.items {
            match *item {
                Item::Lit(a, b) => out.extend_from_slice(&self.lit[a..b]),
                Item::Nanos => {
                    let _ = write!(out, "{:09}", now.nanos);
                }
                Item::EpochSecs => {
                    let _ = write!(out, "{}", now.secs);
                }
                Item::Strftime(fmt) => match get_tm() {
                    Some(tm) => {
                        let mut buf = [0u8; 100];
                        let n = time::strftime(&mut buf, &fmt, &tm);
                        out.extend_from_slice(&buf[..n]);
                    }
                    None => {
                        // mosquitto abandons the rest of the line here.
                        add_warn(TIME_ERR.to_string());
                        break;
                    }
                },
                Item::Spec(spec) => {
                    let needs_tm = spec.conv == b'I'
                        || (matches!(spec.conv, b'j' | b'J') && !self.tst_cached(now.secs));
                    let tm = if needs_tm { get_tm() } else { None };
                    if needs_tm && tm.is_none() {
                        add_warn(TIME_ERR.to_string());
                        continue;
                    }
                    if let Some(w) = self.percent(msg, now, tm.as_ref(), spec, out) {
                        add_warn(w);
                    }
                }
            }
        }
        if self.eol {
            out.push(b'\n');
        }
        warn
    }

    /// One `%` conversion.
    fn percent(
        &self,
        msg: &Received,
        now: Timestamp,
        tm: Option<&libc::tm>,
        spec: Spec,
        out: &mut Vec<u8>,
    ) -> Option<String> {
        let pad = if spec.zero { b'0' } else { b' ' };
        let props = msg.properties;
        // The value of the first property of a kind (mosquitto prints only that one).
        macro_rules! first {
            ($kind:ident) => {
                props.iter().find_map(|p| match p {
                    Property::$kind(v) => Some(v),
                    _ => None,
                })
            };
        }
        match spec.conv {
            b't' => write_str(out, json::c_str(msg.topic.as_bytes()), spec),
            b'p' => write_payload(out, msg.payload, None, spec),
            b'x' => write_payload(out, msg.payload, Some(b"0123456789abcdef"), spec),
            b'X' => write_payload(out, msg.payload, Some(b"0123456789ABCDEF"), spec),
            b'l' => write_int(out, msg.payload.len() as i64, spec),
            b'm' => write_int(out, msg.mid as i64, spec),
            b'q' => out.push(b'0'.wrapping_add(msg.qos)),
            b'r' => out.push(if msg.retain { b'1' } else { b'0' }),
            b'I' => {
                if let Some(tm) = tm {
                    let mut buf = [0u8; 100];
                    let n = time::strftime(&mut buf, b"%FT%T%z\0", tm);
                    if n > 0 {
                        write_str(out, &buf[..n], spec);
                    } else {
                        blank(out, b' ', spec.width);
                    }
                }
            }
            b'U' => {
                let _ = write!(out, "{}.{:09}", now.secs, now.nanos);
            }
            b'j' | b'J' if tm.is_some() || self.tst_cached(now.secs) => {
                let start = out.len();
                if !self.json(msg, now, tm, spec.conv == b'J', out) {
                    out.truncate(start);
                    return Some(format!(
                        "Error: Message payload is not valid JSON on topic {}.\n",
                        String::from_utf8_lossy(json::c_str(msg.topic.as_bytes()))
                    ));
                }
            }
            b'A' => match first!(TopicAlias).copied() {
                Some(v) => write_int(out, v as i64, spec),
                None => blank(out, pad, spec.width),
            },
            b'C' => match first!(ContentType) {
                Some(v) => write_str(out, json::c_str(v.as_bytes()), spec),
                None => blank(out, b' ', spec.width),
            },
            b'D' => {
                if let Some(v) = first!(CorrelationData) {
                    out.extend_from_slice(v);
                }
            }
            b'E' => match first!(MessageExpiryInterval).copied() {
                Some(v) => write_int(out, v as i32 as i64, spec),
                None => blank(out, pad, spec.width),
            },
            b'F' => match first!(PayloadFormatIndicator).copied() {
                Some(v) => write_int(out, v as i64, spec),
                None => blank(out, pad, spec.width),
            },
            b'P' => {
                let mut first = true;
                for p in props {
                    if let Property::UserProperty(k, v) = p {
                        if !first {
                            out.push(b' ');
                        }
                        first = false;
                        out.extend_from_slice(json::c_str(k.as_bytes()));
                        out.push(b':');
                        out.extend_from_slice(json::c_str(v.as_bytes()));
                    }
                }
            }
            b'R' => {
                if let Some(v) = first!(ResponseTopic) {
                    write_str(out, json::c_str(v.as_bytes()), spec);
                }
            }
            b'S' => match first!(SubscriptionIdentifier).copied() {
                Some(v) => write_int(out, v as i32 as i64, spec),
                None => blank(out, pad, spec.width),
            },
            _ => {}
        }
        None
    }

    /// `%j` (`parse == false`) or `%J`: the message as one JSON object. Returns false
    /// when `%J`'s payload is not valid JSON (the caller drops what was appended).
    fn json(
        &self,
        msg: &Received,
        now: Timestamp,
        tm: Option<&libc::tm>,
        parse: bool,
        out: &mut Vec<u8>,
    ) -> bool {
        let pretty = self.pretty;
        let mut root = Obj::open(out, 1, pretty);

        root.key(out, b"tst");
        self.tst(now, tm, out);

        root.key(out, b"topic");
        json::write_string(out, msg.topic.as_bytes());
        root.key(out, b"qos");
        let _ = write!(out, "{}", msg.qos);
        root.key(out, b"retain");
        out.push(if msg.retain { b'1' } else { b'0' });
        root.key(out, b"payloadlen");
        let _ = write!(out, "{}", msg.payload.len());
        if msg.qos > 0 {
            root.key(out, b"mid");
            let _ = write!(out, "{}", msg.mid);
        }
        if !msg.properties.is_empty() {
            root.key(out, b"properties");
            self.json_properties(msg.properties, USER_PROPERTIES_AS_ARRAY, out);
        }
        root.key(out, b"payload");
        if msg.payload.is_empty() {
            out.extend_from_slice(b"null");
        } else if parse {
            if !json::reprint(out, msg.payload, pretty, 1) {
                return false;
            }
        } else {
            json::write_string(out, msg.payload);
            if msg.payload.contains(&0) || std::str::from_utf8(msg.payload).is_err() {
                root.key(out, b"payload_base64");
                out.push(b'"');
                json::write_base64(out, msg.payload);
                out.push(b'"');
            }
        }
        root.close(out);
        true
    }

    /// Whether the `tst` text of second `secs` is at hand (no local time needed).
    fn tst_cached(&self, secs: i64) -> bool {
        matches!(&*self.tst.borrow(), Some((s, _)) if *s == secs)
    }

    /// JSON `tst`: strftime("%Y-%m-%dT%H:%M:%S.000000%z") with the six zeros replaced by
    /// the microseconds. The text of the second is kept: messages arrive many a second
    /// and local time is slow to compute. `tm` (the local time of `now`) is needed only
    /// when `now` falls in another second than the kept one.
    fn tst(&self, now: Timestamp, tm: Option<&libc::tm>, out: &mut Vec<u8>) {
        let mut kept = self.tst.borrow_mut();
        let text = match (&mut *kept, tm) {
            (Some((s, text)), _) if *s == now.secs => text,
            (_, Some(tm)) => {
                let mut buf = [0u8; 100];
                let n = time::strftime(&mut buf, b"%Y-%m-%dT%H:%M:%S.000000%z\0", tm);
                &mut kept.insert((now.secs, buf[..n].to_vec())).1
            }
            (_, None) => return,
        };
        let mut buf = [0u8; 100];
        let n = text.len().min(buf.len());
        buf[..n].copy_from_slice(&text[..n]);
        if n >= 26 {
            let mut us = NumBuf::default();
            let _ = write!(us, "{:06}", now.nanos / 1000);
            buf[20..26].copy_from_slice(&us.0[..6]);
        }
        json::write_string(out, &buf[..n]);
    }

    fn json_properties(&self, props: &[Property], users_as_array: bool, out: &mut Vec<u8>) {
        let pretty = self.pretty;
        let mut obj = Obj::open(out, 2, pretty);
        let mut users_done = false;
        for p in props {
            match p {
                Property::PayloadFormatIndicator(v) => {
                    obj.key(out, b"payload-format-indicator");
                    let _ = write!(out, "{v}");
                }
                Property::MessageExpiryInterval(v) => {
                    obj.key(out, b"message-expiry-interval");
                    let _ = write!(out, "{v}");
                }
                Property::ContentType(v) => {
                    obj.key(out, b"content-type");
                    json::write_string(out, v.as_bytes());
                }
                Property::ResponseTopic(v) => {
                    obj.key(out, b"response-topic");
                    json::write_string(out, v.as_bytes());
                }
                Property::CorrelationData(v) => {
                    obj.key(out, b"correlation-data");
                    json::write_string(out, v);
                }
                Property::SubscriptionIdentifier(v) => {
                    obj.key(out, b"subscription-identifier");
                    let _ = write!(out, "{v}");
                }
                Property::TopicAlias(v) => {
                    obj.key(out, b"topic-alias");
                    let _ = write!(out, "{v}");
                }
                Property::UserProperty(..) => {
                    if users_done {
                        continue;
                    }
                    users_done = true;
                    obj.key(out, b"user-properties");
                    let users = props.iter().filter_map(|p| match p {
                        Property::UserProperty(k, v) => Some((k, v)),
                        _ => None,
                    });
                    if users_as_array {
                        // develop's shape: [{"k":"v1"}, {"k":"v2"}] (array adds a level).
                        out.push(b'[');
                        for (n, (k, v)) in users.enumerate() {
                            if n > 0 {
                                out.push(b',');
                                if pretty {
                                    out.push(b' ');
                                }
                            }
                            let mut one = Obj::open(out, 4, pretty);
                            one.key(out, k.as_bytes());
                            json::write_string(out, v.as_bytes());
                            one.close(out);
                        }
                        out.push(b']');
                    } else {
                        let mut u = Obj::open(out, 3, pretty);
                        for (k, v) in users {
                            u.key(out, k.as_bytes());
                            json::write_string(out, v.as_bytes());
                        }
                        u.close(out);
                    }
                }
            }
        }
        obj.close(out);
    }
}

/// Stack buffer for a few formatted digits.
#[derive(Default)]
struct NumBuf([u8; 8], usize);

impl std::fmt::Write for NumBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.1 + s.len();
        if end > self.0.len() {
            return Err(std::fmt::Error);
        }
        self.0[self.1..end].copy_from_slice(s.as_bytes());
        self.1 = end;
        Ok(())
    }
}

/// A JSON object being printed in cJSON's layout (`depth` = cJSON's print depth).
struct Obj {
    depth: usize,
    first: bool,
    pretty: bool,
}

impl Obj {
    fn open(out: &mut Vec<u8>, depth: usize, pretty: bool) -> Obj {
        out.push(b'{');
        if pretty {
            out.push(b'\n');
        }
        Obj {
            depth,
            first: true,
            pretty,
        }
    }

    /// Start a member: separator, indentation, `"key":` (+ TAB when pretty).
    fn key(&mut self, out: &mut Vec<u8>, key: &[u8]) {
        if !self.first {
            out.push(b',');
            if self.pretty {
                out.push(b'\n');
            }
        }
        self.first = false;
        if self.pretty {
            json::tabs(out, self.depth);
        }
        json::write_string(out, key);
        out.push(b':');
        if self.pretty {
            out.push(b'\t');
        }
    }

    fn close(self, out: &mut Vec<u8>) {
        if self.pretty {
            if !self.first {
                out.push(b'\n');
            }
            json::tabs(out, self.depth - 1);
        }
        out.push(b'}');
    }
}

/// `n` copies of `c` (mosquitto's `formatted_print_blank`).
fn blank(out: &mut Vec<u8>, c: u8, n: usize) {
    out.extend(std::iter::repeat_n(c, n));
}

/// printf `%d` / `%-*d` / `%0*d` / `%*d` as mosquitto's `formatted_print_int` picks them.
/// Padded by hand: Rust's `{:w$}` panics for widths above 65535 (fuzzing found
/// `%70000l`), and widths go up to [`MAX_WIDTH`].
fn write_int(out: &mut Vec<u8>, v: i64, spec: Spec) {
    let digits = v.to_string();
    let pad = spec.width.saturating_sub(digits.len());
    if spec.left {
        out.extend_from_slice(digits.as_bytes());
        blank(out, b' ', pad);
    } else if spec.zero {
        // printf puts the sign before the zeros: %05d of -42 is -0042.
        let (sign, num) = digits.split_at(usize::from(v < 0));
        out.extend_from_slice(sign.as_bytes());
        blank(out, b'0', pad);
        out.extend_from_slice(num.as_bytes());
    } else {
        blank(out, b' ', pad);
        out.extend_from_slice(digits.as_bytes());
    }
}

/// printf `%-*.*s` and friends on bytes (width and precision count bytes, pad spaces).
fn write_str(out: &mut Vec<u8>, s: &[u8], spec: Spec) {
    let s = match spec.prec {
        Some(p) if p < s.len() => &s[..p],
        _ => s,
    };
    let padn = spec.width.saturating_sub(s.len());
    if !spec.left {
        blank(out, b' ', padn);
    }
    out.extend_from_slice(s);
    if spec.left {
        blank(out, b' ', padn);
    }
}

/// `%p` (hex None) and `%x`/`%X` (hex digits given), mosquitto's `write_payload` except
/// for the documented `%Nx` difference.
fn write_payload(out: &mut Vec<u8>, payload: &[u8], hex: Option<&[u8; 16]>, spec: Spec) {
    let w = spec.width;
    let len = payload.len();
    let (shown, padlen): (&[u8], usize) = if w == 0 {
        // No width: whole payload; `%-` then prints len spaces (negative printf width).
        (payload, if spec.left { len } else { 0 })
    } else if hex.is_none() {
        let n = len.min(w);
        (&payload[..n], w - n)
    } else {
        (payload, w.saturating_sub(2 * len))
    };
    if !spec.left {
        blank(out, if spec.zero { b'0' } else { b' ' }, padlen);
    }
    match hex {
        None => out.extend_from_slice(shown),
        Some(digits) => {
            out.reserve(shown.len() * 2);
            for &b in shown {
                out.push(digits[(b >> 4) as usize]);
                out.push(digits[(b & 15) as usize]);
            }
        }
    }
    if spec.left {
        blank(out, b' ', padlen);
    }
}
