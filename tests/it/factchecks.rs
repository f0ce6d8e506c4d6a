//! The public API: published fact checks, search, ClaimReview, the change
//! feed, HTTP caching and CORS — and that nothing unpublished gets out.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use claimledger::model::factcheck::FactCheckFilter;
use claimledger::seed;
use diesel::prelude::*;
use reqwest::blocking::Response;
use serde_json::{Value, json};

use crate::harness::{Fixture, TestApp, problem, spawn_app, spawn_app_with};

fn seed_into(app: &TestApp) {
    let fixture = seed::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("seed_articles")).unwrap();
    seed::seed(&mut app.conn(), &fixture).unwrap();
}

/// How many fact checks the seed publishes: its claims with a verdict.
fn seeded_published() -> usize {
    let fixture = seed::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("seed_articles")).unwrap();
    fixture.claims.iter().filter(|c| c.verdict.is_some()).count()
}

fn body(r: Response) -> Value {
    let status = r.status();
    let text = r.text().unwrap();
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).unwrap()
}

fn header(r: &Response, name: &str) -> Option<String> {
    r.headers().get(name).map(|v| v.to_str().unwrap().to_string())
}

/// Every item of a public list, following next_cursor; asserts no item twice.
fn all_items(app: &TestApp, path: &str) -> Vec<Value> {
    all_items_after(app, path, None)
}

/// The items of a public list from `cursor` on.
fn all_items_after(app: &TestApp, path: &str, mut cursor: Option<String>) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut items: Vec<Value> = vec![];
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}{sep}cursor={c}"),
            None => path.to_string(),
        };
        let page = body(app.get(&url));
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let ids: Vec<&str> = items.iter().map(claim_id_of).collect();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len(), "an item came twice: {ids:?}");
    items
}

fn claim_id_of(factcheck: &Value) -> &str {
    factcheck["claim"]["id"].as_str().unwrap()
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|f| claim_id_of(f).to_string()).collect()
}

fn search(app: &TestApp, query: &str) -> Vec<String> {
    ids(&all_items(app, &format!("/v1/factchecks?{query}")))
}

/// A new claim with one piece of evidence: (claim id, evidence id).
fn claim_with_evidence(app: &TestApp, f: &Fixture, statement: &str) -> (String, String) {
    let claim = app.created(
        &f.editor,
        "/v1/claims",
        &json!({"statement": statement, "claimant": "Test Claimant", "claimant_kind": "person", "language": "en"}),
    );
    let claim_id = claim["id"].as_str().unwrap().to_string();
    let evidence = app.created(
        &f.editor,
        &format!("/v1/claims/{claim_id}/evidence"),
        &json!({"stance": "refutes", "summary": "A report says otherwise.", "url": "https://example.org/report"}),
    );
    (claim_id, evidence["id"].as_str().unwrap().to_string())
}

fn draft(app: &TestApp, f: &Fixture, claim_id: &str, evidence_id: &str, rating: &str, headline: &str) -> String {
    let v = app.created(
        &f.editor,
        &format!("/v1/claims/{claim_id}/verdicts"),
        &json!({"rating": rating, "headline": headline, "summary": format!("Summary of: {headline}"), "evidence_ids": [evidence_id]}),
    );
    v["id"].as_str().unwrap().to_string()
}

fn submit(app: &TestApp, f: &Fixture, verdict_id: &str) {
    app.created(&f.editor, &format!("/v1/verdicts/{verdict_id}/submit"), &json!({}));
}

/// Drafts, submits (editor) and publishes (reviewer) a verdict.
fn publish(app: &TestApp, f: &Fixture, claim_id: &str, evidence_id: &str, rating: &str, headline: &str, reason: Option<&str>) -> String {
    let id = draft(app, f, claim_id, evidence_id, rating, headline);
    submit(app, f, &id);
    let body = match reason {
        Some(r) => json!({"reason": r}),
        None => json!({}),
    };
    app.created(&f.reviewer, &format!("/v1/verdicts/{id}/publish"), &body);
    id
}

fn withdraw(app: &TestApp, f: &Fixture, verdict_id: &str, reason: &str) {
    app.created(
        &f.reviewer,
        &format!("/v1/verdicts/{verdict_id}/withdraw"),
        &json!({"reason": reason}),
    );
}

