//! Published fact checks, as downstream sites read them: a claim in the
//! public set (active, with a published verdict), its appearances, the
//! verdict and the evidence it cites, the correction history, and the log
//! position it reflects. `view` is its JSON shape (and the feed's),
//! `claimreview` its schema.org ClaimReview, `filter` the list's query.
//! No I/O.

pub mod claimreview;
pub mod family;
pub mod filter;
pub mod view;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::revision::text_enum;
use super::{Appearance, Claim, Evidence, Verdict};

pub use claimreview::{ClaimReview, Publisher};
pub use filter::FactCheckFilter;
pub use view::{FactCheckOut, FeedItem, FeedPage};

/// What a fact check shows of an article a claim appears in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = crate::db::schema::articles)]
pub struct ArticleRef {
    pub id: Uuid,
    pub title: String,
    pub publisher: Option<String>,
    pub url: Option<String>,
    pub published_on: Option<NaiveDate>,
}

impl From<super::Article> for ArticleRef {
    fn from(a: super::Article) -> Self {
        ArticleRef {
            id: a.id,
            title: a.title,
            publisher: a.publisher,
            url: a.url,
            published_on: a.published_on,
        }
    }
}

/// An earlier published verdict that a newer one superseded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SupersededVerdict {
    pub verdict: Verdict,
    /// The reason recorded with the supersede revision (the publisher's
    /// reason for the newer verdict, or a default naming it).
    pub reason: Option<String>,
}

/// A revision's position in the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogPosition {
    pub seq: i64,
    #[serde(with = "hex_bytes")]
    pub chain_hash: Vec<u8>,
}

/// Bytes as lowercase hex in JSON, as every hash is.
mod hex_bytes {
    pub fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(d)?;
        hex::decode(text).map_err(serde::de::Error::custom)
    }
}

/// A fact check as derived from the log, before it is rendered; kept as
/// JSON with the public document, so ClaimReview and pages render from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FactCheck {
    pub claim: Claim,
    /// The claimant's record, as the log had it (None for a claim recorded
    /// before claimants were records).
    #[serde(default)]
    pub claimant: Option<super::Claimant>,
    /// Active appearances in creation (id) order, each with its article.
    pub appearances: Vec<(Appearance, ArticleRef)>,
    /// The published verdict.
    pub verdict: Verdict,
    /// The evidence the verdict cites, in the order it cites it.
    pub evidence: Vec<Evidence>,
    /// Oldest first.
    pub corrections: Vec<SupersededVerdict>,
    /// The newest revision among everything shown: the claim, its active
    /// appearances and their articles, the verdict and its cited evidence.
    pub log: LogPosition,
}

impl FactCheck {
    /// Whether a reader would see the same fact check (the log position aside).
    pub fn shows_the_same_as(&self, other: &FactCheck) -> bool {
        self.claim == other.claim
            && self.claimant == other.claimant
            && self.appearances == other.appearances
            && self.verdict == other.verdict
            && self.evidence == other.evidence
            && self.corrections == other.corrections
    }
}

text_enum!(
    /// How a change moved the public set. `updated`: a published fact check
    /// changed without a new verdict (claim edited, appearance added, cited
    /// evidence changed).
    FeedChange {
        Published => "published",
        Corrected => "corrected",
        Updated => "updated",
        Withdrawn => "withdrawn",
    }
);
