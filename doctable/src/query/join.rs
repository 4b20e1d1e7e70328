//! Typed joins of two or more tables:
//! `Doc::select().join(Doc::author_id, Author::id).join(Doc::venue_id, Venue::id)`,
//! read as whole rows or, after `select_cols`, as chosen columns and aggregates.
//!
//! The tables of a join are carried in its type, so a column of a table the
//! query does not join does not compile: [`InQuery`] says which tables a
//! query has.

use std::marker::PhantomData;

use super::select::{and_into, push_keys, push_where};
use super::selection::Selection;
use super::{check, for_all_rows, for_rows};
use crate::backend::{Backend, Dialect};
use crate::column_type::{ColumnType, OrNull};
use crate::conn::Conn;
use crate::dialect::{push_ident, push_qualified};
use crate::error::{Error, Result};
use crate::expr::{Column, Expr, Fragment, IntoOrder};
use crate::json::ReadAs;
use crate::record::Record;
use crate::value::ValueRef;

/// Marks a table of the query before its last join, for [`InQuery`]: `S`
/// says where it is in the tables before.
pub struct Left<S>(PhantomData<fn() -> S>);
/// Marks the table of a join's last `join(..)`, for [`InQuery`].
#[derive(Debug)]
pub enum Right {}
/// Marks the table of a one-table query, for [`InQuery`].
#[derive(Debug)]
pub enum Here {}

/// A table whose row is always there in a join (`No`), or may be missing
/// because it is the right side of a left join (`Yes`): what a column of it
/// reads as in `select_cols`.
#[doc(hidden)]
pub trait Optional<V> {
    /// The type a column of type `V` reads as.
    type Read: ColumnType;
}
/// A table every row of the join has.
#[doc(hidden)]
#[derive(Debug)]
pub enum No {}
/// A table a row of a left join may lack.
#[doc(hidden)]
#[derive(Debug)]
pub enum Yes {}
impl<V: ColumnType> Optional<V> for No {
    type Read = V;
}
impl<V: OrNull> Optional<V> for Yes {
    type Read = V::Nullable;
}

/// Table `Self` is one of the tables of the query `J`; `Side` says which, and
/// is inferred.
#[diagnostic::on_unimplemented(
    message = "table `{Self}` is not part of this query",
    label = "this refers to `{Self}`, which the query does not join",
    note = "filter, order and select columns of the joined tables only, or add a join"
)]
pub trait InQuery<J, Side> {
    /// Whether a row of the query may lack this table's row (a left join's
    /// right side): [`Yes`] or [`No`].
    #[doc(hidden)]
    type Optional;
}
#[diagnostic::do_not_recommend]
impl<T: Record> InQuery<T, Here> for T {
    type Optional = No;
}
#[diagnostic::do_not_recommend]
impl<L, B, K: JoinKind> InQuery<Join<L, B, K>, Right> for B {
    type Optional = K::Optional;
}
#[diagnostic::do_not_recommend]
impl<L, B, K, X, S> InQuery<Join<L, B, K>, Left<S>> for X
where
    X: InQuery<L, S>,
{
    type Optional = <X as InQuery<L, S>>::Optional;
}

/// Column types that can be compared in a join condition: the same type, or
/// the same type where one side is an `Option` (a nullable foreign key, or an
/// `Option<i64>` primary key).
#[diagnostic::on_unimplemented(
    message = "cannot join a column of type `{Self}` with a column of type `{W}`",
    label = "join columns must hold the same type (either may be an `Option` of it)"
)]
pub trait Joinable<W> {}
impl<V> Joinable<V> for V {}
impl<V> Joinable<Option<V>> for V {}
impl<V> Joinable<V> for Option<V> {}

/// An inner join: every row pairs a left row with a right row that matches.
#[derive(Debug)]
pub enum Inner {}
/// A left join: every left row, with the matching right row or `None`.
#[derive(Debug)]
pub enum Outer {}

