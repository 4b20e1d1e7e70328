//! `Doc::upsert()`: insert, or update / skip the row already holding the key.

use std::marker::PhantomData;

use crate::backend::{Backend, Dialect};
use crate::conn::Conn;
use crate::dialect::{self, push_ident};
use crate::error::{Error, Result};
use crate::expr::Column;
use crate::record::Record;

/// One or more columns of table `T`: a column, or a tuple of up to 8 columns.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a column of table `{T}` or a tuple of its columns",
    note = "for example `Doc::title` or `(Doc::title, Doc::year)`"
)]
pub trait ColumnList<T> {
    /// Appends the column names, quoted and comma-separated.
    #[doc(hidden)]
    fn push_names(&self, out: &mut Vec<&'static str>);
}

impl<T, V, M> ColumnList<T> for Column<T, V, M> {
    fn push_names(&self, out: &mut Vec<&'static str>) {
        out.push(self.name());
    }
}

macro_rules! column_tuple {
    ($($name:ident $index:tt),+) => {
        impl<T, $($name: ColumnList<T>),+> ColumnList<T> for ($($name,)+) {
            fn push_names(&self, out: &mut Vec<&'static str>) {
                $(self.$index.push_names(out);)+
            }
        }
    };
}
column_tuple!(A 0);
column_tuple!(A 0, B 1);
column_tuple!(A 0, B 1, C 2);
column_tuple!(A 0, B 1, C 2, D 3);
column_tuple!(A 0, B 1, C 2, D 3, E 4);
column_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);
column_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
column_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

/// An insert with a conflict rule (`INSERT ... ON CONFLICT (...) DO ...`).
///
/// The conflict target must be the primary key or carry a `UNIQUE` constraint
/// or index; SQLite checks that when the statement is prepared, so a wrong
/// target is an [`Error::Sqlite`] at run time, naming the table and the SQL.
///
/// ```
/// # use doctable::{DocTable, Persistent};
/// #[derive(DocTable, Debug, PartialEq)]
/// struct Word { #[doctable(primary_key)] id: Option<i64>, #[doctable(unique)] text: String, count: i64 }
///
/// # let db = Persistent::open_in_memory()?; Word::create_table(&db)?;
/// let upsert = Word::upsert().on_conflict(Word::text).update(Word::count);
/// upsert.run(&db, &Word { id: None, text: "corpus".into(), count: 1 })?;
/// upsert.run(&db, &Word { id: None, text: "corpus".into(), count: 5 })?;
/// let rows = Word::select().all(&db)?;
/// assert_eq!(rows, [Word { id: Some(1), text: "corpus".into(), count: 5 }]);
/// # Ok::<(), doctable::Error>(())
/// ```
#[must_use = "an upsert does nothing until `run` or `run_many`"]
pub struct Upsert<T> {
    target: Vec<&'static str>,
    update: Option<Vec<&'static str>>,
    _table: PhantomData<fn() -> T>,
}

impl<T: Record> Upsert<T> {
    pub(crate) fn new() -> Self {
        Upsert {
            target: Vec::new(),
            update: None,
            _table: PhantomData,
        }
    }

    /// The unique column(s) whose conflict triggers the rule.
    pub fn on_conflict(mut self, columns: impl ColumnList<T>) -> Self {
        columns.push_names(&mut self.target);
        self
    }

    /// On a conflict, set these columns of the existing row to the new row's
    /// values. A table's `#[doctable(updated)]` column is set too, listed or
    /// not; its `#[doctable(added)]` column cannot be listed (the row keeps
    /// the time it was first inserted).
    pub fn update(mut self, columns: impl ColumnList<T>) -> Self {
        columns.push_names(self.update.get_or_insert_with(Vec::new));
        self
    }

    /// On a conflict, keep the existing row unchanged.
    pub fn do_nothing(mut self) -> Self {
        self.update = Some(Vec::new());
        self
    }

    fn sql<B: Backend>(&self) -> Result<String> {
        let meta = T::__META;
        let Some(update) = &self.update else {
            return Err(Error::Usage(format!(
                "table `{}`: upsert needs `.update(columns)` or `.do_nothing()`",
                meta.name
            )));
        };
        if self.target.is_empty() {
            return Err(Error::Usage(format!(
                "table `{}`: upsert needs `.on_conflict(column)`",
                meta.name
            )));
        }
        if let Some(added) = meta.added_column()
            && update.contains(&added.name)
        {
            return Err(Error::Usage(format!(
                "table `{}`: column `{}` is `#[doctable(added)]`: the crate sets it when a row is \
                 inserted and never changes it, so leave it out of the upsert's `.update(..)`",
                meta.name, added.name
            )));
        }
        // An update on a conflict sets `updated` too, to the time the insert
        // bound for it (the new row's value).
        let updated = meta
            .updated_column()
            .filter(|c| !update.is_empty() && !update.contains(&c.name))
            .map(|c| c.name);
        let mut sql = T::__sql().insert_for_upsert::<B>(meta);
        sql.push_str(" ON CONFLICT (");
        dialect::push_ident_list(&mut sql, self.target.iter().copied());
        sql.push_str(") DO ");
        if update.is_empty() {
            sql.push_str("NOTHING");
        } else {
            sql.push_str("UPDATE SET ");
            for (i, name) in update.iter().chain(&updated).enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                push_ident(&mut sql, name);
                sql.push_str(" = ");
                sql.push_str(B::Dialect::EXCLUDED);
                sql.push('.');
                push_ident(&mut sql, name);
            }
        }
        Ok(sql)
    }

    /// Writes one row; returns how many rows changed (0 when `do_nothing` skipped it).
    pub fn run(&self, conn: &impl Conn, row: &T) -> Result<usize> {
        self.run_in(conn, row)
    }

    fn run_in<C: Conn>(&self, conn: &C, row: &T) -> Result<usize> {
        let sql = self.sql::<C::Backend>()?;
        crate::rows::write_one(conn, &sql, row).map(|(changed, _)| changed)
    }

    /// Writes many rows in one transaction with one statement; returns how many rows changed.
    pub fn run_many<'r>(
        &self,
        conn: &impl Conn,
        rows: impl IntoIterator<Item = &'r T>,
    ) -> Result<usize> {
        self.run_many_in(conn, rows)
    }

    fn run_many_in<'r, C: Conn>(
        &self,
        conn: &C,
        rows: impl IntoIterator<Item = &'r T>,
    ) -> Result<usize> {
        let sql = self.sql::<C::Backend>()?;
        crate::rows::write_many(conn, &sql, rows)
    }
}
