//! Compile-fail tests: each file in `tests/ui/` is one mistake, and its
//! `.stderr` is the message a user sees.

/// The SQLite-side mistakes, `tests/ui/*.rs`.
#[cfg(not(feature = "postgres"))]
#[test]
fn ui() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}

/// The files of `tests/ui/` whose message differs in a build with every
/// feature: a crate linked by one of them has a type of the same name (the
/// `postgres` crate's own `Column`, a `String` of the export crates), so
/// rustc prints the full path (`doctable::Column<..>`,
/// `std::string::String`) where a default build prints `Column<..>` and
/// `String`. Their copies with that spelling are in
/// `tests/ui-sqlite-all-features/`.
#[cfg(feature = "postgres")]
const SPELLED_OUT_WITH_POSTGRES: [&str; 12] = [
    "added_on_string.rs",
    "composite_key_single_value.rs",
    "composite_key_wrong_type.rs",
    "raw_sql_text_not_static.rs",
    "field_named_like_an_operation.rs",
    "narrowing_integer_value.rs",
    "in_query_wrong_column_type.rs",
    "other_table_in_comparison.rs",
    "other_table_in_set.rs",
    "select_cols_other_table.rs",
    "three_table_join_column_not_joined.rs",
    "wrong_value_type_filter.rs",
];

/// The SQLite-side mistakes in a build with every feature, so that
/// `cargo test --workspace --all-features` runs the whole suite: every file of
/// `tests/ui/` but those listed above, and those from their copies.
#[cfg(feature = "postgres")]
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    let mut files: Vec<_> = std::fs::read_dir("tests/ui")
        .expect("tests/ui is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .filter(|path| {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            !SPELLED_OUT_WITH_POSTGRES.contains(&name)
        })
        .collect();
    files.sort();
    assert!(files.len() > 20, "tests/ui holds the compile-fail cases");
    for file in files {
        t.compile_fail(file);
    }
    t.compile_fail("tests/ui-sqlite-all-features/*.rs");
}

/// The same mistakes in code that runs on a PostgreSQL connection
/// (`doctable::postgres::Persistent`): rejected at compile time just the same,
/// with the same messages (but for `doctable::Column` spelled out, see above).
/// Needs the `postgres` feature.
#[cfg(feature = "postgres")]
#[test]
fn ui_postgres() {
    trybuild::TestCases::new().compile_fail("tests/ui-postgres/*.rs");
}
