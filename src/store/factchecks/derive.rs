//! The public set, derived from the log once per change: for revisions just
//! appended (in the sequencer's transaction, or while catching up after an
//! upgrade), each touched claim's family is replayed revision by revision;
//! every change to what the public sees becomes a feed item, and the final
//! fact check of each claim is kept in `public_factchecks` (or removed).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::notify::CHANNEL;
use crate::db::schema::{feed_items, log_derived, public_factchecks};
use crate::db::sql::{Param, Sql};
use crate::error::{AppError, AppResult};
use crate::model::factcheck::family::{Family, References, claim_of, may_change_public};
use crate::model::factcheck::{FactCheck, FactCheckOut, FeedChange};
use crate::model::{Action, EntityKind, Revision};

#[derive(Insertable)]
#[diesel(table_name = feed_items, treat_none_as_default_value = false)]
struct FeedRow {
    seq: i64,
    claim_id: Uuid,
    change: FeedChange,
    verdict_id: Option<Uuid>,
    factcheck: Option<String>,
    merged_into: Option<Uuid>,
}

/// The newest revision of every entity of these claims' families, at or
/// before `$1`. When the heads are current at `$1` (the state just before a
/// batch, the sequencer's case), one revision per member through
/// `entity_heads`; otherwise (catching up after an upgrade) every version of
/// every member, newest kept. The uncorrelated test on `log_derived` is a
/// one-time filter: only one branch runs.
///
/// Each head's revision is fetched by its key (`OFFSET 0` keeps the lateral
/// subquery a per-row index lookup): given thousands of claims (a bulk
/// import's batch), the planner, overestimating the heads, would otherwise
/// hash the whole log (0.68 s against 0.42 s for 10,000 claims at 500,000
/// revisions).
const FAMILIES_AT_SQL: &str = "SELECT r.* FROM entity_heads h \
       CROSS JOIN LATERAL (SELECT * FROM revisions r WHERE r.seq = h.seq OFFSET 0) r \
     WHERE (SELECT heads_seq = $1 FROM log_derived) \
       AND (h.entity_id = ANY($2) OR h.claim_id = ANY($3::text[])) \
     UNION ALL \
     SELECT * FROM (SELECT DISTINCT ON (entity_id) * FROM revisions \
       WHERE seq <= $1 AND (entity_id = ANY($2) \
          OR claim_id = ANY($3::text[]::uuid[])) \
       ORDER BY entity_id, seq DESC) every_version \
     WHERE NOT (SELECT heads_seq = $1 FROM log_derived)";

/// The same for entities named by id (articles, claimants).
const ENTITIES_AT_SQL: &str = "SELECT r.* FROM entity_heads h \
       CROSS JOIN LATERAL (SELECT * FROM revisions r WHERE r.seq = h.seq OFFSET 0) r \
     WHERE (SELECT heads_seq = $1 FROM log_derived) AND h.entity_id = ANY($2) \
     UNION ALL \
     SELECT * FROM (SELECT DISTINCT ON (entity_id) * FROM revisions \
       WHERE seq <= $1 AND entity_id = ANY($2) ORDER BY entity_id, seq DESC) every_version \
     WHERE NOT (SELECT heads_seq = $1 FROM log_derived)";

/// Moves the heads over revisions `heads_seq+1..=$1` (they are current at
/// `$1` afterwards; never moved back, so catching up behind heads built by
/// the migration leaves them alone) and records `$1` as derived: one
/// statement, where the derived position alone was one.
///
/// The revisions come as arrays from the caller's memory ($4 entity ids,
/// $5 seqs, $6 claim ids: every revision after the derived position up to
/// $1) rather than read back from the log, which a bulk batch would pay for
/// in 50,000 snapshots read again. The heads are never behind the derived
/// position (the migration that made them set them to the head), so these
/// cover `heads_seq+1..=$1`.
///
/// The same statement sends the batch's notice ($2 the channel, $3 its
/// payloads, in order): delivered at commit, one round trip fewer.
const ADVANCE_SQL: &str = "WITH moved AS ( \
       INSERT INTO entity_heads (entity_id, seq, claim_id) \
       SELECT DISTINCT ON (entity_id) entity_id, seq, claim_id \
       FROM unnest($4::uuid[], $5::bigint[], $6::text[]) AS r(entity_id, seq, claim_id) \
       WHERE seq > (SELECT heads_seq FROM log_derived) AND seq <= $1 \
       ORDER BY entity_id, seq DESC \
       ON CONFLICT (entity_id) DO UPDATE SET seq = EXCLUDED.seq, claim_id = EXCLUDED.claim_id \
       WHERE entity_heads.seq < EXCLUDED.seq), \
     advanced AS (UPDATE log_derived SET public_seq = $1, heads_seq = greatest(heads_seq, $1)) \
     SELECT pg_notify($2, n.p) FROM unnest($3::text[]) WITH ORDINALITY AS n(p, i) ORDER BY n.i";

