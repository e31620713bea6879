//! mqtts-sub's run: connect, subscribe, print messages as mosquitto_sub does, reconnect
//! after a lost connection, and stop on `-C`, `-E`, `-W`, `--retained-only` or a signal.
//!
//! mosquitto_sub handles one packet at a time and acts from its callbacks (subscribe in
//! the CONNACK callback, disconnect in the SUBACK or message callback). paho works on its
//! own threads, so the run loop recreates that order: the SUBSCRIBE/UNSUBSCRIBE lines
//! follow CONNACK (`SubTrace::barrier`), events after a SUBACK wait until it has been acted
//! on (`holding`), and once the run decides to stop only its own DISCONNECT is shown.
//! Without the trace (no `-d`, no packet ids printed) only messages reach stdout: paho's
//! receive thread then prints them itself, as mosquitto_sub prints from its message
//! callback, and hands the run loop only those that change the run (`Printer`).
//!
//! # Differences from mosquitto_sub 2.0.20
//!
//! * `--remove-retained` with `-C` or `--retained-only`: the run ends (0) once the broker
//!   acknowledged every clearing PUBLISH; 2.0.20 never disconnects then (it hangs).
//! * `--nodelay` changes nothing: paho.mqtt.c always sets TCP_NODELAY on TCP sockets
//!   (on a unix socket the `-d` warning is printed as mosquitto prints it).
//! * A closed stdout ends the process by SIGPIPE (shell status 141) as 2.0.20, even when
//!   the parent started it with SIGPIPE ignored (mosquitto_sub then ends with 0).
//! * With `-d`, when messages arrive back to back, paho may trace a later packet before
//!   mosquitto would have shown it (e.g. QoS 2 flows overlapping): lines of one message
//!   stay in mosquitto's order, lines of different messages may interleave differently.

use crate::connection::{Connection, Event, exit_now, socks};
use crate::exit::{self, Failure};
use crate::format;
use crate::options::Options;
use crate::plan::{self, Plan};
use crate::request::Request;
use crate::sub_trace::SubTrace;
use crate::trace::{self, Kind, PacketEvent};
use paho_mqtt as mqtt;
use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Run mqtts-sub with parsed options; returns only through `exit_now`.
pub fn run(opts: &Options) -> ! {
    run_with(opts, None)
}

/// The run, with mqtts-rr's `request` published once subscribed (see [`crate::request`]).
pub fn run_with(opts: &Options, request: Option<Request>) -> ! {
    let code = match Sub::start(opts, request) {
        Ok(mut sub) => sub.run(),
        Err(f) => {
            f.report(opts.quiet);
            f.code
        }
    };
    exit_now(code)
}

struct Sub<'a> {
    opts: &'a Options,
    plan: Plan,
    conn: Connection,
    /// Orders `-d` lines and message output as mosquitto_sub prints them.
    trace: SubTrace,
    /// Shared with paho's receive thread when it prints messages itself (see [`Printer`]).
    printer: Arc<Mutex<Printer>>,
    out: std::io::Stdout,
    buf: Vec<u8>,
    deadline: Option<Instant>,
    /// The SUBSCRIBE request.
    suback_tag: Option<u64>,
    /// With the trace on: the request's result, kept until it can be acted on (`holding`).
    suback: Option<Result<mqtt::ServerResponse, mqtt::Error>>,
    /// paho's trace is on (for `-d` or the packet ids `-F` may print).
    traced: bool,
    /// Mark: no more messages are processed (count reached, `--retained-only` ended …).
    stopping: bool,
    /// With the trace on, the SUBACK line has been shown and the request's result not yet
    /// acted on: later events wait in `deferred` (mosquitto acts on the SUBACK before
    /// reading on).
    holding: bool,
    deferred: std::collections::VecDeque<Event>,
    /// `--remove-retained` publishes not yet acknowledged (the run ends after them).
    clears: Vec<u64>,
    /// mqtts-rr: the request to publish once subscribed.
    request: Option<Request>,
    /// mqtts-rr: the response was printed (the run ends without a DISCONNECT).
    answered: bool,
    /// mqtts-rr with the trace on: the request was handed to paho and its PUBLISH not yet
    /// traced; later events wait (mosquitto_rr publishes before it reads on).
    request_unsent: bool,
}

