//! Claim matching, evaluated on the labelled paraphrases in
//! `tests/matching/paraphrases.json` against the seeded corpus.
//!
//! Each paraphrase is a sentence written from the articles in other words,
//! labelled with the key of the claim it repeats, or `null` when it repeats
//! none. The measures (the same as `bench/matching.py`):
//!
//! - **precision@1**: of the labelled paraphrases (null ones aside), the
//!   share whose first result is their claim;
//! - **recall@5**: of the same, the share whose claim is among the first five;
//! - **null false alarms**: of the null paraphrases, the share whose first
//!   result scores at least 0.5, the score at which `POST /v1/claims` offers a
//!   recorded claim as a likely duplicate. Null entries never count in the
//!   two measures above (they have no right answer to rank).
//!
//! `GET /v1/claims/similar` (staff) is asked for every paraphrase;
//! `GET /v1/factchecks/match` (public) for every paraphrase, and measured on
//! those labelled with a published claim (the others must not be answered
//! with an unpublished claim). The numbers are printed (`--nocapture`), not
//! held to a threshold: a change of wording may move them. What is asserted
//! is that they are computed soundly.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use claimledger::model::Role;
use claimledger::seed;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::Value;

use crate::harness::{TestApp, spawn_app};

/// The score at which `POST /v1/claims` offers a likely duplicate.
const OFFERED_AT: f64 = 0.5;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Paraphrase {
    text: String,
    claim_key: Option<String>,
    #[allow(dead_code)]
    note: String,
}

fn paraphrases() -> Vec<Paraphrase> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/matching/paraphrases.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The seeded corpus: the app, and each claim key's id (the seed records
/// the key in the reason of the claim's first revision: "seed: claim 'KEY'").
fn seeded() -> (TestApp, HashMap<String, String>) {
    let app = spawn_app();
    let fixture = seed::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("seed_articles")).unwrap();
    seed::seed(&mut app.conn(), &fixture).unwrap();
    use claimledger::db::schema::revisions;
    let rows: Vec<(uuid::Uuid, Option<String>)> = revisions::table
        .filter(revisions::entity_kind.eq("claim"))
        .filter(revisions::action.eq("create"))
        .select((revisions::entity_id, revisions::reason))
        .load(&mut app.conn())
        .unwrap();
    let ids: HashMap<String, String> = rows
        .into_iter()
        .filter_map(|(id, reason)| {
            let key = reason?.strip_prefix("seed: claim '")?.strip_suffix('\'')?.to_string();
            Some((key, id.to_string()))
        })
        .collect();
    assert_eq!(ids.len(), fixture.claims.len(), "every seeded claim's key is found");
    (app, ids)
}

