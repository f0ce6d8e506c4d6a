//! The seed corpus: the fixture checks out, lands in one transaction through
//! the store, anchors every quote in code points, and seeds only once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use claimledger::ledger;
use claimledger::seed::{self, Outcome};
use diesel::prelude::*;
use serde_json::Value;

use crate::harness::{TestDb, spawn_app};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("seed_articles")
}

/// A copy of the fixture with claims.json changed by `edit`.
fn broken_copy(edit: impl FnOnce(&mut Value)) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cl-seed-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(fixture_dir()).unwrap().flatten() {
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    let mut claims: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("claims.json")).unwrap()).unwrap();
    edit(&mut claims);
    std::fs::write(dir.join("claims.json"), serde_json::to_string_pretty(&claims).unwrap()).unwrap();
    dir
}

fn seeded() -> (TestDb, PgConnection) {
    let db = TestDb::new();
    let mut conn = db.conn();
    let fixture = seed::load(&fixture_dir()).expect("the fixture checks out");
    assert!(matches!(seed::seed(&mut conn, &fixture).unwrap(), Outcome::Seeded { .. }));
    (db, conn)
}

#[test]
fn the_fixture_meets_the_corpus_requirements() {
    let fixture = seed::load(&fixture_dir()).unwrap();
    assert_eq!(fixture.articles.len(), 5);
    assert!(fixture.claims.len() >= 12);
    let appearances: usize = fixture.claims.iter().map(|c| c.appearances.len()).sum();
    assert!(appearances >= 30);
    for a in &fixture.articles {
        let n = fixture
            .claims
            .iter()
            .flat_map(|c| &c.appearances)
            .filter(|(f, _)| *f == a.file)
            .count();
        assert!(n >= 3, "{} has {n} appearances", a.file);
    }
    let verdicts = fixture
        .claims
        .iter()
        .filter(|c| c.verdict.as_ref().is_some_and(|(_, keys)| !keys.is_empty()))
        .count();
    assert!(verdicts >= 6);
    let widespread = fixture
        .claims
        .iter()
        .filter(|c| c.appearances.iter().map(|(f, _)| f).collect::<std::collections::HashSet<_>>().len() >= 3)
        .count();
    assert!(widespread >= 3);
}

#[test]
fn every_seeded_appearance_is_its_quote_in_code_points() {
    let (_db, mut conn) = seeded();
    let rows: Vec<(String, String, i32, i32)> = claimledger::db::schema::appearances::table
        .inner_join(claimledger::db::schema::articles::table)
        .select((
            claimledger::db::schema::articles::body,
            claimledger::db::schema::appearances::exact,
            claimledger::db::schema::appearances::start_pos,
            claimledger::db::schema::appearances::end_pos,
        ))
        .load(&mut conn)
        .unwrap();
    assert!(rows.len() >= 30);
    let mut byte_offsets_differ = 0;
    for (body, exact, start, end) in &rows {
        let slice: String = body.chars().skip(*start as usize).take((end - start) as usize).collect();
        assert_eq!(&slice, exact);
        if body.find(exact.as_str()) != Some(*start as usize) {
            byte_offsets_differ += 1;
        }
    }
    assert!(
        byte_offsets_differ > 0,
        "some quote sits after curly quotes, where bytes ≠ code points"
    );
}

#[test]
fn after_seeding_the_log_verifies_and_published_verdicts_cite_their_own_claims_evidence() {
    let (_db, mut conn) = seeded();
    let report = ledger::verify(&mut conn, None, 1, None, |_, _| {}).unwrap();
    assert!(report.ok, "{report:?}");
    use claimledger::db::schema::{evidence, verdicts};
    let published: Vec<(uuid::Uuid, Vec<uuid::Uuid>)> = verdicts::table
        .filter(verdicts::status.eq("published"))
        .select((verdicts::claim_id, verdicts::evidence_ids))
        .load(&mut conn)
        .unwrap();
    assert!(published.len() >= 6);
    for (claim_id, ids) in published {
        assert!(!ids.is_empty());
        for id in ids {
            let (owner, status): (uuid::Uuid, String) = evidence::table
                .find(id)
                .select((evidence::claim_id, evidence::status))
                .first(&mut conn)
                .unwrap();
            assert_eq!((owner, status.as_str()), (claim_id, "active"));
        }
    }
    // Two people: the seed editor wrote, the seed reviewer published.
    let authors: Vec<(uuid::Uuid, Option<uuid::Uuid>)> = verdicts::table
        .select((verdicts::author_id, verdicts::reviewer_id))
        .load(&mut conn)
        .unwrap();
    assert!(authors.iter().all(|(a, r)| Some(*a) != *r && r.is_some()));
}

