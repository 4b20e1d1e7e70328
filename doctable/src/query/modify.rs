//! `Doc::update()` and `Doc::delete()`: both must be told which rows.

use std::marker::PhantomData;

use super::checked::Target;
use super::select::{and_into, push_where};
use super::{check, execute};
use crate::backend::{Backend, Dialect};
use crate::column_type::ColumnType;
use crate::conn::{Conn, atomically};
use crate::dialect::push_ident;
use crate::error::{Error, Result};
use crate::expr::{Column, Expr, Fragment, IntoOperand, Operand};
use crate::meta::TableMeta;
use crate::record::Record;
use crate::stamp::Stamp;

/// Runs the built write `q` on `conn`: the number of rows changed.
fn run_write<C: Conn>(conn: &C, q: &Fragment, meta: &TableMeta) -> Result<usize> {
    conn.with_connection(|c| execute::<C::Backend>(c, meta, q))
}

/// The dialect of the backend of connection type `C`.
type DialectOf<C> = <<C as Conn>::Backend as Backend>::Dialect;

/// State of an update or delete that has not been told which rows: it cannot run.
#[derive(Debug, Clone, Copy)]
pub struct Unfiltered;

/// State of an update or delete that has a filter, or was told `all_rows()`.
#[derive(Debug, Clone, Copy)]
pub struct Filtered;

/// The states in which an update or delete may run.
#[diagnostic::on_unimplemented(
    message = "`.run()` needs `.filter(..)` or `.all_rows()` first",
    label = "this would change every row of the table",
    note = "say which rows with `.filter(condition)`, or call `.all_rows()` to change every row on purpose"
)]
pub trait RowsChosen: sealed::Sealed {}
// Not recommended, so the error does not add "`RowsChosen` is implemented for `Filtered`".
#[diagnostic::do_not_recommend]
impl RowsChosen for Filtered {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Filtered {}
}

/// An update of table `T`: `.set(..)` one or more columns, choose rows, `.run(&db)`.
///
/// ```
/// # use doctable::{DocTable, Persistent};
/// # #[derive(DocTable)] struct Doc { #[doctable(primary_key)] id: Option<i64>, year: i64, score: f64 }
/// # let db = Persistent::open_in_memory()?; Doc::create_table(&db)?;
/// let changed = Doc::update()
///     .set(Doc::score, Doc::score + 1.0)
///     .filter(Doc::year.eq(2001))
///     .run(&db)?;
/// # Ok::<(), doctable::Error>(())
/// ```
///
/// A table's `#[doctable(updated)]` column is set to the time of the update
/// in every row it changes; that column and an `#[doctable(added)]` one
/// cannot be `set` (an [`Error::Usage`] when the update runs).
///
/// A value computed in SQL (`Doc::n + 1`, `Doc::x / Doc::y`, raw SQL) is
/// checked as it is stored, the way a Rust value is checked when it is bound:
/// an integer overflow, a result beyond the field's type (`i32`, `u8`, `f32`,
/// ...), a NaN or a division by zero (which SQLite computes as NULL), or a
/// value of another storage class fails the update with
/// [`Error::Conversion`] naming the column, and no row is changed.
#[must_use = "an update does nothing until `run`"]
pub struct Update<T, S> {
    assignments: Vec<Assignment>,
    filter: Option<Fragment>,
    _marker: PhantomData<fn() -> (T, S)>,
}

/// One `column = value` of an update.
#[derive(Debug, Clone)]
struct Assignment {
    column: &'static str,
    /// The value's SQL: a `?`, a column, or an expression.
    value: Fragment,
    /// For a value computed in SQL, what it must be to read back: the
    /// dialect writes it checked (see [`Dialect::push_checked`]).
    checked: Option<Target>,
}

impl<T: Record> Update<T, Unfiltered> {
    pub(crate) fn new() -> Self {
        Update {
            assignments: Vec::new(),
            filter: None,
            _marker: PhantomData,
        }
    }
}

impl<T: Record, S> Update<T, S> {
    /// Sets `column` to a value, another column, or an expression such as `Doc::score + 1.0`.
    ///
    /// An expression's result is checked as it is stored (see [`Update`]):
    /// what the field could not read back fails the update.
    pub fn set<V, M>(mut self, column: Column<T, V, M>, value: impl IntoOperand<T, V>) -> Self
    where
        V: ColumnType,
    {
        let name = column.name();
        let assignment = match value.into_operand() {
            // A computed value; a bare column of the same type is copied as it is.
            Operand::Sql(value) if value.column.is_none() => Assignment {
                column: name,
                value,
                checked: Some(Target::of::<V>(name)),
            },
            other => {
                let mut value = Fragment::default();
                value.push_operand(other, name);
                Assignment {
                    column: name,
                    value,
                    checked: None,
                }
            }
        };
        self.assignments.push(assignment);
        self
    }

