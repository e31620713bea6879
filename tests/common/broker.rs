//! A real mosquitto broker for tests, on free loopback ports, plus an `openssl s_server` helper.
//!
//! ```ignore
//! let broker = Broker::start();                  // all listeners, see LISTENERS
//! let port = broker.port("mtls");
//! let args = broker.client_args("mtls");         // -h 127.0.0.1 -p PORT --cafile … --cert … --key …
//! let b = Broker::builder().config("max_keepalive 10").start();
//! ```
//!
//! Listeners (all on 127.0.0.1, anonymous allowed except `auth`):
//!
//! | name            | what                                                                   |
//! |-----------------|------------------------------------------------------------------------|
//! | `plain`         | plain MQTT                                                             |
//! | `tls`           | TLS, good server cert (`pki.server_cert`), cafile = CA                  |
//! | `mtls`          | like `tls` + `require_certificate true` (client certs from the CA)     |
//! | `tls13`         | like `tls` + `tls_version tlsv1.3` (TLS 1.3 only)                      |
//! | `auth`          | like `tls`, password file with [`AUTH_USER`]/[`AUTH_PASSWORD`], no anonymous |
//! | `wrong_host`    | TLS with `pki.server_wrong_host_cert` (SAN only wrong.example)        |
//! | `expired`       | TLS with `pki.server_expired_cert`                                     |
//! | `not_yet_valid` | TLS with `pki.server_not_yet_valid_cert`                               |
//! | `untrusted_ca`  | TLS with `pki.server_untrusted_cert` (signed by the untrusted CA)      |
//! | `expiring_soon` | TLS with `pki.server_expiring_cert` (valid, expires in 10 days)        |
//! | `cn_only`       | TLS with `pki.server_cn_only_cert` (CN=localhost, no SAN)              |
//! | `tls12only`     | like `tls` but TLS 1.2 at most (see below)                             |
//! | `psk`           | TLS-PSK only (`psk_hint`, `psk_file`: [`PSK_IDENTITY`]/[`PSK_KEY`], [`PSK_ZEROS_IDENTITY`]/[`PSK_ZEROS_KEY`]), no certificate |
//! | `psk12only`     | like `psk`, TLS 1.2 at most, in the `tls12only` process                 |
//!
//! mosquitto's `tls_version` only sets a *minimum*, so `tls12only` (and `psk12only`) is served by a second
//! mosquitto process started with `OPENSSL_CONF` pointing at a config with
//! `MaxProtocol = TLSv1.2`. It is a separate broker: messages do not cross between it and the
//! other listeners. It has no persistence. Disable it with `.tls12only(false)`.
//! [`TlsServer`] gives a raw `openssl s_server` endpoint for handshake-only tests.
//!
//! Running as root: mosquitto would drop privileges to user `mosquitto`, which may not read the
//! temp files, so the config gets `user root` when the euid is 0 (no effect otherwise).

use super::pki::{Pki, pki};
use super::{
    LOOPBACK, TempDir, die_with_parent, forget_pid, free_port, free_ports, is_root, kill_and_reap,
    kill_at_exit, port_accepts, remove_at_exit, send_signal, wait_until,
};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Every listener name, in config order.
pub const LISTENERS: &[&str] = &[
    "plain",
    "tls",
    "mtls",
    "tls13",
    "auth",
    "wrong_host",
    "expired",
    "not_yet_valid",
    "untrusted_ca",
    "expiring_soon",
    "cn_only",
    "tls12only",
    "psk",
    "psk12only",
];

/// Listeners served by the second (TLS ≤ 1.2) process.
const TLS12_PROCESS: &[&str] = &["tls12only", "psk12only"];

/// The identities and hexadecimal keys in the `psk`/`psk12only` listeners' `psk_file`.
pub const PSK_IDENTITY: &str = "mqtts-psk";
pub const PSK_KEY: &str = "6d717474732d70736b2d6b6579";
/// A key with leading zero bytes (mosquitto reads `00` pairs as zero bytes).
pub const PSK_ZEROS_IDENTITY: &str = "mqtts-zeros";
pub const PSK_ZEROS_KEY: &str = "0000c0ffee";

/// Credentials accepted by the `auth` listener.
pub const AUTH_USER: &str = "mqtts-user";
pub const AUTH_PASSWORD: &str = "mqtts-secret";

