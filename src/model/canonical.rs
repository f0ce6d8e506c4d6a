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

/// Keys sort by their UTF-16 code units. For ASCII (and, generally, below
/// U+D800) that is byte order; only supplementary characters differ.
fn utf16_order(a: &str, b: &str) -> std::cmp::Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.as_bytes().cmp(b.as_bytes());
    }
    a.encode_utf16().cmp(b.encode_utf16())
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
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x09 => b"\\t",
            0x0A => b"\\n",
            0x0C => b"\\f",
            0x0D => b"\\r",
            0x00..=0x1F => {
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escape);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
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
}
