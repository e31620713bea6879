//! What a probe handshake found, in words: the failure (exit code, message and advice) for
//! untrusted, expired or misnamed certificates, a refused or missing client certificate,
//! failed negotiation, and a port that answered without TLS.

use super::tcp::{fresh, speaks_mqtt};
use super::tls::*;
use super::waited_secs;
use crate::exit::Failure;
use crate::tls::files::name;
use crate::tls::*;
use openssl::asn1::Asn1Time;
use openssl::x509::X509Ref;
use std::net::{IpAddr, SocketAddr};

fn versions(plan: &TlsPlan) -> String {
    match plan.max_version {
        Some(max) if max == plan.min_version => max.openssl_name().to_string(),
        Some(max) => format!(
            "{} to {}",
            plan.min_version.openssl_name(),
            max.openssl_name()
        ),
        None => format!("{} or later", plan.min_version.openssl_name()),
    }
}

fn trust_source(plan: &TlsPlan) -> String {
    let mut v = Vec::new();
    if let Some(f) = &plan.cafile {
        v.push(format!("--cafile {}", printable(f)));
    }
    if let Some(d) = &plan.capath {
        v.push(format!("--capath {}", printable(d)));
    }
    if v.is_empty() || (plan.use_os_certs && plan.capath.is_none()) {
        v.push("the OS trust store".to_string());
    }
    v.join(" + ")
}

fn cert_names(c: &X509Ref) -> String {
    let mut names = Vec::new();
    if let Some(sans) = c.subject_alt_names() {
        for g in sans.iter() {
            if let Some(d) = g.dnsname() {
                names.push(format!("DNS:{}", printable(d)));
            } else if let Some(ip) = g.ipaddress() {
                let ip = match ip.len() {
                    4 => <[u8; 4]>::try_from(ip).map(IpAddr::from).ok(),
                    16 => <[u8; 16]>::try_from(ip).map(IpAddr::from).ok(),
                    _ => None,
                };
                if let Some(ip) = ip {
                    names.push(format!("IP:{ip}"));
                }
            }
        }
    }
    let cn: Vec<String> = c
        .subject_name()
        .entries_by_nid(openssl::nid::Nid::COMMONNAME)
        .filter_map(|e| e.data().to_string().ok().map(|s| printable(&s)))
        .collect();
    let mut out = if names.is_empty() {
        "no subjectAltName".to_string()
    } else {
        names.join(", ")
    };
    if !cn.is_empty() {
        out.push_str(&format!(" (CN={})", cn.join(", ")));
    }
    out
}

// X509_V_ERR_* values.
const V_NOT_YET_VALID: i32 = 9;
const V_EXPIRED: i32 = 10;
const V_HOSTNAME_MISMATCH: i32 = 62;
const V_EMAIL_MISMATCH: i32 = 63;
const V_IP_MISMATCH: i32 = 64;

pub(super) fn from_issues(h: &str, port: u16, plan: &TlsPlan, o: &Outcome) -> Option<Failure> {
    let code = |i: &Issue| i.error.as_raw();
    let untrusted = o.issues.iter().find(|i| {
        !matches!(
            code(i),
            V_NOT_YET_VALID | V_EXPIRED | V_HOSTNAME_MISMATCH | V_EMAIL_MISMATCH | V_IP_MISMATCH
        )
    });
    let leaf_desc = |c: &X509Ref| {
        format!(
            "Server certificate: subject {}; issuer {}.",
            name(c.subject_name()),
            name(c.issuer_name())
        )
    };
    if let Some(i) = untrusted {
        let leaf = o.leaf.as_deref().or(i.cert.as_deref());
        let mut f = Failure::new(
            SERVER_CERT_UNTRUSTED,
            format!(
                "Error: the certificate of {h} port {port} is not trusted by {} ({}).",
                trust_source(plan),
                i.error.error_string()
            ),
        );
        if let Some(c) = leaf {
            f = f.and(leaf_desc(c));
        }
        return Some(
            f.and("Give the CA that signed the broker's certificate with --cafile (or --capath)."),
        );
    }
    if let Some(i) = o
        .issues
        .iter()
        .find(|i| matches!(code(i), V_EXPIRED | V_NOT_YET_VALID))
    {
        let c = i.cert.as_deref().or(o.leaf.as_deref())?;
        let whose = if i.depth == 0 {
            "the broker's certificate".to_string()
        } else {
            format!(
                "the CA certificate {} in the broker's chain",
                name(c.subject_name())
            )
        };
        let now = Asn1Time::days_from_now(0)
            .map(|t| t.to_string())
            .unwrap_or_default();
        let main = if code(i) == V_EXPIRED {
            format!(
                "Error: {whose} expired on {} ({h} port {port}).",
                c.not_after()
            )
        } else {
            format!(
                "Error: {whose} is not yet valid: valid from {} ({h} port {port}).",
                c.not_before()
            )
        };
        return Some(
            Failure::new(SERVER_CERT_EXPIRED, main)
                .and(leaf_desc(c))
                .and(format!(
                    "This machine's time is {now}; the broker's admin must renew it."
                )),
        );
    }
    if o.issues.iter().any(|i| {
        matches!(
            code(i),
            V_HOSTNAME_MISMATCH | V_IP_MISMATCH | V_EMAIL_MISMATCH
        )
    }) {
        let names = o
            .leaf
            .as_deref()
            .map(cert_names)
            .unwrap_or_else(|| "unknown".into());
        let f = match &plan.server_name {
            None => Failure::new(
                HOSTNAME_MISMATCH,
                format!("Error: host name {h} does not match the certificate of {h} port {port}."),
            )
            .and(format!("The certificate is for: {names}."))
            .and("Connect with one of those names (-h); --insecure skips this check, for testing only."),
            Some(n) => Failure::new(
                HOSTNAME_MISMATCH,
                format!(
                    "Error: server name {} (--tls-server-name) does not match the certificate of {h} port {port}.",
                    printable(n)
                ),
            )
            .and(format!("The certificate is for: {names}."))
            .and("Give one of those names with --tls-server-name; --insecure skips this check, for testing only."),
        };
        return Some(f);
    }
    None
}

