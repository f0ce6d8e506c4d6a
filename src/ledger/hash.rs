//! Entry and chain hashes (DESIGN §3):
//! entry_hash = SHA-256(JCS(entry)), chain_hash = SHA-256(prev_chain_hash ‖ entry_hash).

use serde::Serialize;
use uuid::Uuid;

use crate::model::canonical;
pub use crate::model::digest::Hash;
use crate::model::digest::{sha256, sha256_concat};

/// The chain hash before seq 1.
pub const GENESIS: Hash = [0u8; 32];

/// The hashed object. Field names are the contract an auditor re-computes.
#[derive(Debug, Serialize)]
pub struct Entry<'a> {
    pub entity_kind: &'a str,
    pub entity_id: Uuid,
    pub entity_version: i32,
    pub action: &'a str,
    pub actor_id: Uuid,
    pub reason: Option<&'a str>,
    pub recorded_at: &'a str,
    pub snapshot: &'a serde_json::Value,
}

/// The fields of an entry that are known before the log head is locked.
/// In JCS key order they all sort before `recorded_at` and `snapshot`.
#[derive(Debug, Serialize)]
pub struct EntryHead<'a> {
    pub entity_kind: &'a str,
    pub entity_id: Uuid,
    pub entity_version: i32,
    pub action: &'a str,
    pub actor_id: Uuid,
    pub reason: Option<&'a str>,
}

impl Entry<'_> {
    /// JCS(entry), written field by field: the keys are fixed and already in
    /// canonical order, so only the snapshot needs sorting.
    pub fn canonical(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        write_fields(&mut out, &self.head(), self.recorded_at);
        canonical::write_value(&mut out, self.snapshot);
        out.push(b'}');
        out
    }

    fn head(&self) -> EntryHead<'_> {
        EntryHead {
            entity_kind: self.entity_kind,
            entity_id: self.entity_id,
            entity_version: self.entity_version,
            action: self.action,
            actor_id: self.actor_id,
            reason: self.reason,
        }
    }
}

