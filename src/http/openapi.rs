//! The OpenAPI 3.1 document: paths and schemas are collected from the
//! handlers registered with `.service()`; this adds what is global.

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::error::{AppError, AppResult};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "claimledger",
        description = "A versioned claims database for fact-checkers: claims, evidence and verdicts with an append-only, \
                       hash-chained revision log. Errors are RFC 9457 problem+json.",
        license(name = "MIT")
    ),
    components(schemas(crate::http::problem::Problem, crate::error::FieldError)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Tokens"),
        (name = "articles", description = "The texts claims are quoted from (reads are public)"),
        (name = "claims", description = "Claims and their appearances (staff)"),
        (name = "evidence", description = "Evidence for and against claims (staff)"),
        (name = "verdicts", description = "Verdicts and their review workflow (staff)"),
        (name = "audit", description = "The revision log (auditor or admin)"),
        (name = "factchecks", description = "Published fact checks, search, ClaimReview and the change feed (public, no account)"),
        (name = "push", description = "Webhook subscriptions, signed per Standard Webhooks (admin)"),
        (name = "ops", description = "Health, readiness, metrics"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// The documented routes and their methods, to tell 405 from 404.
pub struct RouteTable(Vec<(actix_web::dev::ResourceDef, Vec<Method>)>);

impl RouteTable {
    pub fn new(api: &utoipa::openapi::OpenApi) -> Self {
        let routes = api
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let mut methods = vec![];
                for (method, op) in [
                    (Method::GET, &item.get),
                    (Method::POST, &item.post),
                    (Method::PUT, &item.put),
                    (Method::PATCH, &item.patch),
                    (Method::DELETE, &item.delete),
                ] {
                    if op.is_some() {
                        methods.push(method);
                    }
                }
                (actix_web::dev::ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        RouteTable(routes)
    }

    /// The methods allowed on `path`, if any documented route matches it.
    fn allowed(&self, path: &str) -> Vec<Method> {
        let mut allowed: Vec<Method> = vec![];
        for (def, methods) in &self.0 {
            if def.is_match(path) {
                for m in methods {
                    if !allowed.contains(m) {
                        allowed.push(m.clone());
                    }
                }
            }
        }
        allowed
    }
}

/// Unknown routes: 405 with Allow when the path exists with other methods, else 404.
pub async fn fallback(req: HttpRequest, routes: web::Data<RouteTable>) -> AppResult<HttpResponse> {
    let allowed = routes.allowed(req.path());
    if allowed.is_empty() || allowed.contains(req.method()) {
        return Err(AppError::NotFound(format!("no route for {} {}", req.method(), req.path())));
    }
    let names: Vec<&str> = allowed.iter().map(Method::as_str).collect();
    Err(AppError::MethodNotAllowed {
        detail: format!("{} is not allowed on {}; use {}", req.method(), req.path(), names.join(", ")),
        allow: names.join(", "),
    })
}
