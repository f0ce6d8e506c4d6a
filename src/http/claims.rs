//! /v1/claims: editors record and edit claims; any staff account reads them.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::json::JsonBody;
use super::paging::{PageParams, Paged, id_cursor, seq_cursor};
use super::problem::Problem;
use super::write::{etag, post, required_if_match, stored, write};
use super::{Allow, AppState, Fresh, as_actor, as_actor_read, authenticated};
use crate::error::{AppError, AppResult};
use crate::http::Bearer;
use crate::model::Role;
use crate::model::claim::{ClaimInput, ClaimOut, ClaimPatch, ClaimPatchInput, NewClaim, SimilarClaim};
use crate::store::history::HistoryEntry;
use crate::store::{self, claims::ClaimFamily};

fn staff_view(f: ClaimFamily) -> ClaimOut {
    ClaimOut::staff(f.claim, f.claimant.as_ref(), f.appearances, f.evidence, f.verdicts)
}

/// Existing claims this like a new one, to merge instead of duplicating.
const SIMILAR_AT: f64 = 0.5;

/// Record a claim.
#[utoipa::path(operation_id = "createClaim", 
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
        &body.raw,
        move |conn, actor| {
            let c = store::claims::create(conn, actor, new, reason.as_deref())?;
            let (id, version) = (c.value.id, c.value.version);
            let family = store::claims::family(conn, id)?;
            let similar = store::claims::similar::claims(conn, &family.claim.statement, 5, Some(id))?
                .into_iter()
                .filter(|s| s.score >= SIMILAR_AT)
                .map(|s| {
                    let f = store::claims::family(conn, s.id)?;
                    Ok(SimilarClaim {
                        score: s.score,
                        claim: ClaimOut::public(f.claim, f.claimant.as_ref(), f.appearances),
                    })
                })
                .collect::<AppResult<Vec<_>>>()?;
            let mut out = staff_view(family);
            out.similar = Some(similar);
            stored(StatusCode::CREATED, Some(format!("/v1/claims/{id}")), version, c.map(|_| out))
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
#[utoipa::path(operation_id = "listClaims", 
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
    .by_id()?;
    let filter = store::claims::ClaimFilter {
        claimant: params.claimant,
        tag: params.tag,
        status: params.status,
    };
    let rows = as_actor(&state, bearer, Allow::Staff, move |conn, _| {
        store::claims::list(conn, &filter, page)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Paged::of(
        rows,
        page.limit,
        |(c, _)| id_cursor(c.id),
        |(c, r)| ClaimOut::public(c, r.as_ref(), vec![]),
    )))
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
#[utoipa::path(operation_id = "getClaim", 
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
    req: HttpRequest,
    bearer: Bearer,
    id: web::Path<Uuid>,
    params: web::Query<AsOfParams>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let as_of = match (&params.as_of, params.at_seq) {
        (Some(_), Some(_)) => return Err(AppError::field("at_seq", "give as_of or at_seq, not both")),
        (Some(t), None) => Some(AsOf::Time(
            crate::model::fields::rfc3339("as_of", t).map_err(|e| AppError::invalid(vec![e]))?,
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
    // A claim as of a seq the log has passed never changes: computed once, kept.
    let as_of_page = |seq: i64, page: &super::cache::CachedPage| {
        HttpResponse::Ok()
            .insert_header(("etag", page.etag.clone()))
            .insert_header(("x-as-of-seq", seq.to_string()))
            .content_type("application/json")
            .body(page.body.clone())
    };
    if let AsOf::Seq(seq) = as_of
        && let Some(page) = state.cache.immutable(&format!("asof {id} {seq}"))
    {
        authenticated(&state, bearer, super::revisions::AUDITORS).await?;
        return Ok(as_of_page(seq, &page));
    }
    let fresh = match as_of {
        AsOf::Seq(seq) => Fresh::AtLeast(seq.min(state.log.head())),
        AsOf::Time(_) => Fresh::Applied,
    };
    let (seq, family) = as_actor_read(&state, &req, bearer, super::revisions::AUDITORS, fresh, move |conn| {
        let seq = match as_of {
            AsOf::Seq(seq) => seq,
            AsOf::Time(t) => store::log::seq_at_time(conn, t)?,
        };
        let family =
            store::history::claim_at(conn, id, seq)?.ok_or_else(|| AppError::NotFound(format!("claim {id} did not exist at seq {seq}")))?;
        Ok((seq, family))
    })
    .await?;
    let page = super::cache::CachedPage {
        etag: etag(family.claim.version),
        body: actix_web::web::Bytes::from(serde_json::to_vec(&staff_view(family)).map_err(AppError::internal)?),
    };
    let response = as_of_page(seq, &page);
    if seq <= state.log.head() {
        state.cache.keep_immutable(format!("asof {id} {seq}"), std::sync::Arc::new(page));
    }
    Ok(response)
}

#[derive(Clone, Copy)]
enum AsOf {
    Seq(i64),
    Time(chrono::DateTime<chrono::Utc>),
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// 1–100, default 20.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Every revision of the claim and of everything hanging off it, in log
/// order, each with the RFC 6902 JSON Patch from that entity's previous
/// version (auditor or admin).
#[utoipa::path(operation_id = "getClaimHistory", 
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
    req: HttpRequest,
    bearer: Bearer,
    id: web::Path<Uuid>,
    params: web::Query<HistoryParams>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let params = params.into_inner();
    let (after, limit) = PageParams {
        limit: params.limit,
        cursor: params.cursor,
    }
    .by_seq(20)?;
    // A full page of history never changes (later revisions come after
    // it): computed once, kept.
    let key = format!("history {id} {after} {limit}");
    if let Some(page) = state.cache.immutable(&key) {
        authenticated(&state, bearer, super::revisions::AUDITORS).await?;
        return Ok(HttpResponse::Ok().content_type("application/json").body(page.body.clone()));
    }
    let entries = as_actor_read(&state, &req, bearer, super::revisions::AUDITORS, Fresh::Reader, move |conn| {
        store::history::claim_history(conn, id, after, limit)
    })
    .await?;
    let full = entries.len() as i64 == limit;
    let body = actix_web::web::Bytes::from(
        serde_json::to_vec(&Paged::of(entries, limit, |e| seq_cursor(e.seq), |e| e)).map_err(AppError::internal)?,
    );
    if full {
        state.cache.keep_immutable(
            key,
            std::sync::Arc::new(super::cache::CachedPage {
                etag: String::new(),
                body: body.clone(),
            }),
        );
    }
    Ok(HttpResponse::Ok().content_type("application/json").body(body))
}

/// Edit a claim with a JSON Merge Patch; `status: retired` retires it.
#[utoipa::path(operation_id = "updateClaim", 
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
    write(&state, bearer, Allow::AnyOf(&[Role::Editor]), move |conn, actor| {
        let family = store::claims::update(conn, actor, id, expected, &patch, reason.as_deref())?;
        let version = family.value.claim.version;
        stored(StatusCode::OK, None, version, family.map(staff_view))
    })
    .await
}