/// How long to wait for ports to accept / processes to stop.
const READY_TIMEOUT: Duration = Duration::from_secs(5);
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Options for [`Broker`]; create with [`Broker::builder`].
#[derive(Debug, Clone)]
pub struct BrokerBuilder {
    global: Vec<String>,
    per_listener: Vec<(String, String)>,
    tls12only: bool,
}

impl BrokerBuilder {
    /// Adds a global config line (e.g. `max_keepalive 10`, `persistent_client_expiration 1h`).
    pub fn config(mut self, line: impl Into<String>) -> Self {
        self.global.push(line.into());
        self
    }

    /// Adds a config line to the block of one listener (e.g. `("mtls", "use_identity_as_username
    /// true")`). Panics at start if the listener name is unknown.
    pub fn listener_config(mut self, listener: &str, line: impl Into<String>) -> Self {
        self.per_listener.push((listener.to_string(), line.into()));
        self
    }

    /// Whether to run the second broker process for the `tls12only` listener (default true).
    pub fn tls12only(mut self, on: bool) -> Self {
        self.tls12only = on;
        self
    }

    pub fn start(self) -> Broker {
        Broker::start_with(self)
    }
}

/// One mosquitto process.
#[derive(Debug)]
struct Instance {
    label: &'static str,
    conf: PathBuf,
    log: PathBuf,
    stderr: PathBuf,
    openssl_conf: Option<PathBuf>,
    ports: Vec<u16>,
    child: Option<Child>,
}

impl Instance {
    fn spawn(&mut self) {
        assert!(self.child.is_none(), "{} already running", self.label);
        let out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.stderr)
            .expect("open broker stderr file");
        let mut cmd = Command::new("mosquitto");
        cmd.arg("-c")
            .arg(&self.conf)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("dup"))
            .stderr(out);
        if let Some(c) = &self.openssl_conf {
            cmd.env("OPENSSL_CONF", c);
        }
        die_with_parent(&mut cmd);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run mosquitto (is it installed?): {e}"));
        kill_at_exit(child.id());
        self.child = Some(child);
    }

    /// How many "mosquitto version … running" lines the log file holds (one per start; the
    /// line is logged after every listener is bound).
    fn running_count(&self) -> usize {
        std::fs::read(&self.log)
            .map(|b| {
                String::from_utf8_lossy(&b)
                    .lines()
                    .filter(|l| l.contains(": mosquitto version ") && l.ends_with(" running"))
                    .count()
            })
            .unwrap_or(0)
    }

    /// Waits until this process has logged "running" (all listeners bound, by *this* process,
    /// not by some other process that happens to hold one of the ports) more often than
    /// `running_before`, and every port accepts TCP. Err(reason) if it exited or on timeout.
    fn wait_ready(&mut self, running_before: usize) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut running = false;
        let mut pending = self.ports.clone();
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                forget_pid(child.id());
                self.child = None;
                return Err(format!("{} mosquitto exited early: {status}", self.label));
            }
            running = running || self.running_count() > running_before;
            if running {
                pending.retain(|p| !port_accepts(*p));
                if pending.is_empty() {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} mosquitto: not ready after {READY_TIMEOUT:?} (logged running: {running}, \
                     ports not accepting: {pending:?})",
                    self.label
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Signals the process and waits for it; SIGKILL if it outlives `STOP_TIMEOUT`.
    fn stop_with(&mut self, sig: i32) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = child.id();
        send_signal(pid, sig);
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
            }
        }
        forget_pid(pid);
    }

    fn read_log(&self) -> String {
        let mut s = String::new();
        for (what, p) in [("log", &self.log), ("stdout/stderr", &self.stderr)] {
            let text = std::fs::read(p)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            s.push_str(&format!(
                "==== {} mosquitto {what} ====\n{text}",
                self.label
            ));
            if !text.ends_with('\n') {
                s.push('\n');
            }
        }
        s
    }
}

/// A running mosquitto broker (plus the `tls12only` companion process). Killed on drop.
#[derive(Debug)]
pub struct Broker {
    dir: TempDir,
    ports: BTreeMap<&'static str, u16>,
    main: Instance,
    tls12: Option<Instance>,
}

