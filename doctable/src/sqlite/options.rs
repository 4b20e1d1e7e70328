//! How every connection the crate opens is configured.

use std::cell::Cell;
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
    detect_file_moves: bool,
    files_folder: Option<std::path::PathBuf>,
    writer_queue: bool,
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
            detect_file_moves: false,
            files_folder: None,
            writer_queue: false,
        }
    }
}

impl Options {
    /// The defaults (see the type's docs).
    pub fn new() -> Self {
        Self::default()
    }

    /// The folder that holds the files of `#[doctable(file)]` columns (one
    /// subfolder per table). Default: `<database file name>-files` beside
    /// the database file (`docs.db` -> `docs.db-files/`); an in-memory
    /// database has none, so file columns there need this set (README
    /// "File-backed columns").
    ///
    /// ```
    /// use doctable::{DocTable, Options, Persistent};
    ///
    /// #[derive(DocTable)]
    /// struct Page { #[doctable(primary_key)] id: Option<i64>, #[doctable(file)] body: String }
    ///
    /// let dir = tempfile::tempdir()?;
    /// let db = Persistent::open_with(":memory:", &Options::new().files_folder(dir.path()))?;
    /// Page::create_table(&db)?;
    /// let id = Page::insert(&db, &Page { id: None, body: "a long text".into() })?;
    /// assert_eq!(Page::get(&db, id)?.map(|p| p.body).as_deref(), Some("a long text"));
    /// assert!(dir.path().join("page").is_dir());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn files_folder(mut self, folder: impl AsRef<std::path::Path>) -> Self {
        self.files_folder = Some(folder.as_ref().to_path_buf());
        self
    }

    /// The folder set by [`files_folder`](Options::files_folder).
    pub(crate) fn files(&self) -> Option<&std::path::Path> {
        self.files_folder.as_deref()
    }

    /// How long a write waits for another connection's lock before it fails
    /// with [`Error::Busy`]. Default 5 s.
    ///
    /// The wait is the crate's own busy handler, not SQLite's: it tries again
    /// after short jittered sleeps (from about 50 µs, doubling to about
    /// 1.6 ms) where SQLite's sleeps grow to 100 ms, so a waiting writer gets
    /// the lock within about 2 ms of its coming free. `PRAGMA busy_timeout`
    /// therefore reads 0 on the crate's connections; setting it (or calling
    /// rusqlite's `busy_timeout`) through `with_rusqlite` puts SQLite's
    /// handler back on that connection.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Queue the crate's writers to a file in the kernel (default `false`):
    /// every write of a connection the crate opened (a transaction, or one
    /// write statement outside one) first takes an exclusive `flock` on the
    /// side file `<database>-writer`, so writers in all threads and processes
    /// wait for each other asleep and are woken one at a time as each ends,
    /// instead of sleeping and trying SQLite's lock again. A writer that has
    /// waited 2 ms marks itself starving (a shared `flock` on
    /// `<database>-writer-starving`), and while one is, no writer takes a
    /// free turn ahead of the queue. The wait is still bounded by the busy
    /// timeout (a thread per connection does the blocking, made the first
    /// time a write has to wait); readers never take it. The two side files
    /// are created beside the database and left there (they stay empty);
    /// where they cannot be created or locked, writes go on without the
    /// queue. Connections with the queue also run the WAL's automatic
    /// checkpoint themselves, after releasing their turn, so that a
    /// checkpoint does not hold up the next writer. `false`: only the busy
    /// handler (see [`busy_timeout`](Options::busy_timeout)).
    ///
    /// When to turn it on: when the slowest write matters more than the
    /// number of writes a second. Measured on 2 cores with 2 to 8 processes
    /// inserting row by row (BENCHMARKS.md, issue 14, "The writer queue"):
    /// the slowest insert fell from 45–146 ms to 7–17 ms, and the rows per
    /// second of all writers together by 4–43%, every hand-over costing two
    /// wake-ups where a writer that retries on its own loses none.
    ///
    /// ```
    /// use doctable::{DocTable, Options, Persistent};
    ///
    /// #[derive(DocTable)]
    /// struct Note { #[doctable(primary_key)] id: Option<i64>, text: String }
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("notes.db");
    /// let db = Persistent::open_with(&path, &Options::new().writer_queue(true))?;
    /// Note::create_table(&db)?;
    /// Note::insert(&db, &Note { id: None, text: "queued".into() })?;
    /// assert!(dir.path().join("notes.db-writer").exists());
    ///
    /// let other = dir.path().join("other.db");
    /// let db = Persistent::open(&other)?;
    /// Note::create_table(&db)?;
    /// Note::insert(&db, &Note { id: None, text: "not queued".into() })?;
    /// assert!(!dir.path().join("other.db-writer").exists());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn writer_queue(mut self, on: bool) -> Self {
        self.writer_queue = on;
        self
    }

    /// A writer queue for a connection to `path`, unless there is none to
    /// have: turned off, read-only, or an in-memory database.
    pub(crate) fn queue(&self, path: &Path) -> Option<std::sync::Arc<super::queue::WriterQueue>> {
        (self.writer_queue && !self.read_only && !is_memory_path(path))
            .then(|| super::queue::WriterQueue::new(path, self.wal_autocheckpoint.unwrap_or(1000)))
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

    /// Check at every commit that the database file is still the one this
    /// connection opened (default `false`), and refuse the commit with
    /// [`Error::DatabaseMoved`] when it was deleted, renamed or replaced
    /// meanwhile.
    ///
    /// With WAL (the default journal) SQLite does not check: a write into a
    /// file deleted or replaced under an open connection returns `Ok` into
    /// the unlinked file, and no later connection sees it. (Without WAL,
    /// SQLite checks itself, and the write fails with `Error::DatabaseMoved`
    /// whatever this option says.) The check is one `stat` of the file per
    /// write transaction; on a single-row insert that is a system call more
    /// (about +20% CPU time per insert on the machine of BENCHMARKS.md), on
    /// `insert_many` or a `transaction` one per commit. It works on Unix; it
    /// does nothing elsewhere. A commit hook installed through the raw
    /// connection replaces it. Never move, delete or replace a live
    /// database's files: see RELIABILITY.md, and
    /// [`Persistent::backup_to`](crate::Persistent::backup_to) for copies.
    ///
    /// ```
    /// use doctable::{DocTable, Error, Options, Persistent};
    ///
    /// #[derive(DocTable)]
    /// struct Note { #[doctable(primary_key)] id: Option<i64>, text: String }
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("notes.db");
    /// let db = Persistent::open_with(&path, &Options::new().detect_file_moves(true))?;
    /// Note::create_table(&db)?;
    /// std::fs::remove_file(&path)?;
    /// let err = Note::insert(&db, &Note { id: None, text: "lost?".into() }).unwrap_err();
    /// assert!(matches!(err, Error::DatabaseMoved { .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn detect_file_moves(mut self, on: bool) -> Self {
        self.detect_file_moves = on;
        self
    }

    /// Opens a connection to `path` and applies these options. `first_open`
    /// also sets the journal mode (stored in the file, so later opens need not)
    /// and checks that the file is a database, so a bad file fails here.
    /// With `owner`, every commit that writes first checks that this is still
    /// process `owner` (see [`install_commit_hook`]).
    pub(crate) fn open(
        &self,
        path: &Path,
        first_open: bool,
        owner: Option<u32>,
    ) -> Result<Connection> {
        refuse_uri(path)?;
        let _timeout = super::busy::Timeout::enter(self.timeout());
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
        self.configure(&conn, first_open, !is_memory_path(path), owner)
            .map_err(open_err)?;
        Ok(conn)
    }

    /// Whether new files are put in WAL mode.
    pub(crate) fn wal_on(&self) -> bool {
        self.wal
    }

    /// Whether connections open read-only.
    pub(crate) fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The busy timeout, clamped to what SQLite takes (`i32::MAX` ms).
    pub(crate) fn timeout(&self) -> Duration {
        self.busy_timeout
            .min(Duration::from_millis(i32::MAX as u64))
    }

    /// Applies these options to an open connection. The busy timeout comes first,
    /// so that switching the journal mode waits for other connections too.
    fn configure(
        &self,
        conn: &Connection,
        first_open: bool,
        file: bool,
        owner: Option<u32>,
    ) -> rusqlite::Result<()> {
        // SQLite takes the timeout in milliseconds as an i32 (about 24.8 days);
        // rusqlite panics above that, so longer timeouts are clamped.
        let max = Duration::from_millis(i32::MAX as u64);
        super::busy::install(conn, self.busy_timeout.min(max))?;
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
        if self.writer_queue && file && !self.read_only {
            // After the pragma, which installs SQLite's own hook (a later
            // `wal_autocheckpoint` pragma puts that back, and the queue is
            // then released when the statement ends instead).
            conn.wal_hook(Some(super::queue::after_commit));
        }
        if let Some(kib) = self.cache_size_kib {
            // A negative cache_size is in KiB rather than pages.
            conn.pragma_update(None, "cache_size", -i64::from(kib))?;
        }
        if first_open {
            // Read the schema so that a file which is not a database fails here, at open.
            conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))?;
        }
        let watched = if self.detect_file_moves && file && !self.read_only {
            WatchedFile::of(conn)
        } else {
            None
        };
        install_commit_hook(conn, owner, watched);
        Ok(())
    }
}

