//! Merging a duplicate claim into the one that survives, after the fact:
//! its active appearances and evidence move to the survivor, and it is
//! retired with `merged_into` — every change a revision, in one write.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use uuid::Uuid;

use super::{ClaimFamily, family, lock};
use crate::db::schema::{appearances, claims, evidence, verdicts};
use crate::error::{AppError, AppResult};
use crate::model::appearance::AppearanceStatus;
use crate::model::claim::ClaimStatus;
use crate::model::evidence::EvidenceStatus;
use crate::model::{Action, Actor, Appearance, Claim, Evidence, VerdictStatus};
use crate::store::{Committed, check_version, write};

/// Merges claim `id` into claim `into`. Refused while `id` has a verdict
/// in draft or review (finish or withdraw it first); a published verdict
/// stays with the retired claim, whose public fact check then leaves the
/// public set and points at the survivor.
pub fn merge(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    into: Uuid,
    expected: Option<i32>,
    reason: &str,
) -> AppResult<Committed<ClaimFamily>> {
    if id == into {
        return Err(AppError::field("into", "a claim cannot be merged into itself"));
    }
    write(conn, |conn, log| {
        // Lock in id order, so two merges of the same pair cannot deadlock.
        let (first, second) = if id < into { (id, into) } else { (into, id) };
        let a = lock(conn, first)?;
        let b = lock(conn, second)?;
        let (source, target) = if a.id == id { (a, b) } else { (b, a) };
        check_version("claim", source.version, expected)?;
        if source.status != ClaimStatus::Active {
            return Err(AppError::Conflict(format!(
                "claim {id} is retired; only an active claim can be merged"
            )));
        }
        if target.status != ClaimStatus::Active {
            return Err(AppError::field(
                "into",
                format!("claim {into} is retired; merge into an active claim"),
            ));
        }
        let open: Vec<Uuid> = verdicts::table
            .filter(
                verdicts::claim_id
                    .eq(id)
                    .and(verdicts::status.eq_any([VerdictStatus::Draft, VerdictStatus::InReview])),
            )
            .select(verdicts::id)
            .load(conn)?;
        if let Some(v) = open.first() {
            return Err(AppError::Conflict(format!(
                "claim {id} has verdict {v} in draft or review: publish, reject or withdraw it before merging"
            )));
        }
        let why = format!("merged into claim {into}: {reason}");

        let existing: Vec<(Uuid, i32, i32)> = appearances::table
            .filter(appearances::claim_id.eq(into).and(appearances::status.eq(AppearanceStatus::Active)))
            .select((appearances::article_id, appearances::start_pos, appearances::end_pos))
            .load(conn)?;
        let moving: Vec<Appearance> = appearances::table
            .filter(appearances::claim_id.eq(id).and(appearances::status.eq(AppearanceStatus::Active)))
            .order(appearances::id)
            .select(Appearance::as_select())
            .load(conn)?;
        for a in moving {
            // The survivor already quotes that passage: retire the copy.
            let duplicate = existing.contains(&(a.article_id, a.start_pos, a.end_pos));
            let target_query = diesel::update(appearances::table.find(a.id));
            let moved: Appearance = if duplicate {
                target_query
                    .set((
                        appearances::status.eq(AppearanceStatus::Retired),
                        appearances::version.eq(a.version + 1),
                        appearances::updated_at.eq(diesel::dsl::now),
                    ))
                    .returning(Appearance::as_returning())
                    .get_result(conn)?
            } else {
                target_query
                    .set((
                        appearances::claim_id.eq(into),
                        appearances::version.eq(a.version + 1),
                        appearances::updated_at.eq(diesel::dsl::now),
                    ))
                    .returning(Appearance::as_returning())
                    .get_result(conn)?
            };
            log.record(&moved, Action::Merge, actor.id, Some(&why));
        }
        let moving: Vec<Evidence> = evidence::table
            .filter(evidence::claim_id.eq(id).and(evidence::status.eq(EvidenceStatus::Active)))
            .order(evidence::id)
            .select(Evidence::as_select())
            .load(conn)?;
        for e in moving {
            let moved: Evidence = diesel::update(evidence::table.find(e.id))
                .set((
                    evidence::claim_id.eq(into),
                    evidence::version.eq(e.version + 1),
                    evidence::updated_at.eq(diesel::dsl::now),
                ))
                .returning(Evidence::as_returning())
                .get_result(conn)?;
            log.record(&moved, Action::Merge, actor.id, Some(&why));
        }
        let retired: Claim = diesel::update(claims::table.find(id))
            .set((
                claims::status.eq(ClaimStatus::Retired),
                claims::merged_into.eq(Some(into)),
                claims::version.eq(source.version + 1),
                claims::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Claim::as_returning())
            .get_result(conn)?;
        log.record(&retired, Action::Merge, actor.id, Some(&why));
        family(conn, into)
    })
}
