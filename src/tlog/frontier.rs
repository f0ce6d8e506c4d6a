//! Incremental integration: the tree's right edge ("compact range") plus batch appends that
//! produce exactly the new tile hashes to store.
//!
//! The integrator keeps a [`Frontier`] (rebuilt at start from the partial tiles, see
//! [`crate::tlog::tile::tiles_for_frontier`]), appends leaf hashes in batches inside its DB
//! transaction and writes the [`TileDelta`]'s [`TileWrite`]s. A leaf costs one leaf hash plus on
//! average one node hash; no per-leaf allocation (the delta's buffers are reused between batches).

use super::hash::{EMPTY_ROOT, Hash, leaf_hash, node_hash};
use super::merkle::{HashReader, TreeError};
use super::tile::{TILE_HEIGHT, TILE_WIDTH, TileId};

/// The hashes of the complete subtrees that make up a tree of `size` leaves, left to right
/// (one per set bit of `size`, largest first). Enough to append and to compute the root.
#[derive(Clone, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

impl std::fmt::Debug for Frontier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Frontier {{ size: {}, root: {} }}", self.size, self.root())
    }
}

impl Default for Frontier {
    fn default() -> Self {
        Self::empty()
    }
}

impl Frontier {
    pub fn empty() -> Self {
        Frontier {
            size: 0,
            nodes: Vec::with_capacity(64),
        }
    }

    /// Rebuilds the right edge of a stored tree of `size` leaves. With a tile store this reads
    /// only the partial tiles (`tiles_for_frontier(size)`).
    pub fn from_reader<R: HashReader + ?Sized>(size: u64, r: &R) -> Result<Self, TreeError> {
        let mut nodes = Vec::with_capacity(64);
        for height in (0..64u32).rev() {
            if size >> height & 1 == 1 {
                let start = if height == 63 { 0 } else { size >> (height + 1) << (height + 1) };
                nodes.push(r.node(height as u8, start >> height)?);
            }
        }
        Ok(Frontier { size, nodes })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The complete subtree hashes, left to right.
    pub fn nodes(&self) -> &[Hash] {
        &self.nodes
    }

    /// The tree's root hash (RFC 6962 MTH).
    pub fn root(&self) -> Hash {
        let mut it = self.nodes.iter().rev();
        let Some(last) = it.next() else { return EMPTY_ROOT };
        it.fold(*last, |acc, left| node_hash(left, &acc))
    }

    /// Appends leaf hashes; `delta` is cleared, then receives every new hash at the tile levels
    /// (tree levels 0, 8, 16, …) for the tiles to store.
    pub fn append(&mut self, leaf_hashes: &[Hash], delta: &mut TileDelta) {
        delta.reset(self.size);
        for leaf in leaf_hashes {
            self.push(*leaf, delta);
        }
        delta.new_size = self.size;
    }

    /// Appends leaves given by their data (claimledger: each revision's 32-byte entry_hash).
    pub fn append_data<'a, I>(&mut self, entries: I, delta: &mut TileDelta)
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        delta.reset(self.size);
        for data in entries {
            self.push(leaf_hash(data), delta);
        }
        delta.new_size = self.size;
    }

    fn push(&mut self, leaf: Hash, delta: &mut TileDelta) {
        delta.emit(0, leaf);
        let mut h = leaf;
        let mut height = 0u32;
        let mut s = self.size;
        while s & 1 == 1 {
            // A completed subtree: merge with its left sibling from the frontier.
            let Some(left) = self.nodes.pop() else { break };
            h = node_hash(&left, &h);
            height += 1;
            s >>= 1;
            if height.is_multiple_of(TILE_HEIGHT) {
                delta.emit((height / TILE_HEIGHT) as usize, h);
            }
        }
        self.nodes.push(h);
        self.size += 1;
    }
}

/// The hashes a batch added at each tile level, ready to be written as tiles.
#[derive(Debug, Clone, Default)]
pub struct TileDelta {
    old_size: u64,
    new_size: u64,
    /// `levels[l]`: new hashes of tree level 8·l, starting at index `old_size >> 8·l`.
    levels: Vec<Vec<Hash>>,
}

/// Hashes to add to one tile: store `hashes` at positions `offset..` of tile `tile`
/// (`tile.width` is its width after the write; the first `offset` hashes are already stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileWrite<'a> {
    pub tile: TileId,
    pub offset: u16,
    pub hashes: &'a [Hash],
}

impl TileWrite<'_> {
    /// The raw bytes to append to the tile (32 per hash).
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.hashes.len() * 32);
        for h in self.hashes {
            out.extend_from_slice(&h.0);
        }
        out
    }
}

impl TileDelta {
    pub fn new() -> Self {
        Self::default()
    }

    fn reset(&mut self, size: u64) {
        self.old_size = size;
        self.new_size = size;
        for level in &mut self.levels {
            level.clear();
        }
    }

