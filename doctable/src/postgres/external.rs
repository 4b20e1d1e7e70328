//! The external strategy: the caller's own `postgres::Client` or
//! `postgres::Transaction`, borrowed.

use std::marker::PhantomData;
use std::ptr::NonNull;

use postgres::{Client, Transaction};

use super::{PgConnection, Postgres, Session};
use crate::conn::{Conn, Sealed, Tx};
use crate::error::Result;

/// The caller's own `postgres::Client` or `postgres::Transaction`, borrowed
/// for as long as the `External` lives: the crate runs statements on it and
/// never commits, rolls back or closes the caller's transaction, nor closes
/// the client. Drop the `External` to use the client again.
///
/// Each `External` keeps its own prepared statement cache (dropped with it).
///
/// ```no_run
/// use doctable::DocTable;
/// use doctable::postgres::{External, driver};
///
/// #[derive(DocTable)]
/// struct Note { #[doctable(primary_key)] id: Option<i64>, text: String }
///
/// let mut client = driver::Client::connect("host=127.0.0.1 user=root dbname=test", driver::NoTls)?;
/// {
///     let db = External::new(&mut client)?;
///     Note::create_table(&db)?;
///     Note::insert(&db, &Note { id: None, text: "committed by the crate".into() })?;
/// }
/// let mut txn = client.transaction()?;
/// {
///     // The crate's writes (and its own transactions, as savepoints) join
///     // the caller's transaction...
///     let db = External::in_transaction(&mut txn);
///     Note::insert(&db, &Note { id: None, text: "the caller decides".into() })?;
/// }
/// // ...which the caller ends.
/// txn.rollback()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct External<'a> {
    /// Holds `Session::Client` / `Session::Transaction` (see `Session`'s
    /// safety note): private, never moved out.
    conn: PgConnection,
    lent: PhantomData<&'a mut Client>,
    files: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for External<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("External")
            .field("conn", &self.conn)
            .finish()
    }
}

impl std::fmt::Display for External<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PostgreSQL external client")
    }
}

impl<'a> External<'a> {
    /// Sets the folder that holds the files of `#[doctable(file)]` columns
    /// (one subfolder per table; README "File-backed columns"). A PostgreSQL
    /// database has no file to put them beside, so file columns need this.
    pub fn with_files_folder(mut self, folder: impl AsRef<std::path::Path>) -> Self {
        self.files = Some(folder.as_ref().to_path_buf());
        self
    }
    /// Borrows the caller's `client`. If the caller opened a transaction on
    /// it with SQL (`BEGIN`), the crate finds that out here (one round trip)
    /// and treats it as [`in_transaction`](External::in_transaction) does:
    /// the crate's transactions become savepoints inside it, and the caller
    /// commits or rolls back. Otherwise the crate's transactions are its own.
    ///
    /// The error is the server's, if it cannot be asked.
    pub fn new(client: &'a mut Client) -> Result<Self> {
        let inside = in_transaction_block(client)?;
        let this = External {
            conn: PgConnection::over(Session::Client(NonNull::from(client))),
            lent: PhantomData,
            files: None,
        };
        if inside {
            this.conn.depth.set(1);
        }
        Ok(this)
    }

    /// Borrows the caller's transaction: every statement runs inside it, the
    /// crate's transactions become savepoints inside it, and the caller
    /// commits or rolls it back after dropping the `External`.
    ///
    /// A statement that fails on the server aborts the caller's transaction
    /// (PostgreSQL's rule), unless it ran inside a crate transaction (a
    /// savepoint, rolled back to).
    pub fn in_transaction(txn: &'a mut Transaction<'_>) -> Self {
        // The lifetime is erased (see `Session::Transaction`); the borrow is
        // kept by `lent`.
        let pointer = NonNull::from(txn).cast::<Transaction<'static>>();
        let this = External {
            conn: PgConnection::over(Session::Transaction(pointer)),
            lent: PhantomData,
            files: None,
        };
        this.conn.depth.set(1);
        this
    }

    /// Runs `f` inside one transaction: committed when `f` returns `Ok`,
    /// rolled back when it returns `Err` or panics. Inside the caller's
    /// transaction this is a savepoint (released or rolled back to).
    pub fn transaction<R>(&self, f: impl FnOnce(&Tx<'_, Postgres>) -> Result<R>) -> Result<R> {
        self.atomic(f)
    }

    /// Like [`transaction`](External::transaction), running `f` again when it
    /// fails with [`Error::Serialization`](crate::Error::Serialization) (a
    /// serialization failure or deadlock), with backoff (see
    /// [`Persistent::transaction_retry`](super::Persistent::transaction_retry)).
    /// Inside the caller's transaction the rerun is of a savepoint, which
    /// undoes a deadlock's failure but not a serialization failure of a
    /// `SERIALIZABLE` transaction: that needs the caller's whole transaction rerun.
    pub fn transaction_retry<R>(&self, f: impl FnMut(&Tx<'_, Postgres>) -> Result<R>) -> Result<R> {
        super::retry(self, f)
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

/// Whether `client`'s session is inside a transaction block: a savepoint can
/// be set only there (elsewhere it fails with SQLSTATE 25P01; in an aborted
/// transaction with 25P02).
fn in_transaction_block(client: &mut Client) -> Result<bool> {
    use postgres::error::SqlState;
    const PROBE: &str = "SAVEPOINT doctable_probe; RELEASE SAVEPOINT doctable_probe";
    match client.batch_execute(PROBE) {
        Ok(()) => Ok(true),
        Err(e) if e.code() == Some(&SqlState::NO_ACTIVE_SQL_TRANSACTION) => Ok(false),
        Err(e) if e.code() == Some(&SqlState::IN_FAILED_SQL_TRANSACTION) => Ok(true),
        Err(e) => Err(super::pg_error(e, None, PROBE)),
    }
}

impl Sealed for External<'_> {}
impl Conn for External<'_> {
    type Backend = Postgres;
    fn with_connection<R>(&self, f: impl FnOnce(&PgConnection) -> Result<R>) -> Result<R> {
        f(&self.conn)
    }

    #[inline]
    fn files_folder(&self) -> Option<&std::path::Path> {
        self.files.as_deref()
    }
}
