//! `Doc::update()` and `Doc::delete()`: both must be told which rows.

use std::marker::PhantomData;

use super::select::{and_into, push_where};
use super::{check, execute};
use crate::backend::{Backend, Dialect};
use crate::conn::Conn;
use crate::dialect::push_ident;
use crate::error::{Error, Result};
use crate::expr::{Column, Expr, Fragment, IntoOperand};
use crate::table::{DocTable, TableMeta};

/// Runs the built write `q` on `conn`: the number of rows changed.
fn run_write<C: Conn>(conn: &C, q: &Fragment, meta: &TableMeta) -> Result<usize> {
    conn.with_connection(|c| execute::<C::Backend>(c, meta, q))
}

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
#[must_use = "an update does nothing until `run`"]
pub struct Update<T, S> {
    assignments: Fragment,
    filter: Option<Fragment>,
    _marker: PhantomData<fn() -> (T, S)>,
}

impl<T: DocTable> Update<T, Unfiltered> {
    pub(crate) fn new() -> Self {
        Update {
            assignments: Fragment::default(),
            filter: None,
            _marker: PhantomData,
        }
    }
}

impl<T: DocTable, S> Update<T, S> {
    /// Sets `column` to a value, another column, or an expression such as `Doc::score + 1.0`.
    pub fn set<V>(mut self, column: Column<T, V>, value: impl IntoOperand<T, V>) -> Self {
        if !self.assignments.sql.is_empty() {
            self.assignments.sql.push_str(", ");
        }
        push_ident(&mut self.assignments.sql, column.name());
        self.assignments.sql.push_str(" = ");
        let mut rhs = Fragment::default();
        rhs.push_operand(value.into_operand(), column.name());
        self.assignments.append(rhs);
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
        run_write(conn, &self.build()?, T::META)
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
        let mut q = self.build()?;
        q.sql
            .push_str(<<C::Backend as Backend>::Dialect as Dialect>::RETURNING);
        q.sql.push_str(T::__sql().columns(T::META));
        let mut out = Vec::new();
        conn.with_connection(|c| {
            super::for_rows::<C::Backend>(c, T::META.name, Some(T::META), &q, |row| {
                out.push(crate::table::read_row::<C::Backend, T>(row, 0)?);
                Ok(true)
            })
        })?;
        Ok(out)
    }

    fn build(&self) -> Result<Fragment> {
        let table = T::META.name;
        if self.assignments.sql.is_empty() {
            return Err(Error::Usage(format!(
                "table `{table}`: update has nothing to set; call `.set(column, value)`"
            )));
        }
        let mut q = Fragment::default();
        q.sql.push_str("UPDATE ");
        push_ident(&mut q.sql, table);
        q.sql.push_str(" SET ");
        q.append(self.assignments.clone());
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

impl<T: DocTable> Delete<T, Unfiltered> {
    pub(crate) fn new() -> Self {
        Delete {
            filter: None,
            _marker: PhantomData,
        }
    }
}

impl<T: DocTable, S> Delete<T, S> {
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
        let table = T::META.name;
        let mut q = Fragment::default();
        q.sql.push_str("DELETE FROM ");
        push_ident(&mut q.sql, table);
        push_where(&mut q, &self.filter);
        check(table, &q)?;
        run_write(conn, &q, T::META)
    }
}
