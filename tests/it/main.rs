//! The integration tests: one binary, each test with its own database.

mod harness;

mod auth;
mod cluster;
mod health;
mod ledger;
