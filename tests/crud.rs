//! Every table operation, expression and transaction rule, each written once
//! (generic over `C: Conn`) and run against every connection strategy of both
//! engines (tests/support/backends.rs): on SQLite `Persistent`, `PerQuery`,
//! and the caller's own rusqlite `Connection` and `Transaction`, each on a
//! fresh file in a temporary directory; with the `postgres` feature, on
//! PostgreSQL's `Persistent`, `PerQuery`, `Pool` and the caller's own
//! `postgres::Client` and `Transaction`, each in a fresh schema.
//!
//! For the caller's `Transaction`, the runner rolls the transaction back after
//! the test body and checks that nothing the body did survives: the crate must
//! never commit a transaction it was handed.
//!
//! Where the engines differ in meaning (LIKE's case, identity keys), each
//! engine's documented behaviour is asserted (DESIGN.md, "Backends").

use std::panic::{AssertUnwindSafe, catch_unwind};

use doctable::rusqlite;
use doctable::rusqlite::types::Value;
use doctable::{Conn, DocTable, Error, Expr, Json, PerQuery};

#[macro_use]
#[path = "support/backends.rs"]
mod backends;
use backends::{
    Engine, Kind, TestResult, is_constraint_on, is_driver_error_on, is_missing_table, kind,
};

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "docs", index(by_year_score = [year, score]))]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(unique)]
    title: String,
    body: String,
    score: f64,
    #[doctable(index)]
    year: i64,
    note: Option<String>,
    #[doctable(json)]
    tags: Vec<String>,
}

/// A second table, to check that schema changes roll back with the rest.
#[derive(DocTable, Debug, Clone, PartialEq)]
struct Word {
    #[doctable(primary_key)]
    id: Option<i64>,
    text: String,
}

fn doc(title: &str, score: f64, year: i64, note: Option<&str>, tags: &[&str]) -> Doc {
    Doc {
        id: None,
        title: title.to_owned(),
        body: format!("body of {title}"),
        score,
        year,
        note: note.map(str::to_owned),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
    }
}

/// A row where only the title matters.
fn titled(title: &str) -> Doc {
    doc(title, 0.0, 2000, None, &[])
}

/// The five rows of [`seeded`], without ids. Scores are exact in binary, so
/// sums and averages can be compared exactly.
fn seed() -> Vec<Doc> {
    vec![
        doc("alpha", 0.5, 1999, Some("n1"), &["x"]),
        doc("beta", 1.5, 2001, None, &[]),
        doc("gamma", 2.5, 2001, Some("n3"), &["x", "y"]),
        doc("delta", 3.5, 2005, None, &["y"]),
        doc("epsilon", 4.5, 2010, Some(""), &[]),
    ]
}

/// Creates the table, inserts [`seed`] (ids 1 to 5) and returns the rows as stored.
fn seeded<C: Conn>(db: &C) -> doctable::Result<Vec<Doc>> {
    Doc::create_table(db)?;
    let rows = seed();
    assert_eq!(Doc::insert_many(db, &rows)?, 5);
    Ok(rows
        .into_iter()
        .zip(1..)
        .map(|(d, id)| Doc { id: Some(id), ..d })
        .collect())
}

/// The ids of the rows matching `filter`, ascending.
fn ids<C: Conn>(db: &C, filter: Expr<Doc, bool>) -> doctable::Result<Vec<i64>> {
    Ok(Doc::select_cols(Doc::id)
        .filter(filter)
        .order_by(Doc::id)
        .all(db)?
        .into_iter()
        .flatten()
        .collect())
}

/// Every id, ascending.
fn all_ids<C: Conn>(db: &C) -> doctable::Result<Vec<i64>> {
    Ok(Doc::select_cols(Doc::id)
        .order_by(Doc::id)
        .all(db)?
        .into_iter()
        .flatten()
        .collect())
}

/// Every title, by id.
fn titles<C: Conn>(db: &C) -> doctable::Result<Vec<String>> {
    Doc::select_cols(Doc::title).order_by(Doc::id).all(db)
}

fn expect_err<T: std::fmt::Debug>(result: doctable::Result<T>) -> Error {
    match result {
        Ok(value) => panic!("expected an error, got Ok({value:?})"),
        Err(e) => e,
    }
}

on_every_strategy!(
    create_table_is_idempotent_and_drop_table_drops,
    insert_returns_rowid_and_keeps_given_keys,
    insert_many_counts_and_is_all_or_nothing,
    get_finds_by_key,
    select_filters_orders_limits_and_offsets,
    select_cols_reads_tuples_single_columns_and_expressions,
    group_by_having_and_aggregates,
    distinct_drops_duplicates,
    count_counts_matching_rows,
    update_sets_values_and_returns_changed_count,
    update_arithmetic,
    update_row_writes_every_column_by_key,
    delete_filtered_and_all_rows,
    comparisons,
    null_comparisons,
    between_in_list_and_like,
    boolean_combinators,
    raw_expressions_bind_their_parameters,
    transaction_commits_on_ok,
    transaction_rolls_back_on_err,
    transaction_rolls_back_on_panic,
    nested_transactions_use_savepoints,
);

// ---------------------------------------------------------------------------
// Schema and rows

fn create_table_is_idempotent_and_drop_table_drops<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Doc::create_table(db)?;
    Doc::create_table(db)?;
    let id = Doc::insert(db, &titled("kept"))?;
    // Creating again leaves existing rows alone.
    Doc::create_table(db)?;
    assert_eq!(Doc::count().get(db)?, 1);
    assert_eq!(Doc::get(db, id)?.map(|d| d.title), Some("kept".to_owned()));

    // The declared indexes exist (not counting the UNIQUE constraint's and the
    // primary key's own indexes).
    let (indexes_sql, all_sql) = match kind(db) {
        Kind::Sqlite => (
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'docs' \
             AND sql IS NOT NULL ORDER BY name",
            "SELECT count(*) FROM sqlite_master",
        ),
        Kind::Postgres => (
            "SELECT i.indexname FROM pg_indexes i WHERE i.schemaname = current_schema() \
             AND i.tablename = 'docs' AND NOT EXISTS (SELECT 1 FROM pg_constraint c \
             WHERE c.conname = i.indexname AND c.connamespace = current_schema()::regnamespace) \
             ORDER BY i.indexname",
            "SELECT (SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()) \
             + (SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema())",
        ),
    };
    let indexes = backends::raw_texts(db, indexes_sql)?;
    assert_eq!(
        indexes,
        [
            Some("by_year_score".to_owned()),
            Some("ix_docs_year".to_owned())
        ]
    );

    Doc::drop_table(db)?;
    let err = expect_failure!(db, |c| Doc::count().get(c));
    assert!(is_driver_error_on(&err, "docs"), "{err:?}");
    assert!(is_missing_table(&err, "docs"), "{err}");
    let tables = backends::raw_i64(db, all_sql)?;
    assert_eq!(tables, 0, "the table's indexes are dropped with it");

    // Dropping a table that does not exist is not an error.
    Doc::drop_table(db)?;
    Doc::create_table(db)?;
    assert_eq!(Doc::count().get(db)?, 0);
    // Cached statements still work against the re-created table.
    assert_eq!(Doc::insert(db, &titled("again"))?, 1);
    assert_eq!(titles(db)?, ["again"]);
    Ok(())
}

