//! `Select::arrow_schema` and `Select::arrow_batches` (issue 12, "Export"):
//! the schema comes from the struct (types, nullable where the field is an
//! `Option`), and the batches equal the rows, on every strategy of both
//! engines; the batch size is kept; a callback error stops the scan.
//! Needs the features `arrow`, `chrono` and `uuid`.

use doctable::arrow_array::cast::AsArray;
use doctable::arrow_array::types::{Date32Type, Float64Type, Int64Type, TimestampMicrosecondType};
use doctable::arrow_array::{Array, RecordBatch};
use doctable::arrow_schema::{DataType, TimeUnit};
use doctable::{Conn, DocTable, Error};

#[allow(unused_macros)]
#[macro_use]
#[path = "support/backends.rs"]
mod backends;
#[path = "support/export_rows.rs"]
mod export_rows;

use backends::{Engine, TestResult};
use export_rows::{COLUMNS, Exported, Want, rows, same, want};

/// Value `i` of `array`, as the kind the schema says.
fn value(array: &dyn Array, i: usize) -> Want {
    if array.is_null(i) {
        return Want::Null;
    }
    match array.data_type() {
        DataType::Int64 => Want::Int(array.as_primitive::<Int64Type>().value(i)),
        DataType::Float64 => Want::Float(array.as_primitive::<Float64Type>().value(i)),
        DataType::Boolean => Want::Bool(array.as_boolean().value(i)),
        DataType::Utf8 => Want::Text(array.as_string::<i32>().value(i).to_owned()),
        DataType::Binary => Want::Bytes(array.as_binary::<i32>().value(i).to_vec()),
        DataType::Timestamp(TimeUnit::Microsecond, Some(_)) => {
            Want::Timestamp(array.as_primitive::<TimestampMicrosecondType>().value(i))
        }
        DataType::Timestamp(TimeUnit::Microsecond, None) => {
            Want::DateTime(array.as_primitive::<TimestampMicrosecondType>().value(i))
        }
        DataType::Date32 => Want::Date(array.as_primitive::<Date32Type>().value(i)),
        other => panic!("an unexpected Arrow type {other:?}"),
    }
}

/// The Arrow form of a wanted value: a UUID is its text.
fn in_arrow(want: &Want) -> Want {
    match want {
        Want::Uuid(text) => Want::Text(text.clone()),
        other => other.clone(),
    }
}

