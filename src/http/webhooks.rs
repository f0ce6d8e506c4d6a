//! /v1/webhooks: push subscriptions (admin). Every change to a
//! subscription is a revision; its signing secret (`whsec_…`) is shown in
//! the responses to create and rotate-secret only, and never logged.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::json::{JsonBody, OptionalJsonBody};
use super::paging::{PageParams, Paged, id_cursor};
use super::problem::Problem;
use super::write::{changed, created, etag, if_match, required_if_match, write};
use super::{Allow, AppState, Bearer, as_actor, with_conn};
use crate::error::{AppError, AppResult};
use crate::model::Role;
use crate::model::fields;
use crate::model::paging::{FeedCursor, SeqCursor};
use crate::model::webhook::{NewWebhook, TEST_EVENT, WebhookInput, WebhookOut, WebhookPatch, WebhookPatchInput};
use crate::store;
use crate::store::webhooks::{Delivery, WithSecret};

const ADMIN: Allow = Allow::AnyOf(&[Role::Admin]);

fn with_secret(w: WithSecret) -> WebhookOut {
    WebhookOut {
        secret: w.secret,
        ..WebhookOut::from(w.webhook)
    }
}

/// Subscribe a URL to the fact-check events. The response carries the
/// signing secret, once.
#[utoipa::path(
    operation_id = "createWebhook",
    request_body = WebhookInput,
    responses(
        (status = 201, body = WebhookOut, headers(("Location" = String), ("ETag" = String), ("Log-Seq" = i64))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem, description = "a bad field, or a target the server refuses to reach"),
    ),
    security(("bearer" = [])),
    tag = "push"
)]
#[post("/v1/webhooks")]
pub async fn create(state: web::Data<AppState>, bearer: Bearer, body: JsonBody<WebhookInput>) -> AppResult<HttpResponse> {
    let (new, reason) = NewWebhook::parse(body.value, state.config.webhooks.allow_private)?;
    // Not replayed by Idempotency-Key: the response holds the secret, which is stored nowhere but the key table.
    write(&state, bearer, ADMIN, move |conn, actor| {
        let w = store::webhooks::create(conn, actor, &new, reason.as_deref())?;
        created(w, |id| format!("/v1/webhooks/{id}"), with_secret)
    })
    .await
}

/// Subscriptions, in the order they were created.
#[utoipa::path(
    operation_id = "listWebhooks",
    params(PageParams),
    responses((status = 200, body = Paged<WebhookOut>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])),
    tag = "push"
)]
#[get("/v1/webhooks")]
pub async fn list(state: web::Data<AppState>, bearer: Bearer, params: web::Query<PageParams>) -> AppResult<HttpResponse> {
    let page = params.by_id()?;
    let rows = as_actor(&state, bearer, ADMIN, move |conn, _| store::webhooks::list(conn, page)).await?;
    Ok(HttpResponse::Ok().json(Paged::of(rows, page.limit, |w| id_cursor(w.id), WebhookOut::from)))
}

/// One subscription.
#[utoipa::path(
    operation_id = "getWebhook",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = WebhookOut, headers(("ETag" = String))), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])),
    tag = "push"
)]
#[get("/v1/webhooks/{id}")]
pub async fn read(state: web::Data<AppState>, bearer: Bearer, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let w = as_actor(&state, bearer, ADMIN, move |conn, _| store::webhooks::get(conn, id)).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("etag", etag(w.version)))
        .json(WebhookOut::from(w)))
}

/// Pause (`{"status": "paused"}`), resume (`{"status": "active"}`, also
/// after the server disabled it: delivery resumes where it stopped), or
/// change the url, description, event types or filter (JSON Merge Patch).
#[utoipa::path(
    operation_id = "updateWebhook",
    request_body(content = WebhookPatchInput, content_type = "application/merge-patch+json"),
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "the ETag you read")),
    responses(
        (status = 200, body = WebhookOut, headers(("ETag" = String), ("Log-Seq" = i64))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem),
    ),
    security(("bearer" = [])),
    tag = "push"
)]
#[patch("/v1/webhooks/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    bearer: Bearer,
    id: web::Path<Uuid>,
    body: JsonBody<WebhookPatchInput>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let expected = required_if_match(&req)?;
    let (patch, reason) = WebhookPatch::parse(body.value, state.config.webhooks.allow_private)?;
    write(&state, bearer, ADMIN, move |conn, actor| {
        changed(
            store::webhooks::update(conn, actor, id, expected, &patch, reason.as_deref())?,
            WebhookOut::from,
        )
    })
    .await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonInput {
    pub reason: Option<String>,
}

/// Deactivate a subscription for good: nothing more is sent; its record,
/// revisions and deliveries stay.
#[utoipa::path(
    operation_id = "deleteWebhook",
    request_body(content = Option<ReasonInput>),
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses(
        (status = 200, body = WebhookOut, headers(("ETag" = String), ("Log-Seq" = i64))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 412, body = Problem),
    ),
    security(("bearer" = [])),
    tag = "push"
)]
#[delete("/v1/webhooks/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    req: HttpRequest,
    bearer: Bearer,
    id: web::Path<Uuid>,
    body: OptionalJsonBody<ReasonInput>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let expected = if_match(&req)?;
    let reason = fields::reason(body.0.value.reason.as_deref()).map_err(|e| AppError::invalid(vec![e]))?;
    write(&state, bearer, ADMIN, move |conn, actor| {
        if let Some(v) = expected {
            store::check_version("webhook subscription", store::webhooks::get(conn, id)?.version, Some(v))?;
        }
        changed(store::webhooks::delete(conn, actor, id, reason.as_deref())?, WebhookOut::from)
    })
    .await
}

