//! Re-computing every entry and chain hash, from the database or from an
//! export, and naming the first revision that does not hold.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde::Serialize;

use super::hash::{Entry, EntryHead, GENESIS, Hash, chain_hash, entry_hash, entry_hash_of_text};
use super::{LogHead, head};
use crate::db::schema::revisions;
use crate::error::AppResult;
use crate::model::RevisionRecord;
use crate::model::format_timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogProblem {
    /// The entry's fields do not hash to its stored entry_hash.
    EntryHashMismatch,
    /// The stored chain_hash is not SHA-256(previous chain_hash ‖ entry_hash).
    ChainHashMismatch,
    /// A seq is missing or repeated.
    Gap,
    /// The log_head row does not point at the last revision.
    HeadMismatch,
    /// An export line that is not a revision record.
    Malformed,
}

impl LogProblem {
    pub fn as_str(self) -> &'static str {
        match self {
            LogProblem::EntryHashMismatch => "entry_hash_mismatch",
            LogProblem::ChainHashMismatch => "chain_hash_mismatch",
            LogProblem::Gap => "gap",
            LogProblem::HeadMismatch => "head_mismatch",
            LogProblem::Malformed => "malformed",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct VerifyReport {
    pub ok: bool,
    /// Revisions checked (all of them when ok).
    pub checked: u64,
    pub first_bad_seq: Option<i64>,
    pub problem: Option<LogProblem>,
}

/// Checks revisions one at a time, in seq order, in constant memory.
pub struct Verifier {
    expected_seq: i64,
    /// None: the chain before `expected_seq` is unknown (an export that
    /// starts mid-log); the first chain hash is then taken as given.
    prev_chain: Option<Vec<u8>>,
    checked: u64,
    bad: Option<(i64, LogProblem)>,
}

impl Verifier {
    /// Starts at `first_seq`, whose predecessor's chain hash is `prev_chain`
    /// (GENESIS for seq 1).
    pub fn new(first_seq: i64, prev_chain: &[u8]) -> Self {
        Verifier {
            expected_seq: first_seq,
            prev_chain: Some(prev_chain.to_vec()),
            checked: 0,
            bad: None,
        }
    }

    /// Starts at `first_seq` without knowing the chain before it.
    pub fn anchored_at(first_seq: i64) -> Self {
        Verifier {
            expected_seq: first_seq,
            prev_chain: None,
            checked: 0,
            bad: None,
        }
    }

    pub fn from_start() -> Self {
        Self::new(1, &GENESIS)
    }

    pub fn is_bad(&self) -> bool {
        self.bad.is_some()
    }

    pub fn checked(&self) -> u64 {
        self.checked
    }

    /// Checks the next revision, given the hash its fields give (None when
    /// they cannot be hashed); returns false once a problem is found.
    pub fn check(&mut self, seq: i64, entry_hash: Option<Hash>, stored_entry_hash: &[u8], stored_chain_hash: &[u8]) -> bool {
        self.check_chained(seq, entry_hash, stored_entry_hash, stored_chain_hash, None)
    }

    /// [`Verifier::check`], given the chain hash of the revision before
    /// this one's stored chain hash and this one's stored entry hash when it
    /// was computed already (by a reader, off this thread).
    fn check_chained(
        &mut self,
        seq: i64,
        entry_hash: Option<Hash>,
        stored_entry_hash: &[u8],
        stored_chain_hash: &[u8],
        chain_after_previous: Option<&Hash>,
    ) -> bool {
        if self.bad.is_some() {
            return false;
        }
        if seq != self.expected_seq {
            self.bad = Some((self.expected_seq.min(seq), LogProblem::Gap));
            return false;
        }
        if entry_hash.as_ref().map(|h| h.as_slice()) != Some(stored_entry_hash) {
            self.bad = Some((seq, LogProblem::EntryHashMismatch));
            return false;
        }
        if let Some(prev) = &mut self.prev_chain {
            let expected: Hash = match chain_after_previous {
                Some(h) => *h,
                None => chain_hash(prev, stored_entry_hash),
            };
            if expected.as_slice() != stored_chain_hash {
                self.bad = Some((seq, LogProblem::ChainHashMismatch));
                return false;
            }
            prev.clear();
            prev.extend_from_slice(stored_chain_hash);
        } else {
            self.prev_chain = Some(stored_chain_hash.to_vec());
        }
        self.expected_seq += 1;
        self.checked += 1;
        true
    }

    /// An export line: the hex hashes must decode, the rest is hashed as written.
    pub fn check_record(&mut self, r: &RevisionRecord) -> bool {
        let entry = Entry {
            entity_kind: r.entity_kind.as_str(),
            entity_id: r.entity_id,
            entity_version: r.entity_version,
            action: r.action.as_str(),
            actor_id: r.actor_id,
            reason: r.reason.as_deref(),
            recorded_at: &r.recorded_at,
            snapshot: &r.snapshot,
        };
        let eh = hex::decode(&r.entry_hash).unwrap_or_default();
        let ch = hex::decode(&r.chain_hash).unwrap_or_default();
        self.check(r.seq, Some(entry_hash(&entry)), &eh, &ch)
    }

    /// The last revision must be the one the head names. `beyond` is the
    /// first stored seq past the head, if any.
    pub fn check_head(&mut self, head: &LogHead, beyond: Option<i64>) {
        if self.bad.is_some() {
            return;
        }
        let last = self.expected_seq - 1;
        let bad_at = if let Some(seq) = beyond {
            Some(seq)
        } else if head.seq > last {
            Some(self.expected_seq)
        } else if head.seq < last || Some(&head.chain_hash) != self.prev_chain.as_ref() {
            Some(head.seq.max(1))
        } else {
            None
        };
        if let Some(seq) = bad_at {
            self.bad = Some((seq, LogProblem::HeadMismatch));
        }
    }

    pub fn report(&self) -> VerifyReport {
        VerifyReport {
            ok: self.bad.is_none(),
            checked: self.checked,
            first_bad_seq: self.bad.map(|(s, _)| s),
            problem: self.bad.map(|(_, p)| p),
        }
    }
}

const BATCH: i64 = 2_000;

/// A revision as verification reads it, borrowed from the driver's buffer:
/// its snapshot as the JSON text the log stores, its stored hashes (None when
/// not 32 bytes long, which the schema forbids).
pub struct StoredRevision<'r> {
    pub seq: i64,
    pub head: EntryHead<'r>,
    pub recorded_at: chrono::DateTime<chrono::Utc>,
    pub snapshot: &'r str,
    pub entry_hash: Option<Hash>,
    pub chain_hash: Option<Hash>,
}

/// Seqs `after+1..=to` of the log, in seq order, each handed to `each` as
/// the driver hands its row over: the text fields and the snapshot's JSON
/// text are borrowed from the result, never copied into a row of their own
/// (at a million revisions, those copies and their frees cost more than
/// the chain check).
pub fn read_stored(conn: &mut PgConnection, after: i64, to: i64, mut each: impl FnMut(StoredRevision<'_>)) -> AppResult<()> {
    use diesel::connection::LoadConnection;
    use diesel::deserialize::FromSql;
    use diesel::pg::Pg;
    use diesel::row::{Field, Row};
    use diesel::sql_types::{BigInt, Integer, Timestamptz};

    let query = revisions::table
        .filter(revisions::seq.gt(after).and(revisions::seq.le(to)))
        .order(revisions::seq.asc())
        .select((
            revisions::seq,
            revisions::entity_kind,
            revisions::entity_id,
            revisions::entity_version,
            revisions::action,
            revisions::actor_id,
            revisions::reason,
            revisions::recorded_at,
            revisions::snapshot,
            revisions::entry_hash,
            revisions::chain_hash,
        ));
    let malformed = |what: &str| crate::error::AppError::internal(format!("verify: a revision's {what} could not be read"));
    for row in <PgConnection as LoadConnection>::load(conn, query)? {
        let row = row?;
        let fields: [_; 11] = std::array::from_fn(|i| row.get(i));
        let bytes = |i: usize| fields[i].as_ref().and_then(|f| f.value());
        let text = |i: usize| bytes(i).and_then(|v| std::str::from_utf8(v.as_bytes()).ok());
        let uuid = |i: usize| bytes(i).and_then(|v| uuid::Uuid::from_slice(v.as_bytes()).ok());
        let hash = |i: usize| bytes(i).and_then(|v| Hash::try_from(v.as_bytes()).ok());
        let seq = bytes(0)
            .and_then(|v| <i64 as FromSql<BigInt, Pg>>::from_sql(v).ok())
            .ok_or_else(|| malformed("seq"))?;
        let entity_version = bytes(3)
            .and_then(|v| <i32 as FromSql<Integer, Pg>>::from_sql(v).ok())
            .ok_or_else(|| malformed("entity_version"))?;
        let recorded_at = bytes(7)
            .and_then(|v| <chrono::DateTime<chrono::Utc> as FromSql<Timestamptz, Pg>>::from_sql(v).ok())
            .ok_or_else(|| malformed("recorded_at"))?;
        let (Some(entity_kind), Some(entity_id), Some(action), Some(actor_id), Some(snapshot)) =
            (text(1), uuid(2), text(4), uuid(5), text(8))
        else {
            return Err(malformed("fields"));
        };
        let reason = match bytes(6) {
            None => None,
            Some(_) => Some(text(6).ok_or_else(|| malformed("reason"))?),
        };
        each(StoredRevision {
            seq,
            head: EntryHead {
                entity_kind,
                entity_id,
                entity_version,
                action,
                actor_id,
                reason,
            },
            recorded_at,
            snapshot,
            entry_hash: hash(9),
            chain_hash: hash(10),
        });
    }
    Ok(())
}

/// A revision reduced to what the chain check needs: its seq, the hash its
/// fields give (None when the snapshot text is not JSON), the two stored
/// (None when not 32 bytes long, which the schema forbids) and, when the
/// revision before it was read in the same batch, the chain hash that
/// revision's stored chain hash and this one's stored entry hash give.
struct Hashed {
    seq: i64,
    entry_hash: Option<Hash>,
    stored_entry_hash: Option<Hash>,
    stored_chain_hash: Option<Hash>,
    chain_after_previous: Option<Hash>,
}

/// Verifies seqs `from..=to` (to = the head when None) straight from the
/// database. When the range reaches the head, the head is checked too.
///
/// The range is read in batches of `BATCH` seqs, dealt in turn to one
/// reader per connection (`conn` and `more`: each reader canonicalises and
/// hashes on its own thread while its backend reads the next batch, so the
/// work spreads over the cores). A reader hashes each row straight from the driver's
/// buffer (no copy of a row is made) and also chains each row to the one
/// before it in its batch: both need only stored values. One thread then
/// checks the chain in seq order, taking the batches back in the order they
/// were dealt.
pub fn verify<'m>(
    conn: &mut PgConnection,
    more: impl IntoIterator<Item = &'m mut PgConnection>,
    from: i64,
    to: Option<i64>,
    mut progress: impl FnMut(u64, i64),
) -> AppResult<VerifyReport> {
    let head = head(conn)?;
    let from = from.max(1);
    let to = to.unwrap_or(head.seq).min(head.seq);
    let prev: Vec<u8> = if from == 1 {
        GENESIS.to_vec()
    } else {
        revisions::table
            .find(from - 1)
            .select(revisions::chain_hash)
            .first(conn)
            .optional()?
            .unwrap_or_default()
    };
    let mut verifier = Verifier::new(from, &prev);
    let mut conns: Vec<&mut PgConnection> = vec![&mut *conn];
    conns.extend(more.into_iter().map(|c| -> &mut PgConnection { c }));
    let readers = conns.len() as i64;
    let read = std::thread::scope(|scope| -> AppResult<()> {
        let mut outboxes = Vec::new();
        let mut reading = Vec::new();
        for (i, conn) in conns.into_iter().enumerate() {
            let (hashed, outbox) = std::sync::mpsc::sync_channel::<Vec<Hashed>>(4);
            outboxes.push(outbox);
            reading.push(scope.spawn(move || -> AppResult<()> {
                let mut scratch = Scratch::default();
                let mut lo = from - 1 + i as i64 * BATCH;
                while lo < to {
                    let batch = hashed_batch(conn, lo, (lo + BATCH).min(to), &mut scratch)?;
                    if hashed.send(batch).is_err() {
                        break; // the chain check stopped
                    }
                    lo += readers * BATCH;
                }
                Ok(())
            }));
        }
        // Batch k came from reader k mod n: taking them back in turn keeps
        // seq order. The loop ends at the first reader with nothing more
        // (past the last batch, or stopped by an error).
        let mut checked = 0u64;
        'batches: for outbox in outboxes.iter().cycle() {
            let Ok(batch) = outbox.recv() else { break };
            for r in &batch {
                if !verifier.check_chained(
                    r.seq,
                    r.entry_hash,
                    stored(&r.stored_entry_hash),
                    stored(&r.stored_chain_hash),
                    r.chain_after_previous.as_ref(),
                ) {
                    break 'batches;
                }
            }
            checked += batch.len() as u64;
            progress(checked, to);
        }
        drop(outboxes); // stops the readers if the check ended early
        for r in reading {
            r.join()
                .map_err(|_| crate::error::AppError::internal("a verify reader panicked"))??;
        }
        Ok(())
    });
    read?;
    if to < head.seq && !verifier.is_bad() && verifier.expected_seq <= to {
        // Rows missing at the end of a range inside the log.
        verifier.bad = Some((verifier.expected_seq, LogProblem::Gap));
    }
    if to == head.seq && !verifier.is_bad() {
        let beyond: Option<i64> = revisions::table
            .filter(revisions::seq.gt(head.seq))
            .select(revisions::seq)
            .order(revisions::seq.asc())
            .first(conn)
            .optional()?;
        verifier.check_head(&head, beyond);
    }
    Ok(verifier.report())
}

