//! TLS: plan rules, file checks, and the diagnosis of each failure class in
//! docs tls-diagnostics.md against real mosquitto listeners and `openssl s_server`.

mod common;

use common::pki::{CA_CN, CertSpec, UNTRUSTED_CA_CN, Usage};
use common::*;
use mqtts::exit::Failure;
use mqtts::options::{Client, Options};
use mqtts::tls::{self, TlsPlan};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const DAY: i64 = 86_400;

fn opts() -> Options {
    mqtts::options::defaults(Client::Pub)
}

/// A path as the `String` the options hold.
fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The last component of a path (what the messages are checked to name).
fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// Writes `data` to `dir/name` and returns the path (password files, files that are not PEM).
fn write_file(dir: &TempDir, name: &str, data: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    s(&p)
}

/// A --key-password-file holding `password` and a newline.
fn password_file(dir: &TempDir, name: &str, password: &str) -> String {
    write_file(dir, name, format!("{password}\n").as_bytes())
}

fn plan_ok(o: &Options, port: u16) -> TlsPlan {
    match tls::plan(o, port) {
        Ok(Some(p)) => p,
        Ok(None) => panic!("expected TLS"),
        Err(f) => panic!("plan failed: {:?}", f.lines),
    }
}

fn plan_err(o: &Options, port: u16) -> Failure {
    match tls::plan(o, port) {
        Ok(_) => panic!("expected an error"),
        Err(f) => f,
    }
}

fn text(f: &Failure) -> String {
    f.lines.join("\n")
}

#[track_caller]
fn assert_has(f: &Failure, code: i32, needles: &[&str]) {
    let t = text(f);
    eprintln!("--- exit {}\n{t}", f.code);
    assert_eq!(f.code, code, "code for:\n{t}");
    assert!(t.starts_with("Error: "), "first line:\n{t}");
    assert!(f.lines.len() <= 4, "too many lines:\n{t}");
    for n in needles {
        assert!(t.contains(n), "missing {n:?} in:\n{t}");
    }
}

/// Options with `--cafile` set to the test CA.
fn ca_opts() -> Options {
    let mut o = opts();
    o.tls.cafile = Some(s(&pki().ca));
    o
}

fn client_cert(o: &mut Options) {
    o.tls.cert = Some(s(&pki().client_rsa_cert));
    o.tls.key = Some(s(&pki().client_rsa_key));
}

/// diagnose, bounded in time.
fn diag(host: &str, port: u16, plan: Option<&TlsPlan>) -> Failure {
    let start = Instant::now();
    let f = tls::diagnose(host, port, plan);
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "diagnose took {:?}",
        start.elapsed()
    );
    f
}

// ---------------------------------------------------------------- plan rules

#[test]
fn plain_without_tls_options() {
    assert!(tls::plan(&opts(), 1883).unwrap().is_none());
}

#[test]
fn tls_on_by_mosquitto_rules() {
    let mut o = opts();
    assert!(tls::plan(&o, 8883).unwrap().is_some(), "port 8883");
    o.url_tls = true;
    assert!(tls::plan(&o, 1883).unwrap().is_some(), "mqtts://");
    let mut o = opts();
    o.tls.use_os_certs = true;
    let p = plan_ok(&o, 1883);
    assert!(p.use_os_certs && p.cafile.is_none());
    assert!(tls::plan(&ca_opts(), 1883).unwrap().is_some(), "--cafile");
}

#[test]
fn tls_option_without_tls_is_an_error() {
    for (set, name) in [
        (
            Box::new(|o: &mut Options| client_cert(o)) as Box<dyn Fn(&mut Options)>,
            "--cert",
        ),
        (
            Box::new(|o: &mut Options| o.tls.insecure = true),
            "--insecure",
        ),
        (
            Box::new(|o: &mut Options| o.tls.ciphers = Some("HIGH".into())),
            "--ciphers",
        ),
        (
            Box::new(|o: &mut Options| o.tls.tls_version = Some("tlsv1.3".into())),
            "--tls-version",
        ),
        (
            Box::new(|o: &mut Options| o.tls.tls_alpn = Some("mqtt".into())),
            "--tls-alpn",
        ),
        (
            Box::new(|o: &mut Options| o.tls.key = Some("k.pem".into())),
            "--key",
        ),
    ] {
        let mut o = opts();
        set(&mut o);
        let f = plan_err(&o, 1883);
        assert_has(
            &f,
            tls::FILE_ERROR,
            &[name, "needs TLS", "--cafile", "8883"],
        );
    }
}

