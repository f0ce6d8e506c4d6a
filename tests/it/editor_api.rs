//! The editor API: validation at the edge, quotes anchored in articles, the
//! verdict workflow, optimistic concurrency, idempotency, and the log it writes.

use std::sync::{Arc, Barrier};

use claimledger::ledger;
use claimledger::model::Role;
use serde_json::{Value, json};

use crate::harness::{TestApp, problem, spawn_app};

/// Nothing was written: same revision count and same rows.
fn unchanged(app: &TestApp, before: (i64, i64)) {
    assert_eq!(
        (
            app.count("revisions"),
            app.count("claims") + app.count("evidence") + app.count("verdicts") + app.count("appearances")
        ),
        before
    );
}

fn snapshot_counts(app: &TestApp) -> (i64, i64) {
    (
        app.count("revisions"),
        app.count("claims") + app.count("evidence") + app.count("verdicts") + app.count("appearances"),
    )
}

fn field_errors(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .expect("errors[]")
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect()
}

fn claim_body() -> Value {
    json!({"statement": "Russia has a sufficient stockpile.", "claimant": "Vladimir Putin", "language": "en"})
}

#[test]
fn invalid_claims_are_422_naming_each_field_and_write_nothing() {
    let app = spawn_app();
    let f = app.fixture();
    let before = snapshot_counts(&app);
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"statement": "x", "claimant": "y", "language": "en", "colour": "red"}),
            "colour",
        ),
        (json!({"statement": "   ", "claimant": "y", "language": "en"}), "statement"),
        (
            json!({"statement": "x".repeat(2001), "claimant": "y", "language": "en"}),
            "statement",
        ),
        (json!({"statement": "x", "claimant": "y", "language": "english"}), "language"),
        (
            json!({"statement": "x", "claimant": "y", "language": "en", "claimed_on": "16 July 2023"}),
            "claimed_on",
        ),
        (json!({"statement": 42, "claimant": "y", "language": "en"}), "statement"),
        (
            json!({"statement": "x", "claimant": "y", "language": "en", "tags": ["two words"]}),
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
        app.post_as(&f.editor, "/v1/claims", &json!({"statement": "", "claimant": "", "language": "??"})),
        422,
    );
    assert_eq!(field_errors(&p), vec!["statement", "claimant", "language"]);
    unchanged(&app, before);
}

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
fn appearance_positions_are_code_points_computed_by_the_server() {
    let app = spawn_app();
    let f = app.fixture();
    let a = app.created(
        &f.editor,
        &format!("/v1/claims/{}/appearances", f.claim_id),
        &json!({"article_id": f.article_id, "exact": "sufficient"}),
    );
    let (start, end) = (
        a["position"]["start"].as_u64().unwrap() as usize,
        a["position"]["end"].as_u64().unwrap() as usize,
    );
    let body = crate::harness::ARTICLE_BODY;
    assert_eq!(body.chars().skip(start).take(end - start).collect::<String>(), "sufficient");
    assert_ne!(body.find("sufficient").unwrap(), start, "byte offset differs after the curly quote");
    assert_eq!(a["selector"]["type"], "TextQuoteSelector");
    assert_eq!(a["position"]["type"], "TextPositionSelector");
    assert!(a["selector"]["prefix"].as_str().unwrap().ends_with("a “"));
}

#[test]
fn a_quote_not_in_the_article_or_ambiguous_or_mispositioned_is_422() {
    let app = spawn_app();
    let f = app.fixture();
    let before = snapshot_counts(&app);
    let path = format!("/v1/claims/{}/appearances", f.claim_id);
    let p = problem(
        app.post_as(
            &f.editor,
            &path,
            &json!({"article_id": f.article_id, "exact": "Russia has never used them"}),
        ),
        422,
    );
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("does not occur"));
    let p = problem(
        app.post_as(
            &f.editor,
            &path,
            &json!({"article_id": f.article_id, "exact": "Russia has not used them, he said"}),
        ),
        422,
    );
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("occurs 2 times"), "{p}");
    let p = problem(
        app.post_as(
            &f.editor,
            &path,
            &json!({"article_id": f.article_id, "exact": "Putin said", "start": 1, "end": 11}),
        ),
        422,
    );
    assert_eq!(field_errors(&p), vec!["start"]);
    let p = problem(
        app.post_as(
            &f.editor,
            &path,
            &json!({"article_id": f.article_id, "exact": "Putin said", "start": 0, "end": 12}),
        ),
        422,
    );
    assert_eq!(field_errors(&p), vec!["end"]);
    unchanged(&app, before);
    // The suffix picks one occurrence; matching start/end are accepted.
    let a = app.created(
        &f.editor,
        &path,
        &json!({"article_id": f.article_id, "exact": "Russia has not used them, he said", "suffix": " again"}),
    );
    assert!(a["position"]["start"].as_u64().unwrap() > 100);
    app.created(
        &f.editor,
        &path,
        &json!({"article_id": f.article_id, "exact": "Putin said", "start": 0, "end": 10}),
    );
}

