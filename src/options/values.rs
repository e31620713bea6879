//! Value parsing as mosquitto's C does it: `strtol`/`atoi`/`atol`/`atof`, MQTT UTF-8 and
//! topic checks, and proxy URL credential decoding.

// ───────────────────────────── C number semantics ─────────────────────────────

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// C `strtol` on a byte string: returns (value, bytes consumed; 0 = no number).
/// `base0` = base 0 (0x… hex, 0… octal); otherwise base 10. Saturates like glibc.
pub(super) fn strtol(s: &[u8], base0: bool) -> (i64, usize) {
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let mut base = 10u32;
    if base0 && i < s.len() && s[i] == b'0' {
        if s.get(i + 1).is_some_and(|c| c | 0x20 == b'x')
            && s.get(i + 2).is_some_and(|c| c.is_ascii_hexdigit())
        {
            base = 16;
            i += 2;
        } else {
            base = 8;
        }
    }
    let start = i;
    let mut acc: i128 = 0;
    while i < s.len() {
        let d = match (s[i] as char).to_digit(base) {
            Some(d) => d,
            None => break,
        };
        if acc <= i64::MAX as i128 + 1 {
            acc = acc * base as i128 + d as i128;
        }
        i += 1;
    }
    if i == start {
        // "0x" without hex digits parses the "0" (octal branch handles it); else nothing.
        return (0, 0);
    }
    let v = if neg { -acc } else { acc };
    let v = v.clamp(i64::MIN as i128, i64::MAX as i128) as i64;
    (v, i)
}

/// C `atol`.
pub fn atol(s: &[u8]) -> i64 {
    strtol(s, false).0
}

/// C `atoi` (glibc: `(int)strtol(s, NULL, 10)`, so out-of-range values wrap).
pub fn atoi(s: &[u8]) -> i32 {
    atol(s) as i32
}

