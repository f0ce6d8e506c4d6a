//! A claim's past: every revision of it and of everything hanging off it,
//! with JSON Patch diffs, and the claim as it stood at a seq.

use std::collections::HashMap;

use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use super::claims::ClaimFamily;
use crate::db::sql::{Param, Sql};
use crate::error::AppResult;
use crate::ledger::asof;
use crate::model::{Appearance, EntityKind, Evidence, Revision, Snapshot, Verdict};

/// One entry of a claim's history: the revision without its snapshot, and
/// the RFC 6902 JSON Patch from the entity's previous version (from `{}` for
/// version 1).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub seq: i64,
    pub entity_kind: EntityKind,
    pub entity_id: Uuid,
    pub entity_version: i32,
    pub action: crate::model::Action,
    pub actor_id: Uuid,
    pub reason: Option<String>,
    pub recorded_at: String,
    #[schema(value_type = Vec<Object>)]
    pub patch: json_patch::Patch,
    pub entry_hash: String,
    pub chain_hash: String,
}

/// $1 claim id, $2 after seq, $3 limit. Each branch is an index scan
/// (revisions_entity_idx, revisions_claim_idx).
pub const HISTORY_SQL: &str = "SELECT * FROM (
     (SELECT * FROM revisions WHERE entity_id = $1 AND seq > $2 ORDER BY seq LIMIT $3)
     UNION ALL
     (SELECT * FROM revisions
      WHERE claim_id = $1 AND seq > $2
      ORDER BY claim_id, seq LIMIT $3)
 ) family ORDER BY seq LIMIT $3";

/// Every revision of the claim and of everything hanging off it, in log
/// order, after seq `after`.
pub fn claim_history(conn: &mut PgConnection, claim_id: Uuid, after: i64, limit: i64) -> AppResult<Vec<HistoryEntry>> {
    let page: Vec<Revision> =
        Sql::fixed(HISTORY_SQL, vec![Param::Uuid(claim_id), Param::BigInt(after), Param::BigInt(limit)]).load(conn)?;
    // The id must name a claim: a page holding the id's own revisions shows
    // which kind it is; an empty page asks the claims table (404 if none).
    match page.iter().find(|r| r.entity_id == claim_id) {
        Some(own) if own.entity_kind != EntityKind::Claim => {
            return Err(super::claims::no_claim(claim_id));
        }
        None if page.is_empty() => {
            super::claims::get(conn, claim_id)?;
        }
        _ => {}
    }

    // The version before each entity's first one on this page, all in one
    // query: a page is two statements whatever its size.
    let mut first_on_page: HashMap<Uuid, i32> = HashMap::new();
    for r in &page {
        first_on_page.entry(r.entity_id).or_insert(r.entity_version);
    }
    let (ids, versions): (Vec<Uuid>, Vec<i32>) = first_on_page.iter().filter(|(_, v)| **v > 1).map(|(id, v)| (*id, *v - 1)).unzip();
    let mut latest: HashMap<Uuid, serde_json::Value> = HashMap::new();
    if !ids.is_empty() {
        let before: Vec<(Uuid, serde_json::Value)> = Sql::fixed(
            "SELECT r.entity_id, r.snapshot FROM unnest($1::uuid[], $2::int[]) AS p (entity_id, version) \
             JOIN revisions r ON r.entity_id = p.entity_id AND r.entity_version = p.version",
            vec![Param::Uuids(ids), Param::Ints(versions)],
        )
        .load::<Previous>(conn)?
        .into_iter()
        .map(|p| (p.entity_id, p.snapshot))
        .collect();
        latest.extend(before);
    }
    let mut out = Vec::with_capacity(page.len());
    for r in page {
        let previous = latest.remove(&r.entity_id).unwrap_or_else(|| serde_json::json!({}));
        let patch = json_patch::diff(&previous, &r.snapshot);
        out.push(HistoryEntry {
            seq: r.seq,
            entity_kind: r.entity_kind,
            entity_id: r.entity_id,
            entity_version: r.entity_version,
            action: r.action,
            actor_id: r.actor_id,
            reason: r.reason,
            recorded_at: crate::model::format_timestamp(r.recorded_at),
            patch,
            entry_hash: hex::encode(&r.entry_hash),
            chain_hash: hex::encode(&r.chain_hash),
        });
        latest.insert(r.entity_id, r.snapshot);
    }
    Ok(out)
}

#[derive(QueryableByName)]
struct Previous {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    entity_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text, deserialize_as = crate::model::SnapshotText)]
    snapshot: serde_json::Value,
}

/// The claim and its children exactly as they stood at `seq`; None if the
/// claim did not exist yet.
pub fn claim_at(conn: &mut PgConnection, claim_id: Uuid, seq: i64) -> AppResult<Option<ClaimFamily>> {
    let family = asof::claim_family_at(conn, claim_id, seq)?;
    let (mut claim, mut claimants, mut apps, mut evs, mut vs) = (None, vec![], vec![], vec![], vec![]);
    for r in &family {
        match Snapshot::from_text(r.entity_kind, r.seq, &r.snapshot)? {
            Snapshot::Claim(c) if c.id == claim_id => claim = Some(*c),
            Snapshot::Claimant(c) => claimants.push(*c),
            Snapshot::Appearance(a) => apps.push(*a),
            Snapshot::Evidence(e) => evs.push(*e),
            Snapshot::Verdict(v) => vs.push(*v),
            _ => {}
        }
    }
    let Some(claim) = claim else {
        return Ok(None);
    };
    let claimant = claimants.into_iter().find(|c| Some(c.id) == claim.claimant_id);
    // Same order as the current view: by id (UUIDv7, creation order).
    apps.sort_by_key(|a: &Appearance| a.id);
    evs.sort_by_key(|e: &Evidence| e.id);
    vs.sort_by_key(|v: &Verdict| v.id);
    Ok(Some(ClaimFamily {
        claim,
        claimant,
        appearances: apps,
        evidence: evs,
        verdicts: vs,
    }))
}
