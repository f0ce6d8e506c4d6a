//! The JSON shape of a fact check and of the feed.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{ArticleRef, FactCheck, FeedChange};
use crate::model::appearance::AppearanceOut;
use crate::model::evidence::EvidenceOut;
use crate::model::verdict::VerdictOut;

/// A fact check: `{claim, verdict, corrections, log}`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FactCheckOut {
    pub claim: FactCheckClaim,
    pub verdict: FactCheckVerdict,
    /// Earlier published verdicts, now superseded, oldest first.
    pub corrections: Vec<CorrectionOut>,
    /// The log position this view reflects.
    pub log: LogPositionOut,
}

/// The claim as the public reads it (no drafts, no uncited evidence).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FactCheckClaim {
    pub id: Uuid,
    pub version: i32,
    pub statement: String,
    /// The claimant's name.
    pub claimant: String,
    pub claimant_id: Option<Uuid>,
    pub claimant_kind: Option<crate::model::claimant::ClaimantKind>,
    pub claimant_role: Option<String>,
    pub claimed_on: Option<NaiveDate>,
    pub claimed_on_precision: crate::model::claim::DatePrecision,
    pub claimed_on_note: Option<String>,
    pub language: String,
    pub tags: Vec<String>,
    pub status: crate::model::claim::ClaimStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub appearances: Vec<FactCheckAppearance>,
}

/// An appearance with both selectors and the article it is quoted from.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FactCheckAppearance {
    #[serde(flatten)]
    pub appearance: AppearanceOut,
    pub article: ArticleRef,
}

/// The published verdict with the evidence it cites.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FactCheckVerdict {
    #[serde(flatten)]
    pub verdict: VerdictOut,
    pub evidence: Vec<EvidenceOut>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CorrectionOut {
    /// The superseded verdict.
    pub verdict_id: Uuid,
    pub rating: crate::model::verdict::Rating,
    pub rating_label: &'static str,
    pub rating_value: Option<i32>,
    pub headline: String,
    pub published_at: Option<DateTime<Utc>>,
    pub superseded_at: Option<DateTime<Utc>>,
    /// Why it was superseded.
    pub reason: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LogPositionOut {
    pub seq: i64,
    /// Lowercase hex.
    pub chain_hash: String,
    /// Where to get the proof that every revision this fact check shows is
    /// in the signed log (`GET /v1/factchecks/{id}/proof`).
    pub proof: String,
}

impl From<FactCheck> for FactCheckOut {
    fn from(f: FactCheck) -> Self {
        let c = f.claim;
        let record = f.claimant;
        let proof = format!("/v1/factchecks/{}/proof", c.id);
        FactCheckOut {
            claim: FactCheckClaim {
                id: c.id,
                version: c.version,
                statement: c.statement,
                claimant: record.as_ref().map_or(c.claimant, |r| r.name.clone()),
                claimant_id: c.claimant_id,
                claimant_kind: record.as_ref().map(|r| r.kind),
                claimant_role: record.and_then(|r| r.role),
                claimed_on: c.claimed_on,
                claimed_on_precision: c.claimed_on_precision,
                claimed_on_note: c.claimed_on_note,
                language: c.language,
                tags: c.tags,
                status: c.status,
                created_at: c.created_at,
                updated_at: c.updated_at,
                appearances: f
                    .appearances
                    .into_iter()
                    .map(|(appearance, article)| FactCheckAppearance {
                        appearance: appearance.into(),
                        article,
                    })
                    .collect(),
            },
            verdict: FactCheckVerdict {
                verdict: f.verdict.into(),
                evidence: f.evidence.into_iter().map(Into::into).collect(),
            },
            corrections: f
                .corrections
                .into_iter()
                .map(|s| {
                    let rating = s.verdict.rating;
                    CorrectionOut {
                        verdict_id: s.verdict.id,
                        rating: s.verdict.rating,
                        rating_label: rating.label(),
                        rating_value: rating.value(),
                        headline: s.verdict.headline,
                        published_at: s.verdict.published_at,
                        superseded_at: s.verdict.superseded_at,
                        reason: s.reason,
                    }
                })
                .collect(),
            log: LogPositionOut {
                seq: f.log.seq,
                chain_hash: hex::encode(&f.log.chain_hash),
                proof,
            },
        }
    }
}

/// One change to the public set, at a position of the log.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FeedItem {
    /// Pass as `after` to read the changes after this one.
    pub cursor: String,
    pub change: FeedChange,
    pub claim_id: Uuid,
    /// The fact check as it stood after the change (as derived then, served
    /// as stored); null for `withdrawn`.
    #[schema(value_type = Option<FactCheckOut>)]
    pub factcheck: Option<Box<serde_json::value::RawValue>>,
    /// On a withdrawal by a merge: the claim that survives (follow it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<Uuid>,
}

/// A page of the feed. The feed has no last page: `next_cursor` is where
/// to resume, also once caught up.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FeedPage {
    pub items: Vec<FeedItem>,
    pub next_cursor: String,
    /// True when this page reached the end of the log as it was read: poll
    /// again later with `next_cursor`.
    pub caught_up: bool,
}
