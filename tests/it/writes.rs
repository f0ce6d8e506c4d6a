//! What every write follows, whatever the resource: bodies parsed and
//! references checked at the edge, ETags and If-Match (optimistic
//! concurrency), the reason and actor recorded, and the log a whole editorial
//! path leaves.

use std::sync::{Arc, Barrier};

use claimledger::ledger;
use claimledger::model::Role;
use serde_json::{Value, json};

use crate::common::{claim_body, draft, field_errors, snapshot_counts, unchanged};
use crate::harness::{problem, spawn_app};

#[test]
fn json_that_does_not_parse_is_400_and_the_wrong_content_type_415() {
    let app = spawn_app();
    let f = app.fixture();
    let r = app
        .client
        .post(app.url("/v1/claims"))
        .bearer_auth(&f.editor)
        .header("content-type", "application/json")
        .body("{\"statement\": ")
        .send()
        .unwrap();
    assert!(problem(r, 400)["detail"].as_str().unwrap().contains("not valid JSON"));
    let r = app
        .client
        .post(app.url("/v1/claims"))
        .bearer_auth(&f.editor)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .unwrap();
    problem(r, 415);
}

#[test]
fn unknown_ratings_stances_urls_and_ids_of_the_wrong_kind_are_422() {
    let app = spawn_app();
    let f = app.fixture();
    let before = snapshot_counts(&app);
    let claim = &f.claim_id;
    let p = problem(
        app.post_as(
            &f.editor,
            &format!("/v1/claims/{claim}/verdicts"),
            &json!({"rating": "pants_on_fire", "headline": "h", "summary": "s", "evidence_ids": []}),
        ),
        422,
    );
    assert_eq!(field_errors(&p), vec!["rating"]);
    let p = problem(
        app.post_as(
            &f.editor,
            &format!("/v1/claims/{claim}/evidence"),
            &json!({"stance": "agrees", "summary": "s", "url": "https://example.org"}),
        ),
        422,
    );
    assert_eq!(field_errors(&p), vec!["stance"]);
    let p = problem(
        app.post_as(
            &f.editor,
            &format!("/v1/claims/{claim}/evidence"),
            &json!({"stance": "context", "summary": "s", "url": "example dot org"}),
        ),
        422,
    );
    assert_eq!(field_errors(&p), vec!["url"]);
    // A claim id where an evidence id belongs.
    let p = problem(
        app.post_as(
            &f.editor,
            &format!("/v1/claims/{claim}/verdicts"),
            &json!({"rating": "false", "headline": "h", "summary": "s", "evidence_ids": [claim]}),
        ),
        422,
    );
    assert_eq!(field_errors(&p), vec!["evidence_ids[0]"]);
    // A claim id where an article id belongs.
    let p = problem(
        app.post_as(
            &f.editor,
            &format!("/v1/claims/{claim}/appearances"),
            &json!({"article_id": claim, "exact": "Russia"}),
        ),
        422,
    );
    assert_eq!(field_errors(&p), vec!["article_id"]);
    // Not a UUID at all.
    let p = problem(
        app.post_as(
            &f.editor,
            &format!("/v1/claims/{claim}/appearances"),
            &json!({"article_id": "article-1", "exact": "Russia"}),
        ),
        422,
    );
    assert_eq!(field_errors(&p), vec!["article_id"]);
    // Evidence of another claim.
    let other = app.created(&f.editor, "/v1/claims", &claim_body());
    let p = problem(
        app.post_as(
            &f.editor,
            &format!("/v1/claims/{}/verdicts", other["id"].as_str().unwrap()),
            &json!({"rating": "false", "headline": "h", "summary": "s", "evidence_ids": [f.evidence_id]}),
        ),
        422,
    );
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("another claim"));
    let before = (before.0 + 1, before.1 + 1); // the other claim
    unchanged(&app, before);
    // A path id that is not a UUID.
    problem(app.get_as(&f.editor, "/v1/claims/not-a-uuid"), 400);
}

#[test]
fn responses_carry_etags_and_patch_needs_a_current_if_match() {
    let app = spawn_app();
    let f = app.fixture();
    let path = format!("/v1/claims/{}", f.claim_id);
    let r = app.get_as(&f.editor, &path);
    assert_eq!(r.headers()["etag"], "\"1\"");
    let p = problem(
        app.patch_as(&f.editor, &path, None, &json!({"claimant": "V. Putin", "claimant_kind": "person"})),
        428,
    );
    assert!(p["detail"].as_str().unwrap().contains("If-Match"));
    let r = app.patch_as(
        &f.editor,
        &path,
        Some("\"1\""),
        &json!({"claimant": "V. Putin", "claimant_kind": "person"}),
    );
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"], "\"2\"");
    let p = problem(
        app.patch_as(
            &f.editor,
            &path,
            Some("\"1\""),
            &json!({"claimant": "Vladimir V. Putin", "claimant_kind": "person"}),
        ),
        412,
    );
    assert_eq!(p["current_version"], 2);
    assert!(p["detail"].as_str().unwrap().contains("current version is 2"));
    // Removing a required field is refused; removing an optional one works.
    let p = problem(app.patch_as(&f.editor, &path, Some("\"2\""), &json!({"statement": null})), 422);
    assert_eq!(field_errors(&p), vec!["statement"]);
    let c: Value = app
        .patch_as(&f.editor, &path, Some("\"2\""), &json!({"claimed_on": null}))
        .json()
        .unwrap();
    assert!(c["claimed_on"].is_null());
    assert_eq!(c["version"], 3);
}