fn insert_returns_rowid_and_keeps_given_keys<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Doc::create_table(db)?;
    let alpha = doc("alpha", 0.5, 1999, Some("note"), &["x", "y"]);
    let id = Doc::insert(db, &alpha)?;
    assert_eq!(id, 1);
    assert_eq!(
        Doc::get(db, id)?,
        Some(Doc {
            id: Some(1),
            ..alpha.clone()
        })
    );

    // A key that is given is kept, and returned.
    let beta = Doc {
        id: Some(42),
        ..doc("beta", 1.5, 2001, None, &[])
    };
    assert_eq!(Doc::insert(db, &beta)?, 42);
    assert_eq!(Doc::get(db, 42)?, Some(beta.clone()));
    // SQLite: the next assigned key follows the largest one. PostgreSQL: an
    // explicit key does not advance the identity sequence (DESIGN.md), so the
    // next assigned key is the sequence's next.
    let gamma = match kind(db) {
        Kind::Sqlite => 43,
        Kind::Postgres => 2,
    };
    assert_eq!(Doc::insert(db, &titled("gamma"))?, gamma);

    // A taken key, or a taken unique title, is a constraint error that changes nothing.
    let err = expect_failure!(db, |c| Doc::insert(
        c,
        &Doc {
            id: Some(42),
            ..titled("delta")
        },
    ));
    assert!(is_constraint_on(&err, "docs", "docs.id"), "{err:?}");
    let err = expect_failure!(db, |c| Doc::insert(c, &titled("alpha")));
    assert!(is_constraint_on(&err, "docs", "docs.title"), "{err:?}");
    assert!(err.to_string().contains("table `docs`"), "{err}");

    let mut expected = vec![1, 42, gamma];
    expected.sort_unstable();
    assert_eq!(all_ids(db)?, expected);
    let mut expected_titles = vec![(1, "alpha"), (42, "beta"), (gamma, "gamma")];
    expected_titles.sort_unstable();
    let expected_titles: Vec<&str> = expected_titles.into_iter().map(|(_, t)| t).collect();
    assert_eq!(titles(db)?, expected_titles);
    Ok(())
}

fn insert_many_counts_and_is_all_or_nothing<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    let rows = seeded(db)?;
    assert_eq!(Doc::select().order_by(Doc::id).all(db)?, rows);

    // Any iterator of references will do, including an empty one.
    assert_eq!(Doc::insert_many(db, std::iter::empty::<&Doc>())?, 0);
    assert_eq!(Doc::insert_many(db, rows.iter().take(0))?, 0);

    // A UNIQUE violation in the middle of a batch keeps none of the batch.
    let batch = [titled("zeta"), titled("alpha"), titled("eta")];
    let err = expect_err(Doc::insert_many(db, &batch));
    assert!(is_constraint_on(&err, "docs", "docs.title"), "{err:?}");
    // ...and so does a violation within the batch itself, on its last row.
    let batch = [titled("theta"), titled("iota"), titled("theta")];
    let err = expect_err(Doc::insert_many(db, &batch));
    assert!(is_constraint_on(&err, "docs", "docs.title"), "{err:?}");
    // ...and a value that cannot be converted, in the middle. NaN is refused
    // on write on both engines (PostgreSQL could store it, SQLite would make
    // it NULL: the crate keeps them equal; README "PostgreSQL").
    let nan = doc("kappa", f64::NAN, 2000, None, &[]);
    let batch = [titled("lambda"), nan, titled("mu")];
    let err = expect_err(Doc::insert_many(db, &batch));
    assert!(
        matches!(&err, Error::Conversion { table, column, detail, .. }
            if table == "docs" && column == "score" && detail.contains("NaN")),
        "{err:?}"
    );
    assert_eq!(Doc::count().get(db)?, 5);
    assert_eq!(Doc::select().order_by(Doc::id).all(db)?, rows);

    // A good batch afterwards goes in whole, with the next ids. (SQLite: the
    // ids follow the largest; PostgreSQL: the identity sequence's next values,
    // past those the failed batches used: sequences are not rolled back.)
    let more = vec![titled("zeta"), titled("eta")];
    assert_eq!(Doc::insert_many(db, &more)?, 2);
    let new_ids: Vec<i64> = all_ids(db)?.into_iter().filter(|&id| id > 5).collect();
    match kind(db) {
        Kind::Sqlite => assert_eq!(new_ids, [6, 7]),
        Kind::Postgres => {
            assert!(matches!(new_ids.as_slice(), [a, b] if a < b), "{new_ids:?}")
        }
    }
    assert_eq!(all_ids(db)?[..5], [1, 2, 3, 4, 5]);
    assert_eq!(
        Doc::select()
            .filter(Doc::id.gt(5))
            .order_by(Doc::id)
            .all(db)?,
        [
            Doc {
                id: Some(new_ids[0]),
                ..titled("zeta")
            },
            Doc {
                id: Some(new_ids[1]),
                ..titled("eta")
            }
        ]
    );
    Ok(())
}

fn get_finds_by_key<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    let rows = seeded(db)?;
    assert_eq!(Doc::get(db, 3)?, Some(rows[2].clone()));
    assert_eq!(Doc::get(db, 3_i64)?, Some(rows[2].clone()));
    assert_eq!(Doc::get(db, Some(4))?, Some(rows[3].clone()));
    assert_eq!(Doc::get(db, 0)?, None);
    assert_eq!(Doc::get(db, 6)?, None);
    assert_eq!(Doc::get(db, -1)?, None);
    assert_eq!(Doc::get(db, None)?, None);
    Ok(())
}

// ---------------------------------------------------------------------------
// Select

