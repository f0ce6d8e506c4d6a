//! Test harness: a real PostgreSQL, one database per test cloned from a
//! migrated template, and the real HTTP server on a free port.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::thread::JoinHandle;

use actix_web::dev::ServerHandle;
use claimledger::app::Application;
use claimledger::config::{Config, Secret};
use claimledger::db::{self, PgPool, cluster::LocalCluster};
use claimledger::model::{Role, Username};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use sha2::{Digest, Sha256};

/// Where test databases are made: an admin URL and the template's name.
struct Server {
    admin_url: String,
    template: String,
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[after_scheme..].find('/').map(|i| i + after_scheme).unwrap_or(base.len());
    format!("{}/{}{}", &base[..host_end], database, query)
}

fn can_connect(url: &str) -> bool {
    PgConnection::establish(url).is_ok()
}

/// TEST_DATABASE_URL, else DATABASE_URL, else the machine's server on
/// 127.0.0.1:5432, else a private cluster under target/ (same code as `serve`).
fn admin_url() -> String {
    for var in ["TEST_DATABASE_URL", "DATABASE_URL"] {
        if let Ok(url) = std::env::var(var)
            && !url.trim().is_empty()
        {
            return url;
        }
    }
    let machine = "postgres://postgres@127.0.0.1:5432/postgres";
    if can_connect(machine) {
        return machine.to_string();
    }
    let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-pg");
    let cluster = LocalCluster::ensure_started(&root).unwrap_or_else(|e| panic!("no PostgreSQL for tests: {e}"));
    eprintln!("tests use the private cluster in {} (port {})", root.display(), cluster.port());
    cluster.url("postgres")
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn database_exists(conn: &mut PgConnection, name: &str) -> bool {
    diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
        .bind::<Text, _>(name)
        .get_result::<Count>(conn)
        .map(|c| c.n > 0)
        .unwrap()
}

/// The template is named after a hash of the migrations, so a changed
/// migration makes a new template and a stale one is never reused.
fn migrations_fingerprint() -> String {
    let mut files: Vec<_> = walk(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")));
    files.sort();
    let mut h = Sha256::new();
    for f in files {
        h.update(f.to_string_lossy().as_bytes());
        h.update(std::fs::read(&f).unwrap());
    }
    hex::encode(&h.finalize()[..6])
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let admin_url = admin_url();
        let template = format!("cl_tpl_{}", migrations_fingerprint());
        let mut conn = PgConnection::establish(&admin_url).expect("connect as admin");
        // One process builds the template; the others (nextest) wait.
        diesel::sql_query("SELECT pg_advisory_lock(727274002)").execute(&mut conn).unwrap();
        if !database_exists(&mut conn, &template) {
            let building = format!("{template}_building");
            diesel::sql_query(format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
                .execute(&mut conn)
                .unwrap();
            diesel::sql_query(format!("CREATE DATABASE {building}")).execute(&mut conn).unwrap();
            {
                let mut tpl = PgConnection::establish(&with_database(&admin_url, &building)).unwrap();
                db::migrate(&mut tpl).expect("migrate the template");
            }
            diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {template}"))
                .execute(&mut conn)
                .unwrap();
        }
        diesel::sql_query("SELECT pg_advisory_unlock(727274002)")
            .execute(&mut conn)
            .unwrap();
        Server { admin_url, template }
    })
}

/// A database of one test's own, dropped when the test ends.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub fn new() -> TestDb {
        let server = server();
        let name = format!("cl_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::establish(&server.admin_url).unwrap();
        diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {}", server.template))
            .execute(&mut conn)
            .unwrap();
        TestDb {
            url: with_database(&server.admin_url, &name),
            name,
        }
    }

    /// A direct connection (as the admin/superuser role).
    pub fn conn(&self) -> PgConnection {
        PgConnection::establish(&self.url).unwrap()
    }
}

#[derive(QueryableByName, Debug)]
#[allow(dead_code)] // shown through Debug only
struct Session {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
    #[diesel(sql_type = Text)]
    application_name: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    state: Option<String>,
    #[diesel(sql_type = Text)]
    query: String,
}

