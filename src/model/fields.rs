//! Parsers for the fields of request bodies. Each returns the parsed value or
//! a [`FieldError`] naming the field; [`all_fields!`] gathers them so one
//! response lists every field that is wrong.

use chrono::{Datelike, NaiveDate, Utc};
use serde::{Deserialize, Deserializer};

use crate::error::FieldError;

/// Evaluates to `Ok((a, b, …))` when every field parsed, else to
/// `Err(AppError::Invalid)` listing every field that did not.
#[macro_export]
macro_rules! all_fields {
    ($($name:ident),+ $(,)?) => {
        match ($($name,)+) {
            ($(Ok($name),)+) => Ok(($($name,)+)),
            ($($name,)+) => Err($crate::error::AppError::invalid(
                [$($name.err()),+].into_iter().flatten().collect(),
            )),
        }
    };
}

/// A JSON Merge Patch (RFC 7396) member: absent leaves the field alone,
/// `null` removes it, a value replaces it.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Patch<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(d)? {
            None => Patch::Null,
            Some(v) => Patch::Value(v),
        })
    }
}

impl<T> Patch<T> {
    pub fn is_absent(&self) -> bool {
        matches!(self, Patch::Absent)
    }

    /// For a field that cannot be removed: absent → None, null → error.
    pub fn required(self, field: &str) -> Result<Option<T>, FieldError> {
        match self {
            Patch::Absent => Ok(None),
            Patch::Null => Err(FieldError::new(field, "cannot be removed (null)")),
            Patch::Value(v) => Ok(Some(v)),
        }
    }

    /// For an optional field: absent → None, null → Some(None).
    pub fn optional(self) -> Option<Option<T>> {
        match self {
            Patch::Absent => None,
            Patch::Null => Some(None),
            Patch::Value(v) => Some(Some(v)),
        }
    }
}

/// Trimmed text of `min..=max` characters, without control characters
/// other than line breaks and tabs (PostgreSQL cannot store NUL anyway).
pub fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let trimmed = value.trim();
    let chars = trimmed.chars().count();
    if chars < min {
        return Err(FieldError::new(
            field,
            if min == 1 {
                "must not be blank".to_string()
            } else {
                format!("at least {min} characters")
            },
        ));
    }
    if chars > max {
        return Err(FieldError::new(field, format!("at most {max} characters (got {chars})")));
    }
    if trimmed.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err(FieldError::new(field, "must not contain control characters"));
    }
    Ok(trimmed.to_string())
}

/// Like [`text`], but an absent or blank value is `None`.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, FieldError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => text(field, v, 1, max).map(Some),
    }
}

/// The optional `reason` every write takes; it goes into the revision.
pub fn reason(value: Option<&str>) -> Result<Option<String>, FieldError> {
    optional_text("reason", value, 2000)
}

/// A well-formed BCP 47 language tag, in canonical case (`en`, `pt-BR`, `zh-Hant`).
pub fn language(field: &str, value: &str) -> Result<String, FieldError> {
    let tag = language_tags::LanguageTag::parse(value.trim())
        .map_err(|e| FieldError::new(field, format!("not a BCP 47 language tag ({e}); e.g. en, es, pt-BR")))?;
    let tag = tag.canonicalize().unwrap_or(tag);
    if tag.primary_language().len() > 3 || tag.as_str().len() > 35 {
        return Err(FieldError::new(field, "not a BCP 47 language tag; e.g. en, es, pt-BR"));
    }
    Ok(tag.as_str().to_string())
}

/// A calendar date `YYYY-MM-DD`, not in the future.
pub fn past_date(field: &str, value: &str) -> Result<NaiveDate, FieldError> {
    let date = NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|_| FieldError::new(field, format!("expected a date as YYYY-MM-DD, got '{}'", truncate(value, 40))))?;
    let today = Utc::now().date_naive();
    if date > today + chrono::Duration::days(1) {
        return Err(FieldError::new(field, "must not be in the future"));
    }
    if date.year() < 1800 {
        return Err(FieldError::new(field, "must be after 1800"));
    }
    Ok(date)
}

/// An RFC 3339 time, in UTC.
pub fn rfc3339(field: &str, value: &str) -> Result<chrono::DateTime<Utc>, FieldError> {
    chrono::DateTime::parse_from_rfc3339(value.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            FieldError::new(
                field,
                format!(
                    "expected an RFC 3339 time such as 2023-07-17T12:00:00Z, got '{}'",
                    truncate(value, 40)
                ),
            )
        })
}

