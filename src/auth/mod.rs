//! Authentication: password hashes, access tokens, the request identity, and
//! development-mode bootstrap.

pub mod bootstrap;
pub mod identity;
pub mod jwt;
pub mod password;

pub use identity::Bearer;
pub use jwt::{Claims, TokenKeys};
