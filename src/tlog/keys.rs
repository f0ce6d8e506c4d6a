//! C2SP signed-note Ed25519 keys and their text formats:
//! vkey `<name>+<hex8 key ID>+base64(type ‖ public key)` and the private key text
//! `PRIVATE+KEY+<name>+<hex8 key ID>+base64(0x01 ‖ seed)` of Go's `note.GenerateKey`.
//! Key ID = SHA-256(name ‖ "\n" ‖ type ‖ public key)[:4], big-endian.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Signature type of plain Ed25519 note signatures.
pub const SIG_ED25519: u8 = 0x01;
/// Signature type of tlog-cosignature/v1 (timestamped Ed25519) signatures.
pub const SIG_COSIGNATURE_V1: u8 = 0x04;

/// Why a key text or key name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("a {what} has the form {form}; this one has only {parts} '+'-separated parts")]
    Shape {
        what: &'static str,
        form: &'static str,
        parts: usize,
    },
    #[error("key name '{0}' is not valid: it must be non-empty, without spaces, '+' or control characters")]
    Name(String),
    #[error("key ID '{0}' is not 8 lowercase or uppercase hex digits")]
    IdText(String),
    #[error("key material is not standard padded base64")]
    Base64,
    #[error("key material is empty")]
    Empty,
    #[error("unsupported signature type 0x{0:02x} (supported: {1})")]
    Type(u8, &'static str),
    #[error("an Ed25519 key is 32 bytes; this one is {0}")]
    Length(usize),
    #[error("not a usable Ed25519 public key (not a curve point, or of small order)")]
    WeakKey,
    #[error("key ID {stated:08x} does not match the key (computed {computed:08x}): wrong name or a damaged key")]
    IdMismatch { stated: u32, computed: u32 },
    #[error("the system random number generator failed: {0}")]
    Random(String),
}

/// Key names: non-empty, no Unicode white space, no '+', and (stricter than Go) no control
/// characters, which a note could not carry anyway.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

pub(crate) fn check_name(name: &str) -> Result<(), KeyError> {
    if is_valid_key_name(name) {
        Ok(())
    } else {
        Err(KeyError::Name(name.chars().take(100).collect()))
    }
}

/// The signed-note key ID.
pub fn key_id(name: &str, sig_type: u8, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([sig_type]);
    h.update(public_key);
    let d: [u8; 32] = h.finalize().into();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// A parsed vkey: name, stated ID, type and 32-byte Ed25519 public key (ID checked).
pub(crate) fn parse_vkey(text: &str, types: &[u8], supported: &'static str) -> Result<(String, u32, u8, VerifyingKey), KeyError> {
    let text = text.trim();
    // Base64 may itself contain '+': only the first two separate fields.
    let parts: Vec<&str> = text.splitn(3, '+').collect();
    let [name, id_text, material] = parts[..] else {
        return Err(KeyError::Shape {
            what: "verifier key",
            form: "<name>+<hex key ID>+<base64>",
            parts: parts.len(),
        });
    };
    check_name(name)?;
    let id = parse_id(id_text)?;
    let bytes = STANDARD.decode(material).map_err(|_| KeyError::Base64)?;
    let (&sig_type, key) = bytes.split_first().ok_or(KeyError::Empty)?;
    if !types.contains(&sig_type) {
        return Err(KeyError::Type(sig_type, supported));
    }
    let key = public_key(key)?;
    let computed = key_id(name, sig_type, key.as_bytes());
    if computed != id {
        return Err(KeyError::IdMismatch { stated: id, computed });
    }
    Ok((name.to_string(), id, sig_type, key))
}

fn parse_id(text: &str) -> Result<u32, KeyError> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(KeyError::IdText(text.chars().take(20).collect()));
    }
    u32::from_str_radix(text, 16).map_err(|_| KeyError::IdText(text.to_string()))
}

pub(crate) fn public_key(bytes: &[u8]) -> Result<VerifyingKey, KeyError> {
    let arr: &[u8; 32] = bytes.try_into().map_err(|_| KeyError::Length(bytes.len()))?;
    let key = VerifyingKey::from_bytes(arr).map_err(|_| KeyError::WeakKey)?;
    if key.is_weak() {
        return Err(KeyError::WeakKey);
    }
    Ok(key)
}