#[test]
fn of_twenty_concurrent_patches_with_the_same_if_match_exactly_one_wins() {
    let app = Arc::new(spawn_app());
    let f = app.fixture();
    let before = app.count("revisions");
    let barrier = Arc::new(Barrier::new(20));
    let threads: Vec<_> = (0..20)
        .map(|i| {
            let (app, barrier, token, path) = (app.clone(), barrier.clone(), f.editor.clone(), format!("/v1/claims/{}", f.claim_id));
            std::thread::spawn(move || {
                barrier.wait();
                app.patch_as(&token, &path, Some("\"1\""), &json!({"statement": format!("Edit number {i}")}))
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    statuses.sort();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 412), "{statuses:?}");
    assert_eq!(app.count("revisions"), before + 1);
    let claim: Value = app.get_as(&f.editor, &format!("/v1/claims/{}", f.claim_id)).json().unwrap();
    assert_eq!(claim["version"], 2);
}

#[test]
fn every_write_records_its_reason_and_actor() {
    let app = spawn_app();
    let f = app.fixture();
    let c = app.created(
        &f.editor,
        "/v1/claims",
        &json!({"statement": "s", "claimant": "c", "claimant_kind": "person", "language": "en", "reason": "from the 9 o'clock bulletin"}),
    );
    let last = app.log().pop().unwrap();
    assert_eq!(
        (last.0.as_str(), last.1.as_str(), last.3, last.4.as_deref()),
        ("create", "claim", f.editor_id, Some("from the 9 o'clock bulletin"))
    );
    let r = app.patch_as(
        &f.editor,
        &format!("/v1/claims/{}", c["id"].as_str().unwrap()),
        Some("\"1\""),
        &json!({"tags": ["x"], "reason": "tagging"}),
    );
    assert_eq!(r.status(), 200);
    assert_eq!(app.log().pop().unwrap().4.as_deref(), Some("tagging"));
}

#[test]
fn the_whole_path_end_to_end_leaves_the_expected_log() {
    let app = spawn_app();
    let (editor_id, pw) = app.editor("ed", &[Role::Editor]);
    let editor = app.login("ed", &pw).json::<Value>().unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (reviewer_id, pw) = app.editor("rev", &[Role::Reviewer]);
    let reviewer = app.login("rev", &pw).json::<Value>().unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let start = app.count("revisions"); // the two accounts

    let article = app.created(
        &editor,
        "/v1/articles",
        &json!({"title": "Putin on cluster munitions", "language": "en", "body": crate::harness::ARTICLE_BODY}),
    );
    let claim = app.created(
        &editor,
        "/v1/claims",
        &json!({"statement": "Russia has not used cluster munitions.", "claimant": "Vladimir Putin", "claimant_kind": "person", "language": "en"}),
    );
    let cid = claim["id"].as_str().unwrap();
    app.created(
        &editor,
        &format!("/v1/claims/{cid}/appearances"),
        &json!({"article_id": article["id"], "exact": "Russia has not used them, he said", "suffix": "."}),
    );
    let e = app.created(&editor, &format!("/v1/claims/{cid}/evidence"), &json!({"stance": "refutes", "summary": "HRW", "article_id": article["id"], "exact": "Human Rights Watch says Russia has used cluster munitions."}));
    let v = draft(&app, &editor, cid, e["id"].as_str().unwrap());
    let vid = v["id"].as_str().unwrap();
    app.created(&editor, &format!("/v1/verdicts/{vid}/submit"), &json!({}));
    app.created(&reviewer, &format!("/v1/verdicts/{vid}/publish"), &json!({"reason": "checked"}));

    let log: Vec<_> = app.log().into_iter().skip(start as usize).collect();
    let expected = vec![
        ("create", "article", 1, editor_id),
        ("create", "claimant", 1, editor_id),
        ("create", "claim", 1, editor_id),
        ("create", "appearance", 1, editor_id),
        ("create", "evidence", 1, editor_id),
        ("create", "verdict", 1, editor_id),
        ("submit", "verdict", 2, editor_id),
        ("publish", "verdict", 3, reviewer_id),
    ];
    let got: Vec<_> = log.iter().map(|r| (r.0.as_str(), r.1.as_str(), r.2, r.3)).collect();
    assert_eq!(got, expected);
    let report = ledger::verify(&mut app.conn(), None, 1, None, |_, _| {}).unwrap();
    assert!(report.ok, "{report:?}");
    let full: Value = app.get_as(&editor, &format!("/v1/claims/{cid}")).json().unwrap();
    assert_eq!(full["appearances"].as_array().unwrap().len(), 1);
    assert_eq!(full["evidence"].as_array().unwrap().len(), 1);
    assert_eq!(full["verdicts"][0]["status"], "published");
    assert_eq!(full["verdicts"][0]["rating_label"], "False");
    assert_eq!(full["verdicts"][0]["rating_value"], 1);
}
