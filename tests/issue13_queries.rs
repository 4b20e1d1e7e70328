//! Issue 13's "what to build" items that are queries and transactions:
//! `delete().returning`, streaming that stops early, `one()`, and user error
//! types through transactions and scans. Each test is written once and runs
//! on every strategy of both engines (tests/support/backends.rs).

use std::cell::Cell;
use std::ops::ControlFlow;

use doctable::{ColumnType, Conn, DocTable, Error, SqlType, ToValue, Value, ValueError, ValueRef};

#[macro_use]
#[path = "support/backends.rs"]
mod backends;
use backends::Engine;

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "tokens")]
struct Token {
    #[doctable(primary_key)]
    id: Option<i64>,
    text: String,
    doc: i64,
}

fn token(text: &str, doc: i64) -> Token {
    Token {
        id: None,
        text: text.into(),
        doc,
    }
}

/// Creates `tokens` with five rows: ids 1..=5, docs 1, 1, 2, 2, 3.
fn setup<C: Conn>(db: &C) {
    Token::create_table(db).expect("create");
    let rows = [
        token("a", 1),
        token("b", 1),
        token("c", 2),
        token("d", 2),
        token("e", 3),
    ];
    Token::insert_many(db, &rows).expect("insert");
}

fn texts<C: Conn>(db: &C) -> Vec<String> {
    Token::select_cols(Token::text)
        .order_by(Token::id)
        .all(db)
        .expect("select")
}

fn delete_returning_gives_the_removed_rows<C: Conn<Backend: Engine>>(db: &C) {
    setup(db);
    let mut gone = Token::delete()
        .filter(Token::doc.eq(2))
        .returning(db)
        .expect("delete returning");
    gone.sort_by_key(|t| t.id);
    assert_eq!(
        gone,
        [
            Token {
                id: Some(3),
                text: "c".into(),
                doc: 2
            },
            Token {
                id: Some(4),
                text: "d".into(),
                doc: 2
            },
        ]
    );
    assert_eq!(texts(db), ["a", "b", "e"]);
    let none = Token::delete()
        .filter(Token::doc.eq(9))
        .returning(db)
        .expect("nothing to delete");
    assert!(none.is_empty());
    let rest = Token::delete().all_rows().returning(db).expect("all rows");
    assert_eq!(rest.len(), 3);
    assert!(texts(db).is_empty());
}

thread_local! {
    /// How many `Counted` values this thread has read back from a database.
    static DECODED: Cell<usize> = const { Cell::new(0) };
}

/// An integer that counts how often it is read back: what shows a scan that
/// stopped read no further rows.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Counted(i64);

impl ColumnType for Counted {
    const SQL_TYPE: SqlType = SqlType::Integer;
    fn to_sql(&self) -> Result<ToValue<'_>, ValueError> {
        Ok(ToValue::Owned(Value::Integer(self.0)))
    }
    fn from_sql(value: ValueRef<'_>) -> Result<Self, ValueError> {
        DECODED.with(|d| d.set(d.get() + 1));
        i64::from_sql(value).map(Counted)
    }
}

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "counted")]
struct Reading {
    #[doctable(primary_key)]
    id: Option<i64>,
    value: Counted,
}

/// 100 readings with values 0..100; the decode counter reset.
fn readings<C: Conn>(db: &C) {
    Reading::create_table(db).expect("create");
    let rows: Vec<Reading> = (0..100)
        .map(|i| Reading {
            id: None,
            value: Counted(i),
        })
        .collect();
    Reading::insert_many(db, &rows).expect("insert");
    DECODED.with(|d| d.set(0));
}

fn decoded() -> usize {
    DECODED.with(Cell::get)
}

fn try_for_each_stops_reading_at_break<C: Conn<Backend: Engine>>(db: &C) {
    readings(db);
    let found = Reading::select()
        .order_by(Reading::id)
        .try_for_each(db, |r| {
            if r.value.0 == 2 {
                ControlFlow::Break(r.id)
            } else {
                ControlFlow::Continue(())
            }
        })
        .expect("scan");
    assert_eq!(found, Some(Some(3)));
    assert_eq!(decoded(), 3, "rows read after the break");
    // No break: every row, and `None`.
    let mut seen = 0;
    let none = Reading::select_cols(Reading::value)
        .try_for_each(db, |_| {
            seen += 1;
            ControlFlow::<()>::Continue(())
        })
        .expect("scan");
    assert_eq!((none, seen, decoded()), (None, 100, 103));
    // The connection is usable afterwards (the scan was ended, not left open).
    assert_eq!(Reading::count().get(db).expect("count"), 100);
}

