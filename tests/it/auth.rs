//! Authentication: login, lockout, and the known token attacks — each case
//! asserts the status and the problem body.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use claimledger::model::Role;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::harness::{TEST_JWT_SECRET, TestApp, problem, spawn_app, spawn_app_with};

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn me(app: &TestApp, authorization: Option<&str>) -> reqwest::blocking::Response {
    let mut req = app.client.get(app.url("/v1/auth/me"));
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    req.send().unwrap()
}

/// Claims as our server issues them, for `sub`.
fn claims(sub: uuid::Uuid) -> Value {
    json!({"sub": sub, "roles": ["editor"], "iat": now(), "exp": now() + 600, "jti": uuid::Uuid::new_v4(),
           "iss": "claimledger", "aud": "claimledger-api"})
}

fn sign(claims: &Value, secret: &[u8]) -> String {
    encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret)).unwrap()
}

fn assert_401(r: reqwest::blocking::Response, detail_contains: &str) {
    let www = r.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_string());
    let body = problem(r, 401);
    assert!(
        www.unwrap_or_default().starts_with("Bearer"),
        "401 carries WWW-Authenticate: Bearer"
    );
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains(detail_contains),
        "detail {detail:?} should mention {detail_contains:?}"
    );
}

#[test]
fn login_returns_a_bearer_token_that_works() {
    let app = spawn_app();
    let (id, password) = app.editor("alice", &[Role::Editor, Role::Reviewer]);
    let r = app.login("alice", &password);
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let token = body["access_token"].as_str().unwrap();
    let me: Value = me(&app, Some(&format!("Bearer {token}"))).json().unwrap();
    assert_eq!(me["id"], id.to_string());
    assert_eq!(me["roles"], json!(["editor", "reviewer"]));
    // The token carries the design's claims.
    let payload: Value = serde_json::from_slice(&B64.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
    for claim in ["sub", "roles", "iat", "exp", "jti", "iss", "aud"] {
        assert!(payload.get(claim).is_some(), "missing {claim}");
    }
    assert_eq!(payload["exp"].as_u64().unwrap() - payload["iat"].as_u64().unwrap(), 900);
}

#[test]
fn no_token_is_401_with_www_authenticate() {
    let app = spawn_app();
    assert_401(me(&app, None), "authentication required");
}

#[test]
fn a_malformed_authorization_header_is_401() {
    let app = spawn_app();
    assert_401(me(&app, Some("Token abc")), "malformed Authorization header");
    assert_401(me(&app, Some("Bearer ")), "malformed Authorization header");
    assert_401(me(&app, Some("Bearer not.a.jwt")), "malformed");
}

#[test]
fn alg_none_is_401() {
    let app = spawn_app();
    let (id, _) = app.editor("alice", &[Role::Editor]);
    let header = B64.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = B64.encode(claims(id).to_string());
    assert_401(me(&app, Some(&format!("Bearer {header}.{payload}."))), "the token is malformed");
}

#[test]
fn hs256_signed_with_another_secret_is_401() {
    let app = spawn_app();
    let (id, _) = app.editor("alice", &[Role::Editor]);
    let token = sign(&claims(id), b"another-secret-that-is-also-long-enough!!");
    assert_401(me(&app, Some(&format!("Bearer {token}"))), "signature is invalid");
}

#[test]
fn a_payload_edited_under_the_original_signature_is_401() {
    let app = spawn_app();
    let (id, _) = app.editor("alice", &[Role::Editor]);
    let token = sign(&claims(id), TEST_JWT_SECRET.as_bytes());
    let parts: Vec<&str> = token.split('.').collect();
    let mut raised = claims(id);
    raised["roles"] = json!(["editor", "reviewer", "auditor", "admin"]);
    let forged = format!("{}.{}.{}", parts[0], B64.encode(raised.to_string()), parts[2]);
    assert_401(me(&app, Some(&format!("Bearer {forged}"))), "signature is invalid");
    // The untouched token works, so it was the edit that was refused.
    assert_eq!(me(&app, Some(&format!("Bearer {token}"))).status(), 200);
}

#[test]
fn a_token_expired_beyond_the_leeway_is_401() {
    let app = spawn_app();
    let (id, _) = app.editor("alice", &[Role::Editor]);
    let mut c = claims(id);
    c["iat"] = json!(now() - 1000);
    c["exp"] = json!(now() - 120);
    assert_401(
        me(&app, Some(&format!("Bearer {}", sign(&c, TEST_JWT_SECRET.as_bytes())))),
        "expired",
    );
}

#[test]
fn a_token_without_exp_is_401() {
    let app = spawn_app();
    let (id, _) = app.editor("alice", &[Role::Editor]);
    let mut c = claims(id);
    c.as_object_mut().unwrap().remove("exp");
    assert_401(
        me(&app, Some(&format!("Bearer {}", sign(&c, TEST_JWT_SECRET.as_bytes())))),
        // Not "lacks a required claim": the claims fail to deserialize first.
        "the token is invalid",
    );
}

#[test]
fn nbf_in_the_future_is_401() {
    let app = spawn_app();
    let (id, _) = app.editor("alice", &[Role::Editor]);
    let mut c = claims(id);
    c["nbf"] = json!(now() + 300);
    assert_401(
        me(&app, Some(&format!("Bearer {}", sign(&c, TEST_JWT_SECRET.as_bytes())))),
        "not valid yet",
    );
}

#[test]
fn a_wrong_issuer_is_401() {
    let app = spawn_app();
    let (id, _) = app.editor("alice", &[Role::Editor]);
    let mut c = claims(id);
    c["iss"] = json!("someone-else");
    assert_401(
        me(&app, Some(&format!("Bearer {}", sign(&c, TEST_JWT_SECRET.as_bytes())))),
        "issued by someone else",
    );
}

#[test]
fn a_wrong_audience_is_401() {
    let app = spawn_app();
    let (id, _) = app.editor("alice", &[Role::Editor]);
    let mut c = claims(id);
    c["aud"] = json!("another-api");
    assert_401(
        me(&app, Some(&format!("Bearer {}", sign(&c, TEST_JWT_SECRET.as_bytes())))),
        "another audience",
    );
}

#[test]
fn a_valid_token_for_a_deactivated_editor_is_401_at_once() {
    let app = spawn_app();
    let token = app.token("alice", &[Role::Editor]);
    assert_eq!(me(&app, Some(&format!("Bearer {token}"))).status(), 200);
    claimledger::store::editors::deactivate(&mut app.conn(), claimledger::model::SYSTEM_ACTOR, "alice", Some("left")).unwrap();
    assert_401(me(&app, Some(&format!("Bearer {token}"))), "deactivated");
}

#[test]
fn a_valid_token_whose_sub_does_not_exist_is_401() {
    let app = spawn_app();
    let token = sign(&claims(uuid::Uuid::now_v7()), TEST_JWT_SECRET.as_bytes());
    assert_401(me(&app, Some(&format!("Bearer {token}"))), "does not exist");
}

#[test]
fn wrong_password_and_unknown_user_give_identical_bodies() {
    let app = spawn_app();
    app.editor("alice", &[Role::Editor]);
    let attempt = |username: &str| {
        // The same request id, so that the bodies can be compared byte for byte.
        let r = app
            .client
            .post(app.url("/v1/auth/token"))
            .header("x-request-id", "same-id")
            .json(&json!({"username": username, "password": "not-the-password"}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()["www-authenticate"], "Bearer realm=\"claimledger\"");
        r.bytes().unwrap()
    };
    let wrong_password = attempt("alice");
    let unknown_user = attempt("nobody");
    assert_eq!(wrong_password, unknown_user);
    let body: Value = serde_json::from_slice(&wrong_password).unwrap();
    assert_eq!(body["detail"], "invalid username or password");
}

#[test]
fn the_eleventh_failed_login_is_429_and_the_lockout_survives_a_restart() {
    let mut app = spawn_app();
    let (_, password) = app.editor("alice", &[Role::Editor]);
    for _ in 0..10 {
        assert_eq!(app.login("alice", "wrong-password-123").status(), 401);
    }
    let r = app.login("alice", &password);
    let retry_after: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after), "Retry-After {retry_after}");
    let body = problem(r, 429);
    assert!(body["detail"].as_str().unwrap().contains("too many failed logins"));

    app.restart();
    assert_eq!(app.login("alice", &password).status(), 429, "the counter is in the database");
    // Another account is not affected.
    let (_, bob_password) = app.editor("bob", &[Role::Editor]);
    assert_eq!(app.login("bob", &bob_password).status(), 200);
}