fn tls_block(
    out: &mut String,
    cert: &Path,
    key: &Path,
    ca: &Path,
    extra: &[&str],
    anonymous: bool,
) {
    out.push_str(&format!(
        "certfile {}\nkeyfile {}\ncafile {}\nallow_anonymous {anonymous}\n",
        cert.display(),
        key.display(),
        ca.display()
    ));
    for l in extra {
        out.push_str(l);
        out.push('\n');
    }
}

impl Broker {
    /// Starts a broker with every listener in [`LISTENERS`] and default options.
    pub fn start() -> Broker {
        Broker::builder().start()
    }

    pub fn builder() -> BrokerBuilder {
        BrokerBuilder {
            global: Vec::new(),
            per_listener: Vec::new(),
            tls12only: true,
        }
    }

    fn start_with(opts: BrokerBuilder) -> Broker {
        for (l, _) in &opts.per_listener {
            assert!(
                LISTENERS.contains(&l.as_str()),
                "unknown listener {l:?}; known: {LISTENERS:?}"
            );
        }
        let pki = pki();
        let dir = TempDir::new("broker");
        let passwd = dir.join("passwd");
        let status = Command::new("mosquitto_passwd")
            .args(["-b", "-c"])
            .arg(&passwd)
            .args([AUTH_USER, AUTH_PASSWORD])
            .stdin(Stdio::null())
            .output()
            .expect("run mosquitto_passwd");
        assert!(
            status.status.success(),
            "mosquitto_passwd failed: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        std::fs::create_dir(dir.join("data")).expect("mkdir data");
        let ossl = dir.join("openssl-tls12max.cnf");
        std::fs::write(
            &ossl,
            "openssl_conf = mqtts_conf\n[mqtts_conf]\nssl_conf = mqtts_ssl\n\
             [mqtts_ssl]\nsystem_default = mqtts_tls\n[mqtts_tls]\nMaxProtocol = TLSv1.2\n",
        )
        .expect("write openssl conf");

        let mut last_err = String::new();
        for attempt in 0..5 {
            let names: Vec<&'static str> = LISTENERS
                .iter()
                .copied()
                .filter(|n| opts.tls12only || !TLS12_PROCESS.contains(n))
                .collect();
            let ports: BTreeMap<&'static str, u16> =
                names.iter().copied().zip(free_ports(names.len())).collect();
            let (main_conf, tls12_conf) = Self::write_configs(&dir, pki, &opts, &ports, &passwd);
            let mut main = Instance {
                label: "main",
                conf: main_conf,
                log: dir.join("mosquitto.log"),
                stderr: dir.join("mosquitto.stderr"),
                openssl_conf: None,
                ports: ports
                    .iter()
                    .filter(|(n, _)| !TLS12_PROCESS.contains(n))
                    .map(|(_, p)| *p)
                    .collect(),
                child: None,
            };
            let mut tls12 = tls12_conf.map(|conf| Instance {
                label: "tls12only",
                conf,
                log: dir.join("tls12only.log"),
                stderr: dir.join("tls12only.stderr"),
                openssl_conf: Some(ossl.clone()),
                ports: TLS12_PROCESS.iter().map(|n| ports[n]).collect(),
                child: None,
            });
            main.spawn();
            if let Some(t) = tls12.as_mut() {
                t.spawn();
            }
            let mut result = main.wait_ready(0);
            if let (Ok(()), Some(t)) = (&result, tls12.as_mut()) {
                result = t.wait_ready(0);
            }
            let err = match result {
                Ok(()) => {
                    return Broker {
                        dir,
                        ports,
                        main,
                        tls12,
                    };
                }
                Err(e) => e,
            };
            let mut log = main.read_log();
            main.stop_with(libc::SIGKILL);
            if let Some(mut t) = tls12 {
                log.push_str(&t.read_log());
                t.stop_with(libc::SIGKILL);
            }
            last_err = format!("{err}\n{log}");
            if !log.contains("Address already in use") || attempt == 4 {
                break;
            }
            // A port was taken between picking and binding: start over with new ports.
            for f in [
                "mosquitto.log",
                "mosquitto.stderr",
                "tls12only.log",
                "tls12only.stderr",
            ] {
                let _ = std::fs::remove_file(dir.join(f));
            }
        }
        panic!("mosquitto did not start: {last_err}");
    }

    fn write_configs(
        dir: &TempDir,
        pki: &Pki,
        opts: &BrokerBuilder,
        ports: &BTreeMap<&'static str, u16>,
        passwd: &Path,
    ) -> (PathBuf, Option<PathBuf>) {
        let psk_file = dir.join("psk");
        std::fs::write(
            &psk_file,
            format!("{PSK_IDENTITY}:{PSK_KEY}\n{PSK_ZEROS_IDENTITY}:{PSK_ZEROS_KEY}\n"),
        )
        .expect("write psk_file");
        let psk_block = |out: &mut String, extra: &[&str]| {
            out.push_str(&format!(
                "psk_hint mqtts-test\npsk_file {}\nallow_anonymous true\n",
                psk_file.display()
            ));
            for l in extra {
                out.push_str(l);
                out.push('\n');
            }
        };
        let extra = |name: &str| -> Vec<&str> {
            opts.per_listener
                .iter()
                .filter(|(l, _)| l == name)
                .map(|(_, line)| line.as_str())
                .collect()
        };
        let user = if is_root() { "user root\n" } else { "" };
        let mut c = format!(
            "# generated by the mqtts test harness\n\
             per_listener_settings true\n\
             {user}\
             log_dest file {log}\n\
             log_type all\n\
             log_timestamp true\n\
             connection_messages true\n\
             persistence true\n\
             persistence_location {data}/\n\
             persistence_file mosquitto.db\n",
            log = dir.join("mosquitto.log").display(),
            data = dir.join("data").display(),
        );
        for l in &opts.global {
            c.push_str(l);
            c.push('\n');
        }
        let ca = pki.ca.as_path();
        let key = pki.server_key.as_path();
        for (name, port) in ports {
            if TLS12_PROCESS.contains(name) {
                continue;
            }
            c.push_str(&format!("\n# {name}\nlistener {port} {LOOPBACK}\n"));
            let mut ex = extra(name);
            let cert = match *name {
                "psk" => {
                    psk_block(&mut c, &ex);
                    continue;
                }
                "plain" => {
                    c.push_str("allow_anonymous true\n");
                    for l in ex {
                        c.push_str(l);
                        c.push('\n');
                    }
                    continue;
                }
                "wrong_host" => &pki.server_wrong_host_cert,
                "expired" => &pki.server_expired_cert,
                "not_yet_valid" => &pki.server_not_yet_valid_cert,
                "untrusted_ca" => &pki.server_untrusted_cert,
                "expiring_soon" => &pki.server_expiring_cert,
                "cn_only" => &pki.server_cn_only_cert,
                _ => &pki.server_cert,
            };
            let password_line = format!("password_file {}", passwd.display());
            match *name {
                "mtls" => ex.insert(0, "require_certificate true"),
                "tls13" => ex.insert(0, "tls_version tlsv1.3"),
                "auth" => ex.insert(0, &password_line),
                _ => {}
            }
            tls_block(&mut c, cert, key, ca, &ex, *name != "auth");
        }
        let main_conf = dir.join("mosquitto.conf");
        std::fs::write(&main_conf, c).expect("write mosquitto.conf");

        let tls12_conf = ports.get("tls12only").map(|port| {
            let mut t = format!(
                "# generated by the mqtts test harness (TLS <= 1.2 via OPENSSL_CONF)\n\
                 per_listener_settings true\n\
                 {user}\
                 log_dest file {log}\n\
                 log_type all\n\
                 log_timestamp true\n\
                 connection_messages true\n",
                log = dir.join("tls12only.log").display(),
            );
            for l in &opts.global {
                t.push_str(l);
                t.push('\n');
            }
            t.push_str(&format!("\n# tls12only\nlistener {port} {LOOPBACK}\n"));
            tls_block(&mut t, &pki.server_cert, key, ca, &extra("tls12only"), true);
            if let Some(port) = ports.get("psk12only") {
                t.push_str(&format!("\n# psk12only\nlistener {port} {LOOPBACK}\n"));
                psk_block(&mut t, &extra("psk12only"));
            }
            let p = dir.join("tls12only.conf");
            std::fs::write(&p, t).expect("write tls12only.conf");
            p
        });
        (main_conf, tls12_conf)
    }

    /// One broker per test process, started on first use and killed (its dir removed) at
    /// process exit. Cheaper than a broker per test; use unique topics ([`super::unique_topic`])
    /// and `-i` with `start_subscriber`, and a private broker for stop/restart or anything that
    /// changes broker state other tests could see.
    pub fn shared() -> &'static Broker {
        static SHARED: OnceLock<Broker> = OnceLock::new();
        SHARED.get_or_init(|| {
            // Started from a thread that never exits, so PR_SET_PDEATHSIG (tied to the spawning
            // thread) doesn't kill it when the first test using it ends.
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::Builder::new()
                .name("shared-broker".into())
                .spawn(move || {
                    let broker = Broker::start();
                    remove_at_exit(broker.dir());
                    let _ = tx.send(broker);
                    loop {
                        std::thread::park();
                    }
                })
                .expect("spawn shared-broker thread");
            rx.recv()
                .expect("shared broker failed to start (see the panic above)")
        })
    }

