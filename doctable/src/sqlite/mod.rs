//! The SQLite backend (feature `sqlite`, on by default), over rusqlite.
//!
//! Here is everything that knows it is talking to SQLite: the value encoding
//! between the crate's values and rusqlite's, the execution primitives, the
//! dialect (placeholders, DDL names, `INSERT OR ...`, `LIMIT -1`, `BEGIN
//! IMMEDIATE`, type affinity), the connection strategies (`persistent`,
//! `per_query`, `external`) and their `options`, schema reflection (PRAGMA)
//! and the rebuild.

mod busy;
pub(crate) mod checked;
mod error;
mod external;
pub(crate) mod locks;
pub(crate) mod marker;
pub(crate) mod options;
pub(crate) mod per_query;
pub(crate) mod persistent;
pub(crate) mod pool;
pub(crate) mod queue;
pub(crate) mod rebuild;
pub(crate) mod reflect;

use std::borrow::Cow;

use rusqlite::Connection;
use rusqlite::types::{ToSqlOutput, ValueRef as SqliteRef};

use crate::backend::{Backend, Conflict, Dialect, RowCheck, sealed};
use crate::catalog::{RebuildReport, TableSchema};
use crate::column_type::ValueError;
use crate::error::{Error, Result, SqlContext};
use crate::fragment::Fragment;
use crate::meta::{ColumnMeta, TableMeta};
use crate::query::checked::{CheckFailure, Target};
use crate::value::{IntoValue, SqlType, ToValue, Value, ValueRef};

pub use marker::Sqlite;

impl sealed::Sealed for Sqlite {}

/// The crate's value as rusqlite's, borrowed: a `Bool` is the INTEGER 0 or 1.
#[inline]
fn encode(value: ValueRef<'_>) -> SqliteRef<'_> {
    match value {
        ValueRef::Null => SqliteRef::Null,
        ValueRef::Integer(i) => SqliteRef::Integer(i),
        ValueRef::Real(f) => SqliteRef::Real(f),
        ValueRef::Bool(b) => SqliteRef::Integer(i64::from(b)),
        ValueRef::Text(t) => SqliteRef::Text(t),
        ValueRef::Blob(b) => SqliteRef::Blob(b),
    }
}

/// rusqlite's value as the crate's (SQLite never stores a boolean).
#[inline]
fn decode(value: SqliteRef<'_>) -> ValueRef<'_> {
    match value {
        SqliteRef::Null => ValueRef::Null,
        SqliteRef::Integer(i) => ValueRef::Integer(i),
        SqliteRef::Real(f) => ValueRef::Real(f),
        SqliteRef::Text(t) => ValueRef::Text(t),
        SqliteRef::Blob(b) => ValueRef::Blob(b),
    }
}

/// rusqlite's owned value as the crate's.
fn from_rusqlite(value: rusqlite::types::Value) -> Value {
    use rusqlite::types::Value as V;
    match value {
        V::Null => Value::Null,
        V::Integer(i) => Value::Integer(i),
        V::Real(f) => Value::Real(f),
        V::Text(t) => Value::Text(t),
        V::Blob(b) => Value::Blob(b),
    }
}

/// rusqlite's own values as raw SQL parameters, so `rusqlite::params![..]`
/// and `rusqlite::types::Value` serve `Expr::raw` and `select_sql` as before.
impl IntoValue for rusqlite::types::Value {
    fn into_value(self) -> std::result::Result<Value, ValueError> {
        Ok(from_rusqlite(self))
    }
}

impl IntoValue for &(dyn rusqlite::ToSql + '_) {
    fn into_value(self) -> std::result::Result<Value, ValueError> {
        match self.to_sql() {
            Ok(ToSqlOutput::Borrowed(v)) => Ok(decode(v).to_owned_value()),
            Ok(ToSqlOutput::Owned(v)) => Ok(from_rusqlite(v)),
            Ok(_) => Err(ValueError::Other(
                "this rusqlite value kind cannot be a query parameter".into(),
            )),
            Err(e) => Err(ValueError::Other(e.to_string())),
        }
    }
}

/// An SQLite statement being bound: from the connection's statement cache,
/// or (the first statement of a connection that lives for one call) prepared
/// for this one run.
pub struct SqliteBinder<'s> {
    stmt: Held<'s>,
    conn: &'s Connection,
    /// Added to every parameter number bound: a multi-row insert binds row
    /// `k` (numbered from 1 by the derive) at `k * columns`.
    offset: usize,
}

/// A prepared statement and where it goes after its run.
enum Held<'s> {
    /// Back into the connection's statement cache.
    Cached(rusqlite::CachedStatement<'s>),
    /// Finalized: prepared for one run on a connection about to close.
    Once(rusqlite::Statement<'s>),
}

impl<'s> std::ops::Deref for Held<'s> {
    type Target = rusqlite::Statement<'s>;

    #[inline]
    fn deref(&self) -> &Self::Target {
        match self {
            Held::Cached(stmt) => stmt,
            Held::Once(stmt) => stmt,
        }
    }
}

impl std::ops::DerefMut for Held<'_> {
    #[inline]
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            Held::Cached(stmt) => stmt,
            Held::Once(stmt) => stmt,
        }
    }
}

