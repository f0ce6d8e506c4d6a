//! Building and running the HTTP server.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};

use crate::auth::TokenKeys;
use crate::config::Config;
use crate::db::PgPool;
use crate::http::openapi::{ApiDoc, RouteTable};
use crate::http::{self, AppState};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

pub struct Application {
    server: Server,
    port: u16,
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
        let secret = crate::auth::bootstrap::signing_secret(&config).map_err(std::io::Error::other)?;
        let keys = TokenKeys::new(&secret, &config.jwt).map_err(std::io::Error::other)?;
        let metrics = Arc::new(http::metrics::Metrics::new(config.db.pool_size));
        let state = web::Data::new(AppState {
            pool,
            config: Arc::new(config),
            keys: Arc::new(keys),
            metrics,
        });
        let server = HttpServer::new(move || {
            let (app, api) = App::new()
                .into_utoipa_app()
                .openapi(ApiDoc::openapi())
                .configure(http::routes)
                .split_for_parts();
            let routes = web::Data::new(RouteTable::new(&api));
            app.app_data(state.clone())
                .app_data(routes)
                // CORS preflights for the public paths (not API operations).
                .configure(http::factchecks::preflight)
                .service(web::redirect("/docs", "/docs/"))
                .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", api))
                .wrap(from_fn(http::middleware::observe))
                .default_service(web::to(http::openapi::fallback))
        })
        .workers(workers)
        .worker_max_blocking_threads(blocking)
        .shutdown_timeout(30)
        .listen(listener)?
        .run();
        Ok(Application { server, port })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
