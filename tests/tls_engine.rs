//! Private keys held by an OpenSSL engine: a throwaway SoftHSM2 token (its own config and
//! token directory, removed at exit) whose key pair is generated inside the token, a
//! client certificate issued by the test CA for the token's public key, and mutual TLS
//! through the `pkcs11` engine (p11-kit finds SoftHSM2's module; SOFTHSM2_CONF points at
//! the token's config). Differential against mosquitto_pub/mosquitto_sub 2.0.11, which
//! also need an (empty) file named like the key id in their working directory.

mod common;

use common::broker::Broker;
use common::oracle::*;
use common::pki::{CertSpec, Usage, pki};
use common::*;
use openssl::pkey::{PKey, Public};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const PIN: &str = "2468";
const SO_PIN: &str = "13579";
/// The token's EC P-256 key (id 01) and RSA 2048 key (id 02).
const KEY_LABEL: &str = "mqtts-client";
const RSA_KEY_LABEL: &str = "mqtts-rsa-client";
const SOFTHSM_MODULES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
];

/// A SoftHSM2 token with an EC key pair generated inside it, and a certificate for it.
struct Token {
    _dir: TempDir,
    /// The SoftHSM2 config naming this token's own directory.
    conf: PathBuf,
    label: String,
    /// Client certificates (from the test CA) for the token's EC and RSA keys.
    cert: PathBuf,
    rsa_cert: PathBuf,
    /// A directory holding an empty file named like each key id mosquitto is given.
    mosquitto_cwd: TempDir,
    /// A directory with no such files, where mqtts runs.
    our_cwd: TempDir,
}

fn run_tool(conf: &Path, program: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(program)
        .args(args)
        .env("SOFTHSM2_CONF", conf)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} ({e}): install softhsm2 opensc (scripts/lib.sh)")
        });
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

impl Token {
    fn create() -> Token {
        let dir = TempDir::new("softhsm");
        let tokens = dir.join("tokens");
        std::fs::create_dir(&tokens).expect("token dir");
        let conf = dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .expect("softhsm2.conf");
        let label = format!("mqtts-{}", std::process::id());
        run_tool(
            &conf,
            "softhsm2-util",
            &[
                "--init-token",
                "--free",
                "--label",
                &label,
                "--so-pin",
                SO_PIN,
                "--pin",
                PIN,
            ],
        );
        let module = SOFTHSM_MODULES
            .iter()
            .find(|m| Path::new(m).exists())
            .expect("libsofthsm2.so (package libsofthsm2)");
        let p11 = |more: &[&str]| {
            let mut a = vec!["--module", module, "--token-label", &label];
            a.extend_from_slice(more);
            run_tool(&conf, "pkcs11-tool", &a)
        };
        p11(&[
            "--login",
            "--pin",
            PIN,
            "--keypairgen",
            "--key-type",
            "EC:prime256v1",
            "--label",
            KEY_LABEL,
            "--id",
            "01",
        ]);
        p11(&[
            "--login",
            "--pin",
            PIN,
            "--keypairgen",
            "--key-type",
            "rsa:2048",
            "--label",
            RSA_KEY_LABEL,
            "--id",
            "02",
        ]);
        let issue = |label: &str, cn: &str| {
            let der = dir.join(format!("{label}.der"));
            p11(&[
                "--read-object",
                "--type",
                "pubkey",
                "--label",
                label,
                "-o",
                &der.display().to_string(),
            ]);
            let public: PKey<Public> =
                PKey::public_key_from_der(&std::fs::read(&der).expect("public key")).expect("SPKI");
            let spec = CertSpec {
                common_name: cn,
                dns: &[],
                ips: &[],
                not_before: -86_400,
                not_after: 365 * 86_400,
                usage: Usage::Client,
            };
            pki().issue_for_key(dir.path(), label, &spec, &public)
        };
        let cert = issue(KEY_LABEL, "mqtts token client");
        let rsa_cert = issue(RSA_KEY_LABEL, "mqtts token RSA client");
        Token {
            _dir: dir,
            conf,
            label,
            cert,
            rsa_cert,
            mosquitto_cwd: TempDir::new("softhsm-mosq-cwd"),
            our_cwd: TempDir::new("softhsm-our-cwd"),
        }
    }

