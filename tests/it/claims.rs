//! Claims: validation at the edge, retiring by status, paging with a cursor.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::common::{field_errors, snapshot_counts, unchanged};
use crate::harness::{problem, spawn_app};

#[test]
fn invalid_claims_are_422_naming_each_field_and_write_nothing() {
    let app = spawn_app();
    let f = app.fixture();
    let before = snapshot_counts(&app);
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"statement": "x", "claimant": "y", "claimant_kind": "person", "language": "en", "colour": "red"}),
            "colour",
        ),
        (
            json!({"statement": "   ", "claimant": "y", "claimant_kind": "person", "language": "en"}),
            "statement",
        ),
        (
            json!({"statement": "x".repeat(2001), "claimant": "y", "claimant_kind": "person", "language": "en"}),
            "statement",
        ),
        (
            json!({"statement": "x", "claimant": "y", "claimant_kind": "person", "language": "english"}),
            "language",
        ),
        (
            json!({"statement": "x", "claimant": "y", "claimant_kind": "person", "language": "en", "claimed_on": "16 July 2023"}),
            "claimed_on",
        ),
        (
            json!({"statement": 42, "claimant": "y", "claimant_kind": "person", "language": "en"}),
            "statement",
        ),
        (
            json!({"statement": "x", "claimant": "y", "claimant_kind": "person", "language": "en", "tags": ["two words"]}),
            "tags[0]",
        ),
    ];
    for (body, field) in cases {
        let p = problem(app.post_as(&f.editor, "/v1/claims", &body), 422);
        let fields = field_errors(&p);
        assert!(fields.iter().any(|f| f.contains(field)), "{field} not named in {p}");
    }
    // Several bad fields at once are all listed.
    let p = problem(
        app.post_as(
            &f.editor,
            "/v1/claims",
            &json!({"statement": "", "claimant": "", "claimant_kind": "person", "language": "??"}),
        ),
        422,
    );
    assert_eq!(field_errors(&p), vec!["statement", "claimant", "language"]);
    unchanged(&app, before);
}

#[test]
fn retiring_is_by_status_and_deletes_nothing() {
    let app = spawn_app();
    let f = app.fixture();
    let rows = app.count("claims");
    let c: Value = app
        .patch_as(
            &f.editor,
            &format!("/v1/claims/{}", f.claim_id),
            Some("\"1\""),
            &json!({"status": "retired", "reason": "duplicate"}),
        )
        .json()
        .unwrap();
    assert_eq!(c["status"], "retired");
    assert_eq!(app.count("claims"), rows);
    assert_eq!(app.log().pop().unwrap().0, "retire");
    // A retired claim takes no new verdicts.
    let p = problem(
        app.post_as(
            &f.editor,
            &format!("/v1/claims/{}/verdicts", f.claim_id),
            &json!({"rating": "false", "headline": "h", "summary": "s", "evidence_ids": [f.evidence_id]}),
        ),
        409,
    );
    assert!(p["detail"].as_str().unwrap().contains("retired"));
}

#[test]
fn lists_page_with_a_cursor() {
    let app = spawn_app();
    let f = app.fixture();
    let mut expected = HashSet::from([f.claim_id.clone()]);
    for i in 0..4 {
        let c = app.created(
            &f.editor,
            "/v1/claims",
            &json!({"statement": format!("claim {i}"), "claimant": "c", "claimant_kind": "person", "language": "en"}),
        );
        expected.insert(c["id"].as_str().unwrap().to_string());
    }
    let mut seen = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/claims?limit=2&cursor={c}"),
            None => "/v1/claims?limit=2".into(),
        };
        let page: Value = app.get_as(&f.editor, &path).json().unwrap();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    // Each of the five claims exactly once (dedup() only caught adjacent repeats).
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), expected, "{seen:?}");
    problem(app.get_as(&f.editor, "/v1/claims?limit=0"), 422);
    problem(app.get_as(&f.editor, "/v1/claims?cursor=zzz"), 422);
}