fn select_filters_orders_limits_and_offsets<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    let rows = seeded(db)?;
    let pick = |ids: &[usize]| -> Vec<Doc> { ids.iter().map(|&i| rows[i - 1].clone()).collect() };

    assert_eq!(Doc::select().order_by(Doc::id).all(db)?, rows);
    assert_eq!(
        Doc::select()
            .filter(Doc::year.gt(2000))
            .order_by(Doc::score.desc())
            .all(db)?,
        pick(&[5, 4, 3, 2])
    );
    assert_eq!(
        Doc::select()
            .filter(Doc::year.gt(2000))
            .order_by(Doc::score.desc())
            .limit(2)
            .offset(1)
            .all(db)?,
        pick(&[4, 3])
    );
    assert_eq!(Doc::select().order_by(Doc::id).limit(0).all(db)?, pick(&[]));
    assert_eq!(
        Doc::select().order_by(Doc::id).limit(u64::MAX).all(db)?,
        rows
    );
    // An offset without a limit.
    assert_eq!(
        Doc::select().order_by(Doc::id).offset(3).all(db)?,
        pick(&[4, 5])
    );
    assert_eq!(
        Doc::select().order_by(Doc::id).offset(10).all(db)?,
        pick(&[])
    );
    // Several order keys, mixing directions; a bare column is ascending.
    assert_eq!(
        Doc::select()
            .order_by(Doc::year.desc())
            .order_by(Doc::title)
            .all(db)?,
        pick(&[5, 4, 2, 3, 1])
    );
    assert_eq!(
        Doc::select()
            .order_by(Doc::year.asc())
            .order_by(Doc::score.desc())
            .all(db)?,
        pick(&[1, 3, 2, 4, 5])
    );
    // Several filters are ANDed.
    assert_eq!(
        Doc::select()
            .filter(Doc::year.ge(2001))
            .filter(Doc::score.lt(3.0))
            .order_by(Doc::id)
            .all(db)?,
        pick(&[2, 3])
    );
    // No match is an empty list, not an error.
    assert_eq!(Doc::select().filter(Doc::year.gt(3000)).all(db)?, pick(&[]));

    // first
    assert_eq!(
        Doc::select()
            .filter(Doc::year.eq(2001))
            .order_by(Doc::score.desc())
            .first(db)?,
        Some(rows[2].clone())
    );
    assert_eq!(
        Doc::select().order_by(Doc::id).offset(3).first(db)?,
        Some(rows[3].clone())
    );
    assert_eq!(Doc::select().order_by(Doc::id).limit(0).first(db)?, None);
    assert_eq!(Doc::select().filter(Doc::year.gt(3000)).first(db)?, None);
    Ok(())
}

fn select_cols_reads_tuples_single_columns_and_expressions<C: Conn<Backend: Engine>>(
    db: &C,
) -> TestResult {
    seeded(db)?;
    let pairs: Vec<(Option<i64>, String)> = Doc::select_cols((Doc::id, Doc::title))
        .order_by(Doc::id)
        .all(db)?;
    let expected: Vec<(Option<i64>, String)> = ["alpha", "beta", "gamma", "delta", "epsilon"]
        .iter()
        .zip(1..)
        .map(|(t, id)| (Some(id), (*t).to_owned()))
        .collect();
    assert_eq!(pairs, expected);

    let sorted: Vec<String> = Doc::select_cols(Doc::title).order_by(Doc::title).all(db)?;
    assert_eq!(sorted, ["alpha", "beta", "delta", "epsilon", "gamma"]);

    let one: Vec<(Option<String>,)> = Doc::select_cols((Doc::note,))
        .filter(Doc::id.eq(2))
        .all(db)?;
    assert_eq!(one, [(None,)]);

    let tags = Doc::select_cols(Doc::tags)
        .filter(Doc::id.eq(3))
        .first(db)?;
    // A `json` field reads back as its own type, not the `Json` wrapper.
    assert_eq!(tags, Some(vec!["x".to_owned(), "y".to_owned()]));

    // Expressions are selectable too: arithmetic and conditions.
    let computed: Vec<(f64, i64, bool)> =
        Doc::select_cols((Doc::score * 2.0 + 1, Doc::year - 2000, Doc::note.is_null()))
            .order_by(Doc::id)
            .all(db)?;
    assert_eq!(
        computed,
        [
            (2.0, -1, false),
            (4.0, 1, true),
            (6.0, 1, false),
            (8.0, 5, true),
            (10.0, 10, false)
        ]
    );

    // A tuple of many columns, in the order asked for.
    let wide = Doc::select_cols((
        Doc::tags,
        Doc::note,
        Doc::year,
        Doc::score,
        Doc::body,
        Doc::title,
        Doc::id,
    ))
    .filter(Doc::id.eq(1))
    .first(db)?;
    assert_eq!(
        wide,
        Some((
            vec!["x".to_owned()],
            Some("n1".to_owned()),
            1999,
            0.5,
            "body of alpha".to_owned(),
            "alpha".to_owned(),
            Some(1)
        ))
    );
    Ok(())
}

fn group_by_having_and_aggregates<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    seeded(db)?;
    let per_year: Vec<(i64, Option<f64>)> = Doc::select_cols((Doc::year, Doc::score.avg()))
        .group_by(Doc::year)
        .order_by(Doc::year)
        .all(db)?;
    assert_eq!(
        per_year,
        [
            (1999, Some(0.5)),
            (2001, Some(2.0)),
            (2005, Some(3.5)),
            (2010, Some(4.5))
        ]
    );

    let busy_years = Doc::select_cols((Doc::year, Doc::score.avg()))
        .group_by(Doc::year)
        .having(Doc::id.count().gt(1))
        .all(db)?;
    assert_eq!(busy_years, [(2001, Some(2.0))]);

    let high = Doc::select_cols((Doc::year, Doc::id.count()))
        .group_by(Doc::year)
        .having(Doc::score.avg().ge(3.0))
        .order_by(Doc::year.desc())
        .all(db)?;
    assert_eq!(high, [(2010, 1), (2005, 1)]);

    // A filter applies before grouping, `having` after.
    let filtered = Doc::select_cols((Doc::year, Doc::score.sum()))
        .filter(Doc::score.gt(1.0))
        .group_by(Doc::year)
        .having(Doc::score.sum().gt(3.9))
        .order_by(Doc::year)
        .all(db)?;
    assert_eq!(filtered, [(2001, Some(4.0)), (2010, Some(4.5))]);

    // Grouping by an expression.
    let decades = Doc::select_cols((Doc::year / 10 * 10, Doc::id.count()))
        .group_by(Doc::year / 10 * 10)
        .order_by(Doc::year / 10 * 10)
        .all(db)?;
    assert_eq!(decades, [(1990, 1), (2000, 3), (2010, 1)]);

    // Whole-table aggregates.
    let totals = Doc::select_cols((
        Doc::id.count(),
        Doc::score.sum(),
        Doc::score.min(),
        Doc::score.max(),
        Doc::year.sum(),
        Doc::note.count(),
        Doc::year.count_distinct(),
        Doc::title.max(),
        Doc::note.min(),
    ))
    .first(db)?;
    assert_eq!(
        totals,
        Some((
            5,
            Some(12.5),
            Some(0.5),
            Some(4.5),
            Some(10016),
            3,
            4,
            Some("gamma".to_owned()),
            Some(String::new())
        ))
    );
    // Over no rows: count is 0 and the others are NULL.
    let empty = Doc::select_cols((
        Doc::id.count(),
        Doc::score.sum(),
        Doc::score.avg(),
        Doc::year.max(),
        Doc::year.sum(),
    ))
    .filter(Doc::year.gt(3000))
    .all(db)?;
    assert_eq!(empty, [(0, None, None, None, None)]);
    Ok(())
}