/// How a join reads the right-hand row.
pub trait JoinKind {
    /// `B` for an inner join, `Option<B>` for a left join.
    type Right<B>;
    /// Whether a row may lack the right table's row: [`Yes`] or [`No`].
    #[doc(hidden)]
    type Optional;
    #[doc(hidden)]
    const KEYWORD: &'static str;
    #[doc(hidden)]
    fn read_right<D: Backend, B: Record>(
        row: &D::Row<'_>,
        first: usize,
        key_index: usize,
    ) -> Result<Self::Right<B>>;
}

impl JoinKind for Inner {
    type Right<B> = B;
    type Optional = No;
    const KEYWORD: &'static str = " JOIN ";
    fn read_right<D: Backend, B: Record>(row: &D::Row<'_>, first: usize, _: usize) -> Result<B> {
        crate::record::read_row::<D, B>(row, first)
    }
}

impl JoinKind for Outer {
    type Right<B> = Option<B>;
    type Optional = Yes;
    const KEYWORD: &'static str = " LEFT JOIN ";
    fn read_right<D: Backend, B: Record>(
        row: &D::Row<'_>,
        first: usize,
        key_index: usize,
    ) -> Result<Option<B>> {
        // A matched right row has a non-NULL join column (NULL never equals anything).
        let key = D::value_at(row, first + key_index, B::__META.name)?;
        if matches!(key, ValueRef::Null) {
            Ok(None)
        } else {
            crate::record::read_row::<D, B>(row, first).map(Some)
        }
    }
}

/// A tuple with one more element at its end: how a join's row grows by a table.
#[doc(hidden)]
pub trait Append<X> {
    /// `(A, .., X)`.
    type Out;
    /// `self` with `x` at its end.
    fn append(self, x: X) -> Self::Out;
}
macro_rules! append {
    ($($name:ident $index:tt),+) => {
        impl<$($name,)+ X> Append<X> for ($($name,)+) {
            type Out = ($($name,)+ X);
            fn append(self, x: X) -> Self::Out {
                ($(self.$index,)+ x)
            }
        }
    };
}
append!(A 0);
append!(A 0, B 1);
append!(A 0, B 1, C 2);
append!(A 0, B 1, C 2, D 3);
append!(A 0, B 1, C 2, D 3, E 4);

/// One `JOIN <table> ON <left> = <right>` of a query.
#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct Step {
    keyword: &'static str,
    table: &'static str,
    on: Fragment,
    /// Where the right join column is among the table's columns.
    key_index: usize,
}

