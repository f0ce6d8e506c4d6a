//! The append-only, hash-chained revision log (DESIGN §3): append, verify,
//! and reads as of a seq or a time.

pub mod append;
pub mod asof;
pub mod checkpoints;
pub mod hash;
pub mod sequence;
pub mod tree;
pub mod verify;

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;

pub use append::{NewRevision, PendingGroup, append, append_batch, append_with};
pub use sequence::{GroupSequenced, SequencedBatch, sequence_batch};
pub use verify::{LogProblem, Verifier, VerifyReport, verify};

use crate::db::schema::{log_head, revisions};
use crate::error::AppResult;
use crate::model::Revision;

/// The newest revision's position. `seq` 0 means the log is empty.
#[derive(Clone, Debug, PartialEq, Queryable, Selectable)]
#[diesel(table_name = log_head)]
pub struct LogHead {
    pub seq: i64,
    pub chain_hash: Vec<u8>,
    pub recorded_at: DateTime<Utc>,
}

/// Reads the head without locking it.
pub fn head(conn: &mut PgConnection) -> AppResult<LogHead> {
    Ok(log_head::table.select(LogHead::as_select()).first(conn)?)
}

/// Revisions `after < seq ≤ upto`, oldest first, at most `limit`.
pub fn read_range(conn: &mut PgConnection, after: i64, upto: i64, limit: i64) -> AppResult<Vec<Revision>> {
    Ok(revisions::table
        .filter(revisions::seq.gt(after).and(revisions::seq.le(upto)))
        .order(revisions::seq.asc())
        .limit(limit)
        .select(Revision::as_select())
        .load(conn)?)
}
