//! The `Conn` trait every generated method takes, and transactions over it.

use std::sync::Arc;

use crate::backend::{Backend, Dialect};
use crate::error::Result;

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
        self.with_connection(|conn| {
            atomically::<Self::Backend, R>(conn, None, |conn| f(&Tx { conn }))
        })
    }
}

/// The connection inside a [`transaction`](crate::Persistent::transaction) closure. Pass it to table
/// operations (`Doc::insert(tx, &doc)`) so they join the transaction.
///
/// Its backend defaults to SQLite, so a closure may spell its argument `|tx: &Tx<'_>|`.
#[cfg(feature = "sqlite")]
pub struct Tx<'c, B: Backend = crate::sqlite::Sqlite> {
    conn: &'c ConnOf<B>,
}

/// The connection inside a transaction closure. Pass it to table operations
/// (`Doc::insert(tx, &doc)`) so they join the transaction.
#[cfg(not(feature = "sqlite"))]
pub struct Tx<'c, B: Backend> {
    conn: &'c ConnOf<B>,
}

impl<B: Backend> std::fmt::Debug for Tx<'_, B>
where
    ConnOf<B>: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx").field("conn", &self.conn).finish()
    }
}

impl<B: Backend> Tx<'_, B> {
    /// The backend's own connection (for SQLite, rusqlite's `Connection`),
    /// for work the crate does not cover.
    pub fn connection(&self) -> &ConnOf<B> {
        self.conn
    }

    /// A nested transaction (a savepoint): its changes are kept when `f`
    /// returns `Ok` and undone when it returns `Err` or panics, without
    /// ending the outer transaction.
    pub fn transaction<R>(&self, f: impl FnOnce(&Tx<'_, B>) -> Result<R>) -> Result<R> {
        self.atomic(f)
    }
}

impl<B: Backend> Sealed for Tx<'_, B> {}
impl<B: Backend> Conn for Tx<'_, B> {
    type Backend = B;
    #[inline]
    fn with_connection<R>(&self, f: impl FnOnce(&ConnOf<B>) -> Result<R>) -> Result<R> {
        f(self.conn)
    }
}

impl<C: Conn> Sealed for &C {}
impl<C: Conn> Conn for &C {
    type Backend = C::Backend;
    #[inline]
    fn with_connection<R>(&self, f: impl FnOnce(&ConnOf<C::Backend>) -> Result<R>) -> Result<R> {
        (**self).with_connection(f)
    }
}

impl<C: Conn> Sealed for Arc<C> {}
impl<C: Conn> Conn for Arc<C> {
    type Backend = C::Backend;
    #[inline]
    fn with_connection<R>(&self, f: impl FnOnce(&ConnOf<C::Backend>) -> Result<R>) -> Result<R> {
        (**self).with_connection(f)
    }
}

/// Runs `f` atomically on `conn`: in a new `BEGIN IMMEDIATE` transaction when
/// the connection is in autocommit mode, else in a savepoint inside the
/// transaction already open (which the crate never commits: it is the caller's).
pub(crate) fn atomically<B: Backend, R>(
    conn: &ConnOf<B>,
    table: Option<&str>,
    f: impl FnOnce(&ConnOf<B>) -> Result<R>,
) -> Result<R> {
    let outermost = B::is_autocommit(conn);
    let (begin, commit, rollback) = if outermost {
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
    };
    B::execute_batch(conn, table, begin)?;
    let mut guard = RollbackGuard::<B> {
        conn,
        rollback,
        armed: true,
    };
    let value = f(conn)?;
    guard.armed = false;
    if let Err(e) = B::execute_batch(conn, table, commit) {
        guard.armed = true;
        return Err(e);
    }
    Ok(value)
}

/// Rolls back on drop unless disarmed: covers both an `Err` from the closure
/// (early return through `?`) and a panic unwinding through it.
struct RollbackGuard<'c, B: Backend> {
    conn: &'c ConnOf<B>,
    rollback: &'static str,
    armed: bool,
}

impl<B: Backend> Drop for RollbackGuard<'_, B> {
    fn drop(&mut self) {
        if self.armed {
            // A failed rollback leaves nothing more to do here: SQLite rolls back
            // an open transaction itself when the connection closes or the next
            // BEGIN fails, and the original error is what the caller needs to see.
            let _ = B::execute_batch(self.conn, None, self.rollback);
        }
    }
}