/// Patches a claim as the editor, reading its current ETag first.
fn patch_claim(app: &TestApp, f: &Fixture, claim_id: &str, patch: Value) {
    let path = format!("/v1/claims/{claim_id}");
    let etag = header(&app.get_as(&f.editor, &path), "etag").unwrap();
    let r = app.patch_as(&f.editor, &path, Some(&etag), &patch);
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
}

fn feed_page(app: &TestApp, after: Option<&str>, limit: i64) -> Value {
    match after {
        Some(c) => body(app.get(&format!("/v1/factchecks/feed?after={c}&limit={limit}"))),
        None => body(app.get(&format!("/v1/factchecks/feed?limit={limit}"))),
    }
}

/// A feed consumer: applies pages to its copy of the public set.
#[derive(Default)]
struct Consumer {
    cursor: Option<String>,
    copy: BTreeMap<String, Value>,
    changes: Vec<(String, String)>,
    cursors: Vec<String>,
}

impl Consumer {
    /// Reads one page; returns whether the feed said it is caught up.
    fn read_page(&mut self, app: &TestApp, limit: i64) -> bool {
        let page = feed_page(app, self.cursor.as_deref(), limit);
        for item in page["items"].as_array().unwrap() {
            let claim_id = item["claim_id"].as_str().unwrap().to_string();
            let change = item["change"].as_str().unwrap().to_string();
            match change.as_str() {
                "published" | "corrected" | "updated" => {
                    assert_eq!(claim_id_of(&item["factcheck"]), claim_id);
                    self.copy.insert(claim_id.clone(), item["factcheck"].clone());
                }
                "withdrawn" => {
                    assert!(item["factcheck"].is_null(), "{item}");
                    self.copy.remove(&claim_id);
                }
                other => panic!("unknown change {other}"),
            }
            self.changes.push((change, claim_id));
            self.cursors.push(item["cursor"].as_str().unwrap().to_string());
        }
        self.cursor = Some(
            page["next_cursor"]
                .as_str()
                .expect("the feed always says where to resume")
                .to_string(),
        );
        page["caught_up"].as_bool().unwrap()
    }

    fn catch_up(&mut self, app: &TestApp, limit: i64) {
        for _ in 0..1000 {
            if self.read_page(app, limit) {
                return;
            }
        }
        panic!("the feed never caught up");
    }
}

fn public_set(app: &TestApp) -> BTreeMap<String, Value> {
    all_items(app, "/v1/factchecks?limit=7")
        .into_iter()
        .map(|f| (claim_id_of(&f).to_string(), f))
        .collect()
}

#[test]
fn nothing_unpublished_leaks_into_the_list_detail_claimreview_search_or_feed() {
    let app = spawn_app();
    let f = app.fixture();
    let control = publish(&app, &f, &f.claim_id, &f.evidence_id, "false", "Control verdict okapi", None);

    let (drafted, e) = claim_with_evidence(&app, &f, "Zebrafinch claim with a draft verdict.");
    draft(&app, &f, &drafted, &e, "false", "Zebrafinch draft headline");
    let (in_review, e) = claim_with_evidence(&app, &f, "Quokka claim with a verdict in review.");
    let v = draft(&app, &f, &in_review, &e, "true", "Quokka review headline");
    submit(&app, &f, &v);
    let (rejected, e) = claim_with_evidence(&app, &f, "Narwhal claim with a rejected verdict.");
    let v = draft(&app, &f, &rejected, &e, "half_true", "Narwhal rejected headline");
    submit(&app, &f, &v);
    app.created(&f.reviewer, &format!("/v1/verdicts/{v}/reject"), &json!({"reason": "needs work"}));
    let (withdrawn, e) = claim_with_evidence(&app, &f, "Axolotl claim with a withdrawn verdict.");
    let v = publish(&app, &f, &withdrawn, &e, "mostly_false", "Axolotl withdrawn headline", None);
    withdraw(&app, &f, &v, "legal review");
    // A draft on the published claim does not show either.
    draft(&app, &f, &f.claim_id, &f.evidence_id, "true", "Walrus draft correction");

    let hidden = [&drafted, &in_review, &rejected, &withdrawn];
    let words = ["zebrafinch", "quokka", "narwhal", "axolotl", "walrus"];

    assert_eq!(ids(&all_items(&app, "/v1/factchecks")), vec![f.claim_id.clone()]);
    for claim in hidden {
        problem(app.get(&format!("/v1/factchecks/{claim}")), 404);
        problem(app.get(&format!("/v1/factchecks/{claim}/claimreview")), 404);
        let r = app
            .client
            .get(app.url(&format!("/v1/factchecks/{claim}")))
            .header("accept", "application/ld+json")
            .send()
            .unwrap();
        problem(r, 404);
    }
    for word in words {
        assert!(search(&app, &format!("q={word}")).is_empty(), "{word} found");
    }
    assert_eq!(search(&app, "q=okapi"), vec![f.claim_id.clone()]);

    let detail = body(app.get(&format!("/v1/factchecks/{}", f.claim_id)));
    assert_eq!(detail["verdict"]["id"], control.as_str());
    assert!(detail["corrections"].as_array().unwrap().is_empty());

    let mut consumer = Consumer::default();
    consumer.catch_up(&app, 100);
    let everything = serde_json::to_string(&consumer.changes).unwrap() + &serde_json::to_string(&consumer.copy).unwrap();
    let feed_text = serde_json::to_string(&feed_page(&app, None, 100)).unwrap().to_lowercase();
    for word in words {
        assert!(!feed_text.contains(word), "{word} is in the feed");
    }
    // The withdrawn verdict was public for a while: the feed says it went,
    // and no longer shows what it said.
    assert_eq!(
        consumer.changes,
        vec![
            ("published".to_string(), f.claim_id.clone()),
            ("withdrawn".to_string(), withdrawn.clone()),
        ],
        "{everything}"
    );
    assert_eq!(consumer.copy.keys().collect::<Vec<_>>(), vec![&f.claim_id]);
}

