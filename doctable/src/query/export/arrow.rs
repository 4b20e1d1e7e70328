//! `Select::arrow_schema` and `Select::arrow_batches`: rows as Arrow
//! record batches (feature `arrow`).

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

use super::{Cell, ExportColumn, Sink};
use crate::conn::Conn;
use crate::error::{Error, Result};
use crate::query::select::Select;
use crate::query::selection::Selection;
use crate::record::Record;
use crate::value::SqlType;

/// The rows per batch [`Select::to_parquet`](crate::Select::to_parquet) uses,
/// and a sensible choice for [`Select::arrow_batches`]: large enough that
/// per-batch costs vanish, small enough that a batch of wide rows stays a
/// few MiB.
pub const DEFAULT_BATCH_ROWS: usize = 8192;

/// The Arrow type of a column of logical type `ty`.
fn data_type(ty: SqlType) -> DataType {
    match ty {
        SqlType::Integer => DataType::Int64,
        SqlType::Real => DataType::Float64,
        SqlType::Bool => DataType::Boolean,
        SqlType::Blob => DataType::Binary,
        SqlType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        SqlType::DateTime => DataType::Timestamp(TimeUnit::Microsecond, None),
        SqlType::Date => DataType::Date32,
        // Text, JSON (its text), UUID (its hyphenated text), and any type
        // added later (its stored form).
        _ => DataType::Utf8,
    }
}

/// The Arrow schema of `columns`.
pub(super) fn schema(columns: &[ExportColumn]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| Field::new(&c.name, data_type(c.sql_type), c.nullable))
            .collect::<Vec<_>>(),
    ))
}

/// One column's array being built.
enum Builder {
    Int64(Int64Builder),
    Float64(Float64Builder),
    Boolean(BooleanBuilder),
    Utf8(StringBuilder),
    Binary(BinaryBuilder),
    Timestamp(TimestampMicrosecondBuilder),
    Date32(Date32Builder),
}

impl Builder {
    fn new(data_type: &DataType, rows: usize) -> Builder {
        match data_type {
            DataType::Int64 => Builder::Int64(Int64Builder::with_capacity(rows)),
            DataType::Float64 => Builder::Float64(Float64Builder::with_capacity(rows)),
            DataType::Boolean => Builder::Boolean(BooleanBuilder::with_capacity(rows)),
            DataType::Binary => Builder::Binary(BinaryBuilder::with_capacity(rows, 0)),
            DataType::Timestamp(_, zone) => Builder::Timestamp(
                TimestampMicrosecondBuilder::with_capacity(rows).with_timezone_opt(zone.clone()),
            ),
            DataType::Date32 => Builder::Date32(Date32Builder::with_capacity(rows)),
            _ => Builder::Utf8(StringBuilder::with_capacity(rows, 0)),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Int64(b) => Arc::new(b.finish()),
            Builder::Float64(b) => Arc::new(b.finish()),
            Builder::Boolean(b) => Arc::new(b.finish()),
            Builder::Utf8(b) => Arc::new(b.finish()),
            Builder::Binary(b) => Arc::new(b.finish()),
            Builder::Timestamp(b) => Arc::new(b.finish()),
            Builder::Date32(b) => Arc::new(b.finish()),
        }
    }
}

/// Builds batches of `size` rows and hands each to `f`.
pub(super) struct BatchSink<F> {
    table: &'static str,
    schema: SchemaRef,
    builders: Vec<Builder>,
    size: usize,
    rows: usize,
    f: F,
}

impl<F: FnMut(RecordBatch) -> Result<()>> BatchSink<F> {
    pub(super) fn new(table: &'static str, schema: SchemaRef, size: usize, f: F) -> Self {
        let builders = schema
            .fields()
            .iter()
            .map(|field| Builder::new(field.data_type(), size.min(DEFAULT_BATCH_ROWS)))
            .collect();
        BatchSink {
            table,
            schema,
            builders,
            size,
            rows: 0,
            f,
        }
    }

    /// Hands the rows built so far to `f` as one batch (nothing if there are none).
    pub(super) fn flush(&mut self) -> Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let arrays = self.builders.iter_mut().map(Builder::finish).collect();
        self.rows = 0;
        let batch = RecordBatch::try_new(self.schema.clone(), arrays).map_err(|e| {
            // The builders follow the schema, so only a NULL in a column
            // declared NOT NULL (an expression whose type says it cannot be
            // NULL) gets here.
            Error::Usage(format!(
                "table `{}`: building an Arrow batch: {e}",
                self.table
            ))
        })?;
        (self.f)(batch)
    }
}

