//! Editor accounts and roles.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::revision::text_enum;
use crate::error::FieldError;

text_enum!(
    /// What an account may do (DESIGN §4). One account may hold several.
    Role {
        Editor => "editor",
        Reviewer => "reviewer",
        Auditor => "auditor",
        Admin => "admin",
    }
);

/// The actor of operator commands run from the CLI (created by the first migration).
pub const SYSTEM_ACTOR: Uuid = Uuid::nil();

/// A login name: lowercase letters, digits, `.`, `_`, `-`; 2–63 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        let ok = (2..=63).contains(&text.len())
            && text
                .bytes()
                .enumerate()
                .all(|(i, b)| b.is_ascii_lowercase() || b.is_ascii_digit() || (i > 0 && b"._-".contains(&b)));
        if ok {
            Ok(Username(text.to_string()))
        } else {
            Err(FieldError::new(
                "username",
                "2–63 characters: lowercase letters, digits, '.', '_' or '-', starting with a letter or digit",
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Parses `editor,reviewer` into roles, refusing unknown names and an empty list.
pub fn parse_roles(text: &str) -> Result<Vec<Role>, FieldError> {
    let mut roles = vec![];
    for name in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let role =
            Role::parse(name).ok_or_else(|| FieldError::new("roles", format!("unknown role '{name}'; expected {}", Role::choices())))?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    if roles.is_empty() {
        return Err(FieldError::new("roles", format!("at least one of {}", Role::choices())));
    }
    Ok(roles)
}

/// An account as stored, without its password hash (which is read only to log in).
#[derive(Clone, Debug, PartialEq, diesel::Queryable, diesel::Selectable, Serialize)]
#[diesel(table_name = crate::db::schema::editors)]
pub struct Editor {
    pub id: Uuid,
    pub version: i32,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The authenticated account behind a request, with its current roles.
#[derive(Clone, Debug)]
pub struct Actor {
    pub id: Uuid,
    pub username: String,
    pub roles: Vec<Role>,
}

impl Actor {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}
