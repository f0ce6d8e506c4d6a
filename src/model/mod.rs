//! Domain types shared by every layer. No I/O here: types parse, they don't
//! validate later.

pub mod revision;

pub use revision::{Action, EntityKind, Revision, RevisionRecord};