#[test]
fn bad_versions() {
    let mut o = opts();
    o.tls.tls_version = Some("tlsv9".into());
    assert_has(&plan_err(&o, 8883), 1, &["--tls-version", "tlsv9"]);
    let mut o = opts();
    o.tls.tls_version = Some("tlsv1.3".into());
    o.tls.tls_max_version = Some("tlsv1.2".into());
    assert_has(&plan_err(&o, 8883), 1, &["--tls-max-version", "lower"]);
}

#[test]
fn password_warning() {
    let mut o = opts();
    o.password = Some("pw".into());
    assert!(tls::plaintext_password_warning(&o, "localhost", false).is_none());
    assert!(tls::plaintext_password_warning(&o, "127.0.0.1", false).is_none());
    assert!(tls::plaintext_password_warning(&o, "::1", false).is_none());
    assert!(tls::plaintext_password_warning(&o, "broker.example", true).is_none());
    let w = tls::plaintext_password_warning(&o, "broker.example", false).unwrap();
    assert!(w.starts_with("Warning: ") && w.contains("broker.example") && w.contains("plaintext"));
    assert!(!w.contains("pw "));
}

#[test]
fn insecure_warns() {
    let mut o = ca_opts();
    o.tls.insecure = true;
    let p = plan_ok(&o, 8883);
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("--insecure") && w.contains("host name"))
    );
}

// ---------------------------------------------------------------- file checks

#[test]
fn missing_cafile() {
    let mut o = opts();
    o.tls.cafile = Some("/nonexistent/ca.crt".into());
    let f = plan_err(&o, 8883);
    assert_has(
        &f,
        1,
        &["--cafile /nonexistent/ca.crt: No such file or directory"],
    );
}

#[test]
fn missing_key_and_unreadable_dir() {
    let mut o = ca_opts();
    o.tls.cert = Some(s(&pki().client_rsa_cert));
    o.tls.key = Some("/nonexistent/client.key".into());
    assert_has(
        &plan_err(&o, 8883),
        1,
        &["--key /nonexistent/client.key", "No such file"],
    );
    let mut o = opts();
    o.tls.cafile = Some(s(&pki().dir));
    assert_has(&plan_err(&o, 8883), 1, &["--cafile", "Is a directory"]);
}

#[test]
fn not_pem_files() {
    let pki = pki();
    let dir = TempDir::new("tls-not-pem");
    let mut o = opts();
    o.tls.cafile = Some(s(&pki.ca_der));
    assert_has(
        &plan_err(&o, 8883),
        1,
        &[&file_name(&pki.ca_der), "DER", "openssl x509 -inform der"],
    );
    o.tls.cafile = Some(write_file(
        &dir,
        "garbage.txt",
        b"this is not a certificate\n",
    ));
    assert_has(&plan_err(&o, 8883), 1, &["garbage.txt", "not PEM"]);
    o.tls.cafile = Some(write_file(&dir, "empty.pem", b""));
    assert_has(&plan_err(&o, 8883), 1, &["empty.pem", "is empty"]);
    o.tls.cafile = Some(s(&pki.client_rsa_key));
    assert_has(
        &plan_err(&o, 8883),
        1,
        &["contains no PEM certificate", "PRIVATE KEY"],
    );

    let mut o = ca_opts();
    o.tls.cert = Some(s(&pki.client_p12));
    o.tls.key = Some(s(&pki.client_rsa_key));
    assert_has(&plan_err(&o, 8883), 1, &["--cert", "PKCS#12", "--pkcs12"]);
    o.tls.cert = Some(s(&pki.client_rsa_cert));
    let key =
        openssl::pkey::PKey::private_key_from_pem(&std::fs::read(&pki.client_rsa_key).unwrap())
            .unwrap();
    o.tls.key = Some(write_file(
        &dir,
        "client-key.der",
        &key.private_key_to_der().unwrap(),
    ));
    assert_has(
        &plan_err(&o, 8883),
        1,
        &["--key", "DER", "openssl pkey -inform der"],
    );
    o.tls.key = Some(s(&pki.client_rsa_cert));
    assert_has(&plan_err(&o, 8883), 1, &["--key", "swapped"]);
}

#[test]
fn cert_without_key_and_reverse() {
    let mut o = ca_opts();
    o.tls.cert = Some(s(&pki().client_rsa_cert));
    assert_has(&plan_err(&o, 8883), 1, &["--cert", "without --key"]);
    let mut o = ca_opts();
    o.tls.key = Some(s(&pki().client_rsa_key));
    assert_has(&plan_err(&o, 8883), 1, &["--key", "without --cert"]);
}

