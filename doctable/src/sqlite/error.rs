//! How rusqlite's errors become the crate's [`Error`]: SQLite's result codes
//! sorted into busy, locked, read-only, moved and constraint errors, each
//! with the SQL and table it came from.

use crate::error::{ConstraintKind, Error, Result, SqlContext};

impl ConstraintKind {
    pub(crate) fn of(error: &rusqlite::Error) -> Self {
        let rusqlite::Error::SqliteFailure(e, _) = error else {
            return ConstraintKind::Other;
        };
        match e.extended_code {
            rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE => ConstraintKind::Unique,
            rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            | rusqlite::ffi::SQLITE_CONSTRAINT_ROWID => ConstraintKind::PrimaryKey,
            rusqlite::ffi::SQLITE_CONSTRAINT_NOTNULL => ConstraintKind::NotNull,
            rusqlite::ffi::SQLITE_CONSTRAINT_CHECK => ConstraintKind::Check,
            rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ConstraintKind::ForeignKey,
            _ => ConstraintKind::Other,
        }
    }
}

impl Error {
    /// Wraps a rusqlite error with the SQL and table it came from, sorting out
    /// busy timeouts and constraint failures into their own variants.
    pub(crate) fn sqlite(source: rusqlite::Error, table: Option<&str>, sql: &str) -> Self {
        use rusqlite::ErrorCode;
        let table = table.map(str::to_owned);
        let sql = sql.to_owned();
        let code = source.sqlite_error_code();
        let kind = ConstraintKind::of(&source);
        // Boxed, so that `Result<T, Error>` stays small for every caller.
        let source = Box::new(source);
        if file_moved(&source) {
            return Error::DatabaseMoved { table, sql, source };
        }
        match code {
            Some(ErrorCode::DatabaseBusy) => Error::Busy { table, sql, source },
            Some(ErrorCode::DatabaseLocked) => Error::Locked {
                table,
                sql,
                detail: LOCKED_DETAIL.to_owned(),
                source,
            },
            Some(ErrorCode::ReadOnly) => Error::ReadOnly { table, sql, source },
            Some(ErrorCode::ConstraintViolation) => Error::Constraint {
                table: table.unwrap_or_default(),
                kind,
                message: match &*source {
                    rusqlite::Error::SqliteFailure(_, Some(msg)) => msg.clone(),
                    other => other.to_string(),
                },
                sql,
                source: source as Box<dyn std::error::Error + Send + Sync>,
            },
            _ => Error::Sqlite { table, sql, source },
        }
    }
}

/// Whether SQLite refused a write because the database file moved: its own
/// SQLITE_READONLY_DBMOVED, or a commit the crate's commit hook refused for
/// that reason (see `options::install_commit_hook`).
fn file_moved(error: &rusqlite::Error) -> bool {
    let rusqlite::Error::SqliteFailure(e, _) = error else {
        return false;
    };
    match e.extended_code {
        rusqlite::ffi::SQLITE_READONLY_DBMOVED => true,
        rusqlite::ffi::SQLITE_CONSTRAINT_COMMITHOOK => {
            crate::sqlite::options::commit_refused_because_moved()
        }
        _ => false,
    }
}

impl<T> SqlContext<T> for rusqlite::Result<T> {
    fn in_sql(self, table: Option<&str>, sql: &str) -> Result<T> {
        self.map_err(|e| Error::sqlite(e, table, sql))
    }
}

/// What SQLITE_LOCKED means: unlike SQLITE_BUSY (another connection), the
/// lock is this connection's own (or, with a shared cache, this process's).
const LOCKED_DETAIL: &str = "another statement on the same connection is still using the table \
    (a scan or a statement of your own not yet finished), or with a shared cache another \
    connection of this process holds it";
