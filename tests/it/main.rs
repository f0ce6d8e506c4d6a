//! The integration tests: one binary, each test with its own database.

mod harness;

mod auth;
mod cluster;
mod editor_api;
mod factchecks;
mod health;
mod ledger;
mod seed;