fn distinct_drops_duplicates<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    seeded(db)?;
    let years = Doc::select_cols(Doc::year).order_by(Doc::year).all(db)?;
    assert_eq!(years, [1999, 2001, 2001, 2005, 2010]);
    let years = Doc::select_cols(Doc::year)
        .distinct()
        .order_by(Doc::year)
        .all(db)?;
    assert_eq!(years, [1999, 2001, 2005, 2010]);
    let nulls = Doc::select_cols(Doc::note.is_null())
        .distinct()
        .order_by(Doc::note.is_null())
        .all(db)?;
    assert_eq!(nulls, [false, true]);
    let pairs = Doc::select_cols((Doc::year, Doc::note.is_null()))
        .distinct()
        .filter(Doc::year.eq(2001))
        .order_by(Doc::note.is_null())
        .all(db)?;
    assert_eq!(pairs, [(2001, false), (2001, true)]);
    Ok(())
}

fn count_counts_matching_rows<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Doc::create_table(db)?;
    assert_eq!(Doc::count().get(db)?, 0);
    seeded(db)?;
    assert_eq!(Doc::count().get(db)?, 5);
    assert_eq!(Doc::count().filter(Doc::note.is_null()).get(db)?, 2);
    assert_eq!(Doc::count().filter(Doc::note.is_not_null()).get(db)?, 3);
    // The empty string is not NULL.
    assert_eq!(Doc::count().filter(Doc::note.eq("")).get(db)?, 1);
    assert_eq!(
        Doc::count()
            .filter(Doc::year.eq(2001))
            .filter(Doc::score.gt(2.0))
            .get(db)?,
        1
    );
    assert_eq!(Doc::count().filter(Doc::year.gt(3000)).get(db)?, 0);
    Ok(())
}

// ---------------------------------------------------------------------------
// Update and delete

fn update_sets_values_and_returns_changed_count<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    let rows = seeded(db)?;
    let changed = Doc::update()
        .set(Doc::note, "revised")
        .filter(Doc::year.eq(2001))
        .run(db)?;
    assert_eq!(changed, 2);
    let notes = Doc::select_cols(Doc::note).order_by(Doc::id).all(db)?;
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        notes,
        [some("n1"), some("revised"), some("revised"), None, some("")]
    );

    // No matching row: nothing changes, and 0 is returned.
    assert_eq!(
        Doc::update()
            .set(Doc::year, 1)
            .filter(Doc::id.eq(99))
            .run(db)?,
        0
    );

    // Several columns at once, including NULL and JSON.
    let changed = Doc::update()
        .set(Doc::note, None)
        .set(Doc::body, "rewritten")
        .set(Doc::tags, Json(vec!["z".to_owned()]))
        .set(Doc::year, 1990)
        .filter(Doc::id.eq(1))
        .run(db)?;
    assert_eq!(changed, 1);
    assert_eq!(
        Doc::get(db, 1)?,
        Some(Doc {
            note: None,
            body: "rewritten".to_owned(),
            tags: vec!["z".to_owned()],
            year: 1990,
            ..rows[0].clone()
        })
    );

    // Every row, said out loud.
    assert_eq!(Doc::update().set(Doc::body, "same").all_rows().run(db)?, 5);
    let bodies = Doc::select_cols(Doc::body).all(db)?;
    assert_eq!(bodies, ["same"; 5]);

    // Filters given before and after `set` both apply.
    let changed = Doc::update()
        .filter(Doc::year.gt(2000))
        .set(Doc::body, "recent")
        .filter(Doc::score.lt(3.0))
        .run(db)?;
    assert_eq!(changed, 2);
    assert_eq!(
        ids(db, Doc::body.eq("recent"))?,
        [2, 3],
        "only rows matching both filters change"
    );

    // An update with nothing to set is refused.
    let err = expect_err(Doc::update().all_rows().run(db));
    assert!(
        matches!(&err, Error::Usage(m) if m.contains("docs") && m.contains("set")),
        "{err:?}"
    );
    // A UNIQUE violation changes nothing.
    let err = expect_failure!(db, |c| Doc::update()
        .set(Doc::title, "same title")
        .all_rows()
        .run(c));
    assert!(is_constraint_on(&err, "docs", "docs.title"), "{err:?}");
    assert_eq!(titles(db)?, ["alpha", "beta", "gamma", "delta", "epsilon"]);
    Ok(())
}

fn update_arithmetic<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    seeded(db)?;
    let score_of = |id: i64| -> doctable::Result<Option<f64>> {
        Doc::select_cols(Doc::score)
            .filter(Doc::id.eq(id))
            .first(db)
    };
    let year_of = |id: i64| -> doctable::Result<Option<i64>> {
        Doc::select_cols(Doc::year).filter(Doc::id.eq(id)).first(db)
    };
    let bump = |value: Expr<Doc, f64>| {
        Doc::update()
            .set(Doc::score, value)
            .filter(Doc::id.eq(1))
            .run(db)
    };
    // alpha's score starts at 0.5.
    assert_eq!(bump(Doc::score + 1.0)?, 1);
    assert_eq!(score_of(1)?, Some(1.5));
    assert_eq!(bump(Doc::score - 0.5)?, 1);
    assert_eq!(score_of(1)?, Some(1.0));
    assert_eq!(bump(Doc::score * 4.0)?, 1);
    assert_eq!(score_of(1)?, Some(4.0));
    assert_eq!(bump(Doc::score / 8.0)?, 1);
    assert_eq!(score_of(1)?, Some(0.5));
    // Integer literals on a float column, precedence, and column operands.
    assert_eq!(bump(Doc::score * 2 + 1)?, 1);
    assert_eq!(score_of(1)?, Some(2.0));
    assert_eq!(bump(Doc::score + Doc::score * 3)?, 1);
    assert_eq!(score_of(1)?, Some(8.0));
    assert_eq!(bump((Doc::score - 2.0) * 0.5)?, 1);
    assert_eq!(score_of(1)?, Some(3.0));
    // Other rows are untouched.
    assert_eq!(score_of(2)?, Some(1.5));

    // Integer columns: SQLite's integer division truncates.
    let set_year = |value: Expr<Doc, i64>| {
        Doc::update()
            .set(Doc::year, value)
            .filter(Doc::id.eq(2))
            .run(db)
    };
    assert_eq!(set_year(Doc::year + 1)?, 1);
    assert_eq!(year_of(2)?, Some(2002));
    assert_eq!(set_year(Doc::year - 3)?, 1);
    assert_eq!(year_of(2)?, Some(1999));
    assert_eq!(set_year(Doc::year * 2)?, 1);
    assert_eq!(year_of(2)?, Some(3998));
    assert_eq!(set_year(Doc::year / 3)?, 1);
    assert_eq!(year_of(2)?, Some(1332));

    // On every row, with the arithmetic from the contract.
    let changed = Doc::update()
        .set(Doc::score, Doc::score + 1.0)
        .all_rows()
        .run(db)?;
    assert_eq!(changed, 5);
    let scores = Doc::select_cols(Doc::score).order_by(Doc::id).all(db)?;
    assert_eq!(scores, [4.0, 2.5, 3.5, 4.5, 5.5]);
    Ok(())
}

