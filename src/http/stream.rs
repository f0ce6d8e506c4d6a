//! GET /v1/factchecks/stream: the change feed as Server-Sent Events.
//!
//! One hub per server follows the feed: the log listener (`LogWatch`) wakes
//! it when the log moves, it reads the new feed items once and broadcasts
//! each as a ready-made SSE frame to every stream. A stream first catches
//! up from the database (after `Last-Event-ID` or `?after=`), having
//! subscribed to the hub before it started reading, then forwards the
//! hub's frames it has not sent yet — so nothing is skipped or repeated
//! between the two. No stream polls the database; a stream that falls
//! behind the hub's buffer catches up from the database again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Deserialize;
use tokio::sync::{Notify, broadcast, mpsc};
use utoipa::IntoParams;

use super::factchecks::public_cors;
use super::problem::Problem;
use super::{AppState, with_conn};
use crate::db::PgPool;
use crate::db::notify::{LogEvent, LogWatch};
use crate::error::{AppError, AppResult};
use crate::model::factcheck::FeedItem;
use crate::model::paging::FeedCursor;
use crate::model::webhook::EventType;
use crate::store;
use crate::store::factchecks::FeedEntry;

/// Frames the hub keeps for streams that are a little behind.
const BUFFER: usize = 4_096;

/// Items read per page while catching up.
const PAGE: i64 = 100;

/// One feed item as an SSE frame.
#[derive(Debug)]
pub struct Frame {
    seq: i64,
    bytes: Bytes,
}

fn frame(e: FeedEntry) -> AppResult<Frame> {
    let item = FeedItem {
        cursor: FeedCursor(e.seq).token(),
        change: e.change,
        claim_id: e.claim_id,
        factcheck: e
            .factcheck
            .map(serde_json::value::RawValue::from_string)
            .transpose()
            .map_err(AppError::internal)?,
        merged_into: e.merged_into,
    };
    let data = serde_json::to_string(&item).map_err(AppError::internal)?;
    Ok(Frame {
        seq: e.seq,
        bytes: Bytes::from(format!(
            "id: {}\nevent: {}\ndata: {data}\n\n",
            item.cursor,
            EventType::of(item.change).as_str()
        )),
    })
}

/// The server's one follower of the feed, and the count of open streams.
pub struct StreamHub {
    frames: broadcast::Sender<Arc<Frame>>,
    clients: AtomicUsize,
}

impl StreamHub {
    /// Streams open now.
    pub fn clients(&self) -> usize {
        self.clients.load(Ordering::Acquire)
    }

    /// Starts the hub's thread (it follows the feed until `stop`).
    pub fn start(pool: PgPool, log: &Arc<LogWatch>, stop: Arc<AtomicBool>) -> (Arc<StreamHub>, std::thread::JoinHandle<()>) {
        let hub = Arc::new(StreamHub {
            frames: broadcast::Sender::new(BUFFER),
            clients: AtomicUsize::new(0),
        });
        let wake = Arc::new(Notify::new());
        let w = wake.clone();
        // New feed items come only with a change to public fact checks
        // (most batches, draft edits, change none: no read for them).
        log.on_event(move |e| {
            if matches!(e, LogEvent::Changed(_) | LogEvent::ChangedAll) {
                w.notify_one();
            }
        });
        let h = hub.clone();
        let thread = std::thread::Builder::new()
            .name("stream-hub".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a tokio runtime");
                runtime.block_on(h.follow(pool, wake, stop));
            })
            .expect("spawn the stream hub");
        (hub, thread)
    }

    async fn follow(&self, pool: PgPool, wake: Arc<Notify>, stop: Arc<AtomicBool>) {
        let mut at: Option<i64> = None;
        while !stop.load(Ordering::Acquire) {
            if let Err(e) = self.read_new(&pool, &mut at) {
                tracing::warn!(error = %e, "the stream hub could not read the feed; retrying");
            }
            // A notice wakes it; the timeout only lets it see `stop`.
            let _ = tokio::time::timeout(Duration::from_millis(500), wake.notified()).await;
        }
    }

    /// Broadcasts the items after `at` (on the first call: starts at the
    /// feed's current end).
    fn read_new(&self, pool: &PgPool, at: &mut Option<i64>) -> AppResult<()> {
        crate::db::with_pooled(pool, |conn| {
            let Some(mut after) = *at else {
                *at = Some(store::factchecks::derive::derived_seq(conn)?);
                return Ok(());
            };
            loop {
                let page = store::factchecks::feed(conn, after, PAGE)?;
                for e in page.entries {
                    // No receiver is not an error: nobody is streaming.
                    let _ = self.frames.send(Arc::new(frame(e)?));
                }
                after = page.read_to;
                *at = Some(after);
                if page.caught_up {
                    return Ok(());
                }
            }
        })
    }
}

