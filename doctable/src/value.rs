//! The crate's own value model: what a [`ColumnType`](crate::ColumnType)
//! converts to and from, independent of any database driver.
//!
//! Each backend encodes these values for its driver (SQLite binds a `Bool` as
//! the INTEGER 0 or 1, and never reads one back). New variants (timestamps,
//! UUIDs) may come, so the enums are `#[non_exhaustive]`: a `match` over them
//! needs a `_` arm, which should answer with a
//! [`ValueError::WrongType`](crate::ValueError::WrongType).

/// An owned value: what query builders keep for a parameter.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A signed 64-bit integer.
    Integer(i64),
    /// A 64-bit float.
    Real(f64),
    /// A boolean (PostgreSQL's `BOOLEAN`; SQLite stores it as INTEGER 0 or 1).
    Bool(bool),
    /// Text.
    Text(String),
    /// Raw bytes.
    Blob(Vec<u8>),
}

/// A borrowed value: what a column is read as, without copying.
///
/// `Text` holds the stored bytes as the database gave them: they are not
/// checked to be UTF-8 here (the `String` impl of
/// [`ColumnType`](crate::ColumnType) checks).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum ValueRef<'a> {
    /// SQL NULL.
    Null,
    /// A signed 64-bit integer.
    Integer(i64),
    /// A 64-bit float.
    Real(f64),
    /// A boolean (read only from backends with a boolean type).
    Bool(bool),
    /// Text, as stored bytes.
    Text(&'a [u8]),
    /// Raw bytes.
    Blob(&'a [u8]),
}

/// A value to bind: borrowed from the field when it can be, owned when the
/// conversion made a new one.
///
/// ```
/// use doctable::{ToValue, Value, ValueRef};
///
/// let text = String::from("corpus");
/// let borrowed = ToValue::Borrowed(ValueRef::Text(text.as_bytes()));
/// let owned = ToValue::Owned(Value::Integer(7));
/// assert_eq!(borrowed.as_ref(), ValueRef::Text(b"corpus"));
/// assert_eq!(owned.into_owned(), Value::Integer(7));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum ToValue<'a> {
    /// A value borrowed from the Rust value being bound.
    Borrowed(ValueRef<'a>),
    /// A value made by the conversion.
    Owned(Value),
}

impl Value {
    /// This value, borrowed.
    #[inline]
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Null => ValueRef::Null,
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Bool(b) => ValueRef::Bool(*b),
            Value::Text(t) => ValueRef::Text(t.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }
    }
}

impl ValueRef<'_> {
    /// An owned copy. Text that is not UTF-8 is kept with each bad sequence
    /// replaced by U+FFFD (stored text comes from the database, where another
    /// program may have written any bytes).
    pub fn to_owned_value(self) -> Value {
        match self {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Integer(i),
            ValueRef::Real(f) => Value::Real(f),
            ValueRef::Bool(b) => Value::Bool(b),
            ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        }
    }

    /// The name of this value's kind, for messages: `NULL`, `INTEGER`,
    /// `REAL`, `BOOLEAN`, `TEXT` or `BLOB`.
    pub fn kind(self) -> &'static str {
        match self {
            ValueRef::Null => "NULL",
            ValueRef::Integer(_) => "INTEGER",
            ValueRef::Real(_) => "REAL",
            ValueRef::Bool(_) => "BOOLEAN",
            ValueRef::Text(_) => "TEXT",
            ValueRef::Blob(_) => "BLOB",
        }
    }
}

impl<'a> ToValue<'a> {
    /// The value, borrowed.
    #[inline]
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            ToValue::Borrowed(v) => *v,
            ToValue::Owned(v) => v.as_ref(),
        }
    }

    /// The value, owned (a borrowed one is copied).
    #[inline]
    pub fn into_owned(self) -> Value {
        match self {
            ToValue::Borrowed(v) => v.to_owned_value(),
            ToValue::Owned(v) => v,
        }
    }
}

impl From<ValueRef<'_>> for Value {
    fn from(value: ValueRef<'_>) -> Self {
        value.to_owned_value()
    }
}