/// The families of `claims`, and the articles and claimants they (and
/// `more`) refer to, as they stood at `upto`: two queries, whatever their
/// number.
fn load(conn: &mut PgConnection, claims: &BTreeSet<Uuid>, more: &[Uuid], upto: i64) -> AppResult<(HashMap<Uuid, Family>, References)> {
    let mut families: HashMap<Uuid, Family> = claims.iter().map(|c| (*c, Family::default())).collect();
    let ids: Vec<Uuid> = claims.iter().copied().collect();
    let texts: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    let rows: Vec<Revision> = Sql::fixed(FAMILIES_AT_SQL, vec![Param::BigInt(upto), Param::Uuids(ids), Param::Texts(texts)]).load(conn)?;
    for r in &rows {
        if let Some(f) = claim_of(r).and_then(|c| families.get_mut(&c)) {
            f.apply(r).unwrap_or_else(|e| unreadable(r, &e));
        }
    }
    let mut referred: Vec<Uuid> = families.values().flat_map(Family::quoted_articles).collect();
    referred.extend(families.values().filter_map(|f| f.claim.as_ref()?.value.claimant_id));
    referred.extend_from_slice(more);
    referred.sort_unstable();
    referred.dedup();
    let rows: Vec<Revision> = Sql::fixed(ENTITIES_AT_SQL, vec![Param::BigInt(upto), Param::Uuids(referred)]).load(conn)?;
    let mut refs = References::default();
    for r in &rows {
        refs.apply(r).unwrap_or_else(|e| unreadable(r, &e));
    }
    Ok((families, refs))
}

/// A revision whose snapshot does not read as its kind cannot be derived
/// from. The log stays the truth (and `verify --state` names the drift);
/// derivation goes on without it rather than stopping every writer.
fn unreadable(r: &Revision, e: &AppError) {
    tracing::error!(seq = r.seq, error = %e, "a revision the public set cannot be derived from; skipped");
}

/// What a change did to the public fact check of a claim.
fn change(before: Option<&FactCheck>, after: Option<&FactCheck>) -> Option<FeedChange> {
    match (before, after) {
        (None, Some(_)) => Some(FeedChange::Published),
        (Some(b), Some(a)) if b.verdict.id != a.verdict.id => Some(FeedChange::Corrected),
        (Some(b), Some(a)) if !a.shows_the_same_as(b) => Some(FeedChange::Updated),
        (Some(_), None) => Some(FeedChange::Withdrawn),
        _ => None,
    }
}

fn json<T: serde::Serialize>(value: &T) -> AppResult<String> {
    serde_json::to_string(value).map_err(AppError::internal)
}