    /// Changes only rows where `condition` holds; several calls are ANDed.
    pub fn filter(self, condition: Expr<T, bool>) -> Update<T, Filtered> {
        let mut filter = self.filter;
        and_into(&mut filter, condition.fragment);
        Update {
            assignments: self.assignments,
            filter,
            _marker: PhantomData,
        }
    }

    /// Changes every row: an update with no filter must say so.
    pub fn all_rows(self) -> Update<T, Filtered> {
        Update {
            assignments: self.assignments,
            filter: self.filter,
            _marker: PhantomData,
        }
    }

    /// Runs the update and returns how many rows changed.
    pub fn run(&self, conn: &impl Conn) -> Result<usize>
    where
        S: RowsChosen,
    {
        self.run_in(conn)
    }

    fn run_in<C: Conn>(&self, conn: &C) -> Result<usize> {
        let q = self.build::<DialectOf<C>>()?;
        run_write(conn, &q, T::__META).map_err(|e| self.located::<DialectOf<C>>(e))
    }

    /// Runs the update and returns the changed rows as they are now stored
    /// (`UPDATE ... RETURNING`).
    pub fn returning(&self, conn: &impl Conn) -> Result<Vec<T>>
    where
        S: RowsChosen,
    {
        self.returning_in(conn)
    }

    fn returning_in<C: Conn>(&self, conn: &C) -> Result<Vec<T>> {
        let mut q = self.build::<DialectOf<C>>()?;
        q.sql.push_str(<DialectOf<C> as Dialect>::RETURNING);
        q.sql.push_str(T::__sql().columns(T::__META));
        let table = T::__META.name;
        // SQLite makes every change at the first step, before the first row
        // is read back: a row that cannot be read must undo them, so the
        // update and its read-back are one transaction (a savepoint inside
        // an open one).
        conn.with_connection(|c| {
            atomically::<C::Backend, _>(c, Some(table), |c| {
                let mut out = Vec::new();
                super::for_all_rows::<C::Backend>(c, table, Some(T::__META), &q, |row, total| {
                    super::reserve_once(&mut out, total);
                    out.push(crate::record::read_row::<C::Backend, T>(row, 0)?);
                    Ok(true)
                })?;
                Ok(out)
            })
        })
        .map_err(|e| self.located::<DialectOf<C>>(e))
    }

    /// A failed check (see [`Dialect::failed_check`]) as a conversion error
    /// of its column; any other error as it is.
    fn located<D: Dialect>(&self, error: Error) -> Error {
        let failed = D::failed_check(&error).and_then(|(n, how)| {
            let a = self.assignments.get(n)?;
            Some((a, a.checked.as_ref()?, how))
        });
        match failed {
            Some((a, target, how)) => {
                let detail = how.detail(target, D::type_name(target.sql_type), &a.value.sql);
                Error::conversion(T::__META.name, a.column, detail)
            }
            None => error,
        }
    }

    /// The statement, as dialect `D` writes the checked assignments; each
    /// check is numbered by its assignment's place in the list.
    pub(crate) fn build<D: Dialect>(&self) -> Result<Fragment> {
        let table = T::__META.name;
        if self.assignments.is_empty() {
            return Err(Error::Usage(format!(
                "table `{table}`: update has nothing to set; call `.set(column, value)`"
            )));
        }
        let meta = T::__META;
        for stamp in [meta.added_column(), meta.updated_column()]
            .into_iter()
            .flatten()
        {
            if self.assignments.iter().any(|a| a.column == stamp.name) {
                let what = if meta.added_column() == Some(stamp) {
                    "`#[doctable(added)]`: the crate sets it when a row is inserted and never changes it"
                } else {
                    "`#[doctable(updated)]`: the crate sets it on every update"
                };
                return Err(Error::Usage(format!(
                    "table `{table}`: column `{}` is {what}, so it cannot be `set`",
                    stamp.name
                )));
            }
        }
        let mut q = Fragment::default();
        q.sql.push_str("UPDATE ");
        push_ident(&mut q.sql, table);
        q.sql.push_str(" SET ");
        for (n, a) in self.assignments.iter().enumerate() {
            if n > 0 {
                q.sql.push_str(", ");
            }
            push_ident(&mut q.sql, a.column);
            q.sql.push_str(" = ");
            match &a.checked {
                Some(target) => D::push_checked(&mut q, &a.value, target, n),
                None => q.push_copy(&a.value),
            }
            if q.error.is_none() {
                q.error.clone_from(&a.value.error);
            }
        }
        // The `updated` column, set last (after the assignments that
        // `located` counts), to one stamp for every row changed.
        if let Some(column) = meta.updated_column()
            && let Some(value) = T::__updated(Stamp::now())?
        {
            q.sql.push_str(", ");
            push_ident(&mut q.sql, column.name);
            q.sql.push_str(" = ");
            q.push_param(value);
        }
        push_where(&mut q, &self.filter);
        check(table, &q)?;
        Ok(q)
    }
}

