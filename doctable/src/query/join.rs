//! Typed joins of two tables: `Doc::select().join(Doc::author_id, Author::id)`.

use std::marker::PhantomData;

use super::select::{and_into, push_where};
use super::{check, for_rows};
use crate::backend::Backend;
use crate::conn::Conn;
use crate::dialect::{push_ident, push_qualified};
use crate::error::{Error, Result};
use crate::expr::{Column, Expr, Fragment, IntoOrder};
use crate::record::Record;
use crate::value::ValueRef;

/// Marks the left table of a join, for [`InQuery`].
#[derive(Debug)]
pub enum Left {}
/// Marks the right table of a join, for [`InQuery`].
#[derive(Debug)]
pub enum Right {}

/// Table `Self` is one of the tables of the join `J`; `Side` says which, and
/// is inferred.
#[diagnostic::on_unimplemented(
    message = "table `{Self}` is not part of this query",
    label = "this refers to `{Self}`, which the query does not join",
    note = "filter and order by columns of the joined tables only, or add a join"
)]
pub trait InQuery<J, Side> {}
impl<A, B, K> InQuery<Join<A, B, K>, Left> for A {}
impl<A, B, K> InQuery<Join<A, B, K>, Right> for B {}

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
    /// `(A, B)` for an inner join, `(A, Option<B>)` for a left join.
    type Row<A, B>;
    #[doc(hidden)]
    const KEYWORD: &'static str;
    #[doc(hidden)]
    fn pair<D: Backend, A, B: Record>(
        left: A,
        row: &D::Row<'_>,
        first: usize,
        key_index: usize,
    ) -> Result<Self::Row<A, B>>;
}

impl JoinKind for Inner {
    type Row<A, B> = (A, B);
    const KEYWORD: &'static str = " JOIN ";
    fn pair<D: Backend, A, B: Record>(
        left: A,
        row: &D::Row<'_>,
        first: usize,
        _: usize,
    ) -> Result<(A, B)> {
        Ok((left, crate::record::read_row::<D, B>(row, first)?))
    }
}

impl JoinKind for Outer {
    type Row<A, B> = (A, Option<B>);
    const KEYWORD: &'static str = " LEFT JOIN ";
    fn pair<D: Backend, A, B: Record>(
        left: A,
        row: &D::Row<'_>,
        first: usize,
        key_index: usize,
    ) -> Result<(A, Option<B>)> {
        // A matched right row has a non-NULL join column (NULL never equals anything).
        let key = D::value_at(row, first + key_index, B::__META.name)?;
        if matches!(key, ValueRef::Null) {
            Ok((left, None))
        } else {
            Ok((left, Some(crate::record::read_row::<D, B>(row, first)?)))
        }
    }
}

/// The tables and kind of a [`Join`], carried only in its type.
type JoinTypes<A, B, K> = fn() -> (A, B, K);

/// A select over two joined tables, made by [`Select::join`](super::Select::join)
/// or [`Select::left_join`](super::Select::left_join).
///
/// ```
/// use doctable::{DocTable, Persistent};
///
/// #[derive(DocTable, Debug, Clone, PartialEq)]
/// struct Author { #[doctable(primary_key)] id: Option<i64>, name: String }
/// #[derive(DocTable, Debug, Clone, PartialEq)]
/// struct Doc { #[doctable(primary_key)] id: Option<i64>, author_id: Option<i64>, title: String }
///
/// let db = Persistent::open_in_memory()?;
/// Author::create_table(&db)?;
/// Doc::create_table(&db)?;
/// let ada = Author::insert(&db, &Author { id: None, name: "Ada".into() })?;
/// Doc::insert(&db, &Doc { id: None, author_id: Some(ada), title: "Notes".into() })?;
/// Doc::insert(&db, &Doc { id: None, author_id: None, title: "Anonymous".into() })?;
///
/// let pairs: Vec<(Doc, Author)> = Doc::select()
///     .join(Doc::author_id, Author::id)
///     .filter(Author::name.eq("Ada"))
///     .all(&db)?;
/// assert_eq!(pairs.len(), 1);
///
/// let all: Vec<(Doc, Option<Author>)> = Doc::select()
///     .left_join(Doc::author_id, Author::id)
///     .order_by(Doc::title)
///     .all(&db)?;
/// assert_eq!(all[0].1, None); // "Anonymous" has no author
/// # Ok::<(), doctable::Error>(())
/// ```
#[must_use = "a query does nothing until `all` or `first` runs it"]
pub struct Join<A, B, K> {
    on: Fragment,
    right_key: &'static str,
    /// A modifier of the select that a join cannot carry (reported at run).
    refused: Option<&'static str>,
    filter: Option<Fragment>,
    order_by: Vec<Fragment>,
    limit: Option<u64>,
    offset: Option<u64>,
    _marker: PhantomData<JoinTypes<A, B, K>>,
}

