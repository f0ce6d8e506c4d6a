//! The transparency log (issue 14): the Merkle tree integrated by the
//! sequencer, signed checkpoints, C2SP tiles and entry bundles, proofs, and
//! what happens when someone tampers with the database. Everything a client
//! checks here it reads from the public endpoints and verifies with
//! `claimledger::tlog` (the Go client in tests/tlog-go checks the same from
//! outside).

use std::time::{Duration, Instant};

use claimledger::tlog::merkle::{self, verify_consistency, verify_inclusion};
use claimledger::tlog::{Checkpoint, Hash, NoteKey, NoteVerifier, SignedCheckpoint, TileSet, TlogProof, bundle, leaf_hash, tile};
use diesel::prelude::*;
use serde_json::Value;

use crate::harness::{TestApp, problem, spawn_app};

pub(crate) fn head_seq(app: &TestApp) -> i64 {
    use claimledger::db::schema::log_head::dsl::*;
    log_head.select(seq).first(&mut app.conn()).unwrap()
}

pub(crate) fn entry_hashes(app: &TestApp) -> Vec<Vec<u8>> {
    use claimledger::db::schema::revisions::dsl::*;
    revisions.order(seq.asc()).select(entry_hash).load(&mut app.conn()).unwrap()
}

pub(crate) fn log_key(app: &TestApp) -> NoteVerifier {
    let r = app.get("/v1/log/key");
    assert_eq!(r.status(), 200);
    NoteVerifier::from_vkey(r.text().unwrap().trim()).expect("a signed-note verifier key")
}

/// The newest checkpoint, its signature verified with the served key.
fn checkpoint(app: &TestApp, key: &NoteVerifier) -> (Checkpoint, String) {
    let r = app
        .client
        .get(app.url("/v1/log/checkpoint"))
        .header("Origin", "https://elsewhere.example")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = r.text().unwrap();
    let signed = SignedCheckpoint::parse(text.as_bytes()).expect("a checkpoint note");
    signed.verify(&[key as &dyn NoteKey]).expect("signed by the log's key");
    (signed.checkpoint, text)
}

