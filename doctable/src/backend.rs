//! The seam between the shared code (tables, queries, schema) and a database
//! engine: one [`Backend`] type per engine, carrying its connection, row and
//! statement types, its value encoding, its execution primitives and its
//! [`Dialect`].
//!
//! Generated code is generic over the backend (`DocTable::__bind::<B>`), so the
//! compiler makes one copy per backend and no driver type appears in a user's
//! expansion. SQLite ([`Sqlite`](crate::Sqlite)) is the first backend.

use std::borrow::Cow;

use crate::catalog::{RebuildReport, TableSchema};
use crate::error::{Error, Result};
use crate::fragment::Fragment;
use crate::meta::{ColumnMeta, TableMeta};
use crate::query::checked::{CheckFailure, Target};
use crate::value::{SqlType, ToValue, ValueRef};

#[cfg(test)]
pub(crate) mod recording;

pub(crate) mod sealed {
    /// Only the crate's own backends implement [`Backend`](super::Backend).
    pub trait Sealed {}
}

/// The number of backends compiled in: the size of per-backend caches
/// (each backend's [`Backend::SLOT`] indexes them).
pub(crate) const BACKENDS: usize = 1 + cfg!(feature = "postgres") as usize + cfg!(test) as usize;

/// A database engine. Sealed: the crate's backends are [`Sqlite`](crate::Sqlite)
/// (feature `sqlite`, on by default) and `Postgres` (feature `postgres`).
///
/// Users never name its methods: every table operation takes `&impl Conn`, and
/// the backend is the connection's [`Conn::Backend`](crate::Conn::Backend).
pub trait Backend: sealed::Sealed + Sized + 'static {
    /// The driver's connection, reached through `&` everywhere (a backend whose
    /// client needs `&mut` wraps it with interior mutability).
    type Connection;
    /// A prepared statement parameters are bound to.
    type Binder<'s>;
    /// A result row columns are read from.
    type Row<'r>;
    /// How this engine spells SQL.
    type Dialect: Dialect;

    /// This backend's index into per-backend caches (below [`BACKENDS`]).
    #[doc(hidden)]
    const SLOT: usize;

    /// Whether [`bind`](Backend::bind) can refuse a value (a conversion
    /// error naming only the parameter's number, which the caller that knows
    /// the column renames). A constant, so a backend whose bind never refuses
    /// pays nothing for the renaming.
    #[doc(hidden)]
    const BIND_CAN_REFUSE: bool = false;

    /// Binds `value` to parameter `index` (1-based); `table` names the table in an error.
    #[doc(hidden)]
    fn bind(
        binder: &mut Self::Binder<'_>,
        index: usize,
        value: ToValue<'_>,
        table: &str,
    ) -> Result<()>;

    /// The value of column `index` (0-based) of `row`; `table` names the table in an error.
    #[doc(hidden)]
    fn value_at<'r>(row: &'r Self::Row<'_>, index: usize, table: &str) -> Result<ValueRef<'r>>;

    /// The name of column `index` (0-based) of `row` as the statement gives
    /// it, for messages about raw SQL (`None` if there is no such column).
    #[doc(hidden)]
    #[cold]
    fn column_name(row: &Self::Row<'_>, index: usize) -> Option<String> {
        let _ = (row, index);
        None
    }

    /// Prepares `sql` (from the connection's statement cache) and runs `f` with it.
    #[doc(hidden)]
    fn with_statement<R>(
        conn: &Self::Connection,
        table: Option<&str>,
        sql: &str,
        f: impl FnOnce(&mut Self::Binder<'_>) -> Result<R>,
    ) -> Result<R>;

    /// How many parameters the prepared statement has.
    #[doc(hidden)]
    fn parameter_count(binder: &Self::Binder<'_>) -> usize;

    /// Runs the bound statement; returns how many rows it changed.
    #[doc(hidden)]
    fn execute(binder: &mut Self::Binder<'_>, table: Option<&str>, sql: &str) -> Result<usize>;

    /// Runs the bound statement and calls `each` per row until it returns `false`.
    #[doc(hidden)]
    fn each_row(
        binder: &mut Self::Binder<'_>,
        table: Option<&str>,
        sql: &str,
        each: impl FnMut(&Self::Row<'_>) -> Result<bool>,
    ) -> Result<()>;

    /// [`each_row`](Backend::each_row) for a caller that keeps the rows it
    /// is given and runs no code of the user's between them (`all`, `get`,
    /// `first`, `one`, `exists`, `count`, `RETURNING`): a backend may read
    /// the whole result in one go before the first call (PostgreSQL: one
    /// wait for the server's reply instead of one per row). `for_each` and
    /// `chunks`, whose memory stays flat, stream through `each_row`. By
    /// default `each_row` itself (SQLite: a row is a step of the statement,
    /// nothing to collect). `each` is also given how many rows the whole
    /// result has when the backend knows before the first row (PostgreSQL),
    /// else 0, so that a caller collecting them allocates once.
    #[doc(hidden)]
    #[inline(always)]
    fn all_rows(
        binder: &mut Self::Binder<'_>,
        table: Option<&str>,
        sql: &str,
        mut each: impl FnMut(&Self::Row<'_>, usize) -> Result<bool>,
    ) -> Result<()> {
        Self::each_row(binder, table, sql, |row| each(row, 0))
    }

    /// Runs statements without parameters (DDL, transaction control).
    #[doc(hidden)]
    fn execute_batch(conn: &Self::Connection, table: Option<&str>, sql: &str) -> Result<()>;

    /// The key of the row the last insert on `conn` wrote.
    #[doc(hidden)]
    fn last_insert_id(conn: &Self::Connection) -> i64;

    /// Whether no transaction is open on `conn`.
    #[doc(hidden)]
    fn is_autocommit(conn: &Self::Connection) -> bool;

    /// Called with an error met inside a transaction the crate opened:
    /// whether the engine ended the transaction because of it, so that
    /// nothing more can run in it (SQLite rolls the whole transaction back
    /// by itself after a full disk, an interrupt, an I/O error or out of
    /// memory; PostgreSQL aborts it after any error). The crate then reports
    /// [`Error::TransactionRolledBack`](crate::Error::TransactionRolledBack)
    /// and runs nothing more through the transaction's `Tx`.
    #[doc(hidden)]
    fn ended_by_error(conn: &Self::Connection, error: &crate::Error) -> bool;

    /// The files folder of `#[doctable(file)]` columns when the strategy sets
    /// none: SQLite's is beside a database file; PostgreSQL has none.
    #[doc(hidden)]
    fn default_files_folder(conn: &Self::Connection) -> Result<std::path::PathBuf> {
        let _ = conn;
        Err(Error::Usage(
            "file columns need a files folder, and this connection has none: set one with the \
             strategy's `with_files_folder(path)`"
                .into(),
        ))
    }

    /// The table named `table` as it is in the database, or `None`.
    #[doc(hidden)]
    fn reflect(conn: &Self::Connection, table: &str) -> Result<Option<TableSchema>>;

    /// Rewrites the CHECK clauses of `schema` (as reflected) that mean the
    /// same as one declared in `meta` into the declared text, for an engine
    /// that stores a check only in its own normalized spelling.
    #[doc(hidden)]
    fn canonical_checks(
        conn: &Self::Connection,
        meta: &TableMeta,
        schema: &mut TableSchema,
    ) -> Result<()> {
        let _ = (conn, meta, schema);
        Ok(())
    }

    /// The names of the user's tables, sorted.
    #[doc(hidden)]
    fn list_tables(conn: &Self::Connection) -> Result<Vec<String>>;

    /// The table owning the index named `index`, if there is such an index
    /// (index names are shared by a whole database).
    #[doc(hidden)]
    fn index_owner(conn: &Self::Connection, table: &str, index: &str) -> Result<Option<String>>;

    /// Called first inside `create_table`'s transaction: makes a second
    /// connection creating or extending the same table wait until this
    /// transaction ends, so that it compares against the finished table.
    /// Nothing by default: SQLite's `BEGIN IMMEDIATE` already takes the
    /// database's write lock.
    #[doc(hidden)]
    fn lock_table_schema(_conn: &Self::Connection, _table: &str) -> Result<()> {
        Ok(())
    }

    /// Rebuilds the table declared by `meta` to match it (see
    /// [`DocTable::rebuild_table`](crate::DocTable::rebuild_table)); `check`
    /// reads one row of the rebuilt table (its columns in declaration order)
    /// back through the struct.
    #[doc(hidden)]
    fn rebuild_table(
        conn: &Self::Connection,
        meta: &'static TableMeta,
        check: RowCheck<Self>,
    ) -> Result<RebuildReport>;

    /// Whether `insert_many` goes through [`insert_rows`](Backend::insert_rows)
    /// (a backend with its own bulk form). A constant: a backend without one
    /// (SQLite) runs its per-row path with no branch left at run time.
    #[doc(hidden)]
    const BULK_INSERT: bool = false;

    /// Makes the parameter numbers bound next count from `offset` on (the
    /// derive binds a row's values as `1..=columns`): a multi-row insert binds
    /// row `k` of a chunk at `k * columns`. The binder starts at 0.
    #[doc(hidden)]
    fn set_bind_offset(binder: &mut Self::Binder<'_>, offset: usize);

    /// Makes the binder drop parameter `skipped` (numbered as the derive
    /// binds, from 1) and number every later one a place lower: a row bound
    /// whole to the statement that leaves its absent key column out (see
    /// [`Dialect::INSERT_RETURNS_KEY`]). 0, where the binder starts, skips
    /// nothing. Only a dialect that writes such statements needs it.
    #[doc(hidden)]
    #[inline]
    fn set_bind_skip(binder: &mut Self::Binder<'_>, skipped: usize) {
        let _ = (binder, skipped);
    }

    /// Inserts `rows` in one transaction (a savepoint inside an open one),
    /// all or nothing, with `conflict` handling; the number of rows written.
    /// The default is the per-row path: one prepared single-row statement run
    /// once per row.
    #[doc(hidden)]
    fn insert_rows<'r, T: crate::record::Record + 'r>(
        conn: &Self::Connection,
        rows: impl IntoIterator<Item = &'r T>,
        conflict: Conflict,
    ) -> Result<usize> {
        crate::rows::insert_each::<Self, T>(conn, rows, conflict)
    }
}

/// Reads one row back through a table's struct, for
/// [`Backend::rebuild_table`]: `Ok` if every column fits its field.
#[doc(hidden)]
pub(crate) type RowCheck<B> = fn(&<B as Backend>::Row<'_>) -> Result<()>;

/// How an engine spells SQL: placeholders, DDL types and keys, conflict
/// clauses, limits, transaction statements. The shared builders write the
/// engine-neutral parts (quoted identifiers, operators) and ask the dialect
/// for the rest.
///
/// Every method has the standard-SQL (PostgreSQL-like) spelling as its default,
/// so a dialect overrides only its quirks.
pub trait Dialect: 'static {
    /// Opens a write transaction.
    const BEGIN_WRITE: &'static str = "BEGIN";
    /// Commits the outermost transaction.
    const COMMIT: &'static str = "COMMIT";
    /// Rolls back the outermost transaction.
    const ROLLBACK: &'static str = "ROLLBACK";
    /// Opens a nested transaction.
    const SAVEPOINT: &'static str = "SAVEPOINT doctable_nested";
    /// Commits a nested transaction.
    const RELEASE: &'static str = "RELEASE SAVEPOINT doctable_nested";
    /// Rolls back a nested transaction (and then releases it).
    const ROLLBACK_TO: &'static str =
        "ROLLBACK TO SAVEPOINT doctable_nested; RELEASE SAVEPOINT doctable_nested";
    /// Reads back the written rows; followed by the column list.
    const RETURNING: &'static str = " RETURNING ";
    /// The pseudo-table of an upsert that holds the row that could not be inserted.
    const EXCLUDED: &'static str = "excluded";

    /// Appends the placeholder of parameter `n` (1-based).
    fn push_placeholder(out: &mut String, n: usize);

    /// The text to run for `sql`, whose parameter slots (each a `?` the
    /// builder wrote, or a `?` of raw SQL found by [`param_slots`](crate::dialect::param_slots)) start at
    /// the byte offsets `slots`, in order. The default writes each slot as
    /// [`push_placeholder`](Dialect::push_placeholder) numbered from 1.
    fn render<'s>(sql: &'s str, slots: &[usize]) -> Cow<'s, str> {
        let mut out = String::with_capacity(sql.len() + slots.len() * 2);
        let mut from = 0;
        for (i, &at) in slots.iter().enumerate() {
            out.push_str(sql.get(from..at).unwrap_or_default());
            Self::push_placeholder(&mut out, i + 1);
            from = at + 1;
        }
        out.push_str(sql.get(from..).unwrap_or_default());
        Cow::Owned(out)
    }

    /// The text to run for the built statement `q`: its parameter slots
    /// rendered as by [`render`](Dialect::render), and its casts (an
    /// aggregate whose result type differs by engine) written as
    /// `CAST(.. AS <type>)` ([`push_cast_end`](Dialect::push_cast_end)).
    #[doc(hidden)]
    fn render_fragment(q: &Fragment) -> Cow<'_, str> {
        if q.casts.is_empty() {
            return Self::render(&q.sql, &q.slots);
        }
        let sql = q.sql.as_str();
        let mut out = String::with_capacity(sql.len() + q.slots.len() * 2 + q.casts.len() * 12);
        let mut from = 0;
        let (mut slots, mut casts) = (q.slots.iter().peekable(), q.casts.iter().peekable());
        let mut n = 0;
        loop {
            // At one offset a cast's mark goes first: it starts before (or
            // ends after) what is there.
            let next_cast = casts.peek().map(|c| c.at);
            let next_slot = slots.peek().map(|&&at| at);
            match (next_cast, next_slot) {
                (Some(c), s) if s.is_none_or(|s| c <= s) => {
                    let cast = casts.next().copied();
                    out.push_str(sql.get(from..c).unwrap_or_default());
                    from = from.max(c);
                    match cast.and_then(|c| c.to) {
                        None => out.push_str("CAST("),
                        Some(to) => Self::push_cast_end(&mut out, to),
                    }
                }
                (_, Some(at)) => {
                    slots.next();
                    out.push_str(sql.get(from..at).unwrap_or_default());
                    n += 1;
                    Self::push_placeholder(&mut out, n);
                    from = at + 1;
                }
                (_, None) => break,
            }
        }
        out.push_str(sql.get(from..).unwrap_or_default());
        Cow::Owned(out)
    }

    /// Ends a cast started by `CAST(`: ` AS <type>)`.
    #[doc(hidden)]
    fn push_cast_end(out: &mut String, to: SqlType) {
        out.push_str(" AS ");
        out.push_str(Self::type_name(to));
        out.push(')');
    }

    /// The start of an insert: `INSERT INTO `, or the engine's spelling of
    /// "skip a conflicting row" / "replace the conflicting rows".
    fn insert_prefix(conflict: Conflict) -> &'static str {
        let _ = conflict;
        "INSERT INTO "
    }

    /// The start of a multi-row insert of two or more rows (inside a
    /// transaction the crate rolls back on any error): by default
    /// [`insert_prefix`](Dialect::insert_prefix).
    #[doc(hidden)]
    fn multi_row_prefix(conflict: Conflict) -> &'static str {
        Self::insert_prefix(conflict)
    }

    /// What follows the `VALUES (...)` of an insert for `conflict`
    /// (`ON CONFLICT DO NOTHING` where the prefix cannot say it).
    fn insert_suffix(conflict: Conflict) -> &'static str {
        match conflict {
            Conflict::Fail => "",
            Conflict::Ignore => " ON CONFLICT DO NOTHING",
            // Without a conflict target the standard form cannot replace;
            // a dialect that supports replace overrides `insert_prefix`.
            Conflict::Replace => " ON CONFLICT DO NOTHING",
        }
    }

    /// Whether a row insert reads the assigned key back with `RETURNING
    /// "key"` (an engine without a rowid): the backend's `execute` then
    /// keeps the returned key for [`Backend::last_insert_id`].
    const INSERT_RETURNS_KEY: bool = false;

    /// Appends the value of column `index` of `meta` in an insert's `VALUES`
    /// (one row of a multi-row insert, or the row of a single insert), bound
    /// as parameter `n`: by default the placeholder `n` (an engine whose key
    /// column does not take NULL for "assign one" says so here).
    #[inline]
    fn push_row_value(out: &mut String, meta: &TableMeta, index: usize, n: usize) {
        let _ = (meta, index);
        Self::push_placeholder(out, n);
    }

    /// Appends what follows the `VALUES (...)` of a row insert for `conflict`
    /// on the table of `meta`: by default [`insert_suffix`](Dialect::insert_suffix).
    fn push_insert_suffix(out: &mut String, meta: &TableMeta, conflict: Conflict) {
        let _ = meta;
        out.push_str(Self::insert_suffix(conflict));
    }

    /// Appends ` LIMIT n OFFSET m` as far as each is given. Both are written as
    /// integer literals from `u64`s, never bound (see the SQLite dialect for why).
    fn push_limit_offset(out: &mut String, limit: Option<u64>, offset: Option<u64>) {
        use std::fmt::Write;
        if let Some(limit) = limit {
            let _ = write!(out, " LIMIT {limit}");
        }
        if let Some(offset) = offset {
            let _ = write!(out, " OFFSET {offset}");
        }
    }

    /// The DDL type of a column of logical type `ty`.
    fn type_name(ty: SqlType) -> &'static str;

    /// Appends `value`, computed in SQL by `update().set(column, expression)`,
    /// as it is to be stored in the column `target`: check number `n` of the
    /// statement. The value's text may be written more than once (each copy
    /// with its own parameter slots, bound to copies of its values:
    /// [`Fragment::push_copy`]).
    ///
    /// The default writes the plain expression, `(value)`: right for an
    /// engine that raises its own errors on integer overflow and division by
    /// zero and whose column types refuse what does not fit (PostgreSQL). A
    /// dialect whose engine stores whatever arithmetic computes (SQLite: a
    /// REAL from an overflow, NULL from a NaN or a division by zero) writes a
    /// check that fails the statement, and reads that failure back in
    /// [`failed_check`](Dialect::failed_check).
    #[doc(hidden)]
    fn push_checked(out: &mut Fragment, value: &Fragment, target: &Target, n: usize) {
        let _ = (target, n);
        out.sql.push('(');
        out.push_copy(value);
        out.sql.push(')');
    }

    /// Which check written by [`push_checked`](Dialect::push_checked) made a
    /// statement fail with `error`, and how; `None` if no check did.
    #[doc(hidden)]
    fn failed_check(error: &Error) -> Option<(usize, CheckFailure)> {
        let _ = error;
        None
    }

    /// Appends the column's type and key clause to its definition:
    /// `TYPE [PRIMARY KEY ...]`.
    fn push_type_and_key(out: &mut String, column: &ColumnMeta) {
        out.push_str(Self::type_name(column.sql_type));
        if column.primary_key {
            out.push_str(" PRIMARY KEY");
        }
    }

    /// Whether the column's key clause already makes it NOT NULL (so its
    /// definition does not say so, and the schema diff expects it either way).
    fn key_is_not_null(column: &ColumnMeta) -> bool {
        column.primary_key
    }

    /// Whether a column declared `declared` in the database holds values of
    /// logical type `ty` (what the schema diff compares).
    fn same_type(declared: &str, ty: SqlType) -> bool {
        declared.eq_ignore_ascii_case(Self::type_name(ty))
    }

    /// Why this engine's `ALTER TABLE ADD COLUMN` cannot add `column` (a
    /// nullable or defaulted column the table lacks), if it cannot: the
    /// schema diff then reports a mismatch before anything runs, instead of
    /// calling the change safe. `None` (the default) when it can.
    #[doc(hidden)]
    fn add_column_refusal(column: &ColumnMeta) -> Option<String> {
        let _ = column;
        None
    }
}

/// What an insert does when a row breaks a uniqueness constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[doc(hidden)]
pub enum Conflict {
    /// The insert fails.
    Fail,
    /// The row is skipped.
    Ignore,
    /// The conflicting rows are replaced.
    Replace,
}
