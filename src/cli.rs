//! The command line: `serve` (the default), `migrate`, and the operator tools.

use clap::{Parser, Subcommand};

use crate::app::Application;
use crate::config::Config;
use crate::db::{self, cluster::LocalCluster};

pub type CliResult = Result<(), Box<dyn std::error::Error>>;

#[derive(Parser, Debug)]
#[command(name = "claimledger", version, about = "A versioned claims database for fact-checkers")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run pending migrations, then serve the API (the default).
    Serve,
    /// Run pending migrations and exit.
    Migrate,
}

pub fn run() -> CliResult {
    let cli = Cli::parse();
    let config = Config::from_env()?;
    crate::telemetry::init(config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config),
        Command::Migrate => {
            let (url, cluster) = database(&config)?;
            let applied = db::migrate(&mut db::connect(&url)?)?;
            println!("{applied} migration(s) applied");
            stop_if_started(cluster);
            Ok(())
        }
    }
}

/// The configured database, or the private cluster under the data directory.
pub fn database(config: &Config) -> Result<(String, Option<LocalCluster>), Box<dyn std::error::Error>> {
    match &config.database_url {
        Some(url) => Ok((url.clone(), None)),
        None => {
            let cluster = LocalCluster::ensure_started(&config.data_dir)?;
            tracing::info!(data_dir = %cluster.data_dir().display(), port = cluster.port(), "using the private PostgreSQL cluster (DATABASE_URL is not set)");
            Ok((cluster.url("claimledger"), Some(cluster)))
        }
    }
}

fn stop_if_started(cluster: Option<LocalCluster>) {
    if let Some(c) = cluster.filter(|c| c.started_here()) {
        if let Err(e) = c.stop() {
            tracing::warn!(error = %e, "could not stop the private PostgreSQL cluster");
        }
    }
}

fn serve(config: Config) -> CliResult {
    let (url, cluster) = database(&config)?;
    let applied = db::migrate(&mut db::connect(&url)?)?;
    if applied > 0 {
        tracing::info!(applied, "migrations applied");
    }
    let pool = db::build_pool(&url, &config.db);
    tracing::info!(database = %db::display_url(&url), "database ready");
    let bind = config.bind;
    let result = actix_web::rt::System::new().block_on(async move {
        let app = Application::build(config, pool)?;
        tracing::info!("claimledger listening on http://{}:{}", bind.ip(), app.port());
        app.run_until_stopped().await
    });
    stop_if_started(cluster);
    Ok(result?)
}
