//! The command line: `serve` (the default), `migrate`, and the operator tools.

use clap::{Parser, Subcommand};

use std::path::PathBuf;

use diesel::pg::PgConnection;

use crate::app::Application;
use crate::auth::{TokenKeys, password};
use crate::bootstrap;
use crate::config::{Config, Environment};
use crate::db::{self, cluster::LocalCluster};
use crate::error::{AppError, AppResult};
use crate::model::editor::parse_roles;
use crate::model::{SYSTEM_ACTOR, Username};
use crate::seed;
use crate::store::{self, editors::NewEditor};
use crate::verify_remote;

pub type CliResult = Result<(), Box<dyn std::error::Error>>;

#[derive(Parser, Debug)]
#[command(name = "claimledger", version, about = "A versioned claims database for fact-checkers")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run pending migrations, seed an empty database, then serve the API (the default).
    Serve {
        /// Do not seed an empty database (also CLAIMLEDGER_SEED_ON_EMPTY=false).
        #[arg(long)]
        no_seed: bool,
        /// A seed fixture directory to use instead of the one built into the binary.
        #[arg(long)]
        seed_dir: Option<PathBuf>,
    },
    /// Check the seed fixture, then write it in one transaction (once).
    Seed {
        /// A fixture directory to use instead of the one built into the binary.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Run pending migrations and exit.
    Migrate,
    /// Manage editor accounts.
    #[command(subcommand)]
    Editor(EditorCommand),
    /// Verify the log: the database's (default), an export file with no
    /// database (--file), every projection row against the log (--state), a
    /// remote log from its public endpoints (--log), or one tlog-proof file (--proof).
    Verify {
        /// An NDJSON export to verify on its own.
        #[arg(long)]
        file: Option<PathBuf>,
        /// A remote log's base URL: check its checkpoint, tiles and (with --checkpoint) consistency; needs --key.
        #[arg(long, conflicts_with_all = ["file", "state", "proof"], requires = "key")]
        log: Option<String>,
        /// With --log: a checkpoint note kept earlier; the log must still extend it.
        #[arg(long, requires = "log")]
        checkpoint: Option<PathBuf>,
        /// A C2SP tlog-proof file (GET /v1/revisions/{seq}/tlog-proof) to check offline; needs --key and --entry or --entry-hash.
        #[arg(long, conflicts_with_all = ["file", "state"], requires = "key")]
        proof: Option<PathBuf>,
        /// The log's verifier key (vkey text, as GET /v1/log/key serves it, or a file holding it).
        #[arg(long)]
        key: Option<String>,
        /// With --proof: the revision's export line (or the `entry` of a fact check proof) the proof is for.
        #[arg(long, requires = "proof", conflicts_with = "entry_hash")]
        entry: Option<PathBuf>,
        /// With --proof: the revision's entry_hash (hex) the proof is for.
        #[arg(long, requires = "proof")]
        entry_hash: Option<String>,
        /// With --file: also report the first seq where the database no longer matches the export.
        #[arg(long, requires = "file")]
        compare_db: bool,
        /// Rebuild every projection from the log and report rows that differ.
        #[arg(long, conflicts_with = "file")]
        state: bool,
        #[arg(long, default_value_t = 1)]
        from_seq: i64,
        #[arg(long)]
        to_seq: Option<i64>,
    },
    /// Write the log as NDJSON (the format of GET /v1/log/export) to stdout.
    Export {
        #[arg(long, default_value_t = 0)]
        after_seq: i64,
    },
    /// Mint an access token for an account (for scripts); prints only the token.
    Token {
        #[arg(long)]
        username: String,
    },
    /// Transparency: `log keygen`, `witness serve`, `witness vkey`.
    #[command(flatten)]
    Tlog(crate::witness::cli::TlogCommand),
}

