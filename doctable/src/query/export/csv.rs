//! `Select::to_csv`: rows as CSV, on the `csv` crate.

use std::fmt::Write as _;

use super::{Cell, ExportColumn, Sink, io_error};
use crate::conn::Conn;
use crate::error::{Error, Result};
use crate::query::select::Select;
use crate::query::selection::Selection;
use crate::record::Record;

impl<T: Record, S: Selection<T>> Select<T, S> {
    /// Writes the rows of this select (with its filters, order and limit) to
    /// `writer` as CSV, streaming: one row is held at a time, however many
    /// there are. Returns the number of rows written (the header not counted).
    ///
    /// The first record is a header of the column names (for an expression
    /// in `select_cols`, its SQL text, such as `avg("score")`). Fields are
    /// comma-separated and quoted where needed (RFC 4180, by the `csv`
    /// crate), records end with `\n`. Values are written as:
    ///
    /// | column | field |
    /// | --- | --- |
    /// | NULL | an empty field (so is empty text: the header's types tell them apart only for non-text columns) |
    /// | integer | decimal |
    /// | float | the shortest text that parses back to the same `f64` (`0.1`, `1e300`, `-0.0`) |
    /// | bool | `true` / `false` |
    /// | text, JSON | as stored (JSON as its text; PostgreSQL's `JSONB` prints it in its own normal form) |
    /// | blob | `\x` then lowercase hex, as PostgreSQL prints a `bytea` (`\x` alone for an empty blob) |
    /// | timestamp | `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC), date and time `YYYY-MM-DDTHH:MM:SS.ffffff`, date `YYYY-MM-DD`: the forms SQLite stores, on both engines |
    /// | UUID | lowercase hyphenated |
    ///
    /// An error writing to `writer` is an [`Error::Io`] naming the table; a
    /// stored value that does not fit its column (bad timestamp text, say) is
    /// an [`Error::Conversion`] naming the table and column. What was written
    /// before an error stays written. Like [`for_each`](Select::for_each),
    /// the connection is held until the last row is read.
    ///
    /// ```
    /// # use doctable::{DocTable, Persistent};
    /// # #[derive(DocTable)] struct Doc { #[doctable(primary_key)] id: Option<i64>, title: String, score: Option<f64> }
    /// # let db = Persistent::open_in_memory()?; Doc::create_table(&db)?;
    /// Doc::insert_many(&db, &[
    ///     Doc { id: None, title: "Tables, chairs".into(), score: Some(0.5) },
    ///     Doc { id: None, title: "Rows".into(), score: None },
    /// ])?;
    /// let mut out = Vec::new();
    /// let rows = Doc::select().order_by(Doc::id).to_csv(&db, &mut out)?;
    /// assert_eq!(rows, 2);
    /// assert_eq!(String::from_utf8(out).unwrap(), "id,title,score\n1,\"Tables, chairs\",0.5\n2,Rows,\n");
    ///
    /// let mut titles = Vec::new();
    /// Doc::select_cols(Doc::title).filter(Doc::score.is_null()).to_csv(&db, &mut titles)?;
    /// assert_eq!(titles, b"title\nRows\n");
    /// # Ok::<(), doctable::Error>(())
    /// ```
    pub fn to_csv(&self, conn: &impl Conn, writer: impl std::io::Write) -> Result<u64> {
        let table = T::__META.name;
        let columns = self.export_columns();
        let mut sink = CsvSink {
            table,
            out: ::csv::Writer::from_writer(writer),
            text: String::new(),
        };
        sink.header(&columns)?;
        let rows = self.export_into(conn, &columns, &mut sink)?;
        sink.out.flush().map_err(|e| io_error(table, "CSV", &e))?;
        Ok(rows)
    }
}

/// Writes cells as CSV fields.
struct CsvSink<W: std::io::Write> {
    table: &'static str,
    out: ::csv::Writer<W>,
    /// Reused for each field that is formatted (numbers, hex, times).
    text: String,
}

impl<W: std::io::Write> CsvSink<W> {
    fn header(&mut self, columns: &[ExportColumn]) -> Result<()> {
        let names = columns.iter().map(|c| c.name.as_bytes());
        self.out
            .write_record(names)
            .map_err(|e| csv_error(self.table, e))
    }

    fn field(&mut self, bytes: &[u8]) -> Result<()> {
        self.out
            .write_field(bytes)
            .map_err(|e| csv_error(self.table, e))
    }

    fn formatted(&mut self, write: impl FnOnce(&mut String)) -> Result<()> {
        let mut text = std::mem::take(&mut self.text);
        text.clear();
        write(&mut text);
        let written = self.field(text.as_bytes());
        self.text = text;
        written
    }
}

impl<W: std::io::Write> Sink for CsvSink<W> {
    fn cell(&mut self, _index: usize, column: &ExportColumn, cell: Cell<'_>) -> Result<()> {
        // Writing to a String cannot fail: the `write!` results are ignored.
        match cell {
            Cell::Null => self.field(b""),
            Cell::Text(t) => self.field(t),
            Cell::Bool(b) => self.field(if b { b"true" } else { b"false" }),
            Cell::Integer(i) => self.formatted(|s| {
                let _ = write!(s, "{i}");
            }),
            // `{:?}` is the shortest text that reads back as the same f64,
            // with an exponent where that is shorter (`1e300`).
            Cell::Real(f) => self.formatted(|s| {
                let _ = write!(s, "{f:?}");
            }),
            Cell::Blob(b) => self.formatted(|s| {
                s.reserve(2 + 2 * b.len());
                s.push_str("\\x");
                for byte in b {
                    let _ = write!(s, "{byte:02x}");
                }
            }),
            Cell::Timestamp(_) | Cell::DateTime(_) | Cell::Days(_) | Cell::Uuid(_) => {
                match super::temporal_text(cell) {
                    Some(Ok(text)) => self.field(text.as_bytes()),
                    Some(Err(e)) => Err(e.at(self.table, &column.name)),
                    None => self.field(b""),
                }
            }
        }
    }

    fn end_row(&mut self) -> Result<()> {
        self.out
            .write_record(None::<&[u8]>)
            .map_err(|e| csv_error(self.table, e))
    }
}

/// A `csv` error as the crate's: an I/O error of the writer is
/// [`Error::Io`]; the writer raises no other kind for the records written
/// here (every record has the header's length).
fn csv_error(table: &str, e: ::csv::Error) -> Error {
    match e.into_kind() {
        ::csv::ErrorKind::Io(io) => io_error(table, "CSV", &io),
        other => Error::Usage(format!("table `{table}`: writing CSV: {other:?}")),
    }
}