/// The tables of a query, in the order they are read: one table, or a
/// [`Join`] of tables. Implemented for every table and every join.
#[doc(hidden)]
pub trait Tables {
    /// A whole row: a tuple of each table's struct (`Option` of it for the
    /// right side of a left join).
    type Row;
    /// The table the query is `FROM`.
    const FIRST: &'static str;
    /// Whether any of the tables has `#[doctable(file)]` columns.
    #[doc(hidden)]
    const HAS_FILES: bool;
    /// Appends every stored column of every table, qualified.
    fn push_columns(out: &mut String);
    /// Every table's name, in order.
    fn names(out: &mut Vec<&'static str>);
    /// Reads a whole row from column `*next` on, taking one join step per
    /// joined table, and moves `*next` past it.
    fn read<D: Backend>(
        row: &D::Row<'_>,
        next: &mut usize,
        steps: &mut std::slice::Iter<'_, Step>,
    ) -> Result<Self::Row>;
}

impl<T: Record> Tables for T {
    type Row = (T,);
    const FIRST: &'static str = T::__META.name;
    const HAS_FILES: bool = T::__HAS_FILES;
    fn push_columns(out: &mut String) {
        out.push_str(T::__sql().columns(T::__META));
    }
    fn names(out: &mut Vec<&'static str>) {
        out.push(T::__META.name);
    }
    fn read<D: Backend>(
        row: &D::Row<'_>,
        next: &mut usize,
        _: &mut std::slice::Iter<'_, Step>,
    ) -> Result<(T,)> {
        let value = crate::record::read_row::<D, T>(row, *next)?;
        *next += T::__META.columns.len();
        Ok((value,))
    }
}

impl<L: Tables, B: Record, K: JoinKind> Tables for Join<L, B, K>
where
    L::Row: Append<K::Right<B>>,
{
    type Row = <L::Row as Append<K::Right<B>>>::Out;
    const FIRST: &'static str = L::FIRST;
    const HAS_FILES: bool = L::HAS_FILES || B::__HAS_FILES;
    fn push_columns(out: &mut String) {
        L::push_columns(out);
        out.push_str(", ");
        out.push_str(B::__sql().columns(B::__META));
    }
    fn names(out: &mut Vec<&'static str>) {
        L::names(out);
        out.push(B::__META.name);
    }
    fn read<D: Backend>(
        row: &D::Row<'_>,
        next: &mut usize,
        steps: &mut std::slice::Iter<'_, Step>,
    ) -> Result<Self::Row> {
        let left = L::read::<D>(row, next, steps)?;
        let key_index = steps.next().map_or(0, |s| s.key_index);
        let right = K::read_right::<D, B>(row, *next, key_index)?;
        *next += B::__META.columns.len();
        Ok(left.append(right))
    }
}

/// Something `select_cols` on a join can read: a column or expression of any
/// of its tables, or a tuple of up to 12 of them. `M` is inferred.
///
/// A column of the right side of a left join reads as `Option` of its type
/// (NULL where no row matched); an expression keeps its type (aggregates:
/// `count` is 0 and `sum`, `avg`, `min`, `max` are `None` over no rows).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be selected from this join",
    label = "expected a column or expression of one of the joined tables, or a tuple of them",
    note = "for example `select_cols((Author::name, Doc::id.count()))`"
)]
pub trait JoinSelection<J, M> {
    /// What one row reads as.
    type Row;
    #[doc(hidden)]
    fn push_sql(&self, out: &mut Fragment);
    #[doc(hidden)]
    fn push_items(&self, out: &mut Vec<Fragment>);
    #[doc(hidden)]
    fn read<D: Backend>(&self, row: &D::Row<'_>, next: &mut usize) -> Result<Self::Row>;
}

impl<J, X, V, M, Side> JoinSelection<J, Side> for Column<X, V, M>
where
    X: InQuery<J, Side> + Record,
    X::Optional: Optional<V>,
    M: ReadAs<<X::Optional as Optional<V>>::Read>,
{
    type Row = M::Read;
    fn push_sql(&self, out: &mut Fragment) {
        out.append(self.expr().fragment);
    }
    fn push_items(&self, out: &mut Vec<Fragment>) {
        out.push(self.expr().fragment);
    }
    fn read<D: Backend>(&self, row: &D::Row<'_>, next: &mut usize) -> Result<Self::Row> {
        let column = Column::<X, <X::Optional as Optional<V>>::Read, M>::new(self.name());
        Selection::<X>::read::<D>(&column, row, next)
    }
}

impl<J, X, V, Side> JoinSelection<J, Side> for Expr<X, V>
where
    X: InQuery<J, Side> + Record,
    V: ColumnType,
{
    type Row = V;
    fn push_sql(&self, out: &mut Fragment) {
        Selection::<X>::push_sql(self, out);
    }
    fn push_items(&self, out: &mut Vec<Fragment>) {
        Selection::<X>::push_items(self, out);
    }
    fn read<D: Backend>(&self, row: &D::Row<'_>, next: &mut usize) -> Result<V> {
        Selection::<X>::read::<D>(self, row, next)
    }
}

macro_rules! tuple_join_selection {
    ($($name:ident $marker:ident $index:tt),+) => {
        impl<J, $($name: JoinSelection<J, $marker>, $marker),+> JoinSelection<J, ($($marker,)+)>
            for ($($name,)+)
        {
            type Row = ($($name::Row,)+);
            fn push_sql(&self, out: &mut Fragment) {
                let mut first = true;
                $(
                    if !first { out.sql.push_str(", "); }
                    first = false;
                    self.$index.push_sql(out);
                )+
                let _ = first;
            }
            fn push_items(&self, out: &mut Vec<Fragment>) {
                $( self.$index.push_items(out); )+
            }
            fn read<__D: Backend>(&self, row: &__D::Row<'_>, next: &mut usize) -> Result<Self::Row> {
                Ok(($(self.$index.read::<__D>(row, next)?,)+))
            }
        }
    };
}
tuple_join_selection!(A MA 0);
tuple_join_selection!(A MA 0, B MB 1);
tuple_join_selection!(A MA 0, B MB 1, C MC 2);
tuple_join_selection!(A MA 0, B MB 1, C MC 2, D MD 3);
tuple_join_selection!(A MA 0, B MB 1, C MC 2, D MD 3, E ME 4);
tuple_join_selection!(A MA 0, B MB 1, C MC 2, D MD 3, E ME 4, F MF 5);
tuple_join_selection!(A MA 0, B MB 1, C MC 2, D MD 3, E ME 4, F MF 5, G MG 6);
tuple_join_selection!(A MA 0, B MB 1, C MC 2, D MD 3, E ME 4, F MF 5, G MG 6, H MH 7);
tuple_join_selection!(A MA 0, B MB 1, C MC 2, D MD 3, E ME 4, F MF 5, G MG 6, H MH 7, I MI 8);
tuple_join_selection!(A MA 0, B MB 1, C MC 2, D MD 3, E ME 4, F MF 5, G MG 6, H MH 7, I MI 8, K MK 9);
tuple_join_selection!(A MA 0, B MB 1, C MC 2, D MD 3, E ME 4, F MF 5, G MG 6, H MH 7, I MI 8, K MK 9, L ML 10);
tuple_join_selection!(A MA 0, B MB 1, C MC 2, D MD 3, E ME 4, F MF 5, G MG 6, H MH 7, I MI 8, K MK 9, L ML 10, N MN 11);

/// What a join reads per row: its whole rows ([`Whole`]), or the columns
/// chosen by `select_cols` ([`Picked`]).
#[doc(hidden)]
pub trait JoinRead<J> {
    /// One row.
    type Row;
    #[doc(hidden)]
    fn push_sql(&self, out: &mut Fragment);
    #[doc(hidden)]
    fn push_items(&self, out: &mut Vec<Fragment>);
    #[doc(hidden)]
    fn read<D: Backend>(&self, row: &D::Row<'_>, steps: &[Step]) -> Result<Self::Row>;
}

/// A join read as whole rows: a tuple of each table's struct.
#[derive(Debug, Clone, Copy, Default)]
pub struct Whole;

impl<J: Tables> JoinRead<J> for Whole {
    type Row = J::Row;
    fn push_sql(&self, out: &mut Fragment) {
        J::push_columns(&mut out.sql);
    }
    fn push_items(&self, _: &mut Vec<Fragment>) {
        // Whole rows are read with no parameterised expression among them:
        // no GROUP BY or ORDER BY key refers to one by position.
    }
    fn read<D: Backend>(&self, row: &D::Row<'_>, steps: &[Step]) -> Result<J::Row> {
        J::read::<D>(row, &mut 0, &mut steps.iter())
    }
}

/// A join read as the columns and expressions `select_cols` chose.
pub struct Picked<S, M> {
    selection: S,
    _marker: PhantomData<fn() -> M>,
}

impl<J, S: JoinSelection<J, M>, M> JoinRead<J> for Picked<S, M> {
    type Row = S::Row;
    fn push_sql(&self, out: &mut Fragment) {
        self.selection.push_sql(out);
    }
    fn push_items(&self, out: &mut Vec<Fragment>) {
        self.selection.push_items(out);
    }
    fn read<D: Backend>(&self, row: &D::Row<'_>, _: &[Step]) -> Result<S::Row> {
        self.selection.read::<D>(row, &mut 0)
    }
}

/// The tables and kind of a [`Join`], carried only in its type.
type JoinTypes<L, B, K> = fn() -> (L, B, K);

/// A select over joined tables, made by [`Select::join`](super::Select::join)
/// or [`Select::left_join`](super::Select::left_join), and by `join` /
/// `left_join` on a join for a third table and more (up to six).
///
/// It reads whole rows, `(A, B)` for an inner join and `(A, Option<B>)` for
/// a left join (`(A, B, C)` for three tables), or, after
/// [`select_cols`](Join::select_cols), the chosen columns and aggregates of
/// any of its tables. `filter`, `order_by`, `group_by`, `having` and
/// `distinct` take columns and expressions of any of its tables, one table
/// per expression.
///
/// ```
/// use doctable::{DocTable, Persistent};
///
/// #[derive(DocTable, Debug, Clone, PartialEq)]
/// struct Author { #[doctable(primary_key)] id: Option<i64>, name: String }
/// #[derive(DocTable, Debug, Clone, PartialEq)]
/// struct Doc { #[doctable(primary_key)] id: Option<i64>, author_id: Option<i64>, title: String, words: i64 }
///
/// let db = Persistent::open_in_memory()?;
/// Author::create_table(&db)?;
/// Doc::create_table(&db)?;
/// let ada = Author::insert(&db, &Author { id: None, name: "Ada".into() })?;
/// Doc::insert(&db, &Doc { id: None, author_id: Some(ada), title: "Notes".into(), words: 10 })?;
/// Doc::insert(&db, &Doc { id: None, author_id: Some(ada), title: "Letters".into(), words: 5 })?;
/// Doc::insert(&db, &Doc { id: None, author_id: None, title: "Anonymous".into(), words: 1 })?;
///
/// let pairs: Vec<(Doc, Author)> = Doc::select()
///     .join(Doc::author_id, Author::id)
///     .filter(Author::name.eq("Ada"))
///     .all(&db)?;
/// assert_eq!(pairs.len(), 2);
///
/// let all: Vec<(Doc, Option<Author>)> = Doc::select()
///     .left_join(Doc::author_id, Author::id)
///     .order_by(Doc::title)
///     .all(&db)?;
/// assert_eq!(all[0].1, None); // "Anonymous" has no author
///
/// // Per author: the number of documents and their words.
/// let per_author: Vec<(String, i64, Option<i64>)> = Doc::select()
///     .join(Doc::author_id, Author::id)
///     .select_cols((Author::name, Doc::id.count(), Doc::words.sum()))
///     .group_by(Author::name)
///     .having(Doc::id.count().ge(2))
///     .all(&db)?;
/// assert_eq!(per_author, [("Ada".to_string(), 2, Some(15))]);
/// # Ok::<(), doctable::Error>(())
/// ```
#[must_use = "a query does nothing until `all` or `first` runs it"]
pub struct Join<L, B, K, S = Whole> {
    selection: S,
    /// One per table after the first, in order.
    steps: Vec<Step>,
    distinct: bool,
    filter: Option<Fragment>,
    group_by: Vec<Fragment>,
    having: Option<Fragment>,
    order_by: Vec<Fragment>,
    limit: Option<u64>,
    offset: Option<u64>,
    _marker: PhantomData<JoinTypes<L, B, K>>,
}

impl<L, B, K, S: Clone> Clone for Join<L, B, K, S> {
    fn clone(&self) -> Self {
        Join {
            selection: self.selection.clone(),
            steps: self.steps.clone(),
            distinct: self.distinct,
            filter: self.filter.clone(),
            group_by: self.group_by.clone(),
            having: self.having.clone(),
            order_by: self.order_by.clone(),
            limit: self.limit,
            offset: self.offset,
            _marker: PhantomData,
        }
    }
}

impl<S: Clone, M> Clone for Picked<S, M> {
    fn clone(&self) -> Self {
        Picked {
            selection: self.selection.clone(),
            _marker: PhantomData,
        }
    }
}

/// The modifiers a select carries into a join made from it.
pub(crate) struct Carried {
    pub(crate) distinct: bool,
    pub(crate) filter: Option<Fragment>,
    pub(crate) group_by: Vec<Fragment>,
    pub(crate) having: Option<Fragment>,
    pub(crate) order_by: Vec<Fragment>,
    pub(crate) limit: Option<u64>,
    pub(crate) offset: Option<u64>,
}

/// The step `JOIN <B> ON <X>.<left> = <B>.<right>`.
fn step<X: Record, B: Record, K: JoinKind>(left: &'static str, right: &'static str) -> Step {
    let mut on = Fragment::default();
    push_qualified(&mut on.sql, X::__META.name, left);
    on.sql.push_str(" = ");
    push_qualified(&mut on.sql, B::__META.name, right);
    // `right` names a column of `B` (it came from a `Column<B, _>`), so the
    // fallback is never taken.
    let key_index = B::__META
        .columns
        .iter()
        .position(|c| c.name == right)
        .unwrap_or(0);
    Step {
        keyword: K::KEYWORD,
        table: B::__META.name,
        on,
        key_index,
    }
}

impl<A: Record, B: Record, K: JoinKind> Join<A, B, K> {
    pub(crate) fn new<V: Joinable<W>, W>(
        left: Column<A, V>,
        right: Column<B, W>,
        carried: Carried,
    ) -> Self {
        Join {
            selection: Whole,
            steps: vec![step::<A, B, K>(left.name(), right.name())],
            distinct: carried.distinct,
            filter: carried.filter,
            group_by: carried.group_by,
            having: carried.having,
            order_by: carried.order_by,
            limit: carried.limit,
            offset: carried.offset,
            _marker: PhantomData,
        }
    }
}

impl<L, B, K> Join<L, B, K> {
    fn then<C, K2>(self, step: Step) -> Join<Join<L, B, K>, C, K2> {
        let mut steps = self.steps;
        steps.push(step);
        Join {
            selection: Whole,
            steps,
            distinct: self.distinct,
            filter: self.filter,
            group_by: self.group_by,
            having: self.having,
            order_by: self.order_by,
            limit: self.limit,
            offset: self.offset,
            _marker: PhantomData,
        }
    }

