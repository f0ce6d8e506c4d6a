//! The log: dense seq under concurrency, append-only enforcement, tamper
//! detection, canonical JSON and a known-answer hash.

use std::sync::{Arc, Barrier};

use claimledger::ledger::hash::{Entry, GENESIS, chain_hash, entry_hash};
use claimledger::ledger::{self, LogProblem, NewRevision};
use claimledger::model::canonical::value_to_vec as canonical_json;
use claimledger::model::{Action, EntityKind};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::json;
use uuid::Uuid;

use crate::harness::TestDb;

/// An actor row for the revisions' foreign key (set up behind the API on purpose).
fn actor(conn: &mut PgConnection) -> Uuid {
    let id = Uuid::now_v7();
    conn.batch_execute(&format!(
        "INSERT INTO editors (id, username, display_name, roles) VALUES ('{id}', 'actor-{}', 'Test actor', '{{editor}}')",
        &id.simple().to_string()[20..]
    ))
    .unwrap();
    id
}

/// Records one revision and waits for its seq (sequencing it here, as no
/// server runs).
fn append_one(conn: &mut PgConnection, actor: Uuid, version: i32, entity: Uuid) -> i64 {
    let pending = conn
        .transaction(|c| {
            ledger::append(
                c,
                &[NewRevision {
                    kind: EntityKind::Claim,
                    entity_id: entity,
                    entity_version: version,
                    action: if version == 1 { Action::Create } else { Action::Update },
                    actor_id: actor,
                    reason: None,
                    snapshot: json!({"id": entity, "version": version, "statement": format!("statement {version}")}),
                }],
            )
        })
        .unwrap()
        .unwrap();
    claimledger::store::sequencer::wait_for(conn, &pending, std::time::Duration::from_secs(60)).unwrap()
}

fn revision(conn: &mut PgConnection, seq: i64) -> claimledger::model::Revision {
    use claimledger::db::schema::revisions::dsl as r;
    r::revisions
        .find(seq)
        .select(claimledger::model::Revision::as_select())
        .first(conn)
        .unwrap()
}

fn seqs(conn: &mut PgConnection) -> Vec<i64> {
    use claimledger::db::schema::revisions::dsl::*;
    revisions.select(seq).order(seq.asc()).load(conn).unwrap()
}

#[test]
fn concurrent_appends_are_dense_and_chain() {
    let db = TestDb::new();
    let actor_id = actor(&mut db.conn());
    let barrier = Arc::new(Barrier::new(20));
    let threads: Vec<_> = (0..20)
        .map(|_| {
            let url = db.url.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut conn = PgConnection::establish(&url).unwrap();
                let entity = Uuid::now_v7();
                barrier.wait();
                (1..=10).map(|v| append_one(&mut conn, actor_id, v, entity)).collect::<Vec<_>>()
            })
        })
        .collect();
    let mut returned: Vec<i64> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    returned.sort();
    assert_eq!(returned, (1..=200).collect::<Vec<_>>(), "every append got a distinct seq, no gaps");

    let mut conn = db.conn();
    assert_eq!(seqs(&mut conn), (1..=200).collect::<Vec<_>>());
    let report = ledger::verify(&mut conn, None, 1, None, |_, _| {}).unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.checked, 200);
    let head = ledger::head(&mut conn).unwrap();
    assert_eq!(head.seq, 200);
    // recorded_at never goes backwards along the chain.
    let times: Vec<chrono::DateTime<chrono::Utc>> = {
        use claimledger::db::schema::revisions::dsl::*;
        revisions.select(recorded_at).order(seq.asc()).load(&mut conn).unwrap()
    };
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn a_rolled_back_writer_leaves_no_gap() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let actor_id = actor(&mut conn);
    append_one(&mut conn, actor_id, 1, Uuid::now_v7());
    let rolled_back: Result<(), diesel::result::Error> = conn.transaction(|c| {
        ledger::append(
            c,
            &[NewRevision {
                kind: EntityKind::Claim,
                entity_id: Uuid::now_v7(),
                entity_version: 1,
                action: Action::Create,
                actor_id,
                reason: None,
                snapshot: json!({}),
            }],
        )
        .unwrap();
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert!(rolled_back.is_err());
    let next = append_one(&mut conn, actor_id, 1, Uuid::now_v7());
    assert_eq!(next, 2);
    assert_eq!(seqs(&mut conn), vec![1, 2]);
    assert!(ledger::verify(&mut conn, None, 1, None, |_, _| {}).unwrap().ok);
}

#[test]
fn append_outside_a_transaction_is_refused() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let actor_id = actor(&mut conn);
    let result = ledger::append(
        &mut conn,
        &[NewRevision {
            kind: EntityKind::Claim,
            entity_id: Uuid::now_v7(),
            entity_version: 1,
            action: Action::Create,
            actor_id,
            reason: None,
            snapshot: json!({}),
        }],
    );
    assert!(result.is_err());
    assert!(seqs(&mut conn).is_empty());
}

