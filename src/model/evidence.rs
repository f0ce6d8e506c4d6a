//! Evidence: a passage of a stored article, or an external source, that
//! supports, refutes or adds context to a claim.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::fields::{self, Patch, http_url, optional_text, text};
use super::quote::{QuoteQuery, TextPositionSelector, TextQuoteSelector, parse_query, selectors};
use super::revision::text_enum;
use crate::all_fields;
use crate::error::{AppError, AppResult, FieldError};

text_enum!(
    Stance {
        Supports => "supports",
        Refutes => "refutes",
        Context => "context",
    }
);

text_enum!(
    /// Evidence is withdrawn, never deleted.
    EvidenceStatus {
        Active => "active",
        Withdrawn => "withdrawn",
    }
);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, diesel::Queryable, diesel::Selectable, diesel::Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = crate::db::schema::evidence)]
pub struct Evidence {
    pub id: Uuid,
    pub version: i32,
    pub claim_id: Uuid,
    pub stance: Stance,
    pub summary: String,
    pub article_id: Option<Uuid>,
    pub exact: Option<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
    pub start_pos: Option<i32>,
    pub end_pos: Option<i32>,
    pub url: Option<String>,
    pub title: Option<String>,
    pub status: EvidenceStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// POST /v1/claims/{id}/evidence: a passage (article_id + exact, with
/// prefix/suffix when the passage is ambiguous) or a link (url, title).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceInput {
    /// supports | refutes | context
    #[schema(value_type = Stance)]
    pub stance: String,
    #[schema(min_length = 1, pattern = r"\S")]
    pub summary: String,
    pub article_id: Option<Uuid>,
    pub exact: Option<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
    pub url: Option<String>,
    pub title: Option<String>,
    pub reason: Option<String>,
}

#[derive(Clone, Debug)]
pub enum EvidenceSource {
    Passage { article_id: Uuid, quote: QuoteQuery },
    Link { url: String, title: Option<String> },
}

#[derive(Clone, Debug)]
pub struct NewEvidence {
    pub stance: Stance,
    pub summary: String,
    pub source: EvidenceSource,
}

pub fn stance(value: &str) -> Result<Stance, FieldError> {
    Stance::parse(value.trim()).ok_or_else(|| FieldError::new("stance", format!("expected one of {}", Stance::choices())))
}

pub fn summary(value: &str) -> Result<String, FieldError> {
    text("summary", value, 1, 2000)
}

impl NewEvidence {
    pub fn parse(input: &EvidenceInput) -> AppResult<(NewEvidence, Option<String>)> {
        let stance = stance(&input.stance);
        let summary = summary(&input.summary);
        let source = source(input);
        let reason = fields::reason(input.reason.as_deref());
        let (stance, summary, source, reason) = all_fields!(stance, summary, source, reason)?;
        Ok((NewEvidence { stance, summary, source }, reason))
    }
}

fn source(input: &EvidenceInput) -> Result<EvidenceSource, FieldError> {
    match (&input.article_id, &input.exact, &input.url) {
        (Some(article_id), Some(exact), None) => {
            if input.title.is_some() {
                return Err(FieldError::new(
                    "title",
                    "a passage takes its title from the article; give title only with url",
                ));
            }
            if let Some(e) = parse_query(exact, input.prefix.as_deref(), input.suffix.as_deref(), None, None)
                .into_iter()
                .next()
            {
                return Err(e);
            }
            Ok(EvidenceSource::Passage {
                article_id: *article_id,
                quote: QuoteQuery {
                    exact: exact.clone(),
                    prefix: input.prefix.clone(),
                    suffix: input.suffix.clone(),
                    start: None,
                    end: None,
                },
            })
        }
        (None, None, Some(url)) => {
            if input.prefix.is_some() || input.suffix.is_some() {
                return Err(FieldError::new(
                    "prefix",
                    "prefix and suffix belong to a passage (article_id + exact)",
                ));
            }
            Ok(EvidenceSource::Link {
                url: http_url("url", url)?,
                title: optional_text("title", input.title.as_deref(), 500)?,
            })
        }
        (Some(_), None, _) => Err(FieldError::new("exact", "a passage needs the exact text quoted from the article")),
        (None, Some(_), _) => Err(FieldError::new("article_id", "a quoted passage needs the article it comes from")),
        (Some(_), Some(_), Some(_)) => Err(FieldError::new(
            "url",
            "give either a passage (article_id + exact) or a url, not both",
        )),
        (None, None, None) => Err(FieldError::new("source", "give a passage (article_id + exact) or a url")),
    }
}

/// PATCH /v1/evidence/{id}: stance, summary, or status (`withdrawn`).
/// The source does not change: withdraw the evidence and add new.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidencePatchInput {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub stance: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub summary: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub status: Patch<String>,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct EvidencePatch {
    pub stance: Option<Stance>,
    pub summary: Option<String>,
    pub status: Option<EvidenceStatus>,
}

impl EvidencePatch {
    pub fn parse(input: EvidencePatchInput) -> AppResult<(EvidencePatch, Option<String>)> {
        let stance_ = input.stance.required("stance").and_then(|v| v.map(|s| stance(&s)).transpose());
        let summary_ = input.summary.required("summary").and_then(|v| v.map(|s| summary(&s)).transpose());
        let status = input.status.required("status").and_then(|v| {
            v.map(|s| {
                EvidenceStatus::parse(&s).ok_or_else(|| FieldError::new("status", format!("expected one of {}", EvidenceStatus::choices())))
            })
            .transpose()
        });
        let reason = fields::reason(input.reason.as_deref());
        let (stance, summary, status, reason) = all_fields!(stance_, summary_, status, reason)?;
        if stance.is_none() && summary.is_none() && status.is_none() {
            return Err(AppError::Unprocessable("the patch changes no field of the evidence".into()));
        }
        Ok((EvidencePatch { stance, summary, status }, reason))
    }

    pub fn apply(&self, current: &Evidence) -> Evidence {
        let mut next = current.clone();
        if let Some(s) = self.stance {
            next.stance = s;
        }
        if let Some(s) = &self.summary {
            next.summary = s.clone();
        }
        if let Some(s) = self.status {
            next.status = s;
        }
        next
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvidenceOut {
    pub id: Uuid,
    pub version: i32,
    pub claim_id: Uuid,
    pub stance: Stance,
    pub summary: String,
    pub status: EvidenceStatus,
    /// For a passage of a stored article.
    pub article_id: Option<Uuid>,
    pub selector: Option<TextQuoteSelector>,
    pub position: Option<TextPositionSelector>,
    /// For an external source.
    pub url: Option<String>,
    pub title: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Evidence> for EvidenceOut {
    fn from(e: Evidence) -> Self {
        let (selector, position) = match (&e.exact, e.start_pos, e.end_pos) {
            (Some(exact), Some(start), Some(end)) => {
                let (s, p) = selectors(
                    exact,
                    e.prefix.as_deref().unwrap_or(""),
                    e.suffix.as_deref().unwrap_or(""),
                    start,
                    end,
                );
                (Some(s), Some(p))
            }
            _ => (None, None),
        };
        EvidenceOut {
            id: e.id,
            version: e.version,
            claim_id: e.claim_id,
            stance: e.stance,
            summary: e.summary,
            status: e.status,
            article_id: e.article_id,
            selector,
            position,
            url: e.url,
            title: e.title,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}
