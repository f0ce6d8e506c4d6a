//! Which published fact checks a list asks for.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use uuid::Uuid;

use crate::all_fields;
use crate::error::{AppResult, FieldError};
use crate::model::fields::{self, text};
use crate::model::verdict::Rating;

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

#[cfg(test)]
mod tests {
    use super::*;

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
