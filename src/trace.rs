//! The `-d` trace: paho's protocol trace turned into mosquitto's debug lines.
//!
//! paho.mqtt.c reports every packet it sends or receives through a process-wide trace
//! callback (level PROTOCOL), e.g. `20261123 032542.228 5 id -> PUBLISH msgid: 1 qos: 1 …`.
//! [`install`] registers that callback; each line is parsed into a [`PacketEvent`] and sent
//! down the one event channel the run loop reads, in the order paho saw the packets. The
//! run loop adds what paho's line lacks (the client id to show, the topic, mosquitto's
//! QoS 0 message counter) and [`Debug::line`] prints mosquitto's format.

use std::sync::mpsc::Sender;
use std::sync::{Mutex, OnceLock};

/// MQTT control packet types that appear in the trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Connect,
    Connack,
    Publish,
    Puback,
    Pubrec,
    Pubrel,
    Pubcomp,
    Subscribe,
    Suback,
    Unsubscribe,
    Unsuback,
    Pingreq,
    Pingresp,
    Disconnect,
}

/// One packet paho sent (`sent == true`) or received, with the numbers its trace line gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketEvent {
    pub sent: bool,
    pub kind: Kind,
    /// Packet identifier (`msgid`); 0 when the line has none (QoS 0 PUBLISH).
    pub msgid: u16,
    /// PUBLISH: QoS and retain flag.
    pub qos: u8,
    pub retained: bool,
    /// Received PUBLISH: the DUP flag (read off the packet by [`crate::tap`]).
    pub dup: bool,
    /// PUBLISH: payload length.
    pub len: usize,
    /// CONNACK return code; received DISCONNECT reason code; the v5 reason code of a
    /// received PUBACK/PUBCOMP (read off the packet by [`crate::tap`]; 0 when unknown).
    pub rc: i32,
}

/// Parse the text paho gives the trace callback. `client_id` is the id paho was created
/// with (it prints it after the socket number). None for lines that are not packets.
pub fn parse(line: &str, client_id: &str) -> Option<PacketEvent> {
    // "YYYYMMDD HHMMSS.mmm " timestamp, then "<fd> <client id> -> TEXT" or "<- TEXT".
    let rest = line.get(20..)?;
    let sp = rest.find(' ')?;
    if !rest[..sp].bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return None;
    }
    let rest = rest[sp + 1..].strip_prefix(client_id)?;
    let (sent, text) = if let Some(t) = rest.strip_prefix(" -> ") {
        (true, t)
    } else if let Some(t) = rest.strip_prefix(" <- ") {
        (false, t)
    } else {
        return None;
    };
    let (word, args) = text.split_once(' ').unwrap_or((text, ""));
    let kind = match word {
        "CONNECT" => Kind::Connect,
        "CONNACK" => Kind::Connack,
        "PUBLISH" => Kind::Publish,
        "PUBACK" => Kind::Puback,
        "PUBREC" => Kind::Pubrec,
        "PUBREL" => Kind::Pubrel,
        "PUBCOMP" => Kind::Pubcomp,
        "SUBSCRIBE" => Kind::Subscribe,
        "SUBACK" => Kind::Suback,
        "UNSUBSCRIBE" => Kind::Unsubscribe,
        "UNSUBACK" => Kind::Unsuback,
        "PINGREQ" => Kind::Pingreq,
        "PINGRESP" => Kind::Pingresp,
        "DISCONNECT" => Kind::Disconnect,
        _ => return None,
    };
    // Only look at the fixed fields, never at the payload preview that ends PUBLISH lines.
    let fields = args.split(" payload len(").next().unwrap_or("");
    let len = args
        .split_once(" payload len(")
        .and_then(|(_, t)| number_at(t));
    let rc = match (kind, sent) {
        (Kind::Connack, false) => field(fields, "rc").unwrap_or(0) as i32,
        (Kind::Disconnect, false) => {
            fields.strip_prefix('(').and_then(number_at).unwrap_or(0) as i32
        }
        _ => 0,
    };
    Some(PacketEvent {
        sent,
        kind,
        msgid: field(fields, "msgid").unwrap_or(0) as u16,
        qos: field(fields, "qos").unwrap_or(0) as u8,
        retained: field(fields, "retained").unwrap_or(0) != 0,
        dup: false,
        len: len.unwrap_or(0) as usize,
        rc,
    })
}

