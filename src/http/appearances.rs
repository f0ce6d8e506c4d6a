//! /v1/claims/{id}/appearances: where a claim is quoted.

use actix_web::{HttpRequest, HttpResponse, post, web};
use uuid::Uuid;

use super::json::JsonBody;
use super::problem::Problem;
use super::write::{created, post};
use super::{Allow, AppState};
use crate::error::AppResult;
use crate::http::Bearer;
use crate::model::Role;
use crate::model::appearance::{AppearanceInput, AppearanceOut, NewAppearance};
use crate::store;

/// Record that the claim is quoted in an article. The quote must occur in
/// the article's body exactly once (given prefix/suffix or start/end); the
/// server computes its position in code points.
#[utoipa::path(operation_id = "createAppearance", 
    request_body = AppearanceInput,
    params(("id" = Uuid, Path, description = "claim id"), ("Idempotency-Key" = Option<String>, Header)),
    responses(
        (status = 201, body = AppearanceOut, headers(("Location" = String), ("ETag" = String))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem, description = "quote not found, ambiguous, or position wrong"),
    ),
    security(("bearer" = [])),
    tag = "claims"
)]
#[post("/v1/claims/{id}/appearances")]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    bearer: Bearer,
    id: web::Path<Uuid>,
    body: JsonBody<AppearanceInput>,
) -> AppResult<HttpResponse> {
    let claim_id = id.into_inner();
    let (new, reason) = NewAppearance::parse(&body.value)?;
    post(
        &state,
        &req,
        bearer,
        Allow::AnyOf(&[Role::Editor]),
        &body.raw,
        move |conn, actor| {
            let a = store::appearances::add(conn, actor, claim_id, &new, reason.as_deref())?;
            created(a, |id| format!("/v1/claims/{claim_id}#appearance-{id}"), AppearanceOut::from)
        },
    )
    .await
}