/// Drops the database. By the time a test database is dropped, everything
/// that used it (the server, its pool, a child process) must be gone: a plain
/// DROP DATABASE (which waits up to 5 s for sessions that are closing) must
/// succeed. If sessions linger, they are named and the test fails — after the
/// database has been dropped WITH (FORCE) anyway, so that no run leaves
/// databases behind.
impl Drop for TestDb {
    fn drop(&mut self) {
        let mut conn = match PgConnection::establish(&server().admin_url) {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("cannot drop test database {}: {e}", self.name);
                return;
            }
        };
        if diesel::sql_query(format!("DROP DATABASE IF EXISTS {}", self.name))
            .execute(&mut conn)
            .is_ok()
        {
            return;
        }
        let sessions: Vec<Session> = diesel::sql_query(
            "SELECT pid, coalesce(application_name, '') AS application_name, state, coalesce(query, '') AS query
             FROM pg_stat_activity WHERE datname = $1",
        )
        .bind::<Text, _>(&self.name)
        .load(&mut conn)
        .unwrap_or_default();
        let forced = diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut conn);
        let message = format!(
            "test database {} was still in use when it was dropped (dropped WITH (FORCE): {forced:?}); sessions: {sessions:#?}",
            self.name
        );
        if std::thread::panicking() {
            eprintln!("{message}");
        } else {
            panic!("{message}");
        }
    }
}

pub const TEST_JWT_SECRET: &str = "test-secret-that-is-long-enough-0123456789";

pub fn test_config(database_url: &str) -> Config {
    let mut config = Config::from_vars(HashMap::new()).unwrap();
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.database_url = Some(database_url.to_string());
    config.workers = 2;
    config.jwt.secret = Some(Secret::new(TEST_JWT_SECRET.as_bytes().to_vec()));
    config.seed_on_empty = false;
    config
}

/// A running server: stopping it waits for its thread.
struct RunningServer {
    handle: ServerHandle,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl RunningServer {
    fn start(config: Config, pool: PgPool) -> (u16, RunningServer) {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let app = Application::build(config, pool)?;
                tx.send((app.port(), app.handle())).unwrap();
                app.run_until_stopped().await
            })
        });
        let (port, handle) = rx.recv().expect("server started");
        (
            port,
            RunningServer {
                handle,
                thread: Some(thread),
            },
        )
    }

    fn stop(&mut self) {
        let handle = self.handle.clone();
        actix_web::rt::System::new().block_on(handle.stop(false));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The real server, on its own thread and actix system, against its own database.
///
/// Teardown order matters and is spelled out here: `Drop for TestApp` stops
/// the server (and joins its thread, so its clones of the pool are gone);
/// then Rust drops the fields in declaration order — `server`, then `pool`
/// (closing the test's connections), then the rest, and `db` LAST, which drops
/// the database. Dropping the database while the pool was alive would kill its
/// connections under it (and r2d2 would keep reconnecting to a database that
/// no longer exists); `Drop for TestDb` now fails the test if any session is
/// still connected, so reordering these fields is caught.
pub struct TestApp {
    server: RunningServer,
    pub pool: PgPool,
    pub client: reqwest::blocking::Client,
    pub config: Config,
    pub address: String,
    /// Keep last: dropped after everything that connects to it.
    pub db: TestDb,
}

pub fn spawn_app() -> TestApp {
    spawn_app_with(|_| {})
}

pub fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let db = TestDb::new();
    let mut config = test_config(&db.url);
    tweak(&mut config);
    let url = config.database_url.clone().unwrap();
    let pool = db::build_pool(&url, &config.db);
    let (port, server) = RunningServer::start(config.clone(), pool.clone());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        db,
        pool,
        client: reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        config,
        server,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn get(&self, path: &str) -> reqwest::blocking::Response {
        self.client.get(self.url(path)).send().unwrap()
    }

    /// A direct connection to the app's database (its test database, or
    /// the one the test configured).
    pub fn conn(&self) -> PgConnection {
        PgConnection::establish(self.config.database_url.as_deref().unwrap_or(&self.db.url)).unwrap()
    }

    /// Stops the server and starts a new one on the same database.
    pub fn restart(&mut self) {
        self.server.stop();
        let pool = db::build_pool(self.config.database_url.as_deref().unwrap(), &self.config.db);
        let (port, server) = RunningServer::start(self.config.clone(), pool.clone());
        self.server = server;
        self.pool = pool;
        self.address = format!("http://127.0.0.1:{port}");
    }

    /// Creates an account (through the store, as the CLI does) and returns
    /// its id and password.
    pub fn editor(&self, username: &str, roles: &[Role]) -> (uuid::Uuid, String) {
        let password = format!("pw-{username}-0123456789");
        let mut conn = self.conn();
        let editor = claimledger::store::editors::create(
            &mut conn,
            claimledger::model::SYSTEM_ACTOR,
            claimledger::store::editors::NewEditor {
                username: Username::parse(username).unwrap(),
                display_name: username.to_string(),
                roles: roles.to_vec(),
                password_hash: Some(claimledger::auth::password::hash_password(&password).unwrap()),
            },
            None,
        )
        .unwrap();
        // Acknowledged only once sequenced, as a write through the API is:
        // otherwise the server's sequencer appends it while a test reads the log.
        if let Some(pending) = &editor.pending {
            claimledger::store::sequencer::wait_for(&mut conn, pending, std::time::Duration::from_secs(60)).unwrap();
        }
        (editor.value.id, password)
    }

    pub fn login(&self, username: &str, password: &str) -> reqwest::blocking::Response {
        self.client
            .post(self.url("/v1/auth/token"))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .unwrap()
    }

    /// A new account with `roles`, logged in: its bearer token.
    pub fn token(&self, username: &str, roles: &[Role]) -> String {
        let (_, password) = self.editor(username, roles);
        let r = self.login(username, &password);
        assert_eq!(r.status(), 200);
        r.json::<serde_json::Value>().unwrap()["access_token"].as_str().unwrap().to_string()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // 1. the server (its workers hold clones of the pool); then the fields
        // drop in declaration order: 2. the pool, 3. … the database last.
        self.server.stop();
    }
}

