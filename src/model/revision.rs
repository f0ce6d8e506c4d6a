//! The log's vocabulary: entity kinds, actions, and a stored revision.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
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
    };
}
#[allow(unused_imports)]
pub(crate) use text_enum;

text_enum!(
    /// What a revision is about.
    EntityKind {
        Editor => "editor",
        Article => "article",
        Claim => "claim",
        Appearance => "appearance",
        Evidence => "evidence",
        Verdict => "verdict",
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
    }
);

/// One stored revision, exactly as the log holds it.
#[derive(Clone, Debug, PartialEq, diesel::Queryable, diesel::Selectable, diesel::QueryableByName)]
#[diesel(table_name = crate::db::schema::revisions)]
pub struct Revision {
    pub seq: i64,
    pub entity_kind: String,
    pub entity_id: Uuid,
    pub entity_version: i32,
    pub action: String,
    pub actor_id: Uuid,
    pub reason: Option<String>,
    pub recorded_at: DateTime<Utc>,
    pub snapshot: serde_json::Value,
    pub entry_hash: Vec<u8>,
    pub chain_hash: Vec<u8>,
}

/// A revision as JSON, in the API and in the export: exactly the entry's
/// fields plus seq, entry_hash and chain_hash (lowercase hex).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevisionRecord {
    pub seq: i64,
    pub entity_kind: String,
    pub entity_id: Uuid,
    pub entity_version: i32,
    pub action: String,
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
            entity_kind: r.entity_kind.clone(),
            entity_id: r.entity_id,
            entity_version: r.entity_version,
            action: r.action.clone(),
            actor_id: r.actor_id,
            reason: r.reason.clone(),
            recorded_at: crate::ledger::hash::format_timestamp(r.recorded_at),
            snapshot: r.snapshot.clone(),
            entry_hash: hex::encode(&r.entry_hash),
            chain_hash: hex::encode(&r.chain_hash),
        }
    }
}
