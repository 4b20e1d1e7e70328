#![no_main]
//! Arbitrary expression trees and queries through the public API, on an
//! in-memory table: must never panic (errors are fine).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    doctable_fuzz::targets::expr_builder(data);
});
