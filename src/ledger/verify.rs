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
        if let Some(prev) = &self.prev_chain {
            let expected: Hash = chain_hash(prev, stored_entry_hash);
            if expected.as_slice() != stored_chain_hash {
                self.bad = Some((seq, LogProblem::ChainHashMismatch));
                return false;
            }
        }
        self.prev_chain = Some(stored_chain_hash.to_vec());
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

/// A revision as verification reads it: its snapshot as the database's
/// JSON text.
#[derive(Queryable, Debug)]
pub struct StoredRevision {
    pub seq: i64,
    pub entity_kind: String,
    pub entity_id: uuid::Uuid,
    pub entity_version: i32,
    pub action: String,
    pub actor_id: uuid::Uuid,
    pub reason: Option<String>,
    pub recorded_at: chrono::DateTime<chrono::Utc>,
    pub snapshot: String,
    pub entry_hash: Vec<u8>,
    pub chain_hash: Vec<u8>,
}

impl StoredRevision {
    /// The entry's fields before its time and snapshot.
    pub fn head(&self) -> EntryHead<'_> {
        EntryHead {
            entity_kind: &self.entity_kind,
            entity_id: self.entity_id,
            entity_version: self.entity_version,
            action: &self.action,
            actor_id: self.actor_id,
            reason: self.reason.as_deref(),
        }
    }
}

/// Seqs `after+1..=to` of the log, snapshots as text: canonicalising the text is
/// cheaper than building a `serde_json::Value` of each (the tests of
/// `canonical::write_text` hold the two to the same bytes).
pub fn stored_batch(conn: &mut PgConnection, after: i64, to: i64) -> QueryResult<Vec<StoredRevision>> {
    revisions::table
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
            diesel::dsl::sql::<diesel::sql_types::Text>("snapshot::text"),
            revisions::entry_hash,
            revisions::chain_hash,
        ))
        .load(conn)
}

/// A revision reduced to what the chain check needs: its seq, the hash its
/// fields give (None when the snapshot text is not JSON) and the two stored.
struct Hashed {
    seq: i64,
    entry_hash: Option<Hash>,
    stored_entry_hash: Vec<u8>,
    stored_chain_hash: Vec<u8>,
}

/// Verifies seqs `from..=to` (to = the head when None) straight from the
/// database. When the range reaches the head, the head is checked too.
///
/// The range is read in batches of `BATCH` seqs, dealt in turn to one
/// reader per connection (`conn`, and `second` when given: the database's
/// JSON output is the costliest part, and two backends produce it at twice
/// the rate). Each reader's batches are hashed on a thread of their own
/// (entry hashes need nothing from other revisions); the chain is checked
/// in seq order, taking the batches back in the order they were dealt.
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
            let (raw, raw_inbox) = std::sync::mpsc::sync_channel::<Vec<StoredRevision>>(4);
            let (hashed, hashed_inbox) = std::sync::mpsc::sync_channel::<Vec<Hashed>>(4);
            outboxes.push(hashed_inbox);
            scope.spawn(move || {
                let mut scratch = Scratch::default();
                for batch in raw_inbox {
                    let out: Vec<Hashed> = batch
                        .into_iter()
                        .map(|r| Hashed {
                            seq: r.seq,
                            entry_hash: stored_entry_hash(&r, &mut scratch),
                            stored_entry_hash: r.entry_hash,
                            stored_chain_hash: r.chain_hash,
                        })
                        .collect();
                    if hashed.send(out).is_err() {
                        return; // the chain check stopped
                    }
                }
            });
            reading.push(scope.spawn(move || -> AppResult<()> {
                let mut lo = from - 1 + i as i64 * BATCH;
                while lo < to {
                    let batch = stored_batch(conn, lo, (lo + BATCH).min(to))?;
                    if raw.send(batch).is_err() {
                        break;
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
                if !verifier.check(r.seq, r.entry_hash, &r.stored_entry_hash, &r.stored_chain_hash) {
                    break 'batches;
                }
            }
            checked += batch.len() as u64;
            progress(checked, to);
        }
        drop(outboxes); // stops the readers and hashers if the check ended early
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

/// A hashing thread's reusable state: the entry buffer, and the last
/// `recorded_at` printed (a batch's revisions share one time: it is printed
/// once per run of equal times).
#[derive(Default)]
struct Scratch {
    entry: Vec<u8>,
    time: Option<(chrono::DateTime<chrono::Utc>, String)>,
}

fn stored_entry_hash(r: &StoredRevision, scratch: &mut Scratch) -> Option<Hash> {
    if scratch.time.as_ref().is_none_or(|(t, _)| *t != r.recorded_at) {
        scratch.time = Some((r.recorded_at, format_timestamp(r.recorded_at)));
    }
    let recorded_at = scratch.time.as_ref().map_or("", |(_, text)| text.as_str());
    entry_hash_of_text(&mut scratch.entry, &r.head(), recorded_at, &r.snapshot).ok()
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
        if v.checked() % 10_000 == 0 {
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
