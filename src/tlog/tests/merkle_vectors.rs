//! transparency-dev/merkle's known-answer data (Apache-2.0, commit 417fb0c, see
//! `src/tlog/testdata/README.md`): the RFC 6962 reference tree of 8 leaves, and the
//! inclusion / consistency probe files, each a proof that must or must not verify.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::tlog::hash::{EMPTY_ROOT, Hash, leaf_hash};
use crate::tlog::memory::MemoryTree;
use crate::tlog::merkle::{consistency_proof, inclusion_proof, tree_hash, verify_consistency, verify_inclusion};

const INCLUSION: &str = include_str!("../testdata/inclusion.json");
const CONSISTENCY: &str = include_str!("../testdata/consistency.json");

/// testonly.LeafInputs().
pub(super) fn reference_leaves() -> Vec<Vec<u8>> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|h| hex::decode(h).expect("hex"))
    .collect()
}

/// testonly.RootHashes(): the roots of the reference tree at sizes 0..=8.
const REFERENCE_ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn reference_tree() -> MemoryTree {
    let mut t = MemoryTree::new();
    for leaf in reference_leaves() {
        t.push(leaf_hash(&leaf));
    }
    t
}

/// Our API takes 32-byte hashes. A few probes put short placeholders ("don't care 1/2") or
/// the empty string where a root goes; zero-padding keeps their equalities and inequalities.
fn hash(v: &Value) -> Hash {
    let bytes = STANDARD.decode(v.as_str().expect("base64 string")).expect("base64");
    assert!(bytes.len() <= 32, "a probe value longer than a hash");
    let mut h = [0u8; 32];
    h[..bytes.len()].copy_from_slice(&bytes);
    Hash(h)
}

/// A leaf hash that is not 32 bytes cannot even be passed to our API (Go refuses it with
/// "leafHash has unexpected size"): such a probe is refused by the type.
fn leaf(v: &Value) -> Option<Hash> {
    Hash::from_slice(&STANDARD.decode(v.as_str().expect("base64 string")).expect("base64")).ok()
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array().map(|a| a.iter().map(hash).collect()).unwrap_or_default()
}

fn probes(text: &str) -> Vec<Value> {
    serde_json::from_str::<Vec<Value>>(text).expect("probe file is a JSON array")
}

#[test]
fn reference_tree_roots_at_every_size() {
    let tree = reference_tree();
    for (size, want) in REFERENCE_ROOTS.iter().enumerate() {
        assert_eq!(tree_hash(size as u64, &tree).expect("tree hash").to_hex(), *want, "size {size}");
    }
    assert_eq!(tree.root().to_hex(), REFERENCE_ROOTS[8]);
    assert_eq!(tree_hash(0, &tree), Ok(EMPTY_ROOT));
}

#[test]
fn inclusion_probes() {
    let all = probes(INCLUSION);
    assert_eq!(all.len(), 98, "the vendored probe set changed");
    let mut wrong = Vec::new();
    for p in &all {
        let got = leaf(&p["leafHash"]).ok_or("leaf hash is not 32 bytes").and_then(|leaf| {
            verify_inclusion(
                p["leafIdx"].as_u64().expect("leafIdx"),
                p["treeSize"].as_u64().expect("treeSize"),
                &leaf,
                &hashes(&p["proof"]),
                &hash(&p["root"]),
            )
            .map_err(|_| "refused")
        });
        if got.is_err() != p["wantErr"].as_bool().expect("wantErr") {
            wrong.push(format!("{}: {got:?}", p["file"]));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} probes wrong:\n{}",
        wrong.len(),
        all.len(),
        wrong.join("\n")
    );
}

#[test]
fn consistency_probes() {
    let all = probes(CONSISTENCY);
    assert_eq!(all.len(), 98, "the vendored probe set changed");
    let mut wrong = Vec::new();
    for p in &all {
        let got = verify_consistency(
            p["size1"].as_u64().expect("size1"),
            p["size2"].as_u64().expect("size2"),
            &hashes(&p["proof"]),
            &hash(&p["root1"]),
            &hash(&p["root2"]),
        );
        if got.is_err() != p["wantErr"].as_bool().expect("wantErr") {
            wrong.push(format!("{}: {got:?}", p["file"]));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} probes wrong:\n{}",
        wrong.len(),
        all.len(),
        wrong.join("\n")
    );
}

/// Every happy-path probe is over the reference tree: our generated proofs must equal them.
#[test]
fn generated_proofs_equal_the_happy_path_probes() {
    let tree = reference_tree();
    let mut checked = 0;
    for p in probes(INCLUSION).iter().filter(|p| p["desc"] == "happy path") {
        let (index, size) = (p["leafIdx"].as_u64().expect("idx"), p["treeSize"].as_u64().expect("size"));
        assert_eq!(
            inclusion_proof(index, size, &tree).expect("proof"),
            hashes(&p["proof"]),
            "{}",
            p["file"]
        );
        assert_eq!(tree_hash(size, &tree).expect("root"), hash(&p["root"]));
        checked += 1;
    }
    for p in probes(CONSISTENCY).iter().filter(|p| p["desc"] == "happy path") {
        let (from, to) = (p["size1"].as_u64().expect("size1"), p["size2"].as_u64().expect("size2"));
        assert_eq!(
            consistency_proof(from, to, &tree).expect("proof"),
            hashes(&p["proof"]),
            "{}",
            p["file"]
        );
        assert_eq!(tree_hash(from, &tree).expect("root1"), hash(&p["root1"]));
        checked += 1;
    }
    assert_eq!(checked, 10);
}
