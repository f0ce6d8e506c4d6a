//! Public reads: published fact checks as they are now (from the
//! projections) and the change feed (each fact check as it stood, rebuilt
//! from the log). Each read is one read-only REPEATABLE READ transaction, so
//! a page and all its parts come from one snapshot.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::pg::{Pg, PgConnection};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, BoxedSqlQuery, Query, QueryFragment, QueryId, SqlQuery};
use diesel::sql_types::{Array, BigInt, Bool, Bytea, Float4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

use crate::db::schema::{appearances, articles, claims, evidence, revisions, verdicts};
use crate::error::{AppError, AppResult};
use crate::ledger;
use crate::model::factcheck::{ArticleRef, FactCheck, FactCheckFilter, FeedChange, ListCursor, LogPosition, SupersededVerdict};
use crate::model::{Appearance, Claim, Evidence, Revision, Verdict, VerdictStatus};

/// At most this many log entries that might change the public set are
/// examined per feed request, however few of them turn out to.
const FEED_SCAN: i64 = 200;

fn read_only<T>(conn: &mut PgConnection, f: impl FnOnce(&mut PgConnection) -> AppResult<T>) -> AppResult<T> {
    conn.build_transaction().read_only().repeatable_read().run(f)
}

fn no_factcheck(claim_id: Uuid) -> AppError {
    // The same answer whether the claim is unknown, unpublished or retired.
    AppError::NotFound(format!("no published fact check for claim {claim_id}"))
}

// Fact checks now --------------------------------------------------------

/// One published fact check.
pub fn get(conn: &mut PgConnection, claim_id: Uuid) -> AppResult<FactCheck> {
    read_only(conn, |conn| load(conn, &[claim_id]))?
        .pop()
        .ok_or_else(|| no_factcheck(claim_id))
}

/// A page of the list and where the next one starts (None on the last page).
#[derive(Debug)]
pub struct FactCheckPage {
    pub items: Vec<FactCheck>,
    pub next: Option<ListCursor>,
}

/// Published fact checks matching `filter`: newest published first, or by
/// rank then newest when searching, after `after`.
pub fn list(conn: &mut PgConnection, filter: &FactCheckFilter, after: Option<ListCursor>, limit: i64) -> AppResult<FactCheckPage> {
    let query = page_query(filter, after, limit)?;
    read_only(conn, |conn| {
        let keys: Vec<PageKey> = query.load(conn)?;
        let ids: Vec<Uuid> = keys.iter().map(|k| k.claim_id).collect();
        let mut loaded: HashMap<Uuid, FactCheck> = load(conn, &ids)?.into_iter().map(|f| (f.claim.id, f)).collect();
        let items = ids.iter().filter_map(|id| loaded.remove(id)).collect();
        let next = if keys.len() as i64 == limit {
            keys.last().map(|k| k.cursor())
        } else {
            None
        };
        Ok(FactCheckPage { items, next })
    })
}

#[derive(QueryableByName)]
struct PageKey {
    #[diesel(sql_type = SqlUuid)]
    claim_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    published_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Float4>)]
    rank: Option<f32>,
}

impl PageKey {
    fn cursor(&self) -> ListCursor {
        match self.rank {
            Some(rank) => ListCursor::Ranked {
                rank,
                published_at: self.published_at,
                claim_id: self.claim_id,
            },
            None => ListCursor::Newest {
                published_at: self.published_at,
                claim_id: self.claim_id,
            },
        }
    }
}

enum Bind {
    Text(String),
    Time(DateTime<Utc>),
    Id(Uuid),
    Real(f32),
    Int(i64),
}

/// SQL text with numbered parameters, bound in order at the end.
#[derive(Default)]
struct SqlText {
    sql: String,
    binds: Vec<Bind>,
}

impl SqlText {
    fn push(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }

    /// The placeholder (`$n`) for a new parameter.
    fn param(&mut self, bind: Bind) -> String {
        self.binds.push(bind);
        format!("${}", self.binds.len())
    }