/// A new signing secret (in the response, once). The old secret keeps
/// signing beside it for CLAIMLEDGER_WEBHOOKS_SECRET_GRACE_S: deliveries
/// carry one `v1,` signature per secret meanwhile.
#[utoipa::path(
    operation_id = "rotateWebhookSecret",
    request_body(content = Option<ReasonInput>),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = WebhookOut, headers(("ETag" = String), ("Log-Seq" = i64))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
    ),
    security(("bearer" = [])),
    tag = "push"
)]
#[post("/v1/webhooks/{id}/rotate-secret")]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    bearer: Bearer,
    id: web::Path<Uuid>,
    body: OptionalJsonBody<ReasonInput>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let reason = fields::reason(body.0.value.reason.as_deref()).map_err(|e| AppError::invalid(vec![e]))?;
    let grace = state.config.webhooks.secret_grace;
    write(&state, bearer, ADMIN, move |conn, actor| {
        changed(
            store::webhooks::rotate_secret(conn, actor, id, grace, reason.as_deref())?,
            with_secret,
        )
    })
    .await
}

/// What a test message came to.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestResult {
    pub delivered: bool,
    pub message_id: String,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub latency_ms: i32,
}

/// Send a `webhook.test` message now, signed like every event, and say
/// what the receiver answered (also recorded among the deliveries). It is
/// not a feed event: it does not wait for, or hold up, the events.
#[utoipa::path(
    operation_id = "testWebhook",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = TestResult),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
    ),
    security(("bearer" = [])),
    tag = "push"
)]
#[post("/v1/webhooks/{id}/test")]
pub async fn test(state: web::Data<AppState>, bearer: Bearer, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let (w, keys) = as_actor(&state, bearer, ADMIN, move |conn, _| store::webhooks::outbox::for_test(conn, id)).await?;
    let sender = state.webhook_sender.clone();
    let message_id = format!("msg_test_{}", Uuid::now_v7().simple());
    let body = serde_json::to_vec(&serde_json::json!({
        "type": TEST_EVENT,
        "timestamp": chrono::Utc::now(),
        "data": {"webhook_id": w.id},
    }))
    .map_err(AppError::internal)?;
    let attempt = sender.send(&w.url, &keys, &message_id, TEST_EVENT, body).await;
    let recorded = attempt.clone();
    with_conn(&state, move |conn| store::webhooks::outbox::record_test(conn, id, &recorded)).await?;
    Ok(HttpResponse::Ok().json(TestResult {
        delivered: attempt.delivered(),
        message_id: attempt.message_id,
        status_code: attempt.status_code,
        error: attempt.error,
        latency_ms: attempt.latency_ms,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReplayParams {
    /// A feed cursor (`cursor` of a feed item or event): the events after it are sent again.
    pub from_cursor: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayResult {
    /// Delivery resumes after this cursor.
    pub from_cursor: String,
}

/// Send the events after `from_cursor` again, in order (they keep their
/// `webhook-id`, so a receiver can skip what it has).
#[utoipa::path(
    operation_id = "replayWebhook",
    params(("id" = Uuid, Path), ReplayParams),
    responses(
        (status = 202, body = ReplayResult),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = [])),
    tag = "push"
)]
#[post("/v1/webhooks/{id}/replay")]
pub async fn replay(
    state: web::Data<AppState>,
    bearer: Bearer,
    id: web::Path<Uuid>,
    params: web::Query<ReplayParams>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let from = FeedCursor::parse(&params.from_cursor)
        .map_err(|e| AppError::field("from_cursor", e.message))?
        .0;
    let from = as_actor(&state, bearer, ADMIN, move |conn, _| store::webhooks::replay(conn, id, from)).await?;
    Ok(HttpResponse::Accepted().json(ReplayResult {
        from_cursor: FeedCursor(from).token(),
    }))
}

/// Every attempt to deliver, newest first: event, status code, error,
/// latency, and when the next attempt is due.
#[utoipa::path(
    operation_id = "listWebhookDeliveries",
    params(("id" = Uuid, Path), PageParams),
    responses(
        (status = 200, body = Paged<Delivery>),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = [])),
    tag = "push"
)]
#[get("/v1/webhooks/{id}/deliveries")]
pub async fn deliveries(
    state: web::Data<AppState>,
    bearer: Bearer,
    id: web::Path<Uuid>,
    params: web::Query<PageParams>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let limit = crate::model::paging::limit(params.limit, 20);
    let before = params.cursor.as_deref().map(SeqCursor::parse).transpose();
    let (limit, before) = crate::all_fields!(limit, before)?;
    let rows = as_actor(&state, bearer, ADMIN, move |conn, _| {
        store::webhooks::deliveries(conn, id, before.map(|c| c.0), limit)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Paged::of(rows, limit, |d| SeqCursor(d.id).token(), |d| d)))
}
