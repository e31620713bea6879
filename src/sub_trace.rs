//! A subscriber's stdout in mosquitto_sub's order: `-d` lines and message output.
//!
//! mosquitto prints `received PUBLISH (… 'topic' …)` when the packet arrives and a message's
//! output after its last acknowledgement went out (PUBACK for QoS 1, PUBCOMP for QoS 2).
//! paho traces a received PUBLISH without its topic, and hands over the message (with the
//! topic) right after that PUBLISH (QoS 0/1, and all QoS on MQTT v5) or right after the
//! PUBREL (QoS 2 on MQTT 3.x) — other packets may come in between. So the lines wait in a
//! queue until every received PUBLISH before them has its topic; outputs are placed right
//! after their acknowledgement.

use crate::trace::{Debug, Kind, PacketEvent};
use std::collections::VecDeque;

enum Item {
    Line(String),
    /// A received PUBLISH; `line` is known once its message (and topic) arrived.
    Incoming {
        seq: u64,
        line: Option<String>,
    },
    Output(Vec<u8>),
    /// Where the `sending SUBSCRIBE` lines go once paho sends the SUBSCRIBE: mosquitto
    /// subscribes from its CONNACK callback, so they follow the CONNACK line directly
    /// (messages of a persistent session come after them). Nothing is printed past it.
    /// Holds the number of SUBSCRIBE/UNSUBSCRIBE packets still expected; it goes away
    /// with the last.
    Barrier(usize),
    /// A QoS 0/1 message's output waiting, in place, for its PUBACK line (which goes
    /// right before it) and/or its `--remove-retained` PUBLISH line. mosquitto handles
    /// one packet at a time, so both precede anything about the next message.
    Slot(Pending),
}

/// A message's output waiting for packets mosquitto traces before it.
struct Pending {
    /// The acknowledgement (PUBACK/PUBCOMP and packet id) still to be traced.
    ack: Option<(Kind, u16)>,
    /// `--remove-retained`: the clearing PUBLISH's line; `Some(None)` while not yet sent.
    clear: Option<Option<String>>,
    bytes: Vec<u8>,
}

impl Pending {
    /// Every packet it waits for has been traced.
    fn ready(&self) -> bool {
        self.ack.is_none() && !matches!(self.clear, Some(None))
    }

    /// What it prints: the clearing PUBLISH's line (if any), then the output.
    fn items(self) -> impl Iterator<Item = Item> {
        let line = match self.clear {
            Some(Some(line)) => Some(Item::Line(line)),
            _ => None,
        };
        line.into_iter().chain([Item::Output(self.bytes)])
    }
}

pub struct SubTrace {
    /// None without `-d`: only outputs are ordered then.
    pub debug: Option<Debug>,
    v3: bool,
    /// For `sending SUBSCRIBE` lines.
    sub_topics: Vec<String>,
    sub_qos: u8,
    sub_options: u8,
    /// Topics of UNSUBSCRIBE requests not yet traced, in order.
    pub unsub_topics: VecDeque<String>,
    /// Packet id of the last SUBSCRIBE (for `Subscribed (mid: …)`).
    pub sub_mid: u16,
    queue: VecDeque<Item>,
    /// Received PUBLISH packets waiting for their message: (seq, event).
    waiting: VecDeque<(u64, PacketEvent)>,
    /// Outputs waiting for their acknowledgement (or clearing PUBLISH) to be traced.
    after_ack: Vec<Pending>,
    /// Topics of `--remove-retained` PUBLISH requests not yet traced, in order.
    clear_topics: VecDeque<String>,
    /// Renumbering of our own packet ids after a reconnect (see [`SubTrace::reconnected`]).
    renumber_at_next_subscribe: bool,
    last_mid_shown: u16,
    mid_offset: u16,
    last_pubrel: Option<u16>,
    seq: u64,
}

impl SubTrace {
    pub fn new(
        debug: Option<Debug>,
        v3: bool,
        sub_topics: Vec<String>,
        sub_qos: u8,
        sub_options: u8,
    ) -> SubTrace {
        SubTrace {
            debug,
            v3,
            sub_topics,
            sub_qos,
            sub_options,
            unsub_topics: VecDeque::new(),
            sub_mid: 0,
            queue: VecDeque::new(),
            waiting: VecDeque::new(),
            after_ack: Vec::new(),
            clear_topics: VecDeque::new(),
            renumber_at_next_subscribe: false,
            last_mid_shown: 0,
            mid_offset: 0,
            last_pubrel: None,
            seq: 0,
        }
    }