    /// Joins one more table `C` where `left` (a column of any table joined
    /// so far) equals `right`; rows grow by `C`.
    pub fn join<C: Record, X, V: Joinable<W>, W, Side>(
        self,
        left: Column<X, V>,
        right: Column<C, W>,
    ) -> Join<Join<L, B, K>, C, Inner>
    where
        X: Record + InQuery<Join<L, B, K>, Side>,
    {
        self.then(step::<X, C, Inner>(left.name(), right.name()))
    }

    /// Left-joins one more table `C` where `left` (a column of any table
    /// joined so far) equals `right`; rows grow by `Option<C>`.
    pub fn left_join<C: Record, X, V: Joinable<W>, W, Side>(
        self,
        left: Column<X, V>,
        right: Column<C, W>,
    ) -> Join<Join<L, B, K>, C, Outer>
    where
        X: Record + InQuery<Join<L, B, K>, Side>,
    {
        self.then(step::<X, C, Outer>(left.name(), right.name()))
    }

    /// Reads the chosen columns and expressions of any of the joined tables
    /// instead of whole rows: a column, an aggregate, or a tuple of up to 12,
    /// as [`DocTable::select_cols`](crate::DocTable::select_cols) does for one
    /// table. A column of the right side of a left join reads as an `Option`.
    pub fn select_cols<S, M>(self, selection: S) -> Join<L, B, K, Picked<S, M>>
    where
        S: JoinSelection<Join<L, B, K>, M>,
    {
        Join {
            selection: Picked {
                selection,
                _marker: PhantomData,
            },
            steps: self.steps,
            distinct: self.distinct,
            filter: self.filter,
            group_by: self.group_by,
            having: self.having,
            order_by: self.order_by,
            limit: self.limit,
            offset: self.offset,
            _marker: PhantomData,
        }
    }
}

impl<L, B, K, S> Join<L, B, K, S> {
    /// Keeps rows where `condition`, over one of the tables, holds; several
    /// calls are ANDed.
    pub fn filter<X, Side>(mut self, condition: Expr<X, bool>) -> Self
    where
        X: InQuery<Join<L, B, K>, Side>,
    {
        and_into(&mut self.filter, condition.fragment);
        self
    }

