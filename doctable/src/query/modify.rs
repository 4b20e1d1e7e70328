//! `Doc::update()` and `Doc::delete()`: both must be told which rows.

use std::marker::PhantomData;
use std::ops::Range;

use super::select::{and_into, push_where};
use super::{check, execute};
use crate::column_type::ColumnType;
use crate::conn::{Conn, atomically};
use crate::dialect::{SqlType, push_ident};
use crate::error::{Error, Result};
use crate::expr::{Column, Expr, Fragment, IntoOperand, Operand};
use crate::table::DocTable;

/// State of an update or delete that has not been told which rows: it cannot run.
#[derive(Debug, Clone, Copy)]
pub struct Unfiltered;

/// State of an update or delete that has a filter, or was told `all_rows()`.
#[derive(Debug, Clone, Copy)]
pub struct Filtered;

/// The states in which an update or delete may run.
#[diagnostic::on_unimplemented(
    message = "`.run()` needs `.filter(..)` or `.all_rows()` first",
    label = "this would change every row of the table",
    note = "say which rows with `.filter(condition)`, or call `.all_rows()` to change every row on purpose"
)]
pub trait RowsChosen: sealed::Sealed {}
// Not recommended, so the error does not add "`RowsChosen` is implemented for `Filtered`".
#[diagnostic::do_not_recommend]
impl RowsChosen for Filtered {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Filtered {}
}

/// An update of table `T`: `.set(..)` one or more columns, choose rows, `.run(&db)`.
///
/// ```
/// # use doctable::{DocTable, Persistent};
/// # #[derive(DocTable)] struct Doc { #[doctable(primary_key)] id: Option<i64>, year: i64, score: f64 }
/// # let db = Persistent::open_in_memory()?; Doc::create_table(&db)?;
/// let changed = Doc::update()
///     .set(Doc::score, Doc::score + 1.0)
///     .filter(Doc::year.eq(2001))
///     .run(&db)?;
/// # Ok::<(), doctable::Error>(())
/// ```
///
/// A value computed in SQL (`Doc::n + 1`, `Doc::x / Doc::y`, raw SQL) is
/// checked as it is stored, the way a Rust value is checked when it is bound:
/// an integer overflow, a result beyond the field's type (`i32`, `u8`, `f32`,
/// ...), a NaN or a division by zero (which SQLite computes as NULL), or a
/// value of another storage class fails the update with
/// [`Error::Conversion`] naming the column, and no row is changed.
#[must_use = "an update does nothing until `run`"]
pub struct Update<T, S> {
    assignments: Fragment,
    filter: Option<Fragment>,
    /// The computed values the assignments check, by number (see [`raise`]).
    checks: Vec<Check>,
    _marker: PhantomData<fn() -> (T, S)>,
}

impl<T: DocTable> Update<T, Unfiltered> {
    pub(crate) fn new() -> Self {
        Update {
            assignments: Fragment::default(),
            filter: None,
            checks: Vec::new(),
            _marker: PhantomData,
        }
    }
}

/// One `set` of a computed value, for the message of its failed check.
#[derive(Debug, Clone)]
struct Check {
    column: &'static str,
    /// Where the expression's SQL is in the assignments.
    expr: Range<usize>,
    sql_type: SqlType,
    range: (i64, i64),
}

/// The ways a check fails: the letter after the check's number in the error.
const WRONG_TYPE: char = 't';
const NAN_OR_DIVISION: char = 'n';
const NULL_IN_NOT_NULL: char = 'z';
const OUT_OF_RANGE: char = 'r';
const BEYOND_F32: char = 'f';

/// The text a failed check makes SQLite's error say, followed by the
/// check's number, a `.` and how it failed.
const CHECK_MARK: &str = "doctable check ";

/// Appends an expression that fails the statement with an error naming check
/// `n` and how it failed: `json_extract` with a path that is not one
/// (SQLite's error quotes the path). Only reached in the CASE branch of a
/// failed check: SQLite evaluates CASE branches lazily.
fn raise(sql: &mut String, n: usize, how: char) {
    sql.push_str("json_extract('{}', '");
    sql.push_str(CHECK_MARK);
    push_number(sql, n);
    sql.push('.');
    sql.push(how);
    sql.push_str("')");
}

fn push_number(sql: &mut String, n: impl std::fmt::Display) {
    use std::fmt::Write;
    // Writing to a String cannot fail.
    let _ = write!(sql, "{n}");
}

/// Appends `value` with its parameters.
fn push_sql(out: &mut Fragment, value: &Fragment, sql: Range<usize>, params: Range<usize>) {
    // The ranges are the fragment's own (`Leaf`s, or the whole of it).
    out.sql.push_str(value.sql.get(sql).unwrap_or_default());
    out.params
        .extend_from_slice(value.params.get(params).unwrap_or_default());
}

