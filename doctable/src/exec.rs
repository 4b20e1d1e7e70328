//! The one execution path every row operation and query takes: prepare (from
//! the statement cache) → bind → run → errors with their context (the SQL, the
//! table and, for a write, the table's foreign keys).

use crate::backend::Backend;
use crate::conn::{ConnOf, atomically};
use crate::error::{ConstraintKind, Error, Result};
use crate::meta::TableMeta;
use crate::value::{ToValue, Value};

/// A statement to run: its text, the table it is about, and (for writes) the
/// table whose foreign keys a foreign-key violation is explained with.
#[derive(Clone, Copy)]
pub(crate) struct Stmt<'a> {
    pub(crate) table: &'a str,
    pub(crate) sql: &'a str,
    pub(crate) keys: Option<&'a TableMeta>,
}

impl<'a> Stmt<'a> {
    /// A read of `table`.
    #[inline]
    pub(crate) fn read(table: &'a str, sql: &'a str) -> Self {
        Stmt {
            table,
            sql,
            keys: None,
        }
    }

    /// A write to the table of `meta`.
    #[inline]
    pub(crate) fn write(meta: &'a TableMeta, sql: &'a str) -> Self {
        Stmt {
            table: meta.name,
            sql,
            keys: Some(meta),
        }
    }

    /// `result` with the foreign-key detail added to its error, for a write.
    #[inline]
    fn explain<R>(self, result: Result<R>) -> Result<R> {
        match (result, self.keys) {
            (Err(e), Some(meta)) => Err(with_foreign_keys(e, meta)),
            (other, _) => other,
        }
    }

    /// Prepares, binds with `bind`, executes: the number of rows changed.
    #[inline]
    pub(crate) fn execute<B: Backend>(
        self,
        conn: &ConnOf<B>,
        bind: impl FnOnce(&mut B::Binder<'_>) -> Result<()>,
    ) -> Result<usize> {
        let t = Some(self.table);
        self.explain(B::with_statement(conn, t, self.sql, |stmt| {
            bind(stmt)?;
            B::execute(stmt, t, self.sql)
        }))
    }

    /// Prepares and binds with `bind`, without running the statement (what
    /// a backend that reads the bound values back uses).
    #[cfg(feature = "postgres")]
    #[inline]
    pub(crate) fn bind_only<B: Backend>(
        self,
        conn: &ConnOf<B>,
        bind: impl FnOnce(&mut B::Binder<'_>) -> Result<()>,
    ) -> Result<()> {
        let t = Some(self.table);
        self.explain(B::with_statement(conn, t, self.sql, bind))
    }

    /// Prepares once and, in one transaction (a savepoint inside an open one),
    /// binds and executes per item: all or nothing. The total of rows changed.
    #[inline]
    pub(crate) fn execute_each<B: Backend, I: IntoIterator>(
        self,
        conn: &ConnOf<B>,
        items: I,
        mut bind: impl FnMut(&mut B::Binder<'_>, I::Item) -> Result<()>,
    ) -> Result<usize> {
        let t = Some(self.table);
        self.explain(atomically::<B, _>(conn, t, |c| {
            B::with_statement(c, t, self.sql, |stmt| {
                let mut changed = 0;
                for item in items {
                    bind(stmt, item)?;
                    changed += B::execute(stmt, t, self.sql)?;
                }
                Ok(changed)
            })
        }))
    }

    /// Prepares, binds with `bind`, and calls `each` per row until it returns `false`.
    #[inline]
    pub(crate) fn rows<B: Backend>(
        self,
        conn: &ConnOf<B>,
        bind: impl FnOnce(&mut B::Binder<'_>) -> Result<()>,
        each: impl FnMut(&B::Row<'_>) -> Result<bool>,
    ) -> Result<()> {
        let t = Some(self.table);
        self.explain(B::with_statement(conn, t, self.sql, |stmt| {
            bind(stmt)?;
            B::each_row(stmt, t, self.sql, each)
        }))
    }

    /// [`rows`](Stmt::rows) for a caller that keeps every row it is given
    /// (see [`Backend::all_rows`]): the result may be read in one go, and
    /// `each` is also given the number of rows in it where that is known
    /// before the first (else 0).
    #[inline]
    pub(crate) fn all_rows<B: Backend>(
        self,
        conn: &ConnOf<B>,
        bind: impl FnOnce(&mut B::Binder<'_>) -> Result<()>,
        each: impl FnMut(&B::Row<'_>, usize) -> Result<bool>,
    ) -> Result<()> {
        let t = Some(self.table);
        self.explain(B::with_statement(conn, t, self.sql, |stmt| {
            bind(stmt)?;
            B::all_rows(stmt, t, self.sql, each)
        }))
    }

    /// Binds every value of `params`, after checking there is exactly one
    /// value per placeholder (raw SQL could otherwise leave one silently NULL).
    #[inline]
    pub(crate) fn bind_params<B: Backend>(
        self,
        stmt: &mut B::Binder<'_>,
        params: &[Value],
    ) -> Result<()> {
        let expected = B::parameter_count(stmt);
        if expected != params.len() {
            return Err(Error::Usage(format!(
                "table `{}`: the SQL has {expected} parameter(s) but {} value(s) were given\n    SQL: {}",
                self.table,
                params.len(),
                self.sql
            )));
        }
        for (i, p) in params.iter().enumerate() {
            B::bind(stmt, i + 1, ToValue::Borrowed(p.as_ref()), self.table)?;
        }
        Ok(())
    }
}

/// Adds the foreign keys of `meta` to a foreign key violation, which SQLite
/// reports without naming the key.
pub(crate) fn with_foreign_keys(error: Error, meta: &TableMeta) -> Error {
    match error {
        Error::Constraint {
            table,
            kind: ConstraintKind::ForeignKey,
            mut message,
            sql,
            source,
        } => {
            let keys: Vec<String> = meta
                .columns
                .iter()
                .filter_map(|c| {
                    c.references
                        .map(|fk| format!("`{}` -> `{}`(`{}`)", c.name, fk.table, fk.column))
                })
                .collect();
            if keys.is_empty() {
                message.push_str(" (another table's foreign key refers to the rows changed)");
            } else {
                message.push_str(&format!(" (the table's foreign keys: {})", keys.join(", ")));
            }
            Error::Constraint {
                table,
                kind: ConstraintKind::ForeignKey,
                message,
                sql,
                source,
            }
        }
        other => other,
    }
}
