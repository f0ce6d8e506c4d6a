//! Known-answer vectors, spec examples and property tests.

mod checkpoint_tests;
mod merkle_props;
mod merkle_vectors;
mod note_vectors;
mod tile_paths;
