//! Claimant records: created and edited like everything else (revisions,
//! versions, ETags), found by name for claims that give a name.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use uuid::Uuid;

use super::{Committed, Log, Page, check_version, write};
use crate::db::schema::{claimants, claims};
use crate::error::{AppError, AppResult};
use crate::model::claimant::{ClaimantPatch, ClaimantRef, NewClaimant};
use crate::model::{Action, Actor, Claim, Claimant};

fn no_claimant(id: Uuid) -> AppError {
    AppError::NotFound(format!("no claimant with id {id}"))
}

pub fn get(conn: &mut PgConnection, id: Uuid) -> AppResult<Claimant> {
    claimants::table
        .find(id)
        .select(Claimant::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| no_claimant(id))
}

/// The records with these ids.
pub fn by_ids(conn: &mut PgConnection, ids: &[Uuid]) -> AppResult<Vec<Claimant>> {
    Ok(claimants::table
        .filter(claimants::id.eq_any(ids))
        .select(Claimant::as_select())
        .load(conn)?)
}

fn by_name(conn: &mut PgConnection, name: &str) -> AppResult<Option<Claimant>> {
    Ok(claimants::table
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("lower(name) = lower(")
                .bind::<diesel::sql_types::Text, _>(name)
                .sql(")"),
        )
        .select(Claimant::as_select())
        .first(conn)
        .optional()?)
}

/// Inserts a record and records its creation in `log`; None when a record
/// of that name exists (or another writer's, committing meanwhile, won).
fn insert(conn: &mut PgConnection, log: &mut Log, actor: &Actor, new: &NewClaimant, reason: Option<&str>) -> AppResult<Option<Claimant>> {
    let c: Option<Claimant> = diesel::insert_into(claimants::table)
        .values((
            claimants::id.eq(Uuid::now_v7()),
            claimants::name.eq(&new.name),
            claimants::kind.eq(new.kind),
            claimants::role.eq(&new.role),
            claimants::same_as.eq(&new.same_as),
        ))
        .on_conflict_do_nothing()
        .returning(Claimant::as_returning())
        .get_result(conn)
        .optional()?;
    if let Some(c) = &c {
        log.record(c, Action::Create, actor.id, reason);
    }
    Ok(c)
}

pub fn create(conn: &mut PgConnection, actor: &Actor, new: &NewClaimant, reason: Option<&str>) -> AppResult<Committed<Claimant>> {
    write(conn, |conn, log| {
        insert(conn, log, actor, new, reason)?.ok_or_else(|| AppError::Conflict(format!("a claimant named '{}' exists already", new.name)))
    })
}

/// The record a claim names: by id, or by name (created, of the given
/// kind, when there is none yet — inside the caller's write).
pub fn resolve(conn: &mut PgConnection, log: &mut Log, actor: &Actor, claimant: &ClaimantRef, reason: Option<&str>) -> AppResult<Claimant> {
    match claimant {
        ClaimantRef::Id(id) => get(conn, *id).map_err(|_| AppError::field("claimant_id", format!("no claimant with id {id}"))),
        ClaimantRef::Name { name, kind } => match (by_name(conn, name)?, kind) {
            (Some(c), Some(k)) if c.kind != *k => Err(AppError::field(
                "claimant_kind",
                format!("'{}' is recorded as a {}, not a {k}", c.name, c.kind),
            )),
            (Some(c), _) => Ok(c),
            (None, Some(kind)) => {
                let new = NewClaimant {
                    name: name.clone(),
                    kind: *kind,
                    role: None,
                    same_as: vec![],
                };
                match insert(conn, log, actor, &new, reason)? {
                    Some(c) => Ok(c),
                    // Another writer recorded that name meanwhile: use theirs.
                    None => by_name(conn, name)?.ok_or_else(|| AppError::Unavailable("a concurrent change won; retry".into())),
                }
            }
            (None, None) => Err(AppError::field(
                "claimant_kind",
                format!("no claimant is named '{name}' yet: give claimant_kind (person or organization) to record one, or claimant_id"),
            )),
        },
    }
}

/// Edits a record. A new name is carried to the claims that name it (each
/// a revision too), in the same write.
pub fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    expected: Option<i32>,
    patch: &ClaimantPatch,
    reason: Option<&str>,
) -> AppResult<Committed<Claimant>> {
    write(conn, |conn, log| {
        let current: Claimant = claimants::table
            .find(id)
            .for_update()
            .select(Claimant::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| no_claimant(id))?;
        check_version("claimant", current.version, expected)?;
        let next = patch.apply(&current);
        if next == current {
            return Ok(current);
        }
        if next.name.to_lowercase() != current.name.to_lowercase() && by_name(conn, &next.name)?.is_some() {
            return Err(AppError::Conflict(format!("a claimant named '{}' exists already", next.name)));
        }
        let c: Claimant = diesel::update(claimants::table.find(id))
            .set((
                claimants::name.eq(&next.name),
                claimants::kind.eq(next.kind),
                claimants::role.eq(&next.role),
                claimants::same_as.eq(&next.same_as),
                claimants::version.eq(current.version + 1),
                claimants::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Claimant::as_returning())
            .get_result(conn)?;
        log.record(&c, Action::Update, actor.id, reason);
        if c.name != current.name {
            let renamed: Vec<Claim> = diesel::update(claims::table.filter(claims::claimant_id.eq(id)))
                .set((
                    claims::claimant.eq(&c.name),
                    claims::version.eq(claims::version + 1),
                    claims::updated_at.eq(diesel::dsl::now),
                ))
                .returning(Claim::as_returning())
                .get_results(conn)?;
            let why = format!("the claimant's record was renamed to '{}'", c.name);
            for claim in &renamed {
                log.record(claim, Action::Update, actor.id, Some(&why));
            }
        }
        Ok(c)
    })
}

/// By name, after `page.after` (ids are creation order).
pub fn list(conn: &mut PgConnection, page: Page) -> AppResult<Vec<Claimant>> {
    let mut query = claimants::table
        .select(Claimant::as_select())
        .order(claimants::id.asc())
        .limit(page.limit)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(claimants::id.gt(after));
    }
    Ok(query.load(conn)?)
}
