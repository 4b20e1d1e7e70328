//! The per-query strategy: a fresh connection for every call.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::config::DbConfig;

use super::Sqlite;
use super::locks::{WriteMark, file_key, held_by_this_thread, this_thread_writes};
use super::options::{Options, is_memory_path};
use super::queue::{Scope, WriterQueue};
use crate::conn::{Conn, Origin, Sealed, Tx, same_process, transaction};
use crate::error::{Error, Result};

/// Opens a fresh connection for each call, closing it afterwards: every call
/// has its own locks, page cache and statements, and nothing of one call's
/// connection outlives it (see BENCHMARKS.md for what an open costs).
///
/// **The anchor.** On a WAL database a `PerQuery` keeps one idle connection
/// open for as long as it (or a clone) lives. It never runs a statement after
/// the open and never holds a transaction, so it stops no reader, writer or
/// checkpoint (only a change of journal mode, which needs the file to
/// itself); what it keeps is the file's shared-memory WAL index (`-shm`). Without it, each call's connection is
/// the file's only one, and its open truncates the `-shm` and rebuilds the
/// index from the whole `-wal` file: that halves the cost of a call
/// (measured: 87 µs an open/get/close with the anchor, 188 µs without).
/// [`close_between_calls`](PerQuery::close_between_calls) drops it, for a
/// program that must hold no file handle between calls. When the last clone
/// is dropped, the anchor closes like any last connection: it checkpoints the
/// WAL and removes the `-wal` and `-shm` files.
///
/// Its connections close without checkpointing the WAL
/// (`SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE`): the `-wal` and `-shm` files stay
/// beside the database after the last call, holding committed writes; once
/// the WAL passes 16 pages, the call that finds it so checkpoints and
/// truncates it before closing (skipped, never waited for, while another
/// connection uses the file). Every reader that opens the file sees all
/// committed writes; copy all three files, or the database through
/// [`Persistent::backup_to`](crate::Persistent::backup_to), to copy it.
///
/// An in-memory database is refused: each connection would see its own empty database.
///
/// ```
/// use doctable::PerQuery;
///
/// let err = PerQuery::open(":memory:").unwrap_err();
/// assert!(err.to_string().contains(":memory:"));
/// ```
#[derive(Debug, Clone)]
pub struct PerQuery {
    path: PathBuf,
    options: Options,
    /// The file's canonical path, for the registry of this thread's transactions.
    file: Option<PathBuf>,
    /// Places in the file's writer queue not in use by a call (each call
    /// takes one: every connection needs its own handle on the side file),
    /// kept so that calls reuse their handles and waiting threads.
    queues: Arc<Mutex<Vec<Arc<WriterQueue>>>>,
    /// The idle connection that keeps the WAL index between calls.
    anchor: Option<Arc<Anchor>>,
}

/// A connection held open and never used, so that the file's WAL index
/// (`-shm`) outlives each call's connection (see [`PerQuery`]).
struct Anchor {
    conn: Mutex<Option<Connection>>,
    /// The process that opened it.
    pid: u32,
}

impl std::fmt::Debug for Anchor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Anchor")
    }
}

impl Drop for Anchor {
    fn drop(&mut self) {
        let conn = self
            .conn
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if std::process::id() != self.pid {
            // A forked child's copy of the parent's connection: closing it
            // here could disturb the parent's locks, so it is left alone.
            std::mem::forget(conn);
        }
    }
}

