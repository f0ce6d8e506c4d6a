//! What the log records of an entity: every kind that has revisions is
//! [`Recorded`], and a revision's snapshot reads back as a [`Snapshot`].

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::webhook::Webhook;
use super::{Appearance, Article, Claim, Claimant, Editor, EntityKind, Evidence, Revision, Verdict};
use crate::error::{AppError, AppResult};

/// An entity whose every change is a revision: its kind, identity and
/// version, and the snapshot the log keeps of it (its full state after the
/// change, from which its projection row can be rebuilt). The snapshot's
/// shape is hashed, so it is locked by snapshot tests.
pub trait Recorded: Serialize {
    const KIND: EntityKind;

    fn id(&self) -> Uuid;

    fn version(&self) -> i32;

    fn snapshot(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a row always serializes to JSON")
    }
}

macro_rules! recorded {
    ($($ty:ty => $kind:ident),+ $(,)?) => {$(
        impl Recorded for $ty {
            const KIND: EntityKind = EntityKind::$kind;
            fn id(&self) -> Uuid {
                self.id
            }
            fn version(&self) -> i32 {
                self.version
            }
        }
    )+};
}

recorded!(Article => Article, Claimant => Claimant, Claim => Claim, Appearance => Appearance, Evidence => Evidence, Verdict => Verdict, Webhook => Webhook);

impl Recorded for Editor {
    const KIND: EntityKind = EntityKind::Editor;

    fn id(&self) -> Uuid {
        self.id
    }

    fn version(&self) -> i32 {
        self.version
    }

    /// Accounts are recorded without timestamps (the revision has the time)
    /// and, of course, without the password hash.
    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "version": self.version,
            "username": self.username,
            "display_name": self.display_name,
            "roles": self.roles,
            "active": self.active,
        })
    }
}

/// A revision's snapshot, read back as the entity it records.
#[derive(Clone, Debug, PartialEq)]
pub enum Snapshot {
    Editor(serde_json::Value),
    Article(Box<Article>),
    Claimant(Box<Claimant>),
    Claim(Box<Claim>),
    Appearance(Box<Appearance>),
    Evidence(Box<Evidence>),
    Verdict(Box<Verdict>),
    Webhook(Box<Webhook>),
}

impl Snapshot {
    /// The entity `r` records. A snapshot that does not parse as its kind is
    /// an internal error naming the seq.
    pub fn of(r: &Revision) -> AppResult<Snapshot> {
        Snapshot::read(r.entity_kind, r.seq, &r.snapshot)
    }

    /// The entity a snapshot read as JSON text records (straight into its
    /// type: no `serde_json::Value` between).
    pub fn from_text(kind: EntityKind, seq: i64, text: &str) -> AppResult<Snapshot> {
        let mut de = serde_json::Deserializer::from_str(text);
        let snapshot = Snapshot::read(kind, seq, &mut de)?;
        de.end().map_err(|e| not_a(kind, seq, e))?;
        Ok(snapshot)
    }

    /// The one dispatch from an entity kind to its type.
    fn read<'de, D: serde::Deserializer<'de>>(kind: EntityKind, seq: i64, de: D) -> AppResult<Snapshot> {
        fn boxed<'de, T: serde::Deserialize<'de>, D: serde::Deserializer<'de>>(kind: EntityKind, seq: i64, de: D) -> AppResult<Box<T>> {
            T::deserialize(de).map(Box::new).map_err(|e| not_a(kind, seq, e))
        }
        Ok(match kind {
            EntityKind::Editor => Snapshot::Editor(serde_json::Value::deserialize(de).map_err(|e| not_a(kind, seq, e))?),
            EntityKind::Article => Snapshot::Article(boxed(kind, seq, de)?),
            EntityKind::Claimant => Snapshot::Claimant(boxed(kind, seq, de)?),
            EntityKind::Claim => Snapshot::Claim(boxed(kind, seq, de)?),
            EntityKind::Appearance => Snapshot::Appearance(boxed(kind, seq, de)?),
            EntityKind::Evidence => Snapshot::Evidence(boxed(kind, seq, de)?),
            EntityKind::Verdict => Snapshot::Verdict(boxed(kind, seq, de)?),
            EntityKind::Webhook => Snapshot::Webhook(boxed(kind, seq, de)?),
        })
    }
}

