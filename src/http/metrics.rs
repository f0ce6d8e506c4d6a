//! Prometheus metrics at /metrics: requests and latency by route and status,
//! connection pool usage, and the log head's seq.

use std::sync::atomic::AtomicI64;
use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::cache::CacheCounters;
use super::{AppState, with_conn};
use crate::error::{AppError, AppResult};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteTarget {
    target: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WebhookLabels {
    webhook: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    pool: Family<PoolLabels, Gauge>,
    pool_max: Gauge,
    head_seq: Gauge<i64, AtomicI64>,
    applied_seq: Gauge<i64, AtomicI64>,
    listener_live: Gauge<i64, AtomicI64>,
    notice_lag_ms: Gauge<i64, AtomicI64>,
    cache_entries: Gauge<i64, AtomicI64>,
    cache_bytes: Gauge<i64, AtomicI64>,
    reads: Family<RouteTarget, Counter>,
    replica_lag_ms: Gauge<i64, AtomicI64>,
    replica_replayed_seq: Gauge<i64, AtomicI64>,
    tlog_checkpoint_size: Gauge<i64, AtomicI64>,
    tlog_checkpoints_signed: Gauge<i64, AtomicI64>,
    tlog_signing_refusals: Gauge<i64, AtomicI64>,
    tlog_signing_refused: Gauge<i64, AtomicI64>,
    webhook_queue: Family<WebhookLabels, Gauge<i64, AtomicI64>>,
    webhook_attempts: Family<WebhookLabels, Gauge<i64, AtomicI64>>,
    webhook_failures: Family<WebhookLabels, Gauge<i64, AtomicI64>>,
    stream_clients: Gauge<i64, AtomicI64>,
}

impl Metrics {
    pub fn new(pool_max: u32, cache: &CacheCounters, account_hits: &Counter) -> Self {
        let mut registry = Registry::with_prefix("claimledger");
        let requests = Family::<RequestLabels, Counter>::default();
        // 0.25 ms … ~8 s
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| Histogram::new(exponential_buckets(0.000_25, 2.0, 16)));
        let pool = Family::<PoolLabels, Gauge>::default();
        let max = Gauge::default();
        let head_seq = Gauge::<i64, AtomicI64>::default();
        registry.register("http_requests", "HTTP requests by method, route and status", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by method and route",
            latency.clone(),
        );
        registry.register("db_pool_connections", "Database pool connections by state", pool.clone());
        registry.register("db_pool_max_connections", "Database pool size", max.clone());
        registry.register("log_head_seq", "The seq of the newest revision in the log", head_seq.clone());
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let g = Gauge::<i64, AtomicI64>::default();
            registry.register(name, help, g.clone());
            g
        };
        let applied_seq = gauge(
            &mut registry,
            "log_applied_seq",
            "The newest log position this server's listener has applied",
        );
        let listener_live = gauge(
            &mut registry,
            "log_listener_live",
            "1 while the log listener is connected and caches may be used",
        );
        let notice_lag_ms = gauge(
            &mut registry,
            "log_notice_lag_ms",
            "Milliseconds from the last batch's sequencing to its notice here",
        );
        let cache_entries = gauge(&mut registry, "cache_entries", "Public reads held in memory");
        let cache_bytes = gauge(&mut registry, "cache_bytes", "Bytes of public reads held in memory (approximate)");
        let reads = Family::<RouteTarget, Counter>::default();
        registry.register(
            "reads",
            "Public and audit reads by where they were answered (primary or replica)",
            reads.clone(),
        );
        let replica_lag_ms = gauge(
            &mut registry,
            "replica_lag_ms",
            "How far the read replica is behind this server, ms",
        );
        let replica_replayed_seq = gauge(
            &mut registry,
            "replica_replayed_seq",
            "The log position the read replica has replayed (-1: down)",
        );
        let tlog_checkpoint_size = gauge(
            &mut registry,
            "tlog_checkpoint_size",
            "Tree size of the newest checkpoint this server signed",
        );
        let tlog_checkpoints_signed = gauge(
            &mut registry,
            "tlog_checkpoints_signed",
            "Checkpoints this server has signed since it started",
        );
        let tlog_signing_refusals = gauge(
            &mut registry,
            "tlog_signing_refusals",
            "Times this server refused to sign a checkpoint (the tree did not extend the last one)",
        );
        let tlog_signing_refused = gauge(&mut registry, "tlog_signing_refused", "1 while the log refuses to sign");
        let webhook_queue = Family::<WebhookLabels, Gauge<i64, AtomicI64>>::default();
        registry.register(
            "webhook_queue_depth",
            "Feed items waiting for each active webhook subscription",
            webhook_queue.clone(),
        );
        let webhook_attempts = Family::<WebhookLabels, Gauge<i64, AtomicI64>>::default();
        registry.register(
            "webhook_attempts",
            "Delivery attempts recorded for each active webhook subscription",
            webhook_attempts.clone(),
        );
        let webhook_failures = Family::<WebhookLabels, Gauge<i64, AtomicI64>>::default();
        registry.register(
            "webhook_failures",
            "Failed delivery attempts recorded for each active webhook subscription",
            webhook_failures.clone(),
        );
        let stream_clients = gauge(&mut registry, "stream_clients", "Open Server-Sent Events streams on this server");
        registry.register("cache_hits", "Public reads answered from memory", cache.hits.clone());
        registry.register("cache_misses", "Public reads that went to the database", cache.misses.clone());
        registry.register(
            "account_cache_hits",
            "Authenticated reads whose account came from memory (no database statement)",
            account_hits.clone(),
        );
        registry.register(
            "cache_invalidations",
            "Cached public reads dropped because the log changed them",
            cache.invalidations.clone(),
        );
        registry.register("cache_evictions", "Cached public reads dropped for memory", cache.evictions.clone());
        crate::store::sequencer::register_metrics(&mut registry);
        max.set(pool_max as i64);
        Metrics {
            registry,
            requests,
            latency,
            pool,
            pool_max: max,
            head_seq,
            applied_seq,
            listener_live,
            notice_lag_ms,
            cache_entries,
            cache_bytes,
            reads,
            replica_lag_ms,
            replica_replayed_seq,
            tlog_checkpoint_size,
            tlog_checkpoints_signed,
            tlog_signing_refusals,
            tlog_signing_refused,
            webhook_queue,
            webhook_attempts,
            webhook_failures,
            stream_clients,
        }
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.into(),
                route: route.into(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.into(),
                route: route.into(),
            })
            .observe(elapsed.as_secs_f64());
    }

    pub fn read_routed(&self, target: &'static str) {
        self.reads.get_or_create(&RouteTarget { target }).inc();
    }

    fn render(&self) -> AppResult<String> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).map_err(AppError::internal)?;
        Ok(out)
    }
}