#[test]
fn key_does_not_match_cert() {
    let mut o = ca_opts();
    o.tls.cert = Some(s(&pki().client_mismatch_cert));
    o.tls.key = Some(s(&pki().client_mismatch_key));
    let f = plan_err(&o, 8883);
    assert_has(
        &f,
        1,
        &[
            "does not match",
            &s(&pki().client_mismatch_cert),
            &s(&pki().client_mismatch_key),
        ],
    );
}

#[test]
fn encrypted_key_passwords() {
    let pki = pki();
    let dir = TempDir::new("tls-key-pw");
    let key_name = file_name(&pki.client_encrypted_key);
    let mut o = ca_opts();
    o.tls.cert = Some(s(&pki.client_encrypted_cert));
    o.tls.key = Some(s(&pki.client_encrypted_key));
    // No --key-password-file, no env var (not set in tests), no terminal.
    if std::env::var_os(tls::KEY_PASSWORD_ENV).is_none() {
        let f = plan_err(&o, 8883);
        assert_has(
            &f,
            1,
            &[
                &key_name,
                "encrypted",
                "--key-password-file",
                tls::KEY_PASSWORD_ENV,
            ],
        );
    }
    o.tls.key_password_file = Some(password_file(&dir, "wrongpw.txt", "not it"));
    assert_has(
        &plan_err(&o, 8883),
        1,
        &["wrong password", &key_name, "wrongpw.txt"],
    );
    o.tls.key_password_file = Some(password_file(&dir, "keypw.txt", KEY_PASSWORD));
    let p = plan_ok(&o, 8883);
    assert!(p.key_password.is_some());
    assert!(
        !format!("{p:?}").contains(KEY_PASSWORD),
        "password in Debug output"
    );
    assert!(p.ssl_options().is_ok());
}

#[test]
fn pkcs12_is_handed_over_in_memory() {
    let pki = pki();
    let dir = TempDir::new("tls-p12-pw");
    let mut o = ca_opts();
    o.tls.pkcs12 = Some(s(&pki.client_p12));
    o.tls.key_password_file = Some(password_file(&dir, "wrongpw.txt", "not it"));
    assert_has(
        &plan_err(&o, 8883),
        1,
        &["wrong password", &file_name(&pki.client_p12)],
    );
    o.tls.key_password_file = Some(password_file(&dir, "p12pw.txt", P12_PASSWORD));
    let p = plan_ok(&o, 8883);
    let path = p.cert.clone().unwrap();
    assert!(path.starts_with("/proc/self/fd/"), "{path}");
    let target = std::fs::read_link(&path).unwrap();
    assert!(target.to_string_lossy().contains("memfd:"), "{target:?}");
    let pem = std::fs::read_to_string(&path).unwrap();
    assert!(pem.contains("BEGIN CERTIFICATE") && pem.contains("BEGIN PRIVATE KEY"));
    o.tls.cert = Some(s(&pki.client_rsa_cert));
    assert_has(&plan_err(&o, 8883), 1, &["--pkcs12", "--cert"]);
}

#[test]
fn expired_and_expiring_certs() {
    let pki = pki();
    let mut o = ca_opts();
    o.tls.cert = Some(s(&pki.client_expired_cert));
    o.tls.key = Some(s(&pki.client_expired_key));
    assert_has(
        &plan_err(&o, 8883),
        1,
        &["client certificate", "expired on", "GMT"],
    );
    o.tls.cert = Some(s(&pki.client_expiring_cert));
    o.tls.key = Some(s(&pki.client_expiring_key));
    let p = plan_ok(&o, 8883);
    let w = p.warnings.join("\n");
    assert!(
        w.contains("Warning: the client certificate") && w.contains("expires on"),
        "{w}"
    );
    o.tls.cert_expiry_warn = Some(Duration::from_secs(86400));
    assert!(plan_ok(&o, 8883).warnings.is_empty());

    // The file check looks at the validity dates only, so a leaf cert of the trusted CA
    // stands in for an expired CA certificate.
    let dir = TempDir::new("tls-expired-ca");
    let (expired_ca, _) = pki.issue(
        dir.path(),
        "expired-ca",
        &CertSpec {
            common_name: "expired CA",
            dns: &[],
            ips: &[],
            not_before: -400 * DAY,
            not_after: -10 * DAY,
            usage: Usage::Server,
        },
    );
    let mut o = opts();
    o.tls.cafile = Some(s(&expired_ca));
    assert_has(
        &plan_err(&o, 8883),
        1,
        &["CA certificate", "--cafile", "expired on"],
    );
}

#[test]
fn bad_cipher_list() {
    let mut o = ca_opts();
    o.tls.ciphers = Some("NOPE".into());
    assert_has(&plan_err(&o, 8883), 1, &["--ciphers NOPE"]);
}

