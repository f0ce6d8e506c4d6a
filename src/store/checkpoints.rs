//! Signed checkpoints (issue 14, DESIGN §8): the signer that runs under the
//! sequencer's leadership, and the reads behind `/v1/log/checkpoint(s)`.
//!
//! Before signing, the signer proves from the stored tiles that the tree
//! extends the last signed checkpoint (whose note it re-reads and checks
//! against its stored root); when that fails it refuses, records why in
//! [`TlogStatus`] (`/readyz` degraded, a metric) and never signs: the log
//! never signs two inconsistent checkpoints.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use diesel::pg::PgConnection;

use crate::error::{AppError, AppResult};
use crate::ledger::checkpoints::{self, StoredCheckpoint};
use crate::ledger::tree;
use crate::tlog::{Checkpoint, EMPTY_ROOT, Hash, NoteSigner, NoteVerifier, SignedCheckpoint, SignedNote, tile};

/// What the log signs with.
#[derive(Debug)]
pub struct LogSigning {
    /// The checkpoint origin (also the key's name).
    pub origin: String,
    pub signer: NoteSigner,
    /// At most one checkpoint per interval.
    pub interval: Duration,
}

impl LogSigning {
    pub fn verifier(&self) -> NoteVerifier {
        self.signer.verifier()
    }
}

/// The signer's health, shared with `/readyz` and `/metrics`.
#[derive(Debug, Default)]
pub struct TlogStatus {
    refused: Mutex<Option<String>>,
    pub signed: AtomicU64,
    pub refusals: AtomicU64,
    pub checkpoint_size: AtomicI64,
}

impl TlogStatus {
    /// Why the last signing attempt was refused, while it stays refused.
    pub fn refusal(&self) -> Option<String> {
        self.refused.lock().map(|r| r.clone()).unwrap_or(None)
    }

    fn set_refusal(&self, why: Option<String>) {
        if let Ok(mut r) = self.refused.lock() {
            *r = why;
        }
    }
}

/// What one signing attempt did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signing {
    /// The tree has not grown since the last checkpoint.
    Unchanged,
    Signed {
        size: u64,
    },
    Refused(String),
}

/// Signs a checkpoint of the stored tree if it grew since the last one (or
/// none was signed yet), in one transaction. Call only as the sequencer.
pub fn sign(conn: &mut PgConnection, signing: &LogSigning, status: &TlogStatus) -> AppResult<Signing> {
    let outcome = super::transaction(conn, |conn| {
        let size = tree::tree_size(conn)?;
        let last = checkpoints::latest(conn)?;
        let (last_size, last_root) = match &last {
            Some(c) => match signed_root(c) {
                Ok(root) => (c.tree_size as u64, root),
                Err(why) => return Ok(Signing::Refused(why)),
            },
            None => (0, EMPTY_ROOT),
        };
        if last.is_some() && size <= last_size {
            if size < last_size {
                return Ok(Signing::Refused(format!(
                    "the tree holds {size} leaves, fewer than the last signed checkpoint's {last_size}"
                )));
            }
            return Ok(Signing::Unchanged);
        }
        let root = tree::frontier(conn, size)?.root();
        let tiles = if last_size > 0 && last_size < size {
            tree::load_tiles(conn, &tile::tiles_for_consistency(last_size, size).map_err(AppError::internal)?)?
        } else {
            Default::default()
        };
        if let Err(e) = crate::tlog::prove_extension(last_size, &last_root, size, &root, &tiles) {
            return Ok(Signing::Refused(format!(
                "the tree of size {size} does not extend the checkpoint of size {last_size}: {e}"
            )));
        }
        let note = Checkpoint::new(&signing.origin, size, root)
            .and_then(|c| c.sign(&signing.signer))
            .map_err(AppError::internal)?;
        checkpoints::insert(conn, size as i64, &root.0, &note.to_text())?;
        Ok(Signing::Signed { size })
    })?;
    match &outcome {
        Signing::Signed { size } => {
            status.signed.fetch_add(1, Ordering::Relaxed);
            status.checkpoint_size.store(*size as i64, Ordering::Relaxed);
            status.set_refusal(None);
        }
        Signing::Refused(why) => {
            status.refusals.fetch_add(1, Ordering::Relaxed);
            if status.refusal().as_deref() != Some(why) {
                tracing::error!(reason = %why, "refused to sign a checkpoint");
            }
            status.set_refusal(Some(why.clone()));
        }
        Signing::Unchanged => {}
    }
    Ok(outcome)
}