fn push_whole(out: &mut Fragment, value: &Fragment) {
    push_sql(out, value, 0..value.sql.len(), 0..value.params.len());
}

/// Appends `value`, computed in SQL, checked for what it must be to read back
/// as `V`: a `CASE typeof(value) ...` that fails the statement otherwise. The
/// value's SQL is repeated (its parameters with it): SQLite evaluates it for
/// the test and again for the result, both cheap for arithmetic on columns
/// and values.
fn push_checked<V: ColumnType>(
    out: &mut Fragment,
    value: Fragment,
    column: &'static str,
    checks: &mut Vec<Check>,
) {
    let real = V::SQL_TYPE == SqlType::Real;
    let range = V::INTEGER_RANGE;
    out.sql.reserve(value.sql.len() * 4 + 300);

    let start = out.sql.len();
    let n = checks.len();
    // Arithmetic gives a number or NULL, never text or a blob: for a REAL
    // column only NULL needs looking at, which `coalesce` does evaluating
    // the value once.
    if real && !V::NARROW_FLOAT && value.leaves.is_some() {
        out.sql.push_str("coalesce(");
        push_whole(out, &value);
        checks.push(Check {
            column,
            expr: start + "coalesce(".len()..out.sql.len(),
            sql_type: V::SQL_TYPE,
            range,
        });
        out.sql.push_str(", ");
        push_null_case::<V>(out, &value, n);
        out.sql.push(')');
    } else {
        out.sql.push_str("CASE typeof(");
        let expr_start = out.sql.len();
        push_whole(out, &value);
        checks.push(Check {
            column,
            expr: expr_start..out.sql.len(),
            sql_type: V::SQL_TYPE,
            range,
        });
        // The expected storage class first: it is the one compared on success.
        out.sql.push_str(match V::SQL_TYPE {
            SqlType::Integer => ") WHEN 'integer' THEN ",
            SqlType::Real => ") WHEN 'real' THEN ",
            SqlType::Text => ") WHEN 'text' THEN ",
            SqlType::Blob => ") WHEN 'blob' THEN ",
        });
        push_in_range::<V>(out, &value, n);
        if real {
            // SQLite stores an integer in a REAL column as a REAL.
            out.sql.push_str(" WHEN 'integer' THEN ");
            push_in_range::<V>(out, &value, n);
        }
        out.sql.push_str(" WHEN 'null' THEN ");
        push_null_case::<V>(out, &value, n);
        out.sql.push_str(" ELSE ");
        raise(&mut out.sql, n, WRONG_TYPE);
        out.sql.push_str(" END");
    }
    out.column = None;
    if out.error.is_none() {
        out.error = value.error;
    }
}

/// What a NULL result becomes: NULL in a nullable column when it comes from
/// a NULL operand (or from SQL that is not arithmetic), a failed check otherwise.
fn push_null_case<V: ColumnType>(out: &mut Fragment, value: &Fragment, n: usize) {
    match &value.leaves {
        // Arithmetic into a nullable column: NULL is its result when an
        // operand is NULL, else a NaN or a division by zero.
        Some(leaves) if V::NULLABLE && !leaves.is_empty() => {
            out.sql.push_str("CASE WHEN ");
            for (i, leaf) in leaves.iter().enumerate() {
                if i > 0 {
                    out.sql.push_str(" OR ");
                }
                out.sql.push('(');
                push_sql(out, value, leaf.sql.clone(), leaf.params.clone());
                out.sql.push_str(") IS NULL");
            }
            out.sql.push_str(" THEN NULL ELSE ");
            raise(&mut out.sql, n, NAN_OR_DIVISION);
            out.sql.push_str(" END");
        }
        Some(_) => raise(&mut out.sql, n, NAN_OR_DIVISION),
        None if V::NULLABLE => out.sql.push_str("NULL"),
        None => raise(&mut out.sql, n, NULL_IN_NOT_NULL),
    }
}