impl<'a> Sub<'a> {
    fn start(opts: &'a Options, request: Option<Request>) -> Result<Sub<'a>, Failure> {
        let plan = Plan::new(opts)?;
        plan.print_warnings(opts.quiet);
        let output =
            format::Output::new(opts.verbose, opts.eol, opts.format.as_deref(), opts.pretty);
        // The packet id of a received message is only in paho's trace, and it is 0 for
        // QoS 0: leave the trace (a formatted line per packet) off unless it shows.
        let need_trace = opts.debug || (opts.qos > 0 && output.needs_mid());
        // mosquitto_rr leaves SIGINT/SIGTERM to their default action.
        let conn = Connection::new(&plan, need_trace, request.is_none())?;
        let printer = Arc::new(Mutex::new(Printer {
            output,
            count: opts.count,
            random_filter: opts.random_filter,
            no_retained: opts.no_retained,
            retained_only: opts.retained_only,
            filter_out: opts.filter_out.clone(),
            counted: 0,
            random: seed(),
            open: false,
            in_flight: 0,
            failed: false,
            buf: Vec::with_capacity(4096),
        }));
        // Without the trace nothing but messages reaches stdout, so paho's receive thread
        // may print them itself, saving a hand-over per message. Not with
        // `--remove-retained` (a message makes a request) or `-E` (none are printed).
        if !need_trace && !opts.remove_retained && !opts.exit_after_sub {
            let p = printer.clone();
            conn.intercept_messages(move |m| lock(&p).direct(m));
        }
        let deadline = opts
            .timeout
            .map(|s| Instant::now() + Duration::from_secs(s.into()));
        let v3 = plan.mqtt_version != mqtt::MQTT_VERSION_5;
        let trace = SubTrace::new(
            opts.debug.then(|| trace::Debug {
                id: plan.client_id.clone(),
            }),
            v3,
            opts.topics.clone(),
            opts.qos,
            if request.is_some() {
                0
            } else {
                sub_options(opts, v3)
            },
        );
        Ok(Sub {
            trace,
            printer,
            opts,
            plan,
            conn,
            out: std::io::stdout(),
            buf: Vec::with_capacity(4096),
            deadline,
            suback_tag: None,
            suback: None,
            traced: need_trace,
            stopping: false,
            holding: false,
            deferred: Default::default(),
            clears: Vec::new(),
            request,
            answered: false,
            request_unsent: false,
        })
    }

    /// Print what the trace queue lets through; flushed as mosquitto_sub flushes.
    fn flush(&mut self) {
        self.buf.clear();
        self.trace.flush(&mut self.buf);
        if !self.buf.is_empty() {
            self.write_out();
        }
    }

    /// Write `buf` ([`write_stdout`]); a failed write makes the run stop.
    fn write_out(&mut self) {
        if write_stdout(&self.out, &self.buf).is_err() {
            self.stopping = true;
        }
    }

    fn packet(&mut self, p: &PacketEvent) {
        self.trace.packet(p);
        self.flush();
    }

    fn run(&mut self) -> i32 {
        self.nodelay_warning();
        let (seen, r) = self
            .conn
            .connect(&self.plan, self.opts, false, self.deadline);
        match r {
            Ok(rsp) => {
                for p in &seen {
                    if let (Kind::Connack, Some(d)) = (p.kind, self.trace.debug.as_mut()) {
                        d.adopt_assigned_id(&rsp);
                    }
                    self.packet(p);
                }
                self.trace.barrier(self.opts.unsubscribe.len());
            }
            Err(f) => {
                self.packets(seen);
                let f = match &self.request {
                    Some(_) => self.rr_connect_failure(f),
                    None => f,
                };
                f.report(self.opts.quiet);
                return f.code;
            }
        }
        if let Err(f) = self.subscribe() {
            f.report(self.opts.quiet);
            return f.code;
        }
        self.event_loop()
    }

    /// mosquitto logs this when `--nodelay` meets a unix socket (no TCP to tune).
    fn nodelay_warning(&mut self) {
        if self.opts.nodelay && self.plan.port == 0 {
            self.trace
                .line("Warning: Unable to set TCP_NODELAY.".into());
            self.flush();
        }
    }

    fn packets(&mut self, seen: Vec<PacketEvent>) {
        for p in &seen {
            self.packet(p);
        }
    }

    fn subscribe(&mut self) -> Result<(), Failure> {
        let topics = &self.opts.topics;
        let qos = vec![self.opts.qos as i32; topics.len()];
        // The broker answers with SUBACK and then, separately, the retained messages; its
        // Nagle would hold those until SUBACK is acknowledged (~40 ms for `-C 1`).
        crate::connection::quickack::after_next_write();
        let tok = if self.plan.is_v5() {
            // mosquitto_rr subscribes with options 0 (its -R only drops retained messages).
            let rr = self.request.is_some();
            let o = mqtt::SubscribeOptions::new(
                false,
                self.opts.retain_as_published && !rr,
                if self.opts.no_retained && !rr {
                    mqtt::RetainHandling::DontSendRetained
                } else {
                    mqtt::RetainHandling::SendRetainedOnSubscribe
                },
            );
            let sopts = vec![o; topics.len()];
            let props = plan::properties(self.opts, "subscribe")?;
            self.conn
                .client
                .subscribe_many_with_options(topics, &qos, &sopts, props)
        } else {
            self.conn.client.subscribe_many(topics, &qos)
        };
        let tag = self.conn.track(tok);
        self.suback = None;
        self.holding = false;
        for t in &self.opts.unsubscribe {
            self.trace.unsub_topics.push_back(t.clone());
            let tok = if self.plan.is_v5() {
                let props = plan::properties(self.opts, "unsubscribe")?;
                self.conn.client.unsubscribe_with_options(t.as_str(), props)
            } else {
                self.conn.client.unsubscribe(t.as_str())
            };
            self.conn.track(tok);
        }
        self.suback_tag = Some(tag);
        Ok(())
    }
}

impl Sub<'_> {
    fn event_loop(&mut self) -> i32 {
        loop {
            let ev = if !self.holding
                && let Some(ev) = self.deferred.pop_front()
            {
                Some(ev)
            } else {
                self.conn.next(self.deadline)
            };
            match ev {
                None => return self.end(4, exit::TIMEOUT, Some("Timed out")),
                Some(Event::Signal) => return self.end(4, exit::OK, None),
                Some(Event::Done(tag, r)) if Some(tag) == self.suback_tag => {
                    if self.traced {
                        // Acted on once the SUBACK line has been shown (below).
                        self.suback = Some(r);
                    } else if let Some(code) = self.subscribed(r) {
                        return code;
                    } else if !self.stopping {
                        // Only read when the receive thread prints (see `start`).
                        lock(&self.printer).open = true;
                    }
                }
                // Requests mosquitto sent before the SUBACK arrived: always shown.
                Some(Event::Packet(p))
                    if p.sent && matches!(p.kind, Kind::Subscribe | Kind::Unsubscribe) =>
                {
                    self.packet(&p)
                }
                Some(Event::Packet(p))
                    if p.sent && p.kind == Kind::Publish && self.request_unsent =>
                {
                    self.request_unsent = false;
                    self.holding = false;
                    self.packet(&p)
                }
                Some(ev) if self.holding => self.deferred.push_back(ev),
                // paho sends (and traces) a DISCONNECT of its own when the connection
                // drops; mosquitto shows none. Ours goes out in `end`.
                Some(Event::Packet(p)) if p.sent && p.kind == Kind::Disconnect => {}
                Some(Event::Packet(p)) => {
                    if !p.sent && p.kind == Kind::Suback {
                        // mosquitto acts on the SUBACK before reading further packets:
                        // later events wait until the result is known.
                        self.holding = true;
                    }
                    self.packet(&p);
                }
                Some(Event::Message(m)) => self.message(&m),
                Some(Event::Done(tag, _)) => self.clears.retain(|&t| t != tag),
                Some(Event::Lost) if self.request.is_some() => {
                    // mosquitto_rr does not reconnect.
                    self.release_all();
                    if !self.opts.quiet {
                        eprintln!("Error: The connection was lost.");
                    }
                    return exit::CONN_LOST;
                }
                Some(Event::Lost) => {
                    if let Some(code) = self.reconnect() {
                        return code;
                    }
                }
            }
            if self.holding && self.suback.is_some() && !self.trace.awaiting_sends() {
                self.holding = false;
                if let Some(r) = self.suback.take()
                    && let Some(code) = self.subscribed(r)
                {
                    return code;
                }
                // mqtts-rr: hold on until the request's PUBLISH is traced.
                self.holding = self.request_unsent;
            }
            if self.stopping && self.trace.is_idle() && self.clears.is_empty() {
                return self.end(0, exit::OK, None);
            }
        }
    }

