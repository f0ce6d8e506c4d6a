//! Use cases: one function each, one transaction each. A write changes the
//! projection and appends exactly one revision per changed entity.

pub mod editors;

use diesel::pg::PgConnection;
use diesel::prelude::*;

use crate::error::{AppError, AppResult};

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