fn not_a(kind: EntityKind, seq: i64, e: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("revision {seq} does not hold a {kind}: {e}"))
}

/// The snapshot of every kind is hashed into the log: a renamed or retyped
/// field would silently change what an auditor recomputes. These lock
/// each kind's shape (field names, order-independent JSON types).
#[cfg(test)]
mod tests {
    use chrono::{DateTime, NaiveDate, Utc};
    use uuid::Uuid;

    use super::*;
    use crate::model::appearance::{AppearanceKind, AppearanceStatus};
    use crate::model::claim::{ClaimStatus, DatePrecision};
    use crate::model::claimant::ClaimantKind;
    use crate::model::evidence::{EvidenceStatus, Stance};
    use crate::model::{Rating, Role, VerdictStatus};

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn at(micros: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(1_689_552_000_000_000 + micros).unwrap()
    }

    #[test]
    fn editor_snapshot_shape() {
        let e = Editor {
            id: id(1),
            version: 2,
            username: "ana".into(),
            display_name: "Ana".into(),
            roles: vec![Role::Editor, Role::Reviewer],
            active: true,
            created_at: at(0),
            updated_at: at(1),
        };
        insta::assert_json_snapshot!(e.snapshot());
    }

    #[test]
    fn article_snapshot_shape() {
        let a = Article {
            id: id(2),
            version: 1,
            slug: "a-title".into(),
            title: "A title".into(),
            publisher: Some("Agency".into()),
            url: Some("https://example.org/a".into()),
            published_on: NaiveDate::from_ymd_opt(2023, 7, 17),
            language: "en".into(),
            body: "Body “text”.".into(),
            body_sha256: "ab".repeat(32),
            created_at: at(0),
            updated_at: at(0),
        };
        insta::assert_json_snapshot!(a.snapshot());
    }

    #[test]
    fn claim_snapshot_shape() {
        let c = Claim {
            id: id(3),
            version: 3,
            statement: "Russia has not used cluster munitions.".into(),
            claimant: "Vladimir Putin".into(),
            claimant_id: Some(id(8)),
            claimed_on: NaiveDate::from_ymd_opt(2023, 7, 16),
            claimed_on_precision: DatePrecision::Day,
            claimed_on_note: Some("date the excerpts were posted".into()),
            language: "en".into(),
            tags: vec!["russia".into()],
            status: ClaimStatus::Active,
            merged_into: None,
            created_at: at(0),
            updated_at: at(5),
        };
        insta::assert_json_snapshot!(c.snapshot());
    }

    #[test]
    fn claimant_snapshot_shape() {
        let c = Claimant {
            id: id(8),
            version: 2,
            name: "Vladimir Putin".into(),
            kind: ClaimantKind::Person,
            role: Some("President of Russia".into()),
            same_as: vec!["https://www.wikidata.org/wiki/Q7747".into()],
            created_at: at(0),
            updated_at: at(3),
        };
        insta::assert_json_snapshot!(c.snapshot());
    }

    /// A snapshot recorded before the editorial model reads with defaults.
    #[test]
    fn an_older_claim_snapshot_still_reads() {
        let old = serde_json::json!({
            "id": id(3), "version": 1, "statement": "s", "claimant": "c", "claimed_on": "2023-07-16",
            "language": "en", "tags": [], "status": "active",
            "created_at": "2023-07-17T00:00:00Z", "updated_at": "2023-07-17T00:00:00Z"
        });
        let c: Claim = serde_json::from_value(old).unwrap();
        assert_eq!(
            (c.claimant_id, c.claimed_on_precision, c.merged_into),
            (None, DatePrecision::Unknown, None)
        );
    }