    /// DISCONNECT (v5 `reason`), show the last trace lines, say `msg`, return `code`.
    fn end(&mut self, reason: u8, code: i32, msg: Option<&str>) -> i32 {
        // The receive thread prints nothing more (a message it is printing is finished).
        lock(&self.printer).open = false;
        self.release_all();
        self.stopping = true;
        let reason = if self.plan.is_v5() { reason } else { 0 };
        let props = plan::properties(self.opts, "disconnect").unwrap_or_default();
        if !self.answered {
            // mosquitto_rr ends without a DISCONNECT once the response was printed.
            self.conn.disconnect(reason, props);
        }
        // mosquitto reads nothing more once it decided to disconnect: only its own
        // DISCONNECT is shown.
        while let Some(ev) = self.conn.try_next() {
            if let Event::Packet(p) = ev
                && p.sent
                && p.kind == Kind::Disconnect
            {
                self.packet(&p);
            }
        }
        self.release_all();
        if let Some(m) = msg
            && !self.opts.quiet
        {
            eprintln!("{m}");
        }
        code
    }

    /// Print everything still waiting (acknowledgements will not be traced any more).
    fn release_all(&mut self) {
        self.buf.clear();
        self.trace.flush_all(&mut self.buf);
        self.write_out();
    }

    /// A message handed to the run loop (every message without direct printing).
    fn message(&mut self, m: &mqtt::Message) {
        let printer = self.printer.clone();
        let mut p = lock(&printer);
        if p.failed {
            // A write on the receive thread failed: stop, as after a failed write here.
            p.failed = false;
            self.stopping = true;
        }
        self.handle(&mut p, m);
        if self.stopping {
            p.open = false;
        }
        // Only now (its output written) may the receive thread print later messages.
        p.in_flight = p.in_flight.saturating_sub(1);
    }