#[test]
fn seeding_twice_writes_nothing_the_second_time() {
    let (_db, mut conn) = seeded();
    let count = |conn: &mut PgConnection| claimledger::db::schema::revisions::table.count().get_result::<i64>(conn).unwrap();
    let before = count(&mut conn);
    let fixture = seed::load(&fixture_dir()).unwrap();
    assert_eq!(seed::seed(&mut conn, &fixture).unwrap(), Outcome::AlreadySeeded);
    assert_eq!(count(&mut conn), before);
}

fn rejected(dir: &Path, needle: &str) {
    let err = seed::load(dir).expect_err("the broken fixture is refused");
    let text = err.to_string();
    assert!(text.contains("claims.json") && text.contains(needle), "{text}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_loader_rejects_a_misspelled_quote() {
    let dir = broken_copy(|c| {
        let exact = c["claims"][0]["appearances"][0]["exact"]
            .as_str()
            .unwrap()
            .replacen("sufficient", "sufficent", 1);
        c["claims"][0]["appearances"][0]["exact"] = Value::String(exact);
    });
    rejected(&dir, "does not occur");
}

#[test]
fn the_loader_rejects_an_ambiguous_quote() {
    // "cluster munitions" occurs many times in every article.
    let dir = broken_copy(
        |c| c["claims"][0]["appearances"][0] = serde_json::json!({"article": "003_80d461b370824d72.txt", "exact": "cluster munitions", "kind": "paraphrase", "translated": false}),
    );
    rejected(&dir, "ambiguous");
}

#[test]
fn the_loader_rejects_an_unknown_article() {
    let dir = broken_copy(|c| c["claims"][1]["appearances"][0]["article"] = Value::String("999_missing.txt".into()));
    rejected(&dir, "unknown article '999_missing.txt'");
}

/// Every table of the database — the log, its head, every projection, the
/// accounts — as (rows, md5 of all rows in a fixed order).
fn database_state(conn: &mut PgConnection) -> BTreeMap<String, (i64, String)> {
    #[derive(QueryableByName)]
    struct Table {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    #[derive(QueryableByName)]
    struct Digest {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
        #[diesel(sql_type = diesel::sql_types::Text)]
        digest: String,
    }
    let tables: Vec<Table> = diesel::sql_query("SELECT tablename::text AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        .load(conn)
        .unwrap();
    let state: BTreeMap<String, (i64, String)> = tables
        .into_iter()
        .map(|t| {
            let d: Digest = diesel::sql_query(format!(
                "SELECT count(*) AS n, coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') AS digest FROM \"{}\" t",
                t.name
            ))
            .get_result(conn)
            .unwrap();
            (t.name, (d.n, d.digest))
        })
        .collect();
    for table in PROJECTIONS.iter().chain(&["revisions", "log_head"]) {
        assert!(state.contains_key(*table), "no table {table}: {:?}", state.keys());
    }
    state
}

/// The tables a seed run writes (besides the log and its head).
const PROJECTIONS: [&str; 6] = ["editors", "articles", "claims", "appearances", "evidence", "verdicts"];

/// `claimledger seed --dir <dir>` against `database_url`, as an operator runs it.
fn seed_cli(database_url: &str, dir: &Path) -> (bool, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_claimledger"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("CLAIMLEDGER_")) {
        cmd.env_remove(k);
    }
    let out = cmd
        .arg("seed")
        .arg("--dir")
        .arg(dir)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn a_broken_fixture_writes_nothing_through_the_cli_path() {
    let db = TestDb::new();
    let before = database_state(&mut db.conn());

    // Broken early: the check refuses it before a connection is opened.
    let early = broken_copy(|c| c["claims"][2]["verdict"]["evidence"] = serde_json::json!(["no-such-evidence"]));
    assert!(seed::load(&early).unwrap_err().to_string().contains("no-such-evidence"));
    let (ok, out) = seed_cli(&db.url, &early);
    assert!(!ok && out.contains("no-such-evidence"), "{out}");
    assert_eq!(database_state(&mut db.conn()), before);

    // Broken late: the last claim quotes the same passage twice. Every check
    // of the loader passes; the store refuses the duplicate appearance only
    // after the accounts, all five articles and every earlier claim with its
    // appearances, evidence and verdicts were written in the transaction.
    let mut last_key = String::new();
    let late = broken_copy(|c| {
        let last = c["claims"].as_array_mut().unwrap().last_mut().unwrap();
        last_key = last["key"].as_str().unwrap().to_string();
        let first = last["appearances"][0].clone();
        last["appearances"].as_array_mut().unwrap().push(first);
    });
    let fixture = seed::load(&late).expect("the late fault passes the loader's checks");
    let (ok, out) = seed_cli(&db.url, &late);
    assert!(!ok, "the seed command failed: {out}");
    assert!(out.contains("already has that appearance"), "it failed on the duplicate: {out}");
    assert_eq!(
        database_state(&mut db.conn()),
        before,
        "a seed that failed part-way left rows behind"
    );
    // The library path the CLI and `serve` share, on a connection of our own.
    let mut conn = db.conn();
    let err = seed::seed(&mut conn, &fixture).unwrap_err();
    assert!(matches!(err, claimledger::error::AppError::Conflict(_)), "{err:?}");
    assert_eq!(database_state(&mut conn), before);
    assert_eq!(ledger::head(&mut conn).unwrap().seq, 0);

    // The same comparison sees a seed that succeeds: the log head and every
    // projection table change…
    let (ok, out) = seed_cli(&db.url, &fixture_dir());
    assert!(ok, "{out}");
    let seeded = database_state(&mut conn);
    for table in PROJECTIONS.iter().chain(&["revisions", "log_head"]) {
        assert_ne!(seeded[*table], before[*table], "seeding did not change {table}");
    }
    // …and the failed run had got far: the good fixture reaches the point where
    // the broken one failed (the last claim's appearance) only after nearly all
    // of its revisions.
    let head = ledger::head(&mut conn).unwrap().seq;
    let failed_after: i64 = claimledger::db::schema::revisions::table
        .filter(claimledger::db::schema::revisions::entity_kind.eq("appearance"))
        .filter(claimledger::db::schema::revisions::reason.like(format!("%'{last_key}'%")))
        .select(diesel::dsl::max(claimledger::db::schema::revisions::seq))
        .first::<Option<i64>>(&mut conn)
        .unwrap()
        .expect("the last claim's appearance is in the log");
    assert!(
        failed_after > head * 9 / 10,
        "the broken seed failed after {failed_after} of {head} revisions"
    );
    let _ = std::fs::remove_dir_all(&early);
    let _ = std::fs::remove_dir_all(&late);
}

#[test]
fn seed_accounts_cannot_log_in() {
    let app = spawn_app();
    seed::seed(&mut app.conn(), &seed::load(&fixture_dir()).unwrap()).unwrap();
    for name in [seed::SEED_EDITOR, seed::SEED_REVIEWER] {
        assert_eq!(app.login(name, "").status(), 401);
        assert_eq!(app.login(name, "any-password-at-all").status(), 401);
    }
}

/// The fixture is built into the binary: run from `/`, where there is no
/// `seed_articles/`, `serve` seeds an empty database all the same, and the
/// first-start hint names the address it actually bound.
#[test]
fn the_binary_run_from_the_root_directory_seeds_an_empty_database() {
    let db = TestDb::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let scratch = std::env::temp_dir().join(format!("cl-root-run-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&scratch).unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_claimledger"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("CLAIMLEDGER_")) {
        cmd.env_remove(k);
    }
    let mut child = cmd
        .arg("serve")
        .current_dir("/")
        .env("DATABASE_URL", &db.url)
        .env("CLAIMLEDGER_BIND", format!("127.0.0.1:{port}"))
        .env("CLAIMLEDGER_DATA_DIR", scratch.join("data"))
        .env("CLAIMLEDGER_WORKERS", "1")
        .env("RUST_LOG", "warn")
        .stdout(std::fs::File::create(scratch.join("stdout")).unwrap())
        .stderr(std::fs::File::create(scratch.join("stderr")).unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::blocking::Client::new();
    let ready = (0..600).any(|_| {
        let up = client.get(format!("{base}/readyz")).send().is_ok_and(|r| r.status() == 200);
        if !up {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        up
    });
    let page: Value = if ready {
        client
            .get(format!("{base}/v1/factchecks?limit=100"))
            .send()
            .unwrap()
            .json()
            .unwrap()
    } else {
        Value::Null
    };
    let stdout = std::fs::read_to_string(scratch.join("stdout")).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    let stderr = std::fs::read_to_string(scratch.join("stderr")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&scratch);
    assert!(ready, "the server did not become ready: {stderr}");

    let expected = seed::load(&fixture_dir()).unwrap();
    let published = expected.claims.iter().filter(|c| c.verdict.is_some()).count();
    let items = page["items"].as_array().expect("a page of fact checks");
    assert!(published > 0, "the fixture publishes verdicts");
    assert_eq!(items.len(), published, "the seeded fact checks are served: {page}");
    assert!(
        stdout.contains(&format!("curl -s -X POST {base}/v1/auth/token")),
        "the hint names the bound address: {stdout}"
    );
    assert!(!stdout.contains("127.0.0.1:8080"), "no hard-coded address: {stdout}");
}