fn draft(app: &TestApp, token: &str, claim: &str, evidence: &str) -> Value {
    app.created(
        token,
        &format!("/v1/claims/{claim}/verdicts"),
        &json!({"rating": "false", "headline": "No, Russia has used them", "summary": "HRW documented use.", "evidence_ids": [evidence]}),
    )
}

#[test]
fn only_drafts_can_be_edited() {
    let app = spawn_app();
    let f = app.fixture();
    let v = draft(&app, &f.editor, &f.claim_id, &f.evidence_id);
    let id = v["id"].as_str().unwrap();
    let r = app.patch_as(
        &f.editor,
        &format!("/v1/verdicts/{id}"),
        Some("\"1\""),
        &json!({"headline": "Edited"}),
    );
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"], "\"2\"");
    app.created(&f.editor, &format!("/v1/verdicts/{id}/submit"), &json!({}));
    let p = problem(
        app.patch_as(
            &f.editor,
            &format!("/v1/verdicts/{id}"),
            Some("\"3\""),
            &json!({"headline": "Again"}),
        ),
        409,
    );
    assert!(p["detail"].as_str().unwrap().contains("in_review"));
}

#[test]
fn only_a_reviewer_who_did_not_write_it_publishes_or_rejects() {
    let app = spawn_app();
    let f = app.fixture();
    // The reviewer drafts this one, so they may not publish it.
    let v = draft(&app, &f.reviewer, &f.claim_id, &f.evidence_id);
    let id = v["id"].as_str().unwrap();
    app.created(&f.editor, &format!("/v1/verdicts/{id}/submit"), &json!({}));
    // An editor-only token on a reviewer action: 403 naming the role.
    let p = problem(app.post_as(&f.editor, &format!("/v1/verdicts/{id}/publish"), &json!({})), 403);
    assert!(p["detail"].as_str().unwrap().contains("reviewer role"));
    // The author, though a reviewer: 403 saying why.
    let p = problem(app.post_as(&f.reviewer, &format!("/v1/verdicts/{id}/publish"), &json!({})), 403);
    assert!(p["detail"].as_str().unwrap().contains("you wrote this verdict"));
    let p = problem(app.post_as(&f.reviewer, &format!("/v1/verdicts/{id}/reject"), &json!({})), 403);
    assert!(p["detail"].as_str().unwrap().contains("you wrote this verdict"));
    // Another reviewer may.
    let (other_id, pw) = app.editor("rev2", &[Role::Reviewer]);
    let other = app.login("rev2", &pw).json::<Value>().unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let rejected = app.created(
        &other,
        &format!("/v1/verdicts/{id}/reject"),
        &json!({"reason": "cite the UN report too"}),
    );
    assert_eq!(rejected["status"], "draft");
    app.created(&f.editor, &format!("/v1/verdicts/{id}/submit"), &json!({}));
    let published = app.created(&other, &format!("/v1/verdicts/{id}/publish"), &json!({}));
    assert_eq!(published["status"], "published");
    assert_eq!(published["reviewer_id"], other_id.to_string());
    assert_eq!(published["author_id"], f.reviewer_id.to_string());
    assert!(published["published_at"].is_string());
}

#[test]
fn publishing_supersedes_the_previous_verdict_in_the_same_transaction() {
    let app = spawn_app();
    let f = app.fixture();
    let publish = |app: &TestApp| {
        let v = draft(app, &f.editor, &f.claim_id, &f.evidence_id);
        let id = v["id"].as_str().unwrap().to_string();
        app.created(&f.editor, &format!("/v1/verdicts/{id}/submit"), &json!({}));
        app.created(&f.reviewer, &format!("/v1/verdicts/{id}/publish"), &json!({"reason": "reviewed"}));
        id
    };
    let first = publish(&app);
    let before = app.count("revisions");
    let second = publish(&app);
    let log = app.log();
    // draft, submit, then supersede + publish as the last two revisions.
    assert_eq!(app.count("revisions"), before + 4);
    let tail: Vec<(&str, i32)> = log[log.len() - 2..].iter().map(|r| (r.0.as_str(), r.2)).collect();
    assert_eq!(tail, vec![("supersede", 4), ("publish", 3)]);
    let old: Value = app.get_as(&f.editor, &format!("/v1/verdicts/{first}")).json().unwrap();
    assert_eq!(old["status"], "superseded");
    assert!(old["superseded_at"].is_string());
    let new: Value = app.get_as(&f.editor, &format!("/v1/verdicts/{second}")).json().unwrap();
    assert_eq!(new["status"], "published");
    // Both changes carry the same transaction time.
    assert_eq!(old["superseded_at"], new["published_at"]);
}

