//! The public site, for people: server-rendered HTML pages of the published
//! fact checks (`/`, `/factchecks/{claim_id}`), the articles they quote
//! (`/articles/{id}`), the log's checkpoint (`/log`), an Atom feed
//! (`/factchecks.atom`) and the two static files they use (`/assets/…`).
//! Pages render from the same derived documents and the same in-memory
//! cache as the JSON API; templates (askama, in `templates/`) are compiled
//! in and escape by default. No page needs JavaScript to be read; the one
//! script (`assets/verify.js`) checks a fact check's log proof in the
//! reader's browser. Not API operations, so not in the OpenAPI document.

pub mod articles;
pub mod assets;
pub mod factchecks;
pub mod log;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};

use super::AppState;
use crate::error::{AppError, AppResult};

pub const HTML: &str = "text/html; charset=utf-8";

/// No inline script (the JSON-LD data block is data, not script), nothing
/// from another origin, no framing, forms only to us.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Every page and asset.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/").route(web::get().to(factchecks::home)))
        .service(web::resource("/factchecks.atom").route(web::get().to(factchecks::atom)))
        .service(web::resource("/factchecks/{claim_id}").route(web::get().to(factchecks::page)))
        .service(web::resource("/articles/{id}").route(web::get().to(articles::page)))
        .service(web::resource("/log").route(web::get().to(log::page)))
        .service(web::resource("/assets/{name}").route(web::get().to(assets::asset)));
}

/// The security headers every page carries.
pub fn secure(mut response: HttpResponse) -> HttpResponse {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// A rendered page (or feed) that may be cached: 304 when the reader has
/// it, the body otherwise; ETag, Cache-Control and the security headers.
pub fn cacheable(
    req: &HttpRequest,
    state: &AppState,
    etag: String,
    content_type: &'static str,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let response = super::factchecks::cacheable(req, state, etag, content_type, false, || Ok(body))?;
    Ok(secure(response))
}

/// What a page's ETag carries beside its content's position: the build,
/// so a new release's pages replace cached ones.
pub const BUILD: &str = env!("CARGO_PKG_VERSION");

/// Renders a template, or the internal error.
pub fn render(t: &impl askama::Template) -> AppResult<String> {
    t.render().map_err(|e| AppError::internal(format!("a page template failed: {e}")))
}

#[derive(askama::Template)]
#[template(path = "not_found.html")]
struct NotFoundPage<'a> {
    site: &'a str,
    title: &'a str,
    detail: &'a str,
}

/// The 404 page: a person reads it, so HTML (the API's 404 says the same in
/// problem+json).
pub fn not_found(state: &AppState, what: &str) -> AppResult<HttpResponse> {
    let body = render(&NotFoundPage {
        site: &state.config.public.org_name,
        title: "Not found",
        detail: what,
    })?;
    Ok(secure(
        HttpResponse::build(StatusCode::NOT_FOUND)
            .content_type(HTML)
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .body(body),
    ))
}

/// A date as people read it: 17 July 2023.
pub fn long_date(d: chrono::NaiveDate) -> String {
    d.format("%-d %B %Y").to_string()
}

/// JSON inside a `<script type="application/ld+json">` block: the same
/// value, with `<`, `>` and `&` escaped as JSON escapes so the text cannot
/// close the element (a statement may quote "</script>").
pub fn json_in_script(json: &[u8]) -> String {
    let text = String::from_utf8_lossy(json);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_in_a_script_block_cannot_close_it_and_parses_the_same() {
        let json = br#"{"a":"</script><script>alert(1)</script> & more","b":[1,2]}"#;
        let escaped = json_in_script(json);
        assert!(!escaped.contains("</script"), "{escaped}");
        let (x, y): (serde_json::Value, serde_json::Value) =
            (serde_json::from_slice(json).unwrap(), serde_json::from_str(&escaped).unwrap());
        assert_eq!(x, y);
    }
}
