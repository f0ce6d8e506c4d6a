//! The outbox: `feed_items`, which the sequencer writes in the same
//! transaction that sequences a change (so an event exists exactly when
//! its change is committed), read through each subscription's durable
//! cursor. A subscription's next event is the first item after its cursor
//! that it wants; the cursor moves past it only once it was delivered, so
//! a later event waits for an earlier one and nothing is lost to a restart.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use uuid::Uuid;

use super::super::{transaction, write};
use crate::db::schema::{feed_items, log_derived, webhook_cursors, webhook_deliveries, webhooks};
use crate::error::{AppError, AppResult};
use crate::model::factcheck::FeedChange;
use crate::model::webhook::{EventType, Webhook, WebhookStatus};
use crate::model::{Action, SYSTEM_ACTOR};

/// Items examined per look for a subscription's next event.
const LOOK_AHEAD: i64 = 200;

/// A subscription whose next attempt is due.
#[derive(Debug)]
pub struct Due {
    pub webhook: Webhook,
    pub after_seq: i64,
    pub attempts: i32,
    pub failing_since: Option<DateTime<Utc>>,
}

/// Active subscriptions due for an attempt that have items after their
/// cursor (up to what is derived), oldest due first, at most `limit`.
pub fn due(conn: &mut PgConnection, limit: i64) -> AppResult<Vec<Due>> {
    // What is derived, read in the same statement (the worker looks after
    // every batch: one statement a look).
    let derived = || log_derived::table.select(log_derived::public_seq).single_value().assume_not_null();
    let rows: Vec<(Webhook, i64, i32, Option<DateTime<Utc>>)> = webhooks::table
        .inner_join(webhook_cursors::table)
        .filter(webhooks::status.eq(WebhookStatus::Active))
        .filter(webhook_cursors::next_attempt_at.le(diesel::dsl::now))
        .filter(webhook_cursors::after_seq.lt(derived()))
        .filter(diesel::dsl::exists(
            feed_items::table.filter(
                feed_items::seq
                    .gt(webhook_cursors::after_seq)
                    .and(feed_items::seq.le(derived()))
                    .and(feed_items::hidden.eq(false)),
            ),
        ))
        .order(webhook_cursors::next_attempt_at.asc())
        .limit(limit)
        .select((
            Webhook::as_select(),
            webhook_cursors::after_seq,
            webhook_cursors::attempts,
            webhook_cursors::failing_since,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(webhook, after_seq, attempts, failing_since)| Due {
            webhook,
            after_seq,
            attempts,
            failing_since,
        })
        .collect())
}

/// One event for one subscriber.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub seq: i64,
    pub kind: EventType,
    pub claim_id: Uuid,
    /// The feed item's fact check JSON, as stored (None on withdrawal).
    pub factcheck: Option<String>,
    pub merged_into: Option<Uuid>,
}

/// The fact check a withdrawal took away: the claim's last public state
/// before `seq` (filters are matched against it).
fn before_withdrawal(conn: &mut PgConnection, claim_id: Uuid, seq: i64) -> AppResult<Option<serde_json::Value>> {
    let text: Option<Option<String>> = feed_items::table
        .filter(
            feed_items::claim_id
                .eq(claim_id)
                .and(feed_items::seq.lt(seq))
                .and(feed_items::factcheck.is_not_null()),
        )
        .order(feed_items::seq.desc())
        .select(feed_items::factcheck)
        .first(conn)
        .optional()?;
    Ok(text.flatten().and_then(|t| serde_json::from_str(&t).ok()))
}

/// A feed item as the outbox reads it: seq, claim, change, fact check, merged into.
type FeedItemRow = (i64, Uuid, FeedChange, Option<String>, Option<Uuid>);

