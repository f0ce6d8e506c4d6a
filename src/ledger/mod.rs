//! The append-only, hash-chained revision log (DESIGN §3): append, verify,
//! and reads as of a seq or a time.

pub mod append;
pub mod asof;
pub mod hash;
pub mod jcs;
pub mod verify;

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde::Serialize;

pub use append::{Appended, NewRevision, append, append_batch};
pub use verify::{LogProblem, Verifier, VerifyReport, verify};

use crate::db::schema::log_head;
use crate::error::AppResult;

/// The newest revision's position. `seq` 0 means the log is empty.
#[derive(Clone, Debug, PartialEq, Queryable, Selectable)]
#[diesel(table_name = log_head)]
pub struct LogHead {
    pub seq: i64,
    pub chain_hash: Vec<u8>,
    pub recorded_at: DateTime<Utc>,
}

/// The head as JSON: hashes in lowercase hex.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct LogHeadView {
    pub seq: i64,
    pub chain_hash: String,
    pub recorded_at: String,
}

impl From<&LogHead> for LogHeadView {
    fn from(h: &LogHead) -> Self {
        LogHeadView {
            seq: h.seq,
            chain_hash: hex::encode(&h.chain_hash),
            recorded_at: hash::format_timestamp(h.recorded_at),
        }
    }
}

/// Reads the head without locking it.
pub fn head(conn: &mut PgConnection) -> AppResult<LogHead> {
    Ok(log_head::table.select(LogHead::as_select()).first(conn)?)
}
