//! The audit API: the log filtered and paged, history with diffs, as-of
//! reads checked against the truth, verification online and offline,
//! streaming export, and the projection check.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use claimledger::db::sql::{Param, Sql};
use claimledger::ledger::{self, NewRevision, append_batch};
use claimledger::model::{Action, EntityKind, Role};
use claimledger::seed;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::Untyped;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

use crate::harness::{ServerProcess, TestApp, metric, problem, spawn_app};
use crate::ledger::tamper;

fn seeded_app() -> TestApp {
    let app = spawn_app();
    let fixture = seed::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("seed_articles")).unwrap();
    seed::seed(&mut app.conn(), &fixture).unwrap();
    app
}

fn head_seq(app: &TestApp) -> i64 {
    ledger::head(&mut app.conn()).unwrap().seq
}

#[test]
fn audit_endpoints_need_the_auditor_or_admin_role() {
    let app = seeded_app();
    let editor = app.token("ed", &[Role::Editor, Role::Reviewer]);
    let auditor = app.token("aud", &[Role::Auditor]);
    let admin = app.token("adm", &[Role::Admin]);
    let claim = app.get_as(&editor, "/v1/claims?limit=1").json::<Value>().unwrap()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for path in [
        "/v1/revisions".to_string(),
        "/v1/revisions/1".into(),
        "/v1/log/head".into(),
        "/v1/log/verify".into(),
        "/v1/log/export".into(),
        format!("/v1/claims/{claim}/history"),
        format!("/v1/claims/{claim}?at_seq=999999"),
    ] {
        let p = problem(app.get_as(&editor, &path), 403);
        assert!(p["detail"].as_str().unwrap().contains("auditor or admin"), "{path}: {p}");
        assert_eq!(app.get_as(&auditor, &path).status(), 200, "{path}");
        assert_eq!(app.get_as(&admin, &path).status(), 200, "{path}");
    }
}

#[test]
fn revisions_filter_by_kind_entity_actor_action_and_time() {
    let app = spawn_app();
    let f = app.fixture();
    let auditor = app.token("aud", &[Role::Auditor]);
    let items = |q: &str| -> Vec<Value> {
        app.get_as(&auditor, &format!("/v1/revisions?limit=100&{q}"))
            .json::<Value>()
            .unwrap()["items"]
            .as_array()
            .unwrap()
            .clone()
    };
    let claims = items("entity_kind=claim");
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0]["entity_id"], f.claim_id);
    assert_eq!(items(&format!("entity_id={}", f.evidence_id)).len(), 1);
    assert_eq!(items("actor=ed").len(), 4, "article, claimant, claim, evidence");
    assert_eq!(items(&format!("actor={}", f.editor_id)).len(), 4);
    assert_eq!(items("actor=nobody").len(), 0);
    assert_eq!(items("action=create").len(), app.count("revisions") as usize);
    let all = items("");
    let third = all[2]["recorded_at"].as_str().unwrap();
    let since = items(&format!("since={}", urlencode(third)));
    assert!(since.iter().all(|r| r["recorded_at"].as_str().unwrap() >= third));
    assert_eq!(since[0]["seq"], all[2]["seq"]);
    let until = items(&format!("until={}", urlencode(third)));
    assert_eq!(until.last().unwrap()["seq"], all[2]["seq"]);
    // One revision by seq, in the export's shape.
    let one: Value = app.get_as(&auditor, "/v1/revisions/3").json().unwrap();
    let keys: Vec<&str> = one.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 11, "{keys:?}");
    assert_eq!(one["entry_hash"].as_str().unwrap().len(), 64);
    problem(app.get_as(&auditor, "/v1/revisions/999"), 404);
    problem(app.get_as(&auditor, "/v1/revisions?entity_kind=planet"), 422);
    problem(app.get_as(&auditor, "/v1/revisions?since=yesterday"), 422);
}

fn urlencode(s: &str) -> String {
    s.replace(':', "%3A").replace('+', "%2B")
}

