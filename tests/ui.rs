//! Compile-fail tests: each file in `tests/ui/` is one mistake, and its
//! `.stderr` is the message a user sees.

/// The SQLite-side mistakes, `tests/ui/*.rs`.
///
/// Without the `postgres` feature only: with it, `doctable` links the
/// `postgres` crate, whose own `Column` type makes rustc print
/// `doctable::Column<..>` where these files expect `Column<..>`. `.ci/run`
/// runs this test in a build without the feature.
#[cfg(not(feature = "postgres"))]
#[test]
fn ui() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
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
