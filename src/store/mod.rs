//! Use cases: one function each, one transaction each. A write changes the
//! projection and appends exactly one revision per changed entity.

pub mod appearances;
pub mod articles;
pub mod audit;
pub mod claims;
pub mod editors;
pub mod evidence;
pub mod factchecks;
pub mod idempotency;
pub mod verdicts;

use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::ledger::{self, Appended, NewRevision};
use crate::model::{Action, EntityKind};

/// Appends the revision for a changed row: its snapshot is the row as
/// stored after the change, so the projection can be rebuilt from the log.
pub fn record<T: Serialize>(
    conn: &mut PgConnection,
    kind: EntityKind,
    row: &T,
    (id, version): (Uuid, i32),
    action: Action,
    actor_id: Uuid,
    reason: Option<&str>,
) -> AppResult<Appended> {
    let snapshot = serde_json::to_value(row).map_err(AppError::internal)?;
    ledger::append(
        conn,
        &NewRevision {
            kind,
            entity_id: id,
            entity_version: version,
            action,
            actor_id,
            reason,
            snapshot,
        },
    )
}

/// Optimistic concurrency: the client's version must be the current one.
pub fn check_version(what: &str, current: i32, expected: Option<i32>) -> AppResult<()> {
    match expected {
        Some(v) if v != current => Err(AppError::PreconditionFailed {
            detail: format!("the {what} has changed: you sent If-Match for version {v}, the current version is {current}"),
            current_version: current,
        }),
        _ => Ok(()),
    }
}

/// A page of a list: at most `limit` items after the keyset cursor.
#[derive(Clone, Copy, Debug)]
pub struct Page {
    pub limit: i64,
    pub after: Option<Uuid>,
}

/// Runs `f` in one transaction, with AppError as the error type.
pub fn transaction<T>(conn: &mut PgConnection, f: impl FnOnce(&mut PgConnection) -> AppResult<T>) -> AppResult<T> {
    conn.transaction::<T, TxError, _>(|c| f(c).map_err(TxError::App))
        .map_err(|e| match e {
            TxError::App(e) => e,
            TxError::Db(e) => AppError::from(e),
        })
}

/// diesel's transaction needs an error that can carry its own failures.
enum TxError {
    App(AppError),
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        TxError::Db(e)
    }
}
