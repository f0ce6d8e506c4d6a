//! Verdicts and their workflow: /v1/claims/{id}/verdicts, /v1/verdicts/{id}
//! and its submit / publish / reject / withdraw actions.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use diesel::pg::PgConnection;
use uuid::Uuid;

use super::json::{JsonBody, OptionalJsonBody};
use super::problem::Problem;
use super::write::{changed, created, etag, if_match, post, required_if_match, write};
use super::{Allow, AppState, as_actor};
use crate::error::{AppError, AppResult};
use crate::http::Bearer;
use crate::model::fields;
use crate::model::verdict::{NewVerdict, TransitionInput, VerdictInput, VerdictOut, VerdictPatch, VerdictPatchInput};
use crate::model::{Actor, Role, Verdict};
use crate::store::{self, Committed};

/// Draft a verdict on a claim, citing its evidence.
#[utoipa::path(operation_id = "createVerdict", 
    request_body = VerdictInput,
    params(("id" = Uuid, Path, description = "claim id"), ("Idempotency-Key" = Option<String>, Header)),
    responses(
        (status = 201, body = VerdictOut, headers(("Location" = String), ("ETag" = String))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = [])),
    tag = "verdicts"
)]
#[post("/v1/claims/{id}/verdicts")]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    bearer: Bearer,
    id: web::Path<Uuid>,
    body: JsonBody<VerdictInput>,
) -> AppResult<HttpResponse> {
    let claim_id = id.into_inner();
    let (new, reason) = NewVerdict::parse(&body.value)?;
    post(
        &state,
        &req,
        bearer,
        Allow::AnyOf(&[Role::Editor]),
        &body.raw,
        move |conn, actor| {
            let v = store::verdicts::create_draft(conn, actor, claim_id, &new, reason.as_deref())?;
            created(v, |id| format!("/v1/verdicts/{id}"), VerdictOut::from)
        },
    )
    .await
}

/// One verdict, in whatever state.
#[utoipa::path(operation_id = "getVerdict", 
    params(("id" = Uuid, Path)),
    responses((status = 200, body = VerdictOut, headers(("ETag" = String))), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])),
    tag = "verdicts"
)]
#[get("/v1/verdicts/{id}")]
pub async fn read(state: web::Data<AppState>, bearer: Bearer, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let v = as_actor(&state, bearer, Allow::Staff, move |conn, _| store::verdicts::get(conn, id)).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("etag", etag(v.version)))
        .json(VerdictOut::from(v)))
}

/// Edit a draft with a JSON Merge Patch. Only drafts can be edited.
#[utoipa::path(operation_id = "updateVerdict", 
    request_body(content = VerdictPatchInput, content_type = "application/merge-patch+json"),
    params(("id" = Uuid, Path), ("If-Match" = String, Header)),
    responses(
        (status = 200, body = VerdictOut, headers(("ETag" = String))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "not a draft"), (status = 412, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem),
    ),
    security(("bearer" = [])),
    tag = "verdicts"
)]
#[patch("/v1/verdicts/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    bearer: Bearer,
    id: web::Path<Uuid>,
    body: JsonBody<VerdictPatchInput>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let expected = required_if_match(&req)?;
    let (patch, reason) = VerdictPatch::parse(body.value)?;
    write(&state, bearer, Allow::AnyOf(&[Role::Editor]), move |conn, actor| {
        changed(
            store::verdicts::update_draft(conn, actor, id, expected, &patch, reason.as_deref())?,
            VerdictOut::from,
        )
    })
    .await
}

/// What every workflow step may answer (documented once for the four).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
enum TransitionResponses {
    #[response(status = 200, description = "the verdict after the step")]
    Ok(VerdictOut),
    #[response(status = 401, description = "not authenticated")]
    Unauthorized(Problem),
    #[response(status = 403, description = "the role is missing, or this is your own verdict")]
    Forbidden(Problem),
    #[response(status = 404, description = "no such verdict")]
    NotFound(Problem),
    #[response(status = 409, description = "the verdict is not in a state this step applies to")]
    Conflict(Problem),
    #[response(status = 412, description = "If-Match names an older version")]
    PreconditionFailed(Problem),
    #[response(status = 422, description = "invalid body (withdraw: reason missing)")]
    Invalid(Problem),
}

