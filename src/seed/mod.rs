//! Seeding from `seed_articles/`: five article texts, their metadata, and the
//! curated claims with their appearances, evidence and verdicts. The whole
//! fixture is checked before anything is written; then it is written in one
//! transaction through the same store functions as the API, by two system
//! accounts (seed-editor authors, seed-reviewer publishes).

use std::collections::HashMap;
use std::fmt;

use diesel::pg::PgConnection;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::model::claimant::ClaimantRef;
use crate::model::{Actor, Role, SYSTEM_ACTOR, Username};
use crate::store;

pub const SEED_EDITOR: &str = "seed-editor";
pub const SEED_REVIEWER: &str = "seed-reviewer";

mod fixture;
pub use fixture::*;

/// What a seed run did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Seeded {
        articles: usize,
        claims: usize,
        appearances: usize,
        evidence: usize,
        verdicts: usize,
    },
    AlreadySeeded,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Seeded {
                articles,
                claims,
                appearances,
                evidence,
                verdicts,
            } => write!(
                f,
                "seeded {articles} articles, {claims} claims, {appearances} appearances, {evidence} evidence, {verdicts} published verdicts"
            ),
            Outcome::AlreadySeeded => write!(f, "the seed articles are already in the database; nothing written"),
        }
    }
}

/// The system account `username`, created (unable to log in) if missing.
fn system_account(conn: &mut PgConnection, username: &str, role: Role) -> AppResult<Actor> {
    let editor = match store::editors::find_by_username(conn, username) {
        Ok(e) => e,
        Err(AppError::NotFound(_)) => {
            store::editors::create(
                conn,
                SYSTEM_ACTOR,
                store::editors::NewEditor {
                    username: Username::parse(username).map_err(|e| AppError::internal(e.message))?,
                    display_name: format!("Seed ({})", role.as_str()),
                    roles: vec![role],
                    password_hash: None,
                },
                Some("seed: system account"),
            )?
            .value
        }
        Err(e) => return Err(e),
    };
    Ok(Actor {
        id: editor.id,
        username: editor.username,
        roles: vec![role],
    })
}

/// Writes the fixture in one transaction, unless its articles are there
/// already, and waits until it is sequenced.
pub fn seed(conn: &mut PgConnection, fixture: &Fixture) -> AppResult<Outcome> {
    let outcome = write_fixture(conn, fixture)?;
    store::sequencer::settle(conn, std::time::Duration::from_secs(60))?;
    Ok(outcome)
}

fn write_fixture(conn: &mut PgConnection, fixture: &Fixture) -> AppResult<Outcome> {
    store::transaction(conn, |conn| {
        let mut present = 0;
        for a in &fixture.articles {
            if store::articles::find_by_slug(conn, a.article.slug.as_deref().unwrap_or(""))?.is_some() {
                present += 1;
            }
        }
        if present == fixture.articles.len() {
            return Ok(Outcome::AlreadySeeded);
        }
        if present > 0 {
            return Err(AppError::Conflict(format!(
                "{present} of the {} seed articles exist already (by slug); refusing to seed a partial corpus",
                fixture.articles.len()
            )));
        }
        let editor = system_account(conn, SEED_EDITOR, Role::Editor)?;
        let reviewer = system_account(conn, SEED_REVIEWER, Role::Reviewer)?;

        let mut article_ids: HashMap<&str, Uuid> = HashMap::new();
        for a in &fixture.articles {
            let why = format!("seed: seed_articles/{}", a.file);
            let stored = store::articles::create(conn, &editor, a.article.clone(), Some(&why))?;
            article_ids.insert(a.file.as_str(), stored.value.id);
        }
        let mut claimant_ids: HashMap<&str, Uuid> = HashMap::new();
        for (key, record) in &fixture.claimants {
            let why = format!("seed: claimant '{key}'");
            let stored = store::claimants::create(conn, &editor, record, Some(&why))?;
            claimant_ids.insert(key.as_str(), stored.value.id);
        }
        let (mut appearances, mut evidence, mut verdicts) = (0, 0, 0);
        for c in &fixture.claims {
            let why = format!("seed: claim '{}'", c.key);
            let mut new_claim = c.claim.clone();
            new_claim.claimant = ClaimantRef::Id(claimant_ids[c.claimant.as_str()]);
            let claim = store::claims::create(conn, &editor, new_claim, Some(&why))?.value;
            for (file, appearance) in &c.appearances {
                let mut new = appearance.clone();
                new.article_id = article_ids[file.as_str()];
                store::appearances::add(conn, &editor, claim.id, &new, Some(&why))?;
                appearances += 1;
            }
            let mut evidence_ids: HashMap<&str, Uuid> = HashMap::new();
            for (key, file, e) in &c.evidence {
                let mut e = e.clone();
                if let crate::model::evidence::EvidenceSource::Passage { article_id, .. } = &mut e.source {
                    *article_id = article_ids[file.as_str()];
                }
                let stored = store::evidence::add(conn, &editor, claim.id, &e, Some(&why))?;
                evidence_ids.insert(key.as_str(), stored.value.id);
                evidence += 1;
            }
            if let Some((v, keys)) = &c.verdict {
                let mut v = v.clone();
                v.evidence_ids = keys.iter().map(|k| evidence_ids[k.as_str()]).collect();
                let draft = store::verdicts::create_draft(conn, &editor, claim.id, &v, Some(&why))?.value;
                store::verdicts::submit(conn, &editor, draft.id, None, Some(&why))?;
                store::verdicts::publish(conn, &reviewer, draft.id, None, Some(&why))?;
                verdicts += 1;
            }
        }
        Ok(Outcome::Seeded {
            articles: fixture.articles.len(),
            claims: fixture.claims.len(),
            appearances,
            evidence,
            verdicts,
        })
    })
}

/// Whether the database has no articles and no claims.
pub fn database_is_empty(conn: &mut PgConnection) -> AppResult<bool> {
    store::holds_no_articles_or_claims(conn)
}

/// The default fixture: the one built into the binary.
pub fn default_source() -> Source {
    Source::Embedded
}
