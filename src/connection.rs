//! The paho client, seen through one event channel.
//!
//! Everything that happens arrives on one channel in the order it happened: packets from
//! paho's protocol trace (with `-d`), received messages, connection loss, finished
//! requests (each token wakes this channel from paho's own thread when it completes) and
//! signals.
//! The run loops read that channel and nothing else, so output order is deterministic.

use crate::exit::{self, Failure};
use crate::options::Options;
use crate::plan::Plan;
use crate::trace::{self, PacketEvent};
use paho_mqtt as mqtt;
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

pub mod dead_write;
pub mod one_cpu;
pub mod quickack;
pub mod read_ahead;
pub mod socks;
pub mod wakeup;
pub mod write_batch;

/// A Linux TCP option mqtts sets on paho's socket.
#[derive(Clone, Copy)]
pub(crate) enum TcpOption {
    /// Acknowledge received segments at once (see [`quickack`]).
    QuickAck,
    /// Send only full segments until cleared (see [`write_batch`]).
    Cork,
}

/// Set `option` on the socket `fd` to `on`; false when refused. Linux only: elsewhere
/// nothing is set (false).
pub(crate) fn set_tcp_option(fd: libc::c_int, option: TcpOption, on: bool) -> bool {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let name = match option {
            TcpOption::QuickAck => libc::TCP_QUICKACK,
            TcpOption::Cork => libc::TCP_CORK,
        };
        let value = libc::c_int::from(on);
        // SAFETY: setsockopt reads `size_of::<c_int>()` bytes from a live local; on a
        // descriptor that is not a TCP socket it fails and changes nothing.
        unsafe {
            libc::setsockopt(
                fd,
                libc::IPPROTO_TCP,
                name,
                (&value as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            ) == 0
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = (fd, option, on);
        false
    }
}

/// Most requests the run loops may have outstanding in paho at once.
pub const MAX_QUEUED: usize = 8192;

/// Something the run loop must look at.
pub enum Event {
    Packet(PacketEvent),
    Message(mqtt::Message),
    /// The connection was lost (not by our own DISCONNECT).
    Lost,
    /// A request handed to [`Connection::track`] (or watched) finished.
    Done(u64, Outcome),
    /// SIGINT or SIGTERM (sub only).
    Signal,
}

pub struct Connection {
    /// Never dropped: destroying a paho client stalls 0.1–1 s (paho-notes §6) and the
    /// process exits right after its work anyway (see [`exit_now`]).
    pub client: std::mem::ManuallyDrop<mqtt::AsyncClient>,
    rx: Receiver<Event>,
    tx: Sender<Event>,
    /// Tracked requests whose result was not handed out yet, by tag.
    tokens: RefCell<HashMap<u64, Tracked>>,
    /// Results of watched requests that had finished when they were watched: the `Done`
    /// wake-up for them is already in the channel.
    results: RefCell<HashMap<u64, Outcome>>,
    next_tag: u64,
    /// Packet events seen while waiting for DISCONNECT to go out; see [`Connection::try_next`].
    after_disconnect: Vec<PacketEvent>,
    /// Events that arrived after CONNACK while a connect was still being awaited (e.g.
    /// messages of a persistent session): handed out first by `next`/`try_next`.
    stash: std::cell::RefCell<std::collections::VecDeque<Event>>,
}

/// Start-up work that must happen before the first paho client exists.
fn init_paho() {
    // A user's environment must not turn on paho's own trace (it writes to stdout).
    for v in ["MQTT_C_CLIENT_TRACE", "MQTT_C_CLIENT_TRACE_LEVEL"] {
        if std::env::var_os(v).is_some() {
            // SAFETY: called before any other thread of ours or paho's exists.
            unsafe { std::env::remove_var(v) };
        }
    }
    // OpenSSL 3 initialises itself when first used; paho's explicit initialisation costs
    // about a millisecond on every start, even for plain TCP (paho-notes §7).
    let mut init = paho_mqtt_sys::MQTTAsync_init_options {
        struct_id: [b'M' as _, b'Q' as _, b'T' as _, b'G' as _],
        struct_version: 0,
        do_openssl_init: 0,
    };
    // SAFETY: a valid init struct, called once before any client is created.
    unsafe { paho_mqtt_sys::MQTTAsync_global_init(&mut init) };
}

/// The last SIGINT or SIGTERM delivered as [`Event::Signal`] (0: none).
static LAST_SIGNAL: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// The signal behind the last [`Event::Signal`], if one came (not a fault's wake-up).
pub fn last_signal() -> Option<i32> {
    Some(LAST_SIGNAL.load(std::sync::atomic::Ordering::SeqCst)).filter(|&s| s != 0)
}

/// A SIGINT or SIGTERM that was sent but not yet taken by the thread that routes them (it
/// may not have run yet on a busy machine), else the last one routed.
pub fn signal_sent() -> Option<i32> {
    // SAFETY: sigpending fills a zeroed sigset; sigismember only reads it.
    let pending = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigpending(&mut set);
        [libc::SIGINT, libc::SIGTERM]
            .into_iter()
            .find(|&s| libc::sigismember(&set, s) == 1)
    };
    pending.or_else(last_signal)
}

