//! Public reads, from what is derived from the log (`derive`): one
//! published fact check, the list and its search (`list`), and the change
//! feed (`feed`). Each read is one read-only REPEATABLE READ transaction.

pub mod derive;
pub(crate) mod feed;
mod list;
pub mod plans;

use diesel::pg::PgConnection;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::public_factchecks;
use crate::error::{AppError, AppResult};
use crate::model::factcheck::FactCheck;

pub use feed::{FeedEntry, FeedRead, feed};
pub use list::{AggregatePage, FactCheckPage, RANKED_MATCHES, list, list_aggregates};

fn read_only<T>(conn: &mut PgConnection, f: impl FnOnce(&mut PgConnection) -> AppResult<T>) -> AppResult<T> {
    conn.build_transaction().read_only().repeatable_read().run(f)
}

fn no_factcheck(claim_id: Uuid) -> AppError {
    // The same answer whether the claim is unknown, unpublished or retired.
    AppError::NotFound(format!("no published fact check for claim {claim_id}"))
}

/// A published fact check as derived: its log position (the ETag), its
/// JSON as served, and the aggregate ClaimReview and pages render from.
#[derive(Debug, Clone)]
pub struct PublicFactCheck {
    pub seq: i64,
    pub body: String,
    pub factcheck: FactCheck,
}

/// The claim a claim was merged into, if it was (its fact check points there).
pub fn merged_into(conn: &mut PgConnection, claim_id: Uuid) -> AppResult<Option<Uuid>> {
    use crate::db::schema::feed_items;
    Ok(feed_items::table
        .filter(feed_items::claim_id.eq(claim_id).and(feed_items::merged_into.is_not_null()))
        .order(feed_items::seq.desc())
        .select(feed_items::merged_into)
        .first::<Option<Uuid>>(conn)
        .optional()?
        .flatten())
}

/// A published fact check's JSON as served and its log position (the
/// ETag): one indexed lookup, nothing parsed.
pub fn document(conn: &mut PgConnection, claim_id: Uuid) -> AppResult<(i64, String)> {
    public_factchecks::table
        .find(claim_id)
        .select((public_factchecks::seq, public_factchecks::body))
        .first(conn)
        .optional()?
        .ok_or_else(|| no_factcheck(claim_id))
}

/// Where [`newest_documents`] goes on from: the last row's publication
/// time and claim id.
pub type DocumentsAfter = (chrono::DateTime<chrono::Utc>, Uuid);

/// A published fact check's JSON as served, with its log position and
/// where it stands in publication order.
#[derive(Debug, Queryable)]
pub struct StoredDocument {
    pub claim_id: Uuid,
    pub seq: i64,
    pub body: String,
    pub published_at: chrono::DateTime<chrono::Utc>,
}

impl StoredDocument {
    /// Where a read of the documents after this one goes on from.
    pub fn position(&self) -> DocumentsAfter {
        (self.published_at, self.claim_id)
    }
}

/// Published fact checks' JSON as served, newest published first, after
/// `after`: what a fresh server's memory is filled from (one index range
/// scan a batch).
pub fn newest_documents(conn: &mut PgConnection, after: Option<DocumentsAfter>, limit: i64) -> AppResult<Vec<StoredDocument>> {
    let mut query = public_factchecks::table
        .order((public_factchecks::published_at.desc(), public_factchecks::claim_id.desc()))
        .select((
            public_factchecks::claim_id,
            public_factchecks::seq,
            public_factchecks::body,
            public_factchecks::published_at,
        ))
        .limit(limit)
        .into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(
            public_factchecks::published_at
                .lt(at)
                .or(public_factchecks::published_at.eq(at).and(public_factchecks::claim_id.lt(id))),
        );
    }
    Ok(query.load(conn)?)
}

/// A published fact check's aggregate (what ClaimReview and pages render
/// from), its log position, and the size of its stored text: one indexed
/// lookup.
pub fn aggregate(conn: &mut PgConnection, claim_id: Uuid) -> AppResult<(i64, FactCheck, usize)> {
    let (seq, text): (i64, String) = public_factchecks::table
        .find(claim_id)
        .select((
            public_factchecks::seq,
            diesel::dsl::sql::<diesel::sql_types::Text>("aggregate::text"),
        ))
        .first(conn)
        .optional()?
        .ok_or_else(|| no_factcheck(claim_id))?;
    Ok((seq, parse_aggregate(claim_id, &text)?, text.len()))
}

fn parse_aggregate(claim_id: Uuid, text: &str) -> AppResult<FactCheck> {
    serde_json::from_str(text).map_err(|e| AppError::internal(format!("the stored fact check of claim {claim_id} does not parse: {e}")))
}

/// How many published fact checks an article page shows at most.
pub const ARTICLE_FACTCHECKS: i64 = 200;

/// The published fact checks that quote an article: those with an active
/// appearance in it (indexed) and those whose cited evidence quotes it,
/// newest published first, each as its aggregate (the body left empty).
pub fn quoting_article(conn: &mut PgConnection, article_id: Uuid) -> AppResult<Vec<PublicFactCheck>> {
    use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        claim_id: Uuid,
        #[diesel(sql_type = BigInt)]
        seq: i64,
        #[diesel(sql_type = Text)]
        aggregate: String,
    }
    let cites = serde_json::json!([{ "article_id": article_id }]).to_string();
    let rows: Vec<Row> = read_only(conn, |conn| {
        Ok(crate::db::sql::Sql::fixed(
            "SELECT claim_id, seq, aggregate::text AS aggregate FROM public_factchecks \
             WHERE article_ids @> $1 OR aggregate->'evidence' @> $2::jsonb \
             ORDER BY published_at DESC, claim_id DESC LIMIT $3",
            vec![
                crate::db::sql::Param::Uuids(vec![article_id]),
                crate::db::sql::Param::text(cites),
                crate::db::sql::Param::BigInt(ARTICLE_FACTCHECKS),
            ],
        )
        .load(conn)?)
    })?;
    rows.into_iter()
        .map(|r| {
            Ok(PublicFactCheck {
                seq: r.seq,
                body: String::new(),
                factcheck: parse_aggregate(r.claim_id, &r.aggregate)?,
            })
        })
        .collect()
}
