//! `/articles/{id}`: an article's text with every appearance and piece of
//! evidence that a published fact check quotes from it highlighted at its
//! stored code-point offsets, each linking to its fact check.

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use super::{HTML, cacheable, long_date, not_found, render};
use crate::error::{AppError, AppResult};
use crate::http::factchecks::page as cached_page;
use crate::http::{AppState, Fresh, with_read};
use crate::model::Article;
use crate::model::factcheck::FactCheck;
use crate::store;

/// A quoted passage: code points `start..end` of the article's body.
#[derive(Clone, Debug, PartialEq)]
pub struct Passage {
    pub start: usize,
    pub end: usize,
    /// The element id of its place in the text: `a-<appearance>` or `e-<evidence>`.
    pub anchor: String,
    pub evidence: bool,
    /// The fact check that quotes it.
    pub href: String,
    pub headline: String,
    pub rating_label: &'static str,
    pub exact: String,
}

/// A run of the text with the passages that cover all of it.
#[derive(Debug, PartialEq)]
pub struct Segment {
    pub text: String,
    /// Anchors of the passages that start here.
    pub starts: Vec<String>,
    /// Indexes into the passages: those covering this run.
    pub covered_by: Vec<usize>,
}

/// Splits `body` at every passage's ends (code points, as stored), so
/// overlapping passages are each highlighted exactly. Passages outside
/// the text or empty are left out (they cannot be shown where they say).
pub fn segments(body: &str, passages: &[Passage]) -> Vec<Segment> {
    let n = body.chars().count();
    let valid: Vec<usize> = (0..passages.len())
        .filter(|&i| passages[i].start < passages[i].end && passages[i].end <= n)
        .collect();
    let mut bounds: Vec<usize> = vec![0, n];
    for &i in &valid {
        bounds.push(passages[i].start);
        bounds.push(passages[i].end);
    }
    bounds.sort_unstable();
    bounds.dedup();
    // Byte offset of each boundary, in one pass.
    let mut bytes = Vec::with_capacity(bounds.len());
    let mut next = bounds.iter().peekable();
    for (count, (byte, _)) in body.char_indices().chain(std::iter::once((body.len(), ' '))).enumerate() {
        while next.peek().is_some_and(|&&b| b == count) {
            bytes.push(byte);
            next.next();
        }
    }
    bounds
        .windows(2)
        .zip(bytes.windows(2))
        .map(|(cp, by)| Segment {
            text: body[by[0]..by[1]].to_string(),
            starts: valid
                .iter()
                .filter(|&&i| passages[i].start == cp[0])
                .map(|&i| passages[i].anchor.clone())
                .collect(),
            covered_by: valid
                .iter()
                .copied()
                .filter(|&i| passages[i].start <= cp[0] && cp[1] <= passages[i].end)
                .collect(),
        })
        .collect()
}

/// What the page shows of a run of text.
struct Run {
    text: String,
    starts: Vec<String>,
    /// None: plain text.
    mark: Option<RunMark>,
}

struct RunMark {
    class: &'static str,
    refs: String,
    href: String,
    title: String,
}

#[derive(askama::Template)]
#[template(path = "article.html")]
struct ArticlePage<'a> {
    site: &'a str,
    title: String,
    canonical: String,
    article: &'a Article,
    published: Option<String>,
    runs: Vec<Run>,
    passages: Vec<Passage>,
}

/// The passages of `article` that the published fact checks quote.
fn passages(article_id: Uuid, factchecks: &[FactCheck]) -> Vec<Passage> {
    let mut out = vec![];
    for f in factchecks {
        let href = format!("/factchecks/{}", f.claim.id);
        for (a, _) in f.appearances.iter().filter(|(a, _)| a.article_id == article_id) {
            out.push(Passage {
                start: usize::try_from(a.start_pos).unwrap_or(usize::MAX),
                end: usize::try_from(a.end_pos).unwrap_or(0),
                anchor: format!("a-{}", a.id),
                evidence: false,
                href: href.clone(),
                headline: f.verdict.headline.clone(),
                rating_label: f.verdict.rating.label(),
                exact: a.exact.clone(),
            });
        }
        for e in f.evidence.iter().filter(|e| e.article_id == Some(article_id)) {
            let (Some(start), Some(end), Some(exact)) = (e.start_pos, e.end_pos, &e.exact) else {
                continue;
            };
            out.push(Passage {
                start: usize::try_from(start).unwrap_or(usize::MAX),
                end: usize::try_from(end).unwrap_or(0),
                anchor: format!("e-{}", e.id),
                evidence: true,
                href: href.clone(),
                headline: f.verdict.headline.clone(),
                rating_label: f.verdict.rating.label(),
                exact: exact.clone(),
            });
        }
    }
    out.sort_by_key(|p| (p.start, p.end));
    out
}