    fn handle(&mut self, p: &mut Printer, m: &mqtt::Message) {
        let qos = m.qos() as u8;
        let retained = m.retained();
        let mid = self
            .trace
            .message(m.topic(), qos, retained, m.payload().len());
        if self.stopping {
            self.flush();
            return;
        }
        if p.ends_without(retained) {
            self.stopping = true;
            self.flush();
            return;
        }
        if p.dropped(m.topic(), retained) {
            self.flush();
            return;
        }
        let clear = self.opts.remove_retained && retained;
        if clear {
            self.trace.clearing(m.topic());
            let msg = mqtt::Message::new_retained(m.topic(), Vec::new(), 1);
            let tok = self.conn.client.publish(msg);
            let tag = self.conn.track(tok);
            self.clears.push(tag);
        }
        let mut bytes = Vec::new();
        if p.print(m, mid, &mut bytes) {
            self.stopping = true;
            self.answered = self.request.is_some();
        }
        self.trace.output(mid, qos, bytes, clear);
        self.flush();
    }

    /// The SUBACK arrived (or the subscription failed).
    fn subscribed(&mut self, r: Result<mqtt::ServerResponse, mqtt::Error>) -> Option<i32> {
        let codes: Vec<i32> = match &r {
            Ok(rsp) => match rsp.request_response() {
                mqtt::RequestResponse::SubscribeMany(v) => v.clone(),
                mqtt::RequestResponse::Subscribe(c) => vec![*c],
                _ => Vec::new(),
            },
            Err(_) => vec![0x80; self.opts.topics.len()],
        };
        if self.request.is_some() {
            return self.rr_subscribed(&codes);
        }
        if !self.opts.quiet {
            let list: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
            let line = format!(
                "Subscribed (mid: {}): {}",
                self.trace.sub_mid,
                list.join(", ")
            );
            self.trace.line(line);
            self.flush();
        }
        if codes.iter().all(|&c| c >= 0x80) {
            if !self.opts.quiet {
                eprintln!("All subscription requests were denied.");
            }
            return Some(self.end(0, exit::OK, None));
        }
        if self.opts.exit_after_sub {
            return Some(self.end(0, exit::OK, None));
        }
        None
    }

