//! Published fact checks, as downstream sites read them: a claim in the
//! public set (active, with a published verdict), its appearances, the
//! verdict and the evidence it cites, the correction history, and the log
//! position the view reflects; the change feed's items; the schema.org
//! ClaimReview of a fact check; and the query parameters that select them.
//! No I/O.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::appearance::AppearanceOut;
use super::evidence::EvidenceOut;
use super::fields::{self, text};
use super::revision::text_enum;
use super::verdict::{Rating, VerdictOut};
use super::{Appearance, Claim, Evidence, Verdict};
use crate::all_fields;
use crate::config::PublicSettings;
use crate::error::{AppResult, FieldError};

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

/// An earlier published verdict that a newer one superseded.
#[derive(Clone, Debug, PartialEq)]
pub struct SupersededVerdict {
    pub verdict: Verdict,
    /// The reason recorded with the supersede revision (the publisher's
    /// reason for the newer verdict, or a default naming it).
    pub reason: Option<String>,
}

/// A revision's position in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogPosition {
    pub seq: i64,
    pub chain_hash: Vec<u8>,
}

/// A fact check as stored, now or as of a seq, before it is rendered.
#[derive(Clone, Debug, PartialEq)]
pub struct FactCheck {
    pub claim: Claim,
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
            && self.appearances == other.appearances
            && self.verdict == other.verdict
            && self.evidence == other.evidence
            && self.corrections == other.corrections
    }
}

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
    pub claimant: String,
    pub claimed_on: Option<NaiveDate>,
    pub language: String,
    pub tags: Vec<String>,
    pub status: String,
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
    pub rating: String,
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
}

impl From<FactCheck> for FactCheckOut {
    fn from(f: FactCheck) -> Self {
        let c = f.claim;
        FactCheckOut {
            claim: FactCheckClaim {
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
                    let rating = s.verdict.rating();
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
            },
        }
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

/// One change to the public set, at a position of the log.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FeedItem {
    /// Pass as `after` to read the changes after this one.
    pub cursor: String,
    pub change: FeedChange,
    pub claim_id: Uuid,
    /// The fact check as it stood after the change; null for `withdrawn`.
    pub factcheck: Option<FactCheckOut>,
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

/// Which fact checks to list. Everything is optional; `q` switches the
/// order from newest first to relevance.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FactCheckFilter {
    /// PostgreSQL websearch syntax: words, "quoted phrases", -excluded, or.
    pub q: Option<String>,
    /// Case-insensitive, whole name.
    pub claimant: Option<String>,
    pub rating: Option<Rating>,
    /// A BCP 47 tag; `en` also matches `en-GB`.
    pub language: Option<String>,
    pub published_since: Option<DateTime<Utc>>,
    pub article_id: Option<Uuid>,
}

impl FactCheckFilter {
    pub fn parse(
        q: Option<&str>,
        claimant: Option<&str>,
        rating: Option<&str>,
        language: Option<&str>,
        published_since: Option<&str>,
        article_id: Option<Uuid>,
    ) -> AppResult<FactCheckFilter> {
        fn present(v: Option<&str>) -> Option<&str> {
            v.map(str::trim).filter(|v| !v.is_empty())
        }
        let q = present(q).map(|v| text("q", v, 1, 500)).transpose();
        let claimant = present(claimant).map(crate::model::claim::claimant).transpose();
        let rating = present(rating).map(crate::model::verdict::rating).transpose();
        let language = present(language).map(|v| fields::language("language", v)).transpose();
        let published_since = present(published_since).map(instant).transpose();
        let (q, claimant, rating, language, published_since) = all_fields!(q, claimant, rating, language, published_since)?;
        Ok(FactCheckFilter {
            q,
            claimant,
            rating,
            language,
            published_since,
            article_id,
        })
    }
}

/// RFC 3339, or a date meaning its first moment in UTC.
fn instant(value: &str) -> Result<DateTime<Utc>, FieldError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map(|d| d.and_time(NaiveTime::MIN).and_utc())
        .map_err(|_| {
            FieldError::new(
                "published_since",
                "expected an RFC 3339 time (2023-07-17T12:00:00Z) or a date (2023-07-17)",
            )
        })
}

