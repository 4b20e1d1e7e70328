//! `Doc::select()`, `Doc::select_cols(..)` and `Doc::count()`.

use std::marker::PhantomData;

use super::join::{Inner, Join, JoinKind, Joinable, Outer};
use super::selection::Selection;
use super::{check, for_all_rows, for_rows};
use crate::backend::{Backend, Dialect};
use crate::conn::Conn;
use crate::dialect::push_ident;
use crate::error::Result;
use crate::expr::{Column, Expr, Fragment, IntoOrder};
use crate::record::Record;

/// A select over table `T` reading `S` per row. Made by `Doc::select()` and
/// `Doc::select_cols(..)`; run with [`all`](Select::all) or [`first`](Select::first).
///
/// ```
/// # use doctable::{DocTable, Persistent};
/// # #[derive(DocTable, Debug)] struct Doc { #[doctable(primary_key)] id: Option<i64>, year: i64, score: f64 }
/// # let db = Persistent::open_in_memory()?; Doc::create_table(&db)?;
/// # Doc::insert_many(&db, &[Doc { id: None, year: 2001, score: 0.5 }, Doc { id: None, year: 2001, score: 1.5 }])?;
/// let per_year: Vec<(i64, Option<f64>)> = Doc::select_cols((Doc::year, Doc::score.avg()))
///     .group_by(Doc::year)
///     .all(&db)?;
/// assert_eq!(per_year, [(2001, Some(1.0))]);
/// # Ok::<(), doctable::Error>(())
/// ```
#[must_use = "a query does nothing until `all` or `first` runs it"]
pub struct Select<T, S> {
    selection: S,
    distinct: bool,
    filter: Option<Fragment>,
    group_by: Vec<Fragment>,
    having: Option<Fragment>,
    order_by: Vec<Fragment>,
    limit: Option<u64>,
    offset: Option<u64>,
    _table: PhantomData<fn() -> T>,
}

impl<T, S: Clone> Clone for Select<T, S> {
    fn clone(&self) -> Self {
        Select {
            selection: self.selection.clone(),
            distinct: self.distinct,
            filter: self.filter.clone(),
            group_by: self.group_by.clone(),
            having: self.having.clone(),
            order_by: self.order_by.clone(),
            limit: self.limit,
            offset: self.offset,
            _table: PhantomData,
        }
    }
}

/// ANDs `cond` onto an optional condition.
pub(super) fn and_into(slot: &mut Option<Fragment>, cond: Fragment) {
    *slot = Some(match slot.take() {
        None => cond,
        Some(mut both) => {
            both.open_paren();
            both.sql.push_str(" AND ");
            both.append(cond);
            both.sql.push(')');
            both
        }
    });
}

/// Appends ` WHERE <cond>` if there is a condition.
pub(super) fn push_where(out: &mut Fragment, filter: &Option<Fragment>) {
    if let Some(f) = filter {
        out.sql.push_str(" WHERE ");
        out.append_ref(f);
    }
}

impl<T: Record, S> Select<T, S> {
    pub(crate) fn new(selection: S) -> Self {
        Select {
            selection,
            distinct: false,
            filter: None,
            group_by: Vec::new(),
            having: None,
            order_by: Vec::new(),
            limit: None,
            offset: None,
            _table: PhantomData,
        }
    }

    /// Keeps rows where `condition` holds; several calls are ANDed.
    pub fn filter(mut self, condition: Expr<T, bool>) -> Self {
        and_into(&mut self.filter, condition.fragment);
        self
    }

    /// Orders by a column (ascending) or `column.asc()` / `.desc()`; several calls add keys.
    pub fn order_by(mut self, order: impl IntoOrder<T>) -> Self {
        self.order_by.push(order.into_order().fragment);
        self
    }

    /// Groups by a column or expression (`Doc::year / 10 * 10`), for aggregates
    /// in `select_cols`; several calls add keys.
    pub fn group_by<V>(mut self, key: impl Into<Expr<T, V>>) -> Self {
        self.group_by.push(key.into().fragment);
        self
    }