/// End the process as the default action of `sig` does (killed by it: the shell sees
/// 128 + sig, as for mosquitto's clients), after flushing stdout. Not for a fault.
pub fn die_by(sig: i32) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    if !paho_guard::faulted() {
        // SAFETY: restores the default action and delivers the signal to this thread,
        // with it unblocked; plain libc calls.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, sig);
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            libc::raise(sig);
        }
    }
    exit_now(128 + sig)
}

/// Block SIGINT and SIGTERM in every thread and deliver them as [`Event::Signal`].
/// Must run before paho starts its threads (they inherit the mask).
fn route_signals(tx: Sender<Event>) {
    // SAFETY: plain libc signal-mask calls on a zeroed sigset.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        std::thread::spawn(move || {
            loop {
                let mut sig = 0;
                if libc::sigwait(&set, &mut sig) == 0 {
                    LAST_SIGNAL.store(sig, std::sync::atomic::Ordering::SeqCst);
                    if tx.send(Event::Signal).is_err() {
                        return;
                    }
                }
            }
        });
    }
}

impl Connection {
    /// Create the client for `plan`. `signals`: deliver SIGINT/SIGTERM as events.
    pub fn new(plan: &Plan, debug: bool, signals: bool) -> Result<Connection, Failure> {
        // Before any thread of ours or paho's starts: they inherit it.
        one_cpu::pin();
        init_paho();
        let (tx, rx) = channel();
        if signals {
            route_signals(tx.clone());
        }
        if debug {
            trace::install(&plan.client_id, tx.clone(), Event::Packet);
        }
        crate::tap::websockets(plan.websockets);
        dead_write::disable(plan.websockets);
        // paho makes its wake-up socket pair while the first client is created.
        wakeup::expect(true);
        let client = mqtt::CreateOptionsBuilder::new()
            .server_uri(&plan.uri)
            .client_id(&plan.client_id)
            .persistence(mqtt::PersistenceType::None)
            // paho refuses a publish (MaxBufferedMessages) once this many wait in its queue,
            // connected or not; the run loops keep fewer than this outstanding.
            .max_buffered_messages(MAX_QUEUED as i32)
            .mqtt_version(plan.mqtt_version)
            .create_client();
        wakeup::expect(false);
        let client = client.map_err(|e| Failure::new(exit::GENERAL, format!("Error: {e}")))?;
        paho_guard::install(tx.clone());
        let t = tx.clone();
        client.set_connection_lost_callback(move |_| {
            let _ = t.send(Event::Lost);
        });
        let conn = Connection {
            client: std::mem::ManuallyDrop::new(client),
            rx,
            tx,
            tokens: Default::default(),
            results: Default::default(),
            next_tag: 0,
            after_disconnect: Vec::new(),
            stash: Default::default(),
        };
        // Every received message goes to the run loop.
        conn.intercept_messages(Some);
        Ok(conn)
    }

    /// Offer each received message to `f` first, on paho's receive thread, instead of
    /// sending it to the run loop: a message `f` hands back still arrives as
    /// [`Event::Message`], in order. Call before connecting. `f` runs while paho holds its
    /// lock: it must not call the client, nor wait for a thread that may be doing so.
    pub fn intercept_messages(
        &self,
        mut f: impl FnMut(mqtt::Message) -> Option<mqtt::Message> + Send + 'static,
    ) {
        let t = self.tx.clone();
        self.client.set_message_callback(move |_, m| {
            if let Some(m) = m {
                if !paho_guard::topic_ok(&m) {
                    paho_guard::fault();
                    return;
                }
                if let Some(m) = f(m) {
                    let _ = t.send(Event::Message(m));
                }
            }
        });
    }

