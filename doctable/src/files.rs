//! File-backed columns: `#[doctable(file)]`.
//!
//! A file column's value (bytes, text, or a serde value with `json`) is kept
//! in a file named by the SHA-256 of its content, written as lowercase hex
//! (64 characters); the column holds that name as TEXT. The files of table
//! `t` live in `<folder>/t/`, where `<folder>` is the connection's files
//! folder: [`Options::files_folder`](crate::Options::files_folder) (SQLite),
//! `with_files_folder` on the PostgreSQL strategies, or, for a SQLite file
//! database, `<database file name>-files` beside the database file.
//!
//! Durability: a value is written to `.tmp-<hash>-<pid>-<n>`, synced,
//! renamed to `<hash>`, and the folder is synced, all while its row is being
//! bound, before the statement runs (and so before the row commits): a
//! committed row never names a missing or partial file.
//!
//! Safety of [`clean_files`](crate::DocTable::clean_files) against writers:
//! each table folder has a lock file, `.lock`. A writer holds a shared
//! `flock` on it from before it writes (or finds) a file until the row's
//! transaction ends: to the end of the operation for a statement in
//! autocommit, to the end of the outermost transaction the crate opened
//! otherwise. `clean_files` takes it exclusively, so it runs only when no
//! row that names a new file is still uncommitted, and writers wait while it
//! runs. A process killed mid-write loses its lock with it (the kernel
//! releases it), so a crash never blocks `clean_files`.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::backend::Backend;
use crate::column_type::{ColumnType, ValueError};
use crate::conn::ConnOf;
use crate::error::{Error, Result};
use crate::json::{Json, JsonValue, ReadAs};
use crate::record::Record;
use crate::value::{SqlType, ToValue, Value, ValueRef};

/// The name of a value's file: the SHA-256 of its content, in lowercase hex.
/// What a `#[doctable(file)]` column holds, and the type filters see it as
/// (`Doc::body.is_null()`, `Doc::body.eq(other_hash)`). It is made only by
/// reading, so `set` cannot point a row at a file nobody wrote.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileHash(String);

impl FileHash {
    /// The hash of `bytes`.
    fn of(bytes: &[u8]) -> Self {
        FileHash(hex(&Sha256::digest(bytes)))
    }

    /// The hash as 64 lowercase hex digits (the file's name).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for FileHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a `String` cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn is_hash(name: &str) -> bool {
    name.len() == 64
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[diagnostic::do_not_recommend]
impl ColumnType for FileHash {
    const SQL_TYPE: SqlType = SqlType::Text;
    fn to_sql(&self) -> std::result::Result<ToValue<'_>, ValueError> {
        Ok(ToValue::Borrowed(ValueRef::Text(self.0.as_bytes())))
    }
    fn from_sql(value: ValueRef<'_>) -> std::result::Result<Self, ValueError> {
        let text = String::from_sql(value)?;
        if !is_hash(&text) {
            return Err(ValueError::Other(format!(
                "`{text}` is not a file hash (64 lowercase hex digits)"
            )));
        }
        Ok(FileHash(text))
    }
}

/// How a `#[doctable(file)]` field's value becomes a file's bytes and back.
/// Implemented for `Vec<u8>`, `String`, [`Json<T>`] (a `json` field: the
/// file holds the JSON text) and `Option` of each (`None` is NULL, no file).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored in a file column",
    label = "`#[doctable(file)]` needs `Vec<u8>`, `String`, or a serde type with `#[doctable(json)]`",
    note = "a file column holds `Vec<u8>`, `String`, or (with `#[doctable(file, json)]`) any serde type, or an `Option` of one"
)]
pub trait FileValue {
    /// What the field holds.
    type Value;
    /// What the column holds: [`FileHash`], or `Option<FileHash>` for a nullable one.
    type Hash: ColumnType;
    /// Whether the column may hold NULL (an `Option`).
    #[doc(hidden)]
    const NULLABLE: bool = false;
    /// The file's bytes (`None`: NULL, no file).
    #[doc(hidden)]
    fn to_bytes(value: &Self::Value) -> std::result::Result<Option<Cow<'_, [u8]>>, ValueError>;
    /// The value from the file's bytes (`None`: the column was NULL).
    #[doc(hidden)]
    fn from_bytes(bytes: Option<Vec<u8>>) -> std::result::Result<Self::Value, ValueError>;

