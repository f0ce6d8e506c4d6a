//! Claims: one check-worthy assertion by one claimant.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::fields::{self, Patch, language, past_date, tags, text};
use super::revision::text_enum;
use crate::all_fields;
use crate::error::{AppError, AppResult};

pub const MAX_STATEMENT_CHARS: usize = 2000;

text_enum!(
    /// Claims are retired, never deleted.
    ClaimStatus {
        Active => "active",
        Retired => "retired",
    }
);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = crate::db::schema::claims)]
pub struct Claim {
    pub id: Uuid,
    pub version: i32,
    pub statement: String,
    pub claimant: String,
    pub claimed_on: Option<NaiveDate>,
    pub language: String,
    pub tags: Vec<String>,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// POST /v1/claims.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimInput {
    /// The assertion, 1–2000 characters.
    pub statement: String,
    /// Who made it: a person, an organisation, or a publication.
    pub claimant: String,
    /// YYYY-MM-DD
    pub claimed_on: Option<String>,
    /// BCP 47
    pub language: String,
    pub tags: Option<Vec<String>>,
    pub reason: Option<String>,
}

#[derive(Clone, Debug)]
pub struct NewClaim {
    pub statement: String,
    pub claimant: String,
    pub claimed_on: Option<NaiveDate>,
    pub language: String,
    pub tags: Vec<String>,
}

pub fn statement(value: &str) -> Result<String, crate::error::FieldError> {
    text("statement", value, 1, MAX_STATEMENT_CHARS)
}

pub fn claimant(value: &str) -> Result<String, crate::error::FieldError> {
    text("claimant", value, 1, 300)
}

impl NewClaim {
    pub fn parse(input: &ClaimInput) -> AppResult<(NewClaim, Option<String>)> {
        let statement = statement(&input.statement);
        let claimant = claimant(&input.claimant);
        let claimed_on = input.claimed_on.as_deref().map(|d| past_date("claimed_on", d)).transpose();
        let language = language("language", &input.language);
        let tags = tags("tags", input.tags.as_deref().unwrap_or_default());
        let reason = fields::reason(input.reason.as_deref());
        let (statement, claimant, claimed_on, language, tags, reason) =
            all_fields!(statement, claimant, claimed_on, language, tags, reason)?;
        Ok((
            NewClaim {
                statement,
                claimant,
                claimed_on,
                language,
                tags,
            },
            reason,
        ))
    }
}

/// PATCH /v1/claims/{id}: a JSON Merge Patch of the claim's fields.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimPatchInput {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub statement: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub claimant: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub claimed_on: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub language: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub tags: Patch<Vec<String>>,
    /// `retired` retires the claim; `active` restores it.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub status: Patch<String>,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct ClaimPatch {
    pub statement: Option<String>,
    pub claimant: Option<String>,
    pub claimed_on: Option<Option<NaiveDate>>,
    pub language: Option<String>,
    pub tags: Option<Vec<String>>,
    pub status: Option<ClaimStatus>,
}

impl ClaimPatch {
    pub fn parse(input: ClaimPatchInput) -> AppResult<(ClaimPatch, Option<String>)> {
        let statement = input
            .statement
            .required("statement")
            .and_then(|v| v.map(|s| statement(&s)).transpose());
        let claimant = input
            .claimant
            .required("claimant")
            .and_then(|v| v.map(|s| claimant(&s)).transpose());
        let claimed_on = input
            .claimed_on
            .optional()
            .map(|d| d.map(|d| past_date("claimed_on", &d)).transpose())
            .transpose();
        let language = input
            .language
            .required("language")
            .and_then(|v| v.map(|s| language("language", &s)).transpose());
        let tags = match input.tags {
            Patch::Absent => Ok(None),
            Patch::Null => Ok(Some(vec![])),
            Patch::Value(v) => tags("tags", &v).map(Some),
        };
        let status = input.status.required("status").and_then(|v| {
            v.map(|s| {
                ClaimStatus::parse(&s)
                    .ok_or_else(|| crate::error::FieldError::new("status", format!("expected one of {}", ClaimStatus::choices())))
            })
            .transpose()
        });
        let reason = fields::reason(input.reason.as_deref());
        let (statement, claimant, claimed_on, language, tags, status, reason) =
            all_fields!(statement, claimant, claimed_on, language, tags, status, reason)?;
        let patch = ClaimPatch {
            statement,
            claimant,
            claimed_on,
            language,
            tags,
            status,
        };
        if patch.is_empty() {
            return Err(AppError::Unprocessable("the patch changes no field of the claim".into()));
        }
        Ok((patch, reason))
    }

    fn is_empty(&self) -> bool {
        self.statement.is_none()
            && self.claimant.is_none()
            && self.claimed_on.is_none()
            && self.language.is_none()
            && self.tags.is_none()
            && self.status.is_none()
    }

    /// The claim with this patch applied (same version; the store bumps it).
    pub fn apply(&self, current: &Claim) -> Claim {
        let mut next = current.clone();
        if let Some(v) = &self.statement {
            next.statement = v.clone();
        }
        if let Some(v) = &self.claimant {
            next.claimant = v.clone();
        }
        if let Some(v) = self.claimed_on {
            next.claimed_on = v;
        }
        if let Some(v) = &self.language {
            next.language = v.clone();
        }
        if let Some(v) = &self.tags {
            next.tags = v.clone();
        }
        if let Some(v) = self.status {
            next.status = v.as_str().to_string();
        }
        next
    }
}

/// A claim as staff read it: with its appearances, evidence and verdicts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClaimOut {
    pub id: Uuid,
    pub version: i32,
    pub statement: String,
    pub claimant: String,
    pub claimed_on: Option<NaiveDate>,
    pub language: String,
    pub tags: Vec<String>,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub appearances: Vec<super::appearance::AppearanceOut>,
    /// Staff reads only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Vec<super::evidence::EvidenceOut>>,
    /// Staff reads only (drafts included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdicts: Option<Vec<super::verdict::VerdictOut>>,
}

impl ClaimOut {
    /// The claim with the given children (staff view: evidence and verdicts included).
    pub fn staff(c: Claim, appearances: Vec<super::Appearance>, evidence: Vec<super::Evidence>, verdicts: Vec<super::Verdict>) -> Self {
        let mut out = Self::public(c, appearances);
        out.evidence = Some(evidence.into_iter().map(Into::into).collect());
        out.verdicts = Some(verdicts.into_iter().map(Into::into).collect());
        out
    }

    /// The claim and its appearances only.
    pub fn public(c: Claim, appearances: Vec<super::Appearance>) -> Self {
        ClaimOut {
            id: c.id,
            version: c.version,
            statement: c.statement,
            claimant: c.claimant,
            claimed_on: c.claimed_on,
            language: c.language,
            tags: c.tags,
            status: c.status,
            created_at: c.created_at,
            updated_at: c.updated_at,
            appearances: appearances.into_iter().map(Into::into).collect(),
            evidence: None,
            verdicts: None,
        }
    }
}
