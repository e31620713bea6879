//! Running the oracle (mosquitto_pub / mosquitto_sub / mosquitto_rr) and our binaries, and comparing outputs.
//!
//! * [`run`] / [`Run`]: run a program with args, optional stdin bytes and a hard timeout (killed
//!   on expiry, reported in [`RunOutput::timed_out`]). By default `XDG_CONFIG_HOME` points at an
//!   empty directory so a user's `~/.config/mosquitto_pub` can't leak in.
//! * [`mosquitto_pub`], [`mosquitto_sub`], [`ours_pub`], [`ours_sub`]: the same with the default
//!   timeout ([`DEFAULT_TIMEOUT`]).
//! * [`Background`] / [`start_subscriber`]: a long-running process with piped output that can be
//!   read while it runs; `start_subscriber` returns once the broker has sent the SUBACK.
//! * [`normalise_2011`], [`normalise_auto_id`], [`help_line_to_ours`],
//!   [`help_line_to_mosquitto`]: output normalisers (spec §8 drift, v5 assigned ids).

use super::broker::Broker;
use super::{
    TempDir, die_with_parent, forget_pid, kill_and_reap, kill_at_exit, remove_at_exit, send_signal,
};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Timeout of the convenience runners ([`mosquitto_pub`] etc.).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`start_subscriber`] waits for the SUBACK.
pub const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The programs under comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prog {
    MosquittoPub,
    MosquittoSub,
    MosquittoRr,
    OursPub,
    OursSub,
    OursRr,
}

impl Prog {
    /// Executable to run (mosquitto's from PATH, ours from Cargo's build).
    pub fn path(self) -> PathBuf {
        match self {
            Prog::MosquittoPub => PathBuf::from("mosquitto_pub"),
            Prog::MosquittoSub => PathBuf::from("mosquitto_sub"),
            Prog::MosquittoRr => PathBuf::from("mosquitto_rr"),
            Prog::OursPub => PathBuf::from(env!("CARGO_BIN_EXE_mqtts-pub")),
            Prog::OursSub => PathBuf::from(env!("CARGO_BIN_EXE_mqtts-sub")),
            Prog::OursRr => PathBuf::from(env!("CARGO_BIN_EXE_mqtts-rr")),
        }
    }

    /// The program name as it appears in its messages (`mosquitto_pub`, `mqtts-pub`, …).
    pub fn name(self) -> &'static str {
        match self {
            Prog::MosquittoPub => "mosquitto_pub",
            Prog::MosquittoSub => "mosquitto_sub",
            Prog::MosquittoRr => "mosquitto_rr",
            Prog::OursPub => "mqtts-pub",
            Prog::OursSub => "mqtts-sub",
            Prog::OursRr => "mqtts-rr",
        }
    }

    /// The counterpart on the other side (mosquitto_pub ↔ mqtts-pub, …).
    pub fn counterpart(self) -> Prog {
        match self {
            Prog::MosquittoPub => Prog::OursPub,
            Prog::MosquittoSub => Prog::OursSub,
            Prog::MosquittoRr => Prog::OursRr,
            Prog::OursPub => Prog::MosquittoPub,
            Prog::OursSub => Prog::MosquittoSub,
            Prog::OursRr => Prog::MosquittoRr,
        }
    }
}

/// Result of a finished (or killed) process.
#[derive(Debug, Clone)]
pub struct RunOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Exit code; None if killed by a signal (including the timeout kill).
    pub code: Option<i32>,
    /// The signal that ended it, if any.
    pub signal: Option<i32>,
    /// True if the harness killed it because the timeout expired.
    pub timed_out: bool,
    pub elapsed: Duration,
    /// The command line, for messages.
    pub command: String,
}

impl RunOutput {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// Exit code 0 and no timeout.
    pub fn success(&self) -> bool {
        self.code == Some(0) && !self.timed_out
    }

    /// Panics with the full output unless the process exited with `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "unexpected exit status:\n{self}");
        self
    }

    /// Panics with the full output unless the process exited 0.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        assert!(self.success(), "command failed:\n{self}");
        self
    }

    /// Panics unless the process exited by itself with a non-zero code.
    #[track_caller]
    pub fn assert_failure(&self) -> &Self {
        assert!(
            !self.timed_out && matches!(self.code, Some(c) if c != 0),
            "command should have failed with a non-zero exit code:\n{self}"
        );
        self
    }
}