    /// Have `token`'s completion reported as `Event::Done(tag, …)`; returns the tag.
    ///
    /// Completions are reported in the order paho finishes the requests, among the other
    /// events in the order they happened: paho's thread that completes a request wakes
    /// the channel right then (after the trace line of the packet that completed it). So
    /// QoS 0 publishes complete in the order they were handed in, acknowledged ones in the
    /// order their acknowledgements arrived.
    pub fn track(&mut self, token: impl Into<mqtt::Token>) -> u64 {
        let tag = self.track_quietly(token);
        if let Some(r) = self.watch(tag) {
            // Finished already (refused at once): reported after what happened before.
            self.results.borrow_mut().insert(tag, r);
            let _ = self.tx.send(Event::Done(tag, Err(mqtt::Error::Timeout)));
        }
        tag
    }

    /// Keep `token` under a tag without reporting its completion (no wake-up, no event):
    /// its result is fetched with [`Connection::take_done`], or it is reported after a
    /// [`Connection::watch`].
    pub fn track_quietly(&mut self, token: impl Into<mqtt::Token>) -> u64 {
        self.next_tag += 1;
        let tracked = Tracked {
            token: token.into(),
            waker: None,
        };
        self.tokens.borrow_mut().insert(self.next_tag, tracked);
        self.next_tag
    }

    /// The request `tag` is tracked: its result was not taken yet.
    pub fn tracks(&self, tag: u64) -> bool {
        self.tokens.borrow().contains_key(&tag)
    }

    /// Have the request `tag` reported as `Event::Done` when it finishes. If it has
    /// finished already, its result is returned instead (and not reported).
    pub fn watch(&self, tag: u64) -> Option<Outcome> {
        let mut tokens = self.tokens.borrow_mut();
        let t = tokens.get_mut(&tag)?;
        if t.waker.is_none() {
            t.waker = Some(Waker::from(Arc::new(Completion {
                tag,
                tx: self.tx.clone(),
            })));
        }
        let r = t.poll()?;
        tokens.remove(&tag);
        Some(r)
    }

    /// The result of the request `tag` if it has finished (it is then not reported as an
    /// event any more).
    pub fn take_done(&self, tag: u64) -> Option<Outcome> {
        let mut tokens = self.tokens.borrow_mut();
        let r = tokens.get_mut(&tag)?.poll()?;
        tokens.remove(&tag);
        Some(r)
    }

    /// An event from the channel as the run loops see it: a [`Completion`] wake-up
    /// carries no result, which is taken from the token (it holds it by now).
    /// None: nothing to report (its result was taken meanwhile).
    fn resolve(&self, ev: Event) -> Option<Event> {
        let Event::Done(tag, _) = ev else {
            return Some(ev);
        };
        if let Some(r) = self.results.borrow_mut().remove(&tag) {
            return Some(Event::Done(tag, r));
        }
        self.take_done(tag).map(|r| Event::Done(tag, r))
    }

    /// Next event; None when `deadline` passes first.
    pub fn next(&self, deadline: Option<Instant>) -> Option<Event> {
        if let Some(ev) = self.stash.borrow_mut().pop_front() {
            return Some(ev);
        }
        self.rx_next(deadline)
    }

    /// Next event if one is already waiting.
    pub fn try_next(&mut self) -> Option<Event> {
        if !self.after_disconnect.is_empty() {
            return Some(Event::Packet(self.after_disconnect.remove(0)));
        }
        if let Some(ev) = self.stash.borrow_mut().pop_front() {
            return Some(ev);
        }
        loop {
            if let Some(ev) = self.resolve(self.rx.try_recv().ok()?) {
                return Some(ev);
            }
        }
    }

