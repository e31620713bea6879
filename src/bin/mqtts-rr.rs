//! mqtts-rr: a drop-in replacement for mosquitto_rr. See mqtts-rr(1).
//!
//! `no_main`: the C `main` skips Rust's runtime start-up (stack-guard discovery reads
//! /proc/self/maps, signal handlers), which is a measurable part of a one-shot request.
#![cfg_attr(not(test), no_main)]

#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    mqtts::cli::main(mqtts::options::Client::Rr)
}