    /// The PKCS#11 URI of the token's key (`object=` it, with `pin-value=` when `pin`).
    fn uri(&self, object: &str, pin: Option<&str>) -> String {
        let mut u = format!("pkcs11:token={};object={object};type=private", self.label);
        if let Some(p) = pin {
            u.push_str(&format!(";pin-value={p}"));
        }
        u
    }
}

/// The token of this test process, made once and removed at exit, held by one test at a
/// time: with several processes using SoftHSM2's file store at once, one of them now and
/// then sees no token at all (measured: 1-2 in 20 runs of two concurrent loops of
/// mqtts-pub; mqtts then says "p11-kit finds no initialised token.").
fn token() -> (&'static Token, std::sync::MutexGuard<'static, ()>) {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    (shared_token(), guard)
}

fn shared_token() -> &'static Token {
    static TOKEN: OnceLock<Token> = OnceLock::new();
    TOKEN.get_or_init(|| {
        let t = Token::create();
        remove_at_exit(t._dir.path());
        remove_at_exit(t.mosquitto_cwd.path());
        remove_at_exit(t.our_cwd.path());
        t
    })
}

/// Connection arguments for the broker's `mtls` listener with the engine key `key`.
fn engine_args(broker: &Broker, cert: &Path, key: &str) -> Vec<String> {
    let mut a = vec![
        "-h".to_string(),
        broker.host().to_string(),
        "-p".to_string(),
        broker.port("mtls").to_string(),
        "--cafile".to_string(),
        pki().ca.display().to_string(),
        "--cert".to_string(),
        cert.display().to_string(),
    ];
    a.extend(strs(&[
        "--keyform",
        "engine",
        "--tls-engine",
        "pkcs11",
        "--key",
    ]));
    a.push(key.to_string());
    a
}

/// A run of `prog` with the token's SoftHSM2 config; mosquitto's in a directory holding
/// a file named like `key` (it insists on one), ours where there is none.
fn run_in(prog: Prog, key: &str, args: &[String]) -> Run {
    let t = shared_token();
    let ours = matches!(prog, Prog::OursPub | Prog::OursSub);
    let cwd = if ours {
        t.our_cwd.path()
    } else {
        std::fs::write(t.mosquitto_cwd.join(key), b"").expect("dummy key file");
        t.mosquitto_cwd.path()
    };
    if ours {
        assert!(!cwd.join(key).exists(), "no key file for mqtts");
    }
    Run::prog(prog)
        .args(args)
        .env("SOFTHSM2_CONF", &t.conf)
        .env_remove("MQTTS_KEY_PASSWORD")
        .current_dir(cwd)
}

#[test]
fn pub_over_mutual_tls_with_a_token_key_matches_mosquitto() {
    let broker = Broker::shared();
    let (t, _one_at_a_time) = token();
    let key = t.uri(KEY_LABEL, Some(PIN));
    let mut seen = Vec::new();
    for prog in [Prog::MosquittoPub, Prog::OursPub] {
        let topic = unique_topic("engine-pub");
        let sub = start_subscriber(
            broker,
            Prog::MosquittoSub,
            [broker.client_args("mtls"), strs(&["-C", "1", "-v", "-i"])]
                .concat()
                .into_iter()
                .chain([format!("sub-{}", prog.name()), "-t".into(), topic.clone()]),
        );
        let mut args = engine_args(broker, &t.cert, &key);
        args.extend(strs(&[
            "-d",
            "-q",
            "1",
            "-i",
            "engine-pub",
            "-m",
            "from the token",
            "-t",
        ]));
        args.push(topic.clone());
        let out = run_in(prog, &key, &args).run();
        out.assert_success();
        let got = sub.wait(DEFAULT_TIMEOUT);
        assert_eq!(
            got.stdout_str(),
            format!("{topic} from the token\n"),
            "{got}"
        );
        assert_eq!(out.stderr_str(), "", "{out}");
        let trace = normalise_trace(&out.stdout_str()).replace(&topic, "TOPIC");
        assert!(trace.contains("received PUBACK"), "{out}");
        seen.push(trace);
    }
    assert_eq!(
        seen[1], seen[0],
        "mqtts-pub's -d trace differs from mosquitto_pub's"
    );
}