#[test]
fn the_database_refuses_update_delete_and_truncate_even_for_a_superuser() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let is_superuser: bool = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(
        "current_setting('is_superuser') = 'on'",
    ))
    .get_result(&mut conn)
    .unwrap();
    let actor_id = actor(&mut conn);
    append_one(&mut conn, actor_id, 1, Uuid::now_v7());
    for statement in [
        "UPDATE revisions SET reason = 'rewritten' WHERE seq = 1",
        "DELETE FROM revisions WHERE seq = 1",
        "TRUNCATE revisions",
        "TRUNCATE revisions CASCADE",
        "DELETE FROM log_head",
        "UPDATE log_head SET seq = 0",
    ] {
        let err = conn.batch_execute(statement).expect_err(statement);
        assert!(err.to_string().contains("refused"), "{statement}: {err}");
    }
    assert_eq!(seqs(&mut conn), vec![1]);
    assert!(ledger::verify(&mut conn, None, 1, None, |_, _| {}).unwrap().ok);
    // What the name claims: the refusals above came to a superuser.
    assert!(is_superuser, "this test needs the tests' admin connection to be a superuser");
}

/// Changes one row behind the triggers' back, as only a superuser or the
/// table owner could.
pub fn tamper(conn: &mut PgConnection, sql: &str) {
    conn.batch_execute(&format!(
        "ALTER TABLE revisions DISABLE TRIGGER revisions_no_update; {sql}; ALTER TABLE revisions ENABLE TRIGGER revisions_no_update;"
    ))
    .unwrap();
}

fn five_revisions(db: &TestDb) -> PgConnection {
    let mut conn = db.conn();
    let actor_id = actor(&mut conn);
    let entity = Uuid::now_v7();
    for v in 1..=5 {
        append_one(&mut conn, actor_id, v, entity);
    }
    conn
}

#[test]
fn a_tampered_snapshot_is_an_entry_hash_mismatch_at_that_seq() {
    let db = TestDb::new();
    let mut conn = five_revisions(&db);
    tamper(
        &mut conn,
        "UPDATE revisions SET snapshot = jsonb_set(snapshot::jsonb, '{statement}', '\"rewritten\"')::text WHERE seq = 3",
    );
    let report = ledger::verify(&mut conn, None, 1, None, |_, _| {}).unwrap();
    assert!(!report.ok);
    assert_eq!(report.first_bad_seq, Some(3));
    assert_eq!(report.problem, Some(LogProblem::EntryHashMismatch));
    assert_eq!(report.checked, 2);
}