#[test]
fn paging_the_log_while_writers_append_misses_and_repeats_nothing() {
    let app = Arc::new(spawn_app());
    let f = app.fixture();
    let auditor = app.token("aud", &[Role::Auditor]);
    let writer = {
        let (app, token) = (app.clone(), f.editor.clone());
        std::thread::spawn(move || {
            for n in 0..150 {
                app.created(
                    &token,
                    "/v1/claims",
                    &json!({"statement": format!("claim {n}"), "claimant": "c", "claimant_kind": "person", "language": "en"}),
                );
            }
        })
    };
    let mut seen: Vec<i64> = vec![];
    let page_after = |after: Option<i64>| -> Value {
        let path = match after {
            Some(c) => format!("/v1/revisions?limit=7&cursor={}", claimledger::model::paging::SeqCursor(c).token()),
            None => "/v1/revisions?limit=7".into(),
        };
        app.get_as(&auditor, &path).json().unwrap()
    };
    let mut pages_while_writing = 0;
    // Page while the writer appends; then drain what it committed last.
    loop {
        let writing = !writer.is_finished();
        let page = page_after(seen.last().copied());
        let items = page["items"].as_array().unwrap();
        seen.extend(items.iter().map(|r| r["seq"].as_i64().unwrap()));
        if writing {
            pages_while_writing += 1;
        } else if items.is_empty() {
            break;
        }
        if let Some(c) = page["next_cursor"].as_str() {
            let after = claimledger::model::paging::SeqCursor::parse(c).unwrap().0;
            assert_eq!(after, *seen.last().unwrap(), "the cursor resumes after the last seq of the page");
        }
    }
    writer.join().unwrap();
    assert!(pages_while_writing > 5, "paging overlapped the writes");
    let head = head_seq(&app);
    assert_eq!(seen, (1..=head).collect::<Vec<_>>(), "every seq once, in order");
}