/// Where the next page of the list starts: after this fact check, in the
/// list's order. Opaque to clients (base64url).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ListCursor {
    /// Newest published first.
    Newest { published_at: DateTime<Utc>, claim_id: Uuid },
    /// A search: by rank, then newest. The rank is kept bit for bit, so the
    /// database compares it exactly.
    Ranked {
        rank: f32,
        published_at: DateTime<Utc>,
        claim_id: Uuid,
    },
}

fn not_our_cursor(field: &str) -> FieldError {
    FieldError::new(field, "not a cursor this server issued for this list")
}

impl ListCursor {
    pub fn token(&self) -> String {
        let text = match self {
            ListCursor::Newest { published_at, claim_id } => {
                format!("n.{}.{}", published_at.timestamp_micros(), claim_id.simple())
            }
            ListCursor::Ranked {
                rank,
                published_at,
                claim_id,
            } => format!("r.{:08x}.{}.{}", rank.to_bits(), published_at.timestamp_micros(), claim_id.simple()),
        };
        URL_SAFE_NO_PAD.encode(text)
    }

    /// A cursor from `token`, which must suit the list: ranked for a search
    /// (`q`), newest-first otherwise.
    pub fn parse(token: &str, searching: bool) -> Result<ListCursor, FieldError> {
        let bytes = URL_SAFE_NO_PAD.decode(token.trim()).map_err(|_| not_our_cursor("cursor"))?;
        let text = String::from_utf8(bytes).map_err(|_| not_our_cursor("cursor"))?;
        let parts: Vec<&str> = text.split('.').collect();
        let time = |s: &str| s.parse::<i64>().ok().and_then(DateTime::from_timestamp_micros);
        let id = |s: &str| Uuid::try_parse(s).ok();
        let cursor = match parts.as_slice() {
            ["n", t, c] => time(t)
                .zip(id(c))
                .map(|(published_at, claim_id)| ListCursor::Newest { published_at, claim_id }),
            ["r", r, t, c] => u32::from_str_radix(r, 16)
                .ok()
                .map(f32::from_bits)
                .filter(|r| r.is_finite())
                .zip(time(t).zip(id(c)))
                .map(|(rank, (published_at, claim_id))| ListCursor::Ranked {
                    rank,
                    published_at,
                    claim_id,
                }),
            _ => None,
        }
        .ok_or_else(|| not_our_cursor("cursor"))?;
        match (cursor, searching) {
            (ListCursor::Ranked { .. }, false) => Err(FieldError::new("cursor", "this cursor belongs to a search (q); send the same q")),
            (ListCursor::Newest { .. }, true) => Err(FieldError::new("cursor", "this cursor belongs to a list without q")),
            _ => Ok(cursor),
        }
    }
}

/// A position in the feed: the seq of the last change read. Opaque to clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeedCursor(pub i64);

impl FeedCursor {
    pub fn token(self) -> String {
        URL_SAFE_NO_PAD.encode(format!("f.{}", self.0))
    }

    pub fn parse(token: &str) -> Result<FeedCursor, FieldError> {
        URL_SAFE_NO_PAD
            .decode(token.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|t| t.strip_prefix("f.").and_then(|n| n.parse::<i64>().ok()))
            .filter(|n| *n >= 0)
            .map(FeedCursor)
            .ok_or_else(|| not_our_cursor("after"))
    }
}

/// Page sizes of the public lists: 1–100, default 20.
pub fn page_limit(limit: Option<i64>) -> Result<i64, FieldError> {
    let limit = limit.unwrap_or(20);
    if (1..=100).contains(&limit) {
        Ok(limit)
    } else {
        Err(FieldError::new("limit", "between 1 and 100"))
    }
}

// schema.org ClaimReview ---------------------------------------------------

