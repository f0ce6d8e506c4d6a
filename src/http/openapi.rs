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

    /// A request the router sent to a pattern (`/v1/claims/{id}`) that is
    /// really a static route with other methods (`/v1/claims/similar`): the
    /// 405 that static route answers, rather than a bad path parameter.
    pub fn shadowed(&self, req: &HttpRequest) -> Option<AppError> {
        let (_, methods) = self.0.iter().find(|(def, _)| def.pattern() == Some(req.path()))?;
        (!methods.contains(req.method())).then(|| method_not_allowed(req, methods))
    }

    /// The methods allowed on `path`, if any documented route matches it.
    fn allowed(&self, path: &str) -> Vec<Method> {
        // A static route shadows the patterns it also matches, as in the
        // router (`/v1/claims/similar` is not `/v1/claims/{id}`).
        if let Some((_, methods)) = self.0.iter().find(|(def, _)| def.pattern() == Some(path)) {
            return methods.clone();
        }
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
    Err(method_not_allowed(&req, &allowed))
}

fn method_not_allowed(req: &HttpRequest, allowed: &[Method]) -> AppError {
    let names: Vec<&str> = allowed.iter().map(Method::as_str).collect();
    AppError::MethodNotAllowed {
        detail: format!("{} is not allowed on {}; use {}", req.method(), req.path(), names.join(", ")),
        allow: names.join(", "),
    }
}

/// The rules every operation shares, applied once to the document the
/// handlers produced (so no handler repeats them): the statuses the server's
/// common machinery can answer with (extractors, auth, If-Match,
/// Idempotency-Key, the pool), every error as `application/problem+json`
/// with the `Problem` schema, a description on every response, the formats
/// of the shared headers, and links from each create to its follow-ups.
pub fn contract(mut api: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    for (path, item) in api.paths.paths.iter_mut() {
        for op in [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete]
            .into_iter()
            .flatten()
        {
            shared_rules(path, op);
        }
    }
    api
}

/// `Idempotency-Key`: what `http::write` accepts.
pub const IDEMPOTENCY_KEY_PATTERN: &str = "^[!-~]{1,255}$";
/// `If-Match`: `*`, or an ETag this server sent (`"3"`, `W/"3"`, or the bare version).
pub const IF_MATCH_PATTERN: &str = "^(\\*|(W/)?\"[0-9]{1,9}\"|[0-9]{1,9})$";

/// A document fragment written here as JSON, typed: the fragments are
/// constants, so a mismatch is a programming error found by every test.
fn typed<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("a well-formed OpenAPI fragment")
}

fn shared_rules(path: &str, op: &mut utoipa::openapi::path::Operation) {
    use serde_json::json;
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{RefOr, Response};

    let params: Vec<&utoipa::openapi::path::Parameter> = op
        .parameters
        .iter()
        .flatten()
        .filter_map(|p| match p {
            RefOr::T(p) => Some(p),
            RefOr::Ref(_) => None,
        })
        .collect();
    let has = |name: &str| params.iter().any(|p| p.name == name);
    let has_in = |place: ParameterIn| params.iter().any(|p| p.parameter_in == place);
    let (in_path, in_query) = (has_in(ParameterIn::Path), has_in(ParameterIn::Query));
    let (idempotent, guarded) = (has("Idempotency-Key"), has("If-Match"));
    let body = op.request_body.is_some();
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let operation = op.operation_id.clone().unwrap_or_default();

    // Header formats.
    for p in op.parameters.iter_mut().flatten() {
        let RefOr::T(p) = p else { continue };
        match p.name.as_str() {
            "Idempotency-Key" => {
                p.schema = Some(typed(
                    json!({"type": "string", "minLength": 1, "maxLength": 255, "pattern": IDEMPOTENCY_KEY_PATTERN}),
                ));
            }
            "If-Match" => {
                // Not `required` in OpenAPI's sense (a request without it is
                // well-formed): updates answer its absence with 428.
                p.schema = Some(typed(json!({"type": "string", "pattern": IF_MATCH_PATTERN})));
                if p.required == utoipa::openapi::Required::True {
                    p.required = utoipa::openapi::Required::False;
                    let read = p.description.take().unwrap_or_else(|| "the ETag you read".into());
                    p.description = Some(format!("{read}; without it the request is refused with 428"));
                }
            }
            _ => {}
        }
    }

    let mut statuses: Vec<u16> = vec![];
    if in_path || in_query || body || idempotent || guarded {
        statuses.push(400);
    }
    if in_query || body {
        statuses.push(422);
    }
    if in_path {
        statuses.push(404);
    }
    if body {
        statuses.extend([413, 415]);
    }
    if secured {
        statuses.extend([401, 403]);
    }
    if guarded {
        statuses.extend([412, 428]);
    }
    if !matches!(path, "/healthz" | "/metrics") {
        statuses.push(503);
    }
    let responses = &mut op.responses.responses;
    for status in statuses {
        responses.entry(status.to_string()).or_insert_with(|| RefOr::T(Response::new("")));
    }
    for (status, response) in responses.iter_mut() {
        let code: u16 = status.parse().unwrap_or(0);
        let RefOr::T(r) = response else { continue };
        if r.description.is_empty() {
            r.description = describe(code);
        }
        if code >= 400 {
            r.content = typed(json!({crate::http::problem::PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}));
            let retry = json!({"description": "seconds to wait before retrying", "schema": {"type": "integer"}});
            match code {
                401 => {
                    r.headers =
                        typed(json!({"WWW-Authenticate": {"description": "Bearer realm=\"claimledger\"", "schema": {"type": "string"}}}))
                }
                429 | 503 => r.headers = typed(json!({"Retry-After": retry})),
                _ => {}
            }
        }
        if code == 304 {
            r.content.clear();
        }
    }
    if let Some((status, links)) = follow_ups(&operation)
        && let Some(RefOr::T(r)) = responses.get_mut(status)
    {
        r.links = typed(links);
    }
}

