//! The per-user defaults file, read the way mosquitto_pub/mosquitto_sub 2.0 read theirs.
//!
//! Location: `$XDG_CONFIG_HOME/mqtts-pub` (or `mqtts-sub`) when `XDG_CONFIG_HOME` is set,
//! otherwise `$HOME/.config/mqtts-pub`. When our file does not exist, mosquitto's own file
//! in the same directory (`mosquitto_pub` / `mosquitto_sub`) is used instead, so an
//! existing mosquitto setup keeps working. A missing or unreadable file is ignored.
//!
//! Syntax (mosquitto's): the file is consumed in `fgets` chunks of at most 1023 bytes (a
//! longer line becomes several "lines"); a chunk whose first byte is `#` is a comment;
//! trailing CR/LF are removed; the first space-separated word is the option and everything
//! after the single space that ends it — verbatim, spaces included — is its one value.
//! Each line then goes through the same parser as the command line.

use std::ffi::OsStr;
use std::path::PathBuf;

use crate::options::Client;

/// One config line split like mosquitto does: `[option]` or `[option, value]`.
pub type Line = Vec<Vec<u8>>;

/// The file to read for `client`, given the values of `XDG_CONFIG_HOME` and `HOME`.
/// Returns our file if it exists, else mosquitto's file at the same place (which may not
/// exist either; reading a missing file yields no lines). None when neither variable is set.
pub fn location(client: Client, xdg: Option<&OsStr>, home: Option<&OsStr>) -> Option<PathBuf> {
    let dir = match (xdg, home) {
        (Some(x), _) => PathBuf::from(x),
        (None, Some(h)) => PathBuf::from(h).join(".config"),
        (None, None) => return None,
    };
    let ours = dir.join(client.name());
    if ours.exists() {
        Some(ours)
    } else {
        Some(dir.join(client.mosquitto_name()))
    }
}

/// The default file, read once: its lines and, when it holds a password and other users
/// can read or write it, the warning to print.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Loaded {
    pub lines: Vec<Line>,
    pub secrets_warning: Option<String>,
}

/// The default file for `client`, using the process environment.
pub fn load(client: Client) -> Loaded {
    let xdg = std::env::var_os("XDG_CONFIG_HOME");
    let home = std::env::var_os("HOME");
    location(client, xdg.as_deref(), home.as_deref())
        .map(|p| read(&p))
        .unwrap_or_default()
}

/// The warning for a file at `path` with permission bits `mode` and these lines: it holds a
/// password (`-P`/`--pw`, or one inside a `-L`/`--proxy` URL) and other users can read or
/// write it.
pub fn secrets_warning_for(path: &std::path::Path, mode: u32, lines: &[Line]) -> Option<String> {
    if mode & 0o077 == 0 || !lines.iter().any(holds_secret) {
        return None;
    }
    let p = path.display();
    Some(format!(
        "Warning: {p} holds a password and is accessible by other users (mode {:04o}); \
         make it private: chmod 600 {p}",
        mode & 0o7777
    ))
}

/// `-P`/`--pw`, or a URL option whose user part carries a password (`user:pass@`).
fn holds_secret(line: &Line) -> bool {
    let (Some(opt), value) = (line.first(), line.get(1)) else {
        return false;
    };
    match opt.as_slice() {
        b"-P" | b"--pw" => true,
        b"-L" | b"--url" | b"--proxy" => value.is_some_and(|v| {
            let after_scheme = v
                .windows(3)
                .position(|w| w == b"://")
                .map_or(&v[..], |i| &v[i + 3..]);
            let authority = after_scheme
                .split(|&b| b == b'/')
                .next()
                .unwrap_or_default();
            authority
                .iter()
                .rposition(|&b| b == b'@')
                .is_some_and(|at| authority[..at].contains(&b':'))
        }),
        _ => false,
    }
}

/// Read and split a file (one open: the permission bits come from the same open file); a
/// missing or unreadable file gives no lines.
pub fn read(path: &std::path::Path) -> Loaded {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    let Ok(mut file) = std::fs::File::open(path) else {
        return Loaded::default();
    };
    let mut bytes = Vec::new();
    if file.read_to_end(&mut bytes).is_err() {
        return Loaded::default();
    }
    let lines = split(&bytes);
    let secrets_warning = file
        .metadata()
        .ok()
        .and_then(|m| secrets_warning_for(path, m.permissions().mode(), &lines));
    Loaded {
        lines,
        secrets_warning,
    }
}

/// Split file contents into option lines (see the module docs for the rules).
pub fn split(bytes: &[u8]) -> Vec<Line> {
    const CHUNK: usize = 1023;
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        // One fgets call: up to and including a newline, at most CHUNK bytes.
        let limit = rest.len().min(CHUNK);
        let end = match rest[..limit].iter().position(|&b| b == b'\n') {
            Some(nl) => nl + 1,
            None => limit,
        };
        let chunk = &rest[..end];
        rest = &rest[end..];
        // The C code sees a NUL-terminated string: anything after a NUL byte is invisible.
        let chunk = match chunk.iter().position(|&b| b == 0) {
            Some(z) => &chunk[..z],
            None => chunk,
        };
        if chunk.first() == Some(&b'#') {
            continue;
        }
        let mut line = chunk;
        while let Some((&last, head)) = line.split_last() {
            if last == b'\n' || last == b'\r' {
                line = head;
            } else {
                break;
            }
        }
        if let Some(l) = split_line(line) {
            out.push(l);
        }
    }
    out
}

