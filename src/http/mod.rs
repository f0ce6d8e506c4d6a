//! HTTP handlers: parse, authorize, call one `store::` function inside one
//! `web::block`, render. No diesel here beyond handing a connection on.

pub mod health;
pub mod middleware;

use std::sync::Arc;

use actix_web::web;
use diesel::pg::PgConnection;

use crate::config::Config;
use crate::db::PgPool;
use crate::error::{AppError, AppResult};

/// Shared by every worker.
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<Config>,
}

/// Runs `f` on a blocking thread with one pooled connection, taken inside the
/// closure (never two at once), inside the caller's tracing span.
pub async fn with_conn<T, F>(state: &web::Data<AppState>, f: F) -> AppResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
{
    let pool = state.pool.clone();
    let span = tracing::Span::current();
    web::block(move || {
        let _entered = span.enter();
        let mut conn = pool.get().map_err(AppError::from)?;
        f(&mut conn)
    })
    .await?
}

/// Unknown routes: 404 problem+json.
pub async fn not_found(req: actix_web::HttpRequest) -> AppResult<actix_web::HttpResponse> {
    Err(AppError::NotFound(format!("no route for {} {}", req.method(), req.path())))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(health::healthz).service(health::readyz);
}
