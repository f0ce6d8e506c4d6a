//! Webhook subscriptions: created, edited, paused, rotated and deactivated
//! like every other entity (each change a revision; the signing keys are
//! kept beside the log, never in it), and their deliveries. The outbox is
//! `feed_items` itself: each subscription has a durable cursor over it
//! (`outbox`), and one delivery worker at a time sends (`worker`).

pub mod outbox;
pub mod send;
pub mod worker;

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Committed, Page, check_version, write};
use crate::db::schema::{webhook_cursors, webhook_deliveries, webhook_secrets, webhooks};
use crate::db::sql::{Param, Sql};
use crate::error::{AppError, AppResult};
use crate::model::webhook::{NewWebhook, Webhook, WebhookPatch, WebhookStatus, secret_text};
use crate::model::{Action, Actor};

/// Bytes of a signing key (Standard Webhooks: 24–64).
const KEY_BYTES: usize = 32;

fn no_webhook(id: Uuid) -> AppError {
    AppError::NotFound(format!("no webhook subscription with id {id}"))
}

fn new_key() -> Vec<u8> {
    let mut key = vec![0u8; KEY_BYTES];
    rand::fill(key.as_mut_slice());
    key
}

/// A subscription and, once, its new signing secret (`whsec_…`).
pub struct WithSecret {
    pub webhook: Webhook,
    pub secret: Option<String>,
}

impl crate::model::Recorded for WithSecret {
    const KIND: crate::model::EntityKind = crate::model::EntityKind::Webhook;
    fn id(&self) -> Uuid {
        self.webhook.id
    }
    fn version(&self) -> i32 {
        self.webhook.version
    }
}

impl Serialize for WithSecret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.webhook.serialize(s)
    }
}

/// The feed position a new subscription starts after: what is derived now
/// (it receives the changes made from now on; `replay` goes back).
fn derived_position(conn: &mut PgConnection) -> AppResult<i64> {
    super::factchecks::derive::derived_seq(conn)
}

pub fn create(conn: &mut PgConnection, actor: &Actor, new: &NewWebhook, reason: Option<&str>) -> AppResult<Committed<WithSecret>> {
    write(conn, |conn, log| {
        let id = Uuid::now_v7();
        let w: Webhook = diesel::insert_into(webhooks::table)
            .values((
                webhooks::id.eq(id),
                webhooks::url.eq(&new.url),
                webhooks::description.eq(&new.description),
                webhooks::event_types.eq(serde_json::to_value(&new.event_types).map_err(AppError::internal)?),
                webhooks::filter.eq(serde_json::to_value(&new.filter).map_err(AppError::internal)?),
                webhooks::status.eq(WebhookStatus::Active),
            ))
            .returning(Webhook::as_returning())
            .get_result(conn)?;
        let key = new_key();
        diesel::insert_into(webhook_secrets::table)
            .values((
                webhook_secrets::webhook_id.eq(id),
                webhook_secrets::version.eq(1),
                webhook_secrets::key.eq(&key),
            ))
            .execute(conn)?;
        let after = derived_position(conn)?;
        diesel::insert_into(webhook_cursors::table)
            .values((webhook_cursors::webhook_id.eq(id), webhook_cursors::after_seq.eq(after)))
            .execute(conn)?;
        log.record(&w, Action::Create, actor.id, reason);
        Ok(WithSecret {
            webhook: w,
            secret: Some(secret_text(&key)),
        })
    })
}

pub fn get(conn: &mut PgConnection, id: Uuid) -> AppResult<Webhook> {
    webhooks::table
        .find(id)
        .select(Webhook::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| no_webhook(id))
}

/// In creation order, after `page.after`.
pub fn list(conn: &mut PgConnection, page: Page) -> AppResult<Vec<Webhook>> {
    let mut query = webhooks::table
        .select(Webhook::as_select())
        .order(webhooks::id.asc())
        .limit(page.limit)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(webhooks::id.gt(after));
    }
    Ok(query.load(conn)?)
}

fn locked(conn: &mut PgConnection, id: Uuid) -> AppResult<Webhook> {
    webhooks::table
        .find(id)
        .for_update()
        .select(Webhook::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| no_webhook(id))
}

