//! The `Conn` trait every generated method takes, and transactions over it.
//!
//! The transaction logic here is the same for every backend: it asks the
//! backend to run its dialect's `BEGIN` / `COMMIT` / `SAVEPOINT` statements,
//! whether a transaction is open ([`Backend::is_autocommit`]) and, after an
//! error, whether the engine ended the transaction by itself
//! ([`Backend::ended_by_error`]). What is particular to an engine (SQLite's
//! commit hook, its lock errors, its file locks) is in the backend's module.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use crate::backend::{Backend, Dialect};
use crate::error::{Error, Result};

/// The connection type of backend `B`.
pub(crate) type ConnOf<B> = <B as Backend>::Connection;

mod sealed {
    pub trait Sealed {}
}
pub(crate) use sealed::Sealed;

/// A way to reach a database connection: [`Persistent`](crate::Persistent),
/// [`PerQuery`](crate::PerQuery), a caller's own `rusqlite::Connection`,
/// `Transaction` or `Savepoint`, or the [`Tx`] handed to a transaction closure.
///
/// Every table operation takes `&impl Conn`, so the strategy is chosen by the
/// caller, not baked into the table; the backend is the strategy's
/// [`Backend`](Conn::Backend), inferred at every call. The trait is sealed:
/// the crate's own strategies cover the ways of holding a connection.
pub trait Conn: Sealed {
    /// The database engine this connection talks to.
    type Backend: Backend;

    /// Runs `f` with a connection. Used by the table operations and the query builders.
    #[doc(hidden)]
    fn with_connection<R>(&self, f: impl FnOnce(&ConnOf<Self::Backend>) -> Result<R>) -> Result<R>;

    /// The folder of `#[doctable(file)]` columns' files set on this strategy
    /// (`None`: the backend's default, beside a SQLite database file).
    #[doc(hidden)]
    #[inline]
    fn files_folder(&self) -> Option<&std::path::Path> {
        None
    }

