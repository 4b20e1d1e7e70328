//! The persistent strategy: one connection, opened once and kept.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::conn::{
    Conn, Origin, RollbackGuard, Sealed, Tx, WriteMark, file_key, held_by_this_thread,
    same_process, this_thread_writes, transaction,
};
use crate::error::{Error, Result};
use crate::options::Options;

/// One connection, opened once and kept open: the fastest strategy and the default.
///
/// `Persistent` is `Send + Sync`; share it between threads with `Arc<Persistent>`.
/// Calls from different threads take turns on the one connection. A call
/// waits for its turn at most the busy timeout ([`Options::busy_timeout`]),
/// then fails with [`Error::ConnectionHeld`]: a callback that hands work on the
/// same `Persistent` to another thread and waits for it gets an error, not a
/// deadlock.
///
/// The connection belongs to the process that opened it: after `fork()`, the
/// child's transactions, writes and [`with_rusqlite`](Persistent::with_rusqlite)
/// fail with [`Error::Usage`] (see RELIABILITY.md for what is checked where),
/// and dropping the `Persistent` in the child leaves the connection untouched.
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
    /// `None` only once dropped in a child process (see `Drop`).
    conn: Mutex<Option<Connection>>,
    path: PathBuf,
    /// Token of the thread holding `conn`, 0 when free: lets a re-entrant call
    /// from inside `transaction` fail with a clear error instead of deadlocking.
    holder: AtomicUsize,
    /// How many threads wait for `conn` (the slow path of `lock`).
    waiters: AtomicUsize,
    /// Wakes the waiters when `conn` is released, if there are any.
    wake: Mutex<()>,
    released: Condvar,
    /// The busy timeout the connection was opened with: the longest wait for `conn`.
    busy_timeout: Duration,
    /// The process that opened the connection.
    pid: u32,
    /// The file's canonical path, for the registry of this thread's transactions.
    file: Option<PathBuf>,
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
        let open_err = |source| Error::Open {
            path: path.clone(),
            source: Box::new(source),
        };
        // As set (and clamped) by the options.
        let millis: i64 = conn
            .pragma_query_value(None, "busy_timeout", |r| r.get(0))
            .map_err(open_err)?;
        let busy_timeout = Duration::from_millis(u64::try_from(millis).unwrap_or(0));
        let pid = std::process::id();
        // Every commit that writes (autocommit statements included) first
        // checks that this is still the process that opened the connection:
        // in a child made by fork() it becomes a rollback, and the error is
        // reported as the fork it is (see `in_this_process`). Reads do not
        // commit, and pay nothing.
        conn.commit_hook(Some(move || std::process::id() != pid));
        Ok(Persistent {
            conn: Mutex::new(Some(conn)),
            file: file_key(&path),
            path,
            holder: AtomicUsize::new(0),
            waiters: AtomicUsize::new(0),
            wake: Mutex::new(()),
            released: Condvar::new(),
            busy_timeout,
            pid,
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
    /// If SQLite rolls the transaction back by itself (a full disk, an
    /// interrupt), every later operation through the `tx` fails, and so does
    /// this call, with [`Error::TransactionRolledBack`]: nothing of it is
    /// committed, and nothing runs outside it. See [`Conn::atomic`].
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
    ///
    /// The connection must come back as it was given, outside any
    /// transaction: if `f` leaves a transaction open (a `BEGIN` without its
    /// `COMMIT`, say one stopped by an error) or panics inside one, that
    /// transaction is rolled back, and the call returns [`Error::Usage`]
    /// (after a panic, the panic goes on). None of its writes are then kept,
    /// and no later call of the crate joins it. Use
    /// [`transaction`](Persistent::transaction) for work that must be atomic.
    ///
    /// ```
    /// use doctable::{Error, Persistent};
    ///
    /// let db = Persistent::open_in_memory()?;
    /// db.with_rusqlite(|c| c.execute_batch("CREATE TABLE t (x)"))??;
    /// let left_open = db.with_rusqlite(|c| c.execute_batch("BEGIN; INSERT INTO t VALUES (1)"));
    /// assert!(matches!(left_open, Err(Error::Usage(_))));
    /// let rows: i64 = db.with_rusqlite(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)))??;
    /// assert_eq!(rows, 0); // rolled back
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_rusqlite<R>(&self, f: impl FnOnce(&Connection) -> R) -> Result<R> {
        self.with_connection(|c| {
            same_process(self.pid)?;
            let guard = RollbackGuard::new(c, crate::dialect::ROLLBACK, Some(self.pid));
            let value = f(c);
            if c.is_autocommit() {
                return Ok(value);
            }
            drop(guard);
            Err(Error::Usage(format!(
                "with_rusqlite: the closure left a transaction open (a BEGIN without its COMMIT \
                 or ROLLBACK, maybe stopped by an error); {}: use `transaction` for work that \
                 must be atomic, or end the transaction inside the closure",
                if c.is_autocommit() {
                    "it was rolled back, and none of its writes are kept"
                } else {
                    "rolling it back failed too, so the connection is still inside it"
                }
            )))
        })
    }

    #[inline]
    fn lock(&self) -> Result<HeldConnection<'_>> {
        let me = thread_token();
        if self.holder.load(Ordering::Acquire) == me {
            return Err(self.reentrant());
        }
        // A panic in another thread while it held the lock cannot leave a
        // transaction open (the rollback guard ran while unwinding), so the
        // connection is still good to use.
        let guard = match self.conn.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => self.wait_for_connection()?,
        };
        self.holder.store(me, Ordering::Release);
        Ok(HeldConnection {
            guard,
            _wake: WakeWaiters(self),
            holder: &self.holder,
        })
    }

    #[cold]
    #[inline(never)]
    fn reentrant(&self) -> Error {
        // In a forked child the thread holding the parent's call looks like this one.
        if let Err(fork) = same_process(self.pid) {
            return fork;
        }
        Error::Usage(
            "this Persistent connection is already in use on this thread (inside its own \
             `transaction`?): pass the transaction's `tx` to table operations instead"
                .into(),
        )
    }

    /// The slow path of `lock`: another thread holds the connection. Waits
    /// for it to be released, for at most the busy timeout.
    #[cold]
    #[inline(never)]
    fn wait_for_connection(&self) -> Result<MutexGuard<'_, Option<Connection>>> {
        let started = Instant::now();
        let deadline = started.checked_add(self.busy_timeout);
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(&self.waiters);
        let mut wake = self.wake.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            match self.conn.try_lock() {
                Ok(guard) => return Ok(guard),
                Err(TryLockError::Poisoned(p)) => return Ok(p.into_inner()),
                Err(TryLockError::WouldBlock) => {}
            }
            let left = deadline.map_or(Duration::MAX, |d| {
                d.saturating_duration_since(Instant::now())
            });
            if left.is_zero() {
                return Err(Error::ConnectionHeld {
                    waited: started.elapsed(),
                });
            }
            // The releasing thread notifies under `wake`, which this thread
            // holds from its `try_lock` until it waits, so no release is
            // missed; the 10 ms slices only bound the wait if one were.
            wake = match self
                .released
                .wait_timeout(wake, left.min(Duration::from_millis(10)))
            {
                Ok((guard, _)) => guard,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// Reports an error met in a child made by fork() as the fork it is (a
    /// write there fails in the commit hook, which SQLite reports as a constraint).
    #[cold]
    fn in_this_process(&self, e: Error) -> Error {
        match same_process(self.pid) {
            Ok(()) => e,
            Err(fork) => fork,
        }
    }

    /// The error for a connection found inside a transaction between calls,
    /// which every call of the crate leaves in autocommit mode: one the crate
    /// did not open, or (in a child made by fork()) the parent's. Joining it
    /// would report writes as done that are not.
    #[cold]
    fn foreign_transaction(&self) -> Error {
        match same_process(self.pid) {
            Err(fork) => fork,
            Ok(()) => Error::Usage(
                "this Persistent's connection is inside a transaction the crate did not open (a \
                 `BEGIN` run on the raw connection?): refused, since its writes would be \
                 committed or lost by whoever ends that transaction"
                    .into(),
            ),
        }
    }

    /// Runs `f` while this thread has a transaction open on the same file
    /// through another connection: a write would wait for that transaction's
    /// lock, which can never be released while this thread waits, so it
    /// fails at once (reads go on as usual).
    #[cold]
    #[inline(never)]
    fn beside_own_transaction<R>(
        &self,
        conn: &Connection,
        file: &Path,
        f: impl FnOnce(&Connection) -> Result<R>,
    ) -> Result<R> {
        let _ = conn.busy_timeout(Duration::ZERO);
        let result = f(conn);
        let _ = conn.busy_timeout(self.busy_timeout);
        result.map_err(|e| held_by_this_thread(e, file))
    }
}

