//! Aggregates read as their declared types on both engines: `sum` of an
//! integer column is an `Option<i64>` (PostgreSQL's `sum(bigint)` is
//! `numeric`; the crate casts it to `BIGINT`), `avg` an `Option<f64>` (cast
//! to `DOUBLE PRECISION`), `count` an `i64`; a sum beyond `i64` is an error
//! naming the table, never a panic or a wrapped value. Each test is written
//! once and runs on every strategy of both engines (tests/support/backends.rs).

use doctable::{Conn, DocTable, Error};

#[macro_use]
#[path = "support/backends.rs"]
mod backends;
use backends::{Engine, Kind, TestResult, kind};

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "sales")]
struct Sale {
    #[doctable(primary_key)]
    id: Option<i64>,
    shop: String,
    units: i64,
    price: f64,
    discount: Option<i64>,
}

fn sale(shop: &str, units: i64, price: f64, discount: Option<i64>) -> Sale {
    Sale {
        id: None,
        shop: shop.into(),
        units,
        price,
        discount,
    }
}

fn seeded<C: Conn>(db: &C) -> doctable::Result<()> {
    Sale::create_table(db)?;
    Sale::insert_many(
        db,
        &[
            sale("a", 1, 0.5, Some(1)),
            sale("a", 2, 1.25, None),
            sale("b", 4, 2.0, Some(3)),
            sale("b", 8, 0.25, None),
            sale("c", 16, 1.0, None),
        ],
    )?;
    Ok(())
}

fn sums_and_averages_read_as_their_declared_types<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    seeded(db)?;
    let (units, price, discount): (Option<i64>, Option<f64>, Option<i64>) =
        Sale::select_cols((Sale::units.sum(), Sale::price.sum(), Sale::discount.sum()))
            .first(db)?
            .ok_or("one row")?;
    assert_eq!((units, price, discount), (Some(31), Some(5.0), Some(4)));
    let (avg_units, avg_price): (Option<f64>, Option<f64>) =
        Sale::select_cols((Sale::units.avg(), Sale::price.avg()))
            .first(db)?
            .ok_or("one row")?;
    assert_eq!((avg_units, avg_price), (Some(6.2), Some(1.0)));
    // Integer averages are not rounded to an integer (PostgreSQL's numeric
    // avg is cast to a float, SQLite's avg is a real).
    let avg: Vec<Option<f64>> = Sale::select_cols(Sale::units.avg())
        .filter(Sale::shop.eq("a"))
        .all(db)?;
    assert_eq!(avg, [Some(1.5)]);
    let counts: (i64, i64, i64) = Sale::select_cols((
        Sale::id.count(),
        Sale::discount.count(),
        Sale::shop.count_distinct(),
    ))
    .first(db)?
    .ok_or("one row")?;
    assert_eq!(counts, (5, 2, 3));
    // A sum used in arithmetic and compared with a bound integer.
    let doubled: Vec<Option<i64>> = Sale::select_cols(Sale::units.sum() * 2).all(db)?;
    assert_eq!(doubled, [Some(62)]);
    Ok(())
}

fn grouped_sums_filter_and_order_as_integers<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    seeded(db)?;
    let rows: Vec<(String, Option<i64>, Option<f64>)> =
        Sale::select_cols((Sale::shop, Sale::units.sum(), Sale::units.avg()))
            .group_by(Sale::shop)
            .having(Sale::units.sum().gt(2))
            .order_by(Sale::units.sum().desc())
            .all(db)?;
    assert_eq!(
        rows,
        [
            ("c".to_owned(), Some(16), Some(16.0)),
            ("b".to_owned(), Some(12), Some(6.0)),
            ("a".to_owned(), Some(3), Some(1.5)),
        ]
    );
    let rows: Vec<(String, Option<i64>)> = Sale::select_cols((Sale::shop, Sale::discount.sum()))
        .group_by(Sale::shop)
        .order_by(Sale::shop)
        .all(db)?;
    assert_eq!(
        rows,
        [
            ("a".to_owned(), Some(1)),
            ("b".to_owned(), Some(3)),
            ("c".to_owned(), None)
        ]
    );
    Ok(())
}

