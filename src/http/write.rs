//! What every write shares: ETags and If-Match, Idempotency-Key, and the
//! shape of write responses.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName};
use actix_web::{HttpRequest, HttpResponse, web};
use diesel::pg::PgConnection;
use serde::Serialize;

use super::{Allow, AppState, as_actor};
use crate::auth::Bearer;
use crate::error::{AppError, AppResult};
use crate::model::Actor;
use crate::store::idempotency::{self, StoredResponse};

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The ETag of an entity version: a strong validator, `"3"`.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// The version an If-Match names, if the header is present (`*` matches any).
pub fn if_match(req: &HttpRequest) -> AppResult<Option<i32>> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    text.trim_start_matches("W/")
        .trim_matches('"')
        .parse::<i32>()
        .map(Some)
        .map_err(|_| AppError::BadRequest(format!("If-Match must be an ETag this server sent, such as \"3\"; got {text}")))
}

/// Updates need If-Match: 428 without it.
pub fn required_if_match(req: &HttpRequest) -> AppResult<Option<i32>> {
    if req.headers().get(header::IF_MATCH).is_none() {
        return Err(AppError::PreconditionRequired(
            "send If-Match with the ETag of the version you edited (from your last GET), e.g. If-Match: \"3\"".into(),
        ));
    }
    if_match(req)
}

fn idempotency_key(req: &HttpRequest) -> AppResult<Option<String>> {
    let Some(value) = req.headers().get(&IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or("").trim();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::BadRequest(
            "Idempotency-Key must be 1–255 visible ASCII characters".into(),
        ));
    }
    Ok(Some(key.to_string()))
}

/// A write's response, before it is sent (and stored for Idempotency-Key).
pub fn response<T: Serialize>(status: StatusCode, body: &T, location: Option<String>) -> AppResult<StoredResponse> {
    Ok(StoredResponse {
        status: status.as_u16(),
        body: serde_json::to_value(body).map_err(AppError::internal)?,
        location,
    })
}

pub fn render(stored: StoredResponse, replayed: bool) -> HttpResponse {
    let mut builder = HttpResponse::build(StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK));
    if let Some(location) = &stored.location {
        builder.insert_header((header::LOCATION, location.as_str()));
    }
    if let Some(version) = stored.body.get("version").and_then(|v| v.as_i64()) {
        builder.insert_header((header::ETAG, etag(version as i32)));
    }
    if replayed {
        builder.insert_header((IDEMPOTENT_REPLAYED, "true"));
    }
    builder.json(&stored.body)
}

/// A POST: runs `write` as the authenticated actor, once per Idempotency-Key
/// when the client sends one. `digest` identifies the body.
pub async fn post<F>(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    bearer: Bearer,
    allow: Allow,
    digest: [u8; 32],
    write: F,
) -> AppResult<HttpResponse>
where
    F: FnOnce(&mut PgConnection, &Actor) -> AppResult<StoredResponse> + Send + 'static,
{
    let key = idempotency_key(req)?;
    let mut fingerprint = format!("{} {}\n", req.method(), req.path()).into_bytes();
    fingerprint.extend_from_slice(&digest);
    let request_hash = crate::ledger::hash::sha256(&fingerprint);
    let (stored, replayed) = as_actor(state, bearer, allow, move |conn, actor| match key {
        Some(key) => idempotency::once(conn, actor.id, &key, &request_hash, |conn| write(conn, actor)),
        None => write(conn, actor).map(|r| (r, false)),
    })
    .await?;
    Ok(render(stored, replayed))
}

/// A list page: `{items, next_cursor}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Paged<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1–100, default 20.
    pub limit: Option<i64>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
}

impl PageParams {
    pub fn page(&self) -> AppResult<crate::store::Page> {
        let limit = self.limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            return Err(AppError::field("limit", "between 1 and 100"));
        }
        let after = match &self.cursor {
            None => None,
            Some(c) => Some(
                c.parse::<uuid::Uuid>()
                    .map_err(|_| AppError::field("cursor", "not a cursor this server issued"))?,
            ),
        };
        Ok(crate::store::Page { limit, after })
    }
}

/// Items of a page of rows keyed by id; the cursor is the last id when the page is full.
pub fn paged<R, T>(rows: Vec<R>, limit: i64, id: impl Fn(&R) -> uuid::Uuid, view: impl Fn(R) -> T) -> Paged<T> {
    let next_cursor = if rows.len() as i64 == limit {
        rows.last().map(|r| id(r).to_string())
    } else {
        None
    };
    Paged {
        items: rows.into_iter().map(view).collect(),
        next_cursor,
    }
}