    fn into_query(self) -> BoxedSqlQuery<'static, Pg, SqlQuery> {
        let mut query = diesel::sql_query(self.sql).into_boxed::<Pg>();
        for bind in self.binds {
            query = match bind {
                Bind::Text(v) => query.bind::<Text, _>(v),
                Bind::Time(v) => query.bind::<Timestamptz, _>(v),
                Bind::Id(v) => query.bind::<SqlUuid, _>(v),
                Bind::Real(v) => query.bind::<Float4, _>(v),
                Bind::Int(v) => query.bind::<BigInt, _>(v),
            };
        }
        query
    }
}

/// The keys of one page of the list. A search is answered by the GIN index
/// on published verdicts' documents, the plain list by the published_at
/// index; the keyset comparison repeats the ORDER BY, so a page never skips
/// or repeats what was there when the previous page was read, and what is
/// published later sorts before the cursor.
fn page_query(filter: &FactCheckFilter, after: Option<ListCursor>, limit: i64) -> AppResult<BoxedSqlQuery<'static, Pg, SqlQuery>> {
    let mut s = SqlText::default();
    let rank = filter.q.clone().map(|q| {
        let p = s.param(Bind::Text(q));
        (
            format!("ts_rank(v.factcheck_search, websearch_to_tsquery('english', {p}))"),
            format!("v.factcheck_search @@ websearch_to_tsquery('english', {p})"),
        )
    });
    let rank_column = rank.as_ref().map_or("NULL::real", |(r, _)| r.as_str()).to_string();
    s.push(&format!(
        "SELECT v.claim_id, v.published_at, {rank_column} AS rank \
         FROM verdicts v JOIN claims c ON c.id = v.claim_id \
         WHERE v.status = 'published' AND c.status = 'active'"
    ));
    if let Some((_, matches)) = &rank {
        s.push(&format!(" AND {matches}"));
    }
    if let Some(claimant) = &filter.claimant {
        let p = s.param(Bind::Text(claimant.clone()));
        s.push(&format!(" AND lower(c.claimant) = lower({p})"));
    }
    if let Some(rating) = filter.rating {
        let p = s.param(Bind::Text(rating.as_str().to_string()));
        s.push(&format!(" AND v.rating = {p}"));
    }
    if let Some(language) = &filter.language {
        // A parsed BCP 47 tag: letters, digits and hyphens, nothing LIKE treats specially.
        let p = s.param(Bind::Text(language.clone()));
        s.push(&format!(" AND (c.language = {p} OR c.language LIKE {p} || '-%')"));
    }
    if let Some(since) = filter.published_since {
        let p = s.param(Bind::Time(since));
        s.push(&format!(" AND v.published_at >= {p}"));
    }
    if let Some(article_id) = filter.article_id {
        let p = s.param(Bind::Id(article_id));
        s.push(&format!(
            " AND EXISTS (SELECT 1 FROM appearances a WHERE a.claim_id = v.claim_id AND a.article_id = {p} AND a.status = 'active')"
        ));
    }
    match (after, &rank) {
        (None, _) => {}
        (Some(ListCursor::Newest { published_at, claim_id }), None) => {
            let (t, c) = (s.param(Bind::Time(published_at)), s.param(Bind::Id(claim_id)));
            s.push(&format!(" AND (v.published_at, v.claim_id) < ({t}, {c})"));
        }
        (
            Some(ListCursor::Ranked {
                rank: r,
                published_at,
                claim_id,
            }),
            Some((rank_expr, _)),
        ) => {
            let (r, t, c) = (
                s.param(Bind::Real(r)),
                s.param(Bind::Time(published_at)),
                s.param(Bind::Id(claim_id)),
            );
            s.push(&format!(" AND ({rank_expr}, v.published_at, v.claim_id) < ({r}, {t}, {c})"));
        }
        (Some(_), _) => return Err(AppError::field("cursor", "this cursor belongs to another list")),
    }
    let order = if rank.is_some() {
        "rank DESC, v.published_at DESC, v.claim_id DESC"
    } else {
        "v.published_at DESC, v.claim_id DESC"
    };
    let p = s.param(Bind::Int(limit));
    s.push(&format!(" ORDER BY {order} LIMIT {p}"));
    Ok(s.into_query())
}