#[test]
fn sub_over_mutual_tls_with_a_token_key_matches_mosquitto() {
    let broker = Broker::shared();
    let (t, _one_at_a_time) = token();
    let key = t.uri(KEY_LABEL, Some(PIN));
    let mut seen = Vec::new();
    for prog in [Prog::MosquittoSub, Prog::OursSub] {
        let topic = unique_topic("engine-sub");
        let id = format!("engine-{}", prog.name());
        let mut args = engine_args(broker, &t.cert, &key);
        args.extend(strs(&["-d", "-C", "1", "-v", "-i", &id, "-t", &topic]));
        let sub = start_subscriber_with(broker, run_in(prog, &key, &args));
        ours_pub(
            [
                broker.client_args("mtls"),
                strs(&["-q", "1", "-m", "to the token", "-t", &topic]),
            ]
            .concat(),
        )
        .assert_success();
        let out = sub.wait(DEFAULT_TIMEOUT);
        out.assert_success();
        assert!(
            out.stdout_str()
                .contains(&format!("\n{topic} to the token\n")),
            "{out}"
        );
        assert_eq!(out.stderr_str(), "", "{out}");
        seen.push(
            normalise_trace(&out.stdout_str())
                .replace(&topic, "TOPIC")
                .replace(&id, "ID"),
        );
    }
    assert_eq!(
        seen[1], seen[0],
        "mqtts-sub's -d trace differs from mosquitto_sub's"
    );
}

#[test]
fn pin_from_the_key_password_sources() {
    let broker = Broker::shared();
    let (t, _one_at_a_time) = token();
    let key = t.uri(KEY_LABEL, None);
    let topic = unique_topic("engine-pin");
    let mut args = engine_args(broker, &t.cert, &key);
    args.extend(strs(&["-m", "x", "-t", &topic]));
    run_in(Prog::OursPub, &key, &args)
        .env("MQTTS_KEY_PASSWORD", PIN)
        .run()
        .assert_success();
    let pw = t.our_cwd.join("pin.txt");
    std::fs::write(&pw, format!("{PIN}\n")).unwrap();
    let mut with_file = args.clone();
    with_file.extend(["--key-password-file".to_string(), pw.display().to_string()]);
    let out = run_in(Prog::OursPub, &key, &with_file).run();
    out.assert_success();
    std::fs::remove_file(&pw).unwrap();
    // Asked on the terminal (script(1) gives it one), with the prompt naming the key.
    let quoted: Vec<String> = std::iter::once(Prog::OursPub.path().display().to_string())
        .chain(args.iter().cloned())
        .map(|a| format!("'{a}'"))
        .collect();
    let mut tty = Run::new("script")
        .args(["-qec", &quoted.join(" "), "/dev/null"])
        .env("SOFTHSM2_CONF", &t.conf)
        .env_remove("MQTTS_KEY_PASSWORD")
        .current_dir(t.our_cwd.path())
        .stdin_pipe()
        .spawn();
    let prompt = format!("Enter the PIN for the token of --key {key}: ");
    assert!(
        tty.wait_for_stdout(&prompt, DEFAULT_TIMEOUT),
        "no PIN prompt: {}",
        tty.stdout_str()
    );
    tty.write_stdin(format!("{PIN}\n").as_bytes()).unwrap();
    let out = tty.wait(DEFAULT_TIMEOUT);
    out.assert_success();
    assert!(!out.stdout_str().contains(PIN), "PIN echoed: {out}");

    // No PIN anywhere and no terminal to ask on (setsid: no controlling terminal).
    let out = Run::new("setsid")
        .arg("-w")
        .arg(Prog::OursPub.path())
        .args(&args)
        .env("SOFTHSM2_CONF", &t.conf)
        .env_remove("MQTTS_KEY_PASSWORD")
        .current_dir(t.our_cwd.path())
        .run();
    out.assert_code(1);
    let err = out.stderr_str();
    assert!(err.contains("needs a PIN and none was given"), "{out}");
    assert!(err.contains("MQTTS_KEY_PASSWORD"), "{out}");
}

/// Runs the failing argv through mosquitto_pub (exit code only: its messages say "A TLS
/// error occurred." or nothing) and ours; returns our stderr after checking both exit 1.
fn both_fail(key: &str, args: &[String]) -> String {
    let theirs = run_in(Prog::MosquittoPub, key, args).run();
    theirs.assert_code(1);
    let ours = run_in(Prog::OursPub, key, args).run();
    ours.assert_code(1);
    assert_eq!(ours.stdout_str(), theirs.stdout_str());
    let err = ours.stderr_str();
    assert!(
        !err.contains(PIN) && !err.contains("1111"),
        "PIN shown:\n{ours}"
    );
    err
}

