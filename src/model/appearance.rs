//! Appearances: a claim quoted in a stored article.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::fields;
use super::quote::{QuoteQuery, TextPositionSelector, TextQuoteSelector, parse_query, selectors};
use crate::error::{AppError, AppResult};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = crate::db::schema::appearances)]
pub struct Appearance {
    pub id: Uuid,
    pub version: i32,
    pub claim_id: Uuid,
    pub article_id: Uuid,
    pub exact: String,
    pub prefix: String,
    pub suffix: String,
    pub start_pos: i32,
    pub end_pos: i32,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// POST /v1/claims/{id}/appearances. The server finds the quote in the
/// article and computes its position; start/end, when given, must agree.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppearanceInput {
    pub article_id: Uuid,
    /// The quote, exactly as in the article.
    pub exact: String,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
    /// Code points from the start of the body (0-based).
    pub start: Option<i64>,
    /// Exclusive.
    pub end: Option<i64>,
    pub reason: Option<String>,
}

#[derive(Clone, Debug)]
pub struct NewAppearance {
    pub article_id: Uuid,
    pub quote: QuoteQuery,
}

impl NewAppearance {
    pub fn parse(input: &AppearanceInput) -> AppResult<(NewAppearance, Option<String>)> {
        let mut errors = parse_query(
            &input.exact,
            input.prefix.as_deref(),
            input.suffix.as_deref(),
            input.start,
            input.end,
        );
        let reason = fields::reason(input.reason.as_deref()).map_err(|e| errors.push(e)).ok().flatten();
        if !errors.is_empty() {
            return Err(AppError::invalid(errors));
        }
        Ok((
            NewAppearance {
                article_id: input.article_id,
                quote: QuoteQuery {
                    exact: input.exact.clone(),
                    prefix: input.prefix.clone(),
                    suffix: input.suffix.clone(),
                    start: input.start,
                    end: input.end,
                },
            },
            reason,
        ))
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppearanceOut {
    pub id: Uuid,
    pub version: i32,
    pub article_id: Uuid,
    pub selector: TextQuoteSelector,
    pub position: TextPositionSelector,
    pub status: String,
}

impl From<Appearance> for AppearanceOut {
    fn from(a: Appearance) -> Self {
        let (selector, position) = selectors(&a.exact, &a.prefix, &a.suffix, a.start_pos, a.end_pos);
        AppearanceOut {
            id: a.id,
            version: a.version,
            article_id: a.article_id,
            selector,
            position,
            status: a.status,
        }
    }
}