fn update_row_writes_every_column_by_key<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    let rows = seeded(db)?;
    let changed = Doc {
        title: "beta two".to_owned(),
        body: "new body".to_owned(),
        score: 9.25,
        year: 2020,
        note: Some("now noted".to_owned()),
        tags: vec!["p".to_owned(), "q".to_owned()],
        ..rows[1].clone()
    };
    Doc::update_row(db, &changed)?;
    assert_eq!(Doc::get(db, 2)?, Some(changed.clone()));
    let mut expected = rows.clone();
    expected[1] = changed;
    assert_eq!(Doc::select().order_by(Doc::id).all(db)?, expected);

    // Back to NULL.
    let cleared = Doc {
        note: None,
        ..rows[0].clone()
    };
    Doc::update_row(db, &cleared)?;
    assert_eq!(Doc::get(db, 1)?, Some(cleared));

    // No such key.
    let missing = Doc {
        id: Some(99),
        ..titled("missing")
    };
    let err = expect_err(Doc::update_row(db, &missing));
    assert!(
        matches!(&err, Error::NotFound { table, key } if table == "docs" && key == "99"),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "table `docs`: no row with primary key 99");
    let err = expect_err(Doc::update_row(db, &titled("no key")));
    assert!(
        matches!(&err, Error::NotFound { table, .. } if table == "docs"),
        "{err:?}"
    );
    assert_eq!(Doc::count().get(db)?, 5);

    // A UNIQUE violation.
    let clash = Doc {
        title: "alpha".to_owned(),
        ..rows[4].clone()
    };
    let err = expect_failure!(db, |c| Doc::update_row(c, &clash));
    assert!(is_constraint_on(&err, "docs", "docs.title"), "{err:?}");
    assert_eq!(Doc::get(db, 5)?, Some(rows[4].clone()));
    Ok(())
}

fn delete_filtered_and_all_rows<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    seeded(db)?;
    assert_eq!(Doc::delete().filter(Doc::year.lt(2001)).run(db)?, 1);
    assert_eq!(all_ids(db)?, [2, 3, 4, 5]);
    assert_eq!(Doc::delete().filter(Doc::year.gt(3000)).run(db)?, 0);
    assert_eq!(Doc::delete().filter(Doc::note.eq(None)).run(db)?, 2);
    assert_eq!(all_ids(db)?, [3, 5]);
    assert_eq!(
        Doc::delete()
            .filter(Doc::year.eq(2010))
            .filter(Doc::score.lt(1.0))
            .run(db)?,
        0,
        "several filters are ANDed"
    );
    assert_eq!(Doc::delete().all_rows().run(db)?, 2);
    assert_eq!(Doc::count().get(db)?, 0);
    assert_eq!(Doc::delete().all_rows().run(db)?, 0);
    // The table itself is still there. Without `autoincrement`, SQLite's ids
    // start over; PostgreSQL's identity sequence goes on after the five ids it
    // gave (DESIGN.md, "Backends").
    let after = Doc::insert(db, &titled("after"))?;
    match kind(db) {
        Kind::Sqlite => assert_eq!(after, 1),
        Kind::Postgres => assert_eq!(after, 6),
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Expressions

fn comparisons<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    seeded(db)?;
    assert_eq!(ids(db, Doc::title.eq("beta"))?, [2]);
    assert_eq!(ids(db, Doc::title.eq(String::from("gamma")))?, [3]);
    let delta = String::from("delta");
    assert_eq!(ids(db, Doc::title.eq(&delta))?, [4]);
    assert_eq!(ids(db, Doc::id.eq(3))?, [3]);
    assert_eq!(ids(db, Doc::id.eq(3_i64))?, [3]);
    assert_eq!(ids(db, Doc::year.ne(2001))?, [1, 4, 5]);
    assert_eq!(ids(db, Doc::score.gt(2.5))?, [4, 5]);
    assert_eq!(ids(db, Doc::score.ge(2.5))?, [3, 4, 5]);
    assert_eq!(ids(db, Doc::score.lt(1.5))?, [1]);
    assert_eq!(ids(db, Doc::score.le(1.5))?, [1, 2]);
    // An integer literal on a float column.
    assert_eq!(ids(db, Doc::score.gt(2))?, [3, 4, 5]);
    assert_eq!(ids(db, Doc::year.le(2001))?, [1, 2, 3]);
    assert_eq!(ids(db, Doc::title.gt("delta"))?, [3, 5]);
    // Column against column or expression.
    assert_eq!(ids(db, Doc::score.lt(Doc::score + 1.0))?, [1, 2, 3, 4, 5]);
    assert_eq!(ids(db, Doc::score.eq(Doc::score * 2))?, Vec::<i64>::new());
    assert_eq!(ids(db, Doc::score.gt(Doc::score / 2 + 1))?, [3, 4, 5]);
    // A JSON column compares as its JSON text.
    assert_eq!(ids(db, Doc::tags.eq(Json(vec!["y".to_owned()])))?, [4]);
    assert_eq!(ids(db, Doc::tags.eq(Json(Vec::new())))?, [2, 5]);
    // Values are bound, never pasted into the SQL text.
    let hostile = Doc::title.eq("'; DROP TABLE docs; --");
    assert!(!hostile.sql().contains("DROP"), "{}", hostile.sql());
    assert_eq!(ids(db, hostile)?, Vec::<i64>::new());
    assert_eq!(Doc::count().get(db)?, 5);
    Ok(())
}

fn null_comparisons<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    seeded(db)?;
    // `eq(None)` on a nullable column means IS NULL, `ne(None)` IS NOT NULL.
    assert_eq!(ids(db, Doc::note.eq(None))?, [2, 4]);
    assert_eq!(ids(db, Doc::note.ne(None))?, [1, 3, 5]);
    assert_eq!(ids(db, Doc::note.is_null())?, [2, 4]);
    assert_eq!(ids(db, Doc::note.is_not_null())?, [1, 3, 5]);
    let none: Option<String> = None;
    assert_eq!(ids(db, Doc::note.eq(none))?, [2, 4]);
    assert_eq!(ids(db, Doc::note.eq(Some("n3".to_owned())))?, [3]);
    assert_eq!(ids(db, Doc::note.eq("n1"))?, [1]);
    assert_eq!(ids(db, Doc::note.eq(""))?, [5]);
    // SQL's own rule for other comparisons: NULL rows match neither side.
    assert_eq!(ids(db, Doc::note.ne("n1"))?, [3, 5]);
    assert_eq!(ids(db, Doc::note.gt(""))?, [1, 3]);
    assert_eq!(ids(db, Doc::id.is_not_null())?, [1, 2, 3, 4, 5]);
    assert_eq!(ids(db, Doc::id.is_null())?, Vec::<i64>::new());
    assert_eq!(ids(db, Doc::id.eq(None))?, Vec::<i64>::new());
    Ok(())
}

