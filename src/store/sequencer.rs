//! The sequencer: one at a time across servers (a session advisory lock on
//! a connection of its own; when its holder dies, the lock goes with the
//! session and another server takes over within a second). It takes
//! pending revisions in commit order, a batch per transaction, appends them
//! to the log, derives what the public sees, and announces the batch.
//! Writers wake the sequencer of their own server at once; writes made on
//! other servers are found by polling the (usually empty) pending table.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::checkpoints::{LogSigning, TlogStatus};
use super::factchecks::derive;
use crate::db::notify::{BatchNotice, LogWatch};
use crate::db::sql::{Param, Sql};
use crate::error::{AppError, AppResult};
use crate::ledger::{self, SequencedBatch};
use crate::model::EntityKind;

/// The advisory lock that makes a session the sequencer.
const SEQUENCER_LOCK: i64 = 727_274_003;

/// Revisions per batch (whole groups: a little more when the last is
/// large) while writes arrive one by one …
const BATCH_ROWS: i64 = 2_000;
/// … growing fourfold per full batch up to this while a backlog drains (a
/// bulk import, a restart after a crash): each batch derives the public
/// set of every claim it touches, and a bulk import's batches touch most
/// of them, so fewer, larger batches load each family fewer times …
const BACKLOG_BATCH_ROWS: i64 = 50_000;
/// … as long as the batch's snapshots stay under this: they travel to the
/// database as one array parameter, which PostgreSQL caps at 1 GB, and the
/// sequencer holds them in memory twice (text, then parsed).
const BACKLOG_BATCH_BYTES: usize = 128 << 20;

/// The pending table is a queue: every batch leaves dead rows behind, and
/// autovacuum visits a database at most once a minute. The sequencer
/// vacuums it itself, once this many rows went through it …
const VACUUM_AFTER_ROWS: usize = 20_000;
/// … or this long after the last vacuum, when anything did.
const VACUUM_AFTER: Duration = Duration::from_secs(2);

/// Claims named one by one in a notice; more and every cache drops all.
const MAX_NAMED_CLAIMS: usize = 2_000;

/// Revisions derived per transaction while catching up.
const CATCH_UP_BATCH: i64 = 5_000;

/// Leaves integrated into the tree per transaction while catching up.
const TREE_CATCH_UP_BATCH: i64 = 100_000;

