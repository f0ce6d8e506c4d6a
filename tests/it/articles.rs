//! Articles: public to read, written with an account.

use serde_json::{Value, json};

use crate::harness::{problem, spawn_app};

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
