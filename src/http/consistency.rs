//! Read-your-writes across servers: every write answers with its log
//! position (`Log-Seq`), and every read accepts one back — as the
//! `min_seq` query parameter or the `Log-Seq` header. A server answers only
//! from state at or after that position: it waits (bounded) until its
//! listener has applied it, then serves; past the wait, 503 + Retry-After.

use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};

use super::AppState;
use super::write::LOG_SEQ;
use crate::error::AppError;

/// The position a read asked for, for the handlers (replica routing).
#[derive(Clone, Copy, Debug)]
pub struct MinSeq(pub i64);

/// How long a read waits for the position it asks for.
const WAIT: Duration = Duration::from_secs(2);

fn position(text: &str, field: &str) -> Result<i64, AppError> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| AppError::field(field, format!("a log position (a whole number ≥ 0), got '{}'", text.trim())))
}

/// The position a read asks for, if any (the larger of the two ways).
pub fn requested(req: &ServiceRequest) -> Result<Option<i64>, AppError> {
    let mut wanted: Option<i64> = None;
    for pair in req.query_string().split('&') {
        if let Some(value) = pair.strip_prefix("min_seq=") {
            let value = urlencoding_decode(value);
            wanted = wanted.max(Some(position(&value, "min_seq")?));
        }
    }
    if let Some(header) = req.headers().get(&LOG_SEQ) {
        let text = header
            .to_str()
            .map_err(|_| AppError::field("Log-Seq", "a log position (a whole number ≥ 0)"))?;
        wanted = wanted.max(Some(position(text, "Log-Seq")?));
    }
    Ok(wanted)
}

/// Query values are plain digits; anything percent-encoded is not a position.
fn urlencoding_decode(value: &str) -> String {
    value.replace('+', " ")
}

pub async fn at_least(req: ServiceRequest, next: Next<impl MessageBody + 'static>) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if matches!(*req.method(), Method::GET | Method::HEAD)
        && let Some(seq) = requested(&req)?
    {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        req.extensions_mut().insert(MinSeq(seq));
        if let Some(state) = state
            && !state.log.reached(seq, WAIT).await
        {
            return Err(AppError::Unavailable(format!(
                "this server has not reached log position {seq} yet (it is at {}); retry in a moment",
                state.log.head()
            ))
            .into());
        }
    }
    next.call(req).await
}
