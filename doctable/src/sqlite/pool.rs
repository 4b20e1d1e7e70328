//! The pooled strategy: several connections to one file, so that readers on
//! different threads run in parallel under WAL.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::Sqlite;
use super::locks::{WriteMark, file_key, held_by_this_thread, this_thread_writes};
use super::options::{Options, is_memory_path};
use super::queue::{Scope, WriterQueue};
use crate::conn::{Conn, Origin, Sealed, Tx, same_process, transaction};
use crate::error::{Error, Result};

/// Several connections to one database file, for many threads: each call
/// takes an idle connection (opening one while fewer than the pool's size are
/// open), so readers on different threads run at once under WAL, where an
/// `Arc<Persistent>` runs every call, read or write, on its one connection in
/// turn. Writers still take SQLite's one write lock in turn: a transaction
/// starts with `BEGIN IMMEDIATE` and waits for the lock up to the busy
/// timeout. `Send + Sync`, and cheap to clone (the clones share the pool).
///
/// Choose it over [`Persistent`](crate::Persistent) for a program whose
/// threads mostly read the same file at once: two readers on a `Pool` are
/// inside their queries at the same moment (`tests/pool.rs`), where on an
/// `Arc<Persistent>` the second waits for the first (throughput figures in
/// BENCHMARKS.md). Keep `Persistent` for one thread, or for threads that
/// mostly write, which gain nothing from more connections and pay for their
/// page caches and statement caches (each connection has its own).
///
/// Readers run in parallel only if SQLite is built without
/// `SQLITE_ENABLE_MEMORY_MANAGEMENT`, which rusqlite's bundled build defines
/// and which makes every page read of every connection in the process take
/// one mutex. Set `LIBSQLITE3_FLAGS = "-USQLITE_ENABLE_MEMORY_MANAGEMENT"`
/// in the `[env]` table of your `.cargo/config.toml`, as this repository
/// does. Measured on 2 cores: 2 reading threads at 2.0× one thread's rate
/// with it, 0.6–1.3× without (README, "Connection strategies").
///
/// A [`transaction`](Pool::transaction) holds one connection for its whole
/// closure. A call made on the pool itself inside that closure (instead of
/// through its `tx`) runs on another connection: a read sees the database
/// without the transaction's writes, and a write fails at once with
/// [`Error::Locked`] (it could only wait for this thread's own transaction).
/// When every connection is in use, a call waits for one to come back, for
/// at most the busy timeout ([`Error::ConnectionHeld`]).
///
/// An in-memory database is refused: each connection would see its own.
///
/// ```
/// use doctable::{DocTable, Pool};
/// # let dir = tempfile::tempdir()?;
///
/// #[derive(DocTable)]
/// struct Word { #[doctable(primary_key)] id: Option<i64>, text: String }
///
/// let pool = Pool::open(dir.path().join("words.db"))?;
/// Word::create_table(&pool)?;
/// Word::insert(&pool, &Word { id: None, text: "one".into() })?;
/// let readers: Vec<_> = (0..2)
///     .map(|_| {
///         let pool = pool.clone();
///         std::thread::spawn(move || Word::count().get(&pool))
///     })
///     .collect();
/// for reader in readers {
///     assert_eq!(reader.join().unwrap()?, 1);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    options: Options,
    /// The file's canonical path, for the registry of this thread's transactions.
    file: Option<PathBuf>,
    /// The process that opened the pool (its connections belong to it).
    pid: u32,
    size: usize,
    idle: Mutex<Idle>,
    returned: Condvar,
}

/// A pooled connection and its place in the file's writer queue.
struct Pooled {
    conn: Connection,
    queue: Option<Arc<WriterQueue>>,
}

struct Idle {
    connections: Vec<Pooled>,
    /// How many connections are open, idle or in use.
    open: usize,
}

impl std::fmt::Debug for Idle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idle")
            .field("idle", &self.connections.len())
            .field("open", &self.open)
            .finish()
    }
}

