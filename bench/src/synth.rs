//! The synthetic data set: every entity and every version of it is a pure
//! function of its number, so the fill can write projection rows (the last
//! version) and revisions (every version) in any order, and bench/run can
//! name any entity without asking the database.
//!
//! Ids look like UUIDv7 and encode (kind, n): `0190000K-0000-7000-8000-NNNNNNNNNNNN`
//! with K the kind code and N the number in hex. The pgbench scripts build
//! the same ids in SQL (`bench/sql/README.md`).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use claimledger::model::VerdictStatus;
use claimledger::model::{Action, Appearance, Article, Claim, EntityKind, Evidence, Rating, Verdict};
use serde::Serialize;
use uuid::Uuid;

pub const KIND_ARTICLE: u128 = 1;
pub const KIND_CLAIM: u128 = 2;
pub const KIND_APPEARANCE: u128 = 3;
pub const KIND_EVIDENCE: u128 = 4;
pub const KIND_VERDICT: u128 = 5;
pub const KIND_CLAIMANT: u128 = 6;

pub fn id(kind: u128, n: u64) -> Uuid {
    Uuid::from_u128(((0x0190_0000 + kind) << 96) | (0x7000u128 << 64) | (0x8000u128 << 48) | n as u128)
}

/// The scale the user asked for, and everything derived from it.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub claims: u64,
    pub evidence: u64,
    pub verdicts: u64,
    pub revisions: u64,
    pub articles: u64,
    /// Claims 1..=published_claims have a published verdict (verdict n = claim n).
    pub published_claims: u64,
    /// Verdicts published_claims+1 ..= published_claims+superseded were
    /// published, then superseded (claim 5j for the j-th).
    pub superseded: u64,
    /// Draft verdicts are first_draft..=verdicts.
    pub first_draft: u64,
    /// Updates spread over claims, evidence and verdicts (beyond creates and
    /// workflow steps), so the log reaches `revisions`.
    pub updates: u64,
    pub updates_base: u64,
    pub updates_rem: u64,
    pub max_versions: u64,
}

pub const SENTENCES_PER_ARTICLE: u64 = 30;

impl Plan {
    pub fn new(claims: u64, evidence: u64, verdicts: u64, revisions: u64) -> Result<Plan, String> {
        if claims < 10 || verdicts < 4 {
            return Err("need at least 10 claims and 4 verdicts".into());
        }
        let articles = (claims / 100).clamp(5, 500);
        let published_claims = (claims * 3 / 4).min(verdicts / 2);
        let superseded = published_claims / 5;
        let first_draft = published_claims + superseded + 1;
        let fixed = articles + claims * 2 + evidence + verdicts + 2 * published_claims + 3 * superseded;
        if revisions < fixed {
            return Err(format!(
                "{revisions} revisions are fewer than this scale's creates and workflow steps ({fixed})"
            ));
        }
        let updates = revisions - fixed;
        let m = claims + evidence + verdicts;
        let plan = Plan {
            claims,
            evidence,
            verdicts,
            revisions,
            articles,
            published_claims,
            superseded,
            first_draft,
            updates,
            updates_base: updates / m,
            updates_rem: updates % m,
            max_versions: 1 + updates / m + u64::from(!updates.is_multiple_of(m)) + 3,
        };
        Ok(plan)
    }

    pub fn updatable(&self) -> u64 {
        self.claims + self.evidence + self.verdicts
    }

    /// Entity g of the updatable ones: claims, then evidence, then verdicts.
    pub fn entity(&self, g: u64) -> (EntityKind, u64) {
        if g < self.claims {
            (EntityKind::Claim, g + 1)
        } else if g < self.claims + self.evidence {
            (EntityKind::Evidence, g - self.claims + 1)
        } else {
            (EntityKind::Verdict, g - self.claims - self.evidence + 1)
        }
    }

    fn global(&self, kind: EntityKind, n: u64) -> u64 {
        match kind {
            EntityKind::Claim => n - 1,
            EntityKind::Evidence => self.claims + n - 1,
            EntityKind::Verdict => self.claims + self.evidence + n - 1,
            _ => unreachable!("articles and appearances are never updated"),
        }
    }

    fn edits(&self, kind: EntityKind, n: u64) -> u64 {
        let g = self.global(kind, n);
        self.updates_base + u64::from(g < self.updates_rem)
    }

    pub fn verdict_status_path(&self, n: u64) -> VerdictPath {
        if n <= self.published_claims {
            VerdictPath::Published
        } else if n < self.first_draft {
            VerdictPath::Superseded
        } else {
            VerdictPath::Draft
        }
    }