#[test]
fn a_changed_chain_hash_is_a_chain_hash_mismatch_at_that_seq() {
    let db = TestDb::new();
    let mut conn = five_revisions(&db);
    tamper(&mut conn, "UPDATE revisions SET chain_hash = sha256('forged'::bytea) WHERE seq = 4");
    let report = ledger::verify(&mut conn, None, 1, None, |_, _| {}).unwrap();
    assert_eq!(
        (report.first_bad_seq, report.problem),
        (Some(4), Some(LogProblem::ChainHashMismatch))
    );
}

#[test]
fn a_missing_seq_is_a_gap_and_a_stale_head_is_a_head_mismatch() {
    let db = TestDb::new();
    let mut conn = five_revisions(&db);
    // INSERT is allowed; skipping seq 6 (bypassing the head) makes a gap.
    conn.batch_execute(
        "INSERT INTO revisions (seq, entity_kind, entity_id, entity_version, action, actor_id, reason, recorded_at, snapshot, entry_hash, chain_hash)
         SELECT 7, entity_kind, gen_random_uuid(), 1, action, actor_id, reason, recorded_at, snapshot, entry_hash, chain_hash FROM revisions WHERE seq = 5",
    )
    .unwrap();
    let report = ledger::verify(&mut conn, None, 1, None, |_, _| {}).unwrap();
    // The head still says 5, so verifying the whole log finds a revision
    // (seq 7) that the head does not account for.
    assert_eq!((report.first_bad_seq, report.problem), (Some(7), Some(LogProblem::HeadMismatch)));
    // Up to seq 7 explicitly, the missing 6 is the problem.
    conn.batch_execute("UPDATE log_head SET seq = 7").unwrap();
    let report = ledger::verify(&mut conn, None, 1, None, |_, _| {}).unwrap();
    assert_eq!((report.first_bad_seq, report.problem), (Some(6), Some(LogProblem::Gap)));
}

/// Versions 1..=n of one new claim (text with escapes, emoji and a tab,
/// a reason on every third), recorded as one pending group.
fn record_versions(conn: &mut PgConnection, actor_id: Uuid, n: i32) -> claimledger::ledger::PendingGroup {
    let entity = Uuid::now_v7();
    let revs: Vec<NewRevision> = (1..=n)
        .map(|v| NewRevision {
            kind: EntityKind::Claim,
            entity_id: entity,
            entity_version: v,
            action: if v == 1 { Action::Create } else { Action::Update },
            actor_id,
            reason: (v % 3 == 0).then(|| format!("edit \"{v}\"\n")),
            snapshot: json!({"id": entity, "version": v, "statement": format!("statement “{v}” \u{1F600}\t"), "tags": ["a", v]}),
        })
        .collect();
    conn.transaction(|c| ledger::append_batch(c, &revs)).unwrap().unwrap()
}

/// `n` revisions in one bulk append, sequenced.
fn many_revisions(db: &TestDb, n: i32) -> PgConnection {
    let mut conn = db.conn();
    let actor_id = actor(&mut conn);
    let pending = record_versions(&mut conn, actor_id, n);
    claimledger::store::sequencer::wait_for(&mut conn, &pending, std::time::Duration::from_secs(120)).unwrap();
    conn
}

/// `groups` pending groups of `size` revisions (one entity each), each
/// recorded in a transaction of its own, not sequenced.
fn pending_groups(conn: &mut PgConnection, actor_id: Uuid, groups: usize, size: i32) {
    for _ in 0..groups {
        record_versions(conn, actor_id, size);
    }
}

