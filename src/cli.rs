//! What both binaries' `main` do: parse, handle `--help`/`--version` and argument errors
//! exactly as mosquitto, then hand over to the publish or subscribe run.

use crate::exit;
use crate::options::{self, Client, Parsed};
use std::io::Write;

/// Run `client` with this process's arguments. Never returns.
pub fn main(client: Client) -> ! {
    // Rust ignores SIGPIPE; mosquitto's clients are ended by it (a shell sees 141), and a
    // closed pipe must end `mqtts-sub … | head -1` quietly.
    // SAFETY: resetting a signal disposition at start-up, before any thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let mut argv = std::env::args_os();
    // Messages name the program as invoked (a link named mosquitto_pub says mosquitto_pub).
    let name = options::invoked_name(client, argv.next().as_deref());
    let args: Vec<std::ffi::OsString> = argv.collect();
    let opts = match options::parse(client, &args) {
        Ok((Parsed::Run, opts)) => opts,
        Ok((Parsed::Help, _)) => {
            finish(options::usage(client, &name).as_bytes(), b"", exit::GENERAL)
        }
        Ok((Parsed::Version, _)) => {
            let text = format!("{}{}", options::version_line(client), library_versions());
            finish(text.as_bytes(), b"", exit::GENERAL)
        }
        Err(e) => {
            let (stderr, stdout, code) = options::render(client, &name, &e);
            finish(&stdout, &stderr, code)
        }
    };
    if let Err(e) = options::option_set_checks(&opts) {
        finish(b"", e.message.as_bytes(), exit::GENERAL);
    }
    if opts.port_invalid.is_some() {
        let msg: &[u8] = if opts.quiet {
            b""
        } else {
            b"Unable to connect (Invalid arguments provided.).\n"
        };
        finish(b"", msg, exit::GENERAL);
    }
    crate::connection::quiet_faults(opts.quiet);
    match client {
        Client::Pub => crate::publish::run(&opts),
        Client::Sub => crate::subscribe::run(&opts),
        Client::Rr => crate::request::run(&opts),
    }
}

/// The versions of the libraries inside: paho.mqtt.c (static) and OpenSSL (dynamic).
fn library_versions() -> String {
    let mut paho = String::from("unknown");
    // SAFETY: returns a pointer to a static, NULL-terminated array of name/value pairs.
    unsafe {
        let mut p = paho_mqtt_sys::MQTTAsync_getVersionInfo();
        while !p.is_null() && !(*p).name.is_null() {
            let name = std::ffi::CStr::from_ptr((*p).name).to_string_lossy();
            if name == "Version" && !(*p).value.is_null() {
                paho = std::ffi::CStr::from_ptr((*p).value as *const libc::c_char)
                    .to_string_lossy()
                    .into_owned();
            }
            p = p.add(1);
        }
    }
    format!("paho.mqtt.c {paho}\n{}\n", openssl::version::version())
}

/// Write `stdout` and `stderr` and exit with `code`.
fn finish(stdout: &[u8], stderr: &[u8], code: i32) -> ! {
    let _ = std::io::stdout().write_all(stdout);
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().write_all(stderr);
    std::process::exit(code)
}