/// `/articles/{id}`. Articles are public (as in the API); the highlights
/// are those of published fact checks only, so drafts show nothing.
pub async fn page(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> AppResult<HttpResponse> {
    let Ok(id) = Uuid::parse_str(&id) else {
        return not_found(&state, "There is no article at this address.");
    };
    let built = cached_page(&state, format!("page article {id}"), "pa", || async {
        let (article, factchecks) = with_read(&state, &req, Fresh::Applied, move |conn| {
            let article = store::articles::get(conn, id)?;
            let factchecks = store::factchecks::quoting_article(conn, id)?;
            Ok((article, factchecks))
        })
        .await?;
        let factchecks: Vec<FactCheck> = factchecks.into_iter().map(|p| p.factcheck).collect();
        let passages = passages(id, &factchecks);
        let runs = segments(&article.body, &passages)
            .into_iter()
            .map(|s| Run {
                mark: s.covered_by.first().map(|&first| {
                    let p = &passages[first];
                    let (appearance, evidence) = s
                        .covered_by
                        .iter()
                        .fold((false, false), |(a, e), &i| (a || !passages[i].evidence, e || passages[i].evidence));
                    RunMark {
                        class: match (appearance, evidence) {
                            (true, true) => "q q-both",
                            (false, true) => "q q-evidence",
                            _ => "q q-appearance",
                        },
                        refs: s
                            .covered_by
                            .iter()
                            .map(|&i| passages[i].anchor.as_str())
                            .collect::<Vec<_>>()
                            .join(" "),
                        href: p.href.clone(),
                        title: format!("{}: {}", p.rating_label, p.headline),
                    }
                }),
                text: s.text,
                starts: s.starts,
            })
            .collect();
        let site = &state.config.public.org_name;
        let html = render(&ArticlePage {
            site,
            title: format!("{} — {site}", article.title),
            canonical: format!("{}/articles/{id}", state.config.public.base_url),
            article: &article,
            published: article.published_on.map(long_date),
            runs,
            passages,
        })?;
        Ok(Bytes::from(html))
    })
    .await;
    match built {
        Ok(page) => cacheable(&req, &state, page.etag.clone(), HTML, page.body.clone()),
        Err(AppError::NotFound(_)) => not_found(&state, "There is no article at this address."),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passage(start: usize, end: usize, anchor: &str) -> Passage {
        Passage {
            start,
            end,
            anchor: anchor.into(),
            evidence: anchor.starts_with('e'),
            href: "/factchecks/x".into(),
            headline: "h".into(),
            rating_label: "False",
            exact: String::new(),
        }
    }

    #[test]
    fn overlapping_passages_split_the_text_at_code_points() {
        // "é" and "“" are one code point each and several bytes.
        let body = "né “quoted” text here";
        let ps = [
            passage(3, 11, "a-1"),
            passage(4, 15, "e-2"),
            passage(30, 40, "a-out"),
            passage(5, 5, "a-empty"),
        ];
        let segs = segments(body, &ps);
        let joined: String = segs.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(joined, body);
        let text_of = |i: usize| {
            segs.iter()
                .filter(|s| s.covered_by.contains(&i))
                .map(|s| s.text.as_str())
                .collect::<String>()
        };
        assert_eq!(text_of(0), "“quoted”");
        assert_eq!(text_of(1), "quoted” tex");
        assert_eq!(text_of(2), "");
        assert_eq!(text_of(3), "");
        assert_eq!(segs.iter().filter(|s| s.starts.contains(&"e-2".to_string())).count(), 1);
    }
}
