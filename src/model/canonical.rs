//! RFC 8785 (JCS) canonical JSON: the one writer, used for the log's hashes
//! and for identifying request bodies. Written straight into a buffer:
//! `serde_jcs` re-parses every object key and buffers every member, and
//! verifying the log spent most of its time there. `serde_jcs` remains the
//! reference (and still formats numbers that are not small integers); the
//! tests below hold this writer to it, byte for byte.

use serde::Serialize;
use serde_json::Value;

/// JCS of any serializable value.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    Ok(value_to_vec(&serde_json::to_value(value)?))
}

/// JCS of a JSON value.
pub fn value_to_vec(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_value(&mut out, value);
    out
}

/// Integers up to 2^53 print the same as ECMAScript numbers.
const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_992;

pub fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_unstable_by(|a, b| utf16_order(a.0, b.0));
            out.push(b'{');
            for (i, (key, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, key);
                out.push(b':');
                write_value(out, item);
            }
            out.push(b'}');
        }
    }
}

/// Keys sort by their UTF-16 code units. UTF-8 byte order is code point
/// order, which UTF-16's differs from only between a supplementary
/// character (UTF-8 lead byte F0–F4; a surrogate, D800–DBFF, in UTF-16) and
/// one of U+E000–U+FFFF (lead byte EE or EF): the only case, at the first
/// byte that differs, where the byte order is reversed. (Before it the two
/// are equal and valid UTF-8, so both bytes there are lead bytes, or both
/// continuation bytes of characters with the same lead.)
fn utf16_order(a: &str, b: &str) -> std::cmp::Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let Some(i) = a.iter().zip(b).position(|(x, y)| x != y) else {
        return a.len().cmp(&b.len());
    };
    let supplementary = |c: u8| c >= 0xF0;
    let high_bmp = |c: u8| c == 0xEE || c == 0xEF;
    match (a[i], b[i]) {
        (x, y) if supplementary(x) && high_bmp(y) => std::cmp::Ordering::Less,
        (x, y) if high_bmp(x) && supplementary(y) => std::cmp::Ordering::Greater,
        (x, y) => x.cmp(&y),
    }
}

fn write_number(out: &mut Vec<u8>, n: &serde_json::Number) {
    if let Some(u) = n.as_u64().filter(|u| *u <= MAX_SAFE_INTEGER) {
        out.extend_from_slice(u.to_string().as_bytes());
    } else if let Some(i) = n.as_i64().filter(|i| i.unsigned_abs() <= MAX_SAFE_INTEGER) {
        out.extend_from_slice(i.to_string().as_bytes());
    } else {
        // Floats and huge integers: ECMAScript number formatting.
        out.extend_from_slice(&serde_jcs::to_vec(n).unwrap_or_else(|_| b"null".to_vec()));
    }
}

/// JSON string escaping as JCS requires: `"`, `\` and controls, the short
/// forms where they exist, `\u00xx` (lowercase) otherwise; nothing else.
pub fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    loop {
        let end = start + plain_run(&bytes[start..]);
        out.extend_from_slice(&bytes[start..end]);
        let Some(&b) = bytes.get(end) else { break };
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x09 => out.extend_from_slice(b"\\t"),
            0x0A => out.extend_from_slice(b"\\n"),
            0x0C => out.extend_from_slice(b"\\f"),
            0x0D => out.extend_from_slice(b"\\r"),
            _ => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
        }
        start = end + 1;
    }
    out.push(b'"');
}

/// Text that is not one JSON value (or nests deeper than 128, or repeats
/// a key in one object).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotJson;

/// serde_json's own nesting limit.
const MAX_DEPTH: u32 = 128;

/// JCS of JSON text, written without building a `Value`: each object's
/// members are sorted by key; strings and small integers are re-written
/// straight from the text. The same bytes as [`write_value`] of the parsed
/// text (the tests hold it to that). Verifying the log reads every snapshot
/// as text, and building a `Value` per snapshot cost more than hashing it.
pub fn write_text(out: &mut Vec<u8>, text: &str) -> Result<(), NotJson> {
    let mut parser = TextParser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
    };
    parser.value(out, 0)?;
    parser.skip_ws();
    if parser.pos == text.len() { Ok(()) } else { Err(NotJson) }
}

/// One object's members while it is read: decoded keys and canonical
/// values, each in one buffer. Kept per thread and reused (one per nesting
/// level in use): verifying the log canonicalises millions of objects.
#[derive(Default)]
struct Members {
    keys: String,
    values: Vec<u8>,
    /// Each member's key and value, as ranges of the two buffers.
    spans: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)>,
}

impl Members {
    fn clear(&mut self) {
        self.keys.clear();
        self.values.clear();
        self.spans.clear();
    }
}

