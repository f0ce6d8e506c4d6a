//! Idempotency-Key: the first response to a POST is stored in the same
//! transaction as its write, and replayed to retries.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use uuid::Uuid;

use super::{PendingGroup, transaction};
use crate::db::schema::idempotency_keys;
use crate::error::{AppError, AppResult};

/// Keys are kept this long (the contract promises at least 24 hours).
pub const KEEP_HOURS: i64 = 48;

#[derive(Clone, Debug)]
pub struct StoredResponse {
    pub status: u16,
    pub body: serde_json::Value,
    pub location: Option<String>,
    /// The version the response's ETag names.
    pub etag_version: Option<i32>,
    /// The revisions the write recorded, waiting to be sequenced (a replay
    /// knows only the last one's entity and version).
    pub pending: Option<PendingGroup>,
}

/// Runs `write` once per (actor, key). A retry with the same request gets the
/// stored response and writes nothing; the same key with a different request
/// is 422. A concurrent retry waits for the first to commit. A failed write
/// stores nothing, so it can be retried.
pub fn once(
    conn: &mut PgConnection,
    actor_id: Uuid,
    key: &str,
    request_hash: &[u8],
    write: impl FnOnce(&mut PgConnection) -> AppResult<StoredResponse>,
) -> AppResult<(StoredResponse, bool)> {
    transaction(conn, |conn| {
        let expired_before = chrono::Utc::now() - chrono::Duration::hours(KEEP_HOURS);
        diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(expired_before))).execute(conn)?;
        let claimed = diesel::insert_into(idempotency_keys::table)
            .values((
                idempotency_keys::actor_id.eq(actor_id),
                idempotency_keys::key.eq(key),
                idempotency_keys::request_hash.eq(request_hash),
                idempotency_keys::status.eq(0i16),
                idempotency_keys::body.eq(serde_json::Value::Null),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
        if claimed == 0 {
            type Stored = (
                Vec<u8>,
                i16,
                serde_json::Value,
                Option<String>,
                Option<i32>,
                Option<Uuid>,
                Option<i32>,
            );
            let (hash, status, body, location, etag_version, log_entity_id, log_entity_version): Stored = idempotency_keys::table
                .find((actor_id, key))
                .select((
                    idempotency_keys::request_hash,
                    idempotency_keys::status,
                    idempotency_keys::body,
                    idempotency_keys::location,
                    idempotency_keys::etag_version,
                    idempotency_keys::log_entity_id,
                    idempotency_keys::log_entity_version,
                ))
                .first(conn)?;
            if hash != request_hash {
                return Err(AppError::Unprocessable(
                    "this Idempotency-Key was used for a different request; use a new key for a new request".into(),
                ));
            }
            return Ok((
                StoredResponse {
                    status: status as u16,
                    body,
                    location,
                    etag_version,
                    pending: log_entity_id.zip(log_entity_version).map(|(id, version)| PendingGroup {
                        grp: 0,
                        last_entity_id: id,
                        last_entity_version: version,
                    }),
                },
                true,
            ));
        }
        let response = write(conn)?;
        diesel::update(idempotency_keys::table.find((actor_id, key)))
            .set((
                idempotency_keys::status.eq(response.status as i16),
                idempotency_keys::body.eq(&response.body),
                idempotency_keys::location.eq(&response.location),
                idempotency_keys::etag_version.eq(response.etag_version),
                idempotency_keys::log_entity_id.eq(response.pending.map(|p| p.last_entity_id)),
                idempotency_keys::log_entity_version.eq(response.pending.map(|p| p.last_entity_version)),
            ))
            .execute(conn)?;
        Ok((response, false))
    })
}
