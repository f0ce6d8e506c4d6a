//! Appending to the log, inside the writer's transaction.

use chrono::{DateTime, Utc};
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::pg::PgConnection;
use diesel::prelude::*;

use crate::db::prepared::{Bind, Prepared};
use diesel::sql_types::{BigInt, Bytea, Timestamptz};
use uuid::Uuid;

use super::hash::{EntryHead, split_entry};
use crate::error::{AppError, AppResult};
use crate::model::{Action, EntityKind};

/// A change to record: the entity's full state after it, and who and why.
#[derive(Debug, Clone)]
pub struct NewRevision<'a> {
    pub kind: EntityKind,
    pub entity_id: Uuid,
    pub entity_version: i32,
    pub action: Action,
    pub actor_id: Uuid,
    pub reason: Option<&'a str>,
    pub snapshot: serde_json::Value,
}

#[derive(Debug, Clone, QueryableByName)]
pub struct Appended {
    #[diesel(sql_type = BigInt)]
    pub seq: i64,
    #[diesel(sql_type = Timestamptz)]
    pub recorded_at: DateTime<Utc>,
    #[diesel(sql_type = Bytea)]
    pub entry_hash: Vec<u8>,
    #[diesel(sql_type = Bytea)]
    pub chain_hash: Vec<u8>,
}

/// One statement, so the head lock is held for a single round trip plus the
/// commit: lock the head row, take seq = head + 1 and recorded_at =
/// max(now, head.recorded_at), hash, insert, move the head.
/// The database fills in only the time; everything else was canonicalised here.
const APPEND_SQL: &str = r#"
WITH head AS (
    SELECT seq, chain_hash, greatest(clock_timestamp(), recorded_at) AS at
    FROM log_head WHERE id FOR UPDATE
), entry AS (
    SELECT seq + 1 AS seq, at, chain_hash AS prev,
           sha256($1 || convert_to(to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'UTF8') || $2) AS entry_hash
    FROM head
), ins AS (
    INSERT INTO revisions (seq, entity_kind, entity_id, entity_version, action, actor_id, reason,
                           recorded_at, snapshot, entry_hash, chain_hash)
    SELECT seq, $3, $4, $5, $6, $7, $8, at, $9::jsonb, entry_hash, sha256(prev || entry_hash)
    FROM entry
    RETURNING seq, recorded_at, entry_hash, chain_hash
)
UPDATE log_head SET seq = ins.seq, chain_hash = ins.chain_hash, recorded_at = ins.recorded_at
FROM ins WHERE log_head.id
RETURNING ins.seq, ins.recorded_at, ins.entry_hash, ins.chain_hash
"#;

/// The revision must commit or roll back with the writer's projection change.
fn require_transaction(conn: &mut PgConnection, what: &str) -> AppResult<()> {
    let depth = AnsiTransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .map_err(AppError::from)?;
    if depth.is_none() {
        return Err(AppError::internal(format!("{what} called outside a transaction")));
    }
    Ok(())
}

/// Appends one revision. Must run inside the writer's transaction, after the
/// projection change, as late as possible: the head lock serialises writers
/// until that transaction commits.
pub fn append(conn: &mut PgConnection, rev: &NewRevision<'_>) -> AppResult<Appended> {
    require_transaction(conn, "ledger::append")?;
    let head = EntryHead {
        entity_kind: rev.kind.as_str(),
        entity_id: rev.entity_id,
        entity_version: rev.entity_version,
        action: rev.action.as_str(),
        actor_id: rev.actor_id,
        reason: rev.reason,
    };
    let split = split_entry(&head, &rev.snapshot);
    let appended = Prepared::new(
        APPEND_SQL,
        vec![
            Bind::Bytea(&split.before_time),
            Bind::Bytea(&split.after_time),
            Bind::Text(rev.kind.as_str()),
            Bind::Uuid(rev.entity_id),
            Bind::Int(rev.entity_version),
            Bind::Text(rev.action.as_str()),
            Bind::Uuid(rev.actor_id),
            Bind::NullableText(rev.reason),
            Bind::Text(&split.snapshot_text),
        ],
    )
    .get_result::<Appended>(conn)?;
    Ok(appended)
}

#[derive(QueryableByName)]
struct LockedHead {
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Bytea)]
    chain_hash: Vec<u8>,
    #[diesel(sql_type = Timestamptz)]
    at: DateTime<Utc>,
}