    fn emit(&mut self, level: usize, h: Hash) {
        while self.levels.len() <= level {
            self.levels.push(Vec::new());
        }
        self.levels[level].push(h);
    }

    pub fn old_size(&self) -> u64 {
        self.old_size
    }

    pub fn new_size(&self) -> u64 {
        self.new_size
    }

    /// The new hashes at tile level `level` (tree level 8·level) and the index of the first.
    pub fn level(&self, level: u8) -> (u64, &[Hash]) {
        let first = self.old_size.checked_shr(u32::from(level) * TILE_HEIGHT).unwrap_or(0);
        let hashes = self.levels.get(usize::from(level)).map(Vec::as_slice).unwrap_or(&[]);
        (first, hashes)
    }

    /// Every tile write of the batch, bottom level first, left to right. A full tile is written
    /// at most once more after it was partial, and never after it is full.
    pub fn writes(&self) -> Vec<TileWrite<'_>> {
        let mut out = Vec::new();
        for (level, hashes) in self.levels.iter().enumerate() {
            let (mut index, mut rest) = self.level(level as u8);
            while !rest.is_empty() {
                let offset = (index % TILE_WIDTH) as usize;
                let take = rest.len().min(TILE_WIDTH as usize - offset);
                let (now, later) = rest.split_at(take);
                out.push(TileWrite {
                    tile: TileId {
                        level: level as u8,
                        index: index / TILE_WIDTH,
                        width: (offset + take) as u16,
                    },
                    offset: offset as u16,
                    hashes: now,
                });
                index += take as u64;
                rest = later;
            }
            debug_assert!(hashes.len() as u64 == (self.new_size >> (8 * level)) - (self.old_size >> (8 * level)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tlog::memory::MemoryTree;
    use crate::tlog::merkle::tree_hash;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn root_matches_the_recomputed_tree_hash_for_every_small_size() {
        let all = leaves(600);
        let mut tree = MemoryTree::new();
        let mut f = Frontier::empty();
        let mut delta = TileDelta::new();
        assert_eq!(f.root(), EMPTY_ROOT);
        for (i, leaf) in all.iter().enumerate() {
            f.append(std::slice::from_ref(leaf), &mut delta);
            tree.apply(&delta).expect("delta continues the tree");
            assert_eq!(f.size(), i as u64 + 1);
            assert_eq!(f.root(), tree_hash(f.size(), &tree).expect("tree hash"), "size {}", i + 1);
        }
    }

    #[test]
    fn batches_produce_the_same_tiles_as_single_appends() {
        let all = leaves(70_000);
        let mut one_by_one = MemoryTree::new();
        for leaf in &all {
            one_by_one.push(*leaf);
        }
        let mut batched = MemoryTree::new();
        for chunk in all.chunks(4_093) {
            batched.extend(chunk);
        }
        assert_eq!(one_by_one.root(), batched.root());
        assert_eq!(one_by_one.levels(), batched.levels());
        // C2SP's example: 70,000 leaves = level 0 width 112 partial, level 1 width 17, level 2 width 1.
        assert_eq!(batched.levels()[0].len(), 70_000);
        assert_eq!(batched.levels()[1].len(), 273);
        assert_eq!(batched.levels()[2].len(), 1);
    }

    #[test]
    fn writes_split_at_tile_boundaries() {
        let mut f = Frontier::empty();
        let mut d = TileDelta::new();
        f.append(&leaves(250), &mut d);
        f.append(&leaves(20), &mut d);
        let w = d.writes();
        assert_eq!(w.len(), 3, "{w:?}");
        assert_eq!(
            (w[0].tile, w[0].offset, w[0].hashes.len()),
            (
                TileId {
                    level: 0,
                    index: 0,
                    width: 256
                },
                250,
                6
            )
        );
        assert_eq!(
            (w[1].tile, w[1].offset, w[1].hashes.len()),
            (
                TileId {
                    level: 0,
                    index: 1,
                    width: 14
                },
                0,
                14
            )
        );
        assert_eq!(
            (w[2].tile, w[2].offset, w[2].hashes.len()),
            (
                TileId {
                    level: 1,
                    index: 0,
                    width: 1
                },
                0,
                1
            )
        );
        assert_eq!(w[2].bytes().len(), 32);
    }

    #[test]
    fn from_reader_rebuilds_the_right_edge() {
        let mut tree = MemoryTree::new();
        tree.extend(&leaves(70_001));
        for size in [1u64, 2, 255, 256, 257, 65_535, 65_536, 70_001] {
            let f = Frontier::from_reader(size, &tree).expect("frontier");
            assert_eq!(f.root(), tree_hash(size, &tree).expect("tree hash"));
            assert_eq!(f.nodes().len(), size.count_ones() as usize);
        }
    }
}
