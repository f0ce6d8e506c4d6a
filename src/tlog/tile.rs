//! C2SP tlog-tiles coordinates: tiles of 256 hashes at tree levels 0, 8, 16, …, their paths
//! (`tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`, N in `x001/x234/067` groups), which
//! tiles a tree has, which tiles a proof needs, and [`TileSet`], a [`HashReader`] over loaded
//! tile data.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use super::hash::{HASH_SIZE, Hash, perfect_subtree_hash};
use super::merkle::{self, HashReader, TreeError};

/// Tree levels per tile level.
pub const TILE_HEIGHT: u32 = 8;
/// Hashes in a full tile (entries in a full bundle).
pub const TILE_WIDTH: u64 = 256;
/// The spec's largest tile level.
pub const MAX_LEVEL: u8 = 63;

/// A hash tile: `width` hashes of tree level 8·`level`, starting at index 256·`index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    pub level: u8,
    pub index: u64,
    /// 1..=256; 256 is a full tile.
    pub width: u16,
}

/// An entry bundle: the data of leaves `256·index ..` (`width` of them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BundleId {
    pub index: u64,
    pub width: u16,
}

/// A parsed `tile/…` path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TilePath {
    Hashes(TileId),
    Entries(BundleId),
}

/// Why a tile path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed tile path '{path}': {reason}")]
pub struct TilePathError {
    pub path: String,
    pub reason: &'static str,
}

impl TileId {
    pub fn is_full(&self) -> bool {
        u64::from(self.width) == TILE_WIDTH
    }

    /// The C2SP path, e.g. `tile/1/x001/234.p/7`.
    pub fn path(&self) -> String {
        format!("tile/{}/{}", self.level, index_and_width(self.index, self.width))
    }

    /// The same tile in Go's sumdb layout (`tile/8/L/N…`), which carries the tile height.
    pub fn go_path(&self) -> String {
        format!("tile/8/{}/{}", self.level, index_and_width(self.index, self.width))
    }

    /// Bytes of the tile's data.
    pub fn byte_len(&self) -> usize {
        usize::from(self.width) * HASH_SIZE
    }
}

impl fmt::Display for TileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

impl BundleId {
    pub fn path(&self) -> String {
        format!("tile/entries/{}", index_and_width(self.index, self.width))
    }

    /// Leaf index of the bundle's first entry.
    pub fn first_leaf(&self) -> u64 {
        self.index * TILE_WIDTH
    }
}

/// `N` in 3-digit groups, all but the last prefixed with `x`: 1234067 → `x001/x234/067`.
pub fn encode_index(n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    let mut rest = n / 1000;
    while rest > 0 {
        groups.push(format!("x{:03}", rest % 1000));
        rest /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

fn index_and_width(index: u64, width: u16) -> String {
    if u64::from(width) == TILE_WIDTH {
        encode_index(index)
    } else {
        format!("{}.p/{}", encode_index(index), width)
    }
}

/// Parses `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`. Only the canonical encoding
/// is accepted (3-digit groups, no leading `x000` group, W in 1..=255 without leading zeros).
pub fn parse_tile_path(path: &str) -> Result<TilePath, TilePathError> {
    let bad = |reason| TilePathError {
        path: path.chars().take(80).collect(),
        reason,
    };
    if path.len() > 64 {
        return Err(bad("too long"));
    }
    let rest = path.strip_prefix("tile/").ok_or_else(|| bad("does not start with tile/"))?;
    let (kind, rest) = rest.split_once('/').ok_or_else(|| bad("no tile index"))?;
    let level = if kind == "entries" {
        None
    } else {
        let l: u8 = parse_decimal(kind)
            .and_then(|l| u8::try_from(l).ok())
            .ok_or_else(|| bad("level is not a decimal number"))?;
        if l > MAX_LEVEL {
            return Err(bad("level is above 63"));
        }
        Some(l)
    };
    let (groups, width) = match rest.split_once(".p/") {
        Some((groups, w)) => {
            let w = parse_decimal(w)
                .filter(|w| (1..TILE_WIDTH).contains(w))
                .ok_or_else(|| bad("partial width is not 1..255"))?;
            (groups, w as u16)
        }
        None => (rest, TILE_WIDTH as u16),
    };
    let parts: Vec<&str> = groups.split('/').collect();
    let mut index: u64 = 0;
    for (i, part) in parts.iter().enumerate() {
        let digits = if i + 1 < parts.len() {
            part.strip_prefix('x').ok_or_else(|| bad("a leading index group lacks its x"))?
        } else {
            part
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("an index group is not 3 digits"));
        }
        let g: u64 = digits.parse().map_err(|_| bad("an index group is not 3 digits"))?;
        index = index
            .checked_mul(1000)
            .and_then(|n| n.checked_add(g))
            .ok_or_else(|| bad("index overflows 64 bits"))?;
    }
    if encode_index(index) != groups {
        return Err(bad("index is not canonically encoded"));
    }
    Ok(match level {
        Some(level) => TilePath::Hashes(TileId { level, index, width }),
        None => TilePath::Entries(BundleId { index, width }),
    })
}

/// Digits only, no sign, no leading zeros (except "0").
fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) || s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

