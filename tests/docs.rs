//! The documentation follows the code: every option the parser accepts is in its man page,
//! the man pages render without groff warnings, and the committed shell completions are the
//! ones the option table generates.
//!
//! `MQTTS_UPDATE_COMPLETIONS=1 cargo test --test docs` rewrites `completions/` instead of
//! failing when it is stale.

use mqtts::completions::{self, SHELLS};
use mqtts::options::{Client, OPTIONS};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const CLIENTS: [Client; 3] = [Client::Pub, Client::Sub, Client::Rr];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn man_path(client: Client) -> PathBuf {
    root().join("man").join(format!("{}.1", client.name()))
}

fn man_source(client: Client) -> String {
    let p = man_path(client);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Roff text as a reader sees it: `\-` is `-`, font changes and `\&` disappear.
fn unroff(line: &str) -> String {
    let mut s = line
        .replace("\\-", "-")
        .replace("\\&", "")
        .replace("\\e", "\\");
    for f in ["\\fB", "\\fI", "\\fR", "\\fP", "\\f(CW"] {
        s = s.replace(f, "");
    }
    s
}

/// The lines of one `.SH` section (by exact title), without the `.SH` line.
fn section<'a>(src: &'a str, title: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut inside = false;
    for l in src.lines() {
        if let Some(t) = l.strip_prefix(".SH ") {
            inside = t.trim_matches('"') == title;
            continue;
        }
        if inside {
            out.push(l);
        }
    }
    out
}

/// The option spellings that head an item (`.TP` tag lines) in the OPTIONS section.
fn documented_options(client: Client) -> BTreeSet<String> {
    let src = man_source(client);
    let lines = section(&src, "OPTIONS");
    assert!(!lines.is_empty(), "{}: no OPTIONS section", client.name());
    let mut out = BTreeSet::new();
    for w in lines.windows(2) {
        if w[0].trim() != ".TP" {
            continue;
        }
        let tag = unroff(w[1]);
        for word in tag.split(|c: char| c.is_whitespace() || c == ',') {
            let word = word.trim_matches(|c| c == '"' || c == '[' || c == ']');
            let is_opt = word.starts_with('-')
                && word.len() > 1
                && word[1..]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-');
            if is_opt {
                out.insert(word.to_string());
            }
        }
    }
    out
}

