//! C2SP tlog-proof (`c2sp.org/tlog-proof@v1`): an offline-verifiable proof that an entry is
//! in the log, with the (cosigned) checkpoint it is proven against.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64>          (optional)
//! index <leaf index>
//! <base64 hash>           (inclusion proof, leaf sibling first)
//!
//! <the checkpoint note, verbatim>
//! ```

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
use super::cosignature::{CosignatureVerifier, timestamp_of};
use super::hash::Hash;
use super::keys::NoteVerifier;
use super::merkle::{ProofError, verify_inclusion};
use super::note::NoteKey;

pub const HEADER: &str = "c2sp.org/tlog-proof@v1";
/// File extension the spec recommends.
pub const EXTENSION: &str = "tlog-proof";
/// An inclusion proof in a tree of at most 2^64 leaves has at most 64 hashes.
const MAX_HASHES: usize = 64;

/// Why a proof file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofFileError {
    #[error("the first line must be '{HEADER}'")]
    Header,
    #[error("the 'extra' line is not base64")]
    Extra,
    #[error("expected 'index <n>' (decimal, no leading zeros) on line {0}")]
    Index(usize),
    #[error("line {0} is not a base64 SHA-256 hash")]
    HashLine(usize),
    #[error("more than {MAX_HASHES} proof hashes")]
    TooManyHashes,
    #[error("no blank line before the checkpoint")]
    NoCheckpoint,
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("checkpoint is not signed by a trusted log key for origin '{0}'")]
    NotSignedByLog(String),
    #[error("{got} trusted witness cosignatures, the policy needs {want}")]
    Quorum { got: usize, want: usize },
    #[error("inclusion: {0}")]
    Inclusion(#[from] ProofError),
}

/// A parsed tlog-proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogProof {
    /// Opaque, unauthenticated extra data.
    pub extra: Option<Vec<u8>>,
    /// Leaf index (claimledger: seq − 1).
    pub index: u64,
    pub inclusion: Vec<Hash>,
    /// The checkpoint note, verbatim (log signature, any cosignatures).
    pub checkpoint_note: String,
}

/// What a verified proof established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    pub checkpoint: Checkpoint,
    /// Trusted witnesses that cosigned, with their cosignature timestamps.
    pub cosigners: Vec<(String, u64)>,
}

/// The next newline-terminated line, advancing `rest` past it.
fn next_line<'a>(rest: &mut &'a str) -> Option<&'a str> {
    let (line, after) = rest.split_once('\n')?;
    *rest = after;
    Some(line)
}

fn decimal(s: &str) -> Option<u64> {
    let canonical = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

impl TlogProof {
    pub fn to_text(&self) -> String {
        let mut out = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            out.push_str(&format!("extra {}\n", STANDARD.encode(extra)));
        }
        out.push_str(&format!("index {}\n", self.index));
        for h in &self.inclusion {
            out.push_str(&h.to_base64());
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint_note);
        out
    }

    /// Parses a proof file; the checkpoint must be a syntactically valid checkpoint note.
    pub fn parse(text: &str) -> Result<Self, ProofFileError> {
        let mut rest = text;
        if next_line(&mut rest) != Some(HEADER) {
            return Err(ProofFileError::Header);
        }
        let mut line = next_line(&mut rest).ok_or(ProofFileError::Index(2))?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            extra = Some(STANDARD.decode(b64).map_err(|_| ProofFileError::Extra)?);
            line = next_line(&mut rest).ok_or(ProofFileError::Index(3))?;
        }
        let index_line = if extra.is_some() { 3 } else { 2 };
        let index = line
            .strip_prefix("index ")
            .and_then(decimal)
            .ok_or(ProofFileError::Index(index_line))?;
        let mut inclusion = Vec::new();
        loop {
            let line = next_line(&mut rest).ok_or(ProofFileError::NoCheckpoint)?;
            if line.is_empty() {
                break;
            }
            if inclusion.len() == MAX_HASHES {
                return Err(ProofFileError::TooManyHashes);
            }
            inclusion.push(Hash::from_base64(line).map_err(|_| ProofFileError::HashLine(index_line + inclusion.len() + 1))?);
        }
        SignedCheckpoint::parse(rest.as_bytes())?;
        Ok(TlogProof {
            extra,
            index,
            inclusion,
            checkpoint_note: rest.to_string(),
        })
    }

    /// The spec's verification: the checkpoint is for `origin` and signed by one of `log_keys`;
    /// at least `quorum` of `witnesses` cosigned it (every known signature must verify); the
    /// inclusion proof binds `leaf` (the leaf hash) at `index` to the checkpoint's root.
    pub fn verify(
        &self,
        leaf: &Hash,
        origin: &str,
        log_keys: &[NoteVerifier],
        witnesses: &[CosignatureVerifier],
        quorum: usize,
    ) -> Result<VerifiedProof, ProofFileError> {
        let signed = SignedCheckpoint::parse(self.checkpoint_note.as_bytes())?;
        if signed.checkpoint.origin() != origin {
            return Err(CheckpointError::WrongOrigin {
                got: signed.checkpoint.origin().to_string(),
                want: origin.to_string(),
            }
            .into());
        }
        let mut keys: Vec<&dyn NoteKey> = log_keys.iter().map(|k| k as &dyn NoteKey).collect();
        keys.extend(witnesses.iter().map(|k| k as &dyn NoteKey));
        let verified = signed.verify(&keys).map_err(|e| match e {
            CheckpointError::Note(super::note::NoteError::NoKnownSignature(_)) => ProofFileError::NotSignedByLog(origin.to_string()),
            other => other.into(),
        })?;
        if !log_keys.iter().any(|k| verified.signed_by(k.name(), k.key_id())) {
            return Err(ProofFileError::NotSignedByLog(origin.to_string()));
        }
        let cosigners: Vec<(String, u64)> = witnesses
            .iter()
            .filter_map(|w| {
                let sig = verified.verified.iter().find(|s| s.name == w.name() && s.key_id == w.key_id())?;
                Some((w.name().to_string(), timestamp_of(&sig.signature)?))
            })
            .collect();
        if cosigners.len() < quorum {
            return Err(ProofFileError::Quorum {
                got: cosigners.len(),
                want: quorum,
            });
        }
        let cp = &signed.checkpoint;
        verify_inclusion(self.index, cp.size(), leaf, &self.inclusion, cp.root())?;
        Ok(VerifiedProof {
            checkpoint: signed.checkpoint,
            cosigners,
        })
    }
}