impl PerQuery {
    /// Checks that `path` opens as a database (creating it if needed) with the
    /// default [`Options`], then keeps the path for later calls.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, &Options::default())
    }

    /// Like [`PerQuery::open`], with the given options.
    pub fn open_with(path: impl AsRef<Path>, options: &Options) -> Result<Self> {
        let path = path.as_ref().to_owned();
        if is_memory_path(&path) {
            return Err(Error::Usage(format!(
                "PerQuery cannot use the in-memory database `{}`: every call opens a new \
                 connection, and each would see its own empty database; use Persistent instead",
                path.display()
            )));
        }
        // The first open sets the journal mode, which is stored in the file;
        // later opens only apply the per-connection settings. On a WAL
        // database it stays open as the anchor: the first open has read the
        // schema (`Options::open`), which mapped the WAL index.
        let first = options.open(&path, true, None)?;
        let anchor = if options.wal_on() {
            Some(Arc::new(Anchor {
                conn: Mutex::new(Some(first)),
                pid: std::process::id(),
            }))
        } else {
            drop(first);
            None
        };
        Ok(PerQuery {
            queues: Arc::default(),
            file: file_key(&path),
            path,
            options: options.clone(),
            anchor,
        })
    }

    /// Drops this `PerQuery`'s idle connection (see "The anchor" above), so
    /// that nothing is held open between calls; each call's open then
    /// rebuilds the WAL index, about twice the cost of a call. Clones made
    /// before keep theirs.
    ///
    /// ```
    /// use doctable::PerQuery;
    /// # let dir = tempfile::tempdir()?;
    /// let db = PerQuery::open(dir.path().join("words.db"))?.close_between_calls();
    /// # Ok::<(), doctable::Error>(())
    /// ```
    #[must_use]
    pub fn close_between_calls(mut self) -> Self {
        self.anchor = None;
        self
    }

    /// The database path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` inside one transaction on this connection: committed when `f`
    /// returns `Ok`, rolled back when it returns `Err` or panics. Pass the
    /// [`Tx`](crate::Tx) to table operations so they join it; `tx.transaction(..)`
    /// inside nests a savepoint. It starts with `BEGIN IMMEDIATE`: other writers
    /// wait (up to the busy timeout) rather than fail.
    ///
    /// ```
    /// use doctable::{DocTable, PerQuery};
    /// # let dir = tempfile::tempdir()?;
    ///
    /// #[derive(DocTable)]
    /// struct Word { #[doctable(primary_key)] id: Option<i64>, text: String }
    ///
    /// let db = PerQuery::open(dir.path().join("words.db"))?;
    /// Word::create_table(&db)?;
    /// db.transaction(|tx| {
    ///     Word::insert(tx, &Word { id: None, text: "one".into() })?;
    ///     Word::insert(tx, &Word { id: None, text: "two".into() })?;
    ///     Ok(())
    /// })?;
    /// assert_eq!(Word::count().get(&db)?, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn transaction<R>(&self, f: impl FnOnce(&crate::Tx<'_>) -> Result<R>) -> Result<R> {
        self.atomic(f)
    }

    /// [`transaction`](Self::transaction) with an error type of the caller's
    /// own: `f` returns `Result<R, E>` for any `E: From<doctable::Error>`, and
    /// `Err(e)` rolls back and is returned as it is (see [`Conn::try_atomic`]).
    pub fn try_transaction<R, E: From<crate::Error>>(
        &self,
        f: impl FnOnce(&crate::Tx<'_>) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E> {
        self.try_atomic(f)
    }
}

impl PerQuery {
    /// Opens a connection, runs `f` (with the process id at the open), closes
    /// the connection.
    fn run<R>(&self, f: impl FnOnce(&Connection, u32) -> Result<R>) -> Result<R> {
        let pid = std::process::id();
        // This thread's own transaction on the file (through another
        // connection) holds the write lock: a write here could only wait
        // for it until the timeout, so it fails at once instead (and takes
        // no turn in the queue, which that transaction holds).
        let beside = self.file.as_deref().filter(|file| this_thread_writes(file));
        let queue = match beside {
            Some(_) => None,
            None => self.take_queue(pid),
        };
        // Dropped in reverse order: the scope releases the queue before it
        // goes back for another call to take.
        let _return = ReturnQueue(&self.queues, queue.as_ref());
        let _scope = Scope::enter(self.options.timeout(), queue.as_ref());
        let conn = self.options.open(&self.path, false, None)?;
        // Closing does not checkpoint the WAL: the close of the last
        // connection to a file would otherwise checkpoint and delete the WAL
        // and the next call create it again (see `truncate_large_wal` for
        // what bounds it instead). A failure leaves the default, which is
        // only slower.
        let _ = conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true);
        if beside.is_some() {
            let _ = conn.busy_timeout(Duration::ZERO);
        }
        let mut result = f(&conn, pid);
        if let Some(file) = beside {
            result = result.map_err(|e| held_by_this_thread(e, file));
        }
        if let Err(fork) = same_process(pid) {
            // Forked during the call: the connection is the parent's, and
            // closing it would roll back the parent's transaction.
            std::mem::forget(conn);
            return Err(fork);
        }
        if result.is_ok() {
            self.truncate_large_wal(&conn);
        }
        // Closing flushes nothing that matters for correctness (commits are done),
        // so a close error is only worth reporting when the call itself succeeded.
        match (result, conn.close()) {
            (Ok(value), Ok(())) => Ok(value),
            (Ok(_), Err((_, e))) => Err(Error::sqlite(e, None, "(closing the connection)")),
            (Err(e), _) => Err(e),
        }
    }
}

impl PerQuery {
    /// An unused place in the writer queue (one made by this process), or a
    /// new one; `None` when the options give none.
    fn take_queue(&self, pid: u32) -> Option<Arc<WriterQueue>> {
        let mut idle = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(queue) = idle.pop() {
            if queue.made_by(pid) {
                return Some(queue);
            }
        }
        drop(idle);
        self.options
            .queue(self.file.as_deref().unwrap_or(&self.path))
    }
}

