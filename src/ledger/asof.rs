//! Reading the log as of a seq or a time.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;

use crate::db::sql::{Param, Sql};
use uuid::Uuid;

use crate::db::schema::revisions;
use crate::error::AppResult;
use crate::model::Revision;

/// The newest seq recorded at or before `t` (0 when the log was empty then).
pub fn seq_at_time(conn: &mut PgConnection, t: DateTime<Utc>) -> AppResult<i64> {
    let seq: Option<i64> = seq_at_time_query(t).get_result(conn).optional()?;
    Ok(seq.unwrap_or(0))
}

/// The query [`seq_at_time`] runs, as a value (a test EXPLAINs this very query).
#[diesel::dsl::auto_type(no_type_alias)]
pub fn seq_at_time_query(t: DateTime<Utc>) -> _ {
    revisions::table
        .filter(revisions::recorded_at.le(t))
        .order((revisions::recorded_at.desc(), revisions::seq.desc()))
        .select(revisions::seq)
        .limit(1_i64)
}

/// The entity as it stood at `seq`: its newest revision with seq ≤ `seq`.
pub fn entity_at(conn: &mut PgConnection, entity_id: Uuid, seq: i64) -> AppResult<Option<Revision>> {
    Ok(revisions::table
        .filter(revisions::entity_id.eq(entity_id).and(revisions::seq.le(seq)))
        .order(revisions::seq.desc())
        .select(Revision::as_select())
        .first(conn)
        .optional()?)
}

/// $1 claim id, $2 seq: the claim's newest revision at
/// or before seq, its claimant's as of then, and each family member's. A
/// member is an entity that named the claim at some point
/// (`claim_members`); its newest revision at or before seq is looked up by
/// key (revisions_entity_idx) and kept only if it names the claim then (a
/// merge may have moved it away before seq, or only after). One statement;
/// only what a reader of snapshots needs comes back.
pub const FAMILY_AT_SQL: &str = "WITH claim AS (
     SELECT * FROM revisions WHERE entity_id = $1 AND seq <= $2 ORDER BY seq DESC LIMIT 1
 )
 SELECT seq, entity_kind, snapshot FROM (
   SELECT * FROM claim
   UNION ALL
   (SELECT * FROM revisions
    WHERE entity_id = (SELECT (snapshot::jsonb ->> 'claimant_id')::uuid FROM claim) AND seq <= $2
    ORDER BY seq DESC LIMIT 1)
   UNION ALL
   SELECT r.* FROM claim_members m
     CROSS JOIN LATERAL (SELECT * FROM revisions
       WHERE entity_id = m.entity_id AND seq <= $2 ORDER BY seq DESC LIMIT 1) r
   WHERE m.claim_id = $1 AND r.claim_id = $1
 ) AS family";

/// A revision as an as-of read needs it: where it is and what it holds, as
/// the JSON text the log stores (parsed by the reader straight into its
/// entity type).
#[derive(QueryableByName, Debug)]
pub struct SnapshotAt {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub seq: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub entity_kind: crate::model::EntityKind,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub snapshot: String,
}

/// A claim, its claimant and everything hanging off it (appearances,
/// evidence, verdicts), each as it stood at `seq`, in seq order.
pub fn claim_family_at(conn: &mut PgConnection, claim_id: Uuid, seq: i64) -> AppResult<Vec<SnapshotAt>> {
    let mut family: Vec<SnapshotAt> = Sql::fixed(FAMILY_AT_SQL, vec![Param::Uuid(claim_id), Param::BigInt(seq)]).load(conn)?;
    family.sort_by_key(|r| r.seq);
    Ok(family)
}

/// Each entity's newest revision at or before `upto` (the revisions a view
/// of the log as of `upto` is built from), by entity id.
pub fn newest_of(conn: &mut PgConnection, ids: &[uuid::Uuid], upto: i64) -> AppResult<Vec<crate::model::Revision>> {
    use crate::db::schema::revisions;
    Ok(revisions::table
        .filter(revisions::entity_id.eq_any(ids).and(revisions::seq.le(upto)))
        .distinct_on(revisions::entity_id)
        .order((revisions::entity_id, revisions::seq.desc()))
        .select(crate::model::Revision::as_select())
        .load(conn)?)
}