/// Asserts a problem+json response and returns its body.
pub fn problem(response: reqwest::blocking::Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status, "unexpected status");
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert!(
        content_type.starts_with("application/problem+json"),
        "content-type was {content_type}"
    );
    let request_id = response.headers().get("x-request-id").map(|v| v.to_str().unwrap().to_string());
    let body: serde_json::Value = response.json().unwrap();
    assert_eq!(body["status"], status);
    assert!(
        body["title"].is_string() && body["type"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    assert_eq!(body["request_id"].as_str(), request_id.as_deref(), "problem repeats X-Request-Id");
    body
}

/// Authenticated calls, for brevity in tests.
impl TestApp {
    pub fn post_as(&self, token: &str, path: &str, body: &serde_json::Value) -> reqwest::blocking::Response {
        self.client.post(self.url(path)).bearer_auth(token).json(body).send().unwrap()
    }

    pub fn get_as(&self, token: &str, path: &str) -> reqwest::blocking::Response {
        self.client.get(self.url(path)).bearer_auth(token).send().unwrap()
    }

    pub fn patch_as(&self, token: &str, path: &str, if_match: Option<&str>, body: &serde_json::Value) -> reqwest::blocking::Response {
        let mut req = self
            .client
            .patch(self.url(path))
            .bearer_auth(token)
            .header("content-type", "application/merge-patch+json")
            .body(body.to_string());
        if let Some(tag) = if_match {
            req = req.header("if-match", tag);
        }
        req.send().unwrap()
    }

    /// POSTs and expects `status`; returns the JSON body.
    pub fn created(&self, token: &str, path: &str, body: &serde_json::Value) -> serde_json::Value {
        let r = self.post_as(token, path, body);
        let status = r.status();
        let text = r.text().unwrap();
        assert!(status.is_success(), "POST {path} → {status}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    pub fn count(&self, table: &str) -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
            .get_result::<N>(&mut self.conn())
            .unwrap()
            .n
    }

    /// (action, entity_kind, entity_version, actor_id, reason) of every revision, in seq order.
    pub fn log(&self) -> Vec<(String, String, i32, uuid::Uuid, Option<String>)> {
        use claimledger::db::schema::revisions::dsl::*;
        revisions
            .order(seq.asc())
            .select((action, entity_kind, entity_version, actor_id, reason))
            .load(&mut self.conn())
            .unwrap()
    }
}

/// A small article with a quote that occurs twice and one after curly quotes.
pub const ARTICLE_BODY: &str = "Putin said Russia has a “sufficient” stockpile of cluster munitions. \
Russia has not used them, he said. Human Rights Watch says Russia has used cluster munitions. \
Russia has not used them, he said again.";

/// An editor and a reviewer, an article, a claim, and one piece of evidence.
pub struct Fixture {
    pub editor: String,
    pub editor_id: uuid::Uuid,
    pub reviewer: String,
    pub reviewer_id: uuid::Uuid,
    pub article_id: String,
    pub claim_id: String,
    pub evidence_id: String,
}

impl TestApp {
    pub fn fixture(&self) -> Fixture {
        let (editor_id, pw) = self.editor("ed", &[Role::Editor]);
        let editor = self.login("ed", &pw).json::<serde_json::Value>().unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        let (reviewer_id, pw) = self.editor("rev", &[Role::Reviewer, Role::Editor]);
        let reviewer = self.login("rev", &pw).json::<serde_json::Value>().unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        let article = self.created(
            &editor,
            "/v1/articles",
            &serde_json::json!({"title": "Putin on cluster munitions", "language": "en", "published_on": "2023-07-17", "body": ARTICLE_BODY}),
        );
        let claim = self.created(
            &editor,
            "/v1/claims",
            &serde_json::json!({"statement": "Russia has not used cluster munitions.", "claimant": "Vladimir Putin", "claimant_kind": "person", "language": "en", "claimed_on": "2023-07-16", "tags": ["russia"]}),
        );
        let claim_id = claim["id"].as_str().unwrap().to_string();
        let evidence = self.created(
            &editor,
            &format!("/v1/claims/{claim_id}/evidence"),
            &serde_json::json!({"stance": "refutes", "summary": "HRW documents Russian use.", "article_id": article["id"], "exact": "Human Rights Watch says Russia has used cluster munitions."}),
        );
        Fixture {
            editor,
            editor_id,
            reviewer,
            reviewer_id,
            article_id: article["id"].as_str().unwrap().to_string(),
            claim_id,
            evidence_id: evidence["id"].as_str().unwrap().to_string(),
        }
    }
}

/// The real `claimledger` binary serving a test database, for what only a
/// separate process shows: its memory, its logs, its signals.
pub struct ServerProcess {
    pub child: std::process::Child,
    pub address: String,
    pub stderr_path: std::path::PathBuf,
}

impl ServerProcess {
    pub fn start(database_url: &str, extra_env: &[(&str, &str)]) -> ServerProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let scratch = std::env::temp_dir().join(format!("cl-server-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&scratch).unwrap();
        let stderr_path = scratch.join("server.log");
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_claimledger"));
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("CLAIMLEDGER_")) {
            cmd.env_remove(k);
        }
        cmd.arg("serve")
            .arg("--no-seed")
            .env("DATABASE_URL", database_url)
            .env("CLAIMLEDGER_BIND", format!("127.0.0.1:{port}"))
            .env("CLAIMLEDGER_JWT_SECRET", TEST_JWT_SECRET)
            .env("CLAIMLEDGER_WORKERS", "2")
            .env("CLAIMLEDGER_DATA_DIR", scratch.join("data"))
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&stderr_path).unwrap());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let address = format!("http://127.0.0.1:{port}");
        let client = reqwest::blocking::Client::new();
        for _ in 0..200 {
            if client
                .get(format!("{address}/readyz"))
                .send()
                .map(|r| r.status() == 200)
                .unwrap_or(false)
            {
                return ServerProcess {
                    child,
                    address,
                    stderr_path,
                };
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "the server did not become ready: {}",
            std::fs::read_to_string(&stderr_path).unwrap_or_default()
        );
    }

    /// A line of /proc/<pid>/status, in KiB (VmRSS, VmHWM).
    pub fn memory_kib(&self, field: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap()
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap()
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    pub fn signal(&self, signal: &str) {
        assert!(
            std::process::Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(self.child.id().to_string())
                .status()
                .unwrap()
                .success()
        );
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(scratch) = self.stderr_path.parent() {
            let _ = std::fs::remove_dir_all(scratch);
        }
    }
}

/// A counter or gauge from the server's `/metrics`.
pub fn metric(app: &TestApp, name: &str) -> f64 {
    metric_at(&app.client, &app.address, name)
}

/// A counter or gauge from `/metrics` of the server at `address`.
pub fn metric_at(client: &reqwest::blocking::Client, address: &str, name: &str) -> f64 {
    client
        .get(format!("{address}/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap()
        .lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no metric {name}"))
}