/// Prometheus text exposition. The head seq is read at scrape time; when
/// the database is down the last known value stays.
#[utoipa::path(operation_id = "getMetrics", responses((status = 200, description = "Prometheus metrics in the OpenMetrics text format", content_type = "application/openmetrics-text", body = String)), tag = "ops")]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let pool = state.pool.state();
    let m = &state.metrics;
    m.pool
        .get_or_create(&PoolLabels { state: "idle" })
        .set(pool.idle_connections as i64);
    m.pool
        .get_or_create(&PoolLabels { state: "in_use" })
        .set((pool.connections - pool.idle_connections) as i64);
    m.pool_max.set(state.config.db.pool_size as i64);
    if let Ok(head) = with_conn(&state, crate::store::log::head).await {
        m.head_seq.set(head.seq);
    }
    m.applied_seq.set(state.log.head());
    {
        use std::sync::atomic::Ordering::Relaxed;
        m.tlog_checkpoint_size.set(state.tlog.checkpoint_size.load(Relaxed));
        m.tlog_checkpoints_signed.set(state.tlog.signed.load(Relaxed) as i64);
        m.tlog_signing_refusals.set(state.tlog.refusals.load(Relaxed) as i64);
        m.tlog_signing_refused.set(i64::from(state.tlog.refusal().is_some()));
    }
    m.listener_live.set(i64::from(state.log.is_live()));
    m.notice_lag_ms.set(state.log.lag_ms());
    let (entries, bytes) = state.cache.size();
    m.cache_entries.set(entries as i64);
    m.cache_bytes.set(bytes as i64);
    m.stream_clients.set(state.stream.clients() as i64);
    if let Ok(queues) = with_conn(&state, crate::store::webhooks::queue_depths).await {
        m.webhook_queue.clear();
        m.webhook_attempts.clear();
        m.webhook_failures.clear();
        for q in queues {
            let labels = WebhookLabels {
                webhook: q.webhook_id.to_string(),
            };
            m.webhook_queue.get_or_create(&labels).set(q.waiting);
            m.webhook_attempts.get_or_create(&labels).set(q.attempts_total);
            m.webhook_failures.get_or_create(&labels).set(q.failures_total);
        }
    }
    if let Some(r) = &state.replica {
        m.replica_lag_ms.set(r.lag_ms().min(i64::from(i32::MAX)));
        m.replica_replayed_seq.set(r.replayed());
    }
    Ok(HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(m.render()?))
}