/// Writes `next` over the subscription (a new version) and records it.
fn save(
    conn: &mut PgConnection,
    log: &mut super::Log,
    actor: Uuid,
    next: &Webhook,
    action: Action,
    reason: Option<&str>,
) -> AppResult<Webhook> {
    let w: Webhook = diesel::update(webhooks::table.find(next.id))
        .set((
            webhooks::url.eq(&next.url),
            webhooks::description.eq(&next.description),
            webhooks::event_types.eq(&next.event_types),
            webhooks::filter.eq(&next.filter),
            webhooks::status.eq(next.status),
            webhooks::disabled_reason.eq(&next.disabled_reason),
            webhooks::secret_version.eq(next.secret_version),
            webhooks::version.eq(next.version + 1),
            webhooks::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Webhook::as_returning())
        .get_result(conn)?;
    log.record(&w, action, actor, reason);
    Ok(w)
}

/// Pause, resume (also after the server disabled it: delivery resumes
/// where it stopped, at once), or change the url, event types or filter.
pub fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    expected: Option<i32>,
    patch: &WebhookPatch,
    reason: Option<&str>,
) -> AppResult<Committed<Webhook>> {
    write(conn, |conn, log| {
        let current = locked(conn, id)?;
        check_version("webhook subscription", current.version, expected)?;
        if current.status == WebhookStatus::Deleted {
            return Err(AppError::Conflict(format!("webhook subscription {id} was deleted")));
        }
        let mut next = current.clone();
        if let Some(url) = &patch.url {
            next.url = url.clone();
        }
        if let Some(d) = &patch.description {
            next.description = d.clone();
        }
        if let Some(t) = &patch.event_types {
            next.event_types = serde_json::to_value(t).map_err(AppError::internal)?;
        }
        if let Some(f) = &patch.filter {
            next.filter = serde_json::to_value(f).map_err(AppError::internal)?;
        }
        if let Some(s) = patch.status {
            next.status = s;
            if s == WebhookStatus::Active {
                next.disabled_reason = None;
            }
        }
        if next == current {
            return Ok(current);
        }
        let resumed = next.status == WebhookStatus::Active && current.status != WebhookStatus::Active;
        let retarget = next.url != current.url;
        if resumed || retarget {
            diesel::update(webhook_cursors::table.find(id))
                .set((
                    webhook_cursors::attempts.eq(0),
                    webhook_cursors::next_attempt_at.eq(diesel::dsl::now),
                    webhook_cursors::failing_since.eq(None::<DateTime<Utc>>),
                ))
                .execute(conn)?;
        }
        let action = if resumed { Action::Reactivate } else { Action::Update };
        save(conn, log, actor.id, &next, action, reason)
    })
}

/// DELETE: deactivated for good; its record and deliveries stay.
pub fn delete(conn: &mut PgConnection, actor: &Actor, id: Uuid, reason: Option<&str>) -> AppResult<Committed<Webhook>> {
    write(conn, |conn, log| {
        let current = locked(conn, id)?;
        if current.status == WebhookStatus::Deleted {
            return Ok(current);
        }
        let next = Webhook {
            status: WebhookStatus::Deleted,
            ..current
        };
        diesel::update(webhook_secrets::table.filter(webhook_secrets::webhook_id.eq(id).and(webhook_secrets::expires_at.is_null())))
            .set(webhook_secrets::expires_at.eq(diesel::dsl::now))
            .execute(conn)?;
        save(conn, log, actor.id, &next, Action::Deactivate, reason)
    })
}

/// A new signing secret; the old one keeps signing beside it (a second
/// `v1,` signature) for `grace`, so receivers can switch without a gap.
pub fn rotate_secret(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    grace: std::time::Duration,
    reason: Option<&str>,
) -> AppResult<Committed<WithSecret>> {
    write(conn, |conn, log| {
        let current = locked(conn, id)?;
        if current.status == WebhookStatus::Deleted {
            return Err(AppError::Conflict(format!("webhook subscription {id} was deleted")));
        }
        let until = Utc::now() + chrono::Duration::from_std(grace).map_err(AppError::internal)?;
        diesel::update(webhook_secrets::table.filter(webhook_secrets::webhook_id.eq(id).and(webhook_secrets::expires_at.is_null())))
            .set(webhook_secrets::expires_at.eq(until))
            .execute(conn)?;
        let key = new_key();
        let version = current.secret_version + 1;
        diesel::insert_into(webhook_secrets::table)
            .values((
                webhook_secrets::webhook_id.eq(id),
                webhook_secrets::version.eq(version),
                webhook_secrets::key.eq(&key),
            ))
            .execute(conn)?;
        let next = Webhook {
            secret_version: version,
            ..current
        };
        let w = save(
            conn,
            log,
            actor.id,
            &next,
            Action::Update,
            reason.or(Some("signing secret rotated")),
        )?;
        Ok(WithSecret {
            webhook: w,
            secret: Some(secret_text(&key)),
        })
    })
}

