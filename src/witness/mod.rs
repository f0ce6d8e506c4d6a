//! `claimledger witness`: a C2SP tlog-witness (https://c2sp.org/tlog-witness) with Ed25519
//! tlog-cosignature/v1 signatures. It follows the logs whose keys it is given, cosigns a
//! checkpoint only when it is proven consistent with the last one it cosigned for that log,
//! stores that state durably before answering, and refuses (and records) anything else.

pub mod cli;
pub mod client;
pub mod core;
pub mod protocol;
pub mod server;
pub mod store;

pub use core::{AddError, StartError, Witness};
pub use protocol::Refusal;
pub use server::WitnessServer;

#[cfg(test)]
mod tests;
