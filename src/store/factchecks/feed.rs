//! The change feed: every change to the public set, in log order, as it
//! was derived when the change was sequenced. Two statements a page,
//! whatever its size: how far the feed is derived, and the page's items.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use uuid::Uuid;

use super::read_only;
use crate::db::schema::{feed_items, log_derived};
use crate::error::AppResult;
use crate::model::factcheck::FeedChange;

/// A change to the public set at log position `seq`.
#[derive(Debug, Queryable)]
pub struct FeedEntry {
    pub seq: i64,
    pub claim_id: Uuid,
    pub change: FeedChange,
    /// The fact check's JSON after the change, as stored; None for a withdrawal.
    pub factcheck: Option<String>,
    /// For a withdrawal by a merge: the claim that survives.
    pub merged_into: Option<Uuid>,
}

#[derive(Debug)]
pub struct FeedRead {
    pub entries: Vec<FeedEntry>,
    /// The log has been read up to here: resume after it.
    pub read_to: i64,
    /// Everything up to the head (as it was read) has been examined.
    pub caught_up: bool,
}

/// The query of one page: items after `after`, up to `upto`, not hidden.
type ItemColumns = (
    diesel::sql_types::BigInt,
    diesel::sql_types::Uuid,
    diesel::sql_types::Text,
    diesel::sql_types::Nullable<diesel::sql_types::Text>,
    diesel::sql_types::Nullable<diesel::sql_types::Uuid>,
);

pub(super) fn page_query(after: i64, upto: i64, limit: i64) -> feed_items::BoxedQuery<'static, diesel::pg::Pg, ItemColumns> {
    feed_items::table
        .filter(
            feed_items::seq
                .gt(after)
                .and(feed_items::seq.le(upto))
                .and(feed_items::hidden.eq(false)),
        )
        .order(feed_items::seq.asc())
        .limit(limit)
        .select((
            feed_items::seq,
            feed_items::claim_id,
            feed_items::change,
            feed_items::factcheck,
            feed_items::merged_into,
        ))
        .into_boxed()
}

/// Changes to the public set after seq `after`, in log order, up to `limit`
/// of them. Only what is derived when the page is read is served, and it
/// is complete up to there (derivation commits with the sequencing), so
/// pages neither skip nor repeat while writers append.
pub fn feed(conn: &mut PgConnection, after: i64, limit: i64) -> AppResult<FeedRead> {
    read_only(conn, |conn| {
        let upto: i64 = log_derived::table.select(log_derived::public_seq).first(conn)?;
        let entries: Vec<FeedEntry> = page_query(after, upto, limit).load(conn)?;
        let full = entries.len() as i64 == limit;
        let read_to = match entries.last() {
            Some(last) if full => last.seq,
            _ => upto.max(after),
        };
        Ok(FeedRead {
            entries,
            read_to,
            caught_up: !full,
        })
    })
}