    /// A line of our own (e.g. `Subscribed (mid: 1): 2`), in order with the rest.
    pub fn line(&mut self, line: String) {
        if self.debug.is_some() {
            self.queue.push_back(Item::Line(line));
        }
    }

    /// The CONNACK line has been queued and the SUBSCRIBE and `unsubscribes` UNSUBSCRIBE
    /// requests are about to be sent: keep their lines' place (see [`Item::Barrier`]).
    pub fn barrier(&mut self, unsubscribes: usize) {
        if self.debug.is_some() {
            self.queue.push_back(Item::Barrier(1 + unsubscribes));
        }
    }

    /// Whether SUBSCRIBE/UNSUBSCRIBE requests mosquitto would have sent (and shown) by
    /// now have not been traced yet.
    pub fn awaiting_sends(&self) -> bool {
        self.queue.iter().any(|i| matches!(i, Item::Barrier(_)))
    }

    /// Put `lines` where the barrier is (before it while more are expected).
    fn at_barrier(&mut self, lines: Vec<String>) -> Option<Vec<String>> {
        let Some(mut at) = self
            .queue
            .iter()
            .position(|i| matches!(i, Item::Barrier(_)))
        else {
            return Some(lines);
        };
        for l in lines {
            self.queue.insert(at, Item::Line(l));
            at += 1;
        }
        if let Some(Item::Barrier(expected)) = self.queue.get_mut(at) {
            *expected = expected.saturating_sub(1);
            if *expected == 0 {
                self.queue.remove(at);
            }
        }
        None
    }

    /// mqtts-rr's request to `topic` was handed to paho (its line needs the topic).
    pub fn publishing(&mut self, topic: &str) {
        self.clearing(topic);
    }

    /// A `--remove-retained` PUBLISH to `topic` was requested (its line needs the topic).
    pub fn clearing(&mut self, topic: &str) {
        if self.debug.is_some() {
            self.clear_topics.push_back(topic.to_string());
        }
    }

    /// A packet from paho's trace.
    pub fn packet(&mut self, ev: &PacketEvent) {
        if !ev.sent && ev.kind == Kind::Publish {
            self.seq += 1;
            self.waiting.push_back((self.seq, *ev));
            if self.debug.is_some() {
                self.queue.push_back(Item::Incoming {
                    seq: self.seq,
                    line: None,
                });
            }
            return;
        }
        if !ev.sent && ev.kind == Kind::Pubrel {
            self.last_pubrel = Some(ev.msgid);
        }
        let shown = self.renumber(ev);
        let ev = &shown;
        let Some(d) = &self.debug else {
            if ev.kind == Kind::Subscribe && ev.sent {
                self.sub_mid = ev.msgid;
            }
            return;
        };
        let lines = match (ev.kind, ev.sent) {
            (Kind::Subscribe, true) => {
                self.sub_mid = ev.msgid;
                let lines =
                    d.subscribe_lines(ev.msgid, &self.sub_topics, self.sub_qos, self.sub_options);
                match self.at_barrier(lines) {
                    Some(lines) => lines,
                    None => return,
                }
            }
            (Kind::Unsubscribe, true) => {
                let t = self.unsub_topics.pop_front().unwrap_or_default();
                let lines = vec![d.unsubscribe_line(ev.msgid, &t)];
                match self.at_barrier(lines) {
                    Some(lines) => lines,
                    None => return,
                }
            }
            (Kind::Publish, true) => {
                let topic = self.clear_topics.pop_front().unwrap_or_default();
                let line = d.line(ev, &topic, ev.msgid).unwrap_or_default();
                let slot = self.queue.iter_mut().find_map(|i| match i {
                    Item::Slot(p) if matches!(p.clear, Some(None)) => Some(p),
                    _ => None,
                });
                if let Some(p) = slot {
                    p.clear = Some(Some(line));
                    self.resolve_slots();
                    return;
                }
                // mosquitto publishes the clearing message before printing the one
                // that caused it: the line goes right before that output.
                if let Some(p) = self
                    .after_ack
                    .iter_mut()
                    .find(|p| matches!(p.clear, Some(None)))
                {
                    p.clear = Some(Some(line));
                    self.release();
                    return;
                }
                vec![line]
            }
            (Kind::Puback, true) => {
                let line = d.line(ev, "", ev.msgid).unwrap_or_default();
                let at = self.queue.iter().position(
                    |i| matches!(i, Item::Slot(p) if p.ack == Some((Kind::Puback, ev.msgid))),
                );
                if let Some(at) = at {
                    if let Some(Item::Slot(p)) = self.queue.get_mut(at) {
                        p.ack = None;
                    }
                    self.queue.insert(at, Item::Line(line));
                    self.resolve_slots();
                    return;
                }
                vec![line]
            }
            _ => d.line(ev, "", ev.msgid).into_iter().collect(),
        };
        self.queue.extend(lines.into_iter().map(Item::Line));
        if ev.sent {
            for p in self.after_ack.iter_mut() {
                if p.ack == Some((ev.kind, ev.msgid)) {
                    p.ack = None;
                    break;
                }
            }
            self.release();
        }
    }

