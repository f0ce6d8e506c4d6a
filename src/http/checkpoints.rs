//! The transparency log's checkpoints (DESIGN §8): the newest signed
//! checkpoint (with the cosignatures collected), the verifier key, and every
//! stored checkpoint, keyset paged. Public, no account, CORS.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::factchecks::public_cors;
use super::problem::Problem;
use super::{AppState, with_conn};
use crate::error::{AppError, AppResult};
use crate::store;

pub const TEXT: &str = "text/plain; charset=utf-8";

/// The checkpoint changes every few hundred milliseconds under writes.
const CHECKPOINT_CACHE: &str = "public, max-age=1";

/// The newest signed checkpoint (C2SP tlog-checkpoint, a signed note), with
/// the witnesses' cosignatures collected for it; with a witness quorum set,
/// the newest the quorum has cosigned.
#[utoipa::path(
    operation_id = "listCheckpoints",
    operation_id = "getLogKey",
    operation_id = "getCheckpoint",
    responses(
        (status = 200, content_type = "text/plain", body = String, headers(("Cache-Control" = String))),
        (status = 404, body = Problem, description = "no checkpoint has been signed yet"),
    ),
    tag = "transparency"
)]
#[get("/v1/log/checkpoint", wrap = "public_cors()")]
pub async fn checkpoint(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let quorum = state.config.log.witness_quorum;
    let note = with_conn(&state, move |conn| store::checkpoints::latest(conn, quorum))
        .await?
        .ok_or_else(|| AppError::NotFound("no checkpoint has been signed yet".into()))?;
    Ok(HttpResponse::Ok()
        .content_type(TEXT)
        .insert_header((header::CACHE_CONTROL, CHECKPOINT_CACHE))
        .body(note))
}

/// The log's verifier key in the signed-note `vkey` format
/// (`name+hash8+base64(0x01 ‖ Ed25519 public key)`).
#[utoipa::path(responses((status = 200, content_type = "text/plain", body = String)), tag = "transparency")]
#[get("/v1/log/key", wrap = "public_cors()")]
pub async fn key(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(TEXT)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(format!("{}\n", state.log_key.vkey()))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CheckpointsParams {
    /// Checkpoints of a larger tree size than this (default 0: from the first).
    pub after: Option<i64>,
    /// At most this many (1..=1000, default 100).
    pub limit: Option<i64>,
}

/// A stored checkpoint.
#[derive(Serialize, ToSchema)]
pub struct CheckpointView {
    pub tree_size: i64,
    /// Base64, as in the note.
    pub root_hash: String,
    /// The signed note as the log signed it.
    pub note: String,
    pub signed_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct CheckpointPage {
    pub items: Vec<CheckpointView>,
    /// `after` for the next page, when there may be more.
    pub next_after: Option<i64>,
}

/// Every signed checkpoint, oldest first, keyset paged by tree size.
#[utoipa::path(
    params(CheckpointsParams),
    responses((status = 200, body = CheckpointPage), (status = 422, body = Problem)),
    tag = "transparency"
)]
#[get("/v1/log/checkpoints", wrap = "public_cors()")]
pub async fn list(state: web::Data<AppState>, params: web::Query<CheckpointsParams>) -> AppResult<HttpResponse> {
    let after = params.after.unwrap_or(0);
    let limit = params.limit.unwrap_or(100);
    if after < 0 {
        return Err(AppError::field("after", "after must be ≥ 0"));
    }
    if !(1..=1000).contains(&limit) {
        return Err(AppError::field("limit", "limit must be between 1 and 1000"));
    }
    let rows = with_conn(&state, move |conn| store::checkpoints::list(conn, after, limit)).await?;
    let next_after = (rows.len() as i64 == limit).then(|| rows.last().map(|r| r.tree_size)).flatten();
    let items = rows
        .into_iter()
        .map(|r| CheckpointView {
            tree_size: r.tree_size,
            root_hash: crate::tlog::Hash::from_slice(&r.root_hash)
                .map(|h| h.to_base64())
                .unwrap_or_default(),
            note: r.note,
            signed_at: crate::model::format_timestamp(r.signed_at),
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, CHECKPOINT_CACHE))
        .json(CheckpointPage { items, next_after }))
}