/// A backlog (a bulk import, a restart after a crash) is sequenced in
/// batches that grow fourfold while they come full, each taking whole
/// groups in the order they were recorded; a batch that empties the queue
/// brings the size back to the one for live writes.
#[test]
fn a_backlog_is_sequenced_in_growing_batches_of_whole_groups() {
    use claimledger::store::sequencer::{Sequencing, step};
    let db = TestDb::new();
    let mut conn = db.conn();
    let actor_id = actor(&mut conn);
    pending_groups(&mut conn, actor_id, 100, 150);
    let mut state = Sequencing::default();
    let mut batches = vec![];
    while let Some(batch) = step(&mut conn, &mut state).unwrap() {
        // Whole groups, in the order they were recorded, each ending at its
        // own last seq.
        let mut first = batch.revisions[0].seq;
        for g in &batch.groups {
            assert_eq!(g.last_seq - first + 1, 150, "group {} whole: {:?}", g.grp, batch.groups);
            first = g.last_seq + 1;
        }
        assert!(batch.groups.windows(2).all(|w| w[0].grp < w[1].grp));
        batches.push(batch.revisions.len());
    }
    // 2,000 revisions asked, 14 groups taken (the 14th cut at 2,000, taken
    // whole); then 8,000 asked: 54 groups; then 32,000 asked: the rest.
    assert_eq!(batches, vec![2_100, 8_100, 4_800]);
    pending_groups(&mut conn, actor_id, 20, 150);
    let mut batches = vec![];
    while let Some(batch) = step(&mut conn, &mut state).unwrap() {
        batches.push(batch.revisions.len());
    }
    assert_eq!(batches, vec![2_100, 900], "live writes' batch size again");
    let report = ledger::verify(&mut conn, None, 1, None, |_, _| {}).unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.checked, 18_000);
}

/// Several batches dealt to two readers: the whole log verifies, and a
/// problem in a later batch (read by either reader) is named at its seq.
#[test]
fn two_readers_verify_the_log_batch_by_batch_in_seq_order() {
    let db = TestDb::new();
    let mut conn = many_revisions(&db, 7_000);
    let mut second = db.conn();
    let report = ledger::verify(&mut conn, Some(&mut second), 1, None, |_, _| {}).unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.checked, 7_000);
    let report = ledger::verify(&mut conn, Some(&mut second), 2_500, Some(6_100), |_, _| {}).unwrap();
    assert_eq!((report.ok, report.checked), (true, 3_601));

    tamper(
        &mut conn,
        "UPDATE revisions SET snapshot = jsonb_set(snapshot::jsonb, '{tags,0}', '\"b\"')::text WHERE seq = 5321",
    );
    let report = ledger::verify(&mut conn, Some(&mut second), 1, None, |_, _| {}).unwrap();
    assert_eq!(
        (report.first_bad_seq, report.problem),
        (Some(5_321), Some(LogProblem::EntryHashMismatch))
    );
    assert_eq!(report.checked, 5_320);

    // A forged chain hash at the first row of a batch (chained by the
    // check, from the batch before) and inside one (chained by its reader).
    for seq in [4_001, 3_000] {
        tamper(
            &mut conn,
            &format!("UPDATE revisions SET chain_hash = sha256('forged'::bytea) WHERE seq = {seq}"),
        );
        let report = ledger::verify(&mut conn, Some(&mut second), 1, None, |_, _| {}).unwrap();
        assert_eq!(
            (report.first_bad_seq, report.problem, report.checked),
            (Some(seq), Some(LogProblem::ChainHashMismatch), seq as u64 - 1)
        );
    }

    // A whole batch's worth of rows gone: a gap at its first seq, not a
    // short read.
    conn.batch_execute(
        "ALTER TABLE revisions DISABLE TRIGGER revisions_no_delete; DELETE FROM revisions WHERE seq BETWEEN 2001 AND 4100; \
         ALTER TABLE revisions ENABLE TRIGGER revisions_no_delete;",
    )
    .unwrap();
    let report = ledger::verify(&mut conn, Some(&mut second), 1, None, |_, _| {}).unwrap();
    assert_eq!((report.first_bad_seq, report.problem), (Some(2_001), Some(LogProblem::Gap)));
    let report = ledger::verify(&mut conn, Some(&mut second), 1, Some(4_000), |_, _| {}).unwrap();
    assert_eq!((report.first_bad_seq, report.problem), (Some(2_001), Some(LogProblem::Gap)));
}