impl fmt::Display for RunOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "$ {}", self.command)?;
        if self.timed_out {
            writeln!(f, "TIMED OUT after {:?} (killed)", self.elapsed)?;
        }
        match (self.code, self.signal) {
            (Some(c), _) => writeln!(f, "exit code {c} after {:?}", self.elapsed)?,
            (None, Some(s)) => writeln!(f, "killed by signal {s} after {:?}", self.elapsed)?,
            (None, None) => writeln!(f, "no exit status")?,
        }
        writeln!(f, "--- stdout ---\n{}", self.stdout_str())?;
        write!(f, "--- stderr ---\n{}", self.stderr_str())
    }
}

/// The empty directory used as `XDG_CONFIG_HOME` by default (one per test process).
pub fn empty_config_home() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = TempDir::new("xdg");
        let p = d.path().to_path_buf();
        std::mem::forget(d);
        remove_at_exit(&p);
        p
    })
}

#[derive(Debug, Clone)]
enum StdinMode {
    Null,
    Data(Vec<u8>),
    Pipe,
}

/// A command to run: builder for [`Run::run`] (wait with timeout) and [`Run::spawn`]
/// (background).
#[derive(Debug, Clone)]
pub struct Run {
    program: OsString,
    args: Vec<OsString>,
    stdin: StdinMode,
    timeout: Duration,
    env: Vec<(OsString, Option<OsString>)>,
    isolate_config: bool,
    cwd: Option<PathBuf>,
}

fn quote(s: &OsStr) -> String {
    let s = s.to_string_lossy();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

impl From<Prog> for Run {
    fn from(p: Prog) -> Run {
        Run::new(p.path())
    }
}

impl Run {
    pub fn new(program: impl AsRef<OsStr>) -> Run {
        Run {
            program: program.as_ref().to_os_string(),
            args: Vec::new(),
            stdin: StdinMode::Null,
            timeout: DEFAULT_TIMEOUT,
            env: Vec::new(),
            isolate_config: true,
            cwd: None,
        }
    }

    pub fn prog(p: Prog) -> Run {
        Run::from(p)
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Self {
        self.args.push(a.as_ref().to_os_string());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// Bytes written to the child's stdin (then closed). Without it stdin is /dev/null.
    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.stdin = StdinMode::Data(data.into());
        self
    }

    /// Keeps stdin an open pipe for [`Background::write_stdin`] (closed by `run`/`wait`).
    pub fn stdin_pipe(mut self) -> Self {
        self.stdin = StdinMode::Pipe;
        self
    }

    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// Sets an environment variable (overrides the default `XDG_CONFIG_HOME` too).
    pub fn env(mut self, key: impl AsRef<OsStr>, val: impl AsRef<OsStr>) -> Self {
        self.env.push((
            key.as_ref().to_os_string(),
            Some(val.as_ref().to_os_string()),
        ));
        self
    }

    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.env.push((key.as_ref().to_os_string(), None));
        self
    }

    /// Don't point `XDG_CONFIG_HOME` at the empty directory (inherit the real environment).
    pub fn keep_user_config(mut self) -> Self {
        self.isolate_config = false;
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cwd = Some(dir.as_ref().to_path_buf());
        self
    }

    /// The command line as a shell-like string.
    pub fn command_line(&self) -> String {
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|a| quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        if self.isolate_config {
            cmd.env("XDG_CONFIG_HOME", empty_config_home());
        }
        for (k, v) in &self.env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        if let Some(d) = &self.cwd {
            cmd.current_dir(d);
        }
        die_with_parent(&mut cmd);
        cmd
    }

    /// Runs to completion or until the timeout (then SIGKILL, `timed_out = true`).
    pub fn run(&self) -> RunOutput {
        let mut bg = self.spawn();
        bg.stdin = None;
        bg.finish(Some(self.timeout), None)
    }

    /// Starts it in the background (stdout/stderr piped and collected as they come).
    pub fn spawn(&self) -> Background {
        let mut cmd = self.command();
        cmd.stdin(match self.stdin {
            StdinMode::Null => Stdio::null(),
            _ => Stdio::piped(),
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let start = Instant::now();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.command_line()));
        kill_at_exit(child.id());
        let out = Arc::new(Stream::default());
        let err = Arc::new(Stream::default());
        let mut threads = vec![
            reader(child.stdout.take().expect("stdout"), out.clone()),
            reader(child.stderr.take().expect("stderr"), err.clone()),
        ];
        let mut stdin = child.stdin.take();
        if let StdinMode::Data(data) = &self.stdin {
            // Write from a thread (the child may not read it all before producing output);
            // dropping the writer closes the pipe.
            let (data, mut w) = (data.clone(), stdin.take().expect("stdin pipe"));
            threads.push(std::thread::spawn(move || {
                let _ = w.write_all(&data);
            }));
        }
        Background {
            child: Some(child),
            stdin,
            out,
            err,
            threads,
            start,
            command: self.command_line(),
        }
    }
}

/// Runs `program args…` with optional stdin and a hard timeout, `XDG_CONFIG_HOME` isolated.
pub fn run<I, S>(
    program: impl AsRef<OsStr>,
    args: I,
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> RunOutput
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut r = Run::new(program).args(args).timeout(timeout);
    if let Some(s) = stdin {
        r = r.stdin(s);
    }
    r.run()
}

pub fn mosquitto_pub<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(args: I) -> RunOutput {
    Run::prog(Prog::MosquittoPub).args(args).run()
}

pub fn mosquitto_sub<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(args: I) -> RunOutput {
    Run::prog(Prog::MosquittoSub).args(args).run()
}

pub fn ours_pub<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(args: I) -> RunOutput {
    Run::prog(Prog::OursPub).args(args).run()
}

pub fn ours_sub<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(args: I) -> RunOutput {
    Run::prog(Prog::OursSub).args(args).run()
}

pub fn mosquitto_rr<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(args: I) -> RunOutput {
    Run::prog(Prog::MosquittoRr).args(args).run()
}

pub fn ours_rr<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(args: I) -> RunOutput {
    Run::prog(Prog::OursRr).args(args).run()
}

/// `["a", "b"]` → `vec!["a".to_string(), "b".to_string()]`, to extend `broker.client_args(…)`.
pub fn strs(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[derive(Default, Debug)]
struct Stream {
    buf: Mutex<(Vec<u8>, bool)>, // (data, eof)
    cv: Condvar,
}

fn reader(mut r: impl Read + Send + 'static, s: Arc<Stream>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        loop {
            let n = r.read(&mut chunk).unwrap_or(0);
            let mut g = s.buf.lock().unwrap();
            if n == 0 {
                g.1 = true;
            } else {
                g.0.extend_from_slice(&chunk[..n]);
            }
            s.cv.notify_all();
            if n == 0 {
                break;
            }
        }
    })
}