#[derive(Subcommand, Debug)]
pub enum EditorCommand {
    /// Create an account. Without --password-stdin a strong password is generated and printed.
    Add {
        #[arg(long)]
        username: String,
        /// Comma-separated: editor, reviewer, auditor, admin.
        #[arg(long)]
        roles: String,
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts.
    List,
    /// Deactivate an account: its tokens stop working at once.
    Deactivate {
        username: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Set a new password (generated and printed unless --password-stdin).
    SetPassword {
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

pub fn run() -> CliResult {
    let cli = Cli::parse();
    let config = Config::from_env()?;
    let _log = crate::telemetry::init(config.log_format);
    let default = Command::Serve {
        no_seed: false,
        seed_dir: None,
    };
    match cli.command.unwrap_or(default) {
        Command::Serve { no_seed, seed_dir } => serve(config, (!no_seed).then(|| seed_source(seed_dir))),
        Command::Seed { dir } => {
            let fixture = seed::load_from(&seed_source(dir))?;
            with_database(&config, |conn, _| {
                println!("{}", seed::seed(conn, &fixture)?);
                Ok(())
            })
        }
        Command::Migrate => {
            let (url, cluster) = database(&config)?;
            let applied = db::migrate(&mut db::connect(&url)?)?;
            println!("{applied} migration(s) applied");
            stop_if_started(cluster);
            Ok(())
        }
        Command::Verify {
            log: Some(url),
            key: Some(key),
            checkpoint,
            ..
        } => verify_remote_log(&url, &key, checkpoint),
        Command::Verify {
            proof: Some(path),
            key: Some(key),
            entry,
            entry_hash,
            ..
        } => verify_proof_file(&path, &key, entry, entry_hash),
        Command::Verify { key: Some(_), .. } => Err("--key goes with --log URL or --proof FILE".into()),
        Command::Verify {
            file,
            compare_db,
            state,
            from_seq,
            to_seq,
            ..
        } => verify(&config, file, compare_db, state, from_seq, to_seq),
        Command::Export { after_seq } => with_database(&config, |conn, _| export(conn, after_seq)),
        Command::Editor(command) => with_database(&config, |conn, _| editor_command(conn, command)),
        Command::Tlog(command) => crate::witness::cli::run(command),
        Command::Token { username } => with_database(&config, |conn, _| {
            let candidate = store::editors::login_candidate(conn, &username)?
                .filter(|c| c.active && !c.roles.is_empty())
                .ok_or_else(|| AppError::NotFound(format!("no active editor '{username}' with a role")))?;
            let keys = TokenKeys::new(&bootstrap::signing_secret(&config)?, &config.jwt)?;
            println!("{}", keys.issue(candidate.id, &candidate.roles)?.access_token);
            Ok(())
        }),
    }
}

/// Runs `f` against the migrated database (given its URL too, for a command
/// that reads through a second connection), then stops a cluster started
/// for it.
fn with_database(config: &Config, f: impl FnOnce(&mut PgConnection, &str) -> AppResult<()>) -> CliResult {
    let (url, cluster) = database(config)?;
    let result = db::connect(&url).and_then(|mut conn| {
        db::migrate(&mut conn)?;
        f(&mut conn, &url)?;
        // What the command wrote is in the log before it says it is done.
        store::sequencer::settle(&mut conn, std::time::Duration::from_secs(60))
    });
    stop_if_started(cluster);
    Ok(result?)
}

fn role_list(roles: &[crate::model::Role]) -> String {
    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
}

/// The password from stdin, or a generated one that is printed once.
fn new_password(from_stdin: bool) -> AppResult<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map_err(AppError::internal)?;
        Ok((line.trim_end_matches(['\r', '\n']).to_string(), false))
    } else {
        Ok((password::generate_password(), true))
    }
}

fn editor_command(conn: &mut PgConnection, command: EditorCommand) -> AppResult<()> {
    match command {
        EditorCommand::Add {
            username,
            roles,
            display_name,
            password_stdin,
        } => {
            let username = Username::parse(&username).map_err(|e| AppError::invalid(vec![e]))?;
            let roles = parse_roles(&roles).map_err(|e| AppError::invalid(vec![e]))?;
            let (password, generated) = new_password(password_stdin)?;
            let hash = password::hash_password(&password)?;
            let editor = store::editors::create(
                conn,
                SYSTEM_ACTOR,
                NewEditor {
                    display_name: display_name.unwrap_or_else(|| username.as_str().to_string()),
                    username,
                    roles,
                    password_hash: Some(hash),
                },
                None,
            )?;
            let editor = editor.value;
            println!(
                "created {} ({}) with roles {}",
                editor.username,
                editor.id,
                role_list(&editor.roles)
            );
            if generated {
                println!("password: {password}");
            }
        }
        EditorCommand::List => {
            println!("{:<24} {:<36} {:<8} roles", "username", "id", "active");
            for e in store::editors::list(conn)? {
                println!("{:<24} {:<36} {:<8} {}", e.username, e.id, e.active, role_list(&e.roles));
            }
        }
        EditorCommand::Deactivate { username, reason } => {
            let e = store::editors::deactivate(conn, SYSTEM_ACTOR, &username, reason.as_deref())?;
            println!("deactivated {}", e.value.username);
        }
        EditorCommand::SetPassword { username, password_stdin } => {
            let (password, generated) = new_password(password_stdin)?;
            let e = store::editors::set_password(conn, SYSTEM_ACTOR, &username, password::hash_password(&password)?)?;
            println!("password set for {}", e.value.username);
            if generated {
                println!("password: {password}");
            }
        }
    }
    Ok(())
}

fn seed_source(dir: Option<PathBuf>) -> seed::Source {
    dir.map_or_else(seed::default_source, seed::Source::Dir)
}

/// Seeds an empty database; a missing fixture is only a warning, a broken one an error.
fn seed_if_empty(conn: &mut PgConnection, dir: &seed::Source) -> CliResult {
    if !seed::database_is_empty(conn)? {
        return Ok(());
    }
    if !dir.exists() {
        tracing::warn!(dir = %dir, "the database is empty and there is no seed fixture here; not seeding");
        return Ok(());
    }
    let outcome = seed::seed(conn, &seed::load_from(dir)?)?;
    tracing::info!("{outcome}");
    Ok(())
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
    if let Some(c) = cluster.filter(|c| c.started_here())
        && let Err(e) = c.stop()
    {
        tracing::warn!(error = %e, "could not stop the private PostgreSQL cluster");
    }
}

fn serve(mut config: Config, seed_dir: Option<seed::Source>) -> CliResult {
    let (url, cluster) = database(&config)?;
    config.database_url = Some(url.clone());
    let mut conn = db::connect(&url)?;
    let applied = db::migrate(&mut conn)?;
    if applied > 0 {
        tracing::info!(applied, "migrations applied");
    }
    let upgraded = store::upgrade::editorial_model(&mut conn)?;
    if upgraded.claims > 0 {
        store::sequencer::settle(&mut conn, std::time::Duration::from_secs(300))?;
        tracing::info!(
            claims = upgraded.claims,
            appearances = upgraded.appearances,
            "recorded claimant records and appearance kinds for older claims"
        );
    }
    if let Some(dir) = seed_dir.filter(|_| config.seed_on_empty) {
        seed_if_empty(&mut conn, &dir)?;
    }
    drop(conn);
    let admin_password = if config.env == Environment::Development {
        bootstrap::first_admin(&mut db::connect(&url)?, &config.data_dir)?
    } else {
        None
    };
    let pool = db::build_pool(&url, &config.db);
    tracing::info!(database = %db::display_url(&url), "database ready");
    let bind = config.bind;
    let result = actix_web::rt::System::new().block_on(async move {
        let app = Application::build(config, pool)?;
        let base = format!("http://{}", std::net::SocketAddr::new(bind.ip(), app.port()));
        tracing::info!("claimledger listening on {base}");
        if let Some(file) = &admin_password {
            println!("{}", bootstrap::token_hint(&base, file));
        }
        app.run_until_stopped().await
    });
    stop_if_started(cluster);
    Ok(result?)
}

/// A progress bar on a terminal; nothing otherwise.
fn progress_bar(total: Option<u64>, what: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = match total {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new_spinner(),
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} {pos}/{len} [{elapsed_precise}] {per_sec}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(what.to_string());
    bar
}

/// Prints the report as JSON; a failed check is an error (exit code 1).
fn report<T: serde::Serialize>(value: &T, ok: bool) -> CliResult {
    use std::io::Write;
    let text = serde_json::to_string_pretty(value)?;
    // A closed pipe (`| head`) is the reader's choice, not a failure to report.
    match writeln!(std::io::stdout(), "{text}") {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
        _ => {}
    }
    if ok { Ok(()) } else { Err("verification failed".into()) }
}

fn verify(config: &Config, file: Option<PathBuf>, compare_db: bool, state: bool, from: i64, to: Option<i64>) -> CliResult {
    if let Some(path) = file {
        let open = || std::fs::File::open(&path).map(std::io::BufReader::new);
        let bar = progress_bar(None, "verifying export");
        let result = store::log::verify_export(open()?, |n| bar.set_position(n));
        bar.finish_and_clear();
        if !compare_db {
            return report(&result, result.ok);
        }
        let mut differs = None;
        with_database(config, |conn, _| {
            differs = store::revisions::first_difference(conn, open().map_err(AppError::internal)?)?;
            Ok(())
        })?;
        let ok = result.ok && differs.is_none();
        return report(&serde_json::json!({"export": result, "database_differs_at_seq": differs}), ok);
    }
    let mut outcome = None;
    with_database(config, |conn, url| {
        if state {
            let bar = progress_bar(None, "checking projections");
            let r = store::state::verify_state(conn, 100, |n| bar.set_position(n))?;
            bar.finish_and_clear();
            outcome = Some((serde_json::to_value(&r).map_err(AppError::internal)?, r.ok));
        } else {
            let head = store::log::head(conn)?;
            let bar = progress_bar(Some(to.unwrap_or(head.seq).min(head.seq).max(0) as u64), "verifying log");
            // A second connection: two readers canonicalise and hash side by side.
            let mut second = db::connect(url)?;
            let r = store::log::verify(conn, Some(&mut second), from, to, |n, _| bar.set_position(n))?;
            bar.finish_and_clear();
            if from == 1 && to.is_none() {
                // The whole log: also the Merkle tree against every signed checkpoint.
                let key = crate::bootstrap::log_verifier(config).map_err(AppError::internal)?;
                let tree = store::checkpoints::verify_tree(conn, key.as_ref())?;
                let ok = r.ok && tree.ok;
                let mut value = serde_json::to_value(&r).map_err(AppError::internal)?;
                value["ok"] = serde_json::Value::Bool(ok);
                value["tree"] = serde_json::to_value(&tree).map_err(AppError::internal)?;
                outcome = Some((value, ok));
            } else {
                outcome = Some((serde_json::to_value(&r).map_err(AppError::internal)?, r.ok));
            }
        }
        Ok(())
    })?;
    let (value, ok) = outcome.ok_or("no result")?;
    report(&value, ok)
}

/// `verify --log URL --key VKEY [--checkpoint FILE]`: public endpoints only, no database.
fn verify_remote_log(url: &str, key: &str, kept: Option<PathBuf>) -> CliResult {
    let key = verify_remote::parse_key(key)?;
    let kept = match kept {
        Some(path) => Some(std::fs::read_to_string(&path).map_err(|e| format!("cannot read the kept checkpoint {}: {e}", path.display()))?),
        None => None,
    };
    let r = verify_remote::remote_log(url, &key, kept.as_deref())?;
    report(&r, r.ok)
}

/// `verify --proof FILE --key VKEY (--entry FILE | --entry-hash HEX)`: offline.
fn verify_proof_file(path: &std::path::Path, key: &str, entry: Option<PathBuf>, entry_hash: Option<String>) -> CliResult {
    let key = verify_remote::parse_key(key)?;
    let entry = match (entry, entry_hash) {
        (Some(file), _) => verify_remote::ProvenEntry::ExportLine(
            std::fs::read_to_string(&file).map_err(|e| format!("cannot read the entry {}: {e}", file.display()))?,
        ),
        (None, Some(hash)) => verify_remote::ProvenEntry::EntryHash(hash),
        (None, None) => {
            return Err("a tlog-proof proves an entry you hold: give --entry FILE (its export line) or --entry-hash HEX".into());
        }
    };
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the proof {}: {e}", path.display()))?;
    let r = verify_remote::proof_file(&path.display().to_string(), &text, &key, &entry)?;
    report(&r, r.ok)
}

/// Streams revisions after `after` up to the current head to stdout.
fn export(conn: &mut PgConnection, after: i64) -> AppResult<()> {
    use std::io::Write;
    let upto = store::log::head(conn)?.seq;
    let bar = progress_bar(Some(upto.saturating_sub(after).max(0) as u64), "exporting");
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let read = |after| store::log::batch(conn, after, upto, 5_000);
    let sink = |lines: Vec<u8>, n: usize| {
        bar.inc(n as u64);
        out.write_all(&lines).map(|_| true).map_err(AppError::internal)
    };
    store::log::export(after, upto, read, sink)?;
    out.flush().map_err(AppError::internal)?;
    bar.finish_and_clear();
    Ok(())
}