/// schema.org ClaimReview (JSON-LD) of a published fact check.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClaimReview {
    #[serde(rename = "@context")]
    pub context: &'static str,
    #[serde(rename = "@type")]
    pub type_: &'static str,
    pub url: String,
    pub claim_reviewed: String,
    pub date_published: Option<NaiveDate>,
    pub author: Organization,
    pub item_reviewed: ReviewedClaim,
    pub review_rating: ReviewRating,
    pub headline: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Organization {
    #[serde(rename = "@type")]
    pub type_: &'static str,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The claimant: a Person or an Organization.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Claimant {
    #[serde(rename = "@type")]
    pub type_: &'static str,
    pub name: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewedClaim {
    #[serde(rename = "@type")]
    pub type_: &'static str,
    pub author: Claimant,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_published: Option<NaiveDate>,
    pub appearance: Vec<CreativeWork>,
    /// The earliest-dated appearance; absent when no article has a date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_appearance: Option<CreativeWork>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreativeWork {
    #[serde(rename = "@type")]
    pub type_: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub headline: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_published: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publisher: Option<Organization>,
}

/// ratingValue / bestRating / worstRating only for the numeric ratings;
/// alternateName (the label) always.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewRating {
    #[serde(rename = "@type")]
    pub type_: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating_value: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_rating: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worst_rating: Option<i32>,
    pub alternate_name: &'static str,
}

/// Words that make a claimant a person even in an organisation's name
/// ("a Defense Department official").
const PERSON_WORDS: &[&str] = &[
    "official",
    "spokesperson",
    "spokesman",
    "spokeswoman",
    "minister",
    "president",
    "secretary",
    "senator",
    "ambassador",
    "general",
];

/// Words that make a claimant an organisation.
const ORGANIZATION_WORDS: &[&str] = &[
    "agency",
    "army",
    "article",
    "association",
    "bbc",
    "cnn",
    "commission",
    "committee",
    "company",
    "congress",
    "corporation",
    "council",
    "court",
    "department",
    "forces",
    "foundation",
    "government",
    "group",
    "inc",
    "institute",
    "kremlin",
    "ltd",
    "magazine",
    "ministry",
    "nato",
    "network",
    "news",
    "newspaper",
    "office",
    "organisation",
    "organization",
    "outlet",
    "parliament",
    "party",
    "pentagon",
    "press",
    "reuters",
    "report",
    "times",
    "un",
    "union",
    "university",
    "watch",
];

/// schema.org type of a claimant. Claims record only a name, so this is a
/// word-list guess: organisation words make an Organization unless a
/// person's title is there too; anything else is a Person.
pub fn claimant_type(name: &str) -> &'static str {
    let lower = name.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let has = |list: &[&str]| words.iter().any(|w| list.contains(w));
    if has(PERSON_WORDS) {
        "Person"
    } else if has(ORGANIZATION_WORDS) || lower.contains("white house") || lower.contains("united nations") {
        "Organization"
    } else {
        "Person"
    }
}