    /// Keeps groups where `condition` (usually over aggregates) holds.
    pub fn having(mut self, condition: Expr<T, bool>) -> Self {
        and_into(&mut self.having, condition.fragment);
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

    /// Drops duplicate rows (`SELECT DISTINCT`).
    pub fn distinct(mut self) -> Self {
        self.distinct = true;
        self
    }
}

impl<T: Record, S: Selection<T>> Select<T, S> {
    /// The SQL text and parameters this query runs on backend `B`, with
    /// `limit` overriding its own.
    fn build<B: Backend>(&self, limit: Option<u64>) -> Fragment {
        self.build_with(limit, B::Dialect::push_limit_offset)
    }

    /// [`build`](Self::build) with LIMIT and OFFSET written by
    /// `push_limit_offset`: a dialect's, or the spelling every engine reads
    /// for a subquery, whose backend is not known when it is built.
    pub(super) fn build_with(
        &self,
        limit: Option<u64>,
        push_limit_offset: impl FnOnce(&mut String, Option<u64>, Option<u64>),
    ) -> Fragment {
        let mut q = Fragment::default();
        q.sql.push_str(if self.distinct {
            "SELECT DISTINCT "
        } else {
            "SELECT "
        });
        self.selection.push_sql(&mut q);
        q.sql.push_str(" FROM ");
        push_ident(&mut q.sql, T::__META.name);
        push_where(&mut q, &self.filter);
        // A key with bound values that equals a selected expression is
        // written as the expression's position (`GROUP BY 1`): PostgreSQL
        // compares the expressions with their placeholders, and `$1 * x` is
        // not `$3 * x` to it. Keys without values are written out.
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
        push_limit_offset(&mut q.sql, tighter(limit, self.limit), self.offset);
        q
    }

    /// The SQL text this query runs on SQLite (values appear as `?`).
    #[cfg(feature = "sqlite")]
    pub fn sql(&self) -> String {
        self.build::<crate::sqlite::Sqlite>(None).sql
    }

    /// Runs the query (at most `limit` rows, when given) and hands each row
    /// to `each` until it returns `false`.
    pub(super) fn run<C: Conn>(
        &self,
        conn: &C,
        limit: Option<u64>,
        mut each: impl FnMut(S::Row, usize) -> Result<bool>,
    ) -> Result<()> {
        let q = self.build::<C::Backend>(limit);
        let table = T::__META.name;
        check(table, &q)?;
        conn.with_connection(|c| {
            crate::files::scope::<C::Backend, _>(conn.files_folder(), c, T::__HAS_FILES, || {
                for_all_rows::<C::Backend>(c, table, None, &q, |row, total| {
                    each(self.selection.read::<C::Backend>(row, &mut 0)?, total)
                })
            })
        })
    }

    /// Runs the query and reads every row.
    pub fn all(&self, conn: &impl Conn) -> Result<Vec<S::Row>> {
        let mut out = Vec::new();
        self.run(conn, None, |row, total| {
            super::reserve_once(&mut out, total);
            out.push(row);
            Ok(true)
        })?;
        Ok(out)
    }

    /// Runs the query and hands each row to `f` as it is read, without
    /// collecting them: memory stays flat however many rows there are. Stops at
    /// the first error, from reading or from `f`.
    ///
    /// The connection is held until the last row is read, so `f` cannot use the
    /// same connection: not the same [`Persistent`](crate::Persistent), nor the
    /// same [`Tx`](crate::Tx) or external connection (each is an error, not a
    /// deadlock; a write could otherwise move rows the scan has yet to visit,
    /// or make it visit them again). Collect the rows first with
    /// [`all`](Select::all), or write through another connection.
    ///
    /// ```
    /// # use doctable::{DocTable, Persistent};
    /// # #[derive(DocTable)] struct Doc { #[doctable(primary_key)] id: Option<i64>, words: i64 }
    /// # let db = Persistent::open_in_memory()?; Doc::create_table(&db)?;
    /// # Doc::insert_many(&db, &[Doc { id: None, words: 3 }, Doc { id: None, words: 4 }])?;
    /// let mut total = 0;
    /// Doc::select().for_each(&db, |doc| {
    ///     total += doc.words;
    ///     Ok(())
    /// })?;
    /// assert_eq!(total, 7);
    /// # Ok::<(), doctable::Error>(())
    /// ```
    pub fn for_each(&self, conn: &impl Conn, f: impl FnMut(S::Row) -> Result<()>) -> Result<()> {
        self.scan(conn, f)
    }

