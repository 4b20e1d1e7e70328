//! Items the derive's generated code uses. Not part of the public API.

pub use rusqlite::types::{ToSqlOutput, ValueRef};
pub use rusqlite::{Row, Statement};

pub use crate::column_type::{ColumnType, ValueError};
pub use crate::dialect::SqlType;
pub use crate::error::Result;
pub use crate::expr::Column;
pub use crate::json::{Json, JsonValue};
pub use crate::statements::StaticSql;
pub use crate::table::{ColumnMeta, DocTable, ForeignKeyMeta, HasPrimaryKey, IndexMeta, TableMeta};

use crate::error::SqlContext;

/// Binds a converted value to parameter `index` of `stmt`.
#[inline]
pub fn bind_value(
    stmt: &mut Statement<'_>,
    index: usize,
    value: std::result::Result<ToSqlOutput<'_>, ValueError>,
    table: &'static str,
    column: &'static str,
) -> Result<()> {
    let out = value.map_err(|e| e.at(table, column))?;
    stmt.raw_bind_parameter(index, out)
        .in_sql(Some(table), "(binding a parameter)")
}

/// The raw value of column `index` of `row`.
#[inline]
pub fn value_at<'r>(row: &'r Row<'_>, index: usize, table: &str) -> Result<ValueRef<'r>> {
    row.get_ref(index).in_sql(Some(table), "(reading a row)")
}

/// Locates a conversion result at `table.column`.
#[inline]
pub fn decode<V>(
    value: std::result::Result<V, ValueError>,
    table: &str,
    column: &str,
) -> Result<V> {
    value.map_err(|e| e.at(table, column))
}

/// Reads column `index` of `row`.
#[inline]
pub fn read<V: ColumnType>(row: &Row<'_>, index: usize, table: &str, column: &str) -> Result<V> {
    decode(V::from_sql(value_at(row, index, table)?), table, column)
}

/// Stands in for the bodies of the impls emitted after a derive error. The
/// program never compiles, so this never runs.
// The one panic allowed in the library: it is only ever named by code that
// fails to compile (the derive emits it next to its compile_error!).
#[allow(clippy::panic)]
pub fn derive_failed() -> ! {
    panic!(
        "doctable: #[derive(DocTable)] reported an error; this code is never compiled into a program"
    )
}