/// Buffers grown past this by one huge object are dropped, not kept; so
/// are spares beyond the nesting of ordinary documents (a thread keeps at
/// most `MAX_SPARES` × `MAX_SPARE_BYTES`).
const MAX_SPARE_BYTES: usize = 1 << 20;
const MAX_SPARES: usize = 8;

thread_local! {
    static SPARE_MEMBERS: std::cell::RefCell<Vec<Members>> = const { std::cell::RefCell::new(Vec::new()) };
}

struct TextParser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> TextParser<'a> {
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn next_byte(&mut self) -> Result<u8, NotJson> {
        let b = *self.bytes.get(self.pos).ok_or(NotJson)?;
        self.pos += 1;
        Ok(b)
    }

    fn literal(&mut self, out: &mut Vec<u8>, word: &str) -> Result<(), NotJson> {
        if !self.text[self.pos..].starts_with(word) {
            return Err(NotJson);
        }
        self.pos += word.len();
        out.extend_from_slice(word.as_bytes());
        Ok(())
    }

    fn value(&mut self, out: &mut Vec<u8>, depth: u32) -> Result<(), NotJson> {
        self.skip_ws();
        match *self.bytes.get(self.pos).ok_or(NotJson)? {
            b'{' => self.object(out, depth + 1),
            b'[' => self.array(out, depth + 1),
            b'"' => {
                let s = self.string()?;
                write_decoded(out, &s);
                Ok(())
            }
            b't' => self.literal(out, "true"),
            b'f' => self.literal(out, "false"),
            b'n' => self.literal(out, "null"),
            _ => self.number(out),
        }
    }

    fn array(&mut self, out: &mut Vec<u8>, depth: u32) -> Result<(), NotJson> {
        if depth > MAX_DEPTH {
            return Err(NotJson);
        }
        self.pos += 1;
        out.push(b'[');
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
            out.push(b']');
            return Ok(());
        }
        loop {
            self.value(out, depth)?;
            self.skip_ws();
            match self.next_byte()? {
                b',' => out.push(b','),
                b']' => break,
                _ => return Err(NotJson),
            }
        }
        out.push(b']');
        Ok(())
    }

    fn object(&mut self, out: &mut Vec<u8>, depth: u32) -> Result<(), NotJson> {
        if depth > MAX_DEPTH {
            return Err(NotJson);
        }
        self.pos += 1;
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            out.extend_from_slice(b"{}");
            return Ok(());
        }
        let mut members = SPARE_MEMBERS.with(|spare| spare.borrow_mut().pop()).unwrap_or_default();
        let written = self.members(&mut members, out, depth);
        members.clear();
        if members.keys.capacity() + members.values.capacity() <= MAX_SPARE_BYTES {
            SPARE_MEMBERS.with(|spare| {
                let mut spare = spare.borrow_mut();
                if spare.len() < MAX_SPARES {
                    spare.push(members);
                }
            });
        }
        written
    }

    /// An object's members (after its `{`): each value written canonically
    /// into `members`, then all emitted in key order.
    fn members(&mut self, members: &mut Members, out: &mut Vec<u8>, depth: u32) -> Result<(), NotJson> {
        loop {
            self.skip_ws();
            if self.bytes.get(self.pos) != Some(&b'"') {
                return Err(NotJson);
            }
            let key_start = members.keys.len();
            members.keys.push_str(&self.string()?);
            self.skip_ws();
            if self.next_byte()? != b':' {
                return Err(NotJson);
            }
            let start = members.values.len();
            self.value(&mut members.values, depth)?;
            members.spans.push((key_start..members.keys.len(), start..members.values.len()));
            self.skip_ws();
            match self.next_byte()? {
                b',' => {}
                b'}' => break,
                _ => return Err(NotJson),
            }
        }
        let Members { keys, values, spans } = members;
        spans.sort_unstable_by(|a, b| utf16_order(&keys[a.0.clone()], &keys[b.0.clone()]));
        if spans.windows(2).any(|w| keys[w[0].0.clone()] == keys[w[1].0.clone()]) {
            return Err(NotJson);
        }
        out.push(b'{');
        for (i, (key, value)) in spans.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_string(out, &keys[key.clone()]);
            out.push(b':');
            out.extend_from_slice(&values[value.clone()]);
        }
        out.push(b'}');
        Ok(())
    }

    /// The string at `pos` (its opening quote), decoded; borrowed from the
    /// text when it holds no escape (and so needs none when written).
    fn string(&mut self) -> Result<std::borrow::Cow<'a, str>, NotJson> {
        self.pos += 1;
        let start = self.pos;
        self.pos += plain_run(&self.bytes[self.pos..]);
        match self.next_byte()? {
            b'"' => return Ok(std::borrow::Cow::Borrowed(&self.text[start..self.pos - 1])),
            b'\\' => self.pos -= 1,
            _ => return Err(NotJson),
        }
        let mut s = String::from(&self.text[start..self.pos]);
        loop {
            match self.next_byte()? {
                b'"' => return Ok(std::borrow::Cow::Owned(s)),
                b'\\' => {}
                _ => return Err(NotJson),
            }
            let c = match self.next_byte()? {
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => {
                    let unit = self.hex4()?;
                    let code = match unit {
                        0xD800..=0xDBFF => {
                            if self.next_byte()? != b'\\' || self.next_byte()? != b'u' {
                                return Err(NotJson);
                            }
                            let low = self.hex4()?;
                            if !(0xDC00..=0xDFFF).contains(&low) {
                                return Err(NotJson);
                            }
                            0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                        }
                        0xDC00..=0xDFFF => return Err(NotJson),
                        _ => unit,
                    };
                    char::from_u32(code).ok_or(NotJson)?
                }
                _ => return Err(NotJson),
            };
            s.push(c);
            let run = self.pos;
            self.pos += plain_run(&self.bytes[self.pos..]);
            s.push_str(&self.text[run..self.pos]);
        }
    }

    fn hex4(&mut self) -> Result<u32, NotJson> {
        let digits = self.text.get(self.pos..self.pos + 4).ok_or(NotJson)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(NotJson);
        }
        self.pos += 4;
        u32::from_str_radix(digits, 16).map_err(|_| NotJson)
    }

    /// Integers of up to 15 digits print as written; anything else goes
    /// through `serde_json::Number` and the same formatting as a `Value`.
    fn number(&mut self, out: &mut Vec<u8>) -> Result<(), NotJson> {
        let start = self.pos;
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
        let token = &self.text[start..self.pos];
        let digits = token.strip_prefix('-').unwrap_or(token);
        let plain = !digits.is_empty()
            && digits.len() <= 15
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (!digits.starts_with('0') || token == "0");
        if plain {
            out.extend_from_slice(token.as_bytes());
            return Ok(());
        }
        let n: serde_json::Number = token.parse().map_err(|_| NotJson)?;
        write_number(out, &n);
        Ok(())
    }
}

