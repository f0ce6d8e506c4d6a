//! /v1/log: the head, verification, and the NDJSON export (auditors).

use actix_web::web::Bytes;
use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::problem::Problem;
use super::revisions::AUDITORS;
use super::{AppState, as_actor};
use crate::error::{AppError, AppResult};
use crate::http::Bearer;
use crate::model::RevisionRecord;
use crate::store;
use crate::store::log::{LogHead, VerifyReport};

/// The head as JSON: hashes in lowercase hex.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct LogHeadView {
    pub seq: i64,
    pub chain_hash: String,
    pub recorded_at: String,
}

impl From<&LogHead> for LogHeadView {
    fn from(h: &LogHead) -> Self {
        LogHeadView {
            seq: h.seq,
            chain_hash: hex::encode(&h.chain_hash),
            recorded_at: crate::model::format_timestamp(h.recorded_at),
        }
    }
}

/// The newest revision's seq, chain hash and time.
#[utoipa::path(operation_id = "getLogHead", 
    responses((status = 200, body = LogHeadView), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])),
    tag = "audit"
)]
#[get("/v1/log/head")]
pub async fn head(state: web::Data<AppState>, bearer: Bearer) -> AppResult<HttpResponse> {
    let head = as_actor(&state, bearer, AUDITORS, |conn, _| store::log::head(conn)).await?;
    Ok(HttpResponse::Ok().json(LogHeadView::from(&head)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifyParams {
    /// First seq to check (default 1).
    pub from_seq: Option<i64>,
    /// Last seq to check (default: the head, which is then checked too).
    pub to_seq: Option<i64>,
}

/// Recompute every entry and chain hash (of the whole log or a seq range)
/// and name the first revision that does not hold.
#[utoipa::path(operation_id = "verifyLog", 
    params(VerifyParams),
    responses((status = 200, body = VerifyReport), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])),
    tag = "audit"
)]
#[get("/v1/log/verify")]
pub async fn verify(state: web::Data<AppState>, bearer: Bearer, params: web::Query<VerifyParams>) -> AppResult<HttpResponse> {
    let from = params.from_seq.unwrap_or(1);
    let to = params.to_seq;
    if from < 1 || to.is_some_and(|t| t < from) {
        return Err(AppError::field("from_seq", "from_seq must be ≥ 1 and not after to_seq"));
    }
    let pool = state.pool.clone();
    let report = as_actor(&state, bearer, AUDITORS, move |conn, _| {
        // A second connection prints the log alongside the first when one is
        // free; never waited for (requests each holding one and waiting for
        // another could empty the pool).
        match pool.try_get() {
            Some(mut second) => second.run(|second| store::log::verify(conn, Some(second), from, to, |_, _| {})),
            None => store::log::verify(conn, None, from, to, |_, _| {}),
        }
    })
    .await?;
    Ok(HttpResponse::Ok().json(report))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// Export revisions after this seq (default 0: the whole log).
    pub after_seq: Option<i64>,
}

const EXPORT_BATCH: i64 = 1_000;

/// The log as NDJSON, one revision per line (exactly the hashed entry's
/// fields plus seq, entry_hash and chain_hash), up to the head at the time
/// of the request. Streamed in constant memory.
#[utoipa::path(operation_id = "exportLog", 
    params(ExportParams),
    responses(
        (status = 200, content_type = "application/x-ndjson", body = RevisionRecord, description = "one RevisionRecord per line"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = [])),
    tag = "audit"
)]
#[get("/v1/log/export")]
pub async fn export(state: web::Data<AppState>, bearer: Bearer, params: web::Query<ExportParams>) -> AppResult<HttpResponse> {
    let after = params.after_seq.unwrap_or(0);
    if after < 0 {
        return Err(AppError::field("after_seq", "must be ≥ 0"));
    }
    let upto = as_actor(&state, bearer, AUDITORS, |conn, _| store::log::head(conn)).await?.seq;
    // A small bounded channel: the producer waits for the client, so memory
    // stays at a few batches whatever the size of the log. A thread of its
    // own, so a long export never holds one of the request pool's threads,
    // and a connection per batch, so a slow client holds none.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, AppError>>(2);
    let pool = state.pool.clone();
    std::thread::spawn(move || {
        let read = |after| crate::db::with_pooled(&pool, |conn| store::log::batch(conn, after, upto, EXPORT_BATCH));
        let sink = |lines: Vec<u8>, _| Ok(tx.blocking_send(Ok(Bytes::from(lines))).is_ok());
        if let Err(e) = store::log::export(after, upto, read, sink) {
            let _ = tx.blocking_send(Err(e));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    Ok(HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .insert_header(("x-log-head-seq", upto.to_string()))
        .streaming(stream))
}