impl<A: Record, B: Record, K: JoinKind> Join<A, B, K> {
    pub(crate) fn new<V: Joinable<W>, W>(
        left: Column<A, V>,
        right: Column<B, W>,
        filter: Option<Fragment>,
        order_by: Vec<Fragment>,
        limit: Option<u64>,
        offset: Option<u64>,
    ) -> Self {
        let mut on = Fragment::default();
        push_qualified(&mut on.sql, A::__META.name, left.name());
        on.sql.push_str(" = ");
        push_qualified(&mut on.sql, B::__META.name, right.name());
        Join {
            on,
            right_key: right.name(),
            refused: None,
            filter,
            order_by,
            limit,
            offset,
            _marker: PhantomData,
        }
    }

    /// Keeps rows where `condition`, over either table, holds; several calls are ANDed.
    pub fn filter<X, Side>(mut self, condition: Expr<X, bool>) -> Self
    where
        X: InQuery<Self, Side>,
    {
        and_into(&mut self.filter, condition.fragment);
        self
    }

    /// Orders by a column or expression of either table; several calls add keys.
    pub fn order_by<X, Side>(mut self, order: impl IntoOrder<X>) -> Self
    where
        X: InQuery<Self, Side>,
    {
        self.order_by.push(order.into_order().fragment);
        self
    }

    /// Reads at most `n` rows.
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }

    /// Skips the first `n` rows.
    pub fn offset(mut self, n: u64) -> Self {
        self.offset = Some(n);
        self
    }

    /// Marks the join as unable to run: the select had `what`, which a join drops.
    pub(crate) fn refuse(mut self, what: &'static str) -> Self {
        self.refused = Some(what);
        self
    }

    fn build<D: Backend>(&self, limit: Option<u64>) -> Result<Fragment> {
        let (a, b) = (A::__META, B::__META);
        if let Some(what) = self.refused {
            return Err(Error::Usage(format!(
                "table `{}`: `{what}` before `join` is not supported by the typed join; \
                 use `select_sql` for it",
                a.name
            )));
        }
        if a.name == b.name {
            return Err(Error::Usage(format!(
                "table `{}` joined with itself: self-joins need table aliases, which the typed \
                 join does not make; use `select_sql`",
                a.name
            )));
        }
        let mut q = Fragment::default();
        q.sql.push_str("SELECT ");
        q.sql.push_str(A::__sql().columns(a));
        q.sql.push_str(", ");
        q.sql.push_str(B::__sql().columns(b));
        q.sql.push_str(" FROM ");
        push_ident(&mut q.sql, a.name);
        q.sql.push_str(K::KEYWORD);
        push_ident(&mut q.sql, b.name);
        q.sql.push_str(" ON ");
        q.append(self.on.clone());
        push_where(&mut q, &self.filter);
        super::select::push_tail::<D>(
            &mut q,
            &self.order_by,
            super::select::tighter(limit, self.limit),
            self.offset,
        );
        check(a.name, &q)?;
        Ok(q)
    }

    /// The SQL text this query runs on SQLite (values appear as `?`).
    #[cfg(feature = "sqlite")]
    pub fn sql(&self) -> Result<String> {
        self.build::<crate::sqlite::Sqlite>(None).map(|q| q.sql)
    }

    /// Runs the join and reads every row.
    pub fn all(&self, conn: &impl Conn) -> Result<Vec<K::Row<A, B>>> {
        let mut out = Vec::new();
        self.run(conn, None, |row| {
            out.push(row);
            true
        })?;
        Ok(out)
    }

    /// Runs the join for its first row only.
    pub fn first(&self, conn: &impl Conn) -> Result<Option<K::Row<A, B>>> {
        let mut out = None;
        self.run(conn, Some(1), |row| {
            out = Some(row);
            false
        })?;
        Ok(out)
    }

    fn run<C: Conn>(
        &self,
        conn: &C,
        limit: Option<u64>,
        mut each: impl FnMut(K::Row<A, B>) -> bool,
    ) -> Result<()> {
        let q = self.build::<C::Backend>(limit)?;
        let right_first = A::__META.columns.len();
        // `right_key` names a column of `B` (it came from a `Column<B, _>`), so the
        // fallback is never taken.
        let key_index = B::__META
            .columns
            .iter()
            .position(|c| c.name == self.right_key)
            .unwrap_or(0);
        conn.with_connection(|c| {
            for_rows::<C::Backend>(c, A::__META.name, None, &q, |row| {
                let left = crate::record::read_row::<C::Backend, A>(row, 0)?;
                Ok(each(K::pair::<C::Backend, A, B>(
                    left,
                    row,
                    right_first,
                    key_index,
                )?))
            })
        })
    }
}