/// An absolute http(s) URL with a host.
pub fn http_url(field: &str, value: &str) -> Result<String, FieldError> {
    let parsed = url::Url::parse(value.trim()).map_err(|e| FieldError::new(field, format!("not a valid URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none_or(str::is_empty) {
        return Err(FieldError::new(field, "must be an http:// or https:// URL with a host"));
    }
    if parsed.as_str().len() > 2000 {
        return Err(FieldError::new(field, "at most 2000 characters"));
    }
    Ok(parsed.to_string())
}

/// Up to 20 tags, each 1–50 of lowercase letters, digits, '-' or '_';
/// trimmed, lowercased and de-duplicated in order.
pub fn tags(field: &str, values: &[String]) -> Result<Vec<String>, FieldError> {
    if values.len() > 20 {
        return Err(FieldError::new(field, "at most 20 tags"));
    }
    let mut out: Vec<String> = vec![];
    for (i, raw) in values.iter().enumerate() {
        let tag = raw.trim().to_lowercase();
        let ok = (1..=50).contains(&tag.chars().count()) && tag.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(FieldError::new(format!("{field}[{i}]"), "1–50 letters, digits, '-' or '_'"));
        }
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    Ok(out)
}

/// A URL slug: lowercase letters and digits in hyphen-separated words.
pub fn slug(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    let ok = (1..=120).contains(&v.len())
        && v.split('-')
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    if ok {
        Ok(v.to_string())
    } else {
        Err(FieldError::new(
            field,
            "lowercase letters and digits in words joined by '-', at most 120",
        ))
    }
}

/// A slug made from a title, for articles posted without one.
pub fn slugify(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        if out.len() >= 60 {
            break;
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.is_empty() { "article".to_string() } else { out }
}

pub fn truncate(value: &str, max_chars: usize) -> String {
    if value.chars().count() <= max_chars {
        value.to_string()
    } else {
        format!("{}…", value.chars().take(max_chars).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rules() {
        assert_eq!(text("s", "  hi  ", 1, 10).unwrap(), "hi");
        assert_eq!(text("s", "   ", 1, 10).unwrap_err().message, "must not be blank");
        assert!(text("s", &"x".repeat(11), 1, 10).unwrap_err().message.contains("at most 10"));
        assert!(text("s", "a\u{0}b", 1, 10).is_err());
    }

    #[test]
    fn language_tags_are_canonical() {
        assert_eq!(language("l", "EN").unwrap(), "en");
        assert_eq!(language("l", "pt-br").unwrap(), "pt-BR");
        assert!(language("l", "english").is_err());
        assert!(language("l", "e").is_err());
    }

    #[test]
    fn dates_urls_tags_slugs() {
        assert!(past_date("d", "2023-07-16").is_ok());
        assert!(past_date("d", "16/07/2023").is_err());
        assert!(past_date("d", "2999-01-01").is_err());
        assert!(http_url("u", "https://example.org/a").is_ok());
        assert!(http_url("u", "ftp://example.org").is_err());
        assert!(http_url("u", "not a url").is_err());
        assert_eq!(
            tags("t", &["Russia".into(), "russia".into(), "cluster-munitions".into()]).unwrap(),
            vec!["russia", "cluster-munitions"]
        );
        assert_eq!(tags("t", &["a b".into()]).unwrap_err().field, "t[0]");
        assert_eq!(slugify("Putin says: ‘crime’!"), "putin-says-crime");
        assert!(slug("s", "a--b").is_err());
    }

    #[test]
    fn all_fields_lists_every_error() {
        let a: Result<i32, FieldError> = Err(FieldError::new("a", "bad"));
        let b: Result<i32, FieldError> = Ok(2);
        let c: Result<i32, FieldError> = Err(FieldError::new("c", "bad"));
        match all_fields!(a, b, c) {
            Err(crate::error::AppError::Invalid { errors, .. }) => assert_eq!(errors.len(), 2),
            _ => panic!("expected errors"),
        }
        let a: Result<i32, FieldError> = Ok(1);
        let b: Result<&str, FieldError> = Ok("x");
        assert_eq!(all_fields!(a, b).unwrap(), (1, "x"));
    }
}
