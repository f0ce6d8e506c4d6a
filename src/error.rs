//! The one error type of the application. It knows nothing of HTTP: the
//! RFC 9457 rendering lives in `http::problem`.

use serde::Serialize;

/// One field that failed to parse: `field` is a JSON path such as `tags[2]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 422 with the fields that failed.
    #[error("{detail}")]
    Invalid { detail: String, errors: Vec<FieldError> },
    /// 422 for a well-formed request that cannot be carried out as asked.
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{detail}")]
    MethodNotAllowed { detail: String, allow: String },
    #[error("{0}")]
    PreconditionRequired(String),
    #[error("{detail}")]
    PreconditionFailed { detail: String, current_version: i32 },
    #[error("{detail}")]
    TooManyRequests { detail: String, retry_after_secs: u64 },
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 503: a write committed, but its revisions were not sequenced within
    /// the wait; the entity's new version is `etag_version`.
    #[error("{detail}")]
    CommittedNotSequenced { detail: String, etag_version: Option<i32> },
    /// 503: the database is unreachable or the pool is exhausted.
    #[error("{0}")]
    Unavailable(String),
    /// 500. The text is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            many => format!("{} fields are invalid", many.len()),
        };
        AppError::Invalid { detail, errors }
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::invalid(vec![FieldError::new(field, message)])
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match e {
            E::NotFound => AppError::NotFound("no such resource".into()),
            E::DatabaseError(K::UniqueViolation, info) => AppError::Conflict(format!(
                "conflicts with an existing record ({})",
                info.constraint_name().unwrap_or("unique")
            )),
            E::DatabaseError(K::SerializationFailure, _) => AppError::Unavailable("a concurrent change won; retry".into()),
            E::DatabaseError(K::ClosedConnection | K::UnableToSendCommand, _) | E::BrokenTransactionManager => {
                AppError::Unavailable("the database is unavailable".into())
            }
            E::DatabaseError(K::Unknown, ref info) if is_connection_failure(info.message()) => {
                AppError::Unavailable("the database is unavailable".into())
            }
            E::DatabaseError(_, ref info) if info.message().contains("statement timeout") => {
                AppError::Unavailable("the database did not answer in time".into())
            }
            other => AppError::Internal(other.to_string()),
        }
    }
}

fn is_connection_failure(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "server closed the connection",
        "terminating connection",
        "no connection to the server",
        "connection refused",
        "could not connect",
        "the database system is",
    ]
    .iter()
    .any(|needle| m.contains(needle))
}

impl From<r2d2::Error> for AppError {
    fn from(_: r2d2::Error) -> Self {
        AppError::Unavailable("no database connection available; retry shortly".into())
    }
}