#[test]
fn history_lists_the_claim_and_its_children_with_json_patches() {
    let app = spawn_app();
    let f = app.fixture();
    let auditor = app.token("aud", &[Role::Auditor]);
    let path = format!("/v1/claims/{}", f.claim_id);
    let r = app.patch_as(
        &f.editor,
        &path,
        Some("\"1\""),
        &json!({"statement": "Russia has never used cluster munitions.", "reason": "exact wording"}),
    );
    assert_eq!(r.status(), 200);
    app.created(
        &f.editor,
        &format!("/v1/claims/{}/appearances", f.claim_id),
        &json!({"article_id": f.article_id, "exact": "Putin said"}),
    );
    let history: Value = app.get_as(&auditor, &format!("{path}/history")).json().unwrap();
    let items = history["items"].as_array().unwrap();
    let kinds: Vec<(&str, &str, i64)> = items
        .iter()
        .map(|h| {
            (
                h["entity_kind"].as_str().unwrap(),
                h["action"].as_str().unwrap(),
                h["entity_version"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("claim", "create", 1),
            ("evidence", "create", 1),
            ("claim", "update", 2),
            ("appearance", "create", 1)
        ]
    );
    let seqs: Vec<i64> = items.iter().map(|h| h["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "log order");
    let update = &items[2];
    assert_eq!(update["reason"], "exact wording");
    assert_eq!(update["actor_id"], f.editor_id.to_string());
    let ops = update["patch"].as_array().unwrap();
    assert!(
        ops.contains(&json!({"op": "replace", "path": "/statement", "value": "Russia has never used cluster munitions."})),
        "{ops:?}"
    );
    assert!(ops.iter().any(|op| op["path"] == "/version"));
    // A create is a patch from {}: only adds, and applied to {} they give the
    // claim's first snapshot.
    let created = items[0]["patch"].as_array().unwrap();
    assert!(!created.is_empty() && created.iter().all(|op| op["op"] == "add"), "{created:?}");
    let mut rebuilt = json!({});
    json_patch::patch(
        &mut rebuilt,
        &serde_json::from_value::<json_patch::Patch>(items[0]["patch"].clone()).unwrap(),
    )
    .unwrap();
    let first_revision: Value = app.get_as(&auditor, &format!("/v1/revisions/{}", items[0]["seq"])).json().unwrap();
    assert_eq!(rebuilt, first_revision["snapshot"]);
    // Paged with a cursor.
    let first: Value = app.get_as(&auditor, &format!("{path}/history?limit=3")).json().unwrap();
    let rest: Value = app
        .get_as(
            &auditor,
            &format!("{path}/history?limit=3&cursor={}", first["next_cursor"].as_str().unwrap()),
        )
        .json()
        .unwrap();
    assert_eq!(rest["items"][0]["seq"], items[3]["seq"]);
    assert_eq!(rest["items"][0]["patch"], items[3]["patch"]);
    problem(app.get_as(&auditor, &format!("/v1/claims/{}/history", uuid::Uuid::now_v7())), 404);
    // An id that names something else (here, evidence) is no claim either.
    problem(app.get_as(&auditor, &format!("/v1/claims/{}/history", f.evidence_id)), 404);
}

/// The truth: after each write, what the staff read of every claim said.
struct Recorded {
    seq: i64,
    views: HashMap<String, Value>,
}

#[test]
fn as_of_every_recorded_seq_equals_the_state_recorded_then() {
    let app = spawn_app();
    let (_, pw) = app.editor("ed", &[Role::Editor]);
    let editor = app.login("ed", &pw).json::<Value>().unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, pw) = app.editor("rev", &[Role::Reviewer]);
    let reviewer = app.login("rev", &pw).json::<Value>().unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let auditor = app.token("aud", &[Role::Auditor]);
    let body: String = (0..60).map(|i| format!("Sentence number {i:02} about munitions. ")).collect();
    let article = app.created(
        &editor,
        "/v1/articles",
        &json!({"title": "Numbered", "language": "en", "body": body}),
    );

    let mut rng = rand::rngs::StdRng::seed_from_u64(20231122);
    let mut claims: Vec<String> = vec![];
    let mut evidence: HashMap<String, Vec<String>> = HashMap::new();
    let mut verdicts: Vec<(String, String)> = vec![]; // (id, claim)
    let mut next_sentence = 0;
    let mut recorded: Vec<Recorded> = vec![];
    let record = |claims: &[String], recorded: &mut Vec<Recorded>| {
        let views = claims
            .iter()
            .map(|id| {
                (
                    id.clone(),
                    app.get_as(&editor, &format!("/v1/claims/{id}")).json::<Value>().unwrap(),
                )
            })
            .collect();
        recorded.push(Recorded {
            seq: head_seq(&app),
            views,
        });
    };
    for step in 0..70 {
        let op = if claims.is_empty() { 0 } else { rng.random_range(0..8) };
        let claim = if claims.is_empty() {
            String::new()
        } else {
            claims[rng.random_range(0..claims.len())].clone()
        };
        let ok = match op {
            0 => {
                let c = app.created(
                    &editor,
                    "/v1/claims",
                    &json!({"statement": format!("Claim made at step {step}"), "claimant": "Someone", "claimant_kind": "person", "language": "en"}),
                );
                claims.push(c["id"].as_str().unwrap().to_string());
                true
            }
            1 => {
                let current: Value = app.get_as(&editor, &format!("/v1/claims/{claim}")).json().unwrap();
                let r = app.patch_as(
                    &editor,
                    &format!("/v1/claims/{claim}"),
                    Some(&format!("\"{}\"", current["version"])),
                    &json!({"statement": format!("Edited at step {step}"), "tags": [format!("t{step}")]}),
                );
                r.status() == 200
            }
            2 if next_sentence < 60 => {
                let exact = format!("Sentence number {next_sentence:02} about");
                next_sentence += 1;
                app.post_as(
                    &editor,
                    &format!("/v1/claims/{claim}/appearances"),
                    &json!({"article_id": article["id"], "exact": exact}),
                )
                .status()
                    == 201
            }
            3 => {
                let r = app.post_as(
                    &editor,
                    &format!("/v1/claims/{claim}/evidence"),
                    &json!({"stance": "context", "summary": format!("Evidence {step}"), "url": format!("https://example.org/{step}")}),
                );
                let ok = r.status() == 201;
                if ok {
                    evidence
                        .entry(claim.clone())
                        .or_default()
                        .push(r.json::<Value>().unwrap()["id"].as_str().unwrap().to_string());
                }
                ok
            }
            4 if evidence.contains_key(&claim) => {
                let r = app.post_as(&editor, &format!("/v1/claims/{claim}/verdicts"), &json!({"rating": "half_true", "headline": format!("Verdict {step}"), "summary": "s", "evidence_ids": [evidence[&claim][0]]}));
                let ok = r.status() == 201;
                if ok {
                    verdicts.push((r.json::<Value>().unwrap()["id"].as_str().unwrap().to_string(), claim.clone()));
                }
                ok
            }
            5..=7 if !verdicts.is_empty() => {
                let (vid, _) = verdicts[rng.random_range(0..verdicts.len())].clone();
                let (token, action, body) = match op {
                    5 => (&editor, "submit", json!({})),
                    6 => (&reviewer, if rng.random_bool(0.7) { "publish" } else { "reject" }, json!({})),
                    _ => (&reviewer, "withdraw", json!({"reason": format!("withdrawn at step {step}")})),
                };
                app.post_as(token, &format!("/v1/verdicts/{vid}/{action}"), &body).status() == 200
            }
            _ => false,
        };
        if ok {
            record(&claims, &mut recorded);
        }
    }
    assert!(recorded.len() > 30, "enough writes happened: {}", recorded.len());
    for r in &recorded {
        for (id, view) in &r.views {
            let resp = app.get_as(&auditor, &format!("/v1/claims/{id}?at_seq={}", r.seq));
            assert_eq!(resp.headers()["x-as-of-seq"], r.seq.to_string().as_str());
            let then: Value = resp.json().unwrap();
            assert_eq!(&then, view, "claim {id} at seq {}", r.seq);
        }
    }
    // As of a time: the state after a write, at that revision's recorded_at.
    let r = &recorded[recorded.len() / 2];
    let at: String = {
        use claimledger::db::schema::revisions::dsl::*;
        let t: chrono::DateTime<chrono::Utc> = revisions.find(r.seq).select(recorded_at).first(&mut app.conn()).unwrap();
        claimledger::model::format_timestamp(t)
    };
    for id in r.views.keys() {
        let then: Value = app
            .get_as(&auditor, &format!("/v1/claims/{id}?as_of={}", urlencode(&at)))
            .json()
            .unwrap();
        // Revisions recorded in the same microsecond would also be included; the
        // recorded state is the last one at that time.
        let last_at_time = recorded.iter().rev().find(|x| {
            x.seq >= r.seq && x.views.contains_key(id) && {
                use claimledger::db::schema::revisions::dsl::*;
                let t: chrono::DateTime<chrono::Utc> = revisions.find(x.seq).select(recorded_at).first(&mut app.conn()).unwrap();
                claimledger::model::format_timestamp(t) == at
            }
        });
        assert_eq!(&then, &last_at_time.unwrap().views[id]);
    }
    // Before the claim existed: 404.
    let first_claim = &claims[0];
    let p = problem(app.get_as(&auditor, &format!("/v1/claims/{first_claim}?at_seq=1")), 404);
    assert!(p["detail"].as_str().unwrap().contains("did not exist"));
    problem(
        app.get_as(&auditor, &format!("/v1/claims/{first_claim}?as_of=2001-01-01T00:00:00Z")),
        404,
    );
    problem(app.get_as(&auditor, &format!("/v1/claims/{first_claim}?as_of=soon")), 422);
}

fn export(app: &TestApp, token: &str) -> Vec<u8> {
    let mut body = vec![];
    app.client
        .get(app.url("/v1/log/export"))
        .bearer_auth(token)
        .send()
        .unwrap()
        .read_to_end(&mut body)
        .unwrap();
    body
}

fn cli(args: &[&str], database_url: Option<&str>) -> (bool, Value) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_claimledger"));
    cmd.args(args).env_remove("DATABASE_URL").env("RUST_LOG", "error");
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("CLAIMLEDGER_")) {
        cmd.env_remove(k);
    }
    if let Some(url) = database_url {
        cmd.env("DATABASE_URL", url);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    (
        out.status.success(),
        serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("not JSON: {stdout} / {}", String::from_utf8_lossy(&out.stderr))),
    )
}

#[test]
fn tampering_is_reported_at_its_seq_by_the_endpoint_the_cli_and_an_earlier_export() {
    let app = seeded_app();
    let auditor = app.token("aud", &[Role::Auditor]);
    let dir = std::env::temp_dir().join(format!("cl-export-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let before = dir.join("before.ndjson");
    std::fs::write(&before, export(&app, &auditor)).unwrap();
    let (ok, report) = cli(&["verify", "--file", before.to_str().unwrap()], None);
    assert!(ok, "{report}");
    assert_eq!(report["checked"], head_seq(&app));

    tamper(
        &mut app.conn(),
        "UPDATE revisions SET snapshot = jsonb_set(snapshot::jsonb, '{statement}', '\"Rewritten.\"')::text WHERE seq = 40",
    );

    let online: Value = app.get_as(&auditor, "/v1/log/verify").json().unwrap();
    assert_eq!(
        (online["ok"].clone(), online["first_bad_seq"].clone(), online["problem"].clone()),
        (json!(false), json!(40), json!("entry_hash_mismatch"))
    );
    let range: Value = app.get_as(&auditor, "/v1/log/verify?from_seq=1&to_seq=39").json().unwrap();
    assert_eq!(range["ok"], true);
    let (ok, report) = cli(&["verify"], Some(&app.db.url));
    assert!(!ok);
    assert_eq!(
        (report["first_bad_seq"].clone(), report["problem"].clone()),
        (json!(40), json!("entry_hash_mismatch"))
    );
    // The auditor's earlier copy still verifies, and shows where the database changed.
    let (ok, report) = cli(&["verify", "--file", before.to_str().unwrap(), "--compare-db"], Some(&app.db.url));
    assert!(!ok);
    assert_eq!(report["export"]["ok"], true);
    assert_eq!(report["database_differs_at_seq"], 40);
    // An export taken now fails at the same seq, with no database.
    let after = dir.join("after.ndjson");
    std::fs::write(&after, export(&app, &auditor)).unwrap();
    let (ok, report) = cli(&["verify", "--file", after.to_str().unwrap()], None);
    assert!(!ok);
    assert_eq!(
        (report["first_bad_seq"].clone(), report["problem"].clone()),
        (json!(40), json!("entry_hash_mismatch"))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_export_is_the_design_s_line_format_and_verifies_with_plain_sha256() {
    let app = seeded_app();
    let auditor = app.token("aud", &[Role::Auditor]);
    let r = app
        .client
        .get(app.url("/v1/log/export?after_seq=0"))
        .bearer_auth(&auditor)
        .send()
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    let body = r.bytes().unwrap();
    let lines: Vec<Value> = body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines.len() as i64, head_seq(&app));
    let mut prev = [0u8; 32].to_vec();
    for line in &lines {
        let mut entry = line.as_object().unwrap().clone();
        let (seq, eh, ch) = (
            entry.remove("seq").unwrap(),
            entry.remove("entry_hash").unwrap(),
            entry.remove("chain_hash").unwrap(),
        );
        assert_eq!(entry.len(), 8, "exactly the entry's fields plus seq and the hashes");
        let digest = claimledger::model::digest::sha256(&serde_jcs::to_vec(&Value::Object(entry)).unwrap());
        assert_eq!(hex::encode(digest), eh.as_str().unwrap(), "seq {seq}");
        let mut chained = prev.clone();
        chained.extend_from_slice(&digest);
        let chain = claimledger::model::digest::sha256(&chained);
        assert_eq!(hex::encode(chain), ch.as_str().unwrap());
        prev = chain.to_vec();
    }
    // after_seq exports the tail, which verifies anchored at its first line.
    let tail = app
        .client
        .get(app.url("/v1/log/export?after_seq=100"))
        .bearer_auth(&auditor)
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    let report = ledger::verify::verify_export(std::io::Cursor::new(tail), |_| {});
    assert!(report.ok);
    assert_eq!(report.checked as i64, head_seq(&app) - 100);
}

/// Bulk revisions (about 600 bytes of snapshot each) under one actor.
pub fn fill(app: &TestApp, claims: usize, revisions_per_claim: usize) {
    let mut conn = app.conn();
    let actor: uuid::Uuid = {
        use claimledger::db::schema::editors::dsl::*;
        editors.filter(username.eq("system")).select(id).first(&mut conn).unwrap()
    };
    let filler = "x".repeat(500);
    for chunk in (0..claims).collect::<Vec<_>>().chunks(1000) {
        let mut revs = vec![];
        for _ in chunk {
            let claim = uuid::Uuid::now_v7();
            for v in 0..revisions_per_claim {
                let (kind, id, version) = if v == 0 {
                    (EntityKind::Claim, claim, 1)
                } else {
                    (EntityKind::Evidence, uuid::Uuid::now_v7(), 1)
                };
                revs.push(NewRevision {
                    kind,
                    entity_id: id,
                    entity_version: version,
                    action: Action::Create,
                    actor_id: actor,
                    reason: None,
                    snapshot: if v == 0 {
                        json!({"id": claim, "statement": filler})
                    } else {
                        json!({"id": id, "claim_id": claim, "summary": filler})
                    },
                });
            }
        }
        conn.transaction(|c| append_batch(c, &revs)).unwrap();
    }
    claimledger::store::sequencer::settle(&mut conn, std::time::Duration::from_secs(300)).unwrap();
    diesel::sql_query("ANALYZE revisions").execute(&mut conn).unwrap();
}

#[test]
fn exporting_100000_revisions_keeps_the_server_memory_flat() {
    let app = spawn_app();
    fill(&app, 10_000, 10);
    let auditor = app.token("aud", &[Role::Auditor]);
    // The server as its own process, so that its memory is its own.
    let server = ServerProcess::start(&app.db.url, &[("RUST_LOG", "warn")]);
    let export_from = |after: i64| {
        app.client
            .get(format!("{}/v1/log/export?after_seq={after}", server.address))
            .bearer_auth(&auditor)
            .send()
            .unwrap()
    };
    // Warm up: the first small export allocates the pool and buffers.
    std::io::copy(&mut export_from(head_seq(&app) - 2000), &mut std::io::sink()).unwrap();
    let before = server.memory_kib("VmRSS:");
    let mut response = export_from(0);
    let mut buf = vec![0u8; 64 * 1024];
    let (mut bytes, mut lines, mut peak) = (0usize, 0usize, before);
    loop {
        let n = response.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        bytes += n;
        lines += buf[..n].iter().filter(|b| **b == b'\n').count();
        peak = peak.max(server.memory_kib("VmRSS:"));
    }
    assert_eq!(lines as i64, head_seq(&app), "the whole log");
    let grown_mib = peak.saturating_sub(before) / 1024;
    let exported_mib = bytes / (1024 * 1024);
    eprintln!(
        "exported {exported_mib} MiB; server RSS {} MiB before, peak {} MiB",
        before / 1024,
        peak / 1024
    );
    assert!(exported_mib >= 60);
    assert!(grown_mib < 16, "server memory grew {grown_mib} MiB for a {exported_mib} MiB export");
}

#[test]
fn verify_state_reports_a_projection_row_changed_behind_the_ledgers_back() {
    let app = seeded_app();
    let (ok, report) = cli(&["verify", "--state"], Some(&app.db.url));
    assert!(ok, "{report}");
    assert!(report["entities_checked"].as_u64().unwrap() > 100);
    let claim: uuid::Uuid = {
        use claimledger::db::schema::claims::dsl::*;
        claims.select(id).first(&mut app.conn()).unwrap()
    };
    diesel::sql_query(format!("UPDATE claims SET statement = 'Quietly changed.' WHERE id = '{claim}'"))
        .execute(&mut app.conn())
        .unwrap();
    let (ok, report) = cli(&["verify", "--state"], Some(&app.db.url));
    assert!(!ok);
    assert_eq!(
        report["drift"],
        json!([{"entity_kind": "claim", "entity_id": claim, "problem": "differs", "fields": ["statement"]}])
    );
    // A row inserted without a revision.
    let ghost = uuid::Uuid::now_v7();
    diesel::sql_query(format!(
        "INSERT INTO claims (id, statement, claimant, language) VALUES ('{ghost}', 's', 'c', 'en')"
    ))
    .execute(&mut app.conn())
    .unwrap();
    let r = claimledger::store::state::verify_state(&mut app.conn(), 10, |_| {}).unwrap();
    assert!(
        r.drift.iter().any(|d| d.entity_id == ghost && d.problem == "not_in_log"),
        "{:?}",
        r.drift
    );
}

#[test]
fn verify_state_reports_a_claim_key_of_the_log_changed_behind_its_back() {
    let app = seeded_app();
    let mut conn = app.conn();
    // An evidence revision: its snapshot names its claim, and the log's
    // claim_id column (history, as-of reads and derivation look it up by
    // that) says the same until someone changes the column alone.
    let (seq, evidence_id): (i64, uuid::Uuid) = {
        use claimledger::db::schema::revisions::dsl::*;
        revisions
            .filter(entity_kind.eq("evidence"))
            .order(seq.asc())
            .select((seq, entity_id))
            .first(&mut conn)
            .unwrap()
    };
    assert!(claimledger::store::state::verify_state(&mut conn, 10, |_| {}).unwrap().ok);
    tamper(
        &mut conn,
        &format!("UPDATE revisions SET claim_id = gen_random_uuid() WHERE seq = {seq}"),
    );
    let r = claimledger::store::state::verify_state(&mut conn, 10, |_| {}).unwrap();
    assert!(!r.ok);
    assert_eq!(
        serde_json::to_value(&r.drift).unwrap(),
        json!([{"entity_kind": "evidence", "entity_id": evidence_id, "problem": "claim_id_differs", "fields": ["claim_id"], "seq": seq}])
    );
    // Not hashed data: the log itself still verifies.
    assert!(claimledger::ledger::verify(&mut conn, None, 1, None, |_, _| {}).unwrap().ok);
}

#[test]
fn verify_state_reports_the_lookup_tables_out_of_step_with_the_log() {
    let app = seeded_app();
    let mut conn = app.conn();
    let r = claimledger::store::state::verify_state(&mut conn, 10, |_| {}).unwrap();
    assert!(r.ok, "{:?}", r.drift);
    // An evidence entity and its claim, each at its newest revision.
    let newest = |conn: &mut PgConnection, kind: &str| -> (i64, uuid::Uuid, Option<uuid::Uuid>) {
        use claimledger::db::schema::revisions::dsl::*;
        revisions
            .filter(entity_kind.eq(kind))
            .order(seq.desc())
            .select((seq, entity_id, claim_id))
            .first(conn)
            .unwrap()
    };
    let (evidence_seq, evidence_id, evidence_claim) = newest(&mut conn, "evidence");
    let (claim_seq, claim_id, _) = newest(&mut conn, "claim");
    let ghost = uuid::Uuid::now_v7();
    // What derivation reads a family from, and what as-of reads find one by:
    // a member lost, a member the log never named, a head moved back.
    diesel::sql_query(format!(
        "DELETE FROM claim_members WHERE claim_id = '{}' AND entity_id = '{evidence_id}'",
        evidence_claim.unwrap()
    ))
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query(format!(
        "INSERT INTO claim_members (claim_id, entity_id) VALUES ('{claim_id}', '{ghost}')"
    ))
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query(format!("UPDATE entity_heads SET seq = seq - 1 WHERE entity_id = '{claim_id}'"))
        .execute(&mut conn)
        .unwrap();
    let r = claimledger::store::state::verify_state(&mut conn, 10, |_| {}).unwrap();
    assert!(!r.ok);
    assert_eq!(
        serde_json::to_value(&r.drift).unwrap(),
        json!([
            {"entity_id": ghost, "problem": "member_not_in_log", "fields": []},
            {"entity_kind": "claim", "entity_id": claim_id, "problem": "head_differs", "fields": ["seq"], "seq": claim_seq},
            {"entity_kind": "evidence", "entity_id": evidence_id, "problem": "member_missing", "fields": [], "seq": evidence_seq},
        ])
    );
    // Put back, but for a head naming another claim than its revision does.
    diesel::connection::SimpleConnection::batch_execute(
        &mut conn,
        &format!(
            "UPDATE entity_heads SET seq = seq + 1 WHERE entity_id = '{claim_id}'; \
         UPDATE entity_heads SET claim_id = gen_random_uuid()::text WHERE entity_id = '{evidence_id}'; \
         DELETE FROM claim_members WHERE entity_id = '{ghost}'; \
         INSERT INTO claim_members (claim_id, entity_id) VALUES ('{}', '{evidence_id}')",
            evidence_claim.unwrap()
        ),
    )
    .unwrap();
    let r = claimledger::store::state::verify_state(&mut conn, 10, |_| {}).unwrap();
    assert_eq!(
        serde_json::to_value(&r.drift).unwrap(),
        json!([{"entity_kind": "evidence", "entity_id": evidence_id, "problem": "head_differs", "fields": ["claim_id"], "seq": evidence_seq}])
    );
}

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = diesel::sql_types::Text)]
    #[diesel(column_name = "QUERY PLAN")]
    line: String,
}

/// `EXPLAIN` followed by a query's own SQL, sent with the query's own binds:
/// what is explained is the query value the code builds, not a copy of it.
struct Explain<Q>(Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Explain<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("EXPLAIN ");
        self.0.walk_ast(out.reborrow())
    }
}