fn the_schema_comes_from_the_struct() {
    let schema = Exported::select().arrow_schema();
    let fields: Vec<(&str, DataType, bool)> = schema
        .fields()
        .iter()
        .map(|f| (f.name().as_str(), f.data_type().clone(), f.is_nullable()))
        .collect();
    let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let want = vec![
        ("id", DataType::Int64, true),
        ("title", DataType::Utf8, false),
        ("note", DataType::Utf8, true),
        ("tally", DataType::Int64, false),
        ("score", DataType::Float64, false),
        ("ratio", DataType::Float64, true),
        ("flag", DataType::Boolean, false),
        ("maybe_flag", DataType::Boolean, true),
        ("data", DataType::Binary, false),
        ("maybe_data", DataType::Binary, true),
        ("tags", DataType::Utf8, false),
        ("at", utc.clone(), false),
        ("maybe_at", utc, true),
        (
            "naive",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
        ("day", DataType::Date32, false),
        ("maybe_day", DataType::Date32, true),
        ("key", DataType::Utf8, false),
        ("maybe_key", DataType::Utf8, true),
    ];
    assert_eq!(fields, want);
    assert_eq!(fields.iter().map(|f| f.0).collect::<Vec<_>>(), COLUMNS);

    // select_cols: its columns, an aggregate named by its SQL and nullable as its type says.
    let picked =
        Exported::select_cols((Exported::day, Exported::score.avg(), Exported::id.count()))
            .arrow_schema();
    let types: Vec<(DataType, bool)> = picked
        .fields()
        .iter()
        .map(|f| (f.data_type().clone(), f.is_nullable()))
        .collect();
    assert_eq!(
        types,
        [
            (DataType::Date32, false),
            (DataType::Float64, true),
            (DataType::Int64, false)
        ]
    );
    assert_eq!(picked.field(0).name(), "day");
}

#[test]
fn schema_from_the_struct() {
    the_schema_comes_from_the_struct();
}

fn batches_equal_the_rows<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Exported::create_table(db)?;
    Exported::insert_many(db, &rows())?;
    let stored = Exported::select().order_by(Exported::id).all(db)?;
    let schema = Exported::select().arrow_schema();
    for size in [1, 2, 5, doctable::DEFAULT_BATCH_ROWS] {
        let mut batches: Vec<RecordBatch> = Vec::new();
        let written =
            Exported::select()
                .order_by(Exported::id)
                .arrow_batches(db, size, |batch| {
                    batches.push(batch);
                    Ok(())
                })?;
        assert_eq!(written, 5);
        let sizes: Vec<usize> = batches.iter().map(RecordBatch::num_rows).collect();
        let mut want_sizes = vec![size; 5 / size];
        if 5 % size != 0 {
            want_sizes.push(5 % size);
        }
        assert_eq!(sizes, want_sizes, "batches of {size}");
        let mut row = 0;
        for batch in &batches {
            assert_eq!(batch.schema(), schema);
            for i in 0..batch.num_rows() {
                let wants = want(&stored[row]);
                for (c, w) in wants.iter().enumerate() {
                    let got = value(batch.column(c).as_ref(), i);
                    assert!(
                        same(&in_arrow(w), &got),
                        "row {row} column {}: want {w:?}, got {got:?}",
                        COLUMNS[c]
                    );
                }
                row += 1;
            }
        }
        assert_eq!(row, stored.len());
    }

    // With a filter: only the matching rows; no row, no batch.
    let mut nulls = 0;
    let written = Exported::select_cols((Exported::note, Exported::maybe_day))
        .filter(Exported::note.is_null())
        .arrow_batches(db, 10, |batch| {
            nulls += batch.column(0).null_count() + batch.column(1).null_count();
            Ok(())
        })?;
    assert_eq!((written, nulls), (2, 4));
    let mut called = false;
    let none = Exported::select()
        .filter(Exported::tally.eq(7))
        .arrow_batches(db, 10, |_| {
            called = true;
            Ok(())
        })?;
    assert_eq!((none, called), (0, false));
    Ok(())
}
on_every_strategy!(batches_equal_the_rows);

fn a_callback_error_stops_the_scan<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Exported::create_table(db)?;
    Exported::insert_many(db, &rows())?;
    let mut seen = 0;
    let err = Exported::select()
        .arrow_batches(db, 2, |_| {
            seen += 1;
            Err(Error::Usage("enough".into()))
        })
        .expect_err("the callback fails");
    assert_eq!((seen, err.to_string()), (1, "enough".to_owned()));
    let zero = Exported::select()
        .arrow_batches(db, 0, |_| Ok(()))
        .expect_err("size 0");
    assert!(
        matches!(zero, Error::Usage(ref m) if m.contains("`exported`")),
        "{zero}"
    );
    // The callback may use `db` exactly where a `for_each` callback may (a
    // `PerQuery` or `Pool` hands out another connection; a `Persistent`, a
    // transaction or an external connection is the one being scanned).
    let mut in_batches = None;
    Exported::select().arrow_batches(db, 5, |_| {
        in_batches = Some(Exported::count().get(db).is_ok());
        Ok(())
    })?;
    let mut in_for_each = None;
    Exported::select().limit(1u8).for_each(db, |_| {
        in_for_each = Some(Exported::count().get(db).is_ok());
        Ok(())
    })?;
    assert!(in_batches.is_some());
    assert_eq!(in_batches, in_for_each);
    assert_eq!(Exported::count().get(db)?, 5);
    Ok(())
}
on_every_strategy!(a_callback_error_stops_the_scan);