impl ClaimReview {
    /// The ClaimReview of `f`, published by the organisation configured in `public`.
    pub fn of(f: &FactCheckOut, public: &PublicSettings) -> ClaimReview {
        let claim = &f.claim;
        let verdict = &f.verdict.verdict;
        // One CreativeWork per article, in the order the claim's appearances were recorded.
        let mut works: Vec<(Uuid, CreativeWork)> = vec![];
        for a in &claim.appearances {
            if works.iter().any(|(id, _)| *id == a.article.id) {
                continue;
            }
            works.push((
                a.article.id,
                CreativeWork {
                    type_: "CreativeWork",
                    url: a.article.url.clone(),
                    headline: a.article.title.clone(),
                    date_published: a.article.published_on,
                    publisher: a.article.publisher.clone().map(|name| Organization {
                        type_: "Organization",
                        name,
                        url: None,
                    }),
                },
            ));
        }
        let first_appearance = works
            .iter()
            .filter_map(|(_, w)| w.date_published.map(|d| (d, w)))
            .min_by_key(|(d, _)| *d)
            .map(|(_, w)| w.clone());
        ClaimReview {
            context: "https://schema.org",
            type_: "ClaimReview",
            url: format!("{}/v1/factchecks/{}", public.base_url, claim.id),
            claim_reviewed: claim.statement.clone(),
            date_published: verdict.published_at.map(|t| t.date_naive()),
            author: Organization {
                type_: "Organization",
                name: public.org_name.clone(),
                url: public.org_url.clone(),
            },
            item_reviewed: ReviewedClaim {
                type_: "Claim",
                author: Claimant {
                    type_: claimant_type(&claim.claimant),
                    name: claim.claimant.clone(),
                },
                date_published: claim.claimed_on,
                appearance: works.into_iter().map(|(_, w)| w).collect(),
                first_appearance,
            },
            review_rating: ReviewRating {
                type_: "Rating",
                rating_value: verdict.rating_value,
                best_rating: verdict.rating_value.map(|_| 5),
                worst_rating: verdict.rating_value.map(|_| 1),
                alternate_name: verdict.rating_label,
            },
            headline: verdict.headline.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claimants_are_people_unless_they_look_like_organisations() {
        for person in [
            "Vladimir Putin",
            "Maria Zakharova",
            "Unnamed top US Defense Department official",
            "Jens Stoltenberg",
        ] {
            assert_eq!(claimant_type(person), "Person", "{person}");
        }
        for org in [
            "Human Rights Watch",
            "CNN",
            "Associated Press",
            "Anadolu Agency",
            "United Nations report (March)",
            "Article 000 (news outlet, unnamed)",
            "The White House",
        ] {
            assert_eq!(claimant_type(org), "Organization", "{org}");
        }
    }

    #[test]
    fn list_cursors_round_trip_exactly_and_refuse_the_wrong_list() {
        let published_at = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        let claim_id = Uuid::now_v7();
        let newest = ListCursor::Newest { published_at, claim_id };
        assert_eq!(ListCursor::parse(&newest.token(), false).unwrap(), newest);
        let ranked = ListCursor::Ranked {
            rank: 0.1f32 + 0.2f32,
            published_at,
            claim_id,
        };
        assert_eq!(ListCursor::parse(&ranked.token(), true).unwrap(), ranked);
        assert!(ListCursor::parse(&ranked.token(), false).is_err());
        assert!(ListCursor::parse(&newest.token(), true).is_err());
        for junk in ["", "zzz", &URL_SAFE_NO_PAD.encode("n.1.2"), &claim_id.to_string()] {
            assert_eq!(ListCursor::parse(junk, false).unwrap_err().field, "cursor");
        }
    }

    #[test]
    fn feed_cursors_round_trip() {
        assert_eq!(FeedCursor::parse(&FeedCursor(42).token()).unwrap(), FeedCursor(42));
        assert!(FeedCursor::parse("42").is_err());
        assert!(FeedCursor::parse(&URL_SAFE_NO_PAD.encode("f.-1")).is_err());
    }

    #[test]
    fn filters_parse_and_name_every_bad_field() {
        let f = FactCheckFilter::parse(
            Some(" cluster "),
            Some("Vladimir Putin"),
            Some("false"),
            Some("EN"),
            Some("2023-07-17"),
            None,
        )
        .unwrap();
        assert_eq!(f.q.as_deref(), Some("cluster"));
        assert_eq!(f.rating, Some(Rating::False));
        assert_eq!(f.language.as_deref(), Some("en"));
        assert_eq!(f.published_since.unwrap().to_rfc3339(), "2023-07-17T00:00:00+00:00");
        let t = FactCheckFilter::parse(None, None, None, None, Some("2023-07-17T10:00:00+02:00"), None).unwrap();
        assert_eq!(t.published_since.unwrap().to_rfc3339(), "2023-07-17T08:00:00+00:00");
        match FactCheckFilter::parse(None, None, Some("pants_on_fire"), Some("english"), Some("yesterday"), None) {
            Err(crate::error::AppError::Invalid { errors, .. }) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, ["rating", "language", "published_since"]);
            }
            other => panic!("expected 422, got {other:?}"),
        }
        assert_eq!(
            FactCheckFilter::parse(Some("  "), None, None, None, None, None).unwrap(),
            FactCheckFilter::default()
        );
    }
}