/// A delete from table `T`: choose rows with `.filter(..)` or `.all_rows()`, then `.run(&db)`.
///
/// ```
/// # use doctable::{DocTable, Persistent};
/// # #[derive(DocTable)] struct Doc { #[doctable(primary_key)] id: Option<i64>, year: i64 }
/// # let db = Persistent::open_in_memory()?; Doc::create_table(&db)?;
/// let old = Doc::delete().filter(Doc::year.lt(1990)).run(&db)?;
/// let rest = Doc::delete().all_rows().run(&db)?;
/// # Ok::<(), doctable::Error>(())
/// ```
#[must_use = "a delete does nothing until `run`"]
pub struct Delete<T, S> {
    filter: Option<Fragment>,
    _marker: PhantomData<fn() -> (T, S)>,
}

impl<T: Record> Delete<T, Unfiltered> {
    pub(crate) fn new() -> Self {
        Delete {
            filter: None,
            _marker: PhantomData,
        }
    }
}

impl<T: Record, S> Delete<T, S> {
    /// Deletes only rows where `condition` holds; several calls are ANDed.
    pub fn filter(self, condition: Expr<T, bool>) -> Delete<T, Filtered> {
        let mut filter = self.filter;
        and_into(&mut filter, condition.fragment);
        Delete {
            filter,
            _marker: PhantomData,
        }
    }

    /// Deletes every row: a delete with no filter must say so.
    pub fn all_rows(self) -> Delete<T, Filtered> {
        Delete {
            filter: self.filter,
            _marker: PhantomData,
        }
    }

    /// Runs the delete and returns how many rows were removed.
    pub fn run(&self, conn: &impl Conn) -> Result<usize>
    where
        S: RowsChosen,
    {
        run_write(conn, &self.build()?, T::__META)
    }

    /// Runs the delete and returns the removed rows as they were stored
    /// (`DELETE ... RETURNING`, on both engines).
    ///
    /// ```
    /// # use doctable::{DocTable, Persistent};
    /// # #[derive(DocTable, Debug, PartialEq)] struct Doc { #[doctable(primary_key)] id: Option<i64>, year: i64 }
    /// # let db = Persistent::open_in_memory()?; Doc::create_table(&db)?;
    /// # Doc::insert_many(&db, &[Doc { id: None, year: 1980 }, Doc { id: None, year: 2001 }])?;
    /// let gone: Vec<Doc> = Doc::delete().filter(Doc::year.lt(1990)).returning(&db)?;
    /// assert_eq!(gone, [Doc { id: Some(1), year: 1980 }]);
    /// # Ok::<(), doctable::Error>(())
    /// ```
    pub fn returning(&self, conn: &impl Conn) -> Result<Vec<T>>
    where
        S: RowsChosen,
    {
        self.returning_in(conn)
    }

    fn returning_in<C: Conn>(&self, conn: &C) -> Result<Vec<T>> {
        let mut q = self.build()?;
        q.sql.push_str(<DialectOf<C> as Dialect>::RETURNING);
        q.sql.push_str(T::__sql().columns(T::__META));
        let table = T::__META.name;
        // As for `Update::returning`: the rows are gone at the first step, so
        // a row that cannot be read back must undo the delete.
        conn.with_connection(|c| {
            atomically::<C::Backend, _>(c, Some(table), |c| {
                let mut out = Vec::new();
                super::for_all_rows::<C::Backend>(c, table, Some(T::__META), &q, |row, total| {
                    super::reserve_once(&mut out, total);
                    out.push(crate::record::read_row::<C::Backend, T>(row, 0)?);
                    Ok(true)
                })?;
                Ok(out)
            })
        })
    }

    fn build(&self) -> Result<Fragment> {
        let table = T::__META.name;
        let mut q = Fragment::default();
        q.sql.push_str("DELETE FROM ");
        push_ident(&mut q.sql, table);
        push_where(&mut q, &self.filter);
        check(table, &q)?;
        Ok(q)
    }
}
