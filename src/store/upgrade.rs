//! Bringing data recorded before the editorial model up to it, through the
//! log: nothing recorded is rewritten; each claim gets a claimant record
//! (and a new revision naming it), each appearance a revision with its
//! kind. Run by `serve` at start, after the migrations; a second run finds
//! nothing to do.
//!
//! Older claims named their claimant only by a string, so the record's kind
//! has to be inferred once, here, from the name (a word list), and the
//! revision says so — an editor can correct the record afterwards
//! (`PATCH /v1/claimants/{id}`). Nothing else infers a kind.

use diesel::pg::PgConnection;
use diesel::prelude::*;

use super::{claimants, write};
use crate::db::schema::{appearances, claims};
use crate::error::AppResult;
use crate::model::claimant::{ClaimantKind, ClaimantRef};
use crate::model::{Action, Actor, Appearance, Claim, SYSTEM_ACTOR};

/// Words that make a name a person's even in an organisation's words
/// ("a Defense Department official").
const PERSON_WORDS: &[&str] = &[
    "official",
    "spokesperson",
    "spokesman",
    "spokeswoman",
    "minister",
    "president",
    "secretary",
    "senator",
    "ambassador",
    "general",
];

/// Words that make a name an organisation's.
const ORGANIZATION_WORDS: &[&str] = &[
    "agency",
    "army",
    "article",
    "association",
    "bbc",
    "cnn",
    "commission",
    "committee",
    "company",
    "congress",
    "corporation",
    "council",
    "court",
    "department",
    "forces",
    "foundation",
    "government",
    "group",
    "inc",
    "institute",
    "kremlin",
    "ltd",
    "magazine",
    "ministry",
    "nato",
    "network",
    "news",
    "newspaper",
    "office",
    "organisation",
    "organization",
    "outlet",
    "parliament",
    "party",
    "pentagon",
    "press",
    "reuters",
    "report",
    "times",
    "un",
    "union",
    "university",
    "watch",
];

/// The kind a bare name most likely has.
pub fn inferred_kind(name: &str) -> ClaimantKind {
    let lower = name.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let has = |list: &[&str]| words.iter().any(|w| list.contains(w));
    if has(PERSON_WORDS) {
        ClaimantKind::Person
    } else if has(ORGANIZATION_WORDS) || lower.contains("white house") || lower.contains("united nations") {
        ClaimantKind::Organization
    } else {
        ClaimantKind::Person
    }
}

/// What an upgrade recorded.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Upgraded {
    pub claims: usize,
    pub appearances: usize,
}

/// Records, through the log, what the editorial model adds to claims and
/// appearances recorded before it. One write a claim (its claimant record,
/// its own revision, and its appearances'), so a stop halfway resumes.
pub fn editorial_model(conn: &mut PgConnection) -> AppResult<Upgraded> {
    let system = Actor {
        id: SYSTEM_ACTOR,
        username: "system".into(),
        roles: vec![],
    };
    let mut done = Upgraded::default();
    let pending: Vec<Claim> = claims::table
        .filter(claims::claimant_id.is_null())
        .order(claims::id)
        .select(Claim::as_select())
        .load(conn)?;
    for claim in pending {
        let moved = write(conn, |conn, log| {
            let kind = inferred_kind(&claim.claimant);
            let why = format!(
                "editorial model: the claimant's record, made from the name '{}'; kind {kind} inferred from the name — check it",
                claim.claimant
            );
            let name = ClaimantRef::Name {
                name: claim.claimant.clone(),
                kind: Some(kind),
            };
            let record = match claimants::resolve(conn, log, &system, &name, Some(&why)) {
                Ok(r) => r,
                // A record of that name with the other kind: keep it.
                Err(_) => claimants::resolve(
                    conn,
                    log,
                    &system,
                    &ClaimantRef::Name {
                        name: claim.claimant.clone(),
                        kind: None,
                    },
                    Some(&why),
                )?,
            };
            let precision = if claim.claimed_on.is_some() { "day" } else { "unknown" };
            let updated: Claim = diesel::update(claims::table.find(claim.id))
                .set((
                    claims::claimant_id.eq(record.id),
                    claims::claimant.eq(&record.name),
                    claims::claimed_on_precision.eq(precision),
                    claims::version.eq(claims::version + 1),
                ))
                .returning(Claim::as_returning())
                .get_result(conn)?;
            log.record(
                &updated,
                Action::Update,
                SYSTEM_ACTOR,
                Some("editorial model: claimant record and date precision"),
            );
            let apps: Vec<Appearance> = diesel::update(appearances::table.filter(appearances::claim_id.eq(claim.id)))
                .set(appearances::version.eq(appearances::version + 1))
                .returning(Appearance::as_returning())
                .get_results(conn)?;
            for a in &apps {
                log.record(
                    a,
                    Action::Update,
                    SYSTEM_ACTOR,
                    Some("editorial model: appearance kind (paraphrase until an editor says otherwise)"),
                );
            }
            Ok(apps.len())
        })?;
        done.claims += 1;
        done.appearances += moved.value;
    }
    Ok(done)
}