    /// How many versions the entity has in the end.
    pub fn versions(&self, kind: EntityKind, n: u64) -> u64 {
        match kind {
            EntityKind::Article | EntityKind::Appearance => 1,
            EntityKind::Claim | EntityKind::Evidence => 1 + self.edits(kind, n),
            EntityKind::Verdict => {
                1 + self.edits(kind, n)
                    + match self.verdict_status_path(n) {
                        VerdictPath::Published => 2,
                        VerdictPath::Superseded => 3,
                        VerdictPath::Draft => 0,
                    }
            }
            EntityKind::Editor | EntityKind::Claimant | EntityKind::Webhook => 1,
        }
    }

    pub fn claim_of_evidence(&self, n: u64) -> u64 {
        (n - 1) % self.claims + 1
    }

    pub fn claim_of_verdict(&self, n: u64) -> u64 {
        match self.verdict_status_path(n) {
            VerdictPath::Published => n,
            VerdictPath::Superseded => (n - self.published_claims) * 5,
            VerdictPath::Draft => (n - self.first_draft) % self.claims + 1,
        }
    }

    pub fn evidence_of_claim(&self, c: u64) -> impl Iterator<Item = u64> + '_ {
        (0..).map(move |k| c + k * self.claims).take_while(move |n| *n <= self.evidence)
    }

    pub fn verdicts_of_claim(&self, c: u64) -> Vec<u64> {
        let mut out = vec![];
        if c <= self.published_claims {
            out.push(c);
        }
        if c.is_multiple_of(5) && c / 5 >= 1 && c / 5 <= self.superseded {
            out.push(self.published_claims + c / 5);
        }
        let mut n = self.first_draft + c - 1;
        while n <= self.verdicts {
            out.push(n);
            n += self.claims;
        }
        out
    }

    pub fn article_of_claim(&self, c: u64) -> u64 {
        (c - 1) % self.articles + 1
    }

    /// Draft verdicts, split in two halves: PATCHes through the server use the
    /// first, the pgbench reference scripts the second, so neither sees the
    /// other's versions.
    pub fn draft_pools(&self) -> ((u64, u64), (u64, u64)) {
        let drafts = self.verdicts - self.first_draft + 1;
        let mid = self.first_draft + drafts / 2;
        ((self.first_draft, mid - 1), (mid, self.verdicts))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerdictPath {
    Published,
    Superseded,
    Draft,
}

// Text ------------------------------------------------------------------

const WORDS: &[&str] = &[
    "government",
    "minister",
    "report",
    "cluster",
    "munitions",
    "ukraine",
    "border",
    "election",
    "budget",
    "health",
    "vaccine",
    "climate",
    "energy",
    "prices",
    "inflation",
    "school",
    "police",
    "crime",
    "water",
    "housing",
    "farmers",
    "army",
    "treaty",
    "senate",
    "court",
    "ruling",
    "tax",
    "wages",
    "jobs",
    "migration",
    "refugees",
    "hospital",
    "doctors",
    "oil",
    "gas",
    "nuclear",
    "reactor",
    "drought",
    "flood",
    "wildfire",
    "pension",
    "debt",
    "bank",
    "currency",
    "trade",
    "tariff",
    "export",
    "import",
    "factory",
    "strike",
    "union",
    "protest",
    "mayor",
    "council",
    "governor",
    "president",
    "parliament",
    "campaign",
    "poll",
    "survey",
    "study",
    "scientists",
    "university",
    "students",
    "teachers",
    "children",
    "women",
    "workers",
    "soldiers",
    "civilians",
    "weapons",
    "missiles",
    "drones",
    "bombs",
    "ceasefire",
    "sanctions",
    "embassy",
    "diplomats",
    "summit",
    "alliance",
    "nato",
    "convention",
    "signatories",
    "stockpile",
    "ammunition",
    "artillery",
    "shells",
    "casualties",
    "victims",
    "unexploded",
    "submunitions",
    "failure",
    "rate",
    "percent",
    "million",
    "billion",
    "thousand",
    "record",
    "highest",
    "lowest",
    "doubled",
    "tripled",
    "fell",
    "rose",
    "increase",
    "decrease",
    "banned",
    "approved",
    "rejected",
    "promised",
    "denied",
    "claimed",
    "announced",
    "revealed",
    "leaked",
    "secret",
    "document",
    "memo",
    "video",
    "photo",
    "social",
    "media",
    "post",
    "viral",
    "fake",
    "misleading",
    "accurate",
    "evidence",
    "data",
    "statistics",
    "official",
    "agency",
    "ministry",
    "department",
    "office",
    "spokesperson",
    "interview",
    "speech",
    "debate",
    "statement",
    "press",
    "conference",
    "broadcast",
    "newspaper",
    "website",
    "online",
    "internet",
    "phone",
    "network",
    "satellite",
    "space",
    "rocket",
    "airport",
    "flight",
    "train",
    "railway",
    "road",
    "bridge",
    "tunnel",
    "port",
    "ship",
    "fishing",
    "forest",
    "river",
    "lake",
    "coast",
    "island",
    "mountain",
    "desert",
    "city",
    "village",
    "region",
    "province",
    "country",
    "nation",
    "continent",
    "world",
    "europe",
    "africa",
    "asia",
    "america",
    "ocean",
    "arctic",
    "ice",
    "snow",
    "rain",
    "storm",
    "heat",
    "temperature",
    "emissions",
    "carbon",
    "coal",
    "solar",
    "wind",
    "electric",
    "cars",
    "battery",
    "lithium",
    "mining",
    "gold",
    "copper",
    "steel",
    "wheat",
    "grain",
    "rice",
    "food",
    "hunger",
    "famine",
    "aid",
    "charity",
    "donation",
    "loan",
    "grant",
    "subsidy",
    "reform",
    "law",
    "bill",
    "vote",
    "referendum",
    "constitution",
    "judge",
    "lawyer",
    "trial",
    "prison",
    "sentence",
    "fine",
    "fraud",
    "corruption",
    "bribery",
    "scandal",
    "investigation",
    "inquiry",
    "audit",
    "accounts",
    "profits",
    "losses",
    "company",
    "market",
    "shares",
    "investors",
    "startup",
    "technology",
    "software",
    "privacy",
    "surveillance",
    "cyber",
    "attack",
    "hackers",
    "virus",
    "pandemic",
    "lockdown",
    "masks",
    "tests",
    "cases",
    "deaths",
    "births",
    "population",
    "census",
    "immigration",
    "visa",
    "passport",
    "citizens",
    "voters",
    "turnout",
    "ballots",
    "fraudulent",
];

/// Search terms for GET /v1/factchecks?q=: common, middling and rare words.
pub const SEARCH_TERMS: &[&str] = &[
    "minister",
    "nuclear",
    "refugees",
    "stockpile",
    "inflation",
    "satellite",
    "drought",
    "treaty",
];

const CLAIMANTS: &[&str] = &[
    "Prime Minister",
    "Opposition Leader",
    "Health Ministry",
    "Defence Ministry",
    "Central Bank",
    "Mayor of the Capital",
    "Farmers Union",
    "Energy Regulator",
    "National Broadcaster",
    "Viral Post",
    "Senator Ortega",
    "Governor Lind",
    "Campaign Spokesperson",
    "Army Spokesperson",
    "Trade Minister",
    "Climate Envoy",
];

/// A cheap, stable pseudo-random number for (a, b).
pub fn mix(a: u64, b: u64) -> u64 {
    let mut z = a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_add(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Words skewed towards the start of the list (a few common, many rare).
fn words(seed: u64, count: u64) -> String {
    let mut out = String::new();
    for i in 0..count {
        let r = (mix(seed, i) >> 11) as f64 / (1u64 << 53) as f64;
        let w = WORDS[((r * r) * WORDS.len() as f64) as usize % WORDS.len()];
        if i > 0 {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

fn sentence(article: u64, j: u64) -> String {
    let mut s = words(article * 1000 + j, 10 + mix(article, j) % 10);
    if let Some(first) = s.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    s.push('.');
    s
}

/// The article body and where each sentence starts (code points; the text is ASCII).
fn article_body(a: u64) -> (String, Vec<(usize, usize)>) {
    let mut body = String::new();
    let mut spans = vec![];
    for j in 0..SENTENCES_PER_ARTICLE {
        if j > 0 {
            body.push(' ');
        }
        let s = sentence(a, j);
        spans.push((body.len(), body.len() + s.len()));
        body.push_str(&s);
    }
    (body, spans)
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
        .expect("constant")
        .with_timezone(&Utc)
}

fn created(kind: u128, n: u64) -> DateTime<Utc> {
    t0() + Duration::seconds((n * 7) as i64) + Duration::milliseconds(kind as i64)
}

fn at_version(created: DateTime<Utc>, v: u64) -> DateTime<Utc> {
    created + Duration::hours(v as i64 - 1)
}

// Entities --------------------------------------------------------------

/// Cached article texts: appearances and evidence quote them.
pub struct Articles {
    bodies: Vec<(String, Vec<(usize, usize)>)>,
}

impl Articles {
    pub fn new(plan: &Plan) -> Self {
        Articles {
            bodies: (1..=plan.articles).map(article_body).collect(),
        }
    }

    fn quote(&self, a: u64, j: u64) -> (String, i32, i32) {
        let (body, spans) = &self.bodies[(a - 1) as usize];
        let (s, e) = spans[(j % SENTENCES_PER_ARTICLE) as usize];
        (body[s..e].to_string(), s as i32, e as i32)
    }

    pub fn article(&self, a: u64) -> Article {
        use sha2::{Digest, Sha256};
        let body = self.bodies[(a - 1) as usize].0.clone();
        let at = created(KIND_ARTICLE, a);
        Article {
            id: id(KIND_ARTICLE, a),
            version: 1,
            slug: format!("synthetic-article-{a}"),
            title: format!("Synthetic article {a}: {}", words(a + 7_000_000, 6)),
            publisher: Some(format!("Publisher {}", a % 12)),
            url: Some(format!("https://news.example/{a}")),
            published_on: NaiveDate::from_ymd_opt(2024, 1 + (a % 12) as u32, 1 + (a % 28) as u32),
            language: "en".into(),
            body_sha256: hex(&Sha256::digest(body.as_bytes())),
            body,
            created_at: at,
            updated_at: at,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The claimants' records (the editorial model): one per name claims use,
/// created before any claim; claim n names claimant (n mod names) + 1.
pub fn claimants() -> Vec<claimledger::model::claimant::Claimant> {
    (1..=CLAIMANTS.len() as u64)
        .map(|n| {
            let at = created(KIND_CLAIMANT, n);
            claimledger::model::claimant::Claimant {
                id: id(KIND_CLAIMANT, n),
                version: 1,
                name: CLAIMANTS[n as usize - 1].to_string(),
                kind: claimledger::model::claimant::ClaimantKind::Organization,
                role: None,
                same_as: vec![],
                created_at: at,
                updated_at: at,
            }
        })
        .collect()
}

pub fn claim(n: u64, v: u64) -> Claim {
    let at = created(KIND_CLAIM, n);
    let mut tags = vec!["synthetic".to_string(), format!("batch-{}", n % 50)];
    if v > 1 {
        tags.push(format!("rev-{v}"));
    }
    Claim {
        id: id(KIND_CLAIM, n),
        version: v as i32,
        statement: format!("{}.", words(n, 12 + n % 9)),
        claimant: CLAIMANTS[(n % CLAIMANTS.len() as u64) as usize].to_string(),
        claimant_id: Some(id(KIND_CLAIMANT, n % CLAIMANTS.len() as u64 + 1)),
        claimed_on: NaiveDate::from_ymd_opt(2024, 1 + (n % 12) as u32, 1 + (n % 28) as u32),
        claimed_on_precision: claimledger::model::claim::DatePrecision::Day,
        claimed_on_note: None,
        merged_into: None,
        language: "en".into(),
        tags,
        status: claimledger::model::claim::ClaimStatus::Active,
        created_at: at,
        updated_at: at_version(at, v),
    }
}

pub fn appearance(plan: &Plan, articles: &Articles, c: u64) -> Appearance {
    let a = plan.article_of_claim(c);
    let (exact, start, end) = articles.quote(a, c / plan.articles);
    let at = created(KIND_APPEARANCE, c);
    Appearance {
        id: id(KIND_APPEARANCE, c),
        version: 1,
        claim_id: id(KIND_CLAIM, c),
        article_id: id(KIND_ARTICLE, a),
        exact,
        prefix: String::new(),
        suffix: String::new(),
        start_pos: start,
        end_pos: end,
        status: claimledger::model::appearance::AppearanceStatus::Active,
        created_at: at,
        updated_at: at,
        kind: claimledger::model::appearance::AppearanceKind::Paraphrase,
        translated: false,
        original_language: None,
    }
}

pub fn evidence(plan: &Plan, articles: &Articles, n: u64, v: u64) -> Evidence {
    let c = plan.claim_of_evidence(n);
    let at = created(KIND_EVIDENCE, n);
    let mut summary = format!("Evidence {n}: {}.", words(n + 3_000_000, 14));
    if v > 1 {
        summary.push_str(&format!(" Revised {v}."));
    }
    let stance = ["supports", "refutes", "context"][(n % 3) as usize];
    let (article_id, exact, start, end, url, title) = if n.is_multiple_of(2) {
        let a = (n / 2 - 1) % plan.articles + 1;
        let (exact, s, e) = articles.quote(a, n);
        (Some(id(KIND_ARTICLE, a)), Some(exact), Some(s), Some(e), None, None)
    } else {
        (
            None,
            None,
            None,
            None,
            Some(format!("https://source.example/{n}")),
            Some(format!("Source {n}")),
        )
    };
    Evidence {
        id: id(KIND_EVIDENCE, n),
        version: v as i32,
        claim_id: id(KIND_CLAIM, c),
        stance: claimledger::model::evidence::Stance::parse(stance).expect("a stance"),
        summary,
        article_id,
        exact: exact.clone(),
        prefix: exact.as_ref().map(|_| String::new()),
        suffix: exact.as_ref().map(|_| String::new()),
        start_pos: start,
        end_pos: end,
        url,
        title,
        status: claimledger::model::evidence::EvidenceStatus::Active,
        created_at: at,
        updated_at: at_version(at, v),
    }
}

pub struct Actors {
    pub editor: Uuid,
    pub reviewer: Uuid,
}

/// Verdict n at version v, and the action that made that version.
pub fn verdict(plan: &Plan, actors: &Actors, n: u64, v: u64) -> (Verdict, Action) {
    let c = plan.claim_of_verdict(n);
    let at = created(KIND_VERDICT, n);
    let path = plan.verdict_status_path(n);
    let drafts_end = 1 + plan.edits(EntityKind::Verdict, n);
    let (status, action) = if v == 1 {
        ("draft", Action::Create)
    } else if v <= drafts_end {
        ("draft", Action::Update)
    } else if v == drafts_end + 1 {
        ("in_review", Action::Submit)
    } else if v == drafts_end + 2 {
        ("published", Action::Publish)
    } else {
        ("superseded", Action::Supersede)
    };
    debug_assert!(path != VerdictPath::Draft || status == "draft");
    let edit = v.min(drafts_end);
    let ratings = Rating::ALL;
    let rating = ratings[((n + edit) % ratings.len() as u64) as usize];
    let evidence_ids: Vec<Uuid> = plan.evidence_of_claim(c).take(2).map(|e| id(KIND_EVIDENCE, e)).collect();
    let published = matches!(status, "published" | "superseded");
    let published_at = published.then(|| at_version(at, drafts_end + 2));
    let verdict = Verdict {
        id: id(KIND_VERDICT, n),
        version: v as i32,
        claim_id: id(KIND_CLAIM, c),
        rating,
        headline: format!("Verdict {n} (edit {edit}): {}", words(n + 5_000_000, 6)),
        summary: format!("{} Edit {edit}.", words(n + 6_000_000, 40)),
        evidence_ids,
        status: VerdictStatus::parse(status).expect("a status"),
        author_id: actors.editor,
        reviewer_id: published.then_some(actors.reviewer),
        published_at,
        superseded_at: (status == "superseded").then(|| at_version(at, drafts_end + 3)),
        withdrawn_at: None,
        created_at: at,
        updated_at: at_version(at, v),
    };
    (verdict, action)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_plan_adds_up() {
        let p = Plan::new(20_000, 100_000, 50_000, 1_000_000).unwrap();
        let mut total = p.articles + p.claims; // appearances: one per claim
        for c in 1..=p.claims {
            total += p.versions(EntityKind::Claim, c);
        }
        for n in 1..=p.evidence {
            total += p.versions(EntityKind::Evidence, n);
        }
        for n in 1..=p.verdicts {
            total += p.versions(EntityKind::Verdict, n);
        }
        assert_eq!(total, p.revisions);
        let mut seen = 0;
        for c in 1..=p.claims {
            for n in p.verdicts_of_claim(c) {
                assert_eq!(p.claim_of_verdict(n), c);
                seen += 1;
            }
        }
        assert_eq!(seen, p.verdicts);
        let ((a, b), (c, d)) = p.draft_pools();
        assert!(a == p.first_draft && b + 1 == c && d == p.verdicts);
        for n in a..=d {
            assert_eq!(p.verdict_status_path(n), VerdictPath::Draft);
        }
    }

    #[test]
    fn ids_encode_kind_and_number() {
        assert_eq!(id(KIND_CLAIM, 0x2a).to_string(), "01900002-0000-7000-8000-00000000002a");
    }

    #[test]
    fn quotes_are_where_they_say() {
        let p = Plan::new(1000, 5000, 2500, 50_000).unwrap();
        let arts = Articles::new(&p);
        let app = appearance(&p, &arts, 17);
        let art = arts.article(p.article_of_claim(17));
        let chars: Vec<char> = art.body.chars().collect();
        let quoted: String = chars[app.start_pos as usize..app.end_pos as usize].iter().collect();
        assert_eq!(quoted, app.exact);
    }
}
