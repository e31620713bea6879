//! Shared test harness for the mqtts integration tests.
//!
//! * [`pki`]: a throwaway PKI (CA, server/client certificates, good and bad), generated once per
//!   test process with the `openssl` crate: `common::pki()`.
//! * [`broker`]: a real `mosquitto` broker on free loopback ports with named listeners
//!   (`Broker::start()`, `broker.port("mtls")`), plus an `openssl s_server` endpoint helper.
//! * [`rumqttd`]: a real rumqttd broker with MQTT-over-WebSocket listeners (ws, wss) for the
//!   `--ws` tests: `Rumqttd::start()`, `r.ws`, `r.client_cert`.
//! * [`oracle`]: running mosquitto_pub/sub and our binaries with a hard timeout, background
//!   subscribers, and the output normalisers for comparing against mosquitto 2.0.11.
//!
//! ```ignore
//! mod common;
//! use common::*;
//!
//! let broker = Broker::start();                       // or Broker::shared(), Broker::builder()
//! let conn = broker.client_args("mtls");              // -h 127.0.0.1 -p … --cafile … --cert … --key …
//! let topic = unique_topic("t");
//! let sub = start_subscriber(&broker, Prog::OursSub, [conn.clone(), strs(&["-t", &topic, "-C", "1"])].concat());
//! mosquitto_pub([conn, strs(&["-t", &topic, "-m", "hi"])].concat()).assert_success();
//! assert_eq!(sub.wait(std::time::Duration::from_secs(5)).stdout, b"hi\n");
//! let p = pki();                                      // p.ca, p.client_ec_cert, p.server_expired_cert, …
//! ```
//!
//! Integration test files use it with `mod common;`. Every child process the harness starts is
//! killed when its owner is dropped (also during a panic unwind), is registered for killing at
//! process exit in case its owner never is dropped (statics), and gets `PR_SET_PDEATHSIG` so it
//! dies with the test process even when that process is killed.
#![allow(dead_code)]
#![allow(unused_imports)]

pub mod broker;
pub mod denying;
pub mod oracle;
pub mod pki;
pub mod rumqttd;

pub use broker::{AUTH_PASSWORD, AUTH_USER, Broker, BrokerBuilder, LISTENERS, TlsServer};
pub use denying::denying_server;
pub use oracle::{
    Background, Prog, Run, RunOutput, help_line_to_mosquitto, help_line_to_ours, mosquitto_pub,
    mosquitto_rr, mosquitto_sub, normalise_2011, normalise_auto_id, normalise_trace, ours_pub,
    ours_rr, ours_sub, run, start_subscriber, start_subscriber_with, strs,
};
pub use pki::{KEY_PASSWORD, P12_PASSWORD, Pki, pki};
pub use rumqttd::Rumqttd;

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The loopback address every listener and endpoint of the harness binds to.
pub const LOOPBACK: &str = "127.0.0.1";

/// A directory under the system temp dir, removed (recursively) on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates a fresh, empty directory named `mqtts-<label>-<pid>-<n>-<nanos>`.
    /// The first call in a process also removes such directories left behind by test
    /// processes that no longer exist (killed before they could clean up).
    pub fn new(label: &str) -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        static SWEEP: Once = Once::new();
        SWEEP.call_once(remove_stale_temp_dirs);
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let path = std::env::temp_dir()
                .join(format!("mqtts-{label}-{}-{n}-{nanos}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => return TempDir { path },
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => panic!("cannot create temp dir {}: {e}", path.display()),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.path.join(rel)
    }
}

/// Removes `mqtts-*-<pid>-<n>-<nanos>` dirs in the temp dir whose `<pid>` is not running.
fn remove_stale_temp_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with("mqtts-") {
            continue;
        }
        let parts: Vec<&str> = name.rsplitn(4, '-').collect();
        if parts.len() != 4 || !parts[..3].iter().all(|p| p.parse::<u64>().is_ok()) {
            continue;
        }
        let pid = parts[2];
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Things to clean up when the test process exits normally (for owners that are never dropped,
/// e.g. values in a `static`).
struct ExitCleanup {
    dirs: Vec<PathBuf>,
    pids: Vec<i32>,
}

static EXIT_CLEANUP: Mutex<ExitCleanup> = Mutex::new(ExitCleanup {
    dirs: Vec::new(),
    pids: Vec::new(),
});

extern "C" fn run_exit_cleanup() {
    let mut c = match EXIT_CLEANUP.lock() {
        Ok(c) => c,
        Err(poisoned) => poisoned.into_inner(),
    };
    for pid in c.pids.drain(..) {
        // SAFETY: plain syscalls on a pid this process spawned and has not reaped yet.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
    }
    for dir in c.dirs.drain(..) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn with_exit_cleanup(f: impl FnOnce(&mut ExitCleanup)) {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // SAFETY: registering a plain extern "C" function with no captured state.
        unsafe {
            libc::atexit(run_exit_cleanup);
        }
    });
    let mut c = match EXIT_CLEANUP.lock() {
        Ok(c) => c,
        Err(poisoned) => poisoned.into_inner(),
    };
    f(&mut c);
}