impl<F: FnMut(RecordBatch) -> Result<()>> Sink for BatchSink<F> {
    fn cell(&mut self, index: usize, column: &ExportColumn, cell: Cell<'_>) -> Result<()> {
        let table = self.table;
        let mismatch = || {
            Error::conversion(
                table,
                &column.name,
                format!("{cell:?} does not fit the column's Arrow type"),
            )
        };
        let Some(builder) = self.builders.get_mut(index) else {
            return Err(mismatch());
        };
        match (builder, cell) {
            (Builder::Int64(b), Cell::Null) => b.append_null(),
            (Builder::Float64(b), Cell::Null) => b.append_null(),
            (Builder::Boolean(b), Cell::Null) => b.append_null(),
            (Builder::Utf8(b), Cell::Null) => b.append_null(),
            (Builder::Binary(b), Cell::Null) => b.append_null(),
            (Builder::Timestamp(b), Cell::Null) => b.append_null(),
            (Builder::Date32(b), Cell::Null) => b.append_null(),
            (Builder::Int64(b), Cell::Integer(i)) => b.append_value(i),
            (Builder::Float64(b), Cell::Real(f)) => b.append_value(f),
            (Builder::Boolean(b), Cell::Bool(v)) => b.append_value(v),
            (Builder::Utf8(b), Cell::Text(t)) => {
                let text = std::str::from_utf8(t).map_err(|e| {
                    Error::conversion(
                        table,
                        &column.name,
                        format!("stored text is not UTF-8: {e}"),
                    )
                })?;
                b.append_value(text);
            }
            (Builder::Utf8(b), Cell::Uuid(bytes)) => {
                b.append_value(crate::temporal::format_uuid(&bytes));
            }
            (Builder::Binary(b), Cell::Blob(bytes)) => b.append_value(bytes),
            (Builder::Timestamp(b), Cell::Timestamp(m) | Cell::DateTime(m)) => b.append_value(m),
            (Builder::Date32(b), Cell::Days(days)) => {
                // Dates are checked to the years 0000-9999 when read: they fit.
                b.append_value(i32::try_from(days).map_err(|_| mismatch())?);
            }
            // A type added later, exported as its stored form's text.
            (Builder::Utf8(b), Cell::Integer(i)) => b.append_value(i.to_string()),
            (Builder::Utf8(b), Cell::Real(f)) => b.append_value(format!("{f:?}")),
            (Builder::Utf8(b), Cell::Bool(v)) => b.append_value(v.to_string()),
            _ => return Err(mismatch()),
        }
        Ok(())
    }

    fn end_row(&mut self) -> Result<()> {
        self.rows += 1;
        if self.rows == self.size {
            self.flush()?;
        }
        Ok(())
    }
}

impl<T: Record, S: Selection<T>> Select<T, S> {
    /// The Arrow schema of the batches [`arrow_batches`](Select::arrow_batches)
    /// makes: one field per result column, named as in
    /// [`to_csv`](Select::to_csv)'s header, nullable where the field is an
    /// `Option` (or the expression can be NULL). Types: integers `Int64`,
    /// floats `Float64`, `bool` `Boolean`, text and JSON (its text) `Utf8`,
    /// bytes `Binary`, timestamps `Timestamp(Microsecond, "UTC")`, dates and
    /// times without a zone `Timestamp(Microsecond, None)`, dates `Date32`,
    /// UUIDs `Utf8` (lowercase hyphenated: what pandas and polars show as it
    /// is; Arrow's UUID extension type is not set).
    ///
    /// ```
    /// use doctable::arrow_schema::DataType;
    /// # use doctable::DocTable;
    /// # #[derive(DocTable)] struct Doc { #[doctable(primary_key)] id: Option<i64>, title: String, score: Option<f64> }
    /// let schema = Doc::select().arrow_schema();
    /// assert_eq!(schema.field(1).name(), "title");
    /// assert_eq!(schema.field(2).data_type(), &DataType::Float64);
    /// assert!(schema.field(2).is_nullable() && !schema.field(1).is_nullable());
    /// ```
    pub fn arrow_schema(&self) -> SchemaRef {
        schema(&self.export_columns())
    }

    /// Runs the select and hands its rows to `f` as Arrow record batches of
    /// `rows_per_batch` rows (the last may be shorter; none for no rows), with
    /// the schema of [`arrow_schema`](Select::arrow_schema). Streams: memory
    /// holds one batch, however many rows there are. Returns the number of
    /// rows. [`DEFAULT_BATCH_ROWS`](crate::DEFAULT_BATCH_ROWS) is a good size;
    /// 0 is an [`Error::Usage`].
    ///
    /// This is a callback, not an `Iterator`, for the reason of
    /// [`for_each`](Select::for_each): the scan holds the connection until the
    /// last row, so `f` cannot use the same connection. An error from `f`
    /// stops the scan and is returned.
    ///
    /// ```
    /// use doctable::arrow_array::{Array, Float64Array};
    /// # use doctable::{DocTable, Persistent};
    /// # #[derive(DocTable)] struct Doc { #[doctable(primary_key)] id: Option<i64>, title: String, score: Option<f64> }
    /// # let db = Persistent::open_in_memory()?; Doc::create_table(&db)?;
    /// let docs: Vec<Doc> = (0..5).map(|i| Doc { id: None, title: format!("d{i}"), score: (i % 2 == 0).then_some(i as f64) }).collect();
    /// Doc::insert_many(&db, &docs)?;
    /// let mut sizes = Vec::new();
    /// let rows = Doc::select().order_by(Doc::id).arrow_batches(&db, 2, |batch| {
    ///     let scores = batch.column(2).as_any().downcast_ref::<Float64Array>().expect("Float64");
    ///     sizes.push((batch.num_rows(), scores.null_count()));
    ///     Ok(())
    /// })?;
    /// assert_eq!(rows, 5);
    /// assert_eq!(sizes, [(2, 1), (2, 1), (1, 0)]);
    /// # Ok::<(), doctable::Error>(())
    /// ```
    pub fn arrow_batches(
        &self,
        conn: &impl Conn,
        rows_per_batch: usize,
        f: impl FnMut(RecordBatch) -> Result<()>,
    ) -> Result<u64> {
        let table = T::__META.name;
        if rows_per_batch == 0 {
            return Err(Error::Usage(format!(
                "table `{table}`: Arrow batches of 0 rows would never fill; ask for at least 1 row per batch"
            )));
        }
        let columns = self.export_columns();
        let mut sink = BatchSink::new(table, schema(&columns), rows_per_batch, f);
        let rows = self.export_into(conn, &columns, &mut sink)?;
        sink.flush()?;
        Ok(rows)
    }
}
