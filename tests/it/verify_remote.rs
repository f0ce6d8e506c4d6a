//! `claimledger verify --log URL --key VKEY [--checkpoint FILE]` against the
//! real server (public endpoints only), and `claimledger verify --proof FILE
//! --key VKEY` offline: what passes, and each failure named.

use claimledger::tlog::{Checkpoint, Hash, MemoryTree, NoteSigner, leaf_hash};
use diesel::prelude::*;
use serde_json::Value;

use crate::cli::cli;
use crate::harness::{TestApp, spawn_app_with};
use crate::transparency::{checkpoint_covering_head, entry_hashes, first_json, log_key};

const ORIGIN: &str = "verify.test.example/log";

/// A server whose log key the test holds (to play an operator who forks).
fn app_with_key(dir: &std::path::Path) -> (TestApp, NoteSigner) {
    let operator = NoteSigner::generate(ORIGIN).unwrap();
    let key_file = dir.join("log.key");
    std::fs::write(&key_file, operator.private_key_text()).unwrap();
    let app = spawn_app_with(|c| {
        c.log.signing_key_file = Some(key_file.clone());
        c.log.origin = ORIGIN.into();
    });
    (app, operator)
}

/// Runs `claimledger verify …`; (exit 0?, the JSON report, all output).
fn verify(app: &TestApp, args: &[&str]) -> (bool, Value, String) {
    let mut all = vec!["verify"];
    all.extend_from_slice(args);
    let (ok, out) = cli(&app.db.url, &all, None);
    let report = first_json(&out);
    assert_eq!(report["ok"].as_bool(), Some(ok), "the exit code follows the report: {out}");
    (ok, report, out)
}

