//! RFC 6962 / RFC 9162 §2.1 hashing: SHA-256 with 0x00 / 0x01 domain separation.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// Bytes in a hash.
pub const HASH_SIZE: usize = 32;

/// A SHA-256 Merkle tree hash (a leaf hash, an interior node or a root).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; HASH_SIZE]);

/// The root of the empty tree: SHA-256 of the empty string (RFC 6962 §2.1).
pub const EMPTY_ROOT: Hash = Hash([
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
    0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
]);

/// Why a text or byte string is not a hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashParseError {
    #[error("not standard padded base64: {0}")]
    Base64(String),
    #[error("a hash is 32 bytes, this is {0}")]
    Length(usize),
}

impl Hash {
    pub const fn from_bytes(bytes: [u8; HASH_SIZE]) -> Self {
        Hash(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; HASH_SIZE] {
        &self.0
    }

    /// The hash in a slice of exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, HashParseError> {
        <[u8; HASH_SIZE]>::try_from(bytes)
            .map(Hash)
            .map_err(|_| HashParseError::Length(bytes.len()))
    }

    /// Standard base64 with padding (the form used by checkpoints, proofs and tlog-witness).
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    pub fn from_base64(text: &str) -> Result<Self, HashParseError> {
        let bytes = STANDARD.decode(text).map_err(|e| HashParseError::Base64(e.to_string()))?;
        Self::from_slice(&bytes)
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

/// Base64, as in checkpoints.
impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

impl From<[u8; HASH_SIZE]> for Hash {
    fn from(bytes: [u8; HASH_SIZE]) -> Self {
        Hash(bytes)
    }
}

/// Leaf hash: SHA-256(0x00 ‖ data). For claimledger, data is a revision's 32-byte entry_hash.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    Hash(h.finalize().into())
}

/// Interior node hash: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

/// Merkle tree hash of 2^k consecutive hashes of one level (a full or aligned part of a tile),
/// with a fixed stack: no allocation. `hashes.len()` must be a power of two no larger than 256.
pub(crate) fn perfect_subtree_hash(hashes: &[Hash]) -> Hash {
    debug_assert!(hashes.len().is_power_of_two() && hashes.len() <= 256);
    // stack[i] holds a subtree of 2^heights[i] hashes; at most 9 entries for 256 inputs.
    let mut stack = [Hash::default(); 10];
    let mut heights = [0u32; 10];
    let mut top = 0usize;
    for h in hashes {
        stack[top] = *h;
        heights[top] = 0;
        top += 1;
        while top >= 2 && heights[top - 1] == heights[top - 2] {
            stack[top - 2] = node_hash(&stack[top - 2], &stack[top - 1]);
            heights[top - 2] += 1;
            top -= 1;
        }
    }
    stack[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hx(s: &str) -> Hash {
        Hash::from_slice(&hex::decode(s).expect("hex")).expect("32 bytes")
    }

    // transparency-dev/merkle rfc6962_test.go known answers.
    #[test]
    fn rfc6962_hasher_known_answers() {
        assert_eq!(EMPTY_ROOT, Hash(Sha256::digest(b"").into()));
        assert_eq!(
            leaf_hash(b""),
            hx("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
        );
        assert_eq!(
            leaf_hash(b"L123456"),
            hx("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56")
        );
        // HashChildren("N123", "N456") hashes raw bytes, not 32-byte hashes: check the layout by hand.
        let mut h = Sha256::new();
        h.update([1u8]);
        h.update(b"N123");
        h.update(b"N456");
        let want: [u8; 32] = h.finalize().into();
        assert_eq!(
            hex::encode(want),
            "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
        );
    }

    #[test]
    fn node_hash_is_ordered_and_domain_separated() {
        let (a, b) = (leaf_hash(b"Hello"), leaf_hash(b"World"));
        assert_ne!(node_hash(&a, &b), node_hash(&b, &a));
        let mut cat = a.0.to_vec();
        cat.extend_from_slice(&b.0);
        assert_ne!(node_hash(&a, &b), leaf_hash(&cat));
    }

    #[test]
    fn perfect_subtree_hash_matches_pairwise_folding() {
        let leaves: Vec<Hash> = (0u8..8).map(|i| leaf_hash(&[i])).collect();
        let l1: Vec<Hash> = leaves.chunks(2).map(|p| node_hash(&p[0], &p[1])).collect();
        let l2: Vec<Hash> = l1.chunks(2).map(|p| node_hash(&p[0], &p[1])).collect();
        assert_eq!(perfect_subtree_hash(&leaves), node_hash(&l2[0], &l2[1]));
        assert_eq!(perfect_subtree_hash(&leaves[..1]), leaves[0]);
        assert_eq!(perfect_subtree_hash(&leaves[4..8]), l2[1]);
    }

    #[test]
    fn base64_round_trip_and_errors() {
        let h = leaf_hash(b"x");
        assert_eq!(Hash::from_base64(&h.to_base64()), Ok(h));
        assert_eq!(Hash::from_base64("AAAA"), Err(HashParseError::Length(3)));
        assert!(matches!(Hash::from_base64("not base64!"), Err(HashParseError::Base64(_))));
        // Unpadded input is refused: the specs use standard padded base64.
        let unpadded = h.to_base64().trim_end_matches('=').to_string();
        assert!(Hash::from_base64(&unpadded).is_err());
    }
}
