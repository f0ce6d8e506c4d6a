//! A claim's family — the claim, its appearances, evidence and verdicts —
//! as the log stands at some seq, and the public fact check it makes (if
//! any). Revisions are applied one by one, so the fact check can be read
//! after each of them: this is how the public documents and the feed are
//! derived from the log. No I/O.

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use super::{ArticleRef, FactCheck, LogPosition, SupersededVerdict};
use crate::error::{AppError, AppResult};
use crate::model::appearance::AppearanceStatus;
use crate::model::claim::ClaimStatus;
use crate::model::{Appearance, Claim, Claimant, Evidence, Revision, Snapshot, Verdict, VerdictStatus};

/// An entity as the log last recorded it.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded<T> {
    pub value: T,
    pub seq: i64,
    pub chain_hash: Vec<u8>,
    pub reason: Option<String>,
}

impl<T> Recorded<T> {
    fn of(value: T, r: &Revision) -> Self {
        Recorded {
            value,
            seq: r.seq,
            chain_hash: r.chain_hash.clone(),
            reason: r.reason.clone(),
        }
    }

    fn position(&self) -> LogPosition {
        LogPosition {
            seq: self.seq,
            chain_hash: self.chain_hash.clone(),
        }
    }
}

/// The records a family refers to, as the log recorded them: the articles
/// its appearances quote and its claim's claimant.
#[derive(Clone, Debug, Default)]
pub struct References {
    pub articles: HashMap<Uuid, Recorded<ArticleRef>>,
    pub claimants: HashMap<Uuid, Recorded<Claimant>>,
}

impl References {
    /// Takes in a revision of an article or a claimant (others are ignored).
    pub fn apply(&mut self, r: &Revision) -> AppResult<()> {
        match Snapshot::of(r)? {
            Snapshot::Article(a) => {
                self.articles.insert(r.entity_id, Recorded::of(ArticleRef::from(*a), r));
            }
            Snapshot::Claimant(c) => {
                self.claimants.insert(r.entity_id, Recorded::of(*c, r));
            }
            _ => {}
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Default)]
pub struct Family {
    pub claim: Option<Recorded<Claim>>,
    /// By id: creation order (UUIDv7).
    pub appearances: BTreeMap<Uuid, Recorded<Appearance>>,
    pub evidence: HashMap<Uuid, Recorded<Evidence>>,
    pub verdicts: BTreeMap<Uuid, Recorded<Verdict>>,
}

impl Family {
    /// The family's state after revision `r` (of the claim or of something
    /// hanging off it; anything else is ignored).
    pub fn apply(&mut self, r: &Revision) -> AppResult<()> {
        match Snapshot::of(r)? {
            Snapshot::Claim(c) => self.claim = Some(Recorded::of(*c, r)),
            Snapshot::Appearance(a) => {
                self.appearances.insert(a.id, Recorded::of(*a, r));
            }
            Snapshot::Evidence(e) => {
                self.evidence.insert(e.id, Recorded::of(*e, r));
            }
            Snapshot::Verdict(v) => {
                self.verdicts.insert(v.id, Recorded::of(*v, r));
            }
            Snapshot::Article(_) | Snapshot::Claimant(_) | Snapshot::Editor(_) | Snapshot::Webhook(_) => {}
        }
        Ok(())
    }

    /// The articles the active appearances quote.
    pub fn quoted_articles(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.appearances
            .values()
            .filter(|a| a.value.status == AppearanceStatus::Active)
            .map(|a| a.value.article_id)
    }

    /// The public fact check this family makes: None unless the claim is
    /// active and has a published verdict. Its log position is the newest
    /// revision among what it shows: the claim, its active appearances and
    /// their articles, the verdict and its cited evidence.
    pub fn factcheck(&self, refs: &References) -> AppResult<Option<FactCheck>> {
        let Some(claim) = self.claim.as_ref().filter(|c| c.value.status == ClaimStatus::Active) else {
            return Ok(None);
        };
        let Some(verdict) = self.verdicts.values().find(|v| v.value.status == VerdictStatus::Published) else {
            return Ok(None);
        };
        let mut newest = claim.position();
        let mut shown = |p: LogPosition| {
            if p.seq > newest.seq {
                newest = p;
            }
        };
        shown(verdict.position());
        let claimant = match claim.value.claimant_id {
            None => None,
            Some(id) => {
                let c = refs
                    .claimants
                    .get(&id)
                    .ok_or_else(|| AppError::internal(format!("claim {} names claimant {id}, not in the log", claim.value.id)))?;
                shown(c.position());
                Some(c.value.clone())
            }
        };
        let mut appearances = vec![];
        for a in self.appearances.values().filter(|a| a.value.status == AppearanceStatus::Active) {
            let article = refs.articles.get(&a.value.article_id).ok_or_else(|| {
                AppError::internal(format!(
                    "appearance {} quotes article {}, not in the log",
                    a.value.id, a.value.article_id
                ))
            })?;
            shown(a.position());
            shown(article.position());
            appearances.push((a.value.clone(), article.value.clone()));
        }
        let mut cited = vec![];
        for id in &verdict.value.evidence_ids {
            let e = self
                .evidence
                .get(id)
                .ok_or_else(|| AppError::internal(format!("verdict {} cites evidence {id}, not in the log", verdict.value.id)))?;
            shown(e.position());
            cited.push(e.value.clone());
        }
        let mut corrections: Vec<SupersededVerdict> = self
            .verdicts
            .values()
            .filter(|v| v.value.status == VerdictStatus::Superseded)
            // Superseded is final, so its newest revision is the supersede itself.
            .map(|v| SupersededVerdict {
                verdict: v.value.clone(),
                reason: v.reason.clone(),
            })
            .collect();
        corrections.sort_by_key(|s| (s.verdict.published_at, s.verdict.id));
        Ok(Some(FactCheck {
            claim: claim.value.clone(),
            claimant,
            appearances,
            verdict: verdict.value.clone(),
            evidence: cited,
            corrections,
            log: newest,
        }))
    }
}

/// The claim a revision belongs to, for the kinds that hang off a claim.
pub fn claim_of(r: &Revision) -> Option<Uuid> {
    use crate::model::EntityKind;
    match r.entity_kind {
        EntityKind::Claim => Some(r.entity_id),
        EntityKind::Appearance | EntityKind::Evidence | EntityKind::Verdict => crate::model::named_claim(&r.snapshot),
        _ => None,
    }
}

/// Whether a revision can change what the public sees of its claim.
/// Drafts, submissions, rejections and new evidence cannot (a published
/// verdict's citations are fixed); a supersede is always followed, in the
/// same write, by the publish that caused it, which is read instead.
pub fn may_change_public(r: &Revision) -> bool {
    use crate::model::{Action, EntityKind};
    match r.entity_kind {
        EntityKind::Verdict => matches!(r.action, Action::Publish | Action::Withdraw),
        EntityKind::Claim | EntityKind::Evidence => r.action != Action::Create,
        EntityKind::Appearance => true,
        _ => false,
    }
}
