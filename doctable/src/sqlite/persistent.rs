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