impl Stream {
    fn snapshot(&self) -> Vec<u8> {
        self.buf.lock().unwrap().0.clone()
    }

    /// Waits until `pred(data)` holds or EOF or timeout; returns whether it held.
    fn wait_for(&self, timeout: Duration, pred: impl Fn(&[u8]) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut g = self.buf.lock().unwrap();
        loop {
            if pred(&g.0) {
                return true;
            }
            let now = Instant::now();
            if g.1 || now >= deadline {
                return false;
            }
            g = self.cv.wait_timeout(g, deadline - now).unwrap().0;
        }
    }
}

/// A process running in the background with its stdout/stderr collected as they arrive.
/// Killed (SIGKILL) on drop if still running.
#[derive(Debug)]
pub struct Background {
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    out: Arc<Stream>,
    err: Arc<Stream>,
    threads: Vec<JoinHandle<()>>,
    start: Instant,
    command: String,
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

impl Background {
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    pub fn command(&self) -> &str {
        &self.command
    }

    /// stdout so far.
    pub fn stdout(&self) -> Vec<u8> {
        self.out.snapshot()
    }

    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout()).into_owned()
    }

    /// The stdin pipe, to write from another thread (a write blocks while the child does
    /// not read).
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.stdin.take()
    }

    /// stderr so far.
    pub fn stderr(&self) -> Vec<u8> {
        self.err.snapshot()
    }

    /// Complete lines of stdout so far (without the newline).
    pub fn lines(&self) -> Vec<String> {
        let s = self.stdout_str();
        let complete = match s.rfind('\n') {
            Some(i) => &s[..i],
            None => return Vec::new(),
        };
        complete.split('\n').map(str::to_string).collect()
    }

    /// Waits until stdout contains `needle` (false on timeout or when stdout closed without it).
    pub fn wait_for_stdout(&self, needle: &str, timeout: Duration) -> bool {
        self.out
            .wait_for(timeout, |d| contains(d, needle.as_bytes()))
    }

    /// Waits until stderr contains `needle`.
    pub fn wait_for_stderr(&self, needle: &str, timeout: Duration) -> bool {
        self.err
            .wait_for(timeout, |d| contains(d, needle.as_bytes()))
    }

    /// Waits until stdout holds at least `n` complete lines.
    pub fn wait_for_lines(&self, n: usize, timeout: Duration) -> bool {
        self.out
            .wait_for(timeout, |d| d.iter().filter(|b| **b == b'\n').count() >= n)
    }

    /// Writes to the child's stdin; only possible when spawned with [`Run::stdin_pipe`].
    pub fn write_stdin(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self.stdin.as_mut() {
            Some(w) => w.write_all(data),
            None => Err(std::io::Error::other("stdin is not an open pipe")),
        }
    }

    /// Closes the child's stdin (EOF), if it was a pipe.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Sends a signal (e.g. `libc::SIGINT`) if still running.
    pub fn signal(&mut self, sig: i32) {
        if self.is_running()
            && let Some(pid) = self.pid()
        {
            send_signal(pid, sig);
        }
    }

    /// Waits for it to exit by itself (e.g. `mosquitto_sub -C 1`); after `timeout` it is
    /// killed and `timed_out` is set.
    pub fn wait(mut self, timeout: Duration) -> RunOutput {
        self.finish(Some(timeout), None)
    }

    /// Kills it now (SIGKILL) and collects its output.
    pub fn kill(mut self) -> RunOutput {
        self.finish(Some(Duration::ZERO), None)
    }

    /// Sends `sig` (e.g. SIGTERM, on which mosquitto_sub disconnects cleanly), then waits
    /// ≤ `timeout` for the exit (SIGKILL after that, `timed_out` set).
    pub fn stop_with(mut self, sig: i32, timeout: Duration) -> RunOutput {
        self.finish(Some(timeout), Some(sig))
    }

    fn finish(&mut self, timeout: Option<Duration>, sig: Option<i32>) -> RunOutput {
        self.stdin = None;
        let mut child = self.child.take().expect("process already collected");
        let pid = child.id();
        if let Some(s) = sig {
            send_signal(pid, s);
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut timed_out = false;
        let mut nap = Duration::from_millis(1);
        let status: ExitStatus = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) => {}
                Err(e) => panic!("wait for {}: {e}", self.command),
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                timed_out = timeout != Some(Duration::ZERO);
                let _ = child.kill();
                break child.wait().expect("wait after kill");
            }
            std::thread::sleep(nap);
            nap = (nap * 2).min(Duration::from_millis(10));
        };
        let elapsed = self.start.elapsed();
        forget_pid(pid);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        RunOutput {
            stdout: self.out.snapshot(),
            stderr: self.err.snapshot(),
            code: status.code(),
            signal: status.signal(),
            timed_out,
            elapsed,
            command: self.command.clone(),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        kill_and_reap(self.child.take());
    }
}

