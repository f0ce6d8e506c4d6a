//! One middleware for every request: a request id, a tracing span with route,
//! status and latency, metrics, and RFC 9457 bodies for every 4xx/5xx —
//! including actix's own errors (unknown route, bad path parameter, …).

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing::Instrument;

use super::problem::{PROBLEM_JSON, Problem};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id, available to handlers through the request extensions.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

fn incoming_request_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(&REQUEST_ID)?.to_str().ok()?;
    let ok = !value.is_empty() && value.len() <= 64 && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    ok.then(|| value.to_string())
}

pub async fn observe(req: ServiceRequest, next: Next<impl MessageBody + 'static>) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let request_id = incoming_request_id(&req).unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let method = req.method().to_string();
    let span = tracing::info_span!("request", %method, request_id = %request_id);
    // No clone of the request may be held across the call: routing needs
    // the only reference to it.
    let response = next.call(req).instrument(span.clone()).await?.map_into_boxed_body();
    let route = response.request().match_pattern().unwrap_or_else(|| "unmatched".to_string());
    // The public pages answer people with HTML error pages (a 404 page);
    // everything else becomes problem+json.
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let mut response = if response.status().as_u16() >= 400 && !html {
        problem_body(response, &request_id).await
    } else {
        response
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }

    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    if let Some(state) = response.request().app_data::<actix_web::web::Data<crate::http::AppState>>() {
        state.metrics.observe(&method, &route, status, elapsed);
    }
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    span.in_scope(|| {
        if status >= 500 {
            tracing::error!(route = route.as_str(), status, latency_ms, "request failed");
        } else {
            tracing::info!(route = route.as_str(), status, latency_ms, "request done");
        }
    });
    Ok(response)
}

/// Makes sure an error response is problem+json and carries the request id.
async fn problem_body(response: ServiceResponse<BoxBody>, request_id: &str) -> ServiceResponse<BoxBody> {
    let (req, res) = response.into_parts();
    let status = res.status();
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    let retry_after = res.headers().get(header::RETRY_AFTER).cloned();
    let www_authenticate = res.headers().get(header::WWW_AUTHENTICATE).cloned();
    let allow = res.headers().get(header::ALLOW).cloned();
    let etag = res.headers().get(header::ETAG).cloned();
    // CORS headers too: a browser must see a public 404 as a 404.
    let allow_origin = res.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).cloned();
    let expose = res.headers().get(header::ACCESS_CONTROL_EXPOSE_HEADERS).cloned();
    let vary = res.headers().get(header::VARY).cloned();
    let (_, body) = res.into_parts();
    let bytes = actix_web::body::to_bytes_limited(body, 64 * 1024)
        .await
        .ok()
        .and_then(|r| r.ok())
        .unwrap_or_default();

    let mut problem = if is_problem {
        serde_json::from_slice::<Problem>(&bytes).unwrap_or_else(|_| default_problem(status, &[]))
    } else {
        default_problem(status, &bytes)
    };
    problem.request_id = Some(request_id.to_string());
    let mut new = problem.response();
    for (name, value) in [
        (header::RETRY_AFTER, retry_after),
        (header::WWW_AUTHENTICATE, www_authenticate),
        (header::ALLOW, allow),
        (header::ETAG, etag),
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin),
        (header::ACCESS_CONTROL_EXPOSE_HEADERS, expose),
        (header::VARY, vary),
    ] {
        if let Some(v) = value {
            new.headers_mut().insert(name, v);
        }
    }
    ServiceResponse::new(req, new)
}

/// A problem for an error that did not come from our handlers. 4xx keep a
/// short plain-text reason; 5xx never show what went wrong inside.
fn default_problem(status: StatusCode, body: &[u8]) -> Problem {
    let text = std::str::from_utf8(body).unwrap_or("").trim();
    let detail = if status.is_client_error() && !text.is_empty() && text.len() <= 500 {
        text.to_string()
    } else if status == StatusCode::NOT_FOUND {
        "no such resource".to_string()
    } else if status.is_server_error() {
        "The server could not complete the request; it has been logged.".to_string()
    } else {
        status.canonical_reason().unwrap_or("error").to_string()
    };
    let slug = match status {
        StatusCode::NOT_FOUND => "not-found",
        StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload-too-large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
        s if s.is_server_error() => "internal-error",
        _ => "bad-request",
    };
    Problem::new(status, slug, detail)
}
