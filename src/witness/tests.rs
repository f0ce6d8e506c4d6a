//! The witness over real HTTP (a server on port 0 in its own thread), driven like a log would.

use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;

use actix_web::dev::ServerHandle;

use super::{Witness, WitnessServer};
use crate::tlog::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::tlog::cosignature::{CosignatureVerifier, Cosigner};
use crate::tlog::hash::{Hash, leaf_hash};
use crate::tlog::keys::NoteSigner;
use crate::tlog::memory::MemoryTree;
use crate::tlog::merkle::{consistency_proof, tree_hash};
use crate::tlog::note::{NoteKey, NoteSignature};

const ORIGIN: &str = "claimledger.test/log";

struct Running {
    url: String,
    handle: ServerHandle,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl Running {
    fn start(data_dir: &Path, witness_key: &NoteSigner, log_key: &NoteSigner) -> Running {
        let witness = Arc::new(Witness::open(witness_key, vec![log_key.verifier()], data_dir).expect("witness opens"));
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = WitnessServer::build(witness, "127.0.0.1:0")?;
                let _ = tx.send((server.port(), server.handle()));
                server.run_until_stopped().await
            })
        });
        let (port, handle) = rx.recv().expect("server started");
        Running {
            url: format!("http://127.0.0.1:{port}"),
            handle,
            thread: Some(thread),
        }
    }

    fn stop(&mut self) {
        actix_web::rt::System::new().block_on(self.handle.stop(true));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A log: its key and tree (leaves 0.. from `salt`), able to sign and prove.
struct Log {
    key: NoteSigner,
    tree: MemoryTree,
}

impl Log {
    fn new(key: NoteSigner, size: u64, salt: u64) -> Log {
        let mut tree = MemoryTree::new();
        let leaves: Vec<Hash> = (0..size).map(|i| leaf_hash(&(i ^ salt).to_be_bytes())).collect();
        tree.extend(&leaves);
        Log { key, tree }
    }

    fn checkpoint(&self, size: u64) -> String {
        let root = tree_hash(size, &self.tree).expect("root");
        Checkpoint::new(ORIGIN, size, root)
            .expect("cp")
            .sign(&self.key)
            .expect("sign")
            .to_text()
    }

    fn proof(&self, old: u64, size: u64) -> Vec<Hash> {
        if old == 0 {
            vec![]
        } else {
            consistency_proof(old, size, &self.tree).expect("proof")
        }
    }

    fn request(&self, old: u64, size: u64) -> String {
        body(old, &self.proof(old, size), &self.checkpoint(size))
    }
}

fn body(old: u64, proof: &[Hash], note: &str) -> String {
    super::protocol::format_add_checkpoint(old, proof, note)
}

struct Reply {
    status: u16,
    content_type: String,
    body: String,
}

fn post(url: &str, body: String) -> Reply {
    let r = reqwest::blocking::Client::new()
        .post(format!("{url}/add-checkpoint"))
        .body(body)
        .send()
        .expect("request");
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    Reply {
        status: r.status().as_u16(),
        content_type,
        body: r.text().expect("body"),
    }
}

fn get(url: &str) -> (u16, String) {
    let r = reqwest::blocking::get(url).expect("request");
    (r.status().as_u16(), r.text().expect("body"))
}

fn keys() -> (NoteSigner, NoteSigner) {
    (
        NoteSigner::from_seed(ORIGIN, [5; 32]).expect("log key"),
        NoteSigner::from_seed("witness.test/w1", [6; 32]).expect("witness key"),
    )
}

/// The cosignature in a 200 reply verifies over the checkpoint with the witness's 0x04 key.
fn assert_cosigned(reply: &Reply, note: &str, witness: &CosignatureVerifier) {
    assert_eq!(reply.status, 200, "{}", reply.body);
    let line = reply.body.strip_suffix('\n').expect("newline-terminated");
    let sig = NoteSignature::parse_line(line, 1).expect("a note signature line");
    let text = SignedCheckpoint::parse(note.as_bytes()).expect("note").note.text().to_string();
    let ts = witness.verified_timestamp(&text, &sig).expect("cosignature verifies");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    assert!(ts > 0 && ts <= now && now - ts < 60, "timestamp {ts}");
}

#[test]
fn cosigns_from_zero_then_growth_with_a_valid_proof() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log_key, witness_key) = keys();
    let wv = Cosigner::new(&witness_key).verifier();
    let log = Log::new(log_key, 3_000, 1);
    let server = Running::start(dir.path(), &witness_key, &log.key);

    let first = post(&server.url, log.request(0, 10));
    assert_cosigned(&first, &log.checkpoint(10), &wv);
    let grown = post(&server.url, log.request(10, 2_500));
    assert_cosigned(&grown, &log.checkpoint(2_500), &wv);
    // The client-side helpers read the same reply.
    let text = SignedCheckpoint::parse(log.checkpoint(2_500).as_bytes())
        .expect("note")
        .note
        .text()
        .to_string();
    assert!(super::protocol::parse_cosignature_response(&grown.body, &text, &wv).is_ok());
    let other = Cosigner::new(&NoteSigner::from_seed("witness.test/w2", [9; 32]).expect("key")).verifier();
    assert!(super::protocol::parse_cosignature_response(&grown.body, &text, &other).is_err());
    // Re-submitting the same checkpoint is consistent (same size, same root): cosigned again.
    assert_cosigned(&post(&server.url, log.request(2_500, 2_500)), &log.checkpoint(2_500), &wv);

    // Monitoring API: the checkpoint with the log's signature and the witness's cosignature.
    let hash = super::store::origin_hash(ORIGIN);
    let (status, note) = get(&format!("{}/{hash}/checkpoint", server.url));
    assert_eq!(status, 200, "{note}");
    let signed = SignedCheckpoint::parse(note.as_bytes()).expect("stored note");
    assert_eq!(signed.checkpoint.size(), 2_500);
    let lv = log.key.verifier();
    let verified = signed.verify(&[&lv as &dyn NoteKey, &wv]).expect("both signatures verify");
    assert_eq!(verified.verified.len(), 2);
    assert_eq!(get(&format!("{}/{}/checkpoint", server.url, "0".repeat(64))).0, 404);
    let (_, info) = get(&format!("{}/", server.url));
    assert!(
        info.contains(&wv.vkey()) && info.contains("claimledger.test/log size 2500"),
        "{info}"
    );
}

