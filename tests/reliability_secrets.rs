//! Secrets never leak: the password (`-P`, `-L user:pass@`) and the key password
//! (`--key-password-file`, `MQTTS_KEY_PASSWORD`) must not appear on stdout or stderr of
//! failing or succeeding runs, with or without `-d`. A key password file that other users
//! can read gets a warning.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

/// Distinctive strings that cannot appear by accident.
const WRONG_PASSWORD: &str = "Zq9-wrong-SECRET-xyzzy-4711";
const WRONG_KEY_PASSWORD: &str = "Kp7-wrong-KEYPASS-plugh-0815";

fn broker() -> &'static Broker {
    Broker::shared()
}

#[track_caller]
fn assert_no_secret(out: &RunOutput, secret: &str) {
    for (name, stream) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = String::from_utf8_lossy(stream);
        assert!(
            !text.contains(secret),
            "the secret {secret:?} appears on {name}:\n{out}"
        );
        assert!(!text.contains("panicked"), "panic on {name}:\n{out}");
    }
}

/// Host, port and CA of the `auth` listener (credentials not included).
fn auth_listener() -> Vec<String> {
    let b = broker();
    strs(&[
        "-h",
        b.host(),
        "-p",
        &b.port("auth").to_string(),
        "--cafile",
        &pki().ca.display().to_string(),
    ])
}

fn auth_args(password: &str) -> Vec<String> {
    let mut a = auth_listener();
    a.extend(strs(&["-u", AUTH_USER, "-P", password]));
    a
}

#[test]
fn wrong_password_is_not_printed() {
    for v in ["mqttv311", "mqttv5"] {
        let topic = unique_topic("secret");
        for debug in [false, true] {
            let mut args = auth_args(WRONG_PASSWORD);
            args.extend(strs(&["-V", v, "-t", &topic, "-m", "x"]));
            if debug {
                args.push("-d".into());
            }
            let out = ours_pub(&args);
            out.assert_failure();
            assert!(
                out.stderr_str().contains("Connection error"),
                "expected a refused CONNACK:\n{out}"
            );
            assert_no_secret(&out, WRONG_PASSWORD);

            let mut args = auth_args(WRONG_PASSWORD);
            args.extend(strs(&["-V", v, "-t", &topic, "-W", "5"]));
            if debug {
                args.push("-d".into());
            }
            let out = ours_sub(&args);
            out.assert_failure();
            assert_no_secret(&out, WRONG_PASSWORD);
        }
    }
}

#[test]
fn right_password_is_not_printed() {
    let b = broker();
    let topic = unique_topic("secret-ok");
    let mut sub_args = auth_args(AUTH_PASSWORD);
    sub_args.extend(strs(&["-d", "-v", "-t", &topic, "-C", "1", "-i", &topic]));
    let sub = start_subscriber(b, Prog::OursSub, &sub_args);
    let mut pub_args = auth_args(AUTH_PASSWORD);
    pub_args.extend(strs(&["-d", "-t", &topic, "-m", "hello", "-q", "1"]));
    let out = ours_pub(&pub_args);
    out.assert_success();
    assert_no_secret(&out, AUTH_PASSWORD);
    let out = sub.wait(Duration::from_secs(10));
    out.assert_success();
    assert!(out.stdout_str().contains("hello"), "{out}");
    assert_no_secret(&out, AUTH_PASSWORD);
}

/// The password inside a `-L` URL, wrong and right.
#[test]
fn url_password_is_not_printed() {
    let b = broker();
    let ca = pki().ca.display().to_string();
    for pw in [WRONG_PASSWORD, AUTH_PASSWORD] {
        let url = format!(
            "mqtts://{AUTH_USER}:{pw}@{}:{}/{}",
            b.host(),
            b.port("auth"),
            unique_topic("url")
        );
        let out = ours_pub(["-L", &url, "--cafile", &ca, "-m", "x", "-d"]);
        if pw == AUTH_PASSWORD {
            out.assert_success();
        } else {
            out.assert_failure();
        }
        assert_no_secret(&out, pw);
    }
}

/// A failed connect (nothing listens there) with `-P` and `-d`: the diagnosis does not
/// show the password.
#[test]
fn refused_connect_does_not_show_the_password() {
    let port = free_port().to_string();
    let out = ours_pub([
        "-h",
        "127.0.0.2",
        "-p",
        &port,
        "-u",
        "u",
        "-P",
        WRONG_PASSWORD,
        "-t",
        "t",
        "-m",
        "x",
        "-d",
    ]);
    out.assert_failure();
    assert_no_secret(&out, WRONG_PASSWORD);
}

fn key_password_file(dir: &TempDir, name: &str, password: &str, mode: u32) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("{password}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path.display().to_string()
}

/// mTLS with the encrypted client key to the `mtls` listener, then `more`.
fn mtls_encrypted_args(more: &[&str]) -> Vec<String> {
    let b = broker();
    let p = pki();
    let mut args = strs(&[
        "-h",
        b.host(),
        "-p",
        &b.port("mtls").to_string(),
        "--cafile",
        &p.ca.display().to_string(),
        "--cert",
        &p.client_encrypted_cert.display().to_string(),
        "--key",
        &p.client_encrypted_key.display().to_string(),
    ]);
    args.extend(strs(more));
    args
}

