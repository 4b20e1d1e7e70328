//! Scans that can stop, and with the caller's own error type:
//! [`Select::try_for_each`]; and [`Select::one`] for a query of one row.

use std::convert::Infallible;
use std::ops::ControlFlow;

use super::select::Select;
use super::selection::Selection;
use crate::backend::{Backend, Dialect};
use crate::conn::Conn;
use crate::error::{Error, Result};
use crate::record::Record;

mod sealed {
    pub trait Sealed {}
}

/// What a [`try_for_each`](Select::try_for_each) callback returns: whether to
/// go on, and the caller's error type.
///
/// - [`ControlFlow<B>`]: `Break(b)` stops the scan; errors are the crate's.
/// - `Result<ControlFlow<B>, E>`: the same, and `Err(e)` stops it with the
///   caller's error `E` (any type with `From<doctable::Error>`).
/// - `Result<(), E>`: every row, stopped only by `Err(e)`.
pub trait ScanStep: sealed::Sealed {
    /// The value a `Break` carries out of the scan.
    type Break;
    /// The error type of the scan.
    type Error: From<Error>;
    /// `Ok(None)` to go on, `Ok(Some(b))` to stop with `b`, `Err(e)` to fail.
    #[doc(hidden)]
    fn step(self) -> std::result::Result<Option<Self::Break>, Self::Error>;
}

impl<B> sealed::Sealed for ControlFlow<B> {}
impl<B> ScanStep for ControlFlow<B> {
    type Break = B;
    type Error = Error;
    #[inline]
    fn step(self) -> Result<Option<B>> {
        Ok(self.break_value())
    }
}

impl<B, E: From<Error>> sealed::Sealed for std::result::Result<ControlFlow<B>, E> {}
impl<B, E: From<Error>> ScanStep for std::result::Result<ControlFlow<B>, E> {
    type Break = B;
    type Error = E;
    #[inline]
    fn step(self) -> std::result::Result<Option<B>, E> {
        self.map(ControlFlow::break_value)
    }
}

impl<E: From<Error>> sealed::Sealed for std::result::Result<(), E> {}
impl<E: From<Error>> ScanStep for std::result::Result<(), E> {
    type Break = Infallible;
    type Error = E;
    #[inline]
    fn step(self) -> std::result::Result<Option<Infallible>, E> {
        self.map(|()| None)
    }
}

/// What stands in, inside the crate's scan, for an error of the caller's that
/// stopped it (the caller's own error is returned instead of this).
const STOPPED_BY_CALLER: &str = "the scan was stopped by an error of the callback";