#[derive(Clone, Debug)]
pub struct SequencerSettings {
    /// How often to look for writes made on other servers.
    pub poll: Duration,
    /// The checkpoint signer (the leader signs); None signs nothing.
    pub signing: Option<Arc<LogSigning>>,
    /// The signer's health, for `/readyz` and `/metrics`.
    pub tlog: Arc<TlogStatus>,
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

fn try_lead(conn: &mut PgConnection) -> AppResult<bool> {
    Ok(
        Sql::fixed("SELECT pg_try_advisory_lock($1) AS locked", vec![Param::BigInt(SEQUENCER_LOCK)])
            .get_result::<Locked>(conn)?
            .locked,
    )
}

fn release(conn: &mut PgConnection) -> AppResult<()> {
    Sql::fixed("SELECT pg_advisory_unlock($1) AS locked", vec![Param::BigInt(SEQUENCER_LOCK)]).get_result::<Locked>(conn)?;
    Ok(())
}

fn named(claims: Vec<uuid::Uuid>) -> Option<Vec<uuid::Uuid>> {
    (claims.len() <= MAX_NAMED_CLAIMS).then_some(claims)
}

/// One batch, in one transaction: sequence, integrate into the Merkle tree,
/// derive, announce (with the derived position, one statement). None when
/// nothing was pending. Committed batches are counted in the sequencer's
/// metrics (`register_metrics`).
pub fn step(conn: &mut PgConnection, state: &mut Sequencing) -> AppResult<Option<SequencedBatch>> {
    let tree = &mut state.tree;
    let batch_rows = state.batch_rows;
    let batch = super::transaction(conn, |conn| {
        let Some(batch) = ledger::sequence_batch(conn, batch_rows, tree)? else {
            return Ok(None);
        };
        derive::follow(conn, &batch.revisions, |changed| {
            BatchNotice {
                claims: named(changed.to_vec()),
                accounts: batch.revisions.iter().any(|r| r.entity_kind == EntityKind::Editor),
                groups: batch.groups.iter().map(|g| (g.grp, g.last_seq)).collect(),
                head: batch.head.seq,
                at_micros: batch.head.recorded_at.timestamp_micros(),
            }
            .encode()
        })?;
        Ok(Some(batch))
    });
    let batch = batch.inspect_err(|_| state.tree.forget())?;
    let (taken, bytes) = batch.as_ref().map_or((0, 0), |b| (b.revisions.len(), b.snapshot_bytes));
    if taken > 0 {
        metrics::sequenced(taken);
        state.queue.taken(conn, taken)?;
    }
    state.batch_rows = next_batch_rows(batch_rows, taken, bytes);
    Ok(batch)
}

/// The next batch's size: four times this one's while they come full and
/// four times their snapshots stay under the cap; the same while full and
/// under it; else (the queue emptied, or the rows grew large) the size for
/// live writes.
fn next_batch_rows(asked: i64, taken: usize, bytes: usize) -> i64 {
    if (taken as i64) < asked || bytes > BACKLOG_BATCH_BYTES {
        BATCH_ROWS
    } else if bytes.saturating_mul(4) <= BACKLOG_BATCH_BYTES {
        (asked * 4).min(BACKLOG_BATCH_ROWS)
    } else {
        asked
    }
}

/// What the sequencer carries from one batch to the next: the pending
/// table's vacuum schedule, the tree's frontier and the next batch's size.
pub struct Sequencing {
    queue: PendingQueue,
    tree: ledger::tree::KeptTree,
    batch_rows: i64,
}

impl Default for Sequencing {
    fn default() -> Self {
        Sequencing {
            queue: PendingQueue::default(),
            tree: ledger::tree::KeptTree::default(),
            batch_rows: BATCH_ROWS,
        }
    }
}

/// Keeps the pending table small: rows taken since the last vacuum.
struct PendingQueue {
    rows: usize,
    last: Instant,
}

impl Default for PendingQueue {
    fn default() -> Self {
        // Vacuum after the first batch: a queue left by an import or a
        // crash may be large.
        PendingQueue {
            rows: VACUUM_AFTER_ROWS,
            last: Instant::now(),
        }
    }
}

impl PendingQueue {
    fn taken(&mut self, conn: &mut PgConnection, rows: usize) -> AppResult<()> {
        self.rows += rows;
        if self.rows >= VACUUM_AFTER_ROWS || (self.rows > 0 && self.last.elapsed() >= VACUUM_AFTER) {
            ledger::sequence::vacuum_pending(conn)?;
            self.rows = 0;
            self.last = Instant::now();
        }
        Ok(())
    }
}

/// Derives the public set and integrates the Merkle tree for revisions
/// sequenced before either existed (an upgraded database), a batch per
/// transaction.
pub fn catch_up(conn: &mut PgConnection) -> AppResult<()> {
    loop {
        let (size, head) = super::transaction(conn, |conn| ledger::tree::catch_up_batch(conn, TREE_CATCH_UP_BATCH))?;
        if size as i64 >= head {
            break;
        }
        tracing::info!(size, head, "integrated the log into the Merkle tree");
    }
    loop {
        let done = super::transaction(conn, |conn| {
            let from = derive::derived_seq(conn)?;
            let head = ledger::head(conn)?.seq;
            if from >= head {
                return Ok(true);
            }
            let revisions = ledger::read_range(conn, from, head, CATCH_UP_BATCH)?;
            let upto = revisions.last().map_or(head, |r| r.seq);
            derive::follow(conn, &revisions, |changed| {
                BatchNotice {
                    claims: named(changed.to_vec()),
                    accounts: revisions.iter().any(|r| r.entity_kind == EntityKind::Editor),
                    groups: vec![],
                    head: upto,
                    at_micros: 0,
                }
                .encode()
            })?;
            tracing::info!(upto, head, "derived the public set from the log");
            Ok(false)
        })?;
        if done {
            return Ok(());
        }
    }
}

/// Sequences everything pending now, from a process that is not serving
/// (the CLI, tests): as the sequencer if no server is, else by waiting for
/// the server's sequencer, at most `timeout`.
pub fn settle(conn: &mut PgConnection, timeout: Duration) -> AppResult<()> {
    let started = Instant::now();
    loop {
        if try_lead(conn)? {
            let result = catch_up(conn).and_then(|_| while_pending(conn));
            release(conn)?;
            return result;
        }
        if !ledger::sequence::has_pending(conn)? {
            return Ok(());
        }
        if started.elapsed() > timeout {
            return Err(AppError::Unavailable(
                "writes are waiting to be sequenced, and the sequencer did not take them in time".into(),
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `pending` is sequenced — sequencing it here when no server
/// is — and returns its last revision's seq (for processes that do not
/// serve: the CLI, tests).
pub fn wait_for(conn: &mut PgConnection, pending: &ledger::PendingGroup, timeout: Duration) -> AppResult<i64> {
    let started = Instant::now();
    loop {
        if let Some(seq) = ledger::sequence::seq_of(conn, pending.last_entity_id, pending.last_entity_version)? {
            return Ok(seq);
        }
        if try_lead(conn)? {
            let result = while_pending(conn);
            release(conn)?;
            result?;
            continue;
        }
        if started.elapsed() > timeout {
            return Err(AppError::Unavailable(
                "the write is waiting to be sequenced, and the sequencer did not take it in time".into(),
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn while_pending(conn: &mut PgConnection) -> AppResult<()> {
    let mut state = Sequencing::default();
    while step(conn, &mut state)?.is_some() {}
    Ok(())
}

/// Starts this server's sequencer thread. It stands by until it holds the
/// lock, then sequences until `stop` is set or its connection fails (then
/// it reconnects and stands by again).
pub fn spawn(
    database_url: String,
    settings: SequencerSettings,
    watch: Arc<LogWatch>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("sequencer".into())
        .spawn(move || run(&database_url, &settings, &watch, &stop))
        .expect("spawn the sequencer")
}

fn run(url: &str, settings: &SequencerSettings, watch: &LogWatch, stop: &AtomicBool) {
    let mut announced_standby = false;
    while !stop.load(Ordering::Acquire) {
        let mut conn = match crate::db::connect(url) {
            Ok(c) => c,
            Err(_) => {
                std::thread::sleep(Duration::from_millis(500));
                continue;
            }
        };
        match try_lead(&mut conn) {
            Ok(true) => {
                tracing::info!("this server sequences the log");
                announced_standby = false;
                if let Err(e) = lead(&mut conn, settings, watch, stop) {
                    tracing::warn!(error = %e, "the sequencer stopped; reconnecting");
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
            Ok(false) => {
                if !announced_standby {
                    tracing::info!("another server sequences the log; standing by");
                    announced_standby = true;
                }
                drop(conn);
                wait_or_stop(stop, Duration::from_secs(1));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

fn wait_or_stop(stop: &AtomicBool, total: Duration) {
    let until = Instant::now() + total;
    while Instant::now() < until && !stop.load(Ordering::Acquire) {
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn lead(conn: &mut PgConnection, settings: &SequencerSettings, watch: &LogWatch, stop: &AtomicBool) -> AppResult<()> {
    catch_up(conn)?;
    let mut signer = settings.signing.as_deref().map(|s| CheckpointTimer::new(s, &settings.tlog));
    let mut state = Sequencing::default();
    // Whether to run a batch's transaction at once: when a writer of this
    // server woke us. Otherwise (the poll for other servers' writes) one
    // cheap look first: an idle sequencer costs one statement a poll, not
    // a transaction.
    let mut look = true;
    while !stop.load(Ordering::Acquire) {
        let stepped = if look || ledger::sequence::has_pending(conn)? {
            step(conn, &mut state)?
        } else {
            None
        };
        if let Some(timer) = signer.as_mut() {
            timer.grown |= stepped.is_some();
            timer.tick(conn)?;
        }
        look = match stepped {
            // More may have committed meanwhile: at once if a writer of this
            // server said so; others' writes are found by the poll.
            Some(_) if watch.sequencer_sleep(Duration::ZERO) => true,
            _ => watch.sequencer_sleep(signer.as_ref().map_or(settings.poll, |t| t.sleep(settings.poll))),
        };
    }
    // Sequence what committed before the stop, so no write waits for a restart.
    while_pending(conn)?;
    if let Some(timer) = signer.as_mut() {
        timer.sign(conn)?;
    }
    release(conn)
}

/// The sequencer's own counters: how many batches it committed and how
/// large they were. Process-wide, since one sequencer runs per process;
/// `/metrics` registers them beside the HTTP metrics (`register_metrics`).
mod metrics {
    use std::sync::LazyLock;

    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

    pub(super) struct SequencerMetrics {
        pub(super) batches: Counter,
        pub(super) revisions: Counter,
        pub(super) batch_revisions: Histogram,
    }

    pub(super) static SEQUENCER: LazyLock<SequencerMetrics> = LazyLock::new(|| SequencerMetrics {
        batches: Counter::default(),
        revisions: Counter::default(),
        // 1 … 8,192 revisions
        batch_revisions: Histogram::new(exponential_buckets(1.0, 2.0, 14)),
    });

    /// One batch of `revisions` revisions was sequenced (and committed).
    pub(super) fn sequenced(revisions: usize) {
        let m = &*SEQUENCER;
        m.batches.inc();
        m.revisions.inc_by(revisions as u64);
        m.batch_revisions.observe(revisions as f64);
    }
}

/// Adds the sequencer's metrics to a registry (the one `/metrics` renders):
/// `sequencer_batches`, `sequencer_revisions` (counters) and
/// `sequencer_batch_revisions` (a histogram of revisions per batch).
pub fn register_metrics(registry: &mut prometheus_client::registry::Registry) {
    let m = &*metrics::SEQUENCER;
    registry.register(
        "sequencer_batches",
        "Batches the sequencer of this process committed",
        m.batches.clone(),
    );
    registry.register(
        "sequencer_revisions",
        "Revisions the sequencer of this process sequenced",
        m.revisions.clone(),
    );
    registry.register(
        "sequencer_batch_revisions",
        "Revisions per batch the sequencer of this process committed",
        m.batch_revisions.clone(),
    );
}

/// Signs a checkpoint when the tree has grown, at most once per interval
/// (a refusal is retried once per interval).
struct CheckpointTimer<'a> {
    signing: &'a LogSigning,
    status: &'a TlogStatus,
    last: Option<Instant>,
    /// The tree may have grown since the last signing (true at start: the
    /// tree may have grown under another leader, or nothing is signed yet).
    grown: bool,
}

impl<'a> CheckpointTimer<'a> {
    fn new(signing: &'a LogSigning, status: &'a TlogStatus) -> Self {
        CheckpointTimer {
            signing,
            status,
            last: None,
            grown: true,
        }
    }

    fn due(&self) -> bool {
        self.grown && self.last.is_none_or(|t| t.elapsed() >= self.signing.interval)
    }

    fn tick(&mut self, conn: &mut PgConnection) -> AppResult<()> {
        if self.due() {
            self.sign(conn)?;
        }
        Ok(())
    }

    fn sign(&mut self, conn: &mut PgConnection) -> AppResult<()> {
        use super::checkpoints::Signing;
        match super::checkpoints::sign(conn, self.signing, self.status)? {
            Signing::Signed { .. } => {
                self.last = Some(Instant::now());
                self.grown = false;
            }
            Signing::Refused(_) => self.last = Some(Instant::now()),
            Signing::Unchanged => self.grown = false,
        }
        Ok(())
    }

    /// How long the sequencer may sleep without delaying the next checkpoint.
    fn sleep(&self, poll: Duration) -> Duration {
        match self.last {
            Some(t) if self.grown => poll.min(self.signing.interval.saturating_sub(t.elapsed()).max(Duration::from_millis(1))),
            _ => poll,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_grows_while_full_and_small_and_falls_back_when_not() {
        const MB: usize = 1 << 20;
        assert_eq!(next_batch_rows(2_000, 2_100, MB), 8_000);
        assert_eq!(next_batch_rows(32_000, 32_050, 20 * MB), 50_000);
        assert_eq!(next_batch_rows(50_000, 50_000, 40 * MB), 50_000);
        // Full, but four times its snapshots would pass the cap: it stays.
        assert_eq!(next_batch_rows(8_000, 8_000, 40 * MB), 8_000);
        // Past the cap (large rows), or the queue emptied: back to live size.
        assert_eq!(next_batch_rows(8_000, 8_000, 129 * MB), BATCH_ROWS);
        assert_eq!(next_batch_rows(32_000, 4_800, MB), BATCH_ROWS);
    }
}