/// An application's own error type: the crate's errors and its own.
#[derive(Debug)]
#[allow(dead_code)] // the fields are read through `Debug` in failure messages
enum AppError {
    Db(Error),
    Parse(std::num::ParseIntError),
    TooLarge(i64),
}

impl From<Error> for AppError {
    fn from(e: Error) -> Self {
        AppError::Db(e)
    }
}

impl From<std::num::ParseIntError> for AppError {
    fn from(e: std::num::ParseIntError) -> Self {
        AppError::Parse(e)
    }
}

fn try_for_each_stops_at_the_callers_own_error<C: Conn<Backend: Engine>>(db: &C) {
    readings(db);
    let mut sum = 0;
    let result =
        Reading::select()
            .order_by(Reading::id)
            .try_for_each(db, |r| -> Result<(), AppError> {
                if r.value.0 >= 5 {
                    return Err(AppError::TooLarge(r.value.0));
                }
                sum += r.value.0;
                Ok(())
            });
    assert!(matches!(result, Err(AppError::TooLarge(5))), "{result:?}");
    assert_eq!((sum, decoded()), (10, 6));
    // Break and errors together.
    let found = Reading::select().order_by(Reading::id).try_for_each(
        db,
        |r| -> Result<ControlFlow<i64>, AppError> {
            let n: i64 = r.value.0.to_string().parse()?;
            Ok(if n == 7 {
                ControlFlow::Break(n)
            } else {
                ControlFlow::Continue(())
            })
        },
    );
    assert!(matches!(found, Ok(Some(7))), "{found:?}");
    // A crate error (a scan of a missing table) comes back as the caller's type.
    let missing = Token::select().try_for_each(db, |_| -> Result<(), AppError> { Ok(()) });
    assert!(matches!(missing, Err(AppError::Db(_))), "{missing:?}");
}

fn one_reads_a_single_aggregate_or_says_why_not<C: Conn<Backend: Engine>>(db: &C) {
    setup(db);
    let docs: i64 = Token::select_cols(Token::doc.count_distinct())
        .one(db)
        .expect("one");
    assert_eq!(docs, 3);
    let (n, top): (i64, Option<i64>) = Token::select_cols((Token::id.count(), Token::doc.max()))
        .one(db)
        .expect("one");
    assert_eq!((n, top), (5, Some(3)));
    let e = Token::select()
        .filter(Token::doc.eq(3))
        .one(db)
        .expect("one row");
    assert_eq!(e.text, "e");
    let none = expect_failure!(db, |c| Token::select().filter(Token::doc.eq(9)).one(c));
    assert!(
        matches!(&none, Error::NotOneRow { many: false, table, .. } if table == "tokens"),
        "{none:?}"
    );
    assert!(
        none.to_string()
            .contains("expected exactly one row, the query returned none"),
        "{none}"
    );
    let many = expect_failure!(db, |c| Token::select().filter(Token::doc.eq(1)).one(c));
    assert!(
        matches!(many, Error::NotOneRow { many: true, .. }),
        "{many:?}"
    );
    assert!(many.to_string().contains("more than one"), "{many}");
}

fn a_user_error_through_try_atomic_rolls_back<C: Conn<Backend: Engine>>(db: &C) {
    setup(db);
    let result = db.try_atomic(|tx| -> Result<(), AppError> {
        Token::insert(tx, &token("f", 4))?;
        let doc: i64 = "not a number".parse()?;
        Token::insert(tx, &token("g", doc))?;
        Ok(())
    });
    assert!(matches!(result, Err(AppError::Parse(_))), "{result:?}");
    assert_eq!(
        texts(db),
        ["a", "b", "c", "d", "e"],
        "the first insert was rolled back"
    );
    // Ok commits, and the value comes out.
    let id = db
        .try_atomic(|tx| -> Result<i64, AppError> {
            Ok(Token::insert(tx, &token("f", "4".parse()?))?)
        })
        .expect("commit");
    // (PostgreSQL's identity sequence is not rolled back: 6 or later.)
    let stored = Token::select_cols(Token::id)
        .filter(Token::text.eq("f"))
        .one(db);
    assert_eq!(stored.expect("f stored"), Some(id));
    // Nested: the savepoint's user error undoes only the savepoint.
    db.try_atomic(|tx| -> Result<(), AppError> {
        Token::insert(tx, &token("g", 5))?;
        let inner = tx.try_transaction(|tx| -> Result<(), AppError> {
            Token::insert(tx, &token("h", 5))?;
            Err(AppError::TooLarge(5))
        });
        assert!(matches!(inner, Err(AppError::TooLarge(5))));
        Ok(())
    })
    .expect("outer");
    assert_eq!(texts(db), ["a", "b", "c", "d", "e", "f", "g"]);
    // The crate's own error inside comes back as the caller's type, rolled back.
    let dup = db.try_atomic(|tx| -> Result<(), AppError> {
        Token::insert(tx, &token("i", 6))?;
        Token::insert(
            tx,
            &Token {
                id: Some(1),
                text: "dup".into(),
                doc: 1,
            },
        )?;
        Ok(())
    });
    assert!(
        matches!(dup, Err(AppError::Db(Error::Constraint { .. }))),
        "{dup:?}"
    );
    assert_eq!(texts(db).len(), 7);
}

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "widths")]
struct Widths {
    #[doctable(primary_key)]
    id: Option<i64>,
    position: usize,
    small: u32,
    big: i64,
    maybe: Option<i64>,
    real: f64,
}

