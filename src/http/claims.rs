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
use crate::error::{AppError, AppResult, Problem};
use crate::model::Role;
use crate::model::claim::{ClaimInput, ClaimOut, ClaimPatch, ClaimPatchInput, NewClaim};
use crate::store::audit::HistoryEntry;
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AsOfParams {
    /// RFC 3339: the claim as it stood at that moment (auditors).
    pub as_of: Option<String>,
    /// The claim as it stood when the log's head was at this seq (auditors).
    pub at_seq: Option<i64>,
}

/// One claim with its appearances, evidence and verdicts (drafts included);
/// with `as_of` or `at_seq`, exactly as they stood then (auditor or admin).
#[utoipa::path(
    params(("id" = Uuid, Path), AsOfParams),
    responses(
        (status = 200, body = ClaimOut, headers(("ETag" = String), ("X-As-Of-Seq" = Option<i64>))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem, description = "no such claim (or not yet, as of then)"), (status = 422, body = Problem),
    ),
    security(("bearer" = [])),
    tag = "claims"
)]
#[get("/v1/claims/{id}")]
pub async fn read(
    state: web::Data<AppState>,
    bearer: Bearer,
    id: web::Path<Uuid>,
    params: web::Query<AsOfParams>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let as_of = match (&params.as_of, params.at_seq) {
        (Some(_), Some(_)) => return Err(AppError::field("at_seq", "give as_of or at_seq, not both")),
        (Some(t), None) => Some(AsOf::Time(
            super::revisions::rfc3339("as_of", t).map_err(|e| AppError::invalid(vec![e]))?,
        )),
        (None, Some(seq)) if seq < 0 => return Err(AppError::field("at_seq", "must be ≥ 0")),
        (None, Some(seq)) => Some(AsOf::Seq(seq)),
        (None, None) => None,
    };
    let Some(as_of) = as_of else {
        let family = as_actor(&state, bearer, Allow::Staff, move |conn, _| store::claims::family(conn, id)).await?;
        return Ok(HttpResponse::Ok()
            .insert_header(("etag", etag(family.claim.version)))
            .json(staff_view(family)));
    };
    let (seq, family) = as_actor(&state, bearer, super::revisions::AUDITORS, move |conn, _| {
        let seq = match as_of {
            AsOf::Seq(seq) => seq,
            AsOf::Time(t) => crate::ledger::asof::seq_at_time(conn, t)?,
        };
        let family =
            store::audit::claim_at(conn, id, seq)?.ok_or_else(|| AppError::NotFound(format!("claim {id} did not exist at seq {seq}")))?;
        Ok((seq, family))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("etag", etag(family.claim.version)))
        .insert_header(("x-as-of-seq", seq.to_string()))
        .json(staff_view(family)))
}

enum AsOf {
    Seq(i64),
    Time(chrono::DateTime<chrono::Utc>),
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// 1–100, default 100.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Every revision of the claim and of everything hanging off it, in log
/// order, each with the RFC 6902 JSON Patch from that entity's previous
/// version (auditor or admin).
#[utoipa::path(
    params(("id" = Uuid, Path), HistoryParams),
    responses(
        (status = 200, body = Paged<HistoryEntry>), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = [])),
    tag = "audit"
)]
#[get("/v1/claims/{id}/history")]
pub async fn history(
    state: web::Data<AppState>,
    bearer: Bearer,
    id: web::Path<Uuid>,
    params: web::Query<HistoryParams>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let limit = super::revisions::limit(params.limit, 100)?;
    let after = super::revisions::seq_cursor(params.cursor.as_deref())?;
    let entries = as_actor(&state, bearer, super::revisions::AUDITORS, move |conn, _| {
        store::audit::claim_history(conn, id, after, limit)
    })
    .await?;
    let next_cursor = (entries.len() as i64 == limit)
        .then(|| entries.last().map(|e| e.seq.to_string()))
        .flatten();
    Ok(HttpResponse::Ok().json(Paged {
        items: entries,
        next_cursor,
    }))
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