    /// The connection was made again: mosquitto's packet ids go on counting where they
    /// were, paho's restart (clean session). Ids of our own requests are shown renumbered.
    pub fn reconnected(&mut self) {
        self.renumber_at_next_subscribe = true;
    }

    /// `ev` with the packet id mosquitto would use, for packets whose id we chose.
    fn renumber(&mut self, ev: &PacketEvent) -> PacketEvent {
        let ours = matches!(
            (ev.kind, ev.sent),
            (Kind::Subscribe | Kind::Unsubscribe | Kind::Publish, true)
                | (
                    Kind::Puback | Kind::Pubrec | Kind::Pubcomp | Kind::Suback | Kind::Unsuback,
                    false
                )
        );
        if ev.sent && ev.kind == Kind::Publish && ev.msgid == 0 {
            // A QoS 0 PUBLISH of ours (mqtts-rr's request): mosquitto's library gives it
            // the next packet id too, and shows it.
            let mut shown = *ev;
            shown.msgid = self.last_mid_shown.wrapping_add(1).max(1);
            self.last_mid_shown = shown.msgid;
            return shown;
        }
        if !ours || ev.msgid == 0 {
            return *ev;
        }
        if ev.sent && ev.kind == Kind::Subscribe && self.renumber_at_next_subscribe {
            self.renumber_at_next_subscribe = false;
            let next = if self.last_mid_shown == u16::MAX {
                1
            } else {
                self.last_mid_shown + 1
            };
            self.mid_offset = next.wrapping_sub(ev.msgid);
        }
        let mut shown = *ev;
        shown.msgid = ev.msgid.wrapping_add(self.mid_offset);
        if shown.msgid == 0 {
            shown.msgid = 1;
        }
        if ev.sent {
            self.last_mid_shown = shown.msgid;
        }
        shown
    }

    /// Turn the slots whose packets have all been traced into their lines and output.
    fn resolve_slots(&mut self) {
        let mut i = 0;
        while i < self.queue.len() {
            let done = matches!(&self.queue[i], Item::Slot(p) if p.ready());
            if done && let Some(Item::Slot(p)) = self.queue.remove(i) {
                for item in p.items() {
                    self.queue.insert(i, item);
                    i += 1;
                }
            } else {
                i += 1;
            }
        }
    }

    /// Queue the outputs whose packets have all been traced.
    fn release(&mut self) {
        let mut i = 0;
        while i < self.after_ack.len() {
            if self.after_ack[i].ready() {
                let p = self.after_ack.remove(i);
                self.queue.extend(p.items());
            } else {
                i += 1;
            }
        }
    }

    /// A message arrived: find its traced PUBLISH, complete the `received PUBLISH` line and
    /// return the packet id (0 when the trace had nothing for it).
    pub fn message(&mut self, topic: &str, qos: u8, retained: bool, len: usize) -> u16 {
        let pos = if self.v3 && qos == 2 {
            let rel = self.last_pubrel;
            self.waiting
                .iter()
                .position(|(_, e)| Some(e.msgid) == rel && e.qos == 2)
        } else {
            self.waiting.iter().rposition(|(_, e)| e.qos == qos)
        };
        let Some((seq, ev)) = pos.and_then(|i| self.waiting.remove(i)) else {
            return 0;
        };
        if let Some(d) = &self.debug {
            let line = format!(
                "Client {} received PUBLISH (d{}, q{qos}, r{}, m{}, '{topic}', ... ({len} bytes))",
                d.shown_id(),
                ev.dup as u8,
                retained as u8,
                ev.msgid
            );
            for item in self.queue.iter_mut() {
                if let Item::Incoming { seq: s, line: l } = item
                    && *s == seq
                {
                    *l = Some(line);
                    break;
                }
            }
        }
        ev.msgid
    }