#[test]
fn replaying_the_feed_from_the_start_ends_with_exactly_the_public_set() {
    let app = spawn_app();
    seed_into(&app);
    let f = app.fixture();
    let seeded = public_set(&app);
    assert_eq!(seeded.len(), seeded_published());
    let mut seeded_ids = seeded.keys().cloned();
    let (to_withdraw, to_retire, to_edit, to_restore) = (
        seeded_ids.next().unwrap(),
        seeded_ids.next().unwrap(),
        seeded_ids.next().unwrap(),
        seeded_ids.next().unwrap(),
    );

    // The consumer reads in small pages while the newsroom keeps working.
    let mut consumer = Consumer::default();
    consumer.read_page(&app, 3);
    let first = publish(&app, &f, &f.claim_id, &f.evidence_id, "false", "First verdict", None);
    consumer.read_page(&app, 3);
    let second = publish(
        &app,
        &f,
        &f.claim_id,
        &f.evidence_id,
        "misleading",
        "Second verdict",
        Some("new data from the UN"),
    );
    let withdrawn_verdict = seeded[&to_withdraw]["verdict"]["id"].as_str().unwrap().to_string();
    withdraw(&app, &f, &withdrawn_verdict, "the source was retracted");
    consumer.read_page(&app, 3);
    patch_claim(&app, &f, &to_retire, json!({"status": "retired", "reason": "duplicate"}));
    patch_claim(&app, &f, &to_edit, json!({"tags": ["edited"], "reason": "retagged"}));
    patch_claim(&app, &f, &to_restore, json!({"status": "retired", "reason": "by mistake"}));
    consumer.read_page(&app, 3);
    patch_claim(&app, &f, &to_restore, json!({"status": "active", "reason": "restored"}));
    app.created(
        &f.editor,
        &format!("/v1/claims/{}/appearances", f.claim_id),
        &json!({"article_id": f.article_id, "exact": "Putin said"}),
    );
    let evidence = format!("/v1/evidence/{}", f.evidence_id);
    let etag = header(&app.get_as(&f.editor, &evidence), "etag").unwrap();
    let r = app.patch_as(
        &f.editor,
        &evidence,
        Some(&etag),
        &json!({"summary": "HRW and the UN document Russian use."}),
    );
    assert_eq!(r.status(), 200);
    consumer.catch_up(&app, 3);

    let public = public_set(&app);
    assert_eq!(public.len(), seeded_published() - 2 + 1);
    assert!(!public.contains_key(&to_withdraw) && !public.contains_key(&to_retire));
    assert_eq!(consumer.copy, public, "the replayed copy differs from the list");

    let kinds: HashSet<&str> = consumer.changes.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(kinds, HashSet::from(["published", "corrected", "updated", "withdrawn"]));
    let ours: Vec<&str> = consumer
        .changes
        .iter()
        .filter(|(_, c)| *c == f.claim_id)
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(ours, vec!["published", "corrected", "updated", "updated"]);
    assert!(consumer.changes.contains(&("withdrawn".into(), to_retire.clone())));
    assert!(consumer.changes.contains(&("updated".into(), to_edit.clone())));
    let restored: Vec<&str> = consumer
        .changes
        .iter()
        .filter(|(_, c)| *c == to_restore)
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(restored, vec!["published", "withdrawn", "published"]);
    // A consumer starting now gets the same set in one go. The withdrawn
    // verdict's publication is no longer served to it; its withdrawal is.
    let mut latecomer = Consumer::default();
    latecomer.catch_up(&app, 100);
    assert_eq!(latecomer.copy, public);
    let about_withdrawn: Vec<&str> = latecomer
        .changes
        .iter()
        .filter(|(_, c)| *c == to_withdraw)
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(about_withdrawn, vec!["withdrawn"]);
    // Each change once, in log order.
    let positions: Vec<i64> = consumer.cursors.iter().map(|c| decode_feed_cursor(c)).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    let mine = &consumer.copy[&f.claim_id];
    assert_eq!(mine["verdict"]["id"], second.as_str());
    assert_eq!(mine["verdict"]["evidence"][0]["summary"], "HRW and the UN document Russian use.");
    assert_eq!(mine["corrections"][0]["verdict_id"], first.as_str());

    // Caught up: the next read is empty and stays where it was.
    let next = feed_page(&app, consumer.cursor.as_deref(), 3);
    assert!(next["items"].as_array().unwrap().is_empty());
    assert_eq!(next["caught_up"], true);
    assert_eq!(next["next_cursor"].as_str(), consumer.cursor.as_deref());
    problem(app.get("/v1/factchecks/feed?after=not-a-cursor"), 422);
}

