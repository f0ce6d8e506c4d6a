//! The verdict workflow: draft → in_review → published → superseded /
//! withdrawn. Reviewers publish, reject and withdraw, never their own verdicts.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use uuid::Uuid;

use super::{Committed, check_version, claims, write, write_one};
use crate::db::schema::{evidence, verdicts};
use crate::db::sql::{Param, Sql};
use crate::error::{AppError, AppResult, FieldError};
use crate::model::evidence::EvidenceStatus;
use crate::model::verdict::{NewVerdict, VerdictPatch};
use crate::model::{Action, Actor, Verdict, VerdictStatus};

/// Every cited id must be active evidence of this claim.
fn check_evidence(conn: &mut PgConnection, claim_id: Uuid, ids: &[Uuid]) -> AppResult<()> {
    let found: Vec<(Uuid, Uuid, EvidenceStatus)> = evidence::table
        .filter(evidence::id.eq_any(ids))
        .select((evidence::id, evidence::claim_id, evidence::status))
        .load(conn)?;
    let mut errors = vec![];
    for (i, id) in ids.iter().enumerate() {
        let field = format!("evidence_ids[{i}]");
        match found.iter().find(|(eid, _, _)| eid == id) {
            None => errors.push(FieldError::new(field, format!("no evidence with id {id}"))),
            Some((_, c, _)) if *c != claim_id => errors.push(FieldError::new(field, format!("evidence {id} belongs to another claim"))),
            Some((_, _, status)) if *status != EvidenceStatus::Active => {
                errors.push(FieldError::new(field, format!("evidence {id} is {status}")))
            }
            Some(_) => {}
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::invalid(errors))
    }
}

pub fn get(conn: &mut PgConnection, id: Uuid) -> AppResult<Verdict> {
    verdicts::table
        .find(id)
        .select(Verdict::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| no_verdict(id))
}

fn no_verdict(id: Uuid) -> AppError {
    AppError::NotFound(format!("no verdict with id {id}"))
}

fn lock(conn: &mut PgConnection, id: Uuid, expected: Option<i32>) -> AppResult<Verdict> {
    let v: Verdict = verdicts::table
        .find(id)
        .for_update()
        .select(Verdict::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| no_verdict(id))?;
    check_version("verdict", v.version, expected)?;
    Ok(v)
}

fn require_status(v: &Verdict, allowed: &[VerdictStatus], doing: &str) -> AppResult<()> {
    if allowed.contains(&v.status) {
        return Ok(());
    }
    let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
    Err(AppError::Conflict(format!(
        "cannot {doing} a verdict that is {}; it must be {}",
        v.status,
        names.join(" or ")
    )))
}

/// The two-person rule.
fn not_the_author(v: &Verdict, actor: &Actor, doing: &str) -> AppResult<()> {
    if v.author_id == actor.id {
        return Err(AppError::Forbidden(format!(
            "you wrote this verdict, so another reviewer must {doing} it"
        )));
    }
    Ok(())
}

pub fn create_draft(
    conn: &mut PgConnection,
    actor: &Actor,
    claim_id: Uuid,
    new: &NewVerdict,
    reason: Option<&str>,
) -> AppResult<Committed<Verdict>> {
    write(conn, |conn, log| {
        claims::lock_active(conn, claim_id)?;
        check_evidence(conn, claim_id, &new.evidence_ids)?;
        let v: Verdict = diesel::insert_into(verdicts::table)
            .values((
                verdicts::id.eq(Uuid::now_v7()),
                verdicts::claim_id.eq(claim_id),
                verdicts::rating.eq(new.rating.as_str()),
                verdicts::headline.eq(&new.headline),
                verdicts::summary.eq(&new.summary),
                verdicts::evidence_ids.eq(&new.evidence_ids),
                verdicts::author_id.eq(actor.id),
            ))
            .returning(Verdict::as_returning())
            .get_result(conn)?;
        log.record(&v, Action::Create, actor.id, reason);
        Ok(v)
    })
}

/// How often a draft edit reads again when another edit got in between
/// its read and its write (only when the client sent `If-Match: *`: with a
/// version, the second read answers 412). Each lost race is another edit
/// landing, so this many concurrent editors of one draft all get through.
const EDIT_ATTEMPTS: usize = 32;

/// A draft edit, the editor's hottest write: read without a lock, then one
/// statement that changes the row only if it is still the version read and
/// records its revision (`store::write_one`). Three round trips with the
/// account check, where a locking transaction takes six.
pub fn update_draft(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    expected: Option<i32>,
    patch: &VerdictPatch,
    reason: Option<&str>,
) -> AppResult<Committed<Verdict>> {
    for _ in 0..EDIT_ATTEMPTS {
        let ReadAt { verdict: current, now } = Sql::fixed(
            "SELECT *, statement_timestamp() AS now FROM verdicts WHERE id = $1",
            vec![Param::Uuid(id)],
        )
        .get_result(conn)
        .optional()?
        .ok_or_else(|| no_verdict(id))?;
        check_version("verdict", current.version, expected)?;
        require_status(&current, &[VerdictStatus::Draft], "edit")?;
        let next = patch.apply(&current);
        if next == current {
            return Ok(Committed {
                value: current,
                pending: None,
            });
        }
        if patch.evidence_ids.is_some() {
            check_evidence(conn, current.claim_id, &next.evidence_ids)?;
        }
        let v = Verdict {
            version: current.version + 1,
            updated_at: now,
            ..next
        };
        let change = Sql::fixed(
            "UPDATE verdicts SET rating = $1, headline = $2, summary = $3, evidence_ids = $4, version = $5, updated_at = $6 \
             WHERE id = $7 AND version = $8 AND status = 'draft' RETURNING id",
            vec![
                Param::text(v.rating.as_str()),
                Param::text(v.headline.clone()),
                Param::text(v.summary.clone()),
                Param::Uuids(v.evidence_ids.clone()),
                Param::Int(v.version),
                Param::Time(now),
                Param::Uuid(id),
                Param::Int(current.version),
            ],
        );
        if let Some(done) = write_one(conn, change, v, Action::Update, actor.id, reason)? {
            return Ok(done);
        }
    }
    Err(AppError::Conflict(format!(
        "verdict {id} changed {EDIT_ATTEMPTS} times while this edit was being written; send it again"
    )))
}

