//! The public pages: HTML status codes, the ClaimReview inside each fact
//! check page (the API's, with the page as its url), 404 pages and the
//! merge redirect, the Atom feed (parsed), the security headers, escaping of
//! what users wrote, and quotes highlighted at their stored offsets.

use std::str::FromStr;

use reqwest::blocking::Response;
use serde_json::{Value, json};

use crate::harness::{ARTICLE_BODY, Fixture, TestApp, metric, problem, spawn_app};

fn header(r: &Response, name: &str) -> String {
    r.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

/// A page's HTML, after checking it is a page with the security headers.
fn html(r: Response, status: u16) -> String {
    assert_eq!(r.status().as_u16(), status, "{}", r.url());
    assert!(
        header(&r, "content-type").starts_with("text/html"),
        "{}",
        header(&r, "content-type")
    );
    let csp = header(&r, "content-security-policy");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(header(&r, "x-content-type-options"), "nosniff");
    assert_eq!(header(&r, "referrer-policy"), "same-origin");
    r.text().unwrap()
}

/// Drafts, submits and publishes a verdict citing `evidence`.
fn publish(app: &TestApp, f: &Fixture, claim_id: &str, evidence: &str, rating: &str, headline: &str) -> String {
    let v = app.created(
        &f.editor,
        &format!("/v1/claims/{claim_id}/verdicts"),
        &json!({"rating": rating, "headline": headline, "summary": format!("Why: {headline}"), "evidence_ids": [evidence]}),
    );
    let id = v["id"].as_str().unwrap().to_string();
    app.created(&f.editor, &format!("/v1/verdicts/{id}/submit"), &json!({}));
    app.created(&f.reviewer, &format!("/v1/verdicts/{id}/publish"), &json!({"reason": "checked"}));
    id
}

/// A claim with one piece of external evidence: (claim id, evidence id).
fn claim(app: &TestApp, f: &Fixture, statement: &str, claimant: &str) -> (String, String) {
    let c = app.created(
        &f.editor,
        "/v1/claims",
        &json!({"statement": statement, "claimant": claimant, "claimant_kind": "person", "language": "en"}),
    );
    let id = c["id"].as_str().unwrap().to_string();
    let e = app.created(
        &f.editor,
        &format!("/v1/claims/{id}/evidence"),
        &json!({"stance": "refutes", "summary": "A report says otherwise.", "url": "https://example.org/report"}),
    );
    (id, e["id"].as_str().unwrap().to_string())
}

/// The text between the first `start` and the next `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Vec<&'a str> {
    let mut out = vec![];
    let mut rest = text;
    while let Some(i) = rest.find(start) {
        let after = &rest[i + start.len()..];
        let j = after.find(end).expect("closed");
        out.push(&after[..j]);
        rest = &after[j..];
    }
    out
}

/// Text content of an HTML fragment: tags dropped, character references undone.
fn text_of(fragment: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in fragment.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    unescape(&out)
}