/// The number after `name` (and an optional `:` and spaces) in `s`.
fn field(s: &str, name: &str) -> Option<u64> {
    let mut from = 0;
    while let Some(i) = s[from..].find(name) {
        let start = from + i;
        let before_ok = start == 0 || s.as_bytes()[start - 1] == b' ';
        let after = &s[start + name.len()..];
        if before_ok {
            let after = after.trim_start_matches(':').trim_start_matches(' ');
            if let Some(n) = number_at(after) {
                return Some(n);
            }
        }
        from = start + name.len();
    }
    None
}

fn number_at(s: &str) -> Option<u64> {
    let end = s.bytes().take_while(u8::is_ascii_digit).count();
    s[..end].parse().ok()
}

/// Where parsed packet events go; set once by [`install`].
struct Sink {
    client_id: String,
    tx: Box<dyn Fn(PacketEvent) + Send>,
}

static SINK: OnceLock<Mutex<Option<Sink>>> = OnceLock::new();

extern "C" fn on_trace(level: paho_mqtt_sys::MQTTASYNC_TRACE_LEVELS, message: *mut libc::c_char) {
    if level != paho_mqtt_sys::MQTTASYNC_TRACE_LEVELS_MQTTASYNC_TRACE_PROTOCOL || message.is_null()
    {
        return;
    }
    // SAFETY: paho passes a NUL-terminated string valid for the duration of the call.
    let text = unsafe { std::ffi::CStr::from_ptr(message) }.to_string_lossy();
    let Some(lock) = SINK.get() else { return };
    let Ok(guard) = lock.lock() else { return };
    if let Some(sink) = guard.as_ref()
        && let Some(mut ev) = parse(&text, &sink.client_id)
    {
        complete_from_tap(&mut ev);
        (sink.tx)(ev);
    }
}

/// Add what paho's line lacks from the packet itself: the reason code of a received
/// PUBACK/PUBCOMP, the DUP flag of a received PUBLISH.
fn complete_from_tap(ev: &mut PacketEvent) {
    let code = match (ev.kind, ev.sent) {
        (Kind::Publish, false) => {
            if let Some(seen) = crate::tap::take(3) {
                ev.dup = seen.dup;
            }
            return;
        }
        (Kind::Puback, false) => 4,
        (Kind::Pubcomp, false) => 7,
        _ => return,
    };
    if let Some(seen) = crate::tap::take(code)
        && seen.msgid == ev.msgid
    {
        ev.rc = seen.rc.into();
    }
}

/// Route paho's protocol trace into `send`. Call before the client is created.
/// `client_id` is the id given to paho.
pub fn install<T: Send + 'static>(client_id: &str, tx: Sender<T>, wrap: fn(PacketEvent) -> T) {
    let tx = Mutex::new(tx);
    let sink = Sink {
        client_id: client_id.to_string(),
        tx: Box::new(move |ev| {
            if let Ok(tx) = tx.lock() {
                let _ = tx.send(wrap(ev));
            }
        }),
    };
    *SINK
        .get_or_init(|| Mutex::new(None))
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = Some(sink);
    crate::tap::enable();
    // SAFETY: plain setters of process-wide settings in the C library.
    unsafe {
        paho_mqtt_sys::MQTTAsync_setTraceCallback(Some(on_trace));
        paho_mqtt_sys::MQTTAsync_setTraceLevel(
            paho_mqtt_sys::MQTTASYNC_TRACE_LEVELS_MQTTASYNC_TRACE_PROTOCOL,
        );
    }
}

