//! What a subquery is to the expression that holds it (`in_query`,
//! `exists`): the traits, below the query builders that implement them
//! (`query/subquery.rs`), so that the expressions can name them.

use crate::fragment::Fragment;

/// A query usable inside a condition on table `T`: a [`Select`](crate::Select)
/// (any `T`: it does not refer to the outer query), or a
/// [`Correlated`](crate::Correlated) select (the `T` it refers to).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a subquery usable in a condition on table `{T}`",
    label = "expected a select, or a select `.correlated(..)` with a column of `{T}`"
)]
pub trait Subquery<T> {
    /// What one row of it reads as: a column's type for `in_query`.
    type Row;
    /// The subquery's SQL, in the spelling every backend reads.
    #[doc(hidden)]
    fn into_fragment(self) -> Fragment;
}

/// The value types `in_query` compares: a subquery selecting the column's
/// type, or that type where one side is an `Option`.
#[diagnostic::on_unimplemented(
    message = "`in_query` compares a column of type `{W}` with a subquery that selects `{Self}`",
    label = "the subquery must select one column of type `{W}` (either may be an `Option` of it)",
    note = "select the matching column: `Other::select_cols(Other::id)`"
)]
pub trait Comparable<W> {}
impl<V> Comparable<V> for V {}
// Not listed in the error: "the trait is implemented for `Option<V>`" would
// only distract from the two types the message names.
#[diagnostic::do_not_recommend]
impl<V> Comparable<Option<V>> for V {}
#[diagnostic::do_not_recommend]
impl<V> Comparable<V> for Option<V> {}
