//! Everything about SQL text that depends on the database engine, in one place,
//! so a second backend can be added without touching users' structs.

use std::fmt::Write;

/// The storage class a column type maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SqlType {
    /// A signed 64-bit integer (`INTEGER`).
    Integer,
    /// A 64-bit float (`REAL`).
    Real,
    /// UTF-8 text (`TEXT`).
    Text,
    /// Raw bytes (`BLOB`).
    Blob,
}

impl SqlType {
    /// The type name written into `CREATE TABLE`.
    pub const fn name(self) -> &'static str {
        match self {
            SqlType::Integer => "INTEGER",
            SqlType::Real => "REAL",
            SqlType::Text => "TEXT",
            SqlType::Blob => "BLOB",
        }
    }

    /// The type affinity SQLite gives a declared column type, by the rules of
    /// <https://sqlite.org/datatype3.html#determination_of_column_affinity>.
    /// `None` is NUMERIC affinity, which no Rust type maps to.
    pub fn affinity_of(declared: &str) -> Option<SqlType> {
        let upper = declared.to_ascii_uppercase();
        if upper.contains("INT") {
            Some(SqlType::Integer)
        } else if upper.contains("CHAR") || upper.contains("CLOB") || upper.contains("TEXT") {
            Some(SqlType::Text)
        } else if upper.contains("BLOB") || upper.trim().is_empty() {
            Some(SqlType::Blob)
        } else if upper.contains("REAL") || upper.contains("FLOA") || upper.contains("DOUB") {
            Some(SqlType::Real)
        } else {
            None
        }
    }
}

/// Appends `ident` to `out` as a quoted identifier: `"name"`, with `"` doubled.
pub(crate) fn push_ident(out: &mut String, ident: &str) {
    out.push('"');
    for ch in ident.chars() {
        if ch == '"' {
            out.push('"');
        }
        out.push(ch);
    }
    out.push('"');
}

/// Appends `"a", "b", ...`: each name quoted, comma-separated.
pub(crate) fn push_ident_list<'n>(out: &mut String, names: impl IntoIterator<Item = &'n str>) {
    for (i, name) in names.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push_ident(out, name);
    }
}

/// Appends `"table"."column"`.
pub(crate) fn push_qualified(out: &mut String, table: &str, column: &str) {
    push_ident(out, table);
    out.push('.');
    push_ident(out, column);
}

/// Appends the numbered placeholder for parameter `n` (1-based).
pub(crate) fn push_placeholder(out: &mut String, n: usize) {
    // Writing to a String cannot fail.
    let _ = write!(out, "?{n}");
}

/// `INSERT` that skips a row which would break a uniqueness constraint.
pub(crate) const INSERT_OR_IGNORE: &str = "INSERT OR IGNORE INTO ";
/// `INSERT` that replaces the rows a new one conflicts with.
pub(crate) const INSERT_OR_REPLACE: &str = "INSERT OR REPLACE INTO ";
/// Reads back the written rows (SQLite 3.35+); followed by the column list.
pub(crate) const RETURNING: &str = " RETURNING ";
/// The pseudo-table of an upsert that holds the row that could not be inserted.
pub(crate) const EXCLUDED: &str = "excluded";

/// The statement that opens a write transaction which takes the write lock at once,
/// so concurrent writers queue on the busy timeout instead of failing mid-transaction.
pub(crate) const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";
/// Commits the outermost transaction.
pub(crate) const COMMIT: &str = "COMMIT";
/// Rolls back the outermost transaction.
pub(crate) const ROLLBACK: &str = "ROLLBACK";
/// Opens a nested transaction.
pub(crate) const SAVEPOINT: &str = "SAVEPOINT doctable_nested";
/// Commits a nested transaction.
pub(crate) const RELEASE: &str = "RELEASE doctable_nested";
/// Rolls back a nested transaction (and then releases it).
pub(crate) const ROLLBACK_TO: &str = "ROLLBACK TO doctable_nested; RELEASE doctable_nested";

#[cfg(test)]
mod tests {
    use super::*;

    fn quote_ident(ident: &str) -> String {
        let mut out = String::new();
        push_ident(&mut out, ident);
        out
    }

    #[test]
    fn quotes_and_escapes_identifiers() {
        assert_eq!(quote_ident("order"), "\"order\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident("naïve col"), "\"naïve col\"");
    }

    #[test]
    fn affinity_follows_sqlite_rules() {
        assert_eq!(SqlType::affinity_of("BIGINT"), Some(SqlType::Integer));
        assert_eq!(SqlType::affinity_of("varchar(20)"), Some(SqlType::Text));
        assert_eq!(SqlType::affinity_of(""), Some(SqlType::Blob));
        assert_eq!(
            SqlType::affinity_of("double precision"),
            Some(SqlType::Real)
        );
        assert_eq!(SqlType::affinity_of("NUMERIC"), None);
        // "FLOATING POINT" contains INT, so SQLite gives it INTEGER affinity.
        assert_eq!(
            SqlType::affinity_of("FLOATING POINT"),
            Some(SqlType::Integer)
        );
    }
}
