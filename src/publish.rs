//! mqtts-pub's run: load the message, connect, publish (once, `--repeat` times, or one
//! message per stdin line with `-l`), wait for every acknowledgement, disconnect, exit.

use crate::connection::{Connection, Event, Outcome, exit_now};
use crate::exit::{self, Failure};
use crate::options::{MessageSource, Options, Protocol};
use crate::plan::{self, Plan};
use crate::trace::{self, Kind, PacketEvent};
use paho_mqtt as mqtt;
use std::collections::VecDeque;
use std::io::{BufRead, Read, Write};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::{Duration, Instant};

mod reconnect;

/// A PUBLISH naming the topic went out on this connection (`-D publish topic-alias`:
/// the ones after it carry only the alias).
static TOPIC_NAMED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Largest MQTT payload (mosquitto's limit).
const MAX_PAYLOAD: usize = 268_435_455;
/// MQTT v5 property identifier of Topic Alias.
const TOPIC_ALIAS: u8 = 0x23;
/// Most publishes that may be waiting for completion at once with `-l` (bounds memory).
const LINE_WINDOW: usize = crate::connection::MAX_QUEUED / 2;
/// Most payload bytes that may be waiting for completion at once with `-l`.
const WINDOW_BYTES: usize = 64 << 20;

/// Run mqtts-pub with parsed options; returns only through `exit_now`.
pub fn run(opts: &Options) -> ! {
    let code = match publish(opts) {
        Ok(code) => code,
        Err(f) => {
            f.report(opts.quiet);
            f.code
        }
    };
    exit_now(code)
}

/// Read `-f`/`-s` input before connecting, as mosquitto does.
pub fn load(source: &MessageSource) -> Result<Vec<u8>, Failure> {
    match source {
        MessageSource::Message(m) => Ok(m.clone()),
        MessageSource::Null | MessageSource::StdinLine => Ok(Vec::new()),
        MessageSource::File(path) => {
            let shown = path.display();
            let failed = |first: String, blank: bool| {
                let mut lines = vec![first];
                if blank {
                    lines.push(String::new());
                }
                lines.push(format!("Error loading input file \"{shown}\"."));
                Failure::with_lines(exit::GENERAL, lines)
            };
            let mut file = std::fs::File::open(path)
                .map_err(|_| failed(format!("Error: Unable to open file \"{shown}\"."), false))?;
            // Check the size before reading anything, as mosquitto does.
            let meta = file.metadata();
            let size = meta.as_ref().map(|m| m.len()).unwrap_or(0);
            // (A directory opens, and its size shows as huge to mosquitto's ftell.)
            if size > MAX_PAYLOAD as u64 || meta.is_ok_and(|m| m.is_dir()) {
                return Err(failed(
                    format!("Error: File must be less than {MAX_PAYLOAD} bytes."),
                    true,
                ));
            }
            let mut data = Vec::with_capacity(size as usize);
            let read = (&mut file)
                .take(MAX_PAYLOAD as u64 + 1)
                .read_to_end(&mut data);
            if read.is_err() {
                return Err(failed(
                    format!("Error: Unable to determine size of file \"{shown}\"."),
                    false,
                ));
            }
            if data.len() > MAX_PAYLOAD {
                return Err(failed(
                    format!("Error: File must be less than {MAX_PAYLOAD} bytes."),
                    true,
                ));
            }
            Ok(data)
        }
        MessageSource::StdinFile => {
            let mut data = Vec::new();
            let _ = std::io::stdin()
                .lock()
                .take(MAX_PAYLOAD as u64 + 1)
                .read_to_end(&mut data);
            if data.len() > MAX_PAYLOAD {
                return Err(Failure::with_lines(
                    exit::GENERAL,
                    vec![
                        format!("Error: Message length must be less than {MAX_PAYLOAD} bytes."),
                        String::new(),
                        "Error loading input from stdin.".into(),
                    ],
                ));
            }
            if data.is_empty() {
                return Err(Failure::with_lines(
                    exit::GENERAL,
                    vec![
                        "Error: Zero length input.".into(),
                        "Error loading input from stdin.".into(),
                    ],
                ));
            }
            Ok(data)
        }
    }
}

/// Prints `-d` lines for a publisher: completes paho's packet events with the topic and
/// mosquitto's own message counter.
struct Tracer {
    debug: Option<trace::Debug>,
    out: std::io::BufWriter<std::io::Stdout>,
    /// stdout is a terminal: show each line at once (C's stdio is line-buffered there,
    /// block-buffered in a pipe, and mosquitto_pub prints through it).
    tty: bool,
    topic: String,
    /// `-D publish topic-alias N`: PUBLISH packets after the first carry no topic, which
    /// mosquitto shows as `(null)`.
    topic_alias: bool,
    publishes_shown: u64,
    /// mosquitto numbers QoS 0 publishes too (m1, m2, …).
    qos0_mid: u16,
    /// Set when we send DISCONNECT: paho also traces one while it tears down a lost
    /// connection, which mosquitto does not show.
    disconnecting: bool,
    /// `--topic-separator` with `-d`: the topics of the lines handed in and not yet shown
    /// (paho's trace line has no topic; PUBLISH packets go out in hand-in order).
    line_topics: Option<VecDeque<String>>,
}

impl Tracer {
    /// Render `ev` (a received PUBACK/PUBCOMP carries its v5 reason code, read off the
    /// packet by [`crate::tap`]).
    fn show(&mut self, ev: &PacketEvent) {
        if ev.kind == Kind::Disconnect && ev.sent && !self.disconnecting {
            return;
        }
        let Some(d) = &self.debug else { return };
        let mid = if ev.kind == Kind::Publish && ev.qos == 0 {
            self.qos0_mid = self.qos0_mid.wrapping_add(1);
            self.qos0_mid
        } else {
            ev.msgid
        };
        let mut topic = self.topic.as_str();
        let line_topic;
        if ev.kind == Kind::Publish && ev.sent {
            if self.topic_alias && self.publishes_shown > 0 {
                topic = "(null)";
            }
            self.publishes_shown += 1;
            if let Some(t) = self.line_topics.as_mut().and_then(|q| q.pop_front()) {
                line_topic = t;
                topic = &line_topic;
            }
        }
        if let Some(line) = d.line(ev, topic, mid) {
            let _ = writeln!(self.out, "{line}");
            if self.tty {
                let _ = self.out.flush();
            }
        }
    }

    /// End of run: write out what is buffered.
    fn finish(&mut self) {
        let _ = self.out.flush();
    }
}

/// One publish handed to the connection and not yet completed.
struct Outstanding {
    tag: u64,
    /// The packet identifier mosquitto (and paho) give it: 1, 2, … per connection.
    mid: u16,
    bytes: usize,
    /// Kept to publish it again if it ends without the broker's answer (`-l`: reconnect).
    msg: Option<mqtt::Message>,
}

/// Publishes handed to the connection and not yet completed, oldest first.
/// Completions arrive in the order paho finished them (see `Connection::track`); quiet
/// ones are reaped in the order they were handed in (see [`sweep`]).
#[derive(Default)]
struct Pending {
    queue: VecDeque<Outstanding>,
    bytes: usize,
    /// Publishes handed in so far.
    sent: u64,
    /// Publishes that ended without the broker's confirmation (connection gone).
    failed: u64,
    /// Kept messages that ended without the broker's answer: published again once
    /// connected (see [`recover`]).
    retry: Vec<mqtt::Message>,
    /// Publishes handed in again after a reconnect (counted in `sent` too).
    resent: u64,
    /// SIGINT or SIGTERM came (`-l`): the run ends in [`reconnect::recover`].
    signalled: bool,
    /// `-l`: what is published are lines (else messages, `--repeat`).
    lines: bool,
    /// Publishes the broker confirmed (or refused with a reason code).
    confirmed: u64,
    /// Connections lost in a row with publishes outstanding and none confirmed in
    /// between (see [`reconnect::recover`]).
    fruitless: u32,
    /// `confirmed` when the connection was last made again.
    confirmed_at_reconnect: u64,
    /// Rounds in a row of publishes failing on a standing connection, none confirmed.
    stalled: u32,
    /// The last error a publish ended with (not a broker's reason code).
    last_error: Option<String>,
    /// The topic (a message kept with only a topic alias is published again with it).
    topic: String,
    /// Completions are not reported one by one (see [`Connection::track_quietly`]): they
    /// are reaped in hand-in order by [`sweep`].
    quiet: bool,
}

impl Pending {
    fn add(&mut self, tag: u64, bytes: usize, msg: Option<mqtt::Message>) {
        self.sent += 1;
        // paho numbers outgoing packets 1..=65535 and wraps, like mosquitto's mid counter.
        let mid = ((self.sent - 1) % 65535 + 1) as u16;
        self.queue.push_back(Outstanding {
            tag,
            mid,
            bytes,
            msg,
        });
        self.bytes += bytes;
        abort_guard::SENT.store(self.sent, Ordering::Relaxed);
    }

    /// Take the publish `tag` out (it finished).
    fn take(&mut self, tag: u64) -> Option<Outstanding> {
        let i = if self.queue.front().map(|o| o.tag) == Some(tag) {
            0
        } else {
            self.queue.iter().position(|o| o.tag == tag)?
        };
        let o = self.queue.remove(i)?;
        self.bytes -= o.bytes;
        abort_guard::DONE.fetch_add(1, Ordering::Relaxed);
        Some(o)
    }

    #[cfg(test)]
    fn complete(&mut self, tag: u64) -> u16 {
        self.take(tag).map_or(0, |o| o.mid)
    }

    fn len(&self) -> usize {
        self.queue.len()
    }

    /// Sent but not confirmed (still outstanding, waiting to be sent again, or failed).
    fn unconfirmed(&self) -> u64 {
        self.queue.len() as u64 + self.retry.len() as u64 + self.failed
    }
}

fn publish(opts: &Options) -> Result<i32, Failure> {
    let source = opts.message.clone().unwrap_or(MessageSource::Null);
    let payload = load(&source)?;
    let topic = opts.topics.last().cloned().unwrap_or_default();
    let topic_alias = opts.protocol == Protocol::V5
        && opts
            .properties
            .iter()
            .any(|p| p.command == "publish" && p.id == TOPIC_ALIAS);
    let plan = Plan::new(opts)?;
    plan.print_warnings(opts.quiet);
    // -l: a signal ends the run after saying how many lines were not confirmed.
    let lines = source == MessageSource::StdinLine;
    let mut conn = Connection::new(&plan, opts.debug, lines)?;
    // Acknowledgements come in bursts: one read for many (a subscriber does not gain).
    crate::connection::read_ahead::enable();
    let mut tr = Tracer {
        debug: opts.debug.then(|| trace::Debug {
            id: plan.client_id.clone(),
        }),
        out: std::io::BufWriter::new(std::io::stdout()),
        // SAFETY: isatty only inspects the descriptor.
        tty: unsafe { libc::isatty(1) } == 1,
        topic: topic.clone(),
        topic_alias,
        publishes_shown: 0,
        qos0_mid: 0,
        disconnecting: false,
        line_topics: (opts.debug && opts.topic_separator.is_some()).then(VecDeque::new),
    };
    let (seen, connected) = conn.connect(&plan, opts, true, None);
    for p in &seen {
        if let (Kind::Connack, Ok(rsp), Some(d)) = (p.kind, &connected, tr.debug.as_mut()) {
            d.adopt_assigned_id(rsp);
        }
        tr.show(p);
    }
    drain(&mut conn, &mut tr);
    if let (Err(f), Some(sig)) = (&connected, crate::connection::last_signal())
        && f.code == exit::BEFORE_CONNACK
    {
        tr.finish();
        crate::connection::die_by(sig);
    }
    let connack = connected?;
    let retain = opts.retain && retain_allowed(&connack, opts.quiet);
    // v5: the largest packet the broker accepts (CONNACK Maximum Packet Size).
    let broker_max = connack
        .properties()
        .get_int(mqtt::PropertyCode::MaximumPacketSize)
        .map(|v| v as u32 as usize);

    let props = plan::properties(opts, "publish")?;
    abort_guard::install(opts.quiet);
    let mut pending = Pending {
        topic: topic.clone(),
        ..Default::default()
    };
    let make_on = |name: &str, body: Vec<u8>| {
        let mut m = mqtt::MessageBuilder::new()
            .topic(name)
            .payload(body)
            .qos(opts.qos as i32)
            .retained(retain);
        if plan.is_v5() {
            m = m.properties(props.clone());
        }
        m.finalize()
    };
    // With a topic alias only the first PUBLISH on a connection names the topic (as
    // mosquitto_pub; a reconnect starts again, see `reconnect::recover`).
    let make = |body: Vec<u8>| {
        let name = if topic_alias && TOPIC_NAMED.swap(true, Ordering::Relaxed) {
            ""
        } else {
            topic.as_str()
        };
        make_on(name, body)
    };
    // -l --topic-separator: each line names its topic.
    let mut splitter = opts
        .topic_separator
        .as_deref()
        .map(|sep| crate::topic_lines::Splitter::new(sep, opts.quiet));

    let result = if !plan.is_v5() && !props.is_empty() {
        // mosquitto_pub's library refuses PUBLISH properties on MQTT 3.x ("not supported")
        // and mosquitto_pub then disconnects and exits 0 without a word. We do the same
        // but say so (a documented difference).
        if !opts.quiet {
            let _ = tr.out.flush();
            eprintln!(
                "Warning: PUBLISH properties (-D publish) need MQTT v5; nothing was published."
            );
        }
        Ok(())
    } else if source == MessageSource::StdinLine {
        let window = line_window(opts.qos, opts.max_inflight, topic_alias);
        let limit = Limit {
            broker_max,
            v5: plan.is_v5(),
        };
        let mut make_line = |line: Vec<u8>| match splitter.as_mut() {
            None => Some(make(line)),
            Some(s) => s.take(line).map(|(t, body)| make_on(&t, body)),
        };
        line_loop(
            &mut conn,
            &mut tr,
            &mut pending,
            &mut make_line,
            window,
            limit,
            &plan,
            opts.quiet,
        )
    } else {
        // The last publish takes the payload itself (one copy less of up to 256 MB).
        let payload = std::cell::RefCell::new(payload);
        let limit = Limit {
            broker_max,
            v5: plan.is_v5(),
        };
        // --repeat N: a lost connection is reconnected (a single publish ends with 7, as
        // mosquitto_pub).
        let redial = (opts.repeat > 1).then_some(&plan);
        repeat_loop(
            &mut conn,
            &mut tr,
            &mut pending,
            opts,
            limit,
            redial,
            |last| {
                make(if last {
                    std::mem::take(&mut *payload.borrow_mut())
                } else {
                    payload.borrow().clone()
                })
            },
        )
    };
    if let Err(f) = result {
        tr.finish();
        return Err(f);
    }
    tr.disconnecting = true;
    conn.disconnect(0, plan::properties(opts, "disconnect")?);
    drain(&mut conn, &mut tr);
    tr.finish();
    // -l: a signal that came while finishing (not yet seen by the loop) still ends the
    // process as it would end mosquitto_pub.
    if let Some(sig) = crate::connection::signal_sent() {
        crate::connection::die_by(sig);
    }
    match splitter.and_then(|s| s.failure()) {
        Some(f) => Err(f),
        None => Ok(exit::OK),
    }
}

/// mosquitto's message for a publish larger than the broker's Maximum Packet Size.
const OVERSIZE: &str = "Error: Packet larger than supported by the server.";

/// What limits the size of one PUBLISH.
#[derive(Clone, Copy)]
struct Limit {
    /// The broker's Maximum Packet Size (v5 CONNACK), if it gave one.
    broker_max: Option<usize>,
    v5: bool,
}

impl Limit {
    /// The PUBLISH's remaining length: topic, packet id, v5 properties (with their length
    /// field, as mosquitto counts them), payload.
    fn remaining_length(&self, m: &mqtt::Message) -> usize {
        let id = if m.qos() == mqtt::QoS::AtMostOnce {
            0
        } else {
            2
        };
        let props = if self.v5 {
            m.properties().byte_len()
        } else {
            0
        };
        2 + m.topic().len() + id + props + m.payload().len()
    }

    /// Whether the packet exceeds the broker's maximum, counted as mosquitto's library
    /// counts it (remaining length and its own length bytes, not the first header byte),
    /// so that the same messages are refused.
    fn too_big_for_broker(&self, m: &mqtt::Message) -> bool {
        let Some(max) = self.broker_max else {
            return false;
        };
        let remaining = self.remaining_length(m);
        let length_bytes = match remaining {
            0..=127 => 1,
            128..=16_383 => 2,
            16_384..=2_097_151 => 3,
            _ => 4,
        };
        length_bytes + remaining > max
    }
}

/// `-r` against a v5 broker whose CONNACK says Retain Available = 0: like mosquitto_pub
/// (its library clears the flag), publish without retain, but say so on stderr.
fn retain_allowed(connack: &mqtt::ServerResponse, quiet: bool) -> bool {
    let available = connack
        .properties()
        .get_int(mqtt::PropertyCode::RetainAvailable)
        .is_none_or(|v| v != 0);
    if !available && !quiet {
        eprintln!(
            "Warning: the broker does not support retained messages (Retain Available 0 in \
             its CONNACK); publishing without the retain flag."
        );
    }
    available
}

/// Render the events already waiting.
fn drain(conn: &mut Connection, tr: &mut Tracer) {
    while let Some(ev) = conn.try_next() {
        if let Event::Packet(p) = ev {
            tr.show(&p);
        }
    }
}

/// How a run without `-l` ends when the connection goes: mosquitto's message and code.
fn lost(pending: &Pending) -> Failure {
    let f = Failure::new(exit::CONN_LOST, "Error: The connection was lost.");
    match pending.unconfirmed() {
        0 => f,
        1 => f.and("1 message was not confirmed by the broker."),
        n => f.and(format!("{n} messages were not confirmed by the broker.")),
    }
}

/// `-m/-f/-s/-n`: publish `--repeat` times, each after the previous one completed and
/// `--repeat-delay` passed (mosquitto_pub's order).
fn repeat_loop(
    conn: &mut Connection,
    tr: &mut Tracer,
    pending: &mut Pending,
    opts: &Options,
    limit: Limit,
    redial: Option<&Plan>,
    message: impl Fn(bool) -> mqtt::Message,
) -> Result<(), Failure> {
    // After a lost connection: reconnect (`redial`) or end with mosquitto's message.
    let on_lost = |conn: &mut Connection, tr: &mut Tracer, pending: &mut Pending| match redial {
        Some(plan) => reconnect::recover(conn, tr, pending, plan, opts.quiet),
        None => Err(lost(pending)),
    };
    for i in 0..opts.repeat.max(1) {
        if i > 0 && !opts.repeat_delay.is_zero() {
            // Keep handling events (trace lines, a lost connection) while waiting.
            let until = Instant::now() + opts.repeat_delay;
            while let Some(ev) = conn.next(Some(until)) {
                if handle(conn, ev, tr, pending, opts.quiet).is_err() {
                    on_lost(conn, tr, pending)?;
                }
            }
        }
        let m = message(i + 1 == opts.repeat.max(1));
        let bytes = m.payload().len();
        // The whole packet must fit MQTT's largest remaining length, or mosquitto's
        // library refuses the publish: a message, no PUBLISH, DISCONNECT, exit 0.
        if limit.remaining_length(&m) > MAX_PAYLOAD {
            // mosquitto logs the PUBLISH before its library finds it too large.
            tr.show(&PacketEvent {
                sent: true,
                kind: Kind::Publish,
                msgid: ((pending.sent % 65535) + 1) as u16,
                qos: opts.qos,
                retained: m.retained(),
                dup: false,
                len: bytes,
                rc: 0,
            });
            if !opts.quiet {
                let _ = tr.out.flush();
                eprintln!("Error: Message payload is too large.");
            }
            return Ok(());
        }
        // Larger than the broker accepts: mosquitto's library refuses it too, and
        // mosquitto_pub then disconnects and exits 0 without a word; we say why.
        if limit.too_big_for_broker(&m) {
            if !opts.quiet {
                let _ = tr.out.flush();
                eprintln!("{OVERSIZE}");
            }
            return Ok(());
        }
        let kept = redial.map(|_| m.clone());
        let tag = conn.track(conn.client.publish(m));
        pending.add(tag, bytes, kept);
        while wait_until(conn, tr, pending, 0, opts.quiet).is_err() {
            on_lost(conn, tr, pending)?;
        }
    }
    Ok(())
}

/// Outstanding payload above which paho needs nudging (see [`next_event`]).
const NUDGE_BYTES: usize = 64 * 1024;
const NUDGE_EVERY: Duration = Duration::from_millis(5);

unsafe extern "C" {
    /// paho.mqtt.c's (internal) wake-up of its receive thread, linked in statically.
    fn Socket_interrupt() -> libc::c_int;
}

/// The next event while publishes are outstanding.
///
/// paho.mqtt.c continues a partly written packet only when its receive thread wakes up,
/// which, with nothing else going on, is once a second: a 20 MB publish took 4 s and a
/// 256 MB one a minute. While much payload is outstanding, wake that thread every few
/// milliseconds (the wake-up paho itself uses when a socket is added or closed).
fn next_event(conn: &Connection, pending: &Pending) -> Option<Event> {
    if pending.bytes < NUDGE_BYTES {
        return conn.next(None);
    }
    loop {
        if let Some(ev) = conn.next(Some(Instant::now() + NUDGE_EVERY)) {
            return Some(ev);
        }
        // SAFETY: sends one byte on paho's own wake-up socket pair.
        unsafe { Socket_interrupt() };
    }
}

/// Handle one event. Err: the connection is gone.
fn handle(
    conn: &Connection,
    ev: Event,
    tr: &mut Tracer,
    pending: &mut Pending,
    quiet: bool,
) -> Result<(), ()> {
    match ev {
        Event::Packet(p) => tr.show(&p),
        Event::Done(tag, r) => {
            // The ones handed in before it first, in order (those that finished). Each
            // step runs even if one before it failed: `r` is this publish's only copy of
            // its result (its token is gone), and a result dropped here would leave the
            // publish outstanding for ever (a -l run hung after a broker restart so).
            let before = sweep(conn, tr, pending, quiet);
            let this = finish(tr, pending, tag, r, quiet);
            let after = sweep(conn, tr, pending, quiet);
            before.and(this).and(after)?;
        }
        Event::Lost => return Err(()),
        // (Routed only with -l: `recover` ends the run.)
        Event::Signal => {
            pending.signalled = true;
            return Err(());
        }
        Event::Message(_) => {}
    }
    Ok(())
}

/// The publish `tag` ended with `r`. Err: without an answer from the broker.
fn finish(
    tr: &mut Tracer,
    pending: &mut Pending,
    tag: u64,
    r: Outcome,
    quiet: bool,
) -> Result<(), ()> {
    let Some(o) = pending.take(tag) else {
        return Ok(());
    };
    if let Err(e) = &r
        && !matches!(e, mqtt::Error::ReasonCode(..))
    {
        pending.last_error = Some(e.to_string());
    }
    if done(tr, o.mid, r, quiet).is_err() {
        match o.msg {
            Some(m) => pending.retry.push(m),
            None => pending.failed += 1,
        }
        return Err(());
    }
    pending.confirmed += 1;
    Ok(())
}

/// Quiet publishes: reap those that finished from the front, in hand-in order.
fn sweep(conn: &Connection, tr: &mut Tracer, pending: &mut Pending, quiet: bool) -> Result<(), ()> {
    if !pending.quiet {
        return Ok(());
    }
    while let Some(tag) = pending.queue.front().map(|o| o.tag) {
        let Some(r) = conn.take_done(tag) else {
            break;
        };
        finish(tr, pending, tag, r, quiet)?;
    }
    Ok(())
}

/// Handle events until at most `left` publishes are outstanding. Err: connection gone.
///
/// Quiet publishes wake this loop only through the one whose completion brings the count
/// down to `left` (all before it are done by then if they finish in order; otherwise the
/// next one is watched): one wake-up for many completions.
fn wait_until(
    conn: &mut Connection,
    tr: &mut Tracer,
    pending: &mut Pending,
    left: usize,
    quiet: bool,
) -> Result<(), ()> {
    loop {
        sweep(conn, tr, pending, quiet)?;
        if pending.len() <= left {
            return Ok(());
        }
        if pending.quiet {
            let tag = pending.queue[pending.len() - left - 1].tag;
            // Every outstanding publish is tracked until its result is taken; one that is
            // not would never wake this loop. Should that ever happen, it counts as failed
            // (published again) rather than waited for without end.
            debug_assert!(conn.tracks(tag), "outstanding publish {tag} is not tracked");
            if !conn.tracks(tag) {
                let lost = Err(mqtt::Error::General("publish no longer tracked"));
                handle(conn, Event::Done(tag, lost), tr, pending, quiet)?;
                continue;
            }
            if let Some(r) = conn.watch(tag) {
                handle(conn, Event::Done(tag, r), tr, pending, quiet)?;
                continue;
            }
        }
        match next_event(conn, pending) {
            Some(ev) => handle(conn, ev, tr, pending, quiet)?,
            None => return Err(()),
        }
    }
}

/// A publish completed: warn about a refusal as mosquitto (a refusal still counts as
/// done). Err: it failed without an answer from the broker.
fn done(tr: &mut Tracer, mid: u16, r: Outcome, quiet: bool) -> Result<(), ()> {
    match r {
        Ok(_) => {}
        Err(mqtt::Error::ReasonCode(rc, props)) => {
            if !quiet {
                let _ = tr.out.flush();
                let mut err = std::io::stderr().lock();
                let _ = writeln!(
                    err,
                    "Warning: Publish {mid} failed: {}.",
                    exit::reason_string(rc as u8)
                );
                if let Some(reason) = props.get_string(mqtt::PropertyCode::ReasonString) {
                    let _ = writeln!(err, "{reason}");
                }
            }
        }
        Err(_) => return Err(()),
    }
    Ok(())
}

/// `-l` input: lines read by a helper thread, handed over in batches (one hand-over for
/// all the lines a read brought in). An empty batch = end of input.
/// The channel holds a few batches of at most `BATCH_BYTES` (or one line) each, so a fast
/// pipe cannot fill memory.
fn spawn_reader() -> Receiver<Vec<Vec<u8>>> {
    let (tx, rx): (SyncSender<Vec<Vec<u8>>>, _) = sync_channel(4);
    std::thread::spawn(move || {
        // (Its own buffer, to see whether a whole line is waiting; reads this large bypass
        // std's stdin buffer.)
        let mut input = std::io::BufReader::with_capacity(BATCH_BYTES, std::io::stdin());
        let mut batch = Vec::new();
        let mut bytes = 0;
        loop {
            let mut line = Vec::new();
            match input.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => {
                    if !batch.is_empty() {
                        let _ = tx.send(batch);
                    }
                    let _ = tx.send(Vec::new());
                    return;
                }
                Ok(_) => {
                    if line.last() == Some(&b'\n') {
                        line.pop();
                    }
                    bytes += line.len();
                    batch.push(line);
                    LINES_READ.fetch_add(1, Ordering::Relaxed);
                    // Hand over now unless a whole next line is already buffered (reading
                    // on could block, and the lines read so far must not wait for it).
                    if bytes >= BATCH_BYTES
                        || batch.len() >= BATCH_LINES
                        || !input.buffer().contains(&b'\n')
                    {
                        bytes = 0;
                        if tx.send(std::mem::take(&mut batch)).is_err() {
                            return;
                        }
                    }
                }
            }
        }
    });
    rx
}

