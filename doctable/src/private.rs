//! Items the derive's generated code uses. Not part of the public API.
//!
//! Generated code is generic over the backend (`__B`): it names rows and
//! statements only as [`RowOf`] and [`BinderOf`], never a driver's type.

pub use crate::backend::Backend;
pub use crate::column_type::{ColumnType, ValueError};
pub use crate::dialect::param_slots;
pub use crate::error::Result;
pub use crate::expr::Column;
pub use crate::files::{AsFile, FileHash, FileValue};
pub use crate::json::{AsJson, Json, JsonValue};
pub use crate::key::{describe_key, key_part};
pub use crate::record::Record;
pub use crate::stamp::{Stamp, Timestamp, Write, added_value, stamp_value, updated_value};
pub use crate::statements::StaticSql;
pub use crate::table::{ColumnMeta, DocTable, ForeignKeyMeta, HasPrimaryKey, IndexMeta, TableMeta};
pub use crate::value::{SqlType, ToValue, Value, ValueRef};

/// The statement type parameters are bound to, of backend `B`.
pub type BinderOf<'s, B> = <B as Backend>::Binder<'s>;
/// The row type columns are read from, of backend `B`.
pub type RowOf<'r, B> = <B as Backend>::Row<'r>;

/// Whether a key field's converted value is NULL (an absent key, left to the
/// engine); a value that does not convert is not absent (binding it reports
/// the error).
#[inline]
pub fn is_absent(value: std::result::Result<ToValue<'_>, ValueError>) -> bool {
    matches!(value.as_ref().map(ToValue::as_ref), Ok(ValueRef::Null))
}

/// Binds a converted value to parameter `index` of `stmt`.
#[inline]
pub fn bind_value<B: Backend>(
    stmt: &mut BinderOf<'_, B>,
    index: usize,
    value: std::result::Result<ToValue<'_>, ValueError>,
    table: &'static str,
    column: &'static str,
) -> Result<()> {
    let value = value.map_err(|e| e.at(table, column))?;
    if B::BIND_CAN_REFUSE {
        B::bind(stmt, index, value, table).map_err(|e| e.at_column(column))
    } else {
        B::bind(stmt, index, value, table)
    }
}

/// The raw value of column `index` of `row`.
#[inline]
pub fn value_at<'r, B: Backend>(
    row: &'r RowOf<'_, B>,
    index: usize,
    table: &str,
) -> Result<ValueRef<'r>> {
    B::value_at(row, index, table)
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
pub fn read<B: Backend, V: ColumnType>(
    row: &RowOf<'_, B>,
    index: usize,
    table: &str,
    column: &str,
) -> Result<V> {
    decode(
        V::from_sql(value_at::<B>(row, index, table)?),
        table,
        column,
    )
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
