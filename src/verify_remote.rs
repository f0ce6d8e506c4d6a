//! Verification a third party runs without our database (issue 14):
//!
//! - [`remote_log`]: a log checked from its public endpoints only — the
//!   checkpoint's signature (origin = the key's name), the tree hash
//!   recomputed from the hash tiles, and, given a checkpoint the user kept
//!   earlier, its signature and the log's consistency with it;
//! - [`proof_file`]: one C2SP tlog-proof file checked offline — the
//!   checkpoint's signature and the inclusion of the entry the user holds.
//!
//! Both return a report naming the first check that failed (`problem`) and
//! the checks that passed; the caller prints it and exits 1 unless `ok`.
//! Errors (`Err`) are reserved for unusable input: a bad key, an unreadable
//! file, a URL that is not http(s).

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::error::{AppError, AppResult};
use crate::tlog::merkle::{self, verify_consistency};
use crate::tlog::tile::{self, TILE_WIDTH};
use crate::tlog::{
    CheckpointError, Hash, NoteError, NoteKey, NoteVerifier, ProofFileError, SignedCheckpoint, TileSet, TlogProof, leaf_hash,
    open_checkpoint,
};

/// Largest checkpoint or proof response read (a note is at most 1 MB).
const TEXT_LIMIT: usize = 1_000_000;

/// What failed, by name (the report's `problem`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// The log did not answer (connection, timeout, HTTP error status).
    FetchFailed,
    /// The checkpoint is not a well-formed signed checkpoint note.
    MalformedCheckpoint,
    /// The checkpoint is for another origin than the key's name.
    WrongOrigin,
    /// The checkpoint is not validly signed by the key.
    BadSignature,
    /// A tile is not the size its path says.
    MalformedTile,
    /// The tree hash recomputed from the tiles is not the checkpoint's root.
    TileHashMismatch,
    /// The kept checkpoint is malformed, for another origin, or not validly signed.
    KeptCheckpointMalformed,
    KeptCheckpointWrongOrigin,
    KeptCheckpointBadSignature,
    /// The current tree is smaller than the kept checkpoint's.
    TreeSmallerThanKeptCheckpoint,
    /// The consistency proof (or the tlog-proof file) is not well formed.
    MalformedProof,
    /// The current checkpoint does not extend the kept one (a fork or a rewrite).
    InconsistentWithKeptCheckpoint,
    /// The entry given does not hash to its stated entry_hash, or is for another seq.
    EntryMismatch,
    /// The inclusion proof does not lead from the entry to the checkpoint's root.
    NotIncluded,
}

/// A checkpoint's tree head, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct TreeHead {
    pub origin: String,
    pub tree_size: u64,
    /// Base64, as in the checkpoint.
    pub root: String,
}

impl TreeHead {
    fn of(c: &crate::tlog::Checkpoint) -> Self {
        TreeHead {
            origin: c.origin().to_string(),
            tree_size: c.size(),
            root: c.root().to_base64(),
        }
    }
}

/// A failed check.
struct Failure {
    problem: Problem,
    detail: String,
}

fn fail(problem: Problem, detail: impl Into<String>) -> Failure {
    Failure {
        problem,
        detail: detail.into(),
    }
}

/// The report of `claimledger verify --log URL --key VKEY [--checkpoint FILE]`.
#[derive(Debug, Clone, Serialize)]
pub struct RemoteReport {
    pub ok: bool,
    pub log: String,
    pub key: String,
    /// The log's current checkpoint (once it parsed).
    pub checkpoint: Option<TreeHead>,
    /// The checkpoint the user kept (once it parsed).
    pub kept_checkpoint: Option<TreeHead>,
    /// Hash tiles fetched to recompute the tree hash.
    pub tiles: Vec<String>,
    /// The checks that passed, in order.
    pub passed: Vec<&'static str>,
    pub problem: Option<Problem>,
    pub detail: Option<String>,
}

