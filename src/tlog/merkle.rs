//! RFC 9162 §2.1 Merkle tree math: tree hashes, inclusion and consistency proofs
//! (generation from stored hashes, and verification).
//!
//! Proof generation reads complete subtrees through [`HashReader`]; the reads depend only on
//! the sizes and indexes, never on hash values, so callers can plan their storage reads up
//! front (see [`crate::tlog::tile::tiles_for_inclusion`]).

use super::hash::{EMPTY_ROOT, Hash, leaf_hash, node_hash};

/// Reads the hash of a complete subtree: `2^height` leaves starting at leaf `index << height`.
pub trait HashReader {
    fn node(&self, height: u8, index: u64) -> Result<Hash, TreeError>;
}

impl<R: HashReader + ?Sized> HashReader for &R {
    fn node(&self, height: u8, index: u64) -> Result<Hash, TreeError> {
        (**self).node(height, index)
    }
}

/// Why a hash or proof could not be produced from storage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("a consistency proof needs 0 < from ≤ to; got from {from} to {to}")]
    BadConsistencySizes { from: u64, to: u64 },
    #[error("the hash of the subtree at height {height}, index {index} is not available (tile level {level}, index {tile} not loaded)")]
    MissingTile { height: u8, index: u64, level: u8, tile: u64 },
    #[error("tile level {level}, index {tile} holds {have} hashes; {need} are needed")]
    ShortTile { level: u8, tile: u64, have: usize, need: usize },
    #[error("the subtree at height {height}, index {index} is beyond the stored tree of size {size}")]
    BeyondTree { height: u8, index: u64, size: u64 },
    #[error("the new hashes continue a tree of size {batch_starts_at}, but the stored tree has {stored}")]
    DoesNotContinue { batch_starts_at: u64, stored: u64 },
    #[error("subtree [{lo}, {hi}) is not a subtree of the RFC 6962 tree")]
    Unaligned { lo: u64, hi: u64 },
}

/// Why a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf index {index} is not below the tree size {size}")]
    IndexBeyondSize { index: u64, size: u64 },
    #[error("old size {from} is larger than new size {to}")]
    OldLargerThanNew { from: u64, to: u64 },
    #[error("a consistency proof from the empty tree proves nothing")]
    FromEmptyTree,
    #[error("the sizes are equal, so the proof must be empty; it has {0} hashes")]
    NotEmptyForEqualSizes(usize),
    #[error("the sizes are equal but the roots differ")]
    RootsDiffer,
    #[error("the proof is empty")]
    Empty,
    #[error("the proof has the wrong number of hashes for these sizes")]
    WrongLength,
    #[error("the proof does not lead to the expected root")]
    RootMismatch,
    #[error("the proof does not reproduce the old root")]
    OldRootMismatch,
    #[error("the proof does not reproduce the new root")]
    NewRootMismatch,
}

/// The largest power of two strictly below `n` (n ≥ 2): RFC 9162's split point k.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Merkle tree hash of leaves `[lo, hi)`, which must be a subtree of the RFC 6962 tree: `lo` a
/// multiple of the smallest power of two ≥ `hi - lo`. Reads one complete subtree per set bit of
/// `hi - lo` and folds them right to left.
pub fn subtree_hash<R: HashReader + ?Sized>(lo: u64, hi: u64, r: &R) -> Result<Hash, TreeError> {
    let size = hi.checked_sub(lo).filter(|s| *s > 0).ok_or(TreeError::Unaligned { lo, hi })?;
    let span = size.checked_next_power_of_two().unwrap_or(0);
    if (span != 0 && !lo.is_multiple_of(span)) || (span == 0 && lo != 0) {
        return Err(TreeError::Unaligned { lo, hi });
    }
    let mut acc: Option<Hash> = None;
    for height in 0..64u32 {
        if size >> height & 1 == 0 {
            continue;
        }
        // The subtree for this bit starts after the larger subtrees to its left.
        let above = if height == 63 { 0 } else { size >> (height + 1) << (height + 1) };
        let start = lo + above;
        let node = r.node(height as u8, start >> height)?;
        acc = Some(match acc {
            None => node,
            Some(right) => node_hash(&node, &right),
        });
    }
    acc.ok_or(TreeError::Unaligned { lo, hi })
}

/// Root hash of the tree of the first `size` leaves.
pub fn tree_hash<R: HashReader + ?Sized>(size: u64, r: &R) -> Result<Hash, TreeError> {
    if size == 0 { Ok(EMPTY_ROOT) } else { subtree_hash(0, size, r) }
}

/// RFC 9162 §2.1.3.1 PATH(index, D[size]): sibling hashes from the leaf up to the root.
pub fn inclusion_proof<R: HashReader + ?Sized>(index: u64, size: u64, r: &R) -> Result<Vec<Hash>, TreeError> {
    if index >= size {
        return Err(TreeError::IndexOutOfRange { index, size });
    }
    let mut path = Vec::with_capacity(64);
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            path.push(subtree_hash(lo + k, hi, r)?);
            hi = lo + k;
        } else {
            path.push(subtree_hash(lo, lo + k, r)?);
            lo += k;
        }
    }
    path.reverse();
    Ok(path)
}

