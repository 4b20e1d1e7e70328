//! Issue 9, items 3, 5, 6 and 11: values a write would store but no read could
//! give back. Integer arithmetic that overflows, arithmetic that makes NaN or
//! divides by zero, JSON that serde_json writes but cannot read (non-finite
//! floats, nesting deeper than its recursion limit), `returning` whose
//! read-back fails, and JSON maps whose text followed their iteration order.
//!
//! Every refused write is checked to have changed nothing, and the row to be
//! readable afterwards.

use std::collections::{BTreeMap, HashMap};

use doctable::rusqlite;
use doctable::{Conn, ConstraintKind, DocTable, Error, Expr, Json, PerQuery, Persistent};
use serde::{Deserialize, Serialize};

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "m")]
struct Num {
    #[doctable(primary_key)]
    id: Option<i64>,
    n: i64,
    small: i32,
    byte: u8,
    #[doctable(shadows_operation)]
    count: u64,
    maybe: Option<i64>,
    x: f64,
    y: Option<f64>,
    narrow: f32,
}

fn num(n: i64) -> Num {
    Num {
        id: None,
        n,
        small: 0,
        byte: 0,
        count: 0,
        maybe: None,
        x: 0.0,
        y: None,
        narrow: 0.0,
    }
}

/// The raw storage class and value of `column` in row `id`, read with rusqlite.
fn raw(db: &Persistent, column: &str, id: i64) -> Result<(String, String), Error> {
    let sql = format!("SELECT typeof(\"{column}\"), quote(\"{column}\") FROM m WHERE id = ?1");
    db.with_rusqlite(|c| {
        c.query_row(&sql, [id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| Error::Usage(e.to_string()))
    })?
}

fn assert_conversion(err: &Error, column: &str, words: &str) {
    match err {
        Error::Conversion {
            table,
            column: c,
            detail,
            ..
        } => {
            assert_eq!(table, "m", "{err}");
            assert_eq!(c, column, "{err}");
            assert!(detail.contains(words), "{err}");
            assert!(detail.contains("nothing was changed"), "{err}");
        }
        other => panic!("expected a conversion error on m.{column}, got {other:?}"),
    }
}

fn memory() -> Result<Persistent, Error> {
    let db = Persistent::open_in_memory()?;
    Num::create_table(&db)?;
    Ok(db)
}

// ---------------------------------------------------------------- item 3

#[test]
fn integer_overflow_in_set_is_refused_and_changes_nothing() -> TestResult {
    let db = memory()?;
    let max = Num::insert(&db, &num(i64::MAX))?;
    let min = Num::insert(&db, &num(i64::MIN))?;
    let cases: Vec<(i64, Expr<Num, i64>)> = vec![
        (max, Num::n + 1),
        (max, Num::n * 2),
        (max, Num::n - -1),
        (min, Num::n - 1),
        (min, Num::n / -1),
        (min, Num::n * -1),
        (min, (Num::n + 0) * 2 + 5),
    ];
    for (id, expr) in cases {
        let before = raw(&db, "n", id)?;
        let sql = expr.sql().to_owned();
        let err = Num::update()
            .set(Num::n, expr)
            .filter(Num::id.eq(id))
            .run(&db)
            .expect_err(&sql);
        assert_conversion(&err, "n", "integer");
        assert_eq!(raw(&db, "n", id)?, before, "{sql}");
        assert_eq!(raw(&db, "n", id)?.0, "integer");
        // The row still reads, by every path.
        let row = Num::get(&db, id)?.ok_or("row gone")?;
        assert_eq!(row.n, if id == max { i64::MAX } else { i64::MIN });
        assert_eq!(Num::select().filter(Num::id.eq(id)).all(&db)?.len(), 1);
    }
    // Arithmetic that fits still works, on both rows.
    Num::update().set(Num::n, Num::n / 2).all_rows().run(&db)?;
    assert_eq!(Num::get(&db, max)?.ok_or("row")?.n, i64::MAX / 2);
    assert_eq!(Num::get(&db, min)?.ok_or("row")?.n, i64::MIN / 2);
    Ok(())
}

#[test]
fn an_overflow_in_one_row_of_many_changes_no_row() -> TestResult {
    let db = memory()?;
    let rows: Vec<Num> = [1, 2, i64::MAX, 4].into_iter().map(num).collect();
    Num::insert_many(&db, &rows)?;
    let err = Num::update()
        .set(Num::n, Num::n + 1)
        .all_rows()
        .run(&db)
        .expect_err("row 3 overflows");
    assert_conversion(&err, "n", "integer");
    let ns: Vec<i64> = Num::select_cols(Num::n)
        .order_by(Num::id)
        .all(&db)?
        .into_iter()
        .collect();
    assert_eq!(ns, [1, 2, i64::MAX, 4]);
    Ok(())
}

#[test]
fn results_outside_a_narrow_integer_type_are_refused() -> TestResult {
    let db = memory()?;
    let mut row = num(0);
    row.small = i32::MAX;
    row.byte = 255;
    row.count = 0;
    let id = Num::insert(&db, &row)?;
    let only = Num::id.eq(id);

    let err = Num::update()
        .set(Num::small, Num::small + 1)
        .filter(only.clone())
        .run(&db)
        .expect_err("i32 overflow");
    assert_conversion(&err, "small", "does not fit");
    let err = Num::update()
        .set(Num::byte, Num::byte + 1)
        .filter(only.clone())
        .run(&db)
        .expect_err("u8 overflow");
    assert_conversion(&err, "byte", "does not fit");
    let err = Num::update()
        .set(Num::count, Num::count - 1)
        .filter(only.clone())
        .run(&db)
        .expect_err("u64 below zero");
    assert_conversion(&err, "count", "does not fit");

    assert_eq!(
        Num::get(&db, id)?.ok_or("row")?,
        Num {
            id: Some(id),
            ..row
        }
    );
    // In range is fine.
    Num::update()
        .set(Num::small, Num::small - 1)
        .set(Num::byte, Num::byte - 255)
        .set(Num::count, Num::count + 7)
        .filter(only)
        .run(&db)?;
    let got = Num::get(&db, id)?.ok_or("row")?;
    assert_eq!((got.small, got.byte, got.count), (i32::MAX - 1, 0, 7));
    Ok(())
}

#[test]
fn a_nullable_integer_column_keeps_null_arithmetic_and_refuses_overflow() -> TestResult {
    let db = memory()?;
    let id = Num::insert(&db, &num(0))?;
    let only = Num::id.eq(id);
    // NULL + 1 is NULL, as SQL and `Option` both say.
    Num::update()
        .set(Num::maybe, Num::maybe + 1)
        .filter(only.clone())
        .run(&db)?;
    assert_eq!(Num::get(&db, id)?.ok_or("row")?.maybe, None);
    Num::update()
        .set(Num::maybe, i64::MAX)
        .filter(only.clone())
        .run(&db)?;
    let err = Num::update()
        .set(Num::maybe, Num::maybe + 1)
        .filter(only.clone())
        .run(&db)
        .expect_err("overflow");
    assert_conversion(&err, "maybe", "integer");
    assert_eq!(Num::get(&db, id)?.ok_or("row")?.maybe, Some(i64::MAX));
    // Setting a nullable column from a non-null expression is checked too.
    let err = Num::update()
        .set(Num::maybe, Num::n - i64::MAX - 2)
        .filter(only)
        .run(&db)
        .expect_err("overflow");
    assert_conversion(&err, "maybe", "integer");
    Ok(())
}

#[test]
fn overflow_is_refused_on_a_table_the_crate_did_not_create() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("old.db");
    {
        let c = rusqlite::Connection::open(&path)?;
        c.execute_batch(
            "CREATE TABLE m (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, small INTEGER NOT NULL,
                 byte INTEGER NOT NULL, count INTEGER NOT NULL, maybe INTEGER, x REAL NOT NULL,
                 y REAL, narrow REAL NOT NULL);
             INSERT INTO m VALUES (1, 9223372036854775807, 0, 0, 0, NULL, 0.0, NULL, 0.0);",
        )?;
    }
    // An existing, non-STRICT table: no schema mismatch, and the same protection.
    let db = PerQuery::open(&path)?;
    Num::create_table(&db)?;
    assert!(Num::schema_diff(&db)?.changes.is_empty());
    let err = Num::update()
        .set(Num::n, Num::n + 1)
        .filter(Num::id.eq(1))
        .run(&db)
        .expect_err("overflow");
    assert_conversion(&err, "n", "integer");
    assert_eq!(Num::get(&db, 1)?.ok_or("row")?.n, i64::MAX);
    Ok(())
}

