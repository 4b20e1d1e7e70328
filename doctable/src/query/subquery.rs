//! Subqueries as typed expressions: `col.in_query(Other::select_cols(Other::id).filter(..))`,
//! `exists(..)` and `not_exists(..)`, uncorrelated or correlated with the
//! outer query's table through [`Select::correlated`].

use std::marker::PhantomData;

use super::select::Select;
use super::selection::Selection;
use crate::expr::{Column, Expr, Fragment};
use crate::fragment::DeferredError;
use crate::query::Joinable;
use crate::record::Record;

/// A query usable inside a condition on table `T`: a [`Select`] (any `T`:
/// it does not refer to the outer query), or a [`Correlated`] select (the
/// `T` it refers to).
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

/// The LIMIT and OFFSET of a subquery, written before the backend is known:
/// `LIMIT n` (at most `i64::MAX`), and an offset alone after `LIMIT
/// 9223372036854775807`, which SQLite and PostgreSQL both read (SQLite needs
/// a LIMIT before an OFFSET; PostgreSQL has no `LIMIT -1`).
fn neutral_limit_offset(out: &mut String, limit: Option<u64>, offset: Option<u64>) {
    use std::fmt::Write;
    let saturate = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    if limit.is_some() || offset.is_some() {
        let _ = write!(out, " LIMIT {}", limit.map_or(i64::MAX, saturate));
    }
    if let Some(offset) = offset {
        let _ = write!(out, " OFFSET {}", saturate(offset));
    }
}

impl<T, U: Record, S: Selection<U>> Subquery<T> for Select<U, S> {
    type Row = S::Row;
    fn into_fragment(self) -> Fragment {
        self.build_with(None, neutral_limit_offset)
    }
}

/// A select that refers to a row of the outer query's table `O`: made by
/// [`Select::correlated`], used in `exists`, `not_exists` and `in_query` on `O`.
#[must_use = "a correlated select does nothing until it is used in a condition"]
pub struct Correlated<O, U, S> {
    select: Select<U, S>,
    /// Set when the inner and outer tables are one table.
    self_reference: Option<&'static str>,
    _outer: PhantomData<fn() -> O>,
}

impl<U: Record, S> Select<U, S> {
    /// Correlates this select with the outer query: it keeps only rows whose
    /// `inner` column equals the `outer` column of the outer query's current
    /// row. Several calls are ANDed.
    ///
    /// ```
    /// use doctable::{DocTable, Persistent, exists};
    /// # #[derive(DocTable, Debug, Clone, PartialEq)]
    /// # struct Author { #[doctable(primary_key)] id: Option<i64>, name: String }
    /// # #[derive(DocTable, Debug, Clone, PartialEq)]
    /// # struct Doc { #[doctable(primary_key)] id: Option<i64>, author_id: i64, words: i64 }
    /// # let db = Persistent::open_in_memory()?;
    /// # Author::create_table(&db)?; Doc::create_table(&db)?;
    /// # let ada = Author::insert(&db, &Author { id: None, name: "Ada".into() })?;
    /// # Author::insert(&db, &Author { id: None, name: "Noam".into() })?;
    /// # Doc::insert(&db, &Doc { id: None, author_id: ada, words: 900 })?;
    /// // Authors with a long document.
    /// let names: Vec<String> = Author::select_cols(Author::name)
    ///     .filter(exists(
    ///         Doc::select()
    ///             .filter(Doc::words.gt(500))
    ///             .correlated(Doc::author_id, Author::id),
    ///     ))
    ///     .all(&db)?;
    /// assert_eq!(names, ["Ada"]);
    /// # Ok::<(), doctable::Error>(())
    /// ```
    pub fn correlated<O: Record, V: Joinable<W>, W>(
        self,
        inner: Column<U, V>,
        outer: Column<O, W>,
    ) -> Correlated<O, U, S> {
        Correlated::new(self, inner, outer)
    }
}

/// `"u"."inner" = "o"."outer"`.
fn correlation<U: Record, O: Record, V, W>(inner: Column<U, V>, outer: Column<O, W>) -> Expr<U, bool> {
    let mut f = Fragment::column(U::__META.name, inner.name());
    f.sql.push_str(" = ");
    crate::dialect::push_qualified(&mut f.sql, O::__META.name, outer.name());
    let mut wrapped = Fragment::default();
    wrapped.sql.push('(');
    wrapped.append(f);
    wrapped.sql.push(')');
    Expr::from_fragment(wrapped)
}

impl<O: Record, U: Record, S> Correlated<O, U, S> {
    fn new<V, W>(select: Select<U, S>, inner: Column<U, V>, outer: Column<O, W>) -> Self {
        let same = O::__META.name == U::__META.name;
        Correlated {
            select: select.filter(correlation(inner, outer)),
            self_reference: same.then_some(U::__META.name),
            _outer: PhantomData,
        }
    }

    /// Adds another correlation, ANDed with the ones before.
    pub fn correlated<V: Joinable<W>, W>(mut self, inner: Column<U, V>, outer: Column<O, W>) -> Self {
        self.select = self.select.filter(correlation(inner, outer));
        self
    }
}