#[test]
fn login_bodies_are_checked() {
    let app = spawn_app();
    let body = problem(
        app.client
            .post(app.url("/v1/auth/token"))
            .header("content-type", "application/json")
            .body("{\"username\": ")
            .send()
            .unwrap(),
        400,
    );
    assert!(body["detail"].as_str().unwrap().contains("not valid JSON"));
    let body = problem(
        app.client
            .post(app.url("/v1/auth/token"))
            .json(&json!({"username": "a"}))
            .send()
            .unwrap(),
        422,
    );
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("password"), "{body}");
    let body = problem(
        app.client
            .post(app.url("/v1/auth/token"))
            .json(&json!({"username": "a", "password": "b", "admin": true}))
            .send()
            .unwrap(),
        422,
    );
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("unknown field"), "{body}");
}

/// A fresh Ed25519 key pair, generated here (no openssl): the signing key for
/// jsonwebtoken and the public key as the PEM file an identity provider publishes.
fn ed25519_key_pair() -> (EncodingKey, String) {
    use ed25519_dalek::SigningKey;
    use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
    use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey};
    let signing = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    // jsonwebtoken's EdDSA signer reads a PKCS#8 private key (from_ed_der /
    // from_ed_pem); its verifier an SPKI "PUBLIC KEY" PEM (DecodingKey::from_ed_pem).
    let private = signing.to_pkcs8_der().unwrap();
    let public_pem = signing.verifying_key().to_public_key_pem(LineEnding::LF).unwrap();
    (EncodingKey::from_ed_der(private.as_bytes()), public_pem)
}