/// The logical type of a column: what the field holds. Each backend's
/// dialect names it in DDL (SQLite: `INTEGER`, `REAL`, `INTEGER` for bool,
/// `TEXT`, `BLOB`, `TEXT` for JSON, timestamps, dates and UUIDs) and compares
/// it with what it reflects back. More types may come, so it is
/// `#[non_exhaustive]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SqlType {
    /// A signed 64-bit integer.
    Integer,
    /// A 64-bit float.
    Real,
    /// A boolean.
    Bool,
    /// UTF-8 text.
    Text,
    /// Raw bytes.
    Blob,
    /// A JSON document (a `#[doctable(json)]` field or a [`Json`](crate::Json)).
    Json,
    /// An instant in time, in UTC, to the microsecond (PostgreSQL's
    /// `TIMESTAMPTZ`; SQLite stores the text `YYYY-MM-DDTHH:MM:SS.ffffffZ`).
    Timestamp,
    /// A date and time of day without a time zone, to the microsecond
    /// (PostgreSQL's `TIMESTAMP`; SQLite stores the text
    /// `YYYY-MM-DDTHH:MM:SS.ffffff`).
    DateTime,
    /// A calendar date (PostgreSQL's `DATE`; SQLite stores the text `YYYY-MM-DD`).
    Date,
    /// A UUID (PostgreSQL's `UUID`; SQLite stores the lowercase hyphenated text).
    Uuid,
}

/// A value as SQL would print it, for messages (never for SQL text).
pub(crate) fn sql_literal(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Null => "NULL".to_owned(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Bool(b) => if b { "TRUE" } else { "FALSE" }.to_owned(),
        ValueRef::Text(t) => format!("'{}'", String::from_utf8_lossy(t).replace('\'', "''")),
        ValueRef::Blob(b) => format!("a {}-byte blob", b.len()),
    }
}

/// A value that can be bound to a raw SQL statement's `?`
/// ([`Expr::raw`](crate::Expr::raw), [`DocTable::select_sql`](crate::DocTable::select_sql)):
/// the integer types, `f32`, `f64`, `bool`, `String`, `&str`, `Vec<u8>`,
/// `&[u8]`, `[u8; N]`, [`Value`], `Option` of those, and references to them.
/// With the `sqlite` feature, also rusqlite's `Value` and `&dyn ToSql` (so
/// `rusqlite::params![..]` works).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be bound as a raw SQL parameter",
    note = "pass an integer, float, bool, `&str`, `String`, bytes, `doctable::Value`, or an `Option` of one"
)]
pub trait IntoValue {
    /// The value to bind, or why there is none.
    fn into_value(self) -> Result<Value, crate::ValueError>;
}

impl<T: IntoValue + Clone> IntoValue for &T {
    fn into_value(self) -> Result<Value, crate::ValueError> {
        self.clone().into_value()
    }
}

macro_rules! into_value_via_column_type {
    ($($ty:ty),*) => {$(
        impl IntoValue for $ty {
            fn into_value(self) -> Result<Value, crate::ValueError> {
                crate::ColumnType::to_sql(&self).map(ToValue::into_owned)
            }
        }
    )*};
}
into_value_via_column_type!(
    i8,
    i16,
    i32,
    i64,
    isize,
    u8,
    u16,
    u32,
    u64,
    usize,
    f32,
    f64,
    bool,
    String,
    Vec<u8>
);

impl IntoValue for &str {
    fn into_value(self) -> Result<Value, crate::ValueError> {
        Ok(Value::Text(self.to_owned()))
    }
}

impl IntoValue for &[u8] {
    fn into_value(self) -> Result<Value, crate::ValueError> {
        Ok(Value::Blob(self.to_vec()))
    }
}

impl<const N: usize> IntoValue for [u8; N] {
    fn into_value(self) -> Result<Value, crate::ValueError> {
        Ok(Value::Blob(self.to_vec()))
    }
}

impl IntoValue for Value {
    fn into_value(self) -> Result<Value, crate::ValueError> {
        Ok(self)
    }
}

impl<T: IntoValue> IntoValue for Option<T> {
    fn into_value(self) -> Result<Value, crate::ValueError> {
        match self {
            Some(v) => v.into_value(),
            None => Ok(Value::Null),
        }
    }
}

/// Converts raw-SQL parameters to owned values, or says which one failed.
pub(crate) fn owned_params<P: IntoValue>(
    params: impl IntoIterator<Item = P>,
) -> Result<Vec<Value>, String> {
    params
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            p.into_value()
                .map_err(|e| format!("parameter {}: {e}", i + 1))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_params_convert_through_the_column_types() {
        assert_eq!(
            owned_params([1, 2]),
            Ok(vec![Value::Integer(1), Value::Integer(2)])
        );
        assert_eq!(owned_params(["a"]), Ok(vec![Value::Text("a".into())]));
        assert_eq!(
            owned_params([Some(true), None]),
            Ok(vec![Value::Bool(true), Value::Null])
        );
        let err = owned_params([u64::MAX]).err().unwrap_or_default();
        assert!(err.starts_with("parameter 1: "), "{err}");
    }

    #[test]
    fn literals_print_for_messages() {
        assert_eq!(sql_literal(ValueRef::Text(b"it's")), "'it''s'");
        assert_eq!(sql_literal(ValueRef::Bool(true)), "TRUE");
    }
}
