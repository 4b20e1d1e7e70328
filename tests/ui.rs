//! Compile-fail tests: each file in `tests/ui/` is one mistake, and its
//! `.stderr` is the message a user sees.

#[test]
fn ui() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