    /// For generated code: writes the field's file (if not NULL) and binds its hash.
    #[doc(hidden)]
    fn __bind_file<B: Backend>(
        stmt: &mut B::Binder<'_>,
        index: usize,
        value: &Self::Value,
        table: &'static str,
        column: &'static str,
    ) -> Result<()>
    where
        Self: Sized,
    {
        bind_file::<B, Self>(stmt, index, value, table, column)
    }

    /// For generated code: reads a file column of a whole row.
    #[doc(hidden)]
    fn __read_file(
        value: ValueRef<'_>,
        table: &'static str,
        column: &'static str,
    ) -> Result<Self::Value>
    where
        Self: Sized,
    {
        read_file::<Self>(value, table, column)
    }
}

fn null_in_not_null() -> ValueError {
    ValueError::WrongType {
        expected: "a file hash",
        found: "NULL",
    }
}

#[diagnostic::do_not_recommend]
impl FileValue for Vec<u8> {
    type Value = Vec<u8>;
    type Hash = FileHash;
    fn to_bytes(value: &Vec<u8>) -> std::result::Result<Option<Cow<'_, [u8]>>, ValueError> {
        Ok(Some(Cow::Borrowed(value)))
    }
    fn from_bytes(bytes: Option<Vec<u8>>) -> std::result::Result<Vec<u8>, ValueError> {
        bytes.ok_or_else(null_in_not_null)
    }
}

#[diagnostic::do_not_recommend]
impl FileValue for String {
    type Value = String;
    type Hash = FileHash;
    fn to_bytes(value: &String) -> std::result::Result<Option<Cow<'_, [u8]>>, ValueError> {
        Ok(Some(Cow::Borrowed(value.as_bytes())))
    }
    fn from_bytes(bytes: Option<Vec<u8>>) -> std::result::Result<String, ValueError> {
        let bytes = bytes.ok_or_else(null_in_not_null)?;
        String::from_utf8(bytes).map_err(|e| ValueError::InvalidUtf8(e.utf8_error()))
    }
}

#[diagnostic::do_not_recommend]
impl<T: JsonValue> FileValue for Json<T> {
    type Value = T;
    type Hash = FileHash;
    fn to_bytes(value: &T) -> std::result::Result<Option<Cow<'_, [u8]>>, ValueError> {
        match value.to_json_sql()? {
            ToValue::Owned(Value::Text(text)) => Ok(Some(Cow::Owned(text.into_bytes()))),
            _ => Err(ValueError::Other("JSON encoding gave no text".into())),
        }
    }
    fn from_bytes(bytes: Option<Vec<u8>>) -> std::result::Result<T, ValueError> {
        let bytes = bytes.ok_or_else(null_in_not_null)?;
        T::from_json_sql(ValueRef::Text(&bytes))
    }
}

#[diagnostic::do_not_recommend]
impl<F: FileValue<Hash = FileHash>> FileValue for Option<F> {
    type Value = Option<F::Value>;
    type Hash = Option<FileHash>;
    const NULLABLE: bool = true;
    fn to_bytes(
        value: &Option<F::Value>,
    ) -> std::result::Result<Option<Cow<'_, [u8]>>, ValueError> {
        match value {
            Some(v) => F::to_bytes(v),
            None => Ok(None),
        }
    }
    fn from_bytes(bytes: Option<Vec<u8>>) -> std::result::Result<Option<F::Value>, ValueError> {
        match bytes {
            Some(b) => F::from_bytes(Some(b)).map(Some),
            None => Ok(None),
        }
    }
}

/// Reads a `#[doctable(file)]` column back in `select_cols` as the field's
/// own type, from its file (see [`ReadAs`]): the marker the derive gives a
/// file field's column. `F` is the field's [`FileValue`], `T` its table.
pub struct AsFile<F, T>(std::marker::PhantomData<(F, T)>);

impl<F: FileValue, T: Record> ReadAs<F::Hash> for AsFile<F, T> {
    type Read = F::Value;
    fn read_value(value: ValueRef<'_>) -> std::result::Result<F::Value, ValueError> {
        read_field::<F>(value, T::__META.name)
    }
}

// ---------------------------------------------------------------------------
// The folder of the operation running on this thread.

