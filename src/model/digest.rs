//! SHA-256, for every layer: the log's hashes, article bodies, request
//! fingerprints, validators.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

pub fn sha256(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

/// `bytes` random bytes from the operating system's generator, as hex:
/// passwords, secrets, nonces.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::fill(buf.as_mut_slice());
    hex::encode(buf)
}

/// SHA-256 of the concatenation of `parts`, without building it.
pub fn sha256_concat(parts: &[&[u8]]) -> Hash {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}
