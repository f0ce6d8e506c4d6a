//! `/` (the newest fact checks, search and filters, keyset paging),
//! `/factchecks/{claim_id}` (one fact check, its ClaimReview inside) and
//! `/factchecks.atom` (the Atom feed of published and corrected fact checks).

use std::sync::Arc;

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use uuid::Uuid;

use super::{BUILD, HTML, cacheable, json_in_script, long_date, not_found, render};
use crate::all_fields;
use crate::error::{AppError, AppResult};
use crate::http::cache::CachedPage;
use crate::http::factchecks::{page as cached_page, public_detail, public_factcheck};
use crate::http::{AppState, Fresh, with_read};
use crate::model::evidence::Stance;
use crate::model::factcheck::{FactCheck, FactCheckFilter};
use crate::model::paging::ListCursor;
use crate::model::verdict::Rating;
use crate::store;

/// Fact checks on one page of `/`.
const PER_PAGE: i64 = 20;
/// Entries in the Atom feed.
const ATOM_ENTRIES: i64 = 50;

// ---------------------------------------------------------------- the list

#[derive(Deserialize)]
pub struct HomeParams {
    pub q: Option<String>,
    pub claimant: Option<String>,
    pub rating: Option<String>,
    pub cursor: Option<String>,
}

/// One fact check in a list.
struct ListItem {
    href: String,
    headline: String,
    statement: String,
    language: String,
    claimant: String,
    rating: &'static str,
    rating_label: &'static str,
    published: String,
    published_iso: String,
    corrected: bool,
}

impl ListItem {
    fn of(f: &FactCheck) -> ListItem {
        let published = f.verdict.published_at.map(|t| t.date_naive());
        ListItem {
            href: format!("/factchecks/{}", f.claim.id),
            headline: f.verdict.headline.clone(),
            statement: f.claim.statement.clone(),
            language: f.claim.language.clone(),
            claimant: claimant_name(f),
            rating: f.verdict.rating.as_str(),
            rating_label: f.verdict.rating.label(),
            published: published.map(long_date).unwrap_or_default(),
            published_iso: published.map(|d| d.to_string()).unwrap_or_default(),
            corrected: !f.corrections.is_empty(),
        }
    }
}

struct RatingChoice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

#[derive(askama::Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    site: &'a str,
    title: String,
    canonical: String,
    q: String,
    claimant: String,
    ratings: Vec<RatingChoice>,
    filtered: bool,
    items: Vec<ListItem>,
    next_href: Option<String>,
}

fn claimant_name(f: &FactCheck) -> String {
    f.claimant.as_ref().map_or_else(|| f.claim.claimant.clone(), |c| c.name.clone())
}

/// Form fields arrive empty when left blank: absent, for the filter.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// `/`: the newest fact checks, or a search (the API's search), filtered
/// by rating and claimant, a page at a time (keyset cursors).
pub async fn home(state: web::Data<AppState>, req: HttpRequest, params: web::Query<HomeParams>) -> AppResult<HttpResponse> {
    let p = params.into_inner();
    let filter = FactCheckFilter::parse(given(&p.q), given(&p.claimant), given(&p.rating), None, None, None)?;
    let after = given(&p.cursor).map(|c| ListCursor::parse(c, filter.q.is_some())).transpose();
    let (after,) = all_fields!(after)?;
    let key = format!("page home {filter:?} {after:?}");
    let page = cached_page(&state, key, "pg", || async {
        let f = filter.clone();
        let page = with_read(&state, &req, Fresh::Applied, move |conn| {
            store::factchecks::list_aggregates(conn, &f, after, PER_PAGE)
        })
        .await?;
        let next_href = page.next.map(|c| {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in [("q", &p.q), ("claimant", &p.claimant), ("rating", &p.rating)] {
                if let Some(v) = given(value) {
                    query.append_pair(name, v);
                }
            }
            query.append_pair("cursor", &c.token());
            format!("/?{}", query.finish())
        });
        let site = &state.config.public.org_name;
        let filtered = filter != FactCheckFilter::default();
        let html = render(&HomePage {
            site,
            title: if filtered {
                format!("Search — {site}")
            } else {
                format!("Fact checks — {site}")
            },
            canonical: format!("{}/", state.config.public.base_url),
            q: p.q.clone().unwrap_or_default(),
            claimant: p.claimant.clone().unwrap_or_default(),
            ratings: Rating::ALL
                .iter()
                .map(|r| RatingChoice {
                    value: r.as_str(),
                    label: r.label(),
                    selected: filter.rating == Some(*r),
                })
                .collect(),
            filtered,
            items: page.items.iter().map(|i| ListItem::of(&i.factcheck)).collect(),
            next_href,
        })?;
        Ok(Bytes::from(html))
    })
    .await?;
    cacheable(&req, &state, page.etag.clone(), HTML, page.body.clone())
}

