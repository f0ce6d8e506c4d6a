//! /v1/articles: editors add articles; anyone may read them.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use uuid::Uuid;

use super::json::JsonBody;
use super::paging::{PageParams, Paged, id_cursor};
use super::problem::Problem;
use super::write::{created, etag, post};
use super::{Allow, AppState, with_conn};
use crate::error::AppResult;
use crate::http::Bearer;
use crate::model::Role;
use crate::model::article::{ArticleInput, ArticleOut, NewArticle};
use crate::store;

/// Add an article. Its body is stored exactly as sent and never changes.
#[utoipa::path(operation_id = "createArticle", 
    request_body = ArticleInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "retries with the same key return the first response")),
    responses(
        (status = 201, body = ArticleOut, headers(("Location" = String), ("ETag" = String))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem, description = "slug taken"), (status = 422, body = Problem),
    ),
    security(("bearer" = [])),
    tag = "articles"
)]
#[post("/v1/articles")]
pub async fn create(state: web::Data<AppState>, req: HttpRequest, bearer: Bearer, body: JsonBody<ArticleInput>) -> AppResult<HttpResponse> {
    let (new, reason) = NewArticle::parse(&body.value)?;
    post(
        &state,
        &req,
        bearer,
        Allow::AnyOf(&[Role::Editor]),
        &body.raw,
        move |conn, actor| {
            let a = store::articles::create(conn, actor, new, reason.as_deref())?;
            created(a, |id| format!("/v1/articles/{id}"), |a| ArticleOut::new(a, true))
        },
    )
    .await
}

/// Articles, newest first (without their bodies).
#[utoipa::path(operation_id = "listArticles", params(PageParams), responses((status = 200, body = Paged<ArticleOut>), (status = 422, body = Problem)), tag = "articles")]
#[get("/v1/articles")]
pub async fn list(state: web::Data<AppState>, params: web::Query<PageParams>) -> AppResult<HttpResponse> {
    let page = params.by_id()?;
    let rows = with_conn(&state, move |conn| store::articles::list(conn, page)).await?;
    Ok(HttpResponse::Ok().json(Paged::of(rows, page.limit, |a| id_cursor(a.id), |a| ArticleOut::new(a, false))))
}

/// One article, with its body.
#[utoipa::path(operation_id = "getArticle", 
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ArticleOut, headers(("ETag" = String))), (status = 400, body = Problem), (status = 404, body = Problem)),
    tag = "articles"
)]
#[get("/v1/articles/{id}")]
pub async fn read(state: web::Data<AppState>, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let a = with_conn(&state, move |conn| store::articles::get(conn, id)).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("etag", etag(a.version)))
        .json(ArticleOut::new(a, true)))
}
