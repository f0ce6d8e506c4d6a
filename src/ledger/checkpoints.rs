//! Signed checkpoints of the tree (append-only, one per tree size) and the
//! cosignatures witnesses returned for them.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;

use crate::db::schema::{checkpoint_cosignatures, checkpoints};
use crate::error::AppResult;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = checkpoints)]
pub struct StoredCheckpoint {
    pub tree_size: i64,
    pub root_hash: Vec<u8>,
    /// The signed note, as signed by the log.
    pub note: String,
    pub signed_at: DateTime<Utc>,
}

pub fn latest(conn: &mut PgConnection) -> AppResult<Option<StoredCheckpoint>> {
    Ok(checkpoints::table
        .order(checkpoints::tree_size.desc())
        .select(StoredCheckpoint::as_select())
        .first(conn)
        .optional()?)
}

/// The newest checkpoint of at least `size` leaves... or exactly: the
/// checkpoint at `size`, if one was signed.
pub fn at_size(conn: &mut PgConnection, size: i64) -> AppResult<Option<StoredCheckpoint>> {
    Ok(checkpoints::table
        .find(size)
        .select(StoredCheckpoint::as_select())
        .first(conn)
        .optional()?)
}

/// Checkpoints with `tree_size > after`, oldest first.
pub fn after(conn: &mut PgConnection, after: i64, limit: i64) -> AppResult<Vec<StoredCheckpoint>> {
    Ok(checkpoints::table
        .filter(checkpoints::tree_size.gt(after))
        .order(checkpoints::tree_size.asc())
        .limit(limit)
        .select(StoredCheckpoint::as_select())
        .load(conn)?)
}

pub fn insert(conn: &mut PgConnection, tree_size: i64, root_hash: &[u8], note: &str) -> AppResult<()> {
    diesel::insert_into(checkpoints::table)
        .values((
            checkpoints::tree_size.eq(tree_size),
            checkpoints::root_hash.eq(root_hash),
            checkpoints::note.eq(note),
        ))
        .execute(conn)?;
    Ok(())
}

/// Stores a witness's cosignature line (the first one per witness stays).
pub fn add_cosignature(conn: &mut PgConnection, tree_size: i64, witness: &str, line: &str) -> AppResult<()> {
    diesel::insert_into(checkpoint_cosignatures::table)
        .values((
            checkpoint_cosignatures::tree_size.eq(tree_size),
            checkpoint_cosignatures::witness.eq(witness),
            checkpoint_cosignatures::line.eq(line),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(())
}

/// The cosignature lines of the checkpoint at `tree_size`, by witness name.
pub fn cosignatures(conn: &mut PgConnection, tree_size: i64) -> AppResult<Vec<(String, String)>> {
    Ok(checkpoint_cosignatures::table
        .filter(checkpoint_cosignatures::tree_size.eq(tree_size))
        .order(checkpoint_cosignatures::witness.asc())
        .select((checkpoint_cosignatures::witness, checkpoint_cosignatures::line))
        .load(conn)?)
}

/// The newest checkpoint cosigned by at least `quorum` witnesses (any
/// checkpoint when `quorum` is 0).
pub fn latest_cosigned(conn: &mut PgConnection, quorum: i64) -> AppResult<Option<StoredCheckpoint>> {
    if quorum <= 0 {
        return latest(conn);
    }
    Ok(checkpoints::table
        .filter(
            checkpoint_cosignatures::table
                .filter(checkpoint_cosignatures::tree_size.eq(checkpoints::tree_size))
                .count()
                .single_value()
                .ge(quorum),
        )
        .order(checkpoints::tree_size.desc())
        .select(StoredCheckpoint::as_select())
        .first(conn)
        .optional()?)
}
