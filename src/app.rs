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
use crate::store::sequencer::SequencerSettings;
use crate::http::openapi::{ApiDoc, RouteTable};
use crate::http::{self, AppState};
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
    fn start(config: &Config, log: &Arc<LogWatch>, replica: Option<&Arc<crate::db::replica::Replica>>) -> std::io::Result<Self> {
        let url = config
            .database_url
            .clone()
            .ok_or_else(|| std::io::Error::other("the server needs a database URL (the private cluster's, or DATABASE_URL)"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = vec![log.listen(url.clone(), stop.clone())];
        if let Some(replica) = replica {
            threads.push(replica.monitor(log.clone(), stop.clone()));
        }
        if config.sequencer {
            let settings = SequencerSettings {
                poll: config.sequencer_poll,
            };
            threads.push(crate::store::sequencer::spawn(url, settings, log.clone(), stop.clone()));
        }
        Ok(Background { stop, threads })
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::Release);
        for t in self.threads.drain(..) {
            let _ = t.join();
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
        // Blocking threads near the pool size: load queues for a connection
        // instead of piling up threads that all wait in pool.get().
        let blocking = (config.db.pool_size as usize).div_ceil(workers).max(1) + 1;
        let secret = crate::bootstrap::signing_secret(&config).map_err(std::io::Error::other)?;
        let keys = TokenKeys::new(&secret, &config.jwt).map_err(std::io::Error::other)?;
        let log = Arc::new(LogWatch::default());
        let cache = http::cache::PublicCache::new(config.public.cache_max_mb * 1024 * 1024, log.clone());
        let metrics = Arc::new(http::metrics::Metrics::new(config.db.pool_size, &cache.counters));
        let replica = config
            .replica_url
            .as_deref()
            .map(|url| crate::db::replica::Replica::new(url, &config.db, config.replica_max_lag));
        let background = Background::start(&config, &log, replica.as_ref())?;
        let state = web::Data::new(AppState {
            pool,
            config: Arc::new(config),
            keys: Arc::new(keys),
            metrics,
            cache,
            log,
            replica,
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