/// A string as `TextParser::string` decoded it: one borrowed from the text
/// holds nothing JCS escapes, so it is written as it stands.
#[allow(clippy::ptr_arg)] // the variant is the information, not only the text
fn write_decoded(out: &mut Vec<u8>, s: &std::borrow::Cow<'_, str>) {
    match s {
        std::borrow::Cow::Borrowed(plain) => {
            out.push(b'"');
            out.extend_from_slice(plain.as_bytes());
            out.push(b'"');
        }
        std::borrow::Cow::Owned(decoded) => write_string(out, decoded),
    }
}

/// The length of the run of bytes before the first `"`, `\` or control
/// character: eight bytes at a time. In each test, the lowest flagged byte
/// is a true match (false flags only appear above a true one), so the
/// lowest flag of the three is the first byte that ends the run.
fn plain_run(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let quote = x ^ (ONES * b'"' as u64);
        let backslash = x ^ (ONES * b'\\' as u64);
        let flags =
            ((quote.wrapping_sub(ONES) & !quote) | (backslash.wrapping_sub(ONES) & !backslash) | (x.wrapping_sub(ONES * 0x20) & !x))
                & HIGHS;
        if flags != 0 {
            return i + (flags.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < bytes.len() && !matches!(bytes[i], b'"' | b'\\' | 0x00..=0x1F) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use serde_json::json;

    fn ours(v: &Value) -> Vec<u8> {
        let mut out = vec![];
        write_value(&mut out, v);
        out
    }

    #[test]
    fn matches_serde_jcs_on_edge_cases() {
        let cases = [
            json!({"b": 1, "a": [true, null, "x"], "é": "“curly”", "\u{1F600}": -0.0, "\u{FFFD}": 1, "A": {}}),
            json!([
                1.0,
                -0.0,
                1e21,
                1.5e-7,
                100,
                0.1,
                9007199254740993u64,
                -9007199254740993i64,
                123456789012345678u64
            ]),
            json!("\u{0}\u{1}\u{8}\t\n\u{b}\u{c}\r\u{1f} \"\\ / \u{7f} \u{2028} \u{10FFFF}"),
            json!({"": "", "aa": 1, "a": 2, "\u{10000}": 3, "\u{E000}": 4}),
        ];
        for v in cases {
            assert_eq!(
                String::from_utf8(ours(&v)).unwrap(),
                String::from_utf8(serde_jcs::to_vec(&v).unwrap()).unwrap()
            );
        }
    }

    fn random_string(rng: &mut rand::rngs::StdRng) -> String {
        const POOL: &[char] = &[
            'a',
            'Z',
            '0',
            ' ',
            '"',
            '\\',
            '\n',
            '\u{1}',
            '\u{1f}',
            'é',
            '“',
            '\u{2028}',
            '\u{FFFF}',
            '\u{1F600}',
            '\u{E000}',
            '/',
        ];
        (0..rng.random_range(0..8)).map(|_| POOL[rng.random_range(0..POOL.len())]).collect()
    }

    fn random_value(rng: &mut rand::rngs::StdRng, depth: u32) -> Value {
        match rng.random_range(0..if depth > 3 { 5 } else { 7 }) {
            0 => Value::Null,
            1 => Value::Bool(rng.random_bool(0.5)),
            2 => json!(rng.random_range(-1_000_000i64..1_000_000)),
            3 => json!(rng.random_range(-1e12f64..1e12) / 7.0),
            4 => Value::String(random_string(rng)),
            5 => Value::Array((0..rng.random_range(0..4)).map(|_| random_value(rng, depth + 1)).collect()),
            _ => Value::Object(
                (0..rng.random_range(0..5))
                    .map(|_| (random_string(rng), random_value(rng, depth + 1)))
                    .collect(),
            ),
        }
    }

    #[test]
    fn matches_serde_jcs_on_random_values() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(8785);
        for _ in 0..5_000 {
            let v = random_value(&mut rng, 0);
            assert_eq!(ours(&v), serde_jcs::to_vec(&v).unwrap(), "{v}");
        }
    }

    /// The text writer against the value writer, over the same values
    /// written compactly and pretty-printed.
    #[test]
    fn text_matches_the_value_writer_on_random_values() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(6901);
        for _ in 0..5_000 {
            let v = random_value(&mut rng, 0);
            for text in [serde_json::to_string(&v).unwrap(), serde_json::to_string_pretty(&v).unwrap()] {
                let mut out = vec![];
                write_text(&mut out, &text).unwrap();
                assert_eq!(out, ours(&v), "{text}");
            }
        }
    }

    #[test]
    fn text_matches_the_value_writer_on_escapes_and_numbers() {
        let cases = [
            r#"{"b":"\u00e9\ud83d\ude00\/\b\f\n\r\t\u0001\"\\","a":[1.0,-0,0,-5,1e2,1E-7,123456789012345678,-123456789012345678,0.1]}"#,
            r#" { "é" : { } , "e" : [ ] , "\u0065\u0301" : null , "\uE000" : true , "\ud800\udc00" : false } "#,
            r#"[999999999999999,1000000000000000,9007199254740993,-9007199254740993,18446744073709551615,5e-324]"#,
            r#""\u2028\u2029\u007f""#,
        ];
        for text in cases {
            let v: Value = serde_json::from_str(text).unwrap();
            let mut out = vec![];
            write_text(&mut out, text).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), String::from_utf8(ours(&v)).unwrap(), "{text}");
        }
    }

    #[test]
    fn keys_sort_as_their_utf16_code_units() {
        let keys = [
            "",
            "a",
            "aa",
            "ab",
            "b",
            "é",
            "ée",
            "\u{7FF}",
            "\u{800}",
            "\u{D7FF}",
            "\u{E000}",
            "\u{E000}x",
            "\u{FFFD}",
            "\u{FFFF}",
            "\u{10000}",
            "\u{1F600}",
            "\u{1F600}a",
            "\u{10FFFF}",
            "a\u{1F600}",
            "a\u{FFFF}",
        ];
        for a in keys {
            for b in keys {
                assert_eq!(utf16_order(a, b), a.encode_utf16().cmp(b.encode_utf16()), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn a_plain_run_ends_at_the_first_quote_backslash_or_control() {
        for len in 0..20 {
            for special in [b'"', b'\\', 0x00, 0x1F] {
                for fill in [b'a', 0x20, 0x7F, 0x80, 0xFF, b'!', b'#', b'[', b']'] {
                    let mut bytes = vec![fill; len];
                    assert_eq!(plain_run(&bytes), len);
                    bytes.push(special);
                    bytes.extend_from_slice(&[special, b'"', 0x01]);
                    assert_eq!(plain_run(&bytes), len, "{fill:#x} then {special:#x} after {len}");
                }
            }
        }
    }

    #[test]
    fn text_that_is_not_one_json_value_is_refused() {
        let deep = "[".repeat(200) + &"]".repeat(200);
        let bad = [
            "",
            " ",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{1:2}",
            "\"unterminated",
            "\"a\u{1}b\"",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"\\ud800\\u0041\"",
            "\"\\x\"",
            "\"\\u12\"",
            "tru",
            "nul",
            "1 2",
            "{\"a\":1,\"a\":2}",
            "01",
            "-",
            "1.",
            "+1",
            "[1]x",
            &deep,
        ];
        for text in bad {
            assert_eq!(write_text(&mut vec![], text), Err(NotJson), "{text:?}");
        }
    }
}