fn describe(code: u16) -> String {
    let text = match code {
        200 => "OK",
        201 => "Created",
        304 => "Not Modified: the If-None-Match ETag is still current",
        400 => "Bad Request: a malformed path or query parameter, header, or body that is not JSON",
        401 => "Unauthorized: no valid Bearer token",
        403 => "Forbidden: the account's roles do not allow this",
        404 => "Not Found",
        409 => "Conflict with the current state (a business rule names it)",
        412 => "Precondition Failed: If-Match names an older version (`current_version` says which is current)",
        413 => "Payload Too Large: bodies are limited to 256 KiB",
        415 => "Unsupported Media Type: send application/json",
        422 => "Unprocessable: the request is well-formed but a field is invalid (`errors` names each)",
        428 => "Precondition Required: send If-Match with the ETag you read",
        429 => "Too Many Requests: wait Retry-After seconds",
        503 => "Service Unavailable: the database is unreachable or the write is not sequenced yet; retry after Retry-After",
        _ => "Response",
    };
    text.to_string()
}

/// OpenAPI links from a create (or a workflow step) to what follows it:
/// claim → evidence → verdict → submit → publish → public fact check.
fn follow_ups(operation: &str) -> Option<(&'static str, serde_json::Value)> {
    use serde_json::json;
    let id = |op: &str| json!({"operationId": op, "parameters": {"id": "$response.body#/id"}});
    let guarded =
        |op: &str| json!({"operationId": op, "parameters": {"id": "$response.body#/id", "header.If-Match": "$response.header.ETag"}});
    let claim_id = |op: &str| json!({"operationId": op, "parameters": {"claim_id": "$response.body#/claim_id"}});
    let links = match operation {
        "createArticle" => ("201", json!({"GetArticle": id("getArticle")})),
        "createClaimant" => (
            "201",
            json!({"GetClaimant": id("getClaimant"), "UpdateClaimant": guarded("updateClaimant")}),
        ),
        "createClaim" => (
            "201",
            json!({
                "GetClaim": id("getClaim"),
                "UpdateClaim": guarded("updateClaim"),
                "GetClaimHistory": id("getClaimHistory"),
                "CreateAppearance": id("createAppearance"),
                "CreateEvidence": id("createEvidence"),
                "CreateVerdict": id("createVerdict"),
                "GetFactCheck": json!({"operationId": "getFactCheck", "parameters": {"claim_id": "$response.body#/id"}}),
            }),
        ),
        "createEvidence" => (
            "201",
            json!({"GetEvidence": id("getEvidence"), "UpdateEvidence": guarded("updateEvidence")}),
        ),
        "createVerdict" => (
            "201",
            json!({"GetVerdict": id("getVerdict"), "UpdateVerdict": guarded("updateVerdict"), "SubmitVerdict": guarded("submitVerdict")}),
        ),
        "submitVerdict" => (
            "200",
            json!({"PublishVerdict": guarded("publishVerdict"), "RejectVerdict": guarded("rejectVerdict")}),
        ),
        "publishVerdict" => (
            "200",
            json!({
                "GetFactCheck": claim_id("getFactCheck"),
                "GetClaimReview": claim_id("getClaimReview"),
                "WithdrawVerdict": guarded("withdrawVerdict"),
            }),
        ),
        _ => return None,
    };
    Some(links)
}
