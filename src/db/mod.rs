//! The database: connection pool, embedded migrations, and (for development and
//! tests) a private PostgreSQL cluster.

pub mod cluster;
pub mod notify;
pub mod replica;
pub mod schema;
pub mod sql;

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection};
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::DbSettings;
use crate::error::{AppError, AppResult};

pub type PgPool = r2d2::Pool<Manager>;
pub type PooledConn = r2d2::PooledConnection<Manager>;

/// A pooled connection that its user can mark broken. libpq never
/// reconnects, and diesel only reports a connection broken when a
/// transaction failed, so a connection the server dropped (an outage, a
/// restart) would otherwise go back into the pool and fail every request
/// that draws it — without paying for a ping on every checkout.
pub struct PgConn {
    pub conn: PgConnection,
    pub broken: bool,
}

impl PgConn {
    /// Runs `f` on the connection. An `Unavailable` error means the
    /// connection may be gone: it is marked broken and leaves the pool.
    /// The one place that decides so.
    pub fn run<T>(&mut self, f: impl FnOnce(&mut PgConnection) -> AppResult<T>) -> AppResult<T> {
        let result = f(&mut self.conn);
        if matches!(result, Err(AppError::Unavailable(_))) {
            self.broken = true;
        }
        result
    }
}

/// Runs `f` with a connection from the pool (503 when none comes in time).
pub fn with_pooled<T>(pool: &PgPool, f: impl FnOnce(&mut PgConnection) -> AppResult<T>) -> AppResult<T> {
    pool.get().map_err(AppError::from)?.run(f)
}

pub struct Manager(ConnectionManager<PgConnection>);

impl r2d2::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PgConn, Self::Error> {
        self.0.connect().map(|conn| PgConn { conn, broken: false })
    }

    fn is_valid(&self, c: &mut PgConn) -> Result<(), Self::Error> {
        self.0.is_valid(&mut c.conn)
    }

    fn has_broken(&self, c: &mut PgConn) -> bool {
        c.broken || self.0.has_broken(&mut c.conn)
    }
}

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Every pooled connection gets a statement timeout, so one slow query cannot
/// hold a connection (and the log head) forever.
#[derive(Debug)]
struct SessionSettings {
    statement_timeout: Duration,
}

impl CustomizeConnection<PgConn, diesel::r2d2::Error> for SessionSettings {
    fn on_acquire(&self, c: &mut PgConn) -> Result<(), diesel::r2d2::Error> {
        let conn = &mut c.conn;
        let ms = self.statement_timeout.as_millis();
        conn.batch_execute(&format!(
            "SET statement_timeout = {ms}; SET lock_timeout = {ms}; \
             SET idle_in_transaction_session_timeout = {}; SET TIME ZONE 'UTC'",
            ms * 2
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Builds the pool without connecting: the service starts (and answers 503)
/// even while the database is down, and recovers when it returns.
pub fn build_pool(database_url: &str, settings: &DbSettings) -> PgPool {
    r2d2::Pool::builder()
        .max_size(settings.pool_size)
        .min_idle(Some(settings.pool_size.min(2)))
        .connection_timeout(settings.connect_timeout)
        .test_on_check_out(false)
        .connection_customizer(Box::new(SessionSettings {
            statement_timeout: settings.statement_timeout,
        }))
        .build_unchecked(Manager(ConnectionManager::new(database_url)))
}

/// Runs pending migrations under an advisory lock, so two processes starting
/// at once do not both try.
pub fn migrate(conn: &mut PgConnection) -> AppResult<usize> {
    diesel::sql_query("SELECT pg_advisory_lock(727274001)").execute(conn)?;
    let result = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|v| v.len())
        .map_err(|e| AppError::internal(format!("migration failed: {e}")));
    diesel::sql_query("SELECT pg_advisory_unlock(727274001)").execute(conn)?;
    result
}

/// Ready: reachable and fully migrated.
pub fn check_ready(conn: &mut PgConnection) -> AppResult<()> {
    let pending = conn
        .has_pending_migration(MIGRATIONS)
        .map_err(|_| AppError::Unavailable("the database is unavailable".into()))?;
    if pending {
        return Err(AppError::Unavailable("the database schema is not migrated".into()));
    }
    Ok(())
}

/// Whether `conn` is inside a transaction now.
pub fn in_transaction(conn: &mut PgConnection) -> AppResult<bool> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    Ok(AnsiTransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .map_err(AppError::from)?
        .is_some())
}

pub fn connect(database_url: &str) -> AppResult<PgConnection> {
    PgConnection::establish(database_url)
        .map_err(|e| AppError::Unavailable(format!("cannot connect to the database: {}", redact_url_error(&e.to_string()))))
}

/// libpq errors can echo the connection string; keep passwords out of messages.
fn redact_url_error(message: &str) -> String {
    message
        .split_whitespace()
        .map(|word| {
            if word.contains("password") || word.contains("://") {
                "[redacted]"
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Hides the password of a postgres URL for logs.
pub fn display_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{}:***@{}", &url[..scheme_end + 3], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn display_url_hides_password() {
        assert_eq!(super::display_url("postgres://u:secret@h:1/db"), "postgres://u:***@h:1/db");
        assert_eq!(super::display_url("postgres://h/db"), "postgres://h/db");
    }
}