#[test]
fn returning_whose_read_back_fails_rolls_its_write_back() -> TestResult {
    let db = memory()?;
    let id = Num::insert(&db, &num(5))?;
    // Another writer left a value in `small` that no i32 can hold.
    db.with_rusqlite(|c| c.execute("UPDATE m SET small = 'text' WHERE id = ?1", [id]))??;
    let err = Num::update()
        .set(Num::n, 6)
        .filter(Num::id.eq(id))
        .returning(&db)
        .expect_err("small cannot be read");
    assert!(
        matches!(&err, Error::Conversion { column, .. } if column == "small"),
        "{err:?}"
    );
    assert_eq!(raw(&db, "n", id)?, ("integer".into(), "5".into()));

    // Inside a transaction, only the update is undone, not the transaction.
    db.transaction(|tx| {
        Num::update()
            .set(Num::x, 1.5)
            .filter(Num::id.eq(id))
            .run(tx)?;
        let failed = Num::update()
            .set(Num::n, 7)
            .filter(Num::id.eq(id))
            .returning(tx);
        assert!(failed.is_err());
        Ok(())
    })?;
    assert_eq!(raw(&db, "n", id)?.1, "5");
    assert_eq!(raw(&db, "x", id)?.1, "1.5");

    // An overflow in a `returning` is refused before anything is written.
    db.with_rusqlite(|c| {
        c.execute(
            "UPDATE m SET small = 0, n = ?2 WHERE id = ?1",
            [id, i64::MAX],
        )
    })??;
    let err = Num::update()
        .set(Num::n, Num::n + 1)
        .filter(Num::id.eq(id))
        .returning(&db)
        .expect_err("overflow");
    assert_conversion(&err, "n", "integer");
    assert_eq!(Num::get(&db, id)?.ok_or("row")?.n, i64::MAX);
    // And one that works returns the rows as stored.
    let back = Num::update()
        .set(Num::n, Num::n - 1)
        .filter(Num::id.eq(id))
        .returning(&db)?;
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].n, i64::MAX - 1);
    Ok(())
}