// ---------------------------------------------------------- one fact check

struct Quote {
    text: String,
    href: String,
    source: String,
    language: String,
}

struct EvidenceItem {
    id: Uuid,
    stance: &'static str,
    summary: String,
    quote: Option<Quote>,
    /// An external source: (url, title).
    link: Option<(String, String)>,
}

struct AppearanceItem {
    quote: Quote,
    kind: &'static str,
}

struct CorrectionItem {
    rating_label: &'static str,
    headline: String,
    published: String,
    superseded: String,
    reason: String,
}

#[derive(askama::Template)]
#[template(path = "factcheck.html")]
struct FactCheckPage<'a> {
    site: &'a str,
    title: String,
    canonical: String,
    description: String,
    claim_id: Uuid,
    statement: &'a str,
    language: &'a str,
    claimant: String,
    claimant_role: Option<String>,
    claimed_on: Option<String>,
    claimed_on_note: Option<String>,
    rating: &'static str,
    rating_label: &'static str,
    headline: &'a str,
    summary: &'a str,
    published: String,
    published_iso: String,
    appearances: Vec<AppearanceItem>,
    evidence: Vec<EvidenceItem>,
    corrections: Vec<CorrectionItem>,
    json_ld: String,
    seq: i64,
    chain_hash: String,
}

fn stance_label(s: Stance) -> &'static str {
    match s {
        Stance::Supports => "Supports the claim",
        Stance::Refutes => "Refutes the claim",
        Stance::Context => "Context",
    }
}

/// A claim's date with its precision: "July 2023", "2023", "16 July 2023".
fn claimed_on(f: &FactCheck) -> Option<String> {
    use crate::model::claim::DatePrecision;
    let d = f.claim.claimed_on?;
    Some(match f.claim.claimed_on_precision {
        DatePrecision::Year => d.format("%Y").to_string(),
        DatePrecision::Month => d.format("%B %Y").to_string(),
        DatePrecision::Day | DatePrecision::Unknown => long_date(d),
    })
}

/// A description for link previews: the summary, cut at a word near 200 characters.
fn description(summary: &str) -> String {
    if summary.chars().count() <= 200 {
        return summary.to_string();
    }
    let cut: String = summary.chars().take(200).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{cut}…")
}

