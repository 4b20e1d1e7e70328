//! `Select::to_parquet`: rows as a Parquet file (feature `parquet`).

use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;

use super::arrow::{BatchSink, DEFAULT_BATCH_ROWS, schema};
use super::io_error;
use crate::conn::Conn;
use crate::error::{Error, Result};
use crate::query::select::Select;
use crate::query::selection::Selection;
use crate::record::Record;

/// Rows per Parquet row group. The writer holds a row group's encoded
/// columns until it is full, so this bounds its memory (a few MiB for rows
/// of a few dozen bytes) rather than the parquet crate's default of
/// 1,048,576 rows, which would hold a million-row export whole.
pub(crate) const ROW_GROUP_ROWS: usize = 8 * DEFAULT_BATCH_ROWS;

/// The most encoded bytes a row group holds before it is written, for rows
/// of large documents (65,536 rows of 100 KiB would otherwise be 6 GiB).
pub(crate) const ROW_GROUP_BYTES: usize = 32 << 20;

impl<T: Record, S: Selection<T>> Select<T, S> {
    /// Writes the rows of this select to `writer` as a Parquet file,
    /// streaming: batches of [`DEFAULT_BATCH_ROWS`](crate::DEFAULT_BATCH_ROWS)
    /// rows go to the file in row groups of at most 65,536 rows and about 32 MiB
    /// encoded, so memory holds at most a row group, however many rows there are. Returns the number of
    /// rows written.
    ///
    /// The columns and their types are [`arrow_schema`](Select::arrow_schema)'s
    /// (Parquet keeps the Arrow schema in the file's metadata: a timestamp is
    /// an `INT64` `TIMESTAMP(MICROS, UTC)`, a date an `INT32` `DATE`, text and
    /// JSON `BYTE_ARRAY` `STRING`, ...), compressed with snappy. The file is
    /// complete only when this returns `Ok`; an error writing is an
    /// [`Error::Io`] naming the table.
    ///
    /// ```
    /// use doctable::parquet::file::reader::{FileReader, SerializedFileReader};
    /// # use doctable::{DocTable, Persistent};
    /// # #[derive(DocTable)] struct Doc { #[doctable(primary_key)] id: Option<i64>, title: String }
    /// # let db = Persistent::open_in_memory()?; Doc::create_table(&db)?;
    /// # Doc::insert_many(&db, &[Doc { id: None, title: "a".into() }, Doc { id: None, title: "b".into() }])?;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("docs.parquet");
    /// let rows = Doc::select().to_parquet(&db, std::fs::File::create(&path)?)?;
    /// assert_eq!(rows, 2);
    /// let file = SerializedFileReader::new(std::fs::File::open(&path)?)?;
    /// assert_eq!(file.metadata().file_metadata().num_rows(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_parquet<W: std::io::Write + Send>(&self, conn: &impl Conn, writer: W) -> Result<u64> {
        let table = T::__META.name;
        let columns = self.export_columns();
        let schema = schema(&columns);
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
            .build();
        let mut file = ArrowWriter::try_new(writer, schema.clone(), Some(properties))
            .map_err(|e| parquet_error(table, e))?;
        let mut sink = BatchSink::new(table, schema, DEFAULT_BATCH_ROWS, |batch| {
            file.write(&batch).map_err(|e| parquet_error(table, e))
        });
        let rows = self.export_into(conn, &columns, &mut sink)?;
        sink.flush()?;
        drop(sink);
        file.close().map_err(|e| parquet_error(table, e))?;
        Ok(rows)
    }
}

/// A Parquet error as the crate's [`Error::Io`], keeping the kind of an I/O
/// error of the writer.
fn parquet_error(table: &str, e: ParquetError) -> Error {
    match e {
        ParquetError::External(source) => match source.downcast::<std::io::Error>() {
            Ok(io) => io_error(table, "Parquet", &io),
            Err(other) => io_error(table, "Parquet", &std::io::Error::other(other)),
        },
        other => io_error(table, "Parquet", &std::io::Error::other(other)),
    }
}