fn accepted_options(client: Client) -> BTreeSet<String> {
    OPTIONS
        .iter()
        .filter(|s| s.clients.includes(client))
        .flat_map(|s| s.short.into_iter().chain(s.long))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_accepted_option_is_documented() {
    for client in CLIENTS {
        let documented = documented_options(client);
        let accepted = accepted_options(client);
        let missing: Vec<_> = accepted.difference(&documented).collect();
        assert!(
            missing.is_empty(),
            "man/{}.1 does not document {missing:?} (add a .TP item in OPTIONS)",
            client.name()
        );
        // The reverse: no item for an option this program rejects as unknown.
        let extra: Vec<_> = documented.difference(&accepted).collect();
        assert!(
            extra.is_empty(),
            "man/{}.1 documents options {} does not accept: {extra:?}",
            client.name(),
            client.name()
        );
    }
}

#[test]
fn man_pages_have_the_expected_sections() {
    let common = [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "TLS",
        "CONFIG FILE",
        "ENVIRONMENT",
        "EXIT STATUS",
        "EXAMPLES",
        "SEE ALSO",
    ];
    for client in CLIENTS {
        let src = man_source(client);
        let titles: Vec<&str> = src
            .lines()
            .filter_map(|l| l.strip_prefix(".SH "))
            .map(|t| t.trim_matches('"'))
            .collect();
        let compat = match client {
            Client::Rr => "COMPATIBILITY WITH MOSQUITTO_RR",
            _ => "COMPATIBILITY WITH MOSQUITTO_PUB AND MOSQUITTO_SUB",
        };
        for t in common.into_iter().chain([compat]) {
            assert!(titles.contains(&t), "{}: no section {t}", client.name());
        }
        if client == Client::Sub {
            assert!(titles.contains(&"OUTPUT FORMAT"));
        }
        let th = src.lines().find(|l| l.starts_with(".TH ")).unwrap_or("");
        assert!(
            th.contains(&format!("\"mqtts {}\"", env!("CARGO_PKG_VERSION"))),
            "{}: .TH must name mqtts {}: {th}",
            client.name(),
            env!("CARGO_PKG_VERSION")
        );
        assert!(src.contains(&format!(
            ".TH {} 1",
            client.name().to_uppercase().replace('-', "\\-")
        )));
    }
}

#[test]
fn exit_status_lists_the_exit_codes() {
    use mqtts::exit;
    for client in CLIENTS {
        let src = man_source(client);
        let text: String = section(&src, "EXIT STATUS")
            .iter()
            .map(|l| unroff(l) + "\n")
            .collect();
        // mqtts-sub reconnects after a lost connection or a missed keepalive (as
        // mosquitto_sub), so 7 is mqtts-pub's (a missed keepalive is a lost connection
        // there too); -W and early signals are mqtts-sub's.
        let codes = match client {
            Client::Pub => vec![
                exit::OK,
                exit::GENERAL,
                exit::CONN_LOST,
                exit::OVERSIZE_PACKET,
            ],
            Client::Sub => vec![exit::OK, exit::GENERAL, exit::TIMEOUT, exit::BEFORE_CONNACK],
            // mqtts-rr does not reconnect (7) and -W before CONNACK is 27 too.
            Client::Rr => vec![exit::OK, exit::GENERAL, exit::CONN_LOST, exit::TIMEOUT],
        };
        // One stable code per TLS failure class (src/tls), in both pages.
        use mqtts::tls;
        let codes = codes.into_iter().chain([
            tls::FILE_ERROR,
            tls::NETWORK,
            tls::PLAIN_TO_TLS_PORT,
            tls::TLS_FAILED,
            tls::SERVER_CERT_UNTRUSTED,
            tls::SERVER_CERT_EXPIRED,
            tls::HOSTNAME_MISMATCH,
            tls::CLIENT_CERT_REQUIRED,
            tls::CLIENT_CERT_REJECTED,
            tls::TLS_NEGOTIATION,
            tls::TLS_TO_PLAIN_PORT,
            tls::PSK_REJECTED,
            tls::PIN_MISMATCH,
        ]);
        // The --proxy failures (src/connection/socks.rs), in both pages.
        use mqtts::connection::socks;
        let codes = codes.chain([
            socks::AUTH,
            socks::NO_CONN,
            socks::PROXY,
            socks::UNKNOWN_REPLY,
            socks::RESET,
            socks::ERRNO,
        ]);
        for c in codes {
            // Table rows start with the code, a tab follows it (tbl, tab-separated).
            let row = text.lines().any(|l| {
                l.split('\t')
                    .next()
                    .is_some_and(|f| f.trim() == c.to_string())
            });
            assert!(row, "{}: EXIT STATUS has no row for {c}", client.name());
        }
    }
}

#[test]
fn sub_output_format_lists_every_specifier() {
    let src = man_source(Client::Sub);
    let text: String = section(&src, "OUTPUT FORMAT")
        .iter()
        .map(|l| unroff(l) + "\n")
        .collect();
    for conv in "%tpxXlmqrIUjJACDEFPRS".chars() {
        let spec = format!("%{conv}");
        assert!(
            text.contains(&spec) || spec == "%%",
            "OUTPUT FORMAT does not describe {spec}"
        );
    }
    for s in [
        "%%", "@@", "@N", "\\\\", "\\0", "\\a", "\\e", "\\n", "\\r", "\\t", "\\v",
    ] {
        assert!(text.contains(s), "OUTPUT FORMAT does not describe {s}");
    }
}

/// groff's warnings (`-ww`) on a man page; None when groff is not installed.
fn groff_warnings(page: &Path) -> Option<String> {
    let out = std::process::Command::new("groff")
        .args(["-man", "-t", "-Tutf8", "-ww", "-z"])
        .arg(page)
        .env("LC_ALL", "C.UTF-8")
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn man_pages_render_without_warnings() {
    for client in CLIENTS {
        match groff_warnings(&man_path(client)) {
            None => eprintln!("groff not installed: not checking that the man pages render"),
            Some(w) => assert!(w.is_empty(), "man/{}.1:\n{w}", client.name()),
        }
    }
}

#[test]
fn completions_are_current() {
    let update = std::env::var_os("MQTTS_UPDATE_COMPLETIONS").is_some_and(|v| v == "1");
    let dir = root().join("completions");
    let mut stale = Vec::new();
    for client in CLIENTS {
        for shell in SHELLS {
            let path = dir.join(completions::file_name(client, shell));
            let want = completions::generate(client, shell);
            let have = std::fs::read_to_string(&path).unwrap_or_default();
            if have != want {
                if update {
                    std::fs::create_dir_all(&dir).unwrap();
                    std::fs::write(&path, want).unwrap();
                } else {
                    stale.push(path.display().to_string());
                }
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale completions {stale:?}: run MQTTS_UPDATE_COMPLETIONS=1 cargo test --test docs"
    );
}
#[test]
fn debian_metadata_ships_the_docs() {
    let toml = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let deb = toml
        .split("[package.metadata.deb]")
        .nth(1)
        .expect("Cargo.toml has [package.metadata.deb]");
    for client in CLIENTS {
        let n = client.name();
        for f in [
            format!("man/{n}.1"),
            format!("completions/{n}.bash"),
            format!("completions/_{n}"),
            format!("completions/{n}.fish"),
            format!("target/release/{n}"),
        ] {
            assert!(deb.contains(&format!("\"{f}\"")), "deb assets lack {f}");
            if !f.starts_with("target/") {
                assert!(root().join(&f).exists(), "{f} is missing");
            }
        }
    }
    for f in ["packaging/debian/copyright", "packaging/debian/changelog"] {
        assert!(deb.contains(&format!("\"{f}\"")), "deb metadata lacks {f}");
        assert!(root().join(f).exists(), "{f} is missing");
    }
    // The Debian changelog's newest entry is for this version.
    let changelog = std::fs::read_to_string(root().join("packaging/debian/changelog")).unwrap();
    let want = format!("mqtts ({}-1) ", env!("CARGO_PKG_VERSION"));
    assert!(
        changelog.starts_with(&want),
        "packaging/debian/changelog must start with {want:?}"
    );
}

#[test]
fn rpm_and_arch_recipes_match_the_crate() {
    let version = env!("CARGO_PKG_VERSION");
    let spec = std::fs::read_to_string(root().join("packaging/rpm/mqtts.spec")).unwrap();
    let pkgbuild = std::fs::read_to_string(root().join("packaging/arch/PKGBUILD")).unwrap();
    assert!(
        spec.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["Version:", version]),
        "packaging/rpm/mqtts.spec Version is not {version}"
    );
    assert!(
        pkgbuild.lines().any(|l| l == format!("pkgver={version}")),
        "packaging/arch/PKGBUILD pkgver is not {version}"
    );
    // Both install each program's binary, man page and completions by a loop over the
    // program names, from the same files the .deb ships.
    for recipe in [&spec, &pkgbuild] {
        for needle in [
            "mqtts-pub mqtts-sub mqtts-rr",
            "man/$p.1",
            "completions/$p.bash",
            "completions/_$p",
            "completions/$p.fish",
        ] {
            assert!(recipe.contains(needle), "a recipe lacks {needle}");
        }
    }
}

/// Run `shell args…`; None when the shell is not installed.
fn shell_ok(shell: &str, args: &[&str]) -> Option<bool> {
    let out = std::process::Command::new(shell)
        .args(args)
        .current_dir(root())
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("{shell} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Some(out.status.success())
}

#[test]
fn completion_scripts_load() {
    for client in CLIENTS {
        let n = client.name();
        let bash = format!("source completions/{n}.bash && complete -p {n}");
        assert_eq!(shell_ok("bash", &["-c", &bash]), Some(true), "{n}.bash");
        // Syntax checks where the shells are installed (they are not build dependencies).
        let zsh = format!("completions/_{n}");
        let fish = format!("completions/{n}.fish");
        for (shell, file) in [("zsh", zsh), ("fish", fish)] {
            match shell_ok(shell, &["-n", &file]) {
                None => eprintln!("{shell} not installed: {file} not checked"),
                Some(ok) => assert!(ok, "{shell} -n {file}"),
            }
        }
    }
}