    /// Connect. Packet events seen meanwhile are returned for the caller to render (the
    /// CONNACK line needs the id a v5 broker assigns). CONNACK refusals and connection
    /// failures become mosquitto's messages (`pub_style`: mosquitto_pub adds a second line
    /// to refusals). A signal or `deadline` before CONNACK ends with code 255, silently.
    pub fn connect(
        &mut self,
        plan: &Plan,
        opts: &Options,
        pub_style: bool,
        deadline: Option<Instant>,
    ) -> (Vec<PacketEvent>, Result<mqtt::ServerResponse, Failure>) {
        let copts = match plan.connect_options(opts) {
            Ok(c) => c,
            Err(f) => return (Vec::new(), Err(f)),
        };
        if let Some(addr) = &opts.bind_address
            && let Err(f) = bind::set(addr)
        {
            return (Vec::new(), Err(f));
        }
        crate::tls::handshake::arm(plan.tls.as_ref(), &plan.host, plan.port);
        if let Some(p) = &plan.proxy
            // After `-A` is resolved: from now on the broker's name resolves to the proxy.
            && let Err(f) = socks::arm(p, &plan.host, plan.port, plan.connect_timeout)
        {
            return (Vec::new(), Err(f));
        }
        let _quickack = quickack::arm(plan.tls.is_some());
        let tok = self.client.connect(copts);
        keep_if_unix(plan, &tok);
        let tag = self.track(tok);
        self.await_done(tag, deadline, plan, pub_style)
    }

    /// Reconnect with the same options (mosquitto_sub after a lost connection).
    pub fn reconnect(
        &mut self,
        plan: &Plan,
        deadline: Option<Instant>,
        pub_style: bool,
    ) -> (Vec<PacketEvent>, Result<mqtt::ServerResponse, Failure>) {
        let _quickack = quickack::arm(plan.tls.is_some());
        let tok = self.client.reconnect();
        keep_if_unix(plan, &tok);
        let tag = self.track(tok);
        self.await_done(tag, deadline, plan, pub_style)
    }

    fn await_done(
        &mut self,
        tag: u64,
        deadline: Option<Instant>,
        plan: &Plan,
        pub_style: bool,
    ) -> (Vec<PacketEvent>, Result<mqtt::ServerResponse, Failure>) {
        let mut seen = Vec::new();
        let started = Instant::now();
        // Everything after the CONNACK (packets, messages of a persistent session, a lost
        // connection) belongs to the run loop: keep it, in order, for `next`.
        let mut connack = false;
        let mut deadline = deadline;
        let mut extended = false;
        loop {
            match self.rx_next(deadline) {
                // The deadline passed just after a CONNACK arrived (mosquitto would have
                // seen it): let the result come in; the caller sees its deadline passed.
                None if connack && !extended => {
                    extended = true;
                    deadline = Some(Instant::now() + std::time::Duration::from_secs(2));
                }
                Some(Event::Done(t, r)) if t == tag => {
                    let waited = started.elapsed();
                    return (
                        seen,
                        r.map_err(|e| connect_failure(e, plan, pub_style, waited)),
                    );
                }
                Some(ev) if connack => self.stash.borrow_mut().push_back(ev),
                // Without paho's trace (no -d, no message ids shown) there is no CONNACK
                // event; a message still means the CONNACK came (a resumed session's
                // queue): keep it and what follows (it was dropped here).
                Some(ev @ Event::Message(_)) => {
                    connack = true;
                    self.stash.borrow_mut().push_back(ev);
                }
                Some(Event::Signal) | None => {
                    return (
                        seen,
                        Err(Failure::with_lines(exit::BEFORE_CONNACK, Vec::new())),
                    );
                }
                Some(Event::Packet(p)) => {
                    connack = !p.sent && p.kind == trace::Kind::Connack;
                    seen.push(p);
                }
                // Another request finished meanwhile (publishes that failed with the
                // connection a reconnect replaces): its result is taken already, keep it.
                Some(ev @ Event::Done(..)) => self.stash.borrow_mut().push_back(ev),
                Some(_) => {}
            }
        }
    }

    /// Next event from the channel itself (not the stash).
    fn rx_next(&self, deadline: Option<Instant>) -> Option<Event> {
        loop {
            let ev = match deadline {
                None => self.rx.recv().ok(),
                Some(d) => self
                    .rx
                    .recv_timeout(d.saturating_duration_since(Instant::now()))
                    .ok(),
            }?;
            if let Some(ev) = self.resolve(ev) {
                return Some(ev);
            }
        }
    }

