//! The log read as revisions: filtered and paged, one by seq, and compared
//! line by line with an auditor's earlier export.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::{editors, revisions};
use crate::error::{AppError, AppResult};
use crate::ledger::asof;
use crate::model::{Action, EntityKind, Revision};

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
        query = query.filter(revisions::entity_kind.eq(kind));
    }
    if let Some(id) = filter.entity_id {
        query = query.filter(revisions::entity_id.eq(id));
    }
    if let Some(actor) = filter.actor_id {
        query = query.filter(revisions::actor_id.eq(actor));
    }
    if let Some(action) = filter.action {
        query = query.filter(revisions::action.eq(action));
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
