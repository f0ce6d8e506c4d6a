//! The integration tests: one binary, each test with its own database.

mod harness;

mod audit;
mod auth;
mod cluster;
mod editor_api;
mod factchecks;
mod health;
mod ledger;
mod ops;
mod seed;

pub use audit::fill as audit_fill;