thread_local! {
    /// Whether the next statement this thread prepares is the first of a
    /// connection that closes when its call ends ([`OneShot`]).
    static ONE_SHOT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks, while alive, the first statement this thread prepares as one for a
/// single run: it is prepared without the statement cache. The cache prepares
/// with `SQLITE_PREPARE_PERSISTENT`, which takes the statement's memory from
/// the heap instead of the connection's lookaside (measured: about 20,000
/// instructions of a `PerQuery` get, whose connection closes right after).
/// Later statements of the same call (an insert's loop, a transaction) are
/// cached as usual. `PerQuery` calls outside a transaction use it.
pub(crate) struct OneShot(());

impl OneShot {
    pub(crate) fn enter() -> Self {
        ONE_SHOT.with(|once| once.set(true));
        OneShot(())
    }
}

impl Drop for OneShot {
    fn drop(&mut self) {
        ONE_SHOT.with(|once| once.set(false));
    }
}

/// The writer queue's turn for a statement that writes in autocommit mode
/// (see `queue.rs`); none for reads and inside transactions.
#[inline]
fn write_turn(binder: &SqliteBinder<'_>) -> Option<queue::Turn> {
    if !queue::has_queue() || binder.stmt.readonly() || !binder.conn.is_autocommit() {
        return None;
    }
    queue::Turn::take(true)
}

/// The most rows one multi-row insert writes (fewer when the table's columns
/// times this would pass the connection's limit on bound parameters).
/// Measured in instructions (BENCHMARKS.md): the cost a row falls from 1 row
/// a statement to about 25 and rises again past 100 (a 1,000-row statement
/// costs 10% more a row than a 32-row one).
pub(crate) const MAX_ROWS_PER_INSERT: usize = 32;

/// Batches of fewer rows than this go through the single-row statement:
/// a two-row statement costs 3% more than two single-row runs, a three-row
/// one 2% less (measured, cached statements, in BENCHMARKS.md).
pub(crate) const MULTI_ROW_FROM: usize = 3;

/// How many rows of `columns` columns one multi-row insert on `conn` holds:
/// within the connection's limit on bound parameters (32,766 in the bundled
/// SQLite, read from the connection) and [`MAX_ROWS_PER_INSERT`].
pub(crate) fn rows_per_insert(conn: &Connection, columns: usize) -> usize {
    let limit = conn
        .limit(rusqlite::limits::Limit::SQLITE_LIMIT_VARIABLE_NUMBER)
        .ok()
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(999);
    (limit / columns.max(1)).clamp(1, MAX_ROWS_PER_INSERT)
}

impl Backend for Sqlite {
    type Connection = Connection;
    type Binder<'s> = SqliteBinder<'s>;
    type Row<'r> = rusqlite::Row<'r>;
    type Dialect = SqliteDialect;
    const SLOT: usize = 0;

    #[inline]
    fn bind(
        binder: &mut SqliteBinder<'_>,
        index: usize,
        value: ToValue<'_>,
        table: &str,
    ) -> Result<()> {
        binder
            .stmt
            .raw_bind_parameter(
                index + binder.offset,
                ToSqlOutput::Borrowed(encode(value.as_ref())),
            )
            .in_sql(Some(table), "(binding a parameter)")
    }

    #[inline]
    fn value_at<'r>(row: &'r rusqlite::Row<'_>, index: usize, table: &str) -> Result<ValueRef<'r>> {
        row.get_ref(index)
            .map(decode)
            .in_sql(Some(table), "(reading a row)")
    }

    #[cold]
    fn column_name(row: &rusqlite::Row<'_>, index: usize) -> Option<String> {
        row.as_ref().column_name(index).ok().map(str::to_owned)
    }

    #[inline]
    fn with_statement<R>(
        conn: &Connection,
        table: Option<&str>,
        sql: &str,
        f: impl FnOnce(&mut SqliteBinder<'_>) -> Result<R>,
    ) -> Result<R> {
        let stmt = if ONE_SHOT.with(|once| once.replace(false)) {
            Held::Once(conn.prepare(sql).in_sql(table, sql)?)
        } else {
            Held::Cached(conn.prepare_cached(sql).in_sql(table, sql)?)
        };
        f(&mut SqliteBinder {
            stmt,
            conn,
            offset: 0,
        })
    }

    #[inline]
    fn parameter_count(binder: &SqliteBinder<'_>) -> usize {
        binder.stmt.parameter_count()
    }

    #[inline]
    fn execute(binder: &mut SqliteBinder<'_>, table: Option<&str>, sql: &str) -> Result<usize> {
        let _turn = write_turn(binder);
        binder
            .stmt
            .raw_execute()
            .in_sql(table, sql)
            .map_err(|e| with_bound_values(e, &binder.stmt))
    }

    #[inline]
    fn each_row(
        binder: &mut SqliteBinder<'_>,
        table: Option<&str>,
        sql: &str,
        mut each: impl FnMut(&rusqlite::Row<'_>) -> Result<bool>,
    ) -> Result<()> {
        // A write that returns rows (`RETURNING`).
        let _turn = write_turn(binder);
        let mut rows = binder.stmt.raw_query();
        while let Some(row) = rows.next().in_sql(table, sql)? {
            if !each(row)? {
                break;
            }
        }
        Ok(())
    }

    fn execute_batch(conn: &Connection, table: Option<&str>, sql: &str) -> Result<()> {
        if sql == <SqliteDialect as Dialect>::BEGIN_WRITE {
            // The transaction keeps its turn until it ends (or its call does).
            let _turn = queue::Turn::take(false);
            return conn.execute_batch(sql).in_sql(table, sql);
        }
        let result = conn.execute_batch(sql).in_sql(table, sql);
        if (sql == <SqliteDialect as Dialect>::COMMIT
            || sql == <SqliteDialect as Dialect>::ROLLBACK)
            && conn.is_autocommit()
        {
            queue::release_current();
        }
        result
    }

    #[inline]
    fn last_insert_id(conn: &Connection) -> i64 {
        conn.last_insert_rowid()
    }

    #[inline]
    fn is_autocommit(conn: &Connection) -> bool {
        conn.is_autocommit()
    }

    /// `<database file name>-files` beside the database file (`docs.db` ->
    /// `docs.db-files/`); an in-memory or temporary database has no place
    /// for files: set [`Options::files_folder`](crate::Options::files_folder).
    fn default_files_folder(conn: &Connection) -> Result<std::path::PathBuf> {
        match conn.path().filter(|p| !p.is_empty()) {
            Some(path) => {
                let mut folder = std::ffi::OsString::from(path);
                folder.push("-files");
                Ok(std::path::PathBuf::from(folder))
            }
            None => Err(Error::Usage(
                "file columns need a files folder, and an in-memory database has no file to put \
                 it beside: set one with `Options::files_folder(path)`"
                    .into(),
            )),
        }
    }

    /// SQLite says nothing in the error itself: a transaction it rolled back
    /// by itself leaves the connection in autocommit mode.
    #[inline]
    fn ended_by_error(conn: &Connection, _error: &crate::Error) -> bool {
        conn.is_autocommit()
    }

    fn reflect(conn: &Connection, table: &str) -> Result<Option<TableSchema>> {
        reflect::reflect(conn, table)
    }

    fn list_tables(conn: &Connection) -> Result<Vec<String>> {
        reflect::list(conn)
    }

    fn index_owner(conn: &Connection, table: &str, index: &str) -> Result<Option<String>> {
        let sql =
            "SELECT tbl_name FROM sqlite_schema WHERE type = 'index' AND name = ?1 COLLATE NOCASE";
        let mut stmt = conn.prepare_cached(sql).in_sql(Some(table), sql)?;
        let mut rows = stmt.query([index]).in_sql(Some(table), sql)?;
        match rows.next().in_sql(Some(table), sql)? {
            Some(row) => row.get(0).map(Some).in_sql(Some(table), sql),
            None => Ok(None),
        }
    }

    #[inline]
    fn set_bind_offset(binder: &mut SqliteBinder<'_>, offset: usize) {
        binder.offset = offset;
    }

    const BULK_INSERT: bool = true;

    /// Multi-row `INSERT [OR IGNORE | OR REPLACE] ... VALUES (..), (..)`
    /// statements within the connection's limit on bound parameters: full
    /// chunks of one cached statement and at most one shorter remainder, all
    /// in one transaction. SQLite writes the rows of one statement in order,
    /// so within a chunk a later row replaces (or is skipped for) an earlier
    /// one with the same key, as row by row.
    fn insert_rows<'r, T: crate::record::Record + 'r>(
        conn: &Connection,
        rows: impl IntoIterator<Item = &'r T>,
        conflict: Conflict,
    ) -> Result<usize> {
        let per_chunk = rows_per_insert(conn, T::__META.columns.len());
        crate::rows::insert_chunked::<Self, T>(conn, rows, conflict, per_chunk, MULTI_ROW_FROM)
    }

    fn rebuild_table(
        conn: &Connection,
        meta: &'static TableMeta,
        check: RowCheck<Self>,
    ) -> Result<RebuildReport> {
        rebuild::rebuild_table(conn, meta, check)
    }
}

/// SQLite's spelling of SQL.
#[derive(Debug, Clone, Copy)]
pub enum SqliteDialect {}

/// The type affinity SQLite gives a declared column type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Affinity {
    Integer,
    Real,
    Text,
    Blob,
}

impl Affinity {
    /// The declared type of this affinity, as the SQLite dialect writes it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Affinity::Integer => "INTEGER",
            Affinity::Real => "REAL",
            Affinity::Text => "TEXT",
            Affinity::Blob => "BLOB",
        }
    }

    /// The affinity of columns of logical type `ty`, as this dialect declares them.
    pub(crate) fn of_type(ty: SqlType) -> Affinity {
        match ty {
            SqlType::Integer | SqlType::Bool => Affinity::Integer,
            SqlType::Real => Affinity::Real,
            SqlType::Text
            | SqlType::Json
            | SqlType::Timestamp
            | SqlType::DateTime
            | SqlType::Date
            | SqlType::Uuid => Affinity::Text,
            SqlType::Blob => Affinity::Blob,
        }
    }

    /// The affinity SQLite gives a declared column type, by the rules of
    /// <https://sqlite.org/datatype3.html#determination_of_column_affinity>.
    /// `None` is NUMERIC affinity, which no Rust type maps to.
    pub(crate) fn of_declared(declared: &str) -> Option<Affinity> {
        let upper = declared.to_ascii_uppercase();
        if upper.contains("INT") {
            Some(Affinity::Integer)
        } else if upper.contains("CHAR") || upper.contains("CLOB") || upper.contains("TEXT") {
            Some(Affinity::Text)
        } else if upper.contains("BLOB") || upper.trim().is_empty() {
            Some(Affinity::Blob)
        } else if upper.contains("REAL") || upper.contains("FLOA") || upper.contains("DOUB") {
            Some(Affinity::Real)
        } else {
            None
        }
    }
}