/// The subscription's next events after its cursor, in log order: at most
/// `max`, those its filter wants. When the look-ahead holds none it wants,
/// the cursor passes over what was looked at (and nothing is returned).
pub fn next_events(conn: &mut PgConnection, due: &Due, max: usize) -> AppResult<Vec<Outgoing>> {
    let derived = super::derived_position(conn)?;
    let items: Vec<FeedItemRow> = feed_items::table
        .filter(
            feed_items::seq
                .gt(due.after_seq)
                .and(feed_items::seq.le(derived))
                .and(feed_items::hidden.eq(false)),
        )
        .order(feed_items::seq.asc())
        .limit(LOOK_AHEAD)
        .select((
            feed_items::seq,
            feed_items::claim_id,
            feed_items::change,
            feed_items::factcheck,
            feed_items::merged_into,
        ))
        .load(conn)?;
    let mut wanted = vec![];
    let mut passed = None;
    for (seq, claim_id, change, factcheck, merged_into) in items {
        let kind = EventType::of(change);
        let shown = match &factcheck {
            Some(text) => serde_json::from_str(text).ok(),
            None => before_withdrawal(conn, claim_id, seq)?,
        };
        if due.webhook.wants(kind, shown.as_ref()) {
            wanted.push(Outgoing {
                seq,
                kind,
                claim_id,
                factcheck,
                merged_into,
            });
            if wanted.len() >= max {
                break;
            }
        }
        passed = Some(seq);
    }
    if wanted.is_empty()
        && let Some(to) = passed
    {
        pass_over(conn, due.webhook.id, due.after_seq, to)?;
    }
    Ok(wanted)
}

fn pass_over(conn: &mut PgConnection, id: Uuid, from: i64, to: i64) -> AppResult<()> {
    diesel::update(webhook_cursors::table.filter(webhook_cursors::webhook_id.eq(id).and(webhook_cursors::after_seq.eq(from))))
        .set(webhook_cursors::after_seq.eq(to))
        .execute(conn)?;
    Ok(())
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub message_id: String,
    pub event_type: String,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub latency_ms: i32,
    /// The receiver asked to wait this long (Retry-After).
    pub retry_after: Option<std::time::Duration>,
}

impl Attempt {
    pub fn delivered(&self) -> bool {
        self.status_code.is_some_and(|s| (200..300).contains(&s))
    }

    pub fn gone(&self) -> bool {
        self.status_code == Some(410)
    }
}

/// How failures are retried.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub schedule: Vec<std::time::Duration>,
    /// A subscription failing this long is disabled.
    pub disable_after: std::time::Duration,
}

