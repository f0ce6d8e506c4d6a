//! The list of published fact checks and its search: one keyset query over
//! the derived documents, returning the page's documents as stored.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Float4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

use super::{PublicFactCheck, parse_aggregate, read_only};
use crate::db::sql::{Param, Sql};
use crate::error::{AppError, AppResult};
use crate::model::factcheck::FactCheckFilter;
use crate::model::paging::ListCursor;

/// A search ranks at most this many matches: the most recently published.
/// Up to it, results are in exact `ts_rank` order; beyond it, a common term
/// stays fast instead of scoring every match (README: Search).
pub const RANKED_MATCHES: i64 = 2_000;

/// A page of the list: each fact check's JSON as stored, and where the next
/// page starts (None on the last page).
#[derive(Debug)]
pub struct FactCheckPage {
    pub items: Vec<String>,
    pub next: Option<ListCursor>,
}

/// Published fact checks matching `filter`: newest published first, or by
/// rank then newest when searching, after `after`.
pub fn list(conn: &mut PgConnection, filter: &FactCheckFilter, after: Option<ListCursor>, limit: i64) -> AppResult<FactCheckPage> {
    let (rows, next) = page_rows(conn, filter, after, limit, Document::Json)?;
    Ok(FactCheckPage {
        items: rows.into_iter().map(|r| r.body).collect(),
        next,
    })
}

/// One page's rows, in one read-only statement, and where the next starts.
fn page_rows(
    conn: &mut PgConnection,
    filter: &FactCheckFilter,
    after: Option<ListCursor>,
    limit: i64,
    document: Document,
) -> AppResult<(Vec<PageRow>, Option<ListCursor>)> {
    let query = page_query(filter, after, limit, document)?;
    let rows: Vec<PageRow> = read_only(conn, |conn| Ok(query.load(conn)?))?;
    let next = if rows.len() as i64 == limit {
        rows.last().map(PageRow::cursor)
    } else {
        None
    };
    Ok((rows, next))
}

/// The same page, each fact check as its derived aggregate (what pages
/// render from) with its log position.
#[derive(Debug)]
pub struct AggregatePage {
    pub items: Vec<PublicFactCheck>,
    pub next: Option<ListCursor>,
}

/// Like [`list`], for what renders the aggregates (the HTML pages, the Atom feed).
pub fn list_aggregates(
    conn: &mut PgConnection,
    filter: &FactCheckFilter,
    after: Option<ListCursor>,
    limit: i64,
) -> AppResult<AggregatePage> {
    let (rows, next) = page_rows(conn, filter, after, limit, Document::Aggregate)?;
    let items = rows
        .into_iter()
        .map(|r| {
            let factcheck = parse_aggregate(r.claim_id, &r.body)?;
            Ok(PublicFactCheck {
                seq: r.seq,
                body: String::new(),
                factcheck,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(AggregatePage { items, next })
}

/// Which document of each fact check a page carries.
#[derive(Clone, Copy, Debug)]
pub(super) enum Document {
    /// Its JSON as served.
    Json,
    /// Its aggregate (as JSON text).
    Aggregate,
}

impl Document {
    fn column(self) -> &'static str {
        match self {
            Document::Json => "p.body",
            Document::Aggregate => "p.aggregate::text",
        }
    }
}

#[derive(QueryableByName)]
struct PageRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
    #[diesel(sql_type = SqlUuid)]
    claim_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    published_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Float4>)]
    rank: Option<f32>,
    #[diesel(sql_type = Text)]
    body: String,
}

impl PageRow {
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

/// The filters of a list, as SQL over `public_factchecks p`.
fn filters(s: &mut Sql<'static>, filter: &FactCheckFilter) {
    if let Some(claimant) = &filter.claimant {
        let p = s.param(Param::text(claimant.clone()));
        s.push(&format!(" AND lower(p.claimant) = lower({p})"));
    }
    if let Some(rating) = filter.rating {
        let p = s.param(Param::text(rating.as_str()));
        s.push(&format!(" AND p.rating = {p}"));
    }
    if let Some(language) = &filter.language {
        // A parsed BCP 47 tag: letters, digits and hyphens, nothing LIKE treats specially.
        let p = s.param(Param::text(language.clone()));
        s.push(&format!(" AND (p.language = {p} OR p.language LIKE {p} || '-%')"));
    }
    if let Some(since) = filter.published_since {
        let p = s.param(Param::Time(since));
        s.push(&format!(" AND p.published_at >= {p}"));
    }
    if let Some(article_id) = filter.article_id {
        let p = s.param(Param::Uuids(vec![article_id]));
        s.push(&format!(" AND p.article_ids @> {p}"));
    }
}

/// The query of one page. The plain list is answered by the published_at
/// index; a search by the GIN index, ranking only the newest
/// [`RANKED_MATCHES`] matches. The keyset comparison repeats the ORDER BY,
/// so a page never skips or repeats what was there when the previous page
/// was read, and what is published later sorts before the cursor.
pub(super) fn page_query(filter: &FactCheckFilter, after: Option<ListCursor>, limit: i64, doc: Document) -> AppResult<Sql<'static>> {
    let mut s = Sql::build();
    let doc = doc.column();
    match &filter.q {
        None => {
            s.push(&format!(
                "SELECT p.claim_id, p.seq, p.published_at, NULL::real AS rank, {doc} AS body FROM public_factchecks p WHERE true"
            ));
            filters(&mut s, filter);
            match after {
                None => {}
                Some(ListCursor::Newest { published_at, claim_id }) => {
                    let (t, c) = (s.param(Param::Time(published_at)), s.param(Param::Uuid(claim_id)));
                    s.push(&format!(" AND (p.published_at, p.claim_id) < ({t}, {c})"));
                }
                Some(ListCursor::Ranked { .. }) => return Err(AppError::field("cursor", "this cursor belongs to a search (q)")),
            }
            let n = s.param(Param::BigInt(limit));
            s.push(&format!(" ORDER BY p.published_at DESC, p.claim_id DESC LIMIT {n}"));
        }
        Some(q) => {
            let q = s.param(Param::text(q.clone()));
            s.push(&format!(
                "WITH matched AS MATERIALIZED ( \
                   SELECT p.claim_id, p.published_at, ts_rank(p.search, websearch_to_tsquery('english', {q})) AS rank \
                   FROM public_factchecks p WHERE p.search @@ websearch_to_tsquery('english', {q})"
            ));
            filters(&mut s, filter);
            let cap = s.param(Param::BigInt(RANKED_MATCHES));
            s.push(&format!(
                " ORDER BY p.published_at DESC, p.claim_id DESC LIMIT {cap}) \
                 SELECT m.claim_id, p.seq, m.published_at, m.rank, {doc} AS body FROM matched m JOIN public_factchecks p USING (claim_id) WHERE true"
            ));
            match after {
                None => {}
                Some(ListCursor::Ranked {
                    rank,
                    published_at,
                    claim_id,
                }) => {
                    let (r, t, c) = (
                        s.param(Param::Real(rank)),
                        s.param(Param::Time(published_at)),
                        s.param(Param::Uuid(claim_id)),
                    );
                    s.push(&format!(" AND (m.rank, m.published_at, m.claim_id) < ({r}, {t}, {c})"));
                }
                Some(ListCursor::Newest { .. }) => return Err(AppError::field("cursor", "this cursor belongs to a list without q")),
            }
            let n = s.param(Param::BigInt(limit));
            s.push(&format!(" ORDER BY m.rank DESC, m.published_at DESC, m.claim_id DESC LIMIT {n}"));
        }
    }
    Ok(s)
}