    /// Runs `f` inside one transaction on this connection: committed when
    /// `f` returns `Ok`, rolled back when it returns `Err` or panics; inside a
    /// transaction already open (a [`Tx`], or a caller's
    /// [`rusqlite::Transaction`]) it is a savepoint, which the crate releases
    /// or rolls back but never commits.
    ///
    /// This is what [`Persistent::transaction`](crate::Persistent::transaction),
    /// [`PerQuery::transaction`](crate::PerQuery::transaction) and
    /// [`Tx::transaction`] do; it has its own name so that importing `Conn`
    /// leaves rusqlite's own `Connection::transaction` callable.
    ///
    /// The transaction starts with `BEGIN IMMEDIATE`, so it holds the write lock
    /// from the start and other writers wait (up to the busy timeout) rather than fail.
    ///
    /// If SQLite ends the transaction by itself (after a full disk, an
    /// interrupt, an I/O error or out of memory, it rolls the whole
    /// transaction back, savepoints and all), every later operation through
    /// the `Tx` and its nested transactions fails with
    /// [`Error::TransactionRolledBack`] without running, and so does this
    /// call: nothing of the transaction is committed, and nothing after the
    /// error runs outside it. The same holds when the transaction was ended
    /// on the raw connection ([`Tx::connection`]).
    ///
    /// ```
    /// use doctable::{Conn, DocTable, Persistent};
    ///
    /// #[derive(DocTable, Debug, PartialEq)]
    /// struct Word { #[doctable(primary_key)] id: Option<i64>, text: String }
    ///
    /// let db = Persistent::open_in_memory()?;
    /// Word::create_table(&db)?;
    /// let failed: doctable::Result<()> = db.atomic(|tx| {
    ///     Word::insert(tx, &Word { id: None, text: "kept?".into() })?;
    ///     Err(doctable::Error::Usage("changed my mind".into()))
    /// });
    /// assert!(failed.is_err());
    /// assert_eq!(Word::count().get(&db)?, 0); // rolled back
    /// # Ok::<(), doctable::Error>(())
    /// ```
    fn atomic<R>(&self, f: impl FnOnce(&Tx<'_, Self::Backend>) -> Result<R>) -> Result<R> {
        let files = self.files_folder();
        self.with_connection(|conn| transaction::<Self::Backend, R>(conn, Origin::Caller, files, f))
    }

    /// [`atomic`](Conn::atomic) with an error type of the caller's own: `f`
    /// returns `Result<R, E>` for any `E: From<doctable::Error>`, so `?` works
    /// on the crate's errors and on the caller's (a parse error, say) alike.
    /// `Err(e)` from `f` rolls the transaction back, as any error does, and
    /// is returned as it is; the crate's own errors come back as `E`.
    ///
    /// `atomic` keeps `doctable::Error` as its error type, so that
    /// `atomic(|tx| { ..?; Ok(()) })?` needs no annotation; here the closure
    /// names its error type (`|tx| -> Result<_, MyError>`), or the call does
    /// (`try_atomic::<_, MyError>`).
    ///
    /// ```
    /// use doctable::{Conn, DocTable, Persistent};
    ///
    /// #[derive(DocTable)]
    /// struct Word { #[doctable(primary_key)] id: Option<i64>, text: String, n: i64 }
    ///
    /// #[derive(Debug)]
    /// enum AppError { Db(doctable::Error), Parse(std::num::ParseIntError) }
    /// impl From<doctable::Error> for AppError { fn from(e: doctable::Error) -> Self { AppError::Db(e) } }
    /// impl From<std::num::ParseIntError> for AppError { fn from(e: std::num::ParseIntError) -> Self { AppError::Parse(e) } }
    ///
    /// let db = Persistent::open_in_memory()?;
    /// Word::create_table(&db)?;
    /// let result = db.try_atomic(|tx| -> Result<(), AppError> {
    ///     Word::insert(tx, &Word { id: None, text: "one".into(), n: "1".parse()? })?;
    ///     Word::insert(tx, &Word { id: None, text: "two".into(), n: "two".parse()? })?;
    ///     Ok(())
    /// });
    /// assert!(matches!(result, Err(AppError::Parse(_))));
    /// assert_eq!(Word::count().get(&db)?, 0); // the first insert was rolled back
    /// # Ok::<(), doctable::Error>(())
    /// ```
    fn try_atomic<R, E: From<Error>>(
        &self,
        f: impl FnOnce(&Tx<'_, Self::Backend>) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E> {
        let mut failed = None;
        let result = self.atomic(|tx| {
            f(tx).map_err(|e| {
                failed = Some(e);
                // Any error rolls back; this one is never returned.
                Error::Usage(STOPPED_BY_CALLER.to_owned())
            })
        });
        match (result, failed) {
            (Ok(value), _) => Ok(value),
            (Err(_), Some(e)) => Err(e),
            (Err(e), None) => Err(E::from(e)),
        }
    }
}

/// What stands in, inside the crate's transaction, for an error of the
/// caller's that ended it (the caller's own error is returned instead).
const STOPPED_BY_CALLER: &str = "the transaction's closure returned an error of its own";

/// The connection inside a [`transaction`](crate::Persistent::transaction) closure. Pass it to table
/// operations (`Doc::insert(tx, &doc)`) so they join the transaction.
///
/// Its backend defaults to SQLite, so a closure may spell its argument `|tx: &Tx<'_>|`.
///
/// While a [`for_each`](crate::Select::for_each) or [`chunks`](crate::Select::chunks)
/// reads through a `Tx`, its callback cannot use the same `Tx` (an error, as
/// with a [`Persistent`](crate::Persistent)): a write could move rows the scan
/// has yet to visit, or make it visit them again.
#[cfg(feature = "sqlite")]
pub struct Tx<'c, B: Backend = crate::sqlite::marker::Sqlite> {
    conn: &'c ConnOf<B>,
    state: &'c TxState,
}

/// The connection inside a transaction closure. Pass it to table operations
/// (`Doc::insert(tx, &doc)`) so they join the transaction.
#[cfg(not(feature = "sqlite"))]
pub struct Tx<'c, B: Backend> {
    conn: &'c ConnOf<B>,
    state: &'c TxState,
}

impl<B: Backend> std::fmt::Debug for Tx<'_, B>
where
    ConnOf<B>: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx")
            .field("conn", &self.conn)
            .field("state", &self.state)
            .finish()
    }
}

