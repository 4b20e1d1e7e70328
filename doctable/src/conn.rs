//! The `Conn` trait every generated method takes, and transactions over it.

use std::sync::Arc;

use rusqlite::Connection;

use crate::dialect;
use crate::error::{Result, SqlContext};

mod sealed {
    pub trait Sealed {}
}
pub(crate) use sealed::Sealed;

/// A way to reach a SQLite connection: [`Persistent`](crate::Persistent),
/// [`PerQuery`](crate::PerQuery), a caller's own [`rusqlite::Connection`] or
/// [`rusqlite::Transaction`], or the [`Tx`] handed to a transaction closure.
///
/// Every table operation takes `&impl Conn`, so the strategy is chosen by the
/// caller, not baked into the table. The trait is sealed: the crate's own
/// strategies cover the three ways of holding a connection.
pub trait Conn: Sealed {
    /// Runs `f` with a connection. Used by generated code and the query builders.
    #[doc(hidden)]
    fn with_connection<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R>;

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
    fn atomic<R>(&self, f: impl FnOnce(&Tx<'_>) -> Result<R>) -> Result<R> {
        self.with_connection(|conn| atomically(conn, None, |conn| f(&Tx { conn })))
    }
}

/// The connection inside a [`transaction`](crate::Persistent::transaction) closure. Pass it to table
/// operations (`Doc::insert(tx, &doc)`) so they join the transaction.
#[derive(Debug)]
pub struct Tx<'c> {
    conn: &'c Connection,
}

impl Tx<'_> {
    /// The underlying rusqlite connection, for work the crate does not cover.
    pub fn connection(&self) -> &Connection {
        self.conn
    }

    /// A nested transaction (a savepoint): its changes are kept when `f`
    /// returns `Ok` and undone when it returns `Err` or panics, without
    /// ending the outer transaction.
    pub fn transaction<R>(&self, f: impl FnOnce(&Tx<'_>) -> Result<R>) -> Result<R> {
        self.atomic(f)
    }
}

impl Sealed for Tx<'_> {}
impl Conn for Tx<'_> {
    fn with_connection<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        f(self.conn)
    }
}

impl<C: Conn> Sealed for &C {}
impl<C: Conn> Conn for &C {
    fn with_connection<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        (**self).with_connection(f)
    }
}

impl<C: Conn> Sealed for Arc<C> {}
impl<C: Conn> Conn for Arc<C> {
    fn with_connection<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        (**self).with_connection(f)
    }
}

/// Runs `f` atomically on `conn`: in a new `BEGIN IMMEDIATE` transaction when
/// the connection is in autocommit mode, else in a savepoint inside the
/// transaction already open (which the crate never commits: it is the caller's).
pub(crate) fn atomically<R>(
    conn: &Connection,
    table: Option<&str>,
    f: impl FnOnce(&Connection) -> Result<R>,
) -> Result<R> {
    let outermost = conn.is_autocommit();
    let (begin, commit, rollback) = if outermost {
        (dialect::BEGIN_WRITE, dialect::COMMIT, dialect::ROLLBACK)
    } else {
        (dialect::SAVEPOINT, dialect::RELEASE, dialect::ROLLBACK_TO)
    };
    conn.execute_batch(begin).in_sql(table, begin)?;
    let mut guard = RollbackGuard {
        conn,
        rollback,
        armed: true,
    };
    let value = f(conn)?;
    guard.armed = false;
    if let Err(e) = conn.execute_batch(commit) {
        guard.armed = true;
        return Err(crate::Error::sqlite(e, table, commit));
    }
    Ok(value)
}

/// Rolls back on drop unless disarmed: covers both an `Err` from the closure
/// (early return through `?`) and a panic unwinding through it.
struct RollbackGuard<'c> {
    conn: &'c Connection,
    rollback: &'static str,
    armed: bool,
}

impl Drop for RollbackGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            // A failed rollback leaves nothing more to do here: SQLite rolls back
            // an open transaction itself when the connection closes or the next
            // BEGIN fails, and the original error is what the caller needs to see.
            let _ = self.conn.execute_batch(self.rollback);
        }
    }
}
