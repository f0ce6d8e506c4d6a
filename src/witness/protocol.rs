//! The C2SP tlog-witness `add-checkpoint` rules, without I/O: parse the request body and
//! decide, against the witness's stored checkpoint for the log, whether to cosign.

use crate::tlog::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::tlog::hash::{EMPTY_ROOT, Hash};
use crate::tlog::keys::NoteVerifier;
use crate::tlog::merkle::verify_consistency;
use crate::tlog::note::{NoteError, NoteKey, NoteSignature};

/// The spec's limit on consistency proof lines.
pub const MAX_PROOF_LINES: usize = 63;
/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Media type of a 409 body.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// A parsed `add-checkpoint` body.
#[derive(Debug, Clone)]
pub struct AddCheckpoint {
    pub old_size: u64,
    pub proof: Vec<Hash>,
    pub checkpoint: SignedCheckpoint,
}

/// Why the witness will not cosign, with the status the spec assigns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// 400: the body is not a well-formed request.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 404: the checkpoint's origin is not a log this witness follows.
    #[error("unknown log origin '{0}'")]
    UnknownLog(String),
    /// 403: no valid signature by a trusted key of the log, or a bad one.
    #[error("checkpoint signature refused: {0}")]
    Signature(String),
    /// 409: `old` is not the size this witness last cosigned; the body carries that size.
    #[error("old size {old} is not the witness's current size {current}")]
    OldSize { old: u64, current: u64 },
    /// 422: the new checkpoint is not proven consistent with the witness's state.
    #[error("{0}")]
    Inconsistent(String),
    /// 422, and evidence of log misbehaviour: a validly signed checkpoint of the size the
    /// witness holds, with a different root.
    #[error("fork: the log signed a different root for size {size} (witness has {held}, this one is {offered})")]
    Fork { size: u64, held: Hash, offered: Hash },
}

impl Refusal {
    pub fn status(&self) -> u16 {
        match self {
            Refusal::BadRequest(_) => 400,
            Refusal::UnknownLog(_) => 404,
            Refusal::Signature(_) => 403,
            Refusal::OldSize { .. } => 409,
            Refusal::Inconsistent(_) | Refusal::Fork { .. } => 422,
        }
    }

    /// Whether the refused checkpoint (validly signed) may show the log misbehaving.
    pub fn is_possible_fork(&self) -> bool {
        matches!(self, Refusal::Fork { .. } | Refusal::Inconsistent(_))
    }
}

fn bad(msg: impl Into<String>) -> Refusal {
    Refusal::BadRequest(msg.into())
}