impl Dialect for SqliteDialect {
    /// Takes the write lock at once, so concurrent writers queue on the busy
    /// timeout instead of failing mid-transaction.
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    const RELEASE: &'static str = "RELEASE doctable_nested";
    const ROLLBACK_TO: &'static str = "ROLLBACK TO doctable_nested; RELEASE doctable_nested";

    #[inline]
    fn push_placeholder(out: &mut String, n: usize) {
        use std::fmt::Write;
        // Writing to a String cannot fail.
        let _ = write!(out, "?{n}");
    }

    /// The builders' slots already hold `?`, which SQLite numbers in order:
    /// the text runs as it is.
    #[inline]
    fn render<'s>(sql: &'s str, _slots: &[usize]) -> Cow<'s, str> {
        Cow::Borrowed(sql)
    }

    /// SQLite's aggregates already read as the declared result types (`sum`
    /// of integers is an integer, `avg` a real): no cast is written, and a
    /// sum holding a REAL that should not be there stays a conversion error.
    #[inline]
    fn render_fragment(q: &crate::fragment::Fragment) -> Cow<'_, str> {
        Cow::Borrowed(&q.sql)
    }

    fn insert_prefix(conflict: Conflict) -> &'static str {
        match conflict {
            Conflict::Fail => "INSERT INTO ",
            Conflict::Ignore => "INSERT OR IGNORE INTO ",
            Conflict::Replace => "INSERT OR REPLACE INTO ",
        }
    }

    fn insert_suffix(_conflict: Conflict) -> &'static str {
        ""
    }

    /// `INSERT OR FAIL` for a plain multi-row insert: a statement that may
    /// abort half-way (`OR ABORT`, the default) makes SQLite keep a statement
    /// journal of every page it changes, which passes 64 KiB and goes to a
    /// temporary file after a few rows of a table with indexes (measured:
    /// ten times the writes of the single-row path). `OR FAIL` stops at the
    /// failing row without undoing the statement's earlier rows, and needs no
    /// statement journal; the crate's transaction (a savepoint inside an open
    /// one) rolls all of them back, so the batch stays all or nothing. The
    /// constraint error is the same. (A foreign key still needs the journal.)
    fn multi_row_prefix(conflict: Conflict) -> &'static str {
        match conflict {
            Conflict::Fail => "INSERT OR FAIL INTO ",
            other => Self::insert_prefix(other),
        }
    }

    /// LIMIT and OFFSET are written as integer literals, not bound: SQLite's
    /// planner reads a LIMIT parameter's value, which marks the parameter so
    /// that every new binding re-prepares the whole statement at its next step
    /// (measured: one full re-prepare per query, 11% more work on a 100-row
    /// query). SQLite reads a negative LIMIT as "no limit", which an OFFSET
    /// without a LIMIT needs.
    fn push_limit_offset(out: &mut String, limit: Option<u64>, offset: Option<u64>) {
        use std::fmt::Write;
        let saturate = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        if limit.is_some() || offset.is_some() {
            let _ = write!(out, " LIMIT {}", limit.map_or(-1, saturate));
        }
        if let Some(offset) = offset {
            let _ = write!(out, " OFFSET {}", saturate(offset));
        }
    }

    fn type_name(ty: SqlType) -> &'static str {
        match ty {
            SqlType::Integer | SqlType::Bool => "INTEGER",
            SqlType::Real => "REAL",
            SqlType::Text
            | SqlType::Json
            | SqlType::Timestamp
            | SqlType::DateTime
            | SqlType::Date
            | SqlType::Uuid => "TEXT",
            SqlType::Blob => "BLOB",
        }
    }

    /// `TYPE PRIMARY KEY [AUTOINCREMENT]`.
    fn push_type_and_key(out: &mut String, column: &ColumnMeta) {
        out.push_str(Self::type_name(column.sql_type));
        if column.primary_key {
            out.push_str(" PRIMARY KEY");
            if column.autoincrement {
                out.push_str(" AUTOINCREMENT");
            }
        }
    }

    /// An INTEGER PRIMARY KEY is the rowid and never NULL; other keys need
    /// NOT NULL said, because SQLite lets a non-integer primary key hold NULL.
    fn key_is_not_null(column: &ColumnMeta) -> bool {
        rowid_alias(column)
    }

    /// SQLite's `ADD COLUMN` takes only a constant default (a number, a
    /// string or blob literal, NULL, TRUE or FALSE): `CURRENT_TIMESTAMP` or
    /// any other expression is "Cannot add a column with non-constant
    /// default", and a foreign key column only NULL, when foreign keys are on.
    fn add_column_refusal(column: &ColumnMeta) -> Option<String> {
        let default = column.default?;
        if !constant_default(default) {
            return Some(format!(
                "no such column, and SQLite cannot add it with ALTER TABLE ADD COLUMN: its default \
                 `{default}` is not a constant (SQLite takes only a literal there; PostgreSQL \
                 takes any expression). Add it with `rebuild_table`, which fills the default in \
                 for the rows there are, or give it a constant default"
            ));
        }
        if column.references.is_some() && !default.trim().eq_ignore_ascii_case("NULL") {
            return Some(format!(
                "no such column, and SQLite cannot add it with ALTER TABLE ADD COLUMN: a \
                 foreign key column added that way must default to NULL, not `{default}`. Add \
                 it with `rebuild_table`, or make it an `Option` without a default"
            ));
        }
        None
    }

    /// A `CASE typeof(v) ...` that fails the statement unless `v` reads back
    /// as the field (see `sqlite/checked.rs`): SQLite stores an integer
    /// overflow as a REAL and a NaN or a division by zero as NULL.
    fn push_checked(out: &mut Fragment, value: &Fragment, target: &Target, n: usize) {
        checked::push_checked(out, value, target, n);
    }

    fn failed_check(error: &Error) -> Option<(usize, CheckFailure)> {
        checked::failed_check(error)
    }

    /// Compared by affinity, so a column declared `BIGINT` by another tool
    /// holds an `i64`, and existing bool and JSON columns (INTEGER, TEXT) match.
    fn same_type(declared: &str, ty: SqlType) -> bool {
        Affinity::of_declared(declared) == Some(Affinity::of_type(ty))
    }
}