type Select<T> = diesel::dsl::AsSelect<T, Pg>;

fn active_claims(ids: Vec<Uuid>) -> claims::BoxedQuery<'static, Pg, Select<Claim>> {
    claims::table
        .filter(claims::id.eq_any(ids).and(claims::status.eq("active")))
        .select(Claim::as_select())
        .into_boxed()
}

fn published_verdicts(claim_ids: Vec<Uuid>) -> verdicts::BoxedQuery<'static, Pg, Select<Verdict>> {
    verdicts::table
        .filter(
            verdicts::claim_id
                .eq_any(claim_ids)
                .and(verdicts::status.eq(VerdictStatus::Published.as_str())),
        )
        .select(Verdict::as_select())
        .into_boxed()
}

fn superseded_verdicts(claim_ids: Vec<Uuid>) -> verdicts::BoxedQuery<'static, Pg, Select<Verdict>> {
    verdicts::table
        .filter(
            verdicts::claim_id
                .eq_any(claim_ids)
                .and(verdicts::status.eq(VerdictStatus::Superseded.as_str())),
        )
        .order((verdicts::published_at.asc(), verdicts::id.asc()))
        .select(Verdict::as_select())
        .into_boxed()
}

fn active_appearances(claim_ids: Vec<Uuid>) -> appearances::BoxedQuery<'static, Pg, Select<Appearance>> {
    appearances::table
        .filter(appearances::claim_id.eq_any(claim_ids).and(appearances::status.eq("active")))
        .order(appearances::id.asc())
        .select(Appearance::as_select())
        .into_boxed()
}

fn articles_by_id(ids: Vec<Uuid>) -> articles::BoxedQuery<'static, Pg, Select<ArticleRef>> {
    articles::table
        .filter(articles::id.eq_any(ids))
        .select(ArticleRef::as_select())
        .into_boxed()
}

fn evidence_by_id(ids: Vec<Uuid>) -> evidence::BoxedQuery<'static, Pg, Select<Evidence>> {
    evidence::table
        .filter(evidence::id.eq_any(ids))
        .select(Evidence::as_select())
        .into_boxed()
}

/// The reason recorded when each verdict was superseded.
fn supersede_reasons(verdict_ids: Vec<Uuid>) -> revisions::BoxedQuery<'static, Pg, (SqlUuid, Nullable<Text>)> {
    revisions::table
        .filter(revisions::entity_id.eq_any(verdict_ids).and(revisions::action.eq("supersede")))
        .select((revisions::entity_id, revisions::reason))
        .into_boxed()
}

#[derive(QueryableByName)]
struct NewestShown {
    #[diesel(sql_type = SqlUuid)]
    claim_id: Uuid,
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Bytea)]
    chain_hash: Vec<u8>,
}

/// Per claim, the newest revision of the entities shown with it: one
/// backward step on (entity_id, seq) per entity.
fn newest_shown_revisions(shown: &[(Uuid, Uuid)]) -> BoxedSqlQuery<'static, Pg, SqlQuery> {
    let (entity_ids, claim_ids): (Vec<Uuid>, Vec<Uuid>) = shown.iter().copied().unzip();
    diesel::sql_query(
        "SELECT DISTINCT ON (shown.claim_id) shown.claim_id, newest.seq, newest.chain_hash \
         FROM unnest($1::uuid[], $2::uuid[]) AS shown (entity_id, claim_id) \
         CROSS JOIN LATERAL ( \
             SELECT r.seq, r.chain_hash FROM revisions r \
             WHERE r.entity_id = shown.entity_id ORDER BY r.seq DESC LIMIT 1 \
         ) newest \
         ORDER BY shown.claim_id, newest.seq DESC",
    )
    .into_boxed()
    .bind::<Array<SqlUuid>, _>(entity_ids)
    .bind::<Array<SqlUuid>, _>(claim_ids)
}