/// Undoes the character references a template writes (`&#60;`, `&amp;`, …).
fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let end = after.find(';').expect("a reference ends with ;");
        let name = &after[1..end];
        let c = match name {
            "quot" => '"',
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "apos" => '\'',
            n if n.starts_with("#x") => char::from_u32(u32::from_str_radix(&n[2..], 16).unwrap()).unwrap(),
            n if n.starts_with('#') => char::from_u32(n[1..].parse().unwrap()).unwrap(),
            other => panic!("unexpected reference &{other};"),
        };
        out.push(c);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn a_fact_check_page_carries_exactly_the_apis_claimreview_with_the_page_as_its_url() {
    let app = spawn_app();
    let f = app.fixture();
    app.created(
        &f.editor,
        &format!("/v1/claims/{}/appearances", f.claim_id),
        &json!({"article_id": f.article_id, "exact": "Russia has not used them, he said again."}),
    );
    publish(
        &app,
        &f,
        &f.claim_id,
        &f.evidence_id,
        "false",
        "No, Russia has used cluster munitions",
    );
    let path = format!("/factchecks/{}", f.claim_id);
    let r = app.get(&path);
    let etag = header(&r, "etag");
    let page = html(r, 200);

    let blocks = between(&page, "<script type=\"application/ld+json\">", "</script>");
    assert_eq!(blocks.len(), 1, "exactly one JSON-LD block");
    let in_page: Value = serde_json::from_str(blocks[0]).expect("the JSON-LD parses");
    let api: Value = app.get(&format!("/v1/factchecks/{}/claimreview", f.claim_id)).json().unwrap();
    assert_eq!(in_page, api, "the page's ClaimReview is the API's");
    let canonical = format!("{}/factchecks/{}", app.config.public.base_url, f.claim_id);
    assert_eq!(api["url"], canonical.as_str());
    assert_eq!(in_page["@type"], "ClaimReview");
    // The only other script is ours, from a file.
    assert_eq!(page.matches("<script").count(), 2);
    assert!(page.contains("<script src=\"/assets/verify.js\" defer></script>"));

    assert!(page.contains("<html lang=\"en\">"));
    assert!(page.contains(&format!("<link rel=\"canonical\" href=\"{canonical}\">")));
    assert!(page.contains(&format!("<meta property=\"og:url\" content=\"{canonical}\">")));
    assert!(page.contains("<meta property=\"og:title\" content=\"No, Russia has used cluster munitions\">"));
    assert!(page.contains("<meta name=\"twitter:card\" content=\"summary\">"));
    assert!(page.contains("<h1>No, Russia has used cluster munitions</h1>"));
    assert!(page.contains("class=\"rating rating-false\" id=\"rating\">False</p>"));
    // The evidence quote links to its place in the article; the appearance too.
    assert!(page.contains(&format!("href=\"/articles/{}#e-{}\"", f.article_id, f.evidence_id)));
    assert!(page.contains("Human Rights Watch says Russia has used cluster munitions."));
    assert!(page.contains(&format!("href=\"/articles/{}#a-", f.article_id)));
    // The log block names the revision it reflects (the API's log position).
    let api_fc: Value = app.get(&format!("/v1/factchecks/{}", f.claim_id)).json().unwrap();
    assert!(page.contains(&format!("data-seq=\"{}\"", api_fc["log"]["seq"])));
    assert!(page.contains(api_fc["log"]["chain_hash"].as_str().unwrap()));

    // Cached like the API: the ETag answers 304 with no body.
    assert!(etag.starts_with("\"pg-"), "{etag}");
    let r = app.client.get(app.url(&path)).header("if-none-match", &etag).send().unwrap();
    assert_eq!(r.status(), 304);
    assert!(r.text().unwrap().is_empty());

    // A correction: the page shows the history and the new rating.
    publish(&app, &f, &f.claim_id, &f.evidence_id, "misleading", "Misleading, says the new data");
    let page = html(app.get(&path), 200);
    assert!(page.contains("<h1>Misleading, says the new data</h1>"));
    assert!(page.contains("Corrections") && page.contains("No, Russia has used cluster munitions"));
    let r = app.client.get(app.url(&path)).header("if-none-match", &etag).send().unwrap();
    assert_eq!(r.status(), 200, "the old ETag no longer matches");
}

