//! The transparency log's public reads (issue 14, DESIGN §8): C2SP tiles and
//! entry bundles, inclusion and consistency proofs, and tlog-proof files.
//! Each read loads the tiles it needs in one query.

use diesel::pg::PgConnection;

use crate::error::{AppError, AppResult};
use crate::ledger::tree;
use crate::tlog::merkle::{self, leaf_index_for_seq};
use crate::tlog::{BundleId, Hash, TileId, TlogProof, bundle, tile};

/// A hash tile's bytes, when the tree has that tile at (at least) that width.
pub fn tile(conn: &mut PgConnection, id: TileId) -> AppResult<Vec<u8>> {
    let size = tree::tree_size(conn)?;
    let have = tile::tile_width(id.level, id.index, size);
    if have.is_none_or(|w| w < id.width) {
        return Err(AppError::NotFound(format!("the tree of size {size} has no tile {}", id.path())));
    }
    tree::tile_bytes(conn, id)?.ok_or_else(|| AppError::internal(format!("tile {} is missing from storage", id.path())))
}

/// An entry bundle: the leaf data (entry hashes) with 2-byte length prefixes.
pub fn entries(conn: &mut PgConnection, id: BundleId) -> AppResult<Vec<u8>> {
    let size = tree::tree_size(conn)?;
    if tile::bundle_width(id.index, size).is_none_or(|w| w < id.width) {
        return Err(AppError::NotFound(format!(
            "the tree of size {size} has no entry bundle {}",
            id.path()
        )));
    }
    let first = id.first_leaf() as i64;
    let data = tree::leaf_data(conn, first, first + i64::from(id.width))?;
    if data.len() != usize::from(id.width) {
        return Err(AppError::internal(format!(
            "entry bundle {} has {} of {} entries",
            id.path(),
            data.len(),
            id.width
        )));
    }
    bundle::encode_entry_bundle(data.iter().map(Vec::as_slice)).map_err(AppError::internal)
}

/// An RFC 9162 inclusion proof of revision `seq` in the tree of `size` leaves.
#[derive(Debug, Clone)]
pub struct Inclusion {
    pub seq: i64,
    pub leaf_index: u64,
    pub tree_size: u64,
    pub hashes: Vec<Hash>,
}

fn size_in_tree(conn: &mut PgConnection, field: &str, size: u64) -> AppResult<()> {
    let stored = tree::tree_size(conn)?;
    if size > stored {
        return Err(AppError::field(
            field,
            format!("the tree holds {stored} leaves; {size} is beyond it"),
        ));
    }
    Ok(())
}

pub fn inclusion(conn: &mut PgConnection, seq: i64, size: u64) -> AppResult<Inclusion> {
    let needed = inclusion_tiles(seq, size)?;
    let tiles = tiles_in_tree(conn, size, &needed)?;
    inclusion_from(seq, size, tiles)
}

/// Revision `seq`'s leaf index, which must be in the tree of `size` leaves.
fn leaf_index(seq: i64, size: u64) -> AppResult<u64> {
    leaf_index_for_seq(seq)
        .filter(|i| *i < size)
        .ok_or_else(|| AppError::field("seq", format!("seq must be between 1 and the tree size ({size})")))
}

/// The tiles the inclusion proof of revision `seq` in the tree of `size`
/// leaves is computed from.
pub fn inclusion_tiles(seq: i64, size: u64) -> AppResult<Vec<TileId>> {
    tile::tiles_for_inclusion(leaf_index(seq, size)?, size).map_err(AppError::internal)
}

/// Tiles of the tree of `size` leaves (which must not be beyond the stored
/// tree), each cut to its width: what a tile holds at a width never
/// changes, so callers may keep them.
pub fn tiles_in_tree(conn: &mut PgConnection, size: u64, ids: &[TileId]) -> AppResult<Vec<(TileId, Vec<u8>)>> {
    size_in_tree(conn, "size", size)?;
    tree::load_tile_bytes(conn, ids)
}

/// The inclusion proof of revision `seq` in the tree of `size` leaves, from
/// the tiles [`inclusion_tiles`] names (however they were read).
pub fn inclusion_from(seq: i64, size: u64, tiles: Vec<(TileId, Vec<u8>)>) -> AppResult<Inclusion> {
    let index = leaf_index(seq, size)?;
    let mut set = tile::TileSet::new();
    for (id, bytes) in tiles {
        set.insert(id.level, id.index, bytes).map_err(AppError::internal)?;
    }
    let hashes = merkle::inclusion_proof(index, size, &set).map_err(AppError::internal)?;
    Ok(Inclusion {
        seq,
        leaf_index: index,
        tree_size: size,
        hashes,
    })
}