/// The published fact checks among `claim_ids`, from the projections.
fn load(conn: &mut PgConnection, claim_ids: &[Uuid]) -> AppResult<Vec<FactCheck>> {
    if claim_ids.is_empty() {
        return Ok(vec![]);
    }
    let claims: Vec<Claim> = active_claims(claim_ids.to_vec()).load(conn)?;
    let mut verdicts: HashMap<Uuid, Verdict> = published_verdicts(claims.iter().map(|c| c.id).collect())
        .load::<Verdict>(conn)?
        .into_iter()
        .map(|v| (v.claim_id, v))
        .collect();
    let public: Vec<(Claim, Verdict)> = claims.into_iter().filter_map(|c| verdicts.remove(&c.id).map(|v| (c, v))).collect();
    if public.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<Uuid> = public.iter().map(|(c, _)| c.id).collect();
    let appearances: Vec<Appearance> = active_appearances(ids.clone()).load(conn)?;
    let mut article_ids: Vec<Uuid> = appearances.iter().map(|a| a.article_id).collect();
    article_ids.sort();
    article_ids.dedup();
    let articles: HashMap<Uuid, ArticleRef> = articles_by_id(article_ids)
        .load::<ArticleRef>(conn)?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let cited: Vec<Uuid> = public.iter().flat_map(|(_, v)| v.evidence_ids.iter().copied()).collect();
    let evidence: HashMap<Uuid, Evidence> = evidence_by_id(cited)
        .load::<Evidence>(conn)?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let superseded: Vec<Verdict> = superseded_verdicts(ids.clone()).load(conn)?;
    let reasons: HashMap<Uuid, Option<String>> = if superseded.is_empty() {
        HashMap::new()
    } else {
        supersede_reasons(superseded.iter().map(|v| v.id).collect())
            .load::<(Uuid, Option<String>)>(conn)?
            .into_iter()
            .collect()
    };

    let mut shown: Vec<(Uuid, Uuid)> = vec![];
    for (claim, verdict) in &public {
        shown.push((claim.id, claim.id));
        shown.push((verdict.id, claim.id));
        shown.extend(verdict.evidence_ids.iter().map(|e| (*e, claim.id)));
    }
    for a in &appearances {
        shown.push((a.id, a.claim_id));
        shown.push((a.article_id, a.claim_id));
    }
    let mut positions: HashMap<Uuid, LogPosition> = newest_shown_revisions(&shown)
        .load::<NewestShown>(conn)?
        .into_iter()
        .map(|n| {
            (
                n.claim_id,
                LogPosition {
                    seq: n.seq,
                    chain_hash: n.chain_hash,
                },
            )
        })
        .collect();

    let mut appearances_of: HashMap<Uuid, Vec<(Appearance, ArticleRef)>> = HashMap::new();
    for a in appearances {
        let article = articles
            .get(&a.article_id)
            .cloned()
            .ok_or_else(|| AppError::internal(format!("appearance {} names a missing article", a.id)))?;
        appearances_of.entry(a.claim_id).or_default().push((a, article));
    }
    let mut corrections_of: HashMap<Uuid, Vec<SupersededVerdict>> = HashMap::new();
    for verdict in superseded {
        let reason = reasons.get(&verdict.id).cloned().flatten();
        corrections_of
            .entry(verdict.claim_id)
            .or_default()
            .push(SupersededVerdict { verdict, reason });
    }
    public
        .into_iter()
        .map(|(claim, verdict)| {
            let cited = verdict
                .evidence_ids
                .iter()
                .map(|id| {
                    evidence
                        .get(id)
                        .cloned()
                        .ok_or_else(|| AppError::internal(format!("verdict {} cites missing evidence {id}", verdict.id)))
                })
                .collect::<AppResult<Vec<Evidence>>>()?;
            let log = positions
                .remove(&claim.id)
                .ok_or_else(|| AppError::internal(format!("claim {} has no revisions", claim.id)))?;
            Ok(FactCheck {
                appearances: appearances_of.remove(&claim.id).unwrap_or_default(),
                corrections: corrections_of.remove(&claim.id).unwrap_or_default(),
                evidence: cited,
                verdict,
                claim,
                log,
            })
        })
        .collect()
}

// Fact checks as they stood ------------------------------------------------

