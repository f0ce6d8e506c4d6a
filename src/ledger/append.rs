//! Appending to the log, inside the writer's transaction.

use chrono::{DateTime, Utc};
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bytea, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
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
    let appended = diesel::sql_query(APPEND_SQL)
        .bind::<Bytea, _>(&split.before_time)
        .bind::<Bytea, _>(&split.after_time)
        .bind::<Text, _>(rev.kind.as_str())
        .bind::<SqlUuid, _>(rev.entity_id)
        .bind::<Int4, _>(rev.entity_version)
        .bind::<Text, _>(rev.action.as_str())
        .bind::<SqlUuid, _>(rev.actor_id)
        .bind::<Nullable<Text>, _>(rev.reason)
        .bind::<Text, _>(&split.snapshot_text)
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

/// Rows per INSERT: 11 parameters each, under PostgreSQL's 65,535.
const BATCH_ROWS: usize = 2_000;

/// Appends many revisions under one head lock (bulk imports): hashes are
/// computed here, rows go in multi-row INSERTs, the head moves once. All
/// share one recorded_at. Must run inside the writer's transaction.
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
    let mut prev = head.chain_hash;
    let mut appended = Vec::with_capacity(revs.len());
    let mut rows = Vec::with_capacity(revs.len());
    for (i, rev) in revs.iter().enumerate() {
        let seq = head.seq + 1 + i as i64;
        let entry = Entry {
            entity_kind: rev.kind.as_str(),
            entity_id: rev.entity_id,
            entity_version: rev.entity_version,
            action: rev.action.as_str(),
            actor_id: rev.actor_id,
            reason: rev.reason,
            recorded_at: &at_text,
            snapshot: &rev.snapshot,
        };
        let eh = entry_hash(&entry);
        let ch = chain_hash(&prev, &eh);
        prev = ch.to_vec();
        rows.push((
            revisions::seq.eq(seq),
            revisions::entity_kind.eq(rev.kind.as_str()),
            revisions::entity_id.eq(rev.entity_id),
            revisions::entity_version.eq(rev.entity_version),
            revisions::action.eq(rev.action.as_str()),
            revisions::actor_id.eq(rev.actor_id),
            revisions::reason.eq(rev.reason),
            revisions::recorded_at.eq(at),
            revisions::snapshot.eq(&rev.snapshot),
            revisions::entry_hash.eq(eh.to_vec()),
            revisions::chain_hash.eq(ch.to_vec()),
        ));
        appended.push(Appended {
            seq,
            recorded_at: at,
            entry_hash: eh.to_vec(),
            chain_hash: ch.to_vec(),
        });
    }
    for chunk in rows.chunks(BATCH_ROWS) {
        diesel::insert_into(revisions::table).values(chunk).execute(conn)?;
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
