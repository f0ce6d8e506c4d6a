//! The plans PostgreSQL makes for the public reads, with the binds they
//! would run with: for tests and operators checking that they are answered
//! from indexes.

use diesel::pg::{Pg, PgConnection};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::Text;
use uuid::Uuid;

use super::list::{Document, page_query};
use super::{aggregate, feed};
use crate::db::schema::public_factchecks;
use crate::error::AppResult;
use crate::model::factcheck::FactCheckFilter;
use crate::model::paging::ListCursor;

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

/// The plans of the queries behind the public reads — one fact check by
/// `claim_id` (which must be published), the list, a page after a cursor,
/// a search with `search`, and a page of the feed — with the binds they
/// would run with: for tests and operators checking that they are answered
/// from indexes.
pub fn query_plans(conn: &mut PgConnection, claim_id: Uuid, search: &FactCheckFilter) -> AppResult<Vec<QueryPlan>> {
    let (_, f, _) = aggregate(conn, claim_id)?;
    let page = ListCursor::Newest {
        published_at: f.verdict.published_at.unwrap_or_default(),
        claim_id,
    };
    let one =
        public_factchecks::table
            .find(claim_id)
            .select((public_factchecks::seq, public_factchecks::body, public_factchecks::aggregate));
    Ok(vec![
        explain(conn, "one fact check", one)?,
        explain(conn, "list", page_query(&FactCheckFilter::default(), None, 20, Document::Json)?)?,
        explain(
            conn,
            "list after a cursor",
            page_query(&FactCheckFilter::default(), Some(page), 20, Document::Json)?,
        )?,
        explain(conn, "search", page_query(search, None, 20, Document::Json)?)?,
        explain(conn, "feed page", feed::page_query(0, i64::MAX, 100))?,
    ])
}