/// The report of `claimledger verify --proof FILE --key VKEY`.
#[derive(Debug, Clone, Serialize)]
pub struct ProofReport {
    pub ok: bool,
    pub proof: String,
    pub key: String,
    pub seq: Option<u64>,
    pub leaf_index: Option<u64>,
    /// Hex, as in the API and the export.
    pub entry_hash: String,
    pub checkpoint: Option<TreeHead>,
    pub passed: Vec<&'static str>,
    pub problem: Option<Problem>,
    pub detail: Option<String>,
}

/// The log's verifier key: vkey text, or a file holding it (`log.key.pub`).
pub fn parse_key(text_or_file: &str) -> AppResult<NoteVerifier> {
    let path = Path::new(text_or_file);
    let text = if !text_or_file.contains('+') && path.is_file() {
        std::fs::read_to_string(path).map_err(|e| AppError::field("key", format!("cannot read {}: {e}", path.display())))?
    } else {
        text_or_file.to_string()
    };
    NoteVerifier::from_vkey(text.trim()).map_err(|e| AppError::field("key", format!("not a signed-note verifier key (vkey): {e}")))
}

/// Maps a checkpoint refusal to the problem it shows.
fn checkpoint_failure(e: CheckpointError, kept: bool) -> Failure {
    let problem = match (&e, kept) {
        (CheckpointError::WrongOrigin { .. }, false) => Problem::WrongOrigin,
        (CheckpointError::WrongOrigin { .. }, true) => Problem::KeptCheckpointWrongOrigin,
        (CheckpointError::Note(NoteError::InvalidSignature { .. } | NoteError::NoKnownSignature(_)), false) => Problem::BadSignature,
        (CheckpointError::Note(NoteError::InvalidSignature { .. } | NoteError::NoKnownSignature(_)), true) => {
            Problem::KeptCheckpointBadSignature
        }
        (_, false) => Problem::MalformedCheckpoint,
        (_, true) => Problem::KeptCheckpointMalformed,
    };
    fail(problem, e.to_string())
}

/// The public endpoints of one log.
struct Remote {
    base: String,
    http: reqwest::blocking::Client,
}

impl Remote {
    fn get(&self, path: &str, limit: usize) -> Result<Vec<u8>, Failure> {
        let url = format!("{}{path}", self.base);
        let response = self
            .http
            .get(&url)
            .send()
            .map_err(|e| fail(Problem::FetchFailed, format!("GET {url}: {e}")))?;
        let status = response.status();
        if !status.is_success() {
            return Err(fail(Problem::FetchFailed, format!("GET {url}: HTTP {status}")));
        }
        let mut body = Vec::new();
        response
            .take(limit as u64 + 1)
            .read_to_end(&mut body)
            .map_err(|e| fail(Problem::FetchFailed, format!("GET {url}: {e}")))?;
        if body.len() > limit {
            return Err(fail(
                Problem::FetchFailed,
                format!("GET {url}: the response is larger than {limit} bytes"),
            ));
        }
        Ok(body)
    }
}