#[test]
fn wrong_key_password_is_not_printed() {
    let dir = TempDir::new("keypw");
    let file = key_password_file(&dir, "wrong", WRONG_KEY_PASSWORD, 0o600);
    let topic = unique_topic("keypw");
    // From a file.
    let args = mtls_encrypted_args(&["--key-password-file", &file, "-t", &topic, "-m", "x", "-d"]);
    let out = ours_pub(&args);
    out.assert_failure();
    assert!(out.stderr_str().contains("wrong password"), "{out}");
    assert_no_secret(&out, WRONG_KEY_PASSWORD);
    // From the environment, pub and sub.
    for prog in [Prog::OursPub, Prog::OursSub] {
        let mut args = mtls_encrypted_args(&["-t", &topic, "-d"]);
        if prog == Prog::OursPub {
            args.extend(strs(&["-m", "x"]));
        }
        let out = Run::prog(prog)
            .args(&args)
            .env("MQTTS_KEY_PASSWORD", WRONG_KEY_PASSWORD)
            .run();
        out.assert_failure();
        assert!(out.stderr_str().contains("wrong password"), "{out}");
        assert_no_secret(&out, WRONG_KEY_PASSWORD);
    }
}

#[test]
fn right_key_password_is_not_printed() {
    let dir = TempDir::new("keypw-ok");
    let file = key_password_file(&dir, "right", KEY_PASSWORD, 0o600);
    let topic = unique_topic("keypw-ok");
    let args = mtls_encrypted_args(&["--key-password-file", &file, "-t", &topic, "-m", "x", "-d"]);
    let out = ours_pub(&args);
    out.assert_success();
    assert_no_secret(&out, KEY_PASSWORD);
    assert!(
        !out.stderr_str().contains("accessible by other users"),
        "no warning for a 0600 file:\n{out}"
    );
    let args = mtls_encrypted_args(&["-t", &topic, "-m", "x", "-d"]);
    let out = Run::prog(Prog::OursPub)
        .args(&args)
        .env("MQTTS_KEY_PASSWORD", KEY_PASSWORD)
        .run();
    out.assert_success();
    assert_no_secret(&out, KEY_PASSWORD);
}

/// A key password file other users can read works, with a warning on stderr.
#[test]
fn readable_key_password_file_gets_a_warning() {
    let dir = TempDir::new("keypw-mode");
    let file = key_password_file(&dir, "shared", KEY_PASSWORD, 0o644);
    let mut args = mtls_encrypted_args(&[
        "--key-password-file",
        &file,
        "-t",
        &unique_topic("mode"),
        "-m",
        "x",
    ]);
    let out = ours_pub(&args);
    out.assert_success();
    let err = out.stderr_str();
    assert!(
        err.contains("Warning: --key-password-file") && err.contains("(mode 0644)"),
        "expected a permission warning:\n{out}"
    );
    assert_no_secret(&out, KEY_PASSWORD);
    // --quiet silences it, as every warning.
    args.push("--quiet".into());
    let out = ours_pub(&args);
    out.assert_success();
    assert!(out.stderr.is_empty(), "{out}");
}

/// The plan's Debug output (what a panic message or a `{:?}` would show) hides the key
/// password.
#[test]
fn tls_plan_debug_hides_the_key_password() {
    let dir = TempDir::new("keypw-debug");
    let file = key_password_file(&dir, "right", KEY_PASSWORD, 0o600);
    let p = pki();
    let mut opts = mqtts::options::defaults(mqtts::options::Client::Pub);
    opts.tls.cafile = Some(p.ca.display().to_string());
    opts.tls.cert = Some(p.client_encrypted_cert.display().to_string());
    opts.tls.key = Some(p.client_encrypted_key.display().to_string());
    opts.tls.key_password_file = Some(file);
    let plan = mqtts::tls::plan(&opts, 8883).expect("plan").expect("tls");
    assert!(plan.key_password.is_some());
    let shown = format!("{plan:?}");
    assert!(!shown.contains(KEY_PASSWORD), "{shown}");
}

/// A config file that holds `-P` and that other users can read gets a warning (the password
/// is used, and not shown); a private one (0600) does not.
#[test]
fn readable_config_file_with_a_password_gets_a_warning() {
    for (mode, warned) in [(0o644, true), (0o600, false)] {
        let dir = TempDir::new("config-mode");
        let file = dir.path().join("mqtts-pub");
        std::fs::write(&file, format!("-u {AUTH_USER}\n-P {AUTH_PASSWORD}\n")).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        let out = Run::prog(Prog::OursPub)
            .env("XDG_CONFIG_HOME", dir.path())
            .args(auth_listener())
            .args(strs(&["-t", &unique_topic("cfgmode"), "-m", "x"]))
            .run();
        out.assert_success();
        let err = out.stderr_str();
        assert_eq!(
            err.contains("holds a password and is accessible by other users (mode 0644)"),
            warned,
            "mode {mode:o}:\n{out}"
        );
        assert_no_secret(&out, AUTH_PASSWORD);
    }
}
