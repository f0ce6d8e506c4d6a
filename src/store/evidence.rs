//! Evidence for and against a claim.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use uuid::Uuid;

use super::{Committed, appearances::anchor_in_article, check_version, claims, write};
use crate::db::schema::{evidence, verdicts};
use crate::error::{AppError, AppResult};
use crate::model::evidence::{EvidencePatch, EvidenceSource, EvidenceStatus, NewEvidence};
use crate::model::{Action, Actor, Evidence, VerdictStatus};

pub fn add(
    conn: &mut PgConnection,
    actor: &Actor,
    claim_id: Uuid,
    new: &NewEvidence,
    reason: Option<&str>,
) -> AppResult<Committed<Evidence>> {
    write(conn, |conn, log| {
        claims::lock_active(conn, claim_id)?;
        let id = Uuid::now_v7();
        let row: Evidence = match &new.source {
            EvidenceSource::Passage { article_id, quote } => {
                let at = anchor_in_article(conn, *article_id, quote)?;
                diesel::insert_into(evidence::table)
                    .values((
                        evidence::id.eq(id),
                        evidence::claim_id.eq(claim_id),
                        evidence::stance.eq(new.stance.as_str()),
                        evidence::summary.eq(&new.summary),
                        evidence::article_id.eq(article_id),
                        evidence::exact.eq(&at.exact),
                        evidence::prefix.eq(&at.prefix),
                        evidence::suffix.eq(&at.suffix),
                        evidence::start_pos.eq(at.start as i32),
                        evidence::end_pos.eq(at.end as i32),
                    ))
                    .returning(Evidence::as_returning())
                    .get_result(conn)?
            }
            EvidenceSource::Link { url, title } => diesel::insert_into(evidence::table)
                .values((
                    evidence::id.eq(id),
                    evidence::claim_id.eq(claim_id),
                    evidence::stance.eq(new.stance.as_str()),
                    evidence::summary.eq(&new.summary),
                    evidence::url.eq(url),
                    evidence::title.eq(title),
                ))
                .returning(Evidence::as_returning())
                .get_result(conn)?,
        };
        log.record(&row, Action::Create, actor.id, reason);
        Ok(row)
    })
}

pub fn get(conn: &mut PgConnection, id: Uuid) -> AppResult<Evidence> {
    evidence::table
        .find(id)
        .select(Evidence::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| no_evidence(id))
}

fn no_evidence(id: Uuid) -> AppError {
    AppError::NotFound(format!("no evidence with id {id}"))
}

pub fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    expected: Option<i32>,
    patch: &EvidencePatch,
    reason: Option<&str>,
) -> AppResult<Committed<Evidence>> {
    write(conn, |conn, log| {
        let current: Evidence = evidence::table
            .find(id)
            .for_update()
            .select(Evidence::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| no_evidence(id))?;
        check_version("evidence", current.version, expected)?;
        let next = patch.apply(&current);
        if next == current {
            return Ok(current);
        }
        let withdrawing = next.status == EvidenceStatus::Withdrawn && current.status != next.status;
        if withdrawing {
            // A verdict in the workflow or in public must not cite withdrawn evidence.
            let citing: Option<(Uuid, String)> = verdicts::table
                .filter(verdicts::evidence_ids.contains(vec![id]).and(verdicts::status.eq_any([
                    VerdictStatus::Draft,
                    VerdictStatus::InReview,
                    VerdictStatus::Published,
                ])))
                .select((verdicts::id, verdicts::status))
                .first(conn)
                .optional()?;
            if let Some((verdict_id, status)) = citing {
                return Err(AppError::Conflict(format!(
                    "verdict {verdict_id} ({status}) cites this evidence; change or withdraw that verdict first"
                )));
            }
        } else {
            claims::lock_active(conn, current.claim_id)?;
        }
        let row: Evidence = diesel::update(evidence::table.find(id))
            .set((
                evidence::stance.eq(&next.stance),
                evidence::summary.eq(&next.summary),
                evidence::status.eq(&next.status),
                evidence::version.eq(current.version + 1),
                evidence::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Evidence::as_returning())
            .get_result(conn)?;
        let action = if withdrawing { Action::Withdraw } else { Action::Update };
        log.record(&row, action, actor.id, reason);
        Ok(row)
    })
}
