//! C2SP tlog-checkpoint: the note text `<origin>\n<tree size>\n<base64 root>\n[extension lines]`,
//! signed as a signed note by the log (key name = origin for claimledger).

use super::hash::Hash;
use super::keys::{NoteSigner, is_valid_key_name};
use super::note::{NoteError, NoteKey, SignedNote, Verified};

/// Why a checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint text must end with a newline")]
    NoFinalNewline,
    #[error("checkpoint has {0} lines; origin, size and root hash are required")]
    TooFewLines(usize),
    #[error("checkpoint line {0} is empty")]
    EmptyLine(usize),
    #[error("origin '{0}' is not usable as a log name (no spaces, '+' or control characters)")]
    Origin(String),
    #[error("tree size '{0}' is not a decimal number without leading zeros")]
    Size(String),
    #[error("root hash is not base64 of 32 bytes: {0}")]
    Root(String),
    #[error("extension line '{0}' has a newline or control character")]
    Extension(String),
    #[error("checkpoint is for origin '{got}', expected '{want}'")]
    WrongOrigin { got: String, want: String },
    #[error(transparent)]
    Note(#[from] NoteError),
}

/// A log's tree head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
    extensions: Vec<String>,
}

fn parse_size(s: &str) -> Result<u64, CheckpointError> {
    let canonical = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    canonical
        .then(|| s.parse().ok())
        .flatten()
        .ok_or_else(|| CheckpointError::Size(s.chars().take(30).collect()))
}

impl Checkpoint {
    /// A checkpoint for our own log: the origin must also be a valid key name.
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Self, CheckpointError> {
        if !is_valid_key_name(origin) {
            return Err(CheckpointError::Origin(origin.chars().take(100).collect()));
        }
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions: Vec::new(),
        })
    }

    /// Adds an (opaque, not recommended) extension line.
    pub fn with_extension(mut self, line: &str) -> Result<Self, CheckpointError> {
        if line.is_empty() || line.chars().any(char::is_control) {
            return Err(CheckpointError::Extension(line.chars().take(100).collect()));
        }
        self.extensions.push(line.to_string());
        Ok(self)
    }

    /// Parses a checkpoint's note text (not the signatures).
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let body = text.strip_suffix('\n').ok_or(CheckpointError::NoFinalNewline)?;
        let lines: Vec<&str> = body.split('\n').collect();
        if let Some(i) = lines.iter().position(|l| l.is_empty()) {
            return Err(CheckpointError::EmptyLine(i + 1));
        }
        let [origin, size, root, extensions @ ..] = &lines[..] else {
            return Err(CheckpointError::TooFewLines(lines.len()));
        };
        if let Some((i, _)) = origin.char_indices().find(|(_, c)| c.is_control()) {
            return Err(CheckpointError::Origin(origin[..i].to_string()));
        }
        let size = parse_size(size)?;
        let root = Hash::from_base64(root).map_err(|e| CheckpointError::Root(e.to_string()))?;
        if let Some(bad) = extensions.iter().find(|l| l.chars().any(char::is_control)) {
            return Err(CheckpointError::Extension(bad.chars().take(100).collect()));
        }
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions: extensions.iter().map(|l| l.to_string()).collect(),
        })
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn root(&self) -> &Hash {
        &self.root
    }

    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The note text.
    pub fn to_text(&self) -> String {
        let mut out = format!("{}\n{}\n{}\n", self.origin, self.size, self.root.to_base64());
        for e in &self.extensions {
            out.push_str(e);
            out.push('\n');
        }
        out
    }

    /// Signs the checkpoint with the log's key; `.to_text()` of the result is what to publish.
    pub fn sign(&self, signer: &NoteSigner) -> Result<SignedNote, CheckpointError> {
        let mut note = SignedNote::new(self.to_text())?;
        note.sign(signer)?;
        Ok(note)
    }
}

/// A checkpoint note, parsed; [`SignedCheckpoint::verify`] checks its signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub note: SignedNote,
}

impl SignedCheckpoint {
    /// Parses the note and its checkpoint text; no signature is checked yet.
    pub fn parse(msg: &[u8]) -> Result<Self, CheckpointError> {
        let note = SignedNote::parse(msg)?;
        let checkpoint = Checkpoint::parse(note.text())?;
        Ok(SignedCheckpoint { checkpoint, note })
    }

    /// Verifies the note against `keys` (log keys, optionally witness keys too).
    pub fn verify(&self, keys: &[&dyn NoteKey]) -> Result<Verified, CheckpointError> {
        Ok(self.note.verify(keys)?)
    }
}

/// Opens a checkpoint of the log `origin`, signed by at least one of `log_keys`.
pub fn open_checkpoint(msg: &[u8], origin: &str, log_keys: &[&dyn NoteKey]) -> Result<(SignedCheckpoint, Verified), CheckpointError> {
    let signed = SignedCheckpoint::parse(msg)?;
    if signed.checkpoint.origin() != origin {
        return Err(CheckpointError::WrongOrigin {
            got: signed.checkpoint.origin().to_string(),
            want: origin.to_string(),
        });
    }
    let verified = signed.verify(log_keys)?;
    Ok((signed, verified))
}
