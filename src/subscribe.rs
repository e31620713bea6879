//! mqtts-sub's run: connect, subscribe, print messages as mosquitto_sub does, reconnect
//! after a lost connection, and stop on `-C`, `-E`, `-W`, `--retained-only` or a signal.

use crate::connection::{Connection, Event, exit_now};
use crate::exit::{self, Failure};
use crate::options::{Options, Protocol};
use crate::plan::{self, Plan};
use crate::trace::{self, Kind, PacketEvent};
use paho_mqtt as mqtt;
use std::collections::VecDeque;
use std::io::Write;
use std::time::{Duration, Instant};

/// Run mqtts-sub with parsed options; returns only through `exit_now`.
pub fn run(opts: &Options) -> ! {
    let code = match Sub::start(opts) {
        Ok(mut sub) => sub.run(),
        Err(f) => {
            f.report(opts.quiet);
            f.code
        }
    };
    exit_now(code)
}

/// A message whose output waits for its final acknowledgement to be traced (`-d`),
/// because mosquitto prints `sending PUBACK`/`sending PUBCOMP` before the message.
struct Held {
    ack: Kind,
    msgid: u16,
    bytes: Vec<u8>,
}

struct Sub<'a> {
    opts: &'a Options,
    plan: Plan,
    conn: Connection,
    debug: Option<trace::Debug>,
    out: std::io::Stdout,
    buf: Vec<u8>,
    deadline: Option<Instant>,
    /// The last received PUBLISH from the trace, until its message arrives.
    publish: Option<PacketEvent>,
    /// Trace events between a received PUBLISH and its message (v3 QoS 2).
    between: Vec<PacketEvent>,
    held: VecDeque<Held>,
    /// Topics of UNSUBSCRIBE requests not yet traced, in order.
    unsub_topics: VecDeque<String>,
    counted: u32,
    /// The SUBSCRIBE request and its packet id (from the trace).
    suback_tag: Option<u64>,
    /// The SUBACK's trace line has been shown / the request's result waiting for it.
    suback_seen: bool,
    suback: Option<Result<mqtt::ServerResponse, mqtt::Error>>,
    /// paho's trace is on (for `-d` or the packet ids `-F` may print).
    traced: bool,
    sub_mid: u16,
    random: u64,
    /// Mark: no more messages are processed (count reached, `--retained-only` ended …).
    stopping: bool,
}