// ---------------------------------------------------------------- diagnosis

#[test]
fn network_refused() {
    let port = free_port();
    let f = diag("127.0.0.1", port, None);
    assert_has(&f, tls::NETWORK, &["connection refused", &port.to_string()]);
    let p = plan_ok(&ca_opts(), port);
    let f = diag("localhost", port, Some(&p));
    assert_has(&f, tls::NETWORK, &["connection refused", "localhost"]);
}

#[test]
fn network_dns_failure() {
    let f = diag("no-such-host.invalid", 1883, None);
    assert_has(&f, tls::NETWORK, &["DNS", "no-such-host.invalid"]);
}

#[test]
fn server_cert_not_trusted() {
    let port = Broker::shared().port("tls");
    let mut o = opts();
    o.tls.cafile = Some(s(&pki().untrusted_ca));
    let p = plan_ok(&o, port);
    let f = diag("localhost", port, Some(&p));
    assert_has(
        &f,
        tls::SERVER_CERT_UNTRUSTED,
        &[
            "not trusted",
            &file_name(&pki().untrusted_ca),
            "subject O=mqtts tests, CN=localhost",
            &format!("issuer O=mqtts tests, CN={CA_CN}"),
        ],
    );
    // The OS store does not know the test CA either.
    let p = plan_ok(&opts(), 8883);
    let f = diag("localhost", port, Some(&p));
    assert_has(&f, tls::SERVER_CERT_UNTRUSTED, &["OS trust store"]);
}

#[test]
fn server_cert_expired() {
    let port = Broker::shared().port("expired");
    let p = plan_ok(&ca_opts(), port);
    let f = diag("localhost", port, Some(&p));
    assert_has(
        &f,
        tls::SERVER_CERT_EXPIRED,
        &["broker's certificate expired on", "GMT"],
    );
}

#[test]
fn hostname_mismatch() {
    let port = Broker::shared().port("wrong_host");
    let mut o = ca_opts();
    let p = plan_ok(&o, port);
    let f = diag("localhost", port, Some(&p));
    assert_has(
        &f,
        tls::HOSTNAME_MISMATCH,
        &[
            "host name localhost does not match",
            "DNS:wrong.example",
            "--insecure",
        ],
    );
    // IP literal too.
    let f = diag("127.0.0.1", port, Some(&p));
    assert_has(&f, tls::HOSTNAME_MISMATCH, &["127.0.0.1"]);
    // --insecure: no name check, the probe handshake works.
    o.tls.insecure = true;
    let p = plan_ok(&o, port);
    let f = diag("localhost", port, Some(&p));
    assert_has(&f, tls::TLS_FAILED, &["same settings works"]);
}

/// The client's plan on TLS 1.3 (default) and on TLS 1.2 (--tls-max-version), where
/// the broker's refusal arrives differently (alert after vs during the handshake).
fn both_versions(o: &Options, port: u16) -> Vec<TlsPlan> {
    let mut o12 = o.clone();
    o12.tls.tls_max_version = Some("tlsv1.2".into());
    vec![plan_ok(o, port), plan_ok(&o12, port)]
}

#[test]
fn client_cert_required() {
    let port = Broker::shared().port("mtls");
    for p in both_versions(&ca_opts(), port) {
        let f = diag("localhost", port, Some(&p));
        assert_has(
            &f,
            tls::CLIENT_CERT_REQUIRED,
            &["requires a client certificate", "--cert", "--key"],
        );
    }
}

#[test]
fn client_cert_rejected() {
    let port = Broker::shared().port("mtls");
    let mut o = ca_opts();
    o.tls.cert = Some(s(&pki().client_untrusted_cert));
    o.tls.key = Some(s(&pki().client_untrusted_key));
    for p in both_versions(&o, port) {
        let f = diag("localhost", port, Some(&p));
        assert_has(
            &f,
            tls::CLIENT_CERT_REJECTED,
            &[
                "rejected the client certificate",
                "unknown CA",
                &format!("issuer O=mqtts tests, CN={UNTRUSTED_CA_CN}"),
                &file_name(&pki().client_untrusted_cert),
            ],
        );
    }
}