thread_local! {
    /// The files folders of the operations running on this thread, innermost last.
    static FOLDERS: RefCell<Vec<PathBuf>> = const { RefCell::new(Vec::new()) };
    /// The shared locks this thread holds for rows not yet committed.
    static HELD: RefCell<Vec<(PathBuf, File)>> = const { RefCell::new(Vec::new()) };
    /// How many outermost transactions the crate has open on this thread.
    static OPEN_TRANSACTIONS: Cell<usize> = const { Cell::new(0) };
}

/// Runs `f`, an operation on table(s) with file columns (`files`), with the
/// connection's files folder where the generated bind and read code finds it.
/// Does nothing more than call `f` when `files` is false.
#[inline]
pub(crate) fn scope<B: Backend, R>(
    folder: Option<&Path>,
    conn: &ConnOf<B>,
    files: bool,
    f: impl FnOnce() -> Result<R>,
) -> Result<R> {
    if !files {
        return f();
    }
    scope_slow::<B, R>(folder, conn, f)
}

#[cold]
fn scope_slow<B: Backend, R>(
    folder: Option<&Path>,
    conn: &ConnOf<B>,
    f: impl FnOnce() -> Result<R>,
) -> Result<R> {
    let folder = resolve::<B>(folder, conn)?;
    FOLDERS.with(|s| s.borrow_mut().push(folder));
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            FOLDERS.with(|s| s.borrow_mut().pop());
        }
    }
    let pop = Pop;
    let result = f();
    drop(pop);
    if B::is_autocommit(conn) {
        release_if_idle();
    }
    result
}

/// The files folder of `conn`: the strategy's setting, else the backend's default.
pub(crate) fn resolve<B: Backend>(folder: Option<&Path>, conn: &ConnOf<B>) -> Result<PathBuf> {
    match folder {
        Some(folder) => Ok(folder.to_path_buf()),
        None => B::default_files_folder(conn),
    }
}

/// Lives while an outermost transaction the crate opened runs; when it has
/// ended (committed, rolled back, or unwound by a panic), its rows' file
/// locks are let go.
pub(crate) struct TransactionMark(());

impl TransactionMark {
    pub(crate) fn begin() -> Self {
        OPEN_TRANSACTIONS.with(|n| n.set(n.get() + 1));
        TransactionMark(())
    }
}

impl Drop for TransactionMark {
    fn drop(&mut self) {
        OPEN_TRANSACTIONS.with(|n| n.set(n.get().saturating_sub(1)));
        release_if_idle();
    }
}

fn release_if_idle() {
    if OPEN_TRANSACTIONS.with(Cell::get) == 0 {
        // Dropping a `File` closes it, which releases its flock.
        HELD.with(|h| h.borrow_mut().clear());
    }
}

fn current_folder(table: &str, column: Option<&str>) -> std::result::Result<PathBuf, ValueError> {
    FOLDERS
        .with(|s| s.borrow().last().cloned())
        .map(|folder| folder.join(table))
        .ok_or_else(|| {
            ValueError::Other(format!(
                "file column `{table}.{}` used outside a doctable table operation (rows of raw \
                 SQL cannot read or write file columns)",
                column.unwrap_or("..")
            ))
        })
}

fn io_detail(what: &str, path: &Path, e: &std::io::Error) -> String {
    format!("{what} `{}`: {e}", path.display())
}

/// Takes (once per table folder and pending transaction) the shared lock on
/// `dir/.lock`.
fn hold_shared(dir: &Path) -> std::io::Result<()> {
    if HELD.with(|h| h.borrow().iter().any(|(d, _)| d == dir)) {
        return Ok(());
    }
    let lock = open_lock(dir)?;
    lock.lock_shared()?;
    HELD.with(|h| h.borrow_mut().push((dir.to_path_buf(), lock)));
    Ok(())
}

fn open_lock(dir: &Path) -> std::io::Result<File> {
    fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(dir.join(".lock"))
}