    /// mosquitto_sub reconnects a second after a lost connection, silently, forever, and
    /// subscribes again. Some(code) ends the run.
    fn reconnect(&mut self) -> Option<i32> {
        self.release_all();
        // Unacknowledged clearing publishes died with the connection.
        self.clears.clear();
        loop {
            let pause = Instant::now() + Duration::from_secs(1);
            let until = self.deadline.map_or(pause, |d| d.min(pause));
            loop {
                match self.conn.next(Some(until)) {
                    Some(Event::Signal) => return Some(exit::OK),
                    Some(Event::Packet(p)) if p.sent && p.kind == Kind::Disconnect => {}
                    Some(Event::Packet(p)) => self.packet(&p),
                    None => break,
                    Some(Event::Message(_)) => {
                        let mut p = lock(&self.printer);
                        p.in_flight = p.in_flight.saturating_sub(1);
                    }
                    Some(_) => {}
                }
            }
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                return Some(self.timed_out());
            }
            self.nodelay_warning();
            let (seen, r) = self.conn.reconnect(&self.plan, self.deadline, false);
            self.packets(seen);
            match r {
                Ok(_) => {
                    self.trace.reconnected();
                    self.trace.barrier(self.opts.unsubscribe.len());
                    if let Err(f) = self.subscribe() {
                        f.report(self.opts.quiet);
                        return Some(f.code);
                    }
                    return None;
                }
                // -W or a signal while reconnecting: mosquitto_sub has seen a CONNACK
                // before, so it ends as after one (27 with "Timed out", or 0).
                Err(f) if f.code == exit::BEFORE_CONNACK => {
                    if self.deadline.is_some_and(|d| Instant::now() >= d) {
                        return Some(self.timed_out());
                    }
                    return Some(exit::OK);
                }
                // The broker not reachable (yet): try again, as mosquitto_sub does; through
                // a proxy, that is the proxy's "could not reach the broker".
                Err(f) if f.code == exit::GENERAL => {}
                Err(f) if self.plan.proxy.is_some() && f.code == socks::NO_CONN => {}
                Err(f) => {
                    f.report(self.opts.quiet);
                    return Some(f.code);
                }
            }
        }
    }
}

impl Sub<'_> {
    /// mqtts-rr's SUBACK: publish the request, or (refused) say why and end with 0.
    fn rr_subscribed(&mut self, codes: &[i32]) -> Option<i32> {
        let code = codes.first().copied().unwrap_or(0x80);
        if code >= 0x80 {
            if !self.opts.quiet {
                eprintln!("{}", exit::reason_string(code as u8));
            }
            return Some(self.end(0, exit::OK, None));
        }
        if let Some(req) = &self.request {
            self.trace.publishing(&req.topic);
            let tok = self.conn.client.publish(req.message(&self.plan));
            self.conn.track_quietly(tok);
            self.request_unsent = self.traced;
        }
        None
    }

    /// mqtts-rr's connect failure: `-W` before CONNACK is `Timed out` (27) and refusals
    /// are worded as mosquitto_rr words them.
    fn rr_connect_failure(&self, f: Failure) -> Failure {
        if f.code == exit::BEFORE_CONNACK && self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Failure::new(exit::TIMEOUT, "Timed out");
        }
        crate::request::refused(f)
    }

    /// `-W` fired while not connected: "Timed out", 27.
    fn timed_out(&mut self) -> i32 {
        let _ = self.out.flush();
        if !self.opts.quiet {
            eprintln!("Timed out");
        }
        exit::TIMEOUT
    }
}

/// What decides and renders a message's output. The run loop uses it for the messages it
/// handles; when nothing else reaches stdout (no `-d`, no packet ids shown), paho's
/// receive thread also prints messages with it directly ([`Printer::direct`]), as
/// mosquitto_sub prints from its message callback, without a hand-over to the run loop.
struct Printer {
    output: format::Output,
    count: Option<u32>,
    random_filter: f64,
    no_retained: bool,
    retained_only: bool,
    filter_out: Vec<String>,
    counted: u32,
    random: u64,
    /// The receive thread may print (set once subscribed, cleared when the run stops).
    open: bool,
    /// Messages handed to the run loop and not yet printed by it: later ones must wait
    /// behind them (stdout keeps the arrival order).
    in_flight: usize,
    /// A write from the receive thread failed (not a closed pipe): the run loop stops.
    failed: bool,
    buf: Vec<u8>,
}

impl Printer {
    /// On paho's receive thread: print `m` here, or hand it back for the run loop when it
    /// may change the run's state (the last message of `-C`, `--retained-only` ending),
    /// direct printing is not open, or messages handed over before still wait.
    fn direct(&mut self, m: mqtt::Message) -> Option<mqtt::Message> {
        let retained = m.retained();
        let ends = self.ends_without(retained)
            || self
                .count
                .is_some_and(|c| self.counted.saturating_add(1) >= c);
        if self.open && self.in_flight == 0 && !ends {
            if self.dropped(m.topic(), retained) {
                return None;
            }
            let mut buf = std::mem::take(&mut self.buf);
            buf.clear();
            self.print(&m, 0, &mut buf);
            let ok = write_stdout(&std::io::stdout(), &buf).is_ok();
            self.buf = buf;
            if ok {
                return None;
            }
            self.failed = true;
            self.open = false;
        }
        self.in_flight += 1;
        Some(m)
    }

