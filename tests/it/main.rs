//! The integration tests: one binary, each test with its own database.

mod harness;

mod cluster;
mod health;
mod ledger;