impl Drop for Persistent {
    fn drop(&mut self) {
        if std::process::id() != self.pid {
            // A child made by fork(): closing would roll back the parent's
            // open transaction, or checkpoint and delete its WAL. The
            // connection is left alone (its memory and file handles stay
            // with the child until it exits).
            let conn = match self.conn.get_mut() {
                Ok(conn) => conn.take(),
                Err(poisoned) => poisoned.into_inner().take(),
            };
            std::mem::forget(conn);
        }
    }
}

struct HeldConnection<'a> {
    // Dropped in this order: the guard releases the connection, then the
    // waiters (if any) are woken.
    guard: MutexGuard<'a, Option<Connection>>,
    _wake: WakeWaiters<'a>,
    holder: &'a AtomicUsize,
}

impl HeldConnection<'_> {
    #[inline]
    fn connection(&self) -> Result<&Connection> {
        match self.guard.as_ref() {
            Some(conn) => Ok(conn),
            // Only `Drop` in a forked child takes the connection out.
            None => Err(closed()),
        }
    }
}

#[cold]
fn closed() -> Error {
    Error::Usage("this Persistent's connection is closed".into())
}

impl Drop for HeldConnection<'_> {
    #[inline]
    fn drop(&mut self) {
        // Before the guard is released, so a new holder's token stays.
        self.holder.store(0, Ordering::Release);
    }
}

