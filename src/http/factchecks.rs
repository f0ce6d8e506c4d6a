//! /v1/factchecks: published fact checks for downstream sites, read without
//! an account — the list and search, one fact check (JSON or schema.org
//! ClaimReview), and the change feed. Every response carries an ETag and
//! Cache-Control and answers If-None-Match with 304; any origin may read
//! them (CORS), unlike the staff endpoints.

use actix_cors::Cors;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, guard, web};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use uuid::Uuid;

use super::paging::Paged;
use super::problem::Problem;
use super::{AppState, Fresh, with_read};
use crate::all_fields;
use crate::error::{AppError, AppResult};
use crate::model::digest::sha256;
use crate::model::factcheck::{ClaimReview, FactCheckFilter, FactCheckOut, FeedItem, FeedPage};
use serde_json::value::RawValue;
use std::sync::Arc;

use super::cache::{CachedDetail, CachedFactCheck, CachedPage};
use crate::model::paging::{self, FeedCursor, ListCursor};
use crate::store;
use actix_web::web::Bytes;

pub const JSON_LD: &str = "application/ld+json";
const JSON: &str = "application/json";

/// Public data, no cookies and no credentials: any origin may read it, and
/// scripts may see the validators.
pub fn public_cors() -> Cors {
    Cors::default()
        .allow_any_origin()
        .send_wildcard()
        .allowed_methods(["GET"])
        .allowed_headers([header::IF_NONE_MATCH, header::ACCEPT])
        .expose_headers([header::ETAG, super::middleware::REQUEST_ID])
        .max_age(86_400)
}

/// CORS preflights (OPTIONS) on the public paths. The GET handlers'
/// resources match GET only, so preflights arrive here, where the CORS
/// middleware answers them. Not an API operation, so not in the OpenAPI document.
pub fn preflight(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource([
            "/v1/factchecks",
            "/v1/factchecks/{rest:.*}",
            "/v1/log/checkpoint",
            "/v1/log/checkpoints",
            "/v1/log/key",
            "/v1/log/tile/{rest:.*}",
            "/v1/log/proof/{rest:.*}",
            "/v1/revisions/{seq}/tlog-proof",
        ])
        .guard(guard::Options())
        .wrap(public_cors())
        .to(|| async { HttpResponse::NoContent().insert_header((header::ALLOW, "GET, OPTIONS")).finish() }),
    );
}

/// Whether If-None-Match names `etag` (weak comparison, RFC 9110 §13.1.2).
pub(super) fn client_has(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}