// ---------------------------------------------------------------- item 6

#[test]
fn arithmetic_that_makes_nan_is_refused_like_a_nan_value() -> TestResult {
    let db = memory()?;
    let mut row = num(1);
    row.x = f64::INFINITY;
    row.y = Some(f64::INFINITY);
    let id = Num::insert(&db, &row)?;
    let only = Num::id.eq(id);
    let nan_makers: Vec<(&str, Expr<Num, f64>)> = vec![
        ("x - x", Num::x - Num::x),
        ("x * 0", Num::x * 0.0),
        ("x / x", Num::x / Num::x),
        ("(x + 1) - x", (Num::x + 1.0) - Num::x),
    ];
    for (name, expr) in nan_makers {
        let err = Num::update()
            .set(Num::x, expr)
            .filter(only.clone())
            .run(&db)
            .expect_err(name);
        assert_conversion(&err, "x", "NaN");
    }
    let nullable: Vec<(&str, Expr<Num, Option<f64>>)> = vec![
        ("y - y", Num::y - Num::y),
        ("y * 0", Num::y * 0.0),
        ("y - x", Num::y - Num::x),
    ];
    for (name, expr) in nullable {
        let err = Num::update()
            .set(Num::y, expr)
            .filter(only.clone())
            .run(&db)
            .expect_err(name);
        assert_conversion(&err, "y", "NaN");
    }
    assert_eq!(raw(&db, "x", id)?, ("real".into(), "9.0e+999".into()));
    assert_eq!(raw(&db, "y", id)?, ("real".into(), "9.0e+999".into()));
    let got = Num::get(&db, id)?.ok_or("row")?;
    assert_eq!((got.x, got.y), (f64::INFINITY, Some(f64::INFINITY)));

    // A NULL operand still gives NULL, as it does for a value.
    Num::update()
        .set(Num::y, None)
        .filter(only.clone())
        .run(&db)?;
    Num::update()
        .set(Num::y, Num::y - Num::y)
        .filter(only.clone())
        .run(&db)?;
    assert_eq!(Num::get(&db, id)?.ok_or("row")?.y, None);
    // Infinity itself is a value an f64 holds: it is stored.
    Num::update()
        .set(Num::x, Num::x * 2.0)
        .filter(only)
        .run(&db)?;
    assert_eq!(Num::get(&db, id)?.ok_or("row")?.x, f64::INFINITY);
    Ok(())
}

