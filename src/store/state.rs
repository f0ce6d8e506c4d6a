//! `verify --state`: every projection row rebuilt from its newest snapshot
//! and compared with the stored row.

use std::collections::HashMap;

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use serde::Serialize;
use uuid::Uuid;

use crate::db::schema::{appearances, articles, claimants, claims, editors, evidence, verdicts};
use crate::error::{AppError, AppResult};
use crate::model::{Appearance, Article, Claim, Claimant, Editor, EntityKind, Evidence, Recorded, Verdict};

/// A projection row that does not match what the log says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// Absent only for an index row naming an entity the log never recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_kind: Option<EntityKind>,
    pub entity_id: Uuid,
    /// `differs`, `missing_from_projection` or `not_in_log` (a projection
    /// row); `claim_id_differs` (the log's claim key); `head_missing`,
    /// `head_not_in_log`, `head_differs`, `member_missing` or
    /// `member_not_in_log` (the lookup tables derived from the log).
    pub problem: &'static str,
    /// The fields that differ, for `differs`.
    pub fields: Vec<String>,
    /// The revision, for `claim_id_differs` and the lookup tables' problems
    /// (the entity's newest revision there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
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
    collect(
        articles::table.select(Article::as_select()).load::<Article>(conn)?,
        &mut projections,
    );
    collect(
        claimants::table.select(Claimant::as_select()).load::<Claimant>(conn)?,
        &mut projections,
    );
    collect(claims::table.select(Claim::as_select()).load::<Claim>(conn)?, &mut projections);
    collect(
        appearances::table.select(Appearance::as_select()).load::<Appearance>(conn)?,
        &mut projections,
    );
    collect(
        evidence::table.select(Evidence::as_select()).load::<Evidence>(conn)?,
        &mut projections,
    );
    collect(
        verdicts::table.select(Verdict::as_select()).load::<Verdict>(conn)?,
        &mut projections,
    );
    collect(
        crate::db::schema::webhooks::table
            .select(crate::model::webhook::Webhook::as_select())
            .load::<crate::model::webhook::Webhook>(conn)?,
        &mut projections,
    );
    let editor_rows: Vec<Editor> = editors::table
        .filter(editors::id.ne(crate::model::SYSTEM_ACTOR))
        .select(Editor::as_select())
        .load(conn)?;
    collect(editor_rows, &mut projections);

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
            match projections.remove(&(n.entity_kind, n.entity_id)) {
                None => drift.push(Drift {
                    entity_kind: Some(n.entity_kind),
                    entity_id: n.entity_id,
                    problem: "missing_from_projection",
                    fields: vec![],
                    seq: None,
                }),
                Some(row) if row != n.snapshot => {
                    let fields = differing_fields(&row, &n.snapshot);
                    drift.push(Drift {
                        entity_kind: Some(n.entity_kind),
                        entity_id: n.entity_id,
                        problem: "differs",
                        fields,
                        seq: None,
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
            entity_kind: Some(kind),
            entity_id: id,
            problem: "not_in_log",
            fields: vec![],
            seq: None,
        });
    }
    let before = drift.len();
    if drift.len() < max_drift {
        claim_ids_drift(conn, max_drift - drift.len(), &mut drift)?;
    }
    // The lookup tables are checked against the log's claim key, so only
    // once that key is known to match every snapshot (else they would be
    // blamed for its drift).
    if drift.len() == before && drift.len() < max_drift {
        lookup_drift(conn, max_drift, &mut drift)?;
    }
    drift.sort_by_key(|d| (d.entity_kind.map(EntityKind::as_str), d.entity_id));
    drift.truncate(max_drift);
    Ok(StateReport {
        ok: drift.is_empty(),
        entities_checked: checked,
        drift,
    })
}

#[derive(QueryableByName)]
struct Keyed {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
    #[diesel(sql_type = SqlUuid)]
    entity_id: Uuid,
    #[diesel(sql_type = Text)]
    entity_kind: EntityKind,
    #[diesel(sql_type = diesel::sql_types::Nullable<SqlUuid>)]
    claim_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    snapshot: String,
}

/// The log's `claim_id` column (what history, as-of reads and derivation
/// look claims up by) against the claim each snapshot names, over every
/// revision. A snapshot that is not JSON is left to `verify`, which names it.
fn claim_ids_drift(conn: &mut PgConnection, max_drift: usize, drift: &mut Vec<Drift>) -> AppResult<()> {
    let mut after = 0i64;
    let mut found = 0;
    loop {
        let page: Vec<Keyed> = diesel::sql_query(
            "SELECT seq, entity_id, entity_kind, claim_id, snapshot FROM revisions WHERE seq > $1 ORDER BY seq LIMIT 10000",
        )
        .bind::<diesel::sql_types::BigInt, _>(after)
        .load(conn)?;
        let Some(last) = page.last() else { return Ok(()) };
        after = last.seq;
        for r in page {
            let Ok(snapshot) = serde_json::from_str::<serde_json::Value>(&r.snapshot) else {
                continue;
            };
            if crate::model::named_claim(&snapshot) != r.claim_id {
                drift.push(Drift {
                    entity_kind: Some(r.entity_kind),
                    entity_id: r.entity_id,
                    problem: "claim_id_differs",
                    fields: vec!["claim_id".into()],
                    seq: Some(r.seq),
                });
                found += 1;
                if found >= max_drift {
                    return Ok(());
                }
            }
        }
    }
}