fn from_snapshot<T: serde::de::DeserializeOwned>(r: &Revision) -> AppResult<T> {
    serde_json::from_value(r.snapshot.clone())
        .map_err(|e| AppError::internal(format!("revision {} does not hold a {}: {e}", r.seq, r.entity_kind)))
}

/// The published fact check of `claim_id` as it stood at `seq`, rebuilt
/// from the log; None when it was not public then.
fn factcheck_at(conn: &mut PgConnection, claim_id: Uuid, seq: i64) -> AppResult<Option<FactCheck>> {
    if seq < 1 {
        return Ok(None);
    }
    let family = ledger::asof::claim_family_at(conn, claim_id, seq)?;
    let mut claim: Option<(Claim, &Revision)> = None;
    let mut appearances: Vec<(Appearance, &Revision)> = vec![];
    let mut evidence: HashMap<Uuid, (Evidence, &Revision)> = HashMap::new();
    let mut verdicts: Vec<(Verdict, &Revision)> = vec![];
    for r in &family {
        match r.entity_kind.as_str() {
            "claim" => claim = Some((from_snapshot(r)?, r)),
            "appearance" => {
                let a: Appearance = from_snapshot(r)?;
                if a.status == "active" {
                    appearances.push((a, r));
                }
            }
            "evidence" => {
                let e: Evidence = from_snapshot(r)?;
                evidence.insert(e.id, (e, r));
            }
            "verdict" => verdicts.push((from_snapshot(r)?, r)),
            _ => {}
        }
    }
    let Some((claim, claim_revision)) = claim.filter(|(c, _)| c.status == "active") else {
        return Ok(None);
    };
    let Some(current) = verdicts.iter().position(|(v, _)| v.status() == VerdictStatus::Published) else {
        return Ok(None);
    };
    let (verdict, verdict_revision) = verdicts.swap_remove(current);
    let mut shown: Vec<&Revision> = vec![claim_revision, verdict_revision];

    appearances.sort_by_key(|(a, _)| a.id);
    let mut articles: HashMap<Uuid, (ArticleRef, Revision)> = HashMap::new();
    for (a, _) in &appearances {
        if let std::collections::hash_map::Entry::Vacant(slot) = articles.entry(a.article_id) {
            let r = ledger::asof::entity_at(conn, a.article_id, seq)?
                .ok_or_else(|| AppError::internal(format!("article {} had no revision at seq {seq}", a.article_id)))?;
            slot.insert((from_snapshot(&r)?, r));
        }
    }
    let mut with_articles = vec![];
    for (a, r) in appearances {
        let (article, article_revision) = &articles[&a.article_id];
        shown.push(r);
        shown.push(article_revision);
        with_articles.push((a, article.clone()));
    }
    let mut cited = vec![];
    for id in &verdict.evidence_ids {
        let (e, r) = evidence
            .get(id)
            .ok_or_else(|| AppError::internal(format!("verdict {} cites evidence {id}, not in the log at seq {seq}", verdict.id)))?;
        shown.push(r);
        cited.push(e.clone());
    }
    let mut corrections: Vec<SupersededVerdict> = verdicts
        .into_iter()
        .filter(|(v, _)| v.status() == VerdictStatus::Superseded)
        // Superseded is final, so its newest revision is the supersede itself.
        .map(|(verdict, r)| SupersededVerdict {
            verdict,
            reason: r.reason.clone(),
        })
        .collect();
    corrections.sort_by_key(|s| (s.verdict.published_at, s.verdict.id));
    let newest = shown.into_iter().max_by_key(|r| r.seq).expect("the claim's revision is shown");
    let log = LogPosition {
        seq: newest.seq,
        chain_hash: newest.chain_hash.clone(),
    };
    Ok(Some(FactCheck {
        claim,
        appearances: with_articles,
        verdict,
        evidence: cited,
        corrections,
        log,
    }))
}

// The feed ------------------------------------------------------------------

/// A change to the public set at log position `seq`.
#[derive(Debug)]
pub struct FeedEntry {
    pub seq: i64,
    pub change: FeedChange,
    pub claim_id: Uuid,
    /// After the change; None for a withdrawal.
    pub factcheck: Option<FactCheck>,
}