#[test]
fn stale_old_size_gets_409_with_the_witness_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log_key, witness_key) = keys();
    let log = Log::new(log_key, 500, 2);
    let server = Running::start(dir.path(), &witness_key, &log.key);
    assert_eq!(post(&server.url, log.request(0, 300)).status, 200);
    for stale in [log.request(100, 400), log.request(0, 400)] {
        let r = post(&server.url, stale);
        assert_eq!(
            (r.status, r.content_type.as_str(), r.body.as_str()),
            (409, "text/x.tlog.size", "300\n")
        );
    }
    // An older checkpoint than the witness holds: old 300 > size 200 is a bad request.
    let r = post(&server.url, body(300, &[], &log.checkpoint(200)));
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        post(&server.url, log.request(300, 500)).status,
        200,
        "the 409 hint lets the log catch up"
    );
}

#[test]
fn a_bad_consistency_proof_gets_422_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log_key, witness_key) = keys();
    let log = Log::new(log_key, 1_000, 3);
    let server = Running::start(dir.path(), &witness_key, &log.key);
    assert_eq!(post(&server.url, log.request(0, 100)).status, 200);
    let mut proof = log.proof(100, 1_000);
    proof[1].0[0] ^= 1;
    let r = post(&server.url, body(100, &proof, &log.checkpoint(1_000)));
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("not proven consistent"), "{}", r.body);
    let short = &log.proof(100, 1_000)[1..];
    assert_eq!(post(&server.url, body(100, short, &log.checkpoint(1_000))).status, 422);
    // From size 0 the proof must be empty.
    let dir2 = tempfile::tempdir().expect("tempdir");
    let fresh = Running::start(dir2.path(), &witness_key, &log.key);
    assert_eq!(
        post(&fresh.url, body(0, &log.proof(100, 1_000), &log.checkpoint(1_000))).status,
        422
    );
    // The state did not move: the honest request still works.
    assert_eq!(post(&server.url, log.request(100, 1_000)).status, 200);
}

#[test]
fn a_forked_history_is_refused_and_recorded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log_key, witness_key) = keys();
    let honest = Log::new(log_key.clone(), 2_000, 4);
    // Same key, same first 600 leaves, then a different history.
    let mut forked = Log::new(log_key, 600, 4);
    let other: Vec<Hash> = (600..2_000u64).map(|i| leaf_hash(&(i ^ 0xbad).to_be_bytes())).collect();
    forked.tree.extend(&other);
    let server = Running::start(dir.path(), &witness_key, &honest.key);
    assert_eq!(post(&server.url, honest.request(0, 1_000)).status, 200);

    // Same size, different root.
    let r = post(&server.url, body(1_000, &[], &forked.checkpoint(1_000)));
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.starts_with("fork: the log signed a different root for size 1000"),
        "{}",
        r.body
    );
    // A bigger tree that does not extend the witness's: the forked log's own proof fails.
    let r = post(&server.url, forked.request(1_000, 1_800));
    assert_eq!(r.status, 422, "{}", r.body);
    // Both refusals were kept as evidence; the honest log continues.
    let evidence = std::fs::read_dir(dir.path().join("evidence")).expect("evidence dir").count();
    assert_eq!(evidence, 2);
    assert_eq!(post(&server.url, honest.request(1_000, 2_000)).status, 200);
}