/// Refuses a name SQLite would read as a URI filename. The bundled SQLite is
/// built with `SQLITE_USE_URI`, so every name starting with `file:` is a URI
/// whatever the open flags say, and its query (`mode=memory`, `vfs=memdb`,
/// `nolock=1`, `immutable=1`, ...) would override the crate's settings: a
/// `PerQuery` on a private in-memory database, a file opened without locks.
pub(crate) fn refuse_uri(path: &Path) -> Result<()> {
    if path.as_os_str().as_encoded_bytes().starts_with(b"file:") {
        return Err(Error::Usage(format!(
            "`{}` is a URI filename (it starts with `file:`), which doctable does not open: \
             SQLite would take its query parameters (`mode`, `vfs`, `nolock`, `immutable`, ...) \
             over the crate's own settings. Pass the plain path instead (`./file:...` for a \
             file whose name starts with `file:`), choose settings with `Options` (`read_only`, \
             `wal`, ...), and use `Persistent::open_in_memory` for an in-memory database",
            path.display()
        )));
    }
    Ok(())
}

thread_local! {
    /// Set by the commit hook of [`install_commit_hook`] when it refused
    /// the commit because the file moved, cleared by every commit it lets
    /// through: tells [`Error::sqlite`] on this thread (the hook runs inside
    /// the statement that fails) why SQLite says "commit hook caused rollback".
    static COMMIT_REFUSED_MOVED: Cell<bool> = const { Cell::new(false) };
}