#[test]
fn version_refused() {
    let port = Broker::shared().port("tls13");
    let mut o = ca_opts();
    o.tls.tls_max_version = Some("tlsv1.2".into());
    let p = plan_ok(&o, port);
    let f = diag("localhost", port, Some(&p));
    assert_has(
        &f,
        tls::TLS_NEGOTIATION,
        &[
            "refused the TLS versions",
            "Offered: TLS TLSv1.2.",
            "With any TLS version the broker negotiates TLSv1.3",
        ],
    );
    let server = TlsServer::tls12_only();
    let mut o = ca_opts();
    o.tls.tls_version = Some("tlsv1.3".into());
    let p = plan_ok(&o, server.port());
    let f = diag("localhost", server.port(), Some(&p));
    assert_has(
        &f,
        tls::TLS_NEGOTIATION,
        &["Offered: TLS TLSv1.3 or later", "negotiates TLSv1.2"],
    );
}

#[test]
fn cipher_refused() {
    // The harness's server key is RSA, hence ECDHE-RSA suites.
    let b = Broker::builder()
        .tls12only(false)
        .listener_config("tls", "tls_version tlsv1.2")
        .listener_config("tls", "ciphers ECDHE-RSA-AES256-GCM-SHA384")
        .start();
    let port = b.port("tls");
    let mut o = ca_opts();
    o.tls.ciphers = Some("ECDHE-RSA-AES128-GCM-SHA256".into());
    // mosquitto's listener tls_version is a minimum: keep the client on TLS 1.2.
    o.tls.tls_max_version = Some("tlsv1.2".into());
    let p = plan_ok(&o, port);
    let f = diag("localhost", port, Some(&p));
    assert_has(
        &f,
        tls::TLS_NEGOTIATION,
        &[
            "ciphers ECDHE-RSA-AES128-GCM-SHA256",
            "With no --ciphers/--tls-alpn the broker negotiates TLSv1.2 with ECDHE-RSA-AES256-GCM-SHA384",
        ],
    );
}

#[test]
fn tls_to_plain_port() {
    let port = Broker::shared().port("plain");
    let p = plan_ok(&ca_opts(), port);
    let f = diag("localhost", port, Some(&p));
    assert_has(
        &f,
        tls::TLS_TO_PLAIN_PORT,
        &["answered without TLS", "plain MQTT", "drop the TLS options"],
    );
}

#[test]
fn plain_to_tls_port() {
    let b = Broker::shared();
    let f = diag("localhost", b.port("tls"), None);
    assert_has(
        &f,
        tls::PLAIN_TO_TLS_PORT,
        &["expects TLS", "--cafile", "mqtts://"],
    );
    // And a plain port is not mistaken for one.
    let f = diag("localhost", b.port("plain"), None);
    assert_ne!(f.code, tls::PLAIN_TO_TLS_PORT, "{}", text(&f));
}

#[test]
fn alpn_refused() {
    let pki = pki();
    let server = TlsServer::start(&pki.server_cert, &pki.server_key, &["-alpn", "not-mqtt"]);
    let mut o = ca_opts();
    o.tls.tls_alpn = Some("mqtt".into());
    let p = plan_ok(&o, server.port());
    let f = diag("localhost", server.port(), Some(&p));
    assert_has(
        &f,
        tls::TLS_NEGOTIATION,
        &[
            "refused the ALPN protocol offered",
            "no application protocol",
            "ALPN mqtt",
            "With no --ciphers/--tls-alpn",
            "--tls-alpn",
        ],
    );
}

#[test]
fn unix_socket_missing() {
    let f = diag("/nonexistent/mosquitto.sock", 0, None);
    assert_has(
        &f,
        tls::NETWORK,
        &["unix socket /nonexistent/mosquitto.sock", "No such file"],
    );
}

#[test]
fn network_unreachable_or_silent() {
    // Documentation prefix: unroutable here (EHOSTUNREACH/ENETUNREACH) or silent.
    let f = diag("2001:db8::1", 1883, None);
    assert_eq!(f.code, tls::NETWORK, "{}", text(&f));
    let t = text(&f);
    assert!(t.contains("unreachable") || t.contains("no answer"), "{t}");
}