#[test]
fn withdrawing_needs_a_reason() {
    let app = spawn_app();
    let f = app.fixture();
    let v = draft(&app, &f.editor, &f.claim_id, &f.evidence_id);
    let id = v["id"].as_str().unwrap();
    let before = app.count("revisions");
    let p = problem(
        app.client
            .post(app.url(&format!("/v1/verdicts/{id}/withdraw")))
            .bearer_auth(&f.reviewer)
            .send()
            .unwrap(),
        422,
    );
    assert_eq!(field_errors(&p), vec!["reason"]);
    assert_eq!(app.count("revisions"), before);
    let w = app.created(
        &f.reviewer,
        &format!("/v1/verdicts/{id}/withdraw"),
        &json!({"reason": "duplicate of another check"}),
    );
    assert_eq!(w["status"], "withdrawn");
    assert_eq!(app.log().last().unwrap().4.as_deref(), Some("duplicate of another check"));
}

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

#[test]
fn responses_carry_etags_and_patch_needs_a_current_if_match() {
    let app = spawn_app();
    let f = app.fixture();
    let path = format!("/v1/claims/{}", f.claim_id);
    let r = app.get_as(&f.editor, &path);
    assert_eq!(r.headers()["etag"], "\"1\"");
    let p = problem(app.patch_as(&f.editor, &path, None, &json!({"claimant": "V. Putin"})), 428);
    assert!(p["detail"].as_str().unwrap().contains("If-Match"));
    let r = app.patch_as(&f.editor, &path, Some("\"1\""), &json!({"claimant": "V. Putin"}));
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"], "\"2\"");
    let p = problem(
        app.patch_as(&f.editor, &path, Some("\"1\""), &json!({"claimant": "Vladimir V. Putin"})),
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
        send(&json!({"statement": "Something else", "claimant": "X", "language": "en"}), "key-1"),
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

#[test]
fn every_write_records_its_reason_and_actor() {
    let app = spawn_app();
    let f = app.fixture();
    let c = app.created(
        &f.editor,
        "/v1/claims",
        &json!({"statement": "s", "claimant": "c", "language": "en", "reason": "from the 9 o'clock bulletin"}),
    );
    let last = app.log().pop().unwrap();
    assert_eq!(
        (last.0.as_str(), last.1.as_str(), last.3, last.4.as_deref()),
        ("create", "claim", f.editor_id, Some("from the 9 o'clock bulletin"))
    );
    app.patch_as(
        &f.editor,
        &format!("/v1/claims/{}", c["id"].as_str().unwrap()),
        Some("\"1\""),
        &json!({"tags": ["x"], "reason": "tagging"}),
    );
    assert_eq!(app.log().pop().unwrap().4.as_deref(), Some("tagging"));
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
        &json!({"statement": "Russia has not used cluster munitions.", "claimant": "Vladimir Putin", "language": "en"}),
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
        ("create", "claim", 1, editor_id),
        ("create", "appearance", 1, editor_id),
        ("create", "evidence", 1, editor_id),
        ("create", "verdict", 1, editor_id),
        ("submit", "verdict", 2, editor_id),
        ("publish", "verdict", 3, reviewer_id),
    ];
    let got: Vec<_> = log.iter().map(|r| (r.0.as_str(), r.1.as_str(), r.2, r.3)).collect();
    assert_eq!(got, expected);
    let report = ledger::verify(&mut app.conn(), 1, None, |_, _| {}).unwrap();
    assert!(report.ok, "{report:?}");
    let full: Value = app.get_as(&editor, &format!("/v1/claims/{cid}")).json().unwrap();
    assert_eq!(full["appearances"].as_array().unwrap().len(), 1);
    assert_eq!(full["evidence"].as_array().unwrap().len(), 1);
    assert_eq!(full["verdicts"][0]["status"], "published");
    assert_eq!(full["verdicts"][0]["rating_label"], "False");
    assert_eq!(full["verdicts"][0]["rating_value"], 1);
}

#[test]
fn articles_are_public_to_read() {
    let app = spawn_app();
    let f = app.fixture();
    let list: Value = app.get("/v1/articles").json().unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["items"][0].get("body").is_none());
    let one: Value = app.get(&format!("/v1/articles/{}", f.article_id)).json().unwrap();
    assert_eq!(one["body"], crate::harness::ARTICLE_BODY);
    assert_eq!(one["slug"], "putin-on-cluster-munitions");
    // Writing needs an account.
    problem(
        app.client
            .post(app.url("/v1/articles"))
            .json(&json!({"title": "t", "language": "en", "body": "b"}))
            .send()
            .unwrap(),
        401,
    );
}

#[test]
fn lists_page_with_a_cursor() {
    let app = spawn_app();
    let f = app.fixture();
    for i in 0..4 {
        app.created(
            &f.editor,
            "/v1/claims",
            &json!({"statement": format!("claim {i}"), "claimant": "c", "language": "en"}),
        );
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
    assert_eq!(seen.len(), 5);
    let mut dedup = seen.clone();
    dedup.dedup();
    assert_eq!(dedup, seen);
    problem(app.get_as(&f.editor, "/v1/claims?limit=0"), 422);
    problem(app.get_as(&f.editor, "/v1/claims?cursor=zzz"), 422);
}
