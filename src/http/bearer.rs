//! The `Bearer` extractor: a verified token's claims. Handlers then load the
//! account (still existing, still active, its current roles) in the same
//! blocking call as their store function — or, for reads, from the accounts
//! this server keeps ([`AccountCache`]).

use std::collections::HashMap;
use std::future::{Ready, ready};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use prometheus_client::metrics::counter::Counter;

use super::AppState;
use crate::auth::Claims;
use crate::db::notify::{LogEvent, LogWatch};
use crate::error::AppError;
use crate::model::Actor;
use uuid::Uuid;

pub struct Bearer(pub Claims);

impl FromRequest for Bearer {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(bearer(req))
    }
}

fn bearer(req: &HttpRequest) -> Result<Bearer, AppError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| AppError::Unauthorized("authentication required: send Authorization: Bearer <token>".into()))?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| AppError::Unauthorized("malformed Authorization header: expected 'Bearer <token>'".into()))?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::internal("application state missing"))?;
    state.keys.verify(token).map(Bearer)
}

/// How long a read trusts an account it found active without asking again:
/// the bound on staleness for a change the log never announces (an
/// account edited by hand in SQL).
const ACCOUNT_TTL: Duration = Duration::from_secs(5);

/// The accounts this server found active, with their roles, for reads: an
/// authenticated read answered from memory then asks the database nothing.
/// Writes always ask the database (`as_actor`). What is kept is forgotten
/// whenever the log announces an account change (a deactivation reaches
/// every server's listener milliseconds after it is sequenced, and before
/// that server's head moves past it, so a read with `min_seq` at or after it
/// is refused), whenever notices may have been lost, and after
/// [`ACCOUNT_TTL`]; while the listener is not live, nothing is trusted.
pub struct AccountCache {
    accounts: RwLock<HashMap<Uuid, (Actor, Instant)>>,
    /// Moves on every forgetting: an account read before it moved is used
    /// but not kept.
    generation: AtomicU64,
    log: Arc<LogWatch>,
    /// Accounts answered from memory (`/metrics`).
    pub hits: Counter,
}

impl AccountCache {
    pub fn new(log: Arc<LogWatch>) -> Arc<Self> {
        let cache = Arc::new(AccountCache {
            accounts: RwLock::default(),
            generation: AtomicU64::new(0),
            log: log.clone(),
            hits: Counter::default(),
        });
        let weak = Arc::downgrade(&cache);
        log.on_event(move |event| {
            if let (Some(cache), LogEvent::AccountsChanged | LogEvent::ChangedAll) = (weak.upgrade(), event) {
                cache.forget();
            }
        });
        cache
    }

    fn forget(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.accounts.write().expect("accounts").clear();
    }

    /// The active account `id`, if this server may trust what it knows.
    pub fn get(&self, id: Uuid) -> Option<Actor> {
        if !self.log.is_live() {
            return None;
        }
        let accounts = self.accounts.read().expect("accounts");
        let actor = accounts
            .get(&id)
            .filter(|(_, at)| at.elapsed() < ACCOUNT_TTL)
            .map(|(actor, _)| actor.clone());
        if actor.is_some() {
            self.hits.inc();
        }
        actor
    }

    /// Where forgetting stands, read before asking the database.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps an account found active, unless anything was forgotten since
    /// `generation` (it may have been read before the change).
    pub fn keep(&self, actor: &Actor, generation: u64) {
        let mut accounts = self.accounts.write().expect("accounts");
        if self.log.is_live() && self.generation() == generation {
            accounts.insert(actor.id, (actor.clone(), Instant::now()));
        }
    }
}