fn between_in_list_and_like<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    seeded(db)?;
    assert_eq!(ids(db, Doc::year.between(2001, 2005))?, [2, 3, 4]);
    assert_eq!(ids(db, Doc::score.between(0.5, 1.5))?, [1, 2]);
    assert_eq!(ids(db, Doc::year.between(2005, 2001))?, Vec::<i64>::new());
    assert_eq!(ids(db, Doc::title.between("b", "e"))?, [2, 4]);

    assert_eq!(
        ids(db, Doc::title.in_list(["alpha", "delta", "nope"]))?,
        [1, 4]
    );
    assert_eq!(ids(db, Doc::year.in_list([2001, 2010]))?, [2, 3, 5]);
    assert_eq!(ids(db, Doc::year.in_list(vec![2005_i64]))?, [4]);
    assert_eq!(ids(db, Doc::id.in_list([1, 5]))?, [1, 5]);
    // An empty list matches no row, and its negation every row.
    assert_eq!(
        ids(db, Doc::year.in_list(Vec::<i64>::new()))?,
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(db, !Doc::title.in_list(Vec::<String>::new()))?,
        [1, 2, 3, 4, 5]
    );
    assert_eq!(
        Doc::count()
            .filter(Doc::title.in_list(std::iter::empty::<&str>()))
            .get(db)?,
        0
    );

    assert_eq!(ids(db, Doc::title.like("%a"))?, [1, 2, 3, 4]);
    assert_eq!(ids(db, Doc::title.like("_e%"))?, [2, 4]);
    // LIKE ignores ASCII case on SQLite and is case-sensitive on PostgreSQL
    // (DESIGN.md, "Backends").
    let upper: &[i64] = match kind(db) {
        Kind::Sqlite => &[1],
        Kind::Postgres => &[],
    };
    assert_eq!(ids(db, Doc::title.like("ALPHA"))?, upper);
    assert_eq!(ids(db, Doc::title.like("alpha"))?, [1]);
    assert_eq!(ids(db, Doc::title.like("%psi%"))?, [5]);
    assert_eq!(ids(db, Doc::note.like("n%"))?, [1, 3]);
    assert_eq!(ids(db, Doc::body.like("body of %"))?, [1, 2, 3, 4, 5]);
    assert_eq!(ids(db, Doc::title.like("x%"))?, Vec::<i64>::new());
    Ok(())
}

fn boolean_combinators<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    seeded(db)?;
    assert_eq!(ids(db, Doc::year.eq(2001).and(Doc::score.gt(2.0)))?, [3]);
    assert_eq!(ids(db, Doc::year.eq(1999).or(Doc::year.eq(2010)))?, [1, 5]);
    assert_eq!(ids(db, Doc::year.eq(2001).not())?, [1, 4, 5]);
    assert_eq!(ids(db, Doc::year.eq(2001) & Doc::score.gt(2.0))?, [3]);
    assert_eq!(ids(db, Doc::year.eq(1999) | Doc::year.eq(2010))?, [1, 5]);
    assert_eq!(ids(db, !Doc::year.eq(2001))?, [1, 4, 5]);
    // Grouping follows the Rust expression, whatever SQL's precedence is.
    assert_eq!(
        ids(
            db,
            Doc::year.eq(1999) | Doc::year.eq(2001) & Doc::score.gt(2.0)
        )?,
        [1, 3]
    );
    assert_eq!(
        ids(
            db,
            (Doc::year.eq(1999) | Doc::year.eq(2001)) & Doc::score.gt(1.0)
        )?,
        [2, 3]
    );
    assert_eq!(
        ids(db, !(Doc::year.eq(2001) | Doc::note.is_null()))?,
        [1, 5]
    );
    assert_eq!(
        ids(db, !Doc::year.eq(2001) | Doc::note.is_null())?,
        [1, 2, 4, 5]
    );
    assert_eq!(
        ids(
            db,
            Doc::year
                .eq(1999)
                .or(Doc::year.eq(2001))
                .and(Doc::score.gt(1.0))
                .not()
        )?,
        [1, 4, 5]
    );
    assert_eq!(ids(db, !!Doc::year.eq(2005))?, [4]);
    Ok(())
}

fn raw_expressions_bind_their_parameters<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    seeded(db)?;
    assert_eq!(
        ids(db, Expr::raw("length(\"docs\".\"title\") > ?", [4]))?,
        [1, 3, 4, 5]
    );
    // Raw and typed conditions combine.
    assert_eq!(
        ids(
            db,
            Expr::raw("length(\"title\") > ?", [4]) & Doc::year.lt(2005)
        )?,
        [1, 3]
    );
    // Parameters of several types.
    assert_eq!(
        ids(
            db,
            Expr::raw(
                "\"year\" = ? AND \"note\" = ?",
                [Value::Integer(2001), Value::Text("n3".to_owned())]
            )
        )?,
        [3]
    );
    // No parameters.
    assert_eq!(
        ids(db, Expr::raw("\"note\" IS NULL", Vec::<i64>::new()))?,
        [2, 4]
    );
    // A hostile value is only ever a value.
    assert_eq!(
        ids(db, Expr::raw("\"title\" = ?", ["'; DROP TABLE docs; --"]))?,
        Vec::<i64>::new()
    );
    assert_eq!(Doc::count().get(db)?, 5);
    // A parameter that cannot be bound is a conversion error when the query runs.
    let err = expect_err(ids(db, Expr::raw("\"year\" = ?", [u64::MAX])));
    assert!(
        matches!(&err, Error::Conversion { table, column, detail, .. } if table == "docs" && column.contains("raw") && detail.contains("parameter 1")),
        "{err:?}"
    );
    // In order_by and select_cols too.
    let by_length: Vec<Option<i64>> = Doc::select_cols(Doc::id)
        .order_by(Expr::<Doc, i64>::raw("length(\"title\")", Vec::<i64>::new()).desc())
        .order_by(Doc::id)
        .all(db)?;
    assert_eq!(by_length, [Some(5), Some(1), Some(3), Some(4), Some(2)]);
    let lengths: Vec<i64> = Doc::select_cols(Expr::<Doc, i64>::raw("length(\"title\") + ?", [100]))
        .order_by(Doc::id)
        .all(db)?;
    assert_eq!(lengths, [105, 104, 105, 105, 107]);
    // A raw expression that is bad SQL is the engine's error naming the table, not a panic.
    let err = expect_err(ids(db, Expr::raw("no_such_column = ?", [1])));
    assert!(is_driver_error_on(&err, "docs"), "{err:?}");
    assert!(err.to_string().contains("no_such_column"), "{err}");
    Ok(())
}