/// A public read: 304 without a body when the client's copy is current,
/// else the body; the validator and caching headers either way.
/// `negotiated`: the representation depends on Accept.
pub(super) fn cacheable(
    req: &HttpRequest,
    state: &AppState,
    etag: String,
    content_type: &'static str,
    negotiated: bool,
    body: impl FnOnce() -> AppResult<Bytes>,
) -> AppResult<HttpResponse> {
    let fresh = client_has(req, &etag);
    let mut response = if fresh { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    response.insert_header((header::ETAG, etag)).insert_header((
        header::CACHE_CONTROL,
        format!("public, max-age={}", state.config.public.cache_max_age),
    ));
    if negotiated {
        response.insert_header((header::VARY, "Accept"));
    }
    if fresh {
        return Ok(response.finish());
    }
    Ok(response.content_type(content_type).body(body()?))
}

fn json_bytes<T: Serialize>(value: &T) -> AppResult<Bytes> {
    serde_json::to_vec(value).map(Bytes::from).map_err(AppError::internal)
}

/// A published fact check: from memory, or (once per change) from its
/// derived document, then kept. A claim known not to be public is a 404
/// from memory too.
pub(super) async fn public_factcheck(state: &web::Data<AppState>, req: &HttpRequest, claim_id: Uuid) -> AppResult<Arc<CachedFactCheck>> {
    if let Some(found) = state.cache.factcheck(claim_id) {
        return found.ok_or_else(|| no_factcheck(claim_id));
    }
    let start = state.cache.read_start();
    let fetched = with_read(state, req, Fresh::Applied, move |conn| store::factchecks::document(conn, claim_id)).await;
    let (seq, body) = match fetched {
        Ok(doc) => doc,
        Err(AppError::NotFound(detail)) => {
            state.cache.keep_factcheck(start, claim_id, None);
            return Err(AppError::NotFound(detail));
        }
        Err(e) => return Err(e),
    };
    let cached = Arc::new(CachedFactCheck {
        seq,
        json: Bytes::from(body),
    });
    state.cache.keep_factcheck(start, claim_id, Some(cached.clone()));
    Ok(cached)
}

/// What a published fact check's page and ClaimReview render from: from
/// memory, or once per change from its derived aggregate, then kept.
/// (Call [`public_factcheck`] first: it answers for claims not public.)
pub(super) async fn public_detail(state: &web::Data<AppState>, req: &HttpRequest, claim_id: Uuid) -> AppResult<Arc<CachedDetail>> {
    if let Some(found) = state.cache.detail(claim_id) {
        return Ok(found);
    }
    let start = state.cache.read_start();
    let (seq, factcheck, aggregate_bytes) =
        with_read(state, req, Fresh::Applied, move |conn| store::factchecks::aggregate(conn, claim_id)).await?;
    let claimreview = json_bytes(&ClaimReview::of(&factcheck, &state.config.public.publisher()))?;
    let cached = Arc::new(CachedDetail {
        seq,
        factcheck: Arc::new(factcheck),
        claimreview,
        aggregate_bytes,
    });
    state.cache.keep_detail(start, claim_id, cached.clone());
    Ok(cached)
}

/// A claim that is not public: 301 to the claim it was merged into, with
/// `merged_into` in the body; otherwise the 404.
async fn moved_or(state: &web::Data<AppState>, req: &HttpRequest, claim_id: Uuid, detail: String) -> AppResult<HttpResponse> {
    let into = with_read(state, req, Fresh::Applied, move |conn| {
        store::factchecks::merged_into(conn, claim_id)
    })
    .await?;
    match into {
        Some(into) => Ok(HttpResponse::MovedPermanently()
            .insert_header((header::LOCATION, req.path().replacen(&claim_id.to_string(), &into.to_string(), 1)))
            .json(serde_json::json!({"claim_id": claim_id, "merged_into": into}))),
        None => Err(AppError::NotFound(detail)),
    }
}

fn no_factcheck(claim_id: Uuid) -> AppError {
    AppError::NotFound(format!("no published fact check for claim {claim_id}"))
}

/// A page of a list or of the feed: from memory, or built by `build` and kept.
pub(super) async fn page<F, Fut>(state: &web::Data<AppState>, key: String, kind: &str, build: F) -> AppResult<Arc<CachedPage>>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = AppResult<Bytes>>,
{
    if let Some(page) = state.cache.page(&key) {
        return Ok(page);
    }
    let start = state.cache.read_start();
    let body = build().await?;
    let page = Arc::new(CachedPage {
        etag: content_etag(kind, &body),
        body,
    });
    state.cache.keep_page(start, key, page.clone());
    Ok(page)
}

/// The validator of a list page: its content's hash, since a page changes
/// when any fact check on it changes, joins or leaves.
fn content_etag(kind: &str, body: &[u8]) -> String {
    format!("\"{kind}-{}\"", &hex::encode(sha256(body))[..32])
}

/// Whether Accept ranks application/ld+json above application/json.
/// Without Accept, or with wildcards only, the answer is JSON.
fn prefers_json_ld(req: &HttpRequest) -> bool {
    let (mut json_ld, mut json) = (None, None);
    let ranges = req
        .headers()
        .get_all(header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','));
    for range in ranges {
        let mut parts = range.split(';');
        let mime = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match mime.as_str() {
            JSON_LD => json_ld = Some(q),
            JSON => json = Some(q),
            _ => {}
        }
    }
    matches!(json_ld, Some(q) if q > 0.0 && q > json.unwrap_or(0.0))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FactCheckListParams {
    /// 1–100, default 20.
    pub limit: Option<i64>,
    /// From the previous page's `next_cursor` (with the same `q`).
    pub cursor: Option<String>,
    /// Full-text search over the statement, the claimant, and the verdict's
    /// headline and summary, in web-search syntax (words, "a phrase",
    /// -excluded, or); results by relevance, then newest.
    pub q: Option<String>,
    /// The claimant's whole name, in any case.
    pub claimant: Option<String>,
    /// true | mostly_true | half_true | mostly_false | false | misleading | missing_context | unproven
    pub rating: Option<String>,
    /// BCP 47; `en` also matches `en-GB`.
    pub language: Option<String>,
    /// Published at or after: RFC 3339, or a date (its start, UTC).
    pub published_since: Option<String>,
    /// Only claims that appear in this article.
    pub article_id: Option<Uuid>,
}

/// Published fact checks, newest first; with `q`, a full-text search by relevance.
#[utoipa::path(operation_id = "listFactChecks", 
    params(FactCheckListParams, ("If-None-Match" = Option<String>, Header)),
    responses(
        (status = 200, body = Paged<FactCheckOut>, headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "If-None-Match names the current ETag"),
        (status = 422, body = Problem),
    ),
    tag = "factchecks"
)]
#[get("/v1/factchecks", wrap = "public_cors()")]
pub async fn list(state: web::Data<AppState>, req: HttpRequest, params: web::Query<FactCheckListParams>) -> AppResult<HttpResponse> {
    let p = params.into_inner();
    let filter = FactCheckFilter::parse(
        p.q.as_deref(),
        p.claimant.as_deref(),
        p.rating.as_deref(),
        p.language.as_deref(),
        p.published_since.as_deref(),
        p.article_id,
    )?;
    let limit = paging::limit(p.limit, 20);
    let after = p.cursor.as_deref().map(|c| ListCursor::parse(c, filter.q.is_some())).transpose();
    let (limit, after) = all_fields!(limit, after)?;
    let key = format!("list {filter:?} {after:?} {limit}");
    let page = page(&state, key, "fl", || async {
        let page = with_read(&state, &req, Fresh::Applied, move |conn| {
            store::factchecks::list(conn, &filter, after, limit)
        })
        .await?;
        json_bytes(&Paged {
            items: page.items.into_iter().map(raw).collect::<AppResult<Vec<_>>>()?,
            next_cursor: page.next.map(|c| c.token()),
        })
    })
    .await?;
    cacheable(&req, &state, page.etag.clone(), JSON, false, || Ok(page.body.clone()))
}

