//! Claims, and a claim read with everything hanging off it.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use uuid::Uuid;

use super::{Page, check_version, record, transaction};
use crate::db::schema::{appearances, claims, evidence, verdicts};
use crate::error::{AppError, AppResult};
use crate::model::claim::{ClaimPatch, ClaimStatus, NewClaim};
use crate::model::{Action, Actor, Appearance, Claim, EntityKind, Evidence, Verdict};

pub fn create(conn: &mut PgConnection, actor: &Actor, new: NewClaim, reason: Option<&str>) -> AppResult<Claim> {
    transaction(conn, |conn| {
        let claim: Claim = diesel::insert_into(claims::table)
            .values((
                claims::id.eq(Uuid::now_v7()),
                claims::statement.eq(&new.statement),
                claims::claimant.eq(&new.claimant),
                claims::claimed_on.eq(new.claimed_on),
                claims::language.eq(&new.language),
                claims::tags.eq(&new.tags),
            ))
            .returning(Claim::as_returning())
            .get_result(conn)?;
        record(
            conn,
            EntityKind::Claim,
            &claim,
            (claim.id, claim.version),
            Action::Create,
            actor.id,
            reason,
        )?;
        Ok(claim)
    })
}

pub fn get(conn: &mut PgConnection, id: Uuid) -> AppResult<Claim> {
    claims::table
        .find(id)
        .select(Claim::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| no_claim(id))
}

pub fn no_claim(id: Uuid) -> AppError {
    AppError::NotFound(format!("no claim with id {id}"))
}

/// Locks the claim row for the rest of the transaction.
pub fn lock(conn: &mut PgConnection, id: Uuid) -> AppResult<Claim> {
    claims::table
        .find(id)
        .for_update()
        .select(Claim::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| no_claim(id))
}

/// Children may only be added to an active claim; the row stays locked.
pub fn lock_active(conn: &mut PgConnection, id: Uuid) -> AppResult<Claim> {
    let claim = lock(conn, id)?;
    if claim.status != ClaimStatus::Active.as_str() {
        return Err(AppError::Conflict(format!(
            "claim {id} is retired; restore it (status: active) first"
        )));
    }
    Ok(claim)
}

pub fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    expected: Option<i32>,
    patch: &ClaimPatch,
    reason: Option<&str>,
) -> AppResult<Claim> {
    transaction(conn, |conn| {
        let current = lock(conn, id)?;
        check_version("claim", current.version, expected)?;
        let next = patch.apply(&current);
        if next == current {
            return Ok(current);
        }
        let action = match patch.status {
            Some(ClaimStatus::Retired) if current.status != next.status => Action::Retire,
            _ => Action::Update,
        };
        let claim: Claim = diesel::update(claims::table.find(id))
            .set((
                claims::statement.eq(&next.statement),
                claims::claimant.eq(&next.claimant),
                claims::claimed_on.eq(next.claimed_on),
                claims::language.eq(&next.language),
                claims::tags.eq(&next.tags),
                claims::status.eq(&next.status),
                claims::version.eq(current.version + 1),
                claims::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Claim::as_returning())
            .get_result(conn)?;
        record(conn, EntityKind::Claim, &claim, (claim.id, claim.version), action, actor.id, reason)?;
        Ok(claim)
    })
}

/// A claim with its appearances, evidence and verdicts, oldest first.
#[derive(Debug, Clone)]
pub struct ClaimFamily {
    pub claim: Claim,
    pub appearances: Vec<Appearance>,
    pub evidence: Vec<Evidence>,
    pub verdicts: Vec<Verdict>,
}

pub fn family(conn: &mut PgConnection, id: Uuid) -> AppResult<ClaimFamily> {
    let claim = get(conn, id)?;
    let appearances = appearances::table
        .filter(appearances::claim_id.eq(id))
        .order(appearances::id)
        .select(Appearance::as_select())
        .load(conn)?;
    let evidence = evidence::table
        .filter(evidence::claim_id.eq(id))
        .order(evidence::id)
        .select(Evidence::as_select())
        .load(conn)?;
    let verdicts = verdicts::table
        .filter(verdicts::claim_id.eq(id))
        .order(verdicts::id)
        .select(Verdict::as_select())
        .load(conn)?;
    Ok(ClaimFamily {
        claim,
        appearances,
        evidence,
        verdicts,
    })
}

#[derive(Debug, Default, Clone)]
pub struct ClaimFilter {
    pub claimant: Option<String>,
    pub tag: Option<String>,
    pub status: Option<String>,
}

/// Newest first.
pub fn list(conn: &mut PgConnection, filter: &ClaimFilter, page: Page) -> AppResult<Vec<Claim>> {
    let mut query = claims::table
        .select(Claim::as_select())
        .order(claims::id.desc())
        .limit(page.limit)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(claims::id.lt(after));
    }
    if let Some(c) = &filter.claimant {
        query = query.filter(claims::claimant.eq(c.clone()));
    }
    if let Some(t) = &filter.tag {
        query = query.filter(claims::tags.contains(vec![t.clone()]));
    }
    if let Some(s) = &filter.status {
        query = query.filter(claims::status.eq(s.clone()));
    }
    Ok(query.load(conn)?)
}