/// RFC 9162 §2.1.4.1 PROOF(from, D[to]) for 0 < from ≤ to (empty when from == to).
pub fn consistency_proof<R: HashReader + ?Sized>(from: u64, to: u64, r: &R) -> Result<Vec<Hash>, TreeError> {
    if from == 0 || from > to {
        return Err(TreeError::BadConsistencySizes { from, to });
    }
    let mut proof = Vec::with_capacity(64);
    let (mut lo, mut hi, mut complete) = (0u64, to, true);
    loop {
        if from == hi {
            if !complete {
                proof.push(subtree_hash(lo, hi, r)?);
            }
            break;
        }
        let k = split_point(hi - lo);
        if from - lo <= k {
            proof.push(subtree_hash(lo + k, hi, r)?);
            hi = lo + k;
        } else {
            proof.push(subtree_hash(lo, lo + k, r)?);
            lo += k;
            complete = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// RFC 9162 §2.1.3.2: the root an inclusion proof leads to.
pub fn root_from_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash]) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexBeyondSize { index, size });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(ProofError::WrongLength);
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength);
    }
    Ok(r)
}

/// Verifies that `leaf` (a leaf hash) is at `index` in the tree of `size` leaves with `root`.
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> Result<(), ProofError> {
    if root_from_inclusion(index, size, leaf, proof)? == *root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Convenience: inclusion of leaf data (for claimledger, the 32 raw bytes of an entry_hash).
pub fn verify_inclusion_of_data(index: u64, size: u64, data: &[u8], proof: &[Hash], root: &Hash) -> Result<(), ProofError> {
    verify_inclusion(index, size, &leaf_hash(data), proof, root)
}

/// RFC 9162 §2.1.4.2: verifies that the tree (`to`, `new_root`) extends (`from`, `old_root`).
/// Equal sizes need an empty proof and equal roots; `from == 0` is refused, as in
/// transparency-dev/merkle (the empty tree is trivially consistent: callers decide).
pub fn verify_consistency(from: u64, to: u64, proof: &[Hash], old_root: &Hash, new_root: &Hash) -> Result<(), ProofError> {
    if from > to {
        return Err(ProofError::OldLargerThanNew { from, to });
    }
    if from == 0 {
        return Err(ProofError::FromEmptyTree);
    }
    if from == to {
        if !proof.is_empty() {
            return Err(ProofError::NotEmptyForEqualSizes(proof.len()));
        }
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::RootsDiffer)
        };
    }
    let (first, rest) = proof.split_first().ok_or(ProofError::Empty)?;
    // Step 2: when `from` is a power of two the old root itself is the first path element.
    let (seed, rest) = if from.is_power_of_two() {
        (*old_root, proof)
    } else {
        (*first, rest)
    };
    let (mut f, mut s) = (from - 1, to - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (seed, seed);
    for c in rest {
        if s == 0 {
            return Err(ProofError::WrongLength);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength);
    }
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if sr != *new_root {
        return Err(ProofError::NewRootMismatch);
    }
    Ok(())
}

/// Why the integrator must not sign a new tree head.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionError {
    #[error("the new tree ({new}) is smaller than the last signed one ({old})")]
    Shrinks { old: u64, new: u64 },
    #[error("the empty tree's root is SHA-256(\"\"); the last signed checkpoint of size 0 has another")]
    BadEmptyRoot,
    #[error("cannot build the consistency proof: {0}")]
    Storage(#[from] TreeError),
    #[error("the new tree does not extend the last signed one: {0}")]
    Inconsistent(#[from] ProofError),
}

/// The integrator's check before signing: proves from storage that the tree (`new_size`,
/// `new_root`) extends the last signed one (`old_size`, `old_root`) and verifies that proof.
/// Returns the proof (empty when `old_size` is 0 or equal to `new_size`), which is also what
/// a witness holding `old_size` needs.
pub fn prove_extension<R: HashReader + ?Sized>(
    old_size: u64,
    old_root: &Hash,
    new_size: u64,
    new_root: &Hash,
    r: &R,
) -> Result<Vec<Hash>, ExtensionError> {
    if new_size < old_size {
        return Err(ExtensionError::Shrinks {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == 0 {
        return if *old_root == EMPTY_ROOT {
            Ok(Vec::new())
        } else {
            Err(ExtensionError::BadEmptyRoot)
        };
    }
    let proof = consistency_proof(old_size, new_size, r)?;
    verify_consistency(old_size, new_size, &proof, old_root, new_root)?;
    Ok(proof)
}

/// Leaf index of a claimledger revision: `seq − 1` (seq starts at 1).
pub fn leaf_index_for_seq(seq: i64) -> Option<u64> {
    u64::try_from(seq).ok().and_then(|s| s.checked_sub(1))
}

/// The revision seq of a leaf index: `index + 1`.
pub fn seq_for_leaf_index(index: u64) -> Option<i64> {
    i64::try_from(index).ok().and_then(|i| i.checked_add(1))
}
