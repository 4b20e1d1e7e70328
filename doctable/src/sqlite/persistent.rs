//! The persistent strategy: one connection, opened once and kept.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use rusqlite::Connection;

use super::options::Options;
use crate::conn::{Conn, Sealed};
use crate::error::{Error, Result};

/// One connection, opened once and kept open: the fastest strategy and the default.
///
/// `Persistent` is `Send + Sync`; share it between threads with `Arc<Persistent>`.
/// Calls from different threads take turns on the one connection.
///
/// ```
/// use doctable::{DocTable, Persistent};
///
/// #[derive(DocTable, Debug, PartialEq)]
/// struct Note { #[doctable(primary_key)] id: Option<i64>, text: String }
///
/// let dir = tempfile::tempdir()?;
/// let db = Persistent::open(dir.path().join("notes.db"))?;
/// Note::create_table(&db)?;
/// let id = Note::insert(&db, &Note { id: None, text: "hello".into() })?;
/// assert_eq!(Note::get(&db, id)?.map(|n| n.text), Some("hello".to_string()));
/// # Ok::<(), doctable::Error>(())
/// ```
#[derive(Debug)]
pub struct Persistent {
    conn: Mutex<Connection>,
    path: PathBuf,
    /// Token of the thread holding `conn`, 0 when free: lets a re-entrant call
    /// from inside `transaction` fail with a clear error instead of deadlocking.
    holder: AtomicUsize,
}

impl Persistent {
    /// Opens (creating if needed) the database at `path` with the default [`Options`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, &Options::default())
    }

    /// Opens the database at `path` with the given options.
    pub fn open_with(path: impl AsRef<Path>, options: &Options) -> Result<Self> {
        let path = path.as_ref().to_owned();
        let conn = options.open(&path, true)?;
        Ok(Persistent {
            conn: Mutex::new(conn),
            path,
            holder: AtomicUsize::new(0),
        })
    }

    /// A private in-memory database, gone when this value is dropped.
    pub fn open_in_memory() -> Result<Self> {
        Self::open(":memory:")
    }

    /// The path this database was opened from.
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
    /// use doctable::{DocTable, Persistent};
    ///
    /// #[derive(DocTable)]
    /// struct Word { #[doctable(primary_key)] id: Option<i64>, text: String }
    ///
    /// let db = Persistent::open_in_memory()?;
    /// Word::create_table(&db)?;
    /// db.transaction(|tx| {
    ///     Word::insert(tx, &Word { id: None, text: "one".into() })?;
    ///     Word::insert(tx, &Word { id: None, text: "two".into() })?;
    ///     Ok(())
    /// })?;
    /// assert_eq!(Word::count().get(&db)?, 2);
    /// # Ok::<(), doctable::Error>(())
    /// ```
    pub fn transaction<R>(&self, f: impl FnOnce(&crate::Tx<'_>) -> Result<R>) -> Result<R> {
        self.atomic(f)
    }

    /// Runs `f` with the raw rusqlite connection, for work the crate does not cover.
    pub fn with_rusqlite<R>(&self, f: impl FnOnce(&Connection) -> R) -> Result<R> {
        self.with_connection(|c| Ok(f(c)))
    }

    fn lock(&self) -> Result<HeldConnection<'_>> {
        let me = thread_token();
        if self.holder.load(Ordering::Acquire) == me {
            return Err(Error::Usage(
                "this Persistent connection is already in use on this thread (inside its own \
                 `transaction`?): pass the transaction's `tx` to table operations instead"
                    .into(),
            ));
        }
        // A panic in another thread while it held the lock cannot leave a
        // transaction open (the rollback guard ran while unwinding), so the
        // connection is still good to use.
        let guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        self.holder.store(me, Ordering::Release);
        Ok(HeldConnection {
            guard,
            holder: &self.holder,
        })
    }
}

struct HeldConnection<'a> {
    guard: MutexGuard<'a, Connection>,
    holder: &'a AtomicUsize,
}

impl Drop for HeldConnection<'_> {
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
    type Backend = crate::sqlite::Sqlite;
    fn with_connection<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        let held = self.lock()?;
        f(&held.guard)
    }
}