/// The root a stored checkpoint's note signs, when it agrees with the row.
fn signed_root(c: &StoredCheckpoint) -> Result<Hash, String> {
    let parsed = SignedCheckpoint::parse(c.note.as_bytes())
        .map_err(|e| format!("the stored checkpoint of size {} is unreadable: {e}", c.tree_size))?;
    let cp = &parsed.checkpoint;
    if cp.size() != c.tree_size as u64 || cp.root().0.as_slice() != c.root_hash.as_slice() {
        return Err(format!(
            "the stored checkpoint of size {} does not match its signed note",
            c.tree_size
        ));
    }
    Ok(*cp.root())
}

/// The checkpoint to serve: the newest cosigned by at least `quorum`
/// witnesses (the newest when 0), with the cosignatures collected for it.
pub fn latest(conn: &mut PgConnection, quorum: usize) -> AppResult<Option<String>> {
    let Some(c) = served(conn, quorum)? else {
        return Ok(None);
    };
    with_cosignatures(conn, &c).map(Some)
}

/// The stored checkpoint to serve (see [`latest`]).
pub fn served(conn: &mut PgConnection, quorum: usize) -> AppResult<Option<StoredCheckpoint>> {
    checkpoints::latest_cosigned(conn, quorum as i64)
}

/// The newest signed checkpoint (note and size), for witness submission.
pub fn newest(conn: &mut PgConnection) -> AppResult<Option<StoredCheckpoint>> {
    checkpoints::latest(conn)
}

/// Keeps a witness's cosignature line for the checkpoint of `tree_size`.
pub fn add_cosignature(conn: &mut PgConnection, tree_size: u64, witness: &str, line: &str) -> AppResult<()> {
    checkpoints::add_cosignature(conn, tree_size as i64, witness, line)
}

/// A stored checkpoint's note with the witnesses' cosignature lines added.
pub fn with_cosignatures(conn: &mut PgConnection, c: &StoredCheckpoint) -> AppResult<String> {
    let lines = checkpoints::cosignatures(conn, c.tree_size)?;
    if lines.is_empty() {
        return Ok(c.note.clone());
    }
    let mut note = SignedNote::parse(c.note.as_bytes()).map_err(AppError::internal)?;
    for (_, line) in lines {
        if let Ok(sig) = crate::tlog::NoteSignature::parse_line(&line, 0) {
            // A duplicate key id is skipped, never fatal.
            let _ = note.add_signature(sig);
        }
    }
    Ok(note.to_text())
}

/// Stored checkpoints after `after` (tree size), oldest first.
pub fn list(conn: &mut PgConnection, after: i64, limit: i64) -> AppResult<Vec<StoredCheckpoint>> {
    checkpoints::after(conn, after, limit)
}

/// What `claimledger verify` found when it recomputed the tree.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TreeReport {
    pub ok: bool,
    /// Leaves recomputed from the revisions' entry hashes.
    pub leaves: u64,
    /// Stored checkpoints checked.
    pub checkpoints: u64,
    /// Whether the checkpoints' signatures were checked (a log key was at hand).
    pub signatures_checked: bool,
    /// The first stored checkpoint that no longer holds, and why.
    pub first_bad_checkpoint: Option<i64>,
    pub problem: Option<String>,
    /// The first revision whose leaf differs from the stored tree's.
    pub first_bad_seq: Option<i64>,
}

/// Leaves recomputed per read.
const VERIFY_BATCH: i64 = 50_000;

