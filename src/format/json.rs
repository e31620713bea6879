//! The parts of cJSON (1.7.15, the version Debian 12's mosquitto links) that decide
//! what mosquitto_sub prints for `%j` / `%J`: string escaping, number printing, the
//! lenient parser used for `%J`, and the `cJSON_Print` / `cJSON_PrintUnformatted` layout.
//!
//! Written from the documented behaviour, not translated: `%J` payloads are parsed and
//! re-printed in one streaming pass straight into the output buffer (no tree, no
//! allocation), and the caller truncates the buffer if the payload turns out invalid.

use std::fmt::Write as _;

/// cJSON's `CJSON_NESTING_LIMIT`: arrays and objects nested deeper are a parse error.
const NESTING_LIMIT: usize = 1000;

/// Append `n` TAB characters (pretty-printing indentation).
pub(super) fn tabs(out: &mut Vec<u8>, n: usize) {
    out.extend(std::iter::repeat_n(b'\t', n));
}

/// The part of `s` a C string would see: everything before the first NUL.
pub(super) fn c_str(s: &[u8]) -> &[u8] {
    let mut i = 0;
    // Eight bytes at a time while none of them is NUL.
    while i + 8 <= s.len() && !has_below(word(s, i), 1) {
        i += 8;
    }
    match s[i..].iter().position(|&b| b == 0) {
        Some(n) => &s[..i + n],
        None => s,
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The eight bytes of `s` at `i` (the caller checks `i + 8 <= s.len()`).
#[inline]
fn word(s: &[u8], i: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&s[i..i + 8]);
    u64::from_le_bytes(a)
}

/// Whether a byte of `x` is below `n` (`n` <= 128). Exact as a yes/no answer.
#[inline]
fn has_below(x: u64, n: u8) -> bool {
    x.wrapping_sub(ONES * n as u64) & !x & HIGHS != 0
}

/// Whether a byte of `x` equals `b`.
#[inline]
fn has_byte(x: u64, b: u8) -> bool {
    has_below(x ^ (ONES * b as u64), 1)
}

/// Index of the first byte of `s` at or after `i` that a JSON string cannot hold as it
/// is (below 0x20, `"` or `\`), or `s.len()`.
#[inline]
fn next_special(s: &[u8], mut i: usize) -> usize {
    while i + 8 <= s.len() {
        let x = word(s, i);
        if has_below(x, 0x20) || has_byte(x, b'"') || has_byte(x, b'\\') {
            break;
        }
        i += 8;
    }
    while i < s.len() {
        let b = s[i];
        if b < 0x20 || b == b'"' || b == b'\\' {
            return i;
        }
        i += 1;
    }
    s.len()
}

/// Escape one byte the way cJSON's `print_string_ptr` does.
#[inline]
fn escape_byte(out: &mut Vec<u8>, b: u8) {
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0..=0x1f => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 15) as usize]);
        }
        _ => out.push(b),
    }
}

/// A JSON string for `s` read as a C string (stops at the first NUL), escaped as cJSON
/// does: `"` `\` and the five short forms, other bytes below 0x20 as `\u00xx` (lower-case
/// hex); `/`, DEL and bytes >= 0x80 are copied raw.
pub(super) fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    // Copy runs of bytes that need no escaping in one go; a NUL ends the string.
    let mut start = 0;
    loop {
        let i = next_special(s, start);
        out.extend_from_slice(&s[start..i]);
        match s.get(i) {
            None | Some(0) => break,
            Some(&b) => escape_byte(out, b),
        }
        start = i + 1;
    }
    out.push(b'"');
}

/// A fixed-size text buffer for formatting numbers without touching the heap.
struct NumBuf {
    buf: [u8; 48],
    len: usize,
}

impl NumBuf {
    fn new() -> Self {
        NumBuf {
            buf: [0; 48],
            len: 0,
        }
    }
    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
    fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }
}

