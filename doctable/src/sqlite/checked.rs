//! The SQLite dialect's checked `update().set`: SQLite stores whatever an
//! expression computes (a REAL from an integer overflow, NULL from a NaN or a
//! division by zero, any storage class in a non-STRICT column), so a computed
//! value is wrapped in a `CASE typeof(v) ...` (or `coalesce(v, ...)` for
//! floats) that fails the statement with an error naming the check, which
//! [`failed_check`] reads back.

use crate::error::Error;
use crate::fragment::Fragment;
use crate::query::checked::{CheckFailure, Target};
use crate::value::{SqlType, Value};

/// The text a failed check makes SQLite's error say, followed by the
/// check's number, a `.` and a letter for how it failed.
const CHECK_MARK: &str = "doctable check ";

/// The letter of a failure in the error text.
fn letter(how: CheckFailure) -> char {
    match how {
        CheckFailure::WrongType => 't',
        CheckFailure::NanOrDivision => 'n',
        CheckFailure::NullInNotNull => 'z',
        CheckFailure::OutOfRange => 'r',
        CheckFailure::BeyondF32 => 'f',
    }
}

/// The failure of a letter.
fn of_letter(letter: char) -> Option<CheckFailure> {
    Some(match letter {
        't' => CheckFailure::WrongType,
        'n' => CheckFailure::NanOrDivision,
        'z' => CheckFailure::NullInNotNull,
        'r' => CheckFailure::OutOfRange,
        'f' => CheckFailure::BeyondF32,
        _ => return None,
    })
}

/// Appends an expression that fails the statement with an error naming check
/// `n` and how it failed: `json_extract` with a path that is not one
/// (SQLite's error quotes the path). Only reached in the CASE branch of a
/// failed check: SQLite evaluates CASE branches lazily.
fn raise(sql: &mut String, n: usize, how: CheckFailure) {
    sql.push_str("json_extract('{}', '");
    sql.push_str(CHECK_MARK);
    push_number(sql, n);
    sql.push('.');
    sql.push(letter(how));
    sql.push_str("')");
}

fn push_number(sql: &mut String, n: impl std::fmt::Display) {
    use std::fmt::Write;
    // Writing to a String cannot fail.
    let _ = write!(sql, "{n}");
}

/// The check and how it failed, if `error` is SQLite's error from [`raise`].
pub(crate) fn failed_check(error: &Error) -> Option<(usize, CheckFailure)> {
    let Error::Sqlite { source, .. } = error else {
        return None;
    };
    let rusqlite::Error::SqliteFailure(_, Some(message)) = &**source else {
        return None;
    };
    let (_, rest) = message.split_once(CHECK_MARK)?;
    let (number, how) = rest.split_once('.')?;
    Some((number.parse().ok()?, of_letter(how.chars().next()?)?))
}

/// Appends `value`, computed in SQL, checked for what it must be to read back
/// as the field of `target`: a `CASE typeof(value) ...` that fails the
/// statement otherwise. The value's SQL is repeated, its parameters with it
/// (each copy its own slots, bound to its own copy of the values): SQLite
/// evaluates it for the test and again for the result, both cheap for
/// arithmetic on columns and values.
pub(crate) fn push_checked(out: &mut Fragment, value: &Fragment, target: &Target, n: usize) {
    let real = target.sql_type == SqlType::Real;
    out.sql.reserve(value.sql.len() * 4 + 300);
    // Arithmetic gives a number or NULL, never text or a blob: for a REAL
    // column only NULL needs looking at, which `coalesce` does evaluating
    // the value once.
    if real && !target.narrow_float && value.leaves.is_some() {
        out.sql.push_str("coalesce(");
        out.push_copy(value);
        out.sql.push_str(", ");
        push_null_case(out, value, target, n);
        out.sql.push(')');
        return;
    }
    out.sql.push_str("CASE typeof(");
    out.push_copy(value);
    // The expected storage class first: it is the one compared on success.
    out.sql.push_str(match target.sql_type {
        SqlType::Integer | SqlType::Bool => ") WHEN 'integer' THEN ",
        SqlType::Real => ") WHEN 'real' THEN ",
        SqlType::Text
        | SqlType::Json
        | SqlType::Timestamp
        | SqlType::DateTime
        | SqlType::Date
        | SqlType::Uuid => ") WHEN 'text' THEN ",
        SqlType::Blob => ") WHEN 'blob' THEN ",
    });
    push_in_range(out, value, target, n);
    if real {
        // SQLite stores an integer in a REAL column as a REAL.
        out.sql.push_str(" WHEN 'integer' THEN ");
        push_in_range(out, value, target, n);
    }
    out.sql.push_str(" WHEN 'null' THEN ");
    push_null_case(out, value, target, n);
    out.sql.push_str(" ELSE ");
    raise(&mut out.sql, n, CheckFailure::WrongType);
    out.sql.push_str(" END");
}

