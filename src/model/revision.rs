//! The log's vocabulary: entity kinds, actions, and a stored revision.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An enum stored as text: its serde form, its column form (diesel
/// `FromSql`/`ToSql` for `Text`, like crates.io's `pg_enum`) and its
/// spelling in messages are one and the same (the spellings are the
/// variants in snake_case, which a test checks). An unknown value read from
/// the database is an error, never a default.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
                 diesel::AsExpression, diesel::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
            /// The accepted spellings, for error messages.
            pub fn choices() -> String {
                [$($text),+].join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = std::str::from_utf8(value.as_bytes())?;
                $name::parse(text).ok_or_else(|| format!("unknown {} '{}' in the database", stringify!($name), text).into())
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(self.as_str(), out)
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use text_enum;

text_enum!(
    /// What a revision is about.
    EntityKind {
        Editor => "editor",
        Article => "article",
        Claimant => "claimant",
        Claim => "claim",
        Appearance => "appearance",
        Evidence => "evidence",
        Verdict => "verdict",
        Webhook => "webhook",
    }
);

text_enum!(
    /// What happened to the entity.
    Action {
        Create => "create",
        Update => "update",
        Submit => "submit",
        Publish => "publish",
        Reject => "reject",
        Supersede => "supersede",
        Withdraw => "withdraw",
        Retire => "retire",
        Deactivate => "deactivate",
        Reactivate => "reactivate",
        SetPassword => "set_password",
        Merge => "merge",
    }
);

/// RFC 3339, UTC, always six fractional digits: the one spelling of a
/// revision's time that is hashed and shown.
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// One stored revision, exactly as the log holds it.
#[derive(Clone, Debug, PartialEq, diesel::Queryable, diesel::Selectable, diesel::QueryableByName)]
#[diesel(table_name = crate::db::schema::revisions)]
pub struct Revision {
    pub seq: i64,
    pub entity_kind: EntityKind,
    pub entity_id: Uuid,
    pub entity_version: i32,
    pub action: Action,
    pub actor_id: Uuid,
    pub reason: Option<String>,
    pub recorded_at: DateTime<Utc>,
    #[diesel(deserialize_as = SnapshotText)]
    pub snapshot: serde_json::Value,
    pub entry_hash: Vec<u8>,
    pub chain_hash: Vec<u8>,
}

/// The claim a snapshot names (`claim_id`: appearances, evidence and
/// verdicts), as the log's `claim_id` column keeps it.
pub fn named_claim(snapshot: &serde_json::Value) -> Option<Uuid> {
    snapshot.get("claim_id")?.as_str().and_then(|s| Uuid::try_parse(s).ok())
}

/// A snapshot as the log stores it: the JSON text it was hashed from,
/// parsed on the way out (an unreadable one is an error, never a default).
#[derive(Debug, diesel::FromSqlRow)]
pub struct SnapshotText(pub serde_json::Value);

impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for SnapshotText {
    fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
        Ok(SnapshotText(serde_json::from_slice(value.as_bytes())?))
    }
}

impl From<SnapshotText> for serde_json::Value {
    fn from(s: SnapshotText) -> Self {
        s.0
    }
}

/// A revision as JSON, in the API and in the export: exactly the entry's
/// fields plus seq, entry_hash and chain_hash (lowercase hex).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevisionRecord {
    pub seq: i64,
    pub entity_kind: EntityKind,
    pub entity_id: Uuid,
    pub entity_version: i32,
    pub action: Action,
    pub actor_id: Uuid,
    pub reason: Option<String>,
    /// RFC 3339, UTC, microseconds: the exact text that was hashed.
    pub recorded_at: String,
    pub snapshot: serde_json::Value,
    pub entry_hash: String,
    pub chain_hash: String,
}

impl From<&Revision> for RevisionRecord {
    fn from(r: &Revision) -> Self {
        RevisionRecord {
            seq: r.seq,
            entity_kind: r.entity_kind,
            entity_id: r.entity_id,
            entity_version: r.entity_version,
            action: r.action,
            actor_id: r.actor_id,
            reason: r.reason.clone(),
            recorded_at: format_timestamp(r.recorded_at),
            snapshot: r.snapshot.clone(),
            entry_hash: hex::encode(&r.entry_hash),
            chain_hash: hex::encode(&r.chain_hash),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// serde (and so the OpenAPI document) spells variants in snake_case;
    /// the column spelling must be the same.
    #[test]
    fn every_text_enum_spells_itself_the_same_everywhere() {
        fn check<T: serde::Serialize + Copy + std::fmt::Display + std::fmt::Debug>(all: &[T], parse: fn(&str) -> Option<T>) {
            for v in all {
                assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!(v.to_string()), "{v:?}");
                assert!(parse(&v.to_string()).is_some(), "{v:?}");
            }
        }
        use crate::model::{appearance, claim, editor, evidence, verdict};
        check(EntityKind::ALL, EntityKind::parse);
        check(Action::ALL, Action::parse);
        check(claim::ClaimStatus::ALL, claim::ClaimStatus::parse);
        check(appearance::AppearanceStatus::ALL, appearance::AppearanceStatus::parse);
        check(evidence::Stance::ALL, evidence::Stance::parse);
        check(evidence::EvidenceStatus::ALL, evidence::EvidenceStatus::parse);
        check(verdict::Rating::ALL, verdict::Rating::parse);
        check(verdict::VerdictStatus::ALL, verdict::VerdictStatus::parse);
        check(editor::Role::ALL, editor::Role::parse);
    }

    #[test]
    fn timestamps_always_have_microseconds() {
        let t = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z").unwrap().with_timezone(&Utc);
        assert_eq!(format_timestamp(t), "2026-01-02T03:04:05.000000Z");
    }
}