    /// Orders by a column or expression of one of the tables; several calls add keys.
    pub fn order_by<X, Side>(mut self, order: impl IntoOrder<X>) -> Self
    where
        X: InQuery<Join<L, B, K>, Side>,
    {
        self.order_by.push(order.into_order().fragment);
        self
    }

    /// Groups by a column or expression of one of the tables, for aggregates
    /// in [`select_cols`](Join::select_cols); several calls add keys.
    pub fn group_by<X, V, Side>(mut self, key: impl Into<Expr<X, V>>) -> Self
    where
        X: InQuery<Join<L, B, K>, Side>,
    {
        self.group_by.push(key.into().fragment);
        self
    }

    /// Keeps groups where `condition` (usually over aggregates) holds;
    /// several calls are ANDed.
    pub fn having<X, Side>(mut self, condition: Expr<X, bool>) -> Self
    where
        X: InQuery<Join<L, B, K>, Side>,
    {
        and_into(&mut self.having, condition.fragment);
        self
    }

    /// Drops duplicate rows (`SELECT DISTINCT`).
    pub fn distinct(mut self) -> Self {
        self.distinct = true;
        self
    }

    /// Reads at most `n` rows (any unsigned integer, or a literal; see [`RowCount`](crate::RowCount)).
    pub fn limit(mut self, n: impl super::RowCount) -> Self {
        self.limit = Some(n.rows());
        self
    }

