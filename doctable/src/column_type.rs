//! The one trait that maps a Rust type to a column: SQL type, nullability, conversions.

use std::fmt;

use crate::error::Error;
use crate::value::{SqlType, ToValue, Value, ValueRef};

/// A Rust type that can be stored in one column.
///
/// The derive asks only this trait about a field's type, so a new column type is
/// one impl of it. It converts to and from the crate's own values
/// ([`ToValue`] to bind, [`ValueRef`] to read), so an impl does not depend on
/// the database driver and serves every backend. Implemented for `i8`–`i64`, `isize`, `u8`–`u64`, `usize`,
/// `f32`, `f64`, `bool`, `String`, `Vec<u8>`, [`Json<T>`](crate::Json),
/// `std::time::SystemTime`, with cargo features chrono's, time's and jiff's
/// date and time types, `uuid::Uuid` and `serde_json::Value` (README "Dates,
/// times, uuid and JSON values"), and `Option<T>` of any of them (which makes
/// the column nullable).
///
/// `u64` and `usize` are checked at run time: a value above `i64::MAX` is a
/// [`Error::Conversion`] on write, never a silent wrap. `f64::NAN` is refused
/// on write the same way, because SQLite would store it as NULL. A value
/// computed in SQL by [`Update::set`](crate::Update::set) is held to the same
/// rules: an integer overflow, a result outside the field's type, a NaN or a
/// division by zero fails the update and changes nothing.
///
/// ```
/// use doctable::{ColumnType, SqlType, ToValue, Value, ValueError, ValueRef};
///
/// /// A word count that is never negative.
/// struct Count(u32);
///
/// impl ColumnType for Count {
///     const SQL_TYPE: SqlType = SqlType::Integer;
///     fn to_sql(&self) -> Result<ToValue<'_>, ValueError> {
///         Ok(ToValue::Owned(Value::Integer(i64::from(self.0))))
///     }
///     fn from_sql(value: ValueRef<'_>) -> Result<Self, ValueError> {
///         u32::from_sql(value).map(Count)
///     }
/// }
/// ```
// The std-type impls are `#[diagnostic::do_not_recommend]`, so an unmapped
// type is answered with these notes rather than a list of every impl.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored in a SQLite column",
    label = "no column mapping for this type",
    note = "a column holds an integer, `f32`, `f64`, `bool`, `String`, `Vec<u8>` or `Json<T>`, or an `Option` of one",
    note = "add `#[doctable(json)]` to the field to store it as JSON text (its type then needs serde's `Serialize` and `Deserialize`), or implement `doctable::ColumnType` for the type"
)]
pub trait ColumnType: Sized {
    /// The column's logical type, which each backend names in its DDL.
    const SQL_TYPE: SqlType;
    /// Whether the column may hold NULL (only `Option<T>` says yes).
    const NULLABLE: bool = false;

    /// The value to bind for `self`.
    fn to_sql(&self) -> Result<ToValue<'_>, ValueError>;

    /// Reads a stored value back.
    fn from_sql(value: ValueRef<'_>) -> Result<Self, ValueError>;

    /// For an integer column, the range a value computed in SQL must be in
    /// to read back: `update().set(column, expression)` refuses a result
    /// outside it. The whole `i64` range unless the type is narrower.
    #[doc(hidden)]
    const INTEGER_RANGE: (i64, i64) = (i64::MIN, i64::MAX);

    /// For a REAL column, whether the field is an `f32`: a value computed in
    /// SQL that is finite and beyond `f32`'s range is then refused by `set`.
    #[doc(hidden)]
    const NARROW_FLOAT: bool = false;
}

/// Why a value could not be converted to or from a column.
#[derive(Debug)]
#[non_exhaustive]
pub enum ValueError {
    /// The stored value has another storage class than the field expects.
    WrongType {
        /// What the field expects.
        expected: &'static str,
        /// What was stored.
        found: &'static str,
    },
    /// The value does not fit the target type.
    OutOfRange {
        /// The value, as text.
        value: String,
        /// The type it did not fit.
        target: &'static str,
    },
    /// Stored text is not valid UTF-8.
    InvalidUtf8(std::str::Utf8Error),
    /// JSON could not be encoded or decoded.
    Json(serde_json::Error),
    /// Anything else, for custom [`ColumnType`] impls.
    Other(String),
    /// A `#[doctable(file)]` column's file is missing, corrupt or cannot be read.
    File {
        /// The hash the column holds (the file's name).
        hash: String,
        /// What is wrong with the file.
        detail: String,
    },
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueError::WrongType { expected, found } => {
                write!(f, "expected {expected}, found {found}")
            }
            ValueError::OutOfRange { value, target } => {
                write!(f, "value {value} does not fit in {target}")
            }
            ValueError::InvalidUtf8(e) => write!(f, "stored text is not valid UTF-8: {e}"),
            ValueError::Json(e) => write!(f, "invalid JSON: {e}"),
            ValueError::Other(msg) => f.write_str(msg),
            ValueError::File { hash, detail } => write!(f, "file {hash}: {detail}"),
        }
    }
}

