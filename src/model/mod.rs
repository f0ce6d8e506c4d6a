//! Domain types shared by every layer. No I/O here: types parse, they don't
//! validate later.

pub mod appearance;
pub mod article;
pub mod canonical;
pub mod claim;
pub mod claimant;
pub mod digest;
pub mod editor;
pub mod evidence;
pub mod factcheck;
pub mod fields;
pub mod paging;
pub mod quote;
pub mod recorded;
pub mod revision;
pub mod verdict;
pub mod webhook;

pub use appearance::Appearance;
pub use article::Article;
pub use claim::Claim;
pub use claimant::Claimant;
pub use editor::{Actor, Editor, Role, SYSTEM_ACTOR, Username};
pub use evidence::Evidence;
pub use recorded::{Recorded, Snapshot};
pub use revision::{Action, EntityKind, Revision, RevisionRecord, SnapshotText, format_timestamp, named_claim};
pub use verdict::{Rating, Verdict, VerdictStatus};