#[derive(Debug)]
pub struct FeedRead {
    pub entries: Vec<FeedEntry>,
    /// The log has been read up to here: resume after it.
    pub read_to: i64,
    /// Everything up to the head (as it was read) has been examined.
    pub caught_up: bool,
}

#[derive(QueryableByName)]
struct FeedCandidate {
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Text)]
    entity_kind: String,
    #[diesel(sql_type = Text)]
    action: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    claim_id: Option<Uuid>,
    #[diesel(sql_type = Bool)]
    follows_supersede: bool,
}

/// Revisions in (after, up_to] that may change what the public sees of a
/// claim. Drafts, submissions, rejections and new evidence cannot (a
/// published verdict's citations are fixed); a supersede is read together
/// with the publish that follows it in the same transaction.
fn feed_candidates(after: i64, up_to: i64, limit: i64) -> BoxedSqlQuery<'static, Pg, SqlQuery> {
    diesel::sql_query(
        "SELECT r.seq, r.entity_kind, r.action, \
                CASE WHEN r.entity_kind = 'claim' THEN r.entity_id \
                     ELSE (r.snapshot ->> 'claim_id')::uuid END AS claim_id, \
                EXISTS (SELECT 1 FROM revisions p \
                        WHERE p.seq = r.seq - 1 AND p.action = 'supersede' \
                          AND p.snapshot ->> 'claim_id' = r.snapshot ->> 'claim_id') AS follows_supersede \
         FROM revisions r \
         WHERE r.seq > $1 AND r.seq <= $2 \
           AND ((r.entity_kind = 'verdict' AND r.action IN ('publish', 'withdraw')) \
             OR (r.entity_kind = 'claim' AND r.action <> 'create') \
             OR r.entity_kind = 'appearance' \
             OR (r.entity_kind = 'evidence' AND r.action <> 'create')) \
         ORDER BY r.seq LIMIT $3",
    )
    .into_boxed()
    .bind::<BigInt, _>(after)
    .bind::<BigInt, _>(up_to)
    .bind::<BigInt, _>(limit)
}

/// Changes to the public set after seq `after`, in log order, up to
/// `limit` of them. Only revisions up to the head read at the start are
/// examined, and every one of them is committed (the head moves on commit
/// and seqs are dense), so pages neither skip nor repeat while writers append.
pub fn feed(conn: &mut PgConnection, after: i64, limit: i64) -> AppResult<FeedRead> {
    read_only(conn, |conn| {
        let head = ledger::head(conn)?.seq;
        let candidates: Vec<FeedCandidate> = feed_candidates(after, head, FEED_SCAN).load(conn)?;
        let mut entries = vec![];
        let mut read_to = after;
        let mut examined = 0;
        for candidate in &candidates {
            if let Some(entry) = feed_entry(conn, candidate)? {
                entries.push(entry);
            }
            examined += 1;
            read_to = candidate.seq;
            if entries.len() as i64 == limit {
                break;
            }
        }
        let caught_up = examined == candidates.len() && (candidates.len() as i64) < FEED_SCAN;
        if caught_up {
            read_to = read_to.max(head);
        }
        Ok(FeedRead {
            entries,
            read_to,
            caught_up,
        })
    })
}

fn feed_entry(conn: &mut PgConnection, c: &FeedCandidate) -> AppResult<Option<FeedEntry>> {
    let Some(claim_id) = c.claim_id else {
        return Ok(None);
    };
    let now = factcheck_at(conn, claim_id, c.seq)?;
    // Appearances and evidence change what a published fact check shows,
    // never whether there is one.
    let may_unpublish = matches!(c.entity_kind.as_str(), "verdict" | "claim");
    if now.is_none() && !may_unpublish {
        return Ok(None);
    }
    // Nobody saw the claim between a supersede and its publish.
    let before_seq = if c.action == "publish" && c.follows_supersede {
        c.seq - 2
    } else {
        c.seq - 1
    };
    let before = factcheck_at(conn, claim_id, before_seq)?;
    let change = match (&before, &now) {
        (None, Some(_)) => FeedChange::Published,
        (Some(b), Some(a)) if b.verdict.id != a.verdict.id => FeedChange::Corrected,
        (Some(b), Some(a)) if !a.shows_the_same_as(b) => FeedChange::Updated,
        (Some(_), None) => FeedChange::Withdrawn,
        _ => return Ok(None),
    };
    // A verdict withdrawn since is not served again, not even as history (a
    // withdrawal can be a takedown); its `withdrawn` item still tells
    // consumers who saw it to drop it.
    if let Some(f) = &now
        && is_withdrawn(conn, f.verdict.id)?
    {
        return Ok(None);
    }
    Ok(Some(FeedEntry {
        seq: c.seq,
        change,
        claim_id,
        factcheck: now,
    }))
}