    /// Skips the first `n` rows (any unsigned integer, or a literal).
    pub fn offset(mut self, n: impl super::RowCount) -> Self {
        self.offset = Some(n.rows());
        self
    }
}

impl<L, B, K, S> Join<L, B, K, S>
where
    Join<L, B, K>: Tables,
    S: JoinRead<Join<L, B, K>>,
{
    fn build<D: Backend>(&self, limit: Option<u64>) -> Result<Fragment> {
        let first = <Join<L, B, K> as Tables>::FIRST;
        let mut names = Vec::new();
        <Join<L, B, K> as Tables>::names(&mut names);
        if let Some(twice) = names
            .iter()
            .enumerate()
            .find_map(|(i, n)| names.get(..i)?.contains(n).then_some(*n))
        {
            return Err(Error::Usage(format!(
                "table `{twice}` joined with itself: self-joins need table aliases, which the \
                 typed join does not make; use `doctable::select_sql`"
            )));
        }
        let mut q = Fragment::default();
        q.sql.push_str(if self.distinct {
            "SELECT DISTINCT "
        } else {
            "SELECT "
        });
        self.selection.push_sql(&mut q);
        q.sql.push_str(" FROM ");
        push_ident(&mut q.sql, first);
        for step in &self.steps {
            q.sql.push_str(step.keyword);
            push_ident(&mut q.sql, step.table);
            q.sql.push_str(" ON ");
            q.append_ref(&step.on);
        }
        push_where(&mut q, &self.filter);
        // As `Select` does: a key with values equal to a selected expression
        // is written as its position (PostgreSQL compares `$1 * x` and
        // `$3 * x` as different expressions).
        let mut selected = Vec::new();
        let with_values = |keys: &[Fragment]| keys.iter().any(|key| !key.params.is_empty());
        if with_values(&self.group_by) || with_values(&self.order_by) {
            self.selection.push_items(&mut selected);
        }
        push_keys(&mut q, " GROUP BY ", &self.group_by, &selected);
        if let Some(h) = &self.having {
            q.sql.push_str(" HAVING ");
            q.append_ref(h);
        }
        push_keys(&mut q, " ORDER BY ", &self.order_by, &selected);
        D::Dialect::push_limit_offset(
            &mut q.sql,
            super::select::tighter(limit, self.limit),
            self.offset,
        );
        check(first, &q)?;
        Ok(q)
    }

    /// The SQL text this query runs on SQLite (values appear as `?`).
    #[cfg(feature = "sqlite")]
    pub fn sql(&self) -> Result<String> {
        self.build::<crate::sqlite::Sqlite>(None).map(|q| q.sql)
    }

    /// Runs the join and reads every row.
    pub fn all(&self, conn: &impl Conn) -> Result<Vec<S::Row>> {
        let mut out = Vec::new();
        self.run(conn, None, false, |row| {
            out.push(row);
            Ok(true)
        })?;
        Ok(out)
    }

    /// Runs the join for its first row only.
    pub fn first(&self, conn: &impl Conn) -> Result<Option<S::Row>> {
        let mut out = None;
        self.run(conn, Some(1), false, |row| {
            out = Some(row);
            Ok(false)
        })?;
        Ok(out)
    }

    /// Runs the join and hands each row to `f` as it is read, without
    /// collecting them; stops at the first error, from reading or from `f`.
    /// As with [`Select::for_each`](super::Select::for_each), `f` cannot use
    /// the same connection while the scan reads.
    pub fn for_each(
        &self,
        conn: &impl Conn,
        mut f: impl FnMut(S::Row) -> Result<()>,
    ) -> Result<()> {
        self.run(conn, None, true, |row| {
            f(row)?;
            Ok(true)
        })
    }

    /// Runs the join and hands the rows to `f` in batches of up to `size`
    /// (the last may be shorter); memory holds one batch. A `size` of 0 is an
    /// [`Error::Usage`]. `f` cannot use the same connection (see
    /// [`for_each`](Join::for_each)).
    pub fn chunks(
        &self,
        conn: &impl Conn,
        size: usize,
        mut f: impl FnMut(Vec<S::Row>) -> Result<()>,
    ) -> Result<()> {
        /// The most rows reserved before they are read.
        const FIRST_RESERVE: usize = 256;
        if size == 0 {
            return Err(Error::Usage(format!(
                "table `{}`: chunks of size 0 would never fill; ask for at least 1 row per chunk",
                <Join<L, B, K> as Tables>::FIRST
            )));
        }
        let mut batch = Vec::with_capacity(size.min(FIRST_RESERVE));
        self.for_each(conn, |row| {
            batch.push(row);
            if batch.len() == size {
                f(std::mem::replace(&mut batch, Vec::with_capacity(size)))?;
            }
            Ok(())
        })?;
        if !batch.is_empty() {
            f(batch)?;
        }
        Ok(())
    }

    /// Runs the query (at most `limit` rows, when given) and hands each row
    /// to `each` until it returns `false`; `scan` marks the connection as
    /// being scanned while a callback of the user's runs.
    fn run<C: Conn>(
        &self,
        conn: &C,
        limit: Option<u64>,
        scan: bool,
        mut each: impl FnMut(S::Row) -> Result<bool>,
    ) -> Result<()> {
        let q = self.build::<C::Backend>(limit)?;
        let table = <Join<L, B, K> as Tables>::FIRST;
        conn.with_connection(|c| {
            let mut read = |row: &<C::Backend as Backend>::Row<'_>| {
                each(self.selection.read::<C::Backend>(row, &self.steps)?)
            };
            let files = <Join<L, B, K> as Tables>::HAS_FILES;
            crate::files::scope::<C::Backend, _>(conn.files_folder(), c, files, || {
                if scan {
                    // A callback of the user's runs between rows: stream them.
                    let _scan = crate::conn::ScanMark::enter::<C::Backend>(c, table);
                    for_rows::<C::Backend>(c, table, None, &q, read)
                } else {
                    for_all_rows::<C::Backend>(c, table, None, &q, |row, _| read(row))
                }
            })
        })
    }
}
