//! /v1/claimants: who makes claims, as records (editors create and edit
//! them; any staff account reads them).

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use uuid::Uuid;

use super::json::JsonBody;
use super::paging::{PageParams, Paged, id_cursor};
use super::problem::Problem;
use super::write::{changed, created, etag, post, required_if_match, write};
use super::{Allow, AppState, Bearer, as_actor};
use crate::error::AppResult;
use crate::model::Role;
use crate::model::claimant::{ClaimantInput, ClaimantOut, ClaimantPatch, ClaimantPatchInput, NewClaimant};
use crate::store;

/// Record a claimant: a person or an organisation.
#[utoipa::path(
    operation_id = "createClaimant",
    request_body = ClaimantInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "retries with the same key return the first response")),
    responses(
        (status = 201, body = ClaimantOut, headers(("Location" = String), ("ETag" = String), ("Log-Seq" = i64))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem, description = "a claimant of that name exists"), (status = 422, body = Problem),
    ),
    security(("bearer" = [])),
    tag = "claims"
)]
#[post("/v1/claimants")]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    bearer: Bearer,
    body: JsonBody<ClaimantInput>,
) -> AppResult<HttpResponse> {
    let (new, reason) = NewClaimant::parse(&body.value)?;
    post(
        &state,
        &req,
        bearer,
        Allow::AnyOf(&[Role::Editor]),
        &body.raw,
        move |conn, actor| {
            let c = store::claimants::create(conn, actor, &new, reason.as_deref())?;
            created(c, |id| format!("/v1/claimants/{id}"), ClaimantOut::from)
        },
    )
    .await
}

/// Claimants, in the order they were recorded.
#[utoipa::path(
    operation_id = "listClaimants",
    params(PageParams),
    responses((status = 200, body = Paged<ClaimantOut>), (status = 401, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])),
    tag = "claims"
)]
#[get("/v1/claimants")]
pub async fn list(state: web::Data<AppState>, bearer: Bearer, params: web::Query<PageParams>) -> AppResult<HttpResponse> {
    let page = params.by_id()?;
    let rows = as_actor(&state, bearer, Allow::Staff, move |conn, _| store::claimants::list(conn, page)).await?;
    Ok(HttpResponse::Ok().json(Paged::of(rows, page.limit, |c| id_cursor(c.id), ClaimantOut::from)))
}

/// One claimant.
#[utoipa::path(
    operation_id = "getClaimant",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ClaimantOut, headers(("ETag" = String))), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])),
    tag = "claims"
)]
#[get("/v1/claimants/{id}")]
pub async fn read(state: web::Data<AppState>, bearer: Bearer, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let c = as_actor(&state, bearer, Allow::Staff, move |conn, _| store::claimants::get(conn, id)).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("etag", etag(c.version)))
        .json(ClaimantOut::from(c)))
}

/// Edit a claimant with a JSON Merge Patch. A new name is carried to the
/// claims that name it (each a revision).
#[utoipa::path(
    operation_id = "updateClaimant",
    request_body(content = ClaimantPatchInput, content_type = "application/merge-patch+json"),
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "the ETag you read")),
    responses(
        (status = 200, body = ClaimantOut, headers(("ETag" = String), ("Log-Seq" = i64))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem),
    ),
    security(("bearer" = [])),
    tag = "claims"
)]
#[patch("/v1/claimants/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    bearer: Bearer,
    id: web::Path<Uuid>,
    body: JsonBody<ClaimantPatchInput>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let expected = required_if_match(&req)?;
    let (patch, reason) = ClaimantPatch::parse(body.value)?;
    write(&state, bearer, Allow::AnyOf(&[Role::Editor]), move |conn, actor| {
        changed(
            store::claimants::update(conn, actor, id, expected, &patch, reason.as_deref())?,
            ClaimantOut::from,
        )
    })
    .await
}