/// Makes `dir` (and its parents) exist durably.
fn ensure_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir)?;
    // The new folders' entries (the table's, and the files folder's if it is
    // new too) must survive a crash as well.
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
    for d in [parent, parent.and_then(Path::parent)]
        .into_iter()
        .flatten()
    {
        if !d.as_os_str().is_empty() {
            sync_dir(d)?;
        }
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` as the file of its hash in `dir` (unless a verified copy is
/// there already); returns the hash.
fn store(dir: &Path, bytes: &[u8]) -> std::result::Result<FileHash, String> {
    let hash = FileHash::of(bytes);
    ensure_dir(dir).map_err(|e| io_detail("cannot create the files folder", dir, &e))?;
    hold_shared(dir).map_err(|e| io_detail("cannot lock", &dir.join(".lock"), &e))?;
    let path = dir.join(hash.as_str());
    if let Ok(existing) = fs::metadata(&path)
        && existing.len() == bytes.len() as u64
        && hash_of_file(&path).is_ok_and(|h| h == hash)
    {
        return Ok(hash);
    }
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let temp = dir.join(format!(".tmp-{}-{}-{n}", hash.as_str(), std::process::id()));
    let written = (|| {
        let mut file = File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, &path)?;
        sync_dir(dir)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(io_detail("cannot write", &path, &e));
    }
    Ok(hash)
}

fn hash_of_file(path: &Path) -> std::io::Result<FileHash> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or_default());
    }
    Ok(FileHash(hex(&hasher.finalize())))
}

/// Reads the file named by `hash` in `dir`, checking its content against the hash.
fn load(dir: &Path, hash: &str) -> std::result::Result<Vec<u8>, ValueError> {
    let path = dir.join(hash);
    let bytes = fs::read(&path).map_err(|e| ValueError::File {
        hash: hash.to_owned(),
        detail: if e.kind() == std::io::ErrorKind::NotFound {
            format!("its file `{}` is missing", path.display())
        } else {
            io_detail("cannot read its file", &path, &e)
        },
    })?;
    if FileHash::of(&bytes).as_str() != hash {
        return Err(ValueError::File {
            hash: hash.to_owned(),
            detail: format!(
                "its file `{}` is corrupt (its content has another SHA-256)",
                path.display()
            ),
        });
    }
    Ok(bytes)
}

/// Reads a file column's stored hash (or NULL) and its file's value.
fn read_field<F: FileValue>(
    value: ValueRef<'_>,
    table: &str,
) -> std::result::Result<F::Value, ValueError> {
    let bytes = match value {
        ValueRef::Null => None,
        other => {
            let hash = FileHash::from_sql(other)?;
            let dir = current_folder(table, None)?;
            Some(load(&dir, hash.as_str())?)
        }
    };
    F::from_bytes(bytes)
}

/// Writes the field's file (if not NULL) and binds its hash.
fn bind_file<B: Backend, F: FileValue>(
    stmt: &mut B::Binder<'_>,
    index: usize,
    value: &F::Value,
    table: &'static str,
    column: &'static str,
) -> Result<()> {
    let bytes = F::to_bytes(value).map_err(|e| e.at(table, column))?;
    let hash = match bytes {
        None => None,
        Some(bytes) => {
            let dir = current_folder(table, Some(column)).map_err(|e| e.at(table, column))?;
            let hash = store(&dir, &bytes).map_err(|detail| Error::File {
                table: table.to_owned(),
                column: column.to_owned(),
                row: None,
                hash: FileHash::of(&bytes).0,
                detail: detail.into(),
            })?;
            Some(hash)
        }
    };
    let value = match &hash {
        Some(h) => ToValue::Borrowed(ValueRef::Text(h.0.as_bytes())),
        None => ToValue::Owned(Value::Null),
    };
    crate::private::bind_value::<B>(stmt, index, Ok(value), table, column)
}

/// Reads a file column of a whole row.
fn read_file<F: FileValue>(
    value: ValueRef<'_>,
    table: &'static str,
    column: &'static str,
) -> Result<F::Value> {
    read_field::<F>(value, table).map_err(|e| e.at(table, column))
}

// ---------------------------------------------------------------------------
// clean_files

/// What [`DocTable::clean_files`](crate::DocTable::clean_files) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CleanReport {
    /// The files removed (no row referred to them), and leftovers of writes
    /// that never finished.
    pub removed: Vec<PathBuf>,
    /// The bytes the removed files held.
    pub bytes_freed: u64,
    /// Rows whose file is missing.
    pub missing: Vec<MissingFile>,
}

/// A row whose file column names a file that is not there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingFile {
    /// The column.
    pub column: &'static str,
    /// The row's primary key as SQL prints it (`None` for a table without one).
    pub row: Option<String>,
    /// The hash the row names.
    pub hash: String,
}

/// How long `clean_files` waits for writers' uncommitted rows.
const CLEAN_WAIT: Duration = Duration::from_secs(30);

pub(crate) fn clean_files<B: Backend, T: Record>(
    folder: Option<&Path>,
    conn: &ConnOf<B>,
) -> Result<CleanReport> {
    let meta = T::__META;
    let columns = T::__FILE_COLUMNS;
    let mut report = CleanReport::default();
    if columns.is_empty() {
        return Ok(report);
    }
    let dir = resolve::<B>(folder, conn)?.join(meta.name);
    if !dir.is_dir() {
        return Ok(report);
    }
    // This thread's own pending locks would make it wait for itself.
    if !B::is_autocommit(conn) || OPEN_TRANSACTIONS.with(Cell::get) > 0 {
        return Err(Error::Usage(format!(
            "table `{}`: clean_files cannot run inside a transaction (it waits for every \
             uncommitted row that names a file)",
            meta.name
        )));
    }
    // Rows this thread wrote inside a transaction of the caller's own (which
    // the crate cannot see end) still hold their lock: waiting for them
    // would wait for ourselves, and going ahead could remove their files.
    if HELD.with(|h| h.borrow().iter().any(|(d, _)| d == &dir)) {
        return Err(Error::Usage(format!(
            "table `{}`: clean_files cannot run while this thread has rows with files in a \
             transaction of its own that has not ended",
            meta.name
        )));
    }
    let lock = open_lock(&dir)?;
    let start = Instant::now();
    loop {
        match lock.try_lock() {
            Ok(()) => break,
            Err(fs::TryLockError::WouldBlock) if start.elapsed() < CLEAN_WAIT => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(Error::Usage(format!(
                    "table `{}`: clean_files waited {} s for writers of uncommitted rows to \
                     finish (the lock `{}`)",
                    meta.name,
                    CLEAN_WAIT.as_secs(),
                    dir.join(".lock").display()
                )));
            }
            Err(fs::TryLockError::Error(e)) => return Err(Error::Io(e)),
        }
    }
    let referenced = referenced::<B, T>(conn, &dir, &mut report)?;
    for entry in fs::read_dir(&dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let leftover = name.starts_with(".tmp-");
        if !(leftover || (is_hash(&name) && !referenced.contains(name.as_ref()))) {
            continue;
        }
        let path = entry.path();
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        match fs::remove_file(&path) {
            Ok(()) => {
                report.bytes_freed += size;
                report.removed.push(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::Io(e)),
        }
    }
    if !report.removed.is_empty() {
        sync_dir(&dir)?;
    }
    report.removed.sort();
    drop(lock);
    Ok(report)
}

/// Every hash the table's file columns hold; rows whose file is missing go to `report`.
fn referenced<B: Backend, T: Record>(
    conn: &ConnOf<B>,
    dir: &Path,
    report: &mut CleanReport,
) -> Result<std::collections::HashSet<String>> {
    use crate::dialect::{push_ident, push_ident_list};
    let meta = T::__META;
    let key: Vec<&str> = meta
        .primary_key
        .iter()
        .filter_map(|i| meta.columns.get(*i).map(|c| c.name))
        .collect();
    let mut sql = String::from("SELECT ");
    push_ident_list(&mut sql, key.iter().chain(T::__FILE_COLUMNS).copied());
    sql.push_str(" FROM ");
    push_ident(&mut sql, meta.name);
    let mut seen = std::collections::HashSet::new();
    B::with_statement(conn, Some(meta.name), &sql, |s| {
        B::each_row(s, Some(meta.name), &sql, |row| {
            let mut parts = Vec::with_capacity(key.len());
            for i in 0..key.len() {
                parts.push(crate::value::sql_literal(B::value_at(row, i, meta.name)?));
            }
            let row_key = match parts.len() {
                0 => None,
                1 => parts.pop(),
                _ => Some(format!("({})", parts.join(", "))),
            };
            for (j, column) in T::__FILE_COLUMNS.iter().enumerate() {
                let value = B::value_at(row, key.len() + j, meta.name)?;
                if matches!(value, ValueRef::Null) {
                    continue;
                }
                let hash = String::from_sql(value).map_err(|e| e.at(meta.name, column))?;
                if !seen.contains(&hash) && !dir.join(&hash).is_file() {
                    report.missing.push(MissingFile {
                        column,
                        row: row_key.clone(),
                        hash: hash.clone(),
                    });
                    continue;
                }
                seen.insert(hash);
            }
            Ok(true)
        })
    })?;
    Ok(seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            FileHash::of(b"").as_str(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(is_hash(FileHash::of(b"abc").as_str()));
        assert!(!is_hash("E3B0"));
    }
}
