//! The one error type of the crate.

use std::fmt;
use std::path::PathBuf;

/// `Result` with [`Error`] as its default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, said in the terms of the table and column involved.
///
/// Library code never panics on bad data or a bad database file: it returns one of these.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// SQLite refused a statement.
    #[error("{}SQLite error: {source}\n    SQL: {sql}", table_prefix(table))]
    Sqlite {
        /// The table the statement was about, where there is one.
        table: Option<String>,
        /// The SQL text (values are bound parameters, never part of it).
        sql: String,
        /// What SQLite said.
        #[source]
        source: Box<rusqlite::Error>,
    },
    /// The database stayed locked by another connection for longer than the busy timeout.
    #[error(
        "{}database is busy: another connection held the write lock for longer than the busy timeout; retry, or raise `Options::busy_timeout`\n    SQL: {sql}",
        table_prefix(table)
    )]
    Busy {
        /// The table the statement was about, where there is one.
        table: Option<String>,
        /// The SQL text that could not run.
        sql: String,
        /// What SQLite said.
        #[source]
        source: Box<rusqlite::Error>,
    },
    /// A constraint (UNIQUE, NOT NULL, CHECK, FOREIGN KEY, PRIMARY KEY) rejected a write.
    #[error(
        "table `{table}`: {}\n    SQL: {sql}",
        constraint_message(*kind, message)
    )]
    Constraint {
        /// The table written to.
        table: String,
        /// Which kind of constraint.
        kind: ConstraintKind,
        /// The database's description, which names the constraint.
        message: String,
        /// The SQL text of the write.
        sql: String,
        /// What the database said (a `rusqlite::Error` or a `postgres::Error`).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A write to a database opened read-only (see [`Options::read_only`](crate::Options::read_only)).
    #[error(
        "{}the database is open read-only; this statement writes\n    SQL: {sql}",
        table_prefix(table)
    )]
    ReadOnly {
        /// The table the statement was about, where there is one.
        table: Option<String>,
        /// The SQL text that would have written.
        sql: String,
        /// What SQLite said.
        #[source]
        source: Box<rusqlite::Error>,
    },
    /// The database file could not be opened or configured.
    #[error("cannot open database `{}`: {source}", path.display())]
    Open {
        /// The path that was opened.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: Box<rusqlite::Error>,
    },
    /// A row with the given primary key was asked for by a write and does not exist.
    #[error("table `{table}`: no row with primary key {key}")]
    NotFound {
        /// The table.
        table: String,
        /// The key, as SQL would print it (a composite key as `(a, b)`).
        key: String,
    },
    /// The table on disk differs from the struct in a way that cannot be
    /// applied safely: the first difference in its fields, every further
    /// one in `others` (all are reported at once).
    #[error(
        "table `{table}`, column `{column}`: schema mismatch: the struct says {expected}, the database file says {found}{}; nothing was changed",
        other_mismatches(others)
    )]
    SchemaMismatch {
        /// The table.
        table: String,
        /// The (first) column that differs.
        column: String,
        /// What the struct declares.
        expected: String,
        /// What the database file has.
        found: String,
        /// The other differences `create_table` cannot apply, each as
        /// [`SchemaChange`](crate::SchemaChange) displays it; empty when
        /// there is only the one.
        others: Vec<String>,
    },
    /// A stored value does not fit the field it is read into, or a field value cannot be stored.
    #[error("table `{table}`, column `{column}`{}: {detail}", row_suffix(row))]
    Conversion {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The primary key of the row being read, as SQL prints it (a
        /// composite key as `(a, b)`), when the table has one.
        row: Option<String>,
        /// What did not fit, and why.
        detail: String,
    },
    /// A `#[doctable(json)]` column could not be encoded or decoded.
    #[error(
        "table `{table}`, column `{column}`{}: invalid JSON: {source}",
        row_suffix(row)
    )]
    Json {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The primary key of the row being read, as SQL prints it (a
        /// composite key as `(a, b)`), when the table has one.
        row: Option<String>,
        /// What serde_json said.
        #[source]
        source: serde_json::Error,
    },
    /// A `#[doctable(file)]` column's file could not be written, or on read
    /// is missing or corrupt (its content does not have the SHA-256 the row
    /// names).
    #[error(
        "table `{table}`, column `{column}`{}, file {hash}: {detail}",
        row_suffix(row)
    )]
    File {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The primary key of the row being read, as SQL prints it, when known.
        row: Option<String>,
        /// The SHA-256 (hex) the column holds: the file's name.
        hash: String,
        /// What went wrong, with the file's path.
        detail: Box<str>,
    },
    /// The arguments or options cannot work (for example `PerQuery` on `:memory:`).
    #[error("{0}")]
    Usage(String),
    /// A file-system error.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A write into a database file that was deleted, renamed or replaced
    /// while this connection had it open. Nothing was written: the write would
    /// have gone into a file no later connection can see. SQLite's own check
    /// (without WAL: SQLITE_READONLY_DBMOVED) and the crate's commit check
    /// (with WAL, where SQLite does not check; see
    /// [`Options::detect_file_moves`](crate::Options::detect_file_moves))
    /// both end here. Reopen the
    /// database; [`Persistent::backup_to`](crate::Persistent::backup_to) can
    /// first save what the connection still holds. See RELIABILITY.md.
    #[error(
        "{}the database file was moved or deleted while open (renamed, replaced or unlinked), so nothing was written: reopen it (`Persistent::backup_to` saves what this connection still holds)\n    SQL: {sql}",
        table_prefix(table)
    )]
    DatabaseMoved {
        /// The table the statement was about, where there is one.
        table: Option<String>,
        /// The SQL text of the write.
        sql: String,
        /// What SQLite said.
        #[source]
        source: Box<rusqlite::Error>,
    },
    /// PostgreSQL refused a statement, or the connection to the server failed
    /// or was lost (then `code` is `08006`, or `08001` when connecting failed).
    /// The connection parameters in `sql` never show a password.
    #[error(
        "{}PostgreSQL error {code}: {message}\n    SQL: {sql}",
        table_prefix(table)
    )]
    Postgres {
        /// The table the statement was about, where there is one.
        table: Option<String>,
        /// The SQL text (values are bound parameters, never part of it).
        sql: String,
        /// The SQLSTATE (`42P01`, say).
        code: String,
        /// What the server (or the client library) said.
        message: String,
        /// The `postgres::Error`.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A serialization failure (`40001`) or deadlock (`40P01`): the
    /// transaction was rolled back and can be run again, which
    /// `doctable::postgres::Persistent::transaction_retry` does.
    #[error(
        "{}PostgreSQL {what} ({code}): {message}; the transaction was rolled back and can be retried\n    SQL: {sql}",
        table_prefix(table),
        what = if code == "40P01" { "deadlock" } else { "serialization failure" }
    )]
    Serialization {
        /// The table the statement was about, where there is one.
        table: Option<String>,
        /// The SQL text.
        sql: String,
        /// The SQLSTATE: `40001` or `40P01`.
        code: String,
        /// What the server said.
        message: String,
        /// The `postgres::Error`.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The transaction is over before the crate committed it: SQLite rolled
    /// it back by itself after an error (a full disk, an interrupt, an I/O
    /// error, out of memory), or it was ended on the raw connection. Nothing
    /// more ran in it (every later statement through its [`Tx`](crate::Tx),
    /// and its nested transactions, fails with this error) and the crate did
    /// not commit it.
    #[error(
        "transaction rolled back: {reason}; nothing more ran in it, and the crate did not commit it"
    )]
    TransactionRolledBack {
        /// Why: the first error, or how the transaction ended.
        reason: String,
        /// The first error, where this is the call that met it.
        #[source]
        source: Option<Box<Error>>,
    },
    /// Waiting for a [`Persistent`](crate::Persistent)'s connection took
    /// longer than the busy timeout: a call still running on another thread
    /// holds it.
    #[error(
        "this Persistent's connection stayed held by a call still running on another thread for longer than the busy timeout ({waited:?}). If a `transaction` or `for_each` callback handed work on the same Persistent to another thread and waits for it, that can never finish: pass the callback's `tx` or finish the call first; otherwise raise `Options::busy_timeout`"
    )]
    ConnectionHeld {
        /// How long this call waited.
        waited: std::time::Duration,
    },
    /// A lock held by this same process blocks the statement, so waiting
    /// cannot help: SQLite's `SQLITE_LOCKED` (another statement on the same
    /// connection still uses the table), or a write through a second
    /// connection to a file on which this thread has a transaction open.
    #[error(
        "{}database is locked by this same process: {detail}; waiting cannot help until that ends\n    SQL: {sql}",
        table_prefix(table)
    )]
    Locked {
        /// The table the statement was about, where there is one.
        table: Option<String>,
        /// The SQL text that could not run.
        sql: String,
        /// Who holds the lock.
        detail: String,
        /// What SQLite said.
        #[source]
        source: Box<rusqlite::Error>,
    },
    /// The async handle (`doctable::tokio::Db`, feature `tokio`) is closed
    /// (its `close` was called, or its workers are gone): the operation did
    /// not run.
    #[error(
        "the async database handle is closed (`Db::close` was called, or its worker threads stopped): the operation did not run"
    )]
    Closed,
    /// The closure given to the async handle (`doctable::tokio::Db`) panicked
    /// on its worker thread. A transaction it ran in was rolled back; the
    /// worker and its connection go on serving the next operation.
    #[error(
        "the closure panicked on a database worker thread: {message}; its transaction, if any, was rolled back, and the handle goes on working"
    )]
    Panicked {
        /// The panic's message (when it was a string).
        message: String,
    },
    /// [`Select::one`](crate::Select::one) found no row, or more than one.
    #[error(
        "table `{table}`: expected exactly one row, the query returned {}\n    SQL: {sql}",
        if *many { "more than one" } else { "none" }
    )]
    NotOneRow {
        /// The table queried.
        table: String,
        /// `true` when there was more than one row, `false` when there was none.
        many: bool,
        /// The SQL text of the query.
        sql: String,
    },
}

