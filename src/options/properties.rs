//! `-D` / `--property`: the property table, which command takes which property, and
//! value parsing.

use super::values::{atol, lossy, pub_topic_ok, valid_mqtt_utf8};
use super::{PropertyArg, PropertyValue, UsageError};

// ───────────────────────────── -D / --property ─────────────────────────────

/// MQTT v5 property value types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropType {
    Byte,
    Int16,
    Int32,
    Varint,
    Binary,
    String,
    StringPair,
}

impl PropType {
    /// mosquitto's numeric type code (used in its "Error adding property" message).
    fn code(self) -> u8 {
        match self {
            PropType::Byte => 1,
            PropType::Int16 => 2,
            PropType::Int32 => 3,
            PropType::Varint => 4,
            PropType::Binary => 5,
            PropType::String => 6,
            PropType::StringPair => 7,
        }
    }
}

/// All MQTT v5 property names mosquitto knows (matched case-insensitively), their
/// identifiers and value types.
pub static PROPERTIES: &[(&str, u8, PropType)] = &[
    ("payload-format-indicator", 1, PropType::Byte),
    ("message-expiry-interval", 2, PropType::Int32),
    ("content-type", 3, PropType::String),
    ("response-topic", 8, PropType::String),
    ("correlation-data", 9, PropType::Binary),
    ("subscription-identifier", 11, PropType::Varint),
    ("session-expiry-interval", 17, PropType::Int32),
    ("assigned-client-identifier", 18, PropType::String),
    ("server-keep-alive", 19, PropType::Int16),
    ("authentication-method", 21, PropType::String),
    ("authentication-data", 22, PropType::Binary),
    ("request-problem-information", 23, PropType::Byte),
    ("will-delay-interval", 24, PropType::Int32),
    ("request-response-information", 25, PropType::Byte),
    ("response-information", 26, PropType::String),
    ("server-reference", 28, PropType::String),
    ("reason-string", 31, PropType::String),
    ("receive-maximum", 33, PropType::Int16),
    ("topic-alias-maximum", 34, PropType::Int16),
    ("topic-alias", 35, PropType::Int16),
    ("maximum-qos", 36, PropType::Byte),
    ("retain-available", 37, PropType::Byte),
    ("user-property", 38, PropType::StringPair),
    ("maximum-packet-size", 39, PropType::Int32),
    ("wildcard-subscription-available", 40, PropType::Byte),
    ("subscription-identifier-available", 41, PropType::Byte),
    ("shared-subscription-available", 42, PropType::Byte),
];

/// Packet names `-D` understands (case-insensitive), in mosquitto's spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cmd {
    Connect,
    Connack,
    Publish,
    Puback,
    Pubrec,
    Pubrel,
    Pubcomp,
    Subscribe,
    Unsubscribe,
    Disconnect,
    Auth,
    Will,
}

const CMDS: &[(&str, Cmd)] = &[
    ("connect", Cmd::Connect),
    ("connack", Cmd::Connack),
    ("publish", Cmd::Publish),
    ("puback", Cmd::Puback),
    ("pubrec", Cmd::Pubrec),
    ("pubrel", Cmd::Pubrel),
    ("pubcomp", Cmd::Pubcomp),
    ("subscribe", Cmd::Subscribe),
    ("unsubscribe", Cmd::Unsubscribe),
    ("disconnect", Cmd::Disconnect),
    ("auth", Cmd::Auth),
    ("will", Cmd::Will),
];

pub(super) fn cmd_name(c: Cmd) -> &'static str {
    CMDS.iter()
        .find(|(_, x)| *x == c)
        .map(|(n, _)| *n)
        .unwrap_or("")
}

/// May property `id` appear in packet `cmd` (MQTT v5 table as mosquitto encodes it)?
fn prop_allowed(cmd: Cmd, id: u8) -> bool {
    use Cmd::*;
    match id {
        1 | 2 | 3 | 8 | 9 => matches!(cmd, Publish | Will),
        11 => matches!(cmd, Publish | Subscribe),
        17 => matches!(cmd, Connect | Connack | Disconnect),
        21 | 22 => matches!(cmd, Connect | Connack | Auth),
        18 | 19 | 26 | 36 | 37 | 40 | 41 | 42 => cmd == Connack,
        24 => cmd == Will,
        23 | 25 => cmd == Connect,
        28 => matches!(cmd, Connack | Disconnect),
        31 => !matches!(cmd, Connect | Publish | Subscribe | Unsubscribe),
        33 | 34 | 39 => matches!(cmd, Connect | Connack),
        35 => cmd == Publish,
        38 => true,
        _ => false,
    }
}

fn prop_err(text: String) -> UsageError {
    UsageError {
        message: text,
        help_line: true,
        usage_on_stdout: false,
    }
}

