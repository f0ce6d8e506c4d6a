//! C2SP signed-note: a text ending in a newline, a blank line, then one or more signature
//! lines `— <key name> base64(key ID ‖ signature)`.
//!
//! Verification follows the spec: signatures from unknown keys (name and ID not both
//! matching a known key) are ignored; a signature from a known key must verify or the whole
//! note is refused; at least one known key must have signed.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::keys::{NoteSigner, NoteVerifier, is_valid_key_name};

/// Largest note we parse.
pub const MAX_NOTE_BYTES: usize = 1_000_000;
/// Most signature lines we accept (the spec requires at least 16).
pub const MAX_SIGNATURES: usize = 100;

const SIG_PREFIX: &str = "— ";

/// A key that can check note signatures: an Ed25519 note key, a cosigner, …
pub trait NoteKey {
    fn name(&self) -> &str;
    fn key_id(&self) -> u32;
    /// Whether `signature` (the bytes after the 4-byte key ID) is valid over the note `text`.
    fn verify(&self, text: &[u8], signature: &[u8]) -> bool;
}

impl NoteKey for NoteVerifier {
    fn name(&self) -> &str {
        NoteVerifier::name(self)
    }
    fn key_id(&self) -> u32 {
        NoteVerifier::key_id(self)
    }
    fn verify(&self, text: &[u8], signature: &[u8]) -> bool {
        NoteVerifier::verify(self, text, signature)
    }
}

/// Why a note was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("note is {0} bytes; at most 1,000,000 are accepted")]
    TooLarge(usize),
    #[error("note is not valid UTF-8 (at byte {0})")]
    NotUtf8(usize),
    #[error("note contains control character U+{code:04X} at byte {offset}; only newlines are allowed")]
    ControlCharacter { code: u32, offset: usize },
    #[error("note text must end with a newline")]
    TextWithoutNewline,
    #[error("no signature lines after a blank line")]
    NoSignatureBlock,
    #[error("the signature block must end with a newline")]
    SignaturesWithoutNewline,
    #[error("signature line {line}: {reason}")]
    BadSignatureLine { line: usize, reason: &'static str },
    #[error("more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    #[error("signature by {name}+{key_id:08x} does not verify")]
    InvalidSignature { name: String, key_id: u32 },
    #[error("two configured keys share the name and key ID {name}+{key_id:08x}")]
    AmbiguousKey { name: String, key_id: u32 },
    #[error("no signature by a known key (the note is signed by: {0})")]
    NoKnownSignature(String),
    #[error("invalid signer name '{0}'")]
    InvalidSigner(String),
}

/// One signature line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_id: u32,
    /// The signature bytes after the key ID.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// Parses one line without its newline.
    pub fn parse_line(line: &str, number: usize) -> Result<Self, NoteError> {
        let bad = |reason| NoteError::BadSignatureLine { line: number, reason };
        let rest = line
            .strip_prefix(SIG_PREFIX)
            .ok_or_else(|| bad("does not start with an em dash and a space"))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or_else(|| bad("has no space between key name and signature"))?;
        if !is_valid_key_name(name) {
            return Err(bad("key name is empty or has spaces, '+' or control characters"));
        }
        let raw = STANDARD.decode(b64).map_err(|_| bad("signature is not standard padded base64"))?;
        if raw.len() < 5 {
            return Err(bad("signature is shorter than a key ID and one byte"));
        }
        Ok(NoteSignature {
            name: name.to_string(),
            key_id: u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]),
            signature: raw[4..].to_vec(),
        })
    }

    /// The line, newline included.
    pub fn to_line(&self) -> String {
        let mut raw = self.key_id.to_be_bytes().to_vec();
        raw.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}\n", self.name, STANDARD.encode(raw))
    }
}

/// A note's text and signatures, syntactically valid, not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNote {
    text: String,
    signatures: Vec<NoteSignature>,
}

/// The outcome of [`SignedNote::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Signatures by known keys, all verified, in note order (duplicates dropped).
    pub verified: Vec<NoteSignature>,
    /// Signatures by keys not given (ignored, per the spec).
    pub unknown: Vec<NoteSignature>,
}

impl Verified {
    pub fn signed_by(&self, name: &str, key_id: u32) -> bool {
        self.verified.iter().any(|s| s.name == name && s.key_id == key_id)
    }
}

