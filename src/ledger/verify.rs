//! Re-computing every entry and chain hash, from the database or from an
//! export, and naming the first revision that does not hold.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde::Serialize;

use super::hash::{Entry, GENESIS, Hash, chain_hash, entry_hash};
use super::{LogHead, head};
use crate::db::schema::revisions;
use crate::error::AppResult;
use crate::model::format_timestamp;
use crate::model::{Revision, RevisionRecord};

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

    /// Checks the next revision; returns false once a problem is found.
    pub fn check(&mut self, seq: i64, entry: &Entry<'_>, stored_entry_hash: &[u8], stored_chain_hash: &[u8]) -> bool {
        if self.bad.is_some() {
            return false;
        }
        if seq != self.expected_seq {
            self.bad = Some((self.expected_seq.min(seq), LogProblem::Gap));
            return false;
        }
        if entry_hash(entry).as_slice() != stored_entry_hash {
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

    pub fn check_revision(&mut self, r: &Revision) -> bool {
        let recorded_at = format_timestamp(r.recorded_at);
        let entry = Entry {
            entity_kind: r.entity_kind.as_str(),
            entity_id: r.entity_id,
            entity_version: r.entity_version,
            action: r.action.as_str(),
            actor_id: r.actor_id,
            reason: r.reason.as_deref(),
            recorded_at: &recorded_at,
            snapshot: &r.snapshot,
        };
        self.check(r.seq, &entry, &r.entry_hash, &r.chain_hash)
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
        self.check(r.seq, &entry, &eh, &ch)
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

const BATCH: i64 = 5_000;

/// Verifies seqs `from..=to` (to = the head when None) straight from the
/// database. When the range reaches the head, the head is checked too.
/// Reading the next batch overlaps with checking the last one (two threads).
pub fn verify(conn: &mut PgConnection, from: i64, to: Option<i64>, mut progress: impl FnMut(u64, i64)) -> AppResult<VerifyReport> {
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
    let verifier = Verifier::new(from, &prev);
    let mut verifier = std::thread::scope(|scope| -> AppResult<Verifier> {
        let (batches, inbox) = std::sync::mpsc::sync_channel::<Vec<Revision>>(2);
        let checker = scope.spawn(move || {
            let mut verifier = verifier;
            for batch in inbox {
                for r in &batch {
                    if !verifier.check_revision(r) {
                        return verifier; // dropping the inbox stops the reader
                    }
                }
            }
            verifier
        });
        let mut after = from - 1;
        let mut read = 0u64;
        while after < to {
            let batch: Vec<Revision> = revisions::table
                .filter(revisions::seq.gt(after).and(revisions::seq.le(to)))
                .order(revisions::seq.asc())
                .limit(BATCH)
                .select(Revision::as_select())
                .load(conn)?;
            let Some(last) = batch.last().map(|r| r.seq) else { break };
            after = last;
            read += batch.len() as u64;
            if batches.send(batch).is_err() {
                break;
            }
            progress(read, to);
        }
        drop(batches);
        checker
            .join()
            .map_err(|_| crate::error::AppError::internal("the verifier thread panicked"))
    })?;
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
