//! Reads scaled out on PostgreSQL itself: with `CLAIMLEDGER_REPLICA_URL`,
//! public and audit reads go to a streaming hot standby while it keeps up.
//! A monitor asks the standby, several times a second, how far it has
//! replayed the log (its `log_head` and derived position); a read goes to it
//! only if it has replayed every position the read needs — what the reader
//! asked for (`min_seq`), what this server acknowledged to its writers, and
//! for a read that fills the cache, everything this server has applied —
//! and is not behind by more than `CLAIMLEDGER_REPLICA_MAX_LAG_MS`.
//! Otherwise (down, behind, or not yet there after a short wait) the
//! primary answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::notify::LogWatch;
use super::{PgPool, build_pool};
use crate::config::DbSettings;

/// How often the monitor asks the standby.
const POLL: Duration = Duration::from_millis(50);

pub struct Replica {
    pub pool: PgPool,
    max_lag: Duration,
    /// The derived log position the standby has replayed (-1: unknown or down).
    replayed: AtomicI64,
    /// How far behind this server's applied head it is, in ms (0: caught up).
    lag_ms: AtomicI64,
    up: AtomicBool,
}

#[derive(QueryableByName)]
struct Replayed {
    #[diesel(sql_type = BigInt)]
    seq: i64,
}

impl Replica {
    pub fn new(url: &str, settings: &DbSettings, max_lag: Duration) -> Arc<Replica> {
        Arc::new(Replica {
            pool: build_pool(url, settings),
            max_lag,
            replayed: AtomicI64::new(-1),
            lag_ms: AtomicI64::new(i64::MAX),
            up: AtomicBool::new(false),
        })
    }

    pub fn replayed(&self) -> i64 {
        self.replayed.load(Ordering::Acquire)
    }

    pub fn lag_ms(&self) -> i64 {
        self.lag_ms.load(Ordering::Relaxed)
    }

    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    fn within_lag(&self) -> bool {
        self.is_up() && self.lag_ms() <= self.max_lag.as_millis() as i64
    }

    /// Whether a read that needs position `needed` may go to the standby,
    /// waiting up to `wait` for it to get there (when it is healthy).
    pub async fn serves(&self, needed: i64, wait: Duration) -> bool {
        let until = Instant::now() + wait;
        loop {
            if !self.within_lag() {
                return false;
            }
            if self.replayed() >= needed {
                return true;
            }
            if Instant::now() >= until {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn poll(&self, log: &LogWatch) {
        let replayed = super::with_pooled(&self.pool, |conn| {
            Ok(diesel::sql_query("SELECT public_seq AS seq FROM log_derived")
                .get_result::<Replayed>(conn)?
                .seq)
        });
        match replayed {
            Ok(seq) => {
                self.replayed.store(seq, Ordering::Release);
                self.lag_ms.store(log.behind_ms(seq), Ordering::Relaxed);
                if !self.up.swap(true, Ordering::AcqRel) {
                    tracing::info!(seq, "the read replica answers");
                }
            }
            Err(e) => {
                self.replayed.store(-1, Ordering::Release);
                if self.up.swap(false, Ordering::AcqRel) {
                    tracing::warn!(error = %e, "the read replica does not answer; reads go to the primary");
                }
            }
        }
    }

    /// Starts the monitor thread; it stops when `stop` is set.
    pub fn monitor(self: &Arc<Self>, log: Arc<LogWatch>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
        let replica = self.clone();
        std::thread::Builder::new()
            .name("replica-monitor".into())
            .spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    replica.poll(&log);
                    std::thread::sleep(POLL);
                }
            })
            .expect("spawn the replica monitor")
    }
}
