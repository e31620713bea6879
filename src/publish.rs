//! mqtts-pub's run: load the message, connect, publish (once, `--repeat` times, or one
//! message per stdin line with `-l`), wait for every acknowledgement, disconnect, exit.

use crate::connection::{Connection, Event, exit_now};
use crate::exit::{self, Failure};
use crate::options::{MessageSource, Options};
use crate::plan::{self, Plan};
use crate::trace::{self, Kind, PacketEvent};
use paho_mqtt as mqtt;
use std::collections::VecDeque;
use std::io::{BufRead, Read, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Largest MQTT payload (mosquitto's limit).
const MAX_PAYLOAD: usize = 268_435_455;
/// Most publishes that may be waiting for completion at once with `-l` (bounds memory).
const LINE_WINDOW: usize = crate::connection::MAX_QUEUED / 2;

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
fn load(source: &MessageSource) -> Result<Vec<u8>, Failure> {
    match source {
        MessageSource::Message(m) => Ok(m.clone()),
        MessageSource::Null | MessageSource::StdinLine => Ok(Vec::new()),
        MessageSource::File(path) => {
            let shown = path.display();
            let data = std::fs::read(path).map_err(|_| {
                Failure::with_lines(
                    exit::GENERAL,
                    vec![
                        format!("Error: Unable to open file \"{shown}\"."),
                        format!("Error loading input file \"{shown}\"."),
                    ],
                )
            })?;
            if data.len() > MAX_PAYLOAD {
                return Err(Failure::with_lines(
                    exit::GENERAL,
                    vec![
                        format!("Error: File \"{shown}\" is too large (>{MAX_PAYLOAD} bytes)."),
                        format!("Error loading input file \"{shown}\"."),
                    ],
                ));
            }
            Ok(data)
        }
        MessageSource::StdinFile => {
            let mut data = Vec::new();
            let _ = std::io::stdin().lock().read_to_end(&mut data);
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
    topic: String,
    /// mosquitto numbers QoS 0 publishes too (m1, m2, …).
    qos0_mid: u16,
    /// v5: a received PUBACK/PUBCOMP shows the broker's reason code, which paho gives only
    /// with the completed request. Such an ack waits here (with every event after it)
    /// until its completion arrives; completions that come first wait in `rcs`.
    v5_acks: bool,
    parked: VecDeque<PacketEvent>,
    rcs: VecDeque<u8>,
}

impl Tracer {
    fn is_ack(ev: &PacketEvent) -> bool {
        !ev.sent && matches!(ev.kind, Kind::Puback | Kind::Pubcomp)
    }

    fn show(&mut self, ev: &PacketEvent) {
        if self.debug.is_none() {
            return;
        }
        if !self.parked.is_empty() {
            self.parked.push_back(*ev);
        } else if self.v5_acks && Self::is_ack(ev) {
            match self.rcs.pop_front() {
                Some(rc) => self.render(ev, rc),
                None => self.parked.push_back(*ev),
            }
        } else {
            self.render(ev, 0);
        }
    }

    /// A QoS > 0 publish completed with v5 reason code `rc`.
    fn completed(&mut self, rc: u8) {
        if !self.v5_acks || self.debug.is_none() {
            return;
        }
        let Some(ack) = self.parked.pop_front() else {
            self.rcs.push_back(rc);
            return;
        };
        self.render(&ack, rc);
        while let Some(ev) = self.parked.front().copied() {
            if Self::is_ack(&ev) {
                break;
            }
            self.parked.pop_front();
            self.render(&ev, 0);
        }
    }

    fn render(&mut self, ev: &PacketEvent, rc: u8) {
        let Some(d) = &self.debug else { return };
        let mid = if ev.kind == Kind::Publish && ev.qos == 0 {
            self.qos0_mid = self.qos0_mid.wrapping_add(1);
            self.qos0_mid
        } else {
            ev.msgid
        };
        if let Some(line) = d.line(ev, &self.topic, mid, rc) {
            let _ = writeln!(self.out, "{line}");
        }
    }

    /// Show what is still parked (end of run).
    fn finish(&mut self) {
        while let Some(ev) = self.parked.pop_front() {
            self.render(&ev, 0);
        }
        let _ = self.out.flush();
    }
}

/// Publishes handed to the connection and not yet completed, oldest first.
/// Completions arrive in the order publishes were handed in (see `Connection::track`).
struct Pending {
    tags: VecDeque<u64>,
}

impl Pending {
    fn complete(&mut self, tag: u64) {
        if self.tags.front() == Some(&tag) {
            self.tags.pop_front();
        } else {
            self.tags.retain(|&t| t != tag);
        }
    }
}

fn publish(opts: &Options) -> Result<i32, Failure> {
    let source = opts.message.clone().unwrap_or(MessageSource::Null);
    let payload = load(&source)?;
    let topic = opts.topics.last().cloned().unwrap_or_default();
    let plan = Plan::new(opts)?;
    plan.print_warnings(opts.quiet);
    let mut conn = Connection::new(&plan, opts.debug, false)?;
    let mut tr = Tracer {
        debug: opts.debug.then(|| trace::Debug {
            id: plan.client_id.clone(),
        }),
        out: std::io::BufWriter::new(std::io::stdout()),
        topic: topic.clone(),
        qos0_mid: 0,
        v5_acks: plan.is_v5() && opts.qos > 0,
        parked: VecDeque::new(),
        rcs: VecDeque::new(),
    };
    let (seen, connected) = conn.connect(&plan, opts, true, None);
    for p in &seen {
        if let (Kind::Connack, Ok(rsp), Some(d)) = (p.kind, &connected, tr.debug.as_mut()) {
            d.adopt_assigned_id(rsp);
        }
        tr.show(p);
    }
    drain(&mut conn, &mut tr);
    connected?;

    let props = plan::properties(opts, "publish")?;
    let mut pending = Pending {
        tags: VecDeque::new(),
    };
    let make = |body: Vec<u8>| {
        let mut m = mqtt::MessageBuilder::new()
            .topic(topic.as_str())
            .payload(body)
            .qos(opts.qos as i32)
            .retained(opts.retain);
        if plan.is_v5() {
            m = m.properties(props.clone());
        }
        m.finalize()
    };

    let result = if source == MessageSource::StdinLine {
        line_loop(&mut conn, &mut tr, &mut pending, &make)
    } else {
        let mut r = Ok(());
        for i in 0..opts.repeat.max(1) {
            if i > 0 && !opts.repeat_delay.is_zero() {
                std::thread::sleep(opts.repeat_delay);
            }
            let tag = conn.track(conn.client.publish(make(payload.clone())));
            pending.tags.push_back(tag);
            r = wait_until(&conn, &mut tr, &mut pending, 0);
            if r.is_err() {
                break;
            }
        }
        r
    };
    if let Err(f) = result {
        tr.finish();
        return Err(f);
    }
    conn.disconnect(0, plan::properties(opts, "disconnect")?);
    drain(&mut conn, &mut tr);
    tr.finish();
    Ok(exit::OK)
}

/// Render the events already waiting.
fn drain(conn: &mut Connection, tr: &mut Tracer) {
    while let Some(ev) = conn.try_next() {
        if let Event::Packet(p) = ev {
            tr.show(&p);
        }
    }
}

/// Handle events until at most `left` publishes are outstanding.
fn wait_until(
    conn: &Connection,
    tr: &mut Tracer,
    pending: &mut Pending,
    left: usize,
) -> Result<(), Failure> {
    while pending.tags.len() > left {
        match conn.next(None) {
            Some(Event::Packet(p)) => tr.show(&p),
            Some(Event::Done(tag, r)) => {
                pending.complete(tag);
                done(tr, r);
            }
            Some(Event::Lost) | None => return Err(lost(pending.tags.len())),
            Some(Event::Message(_) | Event::Signal) => {}
        }
    }
    Ok(())
}

/// A publish completed: show its v5 ack reason code, warn about a refusal as mosquitto.
fn done(tr: &mut Tracer, r: Result<mqtt::ServerResponse, mqtt::Error>) {
    match r {
        Ok(rsp) => tr.completed(rsp.reason_code() as u8),
        Err(mqtt::Error::ReasonCode(rc, _)) => {
            tr.completed(rc as u8);
            let _ = tr.out.flush();
            eprintln!(
                "Warning: Publish failed: {}.",
                exit::reason_string(rc as u8)
            );
        }
        Err(_) => tr.completed(0),
    }
}

fn lost(unconfirmed: usize) -> Failure {
    let f = Failure::new(exit::CONN_LOST, "Error: The connection was lost.");
    if unconfirmed > 0 {
        f.and(format!(
            "{unconfirmed} message(s) were not confirmed by the broker."
        ))
    } else {
        f
    }
}

/// Lines read from stdin by a helper thread, with a bounded number in flight.
fn spawn_reader() -> Receiver<Option<Vec<u8>>> {
    let (tx, rx): (SyncSender<Option<Vec<u8>>>, _) = sync_channel(1024);
    std::thread::spawn(move || {
        let mut input = std::io::stdin().lock();
        loop {
            let mut line = Vec::new();
            match input.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(None);
                    return;
                }
                Ok(_) => {
                    if line.last() == Some(&b'\n') {
                        line.pop();
                    }
                    if tx.send(Some(line)).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

/// `-l`: one message per line until EOF, each one confirmed before exit 0.
fn line_loop(
    conn: &mut Connection,
    tr: &mut Tracer,
    pending: &mut Pending,
    make: &dyn Fn(Vec<u8>) -> mqtt::Message,
) -> Result<(), Failure> {
    let lines = spawn_reader();
    loop {
        // Keep the window bounded, and render what has happened meanwhile.
        wait_until(conn, tr, pending, LINE_WINDOW - 1)?;
        while let Some(ev) = conn.try_next() {
            match ev {
                Event::Packet(p) => tr.show(&p),
                Event::Done(tag, r) => {
                    pending.complete(tag);
                    done(tr, r);
                }
                Event::Lost => return Err(lost(pending.tags.len())),
                Event::Message(_) | Event::Signal => {}
            }
        }
        match lines.recv() {
            Ok(Some(line)) => {
                let tag = conn.track(conn.client.publish(make(line)));
                pending.tags.push_back(tag);
            }
            Ok(None) | Err(_) => break,
        }
    }
    wait_until(conn, tr, pending, 0)
}
