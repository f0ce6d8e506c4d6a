//! Operations: the OpenAPI document, problem+json for every error, limits,
//! a database outage, graceful shutdown, logs and metrics.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use claimledger::db::cluster::LocalCluster;
use claimledger::model::Role;
use serde_json::{Value, json};

use crate::harness::{ServerProcess, TestDb, problem, spawn_app, spawn_app_with};

#[test]
fn the_openapi_document_is_locked_by_a_snapshot() {
    let app = spawn_app();
    let doc: Value = app.get("/openapi.json").json().unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    insta::assert_json_snapshot!("openapi", doc);
}

/// What a client generator needs: unique operation ids, a description on
/// every response, every error as problem+json with the Problem schema, the
/// shared header formats, and links from a create to its follow-ups.
#[test]
fn the_openapi_document_is_a_contract_clients_can_generate_from() {
    let app = spawn_app();
    let doc: Value = app.get("/openapi.json").json().unwrap();
    let mut ids = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(ids.insert(id.to_string()), "operationId {id} repeats");
            for (status, response) in op["responses"].as_object().unwrap() {
                let what = format!("{method} {path} {status}");
                assert!(
                    !response["description"].as_str().unwrap_or("").is_empty(),
                    "{what} has no description"
                );
                if status.as_str() >= "400" {
                    let content = response["content"].as_object().unwrap();
                    assert_eq!(content.keys().collect::<Vec<_>>(), ["application/problem+json"], "{what}");
                    assert_eq!(
                        content["application/problem+json"]["schema"]["$ref"], "#/components/schemas/Problem",
                        "{what}"
                    );
                }
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                match p["name"].as_str().unwrap() {
                    "Idempotency-Key" => assert_eq!(p["schema"]["pattern"], claimledger::http::openapi::IDEMPOTENCY_KEY_PATTERN),
                    "If-Match" => assert_eq!(p["schema"]["pattern"], claimledger::http::openapi::IF_MATCH_PATTERN),
                    _ => {}
                }
            }
        }
    }
    for id in [
        "createClaim",
        "createVerdict",
        "submitVerdict",
        "publishVerdict",
        "getFactCheck",
        "getClaimReview",
        "getFactCheckFeed",
    ] {
        assert!(ids.contains(id), "{id} is an operation");
    }
    let post = &doc["paths"]["/v1/claims"]["post"];
    for status in ["400", "401", "403", "413", "415", "422", "503"] {
        assert!(post["responses"][status].is_object(), "createClaim documents {status}");
    }
    let links = &post["responses"]["201"]["links"];
    assert_eq!(links["CreateVerdict"]["operationId"], "createVerdict");
    assert_eq!(links["CreateVerdict"]["parameters"]["id"], "$response.body#/id");
    let publish = &doc["paths"]["/v1/verdicts/{id}/publish"]["post"]["responses"]["200"]["links"];
    assert_eq!(publish["GetFactCheck"]["parameters"]["claim_id"], "$response.body#/claim_id");

    // The If-Match the document describes is exactly what the server takes.
    let token = app.token("ed", &[Role::Editor]);
    let claim = app.created(
        &token,
        "/v1/claims",
        &json!({"statement": "A claim to edit.", "language": "en", "claimant": "Someone", "claimant_kind": "person"}),
    );
    let path = format!("/v1/claims/{}", claim["id"].as_str().unwrap());
    for bad in ["\"\"1\"\"", "W/1", "1.0", "-1", "1234567890"] {
        let r = app.patch_as(&token, &path, Some(bad), &json!({"tags": ["x"]}));
        assert_eq!(r.status(), 400, "If-Match {bad} is refused");
    }
    let r = app.patch_as(&token, &path, Some("W/\"1\""), &json!({"tags": ["x"]}));
    assert_eq!(r.status(), 200, "a weak ETag of the current version is taken");
}

#[test]
fn swagger_ui_is_served_without_downloads() {
    let app = spawn_app();
    let r = app.get("/docs/");
    assert_eq!(r.status(), 200);
    assert!(r.text().unwrap().contains("swagger"));
    assert_eq!(app.get("/docs").status(), 307);
}