impl<O, U: Record, S: Selection<U>> Subquery<O> for Correlated<O, U, S> {
    type Row = S::Row;
    fn into_fragment(self) -> Fragment {
        let mut q = self.select.build_with(None, neutral_limit_offset);
        if let Some(table) = self.self_reference {
            // Both tables' columns would read `"t"."c"`, and SQL takes each as
            // the inner table's: the correlation would compare a row with itself.
            q.error = Some(DeferredError {
                column: "(correlated subquery)".into(),
                detail: format!(
                    "a subquery on `{table}` correlated with `{table}` itself needs table \
                     aliases, which the typed builder does not make; use `Expr::raw`"
                ),
                usage: true,
            });
        }
        q
    }
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
impl<V> Comparable<Option<V>> for V {}
impl<V> Comparable<V> for Option<V> {}

/// `EXISTS (subquery)`: whether the subquery has a row, as a condition on
/// table `T` (the outer table a [`Correlated`] subquery names; for an
/// uncorrelated one, whichever table's filter it is given to).
///
/// ```
/// use doctable::{DocTable, Persistent, exists, not_exists};
/// # #[derive(DocTable, Debug, Clone, PartialEq)]
/// # struct Author { #[doctable(primary_key)] id: Option<i64>, name: String }
/// # #[derive(DocTable, Debug, Clone, PartialEq)]
/// # struct Doc { #[doctable(primary_key)] id: Option<i64>, author_id: i64 }
/// # let db = Persistent::open_in_memory()?;
/// # Author::create_table(&db)?; Doc::create_table(&db)?;
/// # let ada = Author::insert(&db, &Author { id: None, name: "Ada".into() })?;
/// # Author::insert(&db, &Author { id: None, name: "Noam".into() })?;
/// # Doc::insert(&db, &Doc { id: None, author_id: ada })?;
/// let silent: Vec<String> = Author::select_cols(Author::name)
///     .filter(not_exists(Doc::select().correlated(Doc::author_id, Author::id)))
///     .all(&db)?;
/// assert_eq!(silent, ["Noam"]);
/// // Uncorrelated: every author, as there is a document at all.
/// let all = Author::count().filter(exists(Doc::select())).get(&db)?;
/// assert_eq!(all, 2);
/// # Ok::<(), doctable::Error>(())
/// ```
pub fn exists<T, Q: Subquery<T>>(subquery: Q) -> Expr<T, bool> {
    wrap("(EXISTS (", subquery.into_fragment(), "))")
}

/// `NOT EXISTS (subquery)`: whether the subquery has no row (see [`exists`]).
pub fn not_exists<T, Q: Subquery<T>>(subquery: Q) -> Expr<T, bool> {
    wrap("(NOT EXISTS (", subquery.into_fragment(), "))")
}

fn wrap<T, V>(before: &str, inner: Fragment, after: &str) -> Expr<T, V> {
    let mut f = Fragment::default();
    f.sql.push_str(before);
    f.append(inner);
    f.sql.push_str(after);
    Expr::from_fragment(f)
}

impl<T, V> Expr<T, V> {
    /// `self IN (subquery)`: the subquery selects one column of this type
    /// (either may be an `Option` of the other). A NULL among its values
    /// never matches (SQL's `IN`), nor does a NULL `self`.
    ///
    /// ```
    /// use doctable::DocTable;
    /// # use doctable::Persistent;
    /// # #[derive(DocTable, Debug, Clone, PartialEq)]
    /// # struct Author { #[doctable(primary_key)] id: Option<i64>, name: String }
    /// # #[derive(DocTable, Debug, Clone, PartialEq)]
    /// # struct Doc { #[doctable(primary_key)] id: Option<i64>, author_id: i64, title: String }
    /// # let db = Persistent::open_in_memory()?;
    /// # Author::create_table(&db)?; Doc::create_table(&db)?;
    /// # let ada = Author::insert(&db, &Author { id: None, name: "Ada".into() })?;
    /// # let noam = Author::insert(&db, &Author { id: None, name: "Noam".into() })?;
    /// # Doc::insert(&db, &Doc { id: None, author_id: ada, title: "Notes".into() })?;
    /// # Doc::insert(&db, &Doc { id: None, author_id: noam, title: "Syntax".into() })?;
    /// let by_ada: Vec<String> = Doc::select_cols(Doc::title)
    ///     .filter(Doc::author_id.in_query(Author::select_cols(Author::id).filter(Author::name.eq("Ada"))))
    ///     .all(&db)?;
    /// assert_eq!(by_ada, ["Notes"]);
    /// # Ok::<(), doctable::Error>(())
    /// ```
    pub fn in_query<Q>(self, subquery: Q) -> Expr<T, bool>
    where
        Q: Subquery<T>,
        Q::Row: Comparable<V>,
    {
        self.in_or_not(" IN (", subquery)
    }

    /// `self NOT IN (subquery)`. As SQL's `NOT IN`: if the subquery yields a
    /// NULL, no row matches; filter NULLs out of the subquery when they can occur.
    pub fn not_in_query<Q>(self, subquery: Q) -> Expr<T, bool>
    where
        Q: Subquery<T>,
        Q::Row: Comparable<V>,
    {
        self.in_or_not(" NOT IN (", subquery)
    }

    fn in_or_not<Q: Subquery<T>>(self, op: &str, subquery: Q) -> Expr<T, bool> {
        let mut f = Fragment::default();
        f.sql.push('(');
        f.append(self.fragment);
        f.sql.push_str(op);
        f.append(subquery.into_fragment());
        f.sql.push_str("))");
        Expr::from_fragment(f)
    }
}

impl<T: Record, V> Column<T, V> {
    /// `column IN (subquery)`: see [`Expr::in_query`].
    pub fn in_query<Q>(self, subquery: Q) -> Expr<T, bool>
    where
        Q: Subquery<T>,
        Q::Row: Comparable<V>,
    {
        self.expr().in_query(subquery)
    }

    /// `column NOT IN (subquery)`: see [`Expr::not_in_query`].
    pub fn not_in_query<Q>(self, subquery: Q) -> Expr<T, bool>
    where
        Q: Subquery<T>,
        Q::Row: Comparable<V>,
    {
        self.expr().not_in_query(subquery)
    }
}
