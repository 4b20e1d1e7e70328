//! The external strategy: the caller's own `postgres::Client`.

use postgres::Client;

use super::{PgConnection, Postgres};
use crate::conn::{Conn, Sealed, Tx};
use crate::error::Result;

/// The caller's own `postgres::Client`, lent to the crate: the crate runs
/// statements on it and never closes it; [`External::into_inner`] hands it back.
///
/// The crate's connection type is reached by `&` with no lifetime, so it
/// holds the client by value: give the client to `External::new`, take it
/// back with `into_inner`, or reach it meanwhile with [`External::client`].
/// A transaction the caller opened on the client with SQL (`BEGIN`) is said
/// with [`External::in_transaction`]: the crate then uses savepoints inside
/// it and never commits or rolls it back.
pub struct External {
    conn: PgConnection,
}

impl std::fmt::Debug for External {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("External")
            .field("conn", &self.conn)
            .finish()
    }
}

impl std::fmt::Display for External {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PostgreSQL external client")
    }
}

impl External {
    /// Lends `client` to the crate, outside any transaction.
    pub fn new(client: Client) -> Self {
        External {
            conn: PgConnection::new(client),
        }
    }

    /// Lends `client`, on which the caller has opened a transaction
    /// (`BEGIN`): the crate's transactions become savepoints inside it, and
    /// the caller commits or rolls back (with [`External::client`]).
    pub fn in_transaction(client: Client) -> Self {
        let this = Self::new(client);
        this.conn.depth.set(1);
        this
    }

    /// The client, for the caller's own statements (its `COMMIT`, say).
    /// Statements run here do not go through the crate's statement cache.
    pub fn client(&mut self) -> &mut Client {
        // What the caller runs here (a ROLLBACK, say) is not seen by the
        // crate: forget that the transaction was aborted (the server still
        // says so, with SQLSTATE 25P02, if it is).
        self.conn.aborted.set(false);
        self.conn.client.get_mut()
    }

    /// The client back, unclosed.
    pub fn into_inner(self) -> Client {
        self.conn.client.into_inner()
    }

    /// Runs `f` inside one transaction (a savepoint inside the caller's).
    pub fn transaction<R>(&self, f: impl FnOnce(&Tx<'_, Postgres>) -> Result<R>) -> Result<R> {
        self.atomic(f)
    }

    /// `transaction` with an error type of the caller's own: `f` returns
    /// `Result<R, E>` for any `E: From<doctable::Error>`, and `Err(e)` rolls
    /// back and is returned as it is (see [`Conn::try_atomic`](crate::Conn::try_atomic)).
    pub fn try_transaction<R, E: From<crate::Error>>(
        &self,
        f: impl FnOnce(&Tx<'_, Postgres>) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E> {
        self.try_atomic(f)
    }
}

impl Sealed for External {}
impl Conn for External {
    type Backend = Postgres;
    fn with_connection<R>(&self, f: impl FnOnce(&PgConnection) -> Result<R>) -> Result<R> {
        f(&self.conn)
    }
}
