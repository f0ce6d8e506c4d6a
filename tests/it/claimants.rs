//! The editorial model (issue 18): claimants as records, appearance kinds
//! and translations, dates with their precision, merging duplicates after
//! the fact, and claim matching.

use serde_json::{Value, json};

use crate::harness::{Fixture, TestApp, problem, spawn_app};

fn publish(app: &TestApp, f: &Fixture, claim: &str, evidence: &str) -> String {
    let v = app.created(
        &f.editor,
        &format!("/v1/claims/{claim}/verdicts"),
        &json!({"rating": "false", "headline": "h", "summary": "s", "evidence_ids": [evidence]}),
    );
    let id = v["id"].as_str().unwrap().to_string();
    app.created(&f.editor, &format!("/v1/verdicts/{id}/submit"), &json!({}));
    app.created(&f.reviewer, &format!("/v1/verdicts/{id}/publish"), &json!({}));
    id
}

fn etag(app: &TestApp, token: &str, path: &str) -> String {
    app.get_as(token, path).headers()["etag"].to_str().unwrap().to_string()
}

#[test]
fn claimants_are_records_and_claimreview_takes_its_author_from_them() {
    let app = spawn_app();
    let f = app.fixture();
    let claim: Value = app.get_as(&f.editor, &format!("/v1/claims/{}", f.claim_id)).json().unwrap();
    assert_eq!(claim["claimant"], "Vladimir Putin");
    assert_eq!(claim["claimant_kind"], "person");
    let claimant_id = claim["claimant_id"].as_str().unwrap().to_string();

    // A new name without a kind is refused, naming the field; a known name
    // needs none; a contradicting kind is refused.
    let p = problem(
        app.post_as(
            &f.editor,
            "/v1/claims",
            &json!({"statement": "s", "claimant": "Nobody Yet", "language": "en"}),
        ),
        422,
    );
    assert_eq!(p["errors"][0]["field"], "claimant_kind");
    let again = app.created(
        &f.editor,
        "/v1/claims",
        &json!({"statement": "Another", "claimant": "vladimir putin", "language": "en"}),
    );
    assert_eq!(again["claimant_id"], claimant_id.as_str());
    let p = problem(
        app.post_as(
            &f.editor,
            "/v1/claims",
            &json!({"statement": "s", "claimant": "Vladimir Putin", "claimant_kind": "organization", "language": "en"}),
        ),
        422,
    );
    assert_eq!(p["errors"][0]["field"], "claimant_kind");
    // Dates carry their precision and caveat.
    let dated = app.created(
        &f.editor,
        "/v1/claims",
        &json!({"statement": "Dated", "claimant_id": claimant_id, "claimed_on": "2023-07-01", "claimed_on_precision": "month",
                "claimed_on_note": "month of the interview; the day is not stated", "language": "en"}),
    );
    assert_eq!(
        (dated["claimed_on_precision"].clone(), dated["claimed_on_note"].clone()),
        (json!("month"), json!("month of the interview; the day is not stated"))
    );
    let p = problem(
        app.post_as(
            &f.editor,
            "/v1/claims",
            &json!({"statement": "s", "claimant_id": claimant_id, "claimed_on_precision": "day", "language": "en"}),
        ),
        422,
    );
    assert_eq!(p["errors"][0]["field"], "claimed_on_precision");

    // The role and links go into ClaimReview's author; the kind decides its type.
    let path = format!("/v1/claimants/{claimant_id}");
    let r = app.patch_as(
        &f.editor,
        &path,
        Some(&etag(&app, &f.editor, &path)),
        &json!({"role": "President of Russia", "same_as": ["https://www.wikidata.org/wiki/Q7747"]}),
    );
    assert_eq!(r.status(), 200);
    let role_seq = r.headers()["log-seq"].to_str().unwrap().to_string();
    publish(&app, &f, &f.claim_id, &f.evidence_id);
    let cr: Value = app.get(&format!("/v1/factchecks/{}/claimreview", f.claim_id)).json().unwrap();
    let author = &cr["itemReviewed"]["author"];
    assert_eq!(author["@type"], "Person");
    assert_eq!(author["jobTitle"], "President of Russia");
    assert_eq!(author["sameAs"], json!(["https://www.wikidata.org/wiki/Q7747"]));

    // An organisation's record makes an Organization, whatever its name
    // says — and editing the record updates the published fact check.
    let r = app.patch_as(
        &f.editor,
        &path,
        Some(&etag(&app, &f.editor, &path)),
        &json!({"kind": "organization", "name": "The Kremlin"}),
    );
    assert_eq!(r.status(), 200);
    let cr: Value = app.get(&format!("/v1/factchecks/{}/claimreview", f.claim_id)).json().unwrap();
    assert_eq!(cr["itemReviewed"]["author"]["@type"], "Organization");
    // The claim as of before that edit carries the claimant's record as it
    // stood then; the current read, the new one.
    let auditor = app.token("aud", &[claimledger::model::Role::Auditor]);
    let then: Value = app
        .get_as(&auditor, &format!("/v1/claims/{}?at_seq={role_seq}", f.claim_id))
        .json()
        .unwrap();
    assert_eq!(
        (then["claimant_kind"].as_str(), then["claimant_role"].as_str()),
        (Some("person"), Some("President of Russia"))
    );
    let now: Value = app.get_as(&auditor, &format!("/v1/claims/{}", f.claim_id)).json().unwrap();
    assert_eq!(now["claimant_kind"], "organization");
    assert_eq!(cr["itemReviewed"]["author"]["name"], "The Kremlin");
    assert!(
        cr["itemReviewed"]["author"].get("jobTitle").is_none(),
        "no job title for an organisation"
    );
    let fc: Value = app.get(&format!("/v1/factchecks/{}", f.claim_id)).json().unwrap();
    assert_eq!(fc["claim"]["claimant"], "The Kremlin");
    assert_eq!(fc["claim"]["claimant_kind"], "organization");
    // The rename reached the claims (each a revision), and the feed says the
    // fact check was updated.
    let claim: Value = app.get_as(&f.editor, &format!("/v1/claims/{}", f.claim_id)).json().unwrap();
    assert_eq!(claim["claimant"], "The Kremlin");
    let feed: Value = app.get("/v1/factchecks/feed?limit=100").json().unwrap();
    let changes: Vec<&str> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["change"].as_str().unwrap())
        .collect();
    assert_eq!(changes.last(), Some(&"updated"), "{changes:?}");
    assert!(app.count("claimants") >= 1);
}