type Step = fn(&mut PgConnection, &Actor, Uuid, Option<i32>, Option<&str>) -> AppResult<Committed<Verdict>>;

/// A workflow step: optional If-Match (checked when sent), optional reason,
/// Idempotency-Key honoured.
async fn transition(
    state: web::Data<AppState>,
    req: HttpRequest,
    bearer: Bearer,
    id: Uuid,
    body: OptionalJsonBody<TransitionInput>,
    allow: Allow,
    step: Step,
) -> AppResult<HttpResponse> {
    let expected = if_match(&req)?;
    let reason = fields::reason(body.0.value.reason.as_deref()).map_err(|e| AppError::invalid(vec![e]))?;
    post(&state, &req, bearer, allow, &body.0.raw, move |conn, actor| {
        changed(step(conn, actor, id, expected, reason.as_deref())?, VerdictOut::from)
    })
    .await
}

/// Send a draft to review (editor).
#[utoipa::path(operation_id = "submitVerdict", 
    request_body(content = Option<TransitionInput>, description = "optional"),
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header)),
    responses(TransitionResponses),
    security(("bearer" = [])),
    tag = "verdicts"
)]
#[post("/v1/verdicts/{id}/submit")]
pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    bearer: Bearer,
    id: web::Path<Uuid>,
    body: OptionalJsonBody<TransitionInput>,
) -> AppResult<HttpResponse> {
    transition(
        state,
        req,
        bearer,
        id.into_inner(),
        body,
        Allow::AnyOf(&[Role::Editor]),
        store::verdicts::submit,
    )
    .await
}

/// Publish a verdict in review (reviewer, not its author). The claim's
/// previously published verdict is superseded.
#[utoipa::path(operation_id = "publishVerdict", 
    request_body(content = Option<TransitionInput>, description = "optional"),
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header)),
    responses(TransitionResponses),
    security(("bearer" = [])),
    tag = "verdicts"
)]
#[post("/v1/verdicts/{id}/publish")]
pub async fn publish(
    state: web::Data<AppState>,
    req: HttpRequest,
    bearer: Bearer,
    id: web::Path<Uuid>,
    body: OptionalJsonBody<TransitionInput>,
) -> AppResult<HttpResponse> {
    transition(
        state,
        req,
        bearer,
        id.into_inner(),
        body,
        Allow::AnyOf(&[Role::Reviewer]),
        store::verdicts::publish,
    )
    .await
}

/// Send a verdict in review back to draft (reviewer, not its author).
#[utoipa::path(operation_id = "rejectVerdict", 
    request_body(content = Option<TransitionInput>, description = "optional"),
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header)),
    responses(TransitionResponses),
    security(("bearer" = [])),
    tag = "verdicts"
)]
#[post("/v1/verdicts/{id}/reject")]
pub async fn reject(
    state: web::Data<AppState>,
    req: HttpRequest,
    bearer: Bearer,
    id: web::Path<Uuid>,
    body: OptionalJsonBody<TransitionInput>,
) -> AppResult<HttpResponse> {
    transition(
        state,
        req,
        bearer,
        id.into_inner(),
        body,
        Allow::AnyOf(&[Role::Reviewer]),
        store::verdicts::reject,
    )
    .await
}

/// Withdraw a verdict (reviewer, not its author); a reason is required.
#[utoipa::path(operation_id = "withdrawVerdict", 
    request_body = TransitionInput,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header)),
    responses(TransitionResponses),
    security(("bearer" = [])),
    tag = "verdicts"
)]
#[post("/v1/verdicts/{id}/withdraw")]
pub async fn withdraw(
    state: web::Data<AppState>,
    req: HttpRequest,
    bearer: Bearer,
    id: web::Path<Uuid>,
    body: OptionalJsonBody<TransitionInput>,
) -> AppResult<HttpResponse> {
    transition(
        state,
        req,
        bearer,
        id.into_inner(),
        body,
        Allow::AnyOf(&[Role::Reviewer]),
        store::verdicts::withdraw,
    )
    .await
}
