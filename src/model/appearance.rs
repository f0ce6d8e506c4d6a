//! Appearances: a claim quoted in a stored article.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::fields;
use super::quote::{QuoteQuery, TextPositionSelector, TextQuoteSelector, parse_query, selectors};
use super::revision::text_enum;
use crate::error::{AppError, AppResult};

text_enum!(
    /// What kind of appearance: the claimant's words in quotation marks
    /// (`direct_quote`), the article's words for what the claimant said
    /// (`paraphrase`), or the article asserting it itself (`report`).
    AppearanceKind {
        DirectQuote => "direct_quote",
        Paraphrase => "paraphrase",
        Report => "report",
    }
);

/// What snapshots recorded before appearances had kinds read as: the
/// weakest (it does not claim the words are the claimant's own).
fn paraphrase() -> AppearanceKind {
    AppearanceKind::Paraphrase
}

text_enum!(
    /// Appearances are retired, never deleted.
    AppearanceStatus {
        Active => "active",
        Retired => "retired",
    }
);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, diesel::Queryable, diesel::Selectable, diesel::Insertable)]
#[diesel(treat_none_as_default_value = false)]
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
    pub status: AppearanceStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default = "paraphrase")]
    pub kind: AppearanceKind,
    /// Whether the quoted words are a translation of what was said.
    #[serde(default)]
    pub translated: bool,
    /// The language it was said in (BCP 47), when translated.
    #[serde(default)]
    pub original_language: Option<String>,
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
    /// direct_quote | paraphrase (the default) | report
    pub kind: Option<AppearanceKind>,
    /// Whether the quote is a translation (default false).
    pub translated: Option<bool>,
    /// BCP 47; only with `translated: true`.
    pub original_language: Option<String>,
    pub reason: Option<String>,
}

#[derive(Clone, Debug)]
pub struct NewAppearance {
    pub article_id: Uuid,
    pub quote: QuoteQuery,
    pub kind: AppearanceKind,
    pub translated: bool,
    pub original_language: Option<String>,
}

/// A translation's original language: only with `translated`.
pub fn original_language(translated: bool, value: Option<&str>) -> Result<Option<String>, crate::error::FieldError> {
    match (translated, value.map(str::trim).filter(|v| !v.is_empty())) {
        (_, None) => Ok(None),
        (true, Some(v)) => fields::language("original_language", v).map(Some),
        (false, Some(_)) => Err(crate::error::FieldError::new("original_language", "only with translated: true")),
    }
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
        let translated = input.translated.unwrap_or(false);
        let original_language = original_language(translated, input.original_language.as_deref())
            .map_err(|e| errors.push(e))
            .ok()
            .flatten();
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
                kind: input.kind.unwrap_or(AppearanceKind::Paraphrase),
                translated,
                original_language,
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
    pub status: AppearanceStatus,
    pub kind: AppearanceKind,
    pub translated: bool,
    pub original_language: Option<String>,
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
            kind: a.kind,
            translated: a.translated,
            original_language: a.original_language,
        }
    }
}