#[test]
fn unknown_logs_bad_signatures_and_malformed_bodies_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log_key, witness_key) = keys();
    let log = Log::new(log_key, 50, 5);
    let server = Running::start(dir.path(), &witness_key, &log.key);

    let stranger = NoteSigner::from_seed("other.test/log", [7; 32]).expect("key");
    let cp = Checkpoint::new("other.test/log", 1, leaf_hash(b"x"))
        .expect("cp")
        .sign(&stranger)
        .expect("sign")
        .to_text();
    assert_eq!(post(&server.url, body(0, &[], &cp)).status, 404);

    // Right origin, wrong key (same name, other key ID): no trusted signature.
    let impostor = Log::new(NoteSigner::from_seed(ORIGIN, [8; 32]).expect("key"), 50, 5);
    let r = post(&server.url, impostor.request(0, 20));
    assert_eq!(r.status, 403, "{}", r.body);
    // A trusted key's signature that does not verify (the size was changed after signing).
    let tampered = log.checkpoint(20).replacen("\n20\n", "\n21\n", 1);
    assert_eq!(post(&server.url, body(0, &[], &tampered)).status, 403);

    for bad in ["", "old 01\n\n", "new 0\n\n", "old 0\nnot base64\n\n", "old 0\n"] {
        assert_eq!(post(&server.url, format!("{bad}{}", log.checkpoint(20))).status, 400, "{bad:?}");
    }
    let too_many = body(0, &vec![Hash::default(); 64], &log.checkpoint(20));
    assert_eq!(post(&server.url, too_many).status, 400);
    // Size 0 must carry the empty tree's root.
    let zero = Checkpoint::new(ORIGIN, 0, leaf_hash(b"not empty"))
        .expect("cp")
        .sign(&log.key)
        .expect("sign")
        .to_text();
    assert_eq!(post(&server.url, body(0, &[], &zero)).status, 422);
    assert_eq!(post(&server.url, log.request(0, 0)).status, 200, "the true empty tree is fine");
}

#[test]
fn a_restarted_witness_keeps_its_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log_key, witness_key) = keys();
    let log = Log::new(log_key, 900, 6);
    let mut first = Running::start(dir.path(), &witness_key, &log.key);
    assert_eq!(post(&first.url, log.request(0, 700)).status, 200);
    first.stop();

    let second = Running::start(dir.path(), &witness_key, &log.key);
    let r = post(&second.url, log.request(0, 900));
    assert_eq!((r.status, r.body.as_str()), (409, "700\n"));
    let fork = Log::new(log.key.clone(), 700, 99);
    assert_eq!(
        post(&second.url, body(700, &[], &fork.checkpoint(700))).status,
        422,
        "the root survived too"
    );
    assert_eq!(post(&second.url, log.request(700, 900)).status, 200);
}

#[test]
fn concurrent_requests_from_the_same_old_size_cosign_exactly_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log_key, witness_key) = keys();
    let log = Arc::new(Log::new(log_key, 2_000, 7));
    let server = Running::start(dir.path(), &witness_key, &log.key);
    assert_eq!(post(&server.url, log.request(0, 100)).status, 200);
    let threads: Vec<_> = (0..8u64)
        .map(|i| {
            let (log, url) = (log.clone(), server.url.clone());
            std::thread::spawn(move || post(&url, log.request(100, 200 + i * 100)).status)
        })
        .collect();
    let mut statuses: Vec<u16> = threads.into_iter().map(|t| t.join().expect("thread")).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409, 409, 409, 409, 409, 409, 409]);
}

#[test]
fn a_log_with_two_keys_is_accepted_under_either_during_rotation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (old_key, witness_key) = keys();
    let new_key = NoteSigner::from_seed(ORIGIN, [9; 32]).expect("new log key");
    let witness = Arc::new(Witness::open(&witness_key, vec![old_key.verifier(), new_key.verifier()], dir.path()).expect("opens"));
    assert_eq!(witness.logs(), vec![(ORIGIN.to_string(), 0)], "one log, two keys");
    let old_log = Log::new(old_key, 300, 8);
    let new_log = Log::new(new_key, 300, 8);
    let now = 1_700_000_000;
    assert!(witness.add_checkpoint(old_log.request(0, 100).as_bytes(), now).is_ok());
    let line = witness
        .add_checkpoint(new_log.request(100, 300).as_bytes(), now - 50)
        .expect("signed by the new key only");
    let sig = NoteSignature::parse_line(line.trim_end(), 1).expect("line");
    assert_eq!(
        crate::tlog::cosignature::timestamp_of(&sig.signature),
        Some(now),
        "a clock step back does not date it earlier"
    );
    assert_eq!(witness.logs(), vec![(ORIGIN.to_string(), 300)]);
}