    /// The bytes to print for the message with packet id `mid` and `qos` (just passed to
    /// [`SubTrace::message`]); with `-d` they follow its last acknowledgement and, when
    /// `clear` (`--remove-retained` published for it), the clearing PUBLISH.
    pub fn output(&mut self, mid: u16, qos: u8, bytes: Vec<u8>, clear: bool) {
        let Some(d) = &self.debug else {
            self.queue.push_back(Item::Output(bytes));
            return;
        };
        let mut ack = None;
        if qos != 0 && mid != 0 {
            let kind = if qos == 1 {
                Kind::Puback
            } else {
                Kind::Pubcomp
            };
            ack = Some((kind, mid));
            // The acknowledgement may already be queued (v3 QoS 2: PUBCOMP goes out first).
            let ack_line = d.line(
                &PacketEvent {
                    sent: true,
                    kind,
                    msgid: mid,
                    qos: 0,
                    retained: false,
                    dup: false,
                    len: 0,
                    rc: 0,
                },
                "",
                mid,
            );
            let at = self.queue.iter().rposition(|i| match (i, &ack_line) {
                (Item::Line(l), Some(a)) => l == a,
                _ => false,
            });
            if let Some(i) = at
                && self.v3
                && qos == 2
            {
                if !clear {
                    self.queue.insert(i + 1, Item::Output(bytes));
                    return;
                }
                ack = None;
            }
        }
        if ack.is_none() && !clear {
            self.queue.push_back(Item::Output(bytes));
            return;
        }
        if qos < 2 {
            self.queue.push_back(Item::Slot(Pending {
                ack,
                clear: clear.then_some(None),
                bytes,
            }));
            return;
        }
        self.after_ack.push(Pending {
            ack,
            clear: clear.then_some(None),
            bytes,
        });
    }