// ---------------------------------------------------------------------------
// Transactions

fn transaction_commits_on_ok<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Doc::create_table(db)?;
    let out = db.atomic(|tx| {
        let id = Doc::insert(tx, &titled("alpha"))?;
        Doc::insert_many(tx, &[titled("beta"), titled("gamma")])?;
        Doc::update()
            .set(Doc::year, 2024)
            .filter(Doc::title.eq("beta"))
            .run(tx)?;
        // Reads inside see the transaction's own writes.
        assert_eq!(Doc::count().get(tx)?, 3);
        Ok(id * 10)
    })?;
    assert_eq!(out, 10);
    assert_eq!(titles(db)?, ["alpha", "beta", "gamma"]);
    assert_eq!(ids(db, Doc::year.eq(2024))?, [2]);
    // Schema changes commit too.
    db.atomic(|tx| {
        Word::create_table(tx)?;
        Word::insert(
            tx,
            &Word {
                id: None,
                text: "kept".to_owned(),
            },
        )
    })?;
    assert_eq!(Word::select_cols(Word::text).all(db)?, ["kept"]);
    Ok(())
}

fn transaction_rolls_back_on_err<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Doc::create_table(db)?;
    let keep = Doc {
        id: Some(1),
        ..titled("keep")
    };
    assert_eq!(Doc::insert(db, &titled("keep"))?, 1);

    let result: doctable::Result<()> = db.atomic(|tx| {
        Doc::insert(tx, &titled("gone"))?;
        Doc::update().set(Doc::score, 100.0).all_rows().run(tx)?;
        Doc::delete().filter(Doc::title.eq("keep")).run(tx)?;
        Word::create_table(tx)?;
        Err(Error::Usage("changed my mind".to_owned()))
    });
    assert!(
        matches!(&result, Err(Error::Usage(m)) if m == "changed my mind"),
        "{result:?}"
    );
    assert_eq!(Doc::select().all(db)?, std::slice::from_ref(&keep));
    // The table made inside was rolled back too.
    let err = expect_failure!(db, |c| Word::count().get(c));
    assert!(is_missing_table(&err, "word"), "{err}");

    // An engine error inside, passed on with `?`, rolls back the earlier writes.
    let result = db.atomic(|tx| {
        Doc::insert(tx, &titled("new"))?;
        Doc::insert(tx, &titled("keep"))?;
        Ok(())
    });
    let err = expect_err(result);
    assert!(is_constraint_on(&err, "docs", "docs.title"), "{err:?}");
    assert_eq!(Doc::select().all(db)?, [keep]);
    Ok(())
}

fn transaction_rolls_back_on_panic<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Doc::create_table(db)?;
    Doc::insert(db, &titled("keep"))?;
    let caught = catch_unwind(AssertUnwindSafe(|| {
        db.atomic(|tx| -> doctable::Result<()> {
            Doc::insert(tx, &titled("gone"))?;
            Doc::delete().filter(Doc::title.eq("keep")).run(tx)?;
            panic!("a panic inside a transaction (expected by this test)");
        })
    }));
    assert!(caught.is_err(), "the panic goes on to the caller");
    assert_eq!(titles(db)?, ["keep"]);
    // The connection is still usable, for plain calls and transactions.
    Doc::insert(db, &titled("after"))?;
    db.atomic(|tx| Doc::insert(tx, &titled("after, in a transaction")))?;
    assert_eq!(titles(db)?, ["keep", "after", "after, in a transaction"]);
    Ok(())
}

