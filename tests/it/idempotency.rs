//! Idempotency keys: a retried write replays the first response and writes
//! nothing, also when the retries race.

use std::sync::Arc;

use claimledger::model::Role;
use serde_json::{Value, json};

use crate::common::claim_body;
use crate::harness::{problem, spawn_app};

#[test]
fn an_idempotency_key_replays_the_first_response_and_writes_nothing() {
    let app = spawn_app();
    let f = app.fixture();
    let send = |body: &Value, key: &str| {
        app.client
            .post(app.url("/v1/claims"))
            .bearer_auth(&f.editor)
            .header("idempotency-key", key)
            .json(body)
            .send()
            .unwrap()
    };
    let first = send(&claim_body(), "key-1");
    assert_eq!(first.status(), 201);
    let location = first.headers()["location"].clone();
    let first_body: Value = first.json().unwrap();
    let revisions = app.count("revisions");
    let retry = send(&claim_body(), "key-1");
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["location"], location);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.json::<Value>().unwrap(), first_body);
    assert_eq!(app.count("revisions"), revisions);
    assert_eq!(app.count("claims"), 2);
    // The same key with another body.
    let p = problem(
        send(
            &json!({"statement": "Something else", "claimant": "X", "claimant_kind": "person", "language": "en"}),
            "key-1",
        ),
        422,
    );
    assert!(p["detail"].as_str().unwrap().contains("different request"));
    assert_eq!(app.count("revisions"), revisions);
    // Keys are per account: another editor's key-1 is a new request.
    let other = app.token("ed2", &[Role::Editor]);
    let r = app
        .client
        .post(app.url("/v1/claims"))
        .bearer_auth(&other)
        .header("idempotency-key", "key-1")
        .json(&claim_body())
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_ne!(r.json::<Value>().unwrap()["id"], first_body["id"]);
}

#[test]
fn concurrent_retries_with_one_key_write_once() {
    let app = Arc::new(spawn_app());
    let f = app.fixture();
    let before = app.count("claims");
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (app, token) = (app.clone(), f.editor.clone());
            std::thread::spawn(move || {
                let r = app
                    .client
                    .post(app.url("/v1/claims"))
                    .bearer_auth(&token)
                    .header("idempotency-key", "same")
                    .json(&claim_body())
                    .send()
                    .unwrap();
                (r.status().as_u16(), r.json::<Value>().unwrap()["id"].clone())
            })
        })
        .collect();
    let results: Vec<(u16, Value)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(results.iter().all(|(s, id)| *s == 201 && *id == results[0].1), "{results:?}");
    assert_eq!(app.count("claims"), before + 1);
}