fn factcheck_page(state: &AppState, f: &FactCheck, claimreview: &[u8]) -> AppResult<String> {
    let site = &state.config.public.org_name;
    let published = f.verdict.published_at.map(|t| t.date_naive());
    let article_of = |id: Uuid| f.appearances.iter().find(|(_, a)| a.id == id).map(|(_, a)| a.title.clone());
    let html = render(&FactCheckPage {
        site,
        title: format!("{} — {site}", f.verdict.headline),
        canonical: format!("{}/factchecks/{}", state.config.public.base_url, f.claim.id),
        description: description(&f.verdict.summary),
        claim_id: f.claim.id,
        statement: &f.claim.statement,
        language: &f.claim.language,
        claimant: claimant_name(f),
        claimant_role: f.claimant.as_ref().and_then(|c| c.role.clone()),
        claimed_on: claimed_on(f),
        claimed_on_note: f.claim.claimed_on_note.clone(),
        rating: f.verdict.rating.as_str(),
        rating_label: f.verdict.rating.label(),
        headline: &f.verdict.headline,
        summary: &f.verdict.summary,
        published: published.map(long_date).unwrap_or_default(),
        published_iso: published.map(|d| d.to_string()).unwrap_or_default(),
        appearances: f
            .appearances
            .iter()
            .map(|(a, article)| AppearanceItem {
                quote: Quote {
                    text: a.exact.clone(),
                    href: format!("/articles/{}#a-{}", article.id, a.id),
                    source: match &article.publisher {
                        Some(p) => format!("{} ({p})", article.title),
                        None => article.title.clone(),
                    },
                    language: a.original_language.clone().unwrap_or_else(|| f.claim.language.clone()),
                },
                kind: match a.kind.as_str() {
                    "direct_quote" => "Direct quote",
                    "paraphrase" => "Paraphrase",
                    _ => "Report",
                },
            })
            .collect(),
        evidence: f
            .evidence
            .iter()
            .map(|e| EvidenceItem {
                id: e.id,
                stance: stance_label(e.stance),
                summary: e.summary.clone(),
                quote: match (e.article_id, &e.exact) {
                    (Some(article_id), Some(exact)) => Some(Quote {
                        text: exact.clone(),
                        href: format!("/articles/{article_id}#e-{}", e.id),
                        source: article_of(article_id).unwrap_or_else(|| "the article".to_string()),
                        language: f.claim.language.clone(),
                    }),
                    _ => None,
                },
                link: e.url.clone().map(|u| (u.clone(), e.title.clone().unwrap_or(u))),
            })
            .collect(),
        corrections: f
            .corrections
            .iter()
            .rev()
            .map(|c| CorrectionItem {
                rating_label: c.verdict.rating.label(),
                headline: c.verdict.headline.clone(),
                published: c.verdict.published_at.map(|t| long_date(t.date_naive())).unwrap_or_default(),
                superseded: c.verdict.superseded_at.map(|t| long_date(t.date_naive())).unwrap_or_default(),
                reason: c.reason.clone().unwrap_or_default(),
            })
            .collect(),
        json_ld: json_in_script(claimreview),
        seq: f.log.seq,
        chain_hash: hex::encode(&f.log.chain_hash),
    })?;
    Ok(html)
}

/// `/factchecks/{claim_id}`: the canonical page of a published fact check.
/// Not public: the 404 page; merged into another claim: 301 to its page.
pub async fn page(state: web::Data<AppState>, req: HttpRequest, claim_id: web::Path<String>) -> AppResult<HttpResponse> {
    let Ok(claim_id) = Uuid::parse_str(&claim_id) else {
        return not_found(&state, "There is no fact check at this address.");
    };
    let f = match public_factcheck(&state, &req, claim_id).await {
        Ok(f) => f,
        Err(AppError::NotFound(_)) => {
            let into = with_read(&state, &req, Fresh::Applied, move |conn| {
                store::factchecks::merged_into(conn, claim_id)
            })
            .await?;
            return match into {
                Some(into) => Ok(super::secure(
                    HttpResponse::MovedPermanently()
                        .insert_header((header::LOCATION, format!("/factchecks/{into}")))
                        .finish(),
                )),
                None => not_found(
                    &state,
                    "There is no published fact check for this claim: it was never published, or it was withdrawn.",
                ),
            };
        }
        Err(e) => return Err(e),
    };
    let etag = |seq: i64| format!("\"pg-{seq}-{BUILD}\"");
    // The reader has this page: answer 304 without rendering it.
    if crate::http::factchecks::client_has(&req, &etag(f.seq)) {
        return cacheable(&req, &state, etag(f.seq), HTML, Bytes::new());
    }
    // Rendered once per change, like the JSON.
    if let Some(kept) = state.cache.factcheck_page(claim_id).filter(|p| p.etag == etag(f.seq)) {
        return cacheable(&req, &state, kept.etag.clone(), HTML, kept.body.clone());
    }
    let start = state.cache.read_start();
    let d = public_detail(&state, &req, claim_id).await?;
    let html = Bytes::from(factcheck_page(&state, &d.factcheck, &d.claimreview)?);
    let kept = Arc::new(CachedPage {
        etag: etag(d.seq),
        body: html,
    });
    state.cache.keep_factcheck_page(start, claim_id, kept.clone());
    cacheable(&req, &state, kept.etag.clone(), HTML, kept.body.clone())
}

