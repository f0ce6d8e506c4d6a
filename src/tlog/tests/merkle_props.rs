//! Property-style tests: a direct, recursive transcription of RFC 9162 §2.1 over a list of
//! leaves is the oracle; the storage-backed code must agree with it for random sizes, and
//! tampered proofs must not verify.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::tlog::hash::{EMPTY_ROOT, Hash, leaf_hash, node_hash};
use crate::tlog::memory::MemoryTree;
use crate::tlog::merkle::{ProofError, TreeError, consistency_proof, inclusion_proof, tree_hash, verify_consistency, verify_inclusion};
use crate::tlog::tile::{TileSet, tiles_for_consistency, tiles_for_inclusion, tiles_for_tree_hash};

fn k(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]).
fn mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => EMPTY_ROOT,
        1 => d[0],
        n => node_hash(&mth(&d[..k(n)]), &mth(&d[k(n)..])),
    }
}

/// PATH(m, D[n]).
fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
    if d.len() <= 1 {
        return vec![];
    }
    let k = k(d.len());
    let (mut p, sibling) = if m < k {
        (path(m, &d[..k]), mth(&d[k..]))
    } else {
        (path(m - k, &d[k..]), mth(&d[..k]))
    };
    p.push(sibling);
    p
}

/// SUBPROOF(m, D[n], b).
fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
    if m == d.len() {
        return if b { vec![] } else { vec![mth(d)] };
    }
    let k = k(d.len());
    let (mut p, other) = if m <= k {
        (subproof(m, &d[..k], b), mth(&d[k..]))
    } else {
        (subproof(m - k, &d[k..], false), mth(&d[..k]))
    };
    p.push(other);
    p
}

fn leaves(n: usize, salt: u64) -> Vec<Hash> {
    (0..n as u64).map(|i| leaf_hash(&(i ^ salt).to_be_bytes())).collect()
}

fn tree_of(d: &[Hash]) -> MemoryTree {
    let mut t = MemoryTree::new();
    t.extend(d);
    t
}

fn flip(proof: &[Hash], i: usize) -> Vec<Hash> {
    let mut p = proof.to_vec();
    p[i].0[i % 32] ^= 0x40;
    p
}

#[test]
fn small_trees_agree_with_the_rfc_oracle_exhaustively() {
    let d = leaves(70, 1);
    let tree = tree_of(&d);
    for n in 1..=d.len() {
        let root = mth(&d[..n]);
        assert_eq!(tree_hash(n as u64, &tree), Ok(root));
        for m in 0..n {
            let p = inclusion_proof(m as u64, n as u64, &tree).expect("inclusion");
            assert_eq!(p, path(m, &d[..n]), "PATH({m}, D[{n}])");
            assert_eq!(verify_inclusion(m as u64, n as u64, &d[m], &p, &root), Ok(()));
        }
        for m in 1..=n {
            let p = consistency_proof(m as u64, n as u64, &tree).expect("consistency");
            assert_eq!(p, subproof(m, &d[..n], true), "PROOF({m}, D[{n}])");
            assert_eq!(verify_consistency(m as u64, n as u64, &p, &mth(&d[..m]), &root), Ok(()));
        }
    }
}

#[test]
fn random_sizes_proofs_verify_and_tampering_is_caught() {
    let mut rng = StdRng::seed_from_u64(6962);
    let d = leaves(5_000, 2);
    let tree = tree_of(&d);
    for _ in 0..300 {
        let n = rng.random_range(1..=d.len());
        let m = rng.random_range(0..n);
        let root = tree_hash(n as u64, &tree).expect("root");
        let p = inclusion_proof(m as u64, n as u64, &tree).expect("inclusion");
        assert_eq!(verify_inclusion(m as u64, n as u64, &d[m], &p, &root), Ok(()));
        // Wrong leaf, wrong index, a flipped bit, a dropped or an extra hash: refused. (A wrong
        // size alone can pass when both sizes give the path the same shape: RFC 6962 binds the
        // size through the signed checkpoint, not through the root.)
        let other = (m + 1) % n;
        if d[other] != d[m] {
            assert!(verify_inclusion(m as u64, n as u64, &d[other], &p, &root).is_err());
        }
        if n > 1 {
            assert!(
                verify_inclusion(other as u64, n as u64, &d[m], &p, &root).is_err(),
                "index {m}→{other} of {n}"
            );
            let i = rng.random_range(0..p.len());
            assert!(verify_inclusion(m as u64, n as u64, &d[m], &flip(&p, i), &root).is_err());
            assert!(verify_inclusion(m as u64, n as u64, &d[m], &p[..p.len() - 1], &root).is_err());
        }
        let mut longer = p.clone();
        longer.push(root);
        assert!(verify_inclusion(m as u64, n as u64, &d[m], &longer, &root).is_err());

        let old = rng.random_range(1..=n);
        let old_root = tree_hash(old as u64, &tree).expect("old root");
        let c = consistency_proof(old as u64, n as u64, &tree).expect("consistency");
        assert_eq!(verify_consistency(old as u64, n as u64, &c, &old_root, &root), Ok(()));
        if old < n {
            let i = rng.random_range(0..c.len());
            assert!(verify_consistency(old as u64, n as u64, &flip(&c, i), &old_root, &root).is_err());
            assert!(verify_consistency(old as u64, n as u64, &c, &root, &root).is_err());
            assert!(verify_consistency(old as u64, n as u64, &c, &old_root, &old_root).is_err());
        }
    }
}

