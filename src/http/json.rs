//! Request bodies: JSON parsed straight into request types, with errors that
//! name the field (422) or say why the JSON does not parse (400).

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError};

/// Bodies above this size are refused with 413.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// A parsed JSON body, and the bytes it was parsed from (to fingerprint
/// the request, only when an Idempotency-Key asks for it).
pub struct JsonBody<T> {
    pub value: T,
    pub raw: web::Bytes,
}

/// SHA-256 of a body's canonical (RFC 8785) form: the same JSON with other
/// spacing or key order is the same request. An empty body hashes as empty.
pub fn fingerprint(raw: &[u8]) -> [u8; 32] {
    use crate::model::{canonical, digest::sha256};
    match serde_json::from_slice::<serde_json::Value>(raw) {
        Ok(value) => sha256(&canonical::value_to_vec(&value)),
        Err(_) => sha256(raw),
    }
}

/// Like [`JsonBody`], but an empty body is `T::default()` (for actions such
/// as publish, whose only field is an optional reason).
pub struct OptionalJsonBody<T>(pub JsonBody<T>);

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .is_some_and(|mime| mime == "application/json" || mime == "application/merge-patch+json" || mime.ends_with("+json"))
}

fn read_body(req: &HttpRequest, payload: &mut Payload) -> impl Future<Output = Result<web::Bytes, AppError>> + use<> {
    let bytes = web::Bytes::from_request(req, payload);
    async move {
        bytes.await.map_err(|e| {
            if e.as_response_error().status_code() == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge(format!("request bodies are limited to {MAX_BODY_BYTES} bytes"))
            } else {
                AppError::BadRequest("the request body could not be read".into())
            }
        })
    }
}

fn unsupported() -> AppError {
    AppError::UnsupportedMediaType("send the body as application/json (or application/merge-patch+json)".into())
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let bytes = read_body(req, payload);
        Box::pin(async move {
            if !json {
                return Err(unsupported());
            }
            parse_json(bytes.await?)
        })
    }
}

impl<T: DeserializeOwned + Default + 'static> FromRequest for OptionalJsonBody<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let bytes = read_body(req, payload);
        Box::pin(async move {
            let bytes = bytes.await?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(OptionalJsonBody(JsonBody {
                    value: T::default(),
                    raw: bytes,
                }));
            }
            if !json {
                return Err(unsupported());
            }
            parse_json(bytes).map(OptionalJsonBody)
        })
    }
}

/// Parses JSON into `T`: syntax errors are 400, wrong fields 422 naming the path.
pub fn parse_json<T: DeserializeOwned>(bytes: web::Bytes) -> Result<JsonBody<T>, AppError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::BadRequest("the request body is empty; send a JSON object".into()));
    }
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| AppError::BadRequest(format!("the request body is not valid JSON: {e}")))?;
    let value = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "body".to_string() } else { path };
        AppError::invalid(vec![FieldError::new(field, clean_serde_message(&e.into_inner().to_string()))])
    })?;
    Ok(JsonBody { value, raw: bytes })
}

/// serde's messages end with " at line 1 column 20"; the field path says where.
fn clean_serde_message(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}