/// Gives a call's place in the writer queue back to its `PerQuery` when
/// the call ends (after its scope has released it).
struct ReturnQueue<'q>(
    &'q Mutex<Vec<Arc<WriterQueue>>>,
    Option<&'q Arc<WriterQueue>>,
);

impl Drop for ReturnQueue<'_> {
    fn drop(&mut self) {
        if let Some(queue) = self.1 {
            let mut idle = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            idle.push(Arc::clone(queue));
        }
    }
}

/// The `-wal` size past which a `PerQuery` call checkpoints and truncates
/// the WAL before it closes (16 pages of 4 KiB).
const WAL_LIMIT: u64 = 16 * (4096 + 24) + 32;

impl PerQuery {
    /// Checkpoints the WAL and truncates it to nothing when it has passed
    /// [`WAL_LIMIT`]; otherwise leaves it.
    ///
    /// SQLite's automatic checkpoints do not bound the WAL here: the first
    /// connection to open a file (every `PerQuery` call, when nothing else
    /// keeps the file open) rebuilds the WAL index from the `-wal` file,
    /// reading all of it and forgetting how much of it was already copied
    /// back, so the WAL never restarts (measured: 19 MB after 2,000 writes
    /// with a 50-page automatic checkpoint) and every open reads more of it.
    /// A truncating checkpoint every few writes keeps both small. It never
    /// waits: with another connection reading or writing, it is skipped
    /// (that connection's own checkpoints then keep the WAL in bounds, as
    /// for any WAL database).
    fn truncate_large_wal(&self, conn: &Connection) {
        // A call that changed no row (a read) did not grow the WAL: no
        // `stat` for it. (A schema change counts no rows; the next write's
        // call checks.)
        if !self.options.wal_on() || self.options.is_read_only() || conn.total_changes() == 0 {
            return;
        }
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        let large = std::fs::metadata(&wal).is_ok_and(|m| m.len() > WAL_LIMIT);
        if large && conn.is_autocommit() {
            let _ = conn.busy_timeout(Duration::ZERO);
            let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        }
    }
}

thread_local! {
    /// The paths on which this thread has a `PerQuery` transaction open: a
    /// call through the `PerQuery` itself (instead of the `tx`) would open a
    /// second connection and wait for the first one's write lock until the busy
    /// timeout, so it is refused at once instead.
    static OPEN_TRANSACTIONS: RefCell<Vec<PathBuf>> = const { RefCell::new(Vec::new()) };
}

/// Removes this thread's mark for a path when the transaction ends, even by panic.
struct TransactionMark<'p>(&'p Path);

impl Drop for TransactionMark<'_> {
    fn drop(&mut self) {
        OPEN_TRANSACTIONS.with(|open| {
            let mut open = open.borrow_mut();
            if let Some(i) = open.iter().rposition(|p| p == self.0) {
                open.remove(i);
            }
        });
    }
}

impl PerQuery {
    fn refuse_inside_own_transaction(&self) -> Result<()> {
        if OPEN_TRANSACTIONS.with(|open| open.borrow().iter().any(|p| p == &self.path)) {
            return Err(Error::Usage(format!(
                "this PerQuery ({}) is inside its own `transaction` on this thread: pass the \
                 transaction's `tx` to table operations instead (a second connection would \
                 wait for the transaction's write lock)",
                self.path.display()
            )));
        }
        Ok(())
    }
}

impl Sealed for PerQuery {}
impl Conn for PerQuery {
    type Backend = Sqlite;
    fn with_connection<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        self.refuse_inside_own_transaction()?;
        self.run(|conn, _| {
            let _once = super::OneShot::enter();
            f(conn)
        })
    }

    fn atomic<R>(&self, f: impl FnOnce(&Tx<'_>) -> Result<R>) -> Result<R> {
        self.refuse_inside_own_transaction()?;
        self.run(|conn, pid| {
            OPEN_TRANSACTIONS.with(|open| open.borrow_mut().push(self.path.clone()));
            let _mark = TransactionMark(&self.path);
            let _writing = self.file.as_deref().map(WriteMark::enter);
            // A fresh connection is never inside a transaction; `Own` still
            // refuses one, so that no strategy of the crate joins a
            // transaction it did not open.
            transaction::<Sqlite, R>(
                conn,
                Origin::Own { opened_by: pid },
                self.options.files(),
                f,
            )
        })
    }

    #[inline]
    fn files_folder(&self) -> Option<&Path> {
        self.options.files()
    }
}