/// Whether the last commit the crate's hook saw on this thread was refused
/// because the database file had moved; reading it clears it.
pub(crate) fn commit_refused_because_moved() -> bool {
    COMMIT_REFUSED_MOVED.with(|refused| refused.replace(false))
}

/// The crate's one commit hook on `conn` (SQLite keeps one per connection,
/// so both checks live in this one closure). Each turns the commit into a
/// rollback when it fails (SQLite then reports "commit hook caused rollback",
/// `SQLITE_CONSTRAINT_COMMITHOOK`):
///
/// - with `owner`, the process check: a commit in a child made by `fork()`
///   (a process other than `owner`, which opened the connection) would write
///   the parent's file as if it held the parent's locks. The strategy reports
///   the error as the fork it is (`Persistent::in_this_process`). It costs one
///   `getpid` per write transaction; reads do not commit, and pay nothing.
/// - with `watched`, the file check of [`Options::detect_file_moves`] (see
///   [`WatchedFile`]).
///
/// A commit hook the caller installs through the raw connection replaces
/// this one, and with it both checks.
fn install_commit_hook(conn: &Connection, owner: Option<u32>, watched: Option<WatchedFile>) {
    if owner.is_none() && watched.is_none() {
        return;
    }
    conn.commit_hook(Some(move || {
        if owner.is_some_and(|pid| pid != std::process::id()) {
            COMMIT_REFUSED_MOVED.with(|refused| refused.set(false));
            return true;
        }
        match &watched {
            Some(file) => {
                let moved = file.moved();
                COMMIT_REFUSED_MOVED.with(|refused| refused.set(moved));
                moved
            }
            None => false,
        }
    }));
}

/// The file a connection opened, as the commit check of
/// [`Options::detect_file_moves`] compares it: is it still where it was opened?
///
/// In WAL mode SQLite never checks: a write into a file deleted, renamed or
/// replaced while open returns `Ok` into the unlinked inode and is lost to
/// every later connection. (Without WAL, SQLite checks itself when a write
/// transaction opens its journal, and fails with SQLITE_READONLY_DBMOVED.)
/// The check is SQLite's own test (`SQLITE_FCNTL_HAS_MOVED`: does the name
/// still lead to the inode that was opened?), done on the absolute name SQLite
/// opened, so a relative path and a later change of directory are no move.
/// It costs one `stat` per write transaction, reads none: a system call
/// more per single-row insert, which is why it is an option.
struct WatchedFile {
    /// SQLite's absolute name for the main database.
    #[cfg(unix)]
    file: std::path::PathBuf,
    /// The device and inode it had when opened.
    #[cfg(unix)]
    opened: (u64, u64),
}