    /// Send DISCONNECT (v5 `reason`, 0 = normal) and wait briefly for it to go out.
    pub fn disconnect(&mut self, reason: u8, props: mqtt::Properties) {
        if paho_guard::faulted() {
            // paho's receive thread is parked holding paho's lock: a call would block.
            return;
        }
        let mut b = mqtt::DisconnectOptionsBuilder::new();
        b.timeout(std::time::Duration::from_millis(0));
        if reason != 0 {
            b.reason_code(mqtt::ReasonCode::from(reason as u32));
        }
        if !props.is_empty() {
            b.properties(props);
        }
        // Waited through the event channel, not `wait_for`, which starts a timer thread.
        let tag = self.track(self.client.disconnect(b.finalize()));
        let deadline = Some(Instant::now() + std::time::Duration::from_secs(5));
        while let Some(ev) = self.next(deadline) {
            match ev {
                Event::Done(t, _) if t == tag => break,
                Event::Packet(p) => self.after_disconnect.push(p),
                _ => {}
            }
        }
    }
}

/// How a request ended.
pub type Outcome = Result<mqtt::ServerResponse, mqtt::Error>;

/// A request handed to [`Connection::track`] or [`Connection::track_quietly`].
struct Tracked {
    token: mqtt::Token,
    /// Set once watched: given to paho's token so that its completion wakes the channel.
    waker: Option<Waker>,
}

impl Tracked {
    /// The result, if the request has finished.
    fn poll(&mut self) -> Option<Outcome> {
        // Polling takes the token's lock: after a wake-up this waits until the completing
        // thread has let go of it (the result is stored before the wake-up). A watched
        // token keeps its waker; an unwatched one gets one that does nothing.
        let waker = self.waker.as_ref().unwrap_or(Waker::noop());
        match Pin::new(&mut self.token).poll(&mut Context::from_waker(waker)) {
            Poll::Ready(r) => Some(r),
            Poll::Pending => None,
        }
    }
}

/// Wakes the run loop when a tracked request finishes: called by paho's thread that
/// completed it (while it still holds the token's lock, so the result is fetched later,
/// by [`Connection::resolve`]).
struct Completion {
    tag: u64,
    tx: Sender<Event>,
}

impl Wake for Completion {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // The result is a placeholder: `resolve` replaces it with the token's.
        let _ = self
            .tx
            .send(Event::Done(self.tag, Err(mqtt::Error::Timeout)));
    }
}

/// paho.mqtt.c 1.3.16 reports a unix-socket connect that fails at once (no socket file,
/// nobody listening) twice: from its send thread and again from its receive thread. The
/// Rust wrapper frees the token on the first report and reads it on the second (a
/// use-after-free that corrupted the heap now and then; valgrind shows it). One extra
/// reference, never released, keeps the token valid for the second report. Costs one
/// small allocation per unix-socket connect attempt.
fn keep_if_unix(plan: &Plan, tok: &mqtt::Token) {
    if plan.port == 0 {
        std::mem::forget(tok.clone());
    }
}

/// mosquitto's text and exit code for a failed connect.
/// `waited`: how long paho tried (its connect timeout, or less when it failed sooner).
fn connect_failure(e: mqtt::Error, plan: &Plan, pub_style: bool, waited: Duration) -> Failure {
    match e {
        mqtt::Error::ConnectReturn(rc) => {
            let rc = rc as u8;
            let mut f = Failure::new(
                rc.into(),
                format!("Connection error: {}", exit::connack_string(rc)),
            );
            if pub_style {
                f = f.and(if rc <= 5 {
                    "Error: The connection was refused."
                } else {
                    "Error: A network protocol error occurred when communicating with the broker."
                });
            }
            f
        }
        mqtt::Error::ReasonCode(rc, _) => {
            let mut f = Failure::new(
                rc as i32,
                format!("Connection error: {}", exit::reason_string(rc as u8)),
            );
            if pub_style {
                f = f.and(
                    "Error: A network protocol error occurred when communicating with the broker.",
                );
            }
            f
        }
        _ if plan.websockets => crate::tls::diagnose_websocket_after(
            &plan.host,
            plan.port,
            plan.tls.as_ref(),
            waited.min(plan.connect_timeout),
        ),
        // A failure on the way through the proxy is the cause: the broker was not reached.
        // The diagnosis probe goes through the proxy too, and may find it failing there.
        _ => socks::take_failure().unwrap_or_else(|| {
            let f = crate::tls::diagnose_after(
                &plan.host,
                plan.port,
                plan.tls.as_ref(),
                waited.min(plan.connect_timeout),
            );
            socks::take_failure().unwrap_or(f)
        }),
    }
}

