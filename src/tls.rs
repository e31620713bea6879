//! TLS: mapping mosquitto's TLS flags onto paho, checking files before connecting, and
//! naming the cause of every TLS failure.
//!
//! Interface used by the connection code (keep these signatures):
//! - [`plan`] decides whether the connection is TLS (mosquitto 2.0's rules plus "any TLS
//!   option means TLS or an error") and checks the files before connecting;
//! - [`TlsPlan::ssl_options`] builds paho's options (host name verification on unless
//!   `--insecure`);
//! - [`diagnose`] names the cause after paho reports a connect failure.

use crate::exit::Failure;
use crate::options::Options;

/// A decided TLS configuration for one connection.
#[derive(Debug, Clone)]
pub struct TlsPlan {
    pub cafile: Option<String>,
    pub capath: Option<String>,
    pub cert: Option<String>,
    pub key: Option<String>,
    pub insecure: bool,
    /// Warnings to print on stderr before connecting (expiry, --insecure, …).
    pub warnings: Vec<String>,
}

/// Decide TLS for `opts` connecting to the effective `port`; `Ok(None)` = plain MQTT.
pub fn plan(opts: &Options, port: u16) -> Result<Option<TlsPlan>, Failure> {
    let t = &opts.tls;
    let on = t.cafile.is_some()
        || t.capath.is_some()
        || t.use_os_certs
        || opts.url_tls
        || (port == 8883 && !opts.unix_socket);
    if !on {
        return Ok(None);
    }
    Ok(Some(TlsPlan {
        cafile: t.cafile.clone(),
        capath: t.capath.clone(),
        cert: t.cert.clone(),
        key: t.key.clone(),
        insecure: t.insecure,
        warnings: Vec::new(),
    }))
}

/// Run once, before the first paho client is created (process-wide OpenSSL settings).
pub fn configure_process(_plan: &TlsPlan) {}

impl TlsPlan {
    /// paho's SSL options for this plan.
    pub fn ssl_options(&self) -> Result<paho_mqtt::SslOptions, Failure> {
        let mut b = paho_mqtt::SslOptionsBuilder::new();
        let bad = |e: paho_mqtt::Error| Failure::new(crate::exit::GENERAL, format!("Error: {e}"));
        if let Some(f) = &self.cafile {
            b.trust_store(f).map_err(bad)?;
        }
        if let Some(d) = &self.capath {
            b.ca_path(d).map_err(bad)?;
        }
        if let Some(f) = &self.cert {
            b.key_store(f).map_err(bad)?;
        }
        if let Some(f) = &self.key {
            b.private_key(f).map_err(bad)?;
        }
        b.enable_server_cert_auth(true);
        b.verify(!self.insecure);
        Ok(b.finalize())
    }
}

/// After paho failed to connect to `host:port`: find and name the cause.
/// `tls` is None for a plain MQTT connection.
pub fn diagnose(host: &str, port: u16, tls: Option<&TlsPlan>) -> Failure {
    let _ = tls;
    Failure::new(
        crate::exit::GENERAL,
        format!("Error: could not connect to {host} port {port}"),
    )
}
