//! Verdicts: the workflow (draft, submit, publish or reject, withdraw) and
//! who may take each step.

use std::sync::{Arc, Barrier};

use claimledger::model::Role;
use serde_json::{Value, json};

use crate::common::{draft, field_errors};
use crate::harness::{TestApp, problem, spawn_app};

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

/// A draft edit reads the row without a lock and writes it only if it is
/// still the version read: racing edits that name a version get one 200
/// and 412s; racing `If-Match: *` edits all land, one version each.
#[test]
fn racing_draft_edits_land_once_per_version() {
    let app = Arc::new(spawn_app());
    let f = app.fixture();
    let v = draft(&app, &f.editor, &f.claim_id, &f.evidence_id);
    let path = format!("/v1/verdicts/{}", v["id"].as_str().unwrap());
    let race = |if_match: &'static str, n: usize| -> Vec<(u16, Value)> {
        let barrier = Arc::new(Barrier::new(n));
        let threads: Vec<_> = (0..n)
            .map(|i| {
                let (app, barrier, token, path) = (app.clone(), barrier.clone(), f.editor.clone(), path.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let r = app.patch_as(&token, &path, Some(if_match), &json!({"headline": format!("Edit {if_match} {i}")}));
                    (r.status().as_u16(), r.json::<Value>().unwrap())
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    };
    let before = app.count("revisions");
    let named = race("\"1\"", 12);
    assert_eq!(named.iter().filter(|(s, _)| *s == 200).count(), 1, "{named:?}");
    assert!(named.iter().all(|(s, _)| *s == 200 || *s == 412), "{named:?}");
    assert_eq!(app.count("revisions"), before + 1);
    let any = race("*", 8);
    assert!(any.iter().all(|(s, _)| *s == 200), "{any:?}");
    let mut versions: Vec<i64> = any.iter().map(|(_, b)| b["version"].as_i64().unwrap()).collect();
    versions.sort();
    assert_eq!(versions, (3..=10).collect::<Vec<i64>>());
    assert_eq!(app.count("revisions"), before + 9);
    // The projection and the log agree on the last edit.
    let now: Value = app.get_as(&f.editor, &path).json().unwrap();
    let last = any.iter().find(|(_, b)| b["version"] == 10).unwrap();
    assert_eq!(now["version"], 10);
    assert_eq!(now["headline"], last.1["headline"]);
    assert_eq!(now["updated_at"], last.1["updated_at"]);
    let state = claimledger::store::state::verify_state(&mut app.conn(), 10, |_| {}).unwrap();
    assert!(state.ok, "{:?}", state.drift);
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