#[test]
fn unpublished_withdrawn_and_unknown_fact_checks_are_404_pages_and_a_merged_one_redirects() {
    let app = spawn_app();
    let f = app.fixture();
    // Never published (a draft only).
    app.created(
        &f.editor,
        &format!("/v1/claims/{}/verdicts", f.claim_id),
        &json!({"rating": "false", "headline": "Draft headline", "summary": "s", "evidence_ids": [f.evidence_id]}),
    );
    let page = html(app.get(&format!("/factchecks/{}", f.claim_id)), 404);
    assert!(page.contains("<h1>Not found</h1>") && !page.contains("Draft headline"));
    assert_eq!(app.get(&format!("/v1/factchecks/{}", f.claim_id)).status(), 404, "as in the API");
    // Unknown, and not even an id.
    html(app.get(&format!("/factchecks/{}", uuid::Uuid::now_v7())), 404);
    html(app.get("/factchecks/not-a-uuid"), 404);
    html(app.get(&format!("/articles/{}", uuid::Uuid::now_v7())), 404);
    html(app.get("/assets/nothing.js"), 404);

    // Withdrawn.
    let (withdrawn, e) = claim(&app, &f, "Axolotls vote.", "Test Claimant");
    let v = publish(&app, &f, &withdrawn, &e, "false", "Axolotls do not vote");
    assert_eq!(app.get(&format!("/factchecks/{withdrawn}")).status(), 200);
    app.created(
        &f.reviewer,
        &format!("/v1/verdicts/{v}/withdraw"),
        &json!({"reason": "legal review"}),
    );
    let page = html(app.get(&format!("/factchecks/{withdrawn}")), 404);
    assert!(!page.contains("Axolotls do not vote"));

    // Merged: 301 to the survivor's page.
    publish(&app, &f, &f.claim_id, &f.evidence_id, "false", "Survivor");
    let (dup, e) = claim(&app, &f, "Russia has not yet used cluster munitions.", "Vladimir Putin");
    publish(&app, &f, &dup, &e, "false", "Duplicate");
    let path = format!("/v1/claims/{dup}");
    let etag = header(&app.get_as(&f.editor, &path), "etag");
    let r = app
        .client
        .post(app.url(&format!("{path}/merge")))
        .bearer_auth(&f.editor)
        .header("if-match", etag)
        .json(&json!({"into": f.claim_id, "reason": "the same claim"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app.get(&format!("/factchecks/{dup}"));
    assert_eq!(r.status(), 301);
    assert_eq!(header(&r, "location"), format!("/factchecks/{}", f.claim_id));
}

#[test]
fn what_users_wrote_is_escaped_everywhere_and_cannot_close_the_json_ld_block() {
    let app = spawn_app();
    let f = app.fixture();
    let nasty = "He said </script><script>alert(1)</script> & \"<b>bold</b>\" 'x'.";
    let (id, e) = claim(&app, &f, nasty, "Mallory <img src=x onerror=alert(1)>");
    publish(&app, &f, &id, &e, "false", "<i>Headline</i> & </script>");
    let page = html(app.get(&format!("/factchecks/{id}")), 200);
    assert!(!page.contains("<script>alert(1)"), "{page}");
    assert!(!page.contains("<img src=x"), "{page}");
    assert!(!page.contains("<i>Headline</i>"), "{page}");
    assert!(text_of(&page).contains("<i>Headline</i> & </script>"), "shown as written");
    let blocks = between(&page, "<script type=\"application/ld+json\">", "</script>");
    assert_eq!(blocks.len(), 1);
    let in_page: Value = serde_json::from_str(blocks[0]).unwrap();
    let api: Value = app.get(&format!("/v1/factchecks/{id}/claimreview")).json().unwrap();
    assert_eq!(in_page, api);
    assert_eq!(in_page["claimReviewed"], nasty);
    // The list and the feed too.
    let home = html(app.get("/"), 200);
    assert!(!home.contains("<script>alert(1)") && !home.contains("<i>Headline"));
    assert!(text_of(&home).contains("<i>Headline</i> & </script>"));
    let feed = app.get("/factchecks.atom").text().unwrap();
    let parsed = atom_syndication::Feed::from_str(&feed).expect("the feed parses");
    assert_eq!(parsed.entries()[0].title().as_str(), "<i>Headline</i> & </script>");
}

#[test]
fn the_article_page_highlights_each_quote_at_its_stored_code_point_offsets() {
    let app = spawn_app();
    let f = app.fixture();
    // An appearance after the curly quotes (byte and code-point offsets differ),
    // and one overlapping the evidence's passage.
    let a1 = app.created(
        &f.editor,
        &format!("/v1/claims/{}/appearances", f.claim_id),
        &json!({"article_id": f.article_id, "exact": "Russia has not used them, he said again."}),
    );
    let a2 = app.created(
        &f.editor,
        &format!("/v1/claims/{}/appearances", f.claim_id),
        &json!({"article_id": f.article_id, "exact": "Watch says Russia"}),
    );
    let before = html(app.get(&format!("/articles/{}", f.article_id)), 200);
    assert!(!before.contains("<mark class=\"q"), "nothing is published yet: no highlight");
    publish(&app, &f, &f.claim_id, &f.evidence_id, "false", "Russia used them");
    let page = html(app.get(&format!("/articles/{}", f.article_id)), 200);

    let body = between(&page, "<div class=\"article-body\" lang=\"en\">", "</div>");
    assert_eq!(body.len(), 1);
    assert_eq!(text_of(body[0]), ARTICLE_BODY, "the whole text, unchanged");
    // Each passage: its marked runs, in order, are its exact text, and the
    // text before its first run is the body up to its start (code points).
    let evidence: Value = app.get_as(&f.editor, &format!("/v1/evidence/{}", f.evidence_id)).json().unwrap();
    for (anchor, exact, start) in [
        (
            format!("a-{}", a1["id"].as_str().unwrap()),
            a1["selector"]["exact"].as_str().unwrap(),
            a1["position"]["start"].as_u64().unwrap(),
        ),
        (
            format!("a-{}", a2["id"].as_str().unwrap()),
            a2["selector"]["exact"].as_str().unwrap(),
            a2["position"]["start"].as_u64().unwrap(),
        ),
        (
            format!("e-{}", f.evidence_id),
            evidence["selector"]["exact"].as_str().unwrap(),
            evidence["position"]["start"].as_u64().unwrap(),
        ),
    ] {
        let marks: Vec<String> = body[0]
            .split("<mark ")
            .skip(1)
            .filter_map(|m| {
                let open = m.find('>').unwrap();
                m[..open]
                    .contains(&anchor)
                    .then(|| text_of(&m[open + 1..m.find("</mark>").unwrap()]))
            })
            .collect();
        assert_eq!(marks.concat(), exact, "{anchor}");
        let anchor_tag = format!("<span class=\"anchor\" id=\"{anchor}\"></span>");
        let at = body[0].find(&anchor_tag).expect("an anchor at its start");
        assert_eq!(
            text_of(&body[0][..at]).chars().count() as u64,
            start,
            "{anchor} starts at its stored offset"
        );
        // The mark links to the fact check.
        assert!(page.contains(&format!("<a href=\"/factchecks/{}\"", f.claim_id)));
    }
    // The overlap is marked as both.
    assert!(body[0].contains("q q-both"));
}

#[test]
fn the_home_page_lists_searches_filters_and_pages_by_keyset() {
    let app = spawn_app();
    let f = app.fixture();
    let mut headlines = vec![];
    for i in 0..22 {
        let (id, e) = claim(
            &app,
            &f,
            &format!("Statement number {i} about pangolins."),
            if i % 2 == 0 { "Even Speaker" } else { "Odd Speaker" },
        );
        let rating = if i == 3 { "true" } else { "false" };
        let headline = format!("Headline {i}");
        publish(&app, &f, &id, &e, rating, &headline);
        headlines.push(headline);
    }
    let first = html(app.get("/"), 200);
    let listed = |page: &str| {
        between(page, "<h2><a href=\"/factchecks/", "</a></h2>")
            .iter()
            .map(|h| h.split_once("\">").unwrap().1.to_string())
            .collect::<Vec<_>>()
    };
    let page1 = listed(&first);
    assert_eq!(page1.len(), 20);
    assert_eq!(page1[0], "Headline 21", "newest first");
    let next = unescape(between(&first, "<a rel=\"next\" href=\"", "\"")[0]);
    let second = html(app.get(&next), 200);
    let page2 = listed(&second);
    assert_eq!(page2, ["Headline 1", "Headline 0"]);
    assert!(!second.contains("rel=\"next\""));

    // The API's search and filters, through the form's fields.
    let found = listed(&html(app.get("/?q=number+3+pangolins"), 200));
    assert_eq!(found.first().map(String::as_str), Some("Headline 3"));
    assert_eq!(listed(&html(app.get("/?rating=true&claimant=&q="), 200)), ["Headline 3"]);
    let odd = html(app.get("/?claimant=odd+speaker&rating="), 200);
    assert_eq!(listed(&odd).len(), 11);
    assert!(odd.contains("value=\"odd speaker\""), "the form keeps what was asked");
    assert!(html(app.get("/?q=nothingmatcheszzz"), 200).contains("No published fact check matches."));

    // Bad input is a problem naming the field.
    let p = problem(app.get("/?rating=bogus"), 422);
    assert_eq!(p["errors"][0]["field"], "rating");
    let p = problem(app.get("/?cursor=garbage"), 422);
    assert_eq!(p["errors"][0]["field"], "cursor");
    let etag = header(&app.get("/"), "etag");
    assert_eq!(
        app.client.get(app.url("/")).header("if-none-match", &etag).send().unwrap().status(),
        304
    );
}

#[test]
fn the_atom_feed_parses_and_lists_published_and_corrected_fact_checks() {
    let app = spawn_app();
    let f = app.fixture();
    let empty = app.get("/factchecks.atom");
    assert_eq!(header(&empty, "content-type"), "application/atom+xml; charset=utf-8");
    let feed = atom_syndication::Feed::from_str(&empty.text().unwrap()).expect("an empty feed parses");
    assert!(feed.entries().is_empty());

    publish(&app, &f, &f.claim_id, &f.evidence_id, "false", "First verdict");
    let (other, e) = claim(&app, &f, "Another claim.", "Someone Else");
    publish(&app, &f, &other, &e, "true", "Other verdict");
    publish(&app, &f, &f.claim_id, &f.evidence_id, "misleading", "Corrected verdict");
    let r = app.get("/factchecks.atom");
    assert_eq!(r.status(), 200);
    let text = r.text().unwrap();
    let feed = atom_syndication::Feed::from_str(&text).expect("the feed parses");
    let base = &app.config.public.base_url;
    assert_eq!(feed.id(), format!("{base}/factchecks.atom"));
    assert!(
        feed.links()
            .iter()
            .any(|l| l.rel() == "self" && l.href() == format!("{base}/factchecks.atom"))
    );
    let titles: Vec<&str> = feed.entries().iter().map(|e| e.title().as_str()).collect();
    assert_eq!(
        titles,
        ["Corrected verdict", "Other verdict"],
        "the corrected one comes back to the top"
    );
    let corrected = &feed.entries()[0];
    assert_eq!(corrected.id(), format!("{base}/factchecks/{}", f.claim_id));
    assert_eq!(corrected.links()[0].href(), format!("{base}/factchecks/{}", f.claim_id));
    let terms: Vec<&str> = corrected.categories().iter().map(|c| c.term()).collect();
    assert_eq!(terms, ["misleading", "corrected"]);
    assert!(
        corrected.published().unwrap() < corrected.updated(),
        "first published before the correction"
    );
    assert_eq!(*feed.updated(), *corrected.updated());
    // RFC 4287: the feed and every entry have an id, a title and updated; an author.
    assert!(feed.entries().iter().all(|e| !e.id().is_empty() && !e.authors().is_empty()));
}

#[test]
fn the_log_page_shows_the_served_checkpoint_its_key_and_how_to_verify_offline() {
    let app = spawn_app();
    // The sequencer signs a checkpoint once the tree has grown (the test
    // app's accounts are revisions); wait for the one the API serves.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let note = loop {
        let r = app.get("/v1/log/checkpoint");
        if r.status() == 200 {
            break r.text().unwrap();
        }
        assert!(std::time::Instant::now() < deadline, "no checkpoint was signed");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let mut lines = note.lines();
    let (origin, size) = (lines.next().unwrap().to_string(), lines.next().unwrap().to_string());
    let vkey = app.get("/v1/log/key").text().unwrap().trim().to_string();
    let page = html(app.get("/log"), 200);
    assert!(!page.contains("No checkpoint yet"));
    assert!(
        page.contains(&format!("<code>{origin}</code>")),
        "the page names the origin {origin}"
    );
    // The page may be newer than the note we read, never older.
    let shown: u64 = page
        .split("<dt>Tree size (revisions)</dt><dd>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(shown >= size.parse::<u64>().unwrap());
    assert!(page.contains(&vkey), "the page shows the verifier key");
    assert!(page.contains("/v1/log/export"));
    // The assets the pages use are ours, served with their types.
    let js = app.get("/assets/verify.js");
    assert_eq!(header(&js, "content-type"), "text/javascript; charset=utf-8");
    assert!(js.text().unwrap().contains("/v1/factchecks/"));
    let css = app.get("/assets/site.css");
    assert_eq!(header(&css, "content-type"), "text/css; charset=utf-8");
    assert!(app.client.post(app.url("/log")).send().unwrap().status() == 405);
}

#[test]
fn a_fact_check_page_is_rendered_once_per_change() {
    let app = spawn_app();
    let f = app.fixture();
    let (id, e) = claim(&app, &f, "Herons file taxes.", "Test Claimant");
    publish(&app, &f, &id, &e, "false", "Herons do not file taxes");
    let path = format!("/factchecks/{id}");
    let first = html(app.get(&path), 200);
    assert!(first.contains("Herons file taxes."));
    // Served again from memory: hits only, no miss.
    let (hits, misses) = (
        metric(&app, "claimledger_cache_hits_total"),
        metric(&app, "claimledger_cache_misses_total"),
    );
    let again = html(app.get(&path), 200);
    assert_eq!(again, first);
    assert_eq!(metric(&app, "claimledger_cache_misses_total"), misses, "the page was kept");
    assert!(
        metric(&app, "claimledger_cache_hits_total") >= hits + 2.0,
        "fact check and page from memory"
    );
    // A change to the claim replaces the kept page before the write answers.
    let claim_path = format!("/v1/claims/{id}");
    let etag = header(&app.get_as(&f.editor, &claim_path), "etag");
    let r = app.patch_as(
        &f.editor,
        &claim_path,
        Some(&etag),
        &json!({"statement": "Herons file tax returns."}),
    );
    assert_eq!(r.status(), 200);
    let changed = html(app.get(&path), 200);
    assert!(changed.contains("Herons file tax returns.") && !changed.contains("Herons file taxes."));
}