/// The broker's certificate is looked at in the handshake paho makes (no second one): a
/// certificate expiring within --cert-expiry-warn (30 days by default) gets one warning
/// line, for mqtts-pub and mqtts-sub; a good one, a smaller window and --quiet get none.
#[test]
fn server_cert_expiry_warning() {
    let b = Broker::shared();
    let warned = |out: &RunOutput| {
        let e = out.stderr_str();
        let n = e.matches("Warning: the certificate of ").count();
        assert!(n <= 1, "{out}");
        n == 1 && e.contains("CN=localhost) expires on") && e.contains(" (in ")
    };
    let topic = unique_topic("expiry");
    let pub_args = |listener: &str, extra: &[&str]| {
        let mut a = b.client_args(listener);
        a.extend(["-t", &topic, "-m", "x"].map(String::from));
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let out = ours_pub(pub_args("expiring_soon", &[]));
    out.assert_success();
    assert!(warned(&out), "{out}");
    for (listener, extra) in [
        ("tls", &[][..]),
        ("expiring_soon", &["--cert-expiry-warn", "1d"][..]),
        ("expiring_soon", &["--quiet"][..]),
    ] {
        let out = ours_pub(pub_args(listener, extra));
        out.assert_success();
        assert!(
            !warned(&out) && !out.stderr_str().contains("certificate of"),
            "{out}"
        );
    }
    let mut a = b.client_args("expiring_soon");
    a.extend(["-t", &topic, "-W", "1"].map(String::from));
    let out = ours_sub(&a);
    assert!(warned(&out), "{out}");
}

// ---------------------------------------------------------------- through paho

fn paho_connect(host: &str, port: u16, p: &TlsPlan) -> Result<(), String> {
    let create = paho_mqtt::CreateOptionsBuilder::new()
        .server_uri(format!("ssl://{host}:{port}"))
        .client_id("mqtts-tls-test")
        .persistence(None)
        .finalize();
    let cli = paho_mqtt::Client::new(create).map_err(|e| e.to_string())?;
    let conn = paho_mqtt::ConnectOptionsBuilder::new()
        .ssl_options(p.ssl_options().map_err(|f| f.lines.join(" "))?)
        .connect_timeout(Duration::from_secs(5))
        .finalize();
    let r = cli.connect(conn).map_err(|e| e.to_string());
    if r.is_ok() {
        let _ = cli.disconnect(None);
    }
    // paho-mqtt 0.14: after a failed connect, the last reference to the client can be
    // dropped on paho's receive thread (token callback), and MQTTAsync_destroy then
    // deadlocks on paho's global mutex. Keep the client alive.
    std::mem::forget(cli);
    r.map(|_| ())
}

#[test]
fn paho_mapping_connects_with_mtls_encrypted_key_and_pkcs12() {
    let b = Broker::shared();
    let (mtls, wrong_host) = (b.port("mtls"), b.port("wrong_host"));
    let pki = pki();
    let dir = TempDir::new("tls-paho-pw");
    let mut o = ca_opts();
    o.tls.cert = Some(s(&pki.client_encrypted_cert));
    o.tls.key = Some(s(&pki.client_encrypted_key));
    o.tls.key_password_file = Some(password_file(&dir, "keypw.txt", KEY_PASSWORD));
    let p = plan_ok(&o, mtls);
    paho_connect("localhost", mtls, &p).expect("encrypted PEM key");

    let mut o = ca_opts();
    o.tls.pkcs12 = Some(s(&pki.client_p12));
    o.tls.key_password_file = Some(password_file(&dir, "p12pw.txt", P12_PASSWORD));
    let p = plan_ok(&o, mtls);
    paho_connect("localhost", mtls, &p).expect("PKCS#12 via memfd");

    // Host name verification is on by default, off with --insecure.
    let mut o = ca_opts();
    let p = plan_ok(&o, wrong_host);
    assert!(
        paho_connect("localhost", wrong_host, &p).is_err(),
        "name mismatch must fail"
    );
    o.tls.insecure = true;
    let p = plan_ok(&o, wrong_host);
    paho_connect("localhost", wrong_host, &p).expect("--insecure");
}

// ---------------------------------------------------------------- child processes

/// A child run should use the parent's PKI files: a `pki()` of its own would be a new CA
/// that the parent's brokers don't trust. Their paths are handed over in these variables.
const CHILD_CAFILE_ENV: &str = "MQTTS_TLS_CHILD_CAFILE";
const CHILD_CERT_ENV: &str = "MQTTS_TLS_CHILD_CERT";
const CHILD_KEY_ENV: &str = "MQTTS_TLS_CHILD_KEY";

/// This test binary running only `test`, with the parent's CA and encrypted-key client
/// certificate, and no OpenSSL config or key password from the environment.
fn child_command(test: &str) -> Command {
    let pki = pki();
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD_CAFILE_ENV, &pki.ca)
        .env(CHILD_CERT_ENV, &pki.client_encrypted_cert)
        .env(CHILD_KEY_ENV, &pki.client_encrypted_key)
        .env_remove("OPENSSL_CONF")
        .env_remove(tls::KEY_PASSWORD_ENV);
    die_with_parent(&mut cmd);
    cmd
}

/// In a child: default options with the parent's CA as --cafile.
fn child_opts() -> Options {
    let mut o = opts();
    o.tls.cafile = Some(std::env::var(CHILD_CAFILE_ENV).unwrap());
    o
}

