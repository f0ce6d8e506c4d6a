//! The log as a whole: its head, verification (of the database or of an
//! export file), the seq at a moment, and the export loop shared by the
//! CLI and `GET /v1/log/export`.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;

use crate::error::{AppError, AppResult};
use crate::ledger;
pub use crate::ledger::{LogHead, LogProblem, VerifyReport};
use crate::model::{Revision, RevisionRecord};

pub fn head(conn: &mut PgConnection) -> AppResult<LogHead> {
    ledger::head(conn)
}

/// Ready to serve: the database answers and is fully migrated.
pub fn check_ready(conn: &mut PgConnection) -> AppResult<()> {
    crate::db::check_ready(conn)
}

/// Recomputes every entry and chain hash of seqs `from..=to` (to the head
/// when None), reading through `second` as well when given;
/// `progress(checked, last_seq)` is called along the way.
pub fn verify(
    conn: &mut PgConnection,
    second: Option<&mut PgConnection>,
    from: i64,
    to: Option<i64>,
    progress: impl FnMut(u64, i64),
) -> AppResult<VerifyReport> {
    ledger::verify(conn, second, from, to, progress)
}

/// Verifies an NDJSON export on its own, with no database.
pub fn verify_export(reader: impl std::io::BufRead, progress: impl FnMut(u64)) -> VerifyReport {
    ledger::verify::verify_export(reader, progress)
}

/// The newest seq recorded at or before `t` (0 when the log was empty then).
pub fn seq_at_time(conn: &mut PgConnection, t: DateTime<Utc>) -> AppResult<i64> {
    ledger::asof::seq_at_time(conn, t)
}

/// The seq a revision got, once it is sequenced.
pub fn seq_of(conn: &mut PgConnection, entity_id: uuid::Uuid, entity_version: i32) -> AppResult<Option<i64>> {
    ledger::sequence::seq_of(conn, entity_id, entity_version)
}

/// Revisions `after < seq ≤ upto`, oldest first, at most `limit`.
pub fn batch(conn: &mut PgConnection, after: i64, upto: i64, limit: i64) -> AppResult<Vec<Revision>> {
    ledger::read_range(conn, after, upto, limit)
}

/// The export loop: revisions after `after` up to `upto`, read a batch at a
/// time by `read(after)`, written as NDJSON (one [`RevisionRecord`] per
/// line, split on `\n` only) and handed to `sink` with the number of lines.
/// `sink` returns false to stop early (the reader went away).
pub fn export(
    after: i64,
    upto: i64,
    mut read: impl FnMut(i64) -> AppResult<Vec<Revision>>,
    mut sink: impl FnMut(Vec<u8>, usize) -> AppResult<bool>,
) -> AppResult<()> {
    let mut after = after;
    while after < upto {
        let batch = read(after)?;
        let Some(last) = batch.last().map(|r| r.seq) else { break };
        let mut lines = Vec::with_capacity(batch.len() * 600);
        for r in &batch {
            serde_json::to_writer(&mut lines, &RevisionRecord::from(r)).map_err(AppError::internal)?;
            lines.push(b'\n');
        }
        if !sink(lines, batch.len())? {
            break;
        }
        after = last;
    }
    Ok(())
}
