//! Editor accounts: create, list, deactivate, set password; the lookups
//! behind login and every authenticated request.

use chrono::{DateTime, Duration, Utc};
use diesel::dsl::{count_star, min};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use uuid::Uuid;

use super::{Committed, write};
use crate::db::schema::{editors, login_failures};
use crate::error::{AppError, AppResult};
use crate::model::{Action, Actor, Editor, Role, Username};

pub struct NewEditor {
    pub username: Username,
    pub display_name: String,
    pub roles: Vec<Role>,
    /// argon2id PHC string; `None` for an account that can never log in.
    pub password_hash: Option<String>,
}

fn role_names(roles: &[Role]) -> Vec<String> {
    roles.iter().map(|r| r.as_str().to_string()).collect()
}

pub fn create(conn: &mut PgConnection, actor_id: Uuid, new: NewEditor, reason: Option<&str>) -> AppResult<Committed<Editor>> {
    write(conn, |conn, log| {
        let taken: i64 = editors::table
            .filter(editors::username.eq(new.username.as_str()))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            return Err(AppError::Conflict(format!(
                "an editor named '{}' already exists",
                new.username.as_str()
            )));
        }
        let editor: Editor = diesel::insert_into(editors::table)
            .values((
                editors::id.eq(Uuid::now_v7()),
                editors::username.eq(new.username.as_str()),
                editors::display_name.eq(&new.display_name),
                editors::password_hash.eq(&new.password_hash),
                editors::roles.eq(role_names(&new.roles)),
            ))
            .returning(Editor::as_returning())
            .get_result(conn)?;
        log.record(&editor, Action::Create, actor_id, reason);
        Ok(editor)
    })
}

pub fn list(conn: &mut PgConnection) -> AppResult<Vec<Editor>> {
    Ok(editors::table
        .order(editors::username.asc())
        .select(Editor::as_select())
        .load(conn)?)
}

pub fn find_by_username(conn: &mut PgConnection, username: &str) -> AppResult<Editor> {
    editors::table
        .filter(editors::username.eq(username))
        .select(Editor::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("no editor named '{username}'")))
}

pub fn deactivate(conn: &mut PgConnection, actor_id: Uuid, username: &str, reason: Option<&str>) -> AppResult<Committed<Editor>> {
    write(conn, |conn, log| {
        let current = find_by_username(conn, username)?;
        if !current.active {
            return Err(AppError::Conflict(format!("'{username}' is already deactivated")));
        }
        let editor: Editor = diesel::update(editors::table.find(current.id))
            .set((
                editors::active.eq(false),
                editors::version.eq(editors::version + 1),
                editors::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Editor::as_returning())
            .get_result(conn)?;
        log.record(&editor, Action::Deactivate, actor_id, reason);
        Ok(editor)
    })
}

pub fn set_password(conn: &mut PgConnection, actor_id: Uuid, username: &str, password_hash: String) -> AppResult<Committed<Editor>> {
    write(conn, |conn, log| {
        let current = find_by_username(conn, username)?;
        let editor: Editor = diesel::update(editors::table.find(current.id))
            .set((
                editors::password_hash.eq(Some(password_hash)),
                editors::version.eq(editors::version + 1),
                editors::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Editor::as_returning())
            .get_result(conn)?;
        log.record(&editor, Action::SetPassword, actor_id, None);
        Ok(editor)
    })
}

/// The account behind a token, if it still exists and is active.
pub fn active_actor(conn: &mut PgConnection, id: Uuid) -> AppResult<Option<Actor>> {
    let row: Option<(String, Vec<String>)> = editors::table
        .filter(editors::id.eq(id).and(editors::active.eq(true)))
        .select((editors::username, editors::roles))
        .first(conn)
        .optional()?;
    Ok(row.map(|(username, roles)| Actor {
        id,
        username,
        roles: roles.iter().filter_map(|r| Role::parse(r)).collect(),
    }))
}

/// What login needs to know about a username.
pub struct LoginCandidate {
    pub id: Uuid,
    pub password_hash: Option<String>,
    pub active: bool,
    pub roles: Vec<Role>,
}

pub fn login_candidate(conn: &mut PgConnection, username: &str) -> AppResult<Option<LoginCandidate>> {
    let row: Option<(Uuid, Option<String>, bool, Vec<String>)> = editors::table
        .filter(editors::username.eq(username))
        .select((editors::id, editors::password_hash, editors::active, editors::roles))
        .first(conn)
        .optional()?;
    Ok(row.map(|(id, password_hash, active, roles)| LoginCandidate {
        id,
        password_hash,
        active,
        roles: roles.iter().filter_map(|r| Role::parse(r)).collect(),
    }))
}

pub const LOCKOUT_FAILURES: i64 = 10;
pub const LOCKOUT_WINDOW_MINUTES: i64 = 15;

/// When `username` has failed too often within the window: seconds until
/// the oldest failure in it ages out.
pub fn lockout(conn: &mut PgConnection, username: &str, now: DateTime<Utc>) -> AppResult<Option<u64>> {
    let window_start = now - Duration::minutes(LOCKOUT_WINDOW_MINUTES);
    let (failures, oldest): (i64, Option<DateTime<Utc>>) = login_failures::table
        .filter(
            login_failures::username
                .eq(username)
                .and(login_failures::failed_at.gt(window_start)),
        )
        .select((count_star(), min(login_failures::failed_at)))
        .first(conn)?;
    if failures < LOCKOUT_FAILURES {
        return Ok(None);
    }
    let until = oldest.unwrap_or(now) + Duration::minutes(LOCKOUT_WINDOW_MINUTES);
    Ok(Some((until - now).num_seconds().max(1) as u64))
}

pub fn record_login_failure(conn: &mut PgConnection, username: &str) -> AppResult<()> {
    diesel::insert_into(login_failures::table)
        .values(login_failures::username.eq(username))
        .execute(conn)?;
    // Old failures no longer count; keep the table small.
    diesel::delete(login_failures::table.filter(login_failures::failed_at.lt(Utc::now() - Duration::days(1)))).execute(conn)?;
    Ok(())
}

pub fn clear_login_failures(conn: &mut PgConnection, username: &str) -> AppResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::username.eq(username))).execute(conn)?;
    Ok(())
}

/// Whether any account can log in (an empty database has none).
pub fn any_login_account(conn: &mut PgConnection) -> AppResult<bool> {
    let n: i64 = editors::table
        .filter(editors::password_hash.is_not_null())
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}
