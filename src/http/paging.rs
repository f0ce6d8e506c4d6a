//! Pages of lists as they go out: `{items, next_cursor}`, and the `limit`
//! and `cursor` query parameters, parsed with `model::paging`.

use serde::Serialize;

use crate::error::AppResult;
use crate::model::paging::{self, IdCursor, SeqCursor};

/// A list page: `{items, next_cursor}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Paged<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Paged<T> {
    /// The page of `rows`, read with `limit`: a full page has a next one,
    /// which starts after its last row's key.
    pub fn of<R>(rows: Vec<R>, limit: i64, cursor: impl Fn(&R) -> String, view: impl Fn(R) -> T) -> Paged<T> {
        let next_cursor = if rows.len() as i64 == limit {
            rows.last().map(cursor)
        } else {
            None
        };
        Paged {
            items: rows.into_iter().map(view).collect(),
            next_cursor,
        }
    }
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1–100, default 20.
    pub limit: Option<i64>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
}

impl PageParams {
    /// A page of a list ordered by id.
    pub fn by_id(&self) -> AppResult<crate::store::Page> {
        let limit = paging::limit(self.limit, 20);
        let after = self.cursor.as_deref().map(IdCursor::parse).transpose();
        let (limit, after) = crate::all_fields!(limit, after)?;
        Ok(crate::store::Page {
            limit,
            after: after.map(|c| c.0),
        })
    }

    /// A page of a list in log order: (after seq, limit).
    pub fn by_seq(&self, default_limit: i64) -> AppResult<(i64, i64)> {
        let limit = paging::limit(self.limit, default_limit);
        let after = self.cursor.as_deref().map(SeqCursor::parse).transpose();
        let (limit, after): (i64, Option<SeqCursor>) = crate::all_fields!(limit, after)?;
        Ok((after.map_or(0, |c| c.0), limit))
    }
}

/// The cursor after a row keyed by id.
pub fn id_cursor(id: uuid::Uuid) -> String {
    IdCursor(id).token()
}

/// The cursor after a revision.
pub fn seq_cursor(seq: i64) -> String {
    SeqCursor(seq).token()
}
