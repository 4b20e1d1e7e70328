//! Subqueries as typed expressions: `col.in_query(Other::select_cols(Other::id).filter(..))`,
//! `exists(..)` and `not_exists(..)`, uncorrelated or correlated with the
//! outer query's table through [`Select::correlated`].

use std::marker::PhantomData;

use super::select::Select;
use super::selection::Selection;
use crate::expr::{Column, Expr, Fragment};
use crate::fragment::DeferredError;
pub use crate::nested::{Comparable, Subquery};
use crate::query::Joinable;
use crate::record::Record;

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
fn correlation<U: Record, O: Record, V, W>(
    inner: Column<U, V>,
    outer: Column<O, W>,
) -> Expr<U, bool> {
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
    pub fn correlated<V: Joinable<W>, W>(
        mut self,
        inner: Column<U, V>,
        outer: Column<O, W>,
    ) -> Self {
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