/// The broker refused our client certificate with TLS alert `an`: the message and the
/// certificate's facts.
fn client_cert_rejected(h: &str, port: u16, an: &str, plan: &TlsPlan) -> Failure {
    let f = Failure::new(
        CLIENT_CERT_REJECTED,
        format!("Error: {h} port {port} rejected the client certificate (TLS alert \"{an}\")."),
    );
    match client_cert_facts(plan) {
        Some(facts) => f.and(facts),
        None => f,
    }
}

fn client_cert_facts(plan: &TlsPlan) -> Option<String> {
    plan.identity.as_ref().map(|id| {
        format!(
            "Client certificate {}: subject {}; issuer {}.",
            id.source,
            name(id.chain[0].subject_name()),
            name(id.chain[0].issuer_name())
        )
    })
}

/// Classify an alert (or local SSL error) from the broker.
pub(super) fn from_handshake(
    h: &str,
    port: u16,
    addr: SocketAddr,
    plan: &TlsPlan,
    hs: &Handshake,
    saw_server_cert: bool,
) -> Failure {
    let alert = hs.alert();
    let has_cert = plan.identity.is_some();
    if let Some(a) = alert {
        let an = alert_name(a);
        match a {
            116 | 40 | 42 if !has_cert && (a == 116 || saw_server_cert) => {
                return Failure::new(
                    CLIENT_CERT_REQUIRED,
                    format!(
                        "Error: {h} port {port} requires a client certificate, and none was given."
                    ),
                )
                .and(format!("The broker sent the TLS alert \"{an}\"."))
                .and("Give one with --cert FILE --key FILE (or --pkcs12 FILE).");
            }
            42..=46 | 48 | 49 | 51 | 116 if has_cert => {
                return client_cert_rejected(h, port, an, plan).and(match a {
                    48 => "The broker does not trust its issuer: use a certificate from the broker's CA.",
                    45 => "The broker considers it expired: renew it.",
                    44 => "The broker says it was revoked: get a new one.",
                    _ => "Use a certificate the broker accepts (signed by the CA it trusts).",
                });
            }
            40 if has_cert && saw_server_cert => {
                return client_cert_rejected(h, port, an, plan);
            }
            70 | 71 | 40 | 120 => {
                return negotiation(h, port, addr, plan, &format!("TLS alert \"{an}\""));
            }
            _ => {
                let f = Failure::new(
                    TLS_FAILED,
                    format!(
                        "Error: the TLS handshake with {h} port {port} failed: the broker sent the alert \"{an}\"."
                    ),
                );
                // paho (like mosquitto) sends the host as the server name even when it is
                // an address, which RFC 6066 forbids and rustls-based brokers refuse.
                return if a == 50 && h.parse::<IpAddr>().is_ok() {
                    f.and(
                        "The host is an IP address, which paho sends as the TLS server name \
                         (SNI); some brokers (rustls-based ones) refuse that: connect by host name (-h).",
                    )
                } else {
                    f
                };
            }
        }
    }
    if hs.has(R_UNSUPPORTED_PROTOCOL)
        || hs.has(R_NO_PROTOCOLS_AVAILABLE)
        || hs.has(R_NO_CIPHERS_AVAILABLE)
        || hs.has(R_NO_SHARED_CIPHER)
    {
        let why = hs
            .reasons
            .first()
            .map(|(_, t)| t.clone())
            .unwrap_or_default();
        return negotiation(h, port, addr, plan, &why);
    }
    let not_tls = hs.has(R_WRONG_VERSION_NUMBER)
        || hs.has(R_PACKET_LENGTH_TOO_LONG)
        || hs.has(R_RECORD_LENGTH_MISMATCH)
        || hs.has(R_RECORD_LAYER_FAILURE);
    let closed = hs.has(R_UNEXPECTED_EOF) || (hs.reasons.is_empty() && !hs.timed_out);
    if (not_tls || closed) && !saw_server_cert {
        let mqtt = fresh(addr).is_some_and(|mut s| speaks_mqtt(&mut s));
        if mqtt || not_tls {
            let what = if mqtt {
                "plain MQTT"
            } else {
                "something that is not TLS"
            };
            return Failure::new(
                TLS_TO_PLAIN_PORT,
                format!("Error: {h} port {port} answered without TLS ({what})."),
            )
            .and("Use the broker's TLS port (often 8883), or drop the TLS options to connect without TLS.");
        }
        return Failure::new(
            TLS_FAILED,
            format!("Error: {h} port {port} closed the connection during the TLS handshake."),
        )
        .and("The port may not be a TLS listener, or the broker refused this client.");
    }
    if hs.timed_out {
        return Failure::new(
            TLS_FAILED,
            format!(
                "Error: {h} port {port} accepted the connection but the TLS handshake did not complete within {} s.",
                waited_secs()
            ),
        )
        .and(
            "The broker is hung or overloaded, or the port is not a TLS listener and waits \
             for the client. -k sets how long to wait (at most 30 s).",
        );
    }
    let why = hs
        .reasons
        .last()
        .map(|(_, t)| t.clone())
        .or_else(|| hs.io.clone())
        .unwrap_or_else(|| "unknown reason".into());
    Failure::new(
        TLS_FAILED,
        format!("Error: the TLS handshake with {h} port {port} failed ({why})."),
    )
}

