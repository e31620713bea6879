//! mqtts: drop-in replacements for mosquitto_pub and mosquitto_sub, built on paho.mqtt.c.
//!
//! Data flows one way: `options` (argv + `config_file` + `url`) → `plan` (what to connect
//! to and how) → `connection` (the paho client) → `trace` / `format` (what the user sees).
//! `publish` and `subscribe` are the two programs' run loops; `exit` holds exit codes.

pub mod config_file;
pub mod exit;
pub mod format;
pub mod options;
pub mod tls;
pub mod url;
