//! Writes a claimledger-shaped transparency log as static files for external verifiers
//! (tests/tlog-go), and signs / opens notes with our code for key interoperability checks.
//!
//!     tlog_static_log write DIR [LEAVES]   a log of LEAVES fake revisions, laid out as the API's paths
//!     tlog_static_log sign KEYFILE TEXTFILE   print TEXTFILE signed with a signed-note private key
//!     tlog_static_log open VKEYFILE NOTEFILE  verify a signed note with a vkey
//!
//! `write` goes the way the service will: the integrator appends batches to a `Frontier`
//! and stores tile rows that grow; a checkpoint is signed at several sizes (partial tiles
//! of each are published) and each is submitted to a witness with a consistency proof;
//! proofs are generated from a `TileSet` holding only the tiles the planners name.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use sha2::{Digest, Sha256};

use claimledger::tlog::bundle::encode_entry_bundle;
use claimledger::tlog::merkle::{consistency_proof, inclusion_proof, prove_extension};
use claimledger::tlog::tile::{bundles_for_size, tiles_for_consistency, tiles_for_frontier, tiles_for_inclusion, tiles_for_size};
use claimledger::tlog::{Checkpoint, Cosigner, Frontier, NoteSigner, NoteVerifier, SignedNote, TileDelta, TileId, TileSet, TlogProof};
use claimledger::witness::Witness;

type Res<T> = Result<T, Box<dyn std::error::Error>>;
const ORIGIN: &str = "claimledger.example/log";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["write", dir] => write(Path::new(dir), 70_123),
        ["write", dir, n] => n
            .parse()
            .map_err(|e| format!("LEAVES: {e}").into())
            .and_then(|n| write(Path::new(dir), n)),
        ["sign", key, text] => sign(key, text),
        ["open", vkey, note] => open(vkey, note),
        _ => Err("usage: tlog_static_log write DIR [LEAVES] | sign KEYFILE TEXTFILE | open VKEYFILE NOTEFILE".into()),
    };
    if let Err(e) = result {
        eprintln!("tlog_static_log: {e}");
        std::process::exit(1);
    }
}

fn sign(key: &str, text: &str) -> Res<()> {
    let signer = NoteSigner::from_private_key_text(&fs::read_to_string(key)?)?;
    let mut note = SignedNote::new(fs::read_to_string(text)?)?;
    note.sign(&signer)?;
    print!("{}", note.to_text());
    Ok(())
}

fn open(vkey: &str, note: &str) -> Res<()> {
    let v = NoteVerifier::from_vkey(&fs::read_to_string(vkey)?)?;
    let (note, verified) = claimledger::tlog::note::open(&fs::read(note)?, &[&v])?;
    println!(
        "OK (Rust) {} verified signature(s) by {}; text: {:?}",
        verified.verified.len(),
        v.vkey(),
        note.text()
    );
    Ok(())
}

fn put(dir: &Path, path: &str, bytes: &[u8]) -> Res<()> {
    let p = dir.join(path);
    if let Some(parent) = p.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(p, bytes)?;
    Ok(())
}

/// The stored tile rows, as the integrator keeps them in PostgreSQL: one growing row per tile.
struct Rows(BTreeMap<(u8, u64), Vec<u8>>);

impl Rows {
    fn apply(&mut self, delta: &TileDelta) -> Res<()> {
        for w in delta.writes() {
            let row = self.0.entry((w.tile.level, w.tile.index)).or_default();
            if row.len() != usize::from(w.offset) * 32 {
                return Err(format!("tile {} row has {} bytes, the write starts at hash {}", w.tile, row.len(), w.offset).into());
            }
            row.extend_from_slice(&w.bytes());
        }
        Ok(())
    }

    /// A tile at a given width: the prefix of its row (hashes never change once written).
    fn tile(&self, t: TileId) -> Res<Vec<u8>> {
        let row = self.0.get(&(t.level, t.index)).ok_or_else(|| format!("no row for {t}"))?;
        Ok(row.get(..t.byte_len()).ok_or_else(|| format!("row for {t} is short"))?.to_vec())
    }

    fn load(&self, tiles: &[TileId]) -> Res<TileSet> {
        let mut set = TileSet::new();
        for t in tiles {
            set.insert(t.level, t.index, self.tile(*t)?)?;
        }
        Ok(set)
    }
}