#[test]
fn verify_checks_a_range() {
    let db = TestDb::new();
    let mut conn = five_revisions(&db);
    let report = ledger::verify(&mut conn, None, 2, Some(4), |_, _| {}).unwrap();
    assert!(report.ok);
    assert_eq!(report.checked, 3);
}

#[test]
fn as_of_reads_find_the_newest_revision_at_or_before() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let actor_id = actor(&mut conn);
    let a = Uuid::now_v7();
    let b = Uuid::now_v7();
    let r1 = append_one(&mut conn, actor_id, 1, a);
    append_one(&mut conn, actor_id, 1, b);
    let r3 = append_one(&mut conn, actor_id, 2, a);
    let (r1, r3) = (revision(&mut conn, r1), revision(&mut conn, r3));
    assert_eq!(ledger::asof::entity_at(&mut conn, a, 2).unwrap().unwrap().entity_version, 1);
    assert_eq!(ledger::asof::entity_at(&mut conn, a, 3).unwrap().unwrap().entity_version, 2);
    assert!(ledger::asof::entity_at(&mut conn, b, 1).unwrap().is_none());
    assert_eq!(ledger::asof::seq_at_time(&mut conn, r1.recorded_at).unwrap(), 1);
    assert_eq!(ledger::asof::seq_at_time(&mut conn, r3.recorded_at).unwrap(), 3);
    assert_eq!(
        ledger::asof::seq_at_time(&mut conn, r1.recorded_at - chrono::Duration::seconds(1)).unwrap(),
        0
    );
}

#[test]
fn the_stored_hashes_are_jcs_and_sha256_of_the_entry() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let actor_id = actor(&mut conn);
    let seq = append_one(&mut conn, actor_id, 1, Uuid::now_v7());
    let rev = revision(&mut conn, seq);
    let appended = rev.clone();
    let recorded_at = claimledger::model::format_timestamp(rev.recorded_at);
    let entry = Entry {
        entity_kind: rev.entity_kind.as_str(),
        entity_id: rev.entity_id,
        entity_version: rev.entity_version,
        action: rev.action.as_str(),
        actor_id: rev.actor_id,
        reason: rev.reason.as_deref(),
        recorded_at: &recorded_at,
        snapshot: &rev.snapshot,
    };
    assert_eq!(entry_hash(&entry).to_vec(), appended.entry_hash);
    assert_eq!(chain_hash(&GENESIS, &appended.entry_hash).to_vec(), appended.chain_hash);
}

#[derive(diesel::QueryableByName)]
struct StoredText {
    #[diesel(sql_type = diesel::sql_types::Text)]
    snapshot: String,
    #[diesel(sql_type = diesel::sql_types::Bytea)]
    entry_hash: Vec<u8>,
}

#[test]
fn a_snapshot_is_stored_as_the_jcs_text_its_entry_hash_covers() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let actor_id = actor(&mut conn);
    let entity = Uuid::now_v7();
    let seq = append_one(&mut conn, actor_id, 1, entity);
    let recorded_at = claimledger::model::format_timestamp(revision(&mut conn, seq).recorded_at);
    let stored: StoredText = diesel::sql_query("SELECT snapshot, entry_hash FROM revisions WHERE seq = $1")
        .bind::<diesel::sql_types::BigInt, _>(seq)
        .get_result(&mut conn)
        .unwrap();
    let expected = format!(r#"{{"id":"{entity}","statement":"statement 1","version":1}}"#);
    assert_eq!(stored.snapshot, expected, "the stored text is JCS(snapshot), byte for byte");
    // The entry hash covers those very bytes: the entry's JCS is its fields
    // followed by the stored text, with nothing re-encoded.
    let entry = format!(
        r#"{{"action":"create","actor_id":"{actor_id}","entity_id":"{entity}","entity_kind":"claim","entity_version":1,"reason":null,"recorded_at":"{}","snapshot":{}}}"#,
        recorded_at, stored.snapshot
    );
    assert_eq!(claimledger::model::digest::sha256(entry.as_bytes()).to_vec(), stored.entry_hash);
}

