//! HTTP handlers: parse, authorize, call one `store::` function inside one
//! `web::block`, render. No diesel here beyond handing a connection on.

pub mod appearances;
pub mod articles;
pub mod auth;
pub mod bearer;
pub mod cache;
pub mod checkpoints;
pub mod claimants;
pub mod claims;
pub mod consistency;
pub mod evidence;
pub mod factchecks;
pub mod health;
pub mod json;
pub mod log;
pub mod matching;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod pages;
pub mod paging;
pub mod problem;
pub mod proofs;
pub mod revisions;
pub mod stream;
pub mod tiles;
pub mod verdicts;
pub mod webhooks;
pub mod write;

use std::sync::Arc;

use actix_web::{HttpMessage, HttpRequest, web};
use diesel::pg::PgConnection;

use crate::auth::TokenKeys;
use crate::config::Config;
use crate::db::PgPool;
use crate::error::{AppError, AppResult};
use crate::model::{Actor, Role};
use crate::store;

pub use bearer::Bearer;

/// Shared by every worker.
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub keys: Arc<TokenKeys>,
    pub metrics: Arc<metrics::Metrics>,
    /// The log's progress as this server's listener hears it.
    pub log: Arc<crate::db::notify::LogWatch>,
    /// Public reads kept in memory, invalidated by the log.
    pub cache: Arc<cache::PublicCache>,
    /// Accounts found active, for reads (forgotten on any account change).
    pub accounts: Arc<bearer::AccountCache>,
    /// The read replica, when one is configured.
    pub replica: Option<Arc<crate::db::replica::Replica>>,
    /// The log's checkpoint verifier key (served at /v1/log/key).
    pub log_key: Arc<crate::tlog::NoteVerifier>,
    /// The checkpoint signer's health.
    pub tlog: Arc<crate::store::checkpoints::TlogStatus>,
    /// The live stream's follower of the feed.
    pub stream: Arc<stream::StreamHub>,
    /// Sends webhook test messages (the worker has its own).
    pub webhook_sender: store::webhooks::send::Sender,
}

/// What a read must reflect, at least.
#[derive(Clone, Copy, Debug)]
pub enum Fresh {
    /// What the reader asked for and what this server acknowledged.
    Reader,
    /// Also everything this server has applied (a read that fills the cache).
    Applied,
    /// Also this position (a read as of it).
    AtLeast(i64),
}

/// How long a read waits for the replica to reach what it needs before the
/// primary answers instead.
const REPLICA_WAIT: std::time::Duration = std::time::Duration::from_millis(50);

/// Runs a read on the replica when it has replayed what the read needs
/// (and keeps up), else on the primary — in both cases like [`with_conn`].
pub async fn with_read<T, F>(state: &web::Data<AppState>, req: &HttpRequest, fresh: Fresh, f: F) -> AppResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
{
    let Some(replica) = state.replica.clone() else {
        return with_conn(state, f).await;
    };
    let asked = req.extensions().get::<consistency::MinSeq>().map_or(0, |m| m.0);
    let mut needed = asked.max(state.log.acknowledged());
    match fresh {
        Fresh::Reader => {}
        Fresh::Applied => needed = needed.max(state.log.head()),
        Fresh::AtLeast(seq) => needed = needed.max(seq),
    }
    if !replica.serves(needed, REPLICA_WAIT).await {
        state.metrics.read_routed("primary");
        return with_conn(state, f).await;
    }
    state.metrics.read_routed("replica");
    let span = tracing::Span::current();
    web::block(move || {
        let _entered = span.enter();
        crate::db::with_pooled(&replica.pool, f)
    })
    .await?
}

