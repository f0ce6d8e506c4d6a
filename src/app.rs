//! Building and running the HTTP server.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};

use crate::auth::TokenKeys;
use crate::config::Config;
use crate::db::PgPool;
use crate::db::notify::LogWatch;
use crate::http::openapi::{ApiDoc, RouteTable};
use crate::http::{self, AppState};
use crate::store::checkpoints::{LogSigning, TlogStatus};
use crate::store::sequencer::SequencerSettings;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

pub struct Application {
    server: Server,
    port: u16,
    background: Background,
}

/// The threads that follow the log beside the HTTP workers: the listener
/// (every server) and the sequencer (every server stands by; one leads).
struct Background {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Background {
    fn start(
        config: &Config,
        pool: &PgPool,
        log: &Arc<LogWatch>,
        replica: Option<&Arc<crate::db::replica::Replica>>,
        signing: &Arc<LogSigning>,
        tlog: &Arc<TlogStatus>,
    ) -> std::io::Result<(Self, Arc<http::stream::StreamHub>)> {
        let url = config
            .database_url
            .clone()
            .ok_or_else(|| std::io::Error::other("the server needs a database URL (the private cluster's, or DATABASE_URL)"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = vec![log.listen(url.clone(), stop.clone())];
        let (hub, hub_thread) = http::stream::StreamHub::start(pool.clone(), log, stop.clone());
        threads.push(hub_thread);
        if let Some(replica) = replica {
            threads.push(replica.monitor(log.clone(), stop.clone()));
        }
        if config.sequencer {
            let settings = SequencerSettings {
                poll: config.sequencer_poll,
                signing: Some(signing.clone()),
                tlog: tlog.clone(),
            };
            threads.push(crate::store::sequencer::spawn(url.clone(), settings, log.clone(), stop.clone()));
        }
        if !config.log.witnesses.is_empty() {
            let mut witnesses = Vec::new();
            for (vkey, witness_url) in &config.log.witnesses {
                let verifier = crate::tlog::CosignatureVerifier::from_vkey(vkey)
                    .map_err(|e| std::io::Error::other(format!("CLAIMLEDGER_WITNESSES: '{vkey}' is not a cosignature vkey: {e}")))?;
                witnesses.push((verifier, witness_url.clone()));
            }
            let (interval, stop, url) = (config.log.checkpoint_interval, stop.clone(), url.clone());
            threads.push(std::thread::Builder::new().name("witnesses".into()).spawn(move || {
                // Built on this thread: a blocking HTTP client may not live in the server's runtime.
                let clients: Result<Vec<_>, String> = witnesses
                    .into_iter()
                    .map(|(verifier, witness_url)| crate::witness::client::WitnessClient::new(verifier, &witness_url))
                    .collect();
                match clients {
                    Ok(clients) => submit_to_witnesses(&url, clients, interval, &stop),
                    Err(e) => tracing::error!(error = %e, "cannot submit checkpoints to witnesses"),
                }
            })?);
        }
        if config.webhooks.worker {
            let w = &config.webhooks;
            let settings = crate::store::webhooks::worker::WorkerSettings {
                send: crate::store::webhooks::send::SendSettings {
                    allow_private: w.allow_private,
                    timeout: w.timeout,
                },
                retry: crate::store::webhooks::outbox::RetryPolicy {
                    schedule: w.retry_schedule.clone(),
                    disable_after: w.disable_after,
                },
                concurrency: w.concurrency,
            };
            threads.push(crate::store::webhooks::worker::spawn(url, settings, log.clone(), stop.clone()));
        }
        Ok((Background { stop, threads }, hub))
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::Release);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Submits each new checkpoint to every configured witness (C2SP
/// tlog-witness) and keeps the cosignatures they return; `GET
/// /v1/log/checkpoint` serves them with the checkpoint.
fn submit_to_witnesses(
    url: &str,
    mut clients: Vec<crate::witness::client::WitnessClient>,
    interval: std::time::Duration,
    stop: &AtomicBool,
) {
    let mut conn = None;
    let mut last_error: Vec<Option<String>> = vec![None; clients.len()];
    while !stop.load(Ordering::Acquire) {
        let until = std::time::Instant::now() + interval;
        while std::time::Instant::now() < until && !stop.load(Ordering::Acquire) {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        if conn.is_none() {
            conn = crate::db::connect(url).ok();
        }
        let Some(c) = conn.as_mut() else { continue };
        let newest = match crate::store::checkpoints::newest(c) {
            Ok(Some(n)) => n,
            Ok(None) => continue,
            Err(_) => {
                conn = None;
                continue;
            }
        };
        let size = newest.tree_size as u64;
        let Ok(note) = crate::tlog::SignedNote::parse(newest.note.as_bytes()) else {
            continue;
        };
        for (client, last) in clients.iter_mut().zip(last_error.iter_mut()) {
            if client.known_size() == Some(size) {
                continue;
            }
            let outcome = client
                .submit(&newest.note, note.text(), size, |old| {
                    crate::store::proofs::consistency(c, old, size).map_err(|e| e.to_string())
                })
                .and_then(|line| {
                    let name = client.name().to_string();
                    crate::store::checkpoints::add_cosignature(c, size, &name, &line).map_err(|e| e.to_string())
                });
            match outcome {
                Ok(()) => *last = None,
                Err(e) => {
                    if last.as_deref() != Some(e.as_str()) {
                        tracing::warn!(witness = client.name(), size, error = %e, "a witness did not cosign the checkpoint");
                    }
                    *last = Some(e);
                }
            }
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Application {
    /// Binds `config.bind` (port 0 picks a free port, for tests) and builds
    /// the server; it serves once awaited.
    pub fn build(config: Config, pool: PgPool) -> std::io::Result<Self> {
        let listener = TcpListener::bind(config.bind)?;
        let port = listener.local_addr()?.port();
        let workers = config.workers;
        // Blocking threads: each worker's share of the pool, no more. A thread
        // past it could only park in pool.get() until another's connection
        // came back, and r2d2 hands a returned connection to whichever thread
        // asks first, not to the one that waited longest: at c=16 on 2 cores
        // with a pool of 2, one thread more per worker took as-of reads from
        // p99 3.5-3.7 ms to 4.8-5.9 ms (session 13). Password checks, the
        // one other blocking work, have threads of their own (http::auth).
        let blocking = (config.db.pool_size as usize).div_ceil(workers).max(1);
        let secret = crate::bootstrap::signing_secret(&config).map_err(std::io::Error::other)?;
        let keys = TokenKeys::new(&secret, &config.jwt).map_err(std::io::Error::other)?;
        let log = Arc::new(LogWatch::default());
        let cache = http::cache::PublicCache::new(config.public.cache_max_mb * 1024 * 1024, log.clone());
        if config.public.cache_fill {
            cache.fill(pool.clone());
        }
        let accounts = http::bearer::AccountCache::new(log.clone());
        let metrics = Arc::new(http::metrics::Metrics::new(config.db.pool_size, &cache.counters, &accounts.hits));
        let replica = config
            .replica_url
            .as_deref()
            .map(|url| crate::db::replica::Replica::new(url, &config.db, config.replica_max_lag));
        let signing = Arc::new(crate::bootstrap::log_signing(&config).map_err(std::io::Error::other)?);
        let tlog = Arc::new(TlogStatus::default());
        let (background, stream) = Background::start(&config, &pool, &log, replica.as_ref(), &signing, &tlog)?;
        let webhook_sender = crate::store::webhooks::send::Sender::new(crate::store::webhooks::send::SendSettings {
            allow_private: config.webhooks.allow_private,
            timeout: config.webhooks.timeout,
        })
        .map_err(std::io::Error::other)?;
        let state = web::Data::new(AppState {
            pool,
            config: Arc::new(config),
            keys: Arc::new(keys),
            metrics,
            cache,
            accounts,
            log,
            replica,
            log_key: Arc::new(signing.verifier()),
            tlog,
            stream,
            webhook_sender,
        });
        let server = HttpServer::new(move || {
            let (app, api) = App::new()
                .into_utoipa_app()
                .openapi(ApiDoc::openapi())
                .configure(http::routes)
                .split_for_parts();
            let api = http::openapi::contract(api);
            let routes = web::Data::new(RouteTable::new(&api));
            app.app_data(state.clone())
                .app_data(routes)
                // CORS preflights for the public paths (not API operations).
                .configure(http::factchecks::preflight)
                // The public site (HTML pages, Atom, their assets): not API operations.
                .configure(http::pages::routes)
                .service(web::redirect("/docs", "/docs/"))
                .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", api))
                .wrap(from_fn(http::consistency::at_least))
                .wrap(from_fn(http::middleware::observe))
                .default_service(web::to(http::openapi::fallback))
        })
        .workers(workers)
        .worker_max_blocking_threads(blocking)
        .shutdown_timeout(30)
        .listen(listener)?
        .run();
        Ok(Application { server, port, background })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(mut self) -> std::io::Result<()> {
        let result = self.server.await;
        // Requests in flight have finished: the sequencer takes what they
        // committed before it stops.
        self.background.stop();
        result
    }
}