impl Pool {
    /// A pool over `path` (created if needed) with the default [`Options`],
    /// of as many connections as the machine has cores (at least 2).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, &Options::default())
    }

    /// Like [`Pool::open`], with the given options.
    pub fn open_with(path: impl AsRef<Path>, options: &Options) -> Result<Self> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::open_sized(path, options, cores.max(2))
    }

    /// A pool of at most `size` connections (at least 1) over `path`, with
    /// the given options. One connection is opened now, which checks the
    /// file and sets its journal mode; the others when calls need them.
    pub fn open_sized(path: impl AsRef<Path>, options: &Options, size: usize) -> Result<Self> {
        let path = path.as_ref().to_owned();
        if is_memory_path(&path) {
            return Err(Error::Usage(format!(
                "Pool cannot use the in-memory database `{}`: each of its connections would see \
                 its own empty database; use Persistent instead",
                path.display()
            )));
        }
        let pid = std::process::id();
        let conn = options.open(&path, true, Some(pid))?;
        // After the open, which creates the file: a path that does not
        // exist has no canonical form.
        let file = file_key(&path);
        let first = Pooled {
            conn,
            queue: options.queue(file.as_deref().unwrap_or(&path)),
        };
        Ok(Pool {
            inner: Arc::new(Inner {
                file,
                path,
                options: options.clone(),
                pid,
                size: size.max(1),
                idle: Mutex::new(Idle {
                    connections: vec![first],
                    open: 1,
                }),
                returned: Condvar::new(),
            }),
        })
    }

    /// The database path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The most connections the pool opens.
    pub fn size(&self) -> usize {
        self.inner.size
    }

    /// Runs `f` inside one transaction on one of the pool's connections, held
    /// for the whole closure: committed when `f` returns `Ok`, rolled back
    /// when it returns `Err` or panics. Pass the [`Tx`](crate::Tx) to table
    /// operations so they join it. It starts with `BEGIN IMMEDIATE`: other
    /// writers wait (up to the busy timeout), readers on other connections go
    /// on reading the last commit.
    ///
    /// ```
    /// use doctable::{DocTable, Pool};
    /// # let dir = tempfile::tempdir()?;
    ///
    /// #[derive(DocTable)]
    /// struct Word { #[doctable(primary_key)] id: Option<i64>, text: String }
    ///
    /// let pool = Pool::open(dir.path().join("words.db"))?;
    /// Word::create_table(&pool)?;
    /// pool.transaction(|tx| {
    ///     Word::insert(tx, &Word { id: None, text: "one".into() })?;
    ///     // Another connection does not see the write before the commit.
    ///     assert_eq!(Word::count().get(&pool)?, 0);
    ///     Ok(())
    /// })?;
    /// assert_eq!(Word::count().get(&pool)?, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn transaction<R>(&self, f: impl FnOnce(&crate::Tx<'_>) -> Result<R>) -> Result<R> {
        self.atomic(f)
    }

    /// Runs `f` with one of the pool's rusqlite connections (for what the
    /// crate does not cover). Leave it as found: a transaction left open is
    /// refused by the next call that gets the connection, and the connection
    /// is then closed (rolling the transaction back).
    pub fn with_rusqlite<R>(&self, f: impl FnOnce(&Connection) -> R) -> Result<R> {
        self.with_connection(|conn| Ok(f(conn)))
    }

    /// Takes an idle connection, opens one, or waits for one to come back.
    fn lease(&self) -> Result<Lease<'_>> {
        same_process(self.inner.pid)?;
        let inner = &*self.inner;
        let mut idle = inner.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let mut started: Option<Instant> = None;
        loop {
            if let Some(conn) = idle.connections.pop() {
                return Ok(Lease {
                    pool: inner,
                    conn: Some(conn),
                });
            }
            if idle.open < inner.size {
                idle.open += 1;
                drop(idle);
                return match inner.options.open(&inner.path, false, Some(inner.pid)) {
                    Ok(conn) => Ok(Lease {
                        pool: inner,
                        conn: Some(Pooled {
                            conn,
                            queue: inner
                                .options
                                .queue(inner.file.as_deref().unwrap_or(&inner.path)),
                        }),
                    }),
                    Err(e) => {
                        inner.forget_one();
                        Err(e)
                    }
                };
            }
            let since = *started.get_or_insert_with(Instant::now);
            let left = inner.options.timeout().saturating_sub(since.elapsed());
            if left.is_zero() {
                return Err(Error::ConnectionHeld {
                    waited: since.elapsed(),
                });
            }
            idle = match inner.returned.wait_timeout(idle, left) {
                Ok((guard, _)) => guard,
                Err(p) => p.into_inner().0,
            };
        }
    }
}

impl Inner {
    /// One connection fewer is open (it failed to open, or was closed).
    fn forget_one(&self) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        idle.open = idle.open.saturating_sub(1);
        drop(idle);
        self.returned.notify_one();
    }
}

/// A connection taken from the pool, given back when dropped.
struct Lease<'p> {
    pool: &'p Inner,
    conn: Option<Pooled>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let Some(pooled) = self.conn.take() else {
            return;
        };
        if std::process::id() != self.pool.pid {
            // A child made by fork(): closing would roll back the parent's
            // transaction or checkpoint its WAL. Left alone, as `Persistent` does.
            std::mem::forget(pooled.conn);
            return;
        }
        if !pooled.conn.is_autocommit() {
            // Left inside a transaction (through `with_rusqlite`): closed,
            // which rolls it back, rather than handed to the next caller.
            drop(pooled);
            self.pool.forget_one();
            return;
        }
        let mut idle = self
            .pool
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        idle.connections.push(pooled);
        drop(idle);
        self.pool.returned.notify_one();
    }
}

impl Sealed for Pool {}
impl Conn for Pool {
    type Backend = Sqlite;
    fn with_connection<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        let lease = self.lease()?;
        let Some(Pooled { conn, queue }) = lease.conn.as_ref() else {
            // A lease always holds its connection until it is dropped.
            return Err(Error::Usage("pool lease without a connection".into()));
        };
        let inner = &*self.inner;
        let timeout = inner.options.timeout();
        match inner
            .file
            .as_deref()
            .filter(|file| this_thread_writes(file))
        {
            // This thread's own transaction on the file (through another
            // connection) holds the write lock: a write here could only
            // wait for it, so it fails at once instead.
            Some(file) => {
                // No queue: its lock is this thread's own transaction's.
                let _scope = Scope::enter(timeout, None);
                let _ = conn.busy_timeout(Duration::ZERO);
                let result = f(conn);
                let _ = super::busy::install(conn, timeout);
                result.map_err(|e| held_by_this_thread(e, file))
            }
            None => {
                let _scope = Scope::enter(timeout, queue.as_ref());
                f(conn)
            }
        }
    }

    fn atomic<R>(&self, f: impl FnOnce(&Tx<'_>) -> Result<R>) -> Result<R> {
        let pid = self.inner.pid;
        self.with_connection(|conn| {
            if !conn.is_autocommit() {
                return Err(Error::Usage(
                    "a pooled connection is inside a transaction the crate did not open".into(),
                ));
            }
            let _writing = self.inner.file.as_deref().map(WriteMark::enter);
            transaction::<Sqlite, R>(
                conn,
                Origin::Own { opened_by: pid },
                self.inner.options.files(),
                f,
            )
        })
    }

    #[inline]
    fn files_folder(&self) -> Option<&Path> {
        self.inner.options.files()
    }
}
