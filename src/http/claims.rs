//! /v1/claims: editors record and edit claims; any staff account reads them.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::json::JsonBody;
use super::write::{PageParams, Paged, etag, paged, post, required_if_match, response};
use super::{Allow, AppState, as_actor};
use crate::auth::Bearer;
use crate::error::{AppResult, Problem};
use crate::model::Role;
use crate::model::claim::{ClaimInput, ClaimOut, ClaimPatch, ClaimPatchInput, NewClaim};
use crate::store::{self, claims::ClaimFamily};

fn staff_view(f: ClaimFamily) -> ClaimOut {
    ClaimOut::staff(f.claim, f.appearances, f.evidence, f.verdicts)
}

/// Record a claim.
#[utoipa::path(
    request_body = ClaimInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "retries with the same key return the first response")),
    responses(
        (status = 201, body = ClaimOut, headers(("Location" = String), ("ETag" = String))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = [])),
    tag = "claims"
)]
#[post("/v1/claims")]
pub async fn create(state: web::Data<AppState>, req: HttpRequest, bearer: Bearer, body: JsonBody<ClaimInput>) -> AppResult<HttpResponse> {
    let (new, reason) = NewClaim::parse(&body.value)?;
    post(
        &state,
        &req,
        bearer,
        Allow::AnyOf(&[Role::Editor]),
        body.digest,
        move |conn, actor| {
            let c = store::claims::create(conn, actor, new, reason.as_deref())?;
            let location = format!("/v1/claims/{}", c.id);
            response(StatusCode::CREATED, &ClaimOut::staff(c, vec![], vec![], vec![]), Some(location))
        },
    )
    .await
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClaimListParams {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// Exact claimant.
    pub claimant: Option<String>,
    pub tag: Option<String>,
    /// active | retired
    pub status: Option<String>,
}

/// Claims, newest first (without their children; read one claim for those).
#[utoipa::path(
    params(ClaimListParams),
    responses((status = 200, body = Paged<ClaimOut>), (status = 401, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])),
    tag = "claims"
)]
#[get("/v1/claims")]
pub async fn list(state: web::Data<AppState>, bearer: Bearer, params: web::Query<ClaimListParams>) -> AppResult<HttpResponse> {
    let params = params.into_inner();
    let page = PageParams {
        limit: params.limit,
        cursor: params.cursor,
    }
    .page()?;
    let filter = store::claims::ClaimFilter {
        claimant: params.claimant,
        tag: params.tag,
        status: params.status,
    };
    let rows = as_actor(&state, bearer, Allow::Staff, move |conn, _| {
        store::claims::list(conn, &filter, page)
    })
    .await?;
    Ok(HttpResponse::Ok().json(paged(rows, page.limit, |c| c.id, |c| ClaimOut::public(c, vec![]))))
}

/// One claim with its appearances, evidence and verdicts (drafts included).
#[utoipa::path(
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = ClaimOut, headers(("ETag" = String))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem),
    ),
    security(("bearer" = [])),
    tag = "claims"
)]
#[get("/v1/claims/{id}")]
pub async fn read(state: web::Data<AppState>, bearer: Bearer, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let family = as_actor(&state, bearer, Allow::Staff, move |conn, _| store::claims::family(conn, id)).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("etag", etag(family.claim.version)))
        .json(staff_view(family)))
}

/// Edit a claim with a JSON Merge Patch; `status: retired` retires it.
#[utoipa::path(
    request_body(content = ClaimPatchInput, content_type = "application/merge-patch+json"),
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = "the ETag you read")),
    responses(
        (status = 200, body = ClaimOut, headers(("ETag" = String))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 412, body = Problem, description = "someone else changed it first"),
        (status = 422, body = Problem), (status = 428, body = Problem, description = "If-Match missing"),
    ),
    security(("bearer" = [])),
    tag = "claims"
)]
#[patch("/v1/claims/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    bearer: Bearer,
    id: web::Path<Uuid>,
    body: JsonBody<ClaimPatchInput>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let expected = required_if_match(&req)?;
    let (patch, reason) = ClaimPatch::parse(body.value)?;
    let family = as_actor(&state, bearer, Allow::AnyOf(&[Role::Editor]), move |conn, actor| {
        store::claims::update(conn, actor, id, expected, &patch, reason.as_deref())?;
        store::claims::family(conn, id)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("etag", etag(family.claim.version)))
        .json(staff_view(family)))
}
