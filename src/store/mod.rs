//! Use cases: one function each, one transaction each. A write changes the
//! projection and appends exactly one revision per changed entity.

pub mod appearances;
pub mod articles;
pub mod checkpoints;
pub mod claimants;
pub mod claims;
pub mod editors;
pub mod evidence;
pub mod factchecks;
pub mod history;
pub mod idempotency;
pub mod import;
pub mod log;
pub mod proofs;
pub mod revisions;
pub mod sequencer;
pub mod state;
pub mod upgrade;
pub mod verdicts;
pub mod webhooks;

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
pub use crate::ledger::PendingGroup;
use crate::ledger::{self, NewRevision};
use crate::model::{Action, Recorded};

/// The revisions one write records, in order. They reach the ledger
/// together, as the transaction's last statement (see [`write`]), or in
/// the change's own statement (see [`write_one`]).
#[derive(Default)]
pub struct Log {
    revisions: Vec<NewRevision>,
}

impl Log {
    /// Records a change: the entity's snapshot after it, what happened,
    /// who did it and why.
    pub fn record<T: Recorded>(&mut self, entity: &T, action: Action, actor_id: Uuid, reason: Option<&str>) {
        self.revisions.push(NewRevision {
            kind: T::KIND,
            entity_id: entity.id(),
            entity_version: entity.version(),
            action,
            actor_id,
            reason: reason.map(str::to_string),
            snapshot: entity.snapshot(),
        });
    }
}

/// A write that committed: its result, and the pending group its revisions
/// wait in until the sequencer gives them their seqs (None when the write
/// changed nothing).
#[derive(Debug)]
pub struct Committed<T> {
    pub value: T,
    pub pending: Option<PendingGroup>,
}

impl<T> Committed<T> {
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Committed<U> {
        Committed {
            value: f(self.value),
            pending: self.pending,
        }
    }
}

/// Runs a write in one transaction: `f` changes the projection and records
/// its revisions in `log`; they are recorded as pending last, after every
/// row lock `f` took.
pub fn write<T>(conn: &mut PgConnection, f: impl FnOnce(&mut PgConnection, &mut Log) -> AppResult<T>) -> AppResult<Committed<T>> {
    let body = |conn: &mut PgConnection| {
        let mut log = Log::default();
        let value = f(conn, &mut log)?;
        let pending = ledger::append(conn, &log.revisions)?;
        Ok(Committed { value, pending })
    };
    // The writer's commit need not wait for its own WAL flush: the write
    // is acknowledged only once sequenced, and the sequencer's commit,
    // which comes after this one in the WAL, is flushed (synchronously)
    // before anyone is told. A crash before that flush loses only writes
    // nobody was told about. One flush per batch, not per write.
    const BEGIN_ASYNC: &str = "BEGIN; SET LOCAL synchronous_commit = off";
    if crate::db::in_transaction(conn)? {
        // Inside a caller's transaction (the seed): its commit decides.
        return transaction(conn, body);
    }
    // BEGIN and the setting in one round trip.
    AnsiTransactionManager::begin_transaction_sql(conn, BEGIN_ASYNC)?;
    match body(conn) {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => match AnsiTransactionManager::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(e),
            Err(rollback) => Err(rollback.into()),
        },
    }
}

/// A write of one row in one statement, for the hottest edits: `change`
/// (an `UPDATE … RETURNING` conditional on the version the caller read,
/// without a lock) and `entity`'s revision reach the database together —
/// one round trip where [`write`] takes five. None when the change matched
/// no row (the row moved on since it was read): nothing was written, and
/// the caller reads again.
pub fn write_one<T: Recorded>(
    conn: &mut PgConnection,
    change: crate::db::sql::Sql<'_>,
    entity: T,
    action: Action,
    actor_id: Uuid,
    reason: Option<&str>,
) -> AppResult<Option<Committed<T>>> {
    let mut log = Log::default();
    log.record(&entity, action, actor_id, reason);
    let pending = ledger::append_with(conn, change, &log.revisions[0])?;
    Ok(pending.map(|pending| Committed {
        value: entity,
        pending: Some(pending),
    }))
}

/// Whether nothing has been recorded yet but accounts (the seed's test).
pub fn holds_no_articles_or_claims(conn: &mut PgConnection) -> AppResult<bool> {
    use crate::db::schema::{articles, claims};
    let articles: i64 = articles::table.count().get_result(conn)?;
    let claims: i64 = claims::table.count().get_result(conn)?;
    Ok(articles == 0 && claims == 0)
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