/// Integers across widths: a value that always fits the column's type is
/// taken as it is, and `limit` / `offset` take any unsigned count (`usize`
/// from `len()`). (A narrowing value does not compile: tests/ui/.)
fn integers_of_other_widths_compare_where_they_always_fit<C: Conn<Backend: Engine>>(db: &C) {
    Widths::create_table(db).expect("create");
    let rows: Vec<Widths> = (0..6)
        .map(|i: u8| Widths {
            id: None,
            position: usize::from(i),
            small: u32::from(i) * 10,
            big: i64::from(i) * 100,
            maybe: i.is_multiple_of(2).then_some(i64::from(i)),
            real: f64::from(i) / 2.0,
        })
        .collect();
    Widths::insert_many(db, &rows).expect("insert");
    let n_u32: u32 = 300;
    let n_u16: u16 = 2;
    let n_u8: u8 = 4;
    let n_f32: f32 = 1.5;
    let ids = |condition: doctable::Expr<Widths, bool>| -> Vec<Option<i64>> {
        Widths::select_cols(Widths::id)
            .filter(condition)
            .order_by(Widths::id)
            .all(db)
            .expect("select")
    };
    assert_eq!(ids(Widths::big.ge(n_u32)), [Some(4), Some(5), Some(6)]);
    assert_eq!(ids(Widths::position.lt(n_u16)), [Some(1), Some(2)]);
    assert_eq!(ids(Widths::small.eq(n_u8 * 10)), [Some(5)]);
    assert_eq!(ids(Widths::maybe.eq(n_u8)), [Some(5)]);
    assert_eq!(ids(Widths::real.eq(n_f32)), [Some(4)]);
    assert_eq!(ids(Widths::real.gt(n_u8)), []);
    let updated = Widths::update()
        .set(Widths::big, n_u32)
        .set(Widths::maybe, n_u16)
        .filter(Widths::position.eq(n_u8))
        .run(db)
        .expect("update");
    assert_eq!(updated, 1);
    assert_eq!(
        ids(Widths::big.eq(300_i64).and(Widths::maybe.eq(2))),
        [Some(5)]
    );

    let page: usize = 2;
    let second_page = Widths::select_cols(Widths::id)
        .order_by(Widths::id)
        .limit(page)
        .offset(page)
        .all(db)
        .expect("page");
    assert_eq!(second_page, [Some(3), Some(4)]);
    let small: u8 = 1;
    assert_eq!(Widths::select().limit(small).all(db).expect("one").len(), 1);
    assert_eq!(Widths::select().limit(3).all(db).expect("literal").len(), 3);
    assert!(
        Widths::select()
            .limit(-1)
            .all(db)
            .expect("negative")
            .is_empty()
    );
}

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "tagged")]
struct Tagged {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(json)]
    tags: Vec<String>,
}

/// A JSON column takes a value of its own type, without the `Json` wrapper,
/// in `set` and in comparisons (reading it back with `select_cols` gives the
/// field's type too: tests/json_columns.rs).
fn a_json_column_takes_its_own_type_in_set_and_filters<C: Conn<Backend: Engine>>(db: &C) {
    Tagged::create_table(db).expect("create");
    let rows = [
        Tagged {
            id: None,
            tags: vec!["a".into()],
        },
        Tagged {
            id: None,
            tags: vec!["b".into(), "c".into()],
        },
    ];
    Tagged::insert_many(db, &rows).expect("insert");
    let n = Tagged::update()
        .set(Tagged::tags, vec!["x".to_string(), "y".to_string()])
        .filter(Tagged::tags.eq(vec!["a".to_string()]))
        .run(db)
        .expect("update");
    assert_eq!(n, 1);
    let first = Tagged::select()
        .filter(Tagged::id.eq(1))
        .one(db)
        .expect("row 1");
    assert_eq!(first.tags, ["x", "y"]);
    let both: i64 = Tagged::count()
        .filter(Tagged::tags.in_list([
            vec!["x".to_string(), "y".to_string()],
            vec!["b".into(), "c".into()],
        ]))
        .get(db)
        .expect("count");
    assert_eq!(both, 2);
}

