//! Config files: split like mosquitto's fgets loop, then parsed as options.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mqtts::options::{self, Client};
use std::ffi::OsString;

fuzz_target!(|data: &[u8]| {
    let lines = mqtts::config_file::split(data);
    for client in [Client::Pub, Client::Sub] {
        let args = [
            OsString::from("-t"),
            OsString::from("t"),
            OsString::from("-n"),
        ];
        let args = if client == Client::Pub {
            &args[..]
        } else {
            &args[..2]
        };
        if let Err(e) = options::parse_with_config(client, &lines, args) {
            {
                // With --quiet some messages are empty; the help line still goes out.
                let (stderr, _, _) = options::render(client, &e);
                assert!(!stderr.is_empty() || e.usage_on_stdout, "{e:?}");
            };
        }
    }
});
