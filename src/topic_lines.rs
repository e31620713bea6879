//! `mqtts-pub -l --topic-separator SEP`: each input line is `TOPIC SEP PAYLOAD`, split at
//! the first SEP. A line without SEP, or whose topic is not a valid publish topic, is not
//! published: it is named on stderr by its line number, the run goes on, and the run ends
//! with [`Splitter::failure`] (exit status 1).

use crate::exit::{Failure, GENERAL};
use crate::options::{pub_topic_ok, valid_mqtt_utf8};
use std::io::Write;

/// Splits lines and counts the ones it refused.
pub struct Splitter {
    sep: Vec<u8>,
    line: u64,
    refused: u64,
    quiet: bool,
}

impl Splitter {
    pub fn new(sep: &[u8], quiet: bool) -> Splitter {
        Splitter {
            sep: sep.to_vec(),
            line: 0,
            refused: 0,
            quiet,
        }
    }

    /// The next input line as (topic, payload), or None when it cannot be published
    /// (then said on stderr, unless `--quiet`).
    pub fn take(&mut self, line: Vec<u8>) -> Option<(String, Vec<u8>)> {
        self.line += 1;
        let at = find(&line, &self.sep);
        let why = match at {
            None => format!(
                "no topic separator {:?}",
                String::from_utf8_lossy(&self.sep)
            ),
            Some(0) => "the topic is empty".to_string(),
            Some(i) if !valid_mqtt_utf8(&line[..i]) => {
                "the topic is not valid UTF-8 (or has a NUL byte)".to_string()
            }
            Some(i) if !pub_topic_ok(&line[..i]) => format!(
                "invalid publish topic '{}', does it contain '+' or '#'?",
                String::from_utf8_lossy(&line[..i])
            ),
            Some(i) => {
                let topic = String::from_utf8_lossy(&line[..i]).into_owned();
                let payload = line[i + self.sep.len()..].to_vec();
                return Some((topic, payload));
            }
        };
        self.refused += 1;
        if !self.quiet {
            let _ = writeln!(
                std::io::stderr(),
                "Error: line {}: {why}; not published.",
                self.line
            );
        }
        None
    }

    /// At the end of the run: the failure when some lines were not published.
    pub fn failure(&self) -> Option<Failure> {
        (self.refused > 0).then(|| {
            let lines = if self.refused == 1 { "line" } else { "lines" };
            Failure::new(
                GENERAL,
                format!(
                    "Error: {} {lines} of {} not published (named above).",
                    self.refused, self.line
                ),
            )
        })
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_the_first_separator() {
        let mut s = Splitter::new(b": ", true);
        assert_eq!(
            s.take(b"a/b: x: y".to_vec()),
            Some(("a/b".to_string(), b"x: y".to_vec()))
        );
        assert_eq!(s.take(b"a/b: ".to_vec()), Some(("a/b".into(), vec![])));
        assert_eq!(s.take(b"no separator".to_vec()), None);
        assert_eq!(s.take(b": empty topic".to_vec()), None);
        assert_eq!(s.take(b"a/+: wildcard".to_vec()), None);
        assert_eq!(s.take(b"a\0b: nul".to_vec()), None);
        assert_eq!(
            s.failure().unwrap().lines,
            vec!["Error: 4 lines of 6 not published (named above).".to_string()]
        );
        assert!(Splitter::new(b"\t", true).failure().is_none());
    }
}
