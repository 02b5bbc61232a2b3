//! A small builder for queries whose WHERE clause depends on the request.
//! It numbers placeholders `$1, $2, ...`, which both SQLite and PostgreSQL
//! read, and keeps the values beside them so nothing is ever spliced into
//! SQL text.

use sqlx::any::{Any, AnyArguments};
use sqlx::query::{Query, QueryAs};

#[derive(Debug, Clone)]
pub enum Arg {
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
    /// A NULL integer.
    NoInt,
}

impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Arg::NoInt, Arg::Int)
    }
}

impl From<Vec<u8>> for Arg {
    fn from(v: Vec<u8>) -> Self {
        Arg::Bytes(v)
    }
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}

impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(v)
    }
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_string())
    }
}

#[derive(Debug, Default)]
pub struct Sql {
    pub text: String,
    args: Vec<Arg>,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Sql {
            text: text.to_string(),
            args: Vec::new(),
        }
    }

    /// Adds a value and returns its placeholder.
    pub fn arg(&mut self, v: impl Into<Arg>) -> String {
        self.args.push(v.into());
        format!("${}", self.args.len())
    }

    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Appends `, `-separated placeholders for a list of values.
    pub fn list(&mut self, vs: impl IntoIterator<Item = impl Into<Arg>>) -> String {
        vs.into_iter().map(|v| self.arg(v)).collect::<Vec<_>>().join(", ")
    }

    pub fn query_as<'q, T>(&'q self) -> QueryAs<'q, Any, T, AnyArguments<'q>>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        let mut q = sqlx::query_as::<Any, T>(&self.text);
        for a in &self.args {
            q = match a {
                Arg::Int(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.as_str()),
                Arg::Bytes(v) => q.bind(v.as_slice()),
                Arg::NoInt => q.bind(None::<i64>),
            };
        }
        q
    }

    pub fn query<'q>(&'q self) -> Query<'q, Any, AnyArguments<'q>> {
        let mut q = sqlx::query::<Any>(&self.text);
        for a in &self.args {
            q = match a {
                Arg::Int(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.as_str()),
                Arg::Bytes(v) => q.bind(v.as_slice()),
                Arg::NoInt => q.bind(None::<i64>),
            };
        }
        q
    }
}

/// Escapes `%`, `_` and `\` so user text matches literally inside LIKE.
pub fn like_pattern(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for c in s.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_in_order() {
        let mut s = Sql::new("SELECT 1 WHERE a = ");
        let a = s.arg(1i64);
        s.push(&a).push(" AND b IN (");
        let l = s.list(["x", "y"]);
        s.push(&l).push(")");
        assert_eq!(s.text, "SELECT 1 WHERE a = $1 AND b IN ($2, $3)");
    }

    #[test]
    fn like_is_literal() {
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