// ---------------------------------------------------------------- TLS versions (child process)

const CHILD_ENV: &str = "MQTTS_TLS_VERSION_CHILD";

/// Runs only as a child: `MQTTS_TLS_VERSION_CHILD=min,max,port,how` where how is
/// `paho` (MQTT connect through paho) or `openssl` (a bare handshake with the openssl
/// crate, which must obey the same process-wide limits).
#[test]
fn version_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let parts: Vec<&str> = spec.split(',').collect();
    let port: u16 = parts[2].parse().unwrap();
    let mut o = child_opts();
    if !parts[0].is_empty() {
        o.tls.tls_version = Some(parts[0].into());
    }
    if !parts[1].is_empty() {
        o.tls.tls_max_version = Some(parts[1].into());
    }
    // (tls::plan has pointed OpenSSL at the versions' configuration.)
    let p = plan_ok(&o, port);
    let r = if parts[3] == "paho" {
        paho_connect("localhost", port, &p)
    } else {
        use openssl::ssl::{SslContext, SslMethod, SslVerifyMode};
        let mut b = SslContext::builder(SslMethod::tls_client()).unwrap();
        b.set_verify(SslVerifyMode::NONE);
        let ctx = b.build();
        let ssl = openssl::ssl::Ssl::new(&ctx).unwrap();
        let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        ssl.connect(tcp)
            .map(|s| println!("VERSION {}", s.ssl().version_str()))
            .map_err(|e| e.to_string())
    };
    match r {
        Ok(()) => println!("RESULT ok"),
        Err(e) => println!("RESULT fail {e}"),
    }
}