// --------------------------------------------------------------- the feed

/// `/factchecks.atom`: the newest published fact checks as an Atom feed
/// (RFC 4287). A correction publishes a new verdict, so a corrected fact
/// check comes back to the top, its entry `updated` then and marked with
/// the category `corrected`.
pub async fn atom(state: web::Data<AppState>, req: HttpRequest) -> AppResult<HttpResponse> {
    let page = cached_page(&state, "page atom".to_string(), "at", || async {
        let page = with_read(&state, &req, Fresh::Applied, move |conn| {
            store::factchecks::list_aggregates(conn, &FactCheckFilter::default(), None, ATOM_ENTRIES)
        })
        .await?;
        let xml = atom_feed(&state, page.items.iter().map(|i| &i.factcheck))?;
        Ok(Bytes::from(xml))
    })
    .await?;
    cacheable(
        &req,
        &state,
        page.etag.clone(),
        "application/atom+xml; charset=utf-8",
        page.body.clone(),
    )
}

fn atom_feed<'a>(state: &AppState, items: impl Iterator<Item = &'a FactCheck>) -> AppResult<String> {
    use atom_syndication::{Category, Content, Entry, Feed, Link, Person, Text};
    let public = &state.config.public;
    let base = &public.base_url;
    let epoch = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
    let author = Person {
        name: public.org_name.clone(),
        uri: public.org_url.clone(),
        ..Default::default()
    };
    let entries: Vec<Entry> = items
        .map(|f| {
            let url = format!("{base}/factchecks/{}", f.claim.id);
            let updated = f.verdict.published_at.unwrap_or(epoch);
            let first = f.corrections.first().and_then(|c| c.verdict.published_at).unwrap_or(updated);
            let mut categories = vec![Category {
                term: f.verdict.rating.as_str().to_string(),
                label: Some(f.verdict.rating.label().to_string()),
                ..Default::default()
            }];
            if !f.corrections.is_empty() {
                categories.push(Category {
                    term: "corrected".to_string(),
                    label: Some("Corrected".to_string()),
                    ..Default::default()
                });
            }
            Entry {
                id: url.clone(),
                title: Text::plain(f.verdict.headline.clone()),
                updated: updated.fixed_offset(),
                published: Some(first.fixed_offset()),
                authors: vec![author.clone()],
                links: vec![Link {
                    href: url,
                    rel: "alternate".to_string(),
                    mime_type: Some("text/html".to_string()),
                    ..Default::default()
                }],
                categories,
                summary: Some(Text::plain(f.verdict.summary.clone())),
                content: Some(Content {
                    value: Some(format!(
                        "{} — {}: {}",
                        claimant_name(f),
                        f.claim.statement,
                        f.verdict.rating.label()
                    )),
                    content_type: Some("text".to_string()),
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect();
    let updated = entries.iter().map(|e| e.updated).max().unwrap_or(epoch.fixed_offset());
    let feed = Feed {
        id: format!("{base}/factchecks.atom"),
        title: Text::plain(format!("{} — fact checks", public.org_name)),
        updated,
        authors: vec![author],
        links: vec![
            Link {
                href: format!("{base}/factchecks.atom"),
                rel: "self".to_string(),
                mime_type: Some("application/atom+xml".to_string()),
                ..Default::default()
            },
            Link {
                href: format!("{base}/"),
                rel: "alternate".to_string(),
                mime_type: Some("text/html".to_string()),
                ..Default::default()
            },
        ],
        lang: Some("en".to_string()),
        entries,
        ..Default::default()
    };
    Ok(feed.to_string())
}

#[cfg(test)]
mod tests {
    use super::description;

    #[test]
    fn a_long_summary_is_cut_at_a_word() {
        let long = "word ".repeat(100);
        let d = description(&long);
        assert!(d.ends_with("word…"), "{d}");
        assert!(d.chars().count() <= 201);
        assert_eq!(description("short"), "short");
    }
}
