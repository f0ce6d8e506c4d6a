//! Transparency (issue 14): `checkpoint-latency` — how long after a write's
//! acknowledgement a signed checkpoint covers it, seen from a client that
//! polls `GET /v1/log/checkpoint`; `tree-bench` — how fast the Merkle tree
//! integrates leaves (the fill integrates while it sequences, untimed).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use claimledger::ledger;
use claimledger::tlog::{Frontier, TileDelta};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde_json::json;

use crate::push::pct;
use crate::synth::{KIND_VERDICT, id};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

#[derive(clap::Args, Debug)]
pub struct CheckpointArgs {
    /// The server. The editor's token: BENCH_EDITOR_TOKEN.
    #[arg(long)]
    pub base: String,
    /// Draft verdicts lo..=hi this step edits, in turn (no other phase may use them).
    #[arg(long)]
    pub lo: u64,
    #[arg(long)]
    pub hi: u64,
    /// Writes per second, one at a time on a fixed schedule; meanwhile a
    /// poller reads the checkpoint every --poll-ms and times each write
    /// from its acknowledgement to the first checkpoint that covers it.
    /// (Waiting for each write's checkpoint before the next would start
    /// every write just after a signing: each would wait a whole interval.)
    #[arg(long, default_value_t = 5.0)]
    pub rate: f64,
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Between two polls of the checkpoint.
    #[arg(long, default_value_t = 10)]
    pub poll_ms: u64,
    /// Give up on one write's checkpoint after this long.
    #[arg(long, default_value_t = 10.0)]
    pub give_up_seconds: f64,
}

/// The tree size of a checkpoint note (its second line).
pub fn checkpoint_size(note: &str) -> Option<u64> {
    note.lines().nth(1).and_then(|l| l.trim().parse().ok())
}

fn version_of(etag: Option<&reqwest::header::HeaderValue>) -> Option<i32> {
    etag.and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().trim_start_matches("W/").trim_matches('"').parse().ok())
}

