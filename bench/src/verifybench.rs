//! `verify-bench`: `ledger::verify` over the whole log, against plain SHA-256
//! over exactly the bytes it hashes (each entry's RFC 8785 text, then the
//! 64-byte chain input). The reference's bytes are prepared untimed; its
//! clock runs only around the two digests per revision. Also timed apart,
//! to show where verification spends its time: reading the rows (one
//! connection, snapshots as the JSON text the log stores, as `ledger::verify`
//! reads them) and canonicalising them from that text.

use std::time::{Duration, Instant};

use claimledger::ledger::hash::{GENESIS, canonical_of_text};
use claimledger::ledger::verify::{StoredRevision, read_stored};
use claimledger::model::format_timestamp;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::fill::Progress;

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,
}

const BATCH: i64 = 2_000;

/// A revision's seq and its stored entry and chain hashes.
type SeqAndHashes = (i64, Option<[u8; 32]>, Option<[u8; 32]>);

pub fn run(args: VerifyArgs) -> Result<(), Box<dyn std::error::Error>> {
    let mut conn = PgConnection::establish(&args.database_url)?;
    let mut second = PgConnection::establish(&args.database_url)?;
    let head = claimledger::ledger::head(&mut conn)?;
    let total = head.seq as u64;

    // Warm the cache the same way for both: one untimed read of the log.
    let _ = read_all(&mut conn)?;

    let mut progress = Progress::new(total, "verify");
    let started = Instant::now();
    let report = claimledger::ledger::verify(&mut conn, Some(&mut second), 1, None, |n, _| progress.set(n))?;
    let verify = started.elapsed();
    progress.finish();
    if !report.ok {
        return Err(format!("the log does not verify: {report:?}").into());
    }

    // The reference, and the parts of verification timed apart.
    let mut fetch = Duration::ZERO;
    let mut jcs = Duration::ZERO;
    let mut sha = Duration::ZERO;
    let mut bytes = 0u64;
    let mut prev = GENESIS.to_vec();
    let mut after = 0i64;
    let mut checked = 0u64;
    loop {
        // Rows are borrowed from the driver only while they are read: each
        // is canonicalised there (timed apart), its stored hashes kept.
        let mut texts: Vec<Vec<u8>> = Vec::with_capacity(BATCH as usize);
        let mut stored: Vec<SeqAndHashes> = Vec::with_capacity(BATCH as usize);
        let mut canonicalising = Duration::ZERO;
        let t = Instant::now();
        read_stored(&mut conn, after, after + BATCH, |r| {
            let t = Instant::now();
            texts.push(entry_bytes(&r));
            canonicalising += t.elapsed();
            stored.push((r.seq, r.entry_hash, r.chain_hash));
        })?;
        fetch += t.elapsed().saturating_sub(canonicalising);
        jcs += canonicalising;
        let Some(last) = stored.last() else { break };
        after = last.0;
        let t = Instant::now();
        for ((seq, stored_entry, stored_chain), text) in stored.iter().zip(&texts) {
            let eh: [u8; 32] = Sha256::digest(text).into();
            let mut h = Sha256::new();
            h.update(&prev);
            h.update(eh);
            let ch: [u8; 32] = h.finalize().into();
            prev.clear();
            prev.extend_from_slice(&ch);
            if Some(eh) != *stored_entry || Some(ch) != *stored_chain {
                return Err(format!("reference hashing disagrees at seq {seq}").into());
            }
        }
        sha += t.elapsed();
        bytes += texts.iter().map(|t| t.len() as u64 + 64).sum::<u64>();
        checked += stored.len() as u64;
    }
    let per_sec = |d: Duration| checked as f64 / d.as_secs_f64().max(1e-9);
    println!(
        "{}",
        json!({
            "kind": "verify",
            "revisions": checked,
            "verify_seconds": verify.as_secs_f64(),
            "verify_per_sec": report.checked as f64 / verify.as_secs_f64().max(1e-9),
            "sha256_seconds": sha.as_secs_f64(),
            "sha256_per_sec": per_sec(sha),
            "sha256_mib_per_sec": bytes as f64 / 1048576.0 / sha.as_secs_f64().max(1e-9),
            "hashed_bytes": bytes,
            "fetch_seconds": fetch.as_secs_f64(),
            "fetch_per_sec": per_sec(fetch),
            "jcs_seconds": jcs.as_secs_f64(),
            "jcs_per_sec": per_sec(jcs),
        })
    );
    Ok(())
}

fn read_all(conn: &mut PgConnection) -> Result<u64, Box<dyn std::error::Error>> {
    let mut after = 0;
    let mut n = 0;
    loop {
        let mut last = None;
        read_stored(conn, after, after + BATCH, |r| {
            last = Some(r.seq);
            n += 1;
        })?;
        let Some(seq) = last else { return Ok(n) };
        after = seq;
    }
}

/// JCS(entry), exactly what `ledger::verify` hashes for this revision.
fn entry_bytes(r: &StoredRevision<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(r.snapshot.len() + 256);
    canonical_of_text(&mut out, &r.head, &format_timestamp(r.recorded_at), r.snapshot).expect("the log stores JSON");
    out
}