fn pub_args(broker: &Broker, cert: &Path, key: &str) -> Vec<String> {
    let mut a = engine_args(broker, cert, key);
    a.extend(strs(&["-m", "x", "-t", "engine/fail"]));
    a
}

#[test]
fn engine_failures_are_named() {
    let broker = Broker::shared();
    let (t, _one_at_a_time) = token();

    // An engine OpenSSL does not have.
    let key = t.uri(KEY_LABEL, Some(PIN));
    let mut args = pub_args(broker, &t.cert, &key);
    let i = args.iter().position(|a| a == "pkcs11").unwrap();
    args[i] = "no-such-engine".into();
    let err = both_fail(&key, &args);
    assert!(err.contains("\"no-such-engine\""), "{err}");
    assert!(err.contains("cannot be loaded"), "{err}");
    assert!(err.contains("libengine-pkcs11-openssl"), "{err}");

    // No such object in the token.
    let key = t.uri("no-such-key", Some(PIN));
    let err = both_fail(&key, &pub_args(broker, &t.cert, &key));
    assert!(err.contains("found no private key"), "{err}");
    assert!(err.contains("object=no-such-key"), "{err}");
    assert!(err.contains("pin-value=(hidden)"), "{err}");
    // …and what the token holds.
    assert!(
        err.contains(&format!("Token \"{}\" holds: ", t.label)),
        "{err}"
    );
    assert!(
        err.contains(&format!("key \"{KEY_LABEL}\" (id 01)")),
        "{err}"
    );

    // No such token: the tokens present are named.
    let key = t
        .uri(KEY_LABEL, Some(PIN))
        .replace(&t.label, "no-such-token");
    let err = both_fail(&key, &pub_args(broker, &t.cert, &key));
    assert!(err.contains("found no private key"), "{err}");
    assert!(
        err.contains(&format!(
            "No token is labelled \"no-such-token\"; the tokens present: \"{}\"",
            t.label
        )),
        "{err}"
    );

    // A wrong PIN, in the URI and from MQTTS_KEY_PASSWORD.
    let key = t.uri(KEY_LABEL, Some("1111"));
    let err = both_fail(&key, &pub_args(broker, &t.cert, &key));
    assert!(err.contains("wrong PIN"), "{err}");
    assert!(err.contains("pin-value= in the key URI"), "{err}");
    let key = t.uri(KEY_LABEL, None);
    let out = run_in(Prog::OursPub, &key, &pub_args(broker, &t.cert, &key))
        .env("MQTTS_KEY_PASSWORD", "1111")
        .run();
    out.assert_code(1);
    assert!(out.stderr_str().contains("wrong PIN"), "{out}");
    assert!(
        out.stderr_str().contains("from MQTTS_KEY_PASSWORD"),
        "{out}"
    );
    assert!(!out.stderr_str().contains("1111"), "{out}");
    // --quiet: nothing on stderr from mqtts (mosquitto_pub still shows the engine's own
    // lines, PIN included).
    let key = t.uri(KEY_LABEL, Some("1111"));
    let mut quiet = pub_args(broker, &t.cert, &key);
    quiet.push("--quiet".into());
    run_in(Prog::MosquittoPub, &key, &quiet)
        .run()
        .assert_code(1);
    let out = run_in(Prog::OursPub, &key, &quiet).run();
    out.assert_code(1);
    assert_eq!(out.stderr_str(), "", "{out}");

    // The certificate of another key.
    let key = t.uri(KEY_LABEL, Some(PIN));
    let err = both_fail(&key, &pub_args(broker, &pki().client_rsa_cert, &key));
    assert!(err.contains("does not belong to the engine key"), "{err}");
    assert!(err.contains("Certificate: O=mqtts tests, CN="), "{err}");

    // --tls-engine-kpass-sha1: the pkcs11 engine has no SHA1 secret mode.
    let mut args = pub_args(broker, &t.cert, &key);
    args.extend(strs(&[
        "--tls-engine-kpass-sha1",
        "7110eda4d09e062aa5e4a390b0a572ac0d2c0220",
    ]));
    let err = both_fail(&key, &args);
    assert!(err.contains("SECRET_MODE"), "{err}");

    // --keyform engine without --tls-engine.
    let args: Vec<String> = pub_args(broker, &t.cert, &key)
        .into_iter()
        .filter(|a| a != "--tls-engine" && a != "pkcs11")
        .collect();
    let err = both_fail(&key, &args);
    assert!(err.contains("--keyform engine needs --tls-engine"), "{err}");
}

