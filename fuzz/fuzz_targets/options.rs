//! argv for mqtts-pub / mqtts-sub: the input is split at NUL bytes into words (first
//! byte picks the program), parsed, checked and planned (TLS files, -D properties and
//! paho's connect options). Every refusal must carry a message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mqtts::options::{self, Client, Parsed};
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let client = if first & 1 == 0 {
        Client::Pub
    } else {
        Client::Sub
    };
    let args: Vec<OsString> = rest
        .split(|&b| b == 0)
        .map(|w| OsString::from_vec(w.to_vec()))
        .collect();
    match options::parse_with_config(client, &[], &args) {
        Ok((Parsed::Run, opts)) => {
            if options::option_set_checks(&opts).is_err() {
                return;
            }
            // No file may be opened by a fuzzed path that prompts: refuse encrypted keys.
            if opts.tls.key.is_some() || opts.tls.pkcs12.is_some() {
                return;
            }
            match mqtts::plan::Plan::new(&opts) {
                Ok(p) => {
                    if let Err(f) = p.connect_options(&opts) {
                        assert!(!f.lines.is_empty());
                    }
                }
                Err(f) => assert!(!f.lines.is_empty(), "{f:?}"),
            }
        }
        Ok(_) => {}
        Err(e) => {
            // With --quiet some messages are empty; the help line still goes out.
            let (stderr, _, _) = options::render(client, &e);
            assert!(!stderr.is_empty() || e.usage_on_stdout, "{e:?}");
        }
    }
});
