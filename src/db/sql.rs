//! Hand-written SQL, the one way: a text with `$n` placeholders and typed
//! parameters, fixed (`Sql::fixed`) or built up clause by clause
//! (`Sql::push`/`Sql::param`). diesel caches the statements its query
//! builder makes, but never `sql_query`; this type hands diesel the same
//! text with typed binds, so its per-connection cache prepares each
//! distinct text once (a built-up query has a bounded number of shapes).

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Bytea, Float4, Int4, Nullable, Text, Timestamptz, Untyped, Uuid as SqlUuid};
use diesel::{QueryResult, RunQueryDsl};
use uuid::Uuid;

/// A value for a `$n` placeholder.
#[derive(Clone, Debug)]
pub enum Param<'a> {
    Uuid(Uuid),
    NullableUuid(Option<Uuid>),
    Uuids(Vec<Uuid>),
    NullableUuids(Vec<Option<Uuid>>),
    Text(Cow<'a, str>),
    Texts(Vec<String>),
    TextRefs(Vec<&'a str>),
    NullableTextRefs(Vec<Option<&'a str>>),
    NullableText(Option<&'a str>),
    BigInt(i64),
    BigInts(Vec<i64>),
    Int(i32),
    Ints(Vec<i32>),
    Real(f32),
    Time(DateTime<Utc>),
    Times(Vec<DateTime<Utc>>),
    Bytea(&'a [u8]),
    Byteas(Vec<Vec<u8>>),
}

impl<'a> Param<'a> {
    pub fn text(v: impl Into<Cow<'a, str>>) -> Self {
        Param::Text(v.into())
    }
}

/// SQL with placeholders `$1`, `$2`, …; a placeholder may appear more than once.
#[derive(Debug, Clone)]
pub struct Sql<'a> {
    text: Cow<'static, str>,
    params: Vec<Param<'a>>,
}

impl<'a> Sql<'a> {
    /// A fixed text and its parameters.
    pub fn fixed(text: &'static str, params: Vec<Param<'a>>) -> Self {
        Sql {
            text: Cow::Borrowed(text),
            params,
        }
    }

    /// An empty text, to build up.
    pub fn build() -> Self {
        Sql {
            text: Cow::Owned(String::new()),
            params: vec![],
        }
    }

    pub fn push(&mut self, sql: &str) {
        self.text.to_mut().push_str(sql);
    }

    /// Puts `sql` before the text (its placeholders keep their numbers).
    pub fn prefix(&mut self, sql: &str) {
        self.text.to_mut().insert_str(0, sql);
    }

    /// Adds a parameter and returns its placeholder (`$n`).
    pub fn param(&mut self, p: Param<'a>) -> String {
        self.params.push(p);
        format!("${}", self.params.len())
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

impl QueryFragment<Pg> for Sql<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let sql: &str = &self.text;
        let bytes = sql.as_bytes();
        let (mut start, mut i) = (0, 0);
        while i < bytes.len() {
            if bytes[i] == b'$' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                let digits = bytes[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
                let n: usize = sql[i + 1..i + 1 + digits].parse().unwrap_or(0);
                out.push_sql(&sql[start..i]);
                let param = self
                    .params
                    .get(n.wrapping_sub(1))
                    .ok_or_else(|| diesel::result::Error::QueryBuilderError(format!("no value for ${n}").into()))?;
                match param {
                    Param::Uuid(v) => out.push_bind_param::<SqlUuid, _>(v)?,
                    Param::NullableUuid(v) => out.push_bind_param::<Nullable<SqlUuid>, _>(v)?,
                    Param::Uuids(v) => out.push_bind_param::<Array<SqlUuid>, _>(v)?,
                    Param::NullableUuids(v) => out.push_bind_param::<Array<Nullable<SqlUuid>>, _>(v)?,
                    Param::Text(v) => out.push_bind_param::<Text, _>(v.as_ref())?,
                    Param::Texts(v) => out.push_bind_param::<Array<Text>, _>(v)?,
                    Param::TextRefs(v) => out.push_bind_param::<Array<Text>, _>(v)?,
                    Param::NullableTextRefs(v) => out.push_bind_param::<Array<Nullable<Text>>, _>(v)?,
                    Param::NullableText(v) => out.push_bind_param::<Nullable<Text>, _>(v)?,
                    Param::BigInt(v) => out.push_bind_param::<BigInt, _>(v)?,
                    Param::BigInts(v) => out.push_bind_param::<Array<BigInt>, _>(v)?,
                    Param::Int(v) => out.push_bind_param::<Int4, _>(v)?,
                    Param::Ints(v) => out.push_bind_param::<Array<Int4>, _>(v)?,
                    Param::Real(v) => out.push_bind_param::<Float4, _>(v)?,
                    Param::Time(v) => out.push_bind_param::<Timestamptz, _>(v)?,
                    Param::Times(v) => out.push_bind_param::<Array<Timestamptz>, _>(v)?,
                    Param::Bytea(v) => out.push_bind_param::<Bytea, _>(v)?,
                    Param::Byteas(v) => out.push_bind_param::<Array<Bytea>, _>(v)?,
                }
                i += 1 + digits;
                start = i;
            } else {
                i += 1;
            }
        }
        out.push_sql(&sql[start..]);
        Ok(())
    }
}

/// Not a static id: diesel keys its cache by the SQL text and bind types.
impl QueryId for Sql<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Sql<'_> {
    type SqlType = Untyped;
}

impl<Conn> RunQueryDsl<Conn> for Sql<'_> {}
