//! The one way to build statement text that is not a single literal: [`Sql`], assembled from
//! `&'static str` fragments and numbered placeholders only.
//!
//! sqlx refuses a `String` as a statement unless it is wrapped in `AssertSqlSafe`, a promise
//! that no input reached it. Rather than make that promise at every `format!`, the store makes
//! it once, here, for a type that cannot hold anything but text written in the source: a
//! fragment must be a `&'static str` and a placeholder is a number, so a value from a request
//! can reach a statement only as a bound parameter. A statement that is one literal needs none
//! of this and is passed to sqlx as it is.

use sqlx::{AssertSqlSafe, SqlSafeStr, SqlStr};

/// Statement text made of fixed fragments and `$n` placeholders; pass it to `sqlx::query*`
/// like a literal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sql(String);

impl Sql {
    /// The fragments, in order.
    pub fn of(fragments: &[&'static str]) -> Sql {
        let mut sql = Sql(String::with_capacity(
            fragments.iter().map(|f| f.len()).sum(),
        ));
        for fragment in fragments {
            sql.push(fragment);
        }
        sql
    }

    /// Appends a fragment.
    pub fn push(&mut self, fragment: &'static str) -> &mut Sql {
        self.0.push_str(fragment);
        self
    }

    /// Appends the placeholder `$n`.
    pub fn param(&mut self, n: usize) -> &mut Sql {
        self.0.push('$');
        self.0.push_str(&n.to_string());
        self
    }

    /// Appends another statement's text (itself built from fragments and placeholders).
    pub fn append(&mut self, other: &Sql) -> &mut Sql {
        self.0.push_str(&other.0);
        self
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl SqlSafeStr for Sql {
    fn into_sql_str(self) -> SqlStr {
        // Sound because `Sql` holds only `&'static str` fragments and placeholder numbers.
        AssertSqlSafe(self.0).into_sql_str()
    }
}

#[cfg(test)]
mod tests {
    use super::Sql;

    #[test]
    fn fragments_and_placeholders_are_joined_as_written() {
        let mut sql = Sql::of(&["SELECT id FROM t WHERE a = $1", " AND b > "]);
        sql.param(12).push(" ORDER BY id");
        let mut tail = Sql::of(&[" LIMIT "]);
        tail.param(3);
        sql.append(&tail);
        assert_eq!(
            sql.as_str(),
            "SELECT id FROM t WHERE a = $1 AND b > $12 ORDER BY id LIMIT $3"
        );
    }
}
