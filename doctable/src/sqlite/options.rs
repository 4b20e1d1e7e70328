//! How every connection the crate opens is configured.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};

/// SQLite's `synchronous` setting: how often it waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    /// Never waits for the disk; a power loss can corrupt the file.
    Off,
    /// Under WAL, waits at checkpoints only: a power loss can lose the last
    /// commits but never corrupts the file. The default.
    Normal,
    /// Waits at every commit.
    Full,
}

impl Synchronous {
    fn pragma_value(self) -> &'static str {
        match self {
            Synchronous::Off => "OFF",
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        }
    }
}

/// Settings applied to every connection the crate opens.
///
/// The defaults suit a file shared by several threads and processes: a 5 s busy
/// timeout, the WAL journal, foreign keys on and `synchronous=NORMAL`.
///
/// ```
/// use std::time::Duration;
/// use doctable::{Options, Persistent};
///
/// let dir = tempfile::tempdir()?;
/// let options = Options::new().busy_timeout(Duration::from_secs(30));
/// let db = Persistent::open_with(dir.path().join("corpus.db"), &options)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Options {
    busy_timeout: Duration,
    wal: bool,
    foreign_keys: bool,
    synchronous: Synchronous,
    statement_cache_capacity: usize,
    wal_autocheckpoint: Option<u32>,
    cache_size_kib: Option<u32>,
    read_only: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            busy_timeout: Duration::from_secs(5),
            wal: true,
            foreign_keys: true,
            synchronous: Synchronous::Normal,
            statement_cache_capacity: 64,
            wal_autocheckpoint: None,
            cache_size_kib: None,
            read_only: false,
        }
    }
}

impl Options {
    /// The defaults (see the type's docs).
    pub fn new() -> Self {
        Self::default()
    }

    /// How long a write waits for another connection's lock before it fails
    /// with [`Error::Busy`]. Default 5 s.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Use the write-ahead log for file databases (default `true`): readers
    /// never block the writer and the writer never blocks readers.
    pub fn wal(mut self, on: bool) -> Self {
        self.wal = on;
        self
    }

    /// Enforce `FOREIGN KEY` constraints (default `true`).
    pub fn foreign_keys(mut self, on: bool) -> Self {
        self.foreign_keys = on;
        self
    }

    /// SQLite's `synchronous` setting (default [`Synchronous::Normal`]).
    pub fn synchronous(mut self, mode: Synchronous) -> Self {
        self.synchronous = mode;
        self
    }

    /// How many prepared statements each connection keeps (default 64).
    pub fn statement_cache_capacity(mut self, capacity: usize) -> Self {
        self.statement_cache_capacity = capacity;
        self
    }

    /// Checkpoint the WAL into the database file when it reaches this many
    /// pages (SQLite's default: 1000, about 4 MiB). A larger value makes bulk
    /// writes a little faster and the `-wal` file larger; `0` turns automatic
    /// checkpoints off (then run `PRAGMA wal_checkpoint` yourself, or the WAL grows).
    pub fn wal_autocheckpoint(mut self, pages: u32) -> Self {
        self.wal_autocheckpoint = Some(pages);
        self
    }

    /// How much memory each connection may use to cache database pages, in KiB
    /// (SQLite's default: 2000 KiB). A cache larger than the hot part of the
    /// database saves re-reading pages from the OS on repeated queries.
    pub fn cache_size_kib(mut self, kib: u32) -> Self {
        self.cache_size_kib = Some(kib);
        self
    }

    /// Open the database read-only (default `false`): reads work, and every
    /// write, `create_table` included, fails with [`Error::ReadOnly`]. The file
    /// must exist.
    pub fn read_only(mut self, on: bool) -> Self {
        self.read_only = on;
        self
    }

