//! Bulk imports: many entities and their whole history at once (a
//! migration from another system, the benchmark's data set). The rows are
//! copied into the projections as they stand at the end of the import, and
//! every revision that leads there is recorded as one pending group, which
//! the sequencer takes whole — the same log, hashes and derivations as any
//! write, in bulk.

use diesel::pg::PgConnection;
use diesel::prelude::*;

use super::{PendingGroup, transaction};
use crate::db::schema::{appearances, articles, claims, evidence, verdicts};
use crate::error::AppResult;
use crate::ledger::{self, NewRevision};
use crate::model::{Appearance, Article, Claim, Evidence, Verdict};

/// What an import writes. Each row is its entity's final state, and its
/// last revision (in this import or a later one) must snapshot exactly that
/// row, or `verify --state` reports the difference.
#[derive(Debug, Default)]
pub struct Import {
    pub articles: Vec<Article>,
    pub claims: Vec<Claim>,
    pub appearances: Vec<Appearance>,
    pub evidence: Vec<Evidence>,
    pub verdicts: Vec<Verdict>,
    /// In the order they happened.
    pub revisions: Vec<NewRevision>,
}

/// Writes one import in one transaction: rows with COPY, revisions as one
/// pending group.
pub fn import(conn: &mut PgConnection, batch: &Import) -> AppResult<Option<PendingGroup>> {
    transaction(conn, |conn| {
        if !batch.articles.is_empty() {
            diesel::copy_from(articles::table).from_insertable(&batch.articles).execute(conn)?;
        }
        if !batch.claims.is_empty() {
            diesel::copy_from(claims::table).from_insertable(&batch.claims).execute(conn)?;
        }
        if !batch.appearances.is_empty() {
            diesel::copy_from(appearances::table)
                .from_insertable(&batch.appearances)
                .execute(conn)?;
        }
        if !batch.evidence.is_empty() {
            diesel::copy_from(evidence::table).from_insertable(&batch.evidence).execute(conn)?;
        }
        if !batch.verdicts.is_empty() {
            diesel::copy_from(verdicts::table).from_insertable(&batch.verdicts).execute(conn)?;
        }
        ledger::append_batch(conn, &batch.revisions)
    })
}
