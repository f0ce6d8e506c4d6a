//! Articles: the texts claims are quoted from. The body never changes once
//! stored, so quote positions into it stay valid.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::fields::{self, http_url, language, optional_text, past_date, slug, text};
use crate::all_fields;
use crate::error::AppResult;

pub const MAX_BODY_CHARS: usize = 200_000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, diesel::Queryable, diesel::Selectable, diesel::Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = crate::db::schema::articles)]
pub struct Article {
    pub id: Uuid,
    pub version: i32,
    pub slug: String,
    pub title: String,
    pub publisher: Option<String>,
    pub url: Option<String>,
    pub published_on: Option<NaiveDate>,
    pub language: String,
    pub body: String,
    pub body_sha256: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// POST /v1/articles.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleInput {
    /// Made from the title when absent.
    pub slug: Option<String>,
    #[schema(min_length = 1, pattern = r"\S")]
    pub title: String,
    pub publisher: Option<String>,
    pub url: Option<String>,
    /// YYYY-MM-DD
    pub published_on: Option<String>,
    /// BCP 47
    #[schema(min_length = 2, max_length = 35)]
    pub language: String,
    /// The text, stored exactly as sent: quote positions count its code points.
    #[schema(min_length = 1, pattern = r"\S")]
    pub body: String,
    pub reason: Option<String>,
}

#[derive(Clone, Debug)]
pub struct NewArticle {
    pub slug: Option<String>,
    pub title: String,
    pub publisher: Option<String>,
    pub url: Option<String>,
    pub published_on: Option<NaiveDate>,
    pub language: String,
    pub body: String,
}

impl NewArticle {
    pub fn parse(input: &ArticleInput) -> AppResult<(NewArticle, Option<String>)> {
        let slug = input.slug.as_deref().map(|s| slug("slug", s)).transpose();
        let title = text("title", &input.title, 1, 500);
        let publisher = optional_text("publisher", input.publisher.as_deref(), 300);
        let url = input.url.as_deref().map(|u| http_url("url", u)).transpose();
        let published_on = input.published_on.as_deref().map(|d| past_date("published_on", d)).transpose();
        let language = language("language", &input.language);
        let body = body(&input.body);
        let reason = fields::reason(input.reason.as_deref());
        let (slug, title, publisher, url, published_on, language, body, reason) =
            all_fields!(slug, title, publisher, url, published_on, language, body, reason)?;
        Ok((
            NewArticle {
                slug,
                title,
                publisher,
                url,
                published_on,
                language,
                body,
            },
            reason,
        ))
    }
}

/// The body is kept byte for byte (not trimmed): positions are counted in it.
fn body(value: &str) -> Result<String, crate::error::FieldError> {
    let chars = value.chars().count();
    if value.trim().is_empty() {
        return Err(crate::error::FieldError::new("body", "must not be blank"));
    }
    if chars > MAX_BODY_CHARS {
        return Err(crate::error::FieldError::new(
            "body",
            format!("at most {MAX_BODY_CHARS} characters (got {chars})"),
        ));
    }
    if value.contains('\0') {
        return Err(crate::error::FieldError::new("body", "must not contain NUL characters"));
    }
    Ok(value.to_string())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleOut {
    pub id: Uuid,
    pub version: i32,
    pub slug: String,
    pub title: String,
    pub publisher: Option<String>,
    pub url: Option<String>,
    pub published_on: Option<NaiveDate>,
    pub language: String,
    /// Hex SHA-256 of the body's UTF-8 bytes.
    pub body_sha256: String,
    /// Present on single-article reads, not in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl ArticleOut {
    pub fn new(a: Article, with_body: bool) -> Self {
        ArticleOut {
            id: a.id,
            version: a.version,
            slug: a.slug,
            title: a.title,
            publisher: a.publisher,
            url: a.url,
            published_on: a.published_on,
            language: a.language,
            body_sha256: a.body_sha256,
            body: with_body.then_some(a.body),
            created_at: a.created_at,
        }
    }
}