impl<B: Backend> Tx<'_, B> {
    /// The backend's own connection (for SQLite, rusqlite's `Connection`),
    /// for work the crate does not cover. A `COMMIT` or `ROLLBACK` run on it
    /// ends the crate's transaction: every later operation through the `Tx`
    /// then fails with [`Error::TransactionRolledBack`].
    pub fn connection(&self) -> &ConnOf<B> {
        self.conn
    }

    /// A nested transaction (a savepoint): its changes are kept when `f`
    /// returns `Ok` and undone when it returns `Err` or panics, without
    /// ending the outer transaction.
    ///
    /// An error after which SQLite rolled back the whole transaction (a full
    /// disk, an interrupt) is not undone by a savepoint: it comes back as
    /// [`Error::TransactionRolledBack`], and the outer transaction is over.
    pub fn transaction<R>(&self, f: impl FnOnce(&Tx<'_, B>) -> Result<R>) -> Result<R> {
        self.atomic(f)
    }

    /// [`transaction`](Tx::transaction) with an error type of the caller's
    /// own (see [`Conn::try_atomic`]).
    pub fn try_transaction<R, E: From<Error>>(
        &self,
        f: impl FnOnce(&Tx<'_, B>) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E> {
        self.try_atomic(f)
    }

    /// Fails, without touching the connection, if the transaction is over
    /// or a scan is reading through this connection.
    #[inline]
    fn usable(&self) -> Result<()> {
        if self.state.is_over() {
            return Err(self.state.over_error());
        }
        if B::is_autocommit(self.conn) {
            self.state.end(ENDED_OUTSIDE.to_owned());
            return Err(self.state.over_error());
        }
        refuse_during_scan::<B>(self.conn)
    }
}

impl<B: Backend> Sealed for Tx<'_, B> {}
impl<B: Backend> Conn for Tx<'_, B> {
    type Backend = B;
    #[inline]
    fn with_connection<R>(&self, f: impl FnOnce(&ConnOf<B>) -> Result<R>) -> Result<R> {
        self.usable()?;
        f(self.conn).map_err(|e| self.state.after_error::<B>(self.conn, e))
    }

    fn atomic<R>(&self, f: impl FnOnce(&Tx<'_, B>) -> Result<R>) -> Result<R> {
        self.usable()?;
        run_level::<B, R>(self.conn, self.state, false, f)
    }

    #[inline]
    fn files_folder(&self) -> Option<&std::path::Path> {
        self.state.files.as_deref()
    }
}

impl<C: Conn> Sealed for &C {}
impl<C: Conn> Conn for &C {
    type Backend = C::Backend;
    #[inline]
    fn with_connection<R>(&self, f: impl FnOnce(&ConnOf<C::Backend>) -> Result<R>) -> Result<R> {
        (**self).with_connection(f)
    }

    #[inline]
    fn atomic<R>(&self, f: impl FnOnce(&Tx<'_, C::Backend>) -> Result<R>) -> Result<R> {
        (**self).atomic(f)
    }

    #[inline]
    fn files_folder(&self) -> Option<&std::path::Path> {
        (**self).files_folder()
    }
}

impl<C: Conn> Sealed for Arc<C> {}
impl<C: Conn> Conn for Arc<C> {
    type Backend = C::Backend;
    #[inline]
    fn with_connection<R>(&self, f: impl FnOnce(&ConnOf<C::Backend>) -> Result<R>) -> Result<R> {
        (**self).with_connection(f)
    }

    #[inline]
    fn atomic<R>(&self, f: impl FnOnce(&Tx<'_, C::Backend>) -> Result<R>) -> Result<R> {
        (**self).atomic(f)
    }

    #[inline]
    fn files_folder(&self) -> Option<&std::path::Path> {
        (**self).files_folder()
    }
}

// ---------------------------------------------------------------------------
// Transactions

/// Why a transaction is over when it was ended on the raw connection.
const ENDED_OUTSIDE: &str = "it was ended on the raw connection (a COMMIT or ROLLBACK the crate \
    did not run, through `Tx::connection`?)";

/// What a transaction and the savepoints nested in it share: whether it is
/// still going, and the process that began it.
#[derive(Debug)]
pub(crate) struct TxState {
    /// The process that began the transaction (see [`same_process`]).
    pid: u32,
    over: Cell<bool>,
    /// Why it is over: the first error, or how it ended.
    reason: RefCell<String>,
    /// The files folder of the strategy the transaction began on.
    files: Option<std::path::PathBuf>,
}

impl TxState {
    fn new(pid: u32, files: Option<&std::path::Path>) -> Self {
        TxState {
            pid,
            over: Cell::new(false),
            reason: RefCell::new(String::new()),
            files: files.map(std::path::Path::to_path_buf),
        }
    }

    #[inline]
    fn is_over(&self) -> bool {
        self.over.get()
    }

    fn end(&self, reason: String) {
        if !self.over.replace(true)
            && let Ok(mut slot) = self.reason.try_borrow_mut()
        {
            *slot = reason;
        }
    }

    #[cold]
    fn over_error(&self) -> Error {
        Error::TransactionRolledBack {
            reason: self
                .reason
                .try_borrow()
                .map(|r| r.clone())
                .unwrap_or_default(),
            source: None,
        }
    }

    /// Called with every error met inside the transaction: if the engine
    /// ended the transaction with it ([`Backend::ended_by_error`]), the
    /// transaction is over, and the error says so.
    #[cold]
    fn after_error<B: Backend>(&self, conn: &ConnOf<B>, e: Error) -> Error {
        if self.is_over() || !B::ended_by_error(conn, &e) {
            return e;
        }
        let reason = format!("SQLite rolled the whole transaction back after this error: {e}");
        self.end(reason.clone());
        Error::TransactionRolledBack {
            reason,
            source: Some(Box::new(e)),
        }
    }
}

/// Who opened the connection a transaction begins on.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Origin {
    /// The crate did ([`Persistent`](crate::Persistent), [`PerQuery`](crate::PerQuery)),
    /// in process `opened_by`: a transaction already open on it is not the
    /// crate's, and is refused rather than joined.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    Own { opened_by: u32 },
    /// The caller did (the external strategy): a transaction already open is
    /// the caller's, and the crate nests a savepoint in it.
    Caller,
}

/// Runs `f` in a new transaction on `conn` (a savepoint inside the caller's
/// transaction, for [`Origin::Caller`]).
pub(crate) fn transaction<B: Backend, R>(
    conn: &ConnOf<B>,
    origin: Origin,
    files: Option<&std::path::Path>,
    f: impl FnOnce(&Tx<'_, B>) -> Result<R>,
) -> Result<R> {
    let outermost = B::is_autocommit(conn);
    let pid = match origin {
        Origin::Own { opened_by } => {
            same_process(opened_by)?;
            if !outermost {
                return Err(Error::Usage(
                    "this connection is already inside a transaction the crate did not open (a \
                     `BEGIN` run on the raw connection?): `transaction` refuses to join it, since \
                     its writes would be committed or lost by whoever ends that transaction"
                        .into(),
                ));
            }
            opened_by
        }
        Origin::Caller => std::process::id(),
    };
    let state = TxState::new(pid, files);
    if !outermost {
        return run_level::<B, R>(conn, &state, outermost, f);
    }
    // Rows written in the transaction hold their files' locks until it ends
    // (also when `f` panics).
    let _files = crate::files::TransactionMark::begin();
    run_level::<B, R>(conn, &state, outermost, f)
}

/// Runs `f` in one level of a transaction: `BEGIN IMMEDIATE` .. `COMMIT` when
/// `outermost`, else `SAVEPOINT` .. `RELEASE`. Before committing or releasing
/// it checks that the transaction is still there and that this is the
/// process that began it.
fn run_level<B: Backend, R>(
    conn: &ConnOf<B>,
    state: &TxState,
    outermost: bool,
    f: impl FnOnce(&Tx<'_, B>) -> Result<R>,
) -> Result<R> {
    let (begin, commit, rollback) = statements::<B>(outermost);
    B::execute_batch(conn, None, begin).map_err(|e| {
        // A BEGIN that failed leaves autocommit on: nothing was rolled back.
        if outermost {
            e
        } else {
            state.after_error::<B>(conn, e)
        }
    })?;
    let mut guard = RollbackGuard::<B>::new(conn, rollback, Some(state.pid));
    let result = f(&Tx { conn, state });
    if let Err(e) = same_process(state.pid) {
        // A child made by fork(): the connection, and the transaction on it,
        // are the parent's. Touch nothing (not even to roll back).
        guard.armed = false;
        return Err(e);
    }
    let ended = |guard: &mut RollbackGuard<'_, B>| {
        // Only the outermost level rolls back what may have been opened on
        // the raw connection since; the savepoints are gone with the transaction.
        guard.armed = outermost && !B::is_autocommit(conn);
    };
    let value = match result {
        Ok(value) => value,
        Err(e) => {
            let e = state.after_error::<B>(conn, e);
            if state.is_over() {
                ended(&mut guard);
            }
            return Err(e);
        }
    };
    if !state.is_over() && B::is_autocommit(conn) {
        state.end(ENDED_OUTSIDE.to_owned());
    }
    if state.is_over() {
        ended(&mut guard);
        return Err(state.over_error());
    }
    match B::execute_batch(conn, None, commit) {
        Ok(()) => {
            guard.armed = false;
            Ok(value)
        }
        Err(e) if outermost => {
            // The commit's own error says what went wrong (a full disk,
            // `Error::DatabaseMoved`), and the transaction is over either
            // way: nothing of it was committed, and the guard rolls back
            // whatever the engine left open.
            guard.armed = !B::is_autocommit(conn);
            Err(e)
        }
        Err(e) => {
            let e = state.after_error::<B>(conn, e);
            if state.is_over() {
                ended(&mut guard);
            }
            Err(e)
        }
    }
}

/// The dialect's begin, commit and rollback statements for a transaction
/// (`outermost`) or a savepoint.
#[inline]
fn statements<B: Backend>(outermost: bool) -> (&'static str, &'static str, &'static str) {
    if outermost {
        (
            <B::Dialect as Dialect>::BEGIN_WRITE,
            <B::Dialect as Dialect>::COMMIT,
            <B::Dialect as Dialect>::ROLLBACK,
        )
    } else {
        (
            <B::Dialect as Dialect>::SAVEPOINT,
            <B::Dialect as Dialect>::RELEASE,
            <B::Dialect as Dialect>::ROLLBACK_TO,
        )
    }
}

/// Runs `f` atomically on `conn`: in a new `BEGIN IMMEDIATE` transaction when
/// the connection is in autocommit mode, else in a savepoint inside the
/// transaction already open (which the crate never commits: it is the caller's).
/// For the crate's own multi-statement writes (`insert_many`, `create_table`).
pub(crate) fn atomically<B: Backend, R>(
    conn: &ConnOf<B>,
    table: Option<&str>,
    f: impl FnOnce(&ConnOf<B>) -> Result<R>,
) -> Result<R> {
    let (begin, commit, rollback) = statements::<B>(B::is_autocommit(conn));
    B::execute_batch(conn, table, begin)?;
    let mut guard = RollbackGuard::<B>::new(conn, rollback, None);
    let value = f(conn)?;
    if B::is_autocommit(conn) {
        // Ended under `f` (an error it handled, after which the engine rolled
        // back): there is nothing left to commit, and saying Ok would be a lie.
        guard.armed = false;
        return Err(Error::TransactionRolledBack {
            reason: "SQLite ended the transaction before it could be committed".into(),
            source: None,
        });
    }
    B::execute_batch(conn, table, commit)?;
    guard.armed = false;
    Ok(value)
}

/// Rolls back on drop unless disarmed: covers both an `Err` from the closure
/// (early return through `?`) and a panic unwinding through it. Does nothing
/// when no transaction is open any more, or (with `pid`) in a process other
/// than the one that began the transaction.
pub(crate) struct RollbackGuard<'c, B: Backend> {
    conn: &'c ConnOf<B>,
    rollback: &'static str,
    pid: Option<u32>,
    pub(crate) armed: bool,
}

impl<'c, B: Backend> RollbackGuard<'c, B> {
    /// A guard that runs `rollback` on `conn` when dropped armed (only in
    /// process `pid`, if given).
    pub(crate) fn new(conn: &'c ConnOf<B>, rollback: &'static str, pid: Option<u32>) -> Self {
        RollbackGuard {
            conn,
            rollback,
            pid,
            armed: true,
        }
    }
}

impl<B: Backend> Drop for RollbackGuard<'_, B> {
    fn drop(&mut self) {
        if self.armed
            && !B::is_autocommit(self.conn)
            && self.pid.is_none_or(|pid| pid == std::process::id())
        {
            // A failed rollback leaves nothing more to do here: SQLite rolls back
            // an open transaction itself when the connection closes or the next
            // BEGIN fails, and the original error is what the caller needs to see.
            let _ = B::execute_batch(self.conn, None, self.rollback);
        }
    }
}

// ---------------------------------------------------------------------------
// fork()

/// Fails unless this is process `opened_by`: a database connection (and a
/// transaction on it) must not be used in a child made by `fork()`, where
/// both processes would write the file (or the socket) as if each held it.
///
/// `std::process::id()` is a system call (about 200 ns measured here), so this
/// runs where that is small beside the work: at transaction boundaries, in
/// `with_rusqlite`, in a `Persistent`'s commit hook, and on error paths.
pub(crate) fn same_process(opened_by: u32) -> Result<()> {
    let now = std::process::id();
    if now == opened_by {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "this connection was opened by process {opened_by} and is used in process {now}, a \
         child made by fork(): a SQLite connection must not cross fork() (both processes \
         would write the file as if each held its locks, and corrupt it), so nothing was run; \
         open a new connection in the child"
    )))
}

