//! `-l` after a lost connection: reconnect as mosquitto_pub does, and lose nothing.
//!
//! mosquitto_pub's library tries again 1 s after the connection went, then every second,
//! for ever; with `-d` it shows the new CONNECT and CONNACK and nothing for the attempts
//! that found no broker (measured with 2.0.11). A CONNACK that refuses ends the run. But
//! it loses the lines that were in flight (2,720 of 10,000 QoS 1 lines across one broker
//! restart). Here: while disconnected no input is read (the pipe holds the producer back,
//! memory stays bounded); each publish that ended without the broker's answer is kept and
//! published again once connected (a new packet on the new connection: a QoS 1 line may
//! arrive twice, never zero times); with `-c` and a session the broker kept, paho resends
//! its own in-flight messages (DUP set) and they complete as usual. stderr says once that
//! the connection was lost and once that it is back (unless `--quiet`).

use super::{Pending, Tracer, finish};
use crate::connection::{Connection, Event};
use crate::exit::{self, Failure};
use crate::plan::Plan;
use paho_mqtt as mqtt;
use std::io::Write;
use std::time::{Duration, Instant};

/// mosquitto's reconnect delay (libmosquitto's default: 1 s, no back-off).
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// Connections lost in a row, each with publishes outstanding and none of them confirmed,
/// after which the broker is taken to refuse a message by dropping the connection (a v3
/// broker without retained messages, an ACL that disconnects, …): publishing it again
/// would loop for ever.
const FRUITLESS_LIMIT: u32 = 5;

/// The connection was found gone (a lost-connection event, or a publish that ended without
/// an answer): reconnect, then publish again what was not confirmed. Err: a failure that
/// cannot heal (a CONNACK refusal, a TLS failure): the run ends with it.
pub(super) fn recover(
    conn: &mut Connection,
    tr: &mut Tracer,
    pending: &mut Pending,
    plan: &Plan,
    quiet: bool,
) -> Result<(), Failure> {
    reap(conn, tr, pending, quiet);
    if pending.signalled {
        interrupted(tr, pending, quiet);
    }
    if conn.client.is_connected() && !settle(conn, tr, pending, quiet) {
        // A publish failed but the connection stands (or was already made again).
        if pending.confirmed == pending.confirmed_at_reconnect {
            pending.stalled += 1;
        } else {
            pending.stalled = 0;
            pending.confirmed_at_reconnect = pending.confirmed;
        }
        if pending.stalled >= FRUITLESS_LIMIT {
            // paho keeps refusing publishes on a working connection: not a lost one.
            let why = pending.last_error.clone().unwrap_or_default();
            let _ = tr.out.flush();
            return Err(
                Failure::new(exit::GENERAL, format!("Error: {why}")).and(unconfirmed(pending))
            );
        }
        republish(conn, pending);
        return Ok(());
    }
    // No confirmation since the last reconnect, with publishes outstanding: count it.
    if pending.unconfirmed() > 0 && pending.confirmed == pending.confirmed_at_reconnect {
        pending.fruitless += 1;
    } else {
        pending.fruitless = 0;
    }
    if pending.fruitless >= FRUITLESS_LIMIT {
        let _ = tr.out.flush();
        return Err(
            Failure::new(exit::CONN_LOST, "Error: The connection was lost.")
                .and(format!(
                    "The broker closed the connection {FRUITLESS_LIMIT} times in a row \
                     without confirming anything published on it; giving up."
                ))
                .and(unconfirmed(pending)),
        );
    }
    let lost_at = Instant::now();
    if !quiet && pending.fruitless <= 1 {
        let _ = tr.out.flush();
        let input = if pending.lines {
            " (input waits meanwhile)"
        } else {
            ""
        };
        eprintln!("Warning: The connection was lost; reconnecting{input}.");
    }
    loop {
        let until = Instant::now() + RETRY_EVERY;
        while let Some(ev) = conn.next(Some(until)) {
            absorb(ev, tr, pending, quiet);
        }
        reap(conn, tr, pending, quiet);
        let (seen, r) = conn.reconnect(plan, None, true);
        for p in &seen {
            tr.show(p);
        }
        match r {
            Ok(_) => break,
            Err(f) if f.code == exit::BEFORE_CONNACK => interrupted(tr, pending, quiet),
            // Nobody answers (refused, unreachable, timed out): try again, as mosquitto.
            Err(f) if f.code == exit::GENERAL => {}
            Err(f) => {
                let _ = tr.out.flush();
                return Err(f.and(unconfirmed(pending)));
            }
        }
    }
    reap(conn, tr, pending, quiet);
    let again = pending.retry.len();
    pending.confirmed_at_reconnect = pending.confirmed;
    pending.stalled = 0;
    // A topic alias is known only to the connection that set it up: name the topic again.
    super::TOPIC_NAMED.store(false, std::sync::atomic::Ordering::Relaxed);
    tr.publishes_shown = 0;
    republish(conn, pending);
    if !quiet && pending.fruitless <= 1 {
        let _ = tr.out.flush();
        let secs = lost_at.elapsed().as_secs_f64();
        let unit = if pending.lines { "line" } else { "message" };
        eprintln!(
            "Reconnected after {secs:.1} s; {again} unconfirmed {unit}{} published again.",
            if again == 1 { "" } else { "s" }
        );
    }
    Ok(())
}

