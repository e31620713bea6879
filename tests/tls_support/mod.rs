//! Test support for tests/tls.rs: a throwaway PKI made with the openssl crate, mosquitto
//! brokers and `openssl s_server` endpoints on free loopback ports, killed on drop.
#![allow(dead_code)]

use mqtts::options::{Client, Options};
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private};
use openssl::symm::Cipher;
use openssl::x509::extension::{BasicConstraints, SubjectAlternativeName};
use openssl::x509::{X509, X509NameBuilder};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const KEY_PASSWORD: &str = "s3cret pass";
pub const P12_PASSWORD: &str = "p12-pass";

pub fn opts() -> Options {
    mqtts::options::defaults(Client::Pub)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub fn new_key() -> PKey<Private> {
    let g = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    PKey::from_ec_key(EcKey::generate(&g).unwrap()).unwrap()
}

/// A certificate valid from `from_days` to `to_days` relative to now.
pub fn make_cert(
    cn: &str,
    sans: &[&str],
    key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
    from_days: i64,
    to_days: i64,
    ca: bool,
) -> X509 {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("O", "mqtts tests").unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    let mut serial = BigNum::new().unwrap();
    serial.rand(64, MsbOption::MAYBE_ZERO, false).unwrap();
    b.set_serial_number(&serial.to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(issuer.map(|(c, _)| c.subject_name()).unwrap_or(&name))
        .unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&Asn1Time::from_unix(now() + from_days * 86400).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(now() + to_days * 86400).unwrap())
        .unwrap();
    if ca {
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
    }
    if !sans.is_empty() {
        let mut s = SubjectAlternativeName::new();
        for n in sans {
            if n.parse::<std::net::IpAddr>().is_ok() {
                s.ip(n);
            } else {
                s.dns(n);
            }
        }
        let ext = s
            .build(&b.x509v3_context(issuer.map(|(c, _)| &**c), None))
            .unwrap();
        b.append_extension(ext).unwrap();
    }
    b.sign(
        issuer.map(|(_, k)| k).unwrap_or(key),
        MessageDigest::sha256(),
    )
    .unwrap();
    b.build()
}

/// Set for child test processes: the parent's PKI directory.
pub const PKI_ENV: &str = "MQTTS_TLS_TEST_PKI";

pub struct Pki {
    pub dir: PathBuf,
}

impl Pki {
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }
}

fn write(dir: &Path, name: &str, data: &[u8]) {
    std::fs::write(dir.join(name), data).unwrap();
}

