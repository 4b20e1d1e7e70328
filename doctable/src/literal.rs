//! Which literal types a column accepts, beyond its own type (which
//! `impl<T, V: ColumnType> IntoOperand<T, V> for V` covers).
//!
//! Kept deliberately small: an integer literal defaults to `i32`, so every
//! integer column accepts `i32`; every `Option<V>` column accepts a bare `V`
//! (`impl<T, V: ColumnType> IntoOperand<T, Option<V>> for V` in expr.rs, which
//! serves a user's own `ColumnType` as it does the built-in ones);
//! text columns accept `&str`; float columns accept integers. A value that does
//! not fit (say `300` for a `u8` column) is a `Conversion` error when the query runs.
//!
//! Each impl is `#[diagnostic::do_not_recommend]`: a value of the wrong type
//! would otherwise be answered with a list of these few dozen impls, where the
//! trait's own message already says what the column expects.

use crate::value::Value;

use crate::column_type::ColumnType;
use crate::expr::{IntoOperand, Operand};

macro_rules! accepts {
    ($column:ty: $($literal:ty => |$v:ident| $convert:expr),* $(,)?) => {$(
        #[diagnostic::do_not_recommend]
        impl<T> IntoOperand<T, $column> for $literal {
            fn into_operand(self) -> Operand {
                let $v = self;
                $convert
            }
        }
    )*};
}

/// Converts through the target column type, so range checks are the column's own.
fn via<V: ColumnType>(value: Option<V>, shown: impl ToString, target: &str) -> Operand {
    match value {
        Some(v) => Operand::of(&v),
        None => Operand::Invalid(format!(
            "value {} does not fit in {target}",
            shown.to_string()
        )),
    }
}

macro_rules! integer_literals {
    ($($int:ty),*) => {$(
        accepts!($int: i32 => |v| via(<$int>::try_from(v).ok(), v, stringify!($int)));
        accepts!(Option<$int>:
            i32 => |v| via(<$int>::try_from(v).ok(), v, stringify!($int)),
        );
    )*};
}
integer_literals!(i8, i16, i64, isize, u8, u16, u32, u64, usize);

/// Integers of another type that always fit the column's (`u32` or `i8` for
/// an `i64` column: what `From` converts): accepted as they are, nullable
/// columns too. A narrowing or sign-changing value is not, so that the
/// conversion is written where it can fail (`usize::try_from(n)?`); the
/// trait's note says so.
macro_rules! widening {
    ($($column:ty: $($narrow:ty),*;)*) => {$($(
        accepts!($column: $narrow => |v| Operand::of(&<$column>::from(v)));
        accepts!(Option<$column>: $narrow => |v| Operand::of(&<$column>::from(v)));
    )*)*};
}
widening! {
    i16: i8, u8;
    i32: i8, i16, u8, u16;
    i64: i8, i16, u8, u16, u32;
    isize: i8, i16, u8;
    u16: u8;
    u32: u8, u16;
    u64: u8, u16, u32;
    usize: u8, u16;
    f32: i8, i16, u8, u16;
    f64: f32, i8, i16, u8, u16, u32;
}

macro_rules! float_literals {
    ($($float:ty),*) => {$(
        accepts!($float: i32 => |v| Operand::Value(Value::Real(f64::from(v))));
        accepts!(Option<$float>:
            i32 => |v| Operand::Value(Value::Real(f64::from(v))),
        );
    )*};
}
float_literals!(f32, f64);

accepts!(String:
    &str => |v| Operand::Value(Value::Text(v.to_owned())),
    &String => |v| Operand::Value(Value::Text(v.clone())),
);
accepts!(Option<String>:
    &str => |v| Operand::Value(Value::Text(v.to_owned())),
    &String => |v| Operand::Value(Value::Text(v.clone())),
);

accepts!(Vec<u8>:
    &[u8] => |v| Operand::Value(Value::Blob(v.to_vec())),
    &Vec<u8> => |v| Operand::Value(Value::Blob(v.clone())),
);
accepts!(Option<Vec<u8>>:
    &[u8] => |v| Operand::Value(Value::Blob(v.to_vec())),
);

#[diagnostic::do_not_recommend]
impl<T, const N: usize> IntoOperand<T, Vec<u8>> for &[u8; N] {
    fn into_operand(self) -> Operand {
        Operand::Value(Value::Blob(self.to_vec()))
    }
}

/// A JSON column (`#[doctable(json)] tags: Vec<String>`, whose column is a
/// `Column<Doc, Json<Vec<String>>>`) takes a value of its own type, without
/// the `Json` wrapper: `set(Doc::tags, vec!["a".to_string()])`.
#[diagnostic::do_not_recommend]
impl<T, V: crate::json::JsonValue> IntoOperand<T, crate::json::Json<V>> for V {
    fn into_operand(self) -> Operand {
        Operand::of(&crate::json::Json(self))
    }
}
