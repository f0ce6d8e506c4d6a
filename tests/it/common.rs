//! Helpers shared by the editor API's test files, which are split by
//! resource as src/http/ is (articles, claims, appearances, evidence,
//! verdicts, idempotency, and writes for the rules every write follows).

use serde_json::{Value, json};

use crate::harness::TestApp;

/// Nothing was written: same revision count and same rows.
pub fn unchanged(app: &TestApp, before: (i64, i64)) {
    assert_eq!(
        (
            app.count("revisions"),
            app.count("claims") + app.count("evidence") + app.count("verdicts") + app.count("appearances")
        ),
        before
    );
}

pub fn snapshot_counts(app: &TestApp) -> (i64, i64) {
    (
        app.count("revisions"),
        app.count("claims") + app.count("evidence") + app.count("verdicts") + app.count("appearances"),
    )
}

pub fn field_errors(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .expect("errors[]")
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect()
}

pub fn claim_body() -> Value {
    json!({"statement": "Russia has a sufficient stockpile.", "claimant": "Vladimir Putin", "claimant_kind": "person", "language": "en"})
}

pub fn draft(app: &TestApp, token: &str, claim: &str, evidence: &str) -> Value {
    app.created(
        token,
        &format!("/v1/claims/{claim}/verdicts"),
        &json!({"rating": "false", "headline": "No, Russia has used them", "summary": "HRW documented use.", "evidence_ids": [evidence]}),
    )
}