    #[test]
    fn appearance_snapshot_shape() {
        let a = Appearance {
            id: id(4),
            version: 1,
            claim_id: id(3),
            article_id: id(2),
            exact: "not used".into(),
            prefix: "has ".into(),
            suffix: " them".into(),
            start_pos: 10,
            end_pos: 18,
            status: AppearanceStatus::Active,
            created_at: at(0),
            updated_at: at(0),
            kind: AppearanceKind::DirectQuote,
            translated: true,
            original_language: Some("ru".into()),
        };
        insta::assert_json_snapshot!(a.snapshot());
    }

    #[test]
    fn evidence_snapshot_shape() {
        let e = Evidence {
            id: id(5),
            version: 2,
            claim_id: id(3),
            stance: Stance::Refutes,
            summary: "A UN report says otherwise.".into(),
            article_id: Some(id(2)),
            exact: Some("at least 24 times".into()),
            prefix: Some("".into()),
            suffix: Some("".into()),
            start_pos: Some(40),
            end_pos: Some(57),
            url: None,
            title: None,
            status: EvidenceStatus::Withdrawn,
            created_at: at(0),
            updated_at: at(9),
        };
        insta::assert_json_snapshot!(e.snapshot());
    }

    #[test]
    fn verdict_snapshot_shape() {
        let v = Verdict {
            id: id(6),
            version: 4,
            claim_id: id(3),
            rating: Rating::MostlyFalse,
            headline: "Not so".into(),
            summary: "Reports say otherwise.".into(),
            evidence_ids: vec![id(5)],
            status: VerdictStatus::Published,
            author_id: id(1),
            reviewer_id: Some(id(7)),
            published_at: Some(at(100)),
            superseded_at: None,
            withdrawn_at: None,
            created_at: at(0),
            updated_at: at(100),
        };
        insta::assert_json_snapshot!(v.snapshot());
    }

    #[test]
    fn a_snapshot_reads_back_as_its_entity() {
        let c = Claim {
            id: id(3),
            version: 1,
            statement: "s".into(),
            claimant: "c".into(),
            claimant_id: None,
            claimed_on: None,
            claimed_on_precision: DatePrecision::Unknown,
            claimed_on_note: None,
            language: "en".into(),
            tags: vec![],
            status: ClaimStatus::Retired,
            merged_into: Some(id(4)),
            created_at: at(0),
            updated_at: at(0),
        };
        let r = Revision {
            seq: 9,
            entity_kind: EntityKind::Claim,
            entity_id: c.id,
            entity_version: 1,
            action: crate::model::Action::Create,
            actor_id: id(1),
            reason: None,
            recorded_at: at(0),
            snapshot: c.snapshot(),
            entry_hash: vec![],
            chain_hash: vec![],
        };
        assert_eq!(Snapshot::of(&r).unwrap(), Snapshot::Claim(Box::new(c)));
        let wrong = Revision {
            entity_kind: EntityKind::Verdict,
            ..r.clone()
        };
        let e = Snapshot::of(&wrong).unwrap_err().to_string();
        assert!(e.contains("revision 9 does not hold a verdict"), "{e}");
        // From the text the log stores: the same entity, the same refusals.
        let text = r.snapshot.to_string();
        assert_eq!(Snapshot::from_text(EntityKind::Claim, 9, &text).unwrap(), Snapshot::of(&r).unwrap());
        let e = Snapshot::from_text(EntityKind::Verdict, 9, &text).unwrap_err().to_string();
        assert!(e.contains("revision 9 does not hold a verdict"), "{e}");
        let e = Snapshot::from_text(EntityKind::Claim, 9, &format!("{text} {{}}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("revision 9 does not hold a claim"), "{e}");
    }
}
