//! Claims: one check-worthy assertion by one claimant.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::claimant::{Claimant, ClaimantKind, ClaimantRef};
use super::fields::{self, Patch, language, optional_text, past_date, tags, text};
use super::revision::text_enum;
use crate::all_fields;
use crate::error::{AppError, AppResult, FieldError};

pub const MAX_STATEMENT_CHARS: usize = 2000;

text_enum!(
    /// Claims are retired, never deleted.
    ClaimStatus {
        Active => "active",
        Retired => "retired",
    }
);

text_enum!(
    /// How exactly `claimed_on` is known.
    DatePrecision {
        Day => "day",
        Month => "month",
        Year => "year",
        Unknown => "unknown",
    }
);

/// What snapshots recorded before dates carried their precision read as.
fn unknown_precision() -> DatePrecision {
    DatePrecision::Unknown
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, diesel::Queryable, diesel::Selectable, diesel::Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = crate::db::schema::claims)]
pub struct Claim {
    pub id: Uuid,
    pub version: i32,
    pub statement: String,
    /// The claimant's name (a copy of its record's, kept in step).
    pub claimant: String,
    /// The claimant's record. None only in snapshots recorded before
    /// claimants were records.
    #[serde(default)]
    pub claimant_id: Option<Uuid>,
    pub claimed_on: Option<NaiveDate>,
    #[serde(default = "unknown_precision")]
    pub claimed_on_precision: DatePrecision,
    /// The date's caveat, e.g. "date the excerpts were posted".
    #[serde(default)]
    pub claimed_on_note: Option<String>,
    pub language: String,
    pub tags: Vec<String>,
    pub status: ClaimStatus,
    /// The claim this one was merged into (then it is retired).
    #[serde(default)]
    pub merged_into: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// POST /v1/claims.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimInput {
    /// The assertion, 1–2000 characters.
    #[schema(min_length = 1, pattern = r"\S")]
    pub statement: String,
    /// Who made it, by name: an existing claimant record (any case), or a
    /// new one — then `claimant_kind` is required. Or give `claimant_id`.
    pub claimant: Option<String>,
    pub claimant_id: Option<Uuid>,
    /// For a claimant named here for the first time.
    pub claimant_kind: Option<ClaimantKind>,
    /// YYYY-MM-DD (for month or year precision, its first day).
    pub claimed_on: Option<String>,
    /// day (the default with a date) | month | year | unknown (without a date).
    pub claimed_on_precision: Option<DatePrecision>,
    pub claimed_on_note: Option<String>,
    /// BCP 47
    #[schema(min_length = 2, max_length = 35)]
    pub language: String,
    pub tags: Option<Vec<String>>,
    pub reason: Option<String>,
}

#[derive(Clone, Debug)]
pub struct NewClaim {
    pub statement: String,
    pub claimant: ClaimantRef,
    pub claimed_on: Option<NaiveDate>,
    pub claimed_on_precision: DatePrecision,
    pub claimed_on_note: Option<String>,
    pub language: String,
    pub tags: Vec<String>,
}

pub fn statement(value: &str) -> Result<String, FieldError> {
    text("statement", value, 1, MAX_STATEMENT_CHARS)
}

/// A claimant's name as a claim or a filter gives it.
pub fn claimant(value: &str) -> Result<String, FieldError> {
    text("claimant", value, 1, 300)
}

fn note(value: Option<&str>) -> Result<Option<String>, FieldError> {
    optional_text("claimed_on_note", value, 500)
}

/// A date and its precision must agree: a precision of day, month or year
/// needs a date, `unknown` needs none; with a date, the default is day.
fn precision(date: Option<NaiveDate>, given: Option<DatePrecision>) -> Result<DatePrecision, FieldError> {
    match (date, given) {
        (None, None | Some(DatePrecision::Unknown)) => Ok(DatePrecision::Unknown),
        (None, Some(p)) => Err(FieldError::new("claimed_on_precision", format!("'{p}' needs claimed_on"))),
        (Some(_), None) => Ok(DatePrecision::Day),
        (Some(_), Some(DatePrecision::Unknown)) => Err(FieldError::new(
            "claimed_on_precision",
            "'unknown' goes with no claimed_on; give day, month or year",
        )),
        (Some(_), Some(p)) => Ok(p),
    }
}