/// Derives the public set's changes from `new`, revisions just appended in
/// seq order, records the position, sends the notice `notice` makes of the
/// claims whose public fact check changed (payloads for [`CHANNEL`], in
/// order), and returns those claims.
pub fn follow(conn: &mut PgConnection, new: &[Revision], notice: impl FnOnce(&[Uuid]) -> Vec<String>) -> AppResult<Vec<Uuid>> {
    let mut touched: BTreeSet<Uuid> = new.iter().filter(|r| may_change_public(r)).filter_map(claim_of).collect();
    // An edited claimant record changes every public fact check that shows it.
    let edited_claimants: Vec<Uuid> = new
        .iter()
        .filter(|r| r.entity_kind == EntityKind::Claimant && r.action != Action::Create)
        .map(|r| r.entity_id)
        .collect();
    if !edited_claimants.is_empty() {
        let showing: Vec<Uuid> = public_factchecks::table
            .filter(public_factchecks::claimant_id.eq_any(&edited_claimants))
            .select(public_factchecks::claim_id)
            .load(conn)?;
        touched.extend(showing);
    }
    let withdrawn: Vec<Uuid> = new
        .iter()
        .filter(|r| r.entity_kind == EntityKind::Verdict && r.action == Action::Withdraw)
        .map(|r| r.entity_id)
        .collect();
    let (Some(first), Some(last)) = (new.first(), new.last()) else {
        return Ok(vec![]);
    };
    if !touched.is_empty() {
        // What the batch's own revisions refer to, recorded before it.
        let referred_now: Vec<Uuid> = new
            .iter()
            .filter_map(|r| match r.entity_kind {
                EntityKind::Appearance => r.snapshot.get("article_id")?.as_str()?.parse().ok(),
                EntityKind::Claim => r.snapshot.get("claimant_id")?.as_str()?.parse().ok(),
                _ => None,
            })
            .collect();
        let (mut families, mut refs) = load(conn, &touched, &referred_now, first.seq - 1)?;
        let mut public: HashMap<Uuid, Option<FactCheck>> = HashMap::new();
        for (claim, family) in &families {
            public.insert(*claim, family.factcheck(&refs).unwrap_or(None));
        }
        let mut items: Vec<FeedRow> = vec![];
        for r in new {
            if matches!(r.entity_kind, EntityKind::Article | EntityKind::Claimant) {
                refs.apply(r).unwrap_or_else(|e| unreadable(r, &e));
                if r.entity_kind == EntityKind::Claimant && r.action != Action::Create {
                    let showing: Vec<Uuid> = families
                        .iter()
                        .filter(|(_, f)| f.claim.as_ref().and_then(|c| c.value.claimant_id) == Some(r.entity_id))
                        .map(|(id, _)| *id)
                        .collect();
                    for claim in showing {
                        let family = &families[&claim];
                        let after = family.factcheck(&refs).unwrap_or(None);
                        record_change(&mut items, &mut public, r, claim, after, None)?;
                    }
                }
                continue;
            }
            let Some(claim) = claim_of(r).filter(|c| touched.contains(c)) else {
                continue;
            };
            let family = families
                .get_mut(&claim)
                .ok_or_else(|| AppError::internal("a touched claim without a family"))?;
            if let Err(e) = family.apply(r) {
                unreadable(r, &e);
                continue;
            }
            if !may_change_public(r) {
                continue;
            }
            let after = family.factcheck(&refs).unwrap_or_else(|e| {
                unreadable(r, &e);
                None
            });
            let merged_into = family.claim.as_ref().and_then(|c| c.value.merged_into);
            record_change(&mut items, &mut public, r, claim, after, merged_into)?;
        }
        if !items.is_empty() {
            diesel::copy_from(feed_items::table).from_insertable(&items).execute(conn)?;
        }
        store_documents(conn, public)?;
    }
    // A withdrawn verdict is not served again, not even as history; its
    // `withdrawn` item (which shows no verdict) stays.
    if !withdrawn.is_empty() {
        diesel::update(feed_items::table.filter(feed_items::verdict_id.eq_any(&withdrawn)))
            .set(feed_items::hidden.eq(true))
            .execute(conn)?;
    }
    let changed: Vec<Uuid> = touched.into_iter().collect();
    // What `snapshot ->> 'claim_id'` gives: a string's text, null for JSON null.
    let claim_ids: Vec<Option<String>> = new
        .iter()
        .map(|r| match r.snapshot.get("claim_id")? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Null => None,
            other => Some(other.to_string()),
        })
        .collect();
    Sql::fixed(
        ADVANCE_SQL,
        vec![
            Param::BigInt(last.seq),
            Param::text(CHANNEL),
            Param::Texts(notice(&changed)),
            Param::Uuids(new.iter().map(|r| r.entity_id).collect()),
            Param::BigInts(new.iter().map(|r| r.seq).collect()),
            Param::NullableTextRefs(claim_ids.iter().map(Option::as_deref).collect()),
        ],
    )
    .execute(conn)?;
    Ok(changed)
}

/// Compares a claim's public fact check after `r` with the one before,
/// and records the change (if any) as a feed item.
fn record_change(
    items: &mut Vec<FeedRow>,
    public: &mut HashMap<Uuid, Option<FactCheck>>,
    r: &Revision,
    claim: Uuid,
    after: Option<FactCheck>,
    merged_into: Option<Uuid>,
) -> AppResult<()> {
    let before = public.get(&claim).and_then(Option::as_ref);
    if let Some(change) = change(before, after.as_ref()) {
        items.push(FeedRow {
            seq: r.seq,
            claim_id: claim,
            change,
            verdict_id: after.as_ref().map(|f| f.verdict.id),
            factcheck: after.as_ref().map(|f| json(&FactCheckOut::from(f.clone()))).transpose()?,
            merged_into: merged_into.filter(|_| after.is_none()),
        });
    }
    public.insert(claim, after);
    Ok(())
}

