//! The external strategy: the caller's own rusqlite connection or transaction.
//!
//! The crate runs statements on it and nothing else: it never commits, rolls
//! back or closes what it was given. Writes the crate makes atomic (like
//! `insert_many`) use a savepoint when a transaction is already open.
//!
//! As with the other strategies, the callback of a `for_each` or `chunks`
//! over the connection cannot use the same connection (an error): the scan
//! marks it, by address, for the thread running it.

use rusqlite::Connection;

use super::Sqlite;
use crate::conn::{Conn, Sealed, refuse_during_scan};
use crate::error::Result;

impl Sealed for Connection {}
impl Conn for Connection {
    type Backend = Sqlite;
    #[inline]
    fn with_connection<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        refuse_during_scan::<Sqlite>(self)?;
        f(self)
    }
}

impl Sealed for rusqlite::Transaction<'_> {}
impl Conn for rusqlite::Transaction<'_> {
    type Backend = Sqlite;
    #[inline]
    fn with_connection<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        refuse_during_scan::<Sqlite>(self)?;
        f(self)
    }
}

impl Sealed for rusqlite::Savepoint<'_> {}
impl Conn for rusqlite::Savepoint<'_> {
    type Backend = Sqlite;
    #[inline]
    fn with_connection<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        refuse_during_scan::<Sqlite>(self)?;
        f(self)
    }
}
