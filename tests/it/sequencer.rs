//! Writes sequenced in batches (issue 19): acknowledgement with Log-Seq,
//! order within an entity, the 503 of a write committed but not yet
//! sequenced, one sequencer at a time across servers and its takeover,
//! and nothing lost when a server is killed mid-load.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use claimledger::model::Role;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::harness::{ServerProcess, TEST_JWT_SECRET, TestApp, problem, spawn_app, spawn_app_with};

fn log_seq(r: &reqwest::blocking::Response) -> i64 {
    r.headers()
        .get("log-seq")
        .expect("a Log-Seq header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn revision(app: &TestApp, token: &str, seq: i64) -> Value {
    let r = app.get_as(token, &format!("/v1/revisions/{seq}"));
    assert_eq!(r.status(), 200);
    r.json().unwrap()
}

#[test]
fn every_write_answers_once_sequenced_with_its_log_position() {
    let app = spawn_app();
    let f = app.fixture();
    let auditor = app.token("aud", &[Role::Auditor]);
    let r = app.post_as(
        &f.editor,
        "/v1/claims",
        &json!({"statement": "A claim", "claimant": "Someone", "claimant_kind": "person", "language": "en"}),
    );
    assert_eq!(r.status(), 201);
    let seq = log_seq(&r);
    let claim: Value = r.json().unwrap();
    let rev = revision(&app, &auditor, seq);
    assert_eq!(
        (rev["entity_id"].clone(), rev["action"].clone()),
        (claim["id"].clone(), json!("create"))
    );

    // A PATCH carries its revision's position too.
    let r = app.patch_as(
        &f.editor,
        &format!("/v1/claims/{}", claim["id"].as_str().unwrap()),
        Some("\"1\""),
        &json!({"statement": "A claim, edited"}),
    );
    assert_eq!(r.status(), 200);
    let edit = log_seq(&r);
    assert!(edit > seq);
    assert_eq!(revision(&app, &auditor, edit)["entity_version"], 2);

    // A publish records two revisions (the supersede and the publish): the
    // header names the last, and they are consecutive.
    let draft = |rating: &str| {
        app.created(
            &f.editor,
            &format!("/v1/claims/{}/verdicts", f.claim_id),
            &json!({"rating": rating, "headline": "h", "summary": "s", "evidence_ids": [f.evidence_id]}),
        )["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    for rating in ["false", "misleading"] {
        let v = draft(rating);
        assert_eq!(
            app.post_as(&f.editor, &format!("/v1/verdicts/{v}/submit"), &json!({})).status(),
            200
        );
        let r = app.post_as(&f.reviewer, &format!("/v1/verdicts/{v}/publish"), &json!({}));
        assert_eq!(r.status(), 200);
        let seq = log_seq(&r);
        assert_eq!(revision(&app, &auditor, seq)["action"], "publish");
        if rating == "misleading" {
            assert_eq!(revision(&app, &auditor, seq - 1)["action"], "supersede");
        }
    }
    // The public fact check reflects the publish as soon as it answered.
    let fc: Value = app.get(&format!("/v1/factchecks/{}", f.claim_id)).json().unwrap();
    assert_eq!(fc["verdict"]["rating"], "misleading");
}

#[test]
fn writes_to_one_entity_are_sequenced_in_the_order_they_committed() {
    let app = Arc::new(spawn_app());
    let f = app.fixture();
    let auditor = app.token("aud", &[Role::Auditor]);
    let claim = f.claim_id.clone();
    let editor = f.editor.clone();
    // Eight writers edit one claim, each retrying with the ETag it reads.
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let (app, claim, editor) = (app.clone(), claim.clone(), editor.clone());
            std::thread::spawn(move || {
                let mut done = 0;
                while done < 5 {
                    let r = app.get_as(&editor, &format!("/v1/claims/{claim}"));
                    let etag = r.headers()["etag"].to_str().unwrap().to_string();
                    let r = app.patch_as(
                        &editor,
                        &format!("/v1/claims/{claim}"),
                        Some(&etag),
                        &json!({"statement": format!("writer {w} edit {done}")}),
                    );
                    match r.status().as_u16() {
                        200 => done += 1,
                        412 => {}
                        other => panic!("unexpected {other}"),
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let r = app.get_as(&auditor, &format!("/v1/revisions?entity_id={claim}&limit=100"));
    let items = r.json::<Value>().unwrap()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 41, "the create and 40 edits");
    let versions: Vec<i64> = items.iter().map(|r| r["entity_version"].as_i64().unwrap()).collect();
    assert_eq!(versions, (1..=41).collect::<Vec<_>>(), "versions increase with seq");
    // The heads the sequencer keeps for deriving (one row per entity, its
    // newest revision and that one's claim) match the log, current at its head.
    let mut conn = app.conn();
    let heads: Vec<(uuid::Uuid, i64, Option<String>)> =
        diesel::sql_query("SELECT entity_id, seq, claim_id FROM entity_heads ORDER BY entity_id")
            .load::<Head>(&mut conn)
            .unwrap()
            .into_iter()
            .map(|h| (h.entity_id, h.seq, h.claim_id))
            .collect();
    let from_log: Vec<(uuid::Uuid, i64, Option<String>)> = diesel::sql_query(
        "SELECT DISTINCT ON (entity_id) entity_id, seq, snapshot::jsonb ->> 'claim_id' AS claim_id FROM revisions ORDER BY entity_id, seq DESC",
    )
    .load::<Head>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|h| (h.entity_id, h.seq, h.claim_id))
    .collect();
    assert!(heads.len() >= 5, "{heads:?}");
    assert_eq!(heads, from_log);
    // So does the claim each revision names, which the sequencer gives the
    // log from the snapshot it parsed (the lookups by claim use it).
    let (named, disagreeing): (i64, i64) = {
        #[derive(QueryableByName)]
        struct Named {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            named: i64,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            disagreeing: i64,
        }
        let n: Named = diesel::sql_query(
            "SELECT count(claim_id) AS named, \
                    count(*) FILTER (WHERE claim_id IS DISTINCT FROM (snapshot::jsonb ->> 'claim_id')::uuid) AS disagreeing \
             FROM revisions",
        )
        .get_result(&mut conn)
        .unwrap();
        (n.named, n.disagreeing)
    };
    assert!(named >= 1, "the fixture's appearance, evidence and verdict name their claim");
    assert_eq!(disagreeing, 0);
    let (heads_seq, head): (i64, i64) = (
        claimledger::db::schema::log_derived::table
            .select(claimledger::db::schema::log_derived::heads_seq)
            .first(&mut conn)
            .unwrap(),
        claimledger::ledger::head(&mut conn).unwrap().seq,
    );
    assert_eq!(heads_seq, head);
}

#[derive(QueryableByName)]
struct Head {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    entity_id: uuid::Uuid,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    claim_id: Option<String>,
}

#[test]
fn a_write_not_sequenced_in_time_answers_503_and_is_sequenced_later() {
    // No sequencer in this server: writes commit and wait in vain.
    let app = spawn_app_with(|c| {
        c.sequencer = false;
        c.write_wait = Duration::from_millis(300);
    });
    let (_, pw) = app.editor("ed", &[Role::Editor]);
    let token = app.login("ed", &pw).json::<Value>().unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({"statement": "Committed, not yet sequenced", "claimant": "c", "claimant_kind": "person", "language": "en"});
    let r = app
        .client
        .post(app.url("/v1/claims"))
        .bearer_auth(&token)
        .header("idempotency-key", "k-1")
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(r.headers()["etag"], "\"1\"");
    let p = problem(r, 503);
    assert_eq!(p["type"], "/problems/committed-not-sequenced");
    assert!(p["detail"].as_str().unwrap().contains("committed"), "{p}");
    assert_eq!(app.count("claims"), 1, "the write committed");
    let mut conn = app.conn();
    claimledger::store::sequencer::settle(&mut conn, Duration::from_secs(30)).unwrap();
    // The retry replays the first response, now with its position.
    let r = app
        .client
        .post(app.url("/v1/claims"))
        .bearer_auth(&token)
        .header("idempotency-key", "k-1")
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["idempotent-replayed"], "true");
    let seq = log_seq(&r);
    assert_eq!(seq, claimledger::ledger::head(&mut conn).unwrap().seq);
    assert_eq!(app.count("claims"), 1, "written once");
    assert_eq!(app.count("pending_revisions"), 0);
}

/// The pid of the backend holding the sequencer's advisory lock.
fn sequencer_pid(conn: &mut PgConnection) -> Option<i32> {
    #[derive(QueryableByName)]
    struct Holder {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    diesel::sql_query(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted \
           AND ((classid::bigint << 32) | objid::bigint) = 727274003 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .get_result::<Holder>(conn)
    .optional()
    .unwrap()
    .map(|h| h.pid)
}

fn client_pid(conn: &mut PgConnection, backend: i32) -> Option<String> {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    diesel::sql_query(format!(
        "SELECT application_name AS name FROM pg_stat_activity WHERE pid = {backend}"
    ))
    .get_result::<Name>(conn)
    .optional()
    .unwrap()
    .map(|n| n.name)
}

fn server_token(db_url: &str) -> String {
    let mut conn = claimledger::db::connect(db_url).unwrap();
    let e = claimledger::store::editors::create(
        &mut conn,
        claimledger::model::SYSTEM_ACTOR,
        claimledger::store::editors::NewEditor {
            username: claimledger::model::Username::parse(&format!("w{}", &uuid::Uuid::new_v4().simple().to_string()[..8])).unwrap(),
            display_name: "Writer".into(),
            roles: vec![Role::Editor],
            password_hash: None,
        },
        None,
    )
    .unwrap();
    claimledger::store::sequencer::wait_for(&mut conn, &e.pending.unwrap(), Duration::from_secs(30)).unwrap();
    let config = crate::harness::test_config(db_url);
    let keys =
        claimledger::auth::TokenKeys::new(&claimledger::config::Secret::new(TEST_JWT_SECRET.as_bytes().to_vec()), &config.jwt).unwrap();
    keys.issue(e.value.id, &[Role::Editor]).unwrap().access_token
}

#[test]
fn one_server_sequences_at_a_time_and_another_takes_over_when_it_dies() {
    let db = crate::harness::TestDb::new();
    claimledger::db::migrate(&mut db.conn()).unwrap();
    let token = server_token(&db.url);
    let a = ServerProcess::start(&db.url, &[("PGAPPNAME", "server-a")]);
    let b = ServerProcess::start(&db.url, &[("PGAPPNAME", "server-b")]);
    let mut conn = db.conn();
    let deadline = Instant::now() + Duration::from_secs(10);
    let leader = loop {
        if let Some(pid) = sequencer_pid(&mut conn) {
            break client_pid(&mut conn, pid).unwrap();
        }
        assert!(Instant::now() < deadline, "no sequencer took the lock");
        std::thread::sleep(Duration::from_millis(50));
    };
    let client = reqwest::blocking::Client::new();
    let write = |base: &str, n: u32| {
        let r = client
            .post(format!("{base}/v1/claims"))
            .bearer_auth(&token)
            .json(&json!({"statement": format!("claim {n}"), "claimant": "c", "claimant_kind": "person", "language": "en"}))
            .timeout(Duration::from_secs(20))
            .send()
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().unwrap_or_default());
    };
    // Writes through either server are sequenced by the one leader.
    write(&a.address, 1);
    write(&b.address, 2);
    let pid = sequencer_pid(&mut conn).unwrap();
    assert_eq!(client_pid(&mut conn, pid).unwrap(), leader, "still one leader");
    let (mut gone, survivor, survivor_name) = if leader == "server-a" {
        (a, b, "server-b")
    } else {
        (b, a, "server-a")
    };
    gone.signal("KILL");
    let _ = gone.child.wait();
    let killed = Instant::now();
    // The killed server's backend holds the lock until PostgreSQL notices
    // the closed connection; then the survivor takes it. (How long that
    // takes is measured, not asserted: this machine is shared.)
    loop {
        let holder = sequencer_pid(&mut conn).and_then(|pid| client_pid(&mut conn, pid));
        if holder.as_deref() == Some(survivor_name) {
            break;
        }
        assert!(killed.elapsed() < Duration::from_secs(20), "nobody took over (holder: {holder:?})");
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("the survivor took over {:?} after the leader was killed", killed.elapsed());
    write(&survivor.address, 3);
    let head = claimledger::ledger::head(&mut conn).unwrap().seq;
    assert!(claimledger::ledger::verify(&mut conn, None, 1, None, |_, _| {}).unwrap().ok);
    assert!(head >= 4, "the account and three claims: {head}");
}

#[test]
fn killing_a_server_mid_load_loses_no_acknowledged_write() {
    let db = crate::harness::TestDb::new();
    claimledger::db::migrate(&mut db.conn()).unwrap();
    let token = server_token(&db.url);
    let mut server = ServerProcess::start(&db.url, &[]);
    let base = Arc::new(Mutex::new(server.address.clone()));
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (stop, acknowledged, token, base) = (stop.clone(), acknowledged.clone(), token.clone(), base.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let address = base.lock().unwrap().clone();
                    let sent = client
                        .post(format!("{address}/v1/claims"))
                        .bearer_auth(&token)
                        .json(&json!({"statement": format!("writer {w} claim {i}"), "claimant": "c", "claimant_kind": "person", "language": "en"}))
                        .send();
                    match sent {
                        Ok(r) if r.status() == 201 => {
                            let seq = log_seq(&r);
                            let id = r.json::<Value>().unwrap()["id"].as_str().unwrap().to_string();
                            acknowledged.lock().unwrap().push((id, seq));
                        }
                        // The server is gone, or restarting: try again shortly.
                        _ => std::thread::sleep(Duration::from_millis(20)),
                    }
                }
            })
        })
        .collect();
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(700));
        server.signal("KILL");
        let _ = server.child.wait();
        server = ServerProcess::start(&db.url, &[]);
        *base.lock().unwrap() = server.address.clone();
    }
    std::thread::sleep(Duration::from_millis(700));
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() > 20, "the load went through: {}", acknowledged.len());
    let mut conn = db.conn();
    // What committed before a kill is sequenced after the restart.
    claimledger::store::sequencer::settle(&mut conn, Duration::from_secs(60)).unwrap();
    let pending: i64 = claimledger::db::schema::pending_revisions::table
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(pending, 0);
    use claimledger::db::schema::revisions::dsl as r;
    let logged: Vec<(i64, uuid::Uuid)> = r::revisions
        .filter(r::entity_kind.eq("claim"))
        .select((r::seq, r::entity_id))
        .load(&mut conn)
        .unwrap();
    for (id, seq) in &acknowledged {
        let id: uuid::Uuid = id.parse().unwrap();
        let found: Vec<i64> = logged.iter().filter(|(_, e)| *e == id).map(|(s, _)| *s).collect();
        assert_eq!(found, vec![*seq], "claim {id}: acknowledged at {seq}, exactly once in the log");
    }
    // Every committed claim (acknowledged or not) is in the log once.
    let claims: i64 = claimledger::db::schema::claims::table.count().get_result(&mut conn).unwrap();
    assert_eq!(claims as usize, logged.len());
    let seqs: Vec<i64> = r::revisions.select(r::seq).order(r::seq).load(&mut conn).unwrap();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "dense");
    assert!(claimledger::ledger::verify(&mut conn, None, 1, None, |_, _| {}).unwrap().ok);
    assert!(claimledger::store::state::verify_state(&mut conn, 10, |_| {}).unwrap().ok);
}