/// The value of `-i`/`--id` in `args`, if any.
fn client_id_arg(args: &[OsString]) -> Option<String> {
    args.windows(2)
        .find(|w| w[0] == "-i" || w[0] == "--id")
        .map(|w| w[1].to_string_lossy().into_owned())
}

/// Starts a subscriber (`prog args…`, e.g. `Prog::MosquittoSub` with `-C 1 -t topic`) and
/// returns once the broker has logged its SUBACK, so anything published afterwards reaches it.
///
/// With `-i ID` in the args it waits for `Sending SUBACK to ID`; otherwise for one more
/// `Sending SUBACK to` line than before the start (fine on a per-test broker; pass `-i` when
/// other clients subscribe on the same broker at the same time). Returns early if the
/// subscriber exits; panics with both logs after [`SUBSCRIBE_TIMEOUT`].
pub fn start_subscriber<I, S>(broker: &Broker, prog: Prog, args: I) -> Background
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    start_subscriber_with(broker, Run::prog(prog).args(args))
}

/// [`start_subscriber`] for an arbitrary [`Run`] (custom env, timeout, program).
pub fn start_subscriber_with(broker: &Broker, run: Run) -> Background {
    let needle = match client_id_arg(&run.args) {
        Some(id) => format!("Sending SUBACK to {id}\n"),
        None => "Sending SUBACK to ".to_string(),
    };
    let before = broker.log_count(&needle);
    let mut bg = run.spawn();
    let deadline = Instant::now() + SUBSCRIBE_TIMEOUT;
    loop {
        if broker.log_count(&needle) > before || !bg.is_running() {
            return bg;
        }
        if Instant::now() >= deadline {
            let out = bg.kill();
            panic!(
                "subscriber not subscribed after {SUBSCRIBE_TIMEOUT:?}:\n{out}\n{}",
                broker.log()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn replace_bytes(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

/// Matches `pattern` at the start of `s`: `d` = ASCII digit, `h` = hex digit, `s` = sign,
/// anything else literally.
fn matches_shape(s: &[u8], pattern: &[u8]) -> bool {
    s.len() >= pattern.len()
        && s.iter().zip(pattern).all(|(c, p)| match p {
            b'd' => c.is_ascii_digit(),
            b'h' => c.is_ascii_hexdigit(),
            b's' => *c == b'+' || *c == b'-',
            other => c == other,
        })
}

/// Rewrites exactly the documented output differences of mosquitto 2.0.11 vs 2.0.20
/// (spec §8), turning 2.0.11 output into what 2.0.20 prints:
/// * `Client (null) ` → `Client null ` (debug id when the client has none);
/// * JSON `"tst":"…T…:…:….uuuuuuZ+hhmm"` → `….uuuuuu+hhmm` (stray `Z`, `%j` and `%J`).
///
/// Not normalised (can't be done textually): `%j` topic-alias values, strerror text for
/// reason codes ≥ 128.
pub fn normalise_2011_bytes(text: &[u8]) -> Vec<u8> {
    let text = replace_bytes(text, b"Client (null) ", b"Client null ");
    const KEY: &[u8] = b"\"tst\":";
    const TS: &[u8] = b"dddd-dd-ddTdd:dd:dd.ddddddZsdddd";
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i..].starts_with(KEY) {
            let mut j = i + KEY.len();
            while j < text.len() && matches!(text[j], b' ' | b'\t' | b'\n' | b'\r') {
                j += 1;
            }
            if j < text.len() && text[j] == b'"' && matches_shape(&text[j + 1..], TS) {
                let z = j + 1 + 26; // index of the stray 'Z'
                out.extend_from_slice(&text[i..z]);
                i = z + 1;
                continue;
            }
        }
        out.push(text[i]);
        i += 1;
    }
    out
}

/// [`normalise_2011_bytes`] for text.
pub fn normalise_2011(text: &str) -> String {
    String::from_utf8(normalise_2011_bytes(text.as_bytes())).expect("still UTF-8")
}

/// Replaces each v5 broker-assigned client id `auto-XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX` with
/// `auto-ID`, for comparing `-d` traces of different runs.
pub fn normalise_auto_id(text: &str) -> String {
    const SHAPE: &[u8] = b"auto-hhhhhhhh-hhhh-hhhh-hhhh-hhhhhhhhhhhh";
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if matches_shape(&b[i..], SHAPE) {
            out.extend_from_slice(b"auto-ID");
            i += SHAPE.len();
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("still UTF-8")
}

/// For comparing `-d` traces (or any output) of mosquitto 2.0.11 and ours across runs:
/// [`normalise_2011`] then [`normalise_auto_id`].
pub fn normalise_trace(text: &str) -> String {
    normalise_auto_id(&normalise_2011(text))
}

/// `Use 'mosquitto_pub --help'` → `Use 'mqtts-pub --help'` (and sub), so mosquitto's usage
/// error output can be compared with ours.
pub fn help_line_to_ours(text: &str) -> String {
    text.replace("Use 'mosquitto_pub --help'", "Use 'mqtts-pub --help'")
        .replace("Use 'mosquitto_sub --help'", "Use 'mqtts-sub --help'")
        .replace("Use 'mosquitto_rr --help'", "Use 'mqtts-rr --help'")
}

/// The reverse of [`help_line_to_ours`].
pub fn help_line_to_mosquitto(text: &str) -> String {
    text.replace("Use 'mqtts-pub --help'", "Use 'mosquitto_pub --help'")
        .replace("Use 'mqtts-sub --help'", "Use 'mosquitto_sub --help'")
        .replace("Use 'mqtts-rr --help'", "Use 'mosquitto_rr --help'")
}