/// Lines the `-l` reader has taken from stdin (some may still wait in its hand-overs).
static LINES_READ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Most payload bytes and lines in one hand-over from the `-l` reader.
const BATCH_BYTES: usize = 64 * 1024;
const BATCH_LINES: usize = 1024;

/// How often the `-l` loop looks at the connection while it waits for input.
const INPUT_POLL: Duration = Duration::from_millis(50);

/// How many `-l` publishes may be outstanding, and whether one more is handed in as each
/// completes (else a full window drains to half first: one wake-up for that half).
struct Window {
    size: usize,
    one_by_one: bool,
}

/// The `-l` window. QoS 0 publishes complete when written, so a few hundred keep paho
/// busy. With QoS 1/2 only `-M` of them are in flight on the wire; the rest wait in paho's
/// command queue, which paho scans linearly for every acknowledgement (measured: a 4096
/// window made 100k QoS 1 lines 2× slower than 80).
///
/// With a topic alias no more lines are handed to paho than it may have in flight: lines
/// waiting in its queue when a connection is lost would go out first on the next one
/// carrying only the alias, which that connection does not know (the broker ends it:
/// protocol error), before the republished line that names the topic. Such a window is
/// refilled one by one: waiting for half of it to drain stalls on TCP (the broker, without
/// TCP_NODELAY, holds its next PUBACKs until our delayed ACK of the first, ~40 ms, as we
/// send nothing meanwhile): 10,000 lines took 21.7 s instead of 0.14 s.
fn line_window(qos: u8, max_inflight: u32, topic_alias: bool) -> Window {
    if topic_alias {
        return Window {
            size: (max_inflight as usize).clamp(1, LINE_WINDOW),
            one_by_one: true,
        };
    }
    let w = if qos == 0 {
        256
    } else {
        (max_inflight as usize).saturating_mul(4).max(64)
    };
    Window {
        size: w.min(LINE_WINDOW),
        one_by_one: false,
    }
}