impl NewClaim {
    pub fn parse(input: &ClaimInput) -> AppResult<(NewClaim, Option<String>)> {
        let statement = statement(&input.statement);
        let claimant = ClaimantRef::parse(input.claimant_id, input.claimant.as_deref(), input.claimant_kind);
        let claimed_on = input.claimed_on.as_deref().map(|d| past_date("claimed_on", d)).transpose();
        let precision = precision(claimed_on.clone().ok().flatten(), input.claimed_on_precision);
        let note = note(input.claimed_on_note.as_deref());
        let language = language("language", &input.language);
        let tags = tags("tags", input.tags.as_deref().unwrap_or_default());
        let reason = fields::reason(input.reason.as_deref());
        let (statement, claimant, claimed_on, claimed_on_precision, claimed_on_note, language, tags, reason) =
            all_fields!(statement, claimant, claimed_on, precision, note, language, tags, reason)?;
        Ok((
            NewClaim {
                statement,
                claimant,
                claimed_on,
                claimed_on_precision,
                claimed_on_note,
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
    /// Another claimant, by name (`claimant_kind` for a new one) or id.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub claimant: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Uuid>)]
    pub claimant_id: Patch<Uuid>,
    pub claimant_kind: Option<ClaimantKind>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub claimed_on: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<DatePrecision>)]
    pub claimed_on_precision: Patch<DatePrecision>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub claimed_on_note: Patch<String>,
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
    pub claimant: Option<ClaimantRef>,
    pub claimed_on: Option<Option<NaiveDate>>,
    pub claimed_on_precision: Option<DatePrecision>,
    pub claimed_on_note: Option<Option<String>>,
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
        let claimant = match (input.claimant.required("claimant"), input.claimant_id.required("claimant_id")) {
            (Ok(None), Ok(None)) if input.claimant_kind.is_none() => Ok(None),
            (Ok(name), Ok(id)) => ClaimantRef::parse(id, name.as_deref(), input.claimant_kind).map(Some),
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        let claimed_on = input
            .claimed_on
            .optional()
            .map(|d| d.map(|d| past_date("claimed_on", &d)).transpose())
            .transpose();
        let claimed_on_precision = input.claimed_on_precision.required("claimed_on_precision");
        let claimed_on_note = match input.claimed_on_note.optional() {
            None => Ok(None),
            Some(v) => note(v.as_deref()).map(Some),
        };
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
                ClaimStatus::parse(&s).ok_or_else(|| FieldError::new("status", format!("expected one of {}", ClaimStatus::choices())))
            })
            .transpose()
        });
        let reason = fields::reason(input.reason.as_deref());
        let (statement, claimant, claimed_on, claimed_on_precision, claimed_on_note, language, tags, status, reason) = all_fields!(
            statement,
            claimant,
            claimed_on,
            claimed_on_precision,
            claimed_on_note,
            language,
            tags,
            status,
            reason
        )?;
        let patch = ClaimPatch {
            statement,
            claimant,
            claimed_on,
            claimed_on_precision,
            claimed_on_note,
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
            && self.claimed_on_precision.is_none()
            && self.claimed_on_note.is_none()
            && self.language.is_none()
            && self.tags.is_none()
            && self.status.is_none()
    }

    /// The claim with this patch applied (same version; the store bumps
    /// it), its claimant being `claimant` when the patch names one.
    pub fn apply(&self, current: &Claim, claimant: Option<&Claimant>) -> AppResult<Claim> {
        let mut next = current.clone();
        if let Some(v) = &self.statement {
            next.statement = v.clone();
        }
        if let Some(c) = claimant {
            next.claimant = c.name.clone();
            next.claimant_id = Some(c.id);
        }
        if let Some(v) = self.claimed_on {
            next.claimed_on = v;
            // A date set or removed without a precision takes the default.
            if self.claimed_on_precision.is_none() {
                next.claimed_on_precision = precision(v, None).map_err(|e| AppError::invalid(vec![e]))?;
            }
        }
        if let Some(p) = self.claimed_on_precision {
            next.claimed_on_precision = precision(next.claimed_on, Some(p)).map_err(|e| AppError::invalid(vec![e]))?;
        }
        if let Some(v) = &self.claimed_on_note {
            next.claimed_on_note = v.clone();
        }
        if let Some(v) = &self.language {
            next.language = v.clone();
        }
        if let Some(v) = &self.tags {
            next.tags = v.clone();
        }
        if let Some(v) = self.status {
            next.status = v;
        }
        Ok(next)
    }
}

/// A claim as staff read it: with its appearances, evidence and verdicts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClaimOut {
    pub id: Uuid,
    pub version: i32,
    pub statement: String,
    /// The claimant's name.
    pub claimant: String,
    pub claimant_id: Option<Uuid>,
    pub claimant_kind: Option<ClaimantKind>,
    pub claimant_role: Option<String>,
    pub claimed_on: Option<NaiveDate>,
    pub claimed_on_precision: DatePrecision,
    pub claimed_on_note: Option<String>,
    pub language: String,
    pub tags: Vec<String>,
    pub status: ClaimStatus,
    /// Set when the claim was merged into another (it is then retired).
    pub merged_into: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub appearances: Vec<super::appearance::AppearanceOut>,
    /// Staff reads only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Vec<super::evidence::EvidenceOut>>,
    /// Staff reads only (drafts included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdicts: Option<Vec<super::verdict::VerdictOut>>,
    /// When recording a claim: existing claims that look like it (merge
    /// instead of duplicating), best first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similar: Option<Vec<SimilarClaim>>,
}

/// A claim and how much it looks like the text it was matched to
/// (0–1; see `GET /v1/claims/similar`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SimilarClaim {
    pub score: f64,
    #[schema(no_recursion)]
    pub claim: ClaimOut,
}

impl ClaimOut {
    /// The claim with the given children (staff view: evidence and verdicts included).
    pub fn staff(
        c: Claim,
        claimant: Option<&Claimant>,
        appearances: Vec<super::Appearance>,
        evidence: Vec<super::Evidence>,
        verdicts: Vec<super::Verdict>,
    ) -> Self {
        let mut out = Self::public(c, claimant, appearances);
        out.evidence = Some(evidence.into_iter().map(Into::into).collect());
        out.verdicts = Some(verdicts.into_iter().map(Into::into).collect());
        out
    }

    /// The claim and its appearances only.
    pub fn public(c: Claim, claimant: Option<&Claimant>, appearances: Vec<super::Appearance>) -> Self {
        ClaimOut {
            id: c.id,
            version: c.version,
            statement: c.statement,
            claimant: c.claimant,
            claimant_id: c.claimant_id,
            claimant_kind: claimant.map(|r| r.kind),
            claimant_role: claimant.and_then(|r| r.role.clone()),
            claimed_on: c.claimed_on,
            claimed_on_precision: c.claimed_on_precision,
            claimed_on_note: c.claimed_on_note,
            language: c.language,
            tags: c.tags,
            status: c.status,
            merged_into: c.merged_into,
            created_at: c.created_at,
            updated_at: c.updated_at,
            appearances: appearances.into_iter().map(Into::into).collect(),
            evidence: None,
            verdicts: None,
            similar: None,
        }
    }
}
