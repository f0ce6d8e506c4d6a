//! The sequencer's step: pending revisions, taken in commit order and a
//! batch at a time, become the next revisions of the log — dense seqs, a
//! non-decreasing recorded_at, entry and chain hashes — and the head moves,
//! all inside the caller's transaction (one WAL flush for the whole batch).
//! Only one sequencer runs at a time (see `store::sequencer`).

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bytea, Timestamptz};
use uuid::Uuid;

use super::LogHead;
use super::hash::{GENESIS, chain_hash};
use super::tree::{KeptTree, Written, check_written};
use crate::db::schema::revisions;
use crate::db::sql::{Param, Sql};
use crate::error::{AppError, AppResult};
use crate::model::digest::sha256_concat;
use crate::model::{Action, EntityKind, Revision, format_timestamp};

/// A pending revision as the sequencer takes it.
#[derive(QueryableByName, Debug)]
#[diesel(table_name = crate::db::schema::pending_revisions)]
struct PendingRevision {
    grp: i64,
    ord: i32,
    entity_kind: EntityKind,
    entity_id: Uuid,
    entity_version: i32,
    action: Action,
    actor_id: Uuid,
    reason: Option<String>,
    before_time: Vec<u8>,
    after_time: Vec<u8>,
    snapshot: String,
}

/// A pending revision taken, beside the head it will follow (locked by the
/// same statement).
#[derive(QueryableByName, Debug)]
struct Taken {
    #[diesel(embed)]
    pending: PendingRevision,
    #[diesel(sql_type = BigInt)]
    head_seq: i64,
    #[diesel(sql_type = Bytea)]
    head_chain: Vec<u8>,
    #[diesel(sql_type = Timestamptz)]
    head_at: DateTime<Utc>,
}

/// A group's place in the log: its last revision's seq.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupSequenced {
    pub grp: i64,
    pub last_seq: i64,
}

/// What one batch added to the log.
#[derive(Debug)]
pub struct SequencedBatch {
    pub revisions: Vec<Revision>,
    pub groups: Vec<GroupSequenced>,
    pub head: LogHead,
    /// The length of the batch's snapshots as JSON text, summed.
    pub snapshot_bytes: usize,
}

/// The head a batch follows, locked, and the time the batch is recorded at.
struct LockedHead {
    seq: i64,
    chain_hash: Vec<u8>,
    at: DateTime<Utc>,
}

