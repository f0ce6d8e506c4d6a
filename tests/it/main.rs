//! The integration tests: one binary, each test with its own database. The
//! editor API's tests are split by resource, as src/http/ is.

mod common;
mod harness;

mod appearances;
mod articles;
mod audit;
mod auth;
mod claimants;
mod claims;
mod cli;
mod cluster;
mod evidence;
mod factchecks;
mod health;
mod idempotency;
mod layers;
mod ledger;
mod matching;
mod ops;
mod pages;
mod public_cache;
mod replica;
mod seed;
mod sequencer;
mod stream;
mod transparency;
mod upgrade;
mod verdicts;
mod verify_remote;
mod webhooks;
mod writes;

pub use audit::fill as audit_fill;
