//! Export of a select's rows for analysis: CSV (always), Arrow record
//! batches (feature `arrow`) and Parquet files (feature `parquet`).
//!
//! Every format reads the rows the same way: the select's SQL runs once and
//! each column's stored value is read as it is (no struct is built), turned
//! into a [`Cell`] by the column's logical type, and handed to the format's
//! [`Sink`] one row at a time. Memory holds one row (CSV) or one batch
//! (Arrow, Parquet), never the result.

mod csv;

#[cfg(feature = "arrow")]
mod arrow;
#[cfg(feature = "parquet")]
mod parquet;

#[cfg(feature = "arrow")]
pub use arrow::DEFAULT_BATCH_ROWS;

use super::select::Select;
use super::selection::Selection;
use super::{check, for_rows};
use crate::backend::Backend;
use crate::column_type::{ColumnType, ValueError};
use crate::conn::Conn;
use crate::error::{Error, Result};
use crate::record::Record;
use crate::value::{SqlType, ValueRef};

/// One result column of a select, as an export describes it: its name (a
/// column's name, or an expression's SQL text such as `avg("score")`), its
/// logical type and whether it may be NULL. Made by the selection
/// ([`Selection`]); not part of the public API.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportColumn {
    /// The header / field name.
    pub name: String,
    /// The logical type, which decides the exported form.
    pub sql_type: SqlType,
    /// Whether the column may hold NULL.
    pub nullable: bool,
}

impl ExportColumn {
    /// The column `name` of table `T`, as its struct declares it.
    pub(crate) fn of_table<T: Record>(name: &str) -> ExportColumn {
        match T::__META.columns.iter().find(|c| c.name == name) {
            Some(c) => ExportColumn {
                name: c.name.to_owned(),
                sql_type: c.sql_type,
                nullable: c.nullable,
            },
            // A `Column` is made by the derive from the table's own columns,
            // so the name is always found; were it not, text that may be
            // NULL is the form every stored value can take.
            None => ExportColumn {
                name: name.to_owned(),
                sql_type: SqlType::Text,
                nullable: true,
            },
        }
    }

    /// An expression of value type `V`, named by its SQL text.
    pub(crate) fn of_expr<V: ColumnType>(sql: &str) -> ExportColumn {
        ExportColumn {
            name: sql.to_owned(),
            sql_type: V::SQL_TYPE,
            nullable: V::NULLABLE,
        }
    }
}