/// Takes the oldest committed pending groups, whole, in group order —
/// about `max_rows` revisions (more when the last group is large) — and
/// appends their revisions to the log. None when nothing is pending. Must
/// run inside the sequencer's transaction.
pub fn sequence_batch(conn: &mut PgConnection, max_rows: i64, tree: &mut KeptTree) -> AppResult<Option<SequencedBatch>> {
    // The oldest `max_rows` revisions, found along the (grp, ord) key and
    // deleted by it: the table is a queue, and a plan that reads all of it
    // costs as much as the rows (live or dead) it holds — a bulk import
    // leaves a million. A range predicate on a subquery's value would be
    // planned blind (a third of the table) and scanned. The same statement
    // locks the head the batch will follow.
    let taken: Vec<Taken> = Sql::fixed(
        "WITH taken AS ( \
           DELETE FROM pending_revisions WHERE (grp, ord) IN \
             (SELECT grp, ord FROM pending_revisions ORDER BY grp, ord LIMIT $1) \
           RETURNING *), \
         head AS ( \
           SELECT seq AS head_seq, chain_hash AS head_chain, greatest(clock_timestamp(), recorded_at) AS head_at \
           FROM log_head WHERE id FOR UPDATE) \
         SELECT taken.*, head.* FROM taken CROSS JOIN head",
        vec![Param::BigInt(max_rows)],
    )
    .load(conn)?;
    let Some(head) = taken.first().map(|t| LockedHead {
        seq: t.head_seq,
        chain_hash: t.head_chain.clone(),
        at: t.head_at,
    }) else {
        return Ok(None);
    };
    let mut pending: Vec<PendingRevision> = taken.into_iter().map(|t| t.pending).collect();
    // Groups go whole: the rest of a group cut by the limit comes too.
    if pending.len() as i64 >= max_rows
        && let Some(cut) = pending.iter().max_by_key(|p| (p.grp, p.ord)).map(|p| (p.grp, p.ord))
    {
        let rest: Vec<PendingRevision> = Sql::fixed(
            "DELETE FROM pending_revisions WHERE grp = $1 AND ord > $2 RETURNING *",
            vec![Param::BigInt(cut.0), Param::Int(cut.1)],
        )
        .load(conn)?;
        pending.extend(rest);
    }
    pending.sort_unstable_by_key(|p| (p.grp, p.ord));
    // The database keeps microseconds: hash exactly what it will store.
    let at = DateTime::<Utc>::from_timestamp_micros(head.at.timestamp_micros()).unwrap_or(head.at);
    let at_text = format_timestamp(at);
    let mut prev: Vec<u8> = if head.seq == 0 { GENESIS.to_vec() } else { head.chain_hash.clone() };
    let mut hashes: Vec<([u8; 32], [u8; 32])> = Vec::with_capacity(pending.len());
    for p in &pending {
        let eh = sha256_concat(&[&p.before_time, at_text.as_bytes(), &p.after_time]);
        let ch = chain_hash(&prev, &eh);
        prev = ch.to_vec();
        hashes.push((eh, ch));
    }
    let last_seq = head.seq + pending.len() as i64;
    let last_chain = prev;
    let snapshot_bytes = pending.iter().map(|p| p.snapshot.len()).sum();
    let snapshots: Vec<serde_json::Value> = pending
        .iter()
        .map(|p| {
            serde_json::from_str(&p.snapshot)
                .map_err(|e| AppError::internal(format!("pending revision ({}, {}) holds no JSON: {e}", p.grp, p.ord)))
        })
        .collect::<AppResult<_>>()?;
    let leaves: Vec<&[u8]> = hashes.iter().map(|(eh, _)| eh.as_slice()).collect();
    let (tree_size, tiles) = super::tree::integrate(conn, head.seq, &leaves, tree)?;
    // The revisions, the tree's tiles and size, and the head: one statement.
    let mut sql = Sql::build();
    let columns = [
        (sql.param(Param::BigInts((head.seq + 1..=last_seq).collect())), "bigint"),
        (
            sql.param(Param::TextRefs(pending.iter().map(|p| p.entity_kind.as_str()).collect())),
            "text",
        ),
        (sql.param(Param::Uuids(pending.iter().map(|p| p.entity_id).collect())), "uuid"),
        (sql.param(Param::Ints(pending.iter().map(|p| p.entity_version).collect())), "int"),
        (
            sql.param(Param::TextRefs(pending.iter().map(|p| p.action.as_str()).collect())),
            "text",
        ),
        (sql.param(Param::Uuids(pending.iter().map(|p| p.actor_id).collect())), "uuid"),
        (
            sql.param(Param::NullableTextRefs(pending.iter().map(|p| p.reason.as_deref()).collect())),
            "text",
        ),
        (
            sql.param(Param::TextRefs(pending.iter().map(|p| p.snapshot.as_str()).collect())),
            "text",
        ),
        (
            sql.param(Param::Byteas(hashes.iter().map(|(eh, _)| eh.to_vec()).collect())),
            "bytea",
        ),
        (
            sql.param(Param::Byteas(hashes.iter().map(|(_, ch)| ch.to_vec()).collect())),
            "bytea",
        ),
        (
            sql.param(Param::NullableUuids(snapshots.iter().map(crate::model::named_claim).collect())),
            "uuid",
        ),
    ];
    let arrays: Vec<String> = columns.iter().map(|(p, t)| format!("{p}::{t}[]")).collect();
    let at_param = sql.param(Param::Time(at));
    sql.push(&format!(
        "WITH appended AS ( \
           INSERT INTO revisions (seq, entity_kind, entity_id, entity_version, action, actor_id, reason, recorded_at, snapshot, entry_hash, chain_hash, claim_id) \
           SELECT r.seq, r.kind, r.id, r.version, r.action, r.actor, r.reason, {at_param}, r.snapshot, r.eh, r.ch, r.claim \
           FROM unnest({}) AS r(seq, kind, id, version, action, actor, reason, snapshot, eh, ch, claim)), \
         tiles AS (",
        arrays.join(", ")
    ));
    let tiles_expected = tiles.push_upsert(&mut sql);
    let (size_param, seq_param, chain_param) = (
        sql.param(Param::BigInt(tree_size as i64)),
        sql.param(Param::BigInt(last_seq)),
        sql.param(Param::Bytea(&last_chain)),
    );
    sql.push(&format!(
        "), tree AS (UPDATE log_derived SET tree_size = {size_param}) \
         UPDATE log_head SET seq = {seq_param}, chain_hash = {chain_param}, recorded_at = {at_param} WHERE id \
         RETURNING (SELECT count(*) FROM tiles) AS written"
    ));
    let written: Written = sql.get_result(conn)?;
    check_written(tiles_expected, written.written)?;

    let mut groups: Vec<GroupSequenced> = vec![];
    for (i, p) in pending.iter().enumerate() {
        let seq = head.seq + 1 + i as i64;
        match groups.last_mut() {
            Some(g) if g.grp == p.grp => g.last_seq = seq,
            _ => groups.push(GroupSequenced { grp: p.grp, last_seq: seq }),
        }
    }
    let revisions = pending
        .into_iter()
        .zip(hashes)
        .zip(snapshots)
        .enumerate()
        .map(|(i, ((p, (eh, ch)), snapshot))| Revision {
            seq: head.seq + 1 + i as i64,
            entity_kind: p.entity_kind,
            entity_id: p.entity_id,
            entity_version: p.entity_version,
            action: p.action,
            actor_id: p.actor_id,
            reason: p.reason,
            recorded_at: at,
            snapshot,
            entry_hash: eh.to_vec(),
            chain_hash: ch.to_vec(),
        })
        .collect();
    Ok(Some(SequencedBatch {
        revisions,
        groups,
        head: LogHead {
            seq: last_seq,
            chain_hash: last_chain,
            recorded_at: at,
        },
        snapshot_bytes,
    }))
}

/// Vacuums the pending table (outside any transaction): it is a queue,
/// and its dead rows would otherwise slow every batch until autovacuum.
pub fn vacuum_pending(conn: &mut PgConnection) -> AppResult<()> {
    diesel::sql_query("VACUUM pending_revisions").execute(conn)?;
    Ok(())
}

/// Whether anything waits to be sequenced.
pub fn has_pending(conn: &mut PgConnection) -> AppResult<bool> {
    use crate::db::schema::pending_revisions;
    Ok(diesel::select(diesel::dsl::exists(pending_revisions::table.select(pending_revisions::grp))).get_result(conn)?)
}

/// The seq a revision got, once sequenced (by its entity and version).
pub fn seq_of(conn: &mut PgConnection, entity_id: Uuid, entity_version: i32) -> AppResult<Option<i64>> {
    Ok(revisions::table
        .filter(revisions::entity_id.eq(entity_id).and(revisions::entity_version.eq(entity_version)))
        .select(revisions::seq)
        .first(conn)
        .optional()?)
}
