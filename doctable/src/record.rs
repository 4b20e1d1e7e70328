//! The low-level side of a table: its declaration and its row conversions,
//! which the derive implements and every internal layer (statements, rows,
//! queries, schema, backends) works from. [`DocTable`](crate::DocTable) is
//! this plus the table operations.

use crate::backend::Backend;
use crate::error::Result;
use crate::meta::TableMeta;
use crate::stamp::{Stamp, Write};
use crate::statements::StaticSql;
use crate::value::Value;

/// A struct's table declaration and row conversions, implemented by
/// `#[derive(DocTable)]`; a supertrait of [`DocTable`](crate::DocTable).
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a table",
    label = "not a `#[derive(DocTable)]` struct",
    note = "derive the table with `#[derive(DocTable)]`"
)]
pub trait Record: Sized + 'static {
    /// The table's name, columns, keys and indexes, as declared on the struct
    /// (what [`DocTable::META`](crate::DocTable::META) is).
    const __META: &'static TableMeta;

    /// Binds every stored column of `self`, in declaration order, to
    /// parameters `1..=n`; the `added` and `updated` columns are bound from
    /// `write`, not from `self` (see [`added_value`](crate::stamp::added_value)).
    fn __bind<B: Backend>(&self, stmt: &mut B::Binder<'_>, write: Write) -> Result<()>;

    /// Whether the row's single primary key is absent (`None`), so that an
    /// insert leaves it to the engine; `false` for a table without a
    /// one-column key.
    fn __key_absent(&self) -> bool {
        false
    }

    /// The value of the `updated` column at `stamp`, for an `update()`;
    /// `None` for a table without one.
    fn __updated(stamp: Stamp) -> Result<Option<Value>> {
        let _ = stamp;
        Ok(None)
    }

    /// Reads a row whose stored columns start at index `first`, in declaration order.
    fn __read<B: Backend>(row: &B::Row<'_>, first: usize) -> Result<Self>;

    /// This table's statement texts, built once.
    fn __sql() -> &'static StaticSql;

    /// The columns declared `#[doctable(file)]`, in declaration order.
    const __FILE_COLUMNS: &'static [&'static str] = &[];

    /// Whether the table has file columns: its operations then tell the
    /// generated code where the files are (see `files::scope`).
    const __HAS_FILES: bool = !Self::__FILE_COLUMNS.is_empty();
}

/// Reads a whole row of `T` whose columns start at `first`; a value that does
/// not fit its field is reported with the row's primary key, when there is one
/// (a composite key as `(a, b)`).
pub(crate) fn read_row<B: Backend, T: Record>(row: &B::Row<'_>, first: usize) -> Result<T> {
    T::__read::<B>(row, first).map_err(|e| {
        let key = T::__META.primary_key;
        let literal = |i: &usize| {
            B::value_at(row, first + i, T::__META.name)
                .ok()
                .map(crate::value::sql_literal)
        };
        let described = match key {
            [] => None,
            [only] => literal(only),
            parts => parts
                .iter()
                .map(literal)
                .collect::<Option<Vec<_>>>()
                .map(|parts| format!("({})", parts.join(", "))),
        };
        match described {
            Some(key) => e.at_row(key),
            None => e,
        }
    })
}
