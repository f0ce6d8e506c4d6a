//! The Merkle tree over the log (issue 14, DESIGN §8), stored as C2SP tlog
//! tiles: leaf index = seq − 1, leaf data = the revision's 32-byte
//! entry_hash. The sequencer integrates each batch inside its own
//! transaction ([`integrate`]); an upgraded database catches up from
//! `log_derived.tree_size` ([`catch_up_batch`]). Reads load the tiles a
//! proof needs in one query ([`load_tiles`]).

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bytea, SmallInt};

use crate::db::schema::{log_derived, revisions};
use crate::db::sql::{Param, Sql};
use crate::error::{AppError, AppResult};
use crate::tlog::{Frontier, Hash, TileDelta, TileId, TileSet, tile};

/// Leaves in the stored tree.
pub fn tree_size(conn: &mut PgConnection) -> AppResult<u64> {
    let size: i64 = log_derived::table.select(log_derived::tree_size).first(conn)?;
    Ok(size as u64)
}

#[derive(QueryableByName)]
struct TileRow {
    #[diesel(sql_type = SmallInt)]
    level: i16,
    #[diesel(sql_type = BigInt)]
    idx: i64,
    #[diesel(sql_type = Bytea)]
    hashes: Vec<u8>,
}

/// Loads the given tiles (one query). A stored tile may be wider than asked
/// (it grew since); hashes never change, so any prefix is that tile.
pub fn load_tiles(conn: &mut PgConnection, tiles: &[TileId]) -> AppResult<TileSet> {
    let mut set = TileSet::new();
    for (id, bytes) in load_tile_bytes(conn, tiles)? {
        set.insert(id.level, id.index, bytes).map_err(AppError::internal)?;
    }
    Ok(set)
}

/// The given tiles' bytes, each cut to its asked width (one query). A tile
/// stored narrower than asked comes as stored; one not stored, not at all.
pub fn load_tile_bytes(conn: &mut PgConnection, tiles: &[TileId]) -> AppResult<Vec<(TileId, Vec<u8>)>> {
    if tiles.is_empty() {
        return Ok(vec![]);
    }
    let levels: Vec<i32> = tiles.iter().map(|t| i32::from(t.level)).collect();
    let indexes: Vec<i64> = tiles.iter().map(|t| t.index as i64).collect();
    let rows: Vec<TileRow> = Sql::fixed(
        "SELECT t.level, t.idx, t.hashes FROM tlog_tiles t \
         JOIN unnest($1::int[], $2::bigint[]) AS w(l, i) ON t.level = w.l AND t.idx = w.i",
        vec![Param::Ints(levels), Param::BigInts(indexes)],
    )
    .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let id = *tiles
                .iter()
                .find(|t| i16::from(t.level) == row.level && t.index as i64 == row.idx)?;
            let mut bytes = row.hashes;
            bytes.truncate(usize::from(id.width) * 32);
            Some((id, bytes))
        })
        .collect())
}

/// One stored tile's bytes, cut to `width` hashes; None when it is not
/// stored or holds fewer.
pub fn tile_bytes(conn: &mut PgConnection, id: TileId) -> AppResult<Option<Vec<u8>>> {
    let rows: Vec<TileRow> = Sql::fixed(
        "SELECT level, idx, hashes FROM tlog_tiles WHERE level = $1 AND idx = $2",
        vec![Param::Int(i32::from(id.level)), Param::BigInt(id.index as i64)],
    )
    .load(conn)?;
    let want = usize::from(id.width) * 32;
    Ok(rows
        .into_iter()
        .next()
        .and_then(|r| (r.hashes.len() >= want).then(|| r.hashes[..want].to_vec())))
}

/// The entry hashes (leaf data) of seqs `after < seq ≤ upto`, in order.
pub fn leaf_data(conn: &mut PgConnection, after: i64, upto: i64) -> AppResult<Vec<Vec<u8>>> {
    Ok(revisions::table
        .filter(revisions::seq.gt(after).and(revisions::seq.le(upto)))
        .order(revisions::seq.asc())
        .select(revisions::entry_hash)
        .load(conn)?)
}

/// The stored tree's right edge, read from its partial tiles.
pub fn frontier(conn: &mut PgConnection, size: u64) -> AppResult<Frontier> {
    let tiles = load_tiles(conn, &tile::tiles_for_frontier(size))?;
    Frontier::from_reader(size, &tiles).map_err(|e| AppError::internal(format!("the stored tree of size {size} is unreadable: {e}")))
}

/// The root of the stored tree of `size` leaves (any size up to the stored one).
pub fn root_at(conn: &mut PgConnection, size: u64) -> AppResult<Hash> {
    let tiles = load_tiles(conn, &tile::tiles_for_tree_hash(size))?;
    crate::tlog::merkle::tree_hash(size, &tiles)
        .map_err(|e| AppError::internal(format!("the stored tree of size {size} is unreadable: {e}")))
}

/// Appends leaves (entry hashes of seqs `size+1 ..`) to the stored tree,
/// writes the new tile hashes and records the new size; returns it.
fn append(conn: &mut PgConnection, size: u64, leaves: &[&[u8]]) -> AppResult<u64> {
    if leaves.is_empty() {
        return Ok(size);
    }
    let mut front = frontier(conn, size)?;
    let writes = TileWrites::taking(&mut front, leaves)?;
    let new_size = front.size();
    let mut sql = Sql::build();
    sql.push("WITH tiles AS (");
    let expected = writes.push_upsert(&mut sql);
    let size = sql.param(Param::BigInt(new_size as i64));
    sql.push(&format!(
        "), tree AS (UPDATE log_derived SET tree_size = {size}) SELECT count(*) AS written FROM tiles"
    ));
    let written: Written = sql.get_result(conn)?;
    check_written(expected, written.written)?;
    Ok(new_size)
}

