//! mqtts: drop-in replacements for mosquitto_pub, mosquitto_sub and mosquitto_rr, built on
//! paho.mqtt.c.
//!
//! Data flows one way: `options` (argv + `config_file` + `url`) → `plan` (what to connect
//! to and how, with `tls`) → `connection` (the paho client) → `trace` (+ `tap`) / `format` (what the
//! user sees). `publish` and `subscribe` are the run loops (`request` makes mqtts-rr of the
//! latter); `exit` holds the exit codes and `cli` what the binaries' `main` do; `websocket`
//! names a failed WebSocket upgrade (`--ws`).

pub mod cli;
pub mod completions;
pub mod config_file;
pub mod connection;
pub mod exit;
pub mod format;
pub mod options;
pub mod password;
pub mod plan;
pub mod publish;
pub mod request;
pub mod seams;
pub mod sub_trace;
pub mod subscribe;
pub mod tap;
pub mod tls;
pub mod topic_lines;
pub mod trace;
pub mod url;
pub mod websocket;