#[test]
fn eddsa_tokens_from_a_configured_identity_provider_are_accepted() {
    let (idp_key, idp_public_pem) = ed25519_key_pair();
    assert!(idp_public_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{idp_public_pem}");
    // The public key file the operator configures, read the way the service reads it.
    let dir = std::env::temp_dir().join(format!("cl-ed-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let public_file = dir.join("idp.pub.pem");
    std::fs::write(&public_file, &idp_public_pem).unwrap();
    let configured = claimledger::config::Config::from_vars(std::collections::HashMap::from([(
        "CLAIMLEDGER_JWT_EDDSA_PUBLIC_KEY_FILE".to_string(),
        public_file.to_str().unwrap().to_string(),
    )]))
    .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(configured.jwt.eddsa_public_key_pem.as_deref(), Some(idp_public_pem.as_str()));
    let app = spawn_app_with(|c| c.jwt.eddsa_public_key_pem = configured.jwt.eddsa_public_key_pem.clone());

    let (id, _) = app.editor("alice", &[Role::Editor]);
    let token = encode(&Header::new(Algorithm::EdDSA), &claims(id), &idp_key).unwrap();
    let header: Value = serde_json::from_slice(&B64.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["alg"], "EdDSA");
    let r = me(&app, Some(&format!("Bearer {token}")));
    assert_eq!(r.status(), 200);
    let body: Value = r.json().unwrap();
    assert_eq!(body["id"], id.to_string());
    assert_eq!(body["username"], "alice");

    // Tampered: the payload raised to admin under the provider's signature.
    let parts: Vec<&str> = token.split('.').collect();
    let mut raised = claims(id);
    raised["roles"] = json!(["editor", "reviewer", "auditor", "admin"]);
    let forged = format!("{}.{}.{}", parts[0], B64.encode(raised.to_string()), parts[2]);
    assert_401(me(&app, Some(&format!("Bearer {forged}"))), "signature is invalid");
    // Tampered: one bit of the signature flipped.
    let mut signature = B64.decode(parts[2]).unwrap();
    signature[10] ^= 0x01;
    let flipped = format!("{}.{}.{}", parts[0], parts[1], B64.encode(&signature));
    assert_401(me(&app, Some(&format!("Bearer {flipped}"))), "signature is invalid");
    // Signed by another Ed25519 key than the configured one.
    let (other_key, _) = ed25519_key_pair();
    let stranger = encode(&Header::new(Algorithm::EdDSA), &claims(id), &other_key).unwrap();
    assert_401(me(&app, Some(&format!("Bearer {stranger}"))), "signature is invalid");
    // The provider's untouched token still works, so it was each change that was refused.
    assert_eq!(me(&app, Some(&format!("Bearer {token}"))).status(), 200);

    // Without the key configured, the same token is refused.
    let plain = spawn_app();
    assert_401(me(&plain, Some(&format!("Bearer {token}"))), "EdDSA");
}
