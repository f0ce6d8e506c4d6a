//! Appearances: anchoring a claim's quote in an article.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use uuid::Uuid;

use super::{Committed, claims, write};
use crate::db::schema::{appearances, articles};
use crate::error::{AppError, AppResult, FieldError};
use crate::model::appearance::{AppearanceStatus, NewAppearance};
use crate::model::quote::{Anchored, QuoteQuery, anchor};
use crate::model::{Action, Actor, Appearance};

/// Finds the quote in the stored article body: a missing article and a
/// quote that is absent or ambiguous are 422s naming the field.
pub fn anchor_in_article(conn: &mut PgConnection, article_id: Uuid, quote: &QuoteQuery) -> AppResult<Anchored> {
    let body: Option<String> = articles::table.find(article_id).select(articles::body).first(conn).optional()?;
    let body = body.ok_or_else(|| AppError::invalid(vec![FieldError::new("article_id", format!("no article with id {article_id}"))]))?;
    anchor(&body, quote).map_err(|e| AppError::invalid(vec![e]))
}

pub fn add(
    conn: &mut PgConnection,
    actor: &Actor,
    claim_id: Uuid,
    new: &NewAppearance,
    reason: Option<&str>,
) -> AppResult<Committed<Appearance>> {
    write(conn, |conn, log| {
        claims::lock_active(conn, claim_id)?;
        let at = anchor_in_article(conn, new.article_id, &new.quote)?;
        let duplicate: bool = diesel::select(diesel::dsl::exists(
            appearances::table.filter(
                appearances::claim_id
                    .eq(claim_id)
                    .and(appearances::article_id.eq(new.article_id))
                    .and(appearances::start_pos.eq(at.start as i32))
                    .and(appearances::end_pos.eq(at.end as i32))
                    .and(appearances::status.eq(AppearanceStatus::Active)),
            ),
        ))
        .get_result(conn)?;
        if duplicate {
            return Err(AppError::Conflict("this claim already has that appearance in that article".into()));
        }
        let appearance: Appearance = diesel::insert_into(appearances::table)
            .values((
                appearances::id.eq(Uuid::now_v7()),
                appearances::claim_id.eq(claim_id),
                appearances::article_id.eq(new.article_id),
                appearances::exact.eq(&at.exact),
                appearances::prefix.eq(&at.prefix),
                appearances::suffix.eq(&at.suffix),
                appearances::start_pos.eq(at.start as i32),
                appearances::end_pos.eq(at.end as i32),
                appearances::kind.eq(new.kind),
                appearances::translated.eq(new.translated),
                appearances::original_language.eq(&new.original_language),
            ))
            .returning(Appearance::as_returning())
            .get_result(conn)?;
        log.record(&appearance, Action::Create, actor.id, reason);
        Ok(appearance)
    })
}