pub(crate) fn vkey_text(name: &str, sig_type: u8, key: &VerifyingKey) -> String {
    let mut material = vec![sig_type];
    material.extend_from_slice(key.as_bytes());
    format!(
        "{name}+{:08x}+{}",
        key_id(name, sig_type, key.as_bytes()),
        STANDARD.encode(material)
    )
}

/// Ed25519 over `msg` with the strict check (no small-order keys or R, canonical S).
pub(crate) fn ed25519_verify(key: &VerifyingKey, msg: &[u8], sig: &[u8]) -> bool {
    match Signature::from_slice(sig) {
        Ok(sig) => key.verify_strict(msg, &sig).is_ok(),
        Err(_) => false,
    }
}

/// An Ed25519 signing key with its note name: a log's checkpoint key or a witness key.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key: SigningKey,
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteSigner({})", self.verifier().vkey())
    }
}

impl NoteSigner {
    /// A new key from the operating system's random number generator.
    pub fn generate(name: &str) -> Result<Self, KeyError> {
        use rand::TryRng;
        let mut seed = [0u8; 32];
        rand::rngs::SysRng
            .try_fill_bytes(&mut seed)
            .map_err(|e| KeyError::Random(e.to_string()))?;
        Self::from_seed(name, seed)
    }

    /// The key of a 32-byte RFC 8032 seed.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, KeyError> {
        check_name(name)?;
        Ok(NoteSigner {
            name: name.to_string(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<hex8>+base64(0x01 ‖ seed)` (surrounding white space ignored);
    /// the key ID must match the key's public half.
    pub fn from_private_key_text(text: &str) -> Result<Self, KeyError> {
        let parts: Vec<&str> = text.trim().splitn(5, '+').collect();
        let ["PRIVATE", "KEY", name, id_text, material] = parts[..] else {
            return Err(KeyError::Shape {
                what: "private key",
                form: "PRIVATE+KEY+<name>+<hex key ID>+<base64>",
                parts: parts.len(),
            });
        };
        check_name(name)?;
        let id = parse_id(id_text)?;
        let bytes = Zeroizing(STANDARD.decode(material).map_err(|_| KeyError::Base64)?);
        let (&sig_type, seed) = bytes.0.split_first().ok_or(KeyError::Empty)?;
        if sig_type != SIG_ED25519 {
            return Err(KeyError::Type(sig_type, "0x01 Ed25519"));
        }
        let seed: [u8; 32] = seed.try_into().map_err(|_| KeyError::Length(seed.len()))?;
        let signer = Self::from_seed(name, seed)?;
        let computed = signer.key_id();
        if computed != id {
            return Err(KeyError::IdMismatch { stated: id, computed });
        }
        Ok(signer)
    }

    /// The private key text (secret: write it with restrictive permissions).
    pub fn private_key_text(&self) -> String {
        let mut material = vec![SIG_ED25519];
        material.extend_from_slice(self.key.as_bytes());
        let text = format!("PRIVATE+KEY+{}+{:08x}+{}", self.name, self.key_id(), STANDARD.encode(&material));
        material.fill(0);
        text
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The note key ID (type 0x01).
    pub fn key_id(&self) -> u32 {
        key_id(&self.name, SIG_ED25519, self.key.verifying_key().as_bytes())
    }

    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key: self.key.verifying_key(),
        }
    }

    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The raw 64-byte Ed25519 signature of `msg`.
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer;
        self.key.sign(msg).to_bytes()
    }
}

/// Wipes decoded private key bytes when dropped.
struct Zeroizing(Vec<u8>);

impl Drop for Zeroizing {
    fn drop(&mut self) {
        self.0.fill(0);
    }
}

/// An Ed25519 note verifier (type 0x01), e.g. the log's public key.
#[derive(Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key: VerifyingKey,
}

impl fmt::Debug for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteVerifier({})", self.vkey())
    }
}

impl NoteVerifier {
    /// Parses a type 0x01 vkey; the key ID must match.
    pub fn from_vkey(text: &str) -> Result<Self, KeyError> {
        let (name, _, _, key) = parse_vkey(text, &[SIG_ED25519], "0x01 Ed25519")?;
        Ok(NoteVerifier { name, key })
    }

    pub fn vkey(&self) -> String {
        vkey_text(&self.name, SIG_ED25519, &self.key)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        key_id(&self.name, SIG_ED25519, self.key.as_bytes())
    }

    pub fn public_key(&self) -> &VerifyingKey {
        &self.key
    }

    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        ed25519_verify(&self.key, msg, sig)
    }
}
