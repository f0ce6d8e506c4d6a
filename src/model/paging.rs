//! Paging, one way for every list: a page size of 1–100 and opaque keyset
//! cursors (never OFFSET). Every cursor is `base64url("<tag>.<fields>")`,
//! so a client cannot mistake one list's cursor for another's, and the
//! server names the list a cursor belongs to when it is sent to the wrong one.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::FieldError;

pub const MAX_LIMIT: i64 = 100;

/// A page size: 1–100, `default` when absent.
pub fn limit(value: Option<i64>, default: i64) -> Result<i64, FieldError> {
    let limit = value.unwrap_or(default);
    if (1..=MAX_LIMIT).contains(&limit) {
        Ok(limit)
    } else {
        Err(FieldError::new("limit", format!("between 1 and {MAX_LIMIT}")))
    }
}

fn encode(text: String) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

/// The dot-separated fields of a token, after its tag.
fn decode(token: &str) -> Option<(String, Vec<String>)> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.split('.').map(str::to_string);
    let tag = parts.next()?;
    Some((tag, parts.collect()))
}

fn not_ours(field: &str) -> FieldError {
    FieldError::new(field, "not a cursor this server issued for this list")
}

fn time(s: &str) -> Option<DateTime<Utc>> {
    s.parse::<i64>().ok().and_then(DateTime::from_timestamp_micros)
}

fn seq(s: &str) -> Option<i64> {
    s.parse::<i64>().ok().filter(|n| *n >= 0)
}

/// After this id, in a list ordered by id (UUIDv7: creation order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdCursor(pub Uuid);

impl IdCursor {
    pub fn token(self) -> String {
        encode(format!("i.{}", self.0.simple()))
    }

    pub fn parse(token: &str) -> Result<Self, FieldError> {
        match decode(token) {
            Some((tag, f)) if tag == "i" && f.len() == 1 => Uuid::try_parse(&f[0]).map(IdCursor).map_err(|_| not_ours("cursor")),
            _ => Err(not_ours("cursor")),
        }
    }
}

/// After this seq of the log (revisions, a claim's history).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeqCursor(pub i64);

impl SeqCursor {
    pub fn token(self) -> String {
        encode(format!("s.{}", self.0))
    }

    pub fn parse(token: &str) -> Result<Self, FieldError> {
        match decode(token) {
            Some((tag, f)) if tag == "s" && f.len() == 1 => seq(&f[0]).map(SeqCursor).ok_or_else(|| not_ours("cursor")),
            _ => Err(not_ours("cursor")),
        }
    }
}

/// A position in the feed: the seq of the last change read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeedCursor(pub i64);

impl FeedCursor {
    pub fn token(self) -> String {
        encode(format!("f.{}", self.0))
    }

    pub fn parse(token: &str) -> Result<Self, FieldError> {
        match decode(token) {
            Some((tag, f)) if tag == "f" && f.len() == 1 => seq(&f[0]).map(FeedCursor).ok_or_else(|| not_ours("after")),
            _ => Err(not_ours("after")),
        }
    }
}

/// Where the next page of the published fact checks starts: after this
/// one, in the list's order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ListCursor {
    /// Newest published first.
    Newest { published_at: DateTime<Utc>, claim_id: Uuid },
    /// A search: by rank, then newest. The rank is kept bit for bit, so the
    /// database compares it exactly.
    Ranked {
        rank: f32,
        published_at: DateTime<Utc>,
        claim_id: Uuid,
    },
}

impl ListCursor {
    pub fn token(&self) -> String {
        encode(match self {
            ListCursor::Newest { published_at, claim_id } => {
                format!("n.{}.{}", published_at.timestamp_micros(), claim_id.simple())
            }
            ListCursor::Ranked {
                rank,
                published_at,
                claim_id,
            } => format!("r.{:08x}.{}.{}", rank.to_bits(), published_at.timestamp_micros(), claim_id.simple()),
        })
    }

    /// A cursor from `token`, which must suit the list: ranked for a search
    /// (`q`), newest-first otherwise.
    pub fn parse(token: &str, searching: bool) -> Result<ListCursor, FieldError> {
        let (tag, f) = decode(token).ok_or_else(|| not_ours("cursor"))?;
        let id = |s: &str| Uuid::try_parse(s).ok();
        let cursor = match (tag.as_str(), f.as_slice()) {
            ("n", [t, c]) => time(t)
                .zip(id(c))
                .map(|(published_at, claim_id)| ListCursor::Newest { published_at, claim_id }),
            ("r", [r, t, c]) => u32::from_str_radix(r, 16)
                .ok()
                .map(f32::from_bits)
                .filter(|r| r.is_finite())
                .zip(time(t).zip(id(c)))
                .map(|(rank, (published_at, claim_id))| ListCursor::Ranked {
                    rank,
                    published_at,
                    claim_id,
                }),
            _ => None,
        }
        .ok_or_else(|| not_ours("cursor"))?;
        match (cursor, searching) {
            (ListCursor::Ranked { .. }, false) => Err(FieldError::new("cursor", "this cursor belongs to a search (q); send the same q")),
            (ListCursor::Newest { .. }, true) => Err(FieldError::new("cursor", "this cursor belongs to a list without q")),
            _ => Ok(cursor),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_cursors_round_trip_exactly_and_refuse_the_wrong_list() {
        let published_at = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        let claim_id = Uuid::now_v7();
        let newest = ListCursor::Newest { published_at, claim_id };
        assert_eq!(ListCursor::parse(&newest.token(), false).unwrap(), newest);
        let ranked = ListCursor::Ranked {
            rank: 0.1f32 + 0.2f32,
            published_at,
            claim_id,
        };
        assert_eq!(ListCursor::parse(&ranked.token(), true).unwrap(), ranked);
        assert!(ListCursor::parse(&ranked.token(), false).is_err());
        assert!(ListCursor::parse(&newest.token(), true).is_err());
        for junk in ["", "zzz", &URL_SAFE_NO_PAD.encode("n.1.2"), &claim_id.to_string()] {
            assert_eq!(ListCursor::parse(junk, false).unwrap_err().field, "cursor");
        }
    }

    #[test]
    fn each_cursor_round_trips_and_refuses_the_others() {
        assert_eq!(FeedCursor::parse(&FeedCursor(42).token()).unwrap(), FeedCursor(42));
        assert_eq!(SeqCursor::parse(&SeqCursor(7).token()).unwrap(), SeqCursor(7));
        let id = Uuid::now_v7();
        assert_eq!(IdCursor::parse(&IdCursor(id).token()).unwrap(), IdCursor(id));
        assert!(FeedCursor::parse("42").is_err());
        assert!(FeedCursor::parse(&URL_SAFE_NO_PAD.encode("f.-1")).is_err());
        assert!(FeedCursor::parse(&SeqCursor(7).token()).is_err());
        assert!(SeqCursor::parse(&FeedCursor(7).token()).is_err());
        assert!(IdCursor::parse(&id.to_string()).is_err());
        assert_eq!(FeedCursor::parse("x").unwrap_err().field, "after");
    }

    #[test]
    fn limits_are_one_to_a_hundred() {
        assert_eq!(limit(None, 20).unwrap(), 20);
        assert_eq!(limit(Some(100), 20).unwrap(), 100);
        assert_eq!(limit(Some(0), 20).unwrap_err().field, "limit");
        assert!(limit(Some(101), 20).is_err());
    }
}