/// Which kind of constraint rejected a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConstraintKind {
    /// A `UNIQUE` constraint or unique index.
    Unique,
    /// A `PRIMARY KEY` (or rowid) constraint.
    PrimaryKey,
    /// A `NOT NULL` constraint.
    NotNull,
    /// A `CHECK` constraint.
    Check,
    /// A `FOREIGN KEY` constraint.
    ForeignKey,
    /// Another kind (a trigger's `RAISE`, say).
    Other,
}

impl fmt::Display for ConstraintKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConstraintKind::Unique => "UNIQUE",
            ConstraintKind::PrimaryKey => "PRIMARY KEY",
            ConstraintKind::NotNull => "NOT NULL",
            ConstraintKind::Check => "CHECK",
            ConstraintKind::ForeignKey => "FOREIGN KEY",
            ConstraintKind::Other => "a",
        })
    }
}

/// The database's message, which mostly names the constraint itself (SQLite:
/// "UNIQUE constraint failed: t.c"; PostgreSQL: "duplicate key value violates
/// unique constraint ..."); the kind is added only where it does not (a
/// trigger's `RAISE` message, say), so it is said once.
fn constraint_message(kind: ConstraintKind, message: &str) -> String {
    if message.to_ascii_lowercase().contains("constraint") {
        message.to_owned()
    } else {
        format!("{kind} constraint failed: {message}")
    }
}