#[test]
fn feed_pages_neither_skip_nor_repeat_while_writers_append() {
    let app = spawn_app();
    let f = app.fixture();
    let mut consumer = Consumer::default();
    let writers_done = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for writer in 0..2 {
            let (app, f, done) = (&app, &f, &writers_done);
            scope.spawn(move || {
                for i in 0..4 {
                    let (claim, e) = claim_with_evidence(app, f, &format!("Claim {i} of writer {writer}."));
                    let first = publish(app, f, &claim, &e, "false", "First", None);
                    if i % 2 == 0 {
                        publish(app, f, &claim, &e, "true", "Second", Some("corrected"));
                    } else {
                        withdraw(app, f, &first, "retracted");
                    }
                }
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            });
        }
        // Read in small pages for as long as the writers write.
        while writers_done.load(std::sync::atomic::Ordering::SeqCst) < 2 {
            consumer.read_page(&app, 2);
        }
    });
    consumer.catch_up(&app, 2);

    let public = public_set(&app);
    assert_eq!(public.len(), 4);
    assert_eq!(consumer.copy, public);
    let positions: Vec<i64> = consumer.cursors.iter().map(|c| decode_feed_cursor(c)).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "repeated or out of order: {positions:?}");
    // Nothing was skipped: a reading in one go finds the same changes, less
    // the publications of verdicts withdrawn since.
    let mut latecomer = Consumer::default();
    latecomer.catch_up(&app, 100);
    let served_later: HashSet<&String> = latecomer.cursors.iter().collect();
    assert!(served_later.iter().all(|c| consumer.cursors.contains(c)));
    assert_eq!(latecomer.copy, public);
}

fn decode_feed_cursor(cursor: &str) -> i64 {
    use base64::Engine;
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).unwrap();
    String::from_utf8(text).unwrap().trim_start_matches("f.").parse().unwrap()
}

