//! POST /v1/auth/token: username and password for a bearer token.

use actix_web::{HttpResponse, get, post, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::json::JsonBody;
use super::{AppState, with_conn};
use crate::auth::password::verify_password;
use crate::error::{AppError, AppResult};
use crate::store::editors;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginIn {
    pub username: String,
    #[schema(format = Password)]
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenOut {
    pub access_token: String,
    /// Always "Bearer".
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

/// The same answer for an unknown account and a wrong password.
fn bad_credentials() -> AppError {
    AppError::Unauthorized("invalid username or password".into())
}

/// Exchange a username and password for a bearer token.
///
/// After 10 failed attempts for one username within 15 minutes, further
/// attempts get 429 with Retry-After until the oldest failure ages out.
#[utoipa::path(operation_id = "issueToken", 
    request_body = LoginIn,
    responses(
        (status = 200, body = TokenOut),
        (status = 401, body = crate::http::problem::Problem, description = "unknown account or wrong password"),
        (status = 429, body = crate::http::problem::Problem, description = "too many failed attempts"),
    ),
    tag = "auth"
)]
#[post("/v1/auth/token")]
pub async fn issue_token(state: web::Data<AppState>, body: JsonBody<LoginIn>) -> AppResult<HttpResponse> {
    let LoginIn { username, password } = body.value;
    let name = username.clone();
    let (locked_for, candidate) = with_conn(&state, move |conn| {
        let locked_for = editors::lockout(conn, &name, Utc::now())?;
        let candidate = if locked_for.is_none() {
            editors::login_candidate(conn, &name)?
        } else {
            None
        };
        Ok((locked_for, candidate))
    })
    .await?;
    if let Some(retry_after_secs) = locked_for {
        return Err(AppError::TooManyRequests {
            detail: format!("too many failed logins for this account; try again in {retry_after_secs} s"),
            retry_after_secs,
        });
    }

    // argon2 is deliberately slow: verify on a blocking thread, without
    // holding a database connection.
    let hash = candidate.as_ref().filter(|c| c.active).and_then(|c| c.password_hash.clone());
    let verified = web::block(move || verify_password(&password, hash.as_deref())).await?;

    match candidate.filter(|_| verified) {
        Some(editor) => {
            let name = username.clone();
            with_conn(&state, move |conn| editors::clear_login_failures(conn, &name)).await?;
            let issued = state.keys.issue(editor.id, &editor.roles)?;
            tracing::info!(editor_id = %editor.id, "token issued");
            Ok(HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(TokenOut {
                access_token: issued.access_token,
                token_type: "Bearer",
                expires_in: issued.expires_in,
            }))
        }
        None => {
            with_conn(&state, move |conn| editors::record_login_failure(conn, &username)).await?;
            Err(bad_credentials())
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MeOut {
    pub id: uuid::Uuid,
    pub username: String,
    pub roles: Vec<crate::model::Role>,
}

/// The account behind the bearer token, with its current roles.
#[utoipa::path(operation_id = "getCurrentEditor", 
    responses((status = 200, body = MeOut), (status = 401, body = crate::http::problem::Problem)),
    security(("bearer" = [])),
    tag = "auth"
)]
#[get("/v1/auth/me")]
pub async fn me(state: web::Data<AppState>, bearer: super::Bearer) -> AppResult<HttpResponse> {
    let actor = super::as_actor(&state, bearer, super::Allow::Staff, |_, actor| Ok(actor.clone())).await?;
    Ok(HttpResponse::Ok().json(MeOut {
        id: actor.id,
        username: actor.username,
        roles: actor.roles,
    }))
}
