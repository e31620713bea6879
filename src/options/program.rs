//! The name the program answers to: the file name it was invoked as.
//!
//! Installed as a link or copy named `mosquitto_pub` (an alternatives system, a test suite
//! that runs `…/client/mosquitto_pub`), mqtts-pub must say `mosquitto_pub` wherever
//! mosquitto_pub names itself: the help line after an argument error and the usage text.
//! Like any Unix tool it answers to whatever name it was given (`ln -s mqtts-pub mpub` →
//! `mpub`); only `--version`, the man page and the config file keep the real name, because
//! they say what the program really is and where its files are.

use super::Client;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The name to use in messages, from `argv0` (the whole argv[0], path and all).
///
/// The file name of `argv0` when it is a usable name (non-empty, UTF-8, no control
/// characters); otherwise, or without an argv[0], the real name (`mqtts-pub`/`mqtts-sub`).
pub fn invoked_name(client: Client, argv0: Option<&OsStr>) -> String {
    let file = argv0.and_then(|a| {
        // "a/b/" has no file name for Path; neither has "..": both fall back.
        let bytes = a.as_bytes();
        if bytes.ends_with(b"/") {
            return None;
        }
        Path::new(a).file_name()
    });
    match file.and_then(|f| f.to_str()) {
        Some(name) if !name.is_empty() && !name.chars().any(char::is_control) => name.to_owned(),
        _ => client.name().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    fn name(c: Client, a: &[u8]) -> String {
        invoked_name(c, Some(OsStr::from_bytes(a)))
    }

    #[test]
    fn file_name_of_argv0() {
        assert_eq!(name(Client::Pub, b"mqtts-pub"), "mqtts-pub");
        assert_eq!(name(Client::Pub, b"/usr/bin/mqtts-pub"), "mqtts-pub");
        assert_eq!(
            name(Client::Pub, b"./client/mosquitto_pub"),
            "mosquitto_pub"
        );
        assert_eq!(
            name(Client::Sub, b"/usr/bin/mosquitto_sub"),
            "mosquitto_sub"
        );
        assert_eq!(name(Client::Sub, b"msub"), "msub");
    }

    #[test]
    fn unusable_names_fall_back_to_the_real_name() {
        assert_eq!(invoked_name(Client::Pub, None), "mqtts-pub");
        assert_eq!(name(Client::Pub, b""), "mqtts-pub");
        assert_eq!(name(Client::Sub, b"/usr/bin/"), "mqtts-sub");
        assert_eq!(name(Client::Sub, b".."), "mqtts-sub");
        assert_eq!(name(Client::Pub, b"/tmp/\xff\xfe"), "mqtts-pub");
        assert_eq!(name(Client::Pub, b"evil\x1b[2J"), "mqtts-pub");
        assert_eq!(name(Client::Pub, b"two\nlines"), "mqtts-pub");
    }
}
