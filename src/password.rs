//! Where the MQTT password comes from: `-P` (or a `-L` URL), else `--pw-file FILE` (its
//! first line), else the `MQTTS_PASSWORD` environment variable; the last two only with a
//! user name (`-u`), so that a password kept in the environment never goes to a broker
//! the user did not log in to. The password is never printed: messages name its source.

use crate::exit::{Failure, GENERAL};
use crate::options::{Options, Secret};
use crate::tls::printable;

/// The environment variable with the password.
pub const ENV: &str = "MQTTS_PASSWORD";

/// The password to send, what to call its source in messages (`-P`, `--pw-file`,
/// `MQTTS_PASSWORD`), and a warning when `--pw-file` can be read by other users.
pub struct Password {
    pub secret: Option<Secret>,
    pub source: &'static str,
    pub warning: Option<String>,
}

fn error(line: String) -> Failure {
    let mut f = Failure::new(GENERAL, line);
    f.always = true;
    f
}

/// Decide the password for `opts`.
pub fn resolve(opts: &Options) -> Result<Password, Failure> {
    if opts.password.is_some() {
        return Ok(Password {
            secret: opts.password.clone(),
            source: "-P",
            warning: None,
        });
    }
    if let Some(path) = &opts.pw_file {
        let p = printable(path);
        if opts.username.is_none() {
            return Err(error(format!(
                "Error: --pw-file {p} is given without a user name: give it with -u."
            )));
        }
        let data = std::fs::read(path).map_err(|e| {
            error(format!(
                "Error: --pw-file {p}: {}",
                crate::tls::os_error(&e)
            ))
        })?;
        let text = String::from_utf8(data)
            .map_err(|_| error(format!("Error: --pw-file {p} is not UTF-8 text.")))?;
        let line = text.lines().next().unwrap_or("");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map(|m| m.permissions().mode())
            .unwrap_or(0);
        let warning = (mode & 0o077 != 0).then(|| {
            format!(
                "Warning: --pw-file {p} is accessible by other users (mode {:04o}); make it \
                 private: chmod 600 {p}",
                mode & 0o7777
            )
        });
        return Ok(Password {
            secret: Some(Secret::from(line)),
            source: "--pw-file",
            warning,
        });
    }
    if opts.username.is_some()
        && let Some(v) = std::env::var_os(ENV)
    {
        let v = v
            .into_string()
            .map_err(|_| error(format!("Error: {ENV} is not UTF-8 text.")))?;
        return Ok(Password {
            secret: Some(Secret::from(v)),
            source: ENV,
            warning: None,
        });
    }
    Ok(Password {
        secret: None,
        source: "-P",
        warning: None,
    })
}