impl<Q> QueryId for Explain<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> Query for Explain<Q> {
    type SqlType = Untyped;
}

impl<Q, Conn> RunQueryDsl<Conn> for Explain<Q> {}

fn explain<Q: QueryFragment<Pg>>(conn: &mut PgConnection, query: Q) -> String {
    let lines: Vec<PlanLine> = Explain(query).load(conn).unwrap();
    lines.into_iter().map(|l| l.line).collect::<Vec<_>>().join("\n")
}

#[test]
fn history_and_as_of_use_indexes_not_scans() {
    let app = spawn_app();
    fill(&app, 3_000, 6);
    let mut conn = app.conn();
    let claim: uuid::Uuid = {
        use claimledger::db::schema::revisions::dsl::*;
        revisions
            .filter(entity_kind.eq("claim"))
            .order(seq.desc())
            .select(entity_id)
            .first(&mut conn)
            .unwrap()
    };
    // The exported SQL texts, with the binds store::history::claim_history and
    // ledger::asof::claim_family_at give them (run as the same Sql type).
    let history = explain(
        &mut conn,
        Sql::fixed(
            claimledger::store::history::HISTORY_SQL,
            vec![Param::Uuid(claim), Param::BigInt(0), Param::BigInt(100)],
        ),
    );
    let as_of = explain(
        &mut conn,
        Sql::fixed(
            claimledger::ledger::asof::FAMILY_AT_SQL,
            vec![Param::Uuid(claim), Param::BigInt(18_000)],
        ),
    );
    assert!(!history.contains("Seq Scan"), "history scans:\n{history}");
    assert!(
        history.contains("revisions_entity_idx") && history.contains("revisions_claim_idx"),
        "history:\n{history}"
    );
    // As of a seq: the members by key, each one's revision by key.
    assert!(!as_of.contains("Seq Scan"), "as-of scans:\n{as_of}");
    assert!(
        as_of.contains("revisions_entity_idx") && as_of.contains("claim_members_pkey"),
        "as-of:\n{as_of}"
    );
    // seq_at_time: the diesel query it runs, built by the same function.
    let t = chrono::Utc::now();
    let query = claimledger::ledger::asof::seq_at_time_query(t);
    let sql = diesel::debug_query::<Pg, _>(&query).to_string();
    assert!(
        sql.contains(r#"WHERE ("revisions"."recorded_at" <= $1)"#) && sql.contains("LIMIT $2"),
        "{sql}"
    );
    let as_of_time = explain(&mut conn, query);
    assert!(!as_of_time.contains("Seq Scan"), "{sql}\n{as_of_time}");
    assert!(as_of_time.contains("revisions_recorded_at_idx"), "{sql}\n{as_of_time}");
}

/// Audit reads answered from memory take the account from memory too — and
/// a deactivation, once in the log, refuses them: at once for a read that
/// names its position, and on any read within moments.
#[test]
fn reads_from_memory_keep_the_account_until_the_log_says_it_changed() {
    let app = spawn_app();
    let f = app.fixture();
    let auditor = app.token("aud", &[Role::Auditor]);
    // One revision a page: the page is full, so it is kept and answered
    // from memory from then on.
    let history = format!("/v1/claims/{}/history?limit=1", f.claim_id);
    let as_of = format!("/v1/claims/{}?at_seq={}", f.claim_id, head_seq(&app));
    for path in [&history, &as_of] {
        assert_eq!(app.get_as(&auditor, path).status(), 200, "{path}");
    }
    let before = metric(&app, "claimledger_account_cache_hits_total");
    for path in [&history, &as_of, &history] {
        assert_eq!(app.get_as(&auditor, path).status(), 200, "{path}");
    }
    assert_eq!(
        metric(&app, "claimledger_account_cache_hits_total") - before,
        3.0,
        "the account of each read came from memory"
    );

    let mut conn = app.conn();
    let done = claimledger::store::editors::deactivate(&mut conn, claimledger::model::SYSTEM_ACTOR, "aud", Some("left")).unwrap();
    let seq = claimledger::store::sequencer::wait_for(&mut conn, &done.pending.unwrap(), std::time::Duration::from_secs(10)).unwrap();
    for path in [&history, &as_of] {
        let detail = problem(app.get_as(&auditor, &format!("{path}&min_seq={seq}")), 401);
        assert!(detail["detail"].as_str().unwrap().contains("deactivated"), "{detail}");
    }
    // Without a position: refused as soon as this server heard of it.
    assert_eq!(app.get_as(&auditor, &history).status(), 401);

    // Writes never trust memory: an editor deactivated behind the log's
    // back (in SQL, no notice) cannot write, though reads may still take
    // the account from memory for a few seconds. The editor's account is
    // in memory (any request that asks the database keeps it) …
    assert_eq!(app.get_as(&f.editor, "/v1/auth/me").status(), 200);
    Sql::fixed("UPDATE editors SET active = false WHERE username = $1", vec![Param::text("ed")])
        .execute(&mut conn)
        .unwrap();
    // … so an audit read still finds it active, and refuses it only for
    // its role (403; the database would have said 401) …
    let refused = problem(app.get_as(&f.editor, &history), 403);
    assert!(refused["detail"].as_str().unwrap().contains("auditor"), "{refused}");
    // … while the write asks the database.
    let r = app.patch_as(
        &f.editor,
        &format!("/v1/claims/{}", f.claim_id),
        Some("*"),
        &json!({"statement": "Edited by a deactivated account", "reason": "must fail"}),
    );
    assert_eq!(r.status(), 401);
}
