//! schema.org ClaimReview (JSON-LD) of a published fact check.

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::FactCheck;
use crate::model::claimant::ClaimantKind;

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

/// The claimant: a Person or an Organization, from its record.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Claimant {
    #[serde(rename = "@type")]
    pub type_: &'static str,
    pub name: String,
    /// A person's role, as the sources give it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub same_as: Vec<String>,
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

/// Who publishes the review, and where its page is: what rendering needs
/// of the configuration.
#[derive(Clone, Debug)]
pub struct Publisher {
    /// The public base URL, without a trailing slash.
    pub base_url: String,
    pub org_name: String,
    pub org_url: Option<String>,
}

impl ClaimReview {
    /// The ClaimReview of `f`, as published by `publisher`.
    pub fn of(f: &FactCheck, publisher: &Publisher) -> ClaimReview {
        let claim = &f.claim;
        let verdict = &f.verdict;
        let rating = verdict.rating;
        // One CreativeWork per article, in the order the claim's appearances were recorded.
        let mut works: Vec<(Uuid, CreativeWork)> = vec![];
        for (_, article) in &f.appearances {
            if works.iter().any(|(id, _)| *id == article.id) {
                continue;
            }
            works.push((
                article.id,
                CreativeWork {
                    type_: "CreativeWork",
                    url: article.url.clone(),
                    headline: article.title.clone(),
                    date_published: article.published_on,
                    publisher: article.publisher.clone().map(|name| Organization {
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
            url: format!("{}/factchecks/{}", publisher.base_url, claim.id),
            claim_reviewed: claim.statement.clone(),
            date_published: verdict.published_at.map(|t| t.date_naive()),
            author: Organization {
                type_: "Organization",
                name: publisher.org_name.clone(),
                url: publisher.org_url.clone(),
            },
            item_reviewed: ReviewedClaim {
                type_: "Claim",
                author: match &f.claimant {
                    Some(record) => Claimant {
                        type_: record.kind.schema_type(),
                        name: record.name.clone(),
                        job_title: record.role.clone().filter(|_| record.kind == ClaimantKind::Person),
                        same_as: record.same_as.clone(),
                    },
                    // A claim recorded before claimants were records (the
                    // service gives every claim one when it starts).
                    None => Claimant {
                        type_: "Thing",
                        name: claim.claimant.clone(),
                        job_title: None,
                        same_as: vec![],
                    },
                },
                date_published: claim.claimed_on,
                appearance: works.into_iter().map(|(_, w)| w).collect(),
                first_appearance,
            },
            review_rating: ReviewRating {
                type_: "Rating",
                rating_value: rating.value(),
                best_rating: rating.value().map(|_| 5),
                worst_rating: rating.value().map(|_| 1),
                alternate_name: rating.label(),
            },
            headline: verdict.headline.clone(),
        }
    }
}
