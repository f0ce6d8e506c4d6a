//! The transparency layer's pure core (issue 14; DESIGN §8): an RFC 6962 / RFC 9162 Merkle
//! tree over the log (leaf index = seq − 1, leaf data = the revision's 32 raw entry_hash
//! bytes), C2SP tlog-tiles coordinates and entry bundles, C2SP signed notes with Ed25519,
//! tlog-checkpoint bodies, tlog-cosignature/v1 and tlog-proof files.
//!
//! No I/O, no database, no HTTP: every layer may use it. Storage is driven from outside:
//! the integrator appends batches to a [`Frontier`] and stores the [`TileDelta`]'s writes;
//! readers plan which tiles a proof needs ([`tile::tiles_for_inclusion`]), load them into a
//! [`TileSet`] and generate the proof from it.
//!
//! The integrator, per batch (inside its DB transaction):
//! 1. at start: `Frontier::from_reader(size, &tiles)` with `tile::tiles_for_frontier(size)`
//!    loaded (only the partial tiles), and check `frontier.root()` against the last checkpoint;
//! 2. `frontier.append_data(entry_hashes, &mut delta)`, then store each of `delta.writes()`
//!    (`offset == 0`: insert the tile row; else append `bytes()` to a row of `offset` hashes);
//! 3. before signing: `merkle::prove_extension(last_size, &last_root, size, &frontier.root(),
//!    &tiles)` with `tile::tiles_for_consistency(last_size, size)` loaded; then
//!    `Checkpoint::new(origin, size, root)?.sign(&key)?`.
//!
//! The HTTP layer: `tile::parse_tile_path`, `tile::tile_width` (does the tile exist at the
//! current size), `bundle::encode_entry_bundle`, `merkle::inclusion_proof` /
//! `merkle::consistency_proof` over a planned [`TileSet`], `TlogProof::to_text`.

pub mod bundle;
pub mod checkpoint;
pub mod cosignature;
pub mod frontier;
pub mod hash;
pub mod keys;
pub mod memory;
pub mod merkle;
pub mod note;
pub mod proof_file;
pub mod tile;

pub use checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint, open_checkpoint};
pub use cosignature::{CosignatureVerifier, Cosigner};
pub use frontier::{Frontier, TileDelta, TileWrite};
pub use hash::{EMPTY_ROOT, HASH_SIZE, Hash, HashParseError, leaf_hash, node_hash};
pub use keys::{KeyError, NoteSigner, NoteVerifier};
pub use memory::MemoryTree;
pub use merkle::{ExtensionError, HashReader, ProofError, TreeError, prove_extension};
pub use note::{NoteError, NoteKey, NoteSignature, SignedNote, Verified};
pub use proof_file::{ProofFileError, TlogProof, VerifiedProof};
pub use tile::{BundleId, TileId, TilePath, TileSet};

#[cfg(test)]
mod tests;
