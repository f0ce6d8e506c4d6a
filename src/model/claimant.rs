//! Claimants: who made a claim, as a record — a person or an organisation,
//! with the role the sources give them and links that identify them. The
//! public ClaimReview takes its author from here; nothing is guessed from a
//! name.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::fields::{self, Patch, http_url, optional_text, text};
use super::revision::text_enum;
use crate::all_fields;
use crate::error::{AppError, AppResult, FieldError};

text_enum!(
    /// What kind of claimant: schema.org Person or Organization.
    ClaimantKind {
        Person => "person",
        Organization => "organization",
    }
);

impl ClaimantKind {
    /// The schema.org type.
    pub fn schema_type(self) -> &'static str {
        match self {
            ClaimantKind::Person => "Person",
            ClaimantKind::Organization => "Organization",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, diesel::Queryable, diesel::Selectable, diesel::Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = crate::db::schema::claimants)]
pub struct Claimant {
    pub id: Uuid,
    pub version: i32,
    pub name: String,
    pub kind: ClaimantKind,
    /// As the sources give it, e.g. "President of Russia".
    pub role: Option<String>,
    /// URLs that identify the claimant (Wikidata, an official page).
    pub same_as: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// POST /v1/claimants.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimantInput {
    /// 1–300 characters; unique (case-insensitive).
    pub name: String,
    pub kind: ClaimantKind,
    pub role: Option<String>,
    pub same_as: Option<Vec<String>>,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NewClaimant {
    pub name: String,
    pub kind: ClaimantKind,
    pub role: Option<String>,
    pub same_as: Vec<String>,
}

pub fn name(value: &str) -> Result<String, FieldError> {
    text("name", value, 1, 300)
}

fn role(value: Option<&str>) -> Result<Option<String>, FieldError> {
    optional_text("role", value, 300)
}

fn same_as(values: &[String]) -> Result<Vec<String>, FieldError> {
    if values.len() > 20 {
        return Err(FieldError::new("same_as", "at most 20 URLs"));
    }
    let mut out: Vec<String> = vec![];
    for (i, v) in values.iter().enumerate() {
        let url = http_url(&format!("same_as[{i}]"), v)?;
        if !out.contains(&url) {
            out.push(url);
        }
    }
    Ok(out)
}

impl NewClaimant {
    pub fn parse(input: &ClaimantInput) -> AppResult<(NewClaimant, Option<String>)> {
        let name = name(&input.name);
        let role = role(input.role.as_deref());
        let same_as = same_as(input.same_as.as_deref().unwrap_or_default());
        let reason = fields::reason(input.reason.as_deref());
        let (name, role, same_as, reason) = all_fields!(name, role, same_as, reason)?;
        Ok((
            NewClaimant {
                name,
                kind: input.kind,
                role,
                same_as,
            },
            reason,
        ))
    }
}

/// PATCH /v1/claimants/{id} (JSON Merge Patch).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimantPatchInput {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<ClaimantKind>)]
    pub kind: Patch<ClaimantKind>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub role: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub same_as: Patch<Vec<String>>,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct ClaimantPatch {
    pub name: Option<String>,
    pub kind: Option<ClaimantKind>,
    pub role: Option<Option<String>>,
    pub same_as: Option<Vec<String>>,
}

impl ClaimantPatch {
    pub fn parse(input: ClaimantPatchInput) -> AppResult<(ClaimantPatch, Option<String>)> {
        let name_ = input.name.required("name").and_then(|v| v.map(|s| name(&s)).transpose());
        let kind = input.kind.required("kind");
        let role_ = match input.role.optional() {
            None => Ok(None),
            Some(None) => Ok(Some(None)),
            Some(Some(r)) => role(Some(&r)).map(Some),
        };
        let same_as_ = match input.same_as {
            Patch::Absent => Ok(None),
            Patch::Null => Ok(Some(vec![])),
            Patch::Value(v) => same_as(&v).map(Some),
        };
        let reason = fields::reason(input.reason.as_deref());
        let (name, kind, role, same_as, reason) = all_fields!(name_, kind, role_, same_as_, reason)?;
        let patch = ClaimantPatch { name, kind, role, same_as };
        if patch.name.is_none() && patch.kind.is_none() && patch.role.is_none() && patch.same_as.is_none() {
            return Err(AppError::Unprocessable("the patch changes no field of the claimant".into()));
        }
        Ok((patch, reason))
    }

    pub fn apply(&self, current: &Claimant) -> Claimant {
        let mut next = current.clone();
        if let Some(v) = &self.name {
            next.name = v.clone();
        }
        if let Some(v) = self.kind {
            next.kind = v;
        }
        if let Some(v) = &self.role {
            next.role = v.clone();
        }
        if let Some(v) = &self.same_as {
            next.same_as = v.clone();
        }
        next
    }
}

/// Who a claim's input names as its claimant.
#[derive(Clone, Debug, PartialEq)]
pub enum ClaimantRef {
    /// An existing record.
    Id(Uuid),
    /// A record by name: the existing one (any case), or a new one of
    /// `kind` (required when there is none yet).
    Name { name: String, kind: Option<ClaimantKind> },
}

impl ClaimantRef {
    /// From a claim body's `claimant_id`, `claimant` and `claimant_kind`.
    pub fn parse(id: Option<Uuid>, name_: Option<&str>, kind: Option<ClaimantKind>) -> Result<ClaimantRef, FieldError> {
        match (id, name_) {
            (Some(id), None) => Ok(ClaimantRef::Id(id)),
            (None, Some(n)) => Ok(ClaimantRef::Name {
                name: name(n).map_err(|e| FieldError::new("claimant", e.message))?,
                kind,
            }),
            (Some(_), Some(_)) => Err(FieldError::new("claimant_id", "give claimant_id or claimant (a name), not both")),
            (None, None) => Err(FieldError::new("claimant", "give claimant (a name) or claimant_id")),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClaimantOut {
    pub id: Uuid,
    pub version: i32,
    pub name: String,
    pub kind: ClaimantKind,
    pub role: Option<String>,
    pub same_as: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Claimant> for ClaimantOut {
    fn from(c: Claimant) -> Self {
        ClaimantOut {
            id: c.id,
            version: c.version,
            name: c.name,
            kind: c.kind,
            role: c.role,
            same_as: c.same_as,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}