/// A stored hash as the check compares it (empty when it was not 32 bytes).
fn stored(h: &Option<Hash>) -> &[u8] {
    h.as_ref().map_or(&[], |h| h.as_slice())
}

/// A reader's reusable state: the entry buffer, and the last `recorded_at`
/// printed (a batch's revisions share one time: it is printed once per run
/// of equal times).
#[derive(Default)]
struct Scratch {
    entry: Vec<u8>,
    time: Option<(chrono::DateTime<chrono::Utc>, String)>,
}

/// `t` as the entry prints it, printed again only when it changes.
fn printed(time: &mut Option<(chrono::DateTime<chrono::Utc>, String)>, t: chrono::DateTime<chrono::Utc>) -> &str {
    if time.as_ref().is_none_or(|(seen, _)| *seen != t) {
        *time = Some((t, format_timestamp(t)));
    }
    time.as_ref().map_or("", |(_, text)| text.as_str())
}

/// Seqs `after+1..=to` of the log, each hashed as it is read.
fn hashed_batch(conn: &mut PgConnection, after: i64, to: i64, scratch: &mut Scratch) -> AppResult<Vec<Hashed>> {
    let Scratch { entry, time } = scratch;
    let mut out = Vec::with_capacity((to - after).max(0) as usize);
    let mut previous_chain: Option<Hash> = None;
    read_stored(conn, after, to, |r| {
        let entry_hash = entry_hash_of_text(entry, &r.head, printed(time, r.recorded_at), r.snapshot).ok();
        let chain_after_previous = match (&previous_chain, &r.entry_hash) {
            (Some(prev), Some(entry)) => Some(chain_hash(prev, entry)),
            _ => None,
        };
        previous_chain = r.chain_hash;
        out.push(Hashed {
            seq: r.seq,
            entry_hash,
            stored_entry_hash: r.entry_hash,
            stored_chain_hash: r.chain_hash,
            chain_after_previous,
        });
    })?;
    Ok(out)
}