fn is_withdrawn(conn: &mut PgConnection, verdict_id: Uuid) -> AppResult<bool> {
    let status: String = verdicts::table.find(verdict_id).select(verdicts::status).first(conn)?;
    Ok(status == VerdictStatus::Withdrawn.as_str())
}

// Query plans ---------------------------------------------------------------

/// `EXPLAIN` of a query, with the query's own binds.
struct Explain<Q>(Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Explain<Q> {
    fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        pass.push_sql("EXPLAIN ");
        self.0.walk_ast(pass.reborrow())
    }
}

impl<Q> QueryId for Explain<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> Query for Explain<Q> {
    type SqlType = Text;
}

impl<Q> RunQueryDsl<PgConnection> for Explain<Q> {}

/// One query behind the public reads, and PostgreSQL's plan for it.
#[derive(Debug)]
pub struct QueryPlan {
    pub name: &'static str,
    pub plan: String,
}

fn explain<Q: QueryFragment<Pg>>(conn: &mut PgConnection, name: &'static str, query: Q) -> AppResult<QueryPlan> {
    let lines: Vec<String> = Explain(query).load(conn)?;
    Ok(QueryPlan {
        name,
        plan: lines.join("\n"),
    })
}

/// The plans of the queries that read the fact check of `claim_id` (which
/// must be published) and that list and search with `search`, with the
/// binds they would run with: for tests and operators checking that they
/// are answered from indexes.
pub fn query_plans(conn: &mut PgConnection, claim_id: Uuid, search: &FactCheckFilter) -> AppResult<Vec<QueryPlan>> {
    let f = get(conn, claim_id)?;
    let ids = vec![claim_id];
    let page = ListCursor::Newest {
        published_at: f.verdict.published_at.unwrap_or_default(),
        claim_id,
    };
    let mut shown = vec![(claim_id, claim_id), (f.verdict.id, claim_id)];
    shown.extend(
        f.appearances
            .iter()
            .flat_map(|(a, article)| [(a.id, claim_id), (article.id, claim_id)]),
    );
    shown.extend(f.evidence.iter().map(|e| (e.id, claim_id)));
    let head = ledger::head(conn)?.seq;
    Ok(vec![
        explain(conn, "list", page_query(&FactCheckFilter::default(), None, 20)?)?,
        explain(
            conn,
            "list after a cursor",
            page_query(&FactCheckFilter::default(), Some(page), 20)?,
        )?,
        explain(conn, "search", page_query(search, None, 20)?)?,
        explain(conn, "active claims", active_claims(ids.clone()))?,
        explain(conn, "published verdicts", published_verdicts(ids.clone()))?,
        explain(conn, "active appearances", active_appearances(ids.clone()))?,
        explain(conn, "articles", articles_by_id(f.appearances.iter().map(|(_, a)| a.id).collect()))?,
        explain(conn, "cited evidence", evidence_by_id(f.verdict.evidence_ids.clone()))?,
        explain(conn, "superseded verdicts", superseded_verdicts(ids))?,
        explain(
            conn,
            "supersede reasons",
            supersede_reasons(f.corrections.iter().map(|c| c.verdict.id).collect()),
        )?,
        explain(conn, "log position", newest_shown_revisions(&shown))?,
        explain(conn, "feed candidates", feed_candidates(0, head, FEED_SCAN))?,
    ])
}