/// Whether the column is an alias of the rowid (an INTEGER PRIMARY KEY).
pub(crate) fn rowid_alias(column: &ColumnMeta) -> bool {
    column.primary_key && Affinity::of_type(column.sql_type) == Affinity::Integer
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many times the statement cache's copy of `sql` has run (0: the
    /// cache had none, and prepares one now).
    fn cached_runs(conn: &Connection, sql: &str) -> i32 {
        conn.prepare_cached(sql)
            .expect("prepare")
            .get_status(rusqlite::StatementStatus::Run)
    }

    fn run(conn: &Connection, sql: &str) {
        Sqlite::with_statement(conn, None, sql, |b| Sqlite::execute(b, None, sql)).expect("run");
    }

    #[test]
    fn a_one_shot_call_prepares_only_its_first_statement_outside_the_cache() {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch("CREATE TABLE t (a INTEGER)")
            .expect("create");
        let (first, second) = ("INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (2)");
        {
            let _once = OneShot::enter();
            run(&conn, first);
            run(&conn, second);
            run(&conn, second);
        }
        // The first ran once, finalized; the second went through the cache both times.
        assert_eq!(cached_runs(&conn, first), 0);
        assert_eq!(cached_runs(&conn, second), 2);
        // Outside a one-shot call every statement is cached.
        run(&conn, first);
        assert_eq!(cached_runs(&conn, first), 1);
        let count: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .expect("count");
        assert_eq!(count, 4);
    }

    #[test]
    fn affinity_follows_sqlite_rules() {
        assert_eq!(Affinity::of_declared("BIGINT"), Some(Affinity::Integer));
        assert_eq!(Affinity::of_declared("varchar(20)"), Some(Affinity::Text));
        assert_eq!(Affinity::of_declared(""), Some(Affinity::Blob));
        assert_eq!(
            Affinity::of_declared("double precision"),
            Some(Affinity::Real)
        );
        assert_eq!(Affinity::of_declared("NUMERIC"), None);
        // "FLOATING POINT" contains INT, so SQLite gives it INTEGER affinity.
        assert_eq!(
            Affinity::of_declared("FLOATING POINT"),
            Some(Affinity::Integer)
        );
    }

    #[test]
    fn bool_and_json_keep_their_sqlite_declarations() {
        assert_eq!(SqliteDialect::type_name(SqlType::Bool), "INTEGER");
        assert_eq!(SqliteDialect::type_name(SqlType::Json), "TEXT");
        assert!(SqliteDialect::same_type("INTEGER", SqlType::Bool));
        assert!(SqliteDialect::same_type("TEXT", SqlType::Json));
        assert!(!SqliteDialect::same_type("TEXT", SqlType::Bool));
    }

    #[test]
    fn bool_binds_as_integer() {
        assert_eq!(encode(ValueRef::Bool(true)), SqliteRef::Integer(1));
        assert_eq!(encode(ValueRef::Bool(false)), SqliteRef::Integer(0));
    }
}