/// The value of the expected storage class, checked against the range of a
/// narrower type (`i32`, `u8`, `f32`, ...).
fn push_in_range<V: ColumnType>(out: &mut Fragment, value: &Fragment, n: usize) {
    let (min, max) = V::INTEGER_RANGE;
    if V::SQL_TYPE == SqlType::Integer && (min, max) != (i64::MIN, i64::MAX) {
        out.sql.push_str("CASE WHEN (");
        push_whole(out, value);
        out.sql.push_str(") BETWEEN ");
        push_number(&mut out.sql, min);
        out.sql.push_str(" AND ");
        push_number(&mut out.sql, max);
        out.sql.push_str(" THEN (");
        push_whole(out, value);
        out.sql.push_str(") ELSE ");
        raise(&mut out.sql, n, OUT_OF_RANGE);
        out.sql.push_str(" END");
    } else if V::SQL_TYPE == SqlType::Real && V::NARROW_FLOAT {
        // Finite results below f32::MAX + half an ulp round to f32::MAX;
        // from there `as f32` gives an infinity, which a finite f64 must not
        // become (`f32::from_sql` refuses it). 9e999 is infinity.
        out.sql.push_str("CASE WHEN abs(");
        push_whole(out, value);
        out.sql.push_str(") < ? OR abs(");
        out.params
            .push(rusqlite::types::Value::Real(F32_ROUNDS_TO_INFINITY));
        push_whole(out, value);
        out.sql.push_str(") = 9e999 THEN (");
        push_whole(out, value);
        out.sql.push_str(") ELSE ");
        raise(&mut out.sql, n, BEYOND_F32);
        out.sql.push_str(" END");
    } else {
        out.sql.push('(');
        push_whole(out, value);
        out.sql.push(')');
    }
}

impl Check {
    /// What failing this check in way `how` means.
    fn detail(&self, how: char, assignments: &str) -> String {
        let what = match how {
            WRONG_TYPE if self.sql_type == SqlType::Integer => "is not an INTEGER: an integer overflow (SQLite computes an integer result beyond i64 as a REAL), or a value of another type".to_owned(),
            WRONG_TYPE => format!("is not a {}", self.sql_type.name()),
            NAN_OR_DIVISION => "is NaN or a division by zero (such as inf - inf, 0 * inf or x / 0), which SQLite computes as NULL".to_owned(),
            NULL_IN_NOT_NULL => format!("is NULL, which the NOT NULL column `{}` cannot hold", self.column),
            OUT_OF_RANGE => format!(
                "does not fit in the column's type ({}..={})",
                self.range.0, self.range.1
            ),
            _ => "does not fit in f32 (it is finite and beyond f32's range)".to_owned(),
        };
        let expr = assignments.get(self.expr.clone()).unwrap_or_default();
        format!("the expression's result {what}; nothing was changed\n    expression: {expr}")
    }
}

/// The smallest f64 that `as f32` turns into an infinity: f32::MAX plus half
/// its last place (2^128 - 2^103).
const F32_ROUNDS_TO_INFINITY: f64 = 340_282_356_779_733_661_637_539_395_458_142_568_448.0;

impl<T: DocTable, S> Update<T, S> {
    /// Sets `column` to a value, another column, or an expression such as `Doc::score + 1.0`.
    ///
    /// An expression's result is checked as it is stored (see [`Update`]):
    /// what the field could not read back fails the update.
    pub fn set<V>(mut self, column: Column<T, V>, value: impl IntoOperand<T, V>) -> Self
    where
        V: ColumnType,
    {
        if !self.assignments.sql.is_empty() {
            self.assignments.sql.push_str(", ");
        }
        push_ident(&mut self.assignments.sql, column.name());
        self.assignments.sql.push_str(" = ");
        match value.into_operand() {
            // A computed value; a bare column of the same type is copied as it is.
            Operand::Sql(f) if f.column.is_none() => {
                push_checked::<V>(&mut self.assignments, f, column.name(), &mut self.checks);
            }
            other => self.assignments.push_operand(other, column.name()),
        }
        self
    }

    /// Changes only rows where `condition` holds; several calls are ANDed.
    pub fn filter(self, condition: Expr<T, bool>) -> Update<T, Filtered> {
        let mut filter = self.filter;
        and_into(&mut filter, condition.fragment);
        Update {
            assignments: self.assignments,
            filter,
            checks: self.checks,
            _marker: PhantomData,
        }
    }

    /// Changes every row: an update with no filter must say so.
    pub fn all_rows(self) -> Update<T, Filtered> {
        Update {
            assignments: self.assignments,
            filter: self.filter,
            checks: self.checks,
            _marker: PhantomData,
        }
    }

    /// Runs the update and returns how many rows changed.
    pub fn run(&self, conn: &impl Conn) -> Result<usize>
    where
        S: RowsChosen,
    {
        let q = self.build()?;
        let table = T::META.name;
        conn.with_connection(|c| execute(c, table, &q.sql, &q.params))
            .map_err(|e| self.located(e))
    }

