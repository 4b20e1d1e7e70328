//! `Doc::update()` and `Doc::delete()`: both must be told which rows.

use std::marker::PhantomData;

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
    /// What each check in the assignments refuses, by its number (see [`raise`]).
    checks: Vec<(&'static str, String)>,
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

/// The text an assignment's failed check makes SQLite's error say, followed
/// by the check's number.
const CHECK_MARK: &str = "doctable check ";

/// Appends an expression that fails the statement with an error naming check
/// `n`: `json_extract` with a path that is not one (SQLite's error quotes the
/// path). Only reached in the CASE branch of a failed check: SQLite evaluates
/// CASE branches lazily, so it costs nothing otherwise.
fn raise(sql: &mut String, n: usize) {
    sql.push_str("json_extract('{}', '");
    sql.push_str(CHECK_MARK);
    sql.push_str(&n.to_string());
    sql.push_str("')");
}

/// What a value computed in SQL must be to read back as `V`, as a
/// `CASE typeof(value) ...` around it; `checks` gets one message per way it
/// can fail. The value's SQL is repeated (its parameters with it): SQLite
/// evaluates it for the test and again for the result, both cheap for
/// arithmetic on columns and values.
fn checked<V: ColumnType>(
    value: Fragment,
    column: &'static str,
    checks: &mut Vec<(&'static str, String)>,
) -> Fragment {
    let mut check = |detail: String| {
        checks.push((
            column,
            format!(
                "{detail}; nothing was changed\n    expression: {}",
                value.sql
            ),
        ));
        checks.len() - 1
    };
    let integer = V::SQL_TYPE == SqlType::Integer;
    let real = V::SQL_TYPE == SqlType::Real;
    let wrong_type = check(if integer {
        "the expression's result is not an INTEGER: an integer overflow (SQLite computes an integer result beyond i64 as a REAL), or a value of another type".to_owned()
    } else {
        format!("the expression's result is not a {}", V::SQL_TYPE.name())
    });
    let arithmetic = value.leaves.is_some();
    let null_result = if arithmetic {
        Some(check(
            "the expression's result is NaN or a division by zero (such as inf - inf, 0 * inf or x / 0), which SQLite computes as NULL".to_owned(),
        ))
    } else if !V::NULLABLE {
        Some(check(format!(
            "the expression's result is NULL, which the NOT NULL column `{column}` cannot hold"
        )))
    } else {
        None
    };
    let (min, max) = V::INTEGER_RANGE;
    let narrow_int = integer && (min, max) != (i64::MIN, i64::MAX);
    let narrow_float = real && V::NARROW_FLOAT;
    let out_of_range = if narrow_int {
        Some(check(format!(
            "the expression's result does not fit in the column's type ({min}..={max})"
        )))
    } else if narrow_float {
        Some(check(
            "the expression's result does not fit in f32 (it is finite and beyond f32's range)"
                .to_owned(),
        ))
    } else {
        None
    };

    let mut f = Fragment::default();
    f.sql.push_str("CASE typeof(");
    f.append(value.clone());
    f.sql.push_str(") WHEN 'null' THEN ");
    match (null_result, &value.leaves) {
        (None, _) => f.sql.push_str("NULL"),
        // A nullable column: NULL is fine when an operand is NULL.
        (Some(n), Some(leaves)) if V::NULLABLE && !leaves.is_empty() => {
            f.sql.push_str("CASE WHEN ");
            for (i, leaf) in leaves.iter().enumerate() {
                if i > 0 {
                    f.sql.push_str(" OR ");
                }
                f.sql.push('(');
                f.append(leaf.clone());
                f.sql.push_str(") IS NULL");
            }
            f.sql.push_str(" THEN NULL ELSE ");
            raise(&mut f.sql, n);
            f.sql.push_str(" END");
        }
        (Some(n), _) => raise(&mut f.sql, n),
    }
    // A REAL column takes an integer too (SQLite stores it as a REAL); every
    // other column one storage class.
    if real {
        f.sql.push_str(" WHEN 'text' THEN ");
        raise(&mut f.sql, wrong_type);
        f.sql.push_str(" WHEN 'blob' THEN ");
        raise(&mut f.sql, wrong_type);
        f.sql.push_str(" ELSE ");
    } else {
        f.sql.push_str(" WHEN '");
        f.sql.push_str(match V::SQL_TYPE {
            SqlType::Integer => "integer",
            SqlType::Real => "real",
            SqlType::Text => "text",
            SqlType::Blob => "blob",
        });
        f.sql.push_str("' THEN ");
    }
    match out_of_range {
        Some(n) if narrow_int => {
            f.sql.push_str("CASE WHEN (");
            f.append(value.clone());
            f.sql.push_str(&format!(") BETWEEN {min} AND {max} THEN ("));
            f.append(value);
            f.sql.push_str(") ELSE ");
            raise(&mut f.sql, n);
            f.sql.push_str(" END");
        }
        Some(n) => {
            // Finite results up to f32::MAX + half an ulp round to f32::MAX;
            // above that `as f32` gives an infinity, which a finite f64 must
            // not become (`f32::from_sql` refuses it). 9e999 is infinity.
            f.sql.push_str("CASE WHEN abs(");
            f.append(value.clone());
            f.sql.push_str(") < ? OR abs(");
            f.params
                .push(rusqlite::types::Value::Real(F32_ROUNDS_TO_INFINITY));
            f.append(value.clone());
            f.sql.push_str(") = 9e999 THEN (");
            f.append(value);
            f.sql.push_str(") ELSE ");
            raise(&mut f.sql, n);
            f.sql.push_str(" END");
        }
        None => {
            f.sql.push('(');
            f.append(value);
            f.sql.push(')');
        }
    }
    if !real {
        f.sql.push_str(" ELSE ");
        raise(&mut f.sql, wrong_type);
    }
    f.sql.push_str(" END");
    f
}

/// The smallest f64 that `as f32` turns into an infinity: f32::MAX plus half
/// its last place (2^128 - 2^103).
const F32_ROUNDS_TO_INFINITY: f64 = 340_282_356_779_733_661_637_539_395_458_142_568_448.0;

impl<T: DocTable, S> Update<T, S> {
    /// Sets `column` to a value, another column, or an expression such as `Doc::score + 1.0`.
    ///
    /// An expression's result is checked as it is stored (see [`Update`]):
    /// what the field could not read back fails the update.
    pub fn set<V: ColumnType>(
        mut self,
        column: Column<T, V>,
        value: impl IntoOperand<T, V>,
    ) -> Self {
        if !self.assignments.sql.is_empty() {
            self.assignments.sql.push_str(", ");
        }
        push_ident(&mut self.assignments.sql, column.name());
        self.assignments.sql.push_str(" = ");
        let rhs = match value.into_operand() {
            // A computed value; a bare column of the same type is copied as it is.
            Operand::Sql(f) if f.column.is_none() => {
                checked::<V>(f, column.name(), &mut self.checks)
            }
            other => {
                let mut rhs = Fragment::default();
                rhs.push_operand(other, column.name());
                rhs
            }
        };
        self.assignments.append(rhs);
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
        if let Error::Sqlite { source, .. } = &error {
            if let rusqlite::Error::SqliteFailure(_, Some(message)) = &**source {
                let check = message.find(CHECK_MARK).and_then(|at| {
                    let digits = &message[at + CHECK_MARK.len()..];
                    let end = digits
                        .find(|c: char| !c.is_ascii_digit())
                        .unwrap_or(digits.len());
                    digits[..end].parse::<usize>().ok()
                });
                if let Some((column, detail)) = check.and_then(|n| self.checks.get(n)) {
                    return Error::conversion(T::META.name, column, detail);
                }
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