/// Stored JSON, served as it is.
fn raw(json: String) -> AppResult<Box<RawValue>> {
    RawValue::from_string(json).map_err(AppError::internal)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedParams {
    /// A previous page's `next_cursor`, or an item's `cursor`; absent: from
    /// the start of the log.
    pub after: Option<String>,
    /// 1–100 items, default 20.
    pub limit: Option<i64>,
}

/// Every change to the public set in log order: `published`, `corrected`
/// (a new verdict superseded the old), `updated` (a published fact check
/// changed otherwise) and `withdrawn` (verdict withdrawn or claim retired;
/// `factcheck` is null). Each item carries the fact check as it stood after
/// the change. Resume with `after=next_cursor`: pages neither skip nor
/// repeat while writers append. A consumer applying published / corrected /
/// updated as upserts and withdrawn as deletes ends with the public set.
/// A verdict that is withdrawn is not served again, so the items that once
/// showed it are left out of later reads.
#[utoipa::path(operation_id = "getFactCheckFeed", 
    params(FeedParams, ("If-None-Match" = Option<String>, Header)),
    responses(
        (status = 200, body = FeedPage, headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "If-None-Match names the current ETag"),
        (status = 422, body = Problem),
    ),
    tag = "factchecks"
)]
#[get("/v1/factchecks/feed", wrap = "public_cors()")]
pub async fn feed(state: web::Data<AppState>, req: HttpRequest, params: web::Query<FeedParams>) -> AppResult<HttpResponse> {
    let p = params.into_inner();
    let after = p.after.as_deref().map(FeedCursor::parse).transpose();
    let limit = paging::limit(p.limit, 20);
    let (after, limit) = all_fields!(after, limit)?;
    let after = after.map_or(0, |c| c.0);
    let page = page(&state, format!("feed {after} {limit}"), "ff", || async {
        let changes = with_read(&state, &req, Fresh::Applied, move |conn| {
            store::factchecks::feed(conn, after, limit)
        })
        .await?;
        json_bytes(&FeedPage {
            items: changes
                .entries
                .into_iter()
                .map(|e| {
                    Ok(FeedItem {
                        cursor: FeedCursor(e.seq).token(),
                        change: e.change,
                        claim_id: e.claim_id,
                        factcheck: e.factcheck.map(raw).transpose()?,
                        merged_into: e.merged_into,
                    })
                })
                .collect::<AppResult<Vec<_>>>()?,
            next_cursor: FeedCursor(changes.read_to).token(),
            caught_up: changes.caught_up,
        })
    })
    .await?;
    cacheable(&req, &state, page.etag.clone(), JSON, false, || Ok(page.body.clone()))
}