/// Wakes the threads waiting for the connection, after it was released.
struct WakeWaiters<'a>(&'a Persistent);

impl Drop for WakeWaiters<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.0.waiters.load(Ordering::SeqCst) != 0 {
            self.0.wake_waiters();
        }
    }
}

impl Persistent {
    #[cold]
    #[inline(never)]
    fn wake_waiters(&self) {
        let _wake = self.wake.lock().unwrap_or_else(PoisonError::into_inner);
        self.released.notify_all();
    }
}

/// Counts a waiting thread while alive.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A number unique to each live thread (the address of a thread-local), never 0.
fn thread_token() -> usize {
    thread_local!(static TOKEN: u8 = const { 0 });
    TOKEN.with(|t| t as *const u8 as usize)
}

impl Sealed for Persistent {}
impl Conn for Persistent {
    fn with_connection<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        let held = self.lock()?;
        let conn = held.connection()?;
        if !conn.is_autocommit() {
            return Err(self.foreign_transaction());
        }
        let result = match &self.file {
            Some(file) if this_thread_writes(file) => self.beside_own_transaction(conn, file, f),
            _ => f(conn),
        };
        result.map_err(|e| self.in_this_process(e))
    }

    fn atomic<R>(&self, f: impl FnOnce(&Tx<'_>) -> Result<R>) -> Result<R> {
        self.with_connection(|conn| {
            let _writing = self.file.as_deref().map(WriteMark::enter);
            transaction(
                conn,
                Origin::Own {
                    opened_by: self.pid,
                },
                f,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A transaction the crate did not open, found on the connection between
    /// calls (no public path leaves one: `with_rusqlite` rolls it back), is
    /// refused by every call rather than joined.
    #[test]
    fn a_foreign_transaction_on_the_connection_is_refused_not_joined() {
        let db = Persistent::open_in_memory().unwrap();
        db.with_rusqlite(|c| c.execute_batch("CREATE TABLE t (x)"))
            .unwrap()
            .unwrap();
        {
            let held = db.lock().unwrap();
            held.connection().unwrap().execute_batch("BEGIN").unwrap();
        }
        let err = db.transaction(|_| Ok(())).unwrap_err();
        assert!(
            matches!(&err, Error::Usage(m) if m.contains("did not open")),
            "{err:?}"
        );
        let err = db
            .with_connection(|c| {
                c.execute("INSERT INTO t VALUES (1)", [])
                    .map_err(|e| Error::Usage(e.to_string()))
            })
            .unwrap_err();
        assert!(matches!(&err, Error::Usage(m) if m.contains("did not open")));
        let held = db.lock().unwrap();
        let conn = held.connection().unwrap();
        conn.execute_batch("ROLLBACK").unwrap();
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 0);
    }

    /// The wait for a held connection ends at the busy timeout with
    /// `ConnectionHeld`, and a release wakes a waiter at once.
    #[test]
    fn waiting_for_the_connection_is_bounded_and_woken_by_a_release() {
        let options = Options::new().busy_timeout(Duration::from_millis(200));
        let db = std::sync::Arc::new(Persistent::open_with(":memory:", &options).unwrap());
        let held = db.lock().unwrap();
        let started = Instant::now();
        let other = std::sync::Arc::clone(&db);
        let err = std::thread::spawn(move || other.with_rusqlite(|_| ()).unwrap_err())
            .join()
            .unwrap();
        let waited = started.elapsed();
        assert!(matches!(err, Error::ConnectionHeld { .. }), "{err:?}");
        assert!(waited >= Duration::from_millis(190), "{waited:?}");
        assert!(waited < Duration::from_secs(3), "{waited:?}");

        let other = std::sync::Arc::clone(&db);
        let waiter = std::thread::spawn(move || {
            let started = Instant::now();
            other.with_rusqlite(|_| ()).map(|()| started.elapsed())
        });
        std::thread::sleep(Duration::from_millis(50));
        drop(held);
        let waited = waiter.join().unwrap().unwrap();
        assert!(
            waited < Duration::from_millis(190),
            "woken by the release: {waited:?}"
        );
        assert_eq!(db.waiters.load(Ordering::SeqCst), 0);
    }
}
