#![no_main]
//! Arbitrary SQLite values written with raw rusqlite, read through a derived
//! struct with every field type: must never panic (errors are fine).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    doctable_fuzz::targets::row_decode(data);
});