    /// Port of a listener by name (see [`LISTENERS`]). Panics on an unknown name.
    pub fn port(&self, listener: &str) -> u16 {
        *self.ports.get(listener).unwrap_or_else(|| {
            panic!(
                "no listener {listener:?}; this broker has {:?}",
                self.ports.keys()
            )
        })
    }

    /// All listener ports by name.
    pub fn ports(&self) -> &BTreeMap<&'static str, u16> {
        &self.ports
    }

    /// The host every listener is bound to ("127.0.0.1"; the server cert has it as IP SAN).
    pub fn host(&self) -> &'static str {
        LOOPBACK
    }

    /// Options for mosquitto_pub/sub (and ours) that connect successfully to `listener`:
    /// `-h 127.0.0.1 -p PORT`, plus `--cafile CA` for TLS listeners, the RSA client cert/key for
    /// `mtls`, `-u/-P` for `auth`, and `--psk`/`--psk-identity` (no `--cafile`) for `psk` and
    /// `psk12only`. For the bad-cert listeners the result is expected to fail.
    pub fn client_args(&self, listener: &str) -> Vec<String> {
        let pki = pki();
        let s = |p: &Path| p.display().to_string();
        let mut a = vec![
            "-h".to_string(),
            self.host().to_string(),
            "-p".to_string(),
            self.port(listener).to_string(),
        ];
        if listener == "psk" || listener == "psk12only" {
            a.extend([
                "--psk".to_string(),
                PSK_KEY.to_string(),
                "--psk-identity".to_string(),
                PSK_IDENTITY.to_string(),
            ]);
        } else if listener != "plain" {
            a.extend(["--cafile".to_string(), s(&pki.ca)]);
        }
        if listener == "mtls" {
            a.extend([
                "--cert".to_string(),
                s(&pki.client_rsa_cert),
                "--key".to_string(),
                s(&pki.client_rsa_key),
            ]);
        }
        if listener == "auth" {
            a.extend([
                "-u".to_string(),
                AUTH_USER.to_string(),
                "-P".to_string(),
                AUTH_PASSWORD.to_string(),
            ]);
        }
        a
    }

    /// The broker's temp dir (configs, logs, persistence in `data/`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Path of the main broker's config file.
    pub fn config_path(&self) -> &Path {
        &self.main.conf
    }

    /// Everything the broker processes logged (log files and stdout/stderr), for debugging.
    pub fn log(&self) -> String {
        let mut s = self.main.read_log();
        if let Some(t) = &self.tls12 {
            s.push_str(&t.read_log());
        }
        s
    }

    /// The main broker's log file only (all listeners except `tls12only`).
    pub fn main_log(&self) -> String {
        std::fs::read(&self.main.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// How many times `needle` occurs in the broker log files so far (main and `tls12only`).
    pub fn log_count(&self, needle: &str) -> usize {
        [Some(&self.main), self.tls12.as_ref()]
            .into_iter()
            .flatten()
            .map(|i| {
                std::fs::read(&i.log)
                    .map(|b| String::from_utf8_lossy(&b).matches(needle).count())
                    .unwrap_or(0)
            })
            .sum()
    }

    /// Waits (≤ `timeout`) until `needle` occurs at least `count` times in the log files.
    pub fn wait_for_log_count(&self, needle: &str, count: usize, timeout: Duration) -> bool {
        wait_until(timeout, || self.log_count(needle) >= count)
    }

    /// Process ids of the running mosquitto processes (main first).
    pub fn pids(&self) -> Vec<u32> {
        [Some(&self.main), self.tls12.as_ref()]
            .into_iter()
            .flatten()
            .filter_map(|i| i.child.as_ref().map(|c| c.id()))
            .collect()
    }

    pub fn is_running(&self) -> bool {
        self.main.child.is_some()
    }

    /// Clean shutdown (SIGTERM, wait ≤ 5 s, then SIGKILL): the main broker writes its
    /// persistence database, so queued messages of persistent sessions survive a `restart`.
    pub fn stop(&mut self) {
        self.main.stop_with(libc::SIGTERM);
        if let Some(t) = self.tls12.as_mut() {
            t.stop_with(libc::SIGTERM);
        }
    }

    /// Crash: SIGKILL both processes (nothing is saved).
    pub fn kill(&mut self) {
        self.main.stop_with(libc::SIGKILL);
        if let Some(t) = self.tls12.as_mut() {
            t.stop_with(libc::SIGKILL);
        }
    }

    /// Stops (cleanly) if running, then starts again with the same config, ports and
    /// persistence database; waits until every port accepts.
    pub fn restart(&mut self) {
        self.stop();
        let main_before = self.main.running_count();
        let tls12_before = self.tls12.as_ref().map_or(0, |t| t.running_count());
        self.main.spawn();
        if let Some(t) = self.tls12.as_mut() {
            t.spawn();
        }
        let mut result = self.main.wait_ready(main_before);
        if let (Ok(()), Some(t)) = (&result, self.tls12.as_mut()) {
            result = t.wait_ready(tls12_before);
        }
        if let Err(e) = result {
            let log = self.log();
            self.kill();
            panic!("mosquitto did not restart: {e}\n{log}");
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An `openssl s_server` endpoint on a free loopback port (handshake-level tests, e.g. a server
/// that only speaks TLS 1.2). It does not speak MQTT. Killed on drop.
#[derive(Debug)]
pub struct TlsServer {
    dir: TempDir,
    port: u16,
    child: Option<Child>,
    // Held open: s_server reads stdin in its default mode and would quit on EOF.
    _stdin: Option<ChildStdin>,
}

impl TlsServer {
    /// `openssl s_server -accept 127.0.0.1:PORT -cert CERT -key KEY <extra…>`; returns once it
    /// printed `ACCEPT` and the port accepts (retries on another port if the bind fails).
    pub fn start(cert: &Path, key: &Path, extra: &[&str]) -> TlsServer {
        let mut last = String::new();
        for _attempt in 0..5 {
            let dir = TempDir::new("s_server");
            let port = free_port();
            let out = File::create(dir.join("output")).expect("create s_server output");
            let mut cmd = Command::new("openssl");
            cmd.arg("s_server")
                .arg("-accept")
                .arg(format!("{LOOPBACK}:{port}"))
                .arg("-cert")
                .arg(cert)
                .arg("-key")
                .arg(key)
                .args(extra)
                .stdin(Stdio::piped())
                .stdout(out.try_clone().expect("dup"))
                .stderr(out);
            die_with_parent(&mut cmd);
            let mut child = cmd.spawn().expect("run openssl s_server");
            kill_at_exit(child.id());
            let stdin = child.stdin.take();
            let mut server = TlsServer {
                dir,
                port,
                child: Some(child),
                _stdin: stdin,
            };
            let mut exited = false;
            let ready = wait_until(READY_TIMEOUT, || {
                if let Some(Ok(Some(_))) = server.child.as_mut().map(|c| c.try_wait()) {
                    exited = true;
                    return true;
                }
                server.output().contains("ACCEPT\n") && port_accepts(port)
            });
            if ready && !exited {
                return server;
            }
            last = server.output();
            if !last.contains("Address already in use") {
                break;
            }
        }
        panic!("openssl s_server did not start:\n{last}");
    }

    /// A TLS-1.2-only endpoint (`-tls1_2`) with the good server certificate.
    pub fn tls12_only() -> TlsServer {
        let pki = pki();
        TlsServer::start(&pki.server_cert, &pki.server_key, &["-tls1_2"])
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// What s_server printed so far (stdout and stderr).
    pub fn output(&self) -> String {
        std::fs::read(self.dir.join("output"))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        kill_and_reap(self.child.take());
    }
}
