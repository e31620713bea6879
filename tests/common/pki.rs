//! Throwaway PKI for TLS tests, generated with the `openssl` crate.
//!
//! `common::pki()` generates it once per test process (RSA key generation costs time) into a
//! temp dir that is removed when the process exits. `Pki::generate()` makes a private one whose
//! directory is removed when it is dropped.
//!
//! Validity: the CAs and "good" leaves are valid from 1 day ago to 365 days from now.

use super::{TempDir, remove_at_exit};
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{HasPublic, PKey, PKeyRef, Private};
use openssl::rsa::Rsa;
use openssl::symm::Cipher;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509Builder, X509NameBuilder};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// Password of `client_encrypted_key` and `client_encrypted_key_legacy`.
pub const KEY_PASSWORD: &str = "mqtts-key-pass";
/// Password of the PKCS#12 bundle `client_p12`.
pub const P12_PASSWORD: &str = "mqtts-p12-pass";

/// Common names, for assertions.
pub const CA_CN: &str = "mqtts test CA";
pub const UNTRUSTED_CA_CN: &str = "mqtts untrusted CA";
pub const WRONG_HOST: &str = "wrong.example";

const DAY: i64 = 86_400;

/// All files of the throwaway PKI. Every `*_cert` is a PEM certificate, every `*_key` a PEM
/// private key (unencrypted PKCS#8 unless the field says otherwise).
#[derive(Debug)]
pub struct Pki {
    _dir: TempDir,
    /// The directory holding every file below.
    pub dir: PathBuf,

    /// Trusted CA certificate (RSA 2048, self-signed), PEM. Pass as `--cafile`.
    pub ca: PathBuf,
    /// The same CA certificate in DER form.
    pub ca_der: PathBuf,
    /// The trusted CA's private key.
    pub ca_key: PathBuf,
    /// A second CA that nothing trusts, PEM.
    pub untrusted_ca: PathBuf,
    /// A file holding both CA certificates (trusted first).
    pub ca_bundle: PathBuf,

    /// Good server certificate: CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1.
    pub server_cert: PathBuf,
    /// Key of every server certificate below (RSA 2048).
    pub server_key: PathBuf,
    /// Server certificate whose only SAN is DNS:wrong.example (CN=wrong.example).
    pub server_wrong_host_cert: PathBuf,
    /// Server certificate for localhost that expired (30 days ago .. 1 day ago).
    pub server_expired_cert: PathBuf,
    /// Server certificate for localhost not valid yet (30 days .. 365 days from now).
    pub server_not_yet_valid_cert: PathBuf,
    /// Server certificate for localhost signed by the untrusted CA.
    pub server_untrusted_cert: PathBuf,
    /// Good server certificate for localhost that expires 10 days from now.
    pub server_expiring_cert: PathBuf,
    /// Server certificate with CN=localhost and no subjectAltName at all (CN fallback).
    pub server_cn_only_cert: PathBuf,

    /// Good RSA client certificate (CN=mqtts-client-rsa) and its key (PKCS#8).
    pub client_rsa_cert: PathBuf,
    pub client_rsa_key: PathBuf,
    /// The same RSA client key in PKCS#1 form (`BEGIN RSA PRIVATE KEY`).
    pub client_rsa_key_pkcs1: PathBuf,
    /// Good EC P-256 client certificate (CN=mqtts-client-ec) and its key (PKCS#8).
    pub client_ec_cert: PathBuf,
    pub client_ec_key: PathBuf,
    /// The same EC client key in SEC1 form (`BEGIN EC PRIVATE KEY`).
    pub client_ec_key_sec1: PathBuf,
    /// Client certificate signed by the untrusted CA, and its key.
    pub client_untrusted_cert: PathBuf,
    pub client_untrusted_key: PathBuf,
    /// Expired client certificate (30 days ago .. 1 day ago), and its key.
    pub client_expired_cert: PathBuf,
    pub client_expired_key: PathBuf,
    /// Good client certificate that expires 10 days from now, and its key.
    pub client_expiring_cert: PathBuf,
    pub client_expiring_key: PathBuf,
    /// Good client certificate whose key is encrypted with [`KEY_PASSWORD`] (AES-256-CBC):
    /// `client_encrypted_key` is encrypted PKCS#8 (`BEGIN ENCRYPTED PRIVATE KEY`),
    /// `client_encrypted_key_legacy` the traditional OpenSSL form (`Proc-Type: 4,ENCRYPTED`).
    pub client_encrypted_cert: PathBuf,
    pub client_encrypted_key: PathBuf,
    pub client_encrypted_key_legacy: PathBuf,
    /// A good client certificate and a private key that does NOT belong to it.
    pub client_mismatch_cert: PathBuf,
    pub client_mismatch_key: PathBuf,
    /// PKCS#12 bundle (password [`P12_PASSWORD`]) of `client_rsa_cert` + its key + the CA.
    pub client_p12: PathBuf,

