//! Integration throughput of the tlog core: appends N leaves in batches through a
//! `Frontier`, collecting the tile writes an integrator would store, and reports leaves/s.
//!
//!     cargo run --release --example tlog_integrate_bench -- [leaves] [batch]

use std::time::Instant;

use claimledger::tlog::{Frontier, Hash, TileDelta, leaf_hash};

fn main() {
    let mut args = std::env::args().skip(1);
    let total: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_000_000);
    let batch: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5_000);
    // Stand-ins for entry_hash values (32 bytes each), made before timing.
    let entries: Vec<[u8; 32]> = (0..batch as u64).map(|i| leaf_hash(&i.to_be_bytes()).0).collect();
    let mut frontier = Frontier::empty();
    let mut delta = TileDelta::new();
    let mut leaf_hashes: Vec<Hash> = Vec::with_capacity(batch);
    let (mut written_tiles, mut written_bytes) = (0usize, 0usize);
    let start = Instant::now();
    while frontier.size() < total {
        let n = batch.min((total - frontier.size()) as usize);
        leaf_hashes.clear();
        leaf_hashes.extend(entries[..n].iter().map(|e| leaf_hash(e)));
        frontier.append(&leaf_hashes, &mut delta);
        for w in delta.writes() {
            written_tiles += 1;
            written_bytes += w.hashes.len() * 32;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} leaves in batches of {batch}: {:.3} s, {:.0} leaves/s; {written_tiles} tile writes, {written_bytes} bytes; root {}",
        frontier.size(),
        secs,
        frontier.size() as f64 / secs,
        frontier.root()
    );
}
