//! The MQTT password off the command line: `--pw-file FILE` (first line) and the
//! `MQTTS_PASSWORD` environment variable, against mosquitto's password-protected `auth`
//! listener; `-P` wins; the password never appears in `-d` output or an error.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;

/// `auth` listener connection arguments without `-P`.
fn auth_args(broker: &Broker) -> Vec<String> {
    let a = broker.client_args("auth");
    let p = a.iter().position(|x| x == "-P").expect("-P in auth args");
    [&a[..p], &a[p + 2..]].concat()
}

fn pw_file(dir: &TempDir, name: &str, content: &str, mode: u32) -> String {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p.display().to_string()
}

fn publish(args: &[String], env: &[(&str, &str)]) -> RunOutput {
    let mut run = Run::prog(Prog::OursPub)
        .args(args)
        .args(["-t", "pw/x", "-m", "y", "-d"])
        .env_remove(mqtts::password::ENV);
    for (k, v) in env {
        run = run.env(k, v);
    }
    run.run()
}

fn assert_secret_not_shown(out: &RunOutput, secret: &str) {
    assert!(
        !out.stdout_str().contains(secret) && !out.stderr_str().contains(secret),
        "the password is shown: {out}"
    );
}

#[test]
fn password_from_file_or_environment() {
    let broker = Broker::shared();
    let dir = TempDir::new("pw");
    let args = auth_args(broker);
    // The reference: a wrong -P is refused by the broker with this code.
    let refused = Run::prog(Prog::OursPub)
        .args(&args)
        .args(["-P", "wrong-pw-1", "-t", "pw/x", "-m", "y"])
        .run();
    assert_ne!(refused.code, Some(0), "{refused}");
    let refused_code = refused.code;

    // First line of a private file: connects, no warning.
    let good = pw_file(
        &dir,
        "good",
        &format!("{AUTH_PASSWORD}\nsecond line\n"),
        0o600,
    );
    let out = publish(&[args.clone(), strs(&["--pw-file", &good])].concat(), &[]);
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(out.stderr_str(), "", "{out}");
    assert_secret_not_shown(&out, AUTH_PASSWORD);

    // A wrong password from the file is refused as -P's is, and not shown.
    let bad = pw_file(&dir, "bad", "wrong-pw-2\n", 0o600);
    let out = publish(&[args.clone(), strs(&["--pw-file", &bad])].concat(), &[]);
    assert_eq!(out.code, refused_code, "{out}");
    assert_secret_not_shown(&out, "wrong-pw-2");

    // The environment variable.
    let out = publish(&args, &[(mqtts::password::ENV, AUTH_PASSWORD)]);
    assert_eq!(out.code, Some(0), "{out}");
    assert_secret_not_shown(&out, AUTH_PASSWORD);

    // -P wins over both.
    let out = publish(
        &[
            args.clone(),
            strs(&["-P", "wrong-pw-3", "--pw-file", &good]),
        ]
        .concat(),
        &[(mqtts::password::ENV, AUTH_PASSWORD)],
    );
    assert_eq!(out.code, refused_code, "{out}");
    // --pw-file wins over the environment.
    let out = publish(
        &[args.clone(), strs(&["--pw-file", &good])].concat(),
        &[(mqtts::password::ENV, "wrong-pw-4")],
    );
    assert_eq!(out.code, Some(0), "{out}");

    // A file other users can read: a warning, and it still works.
    let open = pw_file(&dir, "open", &format!("{AUTH_PASSWORD}\n"), 0o644);
    let out = publish(&[args.clone(), strs(&["--pw-file", &open])].concat(), &[]);
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(
        out.stderr_str(),
        format!(
            "Warning: --pw-file {open} is accessible by other users (mode 0644); make it private: chmod 600 {open}\n"
        ),
        "{out}"
    );
}

#[test]
fn password_sources_need_a_user_and_a_readable_file() {
    let broker = Broker::shared();
    let dir = TempDir::new("pw");
    let args = auth_args(broker);
    let good = pw_file(&dir, "good", AUTH_PASSWORD, 0o600);
    // Without -u: --pw-file is an error; MQTTS_PASSWORD is not used (the broker refuses
    // the anonymous connection, as without it).
    let no_user: Vec<String> = {
        let p = args.iter().position(|x| x == "-u").unwrap();
        [&args[..p], &args[p + 2..]].concat()
    };
    let out = publish(
        &[no_user.clone(), strs(&["--pw-file", &good])].concat(),
        &[],
    );
    assert_eq!(out.code, Some(1), "{out}");
    assert_eq!(
        out.stderr_str(),
        format!("Error: --pw-file {good} is given without a user name: give it with -u.\n")
    );
    let anonymous = publish(&no_user, &[]);
    let with_env = publish(&no_user, &[(mqtts::password::ENV, AUTH_PASSWORD)]);
    assert_ne!(anonymous.code, Some(0), "{anonymous}");
    assert_eq!(with_env.code, anonymous.code, "{with_env}");

    let missing = dir.join("missing").display().to_string();
    let out = publish(
        &[args.clone(), strs(&["--pw-file", &missing])].concat(),
        &[],
    );
    assert_eq!(out.code, Some(1), "{out}");
    assert_eq!(
        out.stderr_str(),
        format!("Error: --pw-file {missing}: No such file or directory\n")
    );
}