/// Checks the log at `base_url` (e.g. `https://factcheck.example.org`) from its
/// public endpoints only, with its verifier key; `kept` is a checkpoint note
/// the user kept earlier.
pub fn remote_log(base_url: &str, key: &NoteVerifier, kept: Option<&str>) -> AppResult<RemoteReport> {
    let url = reqwest::Url::parse(base_url).map_err(|e| AppError::field("log", format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(AppError::field("log", "the log's URL must be http:// or https://"));
    }
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("claimledger-verify/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(AppError::internal)?;
    let remote = Remote {
        base: base_url.trim_end_matches('/').to_string(),
        http,
    };
    let mut report = RemoteReport {
        ok: false,
        log: remote.base.clone(),
        key: format!("{}+{:08x}", key.name(), key.key_id()),
        checkpoint: None,
        kept_checkpoint: None,
        tiles: Vec::new(),
        passed: Vec::new(),
        problem: None,
        detail: None,
    };
    if let Err(f) = check_remote(&remote, key, kept, &mut report) {
        report.problem = Some(f.problem);
        report.detail = Some(f.detail);
    } else {
        report.ok = true;
    }
    Ok(report)
}

fn check_remote(remote: &Remote, key: &NoteVerifier, kept: Option<&str>, report: &mut RemoteReport) -> Result<(), Failure> {
    let keys = [key as &dyn NoteKey];
    // 1. The current checkpoint, signed by the key, for the key's origin.
    let note = remote.get("/v1/log/checkpoint", TEXT_LIMIT)?;
    let (current, _) = open_checkpoint(&note, key.name(), &keys).map_err(|e| checkpoint_failure(e, false))?;
    let current = current.checkpoint;
    report.checkpoint = Some(TreeHead::of(&current));
    report.passed.push("checkpoint_signature");

    // 2. The tree hash, recomputed from the hash tiles it needs.
    let size = current.size();
    let mut tiles = TileSet::new();
    for id in tile::tiles_for_tree_hash(size) {
        let path = id.path();
        report.tiles.push(path.clone());
        let data = remote.get(&format!("/v1/log/{path}"), TILE_WIDTH as usize * 32)?;
        if data.len() != id.byte_len() {
            return Err(fail(
                Problem::MalformedTile,
                format!("{path} is {} bytes; {} hashes are {} bytes", data.len(), id.width, id.byte_len()),
            ));
        }
        tiles
            .insert(id.level, id.index, data)
            .map_err(|e| fail(Problem::MalformedTile, e.to_string()))?;
    }
    let root = merkle::tree_hash(size, &tiles).map_err(|e| fail(Problem::MalformedTile, e.to_string()))?;
    if root != *current.root() {
        return Err(fail(
            Problem::TileHashMismatch,
            format!(
                "the tree hash recomputed from the tiles ({}) is {}, but the checkpoint of size {size} signs {}",
                report.tiles.join(", "),
                root.to_base64(),
                current.root().to_base64()
            ),
        ));
    }
    report.passed.push("tree_hash");

    // 3. The kept checkpoint: signed by the same key, and extended by the current one.
    let Some(kept) = kept else { return Ok(()) };
    let (old, _) = open_checkpoint(kept.as_bytes(), key.name(), &keys).map_err(|e| checkpoint_failure(e, true))?;
    let old = old.checkpoint;
    report.kept_checkpoint = Some(TreeHead::of(&old));
    report.passed.push("kept_checkpoint_signature");
    let (from, to) = (old.size(), size);
    if from > to {
        return Err(fail(
            Problem::TreeSmallerThanKeptCheckpoint,
            format!("the log now has {to} leaves, fewer than the {from} of the kept checkpoint: history was removed"),
        ));
    }
    let proof = if from == 0 || from == to {
        Vec::new()
    } else {
        let body = remote.get(&format!("/v1/log/proof/consistency?from={from}&to={to}"), TEXT_LIMIT)?;
        parse_consistency(&body, from, to)?
    };
    if from > 0 {
        verify_consistency(from, to, &proof, old.root(), current.root()).map_err(|e| {
            fail(
                Problem::InconsistentWithKeptCheckpoint,
                format!("the checkpoint of size {to} does not extend the kept checkpoint of size {from}: {e}"),
            )
        })?;
    }
    report.passed.push("consistency");
    Ok(())
}

/// `{from, to, hashes: [base64…]}` for the sizes asked.
fn parse_consistency(body: &[u8], from: u64, to: u64) -> Result<Vec<Hash>, Failure> {
    #[derive(serde::Deserialize)]
    struct Consistency {
        from: u64,
        to: u64,
        hashes: Vec<String>,
    }
    let c: Consistency = serde_json::from_slice(body).map_err(|e| {
        fail(
            Problem::MalformedProof,
            format!("the consistency proof is not {{from, to, hashes}}: {e}"),
        )
    })?;
    if (c.from, c.to) != (from, to) {
        return Err(fail(
            Problem::MalformedProof,
            format!("asked for a proof from {from} to {to}, got one from {} to {}", c.from, c.to),
        ));
    }
    c.hashes
        .iter()
        .enumerate()
        .map(|(i, h)| Hash::from_base64(h).map_err(|e| fail(Problem::MalformedProof, format!("hashes[{i}]: {e}"))))
        .collect()
}

/// The entry a tlog-proof is checked for.
#[derive(Debug, Clone)]
pub enum ProvenEntry {
    /// The revision's entry_hash (hex).
    EntryHash(String),
    /// An export line (as `GET /v1/log/export` or the `entry` of `GET /v1/factchecks/{id}/proof`).
    ExportLine(String),
}

/// Checks a tlog-proof file's text offline: the checkpoint is for the key's
/// origin and signed by it, and the inclusion proof leads from `entry` (at the
/// proof's index) to the checkpoint's root.
pub fn proof_file(path: &str, text: &str, key: &NoteVerifier, entry: &ProvenEntry) -> AppResult<ProofReport> {
    let mut report = ProofReport {
        ok: false,
        proof: path.to_string(),
        key: format!("{}+{:08x}", key.name(), key.key_id()),
        seq: None,
        leaf_index: None,
        entry_hash: String::new(),
        checkpoint: None,
        passed: Vec::new(),
        problem: None,
        detail: None,
    };
    if let Err(f) = check_proof(text, key, entry, &mut report) {
        report.problem = Some(f.problem);
        report.detail = Some(f.detail);
    } else {
        report.ok = true;
    }
    Ok(report)
}

fn check_proof(text: &str, key: &NoteVerifier, entry: &ProvenEntry, report: &mut ProofReport) -> Result<(), Failure> {
    let proof = TlogProof::parse(text).map_err(|e| fail(Problem::MalformedProof, format!("not a tlog-proof file: {e}")))?;
    report.leaf_index = Some(proof.index);
    report.seq = proof.index.checked_add(1);
    let entry_hash = match entry {
        ProvenEntry::EntryHash(hex_text) => hex_text.trim().to_ascii_lowercase(),
        ProvenEntry::ExportLine(line) => {
            let line = line.trim();
            let check = crate::ledger::verify::verify_export(std::io::Cursor::new(line), |_| {});
            if !check.ok || check.checked != 1 {
                return Err(fail(
                    Problem::EntryMismatch,
                    "the entry does not hash to its entry_hash (or is not one export line)",
                ));
            }
            let value: serde_json::Value = serde_json::from_str(line).map_err(|e| fail(Problem::EntryMismatch, e.to_string()))?;
            if value["seq"].as_u64() != report.seq {
                return Err(fail(
                    Problem::EntryMismatch,
                    format!("the entry is seq {}, the proof is for seq {}", value["seq"], proof.index + 1),
                ));
            }
            value["entry_hash"].as_str().unwrap_or_default().to_string()
        }
    };
    report.entry_hash = entry_hash.clone();
    let data = hex::decode(&entry_hash)
        .ok()
        .filter(|d| d.len() == 32)
        .ok_or_else(|| fail(Problem::EntryMismatch, "the entry hash is not 64 hex digits"))?;
    let verified = proof
        .verify(&leaf_hash(&data), key.name(), std::slice::from_ref(key), &[], 0)
        .map_err(|e| match e {
            ProofFileError::Checkpoint(c) => checkpoint_failure(c, false),
            ProofFileError::NotSignedByLog(_) => fail(Problem::BadSignature, e.to_string()),
            ProofFileError::Inclusion(p) => fail(
                Problem::NotIncluded,
                format!("entry {entry_hash} is not leaf {} of the signed tree: {p}", proof.index),
            ),
            other => fail(Problem::MalformedProof, other.to_string()),
        });
    let verified = match verified {
        Ok(v) => v,
        Err(f) => {
            if f.problem == Problem::NotIncluded {
                // The signature was checked first, and held.
                report.passed.push("checkpoint_signature");
                report.checkpoint = SignedCheckpoint::parse(proof.checkpoint_note.as_bytes())
                    .ok()
                    .map(|s| TreeHead::of(&s.checkpoint));
            }
            return Err(f);
        }
    };
    report.checkpoint = Some(TreeHead::of(&verified.checkpoint));
    report.passed.extend(["checkpoint_signature", "inclusion"]);
    Ok(())
}
