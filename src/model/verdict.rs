//! Verdicts and their workflow: draft → in_review → published →
//! superseded / withdrawn; a rejection sends the verdict back to draft.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::fields::{self, Patch, text};
use super::revision::text_enum;
use crate::all_fields;
use crate::error::{AppError, AppResult, FieldError};

text_enum!(
    /// The fixed rating scale. The first five are numeric (ClaimReview
    /// ratingValue 5…1); the last three are text-only.
    Rating {
        True => "true",
        MostlyTrue => "mostly_true",
        HalfTrue => "half_true",
        MostlyFalse => "mostly_false",
        False => "false",
        Misleading => "misleading",
        MissingContext => "missing_context",
        Unproven => "unproven",
    }
);

impl Rating {
    pub fn label(self) -> &'static str {
        match self {
            Rating::True => "True",
            Rating::MostlyTrue => "Mostly true",
            Rating::HalfTrue => "Half true",
            Rating::MostlyFalse => "Mostly false",
            Rating::False => "False",
            Rating::Misleading => "Misleading",
            Rating::MissingContext => "Missing context",
            Rating::Unproven => "Unproven",
        }
    }

    /// 5 (true) … 1 (false); None for the text-only ratings.
    pub fn value(self) -> Option<i32> {
        match self {
            Rating::True => Some(5),
            Rating::MostlyTrue => Some(4),
            Rating::HalfTrue => Some(3),
            Rating::MostlyFalse => Some(2),
            Rating::False => Some(1),
            _ => None,
        }
    }
}

text_enum!(
    VerdictStatus {
        Draft => "draft",
        InReview => "in_review",
        Published => "published",
        Superseded => "superseded",
        Withdrawn => "withdrawn",
    }
);

#[derive(
    Clone, Debug, PartialEq, Serialize, Deserialize, diesel::Queryable, diesel::QueryableByName, diesel::Selectable, diesel::Insertable,
)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = crate::db::schema::verdicts)]
pub struct Verdict {
    pub id: Uuid,
    pub version: i32,
    pub claim_id: Uuid,
    pub rating: Rating,
    pub headline: String,
    pub summary: String,
    pub evidence_ids: Vec<Uuid>,
    pub status: VerdictStatus,
    pub author_id: Uuid,
    pub reviewer_id: Option<Uuid>,
    pub published_at: Option<DateTime<Utc>>,
    pub superseded_at: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// POST /v1/claims/{id}/verdicts: a draft.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerdictInput {
    /// true | mostly_true | half_true | mostly_false | false | misleading | missing_context | unproven
    #[schema(value_type = Rating)]
    pub rating: String,
    #[schema(min_length = 1, pattern = r"\S")]
    pub headline: String,
    #[schema(min_length = 1, pattern = r"\S")]
    pub summary: String,
    /// Active evidence of the same claim.
    pub evidence_ids: Vec<Uuid>,
    pub reason: Option<String>,
}

#[derive(Clone, Debug)]
pub struct NewVerdict {
    pub rating: Rating,
    pub headline: String,
    pub summary: String,
    pub evidence_ids: Vec<Uuid>,
}

pub fn rating(value: &str) -> Result<Rating, FieldError> {
    Rating::parse(value.trim()).ok_or_else(|| FieldError::new("rating", format!("expected one of {}", Rating::choices())))
}

fn headline(value: &str) -> Result<String, FieldError> {
    text("headline", value, 1, 300)
}

fn summary(value: &str) -> Result<String, FieldError> {
    text("summary", value, 1, 10_000)
}

fn evidence_ids(ids: &[Uuid]) -> Result<Vec<Uuid>, FieldError> {
    if ids.len() > 100 {
        return Err(FieldError::new("evidence_ids", "at most 100"));
    }
    let mut out: Vec<Uuid> = vec![];
    for id in ids {
        if !out.contains(id) {
            out.push(*id);
        }
    }
    Ok(out)
}

