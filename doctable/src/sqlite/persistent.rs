//! The persistent strategy: one connection, opened once and kept.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::Sqlite;
use super::locks::{WriteMark, file_key, held_by_this_thread, this_thread_writes};
use super::options::Options;
use super::queue::{Scope, WriterQueue};
use crate::backend::Dialect;
use crate::conn::{Conn, Origin, RollbackGuard, Sealed, Tx, same_process, transaction};
use crate::error::{Error, Result};

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
    /// [`Options::files_folder`].
    files: Option<PathBuf>,
    /// The connection's place in the file's writer queue ([`Options::writer_queue`]).
    queue: Option<Arc<WriterQueue>>,
}

impl Persistent {
    /// Opens (creating if needed) the database at `path` with the default [`Options`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, &Options::default())
    }

    /// Opens the database at `path` with the given options.
    pub fn open_with(path: impl AsRef<Path>, options: &Options) -> Result<Self> {
        let path = path.as_ref().to_owned();
        let pid = std::process::id();
        // Every commit that writes (autocommit statements included) first
        // checks that this is still the process that opened the connection:
        // in a child made by fork() it becomes a rollback, and the error is
        // reported as the fork it is (see `in_this_process`). Reads do not
        // commit, and pay nothing. The check shares the connection's one
        // commit hook with `Options::detect_file_moves`.
        let conn = options.open(&path, true, Some(pid))?;
        // As set (and clamped) by the options.
        let busy_timeout = options.timeout();
        let file = file_key(&path);
        Ok(Persistent {
            conn: Mutex::new(Some(conn)),
            queue: options.queue(file.as_deref().unwrap_or(&path)),
            file,
            path,
            holder: AtomicUsize::new(0),
            waiters: AtomicUsize::new(0),
            wake: Mutex::new(()),
            released: Condvar::new(),
            busy_timeout,
            pid,
            files: options.files().map(Path::to_path_buf),
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

    /// [`transaction`](Self::transaction) with an error type of the caller's
    /// own: `f` returns `Result<R, E>` for any `E: From<doctable::Error>`, and
    /// `Err(e)` rolls back and is returned as it is (see [`Conn::try_atomic`]).
    pub fn try_transaction<R, E: From<crate::Error>>(
        &self,
        f: impl FnOnce(&crate::Tx<'_>) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E> {
        self.try_atomic(f)
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
            let guard = RollbackGuard::<Sqlite>::new(
                c,
                <super::SqliteDialect as Dialect>::ROLLBACK,
                Some(self.pid),
            );
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

    /// [`with_rusqlite`](Persistent::with_rusqlite) for a closure that
    /// returns a `Result` (rusqlite's, or the crate's): one flat
    /// `doctable::Result`, its error converted (a `rusqlite::Error` becomes
    /// [`Error::Sqlite`], [`Error::Constraint`], ... as the crate's own do;
    /// `doctable::Error` has `From<rusqlite::Error>`, so `?` on rusqlite
    /// calls works inside a closure returning `doctable::Result`).
    ///
    /// ```
    /// use doctable::Persistent;
    ///
    /// let db = Persistent::open_in_memory()?;
    /// db.try_with_rusqlite(|c| c.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1)"))?;
    /// let rows: i64 = db.try_with_rusqlite(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)))?;
    /// assert_eq!(rows, 1);
    /// let both = db.try_with_rusqlite(|c| -> doctable::Result<i64> {
    ///     c.execute("INSERT INTO t VALUES (2)", [])?;
    ///     Ok(c.query_row("SELECT sum(x) FROM t", [], |r| r.get(0))?)
    /// })?;
    /// assert_eq!(both, 3);
    /// assert!(db.try_with_rusqlite(|c| c.execute_batch("SELECT * FROM missing")).is_err());
    /// # Ok::<(), doctable::Error>(())
    /// ```
    pub fn try_with_rusqlite<R, E>(
        &self,
        f: impl FnOnce(&Connection) -> std::result::Result<R, E>,
    ) -> Result<R>
    where
        Error: From<E>,
    {
        self.with_rusqlite(f)?.map_err(Error::from)
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
        let _ = super::busy::install(conn, self.busy_timeout);
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
    type Backend = Sqlite;
    fn with_connection<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        let held = self.lock()?;
        let conn = held.connection()?;
        if !conn.is_autocommit() {
            return Err(self.foreign_transaction());
        }
        let result = match &self.file {
            Some(file) if this_thread_writes(file) => {
                // No queue: its lock is this thread's own transaction's.
                let _scope = Scope::enter(self.busy_timeout, None);
                self.beside_own_transaction(conn, file, f)
            }
            _ => {
                let _scope = Scope::enter(self.busy_timeout, self.queue.as_ref());
                f(conn)
            }
        };
        result.map_err(|e| self.in_this_process(e))
    }

    fn atomic<R>(&self, f: impl FnOnce(&Tx<'_>) -> Result<R>) -> Result<R> {
        self.with_connection(|conn| {
            let _writing = self.file.as_deref().map(WriteMark::enter);
            transaction::<Sqlite, R>(
                conn,
                Origin::Own {
                    opened_by: self.pid,
                },
                self.files.as_deref(),
                f,
            )
        })
    }

    #[inline]
    fn files_folder(&self) -> Option<&Path> {
        self.files.as_deref()
    }
}

/// How far a backup has got: what [`Persistent::backup_to_with_progress`]
/// hands its callback after each step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackupProgress {
    /// Pages still to copy (0 after the last step).
    pub remaining: u64,
    /// Pages in the database being copied.
    pub page_count: u64,
}

impl Persistent {
    /// Copies this database, as one committed state, into a new file at `dest`,
    /// with SQLite's online backup API: the way to copy a live database (never
    /// copy, move or rename its files while it is open; see RELIABILITY.md).
    ///
    /// The copy is the state of the last commit when it starts, whatever
    /// other connections and processes commit meanwhile: with WAL (the
    /// default) they go on writing while it runs; without WAL their commits
    /// wait for it (up to their busy timeout). While it runs this `Persistent`'s
    /// connection is in use, so other threads' calls on it wait; to keep it
    /// free, call `backup_to` on a second `Persistent` opened on the same file
    /// (`Options::read_only` will do).
    ///
    /// `dest` must not exist, nor its `-wal`, `-shm` or `-journal` files: a
    /// backup never overwrites, and a new file next to an old `-wal` would take
    /// that log's pages as its own. The copy is written under a temporary name
    /// in the same directory and appears at `dest` only when whole and synced.
    /// Works on an in-memory database too, and on one whose file was deleted
    /// or replaced while open ([`Error::DatabaseMoved`]): it copies what this
    /// connection still reads.
    ///
    /// ```
    /// use doctable::{DocTable, Persistent};
    ///
    /// #[derive(DocTable)]
    /// struct Note { #[doctable(primary_key)] id: Option<i64>, text: String }
    ///
    /// let dir = tempfile::tempdir()?;
    /// let db = Persistent::open(dir.path().join("notes.db"))?;
    /// Note::create_table(&db)?;
    /// Note::insert(&db, &Note { id: None, text: "kept".into() })?;
    ///
    /// db.backup_to(dir.path().join("copy.db"))?;
    /// let copy = Persistent::open(dir.path().join("copy.db"))?;
    /// assert_eq!(Note::count().get(&copy)?, 1);
    /// # Ok::<(), doctable::Error>(())
    /// ```
    pub fn backup_to(&self, dest: impl AsRef<Path>) -> Result<()> {
        backup(self, dest.as_ref(), -1, &mut |_| ())
    }

    /// Like [`backup_to`](Persistent::backup_to), copying `pages_per_step`
    /// pages at a time and calling `progress` after each step, for a large
    /// file. The copy is still one committed state: the steps read one snapshot.
    ///
    /// ```
    /// use doctable::{DocTable, Persistent};
    ///
    /// #[derive(DocTable)]
    /// struct Note { #[doctable(primary_key)] id: Option<i64>, text: String }
    ///
    /// let dir = tempfile::tempdir()?;
    /// let db = Persistent::open(dir.path().join("notes.db"))?;
    /// Note::create_table(&db)?;
    /// let notes: Vec<Note> = (0..500).map(|i| Note { id: None, text: "x".repeat(i) }).collect();
    /// Note::insert_many(&db, &notes)?;
    ///
    /// let mut steps = Vec::new();
    /// db.backup_to_with_progress(dir.path().join("copy.db"), 10, |p| steps.push(p.remaining))?;
    /// assert!(steps.len() > 1);
    /// assert_eq!(steps.last(), Some(&0));
    /// # Ok::<(), doctable::Error>(())
    /// ```
    pub fn backup_to_with_progress(
        &self,
        dest: impl AsRef<Path>,
        pages_per_step: u32,
        mut progress: impl FnMut(BackupProgress),
    ) -> Result<()> {
        if pages_per_step == 0 {
            return Err(Error::Usage(
                "backup_to_with_progress: pages_per_step must be at least 1".into(),
            ));
        }
        let step = i32::try_from(pages_per_step).unwrap_or(i32::MAX);
        backup(self, dest.as_ref(), step, &mut progress)
    }
}

/// The backup: checks `dest`, copies into a fresh temporary file beside it
/// (`step` pages at a time, -1 for all at once), then links it to `dest`.
fn backup(
    db: &Persistent,
    dest: &Path,
    step: i32,
    progress: &mut dyn FnMut(BackupProgress),
) -> Result<()> {
    crate::sqlite::options::refuse_uri(dest)?;
    if crate::sqlite::options::is_memory_path(dest) {
        return Err(Error::Usage(format!(
            "backup_to writes a file, and `{}` names an in-memory database",
            dest.display()
        )));
    }
    if let Some(taken) = existing_database_files(dest) {
        return Err(Error::Usage(format!(
            "backup_to writes a new file and never overwrites one, and `{}` exists: remove it \
             (with the database's `-wal`, `-shm` and `-journal` files) or choose another name",
            taken.display()
        )));
    }
    let temp = TempBackup::create(dest)?;
    let sql = "(online backup)";
    let mut to = rusqlite::Connection::open_with_flags(
        &temp.path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| Error::Open {
        path: temp.path.clone(),
        source: Box::new(e),
    })?;
    crate::conn::Conn::with_connection(db, |from| {
        if !from.is_autocommit() {
            return Err(Error::Usage(
                "backup_to: a transaction is open on this connection; back up outside it".into(),
            ));
        }
        // One read transaction across every step: the copy is one snapshot,
        // and commits by other connections never restart it (with a step at
        // a time and no snapshot, a busy writer could keep it from finishing).
        let snapshot = ReadSnapshot::begin(from)?;
        let copy = rusqlite::backup::Backup::new(from, &mut to)
            .map_err(|e| Error::sqlite(e, None, sql))?;
        loop {
            let state = copy.step(step).map_err(|e| Error::sqlite(e, None, sql))?;
            let p = copy.progress();
            progress(BackupProgress {
                remaining: u64::try_from(p.remaining).unwrap_or(0),
                page_count: u64::try_from(p.pagecount).unwrap_or(0),
            });
            match state {
                rusqlite::backup::StepResult::Done => break,
                rusqlite::backup::StepResult::More => {}
                // The source is held by the snapshot and the destination is
                // private: a lock here is someone else opening the temporary file.
                _ => {
                    let busy = rusqlite::Error::SqliteFailure(
                        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                        Some(format!(
                            "the backup's temporary file `{}` is locked by another connection",
                            temp.path.display()
                        )),
                    );
                    return Err(Error::sqlite(busy, None, sql));
                }
            }
        }
        drop(copy);
        snapshot.end()
    })?;
    to.close()
        .map_err(|(_, e)| Error::sqlite(e, None, "(closing the backup)"))?;
    temp.publish(dest)
}

/// The first of `dest` and its `-wal`, `-shm` and `-journal` files that exists.
fn existing_database_files(dest: &Path) -> Option<PathBuf> {
    let mut candidates = vec![dest.to_owned()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = dest.as_os_str().to_owned();
        name.push(suffix);
        candidates.push(PathBuf::from(name));
    }
    candidates
        .into_iter()
        .find(|p| p.symlink_metadata().is_ok())
}

/// A read transaction on the source, ended when dropped (the progress
/// callback may panic).
struct ReadSnapshot<'c>(&'c Connection);

impl<'c> ReadSnapshot<'c> {
    fn begin(conn: &'c Connection) -> Result<Self> {
        let sql = "BEGIN DEFERRED; SELECT count(*) FROM sqlite_schema";
        conn.execute_batch("BEGIN DEFERRED")
            .map_err(|e| Error::sqlite(e, None, sql))?;
        let snapshot = ReadSnapshot(conn);
        // A deferred transaction takes its snapshot at its first read.
        conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
            .map_err(|e| Error::sqlite(e, None, sql))?;
        Ok(snapshot)
    }

    fn end(self) -> Result<()> {
        let result = self.0.execute_batch("COMMIT");
        std::mem::forget(self);
        result.map_err(|e| Error::sqlite(e, None, "COMMIT"))
    }
}

impl Drop for ReadSnapshot<'_> {
    fn drop(&mut self) {
        // Nothing was written in it: a failed rollback can leave nothing behind
        // that the next BEGIN would not report.
        if !self.0.is_autocommit() {
            let _ = self.0.execute_batch("ROLLBACK");
        }
    }
}

/// The temporary file a backup is written to, removed (with its journal)
/// unless published.
struct TempBackup {
    path: PathBuf,
    published: bool,
}

impl TempBackup {
    /// Creates a new empty file beside `dest`, under a name no other backup
    /// (in this process or another) uses, and with no journal beside it.
    fn create(dest: &Path) -> Result<Self> {
        static SEQUENCE: AtomicUsize = AtomicUsize::new(0);
        let dir = match dest.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        let base = dest.file_name().map_or_else(
            || std::ffi::OsString::from("backup"),
            std::ffi::OsStr::to_owned,
        );
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        loop {
            let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
            let mut name = std::ffi::OsString::from(".");
            name.push(&base);
            name.push(format!(".backup-{}-{nanos}-{n}", std::process::id()));
            let path = dir.join(name);
            if existing_database_files(&path).is_some() {
                continue;
            }
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(_) => {
                    return Ok(TempBackup {
                        path,
                        published: false,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::Io(e)),
            }
        }
    }

    /// Gives the finished copy the name `dest`, never replacing a file that
    /// appeared there meanwhile, and syncs the directory so the name lasts.
    fn publish(mut self, dest: &Path) -> Result<()> {
        let taken = || {
            Error::Usage(format!(
                "backup_to: `{}` appeared while the backup ran; the backup was not kept",
                dest.display()
            ))
        };
        match std::fs::hard_link(&self.path, dest) {
            Ok(()) => {
                self.published = true;
                // The copy is at `dest` now; a leftover second name is harmless.
                let _ = std::fs::remove_file(&self.path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(taken()),
            // A filesystem without hard links: a rename, after one more look.
            Err(_) => {
                if dest.symlink_metadata().is_ok() {
                    return Err(taken());
                }
                std::fs::rename(&self.path, dest)?;
                self.published = true;
            }
        }
        #[cfg(unix)]
        if let Some(dir) = dest.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

impl Drop for TempBackup {
    fn drop(&mut self) {
        if !self.published {
            // Best effort: a leftover temporary file is named as one, and harmless.
            let _ = std::fs::remove_file(&self.path);
            let mut journal = self.path.as_os_str().to_owned();
            journal.push("-journal");
            let _ = std::fs::remove_file(PathBuf::from(journal));
        }
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
