//! What auditors read: the log filtered and paged, a claim's history with
//! diffs, claims as of a past seq, exports, and the projection check.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;

use crate::db::prepared::{Bind, Prepared};
use diesel::sql_types::{Text, Uuid as SqlUuid};
use serde::Serialize;
use uuid::Uuid;

use super::claims::ClaimFamily;
use crate::db::schema::{appearances, articles, claims, editors, evidence, revisions, verdicts};
use crate::error::{AppError, AppResult};
use crate::ledger::{self, asof};
use crate::model::{Action, Appearance, Article, Claim, Editor, EntityKind, Evidence, Revision, Verdict};

#[derive(Debug, Default, Clone)]
pub struct RevisionFilter {
    pub entity_kind: Option<EntityKind>,
    pub entity_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub action: Option<Action>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// Revisions with seq > `after`, oldest first. recorded_at never decreases
/// along seq, so a time window is a seq range (found by index) and paging
/// stays a plain keyset on the primary key.
pub fn list_revisions(conn: &mut PgConnection, filter: &RevisionFilter, after: i64, limit: i64) -> AppResult<Vec<Revision>> {
    let mut low = after;
    if let Some(since) = filter.since {
        let first: Option<i64> = revisions::table
            .filter(revisions::recorded_at.ge(since))
            .order((revisions::recorded_at.asc(), revisions::seq.asc()))
            .select(revisions::seq)
            .first(conn)
            .optional()?;
        match first {
            Some(seq) => low = low.max(seq - 1),
            None => return Ok(vec![]),
        }
    }
    let high = match filter.until {
        Some(until) => asof::seq_at_time(conn, until)?,
        None => i64::MAX,
    };
    let mut query = revisions::table
        .filter(revisions::seq.gt(low).and(revisions::seq.le(high)))
        .order(revisions::seq.asc())
        .limit(limit)
        .select(Revision::as_select())
        .into_boxed();
    if let Some(kind) = filter.entity_kind {
        query = query.filter(revisions::entity_kind.eq(kind.as_str()));
    }
    if let Some(id) = filter.entity_id {
        query = query.filter(revisions::entity_id.eq(id));
    }
    if let Some(actor) = filter.actor_id {
        query = query.filter(revisions::actor_id.eq(actor));
    }
    if let Some(action) = filter.action {
        query = query.filter(revisions::action.eq(action.as_str()));
    }
    Ok(query.load(conn)?)
}

pub fn revision(conn: &mut PgConnection, seq: i64) -> AppResult<Revision> {
    revisions::table
        .find(seq)
        .select(Revision::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("no revision with seq {seq}")))
}

/// An account id from an id or a username.
pub fn actor_id(conn: &mut PgConnection, actor: &str) -> AppResult<Option<Uuid>> {
    if let Ok(id) = actor.parse::<Uuid>() {
        return Ok(Some(id));
    }
    Ok(editors::table
        .filter(editors::username.eq(actor))
        .select(editors::id)
        .first(conn)
        .optional()?)
}

/// One entry of a claim's history: the revision without its snapshot, and
/// the RFC 6902 JSON Patch from the entity's previous version (from `{}` for
/// version 1).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub seq: i64,
    pub entity_kind: String,
    pub entity_id: Uuid,
    pub entity_version: i32,
    pub action: String,
    pub actor_id: Uuid,
    pub reason: Option<String>,
    pub recorded_at: String,
    #[schema(value_type = Vec<Object>)]
    pub patch: json_patch::Patch,
    pub entry_hash: String,
    pub chain_hash: String,
}

/// $1 claim id, $2 the same as text, $3 after seq, $4 limit. Each branch is
/// an index scan (revisions_entity_idx, revisions_claim_idx).
pub const HISTORY_SQL: &str = "SELECT * FROM (
     (SELECT * FROM revisions WHERE entity_id = $1 AND seq > $3 ORDER BY seq LIMIT $4)
     UNION ALL
     (SELECT * FROM revisions
      WHERE snapshot ? 'claim_id' AND (snapshot ->> 'claim_id') = $2 AND seq > $3
      ORDER BY (snapshot ->> 'claim_id'), seq LIMIT $4)
 ) family ORDER BY seq LIMIT $4";