    /// Whether nothing is waiting any more (lines, or outputs for acknowledgements).
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty() && self.after_ack.is_empty()
    }

    /// Append to `out` everything that can be printed now.
    pub fn flush(&mut self, out: &mut Vec<u8>) {
        while let Some(item) = self.queue.front() {
            if matches!(
                item,
                Item::Incoming { line: None, .. } | Item::Barrier(_) | Item::Slot(_)
            ) {
                break;
            }
            match self.queue.pop_front() {
                Some(Item::Line(l)) | Some(Item::Incoming { line: Some(l), .. }) => {
                    out.extend_from_slice(l.as_bytes());
                    out.push(b'\n');
                }
                Some(Item::Output(b)) => out.extend_from_slice(&b),
                _ => {}
            }
        }
    }

    /// Print everything, waiting or not (the connection is gone or the run ends).
    pub fn flush_all(&mut self, out: &mut Vec<u8>) {
        for p in std::mem::take(&mut self.after_ack) {
            self.queue.extend(p.items());
        }
        for i in self.queue.iter_mut() {
            if let Item::Slot(p) = i {
                p.ack = None;
                if matches!(p.clear, Some(None)) {
                    p.clear = None;
                }
            }
        }
        self.resolve_slots();
        self.waiting.clear();
        self.clear_topics.clear();
        self.queue
            .retain(|i| !matches!(i, Item::Incoming { line: None, .. } | Item::Barrier(_)));
        self.flush(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(sent: bool, kind: Kind, msgid: u16, qos: u8) -> PacketEvent {
        PacketEvent {
            sent,
            kind,
            msgid,
            qos,
            retained: false,
            dup: false,
            len: 3,
            rc: 0,
        }
    }

    fn st(v3: bool) -> SubTrace {
        SubTrace::new(
            Some(Debug { id: String::new() }),
            v3,
            vec!["t/#".into()],
            2,
            0,
        )
    }

    fn text(s: &mut SubTrace) -> String {
        let mut out = Vec::new();
        s.flush(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn v3_qos2_interleaved_with_qos1_keeps_mosquittos_order() {
        let mut s = st(true);
        s.packet(&ev(false, Kind::Publish, 2, 2));
        s.packet(&ev(true, Kind::Pubrec, 2, 0));
        s.packet(&ev(false, Kind::Publish, 3, 1));
        let m = s.message("t/e", 1, false, 3);
        assert_eq!(m, 3);
        s.output(m, 1, b"t/e one\n".to_vec(), false);
        s.packet(&ev(true, Kind::Puback, 3, 0));
        assert_eq!(text(&mut s), "", "waits for the topic of m2");
        s.packet(&ev(false, Kind::Pubrel, 2, 0));
        let m = s.message("t/two", 2, false, 3);
        assert_eq!(m, 2);
        s.output(m, 2, b"t/two two\n".to_vec(), false);
        s.packet(&ev(true, Kind::Pubcomp, 2, 0));
        assert_eq!(
            text(&mut s),
            "Client null received PUBLISH (d0, q2, r0, m2, 't/two', ... (3 bytes))\n\
             Client null sending PUBREC (m2, rc0)\n\
             Client null received PUBLISH (d0, q1, r0, m3, 't/e', ... (3 bytes))\n\
             Client null sending PUBACK (m3, rc0)\n\
             t/e one\n\
             Client null received PUBREL (Mid: 2)\n\
             Client null sending PUBCOMP (m2)\n\
             t/two two\n"
        );
        assert!(s.is_idle());
    }

    #[test]
    fn v5_qos2_output_follows_pubcomp() {
        let mut s = st(false);
        s.packet(&ev(false, Kind::Publish, 1, 2));
        let m = s.message("a", 2, true, 3);
        s.output(m, 2, b"x\n".to_vec(), false);
        s.packet(&ev(true, Kind::Pubrec, 1, 0));
        s.packet(&ev(false, Kind::Pubrel, 1, 0));
        s.packet(&ev(true, Kind::Pubcomp, 1, 0));
        assert_eq!(
            text(&mut s),
            "Client null received PUBLISH (d0, q2, r1, m1, 'a', ... (3 bytes))\n\
             Client null sending PUBREC (m1, rc0)\n\
             Client null received PUBREL (Mid: 1)\n\
             Client null sending PUBCOMP (m1)\n\
             x\n"
        );
    }

    #[test]
    fn remove_retained_clears_go_before_each_output_even_in_a_burst() {
        let mut s = st(true);
        // Two retained QoS 1 messages back to back; the clearing PUBLISHes go out late.
        s.packet(&ev(false, Kind::Publish, 1, 1));
        let m = s.message("a", 1, true, 3);
        s.clearing("a");
        s.output(m, 1, b"a one\n".to_vec(), true);
        s.packet(&ev(true, Kind::Puback, 1, 0));
        s.packet(&ev(false, Kind::Publish, 2, 1));
        let m = s.message("b", 1, true, 3);
        s.clearing("b");
        s.output(m, 1, b"b two\n".to_vec(), true);
        s.packet(&ev(true, Kind::Puback, 2, 0));
        let mut clear = ev(true, Kind::Publish, 2, 1);
        clear.retained = true;
        clear.len = 0;
        s.packet(&clear);
        clear.msgid = 3;
        s.packet(&clear);
        assert_eq!(
            text(&mut s),
            "Client null received PUBLISH (d0, q1, r1, m1, 'a', ... (3 bytes))\n\
             Client null sending PUBACK (m1, rc0)\n\
             Client null sending PUBLISH (d0, q1, r1, m2, 'a', ... (0 bytes))\n\
             a one\n\
             Client null received PUBLISH (d0, q1, r1, m2, 'b', ... (3 bytes))\n\
             Client null sending PUBACK (m2, rc0)\n\
             Client null sending PUBLISH (d0, q1, r1, m3, 'b', ... (0 bytes))\n\
             b two\n"
        );
        assert!(s.is_idle());
    }

    #[test]
    fn without_debug_only_outputs_and_packet_ids() {
        let mut s = SubTrace::new(None, true, vec![], 0, 0);
        s.packet(&ev(false, Kind::Publish, 7, 1));
        assert_eq!(s.message("a", 1, false, 1), 7);
        s.output(7, 1, b"p\n".to_vec(), false);
        s.packet(&ev(true, Kind::Puback, 7, 0));
        assert_eq!(text(&mut s), "p\n");
        assert_eq!(s.message("untraced", 0, false, 1), 0);
    }
}
