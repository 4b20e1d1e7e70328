//! `Select::to_csv` (issue 12, "Export"): the CSV parsed back by the `csv`
//! crate equals the rows, on every strategy of both engines: quotes, commas,
//! newlines, unicode, NULL, blobs, JSON, timestamps, floats that round-trip;
//! `select_cols` with filters, order and limit; writer errors are
//! `Error::Io` naming the table; bad stored values are `Error::Conversion`.
//! Needs the features `chrono` and `uuid` for the fixture's column types.

use doctable::{Conn, DocTable, Error};

#[allow(unused_macros)]
#[macro_use]
#[path = "support/backends.rs"]
mod backends;
#[path = "support/export_rows.rs"]
mod export_rows;

use backends::{Engine, Kind, TestResult};
use export_rows::{COLUMNS, Exported, Want, date_text, micros_text, rows, same, want};

/// A CSV field read back as the kind `like` says it should be.
fn parse_field(like: &Want, field: &str) -> Want {
    if field.is_empty() && !matches!(like, Want::Text(_)) {
        return Want::Null;
    }
    match like {
        Want::Null => Want::Text(field.to_owned()),
        Want::Int(_) => Want::Int(field.parse().expect("an integer field")),
        Want::Float(_) => Want::Float(field.parse().expect("a float field")),
        Want::Bool(_) => Want::Bool(match field {
            "true" => true,
            "false" => false,
            other => panic!("a bool field: {other:?}"),
        }),
        Want::Bytes(_) => {
            let hex = field.strip_prefix("\\x").expect("a blob starts with \\x");
            assert_eq!(hex, hex.to_lowercase(), "lowercase hex");
            Want::Bytes(
                (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                    .collect(),
            )
        }
        Want::Json(_) | Want::Text(_) | Want::Uuid(_) => match like {
            Want::Uuid(_) => Want::Uuid(field.to_owned()),
            _ => Want::Text(field.to_owned()),
        },
        // Times are compared as the text they should be written as.
        Want::Timestamp(_) | Want::DateTime(_) | Want::Date(_) => Want::Text(field.to_owned()),
    }
}

/// The text a time value should be written as.
fn time_text(want: &Want) -> Option<Want> {
    match want {
        Want::Timestamp(m) => Some(Want::Text(format!("{}Z", micros_text(*m)))),
        Want::DateTime(m) => Some(Want::Text(micros_text(*m))),
        Want::Date(d) => Some(Want::Text(date_text(*d))),
        _ => None,
    }
}

fn check_record(record: &csv::StringRecord, wants: &[Want]) {
    assert_eq!(record.len(), wants.len(), "{record:?}");
    for (field, want) in record.iter().zip(wants) {
        let got = parse_field(want, field);
        let want = time_text(want).unwrap_or_else(|| want.clone());
        assert!(
            same(&want, &got),
            "want {want:?}, got {got:?} from {field:?}"
        );
    }
}

fn every_value_reads_back<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Exported::create_table(db)?;
    Exported::insert_many(db, &rows())?;
    let stored = Exported::select().order_by(Exported::id).all(db)?;
    assert_eq!(stored.len(), 5);

    let mut out = Vec::new();
    let written = Exported::select()
        .order_by(Exported::id)
        .to_csv(db, &mut out)?;
    assert_eq!(written, 5);
    let mut reader = csv::Reader::from_reader(out.as_slice());
    assert_eq!(
        reader.headers()?,
        &csv::StringRecord::from(COLUMNS.to_vec())
    );
    let records = reader.records().collect::<Result<Vec<_>, _>>()?;
    assert_eq!(records.len(), stored.len());
    for (record, row) in records.iter().zip(&stored) {
        check_record(record, &want(row));
    }
    // Text that needs quoting is quoted, so the newlines are inside fields.
    assert!(String::from_utf8(out)?.contains("\"two\nlines\r\nand a CRLF\""));
    Ok(())
}
on_every_strategy!(every_value_reads_back);