/// Version / cipher / ALPN negotiation failed: say what was offered and what the broker
/// picks when offered everything.
fn negotiation(h: &str, port: u16, addr: SocketAddr, plan: &TlsPlan, why: &str) -> Failure {
    let mut offered = format!("TLS {}", versions(plan));
    if let Some(c) = &plan.ciphers {
        offered.push_str(&format!(", ciphers {} (TLS 1.2 and below)", printable(c)));
    }
    if let Some(a) = &plan.alpn {
        offered.push_str(&format!(", ALPN {}", printable(a)));
    }
    let what = if why.contains("application protocol") {
        "the ALPN protocol"
    } else if why.contains("protocol version") || why.contains("unsupported protocol") {
        "the TLS versions"
    } else if plan.ciphers.is_some() {
        "the ciphers"
    } else {
        "the TLS versions/ciphers"
    };
    let mut f = Failure::new(
        TLS_NEGOTIATION,
        format!("Error: {h} port {port} refused {what} offered ({why})."),
    )
    .and(format!("Offered: {offered}."));
    // What does the broker pick without the cipher list, or else without the versions?
    let tries = if plan.ciphers.is_some() || plan.alpn.is_some() {
        [
            (true, false, "no --ciphers/--tls-alpn"),
            (false, false, "no limits"),
        ]
    } else {
        [
            (false, true, "any TLS version"),
            (false, false, "no limits"),
        ]
    };
    for (versions, ciphers, label) in tries {
        let s = Settings {
            plan: Some(plan),
            versions,
            ciphers,
            check_host: false,
        };
        let Some(tcp) = fresh(addr) else { break };
        if let Ok(Outcome {
            result: Ok(stream), ..
        }) = handshake(h, tcp, &s)
        {
            let ssl = stream.ssl();
            let cipher = ssl.current_cipher().map(|c| c.name()).unwrap_or("?");
            f = f.and(format!(
                "With {label} the broker negotiates {} with {cipher}.",
                ssl.version_str()
            ));
            break;
        }
    }
    if plan.alpn.is_some() && why.contains("application protocol") {
        f = f.and("Check --tls-alpn: the broker does not accept that protocol name.");
    } else {
        f = f.and(
            "Adjust --tls-version / --tls-max-version / --ciphers to what the broker supports.",
        );
    }
    f
}