/// What a NULL result becomes: NULL in a nullable column when it comes from
/// a NULL operand (or from SQL that is not arithmetic), a failed check otherwise.
fn push_null_case(out: &mut Fragment, value: &Fragment, target: &Target, n: usize) {
    match &value.leaves {
        // Arithmetic into a nullable column: NULL is its result when an
        // operand is NULL, else a NaN or a division by zero.
        Some(leaves) if target.nullable && !leaves.is_empty() => {
            out.sql.push_str("CASE WHEN ");
            for (i, leaf) in leaves.iter().enumerate() {
                if i > 0 {
                    out.sql.push_str(" OR ");
                }
                out.sql.push('(');
                out.push_part(value, leaf.sql.clone(), leaf.params.clone());
                out.sql.push_str(") IS NULL");
            }
            out.sql.push_str(" THEN NULL ELSE ");
            raise(&mut out.sql, n, CheckFailure::NanOrDivision);
            out.sql.push_str(" END");
        }
        Some(_) => raise(&mut out.sql, n, CheckFailure::NanOrDivision),
        None if target.nullable => out.sql.push_str("NULL"),
        None => raise(&mut out.sql, n, CheckFailure::NullInNotNull),
    }
}

/// The value of the expected storage class, checked against the range of a
/// narrower type (`i32`, `u8`, `bool`, `f32`, ...).
fn push_in_range(out: &mut Fragment, value: &Fragment, target: &Target, n: usize) {
    if target.narrow_integer() {
        let (min, max) = target.integer_range;
        out.sql.push_str("CASE WHEN (");
        out.push_copy(value);
        out.sql.push_str(") BETWEEN ");
        push_number(&mut out.sql, min);
        out.sql.push_str(" AND ");
        push_number(&mut out.sql, max);
        out.sql.push_str(" THEN (");
        out.push_copy(value);
        out.sql.push_str(") ELSE ");
        raise(&mut out.sql, n, CheckFailure::OutOfRange);
        out.sql.push_str(" END");
    } else if target.sql_type == SqlType::Real && target.narrow_float {
        // Finite results below f32::MAX + half an ulp round to f32::MAX;
        // from there `as f32` gives an infinity, which a finite f64 must not
        // become (`f32::from_sql` refuses it). 9e999 is infinity.
        out.sql.push_str("CASE WHEN abs(");
        out.push_copy(value);
        out.sql.push_str(") < ");
        out.push_param(Value::Real(F32_ROUNDS_TO_INFINITY));
        out.sql.push_str(" OR abs(");
        out.push_copy(value);
        out.sql.push_str(") = 9e999 THEN (");
        out.push_copy(value);
        out.sql.push_str(") ELSE ");
        raise(&mut out.sql, n, CheckFailure::BeyondF32);
        out.sql.push_str(" END");
    } else {
        out.sql.push('(');
        out.push_copy(value);
        out.sql.push(')');
    }
}

/// The smallest f64 that `as f32` turns into an infinity: f32::MAX plus half
/// its last place (2^128 - 2^103).
const F32_ROUNDS_TO_INFINITY: f64 = 340_282_356_779_733_661_637_539_395_458_142_568_448.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_f32_bound_is_where_rounding_reaches_infinity() {
        assert_eq!(F32_ROUNDS_TO_INFINITY, 2f64.powi(128) - 2f64.powi(103));
        assert!((F32_ROUNDS_TO_INFINITY as f32).is_infinite());
        let below = f64::from_bits(F32_ROUNDS_TO_INFINITY.to_bits() - 1);
        assert_eq!(below as f32, f32::MAX);
    }

    #[test]
    fn every_failure_has_a_letter_read_back() {
        for how in [
            CheckFailure::WrongType,
            CheckFailure::NanOrDivision,
            CheckFailure::NullInNotNull,
            CheckFailure::OutOfRange,
            CheckFailure::BeyondF32,
        ] {
            assert_eq!(of_letter(letter(how)), Some(how));
        }
    }
}
