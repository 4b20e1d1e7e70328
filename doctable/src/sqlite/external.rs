//! The external strategy: the caller's own rusqlite connection or transaction.
//!
//! The crate runs statements on it and nothing else: it never commits, rolls
//! back or closes what it was given. Writes the crate makes atomic (like
//! `insert_many`) use a savepoint when a transaction is already open.

use rusqlite::Connection;

use crate::conn::{Conn, Sealed};
use crate::error::Result;

impl Sealed for Connection {}
impl Conn for Connection {
    type Backend = crate::sqlite::Sqlite;
    #[inline]
    fn with_connection<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        f(self)
    }
}

impl Sealed for rusqlite::Transaction<'_> {}
impl Conn for rusqlite::Transaction<'_> {
    type Backend = crate::sqlite::Sqlite;
    #[inline]
    fn with_connection<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        f(self)
    }
}

impl Sealed for rusqlite::Savepoint<'_> {}
impl Conn for rusqlite::Savepoint<'_> {
    type Backend = crate::sqlite::Sqlite;
    #[inline]
    fn with_connection<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        f(self)
    }
}