/// How many tiles a statement wrote.
#[derive(QueryableByName)]
pub(super) struct Written {
    #[diesel(sql_type = BigInt)]
    pub(super) written: i64,
}

/// The tiles a batch of leaves changed, to be written in one statement (the
/// caller's: [`TileWrites::push_upsert`] goes into it).
pub(super) struct TileWrites {
    levels: Vec<i32>,
    indexes: Vec<i64>,
    bytes: Vec<Vec<u8>>,
}

impl TileWrites {
    /// Takes leaves into `front`; the tiles that changed.
    fn taking(front: &mut Frontier, leaves: &[&[u8]]) -> AppResult<TileWrites> {
        if let Some(bad) = leaves.iter().find(|l| l.len() != 32) {
            return Err(AppError::internal(format!(
                "a leaf is {} bytes, not a 32-byte entry hash",
                bad.len()
            )));
        }
        let mut delta = TileDelta::new();
        front.append_data(leaves.iter().copied(), &mut delta);
        let writes = delta.writes();
        let mut out = TileWrites {
            levels: Vec::with_capacity(writes.len()),
            indexes: Vec::with_capacity(writes.len()),
            bytes: Vec::with_capacity(writes.len()),
        };
        for w in &writes {
            out.levels.push(i32::from(w.tile.level));
            out.indexes.push(w.tile.index as i64);
            out.bytes.push(w.bytes());
        }
        Ok(out)
    }

    /// Puts the upsert into `sql`, `RETURNING 1` per tile written (a new
    /// tile is inserted; a partial one grows at its end, never past 256
    /// hashes), and returns how many tiles it must write: for [`check_written`].
    pub(super) fn push_upsert(self, sql: &mut Sql<'_>) -> usize {
        let count = self.levels.len();
        let (l, i, h) = (
            sql.param(Param::Ints(self.levels)),
            sql.param(Param::BigInts(self.indexes)),
            sql.param(Param::Byteas(self.bytes)),
        );
        sql.push(&format!(
            "INSERT INTO tlog_tiles AS t (level, idx, hashes) \
             SELECT w.l::smallint, w.i, w.h FROM unnest({l}::int[], {i}::bigint[], {h}::bytea[]) AS w(l, i, h) \
             ON CONFLICT (level, idx) DO UPDATE SET hashes = t.hashes || excluded.hashes \
             WHERE octet_length(t.hashes) + octet_length(excluded.hashes) <= 8192 \
             RETURNING 1"
        ));
        count
    }
}

/// Every tile must have been written (a partial tile that did not take its
/// hashes means the stored tree is not the one the frontier holds).
pub(super) fn check_written(expected: usize, written: i64) -> AppResult<()> {
    if written as usize != expected {
        return Err(AppError::internal(format!(
            "the tree's tiles did not take {} of {expected} writes",
            expected as i64 - written
        )));
    }
    Ok(())
}

/// The tree's right edge as the sequencer's own last committed batch left
/// it: the next batch need not read the tree's size and frontier tiles
/// back. Empty at first, after a failed batch (its transaction rolled back
/// what the frontier took in) and whenever it does not end where the next
/// batch begins.
#[derive(Default)]
pub struct KeptTree(Option<Frontier>);

impl KeptTree {
    pub fn forget(&mut self) {
        self.0 = None;
    }
}

/// Integrates the leaves of a batch that follows seq `before` (in the
/// sequencer's transaction): the tree's new size and the tiles to write,
/// for the caller to write with the head in one statement. A tree behind
/// the batch (an upgraded database) first takes the revisions between.
pub(super) fn integrate(conn: &mut PgConnection, before: i64, leaves: &[&[u8]], kept: &mut KeptTree) -> AppResult<(u64, TileWrites)> {
    let mut front = match kept.0.take() {
        Some(front) if front.size() as i64 == before => front,
        _ => {
            let mut size = tree_size(conn)?;
            if (size as i64) < before {
                let gap = leaf_data(conn, size as i64, before)?;
                size = append(conn, size, &gap.iter().map(Vec::as_slice).collect::<Vec<_>>())?;
            }
            if size as i64 != before {
                return Err(AppError::internal(format!(
                    "the tree holds {size} leaves, but the batch starts at seq {}",
                    before + 1
                )));
            }
            frontier(conn, size)?
        }
    };
    let writes = TileWrites::taking(&mut front, leaves)?;
    let size = front.size();
    kept.0 = Some(front);
    Ok((size, writes))
}

/// Integrates up to `limit` sequenced revisions the tree does not hold yet
/// (catching up after an upgrade); returns (new size, head seq).
pub fn catch_up_batch(conn: &mut PgConnection, limit: i64) -> AppResult<(u64, i64)> {
    let size = tree_size(conn)?;
    let head = super::head(conn)?.seq;
    let upto = head.min(size as i64 + limit);
    let leaves = leaf_data(conn, size as i64, upto)?;
    let new_size = append(conn, size, &leaves.iter().map(Vec::as_slice).collect::<Vec<_>>())?;
    Ok((new_size, head))
}