fn select_cols_keeps_filters_order_and_limit<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Exported::create_table(db)?;
    Exported::insert_many(db, &rows())?;
    let stored = Exported::select().order_by(Exported::id).all(db)?;
    let mut out = Vec::new();
    let written = Exported::select_cols((Exported::title, Exported::tags, Exported::day))
        .filter(Exported::note.is_not_null())
        .order_by(Exported::id.desc())
        .limit(2u32)
        .to_csv(db, &mut out)?;
    assert_eq!(written, 2);
    let mut reader = csv::Reader::from_reader(out.as_slice());
    assert_eq!(reader.headers()?, vec!["title", "tags", "day"]);
    let records = reader.records().collect::<Result<Vec<_>, _>>()?;
    let picked: Vec<&Exported> = stored
        .iter()
        .rev()
        .filter(|r| r.note.is_some())
        .take(2)
        .collect();
    assert_eq!(records.len(), 2);
    for (record, row) in records.iter().zip(picked) {
        let all = want(row);
        check_record(record, &[all[1].clone(), all[10].clone(), all[14].clone()]);
    }

    // An aggregate is named by its SQL and typed by its result.
    let mut out = Vec::new();
    Exported::select_cols((Exported::flag, Exported::id.count(), Exported::score.max()))
        .group_by(Exported::flag)
        .order_by(Exported::flag)
        .to_csv(db, &mut out)?;
    let mut reader = csv::Reader::from_reader(out.as_slice());
    let header = reader.headers()?.clone();
    assert_eq!(&header[0], "flag");
    assert!(
        header[1].starts_with("count(") && header[2].starts_with("max("),
        "{header:?}"
    );
    let records = reader.records().collect::<Result<Vec<_>, _>>()?;
    let group = |flag: bool| {
        let rows = stored.iter().filter(|r| r.flag == flag);
        let n = rows.clone().count() as i64;
        let max = rows.map(|r| r.score).fold(f64::NEG_INFINITY, f64::max);
        [Want::Bool(flag), Want::Int(n), Want::Float(max)]
    };
    assert_eq!(records.len(), 2);
    check_record(&records[0], &group(false));
    check_record(&records[1], &group(true));

    // No row: the header alone.
    let mut out = Vec::new();
    let none = Exported::select_cols(Exported::id)
        .filter(Exported::tally.eq(7))
        .to_csv(db, &mut out)?;
    assert_eq!((none, out.as_slice()), (0, b"id\n".as_slice()));
    Ok(())
}
on_every_strategy!(select_cols_keeps_filters_order_and_limit);

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
    for room in [0, 100, 1000] {
        let err = Exported::select()
            .to_csv(db, FullDisk { room })
            .expect_err("the writer fills up");
        match &err {
            Error::Io(io) => assert_eq!(io.kind(), std::io::ErrorKind::StorageFull),
            other => panic!("expected Error::Io, got {other:?}"),
        }
        let text = err.to_string();
        assert!(
            text.contains("`exported`") && text.contains("CSV") && text.contains("no space left"),
            "{text}"
        );
    }
    // The connection is usable afterwards.
    assert_eq!(Exported::count().get(db)?, 5);
    Ok(())
}
on_every_strategy!(writer_errors_are_io_errors_naming_the_table);

fn a_bad_stored_value_is_a_conversion_error<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Exported::create_table(db)?;
    Exported::insert_many(db, &rows()[..1])?;
    if backends::kind(db) == Kind::Postgres {
        // The column is a TIMESTAMPTZ, which holds only timestamps: no bad
        // value can be stored for the export to meet.
        let types = backends::raw_texts(
            db,
            "SELECT data_type FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = 'exported' AND column_name = 'at'",
        )?;
        assert_eq!(types, [Some("timestamp with time zone".to_owned())]);
        return Ok(());
    }
    backends::raw_batch(db, "UPDATE exported SET at = 'yesterday'")?;
    let mut out = Vec::new();
    let err = Exported::select()
        .to_csv(db, &mut out)
        .expect_err("bad timestamp text");
    match &err {
        Error::Conversion { table, column, .. } => {
            assert_eq!((table.as_str(), column.as_str()), ("exported", "at"))
        }
        other => panic!("expected Error::Conversion, got {other:?}"),
    }
    assert!(err.to_string().contains("yesterday"), "{err}");
    Ok(())
}
on_every_strategy!(a_bad_stored_value_is_a_conversion_error);