#[test]
fn appearances_say_their_kind_and_translation() {
    let app = spawn_app();
    let f = app.fixture();
    let a = app.created(
        &f.editor,
        &format!("/v1/claims/{}/appearances", f.claim_id),
        &json!({"article_id": f.article_id, "exact": "Putin said", "kind": "direct_quote", "translated": true, "original_language": "RU"}),
    );
    assert_eq!(
        (a["kind"].clone(), a["translated"].clone(), a["original_language"].clone()),
        (json!("direct_quote"), json!(true), json!("ru"))
    );
    let p = problem(
        app.post_as(
            &f.editor,
            &format!("/v1/claims/{}/appearances", f.claim_id),
            &json!({"article_id": f.article_id, "exact": "Human Rights Watch says", "original_language": "ru"}),
        ),
        422,
    );
    assert_eq!(p["errors"][0]["field"], "original_language");
    let default = app.created(
        &f.editor,
        &format!("/v1/claims/{}/appearances", f.claim_id),
        &json!({"article_id": f.article_id, "exact": "Human Rights Watch says"}),
    );
    assert_eq!(
        (default["kind"].clone(), default["translated"].clone()),
        (json!("paraphrase"), json!(false))
    );
}

#[test]
fn a_merged_claim_moves_its_parts_and_points_at_the_survivor() {
    let app = spawn_app();
    let f = app.fixture();
    publish(&app, &f, &f.claim_id, &f.evidence_id);
    // A duplicate, recorded later, published too.
    let dup = app.created(
        &f.editor,
        "/v1/claims",
        &json!({"statement": "Russia has not yet used cluster munitions.", "claimant": "Vladimir Putin", "language": "en"}),
    );
    let dup_id = dup["id"].as_str().unwrap().to_string();
    app.created(
        &f.editor,
        &format!("/v1/claims/{dup_id}/appearances"),
        &json!({"article_id": f.article_id, "exact": "Russia has not used them, he said again."}),
    );
    let e = app.created(
        &f.editor,
        &format!("/v1/claims/{dup_id}/evidence"),
        &json!({"stance": "context", "summary": "Said twice.", "url": "https://example.org/a"}),
    );
    publish(&app, &f, &dup_id, e["id"].as_str().unwrap());
    assert_eq!(app.get(&format!("/v1/factchecks/{dup_id}")).status(), 200);

    let path = format!("/v1/claims/{dup_id}");
    let p = problem(
        app.post_as(
            &f.editor,
            &format!("{path}/merge"),
            &json!({"into": f.claim_id, "reason": "same claim"}),
        ),
        428,
    );
    assert!(p["detail"].as_str().unwrap().contains("If-Match"));
    let r = app
        .client
        .post(app.url(&format!("{path}/merge")))
        .bearer_auth(&f.editor)
        .header("if-match", etag(&app, &f.editor, &path))
        .json(&json!({"into": f.claim_id, "reason": "the same statement on the same occasion"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    // The merge's three revisions (the appearance, the evidence, the claim) end at Log-Seq.
    let merged_at: i64 = r.headers()["log-seq"].to_str().unwrap().parse().unwrap();
    let survivor: Value = r.json().unwrap();
    assert_eq!(survivor["id"], f.claim_id.as_str());
    assert_eq!(survivor["appearances"].as_array().unwrap().len(), 1, "the moved appearance");
    assert_eq!(survivor["evidence"].as_array().unwrap().len(), 2, "its own and the moved evidence");
    let merged: Value = app.get_as(&f.editor, &path).json().unwrap();
    assert_eq!(
        (merged["status"].clone(), merged["merged_into"].clone()),
        (json!("retired"), json!(f.claim_id))
    );
    // Merged claims cannot be restored; the public fact check redirects.
    let p = problem(
        app.patch_as(&f.editor, &path, Some(&etag(&app, &f.editor, &path)), &json!({"status": "active"})),
        409,
    );
    assert!(p["detail"].as_str().unwrap().contains("merged into"));
    let r = app.get(&format!("/v1/factchecks/{dup_id}"));
    assert_eq!(r.status(), 301);
    assert_eq!(r.headers()["location"], format!("/v1/factchecks/{}", f.claim_id).as_str());
    assert_eq!(r.json::<Value>().unwrap()["merged_into"], f.claim_id.as_str());
    // The feed reports it: the duplicate withdrawn, pointing at the survivor.
    let feed: Value = app.get("/v1/factchecks/feed?limit=100").json().unwrap();
    let withdrawn = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["claim_id"] == dup_id.as_str() && i["change"] == "withdrawn")
        .expect("a withdrawn item");
    assert_eq!(withdrawn["merged_into"], f.claim_id.as_str());
    // Every step is in the log, and the log verifies.
    let auditor = app.token("aud", &[claimledger::model::Role::Auditor]);
    let merges: Value = app.get_as(&auditor, "/v1/revisions?action=merge").json().unwrap();
    assert_eq!(
        merges["items"].as_array().unwrap().len(),
        3,
        "the appearance, the evidence and the claim"
    );
    // As of a seq, a moved part belongs to the claim it belonged to then:
    // the duplicate's before the merge, the survivor's after it; the
    // duplicate as of the merge matches its current view.
    let parts = |id: &str, seq: i64| -> (usize, usize) {
        let c: Value = app.get_as(&auditor, &format!("/v1/claims/{id}?at_seq={seq}")).json().unwrap();
        (c["appearances"].as_array().unwrap().len(), c["evidence"].as_array().unwrap().len())
    };
    assert_eq!(parts(&dup_id, merged_at - 3), (1, 1), "the duplicate just before the merge");
    assert_eq!(parts(&f.claim_id, merged_at - 3).1, 1, "the survivor just before the merge");
    assert_eq!(parts(&f.claim_id, merged_at), (1, 2), "the survivor after it");
    let dup_after = parts(&dup_id, merged_at);
    assert_eq!(
        dup_after,
        (
            merged["appearances"].as_array().unwrap().len(),
            merged["evidence"].as_array().unwrap().len()
        ),
        "the duplicate after it, as its current view"
    );
    assert_eq!(dup_after, (0, 0));
    let verify: Value = app.get_as(&auditor, "/v1/log/verify").json().unwrap();
    assert_eq!(verify["ok"], true);
}

#[test]
fn similar_claims_are_found_and_offered_when_recording_a_duplicate() {
    let app = spawn_app();
    let f = app.fixture();
    publish(&app, &f, &f.claim_id, &f.evidence_id);
    app.created(
        &f.editor,
        "/v1/claims",
        &json!({"statement": "Ukraine received tanks from Germany.", "claimant": "Someone", "claimant_kind": "person", "language": "en"}),
    );
    let found: Value = app
        .get_as(
            &f.editor,
            "/v1/claims/similar?text=Putin%20says%20Russia%20never%20used%20cluster%20bombs",
        )
        .json()
        .unwrap();
    let items = found["items"].as_array().unwrap();
    assert_eq!(items[0]["claim"]["id"], f.claim_id.as_str(), "{found}");
    let top = items[0]["score"].as_f64().unwrap();
    assert!(top > 0.0 && top <= 1.0);
    assert!(items.iter().skip(1).all(|i| i["score"].as_f64().unwrap() <= top));
    // Recording the same statement again offers the existing claim.
    let dup = app.created(
        &f.editor,
        "/v1/claims",
        &json!({"statement": "Russia has not used cluster munitions.", "claimant": "Vladimir Putin", "language": "en"}),
    );
    assert_eq!(dup["similar"][0]["claim"]["id"], f.claim_id.as_str());
    assert!(dup["similar"][0]["score"].as_f64().unwrap() >= 0.9);
    // The public side: has this been checked?
    let matched: Value = app
        .get("/v1/factchecks/match?text=Did%20Russia%20use%20cluster%20munitions%3F")
        .json()
        .unwrap();
    assert_eq!(matched["items"][0]["factcheck"]["claim"]["id"], f.claim_id.as_str(), "{matched}");
    let none: Value = app.get("/v1/factchecks/match?text=zebra%20crossings%20in%20Lisbon").json().unwrap();
    assert_eq!(none["items"].as_array().unwrap().len(), 0);
    assert_eq!(problem(app.get("/v1/factchecks/match?text="), 422)["errors"][0]["field"], "text");
}