impl WatchedFile {
    /// The main database file of `conn`; `None` for a temporary database or a
    /// file that cannot be looked at now (it cannot be compared later either).
    #[cfg(unix)]
    fn of(conn: &Connection) -> Option<WatchedFile> {
        use std::os::unix::fs::MetadataExt;
        // SQLite's absolute name for the main database: "" for a temporary one.
        let name = conn.path().filter(|name| !name.is_empty())?;
        let file = std::path::PathBuf::from(name);
        let opened = std::fs::metadata(&file).ok()?;
        Some(WatchedFile {
            file,
            opened: (opened.dev(), opened.ino()),
        })
    }

    /// Elsewhere the standard library gives no file identity to compare: no
    /// check (see RELIABILITY.md).
    #[cfg(not(unix))]
    fn of(_conn: &Connection) -> Option<WatchedFile> {
        None
    }

    /// Whether the name no longer leads to the file that was opened.
    #[cfg(unix)]
    fn moved(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&self.file).map_or(true, |now| (now.dev(), now.ino()) != self.opened)
    }

    #[cfg(not(unix))]
    fn moved(&self) -> bool {
        false
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

/// Whether `path` names a database private to its connection, which only
/// lives as long as the connection: `:memory:`, the empty name (a private
/// temporary file), and every URI form of them as SQLite reads it (percent
/// escapes decoded, with or without an authority): `file::memory:`,
/// `file:x?mode=memory`, `file:x?vfs=memdb`, `file:` and `file:?...`.
/// (URI names are refused anyway, see [`refuse_uri`]; this picks the message.)
pub(crate) fn is_memory_path(path: &Path) -> bool {
    let text = path.to_string_lossy();
    if text.is_empty() || text == ":memory:" {
        return true;
    }
    let Some(uri) = text.strip_prefix("file:") else {
        return false;
    };
    let uri = uri.split_once('#').map_or(uri, |(before, _)| before);
    let (file, query) = uri.split_once('?').unwrap_or((uri, ""));
    // `file://authority/path`: the path starts at the next `/`.
    let file = match file.strip_prefix("//") {
        Some(rest) => rest.find('/').map_or("", |at| &rest[at..]),
        None => file,
    };
    let file = percent_decode(file);
    if file.is_empty() || file == ":memory:" {
        return true;
    }
    query.split('&').any(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (key, value) = (percent_decode(key), percent_decode(value));
        (key == "mode" && value.eq_ignore_ascii_case("memory"))
            || (key == "vfs" && value.eq_ignore_ascii_case("memdb"))
    })
}

/// Decodes `%HH` escapes as SQLite does in URI filenames (a malformed escape stays as written).
fn percent_decode(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&first, after)) = rest.split_first() {
        let escaped = match after {
            [hi, lo, ..] if first == b'%' && hi.is_ascii_hexdigit() && lo.is_ascii_hexdigit() => {
                std::str::from_utf8(&[*hi, *lo])
                    .ok()
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            }
            _ => None,
        };
        match (escaped, after.get(2..)) {
            (Some(byte), Some(tail)) => {
                out.push(byte);
                rest = tail;
            }
            _ => {
                out.push(first);
                rest = after;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::{is_memory_path, percent_decode};
    use std::path::Path;

    #[test]
    fn percent_escapes_decode_as_sqlite_reads_them() {
        assert_eq!(percent_decode("%6demory"), "memory");
        assert_eq!(percent_decode("%3Amemory%3a"), ":memory:");
        // Malformed escapes stay as written.
        for kept in ["%", "%4", "%zz", "%+1", "a%", "100%"] {
            assert_eq!(percent_decode(kept), kept);
        }
        assert_eq!(percent_decode("%41%"), "A%");
    }

    #[test]
    fn plain_paths_are_not_in_memory() {
        for path in [
            "notes.db",
            "./file:notes.db",
            "/tmp/:memory:",
            "file:///:memory:",
            "file:x?mode=rw",
        ] {
            assert!(!is_memory_path(Path::new(path)), "{path}");
        }
    }
}