#[test]
fn a_fact_check_shows_its_appearances_evidence_corrections_and_log_position() {
    let app = spawn_app();
    let f = app.fixture();
    app.created(
        &f.editor,
        &format!("/v1/claims/{}/appearances", f.claim_id),
        &json!({"article_id": f.article_id, "exact": "sufficient"}),
    );
    let first = publish(&app, &f, &f.claim_id, &f.evidence_id, "false", "First verdict", None);
    let second = publish(
        &app,
        &f,
        &f.claim_id,
        &f.evidence_id,
        "misleading",
        "Second verdict",
        Some("new data from the UN"),
    );
    let r = app.get(&format!("/v1/factchecks/{}", f.claim_id));
    assert_eq!(header(&r, "content-type").as_deref(), Some("application/json"));
    let fc = body(r);

    let appearance = &fc["claim"]["appearances"][0];
    assert_eq!(appearance["article"]["title"], "Putin on cluster munitions");
    assert_eq!(appearance["article"]["published_on"], "2023-07-17");
    assert_eq!(appearance["selector"]["type"], "TextQuoteSelector");
    assert_eq!(appearance["selector"]["exact"], "sufficient");
    assert_eq!(appearance["position"]["type"], "TextPositionSelector");
    assert!(fc["claim"].get("verdicts").is_none() && fc["claim"].get("evidence").is_none());

    assert_eq!(fc["verdict"]["id"], second.as_str());
    assert_eq!(fc["verdict"]["status"], "published");
    assert_eq!(fc["verdict"]["rating_label"], "Misleading");
    assert_eq!(fc["verdict"]["evidence"][0]["id"], f.evidence_id.as_str());
    assert_eq!(fc["verdict"]["evidence"][0]["selector"]["type"], "TextQuoteSelector");

    let corrections = fc["corrections"].as_array().unwrap();
    assert_eq!(corrections.len(), 1);
    assert_eq!(corrections[0]["verdict_id"], first.as_str());
    assert_eq!(corrections[0]["rating"], "false");
    assert_eq!(corrections[0]["rating_label"], "False");
    assert_eq!(corrections[0]["headline"], "First verdict");
    assert_eq!(corrections[0]["reason"], "new data from the UN");
    assert_eq!(corrections[0]["superseded_at"], fc["verdict"]["published_at"]);
    assert!(corrections[0]["published_at"].as_str().unwrap() < corrections[0]["superseded_at"].as_str().unwrap());

    // The log position is the newest revision shown, with its chain hash.
    use claimledger::db::schema::revisions;
    let (seq, chain): (i64, Vec<u8>) = revisions::table
        .order(revisions::seq.desc())
        .select((revisions::seq, revisions::chain_hash))
        .first(&mut app.conn())
        .unwrap();
    assert_eq!(fc["log"]["seq"], seq);
    assert_eq!(fc["log"]["chain_hash"], hex::encode(chain));

    // A text-only rating has no numbers in ClaimReview, but always its label.
    let review = body(app.get(&format!("/v1/factchecks/{}/claimreview", f.claim_id)));
    assert_eq!(review["reviewRating"], json!({"@type": "Rating", "alternateName": "Misleading"}));
    assert_eq!(review["itemReviewed"]["firstAppearance"]["headline"], "Putin on cluster munitions");
}

#[test]
fn the_claimreview_of_a_seeded_claim_is_locked() {
    let app = spawn_app();
    seed_into(&app);
    let statement = "Russia has not used cluster munitions in the war in Ukraine.";
    let fc = all_items(&app, "/v1/factchecks")
        .into_iter()
        .find(|f| f["claim"]["statement"] == statement)
        .expect("the seeded claim is published");
    let id = claim_id_of(&fc).to_string();

    let r = app.get(&format!("/v1/factchecks/{id}/claimreview"));
    assert_eq!(header(&r, "content-type").as_deref(), Some("application/ld+json"));
    let review = body(r);
    let published = fc["verdict"]["published_at"].as_str().unwrap();
    assert_eq!(review["datePublished"].as_str().unwrap(), &published[..10]);
    assert_eq!(review["url"], format!("{}/factchecks/{id}", app.config.public.base_url));

    // The same document for Accept: application/ld+json on the fact check.
    let r = app
        .client
        .get(app.url(&format!("/v1/factchecks/{id}")))
        .header("accept", "application/ld+json, application/json;q=0.5")
        .send()
        .unwrap();
    assert_eq!(header(&r, "content-type").as_deref(), Some("application/ld+json"));
    assert!(header(&r, "vary").unwrap().contains("Accept"));
    assert_eq!(body(r), review);

    insta::assert_json_snapshot!("seeded_claimreview", review, {
        ".url" => insta::dynamic_redaction(move |value, _| value.as_str().unwrap().replace(&id, "[claim_id]")),
        ".datePublished" => "[date the verdict was published]",
    });
}