/// Waits until a signed checkpoint covers the whole log.
pub(crate) fn checkpoint_covering_head(app: &TestApp, key: &NoteVerifier) -> (Checkpoint, String) {
    let head = head_seq(app) as u64;
    let started = Instant::now();
    loop {
        if app.get("/v1/log/checkpoint").status() == 200 {
            let (c, text) = checkpoint(app, key);
            if c.size() >= head {
                assert_eq!(c.size(), head, "a checkpoint never runs ahead of the log");
                return (c, text);
            }
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no checkpoint covered seq {head}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The tree hash of `size` leaves, computed from tiles fetched over HTTP.
fn root_from_tiles(app: &TestApp, size: u64) -> Hash {
    let mut tiles = TileSet::new();
    for id in tile::tiles_for_tree_hash(size) {
        let r = app.get(&format!("/v1/log/{}", id.path()));
        assert_eq!(r.status(), 200, "{}", id.path());
        let cache = r.headers()["cache-control"].to_str().unwrap().to_string();
        assert_eq!(cache.contains("immutable"), id.is_full(), "{}: {cache}", id.path());
        let bytes = r.bytes().unwrap().to_vec();
        assert_eq!(bytes.len(), usize::from(id.width) * 32, "{}", id.path());
        tiles.insert(id.level, id.index, bytes).unwrap();
    }
    merkle::tree_hash(size, &tiles).unwrap()
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| Hash::from_base64(h.as_str().unwrap()).unwrap())
        .collect()
}

#[test]
fn the_tree_over_the_log_is_signed_served_as_tiles_and_proves_every_revision() {
    let app = spawn_app();
    crate::audit_fill(&app, 300, 2);
    let key = log_key(&app);
    let (first, _) = checkpoint_covering_head(&app, &key);
    assert!(first.size() > 512, "{}", first.size());

    // The tree is RFC 6962's over the entry hashes, and the tiles give its root.
    let leaves = entry_hashes(&app);
    let mut reference = claimledger::tlog::MemoryTree::new();
    for l in &leaves {
        reference.push(leaf_hash(l));
    }
    assert_eq!(reference.root(), *first.root());
    assert_eq!(root_from_tiles(&app, first.size()), *first.root());

    // Entry bundles carry the 32-byte entry hashes, length-prefixed.
    let r = app.get("/v1/log/tile/entries/001");
    assert_eq!(r.status(), 200);
    assert!(r.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    let data = r.bytes().unwrap();
    let entries = bundle::parse_entry_bundle_of_width(&data, 256).unwrap();
    assert_eq!(entries[0], leaves[256].as_slice());
    assert_eq!(entries[255], leaves[511].as_slice());
    let partial = first.size() % 256;
    let r = app.get(&format!("/v1/log/tile/entries/{:03}.p/{partial}", first.size() / 256));
    assert_eq!(r.status(), 200);
    assert!(!r.headers()["cache-control"].to_str().unwrap().contains("immutable"));

    // Inclusion proofs for leaves across the tree verify against the checkpoint.
    for seq in [1, 2, 255, 256, 257, 300, first.size() as i64] {
        let r = app.get(&format!("/v1/log/proof/inclusion?seq={seq}&size={}", first.size()));
        assert_eq!(r.status(), 200);
        let p: Value = r.json().unwrap();
        assert_eq!(
            (p["seq"].as_i64(), p["leaf_index"].as_i64(), p["tree_size"].as_u64()),
            (Some(seq), Some(seq - 1), Some(first.size()))
        );
        let leaf = leaf_hash(&leaves[(seq - 1) as usize]);
        verify_inclusion((seq - 1) as u64, first.size(), &leaf, &hashes(&p["hashes"]), first.root()).unwrap();
    }

    // More writes: a newer checkpoint, provably consistent with the first.
    crate::audit_fill(&app, 20, 1);
    let (second, second_text) = checkpoint_covering_head(&app, &key);
    assert_eq!(second.size(), first.size() + 20);
    let r = app.get(&format!("/v1/log/proof/consistency?from={}&to={}", first.size(), second.size()));
    assert_eq!(r.status(), 200);
    let p: Value = r.json().unwrap();
    verify_consistency(first.size(), second.size(), &hashes(&p["hashes"]), first.root(), second.root()).unwrap();

    // Every checkpoint is stored and listed, oldest first.
    let page: Value = app.get("/v1/log/checkpoints?after=0&limit=1000").json().unwrap();
    let sizes: Vec<u64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["tree_size"].as_u64().unwrap())
        .collect();
    assert!(sizes.contains(&first.size()) && sizes.contains(&second.size()), "{sizes:?}");
    assert!(sizes.windows(2).all(|w| w[0] < w[1]), "{sizes:?}");
    let page: Value = app.get(&format!("/v1/log/checkpoints?after={}", first.size())).json().unwrap();
    assert_eq!(
        page["items"][0]["tree_size"].as_u64(),
        sizes.iter().copied().find(|s| *s > first.size())
    );

    // A revision's tlog-proof file verifies offline with the log's key.
    let r = app.get("/v1/revisions/257/tlog-proof");
    assert_eq!(r.status(), 200);
    let proof = TlogProof::parse(&r.text().unwrap()).unwrap();
    assert_eq!(proof.index, 256);
    assert_eq!(proof.checkpoint_note, second_text);
    let verified = proof
        .verify(&leaf_hash(&leaves[256]), first.origin(), std::slice::from_ref(&key), &[], 0)
        .unwrap();
    assert_eq!(verified.checkpoint.size(), second.size());
    // Bound to its leaf: another leaf does not verify.
    assert!(proof.verify(&leaf_hash(&leaves[255]), first.origin(), &[key], &[], 0).is_err());
}

#[test]
fn bad_tile_and_proof_requests_are_named_problems() {
    let app = spawn_app();
    let _ = app.fixture();
    let key = log_key(&app);
    let (c, _) = checkpoint_covering_head(&app, &key);
    let size = c.size();
    assert!(size >= 1);

    for path in [
        "/v1/log/tile/0/1",
        "/v1/log/tile/0/x000/000",
        "/v1/log/tile/64/000",
        "/v1/log/tile/0/000.p/0",
        "/v1/log/tile/0/000.p/256",
        "/v1/log/tile/entries/00",
    ] {
        let p = problem(app.get(path), 400);
        assert!(p["detail"].as_str().unwrap().contains("tile path"), "{path}: {p}");
    }
    // Tiles the tree does not have (yet): 404.
    problem(app.get("/v1/log/tile/0/000"), 404);
    problem(app.get(&format!("/v1/log/tile/0/000.p/{}", size + 1)), 404);
    problem(app.get("/v1/log/tile/1/000.p/1"), 404);
    problem(app.get("/v1/log/tile/entries/001.p/1"), 404);
    // A partial tile of the current width exists.
    assert_eq!(app.get(&format!("/v1/log/tile/0/000.p/{size}")).status(), 200);

    let p = problem(app.get(&format!("/v1/log/proof/inclusion?seq={}&size={size}", size + 1)), 422);
    assert!(p["detail"].as_str().unwrap().contains("seq"), "{p}");
    let p = problem(app.get(&format!("/v1/log/proof/inclusion?seq=1&size={}", size + 5)), 422);
    assert!(p["detail"].as_str().unwrap().contains("beyond"), "{p}");
    problem(app.get("/v1/log/proof/inclusion?seq=x&size=1"), 422);
    let p = problem(app.get(&format!("/v1/log/proof/consistency?from={}&to=1", size + 1)), 422);
    assert!(p["detail"].as_str().unwrap().contains("from"), "{p}");
    problem(app.get("/v1/log/checkpoints?limit=0"), 422);
    problem(app.get("/v1/revisions/0/tlog-proof"), 422);
    problem(app.get(&format!("/v1/revisions/{}/tlog-proof", size + 100)), 404);
}

#[test]
fn an_upgraded_database_is_integrated_on_start_and_a_restart_resumes() {
    let mut app = spawn_app();
    crate::audit_fill(&app, 300, 1);
    let key = log_key(&app);
    let (before, _) = checkpoint_covering_head(&app, &key);

    // As if the tree had never been built (a database from before issue 14).
    let mut conn = app.conn();
    diesel::sql_query("DELETE FROM tlog_tiles").execute(&mut conn).unwrap();
    diesel::sql_query("UPDATE log_derived SET tree_size = 0")
        .execute(&mut conn)
        .unwrap();
    app.restart();
    let started = Instant::now();
    loop {
        use claimledger::db::schema::log_derived::dsl::*;
        let size: i64 = log_derived.select(tree_size).first(&mut conn).unwrap();
        if size as u64 == before.size() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the tree was not rebuilt: {size}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(root_from_tiles(&app, before.size()), *before.root());

    // It goes on from there: the next checkpoint extends the one signed before.
    crate::audit_fill(&app, 10, 1);
    let (after, _) = checkpoint_covering_head(&app, &key);
    assert_eq!(after.size(), before.size() + 10);
    let p: Value = app
        .get(&format!("/v1/log/proof/consistency?from={}&to={}", before.size(), after.size()))
        .json()
        .unwrap();
    verify_consistency(before.size(), after.size(), &hashes(&p["hashes"]), before.root(), after.root()).unwrap();
    assert_eq!(app.get("/readyz").status(), 200);
}

/// Runs SQL with the append-only triggers of `table` off, as someone with
/// the database's owner rights could.
pub(crate) fn tamper(app: &TestApp, table: &str, sql: &str) {
    let mut conn = app.conn();
    conn.transaction::<_, diesel::result::Error, _>(|c| {
        diesel::sql_query(format!("ALTER TABLE {table} DISABLE TRIGGER USER")).execute(c)?;
        diesel::sql_query(sql).execute(c)?;
        diesel::sql_query(format!("ALTER TABLE {table} ENABLE TRIGGER USER")).execute(c)?;
        Ok(())
    })
    .unwrap();
}

fn wait_degraded(app: &TestApp) -> Value {
    let started = Instant::now();
    loop {
        let r = app.get("/readyz");
        if r.status() == 503 {
            return problem(r, 503);
        }
        assert!(started.elapsed() < Duration::from_secs(20), "/readyz never degraded");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn tampering_checkpoint_row_edited_the_log_refuses_to_sign_and_says_so() {
    let app = spawn_app();
    let f = app.fixture();
    let key = log_key(&app);
    let (c, _) = checkpoint_covering_head(&app, &key);
    tamper(
        &app,
        "checkpoints",
        &format!(
            "UPDATE checkpoints SET root_hash = decode(repeat('ab', 32), 'hex') WHERE tree_size = {}",
            c.size()
        ),
    );

    // The next write grows the tree; the signer finds the stored checkpoint
    // no longer matches its note and refuses to sign.
    let r = app.post_as(&f.editor, "/v1/claims", &crate::common::claim_body());
    assert_eq!(r.status(), 201);
    let p = wait_degraded(&app);
    assert!(p["detail"].as_str().unwrap().contains("does not match its signed note"), "{p}");
    let metrics = app.get("/metrics").text().unwrap();
    assert!(metrics.contains("claimledger_tlog_signing_refused 1"), "{metrics}");
    // Nothing newer was signed.
    let (still, _) = checkpoint(&app, &key);
    assert_eq!(still.size(), c.size());
}

#[test]
fn tampering_tiles_rewritten_the_log_never_signs_an_inconsistent_tree() {
    let app = spawn_app();
    let f = app.fixture();
    let key = log_key(&app);
    let (c, _) = checkpoint_covering_head(&app, &key);
    // Someone rewrites the stored leaf hashes (the tiles have no triggers:
    // the check before signing is what stops this).
    diesel::sql_query(
        "UPDATE tlog_tiles SET hashes = overlay(hashes placing decode(repeat('cd', 32), 'hex') from 1) WHERE level = 0 AND idx = 0",
    )
    .execute(&mut app.conn())
    .unwrap();
    let r = app.post_as(&f.editor, "/v1/claims", &crate::common::claim_body());
    assert_eq!(r.status(), 201);
    let p = wait_degraded(&app);
    assert!(p["detail"].as_str().unwrap().contains("does not extend the checkpoint"), "{p}");
    let (still, _) = checkpoint(&app, &key);
    assert_eq!(still.size(), c.size());
}

/// Rewrites revision `seq` (the newest) as an attacker with the database
/// would: new content, its entry hash and chain hash recomputed, the head
/// moved along — the hash chain alone then still verifies.
fn rewrite_newest_revision(app: &TestApp) -> i64 {
    use claimledger::ledger::hash::{Entry, chain_hash, entry_hash};
    use claimledger::model::{Revision, format_timestamp};
    let mut conn = app.conn();
    let head = head_seq(app);
    let rev: Revision = {
        use claimledger::db::schema::revisions::dsl::*;
        revisions
            .filter(seq.eq(head))
            .select(Revision::as_select())
            .first(&mut conn)
            .unwrap()
    };
    let prev: Vec<u8> = {
        use claimledger::db::schema::revisions::dsl::*;
        revisions.filter(seq.eq(head - 1)).select(chain_hash).first(&mut conn).unwrap()
    };
    let mut snapshot = rev.snapshot.clone();
    snapshot["statement"] = Value::String("A statement nobody published".into());
    let recorded = format_timestamp(rev.recorded_at);
    let entry = Entry {
        entity_kind: rev.entity_kind.as_str(),
        entity_id: rev.entity_id,
        entity_version: rev.entity_version,
        action: rev.action.as_str(),
        actor_id: rev.actor_id,
        reason: rev.reason.as_deref(),
        recorded_at: &recorded,
        snapshot: &snapshot,
    };
    let e = entry_hash(&entry);
    let c = chain_hash(&prev, &e);
    let snapshot_text = snapshot.to_string().replace('\'', "''");
    tamper(
        app,
        "revisions",
        &format!(
            "UPDATE revisions SET snapshot = '{snapshot_text}', entry_hash = decode('{}', 'hex'), chain_hash = decode('{}', 'hex') WHERE seq = {head}",
            hex::encode(e),
            hex::encode(c)
        ),
    );
    diesel::sql_query(format!("UPDATE log_head SET chain_hash = decode('{}', 'hex')", hex::encode(c)))
        .execute(&mut conn)
        .unwrap();
    head
}

/// The JSON report a CLI command printed (before its stderr).
pub(crate) fn first_json(out: &str) -> Value {
    let start = out.find('{').unwrap_or_else(|| panic!("no JSON in {out}"));
    serde_json::Deserializer::from_str(&out[start..])
        .into_iter::<Value>()
        .next()
        .unwrap()
        .unwrap()
}

#[test]
fn tampering_revision_rewritten_after_it_was_checkpointed_verify_names_the_checkpoint_and_seq() {
    let app = spawn_app();
    let _ = app.fixture();
    let key = log_key(&app);
    let (c, _) = checkpoint_covering_head(&app, &key);
    let (ok, out) = crate::cli::cli(&app.db.url, &["verify"], None);
    assert!(ok, "{out}");
    let clean = first_json(&out);
    assert_eq!(clean["tree"]["ok"], true, "{out}");
    assert_eq!(clean["tree"]["leaves"].as_u64(), Some(c.size()), "{out}");

    let seq = rewrite_newest_revision(&app);
    // The hash chain was recomputed, so it alone no longer tells…
    let mut conn = app.conn();
    assert!(claimledger::ledger::verify(&mut conn, None, 1, None, |_, _| {}).unwrap().ok);
    // …but the signed checkpoint does.
    let (ok, out) = crate::cli::cli(&app.db.url, &["verify"], None);
    assert!(!ok, "{out}");
    let report = first_json(&out);
    assert_eq!(report["tree"]["first_bad_checkpoint"].as_u64(), Some(c.size()), "{out}");
    assert_eq!(report["tree"]["first_bad_seq"].as_i64(), Some(seq), "{out}");
    assert!(report["tree"]["problem"].as_str().unwrap().contains("another root"), "{out}");
}

#[test]
fn a_published_fact_check_is_proven_revision_by_revision_from_the_signed_checkpoint() {
    let app = spawn_app();
    let f = app.fixture();
    let verdict = crate::common::draft(&app, &f.editor, &f.claim_id, &f.evidence_id);
    let vid = verdict["id"].as_str().unwrap();
    let r = app.post_as(&f.editor, &format!("/v1/verdicts/{vid}/submit"), &serde_json::json!({}));
    assert!(r.status().is_success(), "{}", r.text().unwrap());
    let r = app.post_as(&f.reviewer, &format!("/v1/verdicts/{vid}/publish"), &serde_json::json!({}));
    assert!(r.status().is_success(), "{}", r.text().unwrap());
    let key = log_key(&app);
    let (c, _) = checkpoint_covering_head(&app, &key);

    let r = app.get(&format!("/v1/factchecks/{}/proof", f.claim_id));
    assert_eq!(r.status(), 200);
    let proof: Value = r.json().unwrap();
    assert_eq!(proof["key_name"], key.name());
    let signed = SignedCheckpoint::parse(proof["checkpoint"].as_str().unwrap().as_bytes()).unwrap();
    signed.verify(&[&key as &dyn NoteKey]).unwrap();
    assert_eq!(signed.checkpoint.size(), c.size());
    let revisions = proof["revisions"].as_array().unwrap();
    let kinds: std::collections::BTreeSet<&str> = revisions.iter().map(|r| r["entry"]["entity_kind"].as_str().unwrap()).collect();
    for kind in ["claim", "claimant", "verdict", "evidence"] {
        assert!(kinds.contains(kind), "{kind} missing: {kinds:?}");
    }
    for rev in revisions {
        // The entry hashes to its entry_hash (the export's own check), and
        // that leaf is in the signed tree.
        let line = rev["entry"].to_string();
        let report = claimledger::ledger::verify::verify_export(std::io::Cursor::new(line), |_| {});
        assert!(report.ok, "{report:?}: {rev}");
        let entry_hash = hex::decode(rev["entry_hash"].as_str().unwrap()).unwrap();
        assert_eq!(rev["entry"]["entry_hash"], rev["entry_hash"]);
        let seq = rev["seq"].as_u64().unwrap();
        let inc = &rev["inclusion"];
        assert_eq!(inc["leaf_index"].as_u64(), Some(seq - 1));
        verify_inclusion(
            seq - 1,
            c.size(),
            &leaf_hash(&entry_hash),
            &hashes(&inc["hashes"]),
            signed.checkpoint.root(),
        )
        .unwrap();
    }
    // The published verdict is the one proven.
    assert!(
        revisions
            .iter()
            .any(|r| r["entry"]["entity_id"] == verdict["id"] && r["entry"]["snapshot"]["status"] == "published")
    );
    problem(app.get(&format!("/v1/factchecks/{}/proof", uuid::Uuid::now_v7())), 404);
}

#[test]
fn tampering_forked_history_to_a_witness_is_refused_while_the_logs_own_checkpoints_are_cosigned() {
    use claimledger::tlog::{MemoryTree, NoteSigner};
    use claimledger::witness::Witness;
    use claimledger::witness::protocol::format_add_checkpoint;
    let dir = tempfile::tempdir().unwrap();
    // The log's key, known to the test so it can play a log operator who forks.
    let operator_key = NoteSigner::generate("witnessed.test.example/log").unwrap();
    let key_file = dir.path().join("log.key");
    std::fs::write(&key_file, operator_key.private_key_text()).unwrap();
    let app = crate::harness::spawn_app_with(|c| {
        c.log.signing_key_file = Some(key_file.clone());
        c.log.origin = "witnessed.test.example/log".into();
    });
    crate::audit_fill(&app, 40, 1);
    let vkey = log_key(&app);
    assert_eq!(vkey.vkey(), operator_key.verifier().vkey());
    let (first, first_note) = checkpoint_covering_head(&app, &vkey);

    let witness_key = NoteSigner::generate("witness.test.example").unwrap();
    let witness = Witness::open(&witness_key, vec![operator_key.verifier()], &dir.path().join("witness")).unwrap();
    let now = 1_790_000_000;
    witness
        .add_checkpoint(format_add_checkpoint(0, &[], &first_note).as_bytes(), now)
        .expect("the witness cosigns the log's first checkpoint");

    // A forked history: the same key signs a tree that rewrites leaf 3 and grows by 5.
    let mut leaves: Vec<Hash> = entry_hashes(&app).iter().map(|e| leaf_hash(e)).collect();
    leaves[2] = leaf_hash(b"a rewritten revision");
    leaves.extend((0..5u8).map(|i| leaf_hash(&[i; 32])));
    let mut forked = MemoryTree::new();
    forked.extend(&leaves);
    let forked_note = Checkpoint::new(first.origin(), forked.size(), forked.root())
        .unwrap()
        .sign(&operator_key)
        .unwrap()
        .to_text();
    let proof = merkle::consistency_proof(first.size(), forked.size(), &forked).unwrap();
    let refused = witness
        .add_checkpoint(format_add_checkpoint(first.size(), &proof, &forked_note).as_bytes(), now + 1)
        .expect_err("a forked history is refused");
    assert!(
        refused
            .to_string()
            .contains("not proven consistent with the checkpoint this witness holds"),
        "{refused}"
    );
    assert_eq!(witness.logs(), vec![(first.origin().to_string(), first.size())]);

    // The honest log goes on, and its own consistency proof convinces the witness.
    crate::audit_fill(&app, 7, 1);
    let (second, second_note) = checkpoint_covering_head(&app, &vkey);
    let p: Value = app
        .get(&format!("/v1/log/proof/consistency?from={}&to={}", first.size(), second.size()))
        .json()
        .unwrap();
    witness
        .add_checkpoint(
            format_add_checkpoint(first.size(), &hashes(&p["hashes"]), &second_note).as_bytes(),
            now + 2,
        )
        .expect("the witness cosigns the honest extension");
    assert_eq!(witness.logs(), vec![(first.origin().to_string(), second.size())]);
}

#[test]
fn the_log_submits_checkpoints_to_its_witness_and_serves_the_quorums_cosigned_checkpoint() {
    use claimledger::tlog::{CosignatureVerifier, Cosigner, NoteSigner};
    use claimledger::witness::{Witness, WitnessServer};
    let dir = tempfile::tempdir().unwrap();
    let operator_key = NoteSigner::generate("cosigned.test.example/log").unwrap();
    let key_file = dir.path().join("log.key");
    std::fs::write(&key_file, operator_key.private_key_text()).unwrap();
    let witness_key = NoteSigner::generate("witness.cosigned.test.example").unwrap();
    let cosigner: CosignatureVerifier = Cosigner::new(&witness_key).verifier();

    // A real witness server (C2SP tlog-witness), on its own thread.
    let witness = std::sync::Arc::new(Witness::open(&witness_key, vec![operator_key.verifier()], &dir.path().join("witness")).unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    let witness_thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = WitnessServer::build(witness, "127.0.0.1:0")?;
            let _ = tx.send((server.port(), server.handle()));
            server.run_until_stopped().await
        })
    });
    let (port, handle) = rx.recv().unwrap();

    let vkey = cosigner.vkey();
    let app = crate::harness::spawn_app_with(|c| {
        c.log.signing_key_file = Some(key_file.clone());
        c.log.origin = "cosigned.test.example/log".into();
        c.log.witnesses = vec![(vkey.clone(), format!("http://127.0.0.1:{port}"))];
        c.log.witness_quorum = 1;
        c.log.checkpoint_interval = Duration::from_millis(100);
    });
    for round in 0..2 {
        crate::audit_fill(&app, 30, 1);
        let head = head_seq(&app) as u64;
        let started = Instant::now();
        let (size, note) = loop {
            let r = app.get("/v1/log/checkpoint");
            if r.status() == 200 {
                let text = r.text().unwrap();
                let signed = SignedCheckpoint::parse(text.as_bytes()).unwrap();
                if signed.checkpoint.size() >= head {
                    break (signed.checkpoint.size(), text);
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "round {round}: no cosigned checkpoint covered {head}"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        // Signed by the log and cosigned by the witness, both verified.
        let signed = SignedCheckpoint::parse(note.as_bytes()).unwrap();
        let verified = signed
            .verify(&[&operator_key.verifier() as &dyn NoteKey, &cosigner as &dyn NoteKey])
            .unwrap();
        assert!(verified.signed_by(operator_key.name(), operator_key.key_id()), "{note}");
        assert!(
            verified.signed_by(cosigner.name(), cosigner.key_id()),
            "round {round}: not cosigned: {note}"
        );
        assert_eq!(size, head);
        // The tlog-proof carries the cosigned checkpoint too.
        let proof = TlogProof::parse(&app.get("/v1/revisions/1/tlog-proof").text().unwrap()).unwrap();
        let first_leaf = leaf_hash(&entry_hashes(&app)[0]);
        let ok = proof
            .verify(
                &first_leaf,
                "cosigned.test.example/log",
                &[operator_key.verifier()],
                std::slice::from_ref(&cosigner),
                1,
            )
            .unwrap();
        assert_eq!(ok.cosigners.len(), 1);
    }
    drop(app);
    actix_web::rt::System::new().block_on(handle.stop(true));
    let _ = witness_thread.join();
}

/// The tree's verification against a live log: it reads the checkpoints
/// before the head, so one signed while it runs is never taken for a
/// checkpoint beyond the log; one that really is beyond it is named.
#[test]
fn the_tree_verifies_while_the_log_grows_and_names_a_checkpoint_beyond_it() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let app = crate::harness::spawn_app_with(|c| c.log.checkpoint_interval = Duration::from_millis(10));
    crate::audit_fill(&app, 20, 1);
    let url = app.config.database_url.clone().unwrap();
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let verifier = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut conn = diesel::PgConnection::establish(&url).unwrap();
            let mut runs = 0;
            while !stop.load(Ordering::Acquire) {
                let r = claimledger::store::checkpoints::verify_tree(&mut conn, None).unwrap();
                assert!(r.ok, "run {runs}: {r:?}");
                runs += 1;
            }
            runs
        })
    };
    let signed_before = app.count("checkpoints");
    for _ in 0..40 {
        crate::audit_fill(&app, 3, 1);
        std::thread::sleep(Duration::from_millis(15));
    }
    stop.store(true, Ordering::Release);
    let runs = verifier.join().unwrap();
    assert!(runs > 0);
    assert!(app.count("checkpoints") > signed_before + 5, "checkpoints were signed meanwhile");
    // A checkpoint for more revisions than the log holds (a truncated log).
    let head = head_seq(&app);
    diesel::sql_query(format!(
        "INSERT INTO checkpoints (tree_size, root_hash, note) VALUES ({}, '\\x{}', 'forged')",
        head + 5,
        "00".repeat(32)
    ))
    .execute(&mut app.conn())
    .unwrap();
    let r = claimledger::store::checkpoints::verify_tree(&mut app.conn(), None).unwrap();
    assert!(!r.ok);
    assert_eq!(r.first_bad_checkpoint, Some(head + 5), "{r:?}");
    assert!(r.problem.as_deref().unwrap().contains("beyond the log"), "{r:?}");
}