/// Every revision of the claim and of everything hanging off it, in log
/// order, after seq `after`.
pub fn claim_history(conn: &mut PgConnection, claim_id: Uuid, after: i64, limit: i64) -> AppResult<Vec<HistoryEntry>> {
    super::claims::get(conn, claim_id)?;
    let claim_text = claim_id.to_string();
    let page: Vec<Revision> = Prepared::new(
        HISTORY_SQL,
        vec![
            Bind::Uuid(claim_id),
            Bind::Text(&claim_text),
            Bind::BigInt(after),
            Bind::BigInt(limit),
        ],
    )
    .load(conn)?;

    let mut latest: HashMap<Uuid, serde_json::Value> = HashMap::new();
    let mut out = Vec::with_capacity(page.len());
    for r in page {
        let previous = match latest.remove(&r.entity_id) {
            Some(prev) => prev,
            None if r.entity_version > 1 => revisions::table
                .filter(
                    revisions::entity_id
                        .eq(r.entity_id)
                        .and(revisions::entity_version.eq(r.entity_version - 1)),
                )
                .select(revisions::snapshot)
                .first(conn)
                .optional()?
                .unwrap_or_else(|| serde_json::json!({})),
            None => serde_json::json!({}),
        };
        let patch = json_patch::diff(&previous, &r.snapshot);
        out.push(HistoryEntry {
            seq: r.seq,
            entity_kind: r.entity_kind,
            entity_id: r.entity_id,
            entity_version: r.entity_version,
            action: r.action,
            actor_id: r.actor_id,
            reason: r.reason,
            recorded_at: crate::ledger::hash::format_timestamp(r.recorded_at),
            patch,
            entry_hash: hex::encode(&r.entry_hash),
            chain_hash: hex::encode(&r.chain_hash),
        });
        latest.insert(r.entity_id, r.snapshot);
    }
    Ok(out)
}

fn from_snapshot<T: serde::de::DeserializeOwned>(r: &Revision) -> AppResult<T> {
    T::deserialize(&r.snapshot).map_err(|e| AppError::internal(format!("snapshot of seq {} does not parse: {e}", r.seq)))
}

/// The claim and its children exactly as they stood at `seq`; None if the
/// claim did not exist yet.
pub fn claim_at(conn: &mut PgConnection, claim_id: Uuid, seq: i64) -> AppResult<Option<ClaimFamily>> {
    let family = asof::claim_family_at(conn, claim_id, seq)?;
    let Some(claim_rev) = family
        .iter()
        .find(|r| r.entity_id == claim_id && r.entity_kind == EntityKind::Claim.as_str())
    else {
        return Ok(None);
    };
    let claim: Claim = from_snapshot(claim_rev)?;
    let (mut apps, mut evs, mut vs) = (vec![], vec![], vec![]);
    for r in &family {
        match EntityKind::parse(&r.entity_kind) {
            Some(EntityKind::Appearance) => apps.push(from_snapshot::<Appearance>(r)?),
            Some(EntityKind::Evidence) => evs.push(from_snapshot::<Evidence>(r)?),
            Some(EntityKind::Verdict) => vs.push(from_snapshot::<Verdict>(r)?),
            _ => {}
        }
    }
    // Same order as the current view: by id (UUIDv7, creation order).
    apps.sort_by_key(|a: &Appearance| a.id);
    evs.sort_by_key(|e: &Evidence| e.id);
    vs.sort_by_key(|v: &Verdict| v.id);
    Ok(Some(ClaimFamily {
        claim,
        appearances: apps,
        evidence: evs,
        verdicts: vs,
    }))
}

/// Revisions `after < seq ≤ upto`, for streaming an export in batches.
pub fn export_batch(conn: &mut PgConnection, after: i64, upto: i64, limit: i64) -> AppResult<Vec<Revision>> {
    Ok(revisions::table
        .filter(revisions::seq.gt(after).and(revisions::seq.le(upto)))
        .order(revisions::seq.asc())
        .limit(limit)
        .select(Revision::as_select())
        .load(conn)?)
}

/// A projection row that does not match what the log says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub entity_kind: String,
    pub entity_id: Uuid,
    /// `differs`, `missing_from_projection` or `not_in_log`.
    pub problem: &'static str,
    /// The fields that differ, for `differs`.
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StateReport {
    pub ok: bool,
    pub entities_checked: u64,
    pub drift: Vec<Drift>,
}

