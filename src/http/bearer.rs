//! The `Bearer` extractor: a verified token's claims. Handlers then load the
//! account (still existing, still active, its current roles) in the same
//! blocking call as their store function.

use std::future::{Ready, ready};

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use super::AppState;
use crate::auth::Claims;
use crate::error::AppError;

pub struct Bearer(pub Claims);

impl FromRequest for Bearer {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(bearer(req))
    }
}

fn bearer(req: &HttpRequest) -> Result<Bearer, AppError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| AppError::Unauthorized("authentication required: send Authorization: Bearer <token>".into()))?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| AppError::Unauthorized("malformed Authorization header: expected 'Bearer <token>'".into()))?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::internal("application state missing"))?;
    state.keys.verify(token).map(Bearer)
}
