//! claimledger: a versioned claims database for fact-checkers.
//!
//! Layers (DESIGN §1), data flowing one way:
//! `http` → `store` → `ledger` → `db`, with `model` shared by all.

pub mod app;
pub mod auth;
pub mod bootstrap;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod http;
pub mod ledger;
pub mod model;
pub mod seed;
pub mod store;
pub mod telemetry;
pub mod tlog;
pub mod verify_remote;
pub mod witness;