/// One published fact check: the claim and its appearances, the verdict
/// and its evidence, the corrections, and the log position it reflects.
/// `Accept: application/ld+json` gives its schema.org ClaimReview instead.
#[utoipa::path(operation_id = "getFactCheck", 
    params(
        ("claim_id" = Uuid, Path),
        ("Accept" = Option<String>, Header, description = "application/ld+json for the schema.org ClaimReview"),
        ("If-None-Match" = Option<String>, Header),
    ),
    responses(
        (status = 200, content((FactCheckOut = "application/json"), (ClaimReview = "application/ld+json")),
            headers(("ETag" = String, description = "\"fc-<seq>\" (JSON) or \"cr-<seq>\" (ClaimReview): the log position"), ("Cache-Control" = String), ("Vary" = String))),
        (status = 304, description = "If-None-Match names the current ETag"),
        (status = 400, body = Problem),
        (status = 404, body = Problem, description = "no published fact check for this claim"),
    ),
    tag = "factchecks"
)]
#[get("/v1/factchecks/{claim_id}", wrap = "public_cors()")]
pub async fn read(state: web::Data<AppState>, req: HttpRequest, claim_id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let claim_id = claim_id.into_inner();
    let f = match public_factcheck(&state, &req, claim_id).await {
        Err(AppError::NotFound(detail)) => return moved_or(&state, &req, claim_id, detail).await,
        other => other?,
    };
    if prefers_json_ld(&req) {
        let d = public_detail(&state, &req, claim_id).await?;
        return claim_review_response(&req, &state, &d, true);
    }
    let response = cacheable(&req, &state, format!("\"fc-{}\"", f.seq), JSON, true, || Ok(f.json.clone()))?;
    Ok(with_proof_link(response, claim_id))
}

/// `Link: </v1/factchecks/{id}/proof>; rel="describedby"`: where the proof
/// that the fact check's revisions are in the signed log is (the JSON also
/// names it in `log.proof`; a ClaimReview has no field for it).
fn with_proof_link(mut response: HttpResponse, claim_id: Uuid) -> HttpResponse {
    if let Ok(v) = header::HeaderValue::from_str(&format!(
        "</v1/factchecks/{claim_id}/proof>; rel=\"describedby\"; type=\"application/json\""
    )) {
        response.headers_mut().insert(header::LINK, v);
    }
    response
}

/// The schema.org ClaimReview (JSON-LD) of a published fact check.
#[utoipa::path(operation_id = "getClaimReview", 
    params(("claim_id" = Uuid, Path), ("If-None-Match" = Option<String>, Header)),
    responses(
        (status = 200, content((ClaimReview = "application/ld+json")), headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "If-None-Match names the current ETag"),
        (status = 400, body = Problem),
        (status = 404, body = Problem, description = "no published fact check for this claim"),
    ),
    tag = "factchecks"
)]
#[get("/v1/factchecks/{claim_id}/claimreview", wrap = "public_cors()")]
pub async fn claim_review(state: web::Data<AppState>, req: HttpRequest, claim_id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let claim_id = claim_id.into_inner();
    // Not public (or merged): answered from what the JSON read keeps.
    if let Err(e) = public_factcheck(&state, &req, claim_id).await {
        return match e {
            AppError::NotFound(detail) => moved_or(&state, &req, claim_id, detail).await,
            e => Err(e),
        };
    }
    let d = public_detail(&state, &req, claim_id).await?;
    claim_review_response(&req, &state, &d, false)
}

fn claim_review_response(req: &HttpRequest, state: &AppState, f: &CachedDetail, negotiated: bool) -> AppResult<HttpResponse> {
    let response = cacheable(req, state, format!("\"cr-{}\"", f.seq), JSON_LD, negotiated, || {
        Ok(f.claimreview.clone())
    })?;
    Ok(with_proof_link(response, f.factcheck.claim.id))
}
