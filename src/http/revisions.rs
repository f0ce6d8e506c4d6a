//! /v1/revisions: the log, filtered and paged (auditors).

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::paging::{PageParams, Paged, seq_cursor};
use super::problem::Problem;
use super::{Allow, AppState, Fresh, as_actor_read};
use crate::error::{AppResult, FieldError};
use crate::http::Bearer;
use crate::model::fields;
use crate::model::{Action, EntityKind, RevisionRecord, Role};
use crate::store::revisions::{self, RevisionFilter};
use actix_web::HttpRequest;

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

/// The log, oldest first, filtered. Pages never miss or repeat a revision,
/// even while writers append.
#[utoipa::path(operation_id = "listRevisions", 
    params(RevisionParams),
    responses((status = 200, body = Paged<RevisionRecord>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])),
    tag = "audit"
)]
#[get("/v1/revisions")]
pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    bearer: Bearer,
    params: web::Query<RevisionParams>,
) -> AppResult<HttpResponse> {
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
    let since = p.since.as_deref().map(|t| fields::rfc3339("since", t)).transpose();
    let until = p.until.as_deref().map(|t| fields::rfc3339("until", t)).transpose();
    let (entity_kind, entity_id, action, since, until) = crate::all_fields!(entity_kind, entity_id, action, since, until)?;
    let (after, limit) = PageParams {
        limit: p.limit,
        cursor: p.cursor,
    }
    .by_seq(20)?;
    let actor = p.actor;
    let rows = as_actor_read(&state, &req, bearer, AUDITORS, Fresh::Reader, move |conn| {
        let actor_id = match &actor {
            None => None,
            Some(a) => match revisions::actor_id(conn, a)? {
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
        revisions::list_revisions(conn, &filter, after, limit)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Paged::of(rows, limit, |r| seq_cursor(r.seq), |r| RevisionRecord::from(&r))))
}

/// One revision.
#[utoipa::path(operation_id = "getRevision", 
    params(("seq" = i64, Path)),
    responses((status = 200, body = RevisionRecord), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])),
    tag = "audit"
)]
#[get("/v1/revisions/{seq}")]
pub async fn read(state: web::Data<AppState>, req: HttpRequest, bearer: Bearer, seq: web::Path<i64>) -> AppResult<HttpResponse> {
    let seq = seq.into_inner();
    let r = as_actor_read(&state, &req, bearer, AUDITORS, Fresh::Reader, move |conn| {
        revisions::revision(conn, seq)
    })
    .await?;
    Ok(HttpResponse::Ok().json(RevisionRecord::from(&r)))
}