fn passed(report: &Value) -> Vec<&str> {
    report["passed"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect()
}

#[test]
fn verify_log_checks_a_remote_log_from_its_public_endpoints_and_holds_it_to_a_kept_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (app, operator) = app_with_key(dir.path());
    crate::audit_fill(&app, 300, 1);
    let key = log_key(&app);
    let vkey = key.vkey();
    let (first, first_note) = checkpoint_covering_head(&app, &key);
    assert!(first.size() > 256, "level-1 tiles are involved: {}", first.size());
    let base = app.url("");

    // A good checkpoint: signature and the tree hash from the tiles.
    let (ok, r, out) = verify(&app, &["--log", &base, "--key", &vkey]);
    assert!(ok, "{out}");
    assert_eq!(passed(&r), ["checkpoint_signature", "tree_hash"], "{out}");
    assert_eq!(r["checkpoint"]["tree_size"].as_u64(), Some(first.size()));
    assert_eq!(r["checkpoint"]["root"], first.root().to_base64());
    assert!(
        r["tiles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t.as_str().unwrap().starts_with("tile/1/")),
        "{out}"
    );

    // The user keeps that checkpoint; the log grows; it still extends it.
    let kept = dir.path().join("kept.checkpoint");
    std::fs::write(&kept, &first_note).unwrap();
    crate::audit_fill(&app, 25, 1);
    let (second, _) = checkpoint_covering_head(&app, &key);
    assert_eq!(second.size(), first.size() + 25);
    let kept_arg = kept.to_str().unwrap();
    let (ok, r, out) = verify(&app, &["--log", &base, "--key", &vkey, "--checkpoint", kept_arg]);
    assert!(ok, "{out}");
    assert_eq!(
        passed(&r),
        ["checkpoint_signature", "tree_hash", "kept_checkpoint_signature", "consistency"],
        "{out}"
    );
    assert_eq!(r["kept_checkpoint"]["tree_size"].as_u64(), Some(first.size()));
    assert_eq!(r["checkpoint"]["tree_size"].as_u64(), Some(second.size()));
    // The key may also be given as the file `log keygen` writes.
    let pub_file = dir.path().join("log.key.pub");
    std::fs::write(&pub_file, format!("{vkey}\n")).unwrap();
    let (ok, _, out) = verify(&app, &["--log", &base, "--key", pub_file.to_str().unwrap()]);
    assert!(ok, "{out}");

    // A key of the same name that did not sign: the signature is named.
    let stranger = NoteSigner::generate(ORIGIN).unwrap().verifier().vkey();
    let (ok, r, out) = verify(&app, &["--log", &base, "--key", &stranger]);
    assert!(!ok);
    assert_eq!(r["problem"], "bad_signature", "{out}");
    assert!(r["detail"].as_str().unwrap().contains("no signature by a known key"), "{out}");
    assert_eq!(passed(&r), Vec::<&str>::new());
    // A key for another log: the origin is named.
    let other = NoteSigner::generate("another.example/log").unwrap().verifier().vkey();
    let (ok, r, out) = verify(&app, &["--log", &base, "--key", &other]);
    assert!(!ok);
    assert_eq!(r["problem"], "wrong_origin", "{out}");

    // A kept checkpoint of a forked history, signed with the log's own key:
    // leaf 3 rewritten, 10 leaves shorter than the current tree.
    let mut leaves: Vec<Hash> = entry_hashes(&app).iter().map(|e| leaf_hash(e)).collect();
    leaves.truncate(second.size() as usize - 10);
    leaves[2] = leaf_hash(b"a revision the log showed someone else");
    let mut forked = MemoryTree::new();
    forked.extend(&leaves);
    let forked_note = Checkpoint::new(ORIGIN, forked.size(), forked.root())
        .unwrap()
        .sign(&operator)
        .unwrap()
        .to_text();
    let forked_file = dir.path().join("forked.checkpoint");
    std::fs::write(&forked_file, &forked_note).unwrap();
    let (ok, r, out) = verify(
        &app,
        &["--log", &base, "--key", &vkey, "--checkpoint", forked_file.to_str().unwrap()],
    );
    assert!(!ok);
    assert_eq!(r["problem"], "inconsistent_with_kept_checkpoint", "{out}");
    assert_eq!(
        passed(&r),
        ["checkpoint_signature", "tree_hash", "kept_checkpoint_signature"],
        "{out}"
    );
    assert!(
        r["detail"].as_str().unwrap().contains("does not extend the kept checkpoint"),
        "{out}"
    );

    // A kept checkpoint larger than the log is now: history was removed.
    let mut longer = MemoryTree::new();
    longer.extend(&entry_hashes(&app).iter().map(|e| leaf_hash(e)).collect::<Vec<_>>());
    longer.extend(&[leaf_hash(b"a revision since removed")]);
    let longer_file = dir.path().join("longer.checkpoint");
    std::fs::write(
        &longer_file,
        Checkpoint::new(ORIGIN, longer.size(), longer.root())
            .unwrap()
            .sign(&operator)
            .unwrap()
            .to_text(),
    )
    .unwrap();
    let (ok, r, out) = verify(
        &app,
        &["--log", &base, "--key", &vkey, "--checkpoint", longer_file.to_str().unwrap()],
    );
    assert!(!ok);
    assert_eq!(r["problem"], "tree_smaller_than_kept_checkpoint", "{out}");

    // A kept checkpoint signed by someone else is refused before any proof is asked for.
    let impostor = NoteSigner::generate(ORIGIN).unwrap();
    let bogus = dir.path().join("bogus.checkpoint");
    std::fs::write(&bogus, first.sign(&impostor).unwrap().to_text()).unwrap();
    let (ok, r, out) = verify(&app, &["--log", &base, "--key", &vkey, "--checkpoint", bogus.to_str().unwrap()]);
    assert!(!ok);
    assert_eq!(r["problem"], "kept_checkpoint_bad_signature", "{out}");

    // Someone rewrites a stored leaf hash in the tiles: the recomputed tree
    // hash no longer matches the signed root, and the report says so.
    diesel::sql_query(
        "UPDATE tlog_tiles SET hashes = overlay(hashes placing decode(repeat('cd', 32), 'hex') from 33) WHERE level = 0 AND idx = 1",
    )
    .execute(&mut app.conn())
    .unwrap();
    let (ok, r, out) = verify(&app, &["--log", &base, "--key", &vkey]);
    assert!(!ok);
    assert_eq!(r["problem"], "tile_hash_mismatch", "{out}");
    assert_eq!(passed(&r), ["checkpoint_signature"], "{out}");
    assert!(r["detail"].as_str().unwrap().contains("tile/0/001"), "{out}");

    // A log that does not answer is named too.
    let (ok, r, out) = verify(&app, &["--log", "http://127.0.0.1:9", "--key", &vkey]);
    assert!(!ok);
    assert_eq!(r["problem"], "fetch_failed", "{out}");
    // Unusable input is an error, not a report.
    let (ok, out) = cli(&app.db.url, &["verify", "--log", &base, "--key", "not-a-key"], None);
    assert!(!ok && out.contains("key"), "{out}");
}

#[test]
fn verify_proof_checks_one_tlog_proof_file_offline() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _operator) = app_with_key(dir.path());
    let _ = app.fixture();
    let key = log_key(&app);
    let vkey = key.vkey();
    let (c, _) = checkpoint_covering_head(&app, &key);
    assert!(c.size() >= 4, "{}", c.size());

    let r = app.get("/v1/revisions/3/tlog-proof");
    assert_eq!(r.status(), 200);
    let text = r.text().unwrap();
    let proof_file = dir.path().join("3.tlog-proof");
    std::fs::write(&proof_file, &text).unwrap();
    let proof = proof_file.to_str().unwrap();
    let hashes: Vec<String> = entry_hashes(&app).iter().map(hex::encode).collect();
    // Seq 3's and seq 4's export lines, as `claimledger export` writes them.
    let (ok, export) = cli(&app.db.url, &["export", "--after-seq", "2"], None);
    assert!(ok, "{export}");
    let lines: Vec<&str> = export.lines().filter(|l| l.starts_with('{')).collect();
    let entry3 = dir.path().join("3.json");
    std::fs::write(&entry3, lines[0]).unwrap();
    let entry4 = dir.path().join("4.json");
    std::fs::write(&entry4, lines[1]).unwrap();

    // The proof and its entry (by hash, or as the export line): ok.
    let (ok, r, out) = verify(&app, &["--proof", proof, "--key", &vkey, "--entry-hash", &hashes[2]]);
    assert!(ok, "{out}");
    assert_eq!(passed(&r), ["checkpoint_signature", "inclusion"], "{out}");
    assert_eq!((r["seq"].as_u64(), r["leaf_index"].as_u64()), (Some(3), Some(2)));
    assert_eq!(r["checkpoint"]["tree_size"].as_u64(), Some(c.size()));
    let (ok, r, out) = verify(&app, &["--proof", proof, "--key", &vkey, "--entry", entry3.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert_eq!(r["entry_hash"], hashes[2]);

    // Another revision's entry is not what the proof proves.
    let (ok, r, out) = verify(&app, &["--proof", proof, "--key", &vkey, "--entry-hash", &hashes[3]]);
    assert!(!ok);
    assert_eq!(r["problem"], "not_included", "{out}");
    assert_eq!(passed(&r), ["checkpoint_signature"], "{out}");
    let (ok, r, out) = verify(&app, &["--proof", proof, "--key", &vkey, "--entry", entry4.to_str().unwrap()]);
    assert!(!ok);
    assert_eq!(r["problem"], "entry_mismatch", "{out}");
    // An export line whose content was edited no longer hashes to its entry_hash.
    let edited = dir.path().join("edited.json");
    std::fs::write(&edited, lines[0].replacen("\"entity_version\":1", "\"entity_version\":2", 1)).unwrap();
    assert_ne!(std::fs::read_to_string(&edited).unwrap(), lines[0]);
    let (ok, r, out) = verify(&app, &["--proof", proof, "--key", &vkey, "--entry", edited.to_str().unwrap()]);
    assert!(!ok);
    assert_eq!(r["problem"], "entry_mismatch", "{out}");

    // An altered file: one proof hash changed.
    let proof_lines: Vec<&str> = text.split('\n').collect();
    assert!(proof_lines[2].len() == 44, "{text}");
    let mut altered = proof_lines.clone();
    let flipped = Hash::from([7u8; 32]).to_base64();
    altered[2] = &flipped;
    let altered_file = dir.path().join("altered.tlog-proof");
    std::fs::write(&altered_file, altered.join("\n")).unwrap();
    let (ok, r, out) = verify(
        &app,
        &[
            "--proof",
            altered_file.to_str().unwrap(),
            "--key",
            &vkey,
            "--entry-hash",
            &hashes[2],
        ],
    );
    assert!(!ok);
    assert_eq!(r["problem"], "not_included", "{out}");

    // An altered file: the checkpoint's tree size changed, so its signature fails.
    let size_line = proof_lines.iter().position(|l| *l == ORIGIN).unwrap() + 1;
    let mut altered = proof_lines.clone();
    let bigger = (c.size() + 1).to_string();
    altered[size_line] = &bigger;
    std::fs::write(&altered_file, altered.join("\n")).unwrap();
    let (ok, r, out) = verify(
        &app,
        &[
            "--proof",
            altered_file.to_str().unwrap(),
            "--key",
            &vkey,
            "--entry-hash",
            &hashes[2],
        ],
    );
    assert!(!ok);
    assert_eq!(r["problem"], "bad_signature", "{out}");

    // A wrong key, and a file that is not a tlog-proof.
    let stranger = NoteSigner::generate(ORIGIN).unwrap().verifier().vkey();
    let (ok, r, out) = verify(&app, &["--proof", proof, "--key", &stranger, "--entry-hash", &hashes[2]]);
    assert!(!ok);
    assert_eq!(r["problem"], "bad_signature", "{out}");
    let (ok, r, out) = verify(
        &app,
        &["--proof", entry3.to_str().unwrap(), "--key", &vkey, "--entry-hash", &hashes[2]],
    );
    assert!(!ok);
    assert_eq!(r["problem"], "malformed_proof", "{out}");
    // Without the entry there is nothing to prove: a usage error.
    let (ok, out) = cli(&app.db.url, &["verify", "--proof", proof, "--key", &vkey], None);
    assert!(!ok && out.contains("--entry"), "{out}");
}
