//! Anchoring a quote in an article body: W3C TextQuoteSelector (exact,
//! prefix, suffix) and TextPositionSelector (start, end in Unicode code
//! points, end exclusive).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::FieldError;

/// Context kept either side of a quote when the client sends none.
const CONTEXT_CHARS: usize = 32;

/// What the client says about a quote.
#[derive(Clone, Debug, Default)]
pub struct QuoteQuery {
    pub exact: String,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
    /// Code point offsets the client believes the quote has.
    pub start: Option<i64>,
    pub end: Option<i64>,
}

/// A quote found exactly once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anchored {
    pub exact: String,
    pub prefix: String,
    pub suffix: String,
    pub start: usize,
    pub end: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TextQuoteSelector {
    #[serde(rename = "type")]
    pub type_: String,
    pub exact: String,
    pub prefix: String,
    pub suffix: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TextPositionSelector {
    #[serde(rename = "type")]
    pub type_: String,
    pub start: i32,
    pub end: i32,
}

pub fn selectors(exact: &str, prefix: &str, suffix: &str, start: i32, end: i32) -> (TextQuoteSelector, TextPositionSelector) {
    (
        TextQuoteSelector {
            type_: "TextQuoteSelector".into(),
            exact: exact.into(),
            prefix: prefix.into(),
            suffix: suffix.into(),
        },
        TextPositionSelector {
            type_: "TextPositionSelector".into(),
            start,
            end,
        },
    )
}

/// Checks the quote's own fields (not yet against a body).
pub fn parse_query(exact: &str, prefix: Option<&str>, suffix: Option<&str>, start: Option<i64>, end: Option<i64>) -> Vec<FieldError> {
    let mut errors = vec![];
    let n = exact.chars().count();
    if exact.trim().is_empty() {
        errors.push(FieldError::new("exact", "must not be blank"));
    } else if n > 5000 {
        errors.push(FieldError::new("exact", format!("at most 5000 characters (got {n})")));
    }
    for (field, v) in [("prefix", prefix), ("suffix", suffix)] {
        if v.is_some_and(|v| v.chars().count() > 500) {
            errors.push(FieldError::new(field, "at most 500 characters"));
        }
    }
    match (start, end) {
        (Some(s), Some(e)) if s < 0 || e <= s => errors.push(FieldError::new("end", "start must be ≥ 0 and end greater than start")),
        (Some(_), None) => errors.push(FieldError::new("end", "give end together with start")),
        (None, Some(_)) => errors.push(FieldError::new("start", "give start together with end")),
        _ => {}
    }
    errors
}

/// Finds `q.exact` in `body`. Exactly one occurrence must satisfy the
/// prefix, suffix and position given; the error says why not otherwise.
pub fn anchor(body: &str, q: &QuoteQuery) -> Result<Anchored, FieldError> {
    let exact = q.exact.as_str();
    // Every occurrence, overlapping ones included, as (byte offset, code point offset).
    let mut all = vec![];
    let mut from = 0;
    while let Some(i) = body[from..].find(exact) {
        let at = from + i;
        all.push(at);
        from = at + body[at..].chars().next().map_or(1, char::len_utf8);
    }
    if all.is_empty() {
        return Err(FieldError::new(
            "exact",
            "the quote does not occur in the article (it must match the text exactly)",
        ));
    }
    let exact_chars = exact.chars().count();
    let matching: Vec<(usize, usize)> = all
        .iter()
        .map(|&at| (at, body[..at].chars().count()))
        .filter(|&(at, _)| q.prefix.as_deref().is_none_or(|p| body[..at].ends_with(p)))
        .filter(|&(at, _)| q.suffix.as_deref().is_none_or(|s| body[at + exact.len()..].starts_with(s)))
        .filter(|&(_, cp)| q.start.is_none_or(|s| s == cp as i64))
        .collect();
    match matching.as_slice() {
        [(at, cp)] => {
            if let Some(end) = q.end
                && end != (cp + exact_chars) as i64
            {
                return Err(FieldError::new(
                    "end",
                    format!("the quote is {exact_chars} characters long, so end must be {}", cp + exact_chars),
                ));
            }
            let prefix = q.prefix.clone().unwrap_or_else(|| last_chars(&body[..*at], CONTEXT_CHARS));
            let suffix = q
                .suffix
                .clone()
                .unwrap_or_else(|| body[at + exact.len()..].chars().take(CONTEXT_CHARS).collect());
            Ok(Anchored {
                exact: exact.to_string(),
                prefix,
                suffix,
                start: *cp,
                end: cp + exact_chars,
            })
        }
        [] if q.start.is_some() => {
            let positions: Vec<String> = all.iter().map(|&at| body[..at].chars().count().to_string()).collect();
            Err(FieldError::new(
                "start",
                format!(
                    "the quote does not start at {}; it occurs at {}",
                    q.start.unwrap_or_default(),
                    positions.join(", ")
                ),
            ))
        }
        [] => Err(FieldError::new(
            "exact",
            format!("the quote occurs {} time(s), but never with the given prefix/suffix", all.len()),
        )),
        many => Err(FieldError::new(
            "exact",
            format!(
                "the quote is ambiguous: it occurs {} times; add prefix and/or suffix (or start/end) to choose one",
                many.len()
            ),
        )),
    }
}

fn last_chars(text: &str, n: usize) -> String {
    let count = text.chars().count();
    text.chars().skip(count.saturating_sub(n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(exact: &str) -> QuoteQuery {
        QuoteQuery {
            exact: exact.into(),
            ..Default::default()
        }
    }

    #[test]
    fn positions_are_code_points_not_bytes() {
        let body = "He said “sufficient” stock. Then more.";
        let a = anchor(body, &q("sufficient")).unwrap();
        assert_eq!(a.start, 9);
        assert_eq!(body.chars().skip(a.start).take(a.end - a.start).collect::<String>(), "sufficient");
        assert_eq!(a.prefix, "He said “");
        assert_eq!(a.suffix, "” stock. Then more.");
    }

    #[test]
    fn ambiguity_and_disambiguation() {
        let body = "A cat. A cat sat. A dog.";
        let e = anchor(body, &q("A cat")).unwrap_err();
        assert!(e.message.contains("occurs 2 times"), "{}", e.message);
        let a = anchor(
            body,
            &QuoteQuery {
                suffix: Some(" sat".into()),
                ..q("A cat")
            },
        )
        .unwrap();
        assert_eq!(a.start, 7);
        let a = anchor(
            body,
            &QuoteQuery {
                start: Some(0),
                end: Some(5),
                ..q("A cat")
            },
        )
        .unwrap();
        assert_eq!(a.start, 0);
        assert!(
            anchor(
                body,
                &QuoteQuery {
                    start: Some(0),
                    end: Some(6),
                    ..q("A cat")
                }
            )
            .is_err()
        );
        assert!(
            anchor(
                body,
                &QuoteQuery {
                    start: Some(3),
                    end: Some(8),
                    ..q("A cat")
                }
            )
            .unwrap_err()
            .message
            .contains("occurs at 0, 7")
        );
        assert!(anchor(body, &q("A horse")).unwrap_err().message.contains("does not occur"));
        assert!(
            anchor(
                body,
                &QuoteQuery {
                    prefix: Some("zzz".into()),
                    ..q("A cat")
                }
            )
            .is_err()
        );
    }

    #[test]
    fn overlapping_occurrences_count() {
        let e = anchor("aaa", &q("aa")).unwrap_err();
        assert!(e.message.contains("2 times"));
    }
}