/// Counts a stream while it is open.
struct Open(Arc<StreamHub>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.clients.fetch_sub(1, Ordering::AcqRel);
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamParams {
    /// Start after this feed cursor (as `Last-Event-ID` does); without
    /// either, the stream starts with the next change.
    pub after: Option<String>,
}

/// The change feed, live, as Server-Sent Events: one event per feed item,
/// `id:` its cursor, `event:` its type (`factcheck.published`,
/// `factcheck.corrected`, `factcheck.updated`, `factcheck.withdrawn`),
/// `data:` the feed item. Reconnect with `Last-Event-ID` (browsers do) to
/// resume with no gap and no repeat. A `: ping` comment comes after
/// CLAIMLEDGER_STREAM_HEARTBEAT_MS of silence. Public, CORS. A server
/// keeps at most CLAIMLEDGER_STREAM_MAX_CLIENTS streams open; beyond, 503
/// with Retry-After.
#[utoipa::path(
    operation_id = "streamFactChecks",
    params(StreamParams, ("Last-Event-ID" = Option<String>, Header, description = "the last `id:` received")),
    responses(
        (status = 200, content_type = "text/event-stream", description = "events until the client disconnects"),
        (status = 422, body = Problem, description = "a cursor this server did not issue"),
        (status = 503, body = Problem, headers(("Retry-After" = String)), description = "too many open streams"),
    ),
    tag = "factchecks"
)]
#[get("/v1/factchecks/stream", wrap = "public_cors()")]
pub async fn stream(state: web::Data<AppState>, req: HttpRequest, params: web::Query<StreamParams>) -> AppResult<HttpResponse> {
    let last_event_id = req
        .headers()
        .get("last-event-id")
        .map(|v| v.to_str().map(str::trim).unwrap_or("").to_string())
        .filter(|v| !v.is_empty());
    let given = last_event_id.or_else(|| params.into_inner().after);
    let after = given
        .as_deref()
        .map(|t| FeedCursor::parse(t).map_err(|e| AppError::field("Last-Event-ID", e.message)))
        .transpose()?;
    let hub = state.stream.clone();
    let max = state.config.stream.max_clients;
    if hub.clients.fetch_add(1, Ordering::AcqRel) >= max {
        hub.clients.fetch_sub(1, Ordering::AcqRel);
        return Err(AppError::Unavailable(format!(
            "this server streams to {max} clients at most; retry shortly, or read the feed (GET /v1/factchecks/feed)"
        )));
    }
    let open = Open(hub.clone());
    // Subscribe before reading: every frame from here on is seen.
    let live = hub.frames.subscribe();
    let after = match after {
        Some(c) => c.0,
        None => with_conn(&state, store::factchecks::derive::derived_seq).await?,
    };
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let heartbeat = state.config.stream.heartbeat;
    let pool = state.pool.clone();
    actix_web::rt::spawn(async move {
        let _open = open;
        if let Err(e) = forward(pool, live, after, tx, heartbeat).await {
            tracing::debug!(error = %e, "a stream ended");
        }
    });
    let body = futures_util::stream::unfold(
        rx,
        |mut rx| async move { rx.recv().await.map(|b| (Ok::<_, actix_web::Error>(b), rx)) },
    );
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
}

/// Catches up from the database after `sent`, a page at a time.
async fn catch_up(pool: &PgPool, sent: &mut i64, tx: &mpsc::Sender<Bytes>) -> AppResult<()> {
    loop {
        let (pool, after) = (pool.clone(), *sent);
        let page = web::block(move || crate::db::with_pooled(&pool, |conn| store::factchecks::feed(conn, after, PAGE))).await??;
        for e in page.entries {
            let f = frame(e)?;
            tx.send(f.bytes).await.map_err(|_| AppError::internal("the client left"))?;
        }
        *sent = page.read_to.max(*sent);
        if page.caught_up {
            return Ok(());
        }
    }
}

async fn forward(
    pool: PgPool,
    mut live: broadcast::Receiver<Arc<Frame>>,
    after: i64,
    tx: mpsc::Sender<Bytes>,
    heartbeat: Duration,
) -> AppResult<()> {
    let gone = || AppError::internal("the client left");
    tx.send(Bytes::from_static(b": connected\nretry: 2000\n\n"))
        .await
        .map_err(|_| gone())?;
    let mut sent = after;
    catch_up(&pool, &mut sent, &tx).await?;
    loop {
        tokio::select! {
            got = live.recv() => match got {
                Ok(f) if f.seq > sent => {
                    tx.send(f.bytes.clone()).await.map_err(|_| gone())?;
                    sent = f.seq;
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => catch_up(&pool, &mut sent, &tx).await?,
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
            _ = tokio::time::sleep(heartbeat) => {
                tx.send(Bytes::from_static(b": ping\n\n")).await.map_err(|_| gone())?;
            }
            _ = tx.closed() => return Ok(()),
        }
    }
}