#[test]
fn division_by_zero_is_refused_for_integers_and_floats() -> TestResult {
    let db = memory()?;
    let mut row = num(10);
    row.maybe = Some(3);
    row.x = 2.0;
    row.y = Some(2.0);
    let id = Num::insert(&db, &row)?;
    let only = Num::id.eq(id);
    let err = Num::update()
        .set(Num::n, Num::n / 0)
        .filter(only.clone())
        .run(&db)
        .expect_err("n / 0");
    assert_conversion(&err, "n", "division by zero");
    let err = Num::update()
        .set(Num::maybe, Num::maybe / (Num::n - 10))
        .filter(only.clone())
        .run(&db)
        .expect_err("maybe / 0");
    assert_conversion(&err, "maybe", "division by zero");
    let err = Num::update()
        .set(Num::x, Num::x / 0.0)
        .filter(only.clone())
        .run(&db)
        .expect_err("x / 0");
    assert_conversion(&err, "x", "division by zero");
    let err = Num::update()
        .set(Num::y, Num::y / 0)
        .filter(only)
        .run(&db)
        .expect_err("y / 0");
    assert_conversion(&err, "y", "division by zero");
    assert_eq!(
        Num::get(&db, id)?.ok_or("row")?,
        Num {
            id: Some(id),
            ..row
        }
    );
    Ok(())
}

#[test]
fn a_float_result_beyond_f32_is_refused_for_an_f32_column() -> TestResult {
    let db = memory()?;
    let mut row = num(0);
    row.narrow = f32::MAX;
    let id = Num::insert(&db, &row)?;
    let err = Num::update()
        .set(Num::narrow, Num::narrow * 2.0)
        .filter(Num::id.eq(id))
        .run(&db)
        .expect_err("beyond f32");
    assert_conversion(&err, "narrow", "does not fit");
    assert_eq!(Num::get(&db, id)?.ok_or("row")?.narrow, f32::MAX);
    Num::update()
        .set(Num::narrow, Num::narrow / 2.0)
        .filter(Num::id.eq(id))
        .run(&db)?;
    assert_eq!(Num::get(&db, id)?.ok_or("row")?.narrow, f32::MAX / 2.0);
    // An infinity is an f32 too, and a result that rounds to f32::MAX fits.
    for (value, factor, expected) in [
        (f32::INFINITY, 2.0, f32::INFINITY),
        (f32::MAX, 1.000_000_01, f32::MAX),
    ] {
        Num::update()
            .set(Num::narrow, value)
            .filter(Num::id.eq(id))
            .run(&db)?;
        Num::update()
            .set(Num::narrow, Num::narrow * factor)
            .filter(Num::id.eq(id))
            .run(&db)?;
        assert_eq!(Num::get(&db, id)?.ok_or("row")?.narrow, expected);
    }
    Ok(())
}