/// Hashes at tile level `level` in a tree of `size` leaves.
fn level_count(level: u8, size: u64) -> u64 {
    size.checked_shr(u32::from(level) * TILE_HEIGHT).unwrap_or(0)
}

/// The width of tile (`level`, `index`) in a tree of `size` leaves; `None` if the tree has no such tile.
pub fn tile_width(level: u8, index: u64, size: u64) -> Option<u16> {
    let count = level_count(level, size);
    let start = index.checked_mul(TILE_WIDTH)?;
    (start < count).then(|| (count - start).min(TILE_WIDTH) as u16)
}

/// The width of entry bundle `index` in a tree of `size` leaves, if it exists.
pub fn bundle_width(index: u64, size: u64) -> Option<u16> {
    tile_width(0, index, size)
}

/// Every tile of a tree of `size` leaves (full and partial), bottom level first.
pub fn tiles_for_size(size: u64) -> Vec<TileId> {
    let mut out = Vec::new();
    for level in 0..=MAX_LEVEL {
        let count = level_count(level, size);
        if count == 0 {
            break;
        }
        for index in 0..count.div_ceil(TILE_WIDTH) {
            if let Some(width) = tile_width(level, index, size) {
                out.push(TileId { level, index, width });
            }
        }
    }
    out
}

/// Every entry bundle of a tree of `size` leaves.
pub fn bundles_for_size(size: u64) -> Vec<BundleId> {
    (0..size.div_ceil(TILE_WIDTH))
        .filter_map(|index| bundle_width(index, size).map(|width| BundleId { index, width }))
        .collect()
}

/// The partial tiles of a tree: all [`crate::tlog::frontier::Frontier::from_reader`] reads.
pub fn tiles_for_frontier(size: u64) -> Vec<TileId> {
    (0..=MAX_LEVEL)
        .filter_map(|level| {
            let width = level_count(level, size) % TILE_WIDTH;
            (width > 0).then(|| TileId {
                level,
                index: level_count(level, size) / TILE_WIDTH,
                width: width as u16,
            })
        })
        .collect()
}

/// Records the subtrees a computation reads and answers with placeholder hashes.
struct Planner {
    size: u64,
    tiles: std::cell::RefCell<BTreeSet<(u8, u64)>>,
}

impl HashReader for Planner {
    fn node(&self, height: u8, index: u64) -> Result<Hash, TreeError> {
        let (level, first, count) = tile_span(height, index)?;
        let end = first.checked_add(count).ok_or(TreeError::BeyondTree {
            height,
            index,
            size: self.size,
        })?;
        if end > level_count(level, self.size) {
            return Err(TreeError::BeyondTree {
                height,
                index,
                size: self.size,
            });
        }
        self.tiles.borrow_mut().insert((level, first / TILE_WIDTH));
        Ok(Hash::default())
    }
}

