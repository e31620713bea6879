//! Tests that prove the test harness in `tests/common`: the PKI has the intended properties, the
//! broker's listeners serve what they claim, mosquitto clients round-trip through them, restarts
//! keep ports and persisted messages, helpers clean up after themselves.

mod common;

use common::oracle::{empty_config_home, normalise_2011_bytes};
use common::pki::{CA_CN, CertSpec, UNTRUSTED_CA_CN, Usage, WRONG_HOST};
use common::*;
use openssl::asn1::Asn1Time;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{HandshakeError, SslConnector, SslFiletype, SslMethod, SslStream, SslVersion};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::{X509, X509StoreContext};
use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

// X509_V_ERR_* codes.
const V_OK: i32 = 0;
const V_NOT_YET_VALID: i32 = 9;
const V_EXPIRED: i32 = 10;
const V_UNABLE_TO_GET_ISSUER_LOCALLY: i32 = 20;
const V_HOSTNAME_MISMATCH: i32 = 62;

fn cert(p: &Path) -> X509 {
    X509::from_pem(&std::fs::read(p).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn key(p: &Path) -> PKey<Private> {
    PKey::private_key_from_pem(&std::fs::read(p).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn cn(name: &openssl::x509::X509NameRef) -> String {
    name.entries_by_nid(Nid::COMMONNAME)
        .next()
        .unwrap()
        .data()
        .to_string()
        .unwrap()
}

/// Verifies `leaf` against a store holding only `ca`; returns the X509_V_ERR code.
fn verify(leaf: &X509, ca: &Path) -> i32 {
    let mut store = X509StoreBuilder::new().unwrap();
    store.add_cert(cert(ca)).unwrap();
    let store = store.build();
    let mut ctx = X509StoreContext::new().unwrap();
    let chain = Stack::new().unwrap();
    ctx.init(&store, leaf, &chain, |c| {
        c.verify_cert()?;
        Ok(c.error().as_raw())
    })
    .unwrap()
}

fn sans(c: &X509) -> (Vec<String>, Vec<IpAddr>) {
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    for gn in c.subject_alt_names().into_iter().flatten() {
        if let Some(d) = gn.dnsname() {
            dns.push(d.to_string());
        }
        if let Some(ip) = gn.ipaddress() {
            ips.push(match ip.len() {
                4 => IpAddr::from(<[u8; 4]>::try_from(ip).unwrap()),
                16 => IpAddr::from(<[u8; 16]>::try_from(ip).unwrap()),
                n => panic!("bad IP SAN length {n}"),
            });
        }
    }
    (dns, ips)
}

/// Days from now until `t` (negative = past).
fn days_until(t: &openssl::asn1::Asn1TimeRef) -> f64 {
    let now = Asn1Time::days_from_now(0).unwrap();
    let d = now.diff(t).unwrap();
    d.days as f64 + d.secs as f64 / 86_400.0
}

#[test]
fn pki_certificates_have_intended_properties() {
    let pki = pki();

    // CA: self-signed, PEM and DER identical.
    let ca = cert(&pki.ca);
    assert_eq!(cn(ca.subject_name()), CA_CN);
    assert_eq!(cn(ca.issuer_name()), CA_CN);
    assert!(ca.verify(&ca.public_key().unwrap()).unwrap());
    assert_eq!(verify(&ca, &pki.ca), V_OK);
    let der = X509::from_der(&std::fs::read(&pki.ca_der).unwrap()).unwrap();
    assert_eq!(der.to_der().unwrap(), ca.to_der().unwrap());
    assert_eq!(key(&pki.ca_key).bits(), 2048);
    assert!(ca.public_key().unwrap().public_eq(&key(&pki.ca_key)));
    let untrusted = cert(&pki.untrusted_ca);
    assert_eq!(cn(untrusted.subject_name()), UNTRUSTED_CA_CN);
    assert_eq!(
        X509::stack_from_pem(&std::fs::read(&pki.ca_bundle).unwrap())
            .unwrap()
            .len(),
        2
    );

    let localhost_ips: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()];

    // Good server cert.
    let server = cert(&pki.server_cert);
    assert_eq!(
        sans(&server),
        (vec!["localhost".to_string()], localhost_ips.clone())
    );
    assert_eq!(cn(server.issuer_name()), CA_CN);
    assert_eq!(verify(&server, &pki.ca), V_OK);
    assert!(days_until(server.not_before()) < 0.0 && days_until(server.not_after()) > 300.0);

    // Bad server certs: each bad in exactly the intended way.
    let wrong = cert(&pki.server_wrong_host_cert);
    assert_eq!(sans(&wrong), (vec![WRONG_HOST.to_string()], vec![]));
    assert_eq!(verify(&wrong, &pki.ca), V_OK);

    let expired = cert(&pki.server_expired_cert);
    assert_eq!(sans(&expired).0, vec!["localhost"]);
    assert!(days_until(expired.not_after()) < 0.0);
    assert_eq!(verify(&expired, &pki.ca), V_EXPIRED);

    let future = cert(&pki.server_not_yet_valid_cert);
    assert!(days_until(future.not_before()) > 0.0);
    assert_eq!(verify(&future, &pki.ca), V_NOT_YET_VALID);

    let foreign = cert(&pki.server_untrusted_cert);
    assert_eq!(sans(&foreign).0, vec!["localhost"]);
    assert_eq!(cn(foreign.issuer_name()), UNTRUSTED_CA_CN);
    assert_eq!(verify(&foreign, &pki.ca), V_UNABLE_TO_GET_ISSUER_LOCALLY);
    assert_eq!(verify(&foreign, &pki.untrusted_ca), V_OK);

    // Client certs.
    let rsa = cert(&pki.client_rsa_cert);
    assert_eq!(verify(&rsa, &pki.ca), V_OK);
    assert_eq!(rsa.public_key().unwrap().bits(), 2048);
    assert!(rsa.public_key().unwrap().rsa().is_ok());
    let ec = cert(&pki.client_ec_cert);
    assert_eq!(verify(&ec, &pki.ca), V_OK);
    let ec_key = ec.public_key().unwrap().ec_key().unwrap();
    assert_eq!(ec_key.group().curve_name(), Some(Nid::X9_62_PRIME256V1));
    let cu = cert(&pki.client_untrusted_cert);
    assert_eq!(cn(cu.issuer_name()), UNTRUSTED_CA_CN);
    assert_eq!(verify(&cu, &pki.ca), V_UNABLE_TO_GET_ISSUER_LOCALLY);
    assert_eq!(verify(&cert(&pki.client_expired_cert), &pki.ca), V_EXPIRED);
    let soon = cert(&pki.client_expiring_cert);
    assert_eq!(verify(&soon, &pki.ca), V_OK);
    let left = days_until(soon.not_after());
    assert!(
        (9.9..=10.1).contains(&left),
        "expiring cert has {left} days left"
    );
    let soon = cert(&pki.server_expiring_cert);
    assert_eq!(verify(&soon, &pki.ca), V_OK);
    assert!((9.9..=10.1).contains(&days_until(soon.not_after())));
    assert_eq!(sans(&soon).0, vec!["localhost"]);
    let cn_only = cert(&pki.server_cn_only_cert);
    assert!(cn_only.subject_alt_names().is_none());
    assert_eq!(cn(cn_only.subject_name()), "localhost");
    assert_eq!(verify(&cn_only, &pki.ca), V_OK);
    for c in [&pki.client_encrypted_cert, &pki.client_mismatch_cert] {
        assert_eq!(verify(&cert(c), &pki.ca), V_OK);
    }
}

#[test]
fn pki_keys_match_and_come_in_the_intended_forms() {
    let pki = pki();
    let pairs = [
        (&pki.server_cert, &pki.server_key),
        (&pki.server_wrong_host_cert, &pki.server_key),
        (&pki.client_rsa_cert, &pki.client_rsa_key),
        (&pki.client_rsa_cert, &pki.client_rsa_key_pkcs1),
        (&pki.client_ec_cert, &pki.client_ec_key),
        (&pki.client_ec_cert, &pki.client_ec_key_sec1),
        (&pki.client_untrusted_cert, &pki.client_untrusted_key),
        (&pki.client_expired_cert, &pki.client_expired_key),
        (&pki.client_expiring_cert, &pki.client_expiring_key),
    ];
    for (c, k) in pairs {
        assert!(
            cert(c).public_key().unwrap().public_eq(&key(k)),
            "{} does not match {}",
            k.display(),
            c.display()
        );
    }
    // The mismatch pair really mismatches (both parse).
    assert!(
        !cert(&pki.client_mismatch_cert)
            .public_key()
            .unwrap()
            .public_eq(&key(&pki.client_mismatch_key))
    );

    let text = |p: &Path| std::fs::read_to_string(p).unwrap();
    assert!(text(&pki.client_rsa_key).starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(text(&pki.client_rsa_key_pkcs1).starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    assert!(text(&pki.client_ec_key).starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(text(&pki.client_ec_key_sec1).starts_with("-----BEGIN EC PRIVATE KEY-----"));
    assert!(text(&pki.client_encrypted_key).starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    let legacy = text(&pki.client_encrypted_key_legacy);
    assert!(legacy.contains("Proc-Type: 4,ENCRYPTED") && legacy.contains("AES-256-CBC"));

    // Encrypted keys need the password (an empty-password callback instead of a tty prompt).
    let enc_cert = cert(&pki.client_encrypted_cert).public_key().unwrap();
    for p in [&pki.client_encrypted_key, &pki.client_encrypted_key_legacy] {
        let pem = std::fs::read(p).unwrap();
        assert!(PKey::private_key_from_pem_callback(&pem, |_| Ok(0)).is_err());
        assert!(PKey::private_key_from_pem_passphrase(&pem, b"wrong password").is_err());
        let k = PKey::private_key_from_pem_passphrase(&pem, KEY_PASSWORD.as_bytes()).unwrap();
        assert!(enc_cert.public_eq(&k));
    }

    // PKCS#12 bundle: needs its password, holds the RSA client cert + key + CA.
    let p12 = Pkcs12::from_der(&std::fs::read(&pki.client_p12).unwrap()).unwrap();
    assert!(p12.parse2("wrong password").is_err());
    let parsed = p12.parse2(P12_PASSWORD).unwrap();
    let p12_cert = parsed.cert.unwrap();
    assert_eq!(
        p12_cert.to_der().unwrap(),
        cert(&pki.client_rsa_cert).to_der().unwrap()
    );
    assert!(
        p12_cert
            .public_key()
            .unwrap()
            .public_eq(&parsed.pkey.unwrap())
    );
    assert_eq!(parsed.ca.unwrap().len(), 1);
}

#[test]
fn pki_issues_extra_certificates() {
    let dir = TempDir::new("issue");
    let (c, k) = pki().issue(
        dir.path(),
        "short",
        &CertSpec {
            common_name: "short-lived",
            dns: &["localhost", "alt.example"],
            ips: &["127.0.0.1"],
            not_before: -60,
            not_after: 3600,
            usage: Usage::Server,
        },
    );
    let x = cert(&c);
    assert_eq!(verify(&x, &pki().ca), V_OK);
    assert_eq!(sans(&x).0, vec!["localhost", "alt.example"]);
    assert!(x.public_key().unwrap().public_eq(&key(&k)));
    assert!(days_until(x.not_after()) < 0.05);
}

/// Client-side TLS settings for [`handshake`].
#[derive(Default)]
struct Tls<'a> {
    ca: Option<&'a Path>,
    cert_key: Option<(&'a Path, &'a Path)>,
    min: Option<SslVersion>,
    max: Option<SslVersion>,
}

/// A TLS handshake to 127.0.0.1:`port` verifying the name "localhost"; Err holds
/// (X509 verify result, error text).
fn handshake(port: u16, tls: Tls<'_>) -> Result<SslStream<TcpStream>, (i32, String)> {
    let mut b = SslConnector::builder(SslMethod::tls_client()).unwrap();
    if let Some(ca) = tls.ca {
        b.set_ca_file(ca).unwrap();
    }
    if let Some((c, k)) = tls.cert_key {
        b.set_certificate_chain_file(c).unwrap();
        b.set_private_key_file(k, SslFiletype::PEM).unwrap();
    }
    b.set_min_proto_version(tls.min).unwrap();
    b.set_max_proto_version(tls.max).unwrap();
    let tcp = TcpStream::connect((LOOPBACK, port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    match b.build().connect("localhost", tcp) {
        Ok(s) => Ok(s),
        Err(HandshakeError::Failure(m)) => {
            Err((m.ssl().verify_result().as_raw(), m.error().to_string()))
        }
        Err(e) => Err((-1, e.to_string())),
    }
}

/// Sends an MQTT 3.1.1 CONNECT (clean session, empty client id, optional user/password) and
/// returns the 4-byte CONNACK.
fn mqtt_connect(
    s: &mut (impl Read + Write),
    login: Option<(&str, &str)>,
) -> std::io::Result<[u8; 4]> {
    let mut var = vec![0, 4, b'M', b'Q', b'T', b'T', 4];
    var.push(0x02 | if login.is_some() { 0xC0 } else { 0 });
    var.extend([0, 60, 0, 0]); // keepalive 60, client id ""
    if let Some((u, p)) = login {
        for f in [u, p] {
            var.extend((f.len() as u16).to_be_bytes());
            var.extend(f.as_bytes());
        }
    }
    let mut pkt = vec![0x10, var.len() as u8];
    pkt.extend(var);
    s.write_all(&pkt)?;
    let mut connack = [0u8; 4];
    s.read_exact(&mut connack)?;
    Ok(connack)
}

const CONNACK_OK: [u8; 4] = [0x20, 2, 0, 0];

#[test]
fn broker_listeners_accept_and_serve_what_they_claim() {
    let broker = Broker::start();
    let pki = pki();
    let ports: Vec<u16> = LISTENERS.iter().map(|l| broker.port(l)).collect();
    let mut distinct = ports.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        LISTENERS.len(),
        "ports not distinct: {ports:?}"
    );
    for l in LISTENERS {
        assert!(
            port_accepts(broker.port(l)),
            "{l} not accepting\n{}",
            broker.log()
        );
    }
    let ca = Some(pki.ca.as_path());
    let good = || Tls {
        ca,
        ..Default::default()
    };

    // plain: MQTT without TLS; a TLS handshake fails.
    let mut tcp = TcpStream::connect((LOOPBACK, broker.port("plain"))).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    assert_eq!(
        mqtt_connect(&mut tcp, None).unwrap_or_else(|e| panic!("{e}\n{}", broker.log())),
        CONNACK_OK
    );
    assert!(handshake(broker.port("plain"), good()).is_err());

    // tls: TLS 1.3 by default, also 1.2; MQTT works.
    let mut s = handshake(broker.port("tls"), good()).unwrap();
    assert_eq!(s.ssl().version_str(), "TLSv1.3");
    assert_eq!(mqtt_connect(&mut s, None).unwrap(), CONNACK_OK);
    let s = handshake(
        broker.port("tls"),
        Tls {
            max: Some(SslVersion::TLS1_2),
            ..good()
        },
    )
    .unwrap();
    assert_eq!(s.ssl().version_str(), "TLSv1.2");

    // tls13: only 1.3.
    let s = handshake(broker.port("tls13"), good()).unwrap();
    assert_eq!(s.ssl().version_str(), "TLSv1.3");
    let e = handshake(
        broker.port("tls13"),
        Tls {
            max: Some(SslVersion::TLS1_2),
            ..good()
        },
    )
    .unwrap_err();
    assert!(e.1.contains("protocol version"), "{e:?}");

    // tls12only: at most 1.2 (and it speaks MQTT).
    let mut s = handshake(broker.port("tls12only"), good()).unwrap();
    assert_eq!(s.ssl().version_str(), "TLSv1.2");
    assert_eq!(mqtt_connect(&mut s, None).unwrap(), CONNACK_OK);
    let e = handshake(
        broker.port("tls12only"),
        Tls {
            min: Some(SslVersion::TLS1_3),
            ..good()
        },
    )
    .unwrap_err();
    assert!(e.1.contains("protocol version"), "{e:?}");

    // mtls: works with an RSA or EC client cert; without one the broker drops the connection
    // (with TLS 1.3 the client handshake completes, the alert comes on the first read).
    for (c, k) in [
        (&pki.client_rsa_cert, &pki.client_rsa_key),
        (&pki.client_ec_cert, &pki.client_ec_key),
    ] {
        let mut s = handshake(
            broker.port("mtls"),
            Tls {
                cert_key: Some((c, k)),
                ..good()
            },
        )
        .unwrap();
        assert_eq!(mqtt_connect(&mut s, None).unwrap(), CONNACK_OK);
    }
    for cert_key in [
        None,
        Some((&pki.client_untrusted_cert, &pki.client_untrusted_key)),
        Some((&pki.client_expired_cert, &pki.client_expired_key)),
    ] {
        let tls = Tls {
            cert_key: cert_key.map(|(c, k)| (c.as_path(), k.as_path())),
            ..good()
        };
        if let Ok(mut s) = handshake(broker.port("mtls"), tls) {
            let r = mqtt_connect(&mut s, None);
            assert!(r.is_err(), "mtls accepted client cert {cert_key:?}: {r:?}");
        }
    }

    // auth: TLS; anonymous refused (CONNACK 5), the right credentials accepted.
    let mut s = handshake(broker.port("auth"), good()).unwrap();
    assert_eq!(mqtt_connect(&mut s, None).unwrap(), [0x20, 2, 0, 5]);
    let mut s = handshake(broker.port("auth"), good()).unwrap();
    assert_eq!(
        mqtt_connect(&mut s, Some((AUTH_USER, AUTH_PASSWORD))).unwrap(),
        CONNACK_OK
    );
    let mut s = handshake(broker.port("auth"), good()).unwrap();
    assert_eq!(
        mqtt_connect(&mut s, Some((AUTH_USER, "wrong"))).unwrap(),
        [0x20, 2, 0, 5]
    );

    // Bad server certs fail verification for exactly the intended reason.
    for (l, code) in [
        ("wrong_host", V_HOSTNAME_MISMATCH),
        ("expired", V_EXPIRED),
        ("not_yet_valid", V_NOT_YET_VALID),
        ("untrusted_ca", V_UNABLE_TO_GET_ISSUER_LOCALLY),
    ] {
        let e = handshake(broker.port(l), good()).unwrap_err();
        assert_eq!(e.0, code, "{l}: {e:?}");
    }
    // The valid ones: expiring soon, CN-only (the handshake checks the name "localhost").
    for l in ["expiring_soon", "cn_only"] {
        let s = handshake(broker.port(l), good());
        assert!(s.is_ok(), "{l}: {:?}", s.err());
    }
    // …and the untrusted one verifies with its own CA.
    let s = handshake(
        broker.port("untrusted_ca"),
        Tls {
            ca: Some(&pki.untrusted_ca),
            ..Default::default()
        },
    );
    assert!(s.is_ok(), "{:?}", s.err());
}

/// mosquitto_sub (started first, waits for SUBACK) receives what mosquitto_pub sends.
fn roundtrip(broker: &Broker, listener: &str, conn: Vec<String>) {
    let topic = unique_topic(listener);
    let msg = format!("hello over {listener}");
    let sub = start_subscriber(
        broker,
        Prog::MosquittoSub,
        [conn.clone(), strs(&["-t", &topic, "-C", "1", "-v"])].concat(),
    );
    mosquitto_pub([conn, strs(&["-t", &topic, "-m", &msg, "-q", "1"])].concat()).assert_success();
    let out = sub.wait(Duration::from_secs(5));
    out.assert_success();
    assert_eq!(out.stdout_str(), format!("{topic} {msg}\n"), "{listener}");
}

#[test]
fn mosquitto_clients_round_trip_on_every_good_listener() {
    let broker = Broker::start();
    for l in ["plain", "tls", "mtls", "tls13", "auth", "tls12only"] {
        roundtrip(&broker, l, broker.client_args(l));
    }
    // mTLS with the EC client cert (SEC1 key) and via the CA bundle.
    let pki = pki();
    let mut ec = broker.client_args("tls");
    ec[3] = broker.port("mtls").to_string();
    ec.extend([
        "--cert".into(),
        pki.client_ec_cert.display().to_string(),
        "--key".into(),
        pki.client_ec_key_sec1.display().to_string(),
    ]);
    roundtrip(&broker, "mtls", ec);
    roundtrip(
        &broker,
        "expiring_soon",
        broker.client_args("expiring_soon"),
    );
    // CN fallback: no SAN, CN=localhost.
    let mut cn_only = broker.client_args("cn_only");
    cn_only[1] = "localhost".into();
    roundtrip(&broker, "cn_only", cn_only);
    // The hostname check passes for "localhost" too (SAN DNS:localhost).
    let mut by_name = broker.client_args("tls");
    by_name[1] = "localhost".into();
    roundtrip(&broker, "tls", by_name);
}

#[test]
fn mosquitto_pub_fails_on_bad_server_certs_and_bad_client_certs() {
    let broker = Broker::start();
    let pki = pki();
    let pub_args = |mut a: Vec<String>| {
        a.extend(strs(&["-t", "bad/cert", "-m", "x", "-d"]));
        a
    };
    for l in ["wrong_host", "expired", "not_yet_valid", "untrusted_ca"] {
        let out = mosquitto_pub(pub_args(broker.client_args(l)));
        out.assert_failure();
        assert!(
            out.stdout_str().contains("certificate verify failed"),
            "{l}:\n{out}"
        );
    }
    // Controls: the same listeners work once the one defect is out of the way.
    let mut insecure = pub_args(broker.client_args("wrong_host"));
    insecure.push("--insecure".into());
    mosquitto_pub(insecure).assert_success();
    let mut other_ca = pub_args(broker.client_args("untrusted_ca"));
    other_ca[5] = pki.untrusted_ca.display().to_string();
    mosquitto_pub(other_ca).assert_success();

    // mTLS: no client cert, a cert from the untrusted CA, an expired cert, all refused.
    let tls_to_mtls = || {
        let mut a = broker.client_args("tls");
        a[3] = broker.port("mtls").to_string();
        a
    };
    mosquitto_pub(pub_args(tls_to_mtls())).assert_failure();
    for (c, k) in [
        (&pki.client_untrusted_cert, &pki.client_untrusted_key),
        (&pki.client_expired_cert, &pki.client_expired_key),
        (&pki.client_mismatch_cert, &pki.client_mismatch_key),
    ] {
        let mut a = tls_to_mtls();
        a.extend([
            "--cert".into(),
            c.display().to_string(),
            "--key".into(),
            k.display().to_string(),
        ]);
        mosquitto_pub(pub_args(a)).assert_failure();
    }
    mosquitto_pub(pub_args(broker.client_args("mtls"))).assert_success();

    // auth: a wrong password is refused by the broker (CONNACK 5).
    let mut a = broker.client_args("auth");
    *a.last_mut().unwrap() = "wrong".into();
    let out = mosquitto_pub(pub_args(a));
    out.assert_failure();
    assert!(out.stdout_str().contains("received CONNACK (5)"), "{out}");
}

#[test]
fn restart_keeps_ports_and_queued_qos1_messages() {
    let mut broker = Broker::start();
    let ports = broker.ports().clone();
    let pids = broker.pids();
    assert_eq!(pids.len(), 2);
    let topic = unique_topic("persist");
    let conn = broker.client_args("plain");
    let id = "mqtts-harness-persist";
    // Persistent session with a QoS 1 subscription, then offline.
    mosquitto_sub(
        [
            conn.clone(),
            strs(&["-c", "-i", id, "-q", "1", "-t", &topic, "-E"]),
        ]
        .concat(),
    )
    .assert_success();
    mosquitto_pub(
        [
            conn.clone(),
            strs(&["-q", "1", "-t", &topic, "-m", "kept across restart"]),
        ]
        .concat(),
    )
    .assert_success();

    broker.stop();
    assert!(!broker.is_running());
    for (l, p) in &ports {
        assert!(!port_accepts(*p), "{l} still accepting after stop");
    }
    assert!(
        broker.dir().join("data/mosquitto.db").exists(),
        "{}",
        broker.log()
    );

    broker.restart();
    assert_eq!(broker.ports(), &ports);
    let new_pids = broker.pids();
    assert_eq!(new_pids.len(), 2);
    assert!(new_pids.iter().all(|p| !pids.contains(p)));
    for (l, p) in &ports {
        assert!(port_accepts(*p), "{l} not accepting after restart");
    }
    let out = mosquitto_sub(
        [
            conn.clone(),
            strs(&[
                "-c", "-i", id, "-q", "1", "-t", &topic, "-C", "1", "-W", "5",
            ]),
        ]
        .concat(),
    );
    out.assert_success();
    assert_eq!(
        out.stdout_str(),
        "kept across restart\n",
        "{}",
        broker.log()
    );

    // A crash (kill) and restart also works on the same ports.
    broker.kill();
    broker.restart();
    assert_eq!(broker.ports(), &ports);
    roundtrip(&broker, "plain", conn);
}

/// Sends an MQTT v5 CONNECT (keepalive 60, empty client id) and returns the CONNACK's
/// Server Keep Alive property, if present.
fn mqtt5_server_keepalive(s: &mut (impl Read + Write)) -> Option<u16> {
    s.write_all(&[
        0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 5, 0x02, 0, 60, 0, 0, 0,
    ])
    .unwrap();
    let mut head = [0u8; 2];
    s.read_exact(&mut head).unwrap();
    assert_eq!(head[0], 0x20);
    assert!(head[1] < 128, "long CONNACK");
    let mut body = vec![0u8; head[1] as usize];
    s.read_exact(&mut body).unwrap();
    assert_eq!(body[1], 0, "CONNACK reason code");
    let (mut i, end) = (3, 3 + body[2] as usize);
    while i < end {
        let id = body[i];
        i += 1;
        let u16_at = |i: usize| u16::from_be_bytes([body[i], body[i + 1]]);
        match id {
            0x13 => return Some(u16_at(i)),
            0x21 | 0x22 => i += 2,
            0x24 | 0x25 | 0x28 | 0x29 | 0x2A => i += 1,
            0x27 => i += 4,
            0x12 => i += 2 + u16_at(i) as usize,
            other => panic!("unexpected CONNACK property {other:#x}"),
        }
    }
    None
}

#[test]
fn builder_adds_config_lines() {
    let broker = Broker::builder()
        .config("max_keepalive 10")
        .listener_config("tls", "allow_anonymous false")
        .tls12only(false)
        .start();
    assert_eq!(broker.pids().len(), 1);
    assert!(!broker.ports().contains_key("tls12only"));
    let conf = std::fs::read_to_string(broker.config_path()).unwrap();
    assert!(conf.contains("\nmax_keepalive 10\n"), "{conf}");
    // The global line is in force: a v5 client asking for 60 s is told to use 10 s.
    let mut tcp = TcpStream::connect((LOOPBACK, broker.port("plain"))).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let ka = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        mqtt5_server_keepalive(&mut tcp)
    }));
    assert_eq!(ka.unwrap_or_else(|_| panic!("{}", broker.log())), Some(10));
    let plain = Broker::builder().tls12only(false).start();
    let mut tcp = TcpStream::connect((LOOPBACK, plain.port("plain"))).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let ka = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        mqtt5_server_keepalive(&mut tcp)
    }));
    assert_eq!(ka.unwrap_or_else(|_| panic!("{}", plain.log())), None);
    // The listener line is in force on "tls" only.
    let pub_to = |l: &str| {
        mosquitto_pub([broker.client_args(l), strs(&["-t", "a", "-m", "x", "-d"])].concat())
    };
    let out = pub_to("tls");
    out.assert_failure();
    assert!(out.stdout_str().contains("received CONNACK (5)"), "{out}");
    pub_to("tls13").assert_success();
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn harness_processes_die_with_their_owners() {
    // Normal drop.
    let broker = Broker::start();
    let server = TlsServer::tls12_only();
    let bg = Run::new("sleep").arg("30").spawn();
    let pids: Vec<u32> = broker
        .pids()
        .into_iter()
        .chain(server.pid())
        .chain(bg.pid())
        .collect();
    assert_eq!(pids.len(), 4);
    assert!(pids.iter().all(|p| alive(*p)));
    drop((broker, server, bg));
    assert!(pids.iter().all(|p| !alive(*p)), "left over: {pids:?}");

    // Panic unwind.
    let (tx, rx) = std::sync::mpsc::channel();
    let r = std::panic::catch_unwind(move || {
        let b = Broker::start();
        tx.send(b.pids()).unwrap();
        panic!("deliberate panic with a running broker");
    });
    assert!(r.is_err());
    let pids = rx.recv().unwrap();
    assert!(
        !pids.is_empty() && pids.iter().all(|p| !alive(*p)),
        "left over: {pids:?}"
    );
}

#[test]
fn tls_server_helper_serves_only_tls12() {
    let server = TlsServer::tls12_only();
    let ca = Some(pki().ca.as_path());
    let s = handshake(
        server.port(),
        Tls {
            ca,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(s.ssl().version_str(), "TLSv1.2");
    drop(s);
    let e = handshake(
        server.port(),
        Tls {
            ca,
            min: Some(SslVersion::TLS1_3),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(
        e.1.contains("protocol version"),
        "{e:?}\n{}",
        server.output()
    );
}

#[test]
fn run_helper_handles_timeout_stdin_exit_codes_and_env() {
    let t = Instant::now();
    let out = run("sleep", ["5"], None, Duration::from_millis(300));
    assert!(out.timed_out && out.code.is_none() && out.signal == Some(libc::SIGKILL));
    assert!(t.elapsed() < Duration::from_secs(3));
    assert!(out.to_string().contains("TIMED OUT"));

    let data = b"abc\0def\n\xff".to_vec();
    let out = run("cat", [] as [&str; 0], Some(&data), Duration::from_secs(5));
    out.assert_success();
    assert_eq!(out.stdout, data);

    let out = run(
        "sh",
        ["-c", "echo out; echo err >&2; exit 3"],
        None,
        Duration::from_secs(5),
    );
    out.assert_code(3);
    assert_eq!(
        (out.stdout_str().as_str(), out.stderr_str().as_str()),
        ("out\n", "err\n")
    );

    // Large output doesn't deadlock.
    let out = run(
        "head",
        ["-c", "3000000", "/dev/zero"],
        None,
        Duration::from_secs(5),
    );
    assert_eq!(out.stdout.len(), 3_000_000);

    // XDG_CONFIG_HOME defaults to an empty directory; it can be overridden.
    let show = [
        "-c",
        "printf '%s|' \"$XDG_CONFIG_HOME\"; ls -A \"$XDG_CONFIG_HOME\"",
    ];
    let out = run("sh", show, None, Duration::from_secs(5));
    assert_eq!(
        out.stdout_str(),
        format!("{}|", empty_config_home().display())
    );
    let dir = TempDir::new("xdg-test");
    std::fs::write(dir.join("mosquitto_pub"), "-q 1\n").unwrap();
    let out = Run::new("sh")
        .args(show)
        .env("XDG_CONFIG_HOME", dir.path())
        .run();
    assert_eq!(
        out.stdout_str(),
        format!("{}|mosquitto_pub\n", dir.path().display())
    );

    // Background: output readable while running, stdin pipe.
    let mut bg = Run::new("cat").stdin_pipe().spawn();
    bg.write_stdin(b"line one\n").unwrap();
    assert!(bg.wait_for_stdout("line one", Duration::from_secs(5)));
    assert_eq!(bg.lines(), vec!["line one"]);
    bg.close_stdin();
    let out = bg.wait(Duration::from_secs(5));
    out.assert_success();
}

#[test]
fn our_binaries_are_built() {
    for p in [Prog::OursPub, Prog::OursSub, Prog::OursRr] {
        assert!(p.path().is_file(), "{}", p.path().display());
        assert_eq!(p.counterpart().counterpart(), p);
    }
    assert_eq!(Prog::OursPub.name(), "mqtts-pub");
    assert_eq!(Prog::OursRr.counterpart().name(), "mosquitto_rr");
}

#[test]
fn normalisers_rewrite_only_the_documented_differences() {
    assert_eq!(
        normalise_2011("Client (null) sending CONNECT\nClient (null) received CONNACK (0)\n"),
        "Client null sending CONNECT\nClient null received CONNACK (0)\n"
    );
    // Only "Client (null) " is rewritten, e.g. a NULL topic stays.
    assert_eq!(normalise_2011("Topic: (null)"), "Topic: (null)");
    assert_eq!(
        normalise_2011(r#"{"tst":"2026-11-23T04:00:38.086191Z+0000","topic":"a"}"#),
        r#"{"tst":"2026-11-23T04:00:38.086191+0000","topic":"a"}"#
    );
    assert_eq!(
        normalise_2011("{\n\t\"tst\":\t\"2026-01-02T03:04:05.000001Z-0530\",\n"),
        "{\n\t\"tst\":\t\"2026-01-02T03:04:05.000001-0530\",\n"
    );
    for untouched in [
        r#"{"tst":"2026-11-23T04:00:38.086191+0000"}"#,
        r#"{"payload":"2026-11-23T04:00:38.086191Z+0000"}"#,
        r#"{"tst":"2026-11-23T04:00:38Z+0000"}"#,
    ] {
        assert_eq!(normalise_2011(untouched), untouched);
    }
    assert_eq!(
        normalise_2011_bytes(b"\xff\x00Client (null) x"),
        b"\xff\x00Client null x"
    );

    assert_eq!(
        normalise_auto_id(
            "Client auto-D5546696-1305-9087-2D11-608D194E3C56 received CONNACK (0)\nauto-short"
        ),
        "Client auto-ID received CONNACK (0)\nauto-short"
    );
    let m = "Error: Unknown option '--foo'.\nUse 'mosquitto_pub --help' to see usage.\n";
    let o = "Error: Unknown option '--foo'.\nUse 'mqtts-pub --help' to see usage.\n";
    assert_eq!(help_line_to_ours(m), o);
    assert_eq!(help_line_to_mosquitto(o), m);
    assert_eq!(
        help_line_to_ours("Use 'mosquitto_sub --help' to see usage."),
        "Use 'mqtts-sub --help' to see usage."
    );
}

#[test]
fn normalisers_work_on_real_mosquitto_output() {
    let broker = Broker::builder().tls12only(false).start();
    let conn = broker.client_args("plain");
    let topic = unique_topic("norm");

    // -d trace: after normalisation the id-less client reads "Client null".
    let out = mosquitto_pub([conn.clone(), strs(&["-d", "-r", "-t", &topic, "-m", "j"])].concat());
    out.assert_success();
    let trace = normalise_2011(&out.stdout_str());
    assert!(
        trace.starts_with("Client null sending CONNECT\n"),
        "{trace}"
    );
    assert!(!trace.contains("(null)"));

    // %j timestamp: no stray Z after normalisation.
    let out = mosquitto_sub([conn.clone(), strs(&["-t", &topic, "-C", "1", "-F", "%j"])].concat());
    out.assert_success();
    let json = normalise_2011(&out.stdout_str());
    let tst = json
        .split("\"tst\":\"")
        .nth(1)
        .expect("tst")
        .split('"')
        .next()
        .unwrap();
    assert_eq!(tst.len(), 31, "{json}");
    assert!(
        !tst.contains('Z') && (tst.contains('+') || tst.contains('-')),
        "{json}"
    );

    // v5 traces differ only in the assigned client id.
    let v5 = || {
        let out =
            mosquitto_pub([conn.clone(), strs(&["-d", "-V", "5", "-t", &topic, "-n"])].concat());
        out.assert_success();
        out.stdout_str()
    };
    let (a, b) = (v5(), v5());
    assert_ne!(a, b);
    assert!(a.contains("auto-"));
    assert_eq!(normalise_trace(&a), normalise_trace(&b));

    // A usage error: ours and mosquitto's help line map onto each other.
    let out = mosquitto_pub(["--no-such-option"]);
    assert!(
        help_line_to_ours(&(out.stdout_str() + &out.stderr_str()))
            .contains("Use 'mqtts-pub --help'")
    );

    // start_subscriber with -i waits for that client's SUBACK.
    let sub = start_subscriber_with(
        &broker,
        Run::prog(Prog::MosquittoSub).args(
            [
                conn.clone(),
                strs(&["-i", "sub-with-id", "-t", "x/#", "-C", "1"]),
            ]
            .concat(),
        ),
    );
    assert!(
        broker
            .main_log()
            .contains("Sending SUBACK to sub-with-id\n")
    );
    mosquitto_pub([conn, strs(&["-t", "x/y", "-m", "after suback"])].concat()).assert_success();
    assert_eq!(
        sub.wait(Duration::from_secs(5)).stdout_str(),
        "after suback\n"
    );
}

#[test]
fn brokers_start_concurrently_on_distinct_ports() {
    let threads: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(|| {
                (0..2)
                    .map(|_| {
                        let b = Broker::start();
                        for l in LISTENERS {
                            assert!(port_accepts(b.port(l)), "{l}\n{}", b.log());
                        }
                        b.ports().values().copied().collect::<Vec<u16>>()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all: Vec<u16> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .flatten()
        .collect();
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "a port was handed out twice");
}

#[test]
fn shared_broker_is_one_running_broker() {
    let a = Broker::shared();
    let b = Broker::shared();
    assert!(std::ptr::eq(a, b));
    assert!(a.is_running());
    // Still alive when used from another thread after the first user's thread has ended.
    std::thread::spawn(|| Broker::shared().port("plain"))
        .join()
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let conn = a.client_args("tls");
    let topic = unique_topic("shared");
    let sub = start_subscriber(
        a,
        Prog::MosquittoSub,
        [
            conn.clone(),
            strs(&["-i", "shared-sub", "-t", &topic, "-C", "1"]),
        ]
        .concat(),
    );
    mosquitto_pub([conn, strs(&["-t", &topic, "-m", "shared"])].concat()).assert_success();
    assert_eq!(sub.wait(Duration::from_secs(5)).stdout_str(), "shared\n");
}
