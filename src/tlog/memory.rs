//! An in-memory tile store: the tile-level hashes of a whole tree. The reference the
//! tests compare storage-backed readers with, and handy for tools that write a static log.

use super::frontier::{Frontier, TileDelta};
use super::hash::{HASH_SIZE, Hash, perfect_subtree_hash};
use super::merkle::{HashReader, TreeError};
use super::tile::{TILE_HEIGHT, TILE_WIDTH, TileId};

#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    frontier: Frontier,
    delta: TileDelta,
    /// `levels[l]`: every hash of tree level 8·l.
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    pub fn frontier(&self) -> &Frontier {
        &self.frontier
    }

    pub fn levels(&self) -> &[Vec<Hash>] {
        &self.levels
    }

    pub fn push(&mut self, leaf: Hash) {
        self.extend(std::slice::from_ref(&leaf));
    }

    pub fn extend(&mut self, leaves: &[Hash]) {
        let mut delta = std::mem::take(&mut self.delta);
        self.frontier.append(leaves, &mut delta);
        // Our own frontier made this delta: it continues every level.
        let _ = self.store(&delta);
        self.delta = delta;
    }

    /// Stores a delta produced by a separate [`Frontier`] (one that started from this tree's
    /// size), then rebuilds this tree's frontier from what is stored.
    pub fn apply(&mut self, delta: &TileDelta) -> Result<(), TreeError> {
        if delta.old_size() != self.size() {
            return Err(TreeError::DoesNotContinue {
                batch_starts_at: delta.old_size(),
                stored: self.size(),
            });
        }
        self.store(delta)?;
        self.frontier = Frontier::from_reader(delta.new_size(), self)?;
        Ok(())
    }

    fn store(&mut self, delta: &TileDelta) -> Result<(), TreeError> {
        for level in 0u8..64 {
            let (first, hashes) = delta.level(level);
            if hashes.is_empty() {
                continue;
            }
            while self.levels.len() <= usize::from(level) {
                self.levels.push(Vec::new());
            }
            let stored = &mut self.levels[usize::from(level)];
            if stored.len() as u64 != first {
                return Err(TreeError::DoesNotContinue {
                    batch_starts_at: first,
                    stored: stored.len() as u64,
                });
            }
            stored.extend_from_slice(hashes);
        }
        Ok(())
    }

    /// The data of a tile (at the width asked for), if stored.
    pub fn tile_data(&self, tile: TileId) -> Option<Vec<u8>> {
        let level = self.levels.get(usize::from(tile.level))?;
        let start = usize::try_from(tile.index.checked_mul(TILE_WIDTH)?).ok()?;
        let hashes = level.get(start..start + usize::from(tile.width))?;
        let mut out = Vec::with_capacity(hashes.len() * HASH_SIZE);
        for h in hashes {
            out.extend_from_slice(&h.0);
        }
        Some(out)
    }
}

impl HashReader for MemoryTree {
    fn node(&self, height: u8, index: u64) -> Result<Hash, TreeError> {
        let level = u32::from(height) / TILE_HEIGHT;
        let within = u32::from(height) % TILE_HEIGHT;
        let beyond = TreeError::BeyondTree {
            height,
            index,
            size: self.size(),
        };
        let first = index.checked_shl(within).filter(|f| f >> within == index).ok_or(beyond.clone())?;
        let first = usize::try_from(first).map_err(|_| beyond.clone())?;
        let hashes = self
            .levels
            .get(level as usize)
            .and_then(|l| l.get(first..first + (1usize << within)))
            .ok_or(beyond)?;
        Ok(perfect_subtree_hash(hashes))
    }
}