#[test]
fn a_snapshot_rewritten_to_text_that_is_not_json_is_an_entry_hash_mismatch() {
    let db = TestDb::new();
    let mut conn = five_revisions(&db);
    tamper(&mut conn, "UPDATE revisions SET snapshot = snapshot || ' trailing' WHERE seq = 2");
    let report = ledger::verify(&mut conn, None, 1, None, |_, _| {}).unwrap();
    assert_eq!(
        (report.ok, report.first_bad_seq, report.problem, report.checked),
        (false, Some(2), Some(LogProblem::EntryHashMismatch), 1)
    );
}

#[test]
fn jcs_follows_rfc_8785() {
    // Keys sort by UTF-16 code units: U+1F600 is D83D DE00, after "é" (00E9).
    assert_eq!(
        String::from_utf8(canonical_json(&json!({"b": 1, "a": 2, "é": 3, "\u{1F600}": 4, "A": 5, "aa": 6}))).unwrap(),
        "{\"A\":5,\"a\":2,\"aa\":6,\"b\":1,\"é\":3,\"\u{1F600}\":4}"
    );
    // Numbers in their shortest ECMAScript form.
    assert_eq!(
        String::from_utf8(canonical_json(&json!([1.0, -0.0, 1e21, 1.5e-7, 100, 0.1]))).unwrap(),
        "[1,0,1e+21,1.5e-7,100,0.1]"
    );
    // Only the mandatory escapes; everything else is literal UTF-8.
    assert_eq!(
        String::from_utf8(canonical_json(&json!("\u{0008}\t\n\u{000C}\r\"\\\u{0001}\u{007F}“é”\u{2028}"))).unwrap(),
        "\"\\b\\t\\n\\f\\r\\\"\\\\\\u0001\u{007F}“é”\u{2028}\""
    );
}

#[test]
fn known_answer_entry_hash() {
    // Computed independently with Python's `rfc8785` package and hashlib.
    let snapshot = json!({
        "statement": "Russia has a “sufficient” stockpile of cluster munitions.",
        "claimant": "Vladimir Putin",
        "tags": ["cluster-munitions", "russia"],
        "claimed_on": "2023-07-16",
        "version": 1,
        "emoji": "\u{1F600}",
        "n": -0.5,
        "big": 1e21,
        "nothing": null
    });
    let entry = Entry {
        entity_kind: "claim",
        entity_id: "0190c0de-0000-7000-8000-000000000001".parse().unwrap(),
        entity_version: 1,
        action: "create",
        actor_id: "0190c0de-0000-7000-8000-0000000000aa".parse().unwrap(),
        reason: Some("Seeded from “Putin says…” (ok)"),
        recorded_at: "2023-07-17T09:30:00.123456Z",
        snapshot: &snapshot,
    };
    let eh = entry_hash(&entry);
    assert_eq!(hex::encode(eh), "195c8c49aca8140ba822d67e3fa6b20585e3c9a57c1858bf9a268e82d43d263b");
    assert_eq!(
        hex::encode(chain_hash(&GENESIS, &eh)),
        "56637358dfe7f1dc51f82d950a25faaa88864073eb1feda94c5563421eb0bae1"
    );
}

#[test]
fn the_append_is_a_prepared_statement_reused_on_a_connection() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let actor_id = actor(&mut conn);
    for v in 1..=3 {
        append_one(&mut conn, actor_id, v, Uuid::from_u128(77));
    }
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let prepared: N =
        diesel::sql_query("SELECT count(*) AS n FROM pg_prepared_statements WHERE statement LIKE '%FROM log_head WHERE id FOR UPDATE%'")
            .get_result(&mut conn)
            .unwrap();
    assert_eq!(prepared.n, 1, "parsed and planned once, executed three times");
}