/// Parse `-D` words starting at `args[at]` (the command). Returns the property and how many
/// words were consumed.
pub(super) fn parse_property(
    args: &[Vec<u8>],
    at: usize,
) -> Result<(PropertyArg, usize), UsageError> {
    let not_enough = || {
        prop_err("Error: --property argument given but not enough arguments specified.\n\n".into())
    };
    if at + 2 >= args.len() {
        return Err(not_enough());
    }
    let cmdname = &args[at];
    let cmd = CMDS
        .iter()
        .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(cmdname))
        .map(|(_, c)| *c)
        .ok_or_else(|| {
            prop_err("Error: Invalid command given in --property argument.\n\n".into())
        })?;
    let propname = &args[at + 1];
    let &(_, id, ty) = PROPERTIES
        .iter()
        .find(|(n, _, _)| n.as_bytes().eq_ignore_ascii_case(propname))
        .ok_or_else(|| {
            prop_err("Error: Invalid property name given in --property argument.\n\n".into())
        })?;
    let (pn, cn) = (lossy(propname), lossy(cmdname));
    if !prop_allowed(cmd, id) {
        return Err(prop_err(format!(
            "Error: {pn} property not allowed for {cn} in --property argument.\n\n"
        )));
    }
    let (key, value, used) = if ty == PropType::StringPair {
        if at + 3 >= args.len() {
            return Err(not_enough());
        }
        (Some(&args[at + 2]), &args[at + 3], 4)
    } else {
        (None, &args[at + 2], 3)
    };
    let unsupported = || {
        prop_err(format!(
            "Error: {pn} property not supported for {cn} in --property argument.\n\n"
        ))
    };
    match cmd {
        Cmd::Publish if id == 11 => return Err(unsupported()),
        Cmd::Subscribe if id != 11 && id != 38 => return Err(unsupported()),
        Cmd::Auth | Cmd::Puback | Cmd::Pubrec | Cmd::Pubrel | Cmd::Pubcomp => {
            return Err(unsupported());
        }
        // mosquitto: suback/unsuback would be "not supported" too, but they are not packet
        // names it parses; connack passes the checks and then fails without a message.
        Cmd::Connack => return Err(prop_err(String::new())),
        _ => {}
    }
    let adding_failed = || prop_err(format!("Error adding property {pn} {}\n", ty.code()));
    let range = |max: i64| -> Result<u32, UsageError> {
        let v = atol(value);
        if v < 0 || v > max {
            return Err(prop_err(format!(
                "Error: Property value ({v}) out of range for property {pn}.\n\n"
            )));
        }
        Ok(v as u32)
    };
    let value = match ty {
        PropType::Byte => PropertyValue::Int(range(255)?),
        PropType::Int16 => PropertyValue::Int(range(65535)?),
        PropType::Int32 => PropertyValue::Int(range(u32::MAX as i64)?),
        PropType::Varint => {
            let v = range(u32::MAX as i64)?;
            if v > 268_435_455 {
                return Err(adding_failed());
            }
            PropertyValue::Int(v)
        }
        PropType::Binary => {
            if value.len() > 65535 {
                return Err(prop_err(format!(
                    "Error: Property value too long for property {pn}.\n\n"
                )));
            }
            PropertyValue::Binary(value.clone())
        }
        PropType::String => {
            if !valid_mqtt_utf8(value) {
                return Err(adding_failed());
            }
            PropertyValue::String(lossy(value))
        }
        PropType::StringPair => {
            let k = key.map(|k| k.as_slice()).unwrap_or(b"");
            if !valid_mqtt_utf8(k) {
                return Err(adding_failed());
            }
            // mosquitto 2.0 checks only the name of a user property, not its value.
            PropertyValue::Pair(lossy(k), lossy(value))
        }
    };
    Ok((
        PropertyArg {
            command: cmd_name(cmd).to_string(),
            id,
            value,
        },
        used,
    ))
}

/// mosquitto_property_check_all for one packet's list: value sanity, then duplicates.
/// Err holds mosquitto_strerror's text.
pub(super) fn check_props(cmd: Cmd, props: &[&PropertyArg]) -> Result<(), &'static str> {
    const PROTOCOL: &str = "A network protocol error occurred when communicating with the broker.";
    for (i, p) in props.iter().enumerate() {
        let bad = match (&p.value, p.id) {
            (PropertyValue::Int(v), 1 | 23 | 25 | 36 | 37 | 40 | 41 | 42) => *v > 1,
            (PropertyValue::Int(v), 39 | 33 | 35) => *v == 0,
            (PropertyValue::String(t), 8) => t.is_empty() || !pub_topic_ok(t.as_bytes()),
            _ => false,
        };
        if bad || !prop_allowed(cmd, p.id) {
            return Err(PROTOCOL);
        }
        if p.id != 38 && props[i + 1..].iter().any(|q| q.id == p.id) {
            return Err("Duplicate property in property list");
        }
    }
    Ok(())
}
