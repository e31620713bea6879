//! Wall-clock readings and their local-time rendering (`strftime`), as mosquitto_sub
//! does with `clock_gettime(CLOCK_REALTIME)` + `localtime` + `strftime`.

use std::time::{SystemTime, UNIX_EPOCH};

/// One reading of the wall clock: seconds since the Unix epoch and nanoseconds within
/// that second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp {
    pub secs: i64,
    /// 0..=999_999_999
    pub nanos: u32,
}

impl Timestamp {
    /// The current time (`CLOCK_REALTIME`).
    pub fn now() -> Timestamp {
        Timestamp::from(SystemTime::now())
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp {
                secs: d.as_secs() as i64,
                nanos: d.subsec_nanos(),
            },
            Err(e) => {
                // Before 1970: floor to whole seconds, nanos stay positive.
                let d = e.duration();
                let mut secs = -(d.as_secs() as i64);
                let mut nanos = d.subsec_nanos();
                if nanos > 0 {
                    secs -= 1;
                    nanos = 1_000_000_000 - nanos;
                }
                Timestamp { secs, nanos }
            }
        }
    }
}

/// Which time zone local-time fields (`%I`, `@…`, JSON `tst`) are rendered in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Zone {
    /// The C library's local time (`TZ`, `/etc/localtime`), like mosquitto_sub.
    #[default]
    Local,
    /// A fixed offset in seconds east of UTC; `%Z` shows `UTC` for 0, else nothing.
    /// For tests and for callers that want deterministic output.
    Fixed(i32),
}

/// Broken-down time for one reading, or None if the C library cannot represent it
/// (mosquitto then prints `Error obtaining system time.`).
pub(super) fn broken_down(ts: Timestamp, zone: Zone) -> Option<libc::tm> {
    // SAFETY: tm is plain old data; localtime_r/gmtime_r only write into it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    match zone {
        Zone::Local => {
            let t: libc::time_t = ts.secs as libc::time_t;
            // SAFETY: valid pointers to a time_t and a tm owned by this frame.
            let r = unsafe { libc::localtime_r(&t, &mut tm) };
            if r.is_null() {
                return None;
            }
        }
        Zone::Fixed(off) => {
            let t: libc::time_t = ts.secs.checked_add(off as i64)? as libc::time_t;
            // SAFETY: as above.
            let r = unsafe { libc::gmtime_r(&t, &mut tm) };
            if r.is_null() {
                return None;
            }
            tm.tm_gmtoff = off as _;
            tm.tm_isdst = 0;
            tm.tm_zone = if off == 0 {
                c"UTC".as_ptr()
            } else {
                c"".as_ptr()
            };
        }
    }
    Some(tm)
}

/// `strftime(buf, 100, fmt, tm)` into `buf`; returns the length, 0 when the result is
/// empty or does not fit 99 bytes (mosquitto's buffer). `fmt` must be NUL-terminated.
pub(super) fn strftime(buf: &mut [u8; 100], fmt: &[u8], tm: &libc::tm) -> usize {
    if fmt.last() != Some(&0) {
        return 0;
    }
    // SAFETY: buf is 100 writable bytes, fmt is NUL-terminated, tm is initialised.
    let n = unsafe {
        libc::strftime(
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
            fmt.as_ptr() as *const libc::c_char,
            tm,
        )
    };
    if n > buf.len() { 0 } else { n }
}
