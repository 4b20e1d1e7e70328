//! The pool strategy: r2d2 over the crate's own connections, so each pooled
//! connection keeps its own prepared statement cache.

use std::time::Duration;

use postgres::Config;

use super::{CANNOT_CONNECT, ClientRef, PgConnection, Postgres, parse_params};
use crate::conn::{Conn, Sealed, Tx};
use crate::error::{Error, Result};

/// Makes the pool's connections.
struct Manager {
    config: Config,
    described: String,
}

/// Why the pool could not make a connection.
#[derive(Debug)]
struct ConnectFailed(Error);

impl std::fmt::Display for ConnectFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ConnectFailed {}

impl super::reentry::InTransaction for r2d2::PooledConnection<Manager> {
    fn in_transaction(&self) -> bool {
        (**self).in_transaction()
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgConnection;
    type Error = ConnectFailed;

    fn connect(&self) -> std::result::Result<PgConnection, ConnectFailed> {
        PgConnection::connect(&self.config, &self.described).map_err(ConnectFailed)
    }

    fn is_valid(&self, conn: &mut PgConnection) -> std::result::Result<(), ConnectFailed> {
        on_client!(conn.client.get_mut(), c => c.simple_query(""))
            .map(|_| ())
            .map_err(|e| ConnectFailed(super::pg_error(e, None, "(checking a pooled connection)")))
    }

    /// A connection whose server link is gone, or that was left inside a
    /// transaction, is dropped when it comes back to the pool.
    fn has_broken(&self, conn: &mut PgConnection) -> bool {
        conn.client.get_mut().is_closed() || conn.depth.get() != 0
    }
}

/// A pool of PostgreSQL connections for many threads (r2d2), each with its
/// own prepared statement cache. `Send + Sync` and cheap to clone (the clones
/// share the pool).
///
/// A connection whose server link was lost fails the call in flight and is
/// discarded when it returns to the pool; the next call gets a fresh one.
///
/// Used (instead of the `tx`) inside its own transaction, on the same
/// thread, a call is an [`Error::Usage`]: it would run on another pooled
/// connection, outside the transaction.
#[derive(Clone)]
pub struct Pool {
    pool: r2d2::Pool<Manager>,
    described: std::sync::Arc<str>,
    files: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.pool.state();
        f.debug_struct("Pool")
            .field("server", &self.described)
            .field("connections", &state.connections)
            .field("idle", &state.idle_connections)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Display for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PostgreSQL pool of up to {} connections to {}",
            self.pool.max_size(),
            self.described
        )
    }
}

impl Pool {
    /// Sets the folder that holds the files of `#[doctable(file)]` columns
    /// (one subfolder per table; README "File-backed columns"). A PostgreSQL
    /// database has no file to put them beside, so file columns need this.
    pub fn with_files_folder(mut self, folder: impl AsRef<std::path::Path>) -> Self {
        self.files = Some(folder.as_ref().to_path_buf());
        self
    }
    /// A pool of up to `max_size` connections with `params`; connects the
    /// first one now, so bad parameters fail here.
    ///
    /// A call waits for a pooled connection (a free one while all
    /// `max_size` are busy, or a new one while the server cannot be
    /// reached) at most the parameters' `connect_timeout` (seconds:
    /// `"host=.. user=.. connect_timeout=5"`), else 30 seconds; then it
    /// fails with [`Error::Postgres`] (code `08001`) naming the last
    /// connection error.
    pub fn connect(params: &str, max_size: u32) -> Result<Self> {
        let (config, described) = parse_params(params)?;
        let wait = checkout_timeout(&config);
        // The first connection, made here, says what is wrong with the parameters.
        let first = PgConnection::connect(&config, &described)?;
        drop(first);
        let pool = r2d2::Pool::builder()
            .max_size(max_size.max(1))
            .min_idle(Some(0))
            // A checkout does not cost a round trip: a broken connection is
            // caught when it fails and dropped when returned (`has_broken`).
            .test_on_check_out(false)
            .connection_timeout(wait)
            .build_unchecked(Manager {
                config,
                described: described.clone(),
            });
        Ok(Pool {
            pool,
            described: described.into(),
            files: None,
        })
    }

    /// Runs `f` inside one transaction on one pooled connection (see
    /// [`Persistent::transaction`](super::Persistent::transaction)).
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

    /// Like [`transaction`](Pool::transaction), rerun on
    /// [`Error::Serialization`] with backoff.
    pub fn transaction_retry<R>(&self, f: impl FnMut(&Tx<'_, Postgres>) -> Result<R>) -> Result<R> {
        super::retry(self, f)
    }
}

/// How long a call waits for a connection when the parameters give no
/// `connect_timeout` (r2d2's own default).
const DEFAULT_CHECKOUT_TIMEOUT: Duration = Duration::from_secs(30);

/// The parameters' `connect_timeout`, else [`DEFAULT_CHECKOUT_TIMEOUT`]
/// (`connect_timeout=0`, libpq's "wait forever", too: r2d2 takes no zero).
fn checkout_timeout(config: &Config) -> Duration {
    config
        .get_connect_timeout()
        .copied()
        .filter(|t| !t.is_zero())
        .unwrap_or(DEFAULT_CHECKOUT_TIMEOUT)
}

impl Sealed for Pool {}
impl Conn for Pool {
    type Backend = Postgres;
    fn with_connection<R>(&self, f: impl FnOnce(&PgConnection) -> Result<R>) -> Result<R> {
        // The clones of a pool share `described`: one key for all of them.
        let key = std::sync::Arc::as_ptr(&self.described).cast::<u8>() as usize;
        super::reentry::refuse_inside_own_transaction(key, "Pool")?;
        let conn = self.pool.get().map_err(|e| Error::Postgres {
            table: None,
            sql: format!("(taking a pooled connection to {})", self.described),
            code: CANNOT_CONNECT.to_owned(),
            message: e.to_string(),
            source: Box::new(e),
        })?;
        let conn = std::rc::Rc::new(conn);
        let _running = super::reentry::enter(key, &conn);
        f(&conn)
    }

    #[inline]
    fn files_folder(&self) -> Option<&std::path::Path> {
        self.files.as_deref()
    }
}