    ca_x509: X509,
    ca_pkey: PKey<Private>,
}

/// What kind of leaf certificate [`Pki::issue`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    Server,
    Client,
}

/// Parameters for an extra leaf certificate issued by the trusted CA (see [`Pki::issue`]).
#[derive(Debug, Clone)]
pub struct CertSpec<'a> {
    pub common_name: &'a str,
    pub dns: &'a [&'a str],
    pub ips: &'a [&'a str],
    /// Validity start / end relative to now, in seconds (negative = past).
    pub not_before: i64,
    pub not_after: i64,
    pub usage: Usage,
}

/// The process-wide PKI, generated on first use.
pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let pki = Pki::generate();
        remove_at_exit(&pki.dir);
        pki
    })
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

fn rsa_key() -> PKey<Private> {
    PKey::from_rsa(Rsa::generate(2048).expect("RSA keygen")).expect("PKey from RSA")
}

fn ec_key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("P-256");
    PKey::from_ec_key(EcKey::generate(&group).expect("EC keygen")).expect("PKey from EC")
}

struct Leaf<'a> {
    cn: &'a str,
    dns: &'a [&'a str],
    ips: &'a [&'a str],
    not_before: i64,
    not_after: i64,
    usage: Usage,
}

/// Builds a certificate for `key`. `issuer` None = self-signed CA.
fn make_cert(
    key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
    leaf: Option<&Leaf<'_>>,
    ca_cn: &str,
) -> X509 {
    match issuer {
        Some((ca, ca_key)) => make_cert_for(key, Some(ca), ca_key, leaf, ca_cn),
        None => make_cert_for(key, None, key, leaf, ca_cn),
    }
}