fn aggregates_over_no_rows_are_null_and_count_zero<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Sale::create_table(db)?;
    let row: (Option<i64>, Option<f64>, Option<f64>, i64) = Sale::select_cols((
        Sale::units.sum(),
        Sale::price.sum(),
        Sale::units.avg(),
        Sale::units.count(),
    ))
    .first(db)?
    .ok_or("one row")?;
    assert_eq!(row, (None, None, None, 0));
    Ok(())
}

fn a_sum_exact_near_the_limit_and_an_error_beyond_it<C: Conn<Backend: Engine>>(
    db: &C,
) -> TestResult {
    Sale::create_table(db)?;
    let big = i64::MAX / 2;
    Sale::insert_many(db, &[sale("x", big, 0.0, None), sale("x", big, 0.0, None)])?;
    // 2^63 - 2: exact, which a float could not hold.
    let sum: Vec<Option<i64>> = Sale::select_cols(Sale::units.sum()).all(db)?;
    assert_eq!(sum, [Some(i64::MAX - 1)]);
    Sale::insert(db, &sale("x", 2, 0.0, None))?;
    let err = expect_failure!(db, |c| Sale::select_cols(Sale::units.sum()).all(c));
    let text = err.to_string();
    match kind(db) {
        // SQLite's sum raises "integer overflow".
        Kind::Sqlite => assert!(
            matches!(&err, Error::Sqlite { table: Some(t), .. } if t == "sales")
                && text.contains("integer overflow"),
            "{err:?}"
        ),
        // The cast to BIGINT: "bigint out of range", SQLSTATE 22003.
        Kind::Postgres => assert!(
            pg_out_of_range(&err) && text.contains("bigint out of range"),
            "{err:?}"
        ),
    }
    assert!(text.contains("sales"), "the error names the table: {text}");
    Ok(())
}

#[cfg(feature = "postgres")]
fn pg_out_of_range(err: &Error) -> bool {
    matches!(err, Error::Postgres { table: Some(t), code, sql, .. }
        if t == "sales" && code == "22003" && sql.contains("CAST(sum("))
}

#[cfg(not(feature = "postgres"))]
fn pg_out_of_range(_err: &Error) -> bool {
    false
}

on_every_strategy!(
    sums_and_averages_read_as_their_declared_types,
    grouped_sums_filter_and_order_as_integers,
    aggregates_over_no_rows_are_null_and_count_zero,
    a_sum_exact_near_the_limit_and_an_error_beyond_it,
);

/// On PostgreSQL the server itself types the result columns `bigint` and
/// `double precision`: the cast is in the SQL the crate prepared (read back
/// from `pg_prepared_statements` and described again), not a decoding trick.
#[cfg(feature = "postgres")]
#[test]
fn postgres_reports_the_cast_types() -> TestResult {
    use doctable::postgres::driver::types::Type;
    backends::on_pg_persistent(|db| {
        seeded(db)?;
        let _: Option<(Option<i64>, Option<f64>)> =
            Sale::select_cols((Sale::units.sum(), Sale::units.avg())).first(db)?;
        let prepared = "SELECT statement FROM pg_prepared_statements \
                        WHERE statement LIKE '%CAST(sum(%' AND statement NOT LIKE '%pg_prepared%'";
        let types = db.with_pg(|c| {
            c.with_client(
                |client| -> Result<Vec<Type>, doctable::postgres::driver::Error> {
                    let rows = client.query(prepared, &[])?;
                    let mut types = Vec::new();
                    for row in rows {
                        let statement = client.prepare(row.get::<_, &str>(0))?;
                        types.extend(statement.columns().iter().map(|c| c.type_().clone()));
                    }
                    Ok(types)
                },
            )
        })??;
        assert_eq!(types, [Type::INT8, Type::FLOAT8]);
        Ok(())
    })
}