/// `--quiet`: leave out the message of a fault found inside paho (the exit code stays).
pub fn quiet_faults(quiet: bool) {
    paho_guard::QUIET.store(quiet, std::sync::atomic::Ordering::SeqCst);
}

/// Flush stdout and end the process without destroying the paho client: destroying it
/// stalls 0.1–1 s (paho-notes §6), and the OS frees everything anyway.
///
/// `_exit`, not `exit`: paho's threads are still running, and the C library's exit
/// handlers (OpenSSL's cleanup among them) free memory those threads may be using; after a
/// lost connection that raced into "double free" aborts.
pub fn exit_now(code: i32) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    if paho_guard::faulted() {
        paho_guard::report_and_exit();
    }
    let _ = std::io::stderr().flush();
    // SAFETY: ends the process at once; everything that must reach the user was flushed.
    unsafe { libc::_exit(code) }
}

/// `-A`: bind the local end of outgoing connections.
///
/// paho.mqtt.c creates and connects its sockets itself and has no bind option. Its calls
/// to `connect(2)` go through [`crate::seams`], which calls [`bind::before_connect`]: the
/// socket is bound to the `-A` address first (as libmosquitto does: every address the
/// name resolves to is tried in turn). Without `-A` nothing is bound.
pub(crate) mod bind {
    use crate::exit::{self, Failure};
    use std::net::{SocketAddr, ToSocketAddrs};
    use std::sync::OnceLock;

    static ADDRS: OnceLock<Vec<SocketAddr>> = OnceLock::new();

    /// Resolve `host` once; connections made from now on are bound to it.
    pub fn set(host: &str) -> Result<(), Failure> {
        let addrs: Vec<SocketAddr> = match (host, 0).to_socket_addrs() {
            Ok(a) => a.collect(),
            Err(_) => Vec::new(),
        };
        if addrs.is_empty() {
            return Err(Failure::new(
                exit::GENERAL,
                "Unable to connect (Lookup error.).",
            ));
        }
        let _ = ADDRS.set(addrs);
        Ok(())
    }

    pub(super) fn raw(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
        // SAFETY: an all-zero sockaddr_storage is valid; the right variant is filled in.
        let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let len = match addr {
            SocketAddr::V4(a) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: a.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(a.ip().octets()),
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: sockaddr_storage is larger than sockaddr_in and suitably aligned.
                unsafe { std::ptr::write((&mut ss as *mut libc::sockaddr_storage).cast(), sin) };
                std::mem::size_of::<libc::sockaddr_in>()
            }
            SocketAddr::V6(a) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: a.port().to_be(),
                    sin6_flowinfo: a.flowinfo(),
                    sin6_addr: libc::in6_addr {
                        s6_addr: a.ip().octets(),
                    },
                    sin6_scope_id: a.scope_id(),
                };
                // SAFETY: as above, for sockaddr_in6.
                unsafe { std::ptr::write((&mut ss as *mut libc::sockaddr_storage).cast(), sin6) };
                std::mem::size_of::<libc::sockaddr_in6>()
            }
        };
        (ss, len as libc::socklen_t)
    }

    /// Bind `fd` to the `-A` address before it connects to `addr` (called by the
    /// `connect` seam). False when no address could be bound (errno says why).
    ///
    /// # Safety
    /// `addr` is null or points to a valid socket address.
    pub unsafe fn before_connect(fd: libc::c_int, addr: *const libc::sockaddr) -> bool {
        let Some(binds) = ADDRS.get() else {
            return true;
        };
        if addr.is_null() {
            return true;
        }
        // SAFETY: the caller passes a valid socket address.
        let family = libc::c_int::from(unsafe { (*addr).sa_family });
        if family != libc::AF_INET && family != libc::AF_INET6 {
            return true;
        }
        binds.iter().any(|b| {
            let (ss, l) = raw(b);
            // SAFETY: a valid sockaddr of length `l`.
            unsafe { libc::bind(fd, (&ss as *const libc::sockaddr_storage).cast(), l) == 0 }
        })
    }
}