fn child(min: &str, max: &str, port: u16, how: &str) -> bool {
    let out = child_command("version_child")
        .env(CHILD_ENV, format!("{min},{max},{port},{how}"))
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    if s.contains("RESULT ok") {
        true
    } else if s.contains("RESULT fail") {
        false
    } else {
        panic!(
            "child gave no result: {s}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn tls_version_limits_are_enforced_in_both_directions() {
    let b = Broker::shared();
    let (tls13, tls12) = (b.port("tls13"), b.port("tls12only"));
    // paho against mosquitto
    assert!(child("", "", tls13, "paho"), "default vs 1.3-only");
    assert!(child("", "", tls12, "paho"), "default vs 1.2-only");
    assert!(child("tlsv1.3", "", tls13, "paho"), "min 1.3 vs 1.3-only");
    assert!(
        !child("tlsv1.3", "", tls12, "paho"),
        "min 1.3 must refuse a 1.2-only broker"
    );
    assert!(
        !child("", "tlsv1.2", tls13, "paho"),
        "max 1.2 must refuse a 1.3-only broker"
    );
    assert!(child("", "tlsv1.2", tls12, "paho"), "max 1.2 vs 1.2-only");
    // the same process-wide limits against openssl s_server -tls1_2
    let server = TlsServer::tls12_only();
    assert!(
        child("", "", server.port(), "openssl"),
        "default vs s_server -tls1_2"
    );
    assert!(
        !child("tlsv1.3", "", server.port(), "openssl"),
        "min 1.3 vs s_server -tls1_2"
    );
}

// ---------------------------------------------------------------- password prompt (pty)

const PROMPT_CHILD_ENV: &str = "MQTTS_TLS_PROMPT_CHILD";

/// Runs only as a child whose controlling terminal is a pty held by the parent.
#[test]
fn prompt_child() {
    if std::env::var_os(PROMPT_CHILD_ENV).is_none() {
        return;
    }
    let mut o = child_opts();
    o.tls.cert = Some(std::env::var(CHILD_CERT_ENV).unwrap());
    o.tls.key = Some(std::env::var(CHILD_KEY_ENV).unwrap());
    match tls::plan(&o, 8883) {
        Ok(Some(p)) if p.key_password.is_some() => println!("RESULT ok"),
        Ok(_) => println!("RESULT fail no password"),
        Err(f) => println!("RESULT fail {}", f.lines.join(" | ")),
    }
}

#[test]
fn encrypted_key_password_prompt_on_terminal_without_echo() {
    use std::io::{Read, Write};
    use std::os::fd::FromRawFd;
    use std::os::unix::process::CommandExt;
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty fills two fds; the null pointers mean default settings.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty");
    // Not inherited by other tests' children (the child takes the pty before exec).
    // SAFETY: plain fcntl on fds we own.
    unsafe {
        libc::fcntl(master, libc::F_SETFD, libc::FD_CLOEXEC);
        libc::fcntl(slave, libc::F_SETFD, libc::FD_CLOEXEC);
    }
    let mut cmd = child_command("prompt_child");
    cmd.env(PROMPT_CHILD_ENV, "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 || libc::ioctl(slave, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::close(master);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    // SAFETY: the parent owns both fds from openpty.
    unsafe { libc::close(slave) };
    let mut m = unsafe { std::fs::File::from_raw_fd(master) };
    // Read the prompt, answer it, then collect what the terminal shows.
    let mut seen = Vec::new();
    let start = Instant::now();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&seen).contains("password for") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no prompt: {seen:?}"
        );
        match m.read(&mut buf) {
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            // EIO until the child has opened /dev/tty (no slave fd is open before).
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    m.write_all(format!("{KEY_PASSWORD}\n").as_bytes()).unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the prompting child did not finish");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("RESULT ok"), "{stdout}");
    let prompt = String::from_utf8_lossy(&seen);
    let key_name = file_name(&pki().client_encrypted_key);
    assert!(prompt.contains(&key_name), "{prompt}");
    // Whatever the terminal echoed after the prompt must not contain the password.
    // SAFETY: non-blocking read of what is left on the master side.
    unsafe { libc::fcntl(master, libc::F_SETFL, libc::O_NONBLOCK) };
    let mut rest = Vec::new();
    while let Ok(n) = m.read(&mut buf) {
        if n == 0 {
            break;
        }
        rest.extend_from_slice(&buf[..n]);
    }
    assert!(
        !String::from_utf8_lossy(&rest).contains(KEY_PASSWORD),
        "password echoed: {rest:?}"
    );
}

/// `--psk`: TLS on (at any port), no trust store, no host check, the key read as
/// mosquitto reads it; the options it cannot be used with are refused by name.
#[test]
fn psk_plans() {
    let mut o = opts();
    o.tls.psk = Some("00DeadBeef".into());
    o.tls.psk_identity = Some("alice".into());
    let p = plan_ok(&o, 1883);
    let psk = p.psk.as_ref().expect("a PSK plan");
    assert_eq!(psk.identity, "alice");
    assert!(!p.use_os_certs, "no OS trust store with --psk");
    assert!(p.cafile.is_none() && p.capath.is_none());
    assert!(
        !format!("{psk:?}").to_lowercase().contains("dead") && !format!("{psk:?}").contains("222"),
        "the key is never printed: {psk:?}"
    );
    assert_eq!(
        tls::psk::key_bytes("00DeadBeef"),
        Some(vec![0, 0xde, 0xad, 0xbe, 0xef])
    );

    for (hex, needle) in [("", "the key is empty"), ("0", "the key is empty")] {
        let mut o = opts();
        o.tls.psk = Some(hex.into());
        o.tls.psk_identity = Some("alice".into());
        assert_has(&plan_err(&o, 8883), tls::FILE_ERROR, &["--psk", needle]);
    }
    let mut o = opts();
    o.tls.psk = Some("ab".repeat(513));
    o.tls.psk_identity = Some("alice".into());
    assert_has(&plan_err(&o, 8883), tls::FILE_ERROR, &["513 bytes", "512"]);
    let mut o = opts();
    o.tls.psk = Some("abcd".into());
    o.tls.psk_identity = Some("i".repeat(257));
    assert_has(
        &plan_err(&o, 8883),
        tls::FILE_ERROR,
        &["--psk-identity", "256"],
    );

    // --psk-identity alone would be unused: an error, with TLS on or off.
    for port in [1883, 8883] {
        let mut o = opts();
        o.tls.psk_identity = Some("alice".into());
        assert_has(
            &plan_err(&o, port),
            tls::FILE_ERROR,
            &["--psk-identity is given without --psk"],
        );
    }

    type Set = Box<dyn Fn(&mut Options)>;
    let cases: Vec<(Set, &str)> = vec![
        (
            Box::new(|o: &mut Options| {
                o.tls.cert = Some("c.pem".into());
                o.tls.key = Some("k.pem".into());
            }),
            "--cert cannot be used with --psk",
        ),
        (
            Box::new(|o: &mut Options| o.tls.pkcs12 = Some("c.p12".into())),
            "--pkcs12 cannot be used with --psk",
        ),
        (
            Box::new(|o: &mut Options| o.tls.use_os_certs = true),
            "--tls-use-os-certs cannot be used with --psk",
        ),
    ];
    for (set, needle) in cases {
        let mut o = opts();
        o.tls.psk = Some("abcd".into());
        o.tls.psk_identity = Some("alice".into());
        set(&mut o);
        assert_has(&plan_err(&o, 8883), tls::FILE_ERROR, &[needle]);
    }
}
