//! A real rumqttd broker with MQTT-over-WebSocket listeners, for the `--ws` tests.
//!
//! Debian's mosquitto 2.0.11 has no WebSocket listener; rumqttd 0.20 (crates.io, built with
//! its `verify-client-cert` feature and installed by `scripts/lib.sh`) has ws and wss
//! listeners that paho.mqtt.c speaks to. Its TOML configuration (0.20's format, see its
//! `rumqttd.toml`): `[v4.N]` MQTT 3.1.1 listeners and `[ws.N]` WebSocket ones, each with
//! `name`, `listen`, `next_connection_delay_ms`, `[….connections]` limits and an optional
//! `[….tls]` with `certpath`, `keypath` and `capath` (the CA that client certificates must
//! chain to: with `verify-client-cert` every TLS listener requires one).
//!
//! | name  | what                                                                     |
//! |-------|--------------------------------------------------------------------------|
//! | `tcp` | plain MQTT                                                               |
//! | `tls` | MQTT over TLS (`pki.server_cert`), client certificate required           |
//! | `ws`  | MQTT over WebSockets                                                     |
//! | `wss` | MQTT over WebSockets over TLS (`pki.server_cert`), client certificate required |
//!
//! All on 127.0.0.1, one broker: a message published on one listener reaches subscribers
//! on the others. rumqttd takes a client certificate's Organization as a tenant name and
//! refuses names that are not alphanumeric (the shared PKI's "mqtts tests" among them), so
//! [`Rumqttd::client_cert`]/[`Rumqttd::client_key`] is a client certificate from the test CA
//! without an Organization, and [`Rumqttd::client_p12`] the same as PKCS#12.
//!
//! A missing `rumqttd`, or one built without `verify-client-cert`, is a test failure that
//! says how to install it, never a skipped test.

use super::pki::pki;
use super::{
    LOOPBACK, TempDir, die_with_parent, free_ports, kill_and_reap, kill_at_exit, port_accepts,
    wait_until,
};
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::PKey;
use openssl::x509::extension::{BasicConstraints, ExtendedKeyUsage};
use openssl::x509::{X509, X509NameBuilder};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The version scripts/lib.sh installs.
pub const RUMQTTD_VERSION: &str = "0.20.0";
/// The password of [`Rumqttd::client_p12`].
pub const WS_P12_PASSWORD: &str = "ws-p12-pass";

const INSTALL: &str = "cargo install rumqttd --version 0.20.0 --features verify-client-cert \
                       (scripts/test and scripts/demo run it when rumqttd is missing)";

/// One rumqttd process; killed on drop.
#[derive(Debug)]
pub struct Rumqttd {
    dir: TempDir,
    pub tcp: u16,
    pub tls: u16,
    pub ws: u16,
    pub wss: u16,
    /// Client certificate (CN=mqtts-ws-client, no Organization) from the test CA, its key,
    /// and both as PKCS#12 ([`WS_P12_PASSWORD`]).
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    pub client_p12: PathBuf,
    child: Option<Child>,
}

/// The path of the rumqttd binary: PATH, else ~/.cargo/bin. Panics with the install
/// command when there is none.
pub fn rumqttd_binary() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("rumqttd"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    // $CARGO_HOME/bin (~/.cargo/bin), where scripts/lib.sh installs it.
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    on_path
        .into_iter()
        .chain(cargo_home.map(|c| c.join("bin/rumqttd")))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("rumqttd {RUMQTTD_VERSION} is not installed: {INSTALL}"))
}

fn listener(kind: &str, n: usize, port: u16, tls: Option<(&str, &str, &str)>) -> String {
    let mut s = format!(
        "[{kind}.{n}]\nname = \"{kind}-{n}\"\nlisten = \"{LOOPBACK}:{port}\"\n\
         next_connection_delay_ms = 0\n\
         [{kind}.{n}.connections]\nconnection_timeout_ms = 5000\n\
         max_payload_size = 1048576\nmax_inflight_count = 100\ndynamic_filters = true\n"
    );
    if let Some((cert, key, ca)) = tls {
        s.push_str(&format!(
            "[{kind}.{n}.tls]\ncertpath = \"{cert}\"\nkeypath = \"{key}\"\ncapath = \"{ca}\"\n"
        ));
    }
    s
}