fn check_chars(s: &str) -> Result<(), NoteError> {
    match s.char_indices().find(|(_, c)| *c < ' ' && *c != '\n') {
        Some((offset, c)) => Err(NoteError::ControlCharacter { code: c as u32, offset }),
        None => Ok(()),
    }
}

impl SignedNote {
    /// An unsigned note over `text` (UTF-8, ending in a newline, no control characters).
    pub fn new(text: impl Into<String>) -> Result<Self, NoteError> {
        let text = text.into();
        if text.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge(text.len()));
        }
        check_chars(&text)?;
        if !text.ends_with('\n') {
            return Err(NoteError::TextWithoutNewline);
        }
        Ok(SignedNote {
            text,
            signatures: Vec::new(),
        })
    }

    /// Parses a signed note (no signature is checked here).
    pub fn parse(msg: &[u8]) -> Result<Self, NoteError> {
        if msg.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge(msg.len()));
        }
        let msg = std::str::from_utf8(msg).map_err(|e| NoteError::NotUtf8(e.valid_up_to()))?;
        check_chars(msg)?;
        // The text ends at the last blank line; it keeps its final newline.
        let split = msg.rfind("\n\n").ok_or(NoteError::NoSignatureBlock)?;
        let (text, sigs) = (&msg[..split + 1], &msg[split + 2..]);
        if sigs.is_empty() {
            return Err(NoteError::NoSignatureBlock);
        }
        let sigs = sigs.strip_suffix('\n').ok_or(NoteError::SignaturesWithoutNewline)?;
        let mut signatures = Vec::new();
        for (i, line) in sigs.split('\n').enumerate() {
            if i >= MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures);
            }
            signatures.push(NoteSignature::parse_line(line, i + 1)?);
        }
        Ok(SignedNote {
            text: text.to_string(),
            signatures,
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature line, replacing any by the same name and key ID.
    pub fn add_signature(&mut self, sig: NoteSignature) -> Result<(), NoteError> {
        if !is_valid_key_name(&sig.name) {
            return Err(NoteError::InvalidSigner(sig.name));
        }
        self.signatures.retain(|s| !(s.name == sig.name && s.key_id == sig.key_id));
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        self.signatures.push(sig);
        Ok(())
    }

    /// Signs the text with an Ed25519 note key (type 0x01).
    pub fn sign(&mut self, signer: &NoteSigner) -> Result<(), NoteError> {
        let sig = NoteSignature {
            name: signer.name().to_string(),
            key_id: signer.key_id(),
            signature: signer.sign(self.text.as_bytes()).to_vec(),
        };
        self.add_signature(sig)
    }

    /// The note in its wire form: text, blank line, signature lines.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(self.text.len() + 1 + self.signatures.len() * 110);
        out.push_str(&self.text);
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.to_line());
        }
        out
    }

    /// Checks the signatures against `keys` (see the module documentation for the rules).
    pub fn verify(&self, keys: &[&dyn NoteKey]) -> Result<Verified, NoteError> {
        let mut out = Verified {
            verified: Vec::new(),
            unknown: Vec::new(),
        };
        for sig in &self.signatures {
            let mut matching = keys.iter().filter(|k| k.name() == sig.name && k.key_id() == sig.key_id);
            let Some(key) = matching.next() else {
                if !out.unknown.contains(sig) {
                    out.unknown.push(sig.clone());
                }
                continue;
            };
            if matching.next().is_some() {
                return Err(NoteError::AmbiguousKey {
                    name: sig.name.clone(),
                    key_id: sig.key_id,
                });
            }
            if !key.verify(self.text.as_bytes(), &sig.signature) {
                return Err(NoteError::InvalidSignature {
                    name: sig.name.clone(),
                    key_id: sig.key_id,
                });
            }
            if !out.signed_by(&sig.name, sig.key_id) {
                out.verified.push(sig.clone());
            }
        }
        if out.verified.is_empty() {
            let names: Vec<String> = self.signatures.iter().map(|s| format!("{}+{:08x}", s.name, s.key_id)).collect();
            return Err(NoteError::NoKnownSignature(names.join(", ")));
        }
        Ok(out)
    }
}

/// Parses and verifies in one step, like Go's `note.Open`.
pub fn open(msg: &[u8], keys: &[&dyn NoteKey]) -> Result<(SignedNote, Verified), NoteError> {
    let note = SignedNote::parse(msg)?;
    let verified = note.verify(keys)?;
    Ok((note, verified))
}