/// Formats mosquitto's debug lines (`Client <id> sending …`).
#[derive(Clone, Debug, Default)]
pub struct Debug {
    /// The client id to show; empty = `null` (mosquitto 2.0.14+).
    pub id: String,
}

impl Debug {
    /// The id as mosquitto prints it.
    pub fn shown_id(&self) -> &str {
        self.who()
    }

    fn who(&self) -> &str {
        if self.id.is_empty() { "null" } else { &self.id }
    }

    /// mosquitto's line for packet `ev`. `topic` and `mid` complete PUBLISH lines, whose
    /// topic paho does not trace and whose QoS 0 mid mosquitto counts itself.
    /// A received PUBACK/PUBCOMP shows `ev.rc`, its v5 reason code read off the packet.
    pub fn line(&self, ev: &PacketEvent, topic: &str, mid: u16) -> Option<String> {
        let who = self.who();
        let dir = if ev.sent { "sending" } else { "received" };
        Some(match (ev.kind, ev.sent) {
            (Kind::Connect, true) => format!("Client {who} sending CONNECT"),
            (Kind::Connack, false) => format!("Client {who} received CONNACK ({})", ev.rc),
            (Kind::Publish, _) => format!(
                "Client {who} {dir} PUBLISH (d{}, q{}, r{}, m{mid}, '{topic}', ... ({} bytes))",
                ev.dup as u8, ev.qos, ev.retained as u8, ev.len
            ),
            (Kind::Puback, true) => format!("Client {who} sending PUBACK (m{}, rc0)", ev.msgid),
            (Kind::Puback, false) => {
                format!(
                    "Client {who} received PUBACK (Mid: {}, RC:{})",
                    ev.msgid, ev.rc
                )
            }
            (Kind::Pubrec, true) => format!("Client {who} sending PUBREC (m{}, rc0)", ev.msgid),
            (Kind::Pubrec, false) => format!("Client {who} received PUBREC (Mid: {})", ev.msgid),
            (Kind::Pubrel, true) => format!("Client {who} sending PUBREL (m{})", ev.msgid),
            (Kind::Pubrel, false) => format!("Client {who} received PUBREL (Mid: {})", ev.msgid),
            (Kind::Pubcomp, true) => format!("Client {who} sending PUBCOMP (m{})", ev.msgid),
            (Kind::Pubcomp, false) => {
                format!(
                    "Client {who} received PUBCOMP (Mid: {}, RC:{})",
                    ev.msgid, ev.rc
                )
            }
            (Kind::Suback, false) => format!("Client {who} received SUBACK"),
            (Kind::Unsuback, false) => format!("Client {who} received UNSUBACK"),
            (Kind::Pingreq, true) => format!("Client {who} sending PINGREQ"),
            (Kind::Pingresp, false) => format!("Client {who} received PINGRESP"),
            (Kind::Disconnect, true) => format!("Client {who} sending DISCONNECT"),
            (Kind::Disconnect, false) => format!("Received DISCONNECT ({})", ev.rc),
            // SUBSCRIBE/UNSUBSCRIBE lines name each topic: the run loop writes them.
            _ => return None,
        })
    }

    /// A v5 broker may assign the client id in CONNACK; mosquitto shows it from then on.
    pub fn adopt_assigned_id(&mut self, rsp: &paho_mqtt::ServerResponse) {
        if let Some(id) = rsp
            .properties()
            .get_string(paho_mqtt::PropertyCode::AssignedClientIdentifer)
        {
            self.id = id;
        }
    }

    /// `sending SUBSCRIBE` lines, one per topic, as mosquitto prints them.
    pub fn subscribe_lines(
        &self,
        mid: u16,
        topics: &[String],
        qos: u8,
        options: u8,
    ) -> Vec<String> {
        let who = self.who();
        topics
            .iter()
            .map(|t| {
                format!(
                    "Client {who} sending SUBSCRIBE (Mid: {mid}, Topic: {t}, QoS: {qos}, Options: 0x{options:02x})"
                )
            })
            .collect()
    }