/// Where a subtree's hash comes from: tile level, first hash index at that level, hash count.
fn tile_span(height: u8, index: u64) -> Result<(u8, u64, u64), TreeError> {
    let level = (u32::from(height) / TILE_HEIGHT) as u8;
    let within = u32::from(height) % TILE_HEIGHT;
    let first = index
        .checked_shl(within)
        .filter(|f| f >> within == index)
        .ok_or(TreeError::BeyondTree {
            height,
            index,
            size: u64::MAX,
        })?;
    Ok((level, first, 1u64 << within))
}

fn plan(size: u64, run: impl FnOnce(&Planner) -> Result<(), TreeError>) -> Result<Vec<TileId>, TreeError> {
    let planner = Planner {
        size,
        tiles: Default::default(),
    };
    run(&planner)?;
    let tiles = planner.tiles.into_inner();
    Ok(tiles
        .into_iter()
        .filter_map(|(level, index)| tile_width(level, index, size).map(|width| TileId { level, index, width }))
        .collect())
}

/// The tiles (at their width in a tree of `size`) needed to prove leaf `index` in that tree.
pub fn tiles_for_inclusion(index: u64, size: u64) -> Result<Vec<TileId>, TreeError> {
    plan(size, |p| merkle::inclusion_proof(index, size, p).map(drop))
}

/// The tiles (at their width in a tree of `to`) needed to prove `to` consistent with `from`.
pub fn tiles_for_consistency(from: u64, to: u64) -> Result<Vec<TileId>, TreeError> {
    plan(to, |p| merkle::consistency_proof(from, to, p).map(drop))
}

/// The tiles needed to compute the root of a tree of `size` leaves.
pub fn tiles_for_tree_hash(size: u64) -> Vec<TileId> {
    plan(size, |p| merkle::tree_hash(size, p).map(drop)).unwrap_or_default()
}

/// Tile data loaded from storage, keyed by (level, index); a [`HashReader`] for proofs.
/// A stored tile may hold more hashes than a given tree size needs (a partial tile that
/// has grown since): hashes never change once written, so any prefix is valid.
#[derive(Debug, Clone, Default)]
pub struct TileSet {
    tiles: HashMap<(u8, u64), Vec<u8>>,
}

/// Tile data of the wrong shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tile level {level}, index {index}: {reason}")]
pub struct TileDataError {
    pub level: u8,
    pub index: u64,
    pub reason: String,
}

impl TileSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a tile's data (a multiple of 32 bytes, at most 8,192).
    pub fn insert(&mut self, level: u8, index: u64, data: Vec<u8>) -> Result<(), TileDataError> {
        let bad = |reason: String| TileDataError { level, index, reason };
        if data.is_empty() || !data.len().is_multiple_of(HASH_SIZE) || data.len() > TILE_WIDTH as usize * HASH_SIZE {
            return Err(bad(format!("{} bytes is not 1..256 hashes of 32 bytes", data.len())));
        }
        if level > MAX_LEVEL {
            return Err(bad("level is above 63".into()));
        }
        self.tiles.insert((level, index), data);
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.tiles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tiles.is_empty()
    }
}

impl HashReader for TileSet {
    fn node(&self, height: u8, index: u64) -> Result<Hash, TreeError> {
        let (level, first, count) = tile_span(height, index)?;
        let tile = first / TILE_WIDTH;
        let data = self.tiles.get(&(level, tile)).ok_or(TreeError::MissingTile {
            height,
            index,
            level,
            tile,
        })?;
        let start = (first % TILE_WIDTH) as usize;
        let need = start + count as usize;
        let have = data.len() / HASH_SIZE;
        if have < need {
            return Err(TreeError::ShortTile { level, tile, have, need });
        }
        let mut hashes = [Hash::default(); TILE_WIDTH as usize];
        for (slot, chunk) in hashes
            .iter_mut()
            .zip(data[start * HASH_SIZE..need * HASH_SIZE].chunks_exact(HASH_SIZE))
        {
            slot.0.copy_from_slice(chunk);
        }
        Ok(perfect_subtree_hash(&hashes[..count as usize]))
    }
}