#[test]
fn search_finds_seeded_claims_by_statement_words_and_by_claimant() {
    let app = spawn_app();
    seed_into(&app);
    let all = all_items(&app, "/v1/factchecks");
    let by_statement = |start: &str| {
        all.iter()
            .find(|f| f["claim"]["statement"].as_str().unwrap().starts_with(start))
            .map(|f| claim_id_of(f).to_string())
            .unwrap()
    };
    let convention = by_statement("The 2008 UN Convention on Cluster Munitions prohibits");
    let bomblets = by_statement("Cluster bomblets that fail to explode");
    // A word of the statement, stemmed: "stockpile" finds "stockpiling",
    // "bomblet" finds "bomblets".
    assert_eq!(search(&app, "q=stockpile"), vec![convention.clone()]);
    assert_eq!(search(&app, "q=bomblet"), vec![bomblets.clone()]);
    // The claimant's name, which is nowhere in the claim's text.
    assert_eq!(search(&app, "q=CNN"), vec![bomblets.clone()]);
    // Unpublished claims are not found ("Europe no longer has enough
    // artillery shells" has no published verdict).
    assert!(search(&app, "q=Europe").is_empty());
    // Words may come from claim and verdict at once, and web-search syntax works.
    assert!(search(&app, "q=Anadolu+stockpiling").contains(&convention));
    assert!(!search(&app, "q=Anadolu+-stockpiling").contains(&convention));
    assert!(search(&app, "q=%22production+stockpiling%22").contains(&convention));
    assert!(!search(&app, "q=%22stockpiling+production%22").contains(&convention));

    // Ranked: the claims by Stoltenberg come before those that only mention him.
    let stoltenberg = search(&app, "q=Stoltenberg");
    let his: HashSet<String> = search(&app, "claimant=jens+stoltenberg").into_iter().collect();
    assert_eq!(his.len(), 3);
    assert!(stoltenberg.len() > 3);
    assert_eq!(stoltenberg[..3].iter().cloned().collect::<HashSet<_>>(), his);
    // Paging a search returns the same order, each once.
    let paged = ids(&all_items(&app, "/v1/factchecks?q=Stoltenberg&limit=2"));
    assert_eq!(paged, stoltenberg);

    // Filters.
    let trues = all_items(&app, "/v1/factchecks?rating=true");
    assert!(!trues.is_empty() && trues.iter().all(|f| f["verdict"]["rating"] == "true"));
    assert_eq!(search(&app, "language=en").len(), all.len());
    assert!(search(&app, "language=fr").is_empty());
    assert_eq!(search(&app, "published_since=2000-01-01").len(), all.len());
    assert!(search(&app, "published_since=2999-01-01T00:00:00Z").is_empty());
    let article = all[0]["claim"]["appearances"][0]["article"]["id"].as_str().unwrap().to_string();
    let in_article = all_items(&app, &format!("/v1/factchecks?article_id={article}"));
    let expected: Vec<&Value> = all
        .iter()
        .filter(|f| {
            f["claim"]["appearances"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["article"]["id"] == article.as_str())
        })
        .collect();
    assert_eq!(in_article.len(), expected.len());
    assert!(in_article.len() < all.len());

    let p = problem(
        app.get("/v1/factchecks?rating=pants_on_fire&language=english&published_since=yesterday"),
        422,
    );
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["rating", "language", "published_since"]);
    problem(app.get("/v1/factchecks?limit=101"), 422);
}

#[test]
fn the_list_pages_each_item_once_while_verdicts_are_published() {
    let app = spawn_app();
    seed_into(&app);
    let f = app.fixture();
    let first = body(app.get("/v1/factchecks?limit=5"));
    let mut seen = ids(first["items"].as_array().unwrap());
    // Newest first.
    let times: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["verdict"]["published_at"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]));
    // Published meanwhile: it sorts before the cursor, so this reading skips it
    // and repeats nothing.
    publish(&app, &f, &f.claim_id, &f.evidence_id, "false", "Published meanwhile", None);
    let rest = all_items_after(&app, "/v1/factchecks?limit=5", first["next_cursor"].as_str().map(String::from));
    seen.extend(ids(&rest));
    assert_eq!(seen.len(), seeded_published());
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seeded_published());
    assert!(!seen.contains(&f.claim_id));
    // A new reading starts with it.
    assert_eq!(claim_id_of(&body(app.get("/v1/factchecks?limit=1"))["items"][0]), f.claim_id);

    for bad in ["zzz", "bi4xLjI", &f.claim_id] {
        let p = problem(app.get(&format!("/v1/factchecks?cursor={bad}")), 422);
        assert_eq!(p["errors"][0]["field"], "cursor");
    }
    // A search's cursor does not fit the plain list.
    let searched = body(app.get("/v1/factchecks?q=Russia&limit=1"));
    let p = problem(
        app.get(&format!("/v1/factchecks?cursor={}", searched["next_cursor"].as_str().unwrap())),
        422,
    );
    assert!(p["detail"].as_str().unwrap().contains("search"));
}

