//! Public reads from memory (issue 15): a server never serves a state older
//! than the position a reader asks for (`min_seq` / `Log-Seq`), nor a
//! withdrawn verdict once the withdrawal has answered on that server — both
//! under concurrent writes — and a conditional read is answered from memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use claimledger::model::Role;
use serde_json::{Value, json};

use crate::harness::{Fixture, ServerProcess, TEST_JWT_SECRET, TestApp, metric, metric_at, spawn_app};

fn log_seq(r: &reqwest::blocking::Response) -> i64 {
    r.headers()["log-seq"].to_str().unwrap().parse().unwrap()
}

fn draft_and_publish(app: &TestApp, f: &Fixture, base: &str, rating: &str) -> String {
    let client = &app.client;
    let v: Value = client
        .post(format!("{base}/v1/claims/{}/verdicts", f.claim_id))
        .bearer_auth(&f.editor)
        .json(&json!({"rating": rating, "headline": format!("rated {rating}"), "summary": "s", "evidence_ids": [f.evidence_id]}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = v["id"].as_str().unwrap().to_string();
    let r = client
        .post(format!("{base}/v1/verdicts/{id}/submit"))
        .bearer_auth(&f.editor)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client
        .post(format!("{base}/v1/verdicts/{id}/publish"))
        .bearer_auth(&f.reviewer)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    id
}

/// Other writers keep the log (and the cache's invalidations) busy.
fn noise(app: &Arc<TestApp>, token: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    let app = app.clone();
    std::thread::spawn(move || {
        let mut i = 0;
        while !stop.load(Ordering::Relaxed) {
            i += 1;
            app.created(
                &token,
                "/v1/claims",
                &json!({"statement": format!("noise {i}"), "claimant": "n", "claimant_kind": "person", "language": "en"}),
            );
        }
    })
}

#[test]
fn a_withdrawn_verdict_is_never_served_after_the_withdrawal_answered() {
    let app = Arc::new(spawn_app());
    let f = app.fixture();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = noise(&app, f.editor.clone(), stop.clone());
    let fc = format!("/v1/factchecks/{}", f.claim_id);
    for round in 0..6 {
        let v = draft_and_publish(&app, &f, &app.address, if round % 2 == 0 { "false" } else { "misleading" });
        // Warm the cache: the fact check is served from memory now.
        for _ in 0..3 {
            let r = app.get(&fc);
            assert_eq!(r.status(), 200);
            assert_eq!(r.json::<Value>().unwrap()["verdict"]["id"], v.as_str());
        }
        let r = app.post_as(&f.reviewer, &format!("/v1/verdicts/{v}/withdraw"), &json!({"reason": "takedown"}));
        assert_eq!(r.status(), 200);
        assert_eq!(app.get(&fc).status(), 404, "round {round}: served after the withdrawal answered");
        assert_eq!(app.get(&format!("{fc}/claimreview")).status(), 404);
        let list: Value = app.get("/v1/factchecks").json().unwrap();
        assert!(!list["items"].as_array().unwrap().iter().any(|i| i["verdict"]["id"] == v.as_str()));
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let metrics = app.get("/metrics").text().unwrap();
    let hits = metrics
        .lines()
        .find(|l| l.starts_with("claimledger_cache_hits_total"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(hits >= 12.0, "the warm reads were served from memory: {hits}\n{metrics}");
}

#[test]
fn a_read_on_another_server_with_min_seq_sees_the_write() {
    let app = Arc::new(spawn_app());
    let f = app.fixture();
    let _ = draft_and_publish(&app, &f, &app.address, "false");
    // A second server process on the same database, with its own cache.
    let other = ServerProcess::start(&app.db.url, &[("CLAIMLEDGER_JWT_SECRET", TEST_JWT_SECRET)]);
    let fc = format!("/v1/factchecks/{}", f.claim_id);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = noise(&app, app.token("noisy", &[Role::Editor]), stop.clone());
    for round in 0..10 {
        // The other server has the fact check in memory.
        assert_eq!(app.client.get(format!("{}{fc}", other.address)).send().unwrap().status(), 200);
        let statement = format!("Russia has not used cluster munitions (edit {round}).");
        let etag = app.get_as(&f.editor, &format!("/v1/claims/{}", f.claim_id)).headers()["etag"].clone();
        let r = app.patch_as(
            &f.editor,
            &format!("/v1/claims/{}", f.claim_id),
            Some(etag.to_str().unwrap()),
            &json!({"statement": statement}),
        );
        assert_eq!(r.status(), 200);
        let seq = log_seq(&r);
        let by_query: Value = app
            .client
            .get(format!("{}{fc}?min_seq={seq}", other.address))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(by_query["claim"]["statement"], statement.as_str(), "round {round}, min_seq={seq}");
        assert!(by_query["log"]["seq"].as_i64().unwrap() >= seq);
        let by_header: Value = app
            .client
            .get(format!("{}{fc}", other.address))
            .header("Log-Seq", seq.to_string())
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(by_header["claim"]["statement"], statement.as_str());
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    // A position no server has reached is refused after a bounded wait.
    let r = app
        .client
        .get(format!("{}{fc}?min_seq=999999999", other.address))
        .timeout(Duration::from_secs(10))
        .send()
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    let r = app.client.get(format!("{}{fc}?min_seq=-1", other.address)).send().unwrap();
    assert_eq!(r.status(), 422);
}

#[test]
fn a_conditional_read_is_answered_from_memory() {
    let app = spawn_app();
    let f = app.fixture();
    let _ = draft_and_publish(&app, &f, &app.address, "false");
    let fc = format!("/v1/factchecks/{}", f.claim_id);
    let r = app.get(&fc);
    assert_eq!(r.status(), 200);
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let (hits, misses) = (
        metric(&app, "claimledger_cache_hits_total"),
        metric(&app, "claimledger_cache_misses_total"),
    );
    for _ in 0..5 {
        let r = app.client.get(app.url(&fc)).header("if-none-match", &etag).send().unwrap();
        assert_eq!(r.status(), 304);
        assert!(r.bytes().unwrap().is_empty());
    }
    assert_eq!(metric(&app, "claimledger_cache_hits_total"), hits + 5.0, "five hits");
    assert_eq!(metric(&app, "claimledger_cache_misses_total"), misses, "no miss: no database read");
    // A change invalidates exactly that fact check.
    let etag_claim = app.get_as(&f.editor, &format!("/v1/claims/{}", f.claim_id)).headers()["etag"].clone();
    let r = app.patch_as(
        &f.editor,
        &format!("/v1/claims/{}", f.claim_id),
        Some(etag_claim.to_str().unwrap()),
        &json!({"tags": ["russia", "edited"]}),
    );
    assert_eq!(r.status(), 200);
    let r = app.client.get(app.url(&fc)).header("if-none-match", &etag).send().unwrap();
    assert_eq!(r.status(), 200, "the old validator no longer matches");
    assert_eq!(metric(&app, "claimledger_cache_misses_total"), misses + 1.0);
}

#[test]
fn a_fresh_server_fills_its_memory_and_serves_first_reads_from_it() {
    let app = spawn_app();
    let f = app.fixture();
    let _ = draft_and_publish(&app, &f, &app.address, "false");
    let fc = format!("/v1/factchecks/{}", f.claim_id);
    let expected: Value = app.get(&fc).json().unwrap();
    // A new server on the same database: nothing read through it yet.
    let other = ServerProcess::start(&app.db.url, &[("CLAIMLEDGER_JWT_SECRET", TEST_JWT_SECRET)]);
    let started = std::time::Instant::now();
    while metric_at(&app.client, &other.address, "claimledger_cache_entries") < 1.0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the fresh server never filled its memory"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let misses = metric_at(&app.client, &other.address, "claimledger_cache_misses_total");
    let first: Value = app.client.get(format!("{}{fc}", other.address)).send().unwrap().json().unwrap();
    assert_eq!(
        first, expected,
        "the kept fact check is the one served by the server that took the writes"
    );
    assert_eq!(
        metric_at(&app.client, &other.address, "claimledger_cache_misses_total"),
        misses,
        "the first read was answered from memory"
    );
    // With the fill turned off, the first read goes to the database.
    let cold = ServerProcess::start(
        &app.db.url,
        &[("CLAIMLEDGER_JWT_SECRET", TEST_JWT_SECRET), ("CLAIMLEDGER_CACHE_FILL", "false")],
    );
    let misses = metric_at(&app.client, &cold.address, "claimledger_cache_misses_total");
    let first: Value = app.client.get(format!("{}{fc}", cold.address)).send().unwrap().json().unwrap();
    assert_eq!(first, expected);
    assert_eq!(
        metric_at(&app.client, &cold.address, "claimledger_cache_misses_total"),
        misses + 1.0
    );
}