/// Like [`as_actor`] for a read: the account comes from the accounts this
/// server keeps when it may trust them ([`bearer::AccountCache`]), else from
/// the primary; the read itself goes where [`with_read`] sends it. With no
/// replica and an account to look up, both run on one connection, in one
/// trip to the blocking pool.
pub async fn as_actor_read<T, F>(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    bearer: Bearer,
    allow: Allow,
    fresh: Fresh,
    f: F,
) -> AppResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
{
    if let Some(actor) = state.accounts.get(bearer.0.sub) {
        allow.check(&actor)?;
        return with_read(state, req, fresh, f).await;
    }
    if state.replica.is_none() {
        return as_actor(state, bearer, allow, move |conn, _| f(conn)).await;
    }
    as_actor(state, bearer, allow, |_, _| Ok(())).await?;
    with_read(state, req, fresh, f).await
}

/// The account of a read that needs nothing else from the database (one
/// answered from memory): from the accounts this server keeps, else as
/// [`as_actor`] loads it.
pub async fn authenticated(state: &web::Data<AppState>, bearer: Bearer, allow: Allow) -> AppResult<Actor> {
    if let Some(actor) = state.accounts.get(bearer.0.sub) {
        allow.check(&actor)?;
        return Ok(actor);
    }
    as_actor(state, bearer, allow, |_, actor| Ok(actor.clone())).await
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
        crate::db::with_pooled(&pool, f)
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
    let accounts = state.accounts.clone();
    let generation = accounts.generation();
    with_conn(state, move |conn| {
        let actor = store::editors::active_actor(conn, editor_id)?
            .ok_or_else(|| AppError::Unauthorized("the token's account does not exist or is deactivated".into()))?;
        accounts.keep(&actor, generation);
        allow.check(&actor)?;
        f(conn, &actor)
    })
    .await
}

/// Every endpoint, registered with `.service()` so that the OpenAPI document lists it.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.app_data(web::PathConfig::default().error_handler(|e, req| {
        let shadowed = req
            .app_data::<web::Data<openapi::RouteTable>>()
            .and_then(|routes| routes.shadowed(req));
        shadowed
            .unwrap_or_else(|| AppError::BadRequest(format!("invalid path parameter: {e}")))
            .into()
    }))
    .app_data(web::QueryConfig::default().error_handler(|e, _| AppError::field("query", clean_query_error(&e.to_string())).into()))
    .app_data(web::PayloadConfig::new(json::MAX_BODY_BYTES))
    .service(health::healthz)
    .service(metrics::metrics)
    .service(health::readyz)
    // The public reads first: the router tries routes in order (a pattern
    // costs a regex match), and downstream sites make most requests. The
    // feed, stream and match before {claim_id}, whose UUID extractor would
    // refuse "feed".
    .service(factchecks::list)
    .service(factchecks::feed)
    .service(stream::stream)
    .service(matching::match_factchecks)
    .service(factchecks::read)
    .service(factchecks::claim_review)
    .service(proofs::factcheck)
    .service(auth::issue_token)
    .service(auth::me)
    .service(articles::create)
    .service(articles::list)
    .service(articles::read)
    .service(claimants::create)
    .service(claimants::list)
    .service(claimants::read)
    .service(claimants::update)
    .service(claims::create)
    .service(claims::list)
    // Before {id}, whose UUID extractor would refuse "similar".
    .service(matching::similar)
    .service(claims::read)
    .service(claims::update)
    .service(claims::history)
    .service(matching::merge)
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
    .service(checkpoints::checkpoint)
    .service(checkpoints::key)
    .service(checkpoints::list)
    .service(tiles::read)
    .service(proofs::inclusion)
    .service(proofs::consistency)
    .service(proofs::tlog_proof)
    .service(webhooks::create)
    .service(webhooks::list)
    .service(webhooks::read)
    .service(webhooks::update)
    .service(webhooks::remove)
    .service(webhooks::rotate_secret)
    .service(webhooks::test)
    .service(webhooks::replay)
    .service(webhooks::deliveries);
}

fn clean_query_error(message: &str) -> String {
    message.trim_start_matches("Query deserialize error: ").to_string()
}