impl<'a> Sub<'a> {
    fn start(opts: &'a Options) -> Result<Sub<'a>, Failure> {
        let plan = Plan::new(opts)?;
        if let Some(tls) = &plan.tls {
            for w in &tls.warnings {
                eprintln!("{w}");
            }
        }
        // The packet id of received messages is only in paho's trace: `-F` may print it.
        let need_trace = opts.debug || opts.format.is_some();
        let conn = Connection::new(&plan, need_trace, true)?;
        let deadline = opts
            .timeout
            .map(|s| Instant::now() + Duration::from_secs(s.into()));
        Ok(Sub {
            debug: opts.debug.then(|| trace::Debug {
                id: plan.client_id.clone(),
            }),
            opts,
            plan,
            conn,
            out: std::io::stdout(),
            buf: Vec::with_capacity(4096),
            deadline,
            publish: None,
            between: Vec::new(),
            held: VecDeque::new(),
            unsub_topics: VecDeque::new(),
            counted: 0,
            suback_tag: None,
            suback_seen: false,
            suback: None,
            traced: need_trace,
            sub_mid: 0,
            random: seed(),
            stopping: false,
        })
    }

    fn line(&mut self, line: &str) {
        let _ = writeln!(self.out, "{line}");
    }

    fn show(&mut self, ev: &PacketEvent) {
        let Some(d) = &self.debug else { return };
        let lines = match (ev.kind, ev.sent) {
            (Kind::Subscribe, true) => {
                self.sub_mid = ev.msgid;
                d.subscribe_lines(
                    ev.msgid,
                    &self.opts.topics,
                    self.opts.qos,
                    self.sub_options(),
                )
            }
            (Kind::Unsubscribe, true) => {
                let t = self.unsub_topics.pop_front().unwrap_or_default();
                vec![d.unsubscribe_line(ev.msgid, &t)]
            }
            _ => d.line(ev, "", ev.msgid, 0).into_iter().collect(),
        };
        for l in lines {
            self.line(&l);
        }
    }

    /// Subscription options byte as mosquitto shows it (v5 only).
    fn sub_options(&self) -> u8 {
        if self.opts.protocol != Protocol::V5 {
            return 0;
        }
        let mut o = 0;
        if self.opts.no_retained {
            o |= 0x20;
        }
        if self.opts.retain_as_published {
            o |= 0x08;
        }
        o
    }

    fn run(&mut self) -> i32 {
        let (seen, r) = self
            .conn
            .connect(&self.plan, self.opts, false, self.deadline);
        match r {
            Ok(rsp) => {
                for p in &seen {
                    if let (Kind::Connack, Some(d)) = (p.kind, self.debug.as_mut()) {
                        d.adopt_assigned_id(&rsp);
                    }
                    self.show(p);
                }
            }
            Err(f) => {
                self.packets(seen);
                let _ = self.out.flush();
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

    fn packets(&mut self, seen: Vec<PacketEvent>) {
        for p in &seen {
            self.show(p);
        }
    }

    fn subscribe(&mut self) -> Result<(), Failure> {
        let topics = &self.opts.topics;
        let qos = vec![self.opts.qos as i32; topics.len()];
        let tok = if self.plan.is_v5() {
            let o = mqtt::SubscribeOptions::new(
                false,
                self.opts.retain_as_published,
                if self.opts.no_retained {
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
        self.suback_seen = false;
        self.suback = None;
        for t in &self.opts.unsubscribe {
            self.unsub_topics.push_back(t.clone());
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
            match self.conn.next(self.deadline) {
                None => return self.end(4, exit::TIMEOUT, Some("Timed out")),
                Some(Event::Signal) => return self.end(4, exit::OK, None),
                Some(Event::Packet(p)) => {
                    let suback = !p.sent && p.kind == Kind::Suback;
                    self.packet(p);
                    if suback {
                        self.suback_seen = true;
                        if let Some(r) = self.suback.take()
                            && let Some(code) = self.subscribed(r)
                        {
                            return code;
                        }
                    }
                }
                Some(Event::Message(m)) => self.message(&m),
                Some(Event::Done(tag, r)) if Some(tag) == self.suback_tag => {
                    // With the trace on, act when the SUBACK line has been shown.
                    if self.traced && !self.suback_seen {
                        self.suback = Some(r);
                    } else if let Some(code) = self.subscribed(r) {
                        return code;
                    }
                }
                Some(Event::Done(..)) => {}
                Some(Event::Lost) => {
                    if let Some(code) = self.reconnect() {
                        return code;
                    }
                }
            }
            if self.stopping && self.held.is_empty() {
                return self.end(0, exit::OK, None);
            }
        }
    }

    /// DISCONNECT (v5 `reason`), show the last trace lines, say `msg`, return `code`.
    fn end(&mut self, reason: u8, code: i32, msg: Option<&str>) -> i32 {
        self.release_all();
        let reason = if self.plan.is_v5() { reason } else { 0 };
        let props = plan::properties(self.opts, "disconnect").unwrap_or_default();
        self.conn.disconnect(reason, props);
        while let Some(ev) = self.conn.try_next() {
            if let Event::Packet(p) = ev {
                self.show(&p);
            }
        }
        let _ = self.out.flush();
        if let Some(m) = msg
            && !self.opts.quiet
        {
            eprintln!("{m}");
        }
        code
    }

    fn packet(&mut self, p: PacketEvent) {
        if !p.sent && p.kind == Kind::Publish {
            self.publish = Some(p);
            return;
        }
        if self.publish.is_some() {
            self.between.push(p);
            return;
        }
        self.show(&p);
        if p.sent
            && let Some(h) = self.held.front()
            && h.ack == p.kind
            && h.msgid == p.msgid
            && let Some(h) = self.held.pop_front()
        {
            self.write(&h.bytes);
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut lock = self.out.lock();
        let _ = lock.write_all(bytes);
        let _ = lock.flush();
    }

    /// Print every held message (their acknowledgements will not be traced any more).
    fn release_all(&mut self) {
        while let Some(h) = self.held.pop_front() {
            self.write(&h.bytes);
        }
    }

    fn message(&mut self, m: &mqtt::Message) {
        let traced = self.publish.take();
        let mid = traced.map(|p| p.msgid).unwrap_or(0);
        let qos = m.qos() as u8;
        if let Some(d) = &self.debug {
            let line = format!(
                "Client {} received PUBLISH (d0, q{qos}, r{}, m{mid}, '{}', ... ({} bytes))",
                d.shown_id(),
                m.retained() as u8,
                m.topic(),
                m.payload().len()
            );
            self.line(&line);
            for p in std::mem::take(&mut self.between) {
                self.show(&p);
            }
        }
        if self.stopping {
            return;
        }
        let retained = m.retained();
        if self.opts.retained_only && !retained {
            self.stopping = true;
            return;
        }
        if retained && self.opts.no_retained {
            return;
        }
        if self
            .opts
            .filter_out
            .iter()
            .any(|f| topic_matches(f, m.topic()))
        {
            return;
        }
        if self.opts.remove_retained && retained {
            let clear = mqtt::Message::new_retained(m.topic(), Vec::new(), 1);
            let tok = self.conn.client.publish(clear);
            self.conn.track(tok);
        }
        let mut bytes = std::mem::take(&mut self.buf);
        bytes.clear();
        if self.chosen() {
            self.render(m, mid, &mut bytes);
        }
        self.counted += 1;
        if self.opts.count.is_some_and(|c| self.counted >= c) {
            self.stopping = true;
        }
        if self.debug.is_some() && qos > 0 {
            let ack = if qos == 1 {
                Kind::Puback
            } else {
                Kind::Pubcomp
            };
            self.held.push_back(Held {
                ack,
                msgid: mid,
                bytes,
            });
        } else {
            self.write(&bytes);
            self.buf = bytes;
        }
    }

    /// `--random-filter`: print this message?
    fn chosen(&mut self) -> bool {
        if self.opts.random_filter >= 100.0 {
            return true;
        }
        // xorshift64*
        self.random ^= self.random >> 12;
        self.random ^= self.random << 25;
        self.random ^= self.random >> 27;
        let r = self.random.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        (r as f64 / (1u64 << 53) as f64) * 100.0 < self.opts.random_filter
    }

    fn render(&self, m: &mqtt::Message, _mid: u16, out: &mut Vec<u8>) {
        let payload = m.payload();
        if self.opts.verbose {
            if payload.is_empty() {
                if !self.opts.eol {
                    return;
                }
                out.extend_from_slice(m.topic().as_bytes());
                out.extend_from_slice(b" (null)");
            } else {
                out.extend_from_slice(m.topic().as_bytes());
                out.push(b' ');
                out.extend_from_slice(payload);
            }
        } else if payload.is_empty() {
            return;
        } else {
            out.extend_from_slice(payload);
        }
        if self.opts.eol {
            out.push(b'\n');
        }
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
        if self.debug.is_some() && !self.opts.quiet {
            let list: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
            let line = format!("Subscribed (mid: {}): {}", self.sub_mid, list.join(", "));
            self.line(&line);
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
        self.publish = None;
        self.between.clear();
        loop {
            let pause = Instant::now() + Duration::from_secs(1);
            let until = self.deadline.map_or(pause, |d| d.min(pause));
            loop {
                match self.conn.next(Some(until)) {
                    Some(Event::Signal) => return Some(exit::OK),
                    Some(Event::Packet(p)) => self.show(&p),
                    None => break,
                    Some(_) => {}
                }
            }
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                let _ = self.out.flush();
                if !self.opts.quiet {
                    eprintln!("Timed out");
                }
                return Some(exit::TIMEOUT);
            }
            let (seen, r) = self.conn.reconnect(&self.plan, self.deadline);
            self.packets(seen);
            match r {
                Ok(_) => {
                    if let Err(f) = self.subscribe() {
                        f.report(self.opts.quiet);
                        return Some(f.code);
                    }
                    return None;
                }
                Err(f) if f.code == exit::BEFORE_CONNACK => return Some(exit::OK),
                Err(f) if f.code != exit::GENERAL => {
                    f.report(self.opts.quiet);
                    return Some(f.code);
                }
                Err(_) => {}
            }
        }
    }
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