#[test]
fn a_raw_expression_of_the_wrong_storage_class_is_refused_in_set() -> TestResult {
    let db = memory()?;
    let id = Num::insert(&db, &num(3))?;
    let err = Num::update()
        .set(Num::n, Expr::raw("'three'", [0_i64; 0]))
        .filter(Num::id.eq(id))
        .run(&db)
        .expect_err("text into an integer");
    assert_conversion(&err, "n", "INTEGER");
    let err = Num::update()
        .set(Num::n, Expr::raw("1.5", [0_i64; 0]))
        .filter(Num::id.eq(id))
        .run(&db)
        .expect_err("real into an integer");
    assert_conversion(&err, "n", "INTEGER");
    assert_eq!(Num::get(&db, id)?.ok_or("row")?.n, 3);
    let err = Num::update()
        .set(Num::x, Expr::raw("NULL", [0_i64; 0]))
        .filter(Num::id.eq(id))
        .run(&db)
        .expect_err("NULL into NOT NULL");
    assert_conversion(&err, "x", "NOT NULL");
    // Into a nullable column, NULL from raw SQL is a value like any other.
    Num::update()
        .set(Num::y, 1.5)
        .filter(Num::id.eq(id))
        .run(&db)?;
    Num::update()
        .set(Num::y, Expr::<Num, Option<f64>>::raw("NULL", [0_i64; 0]))
        .filter(Num::id.eq(id))
        .run(&db)?;
    assert_eq!(Num::get(&db, id)?.ok_or("row")?.y, None);
    // A raw expression with its own `?` is repeated with its parameter...
    Num::update()
        .set(Num::n, Expr::raw("? + 1", [4_i64]))
        .filter(Num::id.eq(id))
        .run(&db)?;
    assert_eq!(Num::get(&db, id)?.ok_or("row")?.n, 5);
    // ...but a numbered one cannot be: an error, not a value bound wrongly.
    let err = Num::update()
        .set(Num::n, Expr::raw("?1 + 1", [9_i64]))
        .filter(Num::id.eq(id))
        .run(&db)
        .expect_err("numbered placeholder");
    assert!(matches!(err, Error::Usage(_)), "{err:?}");
    assert_eq!(Num::get(&db, id)?.ok_or("row")?.n, 5);
    Ok(())
}

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "uniq")]
struct Uniq {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(unique)]
    name: String,
}

#[test]
fn constraint_messages_say_the_kind_once() -> TestResult {
    let db = Persistent::open_in_memory()?;
    Uniq::create_table(&db)?;
    Uniq::insert(
        &db,
        &Uniq {
            id: None,
            name: "a".into(),
        },
    )?;
    let err = Uniq::insert(
        &db,
        &Uniq {
            id: None,
            name: "a".into(),
        },
    )
    .expect_err("duplicate");
    assert!(matches!(
        err,
        Error::Constraint {
            kind: ConstraintKind::Unique,
            ..
        }
    ));
    let text = err.to_string();
    assert_eq!(text.matches("constraint failed").count(), 1, "{text}");
    assert!(
        text.contains("UNIQUE constraint failed: uniq.name"),
        "{text}"
    );

    // A NOT NULL column the struct does not know about.
    db.with_rusqlite(|c| {
        c.execute_batch(
            "CREATE TABLE m2 (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, y REAL NOT NULL)",
        )
    })??;
    #[derive(DocTable, Debug)]
    #[doctable(table = "m2")]
    struct Partial {
        #[doctable(primary_key)]
        id: Option<i64>,
        name: String,
    }
    let err = Partial::insert(
        &db,
        &Partial {
            id: None,
            name: "b".into(),
        },
    )
    .expect_err("y is NOT NULL");
    assert!(matches!(
        err,
        Error::Constraint {
            kind: ConstraintKind::NotNull,
            ..
        }
    ));
    let text = err.to_string();
    assert_eq!(text.matches("constraint failed").count(), 1, "{text}");
    assert!(text.contains("NOT NULL constraint failed: m2.y"), "{text}");
    Ok(())
}

// ---------------------------------------------------------------- item 5

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "docs")]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(json)]
    weights: Vec<f64>,
    #[doctable(json)]
    maybe: Vec<Option<f64>>,
    #[doctable(json)]
    tree: serde_json::Value,
    #[doctable(json)]
    narrow: Option<Vec<f32>>,
}