/// Recomputes the tree from every revision's entry hash and checks it
/// against every stored checkpoint (its root at that size; its note's
/// signature with `key` when given; the row against its note) and against
/// the stored leaf tiles, naming the first checkpoint that no longer matches
/// and the first revision whose leaf differs.
pub fn verify_tree(conn: &mut PgConnection, key: Option<&NoteVerifier>) -> AppResult<TreeReport> {
    use crate::tlog::{Frontier, TileDelta};
    let mut report = TreeReport {
        ok: true,
        leaves: 0,
        checkpoints: 0,
        signatures_checked: key.is_some(),
        first_bad_checkpoint: None,
        problem: None,
        first_bad_seq: None,
    };
    // The checkpoints before the head: a checkpoint is signed after the
    // revisions it covers are committed, so every one read is within the
    // head read next, even while the log grows; one beyond it was signed
    // for revisions the log no longer has.
    let mut stored: Vec<StoredCheckpoint> = Vec::new();
    let mut after = -1;
    loop {
        let page = checkpoints::after(conn, after, 10_000)?;
        let Some(last) = page.last() else { break };
        after = last.tree_size;
        stored.extend(page);
    }
    let head = crate::ledger::head(conn)?.seq;
    let mut pending = stored.iter().peekable();
    let mut front = Frontier::empty();
    let mut delta = TileDelta::new();
    let fail_checkpoint = |report: &mut TreeReport, c: &StoredCheckpoint, why: String| {
        report.ok = false;
        if report.first_bad_checkpoint.is_none() {
            report.first_bad_checkpoint = Some(c.tree_size);
            report.problem = Some(why);
        }
    };
    let check = |report: &mut TreeReport, c: &StoredCheckpoint, root: Hash| {
        report.checkpoints += 1;
        let signed = match signed_root(c) {
            Ok(r) => r,
            Err(why) => return fail_checkpoint(report, c, why),
        };
        if let Some(key) = key {
            let verified = SignedCheckpoint::parse(c.note.as_bytes()).and_then(|s| s.verify(&[key as &dyn crate::tlog::NoteKey]));
            if let Err(e) = verified {
                return fail_checkpoint(
                    report,
                    c,
                    format!("the checkpoint of size {}'s signature does not verify: {e}", c.tree_size),
                );
            }
        }
        if signed != root {
            fail_checkpoint(
                report,
                c,
                format!("the log's tree at size {} has another root than the signed checkpoint", c.tree_size),
            );
        }
    };
    while let Some(c) = pending.peek().copied().filter(|c| c.tree_size == 0) {
        check(&mut report, c, EMPTY_ROOT);
        pending.next();
    }
    let mut done: i64 = 0;
    while done < head {
        let leaves = tree::leaf_data(conn, done, (done + VERIFY_BATCH).min(head))?;
        if leaves.is_empty() {
            break;
        }
        // Leaf by leaf up to the next checkpoint's size, where the root is compared.
        let mut i = 0usize;
        while i < leaves.len() {
            let next_stop = pending.peek().map_or(i64::MAX, |c| c.tree_size);
            let take = ((next_stop - done) as usize).min(leaves.len() - i);
            front.append_data(leaves[i..i + take].iter().map(Vec::as_slice), &mut delta);
            // The leaf hashes the revisions give, against the stored leaf tiles.
            if report.first_bad_seq.is_none() {
                let (first, recomputed) = delta.level(0);
                report.first_bad_seq = first_leaf_mismatch(conn, first, recomputed)?;
                if report.first_bad_seq.is_some() {
                    report.ok = false;
                }
            }
            i += take;
            done += take as i64;
            while let Some(c) = pending.peek().copied().filter(|c| c.tree_size == done) {
                check(&mut report, c, front.root());
                pending.next();
            }
        }
        report.leaves = done as u64;
    }
    for c in pending {
        fail_checkpoint(
            &mut report,
            c,
            format!("a checkpoint of size {} is beyond the log's {} revisions", c.tree_size, head),
        );
    }
    Ok(report)
}

/// The seq of the first of `hashes` (leaf hashes from leaf index `first`)
/// that differs from the stored leaf tiles.
fn first_leaf_mismatch(conn: &mut PgConnection, first: u64, hashes: &[Hash]) -> AppResult<Option<i64>> {
    let mut index = first;
    let mut rest = hashes;
    while !rest.is_empty() {
        let tile_index = index / 256;
        let offset = (index % 256) as usize;
        let take = rest.len().min(256 - offset);
        let stored = tree::tile_bytes(
            conn,
            crate::tlog::TileId {
                level: 0,
                index: tile_index,
                width: (offset + take) as u16,
            },
        )?;
        for (k, h) in rest[..take].iter().enumerate() {
            let at = (offset + k) * 32;
            let same = stored.as_ref().is_some_and(|s| &s[at..at + 32] == h.0.as_slice());
            if !same {
                return Ok(Some((index + k as u64 + 1) as i64));
            }
        }
        index += take as u64;
        rest = &rest[take..];
    }
    Ok(None)
}