/// C `atof` (`strtod` prefix): leading spaces, sign, decimal with exponent, inf, nan, hex.
pub fn atof(s: &[u8]) -> f64 {
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let t = &s[i..];
    let (neg, t) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let sign = if neg { -1.0 } else { 1.0 };
    let lower: Vec<u8> = t.iter().take(8).map(|b| b.to_ascii_lowercase()).collect();
    if lower.starts_with(b"inf") {
        return sign * f64::INFINITY;
    }
    if lower.starts_with(b"nan") {
        return f64::NAN;
    }
    if lower.starts_with(b"0x") {
        // Hexadecimal float: 0xH[.H][pE]
        let mut j = 2;
        let mut mant = 0f64;
        let mut digits = 0;
        let mut exp: i64 = 0;
        while j < t.len() && t[j].is_ascii_hexdigit() {
            mant = mant * 16.0 + (t[j] as char).to_digit(16).unwrap_or(0) as f64;
            j += 1;
            digits += 1;
        }
        if j < t.len() && t[j] == b'.' {
            j += 1;
            while j < t.len() && t[j].is_ascii_hexdigit() {
                mant = mant * 16.0 + (t[j] as char).to_digit(16).unwrap_or(0) as f64;
                exp -= 4;
                j += 1;
                digits += 1;
            }
        }
        if digits == 0 {
            return 0.0;
        }
        if j < t.len() && (t[j] | 0x20) == b'p' {
            let (e, used) = strtol(&t[j + 1..], false);
            let first = t.get(j + 1).copied().unwrap_or(b' ');
            if used > 0 && !is_c_space(first) {
                exp = exp.saturating_add(e);
            }
        }
        return sign * mant * 2f64.powi(exp.clamp(-4000, 4000) as i32);
    }
    let mut j = 0;
    let mut digits = 0;
    while j < t.len() && t[j].is_ascii_digit() {
        j += 1;
        digits += 1;
    }
    if j < t.len() && t[j] == b'.' {
        j += 1;
        while j < t.len() && t[j].is_ascii_digit() {
            j += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return 0.0;
    }
    let mut end = j;
    if j < t.len() && (t[j] | 0x20) == b'e' {
        let mut k = j + 1;
        if k < t.len() && (t[k] == b'+' || t[k] == b'-') {
            k += 1;
        }
        let ds = k;
        while k < t.len() && t[k].is_ascii_digit() {
            k += 1;
        }
        if k > ds {
            end = k;
        }
    }
    let text = std::str::from_utf8(&t[..end]).unwrap_or("0");
    let text = text.strip_suffix('.').unwrap_or(text);
    let text = if text.starts_with('.') {
        format!("0{text}")
    } else {
        text.to_string()
    };
    sign * text.parse::<f64>().unwrap_or(0.0)
}

// ───────────────────────────── topics and UTF-8 ─────────────────────────────

/// mosquitto's UTF-8 check (`mosquitto_validate_utf8`): well-formed, no surrogates, no
/// overlongs, no U+FDD0..FDEF or xFFFE/xFFFF non-characters, no C0/C1 controls, ≤ 65536 bytes.
pub fn valid_mqtt_utf8(s: &[u8]) -> bool {
    if s.len() > 65536 {
        return false;
    }
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        let (len, mut cp) = match b {
            0 => return false,
            0x01..=0x7f => (1, b as u32),
            0xc0 | 0xc1 => return false,
            _ if b & 0xe0 == 0xc0 => (2, (b & 0x1f) as u32),
            _ if b & 0xf0 == 0xe0 => (3, (b & 0x0f) as u32),
            _ if b & 0xf8 == 0xf0 => {
                if b > 0xf4 {
                    return false;
                }
                (4, (b & 0x07) as u32)
            }
            _ => return false,
        };
        if i + len > s.len() {
            return false;
        }
        for k in 1..len {
            let c = s[i + k];
            if c & 0xc0 != 0x80 {
                return false;
            }
            cp = (cp << 6) | (c & 0x3f) as u32;
        }
        if (0xd800..=0xdfff).contains(&cp)
            || (len == 3 && cp < 0x800)
            || (len == 4 && !(0x10000..=0x10ffff).contains(&cp))
            || (0xfdd0..=0xfdef).contains(&cp)
            || cp & 0xffff == 0xfffe
            || cp & 0xffff == 0xffff
            || cp <= 0x1f
            || (0x7f..=0x9f).contains(&cp)
        {
            return false;
        }
        i += len;
    }
    true
}

/// The `--tls-version` / `--tls-max-version` values mosquitto accepts (any case).
pub const TLS_VERSIONS: &[&str] = &["tlsv1.3", "tlsv1.2", "tlsv1.1"];

/// Is `v` one of [`TLS_VERSIONS`], ignoring case?
pub fn tls_version_ok(v: &[u8]) -> bool {
    TLS_VERSIONS
        .iter()
        .any(|w| w.as_bytes().eq_ignore_ascii_case(v))
}

/// Publish topic check: no `+` or `#`, at most 65535 bytes.
pub fn pub_topic_ok(t: &[u8]) -> bool {
    !t.iter().any(|&b| b == b'+' || b == b'#') && t.len() <= 65535
}

/// Subscription filter check: `+` and `#` only as whole levels, `#` only last.
pub fn sub_topic_ok(t: &[u8]) -> bool {
    let mut prev = 0u8;
    for (i, &c) in t.iter().enumerate() {
        let next = t.get(i + 1).copied().unwrap_or(0);
        if c == b'+' {
            if (prev != 0 && prev != b'/') || (next != 0 && next != b'/') {
                return false;
            }
        } else if c == b'#' && ((prev != 0 && prev != b'/') || next != 0) {
            return false;
        }
        prev = c;
    }
    t.len() <= 65535
}

pub(super) fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// mosquitto's proxy credential decoding: `%25` → `%`, `%3A`/`%3a` → `:`, and (its bug)
/// `%40` → `:`. Anything else after `%` fails.
pub(super) fn url_decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            if i + 2 >= s.len() {
                return None;
            }
            match (s[i + 1], s[i + 2]) {
                (b'2', b'5') => out.push(b'%'),
                (b'3', b'A' | b'a') | (b'4', b'0') => out.push(b':'),
                _ => return None,
            }
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    Some(out)
}
