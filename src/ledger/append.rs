//! Recording revisions, inside the writer's transaction: as *pending*, in
//! one statement issued last, without touching the head. The sequencer
//! (`sequence.rs`) gives them their place in the log.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use uuid::Uuid;

use super::hash::{EntryHead, split_entry};
use crate::db::schema::pending_revisions;
use crate::db::sql::{Param, Sql};
use crate::error::{AppError, AppResult};
use crate::model::{Action, EntityKind};

/// A change to record: the entity's full state after it, and who and why.
#[derive(Debug, Clone)]
pub struct NewRevision {
    pub kind: EntityKind,
    pub entity_id: Uuid,
    pub entity_version: i32,
    pub action: Action,
    pub actor_id: Uuid,
    pub reason: Option<String>,
    pub snapshot: serde_json::Value,
}

/// A writer's revisions, waiting for the sequencer: they are sequenced
/// together, consecutively, in `ord` order. `last` names the last one (the
/// revision a write acknowledges with its seq).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingGroup {
    pub grp: i64,
    pub last_entity_id: Uuid,
    pub last_entity_version: i32,
}

/// The revision must commit or roll back with the writer's projection change.
fn require_transaction(conn: &mut PgConnection, what: &str) -> AppResult<()> {
    if !crate::db::in_transaction(conn)? {
        return Err(AppError::internal(format!("{what} called outside a transaction")));
    }
    Ok(())
}

/// One row of `pending_revisions`: the entry canonicalised by the writer
/// (JCS split around the time the sequencer will take), so sequencing is
/// only joining, hashing and copying.
#[derive(Insertable)]
#[diesel(table_name = pending_revisions, treat_none_as_default_value = false)]
struct PendingRow<'a> {
    grp: i64,
    ord: i32,
    entity_kind: EntityKind,
    entity_id: Uuid,
    entity_version: i32,
    action: Action,
    actor_id: Uuid,
    reason: Option<&'a str>,
    before_time: Vec<u8>,
    after_time: Vec<u8>,
    snapshot: String,
}

fn pending_row(grp: i64, ord: usize, rev: &NewRevision) -> PendingRow<'_> {
    let head = EntryHead {
        entity_kind: rev.kind.as_str(),
        entity_id: rev.entity_id,
        entity_version: rev.entity_version,
        action: rev.action.as_str(),
        actor_id: rev.actor_id,
        reason: rev.reason.as_deref(),
    };
    let split = split_entry(&head, &rev.snapshot);
    PendingRow {
        grp,
        ord: ord as i32,
        entity_kind: rev.kind,
        entity_id: rev.entity_id,
        entity_version: rev.entity_version,
        action: rev.action,
        actor_id: rev.actor_id,
        reason: rev.reason.as_deref(),
        before_time: split.before_time,
        after_time: split.after_time,
        snapshot: split.snapshot_text,
    }
}

#[derive(QueryableByName)]
struct Drawn {
    #[diesel(sql_type = BigInt)]
    grp: i64,
}

/// Records a transaction's revisions as one pending group. Must run inside
/// the writer's transaction as its last statement that takes a lock: the
/// group number is drawn here, so a later writer of the same entity (which
/// waits for this transaction's row locks) always draws a larger one.
pub fn append(conn: &mut PgConnection, revs: &[NewRevision]) -> AppResult<Option<PendingGroup>> {
    require_transaction(conn, "ledger::append")?;
    let Some(last) = revs.last() else { return Ok(None) };
    let grp = if let [only] = revs {
        // The usual write: the group drawn by the insert itself (one round trip).
        let row = pending_row(0, 0, only);
        Sql::fixed(
            "INSERT INTO pending_revisions \
               (grp, ord, entity_kind, entity_id, entity_version, action, actor_id, reason, before_time, after_time, snapshot) \
             VALUES (nextval('pending_groups'), 0, $1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING grp",
            vec![
                Param::text(row.entity_kind.as_str()),
                Param::Uuid(row.entity_id),
                Param::Int(row.entity_version),
                Param::text(row.action.as_str()),
                Param::Uuid(row.actor_id),
                Param::NullableText(row.reason),
                Param::Bytea(&row.before_time),
                Param::Bytea(&row.after_time),
                Param::text(row.snapshot.as_str()),
            ],
        )
        .get_result::<Drawn>(conn)?
        .grp
    } else {
        let grp = Sql::fixed("SELECT nextval('pending_groups') AS grp", vec![])
            .get_result::<Drawn>(conn)?
            .grp;
        let rows: Vec<PendingRow> = revs.iter().enumerate().map(|(i, r)| pending_row(grp, i, r)).collect();
        diesel::copy_from(pending_revisions::table).from_insertable(&rows).execute(conn)?;
        grp
    };
    Ok(Some(PendingGroup {
        grp,
        last_entity_id: last.entity_id,
        last_entity_version: last.entity_version,
    }))
}

