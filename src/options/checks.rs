//! The option checks mosquitto makes when it hands the options to its library.

use super::{Options, Protocol, UsageError, tls_version_ok, valid_mqtt_utf8};

/// The option checks mosquitto makes after parsing, when it hands the options to its
/// library (`client_opts_set`), that need no files or network: username/password on v3,
/// `--keyform`, `--psk` hex, `--tls-engine-kpass-sha1`, `--tls-version`. Errors have no help
/// line and are silenced by `--quiet` (empty message), as in mosquitto. The caller runs this
/// after building the client id and before the CA/cert/key file checks; mosquitto checks the
/// files between the keyform and the PSK/kpass/tls-version steps, so when both a file and
/// one of the later checks are wrong the message can differ.
pub fn option_set_checks(o: &Options) -> Result<(), UsageError> {
    let fail = |text: &str| {
        Err(UsageError {
            message: if o.quiet {
                String::new()
            } else {
                text.to_string()
            },
            help_line: false,
            usage_on_stdout: false,
        })
    };
    if o.protocol != Protocol::V5 && o.password.is_some() && o.username.is_none() {
        return fail("Error: Problem setting username and/or password.\n");
    }
    if let Some(u) = &o.username
        && (u.len() > 65535 || !valid_mqtt_utf8(u.as_bytes()))
    {
        return fail("Error: Problem setting username and/or password.\n");
    }
    let t = &o.tls;
    if let Some(k) = &t.keyform
        && !k.eq_ignore_ascii_case("pem")
        && !k.eq_ignore_ascii_case("engine")
    {
        return fail("Error: Problem setting key form, it must be one of 'pem' or 'engine'.\n");
    }
    if t.cafile.is_none()
        && t.capath.is_none()
        && let Some(psk) = &t.psk
        && !psk.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return fail("Error: Problem setting TLS-PSK options.\n");
    }
    if let Some(k) = &t.tls_engine_kpass_sha1
        && (k.len() != 40 || !k.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return fail(
            "Error: Problem setting TLS engine key pass sha, is it a 40 character hex string?\n",
        );
    }
    if let Some(v) = &t.tls_version
        && !tls_version_ok(v.as_bytes())
    {
        return fail("Error: Problem setting TLS options, check the options are valid.\n");
    }
    Ok(())
}
