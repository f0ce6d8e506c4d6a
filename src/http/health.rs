//! Liveness and readiness.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;

use super::{AppState, with_conn};
use crate::error::{AppError, AppResult};

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(operation_id = "getHealth", responses((status = 200, body = Health)), tag = "ops")]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// The database is reachable and fully migrated, and the transparency log
/// signs (503 while it refuses to sign a checkpoint).
#[utoipa::path(operation_id = "getReadiness", responses((status = 200, body = Health), (status = 503, body = crate::http::problem::Problem)), tag = "ops")]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    with_conn(&state, crate::store::log::check_ready).await?;
    if let Some(why) = state.tlog.refusal() {
        return Err(AppError::Unavailable(format!(
            "degraded: the log refuses to sign a checkpoint: {why}"
        )));
    }
    Ok(HttpResponse::Ok().json(Health { status: "ready" }))
}