/// (claim id, score) of the first `limit` results for `text` at `path`;
/// `item` is where the claim sits in a result (`claim` or `factcheck.claim`).
fn ranked(app: &TestApp, token: Option<&str>, path: &str, text: &str, item: &[&str]) -> Vec<(String, f64)> {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("text", text)
        .append_pair("limit", "5")
        .finish();
    let mut request = app.client.get(app.url(&format!("{path}?{query}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let r = request.send().unwrap();
    assert_eq!(r.status(), 200, "{path} {text}");
    let body: Value = r.json().unwrap();
    let items = body["items"].as_array().unwrap();
    assert!(items.len() <= 5);
    let ranked: Vec<(String, f64)> = items
        .iter()
        .map(|i| {
            let claim = item.iter().fold(i, |v, k| &v[*k]);
            (claim["id"].as_str().unwrap().to_string(), i["score"].as_f64().unwrap())
        })
        .collect();
    // Best first, each score in [0, 1].
    assert!(ranked.windows(2).all(|w| w[0].1 >= w[1].1), "{body}");
    assert!(ranked.iter().all(|(_, s)| (0.0..=1.0 + 1e-9).contains(s)), "{body}");
    ranked
}

/// Counts toward precision@1, recall@5 and null false alarms.
#[derive(Default, Debug)]
struct Tally {
    labelled: usize,
    first: usize,
    in_five: usize,
    nulls: usize,
    null_alarms: usize,
    misses: Vec<String>,
}

impl Tally {
    fn add(&mut self, expected: Option<&str>, ranked: &[(String, f64)], text: &str) {
        match expected {
            Some(id) => {
                self.labelled += 1;
                let at = ranked.iter().position(|(c, _)| c == id);
                if at == Some(0) {
                    self.first += 1;
                } else {
                    self.misses
                        .push(format!("{text} → rank {}", at.map_or("> 5".into(), |i| (i + 1).to_string())));
                }
                if at.is_some() {
                    self.in_five += 1;
                }
            }
            None => {
                self.nulls += 1;
                if ranked.first().is_some_and(|(_, s)| *s >= OFFERED_AT) {
                    self.null_alarms += 1;
                }
            }
        }
    }

    fn precision_at_1(&self) -> f64 {
        self.first as f64 / self.labelled as f64
    }

    fn recall_at_5(&self) -> f64 {
        self.in_five as f64 / self.labelled as f64
    }

    fn report(&self, what: &str) {
        println!(
            "{what}: precision@1 {:.3} ({}/{}), recall@5 {:.3} ({}/{}), null false alarms {}/{}",
            self.precision_at_1(),
            self.first,
            self.labelled,
            self.recall_at_5(),
            self.in_five,
            self.labelled,
            self.null_alarms,
            self.nulls
        );
        for m in &self.misses {
            println!("  miss: {m}");
        }
    }

    fn sane(&self) {
        assert!(self.labelled > 0);
        assert!(self.first <= self.in_five && self.in_five <= self.labelled, "{self:?}");
        assert!(self.recall_at_5() >= self.precision_at_1());
        assert!(self.null_alarms <= self.nulls);
        assert_eq!(self.misses.len(), self.labelled - self.first);
    }
}

#[test]
fn the_paraphrase_set_is_labelled_against_the_corpus() {
    let fixture = seed::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("seed_articles")).unwrap();
    let published: HashSet<&str> = fixture
        .claims
        .iter()
        .filter(|c| c.verdict.is_some())
        .map(|c| c.key.as_str())
        .collect();
    let keys: HashSet<&str> = fixture.claims.iter().map(|c| c.key.as_str()).collect();
    let set = paraphrases();
    assert!(set.len() >= 40, "{} paraphrases", set.len());
    let mut texts = HashSet::new();
    for p in &set {
        assert!(texts.insert(p.text.as_str()), "twice: {}", p.text);
        if let Some(k) = &p.claim_key {
            assert!(keys.contains(k.as_str()), "unknown claim key {k}");
            // Other words: no paraphrase is its claim's statement.
            let statement = &fixture.claims.iter().find(|c| c.key == *k).unwrap().claim.statement;
            assert_ne!(statement.as_str(), p.text, "{k}");
        }
    }
    let labelled: Vec<&str> = set.iter().filter_map(|p| p.claim_key.as_deref()).collect();
    assert!(labelled.iter().any(|k| published.contains(k)), "covers published claims");
    assert!(labelled.iter().any(|k| !published.contains(k)), "covers unrated claims");
    assert!(set.iter().any(|p| p.claim_key.is_none()), "has sentences that match no claim");
}

#[test]
fn matching_is_measured_on_the_paraphrase_set() {
    let (app, ids) = seeded();
    let token = app.token("matcher", &[Role::Editor]);
    let published: HashSet<String> = {
        use claimledger::db::schema::public_factchecks;
        public_factchecks::table
            .select(public_factchecks::claim_id)
            .load::<uuid::Uuid>(&mut app.conn())
            .unwrap()
            .into_iter()
            .map(|id| id.to_string())
            .collect()
    };
    assert!(!published.is_empty() && published.len() < ids.len());

    // A claim's own statement is its best match, with the top score.
    let fixture = seed::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("seed_articles")).unwrap();
    for c in &fixture.claims {
        let ranked = ranked(&app, Some(&token), "/v1/claims/similar", &c.claim.statement, &["claim"]);
        assert_eq!(ranked[0].0, ids[&c.key], "{}: {ranked:?}", c.key);
        assert!(ranked[0].1 > 0.99, "{}: {ranked:?}", c.key);
    }

    let mut similar = Tally::default();
    let mut matched = Tally::default();
    for p in paraphrases() {
        let expected = p.claim_key.as_ref().map(|k| ids[k].clone());
        let staff = ranked(&app, Some(&token), "/v1/claims/similar", &p.text, &["claim"]);
        similar.add(expected.as_deref(), &staff, &p.text);

        let public = ranked(&app, None, "/v1/factchecks/match", &p.text, &["factcheck", "claim"]);
        // The public answer holds published fact checks only.
        assert!(public.iter().all(|(id, _)| published.contains(id)), "{}: {public:?}", p.text);
        match expected {
            Some(id) if published.contains(&id) => matched.add(Some(&id), &public, &p.text),
            // A paraphrase of an unrated claim has no right public answer:
            // like a null one, it should not be offered a fact check.
            _ => matched.add(None, &public, &p.text),
        }
    }
    similar.report("GET /v1/claims/similar");
    matched.report("GET /v1/factchecks/match");
    similar.sane();
    matched.sane();
    assert_eq!(similar.labelled + similar.nulls, paraphrases().len());
    assert_eq!(matched.labelled + matched.nulls, paraphrases().len());
}