fn doc() -> Doc {
    Doc {
        id: None,
        weights: vec![1.0],
        maybe: vec![None, Some(2.5)],
        tree: serde_json::json!({"a": [1, 2]}),
        narrow: None,
    }
}

fn nested(depth: usize) -> serde_json::Value {
    let mut v = serde_json::Value::from(1);
    for i in 0..depth {
        v = if i % 2 == 0 {
            serde_json::Value::Array(vec![v])
        } else {
            serde_json::json!({ "k": v })
        };
    }
    v
}

fn assert_json_refused(err: &Error, column: &str) {
    match err {
        Error::Json {
            table, column: c, ..
        } => {
            assert_eq!(table, "docs", "{err}");
            assert_eq!(c, column, "{err}");
        }
        other => panic!("expected a JSON error on docs.{column}, got {other:?}"),
    }
}

#[test]
fn json_that_would_not_read_back_is_refused_on_write() -> TestResult {
    let db = Persistent::open_in_memory()?;
    Doc::create_table(&db)?;
    let kept = Doc::insert(&db, &doc())?;
    let bad: Vec<(&str, Doc)> = vec![
        (
            "weights",
            Doc {
                weights: vec![1.0, f64::INFINITY],
                ..doc()
            },
        ),
        (
            "weights",
            Doc {
                weights: vec![f64::NAN],
                ..doc()
            },
        ),
        (
            "weights",
            Doc {
                weights: vec![f64::NEG_INFINITY],
                ..doc()
            },
        ),
        (
            "maybe",
            Doc {
                maybe: vec![Some(f64::NEG_INFINITY)],
                ..doc()
            },
        ),
        (
            "tree",
            Doc {
                tree: nested(200),
                ..doc()
            },
        ),
        (
            "tree",
            Doc {
                tree: nested(128),
                ..doc()
            },
        ),
        (
            "narrow",
            Doc {
                narrow: Some(vec![f32::NAN]),
                ..doc()
            },
        ),
    ];
    for (column, row) in &bad {
        let err = Doc::insert(&db, row).expect_err(column);
        assert_json_refused(&err, column);
        let err = Doc::insert_many(&db, [&doc(), row]).expect_err(column);
        assert_json_refused(&err, column);
        let err = Doc::update_row(
            &db,
            &Doc {
                id: Some(kept),
                ..row.clone()
            },
        )
        .expect_err(column);
        assert_json_refused(&err, column);
    }
    // Through `set` and filters too.
    let err = Doc::update()
        .set(Doc::weights, Json(vec![f64::NAN]))
        .all_rows()
        .run(&db)
        .expect_err("set");
    assert!(
        matches!(err, Error::Conversion { ref column, .. } | Error::Json { ref column, .. } if column == "weights"),
        "{err:?}"
    );
    let err = Doc::select()
        .filter(Doc::tree.eq(Json(nested(300))))
        .all(&db)
        .expect_err("filter");
    assert!(
        matches!(err, Error::Conversion { ref column, .. } | Error::Json { ref column, .. } if column == "tree"),
        "{err:?}"
    );

    // Nothing was written, and the kept row reads as it was.
    assert_eq!(Doc::count().get(&db)?, 1);
    assert_eq!(
        Doc::get(&db, kept)?.ok_or("row")?,
        Doc {
            id: Some(kept),
            ..doc()
        }
    );
    Ok(())
}

#[test]
fn json_at_the_deepest_readable_nesting_round_trips() -> TestResult {
    let db = Persistent::open_in_memory()?;
    Doc::create_table(&db)?;
    // serde_json reads 127 nested arrays or objects and refuses the 128th.
    assert!(serde_json::from_str::<serde_json::Value>(&nested(127).to_string()).is_ok());
    assert!(serde_json::from_str::<serde_json::Value>(&nested(128).to_string()).is_err());
    let row = Doc {
        tree: nested(127),
        ..doc()
    };
    let id = Doc::insert(&db, &row)?;
    assert_eq!(
        Doc::get(&db, id)?.ok_or("row")?,
        Doc {
            id: Some(id),
            ..row
        }
    );
    Ok(())
}