/// A publish failed while paho still says connected: handle events for a moment, in case
/// the connection is going (true: it went).
fn settle(conn: &mut Connection, tr: &mut Tracer, pending: &mut Pending, quiet: bool) -> bool {
    let until = Instant::now() + SETTLE;
    while let Some(ev) = conn.next(Some(until)) {
        if absorb(ev, tr, pending, quiet) {
            return true;
        }
    }
    reap(conn, tr, pending, quiet);
    !conn.client.is_connected()
}

/// Handle an event while the connection is in doubt or gone: show packets, take results
/// (a failed publish is kept for [`republish`]), end the run on a signal. True: it says
/// the connection was lost.
fn absorb(ev: Event, tr: &mut Tracer, pending: &mut Pending, quiet: bool) -> bool {
    match ev {
        Event::Packet(p) => tr.show(&p),
        Event::Done(tag, r) => {
            let _ = finish(tr, pending, tag, r, quiet);
        }
        Event::Signal => interrupted(tr, pending, quiet),
        Event::Lost => return true,
        Event::Message(_) => {}
    }
    false
}

/// How long [`settle`] watches.
const SETTLE: Duration = Duration::from_millis(200);

/// SIGINT or SIGTERM (while connected, disconnected or waiting): say how many lines were
/// read but not confirmed, then end as the signal's default action does (as mosquitto_pub,
/// which it kills): a non-zero status, never a silent 0.
fn interrupted(tr: &mut Tracer, pending: &mut Pending, quiet: bool) -> ! {
    tr.finish();
    let sig = crate::connection::last_signal().unwrap_or(libc::SIGTERM);
    if !quiet {
        let name = if sig == libc::SIGINT {
            "SIGINT"
        } else {
            "SIGTERM"
        };
        eprintln!("Interrupted by {name}: {}", unconfirmed(pending));
    }
    crate::connection::die_by(sig)
}

/// Take the result of every outstanding publish that has finished (its completion event
/// may never come: the connection it was waiting on is gone).
fn reap(conn: &Connection, tr: &mut Tracer, pending: &mut Pending, quiet: bool) {
    let tags: Vec<u64> = pending.queue.iter().map(|o| o.tag).collect();
    for tag in tags {
        if let Some(r) = conn.take_done(tag) {
            let _ = finish(tr, pending, tag, r, quiet);
        }
    }
}

/// Hand the kept messages that ended without an answer to paho again, oldest first.
fn republish(conn: &mut Connection, pending: &mut Pending) {
    for m in std::mem::take(&mut pending.retry) {
        let bytes = m.payload().len();
        // A message that carried only the topic alias names the topic if it is the first
        // on this connection to do so.
        let m = if m.topic().is_empty()
            && !super::TOPIC_NAMED.swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            let mut b = mqtt::MessageBuilder::new()
                .topic(pending.topic.as_str())
                .payload(m.payload())
                .qos(m.qos() as i32)
                .retained(m.retained());
            if !m.properties().is_empty() {
                b = b.properties(m.properties().clone());
            }
            b.finalize()
        } else {
            if !m.topic().is_empty() {
                super::TOPIC_NAMED.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            m
        };
        super::hand_in(conn, pending, m, bytes);
        pending.resent += 1;
    }
}

/// The line under a failure that ends a reconnecting run.
fn unconfirmed(pending: &Pending) -> String {
    let handed = pending.sent - pending.resent;
    // Lines read from stdin but not handed to paho yet are not confirmed either.
    let lines = handed.max(super::LINES_READ.load(std::sync::atomic::Ordering::Relaxed));
    let n = pending.unconfirmed() + (lines - handed);
    let (unit, verb) = if pending.lines {
        ("line", "read")
    } else {
        ("message", "published")
    };
    format!(
        "{n} of the {lines} {unit}{} {verb} {} not confirmed by the broker.",
        if lines == 1 { "" } else { "s" },
        if n == 1 { "was" } else { "were" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unconfirmed_counts_lines_read_not_publishes() {
        let mut p = Pending {
            lines: true,
            ..Default::default()
        };
        p.add(1, 0, None);
        p.add(2, 0, None);
        p.add(3, 0, None);
        p.complete(1);
        p.retry.push(mqtt::Message::new("t", "x", 1));
        p.complete(2);
        assert_eq!(
            unconfirmed(&p),
            "2 of the 3 lines read were not confirmed by the broker."
        );
        p.resent = 2;
        p.complete(3);
        p.retry.clear();
        assert_eq!(
            unconfirmed(&p),
            "0 of the 1 line read were not confirmed by the broker."
        );
    }
}
