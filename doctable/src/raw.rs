//! What raw SQL takes ([`Expr::raw`](crate::Expr::raw),
//! [`DocTable::select_sql`](crate::DocTable::select_sql),
//! [`select_sql`](crate::select_sql)): its text, which must be a string
//! literal, and its parameters, bound one per `?`.

use crate::value::{IntoValue, Value, owned_params};

/// SQL text for raw SQL: a string literal (`&'static str`).
///
/// The text is `'static` so that no value can be formatted into it: text
/// built at run time (`format!`, a `String`) is where SQL injection comes
/// from, so it does not compile; values go in the parameters and are bound.
/// (A `&str` borrowed from a `String` fails too, with the compiler's
/// "borrowed value does not live long enough": the same rule.)
///
/// ```compile_fail
/// # use doctable::{DocTable, Expr};
/// # #[derive(DocTable)] struct Doc { #[doctable(primary_key)] id: Option<i64>, title: String }
/// let title = "x";
/// let pasted: Expr<Doc, bool> = Expr::raw(format!("\"title\" = '{title}'"), ());
/// ```
#[diagnostic::on_unimplemented(
    message = "raw SQL text must be a string literal (`&'static str`), not `{Self}`",
    label = "SQL text made at run time could carry values pasted into it",
    note = "put each value in the parameters, one per `?`, so it is bound and never becomes SQL: `Expr::raw(\"\\\"title\\\" = ?\", [title])`",
    note = "only a literal (or a `const`/`static` `&str`) is accepted, so no `format!` can reach the SQL"
)]
pub trait SqlText {
    /// The text.
    #[doc(hidden)]
    fn text(self) -> &'static str;
}

impl SqlText for &'static str {
    fn text(self) -> &'static str {
        self
    }
}

/// The parameters of raw SQL, one per `?` in order: `()` for none, an array
/// or `Vec` of one type (`[200]`, `vec![a, b]`), a slice (so
/// `rusqlite::params![..]` works), or a tuple of up to 8 values of different
/// types (`(2001, "title")`). Each value is an [`IntoValue`].
///
/// `()` needs no type annotation; an empty array `[]` does (its element type
/// is unknown to the compiler), so write `()` for no parameters.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the parameters of raw SQL",
    label = "expected `()`, an array, `Vec` or slice of values, or a tuple of values",
    note = "for no parameters write `()`; for values `[1, 2]` or `(2001, \"title\")`"
)]
pub trait RawParams {
    /// The values to bind, or which one failed and why.
    #[doc(hidden)]
    fn into_values(self) -> Result<Vec<Value>, String>;
}

impl RawParams for () {
    fn into_values(self) -> Result<Vec<Value>, String> {
        Ok(Vec::new())
    }
}

impl<P: IntoValue, const N: usize> RawParams for [P; N] {
    fn into_values(self) -> Result<Vec<Value>, String> {
        owned_params(self)
    }
}

impl<P: IntoValue + Clone, const N: usize> RawParams for &[P; N] {
    fn into_values(self) -> Result<Vec<Value>, String> {
        owned_params(self)
    }
}

impl<P: IntoValue> RawParams for Vec<P> {
    fn into_values(self) -> Result<Vec<Value>, String> {
        owned_params(self)
    }
}

impl<P: IntoValue + Clone> RawParams for &Vec<P> {
    fn into_values(self) -> Result<Vec<Value>, String> {
        owned_params(self)
    }
}

impl<P: IntoValue + Clone> RawParams for &[P] {
    fn into_values(self) -> Result<Vec<Value>, String> {
        owned_params(self)
    }
}

macro_rules! tuple_params {
    ($($name:ident $index:tt),+) => {
        impl<$($name: IntoValue),+> RawParams for ($($name,)+) {
            fn into_values(self) -> Result<Vec<Value>, String> {
                Ok(vec![$(
                    self.$index
                        .into_value()
                        .map_err(|e| format!("parameter {}: {e}", $index + 1))?,
                )+])
            }
        }
    };
}
tuple_params!(A 0);
tuple_params!(A 0, B 1);
tuple_params!(A 0, B 1, C 2);
tuple_params!(A 0, B 1, C 2, D 3);
tuple_params!(A 0, B 1, C 2, D 3, E 4);
tuple_params!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_params!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_params!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