fn nested_transactions_use_savepoints<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Doc::create_table(db)?;
    db.atomic(|tx| {
        Doc::insert(tx, &titled("outer before"))?;
        let inner: doctable::Result<()> = tx.transaction(|inner| {
            Doc::insert(inner, &titled("inner, rolled back"))?;
            assert_eq!(Doc::count().get(inner)?, 2);
            Err(Error::Usage("inner fails".to_owned()))
        });
        assert!(
            matches!(&inner, Err(Error::Usage(m)) if m == "inner fails"),
            "{inner:?}"
        );
        // Only the inner part was rolled back.
        assert_eq!(titles(tx)?, ["outer before"]);

        tx.transaction(|inner| {
            Doc::insert(inner, &titled("inner, kept"))?;
            // Three levels deep.
            let deepest: doctable::Result<()> = inner.transaction(|deepest| {
                Doc::insert(deepest, &titled("deepest, rolled back"))?;
                Err(Error::Usage("deepest fails".to_owned()))
            });
            assert!(deepest.is_err());
            assert_eq!(titles(inner)?, ["outer before", "inner, kept"]);
            Ok(())
        })?;
        Doc::insert(tx, &titled("outer after"))?;
        Ok(())
    })?;
    assert_eq!(titles(db)?, ["outer before", "inner, kept", "outer after"]);

    // An inner part that succeeded is still rolled back with its outer transaction.
    let result: doctable::Result<()> = db.atomic(|tx| {
        tx.transaction(|inner| Doc::insert(inner, &titled("inner ok, outer fails")))?;
        Err(Error::Usage("outer fails".to_owned()))
    });
    assert!(result.is_err());
    assert_eq!(Doc::count().get(db)?, 3);

    // A panic in an inner part, caught inside the outer one, rolls back only the inner part.
    db.atomic(|tx| {
        let caught = catch_unwind(AssertUnwindSafe(|| {
            tx.transaction(|inner| -> doctable::Result<()> {
                Doc::insert(inner, &titled("inner panicked"))?;
                panic!("a panic in a nested transaction (expected by this test)");
            })
        }));
        assert!(caught.is_err());
        Doc::insert(tx, &titled("after inner panic"))?;
        Ok(())
    })?;
    assert_eq!(
        titles(db)?,
        [
            "outer before",
            "inner, kept",
            "outer after",
            "after inner panic"
        ]
    );

    // insert_many inside a transaction is atomic on its own: its failure
    // leaves the transaction's earlier writes in place.
    db.atomic(|tx| {
        Doc::insert(tx, &titled("before batch"))?;
        let err = expect_err(Doc::insert_many(
            tx,
            &[titled("batch one"), titled("before batch")],
        ));
        assert!(is_constraint_on(&err, "docs", "docs.title"), "{err:?}");
        assert_eq!(
            Doc::count()
                .filter(Doc::title.in_list(["before batch", "batch one"]))
                .get(tx)?,
            1
        );
        Ok(())
    })?;
    // SQLite gives the next key after the largest (5); PostgreSQL's identity
    // sequence is not rolled back, so the rolled-back inserts above used up
    // keys: the row's key is past every key before it.
    let got = ids(db, Doc::title.in_list(["before batch", "batch one"]))?;
    match kind(db) {
        Kind::Sqlite => assert_eq!(got, [5]),
        Kind::Postgres => {
            let before = ids(db, !Doc::title.in_list(["before batch", "batch one"]))?;
            assert!(
                matches!(got.as_slice(), [id] if before.iter().all(|b| b < id)),
                "{got:?} after {before:?}"
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The external strategy: the crate never commits, rolls back or closes what it is given.

#[test]
fn external_transaction_is_never_committed() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("external.db");
    let mut conn = rusqlite::Connection::open(&path)?;
    let committed = seeded(&conn)?;
    {
        let tx = rusqlite::Connection::transaction(&mut conn)?;
        Doc::insert(&tx, &titled("in tx"))?;
        Doc::insert_many(&tx, &[titled("in tx 2"), titled("in tx 3")])?;
        Doc::update()
            .set(Doc::score, Doc::score * 100)
            .all_rows()
            .run(&tx)?;
        Doc::delete().filter(Doc::year.eq(2001)).run(&tx)?;
        let mut updated = committed[0].clone();
        updated.note = Some("updated in tx".to_owned());
        Doc::update_row(&tx, &updated)?;
        Word::create_table(&tx)?;
        Conn::atomic(&tx, |inner| {
            Word::insert(
                inner,
                &Word {
                    id: None,
                    text: "nested".to_owned(),
                },
            )
        })?;
        let failed: doctable::Result<()> = Conn::atomic(&tx, |inner| {
            Doc::insert(inner, &titled("nested, failed"))?;
            Err(Error::Usage("nested failure".to_owned()))
        });
        assert!(failed.is_err());
        assert!(
            !tx.is_autocommit(),
            "the crate ended the caller's transaction"
        );
        // Inside, every change is visible.
        assert_eq!(Doc::count().get(&tx)?, 6);
        assert_eq!(Word::count().get(&tx)?, 1);
        tx.rollback()?;
    }
    // After the caller's rollback, none of it happened.
    assert_eq!(Doc::select().order_by(Doc::id).all(&conn)?, committed);
    let words: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE name = 'word'",
        [],
        |r| r.get(0),
    )?;
    assert_eq!(words, 0);
    // Also as seen from another connection.
    let other = PerQuery::open(&path)?;
    assert_eq!(Doc::select().order_by(Doc::id).all(&other)?, committed);

    // The same through a transaction the caller commits: then it all stays.
    {
        let tx = rusqlite::Connection::transaction(&mut conn)?;
        Doc::insert(&tx, &titled("committed by the caller"))?;
        tx.commit()?;
    }
    assert_eq!(Doc::count().get(&other)?, 6);
    Ok(())
}

#[test]
fn external_connection_inside_the_callers_own_transaction() -> TestResult {
    let dir = tempfile::tempdir()?;
    let conn = rusqlite::Connection::open(dir.path().join("external.db"))?;
    Doc::create_table(&conn)?;
    conn.execute_batch("BEGIN")?;
    Doc::insert_many(&conn, &seed())?;
    Conn::atomic(&conn, |tx| Doc::insert(tx, &titled("nested")))?;
    Doc::create_table(&conn)?;
    assert!(
        !conn.is_autocommit(),
        "the crate committed the caller's transaction"
    );
    assert_eq!(Doc::count().get(&conn)?, 6);
    conn.execute_batch("ROLLBACK")?;
    assert_eq!(Doc::count().get(&conn)?, 0);
    Ok(())
}

#[test]
fn external_savepoint_is_never_released() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut conn = rusqlite::Connection::open(dir.path().join("external.db"))?;
    Doc::create_table(&conn)?;
    Doc::insert(&conn, &titled("before"))?;
    {
        let mut sp = conn.savepoint()?;
        Doc::insert_many(&sp, &[titled("in savepoint 1"), titled("in savepoint 2")])?;
        Conn::atomic(&sp, |tx| Doc::insert(tx, &titled("nested")))?;
        assert_eq!(Doc::count().get(&sp)?, 4);
        sp.rollback()?;
        sp.commit()?;
    }
    assert_eq!(titles(&conn)?, ["before"]);
    Ok(())
}

// ---------------------------------------------------------------------------
// Other kinds of key

/// A text primary key.
#[derive(DocTable, Debug, Clone, PartialEq)]
struct Tag {
    #[doctable(primary_key)]
    name: String,
    uses: i64,
}

fn text_primary_key<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Tag::create_table(db)?;
    Tag::create_table(db)?;
    let rust = Tag {
        name: "rust".to_owned(),
        uses: 3,
    };
    Tag::insert(db, &rust)?;
    Tag::insert_many(
        db,
        &[
            Tag {
                name: "it's".to_owned(),
                uses: 1,
            },
            Tag {
                name: String::new(),
                uses: 0,
            },
        ],
    )?;
    assert_eq!(Tag::get(db, "rust")?, Some(rust.clone()));
    assert_eq!(Tag::get(db, String::new())?.map(|t| t.uses), Some(0));
    assert_eq!(Tag::get(db, "RUST")?, None);
    let err = expect_failure!(db, |c| Tag::insert(c, &rust));
    assert!(is_constraint_on(&err, "tag", "tag.name"), "{err:?}");
    Tag::update_row(
        db,
        &Tag {
            uses: 4,
            ..rust.clone()
        },
    )?;
    assert_eq!(Tag::get(db, "rust")?.map(|t| t.uses), Some(4));
    let err = expect_err(Tag::update_row(
        db,
        &Tag {
            name: "o'neil".to_owned(),
            uses: 9,
        },
    ));
    assert!(
        matches!(&err, Error::NotFound { table, key } if table == "tag" && key == "'o''neil'"),
        "{err:?}"
    );
    assert_eq!(
        Tag::select_cols(Tag::name).order_by(Tag::name).all(db)?,
        ["", "it's", "rust"]
    );
    Ok(())
}

/// An `autoincrement` key never reuses ids.
#[derive(DocTable, Debug, Clone, PartialEq)]
struct Event {
    #[doctable(primary_key, autoincrement)]
    id: Option<i64>,
    what: String,
}

fn autoincrement_never_reuses_ids<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    Event::create_table(db)?;
    Event::create_table(db)?;
    let event = |what: &str| Event {
        id: None,
        what: what.to_owned(),
    };
    assert_eq!(Event::insert(db, &event("a"))?, 1);
    assert_eq!(Event::insert_many(db, &[event("b"), event("c")])?, 2);
    Event::delete().all_rows().run(db)?;
    assert_eq!(Event::insert(db, &event("d"))?, 4);
    assert_eq!(
        Event::select().all(db)?,
        [Event {
            id: Some(4),
            what: "d".to_owned()
        }]
    );
    Ok(())
}

on_every_strategy!(text_primary_key, autoincrement_never_reuses_ids);