/// A stored value in the form every export writes: what the column's
/// logical type makes of what the engine returned (a timestamp is text on
/// SQLite and integer microseconds on PostgreSQL; both become `Micros`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Cell<'a> {
    Null,
    Integer(i64),
    Real(f64),
    Bool(bool),
    /// Text and JSON, as stored bytes (checked to be UTF-8 where a format needs it).
    Text(&'a [u8]),
    Blob(&'a [u8]),
    /// A [`SqlType::Timestamp`]: microseconds since 1970-01-01T00:00 UTC.
    Timestamp(i64),
    /// A [`SqlType::DateTime`] (no zone): microseconds since 1970-01-01T00:00.
    DateTime(i64),
    /// A [`SqlType::Date`]: days since 1970-01-01.
    Days(i64),
    Uuid([u8; 16]),
}

/// Reads `value`, stored in a column of logical type `ty`, as a [`Cell`].
pub(crate) fn cell(ty: SqlType, value: ValueRef<'_>) -> Result<Cell<'_>, ValueError> {
    use crate::temporal::{date_from_sql, datetime_from_sql, timestamp_from_sql, uuid_from_sql};
    if value == ValueRef::Null {
        return Ok(Cell::Null);
    }
    Ok(match ty {
        SqlType::Integer => Cell::Integer(i64::from_sql(value)?),
        SqlType::Real => Cell::Real(f64::from_sql(value)?),
        SqlType::Bool => Cell::Bool(bool::from_sql(value)?),
        SqlType::Text | SqlType::Json => match value {
            ValueRef::Text(t) => Cell::Text(t),
            other => {
                return Err(ValueError::WrongType {
                    expected: "TEXT",
                    found: other.kind(),
                });
            }
        },
        SqlType::Blob => match value {
            ValueRef::Blob(b) | ValueRef::Text(b) => Cell::Blob(b),
            other => {
                return Err(ValueError::WrongType {
                    expected: "BLOB",
                    found: other.kind(),
                });
            }
        },
        SqlType::Timestamp => Cell::Timestamp(timestamp_from_sql(value, "a timestamp")?),
        SqlType::DateTime => Cell::DateTime(datetime_from_sql(value, "a date and time")?),
        SqlType::Date => Cell::Days(date_from_sql(value, "a date")?),
        SqlType::Uuid => Cell::Uuid(uuid_from_sql(value)?),
        // A logical type added later: its stored value as it is.
        #[allow(unreachable_patterns)]
        _ => match value {
            ValueRef::Integer(i) => Cell::Integer(i),
            ValueRef::Real(f) => Cell::Real(f),
            ValueRef::Bool(b) => Cell::Bool(b),
            ValueRef::Text(t) => Cell::Text(t),
            ValueRef::Blob(b) => Cell::Blob(b),
            _ => Cell::Null,
        },
    })
}

/// What an export writes rows into, one cell at a time.
pub(crate) trait Sink {
    /// Column `index` (described by `column`) of the current row.
    fn cell(&mut self, index: usize, column: &ExportColumn, cell: Cell<'_>) -> Result<()>;
    /// The current row is complete.
    fn end_row(&mut self) -> Result<()>;
}

impl<T: Record, S: Selection<T>> Select<T, S> {
    /// The result columns of this select, in order.
    pub(crate) fn export_columns(&self) -> Vec<ExportColumn> {
        let mut out = Vec::new();
        self.selection().push_columns(&mut out);
        out
    }

    /// Runs the select once and writes every row into `sink`; the number of
    /// rows written. `columns` are [`export_columns`](Self::export_columns).
    /// The connection is marked as being scanned, as by `for_each`: the sink
    /// (a user's callback among them) cannot use it.
    pub(crate) fn export_into<C: Conn>(
        &self,
        conn: &C,
        columns: &[ExportColumn],
        sink: &mut impl Sink,
    ) -> Result<u64> {
        let q = self.built::<C::Backend>(None);
        let table = T::__META.name;
        check(table, &q)?;
        let mut rows = 0u64;
        conn.with_connection(|c| {
            let _scan = crate::conn::ScanMark::enter::<C::Backend>(c, table);
            for_rows::<C::Backend>(c, table, None, &q, |row| {
                for (index, column) in columns.iter().enumerate() {
                    let value = <C::Backend as Backend>::value_at(row, index, table)?;
                    let cell =
                        cell(column.sql_type, value).map_err(|e| e.at(table, &column.name))?;
                    sink.cell(index, column, cell)?;
                }
                sink.end_row()?;
                rows += 1;
                Ok(true)
            })
        })?;
        Ok(rows)
    }
}

/// An I/O error of the writer an export writes to, said with the table and
/// the format; still an [`Error::Io`] of the same kind.
pub(crate) fn io_error(table: &str, format: &str, e: &std::io::Error) -> Error {
    Error::Io(std::io::Error::new(
        e.kind(),
        format!("table `{table}`: writing {format}: {e}"),
    ))
}

/// The text form of a timestamp, date and time, date or UUID cell: the form
/// SQLite stores (README "Dates, times, uuid and JSON values"); `None` for
/// any other cell.
pub(crate) fn temporal_text(cell: Cell<'_>) -> Option<Result<String, ValueError>> {
    use crate::temporal::{date_to_sql, datetime_to_sql, format_uuid, timestamp_to_sql};
    use crate::value::{ToValue, Value};
    let text = |made: Result<ToValue<'static>, ValueError>| {
        made.and_then(|v| match v.into_owned() {
            Value::Text(t) => Ok(t),
            other => Err(ValueError::Other(format!(
                "a time value formatted as {}",
                other.as_ref().kind()
            ))),
        })
    };
    Some(match cell {
        Cell::Timestamp(micros) => text(timestamp_to_sql(micros, "a timestamp")),
        Cell::DateTime(micros) => text(datetime_to_sql(micros, "a date and time")),
        Cell::Days(days) => text(date_to_sql(days, "a date")),
        Cell::Uuid(bytes) => Ok(format_uuid(&bytes)),
        _ => return None,
    })
}
