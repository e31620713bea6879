//! Shell completions for mqtts-pub and mqtts-sub, generated from the option table.
//!
//! [`command`] turns [`OPTIONS`] into a `clap::Command` (clap is used only for this, see
//! `options`), and [`generate`] asks clap_complete for the bash, zsh or fish script. The
//! scripts are committed under `completions/`; `tests/docs.rs` regenerates them and fails
//! when the committed ones are stale (`MQTTS_UPDATE_COMPLETIONS=1 cargo test --test docs`
//! rewrites them).
//!
//! The table knows spellings, value names and help; what a value may be (a file, a host,
//! one of a few words) is completion-only knowledge and lives in [`value_hint`] and
//! [`value_choices`] below.

use crate::options::{Client, Key, OPTIONS, OptSpec, TLS_VERSIONS};
use clap::{Arg, ArgAction, Command, ValueHint};
use clap_complete::Shell;

/// The shells we ship completions for.
pub const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

/// The committed file name of `client`'s completion script for `shell`
/// (the name each shell looks for once the file is installed).
pub fn file_name(client: Client, shell: Shell) -> String {
    match shell {
        Shell::Zsh => format!("_{}", client.name()),
        Shell::Fish => format!("{}.fish", client.name()),
        _ => format!("{}.bash", client.name()),
    }
}

/// What kind of value an option takes, for shells that can complete it.
fn value_hint(key: Key) -> ValueHint {
    match key {
        Key::Cafile
        | Key::Cert
        | Key::Key
        | Key::File
        | Key::KeyPasswordFile
        | Key::Pkcs12
        | Key::TlsKeylog
        | Key::PwFile
        | Key::Unix => ValueHint::FilePath,
        Key::Capath => ValueHint::DirPath,
        Key::Host | Key::BindAddress => ValueHint::Hostname,
        Key::Url | Key::Proxy => ValueHint::Url,
        Key::Username => ValueHint::Username,
        _ => ValueHint::Other,
    }
}

/// The words an option's value can be, when it is one of a few.
fn value_choices(key: Key) -> &'static [&'static str] {
    match key {
        Key::Qos | Key::WillQos => &["0", "1", "2"],
        Key::ProtocolVersion => &["mqttv5", "mqttv311", "mqttv31", "5", "311", "31"],
        Key::TlsVersion | Key::TlsMaxVersion => TLS_VERSIONS,
        Key::Keyform => &["pem", "engine"],
        _ => &[],
    }
}

/// The clap argument for one table row.
fn arg(spec: &OptSpec, client: Client) -> Arg {
    let id = spec
        .long
        .or(spec.short)
        .expect("every option has a spelling")
        .trim_start_matches('-');
    let mut a = Arg::new(id).help(spec.help_for(client));
    if let Some(s) = spec.short {
        a = a.short(s.chars().nth(1).expect("short options are -X"));
    }
    if let Some(l) = spec.long {
        a = a.long(&l[2..]);
    }
    match spec.value {
        None => a.action(ArgAction::Count),
        Some(_) if spec.key == Key::Property => a
            .action(ArgAction::Append)
            .num_args(3..=4)
            .value_names(["command", "name", "value"]),
        Some(v) => {
            a = a
                .action(ArgAction::Append)
                .num_args(1)
                .value_name(v)
                .allow_hyphen_values(true);
            let choices = value_choices(spec.key);
            if choices.is_empty() {
                a.value_hint(value_hint(spec.key))
            } else {
                a.value_parser(clap::builder::PossibleValuesParser::new(choices))
            }
        }
    }
}

/// A `clap::Command` with every option `client` accepts, in table order.
pub fn command(client: Client) -> Command {
    let about = match client {
        Client::Pub => "Publish MQTT messages (drop-in replacement for mosquitto_pub)",
        Client::Sub => "Subscribe to MQTT topics (drop-in replacement for mosquitto_sub)",
        Client::Rr => {
            "Send an MQTT request and print the response (drop-in replacement for mosquitto_rr)"
        }
    };
    OPTIONS.iter().filter(|s| s.clients.includes(client)).fold(
        Command::new(client.name())
            .about(about)
            .disable_help_flag(true)
            .disable_version_flag(true),
        |cmd, spec| cmd.arg(arg(spec, client)),
    )
}

/// The completion script for `client` in `shell`.
pub fn generate(client: Client, shell: Shell) -> String {
    let mut cmd = command(client);
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, client.name(), &mut out);
    String::from_utf8(out).expect("clap_complete writes UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_is_in_the_command() {
        for client in [Client::Pub, Client::Sub, Client::Rr] {
            let cmd = command(client);
            for spec in OPTIONS.iter().filter(|s| s.clients.includes(client)) {
                let found = cmd.get_arguments().any(|a| {
                    spec.short.is_none_or(|s| a.get_short() == s.chars().nth(1))
                        && spec.long.is_none_or(|l| a.get_long() == Some(&l[2..]))
                });
                assert!(found, "{spec:?} missing for {client:?}");
            }
            let n = OPTIONS
                .iter()
                .filter(|s| s.clients.includes(client))
                .count();
            assert_eq!(cmd.get_arguments().count(), n);
        }
    }

    #[test]
    fn scripts_name_the_options() {
        for shell in SHELLS {
            let s = generate(Client::Sub, shell);
            assert!(s.contains("mqtts-sub"), "{shell}");
            assert!(s.contains("retained-only"), "{shell}");
            assert!(!s.contains("stdin-line"), "{shell}");
        }
    }
}