/// `entity_heads` (each entity's newest revision and the claim it names, up
/// to `log_derived.heads_seq`: what derivation reads a family's state from)
/// and `claim_members` (every entity that ever named a claim: what as-of
/// reads find a family by), each against the log they are derived from. One
/// statement each, so each is one consistent view while writes go on.
const HEADS_DRIFT_SQL: &str = "WITH newest AS (
       SELECT DISTINCT ON (entity_id) entity_id, entity_kind, seq, claim_id::text AS claim_id
       FROM revisions WHERE seq <= (SELECT heads_seq FROM log_derived)
       ORDER BY entity_id, seq DESC)
     SELECT coalesce(n.entity_id, h.entity_id) AS entity_id,
            coalesce(n.entity_kind, (SELECT r.entity_kind FROM revisions r WHERE r.entity_id = h.entity_id LIMIT 1)) AS entity_kind,
            CASE WHEN h.entity_id IS NULL THEN 'head_missing'
                 WHEN n.entity_id IS NULL THEN 'head_not_in_log'
                 ELSE 'head_differs' END AS problem,
            n.seq,
            array_remove(ARRAY[CASE WHEN h.seq <> n.seq THEN 'seq' END,
                      CASE WHEN h.claim_id IS DISTINCT FROM n.claim_id AND h.seq = n.seq THEN 'claim_id' END], NULL) AS fields
     FROM newest n FULL JOIN entity_heads h ON h.entity_id = n.entity_id
     WHERE h.entity_id IS NULL OR n.entity_id IS NULL
        OR h.seq <> n.seq OR h.claim_id IS DISTINCT FROM n.claim_id
     ORDER BY 1 LIMIT $1";

const MEMBERS_DRIFT_SQL: &str = "WITH named AS (
       SELECT claim_id, entity_id, max(seq) AS seq FROM revisions
       WHERE claim_id IS NOT NULL GROUP BY claim_id, entity_id)
     SELECT coalesce(n.entity_id, m.entity_id) AS entity_id,
            (SELECT r.entity_kind FROM revisions r WHERE r.entity_id = coalesce(n.entity_id, m.entity_id) LIMIT 1) AS entity_kind,
            CASE WHEN m.entity_id IS NULL THEN 'member_missing' ELSE 'member_not_in_log' END AS problem,
            n.seq, '{}'::text[] AS fields
     FROM named n FULL JOIN claim_members m ON m.claim_id = n.claim_id AND m.entity_id = n.entity_id
     WHERE n.entity_id IS NULL OR m.entity_id IS NULL
     ORDER BY 1 LIMIT $1";

#[derive(QueryableByName)]
struct LookupRow {
    #[diesel(sql_type = SqlUuid)]
    entity_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    entity_kind: Option<EntityKind>,
    #[diesel(sql_type = Text)]
    problem: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    seq: Option<i64>,
    /// For `head_differs`.
    #[diesel(sql_type = diesel::sql_types::Array<Text>)]
    fields: Vec<String>,
}

/// What [`lookup_drift`] reports, as its statements name them.
const LOOKUP_PROBLEMS: [&str; 5] = [
    "head_missing",
    "head_not_in_log",
    "head_differs",
    "member_missing",
    "member_not_in_log",
];

/// The two lookup tables derived from the log, against it, until `drift`
/// holds `max_drift` problems.
fn lookup_drift(conn: &mut PgConnection, max_drift: usize, drift: &mut Vec<Drift>) -> AppResult<()> {
    for sql in [HEADS_DRIFT_SQL, MEMBERS_DRIFT_SQL] {
        let left = max_drift.saturating_sub(drift.len()) as i64;
        let rows: Vec<LookupRow> = diesel::sql_query(sql).bind::<diesel::sql_types::BigInt, _>(left).load(conn)?;
        for r in rows {
            let problem = LOOKUP_PROBLEMS
                .into_iter()
                .find(|p| *p == r.problem)
                .ok_or_else(|| AppError::internal(format!("unknown lookup problem {}", r.problem)))?;
            drift.push(Drift {
                entity_kind: r.entity_kind,
                entity_id: r.entity_id,
                problem,
                fields: r.fields,
                seq: r.seq,
            });
        }
    }
    Ok(())
}

/// Each row as the log would record it.
fn collect<T: Recorded>(rows: Vec<T>, out: &mut HashMap<(EntityKind, Uuid), serde_json::Value>) {
    for row in rows {
        out.insert((T::KIND, row.id()), row.snapshot());
    }
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
    entity_kind: EntityKind,
    #[diesel(sql_type = diesel::sql_types::Text, deserialize_as = crate::model::SnapshotText)]
    snapshot: serde_json::Value,
}
