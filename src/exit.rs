//! Exit codes and the failures that end a run.
//!
//! mosquitto's codes are kept wherever mosquitto is deterministic (see the man pages' EXIT
//! STATUS table). A [`Failure`] carries the code and the stderr lines, so the code that
//! finds a problem decides what the user reads, and `main` only prints and exits.

/// Success.
pub const OK: i32 = 0;
/// Usage errors, `--help`, `--version`, and failures before the network loop (as mosquitto).
pub const GENERAL: i32 = 1;
/// Connection lost (mosquitto's MOSQ_ERR_CONN_LOST).
pub const CONN_LOST: i32 = 7;
/// A received topic is not valid UTF-8 (MOSQ_ERR_MALFORMED_UTF8; see
/// `connection::paho_guard`).
pub const MALFORMED_UTF8: i32 = 18;
/// A publish larger than the broker's Maximum Packet Size (MOSQ_ERR_OVERSIZE_PACKET).
pub const OVERSIZE_PACKET: i32 = 25;
/// `-W` timeout after CONNACK (MOSQ_ERR_TIMEOUT).
pub const TIMEOUT: i32 = 27;
/// `-W` or a signal before CONNACK (`exit(-1)` in mosquitto_sub).
pub const BEFORE_CONNACK: i32 = 255;

/// A run that ends unsuccessfully: what to print on stderr and the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: i32,
    /// Lines for stderr, without trailing newlines. Empty = print nothing.
    pub lines: Vec<String>,
    /// Print even with `--quiet` (argument errors; mosquitto prints those regardless).
    pub always: bool,
}

impl Failure {
    pub fn new(code: i32, line: impl Into<String>) -> Self {
        Failure {
            code,
            lines: vec![line.into()],
            always: false,
        }
    }
    pub fn with_lines(code: i32, lines: Vec<String>) -> Self {
        Failure {
            code,
            lines,
            always: false,
        }
    }
    /// Add a line of facts or advice under the main line.
    pub fn and(mut self, line: impl Into<String>) -> Self {
        self.lines.push(line.into());
        self
    }
    /// Write the lines to stderr unless `quiet` (and not `always`).
    pub fn report(&self, quiet: bool) {
        use std::io::Write;
        if quiet && !self.always {
            return;
        }
        let mut err = std::io::stderr().lock();
        for l in &self.lines {
            let _ = writeln!(err, "{l}");
        }
    }
}

/// mosquitto's `mosquitto_connack_string` for MQTT v3.x return codes.
pub fn connack_string(rc: u8) -> &'static str {
    match rc {
        0 => "Connection Accepted.",
        1 => "Connection Refused: unacceptable protocol version.",
        2 => "Connection Refused: identifier rejected.",
        3 => "Connection Refused: broker unavailable.",
        4 => "Connection Refused: bad user name or password.",
        5 => "Connection Refused: not authorised.",
        _ => "Connection Refused: unknown reason.",
    }
}

/// mosquitto's `mosquitto_reason_string` for MQTT v5 reason codes.
pub fn reason_string(rc: u8) -> &'static str {
    match rc {
        0 => "Success",
        1 => "Granted QoS 1",
        2 => "Granted QoS 2",
        4 => "Disconnect with Will Message",
        16 => "No matching subscribers",
        17 => "No subscription existed",
        24 => "Continue authentication",
        25 => "Re-authenticate",
        128 => "Unspecified error",
        129 => "Malformed Packet",
        130 => "Protocol Error",
        131 => "Implementation specific error",
        132 => "Unsupported Protocol Version",
        133 => "Client Identifier not valid",
        134 => "Bad User Name or Password",
        135 => "Not authorized",
        136 => "Server unavailable",
        137 => "Server busy",
        138 => "Banned",
        139 => "Server shutting down",
        140 => "Bad authentication method",
        141 => "Keep Alive timeout",
        142 => "Session taken over",
        143 => "Topic Filter invalid",
        144 => "Topic Name invalid",
        145 => "Packet Identifier in use",
        146 => "Packet Identifier not found",
        147 => "Receive Maximum exceeded",
        148 => "Topic Alias invalid",
        149 => "Packet too large",
        150 => "Message rate too high",
        151 => "Quota exceeded",
        152 => "Administrative action",
        153 => "Payload format invalid",
        154 => "Retain not supported",
        155 => "QoS not supported",
        156 => "Use another server",
        157 => "Server moved",
        158 => "Shared Subscriptions not supported",
        159 => "Connection rate exceeded",
        160 => "Maximum connect time",
        161 => "Subscription identifiers not supported",
        162 => "Wildcard Subscriptions not supported",
        _ => "Unknown reason",
    }
}