fn write(dir: &Path, leaves: u64) -> Res<()> {
    if leaves < 4 {
        return Err("LEAVES must be at least 4".into());
    }
    fs::create_dir_all(dir)?;
    let log_key = NoteSigner::generate(ORIGIN)?;
    let witness_key = NoteSigner::generate("witness.claimledger.example")?;
    put(dir, "log.key", format!("{}\n", log_key.private_key_text()).as_bytes())?;
    put(dir, "log.vkey", format!("{}\n", log_key.verifier().vkey()).as_bytes())?;
    put(
        dir,
        "witness.vkey",
        format!("{}\n", Cosigner::new(&witness_key).verifier().vkey()).as_bytes(),
    )?;
    let witness_dir = dir.join("witness-state");
    let witness = Witness::open(&witness_key, vec![log_key.verifier()], &witness_dir)?;

    // Fake revisions: entry_hash = SHA-256 of some JSON; the leaf data is its 32 raw bytes.
    let entries: Vec<[u8; 32]> = (1..=leaves)
        .map(|seq| Sha256::digest(format!("{{\"seq\":{seq}}}")).into())
        .collect();
    let mut sizes: Vec<u64> = [1, 256, 1_000, leaves / 3, 65_536, leaves - 1, leaves]
        .into_iter()
        .filter(|s| *s >= 1 && *s <= leaves)
        .collect();
    sizes.sort_unstable();
    sizes.dedup();

    let (mut frontier, mut delta, mut rows) = (Frontier::empty(), TileDelta::new(), Rows(BTreeMap::new()));
    let (mut last_size, mut last_root, mut last_note) = (0u64, claimledger::tlog::EMPTY_ROOT, String::new());
    for &size in &sizes {
        while frontier.size() < size {
            let end = size.min(frontier.size() + 4_096);
            let batch = &entries[frontier.size() as usize..end as usize];
            frontier.append_data(batch.iter().map(|e| e.as_slice()), &mut delta);
            rows.apply(&delta)?;
        }
        // The integrator's rule: prove the new tree extends the last signed one, or do not sign.
        let planned = if last_size == 0 {
            vec![]
        } else {
            tiles_for_consistency(last_size, size)?
        };
        let proof = prove_extension(last_size, &last_root, size, &frontier.root(), &rows.load(&planned)?)?;
        let mut note = Checkpoint::new(ORIGIN, size, frontier.root())?.sign(&log_key)?;
        // The witness holds the last checkpoint too, so the same proof serves it.
        let body = claimledger::witness::protocol::format_add_checkpoint(last_size, &proof, &note.to_text());
        let cosig = witness.add_checkpoint(body.as_bytes(), 1_700_000_000 + size)?;
        note.add_signature(claimledger::tlog::NoteSignature::parse_line(cosig.trim_end_matches('\n'), 1)?)?;
        // Partial tiles and bundles of this size are published with its checkpoint.
        for t in tiles_for_frontier(size) {
            put(dir, &t.path(), &rows.tile(t)?)?;
        }
        if size < leaves {
            put(dir, &format!("checkpoints/{size:08}"), note.to_text().as_bytes())?;
        }
        (last_size, last_root, last_note) = (size, frontier.root(), note.to_text());
    }
    put(dir, "checkpoint", last_note.as_bytes())?;
    for t in tiles_for_size(leaves) {
        put(dir, &t.path(), &rows.tile(t)?)?;
    }
    for b in bundles_for_size(leaves) {
        let first = b.first_leaf() as usize;
        let bundle = encode_entry_bundle(entries[first..first + usize::from(b.width)].iter().map(|e| e.as_slice()))?;
        put(dir, &b.path(), &bundle)?;
    }

    let seqs: Vec<u64> = [1, 2, 255, 256, 257, leaves / 2, leaves - 1, leaves]
        .into_iter()
        .filter(|s| *s >= 1 && *s <= leaves)
        .collect();
    for &seq in &seqs {
        let index = seq - 1;
        let hashes = inclusion_proof(index, leaves, &rows.load(&tiles_for_inclusion(index, leaves)?)?)?;
        let json = serde_json::json!({"seq": seq, "leaf_index": index, "tree_size": leaves,
            "hashes": hashes.iter().map(|h| h.to_base64()).collect::<Vec<_>>()});
        put(dir, &format!("proof/inclusion/{seq}-{leaves}.json"), json.to_string().as_bytes())?;
        let tp = TlogProof {
            extra: None,
            index,
            inclusion: hashes,
            checkpoint_note: last_note.clone(),
        };
        put(dir, &format!("tlog-proof/{seq}.tlog-proof"), tp.to_text().as_bytes())?;
    }
    for &old in sizes.iter().filter(|s| **s < leaves) {
        let hashes = consistency_proof(old, leaves, &rows.load(&tiles_for_consistency(old, leaves)?)?)?;
        let json = serde_json::json!({"from": old, "to": leaves, "hashes": hashes.iter().map(|h| h.to_base64()).collect::<Vec<_>>()});
        put(dir, &format!("proof/consistency/{old}-{leaves}.json"), json.to_string().as_bytes())?;
    }
    let seq_list: Vec<String> = seqs.iter().map(u64::to_string).collect();
    put(dir, "seqs", seq_list.join(",").as_bytes())?;
    fs::remove_dir_all(&witness_dir)?;
    println!(
        "wrote a log of {leaves} leaves to {}: {} tiles, {} bundles, checkpoints at {sizes:?}, proofs for seqs {}",
        dir.display(),
        tiles_for_size(leaves).len(),
        bundles_for_size(leaves).len(),
        seq_list.join(",")
    );
    Ok(())
}
