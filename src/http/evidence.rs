//! Evidence: /v1/claims/{id}/evidence and /v1/evidence/{id}.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use uuid::Uuid;

use super::json::JsonBody;
use super::problem::Problem;
use super::write::{changed, created, etag, post, required_if_match, write};
use super::{Allow, AppState, as_actor};
use crate::error::AppResult;
use crate::http::Bearer;
use crate::model::Role;
use crate::model::evidence::{EvidenceInput, EvidenceOut, EvidencePatch, EvidencePatchInput, NewEvidence};
use crate::store;

/// Add evidence to a claim: a passage of a stored article or an external source.
#[utoipa::path(operation_id = "createEvidence", 
    request_body = EvidenceInput,
    params(("id" = Uuid, Path, description = "claim id"), ("Idempotency-Key" = Option<String>, Header)),
    responses(
        (status = 201, body = EvidenceOut, headers(("Location" = String), ("ETag" = String))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = [])),
    tag = "evidence"
)]
#[post("/v1/claims/{id}/evidence")]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    bearer: Bearer,
    id: web::Path<Uuid>,
    body: JsonBody<EvidenceInput>,
) -> AppResult<HttpResponse> {
    let claim_id = id.into_inner();
    let (new, reason) = NewEvidence::parse(&body.value)?;
    post(
        &state,
        &req,
        bearer,
        Allow::AnyOf(&[Role::Editor]),
        &body.raw,
        move |conn, actor| {
            let e = store::evidence::add(conn, actor, claim_id, &new, reason.as_deref())?;
            created(e, |id| format!("/v1/evidence/{id}"), EvidenceOut::from)
        },
    )
    .await
}

/// One piece of evidence.
#[utoipa::path(operation_id = "getEvidence", 
    params(("id" = Uuid, Path)),
    responses((status = 200, body = EvidenceOut, headers(("ETag" = String))), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])),
    tag = "evidence"
)]
#[get("/v1/evidence/{id}")]
pub async fn read(state: web::Data<AppState>, bearer: Bearer, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let e = as_actor(&state, bearer, Allow::Staff, move |conn, _| store::evidence::get(conn, id)).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("etag", etag(e.version)))
        .json(EvidenceOut::from(e)))
}

/// Edit stance or summary, or withdraw (`status: withdrawn`), with a JSON Merge Patch.
#[utoipa::path(operation_id = "updateEvidence", 
    request_body(content = EvidencePatchInput, content_type = "application/merge-patch+json"),
    params(("id" = Uuid, Path), ("If-Match" = String, Header)),
    responses(
        (status = 200, body = EvidenceOut, headers(("ETag" = String))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "cited by a verdict in review or published"),
        (status = 412, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem),
    ),
    security(("bearer" = [])),
    tag = "evidence"
)]
#[patch("/v1/evidence/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    bearer: Bearer,
    id: web::Path<Uuid>,
    body: JsonBody<EvidencePatchInput>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let expected = required_if_match(&req)?;
    let (patch, reason) = EvidencePatch::parse(body.value)?;
    write(&state, bearer, Allow::AnyOf(&[Role::Editor]), move |conn, actor| {
        changed(
            store::evidence::update(conn, actor, id, expected, &patch, reason.as_deref())?,
            EvidenceOut::from,
        )
    })
    .await
}