fn decimal(s: &str) -> Option<u64> {
    let canonical = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

/// The request body a log sends to a witness holding `old_size` (the client side).
pub fn format_add_checkpoint(old_size: u64, proof: &[Hash], checkpoint_note: &str) -> String {
    let mut body = format!("old {old_size}\n");
    for h in proof {
        body.push_str(&h.to_base64());
        body.push('\n');
    }
    body.push('\n');
    body.push_str(checkpoint_note);
    body
}

/// A 409 body: the size the witness holds.
pub fn parse_size_response(body: &str) -> Option<u64> {
    body.strip_suffix('\n').and_then(decimal)
}

/// The cosignature lines of a 200 body that verify with `witness` over `checkpoint_text`
/// (lines by other keys are ignored, as the spec requires of clients).
pub fn parse_cosignature_response(
    body: &str,
    checkpoint_text: &str,
    witness: &crate::tlog::cosignature::CosignatureVerifier,
) -> Result<NoteSignature, String> {
    let lines = body.strip_suffix('\n').ok_or("the response does not end with a newline")?;
    for (i, line) in lines.split('\n').enumerate() {
        let sig = NoteSignature::parse_line(line, i + 1).map_err(|e| e.to_string())?;
        if witness.verified_timestamp(checkpoint_text, &sig).is_some() {
            return Ok(sig);
        }
    }
    Err(format!("no valid cosignature by {}", witness.vkey()))
}

/// Parses `old <size>\n`, up to 63 base64 proof lines, an empty line, then a checkpoint note.
pub fn parse_add_checkpoint(body: &[u8]) -> Result<AddCheckpoint, Refusal> {
    if body.len() > MAX_BODY_BYTES {
        return Err(bad(format!("body is {} bytes, at most {MAX_BODY_BYTES} are accepted", body.len())));
    }
    let text = std::str::from_utf8(body).map_err(|e| bad(format!("body is not UTF-8 (at byte {})", e.valid_up_to())))?;
    let (first, mut rest) = text.split_once('\n').ok_or_else(|| bad("the first line must be 'old <size>'"))?;
    let old_size = first
        .strip_prefix("old ")
        .and_then(decimal)
        .ok_or_else(|| bad("the first line must be 'old <size>' (decimal, no leading zeros)"))?;
    let mut proof = Vec::new();
    loop {
        let (line, after) = rest.split_once('\n').ok_or_else(|| bad("no empty line before the checkpoint"))?;
        rest = after;
        if line.is_empty() {
            break;
        }
        if proof.len() == MAX_PROOF_LINES {
            return Err(bad(format!("more than {MAX_PROOF_LINES} consistency proof lines")));
        }
        let n = proof.len() + 2;
        proof.push(Hash::from_base64(line).map_err(|e| bad(format!("line {n} is not a base64 hash: {e}")))?);
    }
    let checkpoint = SignedCheckpoint::parse(rest.as_bytes()).map_err(|e| bad(format!("checkpoint: {e}")))?;
    Ok(AddCheckpoint {
        old_size,
        proof,
        checkpoint,
    })
}

/// Checks the log's signature (403 when absent or bad); returns the verified log signatures.
pub fn verify_log_signature(req: &AddCheckpoint, log_keys: &[NoteVerifier]) -> Result<Vec<NoteSignature>, Refusal> {
    let keys: Vec<&dyn NoteKey> = log_keys.iter().map(|k| k as &dyn NoteKey).collect();
    match req.checkpoint.note.verify(&keys) {
        Ok(v) => Ok(v.verified),
        Err(NoteError::NoKnownSignature(_)) => Err(Refusal::Signature(format!(
            "no signature by a trusted key for '{}'",
            req.checkpoint.checkpoint.origin()
        ))),
        Err(e) => Err(Refusal::Signature(e.to_string())),
    }
}

/// The spec's checks after the signature, in its order, against the witness's latest
/// cosigned checkpoint for this log (`None`: never cosigned, size 0).
pub fn check_consistency(req: &AddCheckpoint, held: Option<&Checkpoint>) -> Result<(), Refusal> {
    let new = &req.checkpoint.checkpoint;
    let (old, size) = (req.old_size, new.size());
    if old > size {
        return Err(bad(format!("old size {old} is larger than the checkpoint size {size}")));
    }
    let current = held.map_or(0, Checkpoint::size);
    if old != current {
        return Err(Refusal::OldSize { old, current });
    }
    if size == 0 && *new.root() != EMPTY_ROOT {
        return Err(Refusal::Inconsistent(
            "a checkpoint of size 0 must have the empty tree's root".into(),
        ));
    }
    if old == 0 {
        if !req.proof.is_empty() {
            return Err(Refusal::Inconsistent("the consistency proof from size 0 must be empty".into()));
        }
        return Ok(());
    }
    let held_root = held.map_or(EMPTY_ROOT, |h| *h.root());
    if old == size {
        if held_root != *new.root() {
            return Err(Refusal::Fork {
                size,
                held: held_root,
                offered: *new.root(),
            });
        }
        if !req.proof.is_empty() {
            return Err(Refusal::Inconsistent(
                "the sizes are equal, so the consistency proof must be empty".into(),
            ));
        }
        return Ok(());
    }
    verify_consistency(old, size, &req.proof, &held_root, new.root()).map_err(|e| {
        Refusal::Inconsistent(format!(
            "not proven consistent with the checkpoint this witness holds (size {old}, root {held_root}): {e}"
        ))
    })
}
