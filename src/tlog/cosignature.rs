//! C2SP tlog-cosignature, Ed25519 version (`cosignature/v1`, signature type 0x04): a
//! witness's timestamped statement that, as of that time, this is the largest consistent
//! tree it has seen for the log.
//!
//! Signature bytes = 8-byte big-endian POSIX timestamp ‖ Ed25519 over
//! `cosignature/v1\ntime <t>\n` ‖ the checkpoint's note text.

use std::fmt;

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};

use super::keys::{KeyError, NoteSigner, SIG_COSIGNATURE_V1, ed25519_verify, key_id, parse_vkey, vkey_text};
use super::note::{NoteKey, NoteSignature};

/// Why a cosignature could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignatureError {
    #[error("a cosignature timestamp must be 1..=2^63-1 seconds, got {0}")]
    Timestamp(u64),
    #[error("a checkpoint body ends with a newline")]
    Body,
}

/// The message a v1 cosignature signs.
pub fn cosigned_message(checkpoint_text: &str, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_text}").into_bytes()
}

/// A witness's signing side. Its key text is an ordinary signed-note private key
/// (`PRIVATE+KEY+…`, type 0x01 ID); cosignatures use the type 0x04 key ID.
#[derive(Clone)]
pub struct Cosigner {
    name: String,
    key: SigningKey,
}

impl fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cosigner({})", self.verifier().vkey())
    }
}

impl Cosigner {
    pub fn new(signer: &NoteSigner) -> Self {
        Cosigner {
            name: signer.name().to_string(),
            key: signer.signing_key().clone(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The cosignature key ID (type 0x04).
    pub fn key_id(&self) -> u32 {
        key_id(&self.name, SIG_COSIGNATURE_V1, self.key.verifying_key().as_bytes())
    }

    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier {
            name: self.name.clone(),
            key: self.key.verifying_key(),
        }
    }

    /// Cosigns a checkpoint's note text (the body, without signature lines) at `timestamp`.
    pub fn cosign(&self, checkpoint_text: &str, timestamp: u64) -> Result<NoteSignature, CosignatureError> {
        if timestamp == 0 || timestamp > i64::MAX as u64 {
            return Err(CosignatureError::Timestamp(timestamp));
        }
        if !checkpoint_text.ends_with('\n') {
            return Err(CosignatureError::Body);
        }
        let sig = self.key.sign(&cosigned_message(checkpoint_text, timestamp));
        let mut signature = timestamp.to_be_bytes().to_vec();
        signature.extend_from_slice(&sig.to_bytes());
        Ok(NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id(),
            signature,
        })
    }
}

/// A witness's public key for v1 cosignatures (vkey type 0x04).
#[derive(Clone, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    key: VerifyingKey,
}

impl fmt::Debug for CosignatureVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CosignatureVerifier({})", self.vkey())
    }
}

impl CosignatureVerifier {
    /// Parses a type 0x04 vkey `<name>+<hex8>+base64(0x04 ‖ public key)`.
    pub fn from_vkey(text: &str) -> Result<Self, KeyError> {
        let (name, _, _, key) = parse_vkey(text, &[SIG_COSIGNATURE_V1], "0x04 cosignature/v1")?;
        Ok(CosignatureVerifier { name, key })
    }

    pub fn vkey(&self) -> String {
        vkey_text(&self.name, SIG_COSIGNATURE_V1, &self.key)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        key_id(&self.name, SIG_COSIGNATURE_V1, self.key.as_bytes())
    }

    /// The timestamp of a signature line by this key whose signature verifies over `text`.
    pub fn verified_timestamp(&self, text: &str, sig: &NoteSignature) -> Option<u64> {
        if sig.name != self.name || sig.key_id != self.key_id() {
            return None;
        }
        NoteKey::verify(self, text.as_bytes(), &sig.signature)
            .then(|| timestamp_of(&sig.signature))
            .flatten()
    }
}

/// The timestamp carried by v1 cosignature bytes (72 bytes: timestamp ‖ Ed25519 signature).
pub fn timestamp_of(signature: &[u8]) -> Option<u64> {
    let ts: [u8; 8] = signature.get(..8)?.try_into().ok()?;
    Some(u64::from_be_bytes(ts))
}

impl NoteKey for CosignatureVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        CosignatureVerifier::key_id(self)
    }
    fn verify(&self, text: &[u8], signature: &[u8]) -> bool {
        if signature.len() != 72 {
            return false;
        }
        let Some(timestamp) = timestamp_of(signature).filter(|t| *t <= i64::MAX as u64) else {
            return false;
        };
        let Ok(text) = std::str::from_utf8(text) else { return false };
        ed25519_verify(&self.key, &cosigned_message(text, timestamp), &signature[8..])
    }
}
