//! RFC 9457 problem details: how an [`AppError`] looks on the wire.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::error::AppError;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// RFC 9457 problem details. `request_id` is filled in by the request middleware.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i32>,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, detail: impl Into<String>) -> Self {
        Problem {
            type_: format!("/problems/{slug}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            request_id: None,
            errors: None,
            current_version: None,
        }
    }

    pub fn response(&self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        HttpResponse::build(status).content_type(PROBLEM_JSON).json(self)
    }
}

/// A short, stable name used in the problem `type` URI.
pub fn slug(e: &AppError) -> &'static str {
    match e {
        AppError::Invalid { .. } => "validation-failed",
        AppError::Unprocessable(_) => "unprocessable",
        AppError::BadRequest(_) => "bad-request",
        AppError::Unauthorized(_) => "unauthorized",
        AppError::Forbidden(_) => "forbidden",
        AppError::NotFound(_) => "not-found",
        AppError::Conflict(_) => "conflict",
        AppError::MethodNotAllowed { .. } => "method-not-allowed",
        AppError::PreconditionRequired(_) => "precondition-required",
        AppError::PreconditionFailed { .. } => "precondition-failed",
        AppError::TooManyRequests { .. } => "too-many-requests",
        AppError::PayloadTooLarge(_) => "payload-too-large",
        AppError::UnsupportedMediaType(_) => "unsupported-media-type",
        AppError::Unavailable(_) => "service-unavailable",
        AppError::CommittedNotSequenced { .. } => "committed-not-sequenced",
        AppError::Internal(_) => "internal-error",
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Invalid { .. } | AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            AppError::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            AppError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Unavailable(_) | AppError::CommittedNotSequenced { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let detail = match self {
            AppError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                "The server could not complete the request; it has been logged.".to_string()
            }
            other => other.to_string(),
        };
        let mut problem = Problem::new(status, slug(self), detail);
        if let AppError::Invalid { errors, .. } = self {
            problem.errors = Some(errors.iter().map(|e| serde_json::json!(e)).collect());
        }
        if let AppError::PreconditionFailed { current_version, .. } = self {
            problem.current_version = Some(*current_version);
        }
        let mut response = problem.response();
        let headers = response.headers_mut();
        match self {
            AppError::Unauthorized(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"claimledger\""));
            }
            AppError::TooManyRequests { retry_after_secs, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            AppError::Unavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
            }
            AppError::CommittedNotSequenced { etag_version, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                if let Some(v) = etag_version.and_then(|v| HeaderValue::from_str(&format!("\"{v}\"")).ok()) {
                    headers.insert(header::ETAG, v);
                }
            }
            AppError::MethodNotAllowed { allow, .. } => {
                if let Ok(v) = HeaderValue::from_str(allow) {
                    headers.insert(header::ALLOW, v);
                }
            }
            _ => {}
        }
        response
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::Internal(e.to_string())
    }
}
