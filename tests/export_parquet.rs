//! `Select::to_parquet` (issue 12, "Export"): the file read back by the
//! parquet crate's own row reader (`SerializedFileReader`, which does not go
//! through Arrow) equals the rows, on every strategy of both engines, with
//! the Parquet types a reader expects (timestamps `TIMESTAMP(MICROS)` adjusted
//! to UTC or not, dates `DATE`, text `STRING`), NULLs where the field is
//! `None`; a writer error is `Error::Io` naming the table.
//! Needs the features `parquet`, `chrono` and `uuid`.

use doctable::parquet::basic::{LogicalType, TimeUnit, Type as Physical};
use doctable::parquet::file::reader::{FileReader, SerializedFileReader};
use doctable::parquet::record::Field;
use doctable::{Conn, DocTable, Error};

#[allow(unused_macros)]
#[macro_use]
#[path = "support/backends.rs"]
mod backends;
#[path = "support/export_rows.rs"]
mod export_rows;

use backends::{Engine, TestResult};
use export_rows::{COLUMNS, Exported, Want, rows, same, want};

fn value(field: &Field) -> Want {
    match field {
        Field::Null => Want::Null,
        Field::Bool(b) => Want::Bool(*b),
        Field::Long(i) => Want::Int(*i),
        Field::Double(f) => Want::Float(*f),
        Field::Str(s) => Want::Text(s.clone()),
        Field::Bytes(b) => Want::Bytes(b.data().to_vec()),
        Field::Date(d) => Want::Date(*d),
        // Which of the two it is, the column's logical type says (checked below).
        Field::TimestampMicros(m) => Want::Timestamp(*m),
        other => panic!("an unexpected Parquet field {other:?}"),
    }
}

/// The Parquet form of a wanted value: a UUID is its text; a date and time
/// without zone is a timestamp not adjusted to UTC, read as the same micros.
fn in_parquet(want: &Want) -> Want {
    match want {
        Want::Uuid(text) => Want::Text(text.clone()),
        Want::DateTime(m) => Want::Timestamp(*m),
        other => other.clone(),
    }
}

fn the_file_reads_back_equal<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Exported::create_table(db)?;
    Exported::insert_many(db, &rows())?;
    let stored = Exported::select().order_by(Exported::id).all(db)?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("exported.parquet");
    let written = Exported::select()
        .order_by(Exported::id)
        .to_parquet(db, std::fs::File::create(&path)?)?;
    assert_eq!(written, 5);

    let file = SerializedFileReader::new(std::fs::File::open(&path)?)?;
    let meta = file.metadata().file_metadata();
    assert_eq!(meta.num_rows(), 5);
    let schema = meta.schema_descr();
    let names: Vec<&str> = schema.columns().iter().map(|c| c.name()).collect();
    assert_eq!(names, COLUMNS);
    let column = |name: &str| {
        let c = schema.column(COLUMNS.iter().position(|n| *n == name).expect("a column"));
        (
            c.physical_type(),
            c.logical_type_ref().cloned(),
            c.self_type().is_optional(),
        )
    };
    let micros = |utc| Some(LogicalType::timestamp(utc, TimeUnit::MICROS));
    assert_eq!(column("at"), (Physical::INT64, micros(true), false));
    assert_eq!(column("maybe_at"), (Physical::INT64, micros(true), true));
    assert_eq!(column("naive"), (Physical::INT64, micros(false), false));
    assert_eq!(
        column("day"),
        (Physical::INT32, Some(LogicalType::Date), false)
    );
    assert_eq!(
        column("title"),
        (Physical::BYTE_ARRAY, Some(LogicalType::String), false)
    );
    assert!(column("note").2);
    assert_eq!(column("data"), (Physical::BYTE_ARRAY, None, false));
    assert_eq!(column("tally"), (Physical::INT64, None, false));
    assert_eq!(column("score"), (Physical::DOUBLE, None, false));
    assert_eq!(column("flag"), (Physical::BOOLEAN, None, false));

    let mut n = 0;
    for (row, stored) in file.get_row_iter(None)?.zip(&stored) {
        let row = row?;
        let got: Vec<(String, Want)> = row
            .get_column_iter()
            .map(|(name, field)| (name.clone(), value(field)))
            .collect();
        let wants = want(stored);
        assert_eq!(got.len(), wants.len());
        for ((name, got), (want, column)) in got.iter().zip(wants.iter().zip(COLUMNS)) {
            assert_eq!(name, column);
            assert!(
                same(&in_parquet(want), got),
                "row {n} column {column}: want {want:?}, got {got:?}"
            );
        }
        n += 1;
    }
    assert_eq!(n, 5);

    // select_cols with a filter: only its columns and rows.
    let keys_path = dir.path().join("keys.parquet");
    let written = Exported::select_cols((Exported::id, Exported::maybe_key))
        .filter(Exported::maybe_key.is_not_null())
        .order_by(Exported::id)
        .to_parquet(db, std::fs::File::create(&keys_path)?)?;
    assert_eq!(written, 3);
    let file = SerializedFileReader::new(std::fs::File::open(&keys_path)?)?;
    let keys: Vec<Want> = file
        .get_row_iter(None)?
        .map(|row| row.map(|r| value(&r.get_column_iter().nth(1).expect("two columns").1.clone())))
        .collect::<Result<_, _>>()?;
    let want_keys: Vec<Want> = stored
        .iter()
        .filter_map(|r| r.maybe_key.map(|k| Want::Text(k.to_string())))
        .collect();
    assert_eq!(keys, want_keys);
    Ok(())
}
on_every_strategy!(the_file_reads_back_equal);

/// A writer that takes `room` bytes, then fails.
struct FullDisk {
    room: usize,
}

impl std::io::Write for FullDisk {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.room == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "no space left",
            ));
        }
        let n = buf.len().min(self.room);
        self.room -= n;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn writer_errors_are_io_errors_naming_the_table<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Exported::create_table(db)?;
    Exported::insert_many(db, &rows())?;
    for room in [0, 3, 500] {
        let err = Exported::select()
            .to_parquet(db, FullDisk { room })
            .expect_err("the writer fills up");
        assert!(matches!(err, Error::Io(_)), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("`exported`") && text.contains("Parquet"),
            "{text}"
        );
    }
    assert_eq!(Exported::count().get(db)?, 5);
    Ok(())
}
on_every_strategy!(writer_errors_are_io_errors_naming_the_table);