/// First word (leading spaces skipped, ends at a space), then the rest after that one
/// space if it is non-empty. None for a line of spaces only.
fn split_line(line: &[u8]) -> Option<Line> {
    let start = line.iter().position(|&b| b != b' ')?;
    let line = &line[start..];
    match line.iter().position(|&b| b == b' ') {
        None => Some(vec![line.to_vec()]),
        Some(sp) => {
            let word = line[..sp].to_vec();
            let value = &line[sp + 1..];
            if value.is_empty() {
                Some(vec![word])
            } else {
                Some(vec![word, value.to_vec()])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_about_readable_files_holding_passwords() {
        let p = std::path::Path::new("/home/u/.config/mqtts-pub");
        let lines = |s: &str| split(s.as_bytes());
        let w = secrets_warning_for(p, 0o100644, &lines("-u me\n-P secret\n")).unwrap();
        assert!(w.contains("mode 0644") && w.contains("chmod 600 /home/u/.config/mqtts-pub"));
        assert!(!w.contains("secret\n") && !w.contains(" secret"), "{w}");
        assert!(secrets_warning_for(p, 0o100600, &lines("-P secret\n")).is_none());
        assert!(secrets_warning_for(p, 0o100644, &lines("-u me\n-q 1\n")).is_none());
        assert!(secrets_warning_for(p, 0o100640, &lines("--pw x\n")).is_some());
        assert!(secrets_warning_for(p, 0o100604, &lines("-L mqtt://u:pw@h/t\n")).is_some());
        assert!(secrets_warning_for(p, 0o100644, &lines("-L mqtt://u@h/t\n")).is_none());
        assert!(secrets_warning_for(p, 0o100644, &lines("--proxy socks5h://a:b@p\n")).is_some());
        assert!(secrets_warning_for(p, 0o100644, &lines("-L mqtt://h/a:b@c\n")).is_none());
        assert!(secrets_warning_for(p, 0o100644, &lines("# -P commented\n")).is_none());
    }

    #[test]
    fn read_gives_lines_and_the_warning_from_one_open() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("mqtts-cfgread-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("mqtts-pub");
        std::fs::write(&file, "-u me\n-P secret\n").unwrap();
        for (mode, warned) in [(0o644, true), (0o600, false)] {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
            let got = read(&file);
            assert_eq!(got.lines.len(), 2);
            assert_eq!(got.secrets_warning.is_some(), warned, "mode {mode:o}");
        }
        assert_eq!(read(&dir.join("missing")), Loaded::default());
        assert_eq!(read(&dir), Loaded::default());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn v(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    #[test]
    fn words_and_values() {
        let l = split(b"-m hello world  \n# comment\n\n-v\r\n  -q 1 -v\n-r \n");
        assert_eq!(
            l,
            vec![
                vec![v("-m"), v("hello world  ")],
                vec![v("-v")],
                vec![v("-q"), v("1 -v")],
                vec![v("-r")],
            ]
        );
    }

    #[test]
    fn comment_only_at_column_zero() {
        let l = split(b" # not a comment\n#-v\n");
        assert_eq!(l, vec![vec![v("#"), v("not a comment")]]);
    }

    #[test]
    fn long_lines_are_chunked() {
        let mut data = b"-m ".to_vec();
        data.extend(std::iter::repeat_n(b'a', 1100));
        data.push(b'\n');
        let l = split(&data);
        assert_eq!(l.len(), 2);
        assert_eq!(l[0][1].len(), 1020);
        assert_eq!(l[1], vec![vec![b'a'; 80]]);
    }

    #[test]
    fn nul_truncates() {
        let l = split(b"-t a\0b\n");
        assert_eq!(l, vec![vec![v("-t"), v("a")]]);
    }

    #[test]
    fn location_prefers_ours_then_mosquitto() {
        let dir = std::env::temp_dir().join(format!("mqtts-cfgloc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let got = location(Client::Pub, Some(dir.as_os_str()), None).unwrap();
        assert_eq!(got, dir.join("mosquitto_pub"));
        std::fs::write(dir.join("mqtts-pub"), "-q 1\n").unwrap();
        let got = location(
            Client::Pub,
            Some(dir.as_os_str()),
            Some(OsStr::new("/nope")),
        )
        .unwrap();
        assert_eq!(got, dir.join("mqtts-pub"));
        let got = location(Client::Sub, None, Some(OsStr::new("/h"))).unwrap();
        assert_eq!(got, PathBuf::from("/h/.config/mosquitto_sub"));
        assert_eq!(location(Client::Sub, None, None), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