impl Rumqttd {
    /// Starts rumqttd with the four listeners on free ports; returns once all accept.
    pub fn start() -> Rumqttd {
        let pki = pki();
        let dir = TempDir::new("rumqttd");
        let (client_cert, client_key, client_p12) = client_identity(&dir);
        let p = |x: &PathBuf| x.to_string_lossy().into_owned();
        let (cert, key, ca) = (p(&pki.server_cert), p(&pki.server_key), p(&pki.ca));
        let tls = Some((cert.as_str(), key.as_str(), ca.as_str()));
        let ports = free_ports(4);
        let conf = format!(
            "id = 0\n[router]\nmax_connections = 100\nmax_outgoing_packet_count = 200\n\
             max_segment_size = 1048576\nmax_segment_count = 10\n{}{}{}{}",
            listener("v4", 1, ports[0], None),
            listener("v4", 2, ports[1], tls),
            listener("ws", 1, ports[2], None),
            listener("ws", 2, ports[3], tls),
        );
        std::fs::write(dir.join("rumqttd.toml"), conf).expect("write rumqttd.toml");
        let mut r = Rumqttd {
            dir,
            tcp: ports[0],
            tls: ports[1],
            ws: ports[2],
            wss: ports[3],
            client_cert,
            client_key,
            client_p12,
            child: None,
        };
        r.spawn();
        r
    }

    /// Stops rumqttd and starts it again on the same ports.
    pub fn restart(&mut self) {
        kill_and_reap(self.child.take());
        self.spawn();
    }

    fn spawn(&mut self) {
        let bin = rumqttd_binary();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("log"))
            .expect("rumqttd log");
        let mut cmd = Command::new(&bin);
        cmd.arg("-c")
            .arg(self.dir.join("rumqttd.toml"))
            .arg("-q")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup"))
            .stderr(log);
        die_with_parent(&mut cmd);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}; {INSTALL}", bin.display()));
        kill_at_exit(child.id());
        self.child = Some(child);
        let ports = [self.tcp, self.tls, self.ws, self.wss];
        let r = self;
        let ready = wait_until(Duration::from_secs(10), || {
            ports.iter().all(|p| port_accepts(*p))
                || matches!(r.child.as_mut().map(|c| c.try_wait()), Some(Ok(Some(_))))
        });
        let log = r.log();
        assert!(
            ready && ports.iter().all(|p| port_accepts(*p)),
            "rumqttd did not start (ports {ports:?}):\n{log}"
        );
        assert!(
            !log.contains("verify-client-cert feature is disabled"),
            "{} was built without the verify-client-cert feature: {INSTALL}",
            bin.display()
        );
    }

    /// What rumqttd logged so far.
    pub fn log(&self) -> String {
        std::fs::read(self.dir.join("log"))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

impl Drop for Rumqttd {
    fn drop(&mut self) {
        kill_and_reap(self.child.take());
    }
}

/// A client certificate from the test CA without an Organization (see the module docs):
/// (cert, key, PKCS#12) paths in `dir`.
fn client_identity(dir: &TempDir) -> (PathBuf, PathBuf, PathBuf) {
    let pki = pki();
    let ca = pki.ca_x509();
    let ca_key = PKey::private_key_from_pem(&std::fs::read(&pki.ca_key).expect("CA key"))
        .expect("CA key PEM");
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("P-256");
    let key = PKey::from_ec_key(EcKey::generate(&group).expect("EC key")).expect("PKey");
    let mut name = X509NameBuilder::new().expect("name");
    name.append_entry_by_nid(Nid::COMMONNAME, "mqtts-ws-client")
        .expect("CN");
    let name = name.build();
    let mut b = X509::builder().expect("builder");
    b.set_version(2).expect("v3");
    let mut serial = BigNum::new().expect("bn");
    serial
        .rand(120, MsbOption::MAYBE_ZERO, false)
        .expect("rand");
    b.set_serial_number(&serial.to_asn1_integer().expect("serial"))
        .expect("serial");
    b.set_subject_name(&name).expect("subject");
    b.set_issuer_name(ca.subject_name()).expect("issuer");
    b.set_pubkey(&key).expect("pubkey");
    b.set_not_before(&Asn1Time::days_from_now(0).expect("now"))
        .expect("nb");
    b.set_not_after(&Asn1Time::days_from_now(365).expect("later"))
        .expect("na");
    b.append_extension(BasicConstraints::new().build().expect("bc"))
        .expect("bc");
    b.append_extension(ExtendedKeyUsage::new().client_auth().build().expect("eku"))
        .expect("eku");
    b.sign(&ca_key, MessageDigest::sha256()).expect("sign");
    let cert = b.build();
    let cert_path = dir.join("ws-client.crt");
    let key_path = dir.join("ws-client.key");
    let p12_path = dir.join("ws-client.p12");
    std::fs::write(&cert_path, cert.to_pem().expect("PEM")).expect("write cert");
    std::fs::write(&key_path, key.private_key_to_pem_pkcs8().expect("PEM")).expect("write key");
    let p12 = Pkcs12::builder()
        .name("mqtts-ws-client")
        .pkey(&key)
        .cert(&cert)
        .build2(WS_P12_PASSWORD)
        .expect("PKCS#12");
    std::fs::write(&p12_path, p12.to_der().expect("DER")).expect("write p12");
    (cert_path, key_path, p12_path)
}