/// Builds a certificate for the public `key`, issued by `issuer` (None = self-issued)
/// and signed with `signer`.
fn make_cert_for<T: HasPublic>(
    key: &PKeyRef<T>,
    issuer: Option<&X509>,
    signer: &PKeyRef<Private>,
    leaf: Option<&Leaf<'_>>,
    ca_cn: &str,
) -> X509 {
    let t = now();
    let mut b = X509Builder::new().expect("X509Builder");
    b.set_version(2).expect("version");
    let serial = {
        let mut bn = BigNum::new().expect("bn");
        bn.rand(120, MsbOption::MAYBE_ZERO, false).expect("rand");
        bn.to_asn1_integer().expect("serial")
    };
    b.set_serial_number(&serial).expect("serial");

    let cn = leaf.map(|l| l.cn).unwrap_or(ca_cn);
    let mut name = X509NameBuilder::new().expect("name");
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, "mqtts tests")
        .expect("O");
    name.append_entry_by_nid(Nid::COMMONNAME, cn).expect("CN");
    let name = name.build();
    b.set_subject_name(&name).expect("subject");
    match issuer {
        Some(ca) => b.set_issuer_name(ca.subject_name()).expect("issuer"),
        None => b.set_issuer_name(&name).expect("issuer"),
    }
    b.set_pubkey(key).expect("pubkey");

    let (nb, na) = leaf
        .map(|l| (l.not_before, l.not_after))
        .unwrap_or((-DAY, 365 * DAY));
    b.set_not_before(&Asn1Time::from_unix((t + nb) as _).expect("time"))
        .expect("notBefore");
    b.set_not_after(&Asn1Time::from_unix((t + na) as _).expect("time"))
        .expect("notAfter");

    match leaf {
        None => {
            b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
                .unwrap();
            b.append_extension(
                KeyUsage::new()
                    .critical()
                    .key_cert_sign()
                    .crl_sign()
                    .build()
                    .unwrap(),
            )
            .unwrap();
            let ski = SubjectKeyIdentifier::new()
                .build(&b.x509v3_context(None, None))
                .unwrap();
            b.append_extension(ski).unwrap();
        }
        Some(l) => {
            b.append_extension(BasicConstraints::new().critical().build().unwrap())
                .unwrap();
            let mut ku = KeyUsage::new();
            ku.critical().digital_signature();
            if key.rsa().is_ok() {
                ku.key_encipherment();
            } else {
                ku.key_agreement();
            }
            b.append_extension(ku.build().unwrap()).unwrap();
            let mut eku = ExtendedKeyUsage::new();
            match l.usage {
                Usage::Server => eku.server_auth(),
                Usage::Client => eku.client_auth(),
            };
            b.append_extension(eku.build().unwrap()).unwrap();
            let ca_cert: Option<&openssl::x509::X509Ref> = issuer.map(|c| &**c);
            if !l.dns.is_empty() || !l.ips.is_empty() {
                let mut san = SubjectAlternativeName::new();
                for d in l.dns {
                    san.dns(d);
                }
                for ip in l.ips {
                    san.ip(ip);
                }
                let san = san.build(&b.x509v3_context(ca_cert, None)).unwrap();
                b.append_extension(san).unwrap();
            }
            let ski = SubjectKeyIdentifier::new()
                .build(&b.x509v3_context(ca_cert, None))
                .unwrap();
            b.append_extension(ski).unwrap();
            let aki = AuthorityKeyIdentifier::new()
                .keyid(false)
                .build(&b.x509v3_context(ca_cert, None))
                .unwrap();
            b.append_extension(aki).unwrap();
        }
    }

    b.sign(signer, MessageDigest::sha256()).expect("sign");
    b.build()
}

