//! Authentication primitives: password hashes and access tokens. No I/O
//! beyond what hashing needs; the request extractor lives in `http::bearer`.

pub mod jwt;
pub mod password;

pub use jwt::{Claims, TokenKeys};
