//! Run the whole client on one CPU.
//!
//! paho.mqtt.c works in three threads per client: ours, which hands in requests, its send
//! thread and its receive thread. Nearly all of their work is done under one lock of
//! paho's (`mqttasync_mutex`: the send thread holds it to write a packet, TLS encryption
//! included, the receive thread to read and handle one, and every API call takes it), so
//! they take turns rather than work side by side. Spread over two CPUs they take turns
//! through the kernel: each QoS 1 line of `-l` cost 1.2 futex calls and 0.7 context
//! switches, mostly wake-ups of a thread on the other CPU (in a VM an interrupt between
//! CPUs is a VM exit), and the system time was about twice the user time (bench/README.md).
//! On one CPU a wake-up is a local switch, and a thread mostly runs until it waits.
//!
//! Measured on a 2-CPU machine, 100k lines with a broker on loopback (same run, before /
//! after): `-l -q 1` plain 1.4–1.9 s / 1.0 s wall and 1.4 / 0.6–0.9 s CPU; `-l -q 1` TLS
//! 1.6 / 1.3 s wall; `-l -q 0` TLS 0.30–0.44 / 0.23 s wall, 0.30–0.44 / 0.21 s CPU.
//!
//! The CPU is the one this thread runs on when the client is made (within the CPUs the
//! process may use, so `taskset` still decides which ones); every thread started later
//! (paho's, the line reader, the signal thread) inherits it. The price: the scheduler no
//! longer moves the client to a less busy CPU. Other programs, the broker on the same
//! machine included, are not affected and are moved away as usual.

/// Restrict the calling thread (and the threads it starts from now on) to the CPU it runs
/// on. Does nothing when it may use one CPU only already, or when the system does not say.
pub fn pin() {
    // SAFETY: plain libc calls on a zeroed cpu_set_t owned here; pid 0 = this thread.
    unsafe {
        let mut allowed: libc::cpu_set_t = std::mem::zeroed();
        let size = std::mem::size_of::<libc::cpu_set_t>();
        if libc::sched_getaffinity(0, size, &mut allowed) != 0 || libc::CPU_COUNT(&allowed) <= 1 {
            return;
        }
        let cpu = libc::sched_getcpu();
        if cpu < 0 || !libc::CPU_ISSET(cpu as usize, &allowed) {
            return;
        }
        let mut one: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu as usize, &mut one);
        // A failure leaves things as they were: nothing to report.
        let _ = libc::sched_setaffinity(0, size, &one);
    }
}