/// Rebuilds every projection row from its newest snapshot and compares it
/// with the stored row. Reports at most `max_drift` differences.
pub fn verify_state(conn: &mut PgConnection, max_drift: usize, mut progress: impl FnMut(u64)) -> AppResult<StateReport> {
    let mut projections: HashMap<(EntityKind, Uuid), serde_json::Value> = HashMap::new();
    let to_values = |rows: Vec<(Uuid, serde_json::Value)>, kind: EntityKind, out: &mut HashMap<(EntityKind, Uuid), serde_json::Value>| {
        for (id, v) in rows {
            out.insert((kind, id), v);
        }
    };
    to_values(
        rows(conn, |c| articles::table.select(Article::as_select()).load::<Article>(c), |a| a.id)?,
        EntityKind::Article,
        &mut projections,
    );
    to_values(
        rows(conn, |c| claims::table.select(Claim::as_select()).load::<Claim>(c), |a| a.id)?,
        EntityKind::Claim,
        &mut projections,
    );
    to_values(
        rows(
            conn,
            |c| appearances::table.select(Appearance::as_select()).load::<Appearance>(c),
            |a| a.id,
        )?,
        EntityKind::Appearance,
        &mut projections,
    );
    to_values(
        rows(
            conn,
            |c| evidence::table.select(Evidence::as_select()).load::<Evidence>(c),
            |a| a.id,
        )?,
        EntityKind::Evidence,
        &mut projections,
    );
    to_values(
        rows(conn, |c| verdicts::table.select(Verdict::as_select()).load::<Verdict>(c), |a| a.id)?,
        EntityKind::Verdict,
        &mut projections,
    );
    let editor_rows: Vec<Editor> = editors::table
        .filter(editors::id.ne(crate::model::SYSTEM_ACTOR))
        .select(Editor::as_select())
        .load(conn)?;
    for e in editor_rows {
        projections.insert((EntityKind::Editor, e.id), e.snapshot());
    }

    let mut drift = vec![];
    let mut checked = 0u64;
    let mut after: Option<Uuid> = None;
    // The newest snapshot of every entity, a page of entities at a time.
    loop {
        let page: Vec<Newest> = diesel::sql_query(
            "SELECT DISTINCT ON (entity_id) entity_id, entity_kind, snapshot FROM revisions
             WHERE entity_id > $1 ORDER BY entity_id, seq DESC LIMIT 5000",
        )
        .bind::<SqlUuid, _>(after.unwrap_or(Uuid::nil()))
        .load(conn)?;
        let Some(last) = page.last() else { break };
        after = Some(last.entity_id);
        for n in page {
            checked += 1;
            let Some(kind) = EntityKind::parse(&n.entity_kind) else { continue };
            match projections.remove(&(kind, n.entity_id)) {
                None => drift.push(Drift {
                    entity_kind: n.entity_kind,
                    entity_id: n.entity_id,
                    problem: "missing_from_projection",
                    fields: vec![],
                }),
                Some(row) if row != n.snapshot => {
                    let fields = differing_fields(&row, &n.snapshot);
                    drift.push(Drift {
                        entity_kind: n.entity_kind,
                        entity_id: n.entity_id,
                        problem: "differs",
                        fields,
                    });
                }
                Some(_) => {}
            }
        }
        progress(checked);
        if drift.len() >= max_drift {
            break;
        }
    }
    for ((kind, id), _) in projections {
        if drift.len() >= max_drift {
            break;
        }
        drift.push(Drift {
            entity_kind: kind.as_str().to_string(),
            entity_id: id,
            problem: "not_in_log",
            fields: vec![],
        });
    }
    drift.sort_by(|a, b| (&a.entity_kind, a.entity_id).cmp(&(&b.entity_kind, b.entity_id)));
    drift.truncate(max_drift);
    Ok(StateReport {
        ok: drift.is_empty(),
        entities_checked: checked,
        drift,
    })
}

fn rows<T: Serialize>(
    conn: &mut PgConnection,
    load: impl FnOnce(&mut PgConnection) -> QueryResult<Vec<T>>,
    id: impl Fn(&T) -> Uuid,
) -> AppResult<Vec<(Uuid, serde_json::Value)>> {
    load(conn)?
        .iter()
        .map(|row| Ok((id(row), serde_json::to_value(row).map_err(AppError::internal)?)))
        .collect()
}

fn differing_fields(a: &serde_json::Value, b: &serde_json::Value) -> Vec<String> {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return vec!["(whole row)".into()];
    };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter().filter(|k| a.get(*k) != b.get(*k)).cloned().collect()
}

#[derive(QueryableByName)]
struct Newest {
    #[diesel(sql_type = SqlUuid)]
    entity_id: Uuid,
    #[diesel(sql_type = Text)]
    entity_kind: String,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    snapshot: serde_json::Value,
}

/// The log head, for audit endpoints.
pub fn head(conn: &mut PgConnection) -> AppResult<ledger::LogHead> {
    ledger::head(conn)
}

/// Compares an export with the database, line by line: the first seq whose
/// revision in the database is not what the export holds (or is gone).
/// This is how an auditor's earlier copy exposes a later rewrite.
pub fn first_difference(conn: &mut PgConnection, reader: impl std::io::BufRead) -> AppResult<Option<i64>> {
    let mut pending: Vec<crate::model::RevisionRecord> = vec![];
    let mut lines = reader.split(b'\n');
    loop {
        let line = lines.next().transpose().map_err(AppError::internal)?;
        if let Some(line) = &line {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let record = serde_json::from_slice(line).map_err(|e| AppError::BadRequest(format!("not an export line: {e}")))?;
            pending.push(record);
        }
        if pending.len() >= 1000 || (line.is_none() && !pending.is_empty()) {
            let (lo, hi) = (pending[0].seq, pending[pending.len() - 1].seq);
            let stored: HashMap<i64, Revision> = revisions::table
                .filter(revisions::seq.between(lo, hi))
                .select(Revision::as_select())
                .load(conn)?
                .into_iter()
                .map(|r| (r.seq, r))
                .collect();
            for record in pending.drain(..) {
                let same = stored.get(&record.seq).is_some_and(|r| {
                    serde_json::to_value(crate::model::RevisionRecord::from(r)).ok() == serde_json::to_value(&record).ok()
                });
                if !same {
                    return Ok(Some(record.seq));
                }
            }
        }
        if line.is_none() {
            return Ok(None);
        }
    }
}