pub fn checkpoint_latency(args: CheckpointArgs) -> Res<()> {
    let token = std::env::var("BENCH_EDITOR_TOKEN").map_err(|_| "BENCH_EDITOR_TOKEN is not set")?;
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .no_proxy()
        .build()?;
    let base = args.base.trim_end_matches('/');
    // The drafts and their versions.
    let mut pool: Vec<(u64, i32)> = vec![];
    for n in args.lo..=args.hi {
        let r = http
            .get(format!("{base}/v1/verdicts/{}", id(KIND_VERDICT, n)))
            .bearer_auth(&token)
            .send()?;
        let version = version_of(r.headers().get("etag"));
        let body: serde_json::Value = r.json()?;
        if let (Some(v), "draft") = (version, body["status"].as_str().unwrap_or("")) {
            pool.push((n, v));
        }
    }
    if pool.is_empty() {
        return Err(format!("checkpoint-latency: no draft verdict in {}..={}", args.lo, args.hi).into());
    }
    let cp_url = format!("{base}/v1/log/checkpoint");
    let run = format!("{:x}", std::process::id() as u64 ^ chrono::Utc::now().timestamp_micros() as u64);
    // Writes acknowledged and not yet covered: (seq, acknowledged at).
    let pending: Mutex<Vec<(u64, Instant)>> = Mutex::new(vec![]);
    let writing = AtomicBool::new(true);
    let (mut errors, mut first_error, mut writes) = (0u64, None::<String>, 0u64);
    let started = Instant::now();
    // The poller: one GET of the checkpoint every poll_ms, resolving every
    // pending write its size covers (the time is when the answer was read).
    let poller = || -> Res<(Vec<f64>, u64, u64)> {
        let (mut lat, mut timeouts, mut polls) = (vec![], 0u64, 0u64);
        loop {
            let done = !writing.load(Ordering::Acquire);
            let text = http.get(&cp_url).send()?.error_for_status()?.text()?;
            let at = Instant::now();
            polls += 1;
            let size = checkpoint_size(&text).ok_or_else(|| format!("not a checkpoint: {text}"))?;
            let mut p = pending.lock().unwrap_or_else(|e| e.into_inner());
            p.retain(|(seq, ack)| {
                if *seq <= size {
                    lat.push((at - *ack).as_secs_f64() * 1000.0);
                    false
                } else if (at - *ack).as_secs_f64() > args.give_up_seconds {
                    timeouts += 1;
                    false
                } else {
                    true
                }
            });
            if done && p.is_empty() {
                return Ok((lat, timeouts, polls));
            }
            drop(p);
            std::thread::sleep(Duration::from_millis(args.poll_ms));
        }
    };
    let (lat, timeouts, polls) = std::thread::scope(|s| -> Res<(Vec<f64>, u64, u64)> {
        let polling = s.spawn(|| poller().map_err(|e| e.to_string()));
        let mut k = 0usize;
        let outcome = (|| -> Res<()> {
            while started.elapsed().as_secs_f64() < args.seconds {
                let slot = started + Duration::from_secs_f64(k as f64 / args.rate);
                if let Some(wait) = slot.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                let i = k % pool.len();
                k += 1;
                let (n, v) = pool[i];
                let r = http
                    .patch(format!("{base}/v1/verdicts/{}", id(KIND_VERDICT, n)))
                    .bearer_auth(&token)
                    .header("content-type", "application/merge-patch+json")
                    .header("if-match", format!("\"{v}\""))
                    .body(
                        json!({"headline": format!("Checkpoint latency probe {run}-{k}"), "reason": "benchmark: checkpoint latency"})
                            .to_string(),
                    )
                    .send()?;
                let ack = Instant::now();
                let status = r.status();
                let seq = r
                    .headers()
                    .get("log-seq")
                    .and_then(|h| h.to_str().ok())
                    .and_then(|h| h.trim().parse::<u64>().ok());
                let new_version = version_of(r.headers().get("etag"));
                let body = r.text().unwrap_or_default();
                match (seq, status.is_success()) {
                    (Some(seq), true) => {
                        writes += 1;
                        pool[i].1 = new_version.unwrap_or(v + 1);
                        pending.lock().unwrap_or_else(|e| e.into_inner()).push((seq, ack));
                    }
                    _ => {
                        errors += 1;
                        first_error.get_or_insert(format!("PATCH verdict {n}: {status}: {body}"));
                        // Read its version again (an earlier run may have edited it).
                        let r = http
                            .get(format!("{base}/v1/verdicts/{}", id(KIND_VERDICT, n)))
                            .bearer_auth(&token)
                            .send()?;
                        if let Some(v) = version_of(r.headers().get("etag")) {
                            pool[i].1 = v;
                        }
                    }
                }
            }
            Ok(())
        })();
        writing.store(false, Ordering::Release);
        let polled = polling.join().map_err(|_| "the poller panicked")??;
        outcome?;
        Ok(polled)
    })?;
    let mut lat = lat;
    if let Some(e) = first_error {
        eprintln!("checkpoint-latency: {errors} writes failed; the first: {e}");
    }
    if lat.is_empty() {
        return Err("checkpoint-latency: no write was covered by a checkpoint".into());
    }
    lat.sort_by(f64::total_cmp);
    println!(
        "{}",
        json!({
            "kind": "checkpoint_latency",
            "writes": writes,
            "errors": errors,
            "timeouts": timeouts,
            "polls": polls,
            "poll_ms": args.poll_ms,
            "rate": args.rate,
            "seconds": started.elapsed().as_secs_f64(),
            "p50_ms": pct(&lat, 0.50),
            "p99_ms": pct(&lat, 0.99),
            "max_ms": lat.last().copied().unwrap_or(0.0),
        })
    );
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct TreeArgs {
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,
    /// Leaves per in-memory append (the sequencer integrates a batch of at
    /// most 1,000 pending groups at a time).
    #[arg(long, default_value_t = 1_000)]
    pub memory_batch: usize,
    /// Leaves per transaction on the catch-up path (the server's own value,
    /// store::sequencer's TREE_CATCH_UP_BATCH).
    #[arg(long, default_value_t = 100_000)]
    pub db_batch: i64,
}

/// Times the tree's integration over the whole log, twice: in memory
/// (`tlog::Frontier`, batches of --memory-batch), and through the
/// database as the server catches up (`ledger::tree::catch_up_batch`:
/// read the leaves, append, write the tiles), from an empty tree inside a
/// transaction that is rolled back. Both roots must equal the stored one.
pub fn tree_bench(args: TreeArgs) -> Res<()> {
    let mut conn = PgConnection::establish(&args.database_url)?;
    let head = ledger::head(&mut conn)?.seq;
    let size = ledger::tree::tree_size(&mut conn)?;
    if size as i64 != head {
        return Err(format!("the tree holds {size} leaves, the log {head}: not integrated").into());
    }
    let root = ledger::tree::root_at(&mut conn, size)?;

    let t = Instant::now();
    let leaves = ledger::tree::leaf_data(&mut conn, 0, head)?;
    let read_secs = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut front = Frontier::empty();
    let mut delta = TileDelta::new();
    let mut tile_hashes = 0usize;
    for batch in leaves.chunks(args.memory_batch.max(1)) {
        front.append_data(batch.iter().map(Vec::as_slice), &mut delta);
        tile_hashes += delta.writes().iter().map(|w| w.hashes.len()).sum::<usize>();
    }
    let memory_secs = t.elapsed().as_secs_f64();
    if front.root() != root {
        return Err("the tree integrated in memory does not have the stored root".into());
    }
    drop(leaves);

    let mut outcome: Option<Result<(f64, u64), String>> = None;
    let _ = conn.transaction::<(), diesel::result::Error, _>(|c| {
        let r = (|| -> Result<(f64, u64), String> {
            diesel::sql_query("DELETE FROM tlog_tiles").execute(c).map_err(|e| e.to_string())?;
            diesel::sql_query("UPDATE log_derived SET tree_size = 0")
                .execute(c)
                .map_err(|e| e.to_string())?;
            let t = Instant::now();
            let mut batches = 0u64;
            loop {
                let (new_size, head) = ledger::tree::catch_up_batch(c, args.db_batch).map_err(|e| e.to_string())?;
                batches += 1;
                if new_size as i64 >= head {
                    break;
                }
            }
            let secs = t.elapsed().as_secs_f64();
            if ledger::tree::root_at(c, size).map_err(|e| e.to_string())? != root {
                return Err("the tree integrated through the database does not have the stored root".into());
            }
            Ok((secs, batches))
        })();
        outcome = Some(r);
        Err(diesel::result::Error::RollbackTransaction)
    });
    let (db_secs, db_batches) = outcome.ok_or("the transaction did not run")??;
    if ledger::tree::tree_size(&mut conn)? != size {
        return Err("the tree was not restored".into());
    }
    let leaves = head as f64;
    println!(
        "{}",
        json!({
            "kind": "tree",
            "leaves": head,
            "read_seconds": read_secs,
            "memory_batch": args.memory_batch,
            "memory_seconds": memory_secs,
            "memory_per_sec": leaves / memory_secs.max(1e-9),
            "tile_hashes": tile_hashes,
            "db_batch": args.db_batch,
            "db_batches": db_batches,
            "db_seconds": db_secs,
            "db_per_sec": leaves / db_secs.max(1e-9),
        })
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_note_gives_its_size() {
        let note = "example.org/log\n1234\nq4xc0Ey0tVP0cxXNmHGp8LmBvqgqvU0s5WnC8mIwmDs=\n\n— example.org/log Az3grl...\n";
        assert_eq!(checkpoint_size(note), Some(1234));
        assert_eq!(checkpoint_size("nonsense"), None);
    }
}
