//! mosquitto_sub's output: default, `-v`, `-N`, `-F` (with `%`, `@`, `\`), `%j`/`%J` JSON.
//! (Being written; see issue 4.)

/// Check a `-F` format string as mosquitto does when parsing options.
/// Err holds the exact error line(s) mosquitto prints (without the help line).
pub fn check_format(_format: &str) -> Result<(), String> {
    Ok(())
}