/// Records one revision in the same statement as the projection change that
/// makes it: `change` is an `UPDATE … RETURNING` whose condition (the
/// version its caller read) matches no row once another write got there
/// first; its placeholders come first. One round trip, and outside a
/// caller's transaction a commit of its own, asynchronous as in
/// `store::write` (the write is acknowledged only once sequenced). None
/// when the change matched no row: nothing was written.
///
/// The group is drawn for the row the change returns, so after the change
/// holds its row lock: the order [`append`] gives, in one statement.
pub fn append_with(conn: &mut PgConnection, change: Sql<'_>, rev: &NewRevision) -> AppResult<Option<PendingGroup>> {
    let in_transaction = crate::db::in_transaction(conn)?;
    let row = pending_row(0, 0, rev);
    let mut sql = change;
    sql.prefix("WITH changed AS (");
    sql.push(
        "), pending AS (INSERT INTO pending_revisions \
           (grp, ord, entity_kind, entity_id, entity_version, action, actor_id, reason, before_time, after_time, snapshot) \
         SELECT nextval('pending_groups'), 0, ",
    );
    let values = [
        sql.param(Param::text(row.entity_kind.as_str())),
        sql.param(Param::Uuid(row.entity_id)),
        sql.param(Param::Int(row.entity_version)),
        sql.param(Param::text(row.action.as_str())),
        sql.param(Param::Uuid(row.actor_id)),
        sql.param(Param::NullableText(row.reason)),
        sql.param(Param::Bytea(&row.before_time)),
        sql.param(Param::Bytea(&row.after_time)),
        sql.param(Param::text(row.snapshot.as_str())),
    ];
    sql.push(&values.join(", "));
    sql.push(" FROM changed RETURNING grp) SELECT grp");
    if !in_transaction {
        // The statement's own transaction: the setting is read at its commit.
        sql.push(", set_config('synchronous_commit', 'off', true) AS async_commit");
    }
    sql.push(" FROM pending");
    let drawn: Option<Drawn> = sql.get_result(conn).optional()?;
    Ok(drawn.map(|d| PendingGroup {
        grp: d.grp,
        last_entity_id: rev.entity_id,
        last_entity_version: rev.entity_version,
    }))
}

/// Revisions per COPY of a bulk import.
const BULK_ROWS: usize = 5_000;

/// Records many revisions (bulk imports) as one pending group, copied in
/// chunks; the sequencer takes the group whole. A helper thread
/// canonicalises the next chunk while this one is copied. Must run inside
/// the writer's transaction.
pub fn append_batch(conn: &mut PgConnection, revs: &[NewRevision]) -> AppResult<Option<PendingGroup>> {
    require_transaction(conn, "ledger::append_batch")?;
    let Some(last) = revs.last() else { return Ok(None) };
    let grp = Sql::fixed("SELECT nextval('pending_groups') AS grp", vec![])
        .get_result::<Drawn>(conn)?
        .grp;
    std::thread::scope(|scope| -> AppResult<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<PendingRow>>(2);
        scope.spawn(move || {
            for (n, chunk) in revs.chunks(BULK_ROWS).enumerate() {
                let rows = chunk
                    .iter()
                    .enumerate()
                    .map(|(i, r)| pending_row(grp, n * BULK_ROWS + i, r))
                    .collect();
                if tx.send(rows).is_err() {
                    return; // the copy failed; the caller rolls back
                }
            }
        });
        for rows in rx {
            diesel::copy_from(pending_revisions::table).from_insertable(&rows).execute(conn)?;
        }
        Ok(())
    })?;
    Ok(Some(PendingGroup {
        grp,
        last_entity_id: last.entity_id,
        last_entity_version: last.entity_version,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_row_is_the_entry_split_around_its_time() {
        let rev = NewRevision {
            kind: EntityKind::Claim,
            entity_id: Uuid::from_u128(1),
            entity_version: 2,
            action: Action::Update,
            actor_id: Uuid::from_u128(3),
            reason: Some("typo".into()),
            snapshot: serde_json::json!({"b": 1, "a": "x"}),
        };
        let row = pending_row(7, 1, &rev);
        let mut joined = row.before_time.clone();
        joined.extend_from_slice(b"2026-01-01T00:00:00.000000Z");
        joined.extend_from_slice(&row.after_time);
        assert_eq!(
            String::from_utf8(joined).unwrap(),
            r#"{"action":"update","actor_id":"00000000-0000-0000-0000-000000000003","entity_id":"00000000-0000-0000-0000-000000000001","entity_kind":"claim","entity_version":2,"reason":"typo","recorded_at":"2026-01-01T00:00:00.000000Z","snapshot":{"a":"x","b":1}}"#
        );
        assert_eq!(row.snapshot, r#"{"a":"x","b":1}"#);
        assert_eq!((row.grp, row.ord), (7, 1));
    }
}