/// Revisions per COPY.
const BATCH_ROWS: usize = 2_000;

/// One row of `revisions` as COPY writes it (binary format).
#[derive(Insertable)]
#[diesel(table_name = crate::db::schema::revisions, treat_none_as_default_value = false)]
struct RevisionRow<'a> {
    seq: i64,
    entity_kind: &'a str,
    entity_id: Uuid,
    entity_version: i32,
    action: &'a str,
    actor_id: Uuid,
    reason: Option<&'a str>,
    recorded_at: DateTime<Utc>,
    snapshot: &'a serde_json::Value,
    entry_hash: &'a [u8],
    chain_hash: &'a [u8],
}

/// Appends many revisions under one head lock (bulk imports): hashes are
/// computed here, rows go in with binary COPY, the head moves once. All
/// share one recorded_at. Must run inside the writer's transaction.
///
/// A helper thread canonicalises and hashes the next chunk while this one
/// is being copied, so the database and the hashing overlap.
pub fn append_batch(conn: &mut PgConnection, revs: &[NewRevision<'_>]) -> AppResult<Vec<Appended>> {
    use super::hash::{Entry, chain_hash, entry_hash, format_timestamp};
    use crate::db::schema::{log_head, revisions};

    require_transaction(conn, "ledger::append_batch")?;
    if revs.is_empty() {
        return Ok(vec![]);
    }
    let head: LockedHead =
        diesel::sql_query("SELECT seq, chain_hash, greatest(clock_timestamp(), recorded_at) AS at FROM log_head WHERE id FOR UPDATE")
            .get_result(conn)?;
    // The database keeps microseconds; hash exactly what it will store.
    let at = DateTime::<Utc>::from_timestamp_micros(head.at.timestamp_micros()).unwrap_or(head.at);
    let at_text = format_timestamp(at);
    let mut appended: Vec<Appended> = Vec::with_capacity(revs.len());
    std::thread::scope(|scope| -> AppResult<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<([u8; 32], [u8; 32])>>(2);
        let at_text = &at_text;
        let mut prev = head.chain_hash.clone();
        scope.spawn(move || {
            for chunk in revs.chunks(BATCH_ROWS) {
                let hashes = chunk
                    .iter()
                    .map(|rev| {
                        let eh = entry_hash(&Entry {
                            entity_kind: rev.kind.as_str(),
                            entity_id: rev.entity_id,
                            entity_version: rev.entity_version,
                            action: rev.action.as_str(),
                            actor_id: rev.actor_id,
                            reason: rev.reason,
                            recorded_at: at_text,
                            snapshot: &rev.snapshot,
                        });
                        let ch = chain_hash(&prev, &eh);
                        prev = ch.to_vec();
                        (eh, ch)
                    })
                    .collect();
                if tx.send(hashes).is_err() {
                    return; // the copy failed; the caller rolls back
                }
            }
        });
        for (chunk, hashes) in revs.chunks(BATCH_ROWS).zip(rx) {
            let first_seq = head.seq + 1 + appended.len() as i64;
            let rows: Vec<RevisionRow> = chunk
                .iter()
                .zip(&hashes)
                .enumerate()
                .map(|(i, (rev, (eh, ch)))| RevisionRow {
                    seq: first_seq + i as i64,
                    entity_kind: rev.kind.as_str(),
                    entity_id: rev.entity_id,
                    entity_version: rev.entity_version,
                    action: rev.action.as_str(),
                    actor_id: rev.actor_id,
                    reason: rev.reason,
                    recorded_at: at,
                    snapshot: &rev.snapshot,
                    entry_hash: eh,
                    chain_hash: ch,
                })
                .collect();
            diesel::copy_from(revisions::table).from_insertable(&rows).execute(conn)?;
            appended.extend(rows.iter().map(|r| Appended {
                seq: r.seq,
                recorded_at: at,
                entry_hash: r.entry_hash.to_vec(),
                chain_hash: r.chain_hash.to_vec(),
            }));
        }
        Ok(())
    })?;
    if appended.len() != revs.len() {
        return Err(AppError::internal("ledger::append_batch: the hashing thread stopped early"));
    }
    let last = appended.last().expect("not empty");
    diesel::update(log_head::table)
        .set((
            log_head::seq.eq(last.seq),
            log_head::chain_hash.eq(&last.chain_hash),
            log_head::recorded_at.eq(at),
        ))
        .execute(conn)?;
    Ok(appended)
}