on_every_strategy!(
    delete_returning_gives_the_removed_rows,
    try_for_each_stops_reading_at_break,
    try_for_each_stops_at_the_callers_own_error,
    one_reads_a_single_aggregate_or_says_why_not,
    a_user_error_through_try_atomic_rolls_back,
    integers_of_other_widths_compare_where_they_always_fit,
    a_json_column_takes_its_own_type_in_set_and_filters,
);

/// `try_transaction` on each strategy type (an inherent method, as
/// `transaction` is), and `?` on rusqlite's own errors inside the crate's
/// `Result` (`From<rusqlite::Error>`).
#[test]
fn sqlite_try_transaction_and_rusqlite_errors_mix() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let db = doctable::Persistent::open(dir.path().join("t.db"))?;
    setup(&db);
    let r = db.try_transaction(|tx| -> Result<(), AppError> {
        Token::insert(tx, &token("x", 1))?;
        Err(AppError::TooLarge(1))
    });
    assert!(matches!(r, Err(AppError::TooLarge(1))));
    let per_query = doctable::PerQuery::open(dir.path().join("t.db"))?;
    let r = per_query.try_transaction(|tx| -> Result<(), AppError> {
        Token::insert(tx, &token("y", 1))?;
        Err(AppError::TooLarge(2))
    });
    assert!(matches!(r, Err(AppError::TooLarge(2))));
    assert_eq!(texts(&db), ["a", "b", "c", "d", "e"]);

    // `?` on a rusqlite call in a function returning doctable's Result.
    fn raw_insert(c: &doctable::rusqlite::Connection) -> doctable::Result<usize> {
        Ok(c.execute(
            "INSERT INTO tokens (id, text, doc) VALUES (1, 'dup', 1)",
            [],
        )?)
    }
    let err = db.try_with_rusqlite(raw_insert).expect_err("duplicate key");
    assert!(
        matches!(
            &err,
            Error::Constraint {
                kind: doctable::ConstraintKind::PrimaryKey,
                ..
            }
        ),
        "{err:?}"
    );
    let n: i64 =
        db.try_with_rusqlite(|c| c.query_row("SELECT count(*) FROM tokens", [], |r| r.get(0)))?;
    assert_eq!(n, 5);
    let syntax = db
        .try_with_rusqlite(|c| c.execute_batch("SELEC 1"))
        .expect_err("syntax");
    assert!(matches!(syntax, Error::Sqlite { .. }), "{syntax:?}");
    assert!(syntax.to_string().contains("syntax error"), "{syntax}");
    Ok(())
}

/// `?` on the `postgres` crate's own errors inside the crate's `Result`
/// (`From<postgres::Error>`), sorted like the crate's own.
#[cfg(feature = "postgres")]
#[test]
fn postgres_errors_mix_with_question_mark() {
    let Some(schema) = backends::PgSchema::new() else {
        return;
    };
    let mut client = schema.client();
    fn run(client: &mut postgres::Client, sql: &str) -> doctable::Result<u64> {
        Ok(client.execute(sql, &[])?)
    }
    run(&mut client, "CREATE TABLE t (x BIGINT PRIMARY KEY)").expect("create");
    run(&mut client, "INSERT INTO t VALUES (1)").expect("insert");
    let dup = run(&mut client, "INSERT INTO t VALUES (1)").expect_err("duplicate");
    assert!(
        matches!(
            &dup,
            Error::Constraint {
                kind: doctable::ConstraintKind::PrimaryKey,
                ..
            }
        ),
        "{dup:?}"
    );
    let missing = run(&mut client, "SELECT * FROM missing").expect_err("missing");
    assert!(
        matches!(&missing, Error::Postgres { code, .. } if code == "42P01"),
        "{missing:?}"
    );
    let db = doctable::postgres::Persistent::connect(&schema.params).expect("connect");
    setup(&db);
    let r = db.try_transaction(|tx| -> Result<(), AppError> {
        Token::insert(tx, &token("x", 1))?;
        Err(AppError::TooLarge(1))
    });
    assert!(matches!(r, Err(AppError::TooLarge(1))));
    assert_eq!(texts(&db).len(), 5);
}
