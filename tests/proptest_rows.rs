//! Property tests: arbitrary rows of a struct with every supported field type
//! come back equal.
//!
//! - `insert` then `get` returns the row (with its assigned key);
//! - `insert_many` then `select().all()` returns the same multiset of rows;
//! - `update_row` then `get` returns the new row.
//!
//! `PROPTEST_CASES` overrides the case count (64 by default here).

use doctable::{DocTable, Persistent};
use proptest::prelude::*;

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "every")]
struct Every {
    #[doctable(primary_key)]
    id: Option<i64>,
    a_i8: i8,
    a_i16: i16,
    a_i32: i32,
    a_i64: i64,
    a_u8: u8,
    a_u16: u16,
    a_u32: u32,
    a_f64: f64,
    a_bool: bool,
    a_string: String,
    a_bytes: Vec<u8>,
    o_i8: Option<i8>,
    o_i16: Option<i16>,
    o_i32: Option<i32>,
    o_i64: Option<i64>,
    o_u8: Option<u8>,
    o_u16: Option<u16>,
    o_u32: Option<u32>,
    o_f64: Option<f64>,
    o_bool: Option<bool>,
    o_string: Option<String>,
    o_bytes: Option<Vec<u8>>,
}

/// Any f64 but NaN (which the crate refuses on write): infinities, zeros of
/// both signs, subnormals and extremes included.
fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(-0.0),
        1 => Just(f64::MIN_POSITIVE / 4.0),
        1 => Just(f64::MAX),
        1 => Just(f64::MIN),
        10 => any::<f64>().prop_filter("not NaN", |f| !f.is_nan()),
    ]
}

/// Any string, NULs and every plane of Unicode included, up to 64 characters.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        1 => "[\0'\"?;%_\\\\ a-zA-Z]{0,24}",
    ]
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..64)
}

prop_compose! {
    fn every()(
        ints in (any::<i8>(), any::<i16>(), any::<i32>(), any::<i64>(), any::<u8>(), any::<u16>(), any::<u32>()),
        rest in (float(), any::<bool>(), text(), bytes()),
        o_ints in (
            any::<Option<i8>>(), any::<Option<i16>>(), any::<Option<i32>>(), any::<Option<i64>>(),
            any::<Option<u8>>(), any::<Option<u16>>(), any::<Option<u32>>(),
        ),
        o_rest in (
            prop::option::of(float()), any::<Option<bool>>(),
            prop::option::of(text()), prop::option::of(bytes()),
        ),
    ) -> Every {
        let (a_i8, a_i16, a_i32, a_i64, a_u8, a_u16, a_u32) = ints;
        let (a_f64, a_bool, a_string, a_bytes) = rest;
        let (o_i8, o_i16, o_i32, o_i64, o_u8, o_u16, o_u32) = o_ints;
        let (o_f64, o_bool, o_string, o_bytes) = o_rest;
        Every {
            id: None,
            a_i8, a_i16, a_i32, a_i64, a_u8, a_u16, a_u32, a_f64, a_bool, a_string, a_bytes,
            o_i8, o_i16, o_i32, o_i64, o_u8, o_u16, o_u32, o_f64, o_bool, o_string, o_bytes,
        }
    }
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(64),
        // No persistence file: failures print their minimal input instead.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn open() -> Result<Persistent, TestCaseError> {
    let db = Persistent::open_in_memory().map_err(fail)?;
    Every::create_table(&db).map_err(fail)?;
    Ok(db)
}

fn fail(e: doctable::Error) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}

/// Removes from `got` one row equal to each row of `want`; fails if one is missing.
fn same_multiset(mut got: Vec<Every>, want: &[Every]) -> Result<(), TestCaseError> {
    prop_assert_eq!(got.len(), want.len());
    for row in want {
        let Some(at) = got.iter().position(|g| g == row) else {
            return Err(TestCaseError::fail(format!("row not read back: {row:?}")));
        };
        got.swap_remove(at);
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn insert_then_get_returns_the_row(row in every()) {
        let db = open()?;
        let id = Every::insert(&db, &row).map_err(fail)?;
        let want = Every { id: Some(id), ..row };
        prop_assert_eq!(Every::get(&db, id).map_err(fail)?, Some(want.clone()));
        // With the key given, the same row goes in and comes out under it.
        let chosen = Every { id: Some(id + 1000), ..want };
        let id2 = Every::insert(&db, &chosen).map_err(fail)?;
        prop_assert_eq!(id2, id + 1000);
        prop_assert_eq!(Every::get(&db, id2).map_err(fail)?, Some(chosen));
    }

    #[test]
    fn insert_many_then_select_all_returns_the_same_multiset(
        rows in prop::collection::vec(every(), 0..24),
    ) {
        let db = open()?;
        let n = Every::insert_many(&db, &rows).map_err(fail)?;
        prop_assert_eq!(n, rows.len());
        let got: Vec<Every> = Every::select()
            .all(&db)
            .map_err(fail)?
            .into_iter()
            .map(|r| Every { id: None, ..r })
            .collect();
        same_multiset(got, &rows)?;
        prop_assert_eq!(Every::count().get(&db).map_err(fail)?, rows.len() as i64);
    }

    #[test]
    fn update_row_then_get_returns_the_new_row(first in every(), second in every()) {
        let db = open()?;
        let id = Every::insert(&db, &first).map_err(fail)?;
        let new = Every { id: Some(id), ..second };
        Every::update_row(&db, &new).map_err(fail)?;
        prop_assert_eq!(Every::get(&db, id).map_err(fail)?, Some(new));
        prop_assert_eq!(Every::count().get(&db).map_err(fail)?, 1);
    }
}
