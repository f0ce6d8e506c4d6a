//! Domain types shared by every layer. No I/O here: types parse, they don't
//! validate later.

pub mod editor;
pub mod revision;

pub use editor::{Actor, Editor, Role, SYSTEM_ACTOR, Username};
pub use revision::{Action, EntityKind, Revision, RevisionRecord};
