//! What `update().set(column, expression)` checks a value computed in SQL
//! against: the field's type ([`Target`]), and what a failed check means
//! ([`CheckFailure`]). How the check is written is the dialect's
//! ([`Dialect::push_checked`](crate::Dialect::push_checked)): SQLite stores
//! whatever arithmetic computes (a REAL from an integer overflow, NULL from a
//! NaN or a division by zero), so its dialect wraps the expression in a
//! `CASE` that fails the statement; an engine that raises its own errors on
//! overflow and division by zero writes the plain expression.

use crate::column_type::ColumnType;
use crate::value::SqlType;

/// What a value computed in SQL must be to read back as the field it is
/// stored in: the column, and the facts of its [`ColumnType`].
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The column assigned.
    pub(crate) column: &'static str,
    /// The field's logical type.
    pub(crate) sql_type: SqlType,
    /// Whether the field is an `Option`.
    pub(crate) nullable: bool,
    /// For an integer (or bool) field, the range it reads back.
    pub(crate) integer_range: (i64, i64),
    /// For a float field, whether it is an `f32`.
    pub(crate) narrow_float: bool,
}

impl Target {
    /// The target of a value of type `V` stored in `column`.
    pub(crate) fn of<V: ColumnType>(column: &'static str) -> Self {
        Target {
            column,
            sql_type: V::SQL_TYPE,
            nullable: V::NULLABLE,
            integer_range: V::INTEGER_RANGE,
            narrow_float: V::NARROW_FLOAT,
        }
    }

    /// Whether the range is narrower than `i64`'s.
    pub(crate) fn narrow_integer(&self) -> bool {
        matches!(self.sql_type, SqlType::Integer | SqlType::Bool)
            && self.integer_range != (i64::MIN, i64::MAX)
    }
}

/// How a computed value failed its check.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckFailure {
    /// Another storage class than the field's (for an integer field, an
    /// integer overflow: SQLite computes it as a REAL).
    WrongType,
    /// NULL from non-NULL operands: a NaN or a division by zero.
    NanOrDivision,
    /// NULL (from SQL that is not arithmetic) for a NOT NULL field.
    NullInNotNull,
    /// An integer outside the field's narrower type.
    OutOfRange,
    /// A finite float beyond `f32`'s range, for an `f32` field.
    BeyondF32,
}

impl CheckFailure {
    /// What this failure means for `target`, with the expression's SQL
    /// (`expr`), as the detail of an [`Error::Conversion`](crate::Error::Conversion).
    pub(crate) fn detail(self, target: &Target, type_name: &str, expr: &str) -> String {
        let what = match self {
            CheckFailure::WrongType if target.sql_type == SqlType::Integer => "is not an INTEGER: an integer overflow (SQLite computes an integer result beyond i64 as a REAL), or a value of another type".to_owned(),
            CheckFailure::WrongType => format!("is not a {type_name}"),
            CheckFailure::NanOrDivision => "is NaN or a division by zero (such as inf - inf, 0 * inf or x / 0), which SQLite computes as NULL".to_owned(),
            CheckFailure::NullInNotNull => format!(
                "is NULL, which the NOT NULL column `{}` cannot hold",
                target.column
            ),
            CheckFailure::OutOfRange => format!(
                "does not fit in the column's type ({}..={})",
                target.integer_range.0, target.integer_range.1
            ),
            CheckFailure::BeyondF32 => {
                "does not fit in f32 (it is finite and beyond f32's range)".to_owned()
            }
        };
        format!("the expression's result {what}; nothing was changed\n    expression: {expr}")
    }
}