/// The keys that sign now: the current one first, then rotated-out keys
/// still in their grace period.
pub fn signing_keys(conn: &mut PgConnection, id: Uuid) -> AppResult<Vec<Vec<u8>>> {
    Ok(webhook_secrets::table
        .filter(webhook_secrets::webhook_id.eq(id))
        .filter(
            webhook_secrets::expires_at
                .is_null()
                .or(webhook_secrets::expires_at.gt(diesel::dsl::now)),
        )
        .order(webhook_secrets::version.desc())
        .select(webhook_secrets::key)
        .load(conn)?)
}

/// Sends the feed again from `from` (exclusive): the cursor moves back, and
/// events keep their ids, so a receiver that has them can skip them. Not a
/// change to the subscription (no revision); it is an operation on its
/// delivery state.
pub fn replay(conn: &mut PgConnection, id: Uuid, from: i64) -> AppResult<i64> {
    super::transaction(conn, |conn| {
        let w = get(conn, id)?;
        if w.status == WebhookStatus::Deleted {
            return Err(AppError::Conflict(format!("webhook subscription {id} was deleted")));
        }
        let head = derived_position(conn)?;
        if from > head {
            return Err(AppError::field(
                "from_cursor",
                format!("the feed has not reached {from} yet (it is at {head})"),
            ));
        }
        diesel::update(webhook_cursors::table.find(id))
            .set((
                webhook_cursors::after_seq.eq(from),
                webhook_cursors::attempts.eq(0),
                webhook_cursors::next_attempt_at.eq(diesel::dsl::now),
                webhook_cursors::failing_since.eq(None::<DateTime<Utc>>),
            ))
            .execute(conn)?;
        Ok(from)
    })
}

/// One attempt to deliver, as `GET /v1/webhooks/{id}/deliveries` shows it.
#[derive(Debug, Queryable, Serialize, ToSchema)]
pub struct Delivery {
    pub id: i64,
    /// The feed item's log position (null for a test message).
    pub seq: Option<i64>,
    pub event_type: String,
    /// The `webhook-id` sent.
    pub message_id: String,
    /// 1 for the first attempt at this event.
    pub attempt: i32,
    /// The receiver's status code; null when no answer came.
    pub status_code: Option<i32>,
    /// Why it failed, when it did (timeout, refused address, …).
    pub error: Option<String>,
    pub latency_ms: i32,
    pub delivered: bool,
    pub attempted_at: DateTime<Utc>,
    /// When the next attempt is due (after a failure).
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// Newest first, before `before` (a delivery id).
pub fn deliveries(conn: &mut PgConnection, id: Uuid, before: Option<i64>, limit: i64) -> AppResult<Vec<Delivery>> {
    get(conn, id)?;
    let mut q = webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(id))
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .select((
            webhook_deliveries::id,
            webhook_deliveries::seq,
            webhook_deliveries::event_type,
            webhook_deliveries::message_id,
            webhook_deliveries::attempt,
            webhook_deliveries::status_code,
            webhook_deliveries::error,
            webhook_deliveries::latency_ms,
            webhook_deliveries::delivered,
            webhook_deliveries::attempted_at,
            webhook_deliveries::next_attempt_at,
        ))
        .into_boxed();
    if let Some(before) = before {
        q = q.filter(webhook_deliveries::id.lt(before));
    }
    Ok(q.load(conn)?)
}

/// Where a subscription stands: its cursor, and how many feed items wait.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueDepth {
    pub webhook_id: Uuid,
    pub after_seq: i64,
    pub waiting: i64,
    pub attempts: i32,
    /// Every attempt recorded, and the failed ones.
    pub attempts_total: i64,
    pub failures_total: i64,
}

#[derive(QueryableByName)]
struct DepthRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    webhook_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    after_seq: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    waiting: i64,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    attempts: i32,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    attempts_total: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    failures_total: i64,
}

/// Every active subscription's queue (for the metrics).
pub fn queue_depths(conn: &mut PgConnection) -> AppResult<Vec<QueueDepth>> {
    let rows: Vec<DepthRow> = Sql::fixed(
        "SELECT c.webhook_id, c.after_seq, c.attempts, \
           (SELECT count(*) FROM feed_items f WHERE f.seq > c.after_seq AND NOT f.hidden) AS waiting, \
           (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = c.webhook_id) AS attempts_total, \
           (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = c.webhook_id AND NOT d.delivered) AS failures_total \
         FROM webhook_cursors c JOIN webhooks w ON w.id = c.webhook_id WHERE w.status = $1 ORDER BY c.webhook_id",
        vec![Param::text(WebhookStatus::Active.as_str())],
    )
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| QueueDepth {
            webhook_id: r.webhook_id,
            after_seq: r.after_seq,
            waiting: r.waiting,
            attempts: r.attempts,
            attempts_total: r.attempts_total,
            failures_total: r.failures_total,
        })
        .collect())
}
