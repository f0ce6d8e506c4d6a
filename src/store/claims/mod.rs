//! Claims, and a claim read with everything hanging off it; merging
//! duplicates (`merge`) and finding similar claims (`similar`).

pub mod merge;
pub mod similar;

use diesel::pg::PgConnection;
use diesel::prelude::*;
use uuid::Uuid;

use super::{Committed, Page, check_version, claimants, write};
use crate::db::schema::{appearances, claims, evidence, verdicts};
use crate::error::{AppError, AppResult};
use crate::model::claim::{ClaimPatch, ClaimStatus, NewClaim};
use crate::model::{Action, Actor, Appearance, Claim, Claimant, Evidence, Verdict};

/// Records a claim (and its claimant's record, when a new name is given);
/// the claim as recorded, with its claimant, and the existing claims that
/// look like it (score at least `similar_at`).
pub fn create(conn: &mut PgConnection, actor: &Actor, new: NewClaim, reason: Option<&str>) -> AppResult<Committed<Claim>> {
    write(conn, |conn, log| {
        let claimant = claimants::resolve(conn, log, actor, &new.claimant, reason)?;
        let claim: Claim = diesel::insert_into(claims::table)
            .values((
                claims::id.eq(Uuid::now_v7()),
                claims::statement.eq(&new.statement),
                claims::claimant.eq(&claimant.name),
                claims::claimant_id.eq(claimant.id),
                claims::claimed_on.eq(new.claimed_on),
                claims::claimed_on_precision.eq(new.claimed_on_precision),
                claims::claimed_on_note.eq(&new.claimed_on_note),
                claims::language.eq(&new.language),
                claims::tags.eq(&new.tags),
            ))
            .returning(Claim::as_returning())
            .get_result(conn)?;
        log.record(&claim, Action::Create, actor.id, reason);
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
    if claim.status != ClaimStatus::Active {
        return Err(AppError::Conflict(format!(
            "claim {id} is retired; restore it (status: active) first"
        )));
    }
    Ok(claim)
}

/// Edits the claim and returns it with its children as the edit left
/// them, read in the same transaction: the response (and its ETag) never
/// shows a later writer's version.
pub fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    expected: Option<i32>,
    patch: &ClaimPatch,
    reason: Option<&str>,
) -> AppResult<Committed<ClaimFamily>> {
    write(conn, |conn, log| {
        let current = lock(conn, id)?;
        check_version("claim", current.version, expected)?;
        if let (Some(into), Some(ClaimStatus::Active)) = (current.merged_into, patch.status) {
            return Err(AppError::Conflict(format!(
                "claim {id} was merged into claim {into}; edit that one instead"
            )));
        }
        let claimant = patch
            .claimant
            .as_ref()
            .map(|c| claimants::resolve(conn, log, actor, c, reason))
            .transpose()?;
        let next = patch.apply(&current, claimant.as_ref())?;
        if next == current {
            return family(conn, id);
        }
        let action = match patch.status {
            Some(ClaimStatus::Retired) if current.status != next.status => Action::Retire,
            _ => Action::Update,
        };
        let claim: Claim = diesel::update(claims::table.find(id))
            .set((
                claims::statement.eq(&next.statement),
                claims::claimant.eq(&next.claimant),
                claims::claimant_id.eq(next.claimant_id),
                claims::claimed_on.eq(next.claimed_on),
                claims::claimed_on_precision.eq(next.claimed_on_precision),
                claims::claimed_on_note.eq(&next.claimed_on_note),
                claims::language.eq(&next.language),
                claims::tags.eq(&next.tags),
                claims::status.eq(&next.status),
                claims::version.eq(current.version + 1),
                claims::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Claim::as_returning())
            .get_result(conn)?;
        log.record(&claim, action, actor.id, reason);
        family(conn, id)
    })
}

/// A claim with its claimant's record, appearances, evidence and
/// verdicts, oldest first.
#[derive(Debug, Clone)]
pub struct ClaimFamily {
    pub claim: Claim,
    pub claimant: Option<Claimant>,
    pub appearances: Vec<Appearance>,
    pub evidence: Vec<Evidence>,
    pub verdicts: Vec<Verdict>,
}

pub fn family(conn: &mut PgConnection, id: Uuid) -> AppResult<ClaimFamily> {
    let claim = get(conn, id)?;
    let claimant = claim.claimant_id.map(|c| claimants::get(conn, c)).transpose()?;
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
        claimant,
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

/// Newest first, each with its claimant's record.
pub fn list(conn: &mut PgConnection, filter: &ClaimFilter, page: Page) -> AppResult<Vec<(Claim, Option<Claimant>)>> {
    let rows = list_rows(conn, filter, page)?;
    let ids: Vec<Uuid> = rows.iter().filter_map(|c| c.claimant_id).collect();
    let records: std::collections::HashMap<Uuid, Claimant> = claimants::by_ids(conn, &ids)?.into_iter().map(|c| (c.id, c)).collect();
    Ok(rows
        .into_iter()
        .map(|c| {
            let record = c.claimant_id.and_then(|id| records.get(&id).cloned());
            (c, record)
        })
        .collect())
}

fn list_rows(conn: &mut PgConnection, filter: &ClaimFilter, page: Page) -> AppResult<Vec<Claim>> {
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