/// The further schema differences, one a line.
fn other_mismatches(others: &[String]) -> String {
    let mut text = String::new();
    if !others.is_empty() {
        text.push_str(&format!("\n    and {} more:", others.len()));
        for other in others {
            text.push_str("\n    - ");
            text.push_str(other);
        }
    }
    text
}

fn row_suffix(row: &Option<String>) -> String {
    match row {
        Some(key) => format!(", row with key {key}"),
        None => String::new(),
    }
}

fn table_prefix(table: &Option<String>) -> String {
    match table {
        Some(t) => format!("table `{t}`: "),
        None => String::new(),
    }
}

impl Error {
    /// Names the row a read failed on, for conversion and JSON errors.
    pub(crate) fn at_row(self, key: String) -> Self {
        match self {
            Error::Conversion {
                table,
                column,
                row: None,
                detail,
            } => Error::Conversion {
                table,
                column,
                row: Some(key),
                detail,
            },
            Error::Json {
                table,
                column,
                row: None,
                source,
            } => Error::Json {
                table,
                column,
                row: Some(key),
                source,
            },
            Error::File {
                table,
                column,
                row: None,
                hash,
                detail,
            } => Error::File {
                table,
                column,
                row: Some(key),
                hash,
                detail,
            },
            other => other,
        }
    }

    /// A conversion error for `table.column`.
    pub(crate) fn conversion(table: &str, column: &str, detail: impl fmt::Display) -> Self {
        Error::Conversion {
            table: table.to_owned(),
            column: column.to_owned(),
            row: None,
            detail: detail.to_string(),
        }
    }

    /// A conversion error a backend raised for a parameter (named only by
    /// its number there), named by the `column` it was bound for.
    #[cold]
    pub(crate) fn at_column(self, column: &str) -> Self {
        match self {
            Error::Conversion {
                table,
                column: c,
                row,
                detail,
            } if c.starts_with("(parameter ") => Error::Conversion {
                table,
                column: column.to_owned(),
                row,
                detail,
            },
            other => other,
        }
    }
}

/// Adds the table and SQL to a rusqlite result.
pub(crate) trait SqlContext<T> {
    fn in_sql(self, table: Option<&str>, sql: &str) -> Result<T>;
}

/// A rusqlite error met in the caller's own rusqlite code (see
/// [`Persistent::try_with_rusqlite`](crate::Persistent::try_with_rusqlite)),
/// so `?` mixes the two: sorted like the crate's own (busy, locked, read-only,
/// constraint), with no table and no SQL known.
#[cfg(feature = "sqlite")]
impl From<rusqlite::Error> for Error {
    #[cold]
    fn from(source: rusqlite::Error) -> Self {
        Error::sqlite(source, None, NOT_KNOWN_SQL)
    }
}

/// A PostgreSQL client error met in the caller's own `postgres` code, so `?`
/// mixes the two: sorted like the crate's own (constraint kinds,
/// serialization failures, a lost connection), with no table and no SQL known.
#[cfg(feature = "postgres")]
impl From<::postgres::Error> for Error {
    #[cold]
    fn from(source: ::postgres::Error) -> Self {
        crate::postgres::pg_error(source, None, NOT_KNOWN_SQL)
    }
}

/// What an error converted from a driver's error says for its SQL.
#[cfg(feature = "sqlite")]
const NOT_KNOWN_SQL: &str = "(not known: the error came from the driver, converted with `?`)";