    /// `sending UNSUBSCRIBE` line.
    pub fn unsubscribe_line(&self, mid: u16, topic: &str) -> String {
        format!(
            "Client {} sending UNSUBSCRIBE (Mid: {mid}, Topic: {topic})",
            self.who()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PacketEvent {
        parse(s, "probe-1").expect(s)
    }

    #[test]
    fn parses_paho_protocol_lines() {
        let e = p("20261123 032542.228 5 probe-1 -> CONNECT version 4 clean: 1 (0)");
        assert_eq!((e.sent, e.kind), (true, Kind::Connect));
        let e = p("20261123 032542.228 5 probe-1 <- CONNACK rc: 5");
        assert_eq!((e.sent, e.kind, e.rc), (false, Kind::Connack, 5));
        let e = p(
            "20261123 032542.228 5 probe-1 -> PUBLISH msgid: 7 qos: 1 retained: 1 rc 0 payload len(4): ping",
        );
        assert_eq!(
            (e.kind, e.msgid, e.qos, e.retained, e.len),
            (Kind::Publish, 7, 1, true, 4)
        );
        let e = p(
            "20261123 032542.234 5 probe-1 -> PUBLISH qos: 0 retained: 0 rc: 0 payload len(12): msgid: 9 qos: 2",
        );
        assert_eq!((e.msgid, e.qos, e.retained, e.len), (0, 0, false, 12));
        let e = p("20261123 032542.234 5 probe-1 <- PUBCOMP msgid:3");
        assert_eq!((e.kind, e.msgid), (Kind::Pubcomp, 3));
        let e = p("20261123 032542.234 5 probe-1 -> PUBREL msgid: 1 (0)");
        assert_eq!((e.sent, e.kind, e.msgid), (true, Kind::Pubrel, 1));
        let e = p("20261123 032542.234 5 probe-1 <- PUBREL msgid 2");
        assert_eq!((e.sent, e.kind, e.msgid), (false, Kind::Pubrel, 2));
        let e = p("20261123 032542.234 5 probe-1 <- DISCONNECT (142)");
        assert_eq!((e.sent, e.kind, e.rc), (false, Kind::Disconnect, 142));
    }

    #[test]
    fn empty_client_id_and_non_packet_lines() {
        let e = parse("20261123 032542.228 5  -> PINGREQ (0)", "").unwrap();
        assert_eq!((e.sent, e.kind), (true, Kind::Pingreq));
        assert_eq!(
            parse("20261123 032542.228 5 probe-1 -> CONNECT (0)", "other"),
            None
        );
        assert_eq!(
            parse("20261123 032542.228 SSL cipher available: 1:x", ""),
            None
        );
        assert_eq!(parse("short", ""), None);
    }

    #[test]
    fn mosquitto_lines() {
        let d = Debug { id: String::new() };
        let e = p(
            "20261123 032542.228 5 probe-1 -> PUBLISH qos: 0 retained: 0 rc: 0 payload len(4): ping",
        );
        assert_eq!(
            d.line(&e, "a/b", 1).unwrap(),
            "Client null sending PUBLISH (d0, q0, r0, m1, 'a/b', ... (4 bytes))"
        );
        let mut e = p("20261123 032542.228 5 probe-1 <- PUBACK msgid: 1");
        e.rc = 16;
        let d = Debug { id: "x".into() };
        assert_eq!(
            d.line(&e, "", 0).unwrap(),
            "Client x received PUBACK (Mid: 1, RC:16)"
        );
        assert_eq!(
            d.subscribe_lines(1, &["a".into(), "b/#".into()], 2, 0x20),
            vec![
                "Client x sending SUBSCRIBE (Mid: 1, Topic: a, QoS: 2, Options: 0x20)",
                "Client x sending SUBSCRIBE (Mid: 1, Topic: b/#, QoS: 2, Options: 0x20)"
            ]
        );
    }
}