#[test]
fn tls_engine_alone_with_a_pem_key_matches_mosquitto() {
    // --tls-engine without --keyform engine: the engine is loaded (and made OpenSSL's
    // default, as mosquitto does) while the key comes from the PEM --key file.
    let broker = Broker::shared();
    let (_t, _one_at_a_time) = token();
    let mut seen = Vec::new();
    for prog in [Prog::MosquittoPub, Prog::OursPub] {
        let topic = unique_topic("engine-alone");
        let mut args = broker.client_args("mtls");
        args.extend(strs(&[
            "--tls-engine",
            "pkcs11",
            "-d",
            "-q",
            "1",
            "-i",
            "engine-alone",
        ]));
        args.extend(strs(&["-m", "pem key", "-t", &topic]));
        let out = run_in(prog, "unused", &args).run();
        out.assert_success();
        assert_eq!(out.stderr_str(), "", "{out}");
        seen.push(normalise_trace(&out.stdout_str()).replace(&topic, "TOPIC"));
    }
    assert!(seen[0].contains("received PUBACK"), "{}", seen[0]);
    assert_eq!(
        seen[1], seen[0],
        "mqtts-pub's -d trace differs from mosquitto_pub's"
    );
}

#[test]
fn broker_rejecting_the_token_keys_certificate_is_diagnosed() {
    // A certificate for the token's key from a CA the broker does not trust: the failure
    // diagnosis redoes the handshake with the engine key and names the rejection.
    let broker = Broker::shared();
    let (t, _one_at_a_time) = token();
    let other = common::pki::Pki::generate();
    let public = openssl::x509::X509::from_pem(&std::fs::read(&t.cert).unwrap())
        .unwrap()
        .public_key()
        .unwrap();
    let spec = CertSpec {
        common_name: "mqtts token client of another CA",
        dns: &[],
        ips: &[],
        not_before: -86_400,
        not_after: 365 * 86_400,
        usage: Usage::Client,
    };
    let cert = other.issue_for_key(&other.dir, "token-other-ca", &spec, &public);
    let key = t.uri(KEY_LABEL, Some(PIN));
    let out = run_in(Prog::OursPub, &key, &pub_args(broker, &cert, &key)).run();
    out.assert_code(84);
    let err = out.stderr_str();
    assert!(err.contains("rejected the client certificate"), "{out}");
    assert!(err.contains("CN=mqtts token client of another CA"), "{out}");
    assert!(!err.contains(PIN), "{out}");
}

#[test]
fn rsa_token_key_over_tls_1_2_and_1_3() {
    // RSA in the token: TLS 1.3 signs with RSA-PSS, TLS 1.2 (here) may use PKCS#1.
    let broker = Broker::shared();
    let (t, _one_at_a_time) = token();
    let key = t.uri(RSA_KEY_LABEL, Some(PIN));
    for max in ["tlsv1.3", "tlsv1.2"] {
        let topic = unique_topic("engine-rsa");
        let sub = start_subscriber(
            broker,
            Prog::MosquittoSub,
            [broker.client_args("mtls"), strs(&["-C", "1", "-i"])]
                .concat()
                .into_iter()
                .chain([format!("rsa-{max}"), "-t".into(), topic.clone()]),
        );
        let mut args = engine_args(broker, &t.rsa_cert, &key);
        args.extend(strs(&[
            "--tls-max-version",
            max,
            "-q",
            "1",
            "-m",
            max,
            "-t",
            &topic,
        ]));
        let out = run_in(Prog::OursPub, &key, &args).run();
        out.assert_success();
        assert_eq!(out.stderr_str(), "", "{out}");
        let got = sub.wait(DEFAULT_TIMEOUT);
        assert_eq!(got.stdout_str(), format!("{max}\n"), "{got}");
    }
}