impl<T: Record, S: Selection<T>> Select<T, S> {
    /// Hands each row to `f` as it is read, like [`for_each`](Select::for_each),
    /// until `f` says stop: no more rows are read (nor decoded) after that.
    ///
    /// `f` returns a [`ControlFlow`]: `Break(value)` stops the scan, which
    /// returns `Ok(Some(value))`; after the last row it returns `Ok(None)`.
    /// Or `f` returns a `Result` of one (or of `()`) with an error type of
    /// your own, `E: From<doctable::Error>`: `Err(e)` stops the scan and is
    /// what it returns, and the crate's errors come back as `E` too.
    /// The connection rules are those of [`for_each`](Select::for_each).
    ///
    /// ```
    /// use std::ops::ControlFlow;
    /// # use doctable::{DocTable, Persistent};
    /// # #[derive(DocTable)] struct Doc { #[doctable(primary_key)] id: Option<i64>, words: i64 }
    /// # let db = Persistent::open_in_memory()?; Doc::create_table(&db)?;
    /// # Doc::insert_many(&db, &[Doc { id: None, words: 3 }, Doc { id: None, words: 40 }, Doc { id: None, words: 5 }])?;
    /// // The first long document, reading no further.
    /// let long = Doc::select().order_by(Doc::id).try_for_each(&db, |doc| {
    ///     if doc.words > 10 { ControlFlow::Break(doc.id) } else { ControlFlow::Continue(()) }
    /// })?;
    /// assert_eq!(long, Some(Some(2)));
    ///
    /// // A parse error of the caller's own stops the scan and comes back as it is.
    /// #[derive(Debug)]
    /// enum AppError { Db(doctable::Error), Parse(std::num::ParseIntError) }
    /// impl From<doctable::Error> for AppError { fn from(e: doctable::Error) -> Self { AppError::Db(e) } }
    /// let mut total = 0;
    /// let parsed = Doc::select().try_for_each(&db, |doc| -> Result<(), AppError> {
    ///     total += "x".parse::<i64>().map_err(AppError::Parse)? + doc.words;
    ///     Ok(())
    /// });
    /// assert!(matches!(parsed, Err(AppError::Parse(_))));
    /// # Ok::<(), doctable::Error>(())
    /// ```
    pub fn try_for_each<R: ScanStep>(
        &self,
        conn: &impl Conn,
        mut f: impl FnMut(S::Row) -> R,
    ) -> std::result::Result<Option<R::Break>, R::Error> {
        let mut stopped: Option<std::result::Result<R::Break, R::Error>> = None;
        let scanned = self.scan_while(conn, |row| match f(row).step() {
            Ok(None) => Ok(true),
            Ok(Some(value)) => {
                stopped = Some(Ok(value));
                Ok(false)
            }
            Err(e) => {
                stopped = Some(Err(e));
                Err(Error::Usage(STOPPED_BY_CALLER.to_owned()))
            }
        });
        match (stopped, scanned) {
            (Some(Err(e)), _) => Err(e),
            (_, Err(e)) => Err(e.into()),
            (Some(Ok(value)), Ok(())) => Ok(Some(value)),
            (None, Ok(())) => Ok(None),
        }
    }

    /// Runs the query for exactly one row: an aggregate without `group_by`
    /// (`Doc::select_cols(Doc::words.sum()).one(&db)`), a row by a unique
    /// column. No row, or more than one, is [`Error::NotOneRow`] (at most two
    /// rows are read to know).
    ///
    /// ```
    /// # use doctable::{DocTable, Persistent};
    /// # #[derive(DocTable)] struct Doc { #[doctable(primary_key)] id: Option<i64>, words: i64 }
    /// # let db = Persistent::open_in_memory()?; Doc::create_table(&db)?;
    /// # Doc::insert_many(&db, &[Doc { id: None, words: 3 }, Doc { id: None, words: 4 }])?;
    /// let total: Option<i64> = Doc::select_cols(Doc::words.sum()).one(&db)?;
    /// assert_eq!(total, Some(7));
    /// let (n, longest): (i64, Option<i64>) =
    ///     Doc::select_cols((Doc::id.count(), Doc::words.max())).one(&db)?;
    /// assert_eq!((n, longest), (2, Some(4)));
    /// assert!(Doc::select().filter(Doc::words.gt(100)).one(&db).is_err());
    /// # Ok::<(), doctable::Error>(())
    /// ```
    pub fn one(&self, conn: &impl Conn) -> Result<S::Row> {
        self.one_in(conn)
    }

    fn one_in<C: Conn>(&self, conn: &C) -> Result<S::Row> {
        let mut first = None;
        let mut many = false;
        self.run(conn, Some(2), |row, _| {
            if first.is_none() {
                first = Some(row);
                Ok(true)
            } else {
                many = true;
                Ok(false)
            }
        })?;
        match first {
            Some(row) if !many => Ok(row),
            _ => {
                let q = self.built::<C::Backend>(Some(2));
                Err(Error::NotOneRow {
                    table: T::__META.name.to_owned(),
                    many,
                    sql: <C::Backend as Backend>::Dialect::render(&q.sql, &q.slots).into_owned(),
                })
            }
        }
    }
}