impl std::fmt::Write for NumBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// C's `printf("%1.<prec>g", d)` for a finite `d` (prec >= 1), into `nb`.
fn format_g(nb: &mut NumBuf, d: f64, prec: usize) {
    nb.len = 0;
    if d == 0.0 {
        let _ = nb.write_str(if d.is_sign_negative() { "-0" } else { "0" });
        return;
    }
    // The exponent C uses is the one of the %e form rounded to `prec` digits.
    let _ = write!(nb, "{:.*e}", prec - 1, d);
    let exp: i32 = {
        let s = nb.as_str();
        s.rfind('e')
            .and_then(|p| s[p + 1..].parse().ok())
            .unwrap_or(0)
    };
    if exp < -4 || exp >= prec as i32 {
        // Exponential form: strip trailing zeros of the mantissa, exponent with sign and
        // at least two digits.
        let s = nb.as_str();
        let epos = s.rfind('e').unwrap_or(s.len());
        let mut mant = NumBuf::new();
        let _ = mant.write_str(strip_zeros(&s[..epos]));
        nb.len = 0;
        let _ = write!(
            nb,
            "{}e{}{:02}",
            mant.as_str(),
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
    } else {
        let decimals = (prec as i32 - 1 - exp).max(0) as usize;
        nb.len = 0;
        let _ = write!(nb, "{:.*}", decimals, d);
        let stripped_len = strip_zeros(nb.as_str()).len();
        nb.len = stripped_len;
    }
}

/// Remove trailing zeros after a decimal point, and the point itself if nothing follows.
fn strip_zeros(s: &str) -> &str {
    if !s.contains('.') {
        return s;
    }
    let s = s.trim_end_matches('0');
    s.strip_suffix('.').unwrap_or(s)
}

/// cJSON's `compare_double`: equal within one DBL_EPSILON relative to the larger value.
fn compare_double(a: f64, b: f64) -> bool {
    let max = if a.abs() > b.abs() { a.abs() } else { b.abs() };
    (a - b).abs() <= max * f64::EPSILON
}

/// A number as cJSON 1.7.15 prints it: NaN/inf as `null`; else `%1.15g`, or `%1.17g`
/// when the 15-digit form does not read back as (nearly) the same double. `-0` stays
/// `-0` (cJSON 1.7.16+ would print `0`; Debian 12 ships 1.7.15).
pub(super) fn write_number(out: &mut Vec<u8>, d: f64) {
    if !d.is_finite() {
        out.extend_from_slice(b"null");
        return;
    }
    // Fast path: an integral value below 1e15 prints as plain digits under %1.15g and
    // reads back exactly. (-0 keeps its sign, so it takes the general path.)
    if d.fract() == 0.0 && d.abs() < 1e15 && !(d == 0.0 && d.is_sign_negative()) {
        let _ = write!(IoVec(out), "{}", d as i64);
        return;
    }
    let mut nb = NumBuf::new();
    format_g(&mut nb, d, 15);
    let back: Option<f64> = nb.as_str().parse().ok();
    if !back.is_some_and(|t| compare_double(t, d)) {
        format_g(&mut nb, d, 17);
    }
    out.extend_from_slice(nb.as_bytes());
}

/// Parse `payload` as cJSON would for `%J` (`cJSON_ParseWithOpts` with a required end,
/// then mosquitto's check that parsing stopped at `payloadlen`) and append its
/// re-serialisation. `depth` is the print depth of the enclosing object (1 for the
/// message object). Returns false, with garbage possibly appended, if the payload is not
/// accepted; the caller truncates.
pub(super) fn reprint(out: &mut Vec<u8>, payload: &[u8], pretty: bool, depth: usize) -> bool {
    // A NUL ends the C string early, so parsing can never end at payloadlen.
    if payload.contains(&0) {
        return false;
    }
    let mut p = Parser {
        s: payload,
        pos: 0,
        nesting: 0,
        base: depth,
        pretty,
        out,
    };
    // A UTF-8 byte order mark is skipped, but only when at least 4 bytes are there.
    if payload.len() >= 4 && payload.starts_with(b"\xEF\xBB\xBF") {
        p.pos = 3;
    }
    p.skip_ws();
    if !p.value() {
        return false;
    }
    p.skip_ws();
    p.pos == payload.len()
}

struct Parser<'a, 'o> {
    s: &'a [u8],
    pos: usize,
    /// Arrays/objects currently open (cJSON's parse depth).
    nesting: usize,
    /// Print depth of the container the payload sits in.
    base: usize,
    pretty: bool,
    out: &'o mut Vec<u8>,
}

impl Parser<'_, '_> {
    /// Byte at pos+i, or 0 (the C string terminator) past the end.
    #[inline]
    fn peek(&self, i: usize) -> u8 {
        self.s.get(self.pos + i).copied().unwrap_or(0)
    }

    /// cJSON skips every byte from 1 to 32 as whitespace.
    #[inline]
    fn skip_ws(&mut self) {
        while matches!(self.peek(0), 1..=32) {
            self.pos += 1;
        }
    }

    fn value(&mut self) -> bool {
        let rest = &self.s[self.pos.min(self.s.len())..];
        for lit in [&b"null"[..], b"false", b"true"] {
            if rest.starts_with(lit) {
                self.out.extend_from_slice(lit);
                self.pos += lit.len();
                return true;
            }
        }
        match self.peek(0) {
            b'"' => self.string(),
            b'-' | b'0'..=b'9' => self.number(),
            b'[' => self.array(),
            b'{' => self.object(),
            _ => false,
        }
    }

    fn number(&mut self) -> bool {
        // cJSON copies at most 63 bytes of [0-9+-eE.] and hands them to strtod.
        let avail = &self.s[self.pos..];
        let n = avail
            .iter()
            .take(63)
            .take_while(|b| matches!(b, b'0'..=b'9' | b'+' | b'-' | b'e' | b'E' | b'.'))
            .count();
        let Some(len) = strtod_prefix(&avail[..n]) else {
            return false;
        };
        let text = std::str::from_utf8(&avail[..len]).unwrap_or("");
        let d: f64 = match text.parse() {
            Ok(d) => d,
            Err(_) => return false,
        };
        self.pos += len;
        write_number(self.out, d);
        true
    }

    fn string(&mut self) -> bool {
        // Pass 1 (like cJSON): find the closing quote, a backslash hides the next byte.
        let start = self.pos + 1;
        let mut end = start;
        loop {
            match self.s.get(end) {
                None => return false,
                Some(b'"') => break,
                Some(b'\\') => {
                    // A backslash followed by the terminator: cJSON walks past the end.
                    if end + 1 >= self.s.len() {
                        return false;
                    }
                    end += 2;
                }
                Some(_) => end += 1,
            }
        }
        // Pass 2: decode [start, end) and print it; a decoded NUL ends what is printed.
        self.out.push(b'"');
        let mut printing = true;
        let mut i = start;
        let s = self.s;
        while i < end {
            let b = s[i];
            if b != b'\\' {
                if printing {
                    escape_byte(self.out, b);
                }
                i += 1;
                continue;
            }
            let decoded: u8 = match s.get(i + 1).copied().unwrap_or(0) {
                b'b' => 0x08,
                b'f' => 0x0c,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                c @ (b'"' | b'\\' | b'/') => c,
                b'u' => {
                    let Some((cp, used)) = utf16_literal(&s[i..end]) else {
                        return false;
                    };
                    i += used;
                    if cp == 0 {
                        printing = false;
                    }
                    if printing {
                        let mut buf = [0u8; 4];
                        for &u in encode_utf8(cp, &mut buf) {
                            escape_byte(self.out, u);
                        }
                    }
                    continue;
                }
                _ => return false,
            };
            if printing {
                escape_byte(self.out, decoded);
            }
            i += 2;
        }
        self.out.push(b'"');
        self.pos = end + 1;
        true
    }

    fn array(&mut self) -> bool {
        if self.nesting >= NESTING_LIMIT {
            return false;
        }
        self.nesting += 1;
        self.pos += 1;
        self.out.push(b'[');
        self.skip_ws();
        if self.peek(0) != b']' && !self.elements(b']', b' ', Self::value) {
            return false;
        }
        self.pos += 1;
        self.out.push(b']');
        self.nesting -= 1;
        true
    }

    fn object(&mut self) -> bool {
        if self.nesting >= NESTING_LIMIT {
            return false;
        }
        self.nesting += 1;
        let depth = self.base + self.nesting;
        self.pos += 1;
        self.out.push(b'{');
        if self.pretty {
            self.out.push(b'\n');
        }
        self.skip_ws();
        if self.peek(0) != b'}' {
            if !self.elements(b'}', b'\n', |p| p.member(depth)) {
                return false;
            }
            if self.pretty {
                self.out.push(b'\n');
            }
        }
        self.pos += 1;
        if self.pretty {
            tabs(self.out, depth - 1);
        }
        self.out.push(b'}');
        self.nesting -= 1;
        true
    }

    /// `"key": value` of an object printed at `depth`.
    fn member(&mut self, depth: usize) -> bool {
        if self.pretty {
            tabs(self.out, depth);
        }
        if self.peek(0) != b'"' || !self.string() {
            return false;
        }
        self.skip_ws();
        if self.peek(0) != b':' {
            return false;
        }
        self.pos += 1;
        self.out.push(b':');
        if self.pretty {
            self.out.push(b'\t');
        }
        self.skip_ws();
        self.value()
    }

    /// The comma-separated elements of an array or object (at least one), `item` parsing
    /// each after the whitespace before it; `sep` follows each comma when pretty. Stops
    /// at `close` (not consumed); false if something else follows the last element.
    fn elements(&mut self, close: u8, sep: u8, mut item: impl FnMut(&mut Self) -> bool) -> bool {
        loop {
            self.skip_ws();
            if !item(self) {
                return false;
            }
            self.skip_ws();
            if self.peek(0) != b',' {
                break;
            }
            self.pos += 1;
            self.out.push(b',');
            if self.pretty {
                self.out.push(sep);
            }
        }
        self.peek(0) == close
    }
}

/// Length of the prefix of `s` that C's `strtod` converts (decimal form only: the bytes
/// given to it are limited to digits, signs, `e`/`E` and `.`), or None if it converts
/// nothing.
fn strtod_prefix(s: &[u8]) -> Option<usize> {
    let mut i = 0;
    if matches!(s.first(), Some(b'+' | b'-')) {
        i = 1;
    }
    let int_digits = s[i..].iter().take_while(|b| b.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if s.get(i) == Some(&b'.') {
        frac_digits = s[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if int_digits + frac_digits > 0 {
            i += 1 + frac_digits;
        }
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(s.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let exp_digits = s[j.min(s.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if exp_digits > 0 {
            i = j + exp_digits;
        }
    }
    Some(i)
}

/// cJSON's `parse_hex4`: four hex digits, or 0 as soon as one is not a hex digit.
fn hex4(s: &[u8]) -> u32 {
    let mut h = 0u32;
    for &c in s.iter().take(4) {
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return 0,
        };
        h = (h << 4) | v as u32;
    }
    h
}

/// Decode `\uXXXX` (or a surrogate pair `\uD8xx\uDCxx`) at the start of `s`, which ends
/// at the string's closing quote. Returns (code point, bytes consumed).
fn utf16_literal(s: &[u8]) -> Option<(u32, usize)> {
    if s.len() < 6 {
        return None;
    }
    let first = hex4(&s[2..6]);
    if (0xDC00..=0xDFFF).contains(&first) {
        return None;
    }
    if (0xD800..=0xDBFF).contains(&first) {
        let second = s.get(6..12)?;
        if second[0] != b'\\' || second[1] != b'u' {
            return None;
        }
        let low = hex4(&second[2..6]);
        if !(0xDC00..=0xDFFF).contains(&low) {
            return None;
        }
        return Some((0x10000 + (((first & 0x3FF) << 10) | (low & 0x3FF)), 12));
    }
    Some((first, 6))
}

/// UTF-8 bytes of a code point (surrogate halves never reach here; lone ones are
/// rejected above, and a pair always yields >= 0x10000).
fn encode_utf8(cp: u32, buf: &mut [u8; 4]) -> &[u8] {
    if cp < 0x80 {
        buf[0] = cp as u8;
        &buf[..1]
    } else if cp < 0x800 {
        buf[0] = 0xC0 | (cp >> 6) as u8;
        buf[1] = 0x80 | (cp & 0x3F) as u8;
        &buf[..2]
    } else if cp < 0x10000 {
        buf[0] = 0xE0 | (cp >> 12) as u8;
        buf[1] = 0x80 | ((cp >> 6) & 0x3F) as u8;
        buf[2] = 0x80 | (cp & 0x3F) as u8;
        &buf[..3]
    } else {
        buf[0] = 0xF0 | ((cp >> 18) & 0x07) as u8;
        buf[1] = 0x80 | ((cp >> 12) & 0x3F) as u8;
        buf[2] = 0x80 | ((cp >> 6) & 0x3F) as u8;
        buf[3] = 0x80 | (cp & 0x3F) as u8;
        &buf[..4]
    }
}

/// Standard base64 (RFC 4648 alphabet, `=` padding).
pub(super) fn write_base64(out: &mut Vec<u8>, data: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut chunks = data.chunks_exact(3);
    for c in &mut chunks {
        let n = (c[0] as u32) << 16 | (c[1] as u32) << 8 | c[2] as u32;
        for shift in [18, 12, 6, 0] {
            out.push(ALPHABET[((n >> shift) & 63) as usize]);
        }
    }
    match *chunks.remainder() {
        [a] => {
            let n = (a as u32) << 16;
            out.push(ALPHABET[((n >> 18) & 63) as usize]);
            out.push(ALPHABET[((n >> 12) & 63) as usize]);
            out.extend_from_slice(b"==");
        }
        [a, b] => {
            let n = (a as u32) << 16 | (b as u32) << 8;
            out.push(ALPHABET[((n >> 18) & 63) as usize]);
            out.push(ALPHABET[((n >> 12) & 63) as usize]);
            out.push(ALPHABET[((n >> 6) & 63) as usize]);
            out.push(b'=');
        }
        _ => {}
    }
}

/// `fmt::Write` onto a byte vector.
struct IoVec<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for IoVec<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{c_str, escape_byte, write_string};

    /// The byte-at-a-time definitions the word-at-a-time scans must agree with.
    fn naive_c_str(s: &[u8]) -> &[u8] {
        match s.iter().position(|&b| b == 0) {
            Some(n) => &s[..n],
            None => s,
        }
    }

    fn naive_write_string(out: &mut Vec<u8>, s: &[u8]) {
        out.push(b'"');
        for &b in naive_c_str(s) {
            escape_byte(out, b);
        }
        out.push(b'"');
    }

    #[test]
    fn scans_agree_with_byte_at_a_time() {
        // Every special byte (and some plain ones) at every position of strings up to
        // 24 bytes long, over a background of plain and high bytes.
        let specials = [
            0u8, 1, 0x08, b'\n', 0x1f, b' ', b'"', b'\\', b'/', 0x7f, 0x80, 0xff,
        ];
        for len in 0..24 {
            for bg in [b'a', 0xc3, b'~'] {
                for &sp in &specials {
                    for pos in 0..len.max(1) {
                        let mut s = vec![bg; len];
                        if pos < len {
                            s[pos] = sp;
                        }
                        if len > 3 {
                            s[len - 1] = specials[(pos + len) % specials.len()];
                        }
                        assert_eq!(c_str(&s), naive_c_str(&s), "{s:?}");
                        let (mut a, mut b) = (Vec::new(), Vec::new());
                        write_string(&mut a, &s);
                        naive_write_string(&mut b, &s);
                        assert_eq!(a, b, "{s:?}");
                    }
                }
            }
        }
    }
}