impl std::error::Error for ValueError {}

impl ValueError {
    /// This error, located at `table.column`.
    pub(crate) fn at(self, table: &str, column: &str) -> Error {
        match self {
            ValueError::Json(source) => Error::Json {
                table: table.to_owned(),
                column: column.to_owned(),
                row: None,
                source,
            },
            ValueError::File { hash, detail } => Error::File {
                table: table.to_owned(),
                column: column.to_owned(),
                row: None,
                hash,
                detail: detail.into(),
            },
            other => Error::conversion(table, column, other),
        }
    }

    fn wrong_type(expected: &'static str, found: ValueRef<'_>) -> Self {
        ValueError::WrongType {
            expected,
            found: found.kind(),
        }
    }
}

/// `min..=max` narrowed to what an `i64` holds.
const fn integer_range(min: i128, max: i128) -> (i64, i64) {
    const fn clamp(v: i128) -> i64 {
        if v < i64::MIN as i128 {
            i64::MIN
        } else if v > i64::MAX as i128 {
            i64::MAX
        } else {
            v as i64
        }
    }
    (clamp(min), clamp(max))
}

macro_rules! integer_column {
    ($($ty:ty),*) => {$(
        #[diagnostic::do_not_recommend]
        impl ColumnType for $ty {
            const SQL_TYPE: SqlType = SqlType::Integer;
            const INTEGER_RANGE: (i64, i64) = integer_range(<$ty>::MIN as i128, <$ty>::MAX as i128);
            fn to_sql(&self) -> Result<ToValue<'_>, ValueError> {
                let v = i64::try_from(*self).map_err(|_| ValueError::OutOfRange {
                    value: self.to_string(),
                    target: "SQLite INTEGER (i64)",
                })?;
                Ok(ToValue::Owned(Value::Integer(v)))
            }
            fn from_sql(value: ValueRef<'_>) -> Result<Self, ValueError> {
                match value {
                    ValueRef::Integer(i) => <$ty>::try_from(i).map_err(|_| ValueError::OutOfRange {
                        value: i.to_string(),
                        target: stringify!($ty),
                    }),
                    other => Err(ValueError::wrong_type("INTEGER", other)),
                }
            }
        }
    )*};
}
integer_column!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

fn refuse_nan(v: f64) -> Result<f64, ValueError> {
    if v.is_nan() {
        Err(ValueError::OutOfRange {
            value: "NaN".into(),
            target: "a REAL column (doctable refuses NaN on every engine: SQLite would store it as NULL)",
        })
    } else {
        Ok(v)
    }
}

fn read_real(value: ValueRef<'_>) -> Result<f64, ValueError> {
    match value {
        ValueRef::Real(f) => Ok(f),
        // A REAL column holds whole numbers as INTEGER on disk when written by other programs.
        ValueRef::Integer(i) => Ok(i as f64),
        other => Err(ValueError::wrong_type("REAL", other)),
    }
}

#[diagnostic::do_not_recommend]
impl ColumnType for f64 {
    const SQL_TYPE: SqlType = SqlType::Real;
    fn to_sql(&self) -> Result<ToValue<'_>, ValueError> {
        Ok(ToValue::Owned(Value::Real(refuse_nan(*self)?)))
    }
    fn from_sql(value: ValueRef<'_>) -> Result<Self, ValueError> {
        read_real(value)
    }
}

#[diagnostic::do_not_recommend]
impl ColumnType for f32 {
    const SQL_TYPE: SqlType = SqlType::Real;
    const NARROW_FLOAT: bool = true;
    fn to_sql(&self) -> Result<ToValue<'_>, ValueError> {
        Ok(ToValue::Owned(Value::Real(refuse_nan(f64::from(*self))?)))
    }
    /// Narrows the stored f64; precision beyond f32's is dropped, as with `as`,
    /// but a finite value beyond f32's range is an error, not an infinity.
    fn from_sql(value: ValueRef<'_>) -> Result<Self, ValueError> {
        let wide = read_real(value)?;
        let narrow = wide as f32;
        if narrow.is_infinite() && wide.is_finite() {
            return Err(ValueError::OutOfRange {
                value: wide.to_string(),
                target: "f32",
            });
        }
        Ok(narrow)
    }
}

#[diagnostic::do_not_recommend]
impl ColumnType for bool {
    const SQL_TYPE: SqlType = SqlType::Bool;
    const INTEGER_RANGE: (i64, i64) = (0, 1);
    fn to_sql(&self) -> Result<ToValue<'_>, ValueError> {
        Ok(ToValue::Owned(Value::Bool(*self)))
    }
    fn from_sql(value: ValueRef<'_>) -> Result<Self, ValueError> {
        match value {
            ValueRef::Bool(b) => Ok(b),
            ValueRef::Integer(0) => Ok(false),
            ValueRef::Integer(1) => Ok(true),
            ValueRef::Integer(i) => Err(ValueError::OutOfRange {
                value: i.to_string(),
                target: "bool (0 or 1)",
            }),
            other => Err(ValueError::wrong_type("INTEGER 0 or 1", other)),
        }
    }
}