impl NewVerdict {
    pub fn parse(input: &VerdictInput) -> AppResult<(NewVerdict, Option<String>)> {
        let rating = rating(&input.rating);
        let headline = headline(&input.headline);
        let summary = summary(&input.summary);
        let evidence_ids = evidence_ids(&input.evidence_ids);
        let reason = fields::reason(input.reason.as_deref());
        let (rating, headline, summary, evidence_ids, reason) = all_fields!(rating, headline, summary, evidence_ids, reason)?;
        Ok((
            NewVerdict {
                rating,
                headline,
                summary,
                evidence_ids,
            },
            reason,
        ))
    }
}

/// PATCH /v1/verdicts/{id}: drafts only.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerdictPatchInput {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub rating: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub headline: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub summary: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<Uuid>>)]
    pub evidence_ids: Patch<Vec<Uuid>>,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct VerdictPatch {
    pub rating: Option<Rating>,
    pub headline: Option<String>,
    pub summary: Option<String>,
    pub evidence_ids: Option<Vec<Uuid>>,
}

impl VerdictPatch {
    pub fn parse(input: VerdictPatchInput) -> AppResult<(VerdictPatch, Option<String>)> {
        let rating_ = input.rating.required("rating").and_then(|v| v.map(|s| rating(&s)).transpose());
        let headline_ = input
            .headline
            .required("headline")
            .and_then(|v| v.map(|s| headline(&s)).transpose());
        let summary_ = input.summary.required("summary").and_then(|v| v.map(|s| summary(&s)).transpose());
        let evidence_ = match input.evidence_ids {
            Patch::Absent => Ok(None),
            Patch::Null => Ok(Some(vec![])),
            Patch::Value(ids) => evidence_ids(&ids).map(Some),
        };
        let reason = fields::reason(input.reason.as_deref());
        let (rating, headline, summary, evidence_ids, reason) = all_fields!(rating_, headline_, summary_, evidence_, reason)?;
        let patch = VerdictPatch {
            rating,
            headline,
            summary,
            evidence_ids,
        };
        if patch.rating.is_none() && patch.headline.is_none() && patch.summary.is_none() && patch.evidence_ids.is_none() {
            return Err(AppError::Unprocessable("the patch changes no field of the verdict".into()));
        }
        Ok((patch, reason))
    }

    pub fn apply(&self, current: &Verdict) -> Verdict {
        let mut next = current.clone();
        if let Some(r) = self.rating {
            next.rating = r;
        }
        if let Some(h) = &self.headline {
            next.headline = h.clone();
        }
        if let Some(s) = &self.summary {
            next.summary = s.clone();
        }
        if let Some(ids) = &self.evidence_ids {
            next.evidence_ids = ids.clone();
        }
        next
    }
}

/// The body of submit / publish / reject / withdraw (optional, except that
/// withdrawing needs a reason).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionInput {
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VerdictOut {
    pub id: Uuid,
    pub version: i32,
    pub claim_id: Uuid,
    pub status: VerdictStatus,
    pub rating: Rating,
    /// Human label, e.g. "Mostly false".
    pub rating_label: &'static str,
    /// 5 (true) … 1 (false); null for text-only ratings.
    pub rating_value: Option<i32>,
    pub headline: String,
    pub summary: String,
    pub evidence_ids: Vec<Uuid>,
    pub author_id: Uuid,
    pub reviewer_id: Option<Uuid>,
    pub published_at: Option<DateTime<Utc>>,
    pub superseded_at: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Verdict> for VerdictOut {
    fn from(v: Verdict) -> Self {
        let rating = v.rating;
        VerdictOut {
            id: v.id,
            version: v.version,
            claim_id: v.claim_id,
            status: v.status,
            rating: v.rating,
            rating_label: rating.label(),
            rating_value: rating.value(),
            headline: v.headline,
            summary: v.summary,
            evidence_ids: v.evidence_ids,
            author_id: v.author_id,
            reviewer_id: v.reviewer_id,
            published_at: v.published_at,
            superseded_at: v.superseded_at,
            withdrawn_at: v.withdrawn_at,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}