/// Guard against paho-mqtt 0.14's panics in its C message callback.
///
/// `AsyncClient::on_message_arrived` (paho-mqtt `src/async_client.rs:361-364`) unwraps
/// `str::from_utf8` and `CString::new` on the topic of every received PUBLISH. A broker
/// that sends a topic that is not UTF-8, or holds a NUL byte, makes it panic inside an
/// `extern "C"` function, which cannot unwind: the process aborts (SIGABRT) and messages
/// received just before are lost. We cannot replace that callback (the C handle is
/// private), but the panic hook runs before the abort, on paho's receive thread. There it:
/// records the fault, wakes the run loop (an [`Event::Signal`], which both run loops
/// already end on, after printing everything received before), and parks the thread
/// forever, so there is no unwinding and no abort. [`exit_now`] then prints mosquitto's
/// "Malformed UTF-8" error and exits with 18 (MOSQ_ERR_MALFORMED_UTF8). The parked
/// thread holds paho's lock, so [`Connection::disconnect`] skips paho after a fault, and
/// if the run loop does not get to `exit_now` within 5 s (mqtts-pub's loop does not stop
/// on the wake-up; a loop blocked in a paho call could not), the hook thread ends the
/// process itself, the same way.
///
/// The same fault is reported for a topic that reaches our own callback and is not UTF-8
/// (paho-mqtt's `Message::topic` would panic on it).
pub mod paho_guard {
    use super::Event;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::mpsc::Sender;

    static FAULT: AtomicBool = AtomicBool::new(false);
    static REPORTED: AtomicBool = AtomicBool::new(false);
    /// `--quiet`: the exit code still says what happened, the message is left out.
    pub(super) static QUIET: AtomicBool = AtomicBool::new(false);
    static EVENTS: Mutex<Option<Sender<Event>>> = Mutex::new(None);
    static INSTALL: std::sync::Once = std::sync::Once::new();

    thread_local! {
        /// Set while we probe a topic ourselves (its panic is expected and caught).
        static PROBING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    /// Has a malformed topic ended the connection?
    pub fn faulted() -> bool {
        FAULT.load(Ordering::SeqCst)
    }

    /// Route faults to `tx` and install the panic hook (once per process).
    pub fn install(tx: Sender<Event>) {
        if let Ok(mut g) = EVENTS.lock() {
            *g = Some(tx);
        }
        INSTALL.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if PROBING.with(|p| p.get()) {
                    return;
                }
                if is_topic_panic(info) {
                    fault();
                    // Never return: returning would unwind into C and abort.
                    std::thread::sleep(std::time::Duration::from_secs(5));
                    report_and_exit();
                }
                previous(info);
            }));
        });
    }

    /// paho-mqtt's unwrap of a received topic (UTF-8 or NUL check) in its C callback.
    fn is_topic_panic(info: &std::panic::PanicHookInfo) -> bool {
        let in_callback = info.location().is_some_and(|l| {
            l.file().contains("paho-mqtt") && l.file().ends_with("async_client.rs")
        });
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        in_callback && (msg.contains("Utf8Error") || msg.contains("NulError"))
    }

    /// Whether paho-mqtt can give `m`'s topic as text (its `topic()` panics otherwise).
    pub fn topic_ok(m: &paho_mqtt::Message) -> bool {
        PROBING.with(|p| p.set(true));
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| m.topic().len())).is_ok();
        PROBING.with(|p| p.set(false));
        ok
    }

    /// Record the fault and wake the run loop.
    pub fn fault() {
        FAULT.store(true, Ordering::SeqCst);
        let tx = EVENTS.lock().ok().and_then(|g| g.clone());
        if let Some(tx) = tx {
            let _ = tx.send(Event::Signal);
        }
    }

    /// Print the error (once) and end the process without running exit handlers (paho's
    /// receive thread may be parked inside the library).
    pub fn report_and_exit() -> ! {
        use std::io::Write;
        if !REPORTED.swap(true, Ordering::SeqCst) && !QUIET.load(Ordering::SeqCst) {
            let _ = std::io::stdout().flush();
            let msg = b"Error: Malformed UTF-8: the broker sent a message whose topic is not \
valid UTF-8 or contains a NUL byte.\n";
            // SAFETY: writing a static buffer to fd 2.
            unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
        }
        // SAFETY: ends the process; nothing else to uphold.
        unsafe { libc::_exit(crate::exit::MALFORMED_UTF8) }
    }
}
