//! Primary key values given to `get` and `delete_key`: one value for a key of
//! one column, a tuple of values (in key order) for a composite key.

use crate::column_type::ColumnType;
use crate::error::{Error, Result};
use crate::expr::{IntoOperand, Operand};
use crate::meta::TableMeta;
use crate::value::Value;

/// A value for the primary key of table `T`, whose key type is `K`: for a key
/// of one column, anything that [`IntoOperand`] takes for that column (`1`
/// for an `Option<i64>` key, `"slug"` for a `String` key); for a composite
/// key, a tuple of such values in key order (`("en", 3)` for a key
/// `(String, i64)`).
///
/// ```
/// # use doctable::{DocTable, Persistent};
/// #[derive(DocTable, Debug, PartialEq)]
/// #[doctable(primary_key(lang, word))]
/// struct Count { lang: String, word: String, n: i64 }
///
/// # let db = Persistent::open_in_memory()?; Count::create_table(&db)?;
/// Count::insert(&db, &Count { lang: "en".into(), word: "the".into(), n: 7 })?;
/// let found = Count::get(&db, ("en", "the"))?;
/// assert_eq!(found.map(|c| c.n), Some(7));
/// # Ok::<(), doctable::Error>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a primary key value of table `{T}`",
    label = "expected a key of type `{K}`",
    note = "the key of `{T}` is `{K}`: write its values in that order, as a tuple for a composite key (each value as a filter on its column takes it: `&str` for `String`, an integer literal for an integer)"
)]
pub trait IntoKey<T, K> {
    /// The key's values, one per key column (a `[Value; N]`).
    #[doc(hidden)]
    type Values: AsRef<[Value]>;

    /// The key's values, in key order; a value that does not fit its key
    /// column of `meta` is an error naming that column.
    #[doc(hidden)]
    fn into_key_values(self, meta: &TableMeta) -> Result<Self::Values>;
}

#[diagnostic::do_not_recommend]
impl<T, K: ColumnType, V: IntoOperand<T, K>> IntoKey<T, K> for V {
    type Values = [Value; 1];

    #[inline]
    fn into_key_values(self, meta: &TableMeta) -> Result<[Value; 1]> {
        Ok([key_value(self.into_operand(), meta, 0)?])
    }
}

macro_rules! key_tuple {
    ($n:literal: $($key:ident $value:ident $index:tt),+) => {
        #[diagnostic::do_not_recommend]
        impl<T, $($key: ColumnType, $value: IntoOperand<T, $key>),+> IntoKey<T, ($($key,)+)> for ($($value,)+) {
            type Values = [Value; $n];

            fn into_key_values(self, meta: &TableMeta) -> Result<[Value; $n]> {
                Ok([$(key_value(self.$index.into_operand(), meta, $index)?),+])
            }
        }
    };
}
key_tuple!(2: KA A 0, KB B 1);
key_tuple!(3: KA A 0, KB B 1, KC C 2);
key_tuple!(4: KA A 0, KB B 1, KC C 2, KD D 3);
key_tuple!(5: KA A 0, KB B 1, KC C 2, KD D 3, KE E 4);
key_tuple!(6: KA A 0, KB B 1, KC C 2, KD D 3, KE E 4, KF F 5);

/// The value of key column number `position` (0-based, in key order) of `meta`.
#[inline]
fn key_value(operand: Operand, meta: &TableMeta, position: usize) -> Result<Value> {
    match operand {
        Operand::Value(value) => Ok(value),
        other => Err(not_a_key_value(other, meta, position)),
    }
}

#[cold]
fn not_a_key_value(operand: Operand, meta: &TableMeta, position: usize) -> Error {
    let column = meta.key_columns().nth(position).map_or("(key)", |c| c.name);
    match operand {
        Operand::Invalid(detail) => Error::conversion(meta.name, column, detail),
        Operand::Value(_) | Operand::Sql(_) => Error::Usage(format!(
            "table `{}`: a key is given as values, not as a column or expression; use `select().filter(..)`",
            meta.name
        )),
    }
}

/// One key column's value as SQL would print it, for messages; `None` for a
/// value that cannot be printed.
#[doc(hidden)]
pub fn key_part<V: ColumnType>(value: &V) -> Option<Value> {
    match Operand::of(value) {
        Operand::Value(value) => Some(value),
        Operand::Sql(_) | Operand::Invalid(_) => None,
    }
}

/// A row's key for messages: one value as SQL prints it (a NULL key is
/// "not set"), a composite key as `(a, b)`.
#[doc(hidden)]
pub fn describe_key(parts: &[Option<Value>]) -> String {
    let literal = |part: &Option<Value>| match part {
        Some(value) => crate::value::sql_literal(value.as_ref()),
        None => "(unprintable key)".to_owned(),
    };
    match parts {
        [Some(Value::Null)] => "NULL (the row's key is not set)".to_owned(),
        [only] => literal(only),
        parts => format!(
            "({})",
            parts.iter().map(literal).collect::<Vec<_>>().join(", ")
        ),
    }
}
