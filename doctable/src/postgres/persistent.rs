//! The persistent strategy: one client, connected once and kept, reconnected
//! on the next call after the server connection was lost.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use postgres::Config;

use super::{PgConnection, Postgres, parse_params};
use crate::conn::{Conn, Sealed, Tx};
use crate::error::{Error, Result};

/// One PostgreSQL client, connected once and kept, with its own prepared
/// statement cache. `Send + Sync`: share it with `Arc<Persistent>`; calls
/// from different threads take turns on the one client (use [`Pool`](super::Pool)
/// for parallel work).
///
/// When the server connection is lost (a server restart, a dropped network
/// link), the call in flight fails with [`Error::Postgres`] (code `08006`,
/// or the server's `57P01` for a shutdown), and the next call connects again.
///
/// ```no_run
/// use doctable::postgres::Persistent;
/// let db = Persistent::connect("host=127.0.0.1 user=root dbname=test")?;
/// # Ok::<(), doctable::Error>(())
/// ```
pub struct Persistent {
    conn: Mutex<PgConnection>,
    config: Config,
    described: String,
    /// Token of the thread holding `conn`, 0 when free (see SQLite's `Persistent`).
    holder: AtomicUsize,
    files: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for Persistent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Persistent")
            .field("server", &self.described)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Display for Persistent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PostgreSQL persistent connection to {}", self.described)
    }
}

impl Persistent {
    /// Sets the folder that holds the files of `#[doctable(file)]` columns
    /// (one subfolder per table; README "File-backed columns"). A PostgreSQL
    /// database has no file to put them beside, so file columns need this.
    pub fn with_files_folder(mut self, folder: impl AsRef<std::path::Path>) -> Self {
        self.files = Some(folder.as_ref().to_path_buf());
        self
    }
    /// Connects with `params`: `host=.. user=.. dbname=..` key=value text or
    /// a `postgres://` URL (see the `postgres` crate's `Config`). No TLS.
    pub fn connect(params: &str) -> Result<Self> {
        let (config, described) = parse_params(params)?;
        let conn = PgConnection::connect(&config, &described)?;
        Ok(Persistent {
            conn: Mutex::new(conn),
            config,
            described,
            holder: AtomicUsize::new(0),
            files: None,
        })
    }

    /// Runs `f` inside one transaction: committed when `f` returns `Ok`,
    /// rolled back when it returns `Err` or panics; `tx.transaction(..)`
    /// inside is a savepoint.
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

    /// Like [`transaction`](Persistent::transaction), running `f` again (in
    /// a new transaction) when it fails with [`Error::Serialization`] (a
    /// serialization failure or deadlock), with a growing pause between
    /// attempts, up to [`RETRY_ATTEMPTS`](super::RETRY_ATTEMPTS) attempts.
    pub fn transaction_retry<R>(&self, f: impl FnMut(&Tx<'_, Postgres>) -> Result<R>) -> Result<R> {
        super::retry(self, f)
    }

    /// Runs `f` with the crate's connection (and so the `postgres::Client`
    /// through [`PgConnection::with_client`]).
    pub fn with_pg<R>(&self, f: impl FnOnce(&PgConnection) -> Result<R>) -> Result<R> {
        self.with_connection(f)
    }

    fn lock(&self) -> Result<Held<'_>> {
        let me = thread_token();
        if self.holder.load(Ordering::Acquire) == me {
            return Err(Error::Usage(
                "this Persistent connection is already in use on this thread (inside its own \
                 `transaction`?): pass the transaction's `tx` to table operations instead"
                    .into(),
            ));
        }
        // A panic in another thread while it held the lock ran the rollback
        // guard while unwinding; a lost transaction state is caught below.
        let mut guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_closed() || guard.depth.get() != 0 {
            // The server connection is gone (or a transaction could not be
            // ended): start afresh. A failure here leaves the old client, so
            // the next call tries again.
            *guard = PgConnection::connect(&self.config, &self.described)?;
        }
        self.holder.store(me, Ordering::Release);
        Ok(Held {
            guard,
            holder: &self.holder,
        })
    }
}

struct Held<'a> {
    guard: MutexGuard<'a, PgConnection>,
    holder: &'a AtomicUsize,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.holder.store(0, Ordering::Release);
    }
}

/// A number unique to each live thread (the address of a thread-local), never 0.
fn thread_token() -> usize {
    thread_local!(static TOKEN: u8 = const { 0 });
    TOKEN.with(|t| t as *const u8 as usize)
}

impl Sealed for Persistent {}
impl Conn for Persistent {
    type Backend = Postgres;
    fn with_connection<R>(&self, f: impl FnOnce(&PgConnection) -> Result<R>) -> Result<R> {
        let held = self.lock()?;
        f(&held.guard)
    }

    #[inline]
    fn files_folder(&self) -> Option<&std::path::Path> {
        self.files.as_deref()
    }
}