/// JCS(entry) up to the snapshot's value: `{"action":…,"snapshot":`.
fn write_fields(out: &mut Vec<u8>, head: &EntryHead<'_>, recorded_at: &str) {
    use canonical::write_string;
    out.extend_from_slice(br#"{"action":"#);
    write_string(out, head.action);
    out.extend_from_slice(br#","actor_id":""#);
    out.extend_from_slice(head.actor_id.hyphenated().encode_lower(&mut Uuid::encode_buffer()).as_bytes());
    out.extend_from_slice(br#"","entity_id":""#);
    out.extend_from_slice(head.entity_id.hyphenated().encode_lower(&mut Uuid::encode_buffer()).as_bytes());
    out.extend_from_slice(br#"","entity_kind":"#);
    write_string(out, head.entity_kind);
    out.extend_from_slice(br#","entity_version":"#);
    out.extend_from_slice(head.entity_version.to_string().as_bytes());
    out.extend_from_slice(br#","reason":"#);
    match head.reason {
        Some(r) => write_string(out, r),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(br#","recorded_at":"#);
    write_string(out, recorded_at);
    out.extend_from_slice(br#","snapshot":"#);
}

pub fn entry_hash(entry: &Entry<'_>) -> Hash {
    sha256(&entry.canonical())
}

/// [`entry_hash`] of an entry whose snapshot is JSON text, as the database
/// prints it: canonicalised from the text (`canonical::write_text`), the
/// same bytes as the parsed entry. `out` is a reusable buffer.
pub fn entry_hash_of_text(out: &mut Vec<u8>, head: &EntryHead<'_>, recorded_at: &str, snapshot: &str) -> Result<Hash, canonical::NotJson> {
    canonical_of_text(out, head, recorded_at, snapshot)?;
    Ok(sha256(out))
}

/// JCS(entry) into `out` (cleared first), the snapshot given as JSON text.
pub fn canonical_of_text(out: &mut Vec<u8>, head: &EntryHead<'_>, recorded_at: &str, snapshot: &str) -> Result<(), canonical::NotJson> {
    out.clear();
    write_fields(out, head, recorded_at);
    canonical::write_text(out, snapshot)?;
    out.push(b'}');
    Ok(())
}

pub fn chain_hash(prev: &[u8], entry_hash: &[u8]) -> Hash {
    sha256_concat(&[prev, entry_hash])
}

/// JCS(entry) split around the recorded_at text:
/// `before ‖ "2026-…Z" ‖ after` is byte-for-byte JCS(entry). The database
/// appends with the time it takes under the head lock, in one statement.
#[derive(Debug)]
pub struct SplitEntry {
    pub before_time: Vec<u8>,
    pub after_time: Vec<u8>,
    /// JCS(snapshot), stored as the revision's snapshot text.
    pub snapshot_text: String,
}

pub fn split_entry(head: &EntryHead<'_>, snapshot: &serde_json::Value) -> SplitEntry {
    let mut before_time = canonical::to_vec(head).expect("an entry head always serializes");
    let closing = before_time.pop();
    debug_assert_eq!(closing, Some(b'}'));
    before_time.extend_from_slice(br#","recorded_at":""#);
    let snapshot_text = String::from_utf8(canonical::value_to_vec(snapshot)).expect("JCS output is UTF-8");
    let mut after_time = Vec::with_capacity(snapshot_text.len() + 16);
    after_time.extend_from_slice(br#"","snapshot":"#);
    after_time.extend_from_slice(snapshot_text.as_bytes());
    after_time.push(b'}');
    SplitEntry {
        before_time,
        after_time,
        snapshot_text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn split_entry_equals_jcs_of_the_whole_entry() {
        let snapshots = [
            json!({}),
            json!({"b": 1, "a": [true, null, "x"], "é": "“curly”", "\u{1F600}": -0.0}),
            json!({"claim_id": "5f0e", "text": "line\nbreak \u{2028} tab\t"}),
        ];
        for (i, snapshot) in snapshots.iter().enumerate() {
            for reason in [None, Some("typo \"fixed\"")] {
                let id = Uuid::from_u128(i as u128 + 7);
                let head = EntryHead {
                    entity_kind: "claim",
                    entity_id: id,
                    entity_version: 3,
                    action: "update",
                    actor_id: Uuid::from_u128(9),
                    reason,
                };
                let split = split_entry(&head, snapshot);
                let t = "2026-11-22T01:02:03.000004Z";
                let mut joined = split.before_time.clone();
                joined.extend_from_slice(t.as_bytes());
                joined.extend_from_slice(&split.after_time);
                let whole = Entry {
                    entity_kind: "claim",
                    entity_id: id,
                    entity_version: 3,
                    action: "update",
                    actor_id: Uuid::from_u128(9),
                    reason,
                    recorded_at: t,
                    snapshot,
                };
                assert_eq!(
                    String::from_utf8(joined).unwrap(),
                    String::from_utf8(canonical::to_vec(&whole).unwrap()).unwrap()
                );
            }
        }
    }

    #[test]
    fn the_entry_writer_is_jcs_of_the_entry() {
        let snapshot = json!({"z": [1, 2.5, "\u{1F600}"], "a": {"b": null}});
        for reason in [None, Some("a \"reason\"\n")] {
            let e = Entry {
                entity_kind: "verdict",
                entity_id: Uuid::from_u128(1 << 100),
                entity_version: 12,
                action: "publish",
                actor_id: Uuid::from_u128(42),
                reason,
                recorded_at: "2026-11-22T01:02:03.000004Z",
                snapshot: &snapshot,
            };
            assert_eq!(e.canonical(), serde_jcs::to_vec(&e).unwrap());
            for text in [snapshot.to_string(), serde_json::to_string_pretty(&snapshot).unwrap()] {
                assert_eq!(entry_hash_of_text(&mut vec![], &e.head(), e.recorded_at, &text), Ok(entry_hash(&e)));
            }
        }
    }
}
