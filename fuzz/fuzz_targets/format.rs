//! `-F` format strings: the check, then rendering (checked or not) one message whose
//! topic, payload and properties come from the input too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mqtts::format::{self, Output, Property, Received, Timestamp, Zone};

fuzz_target!(|data: &[u8]| {
    if data.len() < 12 {
        return;
    }
    let (head, rest) = data.split_at(12);
    let flags = head[0];
    let split = (head[1] as usize).min(rest.len());
    let (fmt, body) = rest.split_at(split);
    let tsplit = (head[2] as usize).min(body.len());
    let (topic, payload) = body.split_at(tsplit);
    let topic = String::from_utf8_lossy(topic);
    let secs = i64::from_le_bytes(head[4..12].try_into().unwrap()) >> 20;
    let props = vec![
        Property::PayloadFormatIndicator(head[3]),
        Property::MessageExpiryInterval(u32::from(head[3]) << 8),
        Property::ContentType(topic.to_string()),
        Property::CorrelationData(payload.to_vec()),
        Property::UserProperty(topic.to_string(), String::from_utf8_lossy(payload).into()),
        Property::SubscriptionIdentifier(u32::from(head[2])),
        Property::TopicAlias(u16::from(head[1])),
        Property::ResponseTopic(String::new()),
    ];
    let n_props = (flags >> 4) as usize % (props.len() + 1);
    let _ = format::check_format_bytes(fmt);
    let out = Output::from_bytes(flags & 1 != 0, flags & 2 != 0, Some(fmt), flags & 4 != 0)
        .with_zone(Zone::Fixed(i32::from(head[3] as i8) * 900));
    let msg = Received {
        topic: &topic,
        payload,
        qos: head[3] % 3,
        retain: flags & 8 != 0,
        mid: u16::from_le_bytes([head[1], head[2]]),
        properties: &props[..n_props],
    };
    let mut buf = Vec::new();
    let _ = out.write_message_at(
        &msg,
        Timestamp {
            secs,
            nanos: u32::from(head[0]) * 3_000_000,
        },
        &mut buf,
    );
});