/// Records a round's attempts for one subscription, in one transaction:
/// `sent` holds its events' attempts in log order, every one delivered but
/// perhaps the last (sending stops at the first failure). The cursor moves
/// past the last delivered event; a failure schedules the retry, or
/// disables the subscription (a 410, or failing for `disable_after`).
/// Returns whether it was disabled.
pub fn record(conn: &mut PgConnection, due: &Due, sent: &[(i64, Attempt)], policy: &RetryPolicy, jitter: f64) -> AppResult<bool> {
    let Some((_, last)) = sent.last() else {
        return Ok(false);
    };
    let id = due.webhook.id;
    let now = Utc::now();
    let delivered_to = sent.iter().take_while(|(_, a)| a.delivered()).last().map(|(seq, _)| *seq);
    // Attempt numbers: the first event had `due.attempts` before; each later
    // one is a first attempt.
    let failed = (!last.delivered()).then_some(sent.len() - 1);
    let attempts_now = if sent.len() == 1 { due.attempts + 1 } else { 1 };
    let failing_since = if delivered_to.is_some() {
        now
    } else {
        due.failing_since.unwrap_or(now)
    };
    let give_up = failed.is_some() && (last.gone() || (now - failing_since).to_std().unwrap_or_default() >= policy.disable_after);
    let next_at = (failed.is_some() && !give_up).then(|| {
        let wait = crate::model::webhook::backoff(&policy.schedule, attempts_now as u32, jitter)
            .max(last.retry_after.unwrap_or_default())
            .min(std::time::Duration::from_secs(86_400));
        now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1))
    });
    let committed = write(conn, |conn, log| {
        for (i, (seq, attempt)) in sent.iter().enumerate() {
            let number = if i == 0 { due.attempts + 1 } else { 1 };
            let retry_at = if failed == Some(i) { next_at } else { None };
            insert_delivery(conn, id, Some(*seq), attempt, number, retry_at)?;
        }
        let cursor = webhook_cursors::table.filter(webhook_cursors::webhook_id.eq(id).and(webhook_cursors::after_seq.eq(due.after_seq)));
        if failed.is_none() {
            diesel::update(cursor)
                .set((
                    webhook_cursors::after_seq.eq(delivered_to.unwrap_or(due.after_seq)),
                    webhook_cursors::attempts.eq(0),
                    webhook_cursors::failing_since.eq(None::<DateTime<Utc>>),
                    webhook_cursors::next_attempt_at.eq(now),
                ))
                .execute(conn)?;
            return Ok(false);
        }
        diesel::update(cursor)
            .set((
                webhook_cursors::after_seq.eq(delivered_to.unwrap_or(due.after_seq)),
                webhook_cursors::attempts.eq(attempts_now),
                webhook_cursors::failing_since.eq(Some(failing_since)),
                webhook_cursors::next_attempt_at.eq(next_at.unwrap_or(now)),
            ))
            .execute(conn)?;
        if give_up {
            let current: Webhook = webhooks::table.find(id).for_update().select(Webhook::as_select()).first(conn)?;
            if current.status != WebhookStatus::Active {
                return Ok(false);
            }
            let why = if last.gone() {
                "the receiver answered 410 Gone".to_string()
            } else {
                format!("deliveries failed for {} s", policy.disable_after.as_secs())
            };
            let w: Webhook = diesel::update(webhooks::table.find(id))
                .set((
                    webhooks::status.eq(WebhookStatus::Disabled),
                    webhooks::disabled_reason.eq(&why),
                    webhooks::version.eq(current.version + 1),
                    webhooks::updated_at.eq(diesel::dsl::now),
                ))
                .returning(Webhook::as_returning())
                .get_result(conn)?;
            log.record(&w, Action::Deactivate, SYSTEM_ACTOR, Some(&why));
            return Ok(true);
        }
        Ok(false)
    })?;
    Ok(committed.value)
}

fn insert_delivery(
    conn: &mut PgConnection,
    id: Uuid,
    seq: Option<i64>,
    attempt: &Attempt,
    number: i32,
    next_at: Option<DateTime<Utc>>,
) -> AppResult<()> {
    diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::webhook_id.eq(id),
            webhook_deliveries::seq.eq(seq),
            webhook_deliveries::event_type.eq(&attempt.event_type),
            webhook_deliveries::message_id.eq(&attempt.message_id),
            webhook_deliveries::attempt.eq(number),
            webhook_deliveries::status_code.eq(attempt.status_code.map(i32::from)),
            webhook_deliveries::error.eq(&attempt.error),
            webhook_deliveries::latency_ms.eq(attempt.latency_ms),
            webhook_deliveries::delivered.eq(attempt.delivered()),
            webhook_deliveries::next_attempt_at.eq(next_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a test message's one attempt.
pub fn record_test(conn: &mut PgConnection, id: Uuid, attempt: &Attempt) -> AppResult<()> {
    transaction(conn, |conn| insert_delivery(conn, id, None, attempt, 1, None))
}

/// The subscription and its signing keys, for a test message.
pub fn for_test(conn: &mut PgConnection, id: Uuid) -> AppResult<(Webhook, Vec<Vec<u8>>)> {
    let w = super::get(conn, id)?;
    if w.status == WebhookStatus::Deleted {
        return Err(AppError::Conflict(format!("webhook subscription {id} was deleted")));
    }
    let keys = super::signing_keys(conn, id)?;
    Ok((w, keys))
}