/// Verifies an export (NDJSON, one revision per line) with no database.
/// Lines are split on `\n` only (U+2028 may occur inside strings). An export
/// that starts after seq 1 is anchored at its first line's chain hash, which
/// is taken as given.
pub fn verify_export(reader: impl std::io::BufRead, mut progress: impl FnMut(u64)) -> VerifyReport {
    let mut verifier: Option<Verifier> = None;
    let mut last_seq = 0;
    for line in reader.split(b'\n') {
        let Ok(line) = line else { break };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let record: RevisionRecord = match serde_json::from_slice(&line) {
            Ok(r) => r,
            Err(_) => {
                let checked = verifier.as_ref().map_or(0, Verifier::checked);
                return VerifyReport {
                    ok: false,
                    checked,
                    first_bad_seq: Some(last_seq + 1),
                    problem: Some(LogProblem::Malformed),
                };
            }
        };
        last_seq = record.seq;
        let v = verifier.get_or_insert_with(|| {
            if record.seq == 1 {
                Verifier::from_start()
            } else {
                Verifier::anchored_at(record.seq)
            }
        });
        if !v.check_record(&record) {
            break;
        }
        if v.checked().is_multiple_of(10_000) {
            progress(v.checked());
        }
    }
    verifier.map_or(
        VerifyReport {
            ok: true,
            checked: 0,
            first_bad_seq: None,
            problem: None,
        },
        |v| v.report(),
    )
}