/// An RFC 9162 consistency proof between the trees of `from` and `to` leaves.
pub fn consistency(conn: &mut PgConnection, from: u64, to: u64) -> AppResult<Vec<Hash>> {
    if from > to {
        return Err(AppError::field("from", "from must not be larger than to"));
    }
    size_in_tree(conn, "to", to)?;
    if from == 0 || from == to {
        return Ok(vec![]);
    }
    let tiles = tree::load_tiles(conn, &tile::tiles_for_consistency(from, to).map_err(AppError::internal)?)?;
    merkle::consistency_proof(from, to, &tiles).map_err(AppError::internal)
}

/// The C2SP tlog-proof of revision `seq` against the newest signed checkpoint
/// (with its cosignatures).
pub fn tlog_proof(conn: &mut PgConnection, seq: i64, quorum: usize) -> AppResult<String> {
    super::transaction(conn, |conn| {
        let latest =
            super::checkpoints::served(conn, quorum)?.ok_or_else(|| AppError::NotFound("no checkpoint has been signed yet".into()))?;
        let size = latest.tree_size as u64;
        if seq < 1 {
            return Err(AppError::field("seq", "seq must be ≥ 1"));
        }
        if seq as u64 > size {
            return Err(AppError::NotFound(format!(
                "revision {seq} is not covered by a signed checkpoint yet (the newest covers {size}); retry shortly"
            )));
        }
        let proof = inclusion(conn, seq, size)?;
        let note = super::checkpoints::with_cosignatures(conn, &latest)?;
        Ok(TlogProof {
            extra: None,
            index: proof.leaf_index,
            inclusion: proof.hashes,
            checkpoint_note: note,
        }
        .to_text())
    })
}

/// One revision a public fact check is built from, with its inclusion proof.
#[derive(Debug, Clone)]
pub struct ProvenRevision {
    pub revision: crate::model::Revision,
    pub inclusion: Inclusion,
}

/// Everything needed to prove a public fact check from the log.
#[derive(Debug, Clone)]
pub struct FactCheckProof {
    /// The signed checkpoint (with cosignatures) every proof leads to.
    pub checkpoint: String,
    pub key_name: String,
    pub revisions: Vec<ProvenRevision>,
}

/// For every revision the public fact check of `claim_id` is built from
/// (the claim, its claimant, its active appearances and their articles, the
/// verdict, the verdicts it corrected and its cited evidence — each entity
/// as of the fact check's log position), its inclusion proof in the newest
/// signed checkpoint.
pub fn factcheck_proof(conn: &mut PgConnection, claim_id: uuid::Uuid, key_name: &str, quorum: usize) -> AppResult<FactCheckProof> {
    conn.build_transaction().read_only().repeatable_read().run(|conn| {
        let (fc_seq, f, _) = super::factchecks::aggregate(conn, claim_id)?;
        let f = &f;
        let mut ids = vec![f.claim.id, f.verdict.id];
        ids.extend(f.claimant.iter().map(|c| c.id));
        for (a, article) in &f.appearances {
            ids.extend([a.id, article.id]);
        }
        ids.extend(f.evidence.iter().map(|e| e.id));
        ids.extend(f.corrections.iter().map(|c| c.verdict.id));
        ids.sort();
        ids.dedup();
        let latest = super::checkpoints::served(conn, quorum)?
            .ok_or_else(|| AppError::Unavailable("no checkpoint has been signed yet; retry shortly".into()))?;
        let size = latest.tree_size as u64;
        if fc_seq as u64 > size {
            return Err(AppError::Unavailable(format!(
                "the fact check (seq {}) is not covered by a signed checkpoint yet (the newest covers {size}); retry shortly",
                fc_seq
            )));
        }
        let mut revisions = crate::ledger::asof::newest_of(conn, &ids, fc_seq)?;
        revisions.sort_by_key(|r| r.seq);
        let mut out = Vec::with_capacity(revisions.len());
        for revision in revisions {
            let inclusion = inclusion(conn, revision.seq, size)?;
            out.push(ProvenRevision { revision, inclusion });
        }
        Ok(FactCheckProof {
            checkpoint: super::checkpoints::with_cosignatures(conn, &latest)?,
            key_name: key_name.to_string(),
            revisions: out,
        })
    })
}
