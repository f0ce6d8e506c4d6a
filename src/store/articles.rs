//! Articles: the texts that claims and evidence quote.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use uuid::Uuid;

use super::{Committed, Page, write};
use crate::db::schema::articles;
use crate::error::{AppError, AppResult};
use crate::model::article::NewArticle;
use crate::model::digest::sha256;
use crate::model::fields::slugify;
use crate::model::{Action, Actor, Article};

pub fn create(conn: &mut PgConnection, actor: &Actor, new: NewArticle, reason: Option<&str>) -> AppResult<Committed<Article>> {
    write(conn, |conn, log| {
        let id = Uuid::now_v7();
        let slug = match new.slug {
            Some(slug) => {
                if slug_taken(conn, &slug)? {
                    return Err(AppError::Conflict(format!("an article with the slug '{slug}' exists already")));
                }
                slug
            }
            None => {
                let base = slugify(&new.title);
                if slug_taken(conn, &base)? {
                    format!("{base}-{}", &id.simple().to_string()[24..])
                } else {
                    base
                }
            }
        };
        let article: Article = diesel::insert_into(articles::table)
            .values((
                articles::id.eq(id),
                articles::slug.eq(&slug),
                articles::title.eq(&new.title),
                articles::publisher.eq(&new.publisher),
                articles::url.eq(&new.url),
                articles::published_on.eq(new.published_on),
                articles::language.eq(&new.language),
                articles::body_sha256.eq(hex::encode(sha256(new.body.as_bytes()))),
                articles::body.eq(&new.body),
            ))
            .returning(Article::as_returning())
            .get_result(conn)?;
        log.record(&article, Action::Create, actor.id, reason);
        Ok(article)
    })
}

fn slug_taken(conn: &mut PgConnection, slug: &str) -> AppResult<bool> {
    Ok(diesel::select(diesel::dsl::exists(articles::table.filter(articles::slug.eq(slug)))).get_result(conn)?)
}

pub fn get(conn: &mut PgConnection, id: Uuid) -> AppResult<Article> {
    articles::table
        .find(id)
        .select(Article::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("no article with id {id}")))
}

pub fn find_by_slug(conn: &mut PgConnection, slug: &str) -> AppResult<Option<Article>> {
    Ok(articles::table
        .filter(articles::slug.eq(slug))
        .select(Article::as_select())
        .first(conn)
        .optional()?)
}

/// Newest first (ids are UUIDv7, so id order is creation order).
pub fn list(conn: &mut PgConnection, page: Page) -> AppResult<Vec<Article>> {
    let mut query = articles::table
        .select(Article::as_select())
        .order(articles::id.desc())
        .limit(page.limit)
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(articles::id.lt(after));
    }
    Ok(query.load(conn)?)
}
