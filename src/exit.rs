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
/// Keepalive exceeded (MOSQ_ERR_KEEPALIVE).
pub const KEEPALIVE: i32 = 19;
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
