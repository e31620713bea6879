//! `-L` URLs: the splitter, then the option parser with the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mqtts::options::{self, Client};
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = mqtts::url::parse(data) {
        assert!(!e.message().is_empty());
    }
    let args = vec![
        OsString::from("-L"),
        OsString::from_vec(data.to_vec()),
        OsString::from("-n"),
    ];
    if let Err(e) = options::parse_with_config(Client::Pub, &[], &args) {
        {
            // With --quiet some messages are empty; the help line still goes out.
            let (stderr, _, _) = options::render(Client::Pub, &e);
            assert!(!stderr.is_empty() || e.usage_on_stdout, "{e:?}");
        };
    }
});
