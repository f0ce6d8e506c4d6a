//! What every write shares: ETags and If-Match, Idempotency-Key, and the
//! shape of write responses.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName};
use actix_web::{HttpRequest, HttpResponse, web};
use diesel::pg::PgConnection;
use serde::Serialize;

use super::{Allow, AppState, Bearer, as_actor, with_conn};
use crate::error::{AppError, AppResult};
use crate::model::{Actor, Recorded};
use crate::store::idempotency::{self, StoredResponse};
use crate::store::{self, Committed, PendingGroup};
use uuid::Uuid;

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
/// The log position of what a write recorded (its last revision's seq).
pub const LOG_SEQ: HeaderName = HeaderName::from_static("log-seq");

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
    // Exactly what the document's pattern says (`IF_MATCH_PATTERN`):
    // `"N"`, `W/"N"` or a bare `N`, at most nine digits.
    let quoted = text
        .strip_prefix("W/")
        .unwrap_or(text)
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'));
    let digits = match quoted {
        Some(d) => d,
        None if !text.starts_with("W/") => text,
        None => "",
    };
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::BadRequest(format!(
            "If-Match must be * or an ETag this server sent, such as \"3\"; got {text}"
        )));
    }
    digits
        .parse::<i32>()
        .map(Some)
        .map_err(|_| AppError::BadRequest(format!("If-Match must be an ETag this server sent; got {text}")))
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

/// A write's 201 Created: the new entity's view, where it lives, the
/// version its ETag names, and the revisions it waits for.
pub fn created<T: Recorded, V: Serialize>(
    c: Committed<T>,
    location: impl FnOnce(Uuid) -> String,
    view: impl FnOnce(T) -> V,
) -> AppResult<StoredResponse> {
    let (id, version) = (c.value.id(), c.value.version());
    stored(StatusCode::CREATED, Some(location(id)), version, c.map(view))
}

/// A write's 200 OK: the entity's view after the change, and its version.
pub fn changed<T: Recorded, V: Serialize>(c: Committed<T>, view: impl FnOnce(T) -> V) -> AppResult<StoredResponse> {
    let version = c.value.version();
    stored(StatusCode::OK, None, version, c.map(view))
}

pub fn stored<V: Serialize>(status: StatusCode, location: Option<String>, version: i32, c: Committed<V>) -> AppResult<StoredResponse> {
    Ok(StoredResponse {
        status: status.as_u16(),
        body: serde_json::to_value(&c.value).map_err(AppError::internal)?,
        location,
        etag_version: Some(version),
        pending: c.pending,
    })
}

/// Sends a write's response once its revisions are in the log, with their
/// position (`Log-Seq`). A write whose revisions are not sequenced within
/// the configured wait is committed all the same: 503, saying so, with the
/// entity's new ETag (a retry with the same Idempotency-Key replays).
async fn acknowledge(state: &web::Data<AppState>, stored: StoredResponse, replayed: bool) -> AppResult<HttpResponse> {
    let seq = match stored.pending {
        None => None,
        Some(pending) => Some(sequenced(state, pending).await?.ok_or_else(|| AppError::CommittedNotSequenced {
            detail: "the write was committed and will be sequenced shortly; it is not in the log yet. Read it again in a moment (its ETag is in this response), or retry with the same Idempotency-Key".into(),
            etag_version: stored.etag_version,
        })?),
    };
    let mut response = render(stored, replayed);
    if let Some(seq) = seq {
        state.log.note_acknowledged(seq);
        response.headers_mut().insert(LOG_SEQ, header::HeaderValue::from(seq));
    }
    Ok(response)
}

/// The seq the pending group got: from the listener's notice, or (a lost
/// notice, a replayed response) from the log itself.
async fn sequenced(state: &web::Data<AppState>, pending: PendingGroup) -> AppResult<Option<i64>> {
    state.log.wake_sequencer();
    let deadline = tokio::time::Instant::now() + state.config.write_wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if pending.grp > 0
            && let Some(seq) = state.log.sequenced(pending.grp, left).await
        {
            return Ok(Some(seq));
        }
        let (id, version) = (pending.last_entity_id, pending.last_entity_version);
        if let Some(seq) = with_conn(state, move |conn| store::log::seq_of(conn, id, version)).await? {
            return Ok(Some(seq));
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(None);
        }
        // A replay or a lost notice: look again when the log next moves.
        let head = state.log.head();
        state
            .log
            .reached(head + 1, deadline.saturating_duration_since(tokio::time::Instant::now()))
            .await;
    }
}

pub fn render(stored: StoredResponse, replayed: bool) -> HttpResponse {
    let mut builder = HttpResponse::build(StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK));
    if let Some(location) = &stored.location {
        builder.insert_header((header::LOCATION, location.as_str()));
    }
    if let Some(version) = stored.etag_version {
        builder.insert_header((header::ETAG, etag(version)));
    }
    if replayed {
        builder.insert_header((IDEMPOTENT_REPLAYED, "true"));
    }
    builder.json(&stored.body)
}

/// A write other than a POST (PATCH): runs `write` as the authenticated
/// actor and answers once its revisions are sequenced.
pub async fn write<F>(state: &web::Data<AppState>, bearer: Bearer, allow: Allow, write: F) -> AppResult<HttpResponse>
where
    F: FnOnce(&mut PgConnection, &Actor) -> AppResult<StoredResponse> + Send + 'static,
{
    let stored = as_actor(state, bearer, allow, write).await?;
    acknowledge(state, stored, false).await
}

/// A POST: runs `write` as the authenticated actor, once per Idempotency-Key
/// when the client sends one (`body` is fingerprinted only then), and
/// answers once its revisions are sequenced.
pub async fn post<F>(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    bearer: Bearer,
    allow: Allow,
    body: &[u8],
    write: F,
) -> AppResult<HttpResponse>
where
    F: FnOnce(&mut PgConnection, &Actor) -> AppResult<StoredResponse> + Send + 'static,
{
    let key = idempotency_key(req)?.map(|key| {
        let request = crate::model::digest::sha256_concat(&[
            req.method().as_str().as_bytes(),
            b" ",
            req.path().as_bytes(),
            b"\n",
            &super::json::fingerprint(body),
        ]);
        (key, request)
    });
    let (stored, replayed) = as_actor(state, bearer, allow, move |conn, actor| match key {
        Some((key, request)) => idempotency::once(conn, actor.id, &key, &request, |conn| write(conn, actor)),
        None => write(conn, actor).map(|r| (r, false)),
    })
    .await?;
    acknowledge(state, stored, replayed).await
}