/// One public fact check as `public_factchecks` keeps it.
struct Document {
    claim_id: Uuid,
    seq: i64,
    verdict_id: Uuid,
    published_at: DateTime<Utc>,
    rating: &'static str,
    claimant: String,
    claimant_id: Option<Uuid>,
    language: String,
    article_ids: String,
    statement: String,
    headline: String,
    summary: String,
    body: String,
    aggregate: String,
}

impl Document {
    fn of(claim_id: Uuid, f: FactCheck) -> AppResult<Self> {
        let mut article_ids: Vec<String> = f.appearances.iter().map(|(_, a)| a.id.to_string()).collect();
        article_ids.sort_unstable();
        article_ids.dedup();
        let published_at = f
            .verdict
            .published_at
            .ok_or_else(|| AppError::internal(format!("published verdict {} has no published_at", f.verdict.id)))?;
        Ok(Document {
            claim_id,
            seq: f.log.seq,
            verdict_id: f.verdict.id,
            published_at,
            rating: f.verdict.rating.as_str(),
            claimant: f.claimant.as_ref().map_or(f.claim.claimant.clone(), |c| c.name.clone()),
            claimant_id: f.claim.claimant_id,
            language: f.claim.language.clone(),
            // A uuid[] literal: one text per row, where the rows' arrays differ in length.
            article_ids: format!("{{{}}}", article_ids.join(",")),
            statement: f.claim.statement.clone(),
            headline: f.verdict.headline.clone(),
            summary: f.verdict.summary.clone(),
            aggregate: json(&f)?,
            body: json(&FactCheckOut::from(f))?,
        })
    }
}

/// Upserts the public fact checks that exist and removes those that do
/// not: two statements, however many claims a batch touched.
fn store_documents(conn: &mut PgConnection, public: HashMap<Uuid, Option<FactCheck>>) -> AppResult<()> {
    let mut gone = vec![];
    let mut docs = vec![];
    for (claim_id, factcheck) in public {
        match factcheck {
            Some(f) => docs.push(Document::of(claim_id, f)?),
            None => gone.push(claim_id),
        }
    }
    if !docs.is_empty() {
        let texts = |field: fn(&Document) -> &str| Param::TextRefs(docs.iter().map(field).collect());
        Sql::fixed(
            "INSERT INTO public_factchecks (claim_id, seq, verdict_id, published_at, rating, claimant, language, article_ids, search, body, aggregate, claimant_id, statement) \
             SELECT d.claim_id, d.seq, d.verdict_id, d.published_at, d.rating, d.claimant, d.language, d.article_ids::uuid[], \
               claimledger_factcheck_document(d.statement, d.claimant, d.headline, d.summary), d.body, d.aggregate::jsonb, d.claimant_id, d.statement \
             FROM unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::text[], \
                         $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::uuid[]) \
               AS d(claim_id, seq, verdict_id, published_at, rating, claimant, language, article_ids, statement, headline, summary, body, aggregate, claimant_id) \
             ON CONFLICT (claim_id) DO UPDATE SET seq = EXCLUDED.seq, verdict_id = EXCLUDED.verdict_id, \
               published_at = EXCLUDED.published_at, rating = EXCLUDED.rating, claimant = EXCLUDED.claimant, \
               language = EXCLUDED.language, article_ids = EXCLUDED.article_ids, search = EXCLUDED.search, \
               body = EXCLUDED.body, aggregate = EXCLUDED.aggregate, claimant_id = EXCLUDED.claimant_id, \
               statement = EXCLUDED.statement",
            vec![
                Param::Uuids(docs.iter().map(|d| d.claim_id).collect()),
                Param::BigInts(docs.iter().map(|d| d.seq).collect()),
                Param::Uuids(docs.iter().map(|d| d.verdict_id).collect()),
                Param::Times(docs.iter().map(|d| d.published_at).collect()),
                texts(|d| d.rating),
                texts(|d| &d.claimant),
                texts(|d| &d.language),
                texts(|d| &d.article_ids),
                texts(|d| &d.statement),
                texts(|d| &d.headline),
                texts(|d| &d.summary),
                texts(|d| &d.body),
                texts(|d| &d.aggregate),
                Param::NullableUuids(docs.iter().map(|d| d.claimant_id).collect()),
            ],
        )
        .execute(conn)?;
    }
    if !gone.is_empty() {
        Sql::fixed("DELETE FROM public_factchecks WHERE claim_id = ANY($1)", vec![Param::Uuids(gone)]).execute(conn)?;
    }
    Ok(())
}

/// How far the public set has been derived.
pub fn derived_seq(conn: &mut PgConnection) -> AppResult<i64> {
    Ok(log_derived::table.select(log_derived::public_seq).first(conn)?)
}
