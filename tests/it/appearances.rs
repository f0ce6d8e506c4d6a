//! Appearances: quotes anchored in an article's body, positions counted in
//! code points by the server.

use serde_json::json;

use crate::common::{field_errors, snapshot_counts, unchanged};
use crate::harness::{problem, spawn_app};

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