#[test]
fn json_floats_read_back_bit_for_bit() -> TestResult {
    let db = Persistent::open_in_memory()?;
    Doc::create_table(&db)?;
    // A small xorshift generator over all bit patterns of finite f64s.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut weights = Vec::new();
    while weights.len() < 20_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let f = f64::from_bits(state);
        if f.is_finite() {
            weights.push(f);
        }
    }
    weights.extend([
        f64::MIN_POSITIVE,
        f64::MAX,
        f64::MIN,
        5e-324,
        -0.0,
        0.1,
        1.0 / 3.0,
    ]);
    let narrow: Vec<f32> = weights
        .iter()
        .map(|&w| f32::from_bits(w.to_bits() as u32))
        .filter(|f| f.is_finite())
        .chain([f32::MIN_POSITIVE, f32::MAX, f32::MIN, 1e-45, 0.1])
        .collect();
    let row = Doc {
        weights: weights.clone(),
        narrow: Some(narrow.clone()),
        ..doc()
    };
    let id = Doc::insert(&db, &row)?;
    let back = Doc::get(&db, id)?.ok_or("row")?;
    let differ = weights
        .iter()
        .zip(&back.weights)
        .filter(|(a, b)| a.to_bits() != b.to_bits())
        .count();
    assert_eq!(back.weights.len(), weights.len());
    assert_eq!(differ, 0, "{differ} of {} floats changed", weights.len());
    let back_narrow = back.narrow.ok_or("narrow")?;
    assert_eq!(back_narrow.len(), narrow.len());
    let differ = narrow
        .iter()
        .zip(&back_narrow)
        .filter(|(a, b)| a.to_bits() != b.to_bits())
        .count();
    assert_eq!(differ, 0, "{differ} of {} f32s changed", narrow.len());
    Ok(())
}

// ---------------------------------------------------------------- item 11

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "maps")]
struct Maps {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(unique)]
    counts: Json<HashMap<String, i64>>,
    #[doctable(json)]
    nested: Vec<HashMap<String, BTreeMap<i64, String>>>,
}

fn counts() -> HashMap<String, i64> {
    (0..20).map(|i| (format!("key{i}"), i)).collect()
}

