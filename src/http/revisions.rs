//! /v1/revisions: the log, filtered and paged (auditors).

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use super::write::Paged;
use super::{Allow, AppState, as_actor};
use crate::auth::Bearer;
use crate::error::{AppError, AppResult, FieldError, Problem};
use crate::model::{Action, EntityKind, RevisionRecord, Role};
use crate::store::audit::{self, RevisionFilter};

pub const AUDITORS: Allow = Allow::AnyOf(&[Role::Auditor, Role::Admin]);

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RevisionParams {
    /// editor | article | claim | appearance | evidence | verdict
    pub entity_kind: Option<String>,
    pub entity_id: Option<String>,
    /// An account id or username.
    pub actor: Option<String>,
    /// create | update | submit | publish | reject | supersede | withdraw | retire | …
    pub action: Option<String>,
    /// RFC 3339: recorded at or after.
    pub since: Option<String>,
    /// RFC 3339: recorded at or before.
    pub until: Option<String>,
    /// 1–100, default 20.
    pub limit: Option<i64>,
    /// The previous page's next_cursor.
    pub cursor: Option<String>,
}

pub fn rfc3339(field: &str, value: &str) -> Result<DateTime<Utc>, FieldError> {
    DateTime::parse_from_rfc3339(value.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            FieldError::new(
                field,
                format!("expected an RFC 3339 time such as 2023-07-17T12:00:00Z, got '{value}'"),
            )
        })
}

/// A seq cursor: the last seq of the previous page.
pub fn seq_cursor(cursor: Option<&str>) -> AppResult<i64> {
    match cursor {
        None => Ok(0),
        Some(c) => c
            .parse::<i64>()
            .ok()
            .filter(|s| *s >= 0)
            .ok_or_else(|| AppError::field("cursor", "not a cursor this server issued")),
    }
}

pub fn limit(value: Option<i64>, default: i64) -> AppResult<i64> {
    let limit = value.unwrap_or(default);
    if (1..=100).contains(&limit) {
        Ok(limit)
    } else {
        Err(AppError::field("limit", "between 1 and 100"))
    }
}

/// The log, oldest first, filtered. Pages never miss or repeat a revision,
/// even while writers append.
#[utoipa::path(
    params(RevisionParams),
    responses((status = 200, body = Paged<RevisionRecord>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])),
    tag = "audit"
)]
#[get("/v1/revisions")]
pub async fn list(state: web::Data<AppState>, bearer: Bearer, params: web::Query<RevisionParams>) -> AppResult<HttpResponse> {
    let p = params.into_inner();
    let entity_kind = p
        .entity_kind
        .as_deref()
        .map(|k| EntityKind::parse(k).ok_or_else(|| FieldError::new("entity_kind", format!("expected one of {}", EntityKind::choices()))))
        .transpose();
    let entity_id = p
        .entity_id
        .as_deref()
        .map(|id| {
            id.parse::<uuid::Uuid>()
                .map_err(|_| FieldError::new("entity_id", "expected a UUID"))
        })
        .transpose();
    let action = p
        .action
        .as_deref()
        .map(|a| Action::parse(a).ok_or_else(|| FieldError::new("action", format!("expected one of {}", Action::choices()))))
        .transpose();
    let since = p.since.as_deref().map(|t| rfc3339("since", t)).transpose();
    let until = p.until.as_deref().map(|t| rfc3339("until", t)).transpose();
    let (entity_kind, entity_id, action, since, until) = crate::all_fields!(entity_kind, entity_id, action, since, until)?;
    let limit = limit(p.limit, 20)?;
    let after = seq_cursor(p.cursor.as_deref())?;
    let actor = p.actor;
    let rows = as_actor(&state, bearer, AUDITORS, move |conn, _| {
        let actor_id = match &actor {
            None => None,
            Some(a) => match audit::actor_id(conn, a)? {
                Some(id) => Some(id),
                None => return Ok(vec![]),
            },
        };
        let filter = RevisionFilter {
            entity_kind,
            entity_id,
            actor_id,
            action,
            since,
            until,
        };
        audit::list_revisions(conn, &filter, after, limit)
    })
    .await?;
    let next_cursor = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| r.seq.to_string()))
        .flatten();
    Ok(HttpResponse::Ok().json(Paged {
        items: rows.iter().map(RevisionRecord::from).collect(),
        next_cursor,
    }))
}

/// One revision.
#[utoipa::path(
    params(("seq" = i64, Path)),
    responses((status = 200, body = RevisionRecord), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])),
    tag = "audit"
)]
#[get("/v1/revisions/{seq}")]
pub async fn read(state: web::Data<AppState>, bearer: Bearer, seq: web::Path<i64>) -> AppResult<HttpResponse> {
    let seq = seq.into_inner();
    let r = as_actor(&state, bearer, AUDITORS, move |conn, _| audit::revision(conn, seq)).await?;
    Ok(HttpResponse::Ok().json(RevisionRecord::from(&r)))
}