/// A verdict and the time it was read at (its edit's `updated_at`).
#[derive(diesel::QueryableByName)]
struct ReadAt {
    #[diesel(embed)]
    verdict: Verdict,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    now: chrono::DateTime<chrono::Utc>,
}

/// Moves the locked verdict to `status`, stamping the time columns that go with it.
fn set_status(conn: &mut PgConnection, current: &Verdict, status: VerdictStatus, reviewer: Option<Uuid>) -> AppResult<Verdict> {
    let now = diesel::dsl::now;
    let target = verdicts::table.find(current.id);
    let common = (
        verdicts::status.eq(status.as_str()),
        verdicts::version.eq(current.version + 1),
        verdicts::updated_at.eq(now),
    );
    let v = match status {
        VerdictStatus::Published => diesel::update(target)
            .set((common, verdicts::reviewer_id.eq(reviewer), verdicts::published_at.eq(now)))
            .returning(Verdict::as_returning())
            .get_result(conn)?,
        VerdictStatus::Superseded => diesel::update(target)
            .set((common, verdicts::superseded_at.eq(now)))
            .returning(Verdict::as_returning())
            .get_result(conn)?,
        VerdictStatus::Withdrawn => diesel::update(target)
            .set((common, verdicts::withdrawn_at.eq(now)))
            .returning(Verdict::as_returning())
            .get_result(conn)?,
        VerdictStatus::Draft | VerdictStatus::InReview => diesel::update(target)
            .set(common)
            .returning(Verdict::as_returning())
            .get_result(conn)?,
    };
    Ok(v)
}

pub fn submit(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    expected: Option<i32>,
    reason: Option<&str>,
) -> AppResult<Committed<Verdict>> {
    write(conn, |conn, log| {
        let current = lock(conn, id, expected)?;
        require_status(&current, &[VerdictStatus::Draft], "submit")?;
        if current.evidence_ids.is_empty() {
            return Err(AppError::field(
                "evidence_ids",
                "a verdict must cite at least one piece of evidence before review",
            ));
        }
        check_evidence(conn, current.claim_id, &current.evidence_ids)?;
        let v = set_status(conn, &current, VerdictStatus::InReview, None)?;
        log.record(&v, Action::Submit, actor.id, reason);
        Ok(v)
    })
}

/// Publishes, superseding the claim's previously published verdict in the
/// same transaction (two revisions).
pub fn publish(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    expected: Option<i32>,
    reason: Option<&str>,
) -> AppResult<Committed<Verdict>> {
    write(conn, |conn, log| {
        let current = lock(conn, id, expected)?;
        not_the_author(&current, actor, "publish")?;
        require_status(&current, &[VerdictStatus::InReview], "publish")?;
        claims::lock_active(conn, current.claim_id)?;
        check_evidence(conn, current.claim_id, &current.evidence_ids)?;
        let previous: Option<Verdict> = verdicts::table
            .filter(
                verdicts::claim_id
                    .eq(current.claim_id)
                    .and(verdicts::status.eq(VerdictStatus::Published.as_str())),
            )
            .for_update()
            .select(Verdict::as_select())
            .first(conn)
            .optional()?;
        if let Some(old) = previous {
            let old = set_status(conn, &old, VerdictStatus::Superseded, None)?;
            let why = format!("superseded by verdict {id}");
            log.record(&old, Action::Supersede, actor.id, Some(reason.unwrap_or(&why)));
        }
        let v = set_status(conn, &current, VerdictStatus::Published, Some(actor.id))?;
        log.record(&v, Action::Publish, actor.id, reason);
        Ok(v)
    })
}

/// Sends a verdict in review back to its author as a draft.
pub fn reject(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    expected: Option<i32>,
    reason: Option<&str>,
) -> AppResult<Committed<Verdict>> {
    write(conn, |conn, log| {
        let current = lock(conn, id, expected)?;
        not_the_author(&current, actor, "reject")?;
        require_status(&current, &[VerdictStatus::InReview], "reject")?;
        let v = set_status(conn, &current, VerdictStatus::Draft, None)?;
        log.record(&v, Action::Reject, actor.id, reason);
        Ok(v)
    })
}

/// Retires a verdict for good; a published one leaves the public set.
pub fn withdraw(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    expected: Option<i32>,
    reason: Option<&str>,
) -> AppResult<Committed<Verdict>> {
    let reason = reason.ok_or_else(|| AppError::field("reason", "withdrawing a verdict needs a reason"))?;
    write(conn, |conn, log| {
        let current = lock(conn, id, expected)?;
        not_the_author(&current, actor, "withdraw")?;
        require_status(
            &current,
            &[VerdictStatus::Draft, VerdictStatus::InReview, VerdictStatus::Published],
            "withdraw",
        )?;
        let v = set_status(conn, &current, VerdictStatus::Withdrawn, None)?;
        log.record(&v, Action::Withdraw, actor.id, Some(reason));
        Ok(v)
    })
}
