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

    let hash = candidate.as_ref().filter(|c| c.active).and_then(|c| c.password_hash.clone());
    let verified = check_password(password, hash).await?;

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

/// argon2 is deliberately slow (tens of milliseconds of CPU): checked on a
/// thread of its own, at most one per core at a time, holding no database
/// connection. Not on the workers' blocking threads, which are exactly one
/// per pooled connection: there it would hold up the reads queued behind it.
async fn check_password(password: String, hash: Option<String>) -> AppResult<bool> {
    static CORES: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    let cores = CORES.get_or_init(|| tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));
    let _turn = cores.acquire().await.map_err(AppError::internal)?;
    let (verified, answer) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("password".into())
        .spawn(move || {
            let _ = verified.send(verify_password(&password, hash.as_deref()));
        })
        .map_err(AppError::internal)?;
    answer.await.map_err(AppError::internal)
}