#[test]
fn etags_follow_the_log_position_and_if_none_match_gives_304() {
    let app = spawn_app_with(|c| c.public.cache_max_age = 300);
    let f = app.fixture();
    publish(&app, &f, &f.claim_id, &f.evidence_id, "false", "A verdict", None);
    let path = format!("/v1/factchecks/{}", f.claim_id);
    let conditional = |path: &str, etag: &str| app.client.get(app.url(path)).header("if-none-match", etag).send().unwrap();

    let r = app.get(&path);
    let etag = header(&r, "etag").unwrap();
    assert_eq!(header(&r, "cache-control").as_deref(), Some("public, max-age=300"));
    let fc = body(r);
    assert_eq!(etag, format!("\"fc-{}\"", fc["log"]["seq"]));

    let r = conditional(&path, &etag);
    assert_eq!(r.status(), 304);
    assert_eq!(header(&r, "etag").as_deref(), Some(etag.as_str()));
    assert_eq!(header(&r, "cache-control").as_deref(), Some("public, max-age=300"));
    assert!(r.bytes().unwrap().is_empty());
    assert_eq!(conditional(&path, &format!("\"x\", W/{etag}")).status(), 304);
    assert_eq!(conditional(&path, "\"fc-1\"").status(), 200);

    // Unpublished work on the claim changes nothing public, so not the ETag either.
    draft(&app, &f, &f.claim_id, &f.evidence_id, "true", "A draft");
    assert_eq!(conditional(&path, &etag).status(), 304);
    // A new appearance does.
    app.created(
        &f.editor,
        &format!("/v1/claims/{}/appearances", f.claim_id),
        &json!({"article_id": f.article_id, "exact": "Putin said"}),
    );
    let r = conditional(&path, &etag);
    assert_eq!(r.status(), 200);
    let newer = header(&r, "etag").unwrap();
    assert_ne!(newer, etag);
    assert_eq!(newer, format!("\"fc-{}\"", app.count("revisions")));

    // ClaimReview, the list and the feed have validators of their own.
    for path in [
        format!("/v1/factchecks/{}/claimreview", f.claim_id),
        "/v1/factchecks".to_string(),
        "/v1/factchecks?q=Russia".to_string(),
        "/v1/factchecks/feed".to_string(),
    ] {
        let r = app.get(&path);
        assert_eq!(r.status(), 200, "{path}");
        let etag = header(&r, "etag").unwrap_or_else(|| panic!("{path} has no ETag"));
        assert_eq!(header(&r, "cache-control").as_deref(), Some("public, max-age=300"));
        assert_eq!(conditional(&path, &etag).status(), 304, "{path}");
    }
    let list_etag = header(&app.get("/v1/factchecks"), "etag").unwrap();
    let (claim, e) = claim_with_evidence(&app, &f, "Another claim.");
    publish(&app, &f, &claim, &e, "true", "Another verdict", None);
    assert_eq!(conditional("/v1/factchecks", &list_etag).status(), 200);
}

