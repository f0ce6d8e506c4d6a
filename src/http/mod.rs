//! HTTP handlers: parse, authorize, call one `store::` function inside one
//! `web::block`, render. No diesel here beyond handing a connection on.

pub mod appearances;
pub mod articles;
pub mod auth;
pub mod claims;
pub mod evidence;
pub mod factchecks;
pub mod health;
pub mod json;
pub mod log;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod revisions;
pub mod verdicts;
pub mod write;

use std::sync::Arc;

use actix_web::web;
use diesel::pg::PgConnection;

use crate::auth::{Bearer, TokenKeys};
use crate::config::Config;
use crate::db::PgPool;
use crate::error::{AppError, AppResult};
use crate::model::{Actor, Role};
use crate::store;

/// Shared by every worker.
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub keys: Arc<TokenKeys>,
    pub metrics: Arc<metrics::Metrics>,
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
        let mut pooled = pool.get().map_err(AppError::from)?;
        let result = f(&mut pooled.conn);
        // A lost connection must not go back into the pool.
        if matches!(result, Err(AppError::Unavailable(_))) {
            pooled.broken = true;
        }
        result
    })
    .await?
}

/// Which roles may call an endpoint: any one of them suffices.
#[derive(Clone, Copy, Debug)]
pub enum Allow {
    /// Any active account.
    Staff,
    AnyOf(&'static [Role]),
}

impl Allow {
    fn check(self, actor: &Actor) -> AppResult<()> {
        match self {
            Allow::Staff => Ok(()),
            Allow::AnyOf(roles) if roles.iter().any(|r| actor.has(*r)) => Ok(()),
            Allow::AnyOf(roles) => {
                let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
                Err(AppError::Forbidden(format!("this action needs the {} role", names.join(" or "))))
            }
        }
    }
}

/// Like [`with_conn`] for an authenticated request: on the same connection,
/// first loads the token's account — it must still exist and be active, and
/// its current roles decide — then runs `f` as that actor.
pub async fn as_actor<T, F>(state: &web::Data<AppState>, bearer: Bearer, allow: Allow, f: F) -> AppResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut PgConnection, &Actor) -> AppResult<T> + Send + 'static,
{
    let editor_id = bearer.0.sub;
    with_conn(state, move |conn| {
        let actor = store::editors::active_actor(conn, editor_id)?
            .ok_or_else(|| AppError::Unauthorized("the token's account does not exist or is deactivated".into()))?;
        allow.check(&actor)?;
        f(conn, &actor)
    })
    .await
}

/// Every endpoint, registered with `.service()` so that the OpenAPI document lists it.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.app_data(web::PathConfig::default().error_handler(|e, _| AppError::BadRequest(format!("invalid path parameter: {e}")).into()))
        .app_data(web::QueryConfig::default().error_handler(|e, _| AppError::field("query", clean_query_error(&e.to_string())).into()))
        .app_data(web::PayloadConfig::new(json::MAX_BODY_BYTES))
        .service(health::healthz)
        .service(metrics::metrics)
        .service(health::readyz)
        .service(auth::issue_token)
        .service(auth::me)
        .service(articles::create)
        .service(articles::list)
        .service(articles::read)
        .service(claims::create)
        .service(claims::list)
        .service(claims::read)
        .service(claims::update)
        .service(claims::history)
        .service(appearances::create)
        .service(evidence::create)
        .service(evidence::read)
        .service(evidence::update)
        .service(verdicts::create)
        .service(verdicts::read)
        .service(verdicts::update)
        .service(verdicts::submit)
        .service(verdicts::publish)
        .service(verdicts::reject)
        .service(verdicts::withdraw)
        .service(revisions::list)
        .service(revisions::read)
        .service(log::head)
        .service(log::verify)
        .service(log::export)
        // The feed before {claim_id}, whose UUID extractor would refuse "feed".
        .service(factchecks::list)
        .service(factchecks::feed)
        .service(factchecks::read)
        .service(factchecks::claim_review);
}

fn clean_query_error(message: &str) -> String {
    message.trim_start_matches("Query deserialize error: ").to_string()
}