/// Removes `dir` when the test process exits (used for the process-wide PKI).
pub fn remove_at_exit(dir: &Path) {
    let dir = dir.to_path_buf();
    with_exit_cleanup(|c| c.dirs.push(dir));
}

/// Kills `pid` when the test process exits, unless [`forget_pid`] was called first.
pub fn kill_at_exit(pid: u32) {
    with_exit_cleanup(|c| c.pids.push(pid as i32));
}

/// Undoes [`kill_at_exit`] (call once the child has been waited for).
pub fn forget_pid(pid: u32) {
    with_exit_cleanup(|c| c.pids.retain(|p| *p != pid as i32));
}

/// Kills and reaps `child` if there is one (the drop of a server or a background run).
pub fn kill_and_reap(child: Option<std::process::Child>) {
    if let Some(mut c) = child {
        let _ = c.kill();
        let _ = c.wait();
        forget_pid(c.id());
    }
}

/// Makes a spawned child die with SIGKILL when the thread that spawned it exits (on Linux the
/// "parent" of `PR_SET_PDEATHSIG` is the spawning thread). Test threads live as long as the test,
/// so a child started by a test cannot outlive the test process even if it is SIGKILLed.
pub fn die_with_parent(cmd: &mut Command) -> &mut Command {
    // SAFETY: the closure only calls async-signal-safe prctl between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        })
    }
}

/// Sends `sig` to `pid` (no-op if it is gone).
pub fn send_signal(pid: u32, sig: i32) {
    // SAFETY: plain syscall.
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

/// Whether this process runs as root (mosquitto then needs `user root` to read our temp files).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `n` distinct currently free TCP ports on 127.0.0.1. They are held open together while
/// picking (so they are distinct), then released; a port is never handed out twice in one test
/// process, so concurrently starting brokers can't pick the same port. (Another process may
/// still grab one before it is bound: the broker start detects that and retries.)
pub fn free_ports(n: usize) -> Vec<u16> {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|p| p.into_inner());
    let mut holders = Vec::new();
    let mut ports = Vec::new();
    while ports.len() < n {
        assert!(holders.len() < n + 1000, "cannot find {n} free ports");
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
        let port = l.local_addr().expect("local_addr").port();
        if handed_out.insert(port) {
            ports.push(port);
        }
        holders.push(l);
    }
    ports
}

pub fn free_port() -> u16 {
    free_ports(1)[0]
}

/// Whether something accepts TCP connections on 127.0.0.1:`port` right now.
pub fn port_accepts(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// Polls `cond` every 10 ms until it holds or `timeout` passes; returns whether it held.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A topic unique to this process and call, e.g. `mqtts-test/<label>/<pid>-<n>`, so tests that
/// share a broker don't see each other's messages.
pub fn unique_topic(label: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("mqtts-test/{label}/{}-{n}", std::process::id())
}

/// `PROG -l -q 1 -t TOPIC` (mqtts-pub or mosquitto_pub) on `listener` of `b`, stdin kept
/// open, once the broker has logged its first two lines ("one", "two"): a stream that a
/// test can then cut.
pub fn line_publisher_streaming(
    b: &Broker,
    prog: oracle::Prog,
    listener: &str,
    topic: &str,
    timeout: Duration,
) -> oracle::Background {
    let args = [
        b.client_args(listener),
        strs(&["-t", topic, "-l", "-q", "1"]),
    ]
    .concat();
    let mut p = oracle::Run::prog(prog)
        .args(&args)
        .stdin_pipe()
        .timeout(timeout)
        .spawn();
    p.write_stdin(b"one\ntwo\n").unwrap();
    assert!(
        b.wait_for_log_count("Received PUBLISH", 2, Duration::from_secs(20)),
        "{}",
        b.log()
    );
    p
}

/// Wait up to `timeout` for `needle` on `p`'s standard error.
pub fn stderr_shows(p: &oracle::Background, needle: &str, timeout: Duration) -> bool {
    wait_until(timeout, || {
        String::from_utf8_lossy(&p.stderr()).contains(needle)
    })
}