/// A forked history: the same first leaves, then different ones. No proof links the forks.
#[test]
fn a_fork_is_not_consistent() {
    let honest = leaves(1_000, 3);
    let mut forked = honest[..600].to_vec();
    forked.extend(leaves(400, 99));
    let (a, b) = (tree_of(&honest), tree_of(&forked));
    let old_root = tree_hash(700, &a).expect("old root");
    let proof = consistency_proof(700, 1_000, &b).expect("proof from the fork");
    assert_eq!(
        verify_consistency(700, 1_000, &proof, &old_root, &b.root()),
        Err(ProofError::OldRootMismatch)
    );
    // Up to the fork point they agree.
    let p = consistency_proof(600, 1_000, &b).expect("proof");
    assert_eq!(
        verify_consistency(600, 1_000, &p, &tree_hash(600, &a).expect("root"), &b.root()),
        Ok(())
    );
}

/// The tiles the planners name are exactly enough: proofs from a [`TileSet`] holding only
/// them equal the in-memory proofs, and stored tiles wider than needed are fine.
#[test]
fn planned_tiles_are_sufficient() {
    let mut rng = StdRng::seed_from_u64(9162);
    let d = leaves(140_000, 4);
    let tree = tree_of(&d);
    let load = |tiles: &[crate::tlog::TileId], grown: bool| {
        let mut set = TileSet::new();
        for t in tiles {
            let mut t = *t;
            if grown {
                // A row that has grown since: full width where the tree allows.
                t.width = crate::tlog::tile::tile_width(t.level, t.index, tree.size()).expect("tile exists");
            }
            set.insert(t.level, t.index, tree.tile_data(t).expect("tile data")).expect("insert");
        }
        set
    };
    for round in 0..60 {
        let n = rng.random_range(1..=d.len() as u64);
        let m = rng.random_range(0..n);
        let grown = round % 2 == 0;
        let tiles = tiles_for_inclusion(m, n).expect("plan");
        assert!(tiles.len() <= 2 * 3, "{tiles:?}");
        assert_eq!(inclusion_proof(m, n, &load(&tiles, grown)), inclusion_proof(m, n, &tree));
        let old = rng.random_range(1..=n);
        let tiles = tiles_for_consistency(old, n).expect("plan");
        assert_eq!(consistency_proof(old, n, &load(&tiles, grown)), consistency_proof(old, n, &tree));
        assert_eq!(tree_hash(n, &load(&tiles_for_tree_hash(n), grown)), tree_hash(n, &tree));
    }
    // A missing tile is named.
    let err = inclusion_proof(5, 100_000, &TileSet::new()).expect_err("nothing loaded");
    assert!(matches!(err, TreeError::MissingTile { level: 0, .. }), "{err}");
}

#[test]
fn the_integrator_check_refuses_to_extend_a_fork() {
    use crate::tlog::merkle::{ExtensionError, prove_extension};
    let honest = tree_of(&leaves(3_000, 6));
    let (old, new) = (tree_hash(1_000, &honest).expect("old"), honest.root());
    let proof = prove_extension(1_000, &old, 3_000, &new, &honest).expect("extends");
    assert_eq!(verify_consistency(1_000, 3_000, &proof, &old, &new), Ok(()));
    assert_eq!(prove_extension(0, &EMPTY_ROOT, 3_000, &new, &honest), Ok(vec![]));
    assert_eq!(prove_extension(3_000, &new, 3_000, &new, &honest), Ok(vec![]));
    assert_eq!(prove_extension(0, &new, 3_000, &new, &honest), Err(ExtensionError::BadEmptyRoot));
    assert_eq!(
        prove_extension(3_000, &new, 1_000, &old, &honest),
        Err(ExtensionError::Shrinks { old: 3_000, new: 1_000 })
    );
    // Storage that was rewritten after size 500: the last signed root is not reproduced.
    let mut rewritten = leaves(500, 6);
    rewritten.extend(leaves(2_500, 7));
    let forked = tree_of(&rewritten);
    assert_eq!(
        prove_extension(1_000, &old, 3_000, &forked.root(), &forked),
        Err(ExtensionError::Inconsistent(ProofError::OldRootMismatch))
    );
    assert!(matches!(
        prove_extension(1_000, &old, 3_000, &new, &TileSet::new()),
        Err(ExtensionError::Storage(_))
    ));
}

#[test]
fn proof_generation_refuses_bad_sizes() {
    let tree = tree_of(&leaves(10, 5));
    assert_eq!(
        inclusion_proof(10, 10, &tree),
        Err(TreeError::IndexOutOfRange { index: 10, size: 10 })
    );
    assert_eq!(
        consistency_proof(0, 5, &tree),
        Err(TreeError::BadConsistencySizes { from: 0, to: 5 })
    );
    assert_eq!(
        consistency_proof(6, 5, &tree),
        Err(TreeError::BadConsistencySizes { from: 6, to: 5 })
    );
    assert_eq!(consistency_proof(5, 5, &tree), Ok(vec![]));
    assert!(matches!(inclusion_proof(3, 11, &tree), Err(TreeError::BeyondTree { .. })));
}
