//! What a select reads per row: the whole struct, a column, an expression, or a tuple of those.

use crate::backend::Backend;
use crate::column_type::ColumnType;
use crate::error::{Error, Result};
use crate::expr::{Column, Expr, Fragment};
use crate::json::{AsStored, ReadAs};
use crate::record::Record;

use super::export::ExportColumn;

/// Something `select_cols` can read from table `T`: a column, an expression
/// (such as an aggregate), or a tuple of up to 12 of them.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be selected from table `{T}`",
    label = "expected a column or expression of table `{T}`, or a tuple of them",
    note = "for example `select_cols((Doc::id, Doc::title))`"
)]
pub trait Selection<T> {
    /// What one row reads as.
    type Row;
    /// Appends the selected expressions, comma-separated.
    #[doc(hidden)]
    fn push_sql(&self, out: &mut Fragment);
    /// Appends each selected expression to `out`, one per result column (an
    /// empty fragment for a plain column of the whole struct): what a GROUP BY
    /// or ORDER BY key equal to a selected expression refers to by position.
    #[doc(hidden)]
    fn push_items(&self, out: &mut Vec<Fragment>);
    /// Reads one row, starting at column `*next`, and moves `*next` past what it read.
    #[doc(hidden)]
    fn read<B: Backend>(&self, row: &B::Row<'_>, next: &mut usize) -> Result<Self::Row>;
    /// Appends each selected result column's name, logical type and
    /// nullability, for export (`to_csv`, Arrow, Parquet).
    #[doc(hidden)]
    fn push_columns(&self, out: &mut Vec<ExportColumn>);
}

/// Every stored column of the table: what `select()` reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllColumns;

impl<T: Record> Selection<T> for AllColumns {
    type Row = T;
    fn push_sql(&self, out: &mut Fragment) {
        out.sql.push_str(T::__sql().columns(T::__META));
    }
    fn push_items(&self, out: &mut Vec<Fragment>) {
        out.extend(T::__META.columns.iter().map(|_| Fragment::default()));
    }
    fn read<B: Backend>(&self, row: &B::Row<'_>, next: &mut usize) -> Result<T> {
        let value = crate::record::read_row::<B, T>(row, *next)?;
        *next += T::__META.columns.len();
        Ok(value)
    }
    fn push_columns(&self, out: &mut Vec<ExportColumn>) {
        out.extend(T::__META.columns.iter().map(|c| ExportColumn {
            name: c.name.to_owned(),
            sql_type: c.sql_type,
            nullable: c.nullable,
        }));
    }
}

fn read_one<B: Backend, T: Record, V, M: ReadAs<V>>(
    row: &B::Row<'_>,
    next: &mut usize,
    name: &str,
) -> Result<M::Read> {
    let table = T::__META.name;
    let value = B::value_at(row, *next, table)?;
    *next += 1;
    M::read_value(value).map_err(|e| e.at(table, name))
}

impl<T: Record, V, M: ReadAs<V>> Selection<T> for Column<T, V, M> {
    type Row = M::Read;
    fn push_sql(&self, out: &mut Fragment) {
        out.append(self.expr().fragment);
    }
    fn push_items(&self, out: &mut Vec<Fragment>) {
        out.push(self.expr().fragment);
    }
    fn read<B: Backend>(&self, row: &B::Row<'_>, next: &mut usize) -> Result<M::Read> {
        read_one::<B, T, V, M>(row, next, self.name())
    }
    fn push_columns(&self, out: &mut Vec<ExportColumn>) {
        out.push(ExportColumn::of_table::<T>(self.name()));
    }
}

impl<T: Record, V: ColumnType> Selection<T> for Expr<T, V> {
    type Row = V;
    fn push_sql(&self, out: &mut Fragment) {
        out.append_ref(&self.fragment);
    }
    fn push_items(&self, out: &mut Vec<Fragment>) {
        out.push(self.fragment.clone());
    }
    fn read<B: Backend>(&self, row: &B::Row<'_>, next: &mut usize) -> Result<V> {
        let name = self.fragment.sql.clone();
        read_one::<B, T, V, AsStored>(row, next, &name).map_err(|e| match e {
            Error::Conversion {
                table, row, detail, ..
            } => Error::Conversion {
                table,
                column: name,
                row,
                detail,
            },
            other => other,
        })
    }
    fn push_columns(&self, out: &mut Vec<ExportColumn>) {
        out.push(ExportColumn::of_expr::<V>(&self.fragment.sql));
    }
}

macro_rules! tuple_selection {
    ($($name:ident $index:tt),+) => {
        impl<T, $($name: Selection<T>),+> Selection<T> for ($($name,)+) {
            type Row = ($($name::Row,)+);
            fn push_sql(&self, out: &mut Fragment) {
                let mut first = true;
                $(
                    if !first { out.sql.push_str(", "); }
                    first = false;
                    self.$index.push_sql(out);
                )+
                let _ = first;
            }
            fn push_items(&self, out: &mut Vec<Fragment>) {
                $( self.$index.push_items(out); )+
            }
            fn read<__B: Backend>(&self, row: &__B::Row<'_>, next: &mut usize) -> Result<Self::Row> {
                Ok(($(self.$index.read::<__B>(row, next)?,)+))
            }
            fn push_columns(&self, out: &mut Vec<ExportColumn>) {
                $( self.$index.push_columns(out); )+
            }
        }
    };
}
tuple_selection!(A 0);
tuple_selection!(A 0, B 1);
tuple_selection!(A 0, B 1, C 2);
tuple_selection!(A 0, B 1, C 2, D 3);
tuple_selection!(A 0, B 1, C 2, D 3, E 4);
tuple_selection!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_selection!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_selection!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_selection!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_selection!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_selection!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple_selection!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