/// The PKI, made once per test process.
pub fn pki() -> &'static Pki {
    static P: OnceLock<Pki> = OnceLock::new();
    P.get_or_init(|| {
        // A child test process uses its parent's PKI.
        if let Some(d) = std::env::var_os(PKI_ENV) {
            return Pki {
                dir: PathBuf::from(d),
            };
        }
        let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        // Remove the PKIs of earlier runs whose process is gone.
        for e in std::fs::read_dir(&tmp).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let gone = name
                .strip_prefix("tls-pki-")
                .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists());
            if gone {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
        let dir = tmp.join(format!("tls-pki-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let pem = |c: &X509| c.to_pem().unwrap();
        let kpem = |k: &PKey<Private>| k.private_key_to_pem_pkcs8().unwrap();

        let ca_key = new_key();
        let ca = make_cert("mqtts test CA", &[], &ca_key, None, -1, 3650, true);
        write(&dir, "ca.crt", &pem(&ca));
        let other_key = new_key();
        let other = make_cert("other CA", &[], &other_key, None, -1, 3650, true);
        write(&dir, "other-ca.crt", &pem(&other));
        let old_ca_key = new_key();
        let old_ca = make_cert("expired CA", &[], &old_ca_key, None, -400, -10, true);
        write(&dir, "expired-ca.crt", &pem(&old_ca));

        let sk = new_key();
        write(&dir, "server.key", &kpem(&sk));
        let srv = make_cert(
            "localhost",
            &["localhost", "127.0.0.1"],
            &sk,
            Some((&ca, &ca_key)),
            -1,
            365,
            false,
        );
        write(&dir, "server.crt", &pem(&srv));
        let wrong = make_cert(
            "wrong.example",
            &["wrong.example"],
            &sk,
            Some((&ca, &ca_key)),
            -1,
            365,
            false,
        );
        write(&dir, "wrongname.crt", &pem(&wrong));
        let exp = make_cert(
            "localhost",
            &["localhost", "127.0.0.1"],
            &sk,
            Some((&ca, &ca_key)),
            -100,
            -2,
            false,
        );
        write(&dir, "expired-server.crt", &pem(&exp));
        let soon = make_cert(
            "localhost",
            &["localhost"],
            &sk,
            Some((&ca, &ca_key)),
            -100,
            7,
            false,
        );
        write(&dir, "soon-server.crt", &pem(&soon));

        let ck = new_key();
        write(&dir, "client.key", &kpem(&ck));
        let cli = make_cert("client one", &[], &ck, Some((&ca, &ca_key)), -1, 365, false);
        write(&dir, "client.crt", &pem(&cli));
        write(&dir, "client.der", &cli.to_der().unwrap());
        write(&dir, "client-key.der", &ck.private_key_to_der().unwrap());
        write(
            &dir,
            "client-enc.key",
            &ck.private_key_to_pem_pkcs8_passphrase(Cipher::aes_256_cbc(), KEY_PASSWORD.as_bytes())
                .unwrap(),
        );
        write(&dir, "keypw.txt", format!("{KEY_PASSWORD}\n").as_bytes());
        write(&dir, "wrongpw.txt", b"not it\n");
        let p12 = Pkcs12::builder()
            .name("client one")
            .pkey(&ck)
            .cert(&cli)
            .build2(P12_PASSWORD)
            .unwrap();
        write(&dir, "client.p12", &p12.to_der().unwrap());
        write(&dir, "p12pw.txt", format!("{P12_PASSWORD}\n").as_bytes());

        let ok2 = new_key();
        write(&dir, "other-client.key", &kpem(&ok2));
        let oc = make_cert(
            "stranger",
            &[],
            &ok2,
            Some((&other, &other_key)),
            -1,
            365,
            false,
        );
        write(&dir, "other-client.crt", &pem(&oc));
        let old = make_cert(
            "client old",
            &[],
            &ck,
            Some((&ca, &ca_key)),
            -100,
            -3,
            false,
        );
        write(&dir, "expired-client.crt", &pem(&old));
        let soon = make_cert(
            "client soon",
            &[],
            &ck,
            Some((&ca, &ca_key)),
            -100,
            5,
            false,
        );
        write(&dir, "soon-client.crt", &pem(&soon));
        write(&dir, "garbage.txt", b"this is not a certificate\n");
        write(&dir, "empty.pem", b"");
        Pki { dir }
    })
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_port(port: u16, child: &mut Child) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(st)) = child.try_wait() {
            panic!("server exited early: {st}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("port {port} did not open");
}

/// A child process killed on drop.
pub struct Server {
    child: Child,
    pub ports: Vec<u16>,
    _conf: Option<PathBuf>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(c) = &self._conf {
            let _ = std::fs::remove_file(c);
        }
    }
}

impl Server {
    pub fn port(&self) -> u16 {
        self.ports[0]
    }
}

/// mosquitto with one listener per entry: each entry is the listener's extra lines
/// (empty = plain MQTT). Certificate paths may use `{dir}` for the PKI directory.
pub fn mosquitto(listeners: &[&str]) -> Server {
    mosquitto_with_max_tls12(listeners, false)
}

/// mosquitto; with `tls12_only` its OpenSSL is limited to TLS 1.2 through its own
/// OPENSSL_CONF (mosquitto's `tls_version` is only a minimum).
pub fn mosquitto_with_max_tls12(listeners: &[&str], tls12_only: bool) -> Server {
    let pki = pki();
    let mut conf =
        String::from("user root\nallow_anonymous true\nlog_dest none\npersistence false\n");
    let mut ports = Vec::new();
    for l in listeners {
        let p = free_port();
        ports.push(p);
        conf.push_str(&format!("listener {p} 127.0.0.1\n"));
        conf.push_str(&l.replace("{dir}", &pki.dir.to_string_lossy()));
        conf.push('\n');
    }
    let path = pki.dir.join(format!("mosquitto-{}.conf", ports[0]));
    std::fs::write(&path, conf).unwrap();
    let mut cmd = Command::new("mosquitto");
    cmd.arg("-c").arg(&path).env_remove("OPENSSL_CONF");
    if tls12_only {
        let cnf = pki.dir.join("max-tls12.cnf");
        std::fs::write(
            &cnf,
            "openssl_conf = i\n[i]\nssl_conf = s\n[s]\nsystem_default = d\n[d]\nMaxProtocol = TLSv1.2\n",
        )
        .unwrap();
        cmd.env("OPENSSL_CONF", cnf);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mosquitto");
    for p in &ports {
        wait_port(*p, &mut child);
    }
    Server {
        child,
        ports,
        _conf: Some(path),
    }
}

/// A TLS listener with the given server cert file.
pub fn tls_listener(cert: &str) -> String {
    format!("cafile {{dir}}/ca.crt\ncertfile {{dir}}/{cert}\nkeyfile {{dir}}/server.key\n")
}

/// `openssl s_server` with extra arguments and the good server certificate.
pub fn s_server(args: &[&str]) -> Server {
    let pki = pki();
    let port = free_port();
    let mut child = Command::new("openssl")
        .arg("s_server")
        .args(["-accept", &port.to_string(), "-cert"])
        .arg(pki.path("server.crt"))
        .arg("-key")
        .arg(pki.path("server.key"))
        .args(["-quiet"])
        .args(args)
        .env_remove("OPENSSL_CONF")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl s_server");
    wait_port(port, &mut child);
    Server {
        child,
        ports: vec![port],
        _conf: None,
    }
}