    /// `for_each`'s body: the scan, with `conn` marked as being scanned.
    fn scan<C: Conn>(&self, conn: &C, mut f: impl FnMut(S::Row) -> Result<()>) -> Result<()> {
        self.scan_while(conn, |row| {
            f(row)?;
            Ok(true)
        })
    }

    /// The scan, with `conn` marked as being scanned, until `f` returns
    /// `false` (then no more rows are read).
    pub(super) fn scan_while<C: Conn>(
        &self,
        conn: &C,
        mut f: impl FnMut(S::Row) -> Result<bool>,
    ) -> Result<()> {
        let q = self.build::<C::Backend>(None);
        let table = T::__META.name;
        check(table, &q)?;
        conn.with_connection(|c| {
            // While the scan runs, the callback cannot use `c` again.
            let _scan = crate::conn::ScanMark::enter::<C::Backend>(c, table);
            crate::files::scope::<C::Backend, _>(conn.files_folder(), c, T::__HAS_FILES, || {
                for_rows::<C::Backend>(c, table, None, &q, |row| {
                    f(self.selection.read::<C::Backend>(row, &mut 0)?)
                })
            })
        })
    }

    /// What the select reads per row.
    pub(super) fn selection(&self) -> &S {
        &self.selection
    }

    /// The SQL text and parameters for backend `B` (see `build`).
    pub(super) fn built<B: Backend>(&self, limit: Option<u64>) -> Fragment {
        self.build::<B>(limit)
    }

    /// Runs the query and hands the rows to `f` in batches of up to `size`
    /// (the last may be shorter), for work done a batch at a time; memory holds
    /// one batch. The buffer grows with the rows actually read, so a `size`
    /// larger than the result (`usize::MAX` for "everything in one batch")
    /// allocates only for the rows there are. A `size` of 0 is an
    /// [`Error::Usage`](crate::Error::Usage).
    /// `f` runs while the scan reads, so it cannot use the same connection
    /// (see [`for_each`](Select::for_each)).
    pub fn chunks(
        &self,
        conn: &impl Conn,
        size: usize,
        mut f: impl FnMut(Vec<S::Row>) -> Result<()>,
    ) -> Result<()> {
        /// The most rows reserved before they are read.
        const FIRST_RESERVE: usize = 256;
        if size == 0 {
            return Err(crate::Error::Usage(format!(
                "table `{}`: chunks of size 0 would never fill; ask for at least 1 row per chunk",
                T::__META.name
            )));
        }
        let mut batch = Vec::with_capacity(size.min(FIRST_RESERVE));
        self.for_each(conn, |row| {
            batch.push(row);
            if batch.len() == size {
                // `size` rows were just read and held: reserving as many for
                // the next batch costs no more than the batch just handed over.
                f(std::mem::replace(&mut batch, Vec::with_capacity(size)))?;
            }
            Ok(())
        })?;
        if !batch.is_empty() {
            f(batch)?;
        }
        Ok(())
    }

    /// Whether the query matches any row (`SELECT EXISTS (...)`).
    pub fn exists(&self, conn: &impl Conn) -> Result<bool> {
        self.exists_in(conn)
    }

    fn exists_in<C: Conn>(&self, conn: &C) -> Result<bool> {
        let inner = self.build::<C::Backend>(Some(1));
        let table = T::__META.name;
        check(table, &inner)?;
        let mut q = Fragment::default();
        q.sql.push_str("SELECT EXISTS (");
        q.append(inner);
        q.sql.push(')');
        let mut found = false;
        conn.with_connection(|c| {
            for_all_rows::<C::Backend>(c, table, None, &q, |row, _| {
                found = crate::private::read::<C::Backend, bool>(row, 0, table, "EXISTS")?;
                Ok(false)
            })
        })?;
        Ok(found)
    }