#[diagnostic::do_not_recommend]
impl ColumnType for String {
    const SQL_TYPE: SqlType = SqlType::Text;
    fn to_sql(&self) -> Result<ToValue<'_>, ValueError> {
        Ok(ToValue::Borrowed(ValueRef::Text(self.as_bytes())))
    }
    fn from_sql(value: ValueRef<'_>) -> Result<Self, ValueError> {
        match value {
            ValueRef::Text(bytes) => std::str::from_utf8(bytes)
                .map(str::to_owned)
                .map_err(ValueError::InvalidUtf8),
            other => Err(ValueError::wrong_type("TEXT", other)),
        }
    }
}

#[diagnostic::do_not_recommend]
impl ColumnType for Vec<u8> {
    const SQL_TYPE: SqlType = SqlType::Blob;
    fn to_sql(&self) -> Result<ToValue<'_>, ValueError> {
        Ok(ToValue::Borrowed(ValueRef::Blob(self)))
    }
    fn from_sql(value: ValueRef<'_>) -> Result<Self, ValueError> {
        match value {
            ValueRef::Blob(bytes) => Ok(bytes.to_vec()),
            other => Err(ValueError::wrong_type("BLOB", other)),
        }
    }
}

impl<V: ColumnType> ColumnType for Option<V> {
    const SQL_TYPE: SqlType = V::SQL_TYPE;
    const NULLABLE: bool = true;
    const INTEGER_RANGE: (i64, i64) = V::INTEGER_RANGE;
    const NARROW_FLOAT: bool = V::NARROW_FLOAT;
    fn to_sql(&self) -> Result<ToValue<'_>, ValueError> {
        match self {
            Some(v) => v.to_sql(),
            None => Ok(ToValue::Owned(Value::Null)),
        }
    }
    fn from_sql(value: ValueRef<'_>) -> Result<Self, ValueError> {
        match value {
            ValueRef::Null => Ok(None),
            other => V::from_sql(other).map(Some),
        }
    }
}

/// Column types that arithmetic (`+ - * /`), `sum` and `avg` apply to.
pub trait Numeric: ColumnType {
    /// The type of `sum()` over the column: `Option<i64>` for integers,
    /// `Option<f64>` for floats (NULL over no rows).
    type Sum: ColumnType;
}

/// Column types with a nullable counterpart, the result type of `min` and `max`
/// (NULL over no rows).
pub trait OrNull: ColumnType {
    /// `Option<Self>`, or `Self` when it is already an `Option`.
    type Nullable: ColumnType;
}

/// Column types that hold text, which `like` applies to.
pub trait Textual: ColumnType {}
impl Textual for String {}
impl Textual for Option<String> {}

macro_rules! numeric {
    ($sum:ty: $($ty:ty),*) => {$(
        impl Numeric for $ty { type Sum = Option<$sum>; }
        impl Numeric for Option<$ty> { type Sum = Option<$sum>; }
    )*};
}
numeric!(i64: i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);
numeric!(f64: f32, f64);

macro_rules! or_null {
    ($($ty:ty),*) => {$(
        impl OrNull for $ty { type Nullable = Option<$ty>; }
        impl OrNull for Option<$ty> { type Nullable = Option<$ty>; }
    )*};
}
or_null!(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_check_their_range() {
        assert!(u64::MAX.to_sql().is_err());
        assert!(matches!(
            i32::from_sql(ValueRef::Integer(i64::MAX)),
            Err(ValueError::OutOfRange { .. })
        ));
        assert_eq!(
            i64::from_sql(ValueRef::Integer(i64::MIN)).ok(),
            Some(i64::MIN)
        );
    }

    #[test]
    fn f32_refuses_finite_values_beyond_its_range() {
        assert!(matches!(
            f32::from_sql(ValueRef::Real(1e300)),
            Err(ValueError::OutOfRange { .. })
        ));
        assert_eq!(
            f32::from_sql(ValueRef::Real(f64::from(f32::MAX))).ok(),
            Some(f32::MAX)
        );
        assert_eq!(
            f32::from_sql(ValueRef::Real(f64::NEG_INFINITY)).ok(),
            Some(f32::NEG_INFINITY)
        );
    }

    #[test]
    fn nan_is_refused_and_infinity_kept() {
        assert!(f64::NAN.to_sql().is_err());
        assert!(f64::INFINITY.to_sql().is_ok());
    }

    #[test]
    fn wrong_storage_class_is_named() {
        let err = i64::from_sql(ValueRef::Text(b"x"))
            .err()
            .map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("expected INTEGER, found TEXT"));
        assert!(String::from_sql(ValueRef::Text(&[0xff])).is_err());
        assert!(bool::from_sql(ValueRef::Integer(2)).is_err());
    }
}