// ---------------------------------------------------------------------------
// Scans

thread_local! {
    /// The connections (by address) this thread is scanning with `for_each`
    /// or `chunks`, and the table each scan reads.
    static SCANS: RefCell<Vec<(usize, &'static str)>> = const { RefCell::new(Vec::new()) };
    /// How many entries `SCANS` has (a plain `Cell`, cheap to read on every call).
    static SCAN_COUNT: Cell<usize> = const { Cell::new(0) };
}

/// The address of a backend's connection: what identifies it in `SCANS`.
#[inline]
fn address<B: Backend>(conn: &ConnOf<B>) -> usize {
    conn as *const ConnOf<B> as *const () as usize
}

/// Marks `conn` as being scanned while alive (a `for_each` holds one).
pub(crate) struct ScanMark(usize);

impl ScanMark {
    pub(crate) fn enter<B: Backend>(conn: &ConnOf<B>, table: &'static str) -> ScanMark {
        let addr = address::<B>(conn);
        let _ = SCANS.try_with(|s| {
            if let Ok(mut s) = s.try_borrow_mut() {
                s.push((addr, table));
                SCAN_COUNT.set(s.len());
            }
        });
        ScanMark(addr)
    }
}

impl Drop for ScanMark {
    fn drop(&mut self) {
        let _ = SCANS.try_with(|s| {
            if let Ok(mut s) = s.try_borrow_mut() {
                if let Some(i) = s.iter().rposition(|(a, _)| *a == self.0) {
                    s.remove(i);
                }
                SCAN_COUNT.set(s.len());
            }
        });
    }
}

/// Fails if this thread is scanning `conn` (the callback of a `for_each` or
/// `chunks` using the connection the scan reads).
#[inline]
pub(crate) fn refuse_during_scan<B: Backend>(conn: &ConnOf<B>) -> Result<()> {
    if SCAN_COUNT.get() == 0 {
        return Ok(());
    }
    refuse_during_scan_slow::<B>(conn)
}

#[cold]
#[inline(never)]
fn refuse_during_scan_slow<B: Backend>(conn: &ConnOf<B>) -> Result<()> {
    let addr = address::<B>(conn);
    let scanned = SCANS
        .try_with(|s| {
            s.try_borrow()
                .ok()
                .and_then(|s| s.iter().rev().find(|(a, _)| *a == addr).map(|(_, t)| *t))
        })
        .ok()
        .flatten();
    match scanned {
        None => Ok(()),
        Some(table) => Err(Error::Usage(format!(
            "table `{table}`: this connection is in the middle of a `for_each` or `chunks` scan \
             of `{table}`, and the callback used it again. That is refused, as on a Persistent: \
             a write could move rows the scan has yet to visit, or make it visit them again. \
             Collect the rows first (`all`), or make the changes after the scan"
        ))),
    }
}
