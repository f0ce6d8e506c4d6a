//! Claim matching and merging: has this been said (staff: which recorded
//! claim repeats a new statement; public: which published fact check
//! answers a sentence a reader pastes), and merging a duplicate into the
//! claim that survives.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::json::JsonBody;
use super::problem::Problem;
use super::write::{post, required_if_match, stored};
use super::{Allow, AppState, Bearer, as_actor};
use crate::error::{AppError, AppResult};
use crate::model::claim::{ClaimOut, SimilarClaim};
use crate::model::factcheck::FactCheckOut;
use crate::model::{Role, fields, paging};
use crate::store;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MatchParams {
    /// The statement or sentence to match (1–2000 characters).
    pub text: String,
    /// 1–100, default 10.
    pub limit: Option<i64>,
}

fn parse(p: &MatchParams) -> AppResult<(String, i64)> {
    let text = fields::text("text", &p.text, 1, 2000);
    let limit = paging::limit(p.limit, 10);
    crate::all_fields!(text, limit)
}

/// Recorded claims that most look like `text` (active ones; merged claims
/// aside), best first. `score` is 0.6 × the share of the text's word stems
/// found in the statement + 0.4 × their trigram similarity (0–1).
#[utoipa::path(
    operation_id = "findSimilarClaims",
    params(MatchParams),
    responses((status = 200, body = SimilarClaims), (status = 401, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])),
    tag = "claims"
)]
#[get("/v1/claims/similar")]
pub async fn similar(state: web::Data<AppState>, bearer: Bearer, params: web::Query<MatchParams>) -> AppResult<HttpResponse> {
    let (text, limit) = parse(&params)?;
    let items = as_actor(&state, bearer, Allow::Staff, move |conn, _| {
        store::claims::similar::claims(conn, &text, limit, None)?
            .into_iter()
            .map(|s| {
                let f = store::claims::family(conn, s.id)?;
                Ok(SimilarClaim {
                    score: s.score,
                    claim: ClaimOut::public(f.claim, f.claimant.as_ref(), f.appearances),
                })
            })
            .collect::<AppResult<Vec<_>>>()
    })
    .await?;
    Ok(HttpResponse::Ok().json(SimilarClaims { items }))
}

#[derive(Serialize, ToSchema)]
pub struct SimilarClaims {
    pub items: Vec<SimilarClaim>,
}

/// A published fact check and how much its claim looks like the text.
#[derive(Serialize, ToSchema)]
pub struct MatchedFactCheck {
    pub score: f64,
    #[schema(value_type = FactCheckOut)]
    pub factcheck: Box<RawValue>,
}

#[derive(Serialize, ToSchema)]
pub struct MatchedFactChecks {
    pub items: Vec<MatchedFactCheck>,
}

/// Has this been checked? Published fact checks whose claim most looks
/// like the sentence, best first (the same score as `/v1/claims/similar`).
#[utoipa::path(
    operation_id = "matchFactChecks",
    params(MatchParams),
    responses((status = 200, body = MatchedFactChecks), (status = 422, body = Problem)),
    tag = "factchecks"
)]
#[get("/v1/factchecks/match", wrap = "super::factchecks::public_cors()")]
pub async fn match_factchecks(state: web::Data<AppState>, req: HttpRequest, params: web::Query<MatchParams>) -> AppResult<HttpResponse> {
    let (text, limit) = parse(&params)?;
    let scored = super::with_read(&state, &req, super::Fresh::Reader, move |conn| {
        store::claims::similar::factchecks(conn, &text, limit)
    })
    .await?;
    let mut items = vec![];
    for s in scored {
        // Public fact checks come from memory (or once from their document).
        if let Ok(f) = super::factchecks::public_factcheck(&state, &req, s.id).await {
            let json = String::from_utf8(f.json.to_vec()).map_err(AppError::internal)?;
            items.push(MatchedFactCheck {
                score: s.score,
                factcheck: RawValue::from_string(json).map_err(AppError::internal)?,
            });
        }
    }
    Ok(HttpResponse::Ok().json(MatchedFactChecks { items }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeInput {
    /// The claim that survives.
    pub into: Uuid,
    /// Why they are the same claim (required; it goes into every revision).
    pub reason: String,
}

/// Merge this claim into another: its active appearances and evidence move
/// to `into`, and it is retired with `merged_into` (all revisions). Refused
/// while it has a verdict in draft or review. Answers with the surviving
/// claim.
#[utoipa::path(
    operation_id = "mergeClaim",
    request_body = MergeInput,
    params(("id" = Uuid, Path, description = "the duplicate"), ("If-Match" = String, Header, description = "the duplicate's ETag"), ("Idempotency-Key" = Option<String>, Header)),
    responses(
        (status = 200, body = ClaimOut, headers(("ETag" = String), ("Log-Seq" = i64))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem),
    ),
    security(("bearer" = [])),
    tag = "claims"
)]
#[post("/v1/claims/{id}/merge")]
pub async fn merge(
    state: web::Data<AppState>,
    req: HttpRequest,
    bearer: Bearer,
    id: web::Path<Uuid>,
    body: JsonBody<MergeInput>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let expected = required_if_match(&req)?;
    let into = body.value.into;
    let reason = fields::text("reason", &body.value.reason, 1, 2000).map_err(|e| AppError::invalid(vec![e]))?;
    post(
        &state,
        &req,
        bearer,
        Allow::AnyOf(&[Role::Editor]),
        &body.raw,
        move |conn, actor| {
            let family = store::claims::merge::merge(conn, actor, id, into, expected, &reason)?;
            let version = family.value.claim.version;
            stored(
                actix_web::http::StatusCode::OK,
                None,
                version,
                family.map(|f| ClaimOut::staff(f.claim, f.claimant.as_ref(), f.appearances, f.evidence, f.verdicts)),
            )
        },
    )
    .await
}
