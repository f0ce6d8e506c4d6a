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
}

impl Metrics {
    pub fn new(pool_max: u32) -> Self {
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
        max.set(pool_max as i64);
        Metrics {
            registry,
            requests,
            latency,
            pool,
            pool_max: max,
            head_seq,
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

    fn render(&self) -> AppResult<String> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).map_err(AppError::internal)?;
        Ok(out)
    }
}

/// Prometheus text exposition. The head seq is read at scrape time; when
/// the database is down the last known value stays.
#[utoipa::path(responses((status = 200, content_type = "text/plain", body = String)), tag = "ops")]
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
    if let Ok(head) = with_conn(&state, |conn| crate::ledger::head(conn)).await {
        m.head_seq.set(head.seq);
    }
    Ok(HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(m.render()?))
}