/// `-l`: one message per line until EOF, each one confirmed before exit 0.
///
/// Memory stays bounded: at most `window` publishes (and `WINDOW_BYTES` of payload,
/// but always at least one) are outstanding, and the reader holds a few batches of lines more.
/// While waiting for input the connection is still watched. A lost connection is
/// reconnected (see [`reconnect::recover`]): input waits meanwhile, and the lines that
/// were not confirmed are published again.
#[allow(clippy::too_many_arguments)]
fn line_loop(
    conn: &mut Connection,
    tr: &mut Tracer,
    pending: &mut Pending,
    make: &mut dyn FnMut(Vec<u8>) -> Option<mqtt::Message>,
    window: Window,
    limit: Limit,
    plan: &Plan,
    quiet: bool,
) -> Result<(), Failure> {
    abort_guard::LINES.store(true, Ordering::Relaxed);
    let input = spawn_reader();
    let mut lines = Vec::new().into_iter();
    // Without -d nothing is shown per publish: completions need not wake this loop one by
    // one (with -d, each is reported where it happened, for the trace).
    pending.quiet = tr.debug.is_none();
    pending.lines = true;
    // A full window is drained to half before more are handed in (quiet publishes: one
    // wake-up for that half), unless it is refilled one by one.
    let refill = if pending.quiet && !window.one_by_one {
        window.size / 2
    } else {
        window.size - 1
    };
    let window = window.size;
    loop {
        // Render what has happened meanwhile.
        while let Some(ev) = conn.try_next() {
            if handle(conn, ev, tr, pending, quiet).is_err() {
                reconnect::recover(conn, tr, pending, plan, quiet)?;
            }
        }
        let line = match lines.next() {
            Some(line) => line,
            None => match input.recv_timeout(INPUT_POLL) {
                Ok(batch) if batch.is_empty() => break,
                Ok(batch) => {
                    lines = batch.into_iter();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => continue,
            },
        };
        // Keep the window bounded before handing in one more.
        if pending.len() >= window {
            while wait_until(conn, tr, pending, refill, quiet).is_err() {
                reconnect::recover(conn, tr, pending, plan, quiet)?;
            }
        }
        while pending.len() > 0 && pending.bytes + line.len() > WINDOW_BYTES {
            let left = pending.len() - 1;
            if wait_until(conn, tr, pending, left, quiet).is_err() {
                reconnect::recover(conn, tr, pending, plan, quiet)?;
            }
        }
        let bytes = line.len();
        // None: a line that is not published (--topic-separator; already said why).
        let Some(m) = make(line) else { continue };
        if limit.too_big_for_broker(&m) {
            // mosquitto_pub ends at once with this error (25, MOSQ_ERR_OVERSIZE_PACKET);
            // the lines before it are confirmed first.
            while wait_until(conn, tr, pending, 0, quiet).is_err() {
                reconnect::recover(conn, tr, pending, plan, quiet)?;
            }
            return Err(Failure::new(exit::OVERSIZE_PACKET, OVERSIZE));
        }
        if let Some(q) = tr.line_topics.as_mut() {
            q.push_back(m.topic().to_string());
        }
        hand_in(conn, pending, m, bytes);
    }
    while wait_until(conn, tr, pending, 0, quiet).is_err() {
        reconnect::recover(conn, tr, pending, plan, quiet)?;
    }
    Ok(())
}

/// Hand `m` (`bytes` of payload) to paho and keep it outstanding, with a copy to publish
/// again should it end without the broker's answer.
fn hand_in(conn: &mut Connection, pending: &mut Pending, m: mqtt::Message, bytes: usize) {
    let token = conn.client.publish(m.clone());
    let tag = if pending.quiet {
        conn.track_quietly(token)
    } else {
        conn.track(token)
    };
    pending.add(tag, bytes, Some(m));
}

/// paho.mqtt.c 1.3.16 sometimes aborts ("double free", in `MQTTAsync_cleanSession`) when a
/// connection is lost while QoS > 0 publishes are in flight (paho.mqtt.c issues #1532,
/// #1621, #1622). Once connected, that abort is turned into the ending a lost connection
/// gets anyway: the message and exit code 7.
mod abort_guard {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    /// Lines handed to paho, and completed (confirmed or refused by the broker).
    pub static SENT: AtomicU64 = AtomicU64::new(0);
    pub static DONE: AtomicU64 = AtomicU64::new(0);
    /// `-l` (the message counts lines).
    pub static LINES: AtomicBool = AtomicBool::new(false);
    static QUIET: AtomicBool = AtomicBool::new(false);

    pub fn install(quiet: bool) {
        QUIET.store(quiet, Ordering::Relaxed);
        // SAFETY: installs a handler that only calls async-signal-safe functions.
        unsafe { libc::signal(libc::SIGABRT, on_abort as *const () as libc::sighandler_t) };
    }

    /// A fixed buffer: nothing may allocate in the handler (the heap is what failed).
    struct Buf {
        bytes: [u8; 256],
        len: usize,
    }

    impl Buf {
        fn put(&mut self, b: &[u8]) {
            let k = b.len().min(self.bytes.len() - self.len);
            self.bytes[self.len..self.len + k].copy_from_slice(&b[..k]);
            self.len += k;
        }

        fn number(&mut self, mut v: u64) {
            let mut d = [0u8; 20];
            let mut i = d.len();
            loop {
                i -= 1;
                d[i] = b'0' + (v % 10) as u8;
                v /= 10;
                if v == 0 {
                    break;
                }
            }
            self.put(&d[i..]);
        }
    }

    extern "C" fn on_abort(_: libc::c_int) {
        let sent = SENT.load(Ordering::Relaxed);
        let open = sent.saturating_sub(DONE.load(Ordering::Relaxed));
        let mut b = Buf {
            bytes: [0; 256],
            len: 0,
        };
        b.put(b"Error: The connection was lost.\n");
        if LINES.load(Ordering::Relaxed) {
            b.number(open);
            b.put(b" of the ");
            b.number(sent);
            b.put(b" lines published were not confirmed by the broker; input after line ");
            b.number(sent);
            b.put(b" was not published.\n");
        } else if open == 1 {
            b.put(b"1 message was not confirmed by the broker.\n");
        } else if open > 1 {
            b.number(open);
            b.put(b" messages were not confirmed by the broker.\n");
        }
        if QUIET.load(Ordering::Relaxed) {
            b.len = 0;
        }
        // SAFETY: write(2) and _exit(2) are async-signal-safe.
        unsafe {
            libc::write(2, b.bytes.as_ptr().cast(), b.len);
            libc::_exit(crate::exit::CONN_LOST);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mids_count_from_1_and_wrap_like_paho() {
        let mut p = Pending::default();
        for tag in 1..=65536u64 {
            p.add(tag, 1, None);
        }
        assert_eq!(p.complete(1), 1);
        assert_eq!(p.complete(65535), 65535);
        assert_eq!(p.complete(65536), 1);
        assert_eq!(p.complete(2), 2);
        assert_eq!(p.len(), 65532);
        assert_eq!(p.bytes, 65532);
        assert_eq!(p.complete(999_999), 0);
        p.failed = 3;
        assert_eq!(p.unconfirmed(), 65535);
    }

    #[test]
    fn lost_message_counts_unconfirmed() {
        let mut p = Pending::default();
        p.add(1, 0, None);
        p.add(2, 0, None);
        p.add(3, 0, None);
        p.complete(2);
        p.complete(3);
        assert_eq!(
            lost(&p).lines,
            [
                "Error: The connection was lost.",
                "1 message was not confirmed by the broker."
            ]
        );
    }
}
