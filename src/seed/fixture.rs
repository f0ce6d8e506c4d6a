//! Reading the fixture: the files (a directory or the copy built into the
//! binary), their shapes, and every check made before anything is written.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use uuid::Uuid;

use crate::error::AppError;
use crate::model::appearance::{AppearanceKind, NewAppearance, original_language};
use crate::model::article::{ArticleInput, NewArticle};
use crate::model::claim::{ClaimInput, DatePrecision, NewClaim};
use crate::model::claimant::{ClaimantInput, ClaimantKind, NewClaimant};
use crate::model::digest::sha256;
use crate::model::evidence::{EvidenceInput, NewEvidence};
use crate::model::quote::{QuoteQuery, anchor};
use crate::model::verdict::{NewVerdict, VerdictInput};

/// What is wrong with the fixture: the file, the entry, and why.
#[derive(Debug)]
pub struct FixtureError {
    pub file: String,
    pub entry: String,
    pub reason: String,
}

impl fmt::Display for FixtureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.entry, self.reason)
    }
}

impl std::error::Error for FixtureError {}

fn fixture_error(file: &str, entry: impl Into<String>, reason: impl Into<String>) -> FixtureError {
    FixtureError {
        file: file.into(),
        entry: entry.into(),
        reason: reason.into(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArticlesFile {
    articles: Vec<ArticleMeta>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArticleMeta {
    file: String,
    slug: String,
    title: String,
    #[allow(dead_code)]
    title_source: Option<String>,
    publisher: Option<String>,
    url: Option<String>,
    published_on: Option<String>,
    language: String,
    #[allow(dead_code)]
    notes: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimsFile {
    claimants: Vec<ClaimantEntry>,
    claims: Vec<ClaimEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimantEntry {
    key: String,
    name: String,
    kind: ClaimantKind,
    role: Option<String>,
    #[serde(default)]
    same_as: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimEntry {
    key: String,
    statement: String,
    /// A claimant's key.
    claimant: String,
    claimed_on: Option<String>,
    claimed_on_precision: DatePrecision,
    claimed_on_note: Option<String>,
    language: String,
    #[serde(default)]
    tags: Vec<String>,
    appearances: Vec<QuoteEntry>,
    #[serde(default)]
    evidence: Vec<EvidenceEntry>,
    verdict: Option<VerdictEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuoteEntry {
    article: String,
    exact: String,
    prefix: Option<String>,
    suffix: Option<String>,
    kind: AppearanceKind,
    translated: bool,
    original_language: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EvidenceEntry {
    key: String,
    stance: String,
    summary: String,
    article: String,
    exact: String,
    prefix: Option<String>,
    suffix: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerdictEntry {
    rating: String,
    headline: String,
    summary: String,
    evidence: Vec<String>,
}

/// A checked article: parsed metadata and its body.
#[derive(Debug)]
pub struct SeedArticle {
    pub file: String,
    pub article: NewArticle,
}

#[derive(Debug)]
pub struct SeedClaim {
    pub key: String,
    /// The claimant's key.
    pub claimant: String,
    pub claim: NewClaim,
    /// (article file, appearance; its article id is set when written)
    pub appearances: Vec<(String, NewAppearance)>,
    /// (evidence key, article file, evidence)
    pub evidence: Vec<(String, String, NewEvidence)>,
    pub verdict: Option<(NewVerdict, Vec<String>)>,
}

/// The whole fixture, checked: every field parses, every quote is found
/// exactly once, every reference resolves.
#[derive(Debug)]
pub struct Fixture {
    pub articles: Vec<SeedArticle>,
    /// (key, record)
    pub claimants: Vec<(String, NewClaimant)>,
    pub claims: Vec<SeedClaim>,
}

/// Where the fixture's files come from: a directory (`--seed-dir`), or the
/// copy of `seed_articles/` built into the binary, so that `serve` seeds an
/// empty database from any working directory.
#[derive(Debug, Clone)]
pub enum Source {
    Dir(PathBuf),
    Embedded,
}

/// `seed_articles/` as it was when the binary was built (every file the
/// fixture reads: the metadata, the claims, the checksums and the texts).
const EMBEDDED: &[(&str, &[u8])] = &[
    ("articles.json", include_bytes!("../../seed_articles/articles.json")),
    ("claims.json", include_bytes!("../../seed_articles/claims.json")),
    ("SHA256SUMS", include_bytes!("../../seed_articles/SHA256SUMS")),
    (
        "000_9291621b14b9dc0c.txt",
        include_bytes!("../../seed_articles/000_9291621b14b9dc0c.txt"),
    ),
    (
        "001_b7a72d21dfcd11d1.txt",
        include_bytes!("../../seed_articles/001_b7a72d21dfcd11d1.txt"),
    ),
    (
        "002_081a4e0e0a4e439c.txt",
        include_bytes!("../../seed_articles/002_081a4e0e0a4e439c.txt"),
    ),
    (
        "003_80d461b370824d72.txt",
        include_bytes!("../../seed_articles/003_80d461b370824d72.txt"),
    ),
    (
        "004_1aa45f20a4da3534.txt",
        include_bytes!("../../seed_articles/004_1aa45f20a4da3534.txt"),
    ),
];

impl Source {
    fn bytes(&self, file: &str) -> Result<Vec<u8>, String> {
        match self {
            Source::Dir(dir) => std::fs::read(dir.join(file)).map_err(|e| format!("cannot read {}: {e}", dir.join(file).display())),
            Source::Embedded => EMBEDDED
                .iter()
                .find(|(name, _)| *name == file)
                .map(|(_, bytes)| bytes.to_vec())
                .ok_or_else(|| format!("{file} is not among the fixture files built into the binary")),
        }
    }

    /// Whether there is a fixture here at all.
    pub fn exists(&self) -> bool {
        self.bytes("claims.json").is_ok()
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Dir(dir) => write!(f, "{}", dir.display()),
            Source::Embedded => f.write_str("the fixture built into the binary"),
        }
    }
}

fn read(source: &Source, file: &str) -> Result<String, FixtureError> {
    let bytes = source.bytes(file).map_err(|e| fixture_error(file, "file", e))?;
    String::from_utf8(bytes).map_err(|e| fixture_error(file, "file", format!("not UTF-8: {e}")))
}

fn invalid(file: &str, entry: &str, e: AppError) -> FixtureError {
    let reason = match e {
        AppError::Invalid { errors, .. } => errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    };
    fixture_error(file, entry, reason)
}

/// Reads and checks the fixture in `dir` without touching the database.
pub fn load(dir: &Path) -> Result<Fixture, FixtureError> {
    load_from(&Source::Dir(dir.to_path_buf()))
}

/// Reads and checks the fixture from `dir` without touching the database.
pub fn load_from(dir: &Source) -> Result<Fixture, FixtureError> {
    // The texts must be the ones the checksums name.
    if let Ok(sums) = read(dir, "SHA256SUMS") {
        for line in sums.lines().filter(|l| !l.trim().is_empty()) {
            let (hash, name) = line
                .split_once(char::is_whitespace)
                .ok_or_else(|| fixture_error("SHA256SUMS", line, "expected '<sha256>  <file>'"))?;
            let name = name.trim().trim_start_matches('*');
            let bytes = dir.bytes(name).map_err(|e| fixture_error("SHA256SUMS", name, e))?;
            if hex::encode(sha256(&bytes)) != hash {
                return Err(fixture_error("SHA256SUMS", name, "checksum does not match the file"));
            }
        }
    }

    let meta: ArticlesFile =
        serde_json::from_str(&read(dir, "articles.json")?).map_err(|e| fixture_error("articles.json", "file", e.to_string()))?;
    let mut articles = vec![];
    let mut bodies: HashMap<String, String> = HashMap::new();
    for m in meta.articles {
        let body = read(dir, &m.file)?;
        let input = ArticleInput {
            slug: Some(m.slug.clone()),
            title: m.title,
            publisher: m.publisher,
            url: m.url,
            published_on: m.published_on,
            language: m.language,
            body: body.clone(),
            reason: None,
        };
        let (article, _) = NewArticle::parse(&input).map_err(|e| invalid("articles.json", &m.file, e))?;
        if bodies.insert(m.file.clone(), body).is_some() {
            return Err(fixture_error("articles.json", &m.file, "listed twice"));
        }
        articles.push(SeedArticle { file: m.file, article });
    }

    let file = "claims.json";
    let parsed: ClaimsFile = serde_json::from_str(&read(dir, file)?).map_err(|e| fixture_error(file, "file", e.to_string()))?;
    let mut claimants = vec![];
    for c in parsed.claimants {
        let entry = format!("claimant '{}'", c.key);
        if claimants.iter().any(|(k, _)| *k == c.key) {
            return Err(fixture_error(file, &entry, "duplicate key"));
        }
        let input = ClaimantInput {
            name: c.name,
            kind: c.kind,
            role: c.role,
            same_as: Some(c.same_as),
            reason: None,
        };
        let (record, _) = NewClaimant::parse(&input).map_err(|e| invalid(file, &entry, e))?;
        claimants.push((c.key, record));
    }
    let mut used: HashSet<String> = HashSet::new();
    let mut claim_keys = HashSet::new();
    let mut evidence_keys = HashSet::new();
    let mut claims = vec![];
    for c in parsed.claims {
        let entry = format!("claim '{}'", c.key);
        if !claim_keys.insert(c.key.clone()) {
            return Err(fixture_error(file, &entry, "duplicate key"));
        }
        let (_, claimant) = claimants
            .iter()
            .find(|(k, _)| *k == c.claimant)
            .ok_or_else(|| fixture_error(file, &entry, format!("unknown claimant '{}'", c.claimant)))?;
        used.insert(c.claimant.clone());
        let input = ClaimInput {
            statement: c.statement,
            claimant: Some(claimant.name.clone()),
            claimant_id: None,
            claimant_kind: Some(claimant.kind),
            claimed_on: c.claimed_on,
            claimed_on_precision: Some(c.claimed_on_precision),
            claimed_on_note: c.claimed_on_note,
            language: c.language,
            tags: Some(c.tags),
            reason: None,
        };
        let (claim, _) = NewClaim::parse(&input).map_err(|e| invalid(file, &entry, e))?;
        if c.appearances.is_empty() {
            return Err(fixture_error(file, &entry, "a claim needs at least one appearance"));
        }
        let mut appearances = vec![];
        for (i, a) in c.appearances.into_iter().enumerate() {
            let entry = format!("{entry} appearance {} ({})", i + 1, a.article);
            let body = bodies
                .get(&a.article)
                .ok_or_else(|| fixture_error(file, &entry, format!("unknown article '{}'", a.article)))?;
            let quote = QuoteQuery {
                exact: a.exact,
                prefix: a.prefix,
                suffix: a.suffix,
                start: None,
                end: None,
            };
            anchor(body, &quote).map_err(|e| fixture_error(file, &entry, e.message))?;
            let original_language = original_language(a.translated, a.original_language.as_deref())
                .map_err(|e| fixture_error(file, &entry, format!("{}: {}", e.field, e.message)))?;
            let new = NewAppearance {
                article_id: Uuid::nil(),
                quote,
                kind: a.kind,
                translated: a.translated,
                original_language,
            };
            appearances.push((a.article, new));
        }
        let mut evidence = vec![];
        for e in c.evidence {
            let entry = format!("{entry} evidence '{}'", e.key);
            if !evidence_keys.insert(e.key.clone()) {
                return Err(fixture_error(file, &entry, "duplicate evidence key"));
            }
            let body = bodies
                .get(&e.article)
                .ok_or_else(|| fixture_error(file, &entry, format!("unknown article '{}'", e.article)))?;
            let input = EvidenceInput {
                stance: e.stance,
                summary: e.summary,
                article_id: Some(Uuid::nil()),
                exact: Some(e.exact),
                prefix: e.prefix,
                suffix: e.suffix,
                url: None,
                title: None,
                reason: None,
            };
            let (parsed, _) = NewEvidence::parse(&input).map_err(|err| invalid(file, &entry, err))?;
            if let crate::model::evidence::EvidenceSource::Passage { quote, .. } = &parsed.source {
                anchor(body, quote).map_err(|err| fixture_error(file, &entry, err.message))?;
            }
            evidence.push((e.key, e.article, parsed));
        }
        let verdict = match c.verdict {
            None => None,
            Some(v) => {
                let entry = format!("{entry} verdict");
                for key in &v.evidence {
                    if !evidence.iter().any(|(k, _, _)| k == key) {
                        return Err(fixture_error(
                            file,
                            &entry,
                            format!("cites '{key}', which is not evidence of this claim"),
                        ));
                    }
                }
                if v.evidence.is_empty() {
                    return Err(fixture_error(file, &entry, "a published verdict must cite evidence"));
                }
                let input = VerdictInput {
                    rating: v.rating,
                    headline: v.headline,
                    summary: v.summary,
                    evidence_ids: vec![],
                    reason: None,
                };
                let (parsed, _) = NewVerdict::parse(&input).map_err(|e| invalid(file, &entry, e))?;
                Some((parsed, v.evidence))
            }
        };
        claims.push(SeedClaim {
            key: c.key,
            claimant: c.claimant,
            claim,
            appearances,
            evidence,
            verdict,
        });
    }
    if let Some((key, _)) = claimants.iter().find(|(k, _)| !used.contains(k)) {
        return Err(fixture_error(file, format!("claimant '{key}'"), "no claim names it"));
    }
    Ok(Fixture {
        articles,
        claimants,
        claims,
    })
}