    /// `--retained-only` and a message that is not retained: the run ends without it.
    fn ends_without(&self, retained: bool) -> bool {
        self.retained_only && !retained
    }

    /// `--no-retained` / `-T`: not printed and not counted.
    fn dropped(&self, topic: &str, retained: bool) -> bool {
        (retained && self.no_retained) || self.filter_out.iter().any(|f| topic_matches(f, topic))
    }

    /// Render `m` into `out` (unless `--random-filter` leaves it out) and count it;
    /// whether that reached `-C`.
    fn print(&mut self, m: &mqtt::Message, mid: u16, out: &mut Vec<u8>) -> bool {
        if self.chosen() {
            self.render(m, mid, out);
        }
        self.counted += 1;
        self.count.is_some_and(|c| self.counted >= c)
    }

    /// `--random-filter`: print this message?
    fn chosen(&mut self) -> bool {
        if self.random_filter >= 100.0 {
            return true;
        }
        // xorshift64*
        self.random ^= self.random >> 12;
        self.random ^= self.random << 25;
        self.random ^= self.random >> 27;
        let r = self.random.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        (r as f64 / (1u64 << 53) as f64) * 100.0 < self.random_filter
    }

    /// The bytes mosquitto_sub prints for `m` (default, `-v`, `-F`, JSON).
    fn render(&self, m: &mqtt::Message, mid: u16, out: &mut Vec<u8>) {
        let props = if m.properties().is_empty() {
            Vec::new()
        } else {
            format::properties_from_paho(m.properties())
        };
        let msg = format::Received {
            topic: m.topic(),
            payload: m.payload(),
            qos: m.qos() as u8,
            retain: m.retained(),
            mid,
            properties: &props,
        };
        if let Some(warning) = self.output.write_message(&msg, out) {
            eprint!("{warning}");
        }
    }
}

/// The printer, even if a thread panicked while holding it.
fn lock(p: &Mutex<Printer>) -> MutexGuard<'_, Printer> {
    p.lock().unwrap_or_else(|e| e.into_inner())
}

/// Write `buf` to stdout and flush (one write for a message, as mosquitto_sub's fflush).
/// A closed pipe ends the process as SIGPIPE ends mosquitto_sub (paho ignores SIGPIPE for
/// its sockets, so the write just fails here); other errors are returned (mosquitto_sub
/// disconnects on `ferror`).
fn write_stdout(out: &std::io::Stdout, buf: &[u8]) -> std::io::Result<()> {
    if buf.is_empty() {
        return Ok(());
    }
    let mut lock = out.lock();
    match lock.write_all(buf).and_then(|_| lock.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            // SAFETY: plain libc calls; the default action ends the process.
            unsafe {
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
                libc::raise(libc::SIGPIPE);
            }
            std::process::exit(exit::GENERAL);
        }
        r => r,
    }
}

/// Subscription options byte as mosquitto shows it (0 on MQTT 3.x).
fn sub_options(opts: &Options, v3: bool) -> u8 {
    if v3 {
        return 0;
    }
    let mut o = 0;
    if opts.no_retained {
        o |= 0x20;
    }
    if opts.retain_as_published {
        o |= 0x08;
    }
    o
}

/// Does topic `name` match subscription `filter` (with `+` and `#`)?
pub fn topic_matches(filter: &str, name: &str) -> bool {
    // Topics starting with $ are not matched by wildcards at the first level.
    if name.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut n = name.split('/');
    loop {
        match (f.next(), n.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

fn seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    (t ^ (std::process::id() as u64) << 32) | 1
}

#[cfg(test)]
mod tests {
    use super::topic_matches;

    #[test]
    fn filters() {
        assert!(topic_matches("a/#", "a"));
        assert!(topic_matches("a/#", "a/b/c"));
        assert!(topic_matches("a/+/c", "a/b/c"));
        assert!(!topic_matches("a/+", "a/b/c"));
        assert!(topic_matches("#", "x/y"));
        assert!(!topic_matches("#", "$SYS/x"));
        assert!(topic_matches("a/b", "a/b"));
        assert!(!topic_matches("a/b", "a/bc"));
        assert!(topic_matches("+/+", "/x"));
    }
}
