//! The delivery worker: one at a time across servers (a session advisory
//! lock on a connection of its own, like the sequencer; when its server
//! dies the lock goes with the session and another server's worker takes
//! over), so no event is sent by two servers at once. Each round takes the
//! subscriptions that are due (at most `concurrency`), sends each one's
//! next events — in log order, one after another, concurrently across
//! subscriptions (each bounded by the client's timeout) — and records
//! every outcome. It wakes when the public set changes (the server's
//! listener) and at least every `tick` for retries that come due.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use diesel::RunQueryDsl;
use diesel::pg::PgConnection;
use tokio::sync::Notify;

use super::outbox::{self, Due, RetryPolicy};
use super::send::{SendSettings, Sender};
use crate::db::notify::{LogEvent, LogWatch};
use crate::db::sql::{Param, Sql};
use crate::error::AppResult;
use crate::model::paging::FeedCursor;
use crate::model::webhook::{WebhookEvent, WebhookEventData, message_id};

/// The advisory lock that makes a session the delivery worker.
const WORKER_LOCK: i64 = 727_274_009;

/// Events sent to one subscription per round, one after another: a
/// subscriber that is keeping up gets a burst at once, not one per round.
const PER_ROUND: usize = 100;

/// Longest sleep between rounds (retries come due without a log event).
const TICK: Duration = Duration::from_millis(250);

#[derive(Clone, Debug)]
pub struct WorkerSettings {
    pub send: SendSettings,
    pub retry: RetryPolicy,
    /// Subscriptions served per round, concurrently.
    pub concurrency: usize,
}

#[derive(diesel::QueryableByName)]
struct Locked {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}

fn try_lead(conn: &mut PgConnection) -> AppResult<bool> {
    Ok(
        Sql::fixed("SELECT pg_try_advisory_lock($1) AS locked", vec![Param::BigInt(WORKER_LOCK)])
            .get_result::<Locked>(conn)?
            .locked,
    )
}

/// An event's body, as sent.
pub fn body(e: &outbox::Outgoing) -> AppResult<Vec<u8>> {
    let raw = e
        .factcheck
        .as_ref()
        .map(|t| serde_json::value::RawValue::from_string(t.to_string()))
        .transpose()
        .map_err(crate::error::AppError::internal)?;
    let event = WebhookEvent {
        kind: e.kind.as_str(),
        timestamp: Utc::now(),
        data: WebhookEventData {
            cursor: FeedCursor(e.seq).token(),
            claim_id: Some(e.claim_id),
            seq: Some(e.seq),
            factcheck: raw.as_deref(),
            merged_into: e.merged_into,
        },
    };
    serde_json::to_vec(&event).map_err(crate::error::AppError::internal)
}

/// Starts the worker thread: it stands by until it holds the lock, then
/// delivers until `stop` is set.
pub fn spawn(database_url: String, settings: WorkerSettings, watch: Arc<LogWatch>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    let wake = Arc::new(Notify::new());
    let w = wake.clone();
    // Feed items come only with a change to the public set (a batch of
    // draft edits has none): the worker looks when one is announced, which
    // is after its batch committed.
    watch.on_event(move |e| match e {
        LogEvent::Changed(claims) if claims.is_empty() => {}
        LogEvent::Changed(_) | LogEvent::ChangedAll => w.notify_one(),
        LogEvent::AccountsChanged | LogEvent::Head(_) => {}
    });
    std::thread::Builder::new()
        .name("webhooks".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime");
            runtime.block_on(run(&database_url, &settings, &wake, &stop));
        })
        .expect("spawn the webhook worker")
}

async fn run(url: &str, settings: &WorkerSettings, wake: &Notify, stop: &AtomicBool) {
    let sender = match Sender::new(settings.send.clone()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook client; no deliveries from this server");
            return;
        }
    };
    let mut announced = false;
    while !stop.load(Ordering::Acquire) {
        let mut conn = match crate::db::connect(url) {
            Ok(c) => c,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        match try_lead(&mut conn) {
            Ok(true) => {
                tracing::info!("this server delivers webhooks");
                announced = false;
                if let Err(e) = lead(&mut conn, settings, &sender, wake, stop).await {
                    tracing::warn!(error = %e, "the webhook worker stopped; reconnecting");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            Ok(false) => {
                if !announced {
                    tracing::info!("another server delivers webhooks; standing by");
                    announced = true;
                }
                drop(conn);
                sleep_or_stop(stop, Duration::from_secs(1)).await;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

async fn sleep_or_stop(stop: &AtomicBool, total: Duration) {
    let until = tokio::time::Instant::now() + total;
    while tokio::time::Instant::now() < until && !stop.load(Ordering::Acquire) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn lead(conn: &mut PgConnection, settings: &WorkerSettings, sender: &Sender, wake: &Notify, stop: &AtomicBool) -> AppResult<()> {
    while !stop.load(Ordering::Acquire) {
        if round(conn, settings, sender).await? == 0 {
            let _ = tokio::time::timeout(TICK, wake.notified()).await;
        }
    }
    Ok(())
}

/// One subscription's share of a round: what is due, its events with their
/// bodies, and its signing keys.
type Job = (Due, Vec<(outbox::Outgoing, Vec<u8>)>, Vec<Vec<u8>>);

/// One round; how many events were attempted. Each due subscription gets
/// its next events (up to `PER_ROUND`) sent one after another, in log
/// order, stopping at its first failure; subscriptions are served
/// concurrently; each one's outcomes are recorded in one transaction.
async fn round(conn: &mut PgConnection, settings: &WorkerSettings, sender: &Sender) -> AppResult<usize> {
    let due = outbox::due(conn, settings.concurrency as i64)?;
    let mut jobs: Vec<Job> = vec![];
    for d in due {
        let events = outbox::next_events(conn, &d, PER_ROUND)?;
        if events.is_empty() {
            continue;
        }
        let keys = super::signing_keys(conn, d.webhook.id)?;
        let events = events
            .into_iter()
            .map(|e| body(&e).map(|b| (e, b)))
            .collect::<AppResult<Vec<_>>>()?;
        jobs.push((d, events, keys));
    }
    let sends = jobs.iter().map(|(d, events, keys)| async move {
        let mut sent = Vec::with_capacity(events.len());
        for (e, body) in events {
            let id = message_id(d.webhook.id, e.seq);
            let attempt = sender.send(&d.webhook.url, keys, &id, e.kind.as_str(), body.clone()).await;
            let delivered = attempt.delivered();
            sent.push((e.seq, attempt));
            if !delivered {
                break;
            }
        }
        sent
    });
    let outcomes = futures_util::future::join_all(sends).await;
    let mut attempted = 0;
    for ((d, _, _), sent) in jobs.iter().zip(&outcomes) {
        attempted += sent.len();
        let jitter = rand::random::<f64>();
        if outbox::record(conn, d, sent, &settings.retry, jitter)? {
            tracing::warn!(webhook = %d.webhook.id, "webhook subscription disabled");
        }
    }
    Ok(attempted)
}
