//! The server comes up against its own database; ops endpoints and problems.

use crate::harness::{problem, spawn_app, spawn_app_with, with_database};

#[test]
fn healthz_and_readyz_answer_200() {
    let app = spawn_app();
    let r = app.get("/healthz");
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("x-request-id"));
    let r = app.get("/readyz");
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<serde_json::Value>().unwrap()["status"], "ready");
}

#[test]
fn readyz_is_503_problem_when_the_database_is_unreachable() {
    let app = spawn_app_with(|c| {
        let url = c.database_url.clone().unwrap();
        c.database_url = Some(with_database(&url, "cl_no_such_database"));
    });
    let r = app.get("/readyz");
    assert!(r.headers().contains_key("retry-after"));
    let body = problem(r, 503);
    assert!(
        !body["detail"].as_str().unwrap().contains("cl_no_such_database"),
        "no internals in 5xx: {body}"
    );
}

#[test]
fn unknown_routes_are_404_problems_carrying_the_request_id() {
    let app = spawn_app();
    let body = problem(app.get("/v1/nothing-here"), 404);
    assert!(body["detail"].as_str().unwrap().contains("/v1/nothing-here"));
    let r = app
        .client
        .get(app.url("/nope"))
        .header("x-request-id", "trace-abc-123")
        .send()
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "trace-abc-123");
    assert_eq!(problem(r, 404)["request_id"], "trace-abc-123");
}