fn write(path: &Path, data: &[u8]) {
    std::fs::write(path, data).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn write_cert(dir: &Path, name: &str, cert: &X509) -> PathBuf {
    let p = dir.join(name);
    write(&p, &cert.to_pem().expect("cert to PEM"));
    p
}

fn write_key(dir: &Path, name: &str, key: &PKey<Private>) -> PathBuf {
    let p = dir.join(name);
    write(&p, &key.private_key_to_pem_pkcs8().expect("key to PKCS#8"));
    p
}

const LOCALHOST_DNS: &[&str] = &["localhost"];
const LOCALHOST_IPS: &[&str] = &["127.0.0.1", "::1"];

impl Pki {
    /// Generates a complete PKI into a new temp dir (removed when the `Pki` is dropped).
    pub fn generate() -> Pki {
        let tmp = TempDir::new("pki");
        let dir = tmp.path().to_path_buf();
        let d = dir.as_path();

        // Keys: RSA for CAs, server, client; one extra RSA key for the mismatch; EC client.
        let ca_pkey = rsa_key();
        let untrusted_pkey = rsa_key();
        let server_pkey = rsa_key();
        let client_pkey = rsa_key();
        let other_pkey = rsa_key();
        let client_ec_pkey = ec_key();

        let ca_x509 = make_cert(&ca_pkey, None, None, CA_CN);
        let untrusted_x509 = make_cert(&untrusted_pkey, None, None, UNTRUSTED_CA_CN);
        let ca = (&ca_x509, &ca_pkey);
        let untrusted = (&untrusted_x509, &untrusted_pkey);

        let server = |cn: &'static str,
                      dns: &'static [&'static str],
                      ips: &'static [&'static str],
                      nb: i64,
                      na: i64| Leaf {
            cn,
            dns,
            ips,
            not_before: nb,
            not_after: na,
            usage: Usage::Server,
        };
        let client = |cn: &'static str, nb: i64, na: i64| Leaf {
            cn,
            dns: &[],
            ips: &[],
            not_before: nb,
            not_after: na,
            usage: Usage::Client,
        };
        let good = (-DAY, 365 * DAY);
        let expired = (-30 * DAY, -DAY);

        let issue = |key: &PKey<Private>, issuer: (&X509, &PKey<Private>), leaf: Leaf<'static>| {
            make_cert(key, Some(issuer), Some(&leaf), "")
        };

        let server_good = issue(
            &server_pkey,
            ca,
            server("localhost", LOCALHOST_DNS, LOCALHOST_IPS, good.0, good.1),
        );
        let server_wrong = issue(
            &server_pkey,
            ca,
            server(WRONG_HOST, &[WRONG_HOST], &[], good.0, good.1),
        );
        let server_expired = issue(
            &server_pkey,
            ca,
            server(
                "localhost",
                LOCALHOST_DNS,
                LOCALHOST_IPS,
                expired.0,
                expired.1,
            ),
        );
        let server_future = issue(
            &server_pkey,
            ca,
            server(
                "localhost",
                LOCALHOST_DNS,
                LOCALHOST_IPS,
                30 * DAY,
                365 * DAY,
            ),
        );
        let server_untrusted = issue(
            &server_pkey,
            untrusted,
            server("localhost", LOCALHOST_DNS, LOCALHOST_IPS, good.0, good.1),
        );

        let server_expiring = issue(
            &server_pkey,
            ca,
            server("localhost", LOCALHOST_DNS, LOCALHOST_IPS, -DAY, 10 * DAY),
        );
        let server_cn_only = issue(
            &server_pkey,
            ca,
            server("localhost", &[], &[], good.0, good.1),
        );

        let client_rsa = issue(&client_pkey, ca, client("mqtts-client-rsa", good.0, good.1));
        let client_ec = issue(
            &client_ec_pkey,
            ca,
            client("mqtts-client-ec", good.0, good.1),
        );
        let client_untrusted = issue(
            &client_pkey,
            untrusted,
            client("mqtts-client-untrusted", good.0, good.1),
        );
        let client_expired = issue(
            &client_pkey,
            ca,
            client("mqtts-client-expired", expired.0, expired.1),
        );
        let client_expiring = issue(
            &client_pkey,
            ca,
            client("mqtts-client-expiring", -DAY, 10 * DAY),
        );
        let client_encrypted = issue(
            &client_pkey,
            ca,
            client("mqtts-client-encrypted", good.0, good.1),
        );
        let client_mismatch = issue(
            &client_pkey,
            ca,
            client("mqtts-client-mismatch", good.0, good.1),
        );

        let ca_path = write_cert(d, "ca.crt", &ca_x509);
        let ca_der = d.join("ca.der");
        write(&ca_der, &ca_x509.to_der().expect("CA to DER"));
        let untrusted_ca = write_cert(d, "untrusted-ca.crt", &untrusted_x509);
        let ca_bundle = d.join("ca-bundle.crt");
        let mut bundle = ca_x509.to_pem().unwrap();
        bundle.extend(untrusted_x509.to_pem().unwrap());
        write(&ca_bundle, &bundle);

        let client_rsa_key_pkcs1 = d.join("client-rsa.pkcs1.key");
        write(
            &client_rsa_key_pkcs1,
            &client_pkey.rsa().unwrap().private_key_to_pem().unwrap(),
        );
        let client_ec_key_sec1 = d.join("client-ec.sec1.key");
        write(
            &client_ec_key_sec1,
            &client_ec_pkey
                .ec_key()
                .unwrap()
                .private_key_to_pem()
                .unwrap(),
        );
        let client_encrypted_key = d.join("client-encrypted.key");
        write(
            &client_encrypted_key,
            &client_pkey
                .private_key_to_pem_pkcs8_passphrase(Cipher::aes_256_cbc(), KEY_PASSWORD.as_bytes())
                .unwrap(),
        );
        let client_encrypted_key_legacy = d.join("client-encrypted.legacy.key");
        write(
            &client_encrypted_key_legacy,
            &client_pkey
                .rsa()
                .unwrap()
                .private_key_to_pem_passphrase(Cipher::aes_256_cbc(), KEY_PASSWORD.as_bytes())
                .unwrap(),
        );

        let mut ca_stack = openssl::stack::Stack::new().unwrap();
        ca_stack.push(ca_x509.clone()).unwrap();
        let p12 = Pkcs12::builder()
            .name("mqtts-client-rsa")
            .pkey(&client_pkey)
            .cert(&client_rsa)
            .ca(ca_stack)
            .build2(P12_PASSWORD)
            .expect("PKCS#12");
        let client_p12 = d.join("client-rsa.p12");
        write(&client_p12, &p12.to_der().unwrap());

        Pki {
            ca: ca_path,
            ca_der,
            ca_key: write_key(d, "ca.key", &ca_pkey),
            untrusted_ca,
            ca_bundle,
            server_cert: write_cert(d, "server.crt", &server_good),
            server_key: write_key(d, "server.key", &server_pkey),
            server_wrong_host_cert: write_cert(d, "server-wrong-host.crt", &server_wrong),
            server_expired_cert: write_cert(d, "server-expired.crt", &server_expired),
            server_not_yet_valid_cert: write_cert(d, "server-not-yet-valid.crt", &server_future),
            server_untrusted_cert: write_cert(d, "server-untrusted.crt", &server_untrusted),
            server_expiring_cert: write_cert(d, "server-expiring.crt", &server_expiring),
            server_cn_only_cert: write_cert(d, "server-cn-only.crt", &server_cn_only),
            client_rsa_cert: write_cert(d, "client-rsa.crt", &client_rsa),
            client_rsa_key: write_key(d, "client-rsa.key", &client_pkey),
            client_rsa_key_pkcs1,
            client_ec_cert: write_cert(d, "client-ec.crt", &client_ec),
            client_ec_key: write_key(d, "client-ec.key", &client_ec_pkey),
            client_ec_key_sec1,
            client_untrusted_cert: write_cert(d, "client-untrusted.crt", &client_untrusted),
            client_untrusted_key: write_key(d, "client-untrusted.key", &client_pkey),
            client_expired_cert: write_cert(d, "client-expired.crt", &client_expired),
            client_expired_key: write_key(d, "client-expired.key", &client_pkey),
            client_expiring_cert: write_cert(d, "client-expiring.crt", &client_expiring),
            client_expiring_key: write_key(d, "client-expiring.key", &client_pkey),
            client_encrypted_cert: write_cert(d, "client-encrypted.crt", &client_encrypted),
            client_encrypted_key,
            client_encrypted_key_legacy,
            client_mismatch_cert: write_cert(d, "client-mismatch.crt", &client_mismatch),
            client_mismatch_key: write_key(d, "client-mismatch.key", &other_pkey),
            client_p12,
            ca_x509,
            ca_pkey,
            dir,
            _dir: tmp,
        }
    }

    /// The trusted CA certificate in memory.
    pub fn ca_x509(&self) -> &X509 {
        &self.ca_x509
    }

    /// Issues an extra leaf certificate from the trusted CA with a fresh EC P-256 key (cheap),
    /// writing `<name>.crt` and `<name>.key` (PKCS#8) into `dir`. Returns (cert, key) paths.
    pub fn issue(&self, dir: &Path, name: &str, spec: &CertSpec<'_>) -> (PathBuf, PathBuf) {
        let key = ec_key();
        let leaf = Leaf {
            cn: spec.common_name,
            dns: spec.dns,
            ips: spec.ips,
            not_before: spec.not_before,
            not_after: spec.not_after,
            usage: spec.usage,
        };
        let cert = make_cert(&key, Some((&self.ca_x509, &self.ca_pkey)), Some(&leaf), "");
        (
            write_cert(dir, &format!("{name}.crt"), &cert),
            write_key(dir, &format!("{name}.key"), &key),
        )
    }

    /// Issues a client or server certificate from the trusted CA for a public key held
    /// elsewhere (e.g. generated inside a PKCS#11 token), writing `<name>.crt` into `dir`.
    pub fn issue_for_key<T: HasPublic>(
        &self,
        dir: &Path,
        name: &str,
        spec: &CertSpec<'_>,
        key: &PKeyRef<T>,
    ) -> PathBuf {
        let leaf = Leaf {
            cn: spec.common_name,
            dns: spec.dns,
            ips: spec.ips,
            not_before: spec.not_before,
            not_after: spec.not_after,
            usage: spec.usage,
        };
        let cert = make_cert_for(key, Some(&self.ca_x509), &self.ca_pkey, Some(&leaf), "");
        write_cert(dir, &format!("{name}.crt"), &cert)
    }
}
