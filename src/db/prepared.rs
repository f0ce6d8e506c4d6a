//! Fixed SQL texts run as prepared statements. diesel caches the statements
//! its query builder makes, but never `sql_query`: the log's hand-written
//! queries (the append under the head lock, history, as-of) would be parsed
//! and planned on every call. This type walks the same text with typed
//! binds and lets diesel's per-connection statement cache keep it.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bytea, Int4, Nullable, Text, Untyped, Uuid as SqlUuid};
use diesel::{QueryResult, RunQueryDsl};
use uuid::Uuid;

/// A value for a `$n` placeholder.
#[derive(Clone, Copy, Debug)]
pub enum Bind<'a> {
    Uuid(Uuid),
    Text(&'a str),
    NullableText(Option<&'a str>),
    BigInt(i64),
    Int(i32),
    Bytea(&'a [u8]),
}

/// `sql` with placeholders `$1`, `$2`, …; a placeholder may appear more than once.
#[derive(Debug)]
pub struct Prepared<'a> {
    sql: &'static str,
    binds: Vec<Bind<'a>>,
}

impl<'a> Prepared<'a> {
    pub fn new(sql: &'static str, binds: Vec<Bind<'a>>) -> Self {
        Prepared { sql, binds }
    }
}

impl QueryFragment<Pg> for Prepared<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let bytes = self.sql.as_bytes();
        let (mut start, mut i) = (0, 0);
        while i < bytes.len() {
            if bytes[i] == b'$' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                let digits = bytes[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
                let n: usize = self.sql[i + 1..i + 1 + digits].parse().unwrap_or(0);
                out.push_sql(&self.sql[start..i]);
                let bind = self
                    .binds
                    .get(n.wrapping_sub(1))
                    .ok_or_else(|| diesel::result::Error::QueryBuilderError(format!("no value for ${n}").into()))?;
                match bind {
                    Bind::Uuid(v) => out.push_bind_param::<SqlUuid, _>(v)?,
                    Bind::Text(v) => out.push_bind_param::<Text, _>(v)?,
                    Bind::NullableText(v) => out.push_bind_param::<Nullable<Text>, _>(v)?,
                    Bind::BigInt(v) => out.push_bind_param::<BigInt, _>(v)?,
                    Bind::Int(v) => out.push_bind_param::<Int4, _>(v)?,
                    Bind::Bytea(v) => out.push_bind_param::<Bytea, _>(v)?,
                }
                i += 1 + digits;
                start = i;
            } else {
                i += 1;
            }
        }
        out.push_sql(&self.sql[start..]);
        Ok(())
    }
}

/// Not a static id: diesel keys the cache by the SQL text and bind types.
impl QueryId for Prepared<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Prepared<'_> {
    type SqlType = Untyped;
}

impl<Conn> RunQueryDsl<Conn> for Prepared<'_> {}