#[test]
fn equal_json_maps_store_equal_text() -> TestResult {
    let db = Persistent::open_in_memory()?;
    Maps::create_table(&db)?;
    let inner: BTreeMap<i64, String> = [(10, "ten".to_string()), (2, "two".into())].into();
    let nested = vec![HashMap::from([
        ("b".to_string(), inner.clone()),
        ("a".into(), inner),
    ])];
    let id = Maps::insert(
        &db,
        &Maps {
            id: None,
            counts: Json(counts()),
            nested: nested.clone(),
        },
    )?;

    // Object keys are sorted, at every depth: strings by their bytes,
    // integers as numbers (the order a BTreeMap of them already has).
    let (text, nested_text): (String, String) = db.with_rusqlite(|c| {
        c.query_row("SELECT counts, nested FROM maps", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
    })??;
    let mut keys: Vec<String> = counts().into_keys().collect();
    keys.sort();
    let expected: Vec<String> = keys
        .iter()
        .map(|k| format!("\"{k}\":{}", k.trim_start_matches("key")))
        .collect();
    assert_eq!(text, format!("{{{}}}", expected.join(",")));
    assert_eq!(
        nested_text,
        r#"[{"a":{"2":"two","10":"ten"},"b":{"2":"two","10":"ten"}}]"#
    );

    // Every equal map, whatever its iteration order, finds the row and is a
    // duplicate for the UNIQUE column. Each HashMap has its own random order.
    let mut found = 0;
    let mut refused = 0;
    for _ in 0..20 {
        let equal = counts();
        found += Maps::select()
            .filter(Maps::counts.eq(Json(equal.clone())))
            .all(&db)?
            .len();
        match Maps::insert(
            &db,
            &Maps {
                id: None,
                counts: Json(equal),
                nested: vec![],
            },
        ) {
            Err(Error::Constraint {
                kind: ConstraintKind::Unique,
                ..
            }) => refused += 1,
            other => panic!("an equal map was not a duplicate: {other:?}"),
        }
    }
    assert_eq!((found, refused), (20, 20));
    let back = Maps::get(&db, id)?.ok_or("row")?;
    assert_eq!(back.counts.0, counts());
    assert_eq!(back.nested, nested);

    // serde_json::Value objects are sorted the same way.
    let a: serde_json::Value = serde_json::from_str(r#"{"z":1,"a":{"y":2,"b":3}}"#)?;
    let out = <serde_json::Value as doctable::JsonValue>::to_json_sql(&a)?;
    let doctable::ToValue::Owned(doctable::Value::Text(t)) = out else {
        panic!("JSON is bound as owned text");
    };
    assert_eq!(t, r#"{"a":{"b":3,"y":2},"z":1}"#);
    Ok(())
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "kind")]
enum Shape {
    Circle {
        r: f64,
    },
    Poly {
        points: Vec<(f64, f64)>,
        labels: HashMap<String, String>,
    },
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Flat {
    name: String,
    #[serde(flatten)]
    rest: HashMap<String, serde_json::Value>,
}

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "shapes")]
struct Shapes {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(json)]
    shapes: Vec<Shape>,
    #[doctable(json)]
    flat: Flat,
    #[doctable(json)]
    unit: (),
    #[doctable(json)]
    bytes: Vec<u8>,
    #[doctable(json)]
    chars: BTreeMap<char, Option<bool>>,
}

#[test]
fn serde_shapes_round_trip_through_the_checked_writer() -> TestResult {
    let db = Persistent::open_in_memory()?;
    Shapes::create_table(&db)?;
    let row = Shapes {
        id: None,
        shapes: vec![
            Shape::Circle { r: 1.5 },
            Shape::Poly {
                points: vec![(0.0, 1.0), (-2.5, 1e300)],
                labels: HashMap::from([
                    ("x\"y".to_string(), "é\n".to_string()),
                    ("a".into(), "b".into()),
                ]),
            },
        ],
        flat: Flat {
            name: "n".into(),
            rest: HashMap::from([
                ("z".to_string(), serde_json::json!([1, {"q": null}])),
                ("b".into(), 2.into()),
            ]),
        },
        unit: (),
        bytes: vec![0, 255, 7],
        chars: BTreeMap::from([('a', Some(true)), ('é', None)]),
    };
    let id = Shapes::insert(&db, &row)?;
    assert_eq!(
        Shapes::get(&db, id)?.ok_or("row")?,
        Shapes {
            id: Some(id),
            ..row.clone()
        }
    );
    // Non-finite floats inside enums and tuples are refused too.
    let bad = Shapes {
        shapes: vec![Shape::Poly {
            points: vec![(f64::NAN, 0.0)],
            labels: HashMap::new(),
        }],
        ..row
    };
    assert!(matches!(Shapes::insert(&db, &bad), Err(Error::Json { .. })));
    Ok(())
}

/// A refused `set` inside a transaction fails alone: the transaction's other
/// writes are kept when the closure goes on and returns `Ok`.
#[test]
fn set_inside_atomic_rolls_back_only_itself() -> TestResult {
    let db = memory()?;
    let id = Num::insert(&db, &num(i64::MAX))?;
    let r: doctable::Result<()> = db.atomic(|tx| {
        Num::update()
            .set(Num::x, 2.0)
            .filter(Num::id.eq(id))
            .run(tx)?;
        let e = Num::update()
            .set(Num::n, Num::n + 1)
            .filter(Num::id.eq(id))
            .run(tx);
        assert!(e.is_err());
        Ok(())
    });
    r?;
    let got = Num::get(&db, id)?.ok_or("row")?;
    assert_eq!((got.n, got.x), (i64::MAX, 2.0));
    Ok(())
}