#[test]
fn any_origin_may_read_the_public_endpoints_and_only_those() {
    let app = spawn_app();
    let f = app.fixture();
    publish(&app, &f, &f.claim_id, &f.evidence_id, "false", "A verdict", None);
    let origin = "https://news.example";
    let get = |path: &str| app.client.get(app.url(path)).header("origin", origin).send().unwrap();

    for path in [
        "/v1/factchecks".to_string(),
        "/v1/factchecks/feed".to_string(),
        format!("/v1/factchecks/{}", f.claim_id),
        format!("/v1/factchecks/{}/claimreview", f.claim_id),
    ] {
        let r = get(&path);
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(header(&r, "access-control-allow-origin").as_deref(), Some("*"), "{path}");
        assert!(header(&r, "access-control-expose-headers").unwrap().to_lowercase().contains("etag"));
    }
    // A public 404 still reaches the page's script as a 404.
    let r = get(&format!("/v1/factchecks/{}", uuid::Uuid::now_v7()));
    assert_eq!(header(&r, "access-control-allow-origin").as_deref(), Some("*"));
    problem(r, 404);

    let preflight = |path: &str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url(path))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "if-none-match")
            .send()
            .unwrap()
    };
    let r = preflight(&format!("/v1/factchecks/{}", f.claim_id));
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(header(&r, "access-control-allow-origin").as_deref(), Some("*"));
    assert!(header(&r, "access-control-allow-methods").unwrap().contains("GET"));
    assert!(
        header(&r, "access-control-allow-headers")
            .unwrap()
            .to_lowercase()
            .contains("if-none-match")
    );

    // Staff endpoints: no CORS, whether read with a token or preflighted.
    let r = app
        .client
        .get(app.url("/v1/claims"))
        .bearer_auth(&f.editor)
        .header("origin", origin)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(header(&r, "access-control-allow-origin").is_none());
    for path in ["/v1/claims", "/v1/articles", "/v1/auth/token"] {
        let r = preflight(path);
        assert!(header(&r, "access-control-allow-origin").is_none(), "{path}");
    }
}

#[test]
fn the_search_and_detail_queries_are_answered_from_indexes() {
    let app = spawn_app();
    seed_into(&app);
    // A fact check with every part: appearances, evidence, a correction.
    let f = app.fixture();
    app.created(
        &f.editor,
        &format!("/v1/claims/{}/appearances", f.claim_id),
        &json!({"article_id": f.article_id, "exact": "Putin said"}),
    );
    publish(&app, &f, &f.claim_id, &f.evidence_id, "false", "First", None);
    publish(&app, &f, &f.claim_id, &f.evidence_id, "misleading", "Second", Some("corrected"));
    let mut conn = app.conn();
    // Enough rows that a sequential scan would cost more than an index,
    // then fresh statistics: the planner's choice is then a real one.
    use diesel::connection::SimpleConnection;
    conn.batch_execute(
        "INSERT INTO public_factchecks (claim_id, seq, verdict_id, published_at, rating, claimant, language, article_ids, search, body, aggregate)
             SELECT gen_random_uuid(), g, gen_random_uuid(), now() - g * interval '1 minute', 'false', 'Claimant ' || (g % 500), 'en',
                    ARRAY[gen_random_uuid()], claimledger_factcheck_document('Generated statement number ' || g || ' about tanks',
                    'Claimant ' || (g % 500), 'Generated headline ' || g, 'Generated summary'), '{}', '{}'
             FROM generate_series(1, 20000) g;
         INSERT INTO feed_items (seq, claim_id, change, verdict_id, factcheck)
             SELECT 1000000 + g, gen_random_uuid(), 'published', gen_random_uuid(), '{}' FROM generate_series(1, 20000) g;",
    )
    .unwrap();
    // VACUUM as autovacuum would: it also moves the GIN index's pending
    // entries into the index, which the planner otherwise prices as a scan.
    conn.batch_execute("VACUUM ANALYZE").unwrap();

    let claim_id: uuid::Uuid = f.claim_id.parse().unwrap();
    let search = FactCheckFilter::parse(Some("cluster munitions"), None, None, None, None, None).unwrap();
    let plans = claimledger::store::factchecks::plans::query_plans(&mut conn, claim_id, &search).unwrap();
    assert_eq!(plans.len(), 5);
    for plan in &plans {
        for table in ["public_factchecks", "feed_items"] {
            assert!(
                !plan.plan.contains(&format!("Seq Scan on {table}")),
                "{}: sequential scan on {table}:\n{}",
                plan.name,
                plan.plan
            );
        }
    }
    let plan = |name: &str| plans.iter().find(|p| p.name == name).unwrap().plan.clone();
    assert!(
        plan("one fact check").contains("public_factchecks_pkey"),
        "{}",
        plan("one fact check")
    );
    assert!(plan("search").contains("public_factchecks_search_idx"), "{}", plan("search"));
    assert!(plan("list").contains("public_factchecks_published_idx"), "{}", plan("list"));
    assert!(
        plan("list after a cursor").contains("public_factchecks_published_idx"),
        "{}",
        plan("list after a cursor")
    );
    assert!(plan("feed page").contains("feed_items_pkey"), "{}", plan("feed page"));
}