#[test]
fn every_error_is_problem_json_with_the_request_id() {
    let app = spawn_app();
    let token = app.token("ed", &[Role::Editor]);
    // Unknown route, wrong method, bad path parameter, bad query.
    problem(app.get("/v1/nope"), 404);
    let r = app.client.delete(app.url("/v1/claims")).send().unwrap();
    assert_eq!(r.headers()["allow"], "GET, POST");
    problem(r, 405);
    let r = app
        .client
        .put(app.url("/v1/claims/0190c0de-0000-7000-8000-000000000001"))
        .send()
        .unwrap();
    assert!(r.headers()["allow"].to_str().unwrap().contains("PATCH"));
    problem(r, 405);
    problem(app.get_as(&token, "/v1/claims/12345"), 400);
    problem(app.get_as(&token, "/v1/revisions/abc"), 400);
    problem(app.get_as(&token, "/v1/claims?limit=many"), 422);
    // JSON that does not parse, the wrong content type, a body too large.
    let r = app
        .client
        .post(app.url("/v1/claims"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("[1,")
        .send()
        .unwrap();
    problem(r, 400);
    let r = app
        .client
        .post(app.url("/v1/claims"))
        .bearer_auth(&token)
        .header("content-type", "application/xml")
        .body("<claim/>")
        .send()
        .unwrap();
    problem(r, 415);
    let big = json!({"statement": "x".repeat(300 * 1024), "claimant": "c", "claimant_kind": "person", "language": "en"});
    let r = app
        .client
        .post(app.url("/v1/claims"))
        .bearer_auth(&token)
        .json(&big)
        .send()
        .unwrap();
    let p = problem(r, 413);
    assert!(p["detail"].as_str().unwrap().contains("262144"));
    // Successes carry the request id too.
    assert!(app.get("/healthz").headers().contains_key("x-request-id"));
}

#[test]
fn metrics_count_requests_by_route_and_status_and_show_the_pool_and_head() {
    let app = spawn_app();
    let token = app.token("ed", &[Role::Editor]);
    app.created(
        &token,
        "/v1/claims",
        &json!({"statement": "s", "claimant": "c", "claimant_kind": "person", "language": "en"}),
    );
    app.get("/v1/nope");
    let text = app.get("/metrics").text().unwrap();
    assert!(
        text.contains(r#"claimledger_http_requests_total{method="POST",route="/v1/claims",status="201"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404"} 1"#));
    assert!(text.contains("claimledger_http_request_duration_seconds_bucket"));
    assert!(text.contains("claimledger_db_pool_connections{state=\"in_use\"}"));
    assert!(text.contains("claimledger_db_pool_max_connections 10"));
    // The account, the claimant's record and the claim: three revisions.
    assert!(text.contains("claimledger_log_head_seq 3"), "{text}");
}

#[test]
fn json_logs_carry_route_status_and_latency_and_no_secrets() {
    let db = TestDb::new();
    let server = ServerProcess::start(&db.url, &[("CLAIMLEDGER_LOG_FORMAT", "json")]);
    let app_conn = &mut db.conn();
    let password = "a-password-that-must-not-be-logged";
    claimledger::store::editors::create(
        app_conn,
        claimledger::model::SYSTEM_ACTOR,
        claimledger::store::editors::NewEditor {
            username: claimledger::model::Username::parse("alice").unwrap(),
            display_name: "Alice".into(),
            roles: vec![Role::Editor],
            password_hash: Some(claimledger::auth::password::hash_password(password).unwrap()),
        },
        None,
    )
    .unwrap();
    let client = reqwest::blocking::Client::new();
    let token: Value = client
        .post(format!("{}/v1/auth/token", server.address))
        .json(&json!({"username": "alice", "password": password}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_string();
    client
        .get(format!("{}/v1/auth/me", server.address))
        .bearer_auth(&token)
        .send()
        .unwrap();
    client
        .post(format!("{}/v1/auth/token", server.address))
        .json(&json!({"username": "alice", "password": "wrong-password-xyz"}))
        .send()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let logs = server.logs();
    let lines: Vec<Value> = logs
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let done: Vec<&Value> = lines.iter().filter(|l| l["message"] == "request done").collect();
    assert!(
        done.iter()
            .any(|l| l["route"] == "/v1/auth/token" && l["status"] == 200 && l["latency_ms"].is_number()),
        "{logs}"
    );
    assert!(done.iter().any(|l| l["route"] == "/v1/auth/me" && l["status"] == 200));
    for secret in [
        password,
        "wrong-password-xyz",
        token.as_str(),
        crate::harness::TEST_JWT_SECRET,
        "$argon2id",
    ] {
        assert!(!logs.contains(secret), "a secret is in the logs");
    }
}

#[test]
fn sigterm_lets_requests_in_flight_finish() {
    let app = spawn_app();
    crate::audit_fill(&app, 4_000, 10);
    let auditor = app.token("aud", &[Role::Auditor]);
    let server = ServerProcess::start(&app.db.url, &[("RUST_LOG", "warn")]);
    // A long request: verifying 40,000 revisions.
    let url = format!("{}/v1/log/verify", server.address);
    // Built before the clock starts: with TLS compiled in (webhook
    // deliveries), building a client loads the system's root certificates.
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let in_flight = std::thread::spawn(move || {
        let r = client.get(url).bearer_auth(auditor).send().unwrap();
        (r.status().as_u16(), r.json::<Value>().unwrap())
    });
    std::thread::sleep(Duration::from_millis(150));
    server.signal("TERM");
    let (status, body) = in_flight.join().unwrap();
    assert_eq!(status, 200);
    assert_eq!(body["ok"], true);
    assert!(body["checked"].as_i64().unwrap() >= 40_000);
    let mut server = server;
    let exit = server.child.wait().unwrap();
    assert!(exit.success(), "graceful exit: {exit:?}\n{}", server.logs());
}

/// A cluster of this test's own, so stopping it disturbs no other test.
struct OwnCluster {
    cluster: LocalCluster,
    root: std::path::PathBuf,
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = self.cluster.stop();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

#[test]
fn a_database_outage_answers_503_quickly_and_recovers_without_losing_a_write() {
    let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("outage-{}", uuid::Uuid::new_v4().simple()));
    let own = OwnCluster {
        cluster: LocalCluster::ensure_started(&root).unwrap(),
        root: root.clone(),
    };
    let url = own.cluster.url("claimledger");
    claimledger::db::migrate(&mut claimledger::db::connect(&url).unwrap()).unwrap();
    let app = spawn_app_with(|c| {
        c.database_url = Some(url.clone());
        c.db.connect_timeout = Duration::from_millis(1500);
    });
    let token = {
        let (_, pw) = claimledger_editor(&url);
        let r = app.login("writer", &pw);
        r.json::<Value>().unwrap()["access_token"].as_str().unwrap().to_string()
    };
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let created: Arc<Mutex<Vec<String>>> = Arc::default();
    let statuses: Arc<Mutex<Vec<u16>>> = Arc::default();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (client, stop, created, statuses, token, base) = (
                client.clone(),
                stop.clone(),
                created.clone(),
                statuses.clone(),
                token.clone(),
                app.address.clone(),
            );
            std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let body =
                        json!({"statement": format!("writer {w} claim {i}"), "claimant": "c", "claimant_kind": "person", "language": "en"});
                    // A request that hangs past the client's timeout fails the test here.
                    let r = client
                        .post(format!("{base}/v1/claims"))
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                        .expect("no request hangs");
                    let status = r.status().as_u16();
                    if status == 503 {
                        assert!(r.headers().contains_key("retry-after"));
                        assert!(
                            r.headers()["content-type"]
                                .to_str()
                                .unwrap()
                                .starts_with("application/problem+json")
                        );
                    }
                    if status == 201 {
                        created
                            .lock()
                            .unwrap()
                            .push(r.json::<Value>().unwrap()["id"].as_str().unwrap().to_string());
                    }
                    statuses.lock().unwrap().push(status);
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    own.cluster.stop().unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    let r = client.get(app.url("/readyz")).send().expect("readyz answers during the outage");
    assert_eq!(r.status(), 503);
    own.cluster.restart_stopped().unwrap();
    // The service recovers by itself.
    let mut ready = false;
    for _ in 0..100 {
        if client.get(app.url("/readyz")).send().map(|r| r.status() == 200).unwrap_or(false) {
            ready = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(ready, "readyz is 200 again after the database returns");
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let statuses = statuses.lock().unwrap().clone();
    assert!(statuses.contains(&503), "the outage was seen");
    assert!(statuses.iter().all(|s| *s == 201 || *s == 503), "only 201 or 503: {statuses:?}");
    let ok_after = statuses
        .iter()
        .rposition(|s| *s == 503)
        .map(|i| statuses[i..].contains(&201))
        .unwrap();
    assert!(ok_after, "writes succeed again after the outage");
    // Every acknowledged write is in the projection and the log; nothing half-written.
    let created = created.lock().unwrap().clone();
    let mut conn = claimledger::db::connect(&url).unwrap();
    use diesel::prelude::*;
    let in_log: Vec<uuid::Uuid> = claimledger::db::schema::revisions::table
        .filter(claimledger::db::schema::revisions::entity_kind.eq("claim"))
        .select(claimledger::db::schema::revisions::entity_id)
        .load(&mut conn)
        .unwrap();
    for id in &created {
        let id: uuid::Uuid = id.parse().unwrap();
        assert_eq!(
            in_log.iter().filter(|e| **e == id).count(),
            1,
            "claim {id}: acknowledged, exactly once in the log"
        );
    }
    // Writes that committed while the acknowledgement failed are sequenced too.
    claimledger::store::sequencer::settle(&mut conn, Duration::from_secs(60)).unwrap();
    let pending: i64 = claimledger::db::schema::pending_revisions::table
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(pending, 0, "nothing committed is left unsequenced");
    let claims: i64 = claimledger::db::schema::claims::table.count().get_result(&mut conn).unwrap();
    let claim_revisions: i64 = claimledger::db::schema::revisions::table
        .filter(claimledger::db::schema::revisions::entity_kind.eq("claim"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(claims, claim_revisions, "every committed claim, once; nothing of a rolled-back one");
    assert!(claimledger::ledger::verify(&mut conn, None, 1, None, |_, _| {}).unwrap().ok);
    assert!(
        claimledger::store::state::verify_state(&mut conn, 10, |_| {}).unwrap().ok,
        "no half-written rows"
    );
}

/// An editor account created straight in the database at `url`.
fn claimledger_editor(url: &str) -> (uuid::Uuid, String) {
    let password = "writer-password-0123456789".to_string();
    let e = claimledger::store::editors::create(
        &mut claimledger::db::connect(url).unwrap(),
        claimledger::model::SYSTEM_ACTOR,
        claimledger::store::editors::NewEditor {
            username: claimledger::model::Username::parse("writer").unwrap(),
            display_name: "Writer".into(),
            roles: vec![Role::Editor],
            password_hash: Some(claimledger::auth::password::hash_password(&password).unwrap()),
        },
        None,
    )
    .unwrap();
    (e.value.id, password)
}

#[test]
fn a_get_with_a_body_is_still_answered() {
    // A GET with a body is still answered (bodies on reads are ignored).
    let app = spawn_app();
    let r = app.client.get(app.url("/healthz")).body("ignored").send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert!(r.headers().contains_key("x-request-id"));
    assert_eq!(r.text().unwrap(), r#"{"status":"ok"}"#);
}

/// The README's production database role, read from the README itself: the
/// service runs as it — the write paths, the sequencer, the tree and its
/// checkpoints, webhook deliveries, the public and audit reads — with
/// exactly the grants listed there, and nothing is refused.
#[test]
fn the_service_runs_as_the_readmes_production_role() {
    use crate::webhooks::{Receiver, admin, publish, subscribe};
    let mut app = crate::webhooks::push_app();
    let owner_url = app.config.database_url.clone().unwrap();
    let database = owner_url.split('?').next().unwrap().rsplit('/').next().unwrap().to_string();
    let role = format!("cl_app_{}", &database[database.len() - 12..]);
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let block = readme
        .split("### Production database roles")
        .nth(1)
        .and_then(|s| s.split("```sql").nth(1))
        .and_then(|s| s.split("```").next())
        .expect("the README's production-role SQL block");
    let grants = block
        .replace("claimledger_app", &role)
        .replace("DATABASE claimledger ", &format!("DATABASE {database} "))
        .replace("'…'", "'app-role-password-0123'");
    use diesel::connection::SimpleConnection;
    app.conn().batch_execute(&grants).unwrap();
    let _role = RoleDropped {
        owner_url: owner_url.clone(),
        role: role.clone(),
    };
    // Everything the fixture and the accounts need is made as the owner;
    // then the server restarts as the role.
    let f = app.fixture();
    let admin = admin(&app);
    let auditor = app.token("roleauditor", &[Role::Auditor]);
    app.config.database_url = Some(with_user(&owner_url, &role, "app-role-password-0123"));
    app.restart();
    let receiver = Receiver::start(|_| (204, Duration::ZERO));
    let (hook, _) = subscribe(&app, &admin, &receiver.url(), json!({}));
    // Writes: a draft edited (one statement), submitted and published by
    // the other reviewer, through the sequencer and the derivation.
    let v = crate::common::draft(&app, &f.editor, &f.claim_id, &f.evidence_id);
    let path = format!("/v1/verdicts/{}", v["id"].as_str().unwrap());
    assert_eq!(
        app.patch_as(&f.editor, &path, Some("\"1\""), &json!({"headline": "Edited as the role"}))
            .status(),
        200
    );
    publish(&app, &f, &f.claim_id, &f.evidence_id, "false");
    let r = app
        .client
        .post(app.url("/v1/claims"))
        .bearer_auth(&f.editor)
        .header("Idempotency-Key", "role-test-1")
        .json(&crate::common::claim_body())
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    // A failed login is recorded (and cleared by a good one).
    assert_eq!(app.login("ed", "not-the-password-at-all").status(), 401);
    // Reads: public, audit, the tree.
    assert_eq!(app.get(&format!("/v1/factchecks/{}", f.claim_id)).status(), 200);
    assert_eq!(app.get_as(&auditor, &format!("/v1/claims/{}/history", f.claim_id)).status(), 200);
    let verify: Value = app.get_as(&auditor, "/v1/log/verify").json().unwrap();
    assert_eq!(verify["ok"], true, "{verify}");
    receiver.wait_for("the published fact check's delivery", |got| {
        got.iter().any(|g| g.json()["type"] == "factcheck.published")
    });
    let started = std::time::Instant::now();
    while app.get("/v1/log/checkpoint").status() != 200 {
        assert!(started.elapsed() < Duration::from_secs(30), "no checkpoint signed as the role");
        std::thread::sleep(Duration::from_millis(50));
    }
    let deliveries: i64 = {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(format!("SELECT count(*) AS n FROM webhook_deliveries WHERE webhook_id = '{hook}'"))
            .get_result::<N>(&mut app.conn())
            .unwrap()
            .n
    };
    assert!(deliveries >= 1);
    // Back to the owner; the role goes with `_role`.
    app.config.database_url = Some(owner_url);
    app.restart();
}

/// Roles outlive databases: the test's goes when the test ends, passed or not.
struct RoleDropped {
    owner_url: String,
    role: String,
}

impl Drop for RoleDropped {
    fn drop(&mut self) {
        use diesel::Connection;
        use diesel::connection::SimpleConnection;
        let role = &self.role;
        if let Ok(mut conn) = diesel::PgConnection::establish(&self.owner_url) {
            let _ = conn.batch_execute(&format!("DROP OWNED BY {role}; DROP ROLE {role}"));
        }
    }
}

/// `url` with another user and password.
fn with_user(url: &str, user: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let host = rest.split_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{user}:{password}@{host}")
}