    /// Runs the query for its first row only.
    pub fn first(&self, conn: &impl Conn) -> Result<Option<S::Row>> {
        let mut out = None;
        self.run(conn, Some(1), |row, _| {
            out = Some(row);
            Ok(false)
        })?;
        Ok(out)
    }
}

/// The smaller of two optional limits.
pub(super) fn tighter(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl<A: Record> Select<A, super::AllColumns> {
    /// Joins table `B` where `left = right`, reading `(A, B)` pairs; what the
    /// select has so far (filters, order, limits, grouping, `distinct`) is
    /// kept. Join more tables with [`Join::join`], choose columns with
    /// [`Join::select_cols`].
    pub fn join<B: Record, V: Joinable<W>, W>(
        self,
        left: Column<A, V>,
        right: Column<B, W>,
    ) -> Join<A, B, Inner> {
        self.joined(left, right)
    }

    /// Left-joins table `B` where `left = right`, reading `(A, Option<B>)`:
    /// every row of `A`, with `None` where no row of `B` matches.
    pub fn left_join<B: Record, V: Joinable<W>, W>(
        self,
        left: Column<A, V>,
        right: Column<B, W>,
    ) -> Join<A, B, Outer> {
        self.joined(left, right)
    }

    fn joined<B: Record, V: Joinable<W>, W, K: JoinKind>(
        self,
        left: Column<A, V>,
        right: Column<B, W>,
    ) -> Join<A, B, K> {
        Join::new(
            left,
            right,
            super::join::Carried {
                distinct: self.distinct,
                filter: self.filter,
                group_by: self.group_by,
                having: self.having,
                order_by: self.order_by,
                limit: self.limit,
                offset: self.offset,
            },
        )
    }
}

/// Appends `keyword` and the keys, comma-separated; a key with values that
/// equals (up to ` ASC` / ` DESC`) one of the `selected` expressions as its
/// 1-based position, the direction kept.
pub(super) fn push_keys(q: &mut Fragment, keyword: &str, keys: &[Fragment], selected: &[Fragment]) {
    use std::fmt::Write;
    for (i, key) in keys.iter().enumerate() {
        q.sql.push_str(if i == 0 { keyword } else { ", " });
        let position = (!key.params.is_empty() && key.error.is_none())
            .then(|| {
                selected.iter().enumerate().find_map(|(n, item)| {
                    let direction = key.sql.strip_prefix(item.sql.as_str())?;
                    (matches!(direction, "" | " ASC" | " DESC") && key.params == item.params)
                        .then_some((n + 1, direction))
                })
            })
            .flatten();
        match position {
            Some((n, direction)) => {
                // Writing to a String cannot fail.
                let _ = write!(q.sql, "{n}{direction}");
            }
            None => q.append_ref(key),
        }
    }
}

/// Counts rows of `T`: `Doc::count().filter(..).get(&db)`.
#[must_use = "a count does nothing until `get` runs it"]
pub struct Count<T> {
    filter: Option<Fragment>,
    _table: PhantomData<fn() -> T>,
}

impl<T: Record> Count<T> {
    pub(crate) fn new() -> Self {
        Count {
            filter: None,
            _table: PhantomData,
        }
    }

    /// Counts only rows where `condition` holds; several calls are ANDed.
    pub fn filter(mut self, condition: Expr<T, bool>) -> Self {
        and_into(&mut self.filter, condition.fragment);
        self
    }

    /// Runs the count.
    pub fn get(&self, conn: &impl Conn) -> Result<i64> {
        self.get_in(conn)
    }

    fn get_in<C: Conn>(&self, conn: &C) -> Result<i64> {
        let table = T::__META.name;
        let mut q = Fragment::default();
        q.sql.push_str("SELECT count(*) FROM ");
        push_ident(&mut q.sql, table);
        push_where(&mut q, &self.filter);
        check(table, &q)?;
        let mut count = 0;
        conn.with_connection(|c| {
            for_all_rows::<C::Backend>(c, table, None, &q, |row, _| {
                count = crate::private::read::<C::Backend, i64>(row, 0, table, "count(*)")?;
                Ok(false)
            })
        })?;
        Ok(count)
    }
}
