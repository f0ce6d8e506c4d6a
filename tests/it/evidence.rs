//! Evidence: what a verdict may cite, and withdrawing what a verdict cites.

use serde_json::json;

use crate::common::draft;
use crate::harness::{problem, spawn_app};

#[test]
fn a_verdict_may_cite_only_active_evidence_of_its_claim() {
    let app = spawn_app();
    let f = app.fixture();
    let e = app.created(
        &f.editor,
        &format!("/v1/claims/{}/evidence", f.claim_id),
        &json!({"stance": "context", "summary": "background", "url": "https://example.org/report", "title": "A report"}),
    );
    let eid = e["id"].as_str().unwrap();
    let r = app.patch_as(
        &f.editor,
        &format!("/v1/evidence/{eid}"),
        Some("\"1\""),
        &json!({"status": "withdrawn", "reason": "source retracted"}),
    );
    assert_eq!(r.status(), 200);
    let p = problem(
        app.post_as(
            &f.editor,
            &format!("/v1/claims/{}/verdicts", f.claim_id),
            &json!({"rating": "false", "headline": "h", "summary": "s", "evidence_ids": [eid]}),
        ),
        422,
    );
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("withdrawn"));
    // Evidence cited by a live verdict cannot be withdrawn under it.
    draft(&app, &f.editor, &f.claim_id, &f.evidence_id);
    let p = problem(
        app.patch_as(
            &f.editor,
            &format!("/v1/evidence/{}", f.evidence_id),
            Some("\"1\""),
            &json!({"status": "withdrawn"}),
        ),
        409,
    );
    assert!(p["detail"].as_str().unwrap().contains("cites this evidence"));
}