    /// Runs the update and returns the changed rows as they are now stored
    /// (`UPDATE ... RETURNING`).
    pub fn returning(&self, conn: &impl Conn) -> Result<Vec<T>>
    where
        S: RowsChosen,
    {
        let mut q = self.build()?;
        let table = T::META.name;
        q.sql.push_str(crate::dialect::RETURNING);
        q.sql.push_str(T::__sql().columns(T::META));
        // SQLite makes every change at the first step, before the first row
        // is read back: a row that cannot be read must undo them.
        conn.with_connection(|c| {
            atomically(c, Some(table), |c| {
                let mut out = Vec::new();
                super::for_rows(c, table, &q.sql, &q.params, |row| {
                    out.push(crate::table::read_row::<T>(row, 0)?);
                    Ok(true)
                })?;
                Ok(out)
            })
        })
        .map_err(|e| self.located(e))
    }

    /// A failed check as a conversion error of its column; a foreign key
    /// violation with the table's keys.
    fn located(&self, error: Error) -> Error {
        if let Error::Sqlite { source, .. } = &error
            && let rusqlite::Error::SqliteFailure(_, Some(message)) = &**source
        {
            let failed = message.split_once(CHECK_MARK).and_then(|(_, rest)| {
                let (number, how) = rest.split_once('.')?;
                let check = self.checks.get(number.parse::<usize>().ok()?)?;
                Some((check, how.chars().next()?))
            });
            if let Some((check, how)) = failed {
                let detail = check.detail(how, &self.assignments.sql);
                return Error::conversion(T::META.name, check.column, detail);
            }
        }
        error.with_foreign_keys(T::META)
    }

    fn build(&self) -> Result<Fragment> {
        let table = T::META.name;
        if self.assignments.sql.is_empty() {
            return Err(Error::Usage(format!(
                "table `{table}`: update has nothing to set; call `.set(column, value)`"
            )));
        }
        let mut q = Fragment::default();
        q.sql.push_str("UPDATE ");
        push_ident(&mut q.sql, table);
        q.sql.push_str(" SET ");
        q.append(self.assignments.clone());
        push_where(&mut q, &self.filter);
        check(table, &q)?;
        Ok(q)
    }
}

/// A delete from table `T`: choose rows with `.filter(..)` or `.all_rows()`, then `.run(&db)`.
///
/// ```
/// # use doctable::{DocTable, Persistent};
/// # #[derive(DocTable)] struct Doc { #[doctable(primary_key)] id: Option<i64>, year: i64 }
/// # let db = Persistent::open_in_memory()?; Doc::create_table(&db)?;
/// let old = Doc::delete().filter(Doc::year.lt(1990)).run(&db)?;
/// let rest = Doc::delete().all_rows().run(&db)?;
/// # Ok::<(), doctable::Error>(())
/// ```
#[must_use = "a delete does nothing until `run`"]
pub struct Delete<T, S> {
    filter: Option<Fragment>,
    _marker: PhantomData<fn() -> (T, S)>,
}

impl<T: DocTable> Delete<T, Unfiltered> {
    pub(crate) fn new() -> Self {
        Delete {
            filter: None,
            _marker: PhantomData,
        }
    }
}

impl<T: DocTable, S> Delete<T, S> {
    /// Deletes only rows where `condition` holds; several calls are ANDed.
    pub fn filter(self, condition: Expr<T, bool>) -> Delete<T, Filtered> {
        let mut filter = self.filter;
        and_into(&mut filter, condition.fragment);
        Delete {
            filter,
            _marker: PhantomData,
        }
    }

    /// Deletes every row: a delete with no filter must say so.
    pub fn all_rows(self) -> Delete<T, Filtered> {
        Delete {
            filter: self.filter,
            _marker: PhantomData,
        }
    }

    /// Runs the delete and returns how many rows were removed.
    pub fn run(&self, conn: &impl Conn) -> Result<usize>
    where
        S: RowsChosen,
    {
        let table = T::META.name;
        let mut q = Fragment::default();
        q.sql.push_str("DELETE FROM ");
        push_ident(&mut q.sql, table);
        push_where(&mut q, &self.filter);
        check(table, &q)?;
        conn.with_connection(|c| execute(c, table, &q.sql, &q.params))
            .map_err(|e| e.with_foreign_keys(T::META))
    }
}

#[cfg(test)]
mod tests {
    use super::F32_ROUNDS_TO_INFINITY;

    #[test]
    fn the_f32_bound_is_where_rounding_reaches_infinity() {
        assert_eq!(F32_ROUNDS_TO_INFINITY, 2f64.powi(128) - 2f64.powi(103));
        assert!((F32_ROUNDS_TO_INFINITY as f32).is_infinite());
        let below = f64::from_bits(F32_ROUNDS_TO_INFINITY.to_bits() - 1);
        assert_eq!(below as f32, f32::MAX);
    }
}