/// The most characters of a statement's values a foreign-key error quotes.
const VALUES_SHOWN: usize = 300;

/// Adds the values a write bound to a foreign-key violation, which SQLite
/// reports without saying which row or value failed (PostgreSQL's DETAIL
/// does): the statement as SQLite expands it with its values, cut at
/// [`VALUES_SHOWN`] characters.
#[cold]
fn with_bound_values(error: crate::Error, binder: &rusqlite::Statement<'_>) -> crate::Error {
    match error {
        crate::Error::Constraint {
            table,
            kind: crate::ConstraintKind::ForeignKey,
            mut message,
            sql,
            source,
        } => {
            if let Some(expanded) = binder.expanded_sql() {
                let mut shown: String = expanded.chars().take(VALUES_SHOWN).collect();
                if shown.len() < expanded.len() {
                    shown.push_str("...");
                }
                message.push_str(&format!(" (the statement with its values: {shown})"));
            }
            crate::Error::Constraint {
                table,
                kind: crate::ConstraintKind::ForeignKey,
                message,
                sql,
                source,
            }
        }
        other => other,
    }
}

/// Whether `sql` is a default SQLite's `ADD COLUMN` takes: a literal, maybe
/// signed, maybe in parentheses (what SQLite can evaluate without a row).
fn constant_default(sql: &str) -> bool {
    let mut text = sql.trim();
    while let Some(inner) = text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        text = inner.trim();
    }
    let unsigned = text.strip_prefix(['-', '+']).map_or(text, str::trim_start);
    let keyword = |k: &str| text.eq_ignore_ascii_case(k);
    if keyword("NULL") || keyword("TRUE") || keyword("FALSE") {
        return true;
    }
    let quoted = |t: &str| {
        t.strip_prefix('\'')
            .and_then(|rest| rest.strip_suffix('\''))
            .is_some_and(|inner| !inner.replace("''", "").contains('\''))
    };
    if quoted(text) {
        return true;
    }
    if let Some(hex) = text.strip_prefix(['x', 'X']) {
        return quoted(hex);
    }
    if let Some(hex) = unsigned
        .strip_prefix("0x")
        .or_else(|| unsigned.strip_prefix("0X"))
    {
        return !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit());
    }
    !unsigned.is_empty()
        && unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && unsigned.parse::<f64>().is_ok()
}

#[cfg(test)]
mod default_tests {
    use super::constant_default;

    #[test]
    fn constant_defaults_are_told_from_expressions() {
        for ok in [
            "0", "-1", "+2.5", "1e3", "'en'", "'it''s'", "NULL", "true", "(('x'))", "X'00ff'",
            "0x1F", "( -3 )",
        ] {
            assert!(constant_default(ok), "{ok}");
        }
        for refused in [
            "CURRENT_TIMESTAMP",
            "current_date",
            "CURRENT_TIME",
            "datetime('now')",
            "(1 + 2)",
            "'a' || 'b'",
            "random()",
            "'a' 'b'",
            "",
            "inf",
            "abs(-1)",
        ] {
            assert!(!constant_default(refused), "{refused}");
        }
    }
}