    /// Opens a connection to `path` and applies these options. `first_open`
    /// also sets the journal mode (stored in the file, so later opens need not)
    /// and checks that the file is a database, so a bad file fails here.
    pub(crate) fn open(&self, path: &Path, first_open: bool) -> Result<Connection> {
        let access = if self.read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
        };
        let flags = access | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let open_err = |source| Error::Open {
            path: path.to_owned(),
            source: Box::new(source),
        };
        if first_open && is_one_byte_non_database(path) {
            return Err(open_err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_NOTADB),
                Some("file is not a database (it is 1 byte long)".into()),
            )));
        }
        let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        self.configure(&conn, first_open, !is_memory_path(path))
            .map_err(open_err)?;
        Ok(conn)
    }

    /// Applies these options to an open connection. The busy timeout comes first,
    /// so that switching the journal mode waits for other connections too.
    fn configure(&self, conn: &Connection, first_open: bool, file: bool) -> rusqlite::Result<()> {
        // SQLite takes the timeout in milliseconds as an i32 (about 24.8 days);
        // rusqlite panics above that, so longer timeouts are clamped.
        let max = Duration::from_millis(i32::MAX as u64);
        conn.busy_timeout(self.busy_timeout.min(max))?;
        conn.set_prepared_statement_cache_capacity(self.statement_cache_capacity);
        // The journal mode is stored in the file: a read-only connection uses
        // whatever the writers chose.
        if first_open && file && !self.read_only {
            let mode = if self.wal { "WAL" } else { "DELETE" };
            set_journal_mode(conn, mode, self.busy_timeout)?;
        }
        conn.pragma_update(None, "foreign_keys", self.foreign_keys)?;
        conn.pragma_update(None, "synchronous", self.synchronous.pragma_value())?;
        if let Some(pages) = self.wal_autocheckpoint {
            conn.pragma_update(None, "wal_autocheckpoint", pages)?;
        }
        if let Some(kib) = self.cache_size_kib {
            // A negative cache_size is in KiB rather than pages.
            conn.pragma_update(None, "cache_size", -i64::from(kib))?;
        }
        if first_open {
            // Read the schema so that a file which is not a database fails here, at open.
            conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))?;
        }
        Ok(())
    }
}

/// Sets the journal mode, retrying while another connection is busy, for up to `timeout`.
///
/// Changing the journal mode takes the write lock from inside a read
/// transaction, and there SQLite does not call the busy handler (waiting could
/// deadlock): when several connections open a new file at once (two processes
/// starting together), all but one fail at once with SQLITE_BUSY despite the
/// busy timeout. Retried, the pragma finds the mode already set and does nothing.
fn set_journal_mode(conn: &Connection, mode: &str, timeout: Duration) -> rusqlite::Result<()> {
    let sql = format!("PRAGMA journal_mode={mode}");
    // No deadline if the timeout is too long to represent: wait as SQLite would.
    let deadline = Instant::now().checked_add(timeout);
    let mut pause = Duration::from_millis(1);
    loop {
        // `journal_mode` answers with the mode now in force.
        match conn.query_row(&sql, [], |r| r.get::<_, String>(0)) {
            Ok(_now) => return Ok(()),
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
                let left = deadline.map_or(Duration::MAX, |d| {
                    d.saturating_duration_since(Instant::now())
                });
                if left.is_zero() {
                    return Err(e);
                }
                std::thread::sleep(pause.min(left));
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether `path` is a file of exactly one byte other than `S`. SQLite reads
/// any 1-byte file as an empty database (it writes an `S` into new files on
/// some filesystems, and discounts it) and would write a new database over it;
/// any other 1-byte file is not a database, and is refused rather than overwritten.
fn is_one_byte_non_database(path: &Path) -> bool {
    !is_memory_path(path)
        && std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == 1)
        && std::fs::read(path).is_ok_and(|bytes| bytes != b"S")
}

/// Whether `path` names an in-memory database, which only lives as long as its connection.
pub(crate) fn is_memory_path(path: &Path) -> bool {
    let text = path.to_string_lossy();
    text.is_empty()
        || text == ":memory:"
        || (text.starts_with("file:")
            && (text.contains(":memory:") || text.contains("mode=memory")))
}
