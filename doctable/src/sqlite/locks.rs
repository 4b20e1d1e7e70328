//! The same-process lock registry: the database files on which this thread
//! has a write transaction open, through a `Persistent` or `PerQuery`.
//!
//! SQLite locks a whole file: a write through a second connection to a file
//! on which this very thread holds the write lock could only wait for itself
//! until the busy timeout. The strategies consult the registry and make such
//! a statement fail at once, with [`Error::Locked`].

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};

use crate::error::Error;

thread_local! {
    /// The files (canonical paths) on which this thread has a `Persistent` or
    /// `PerQuery` transaction open: another connection's write to one of them
    /// would wait for a lock this very thread holds, so it fails at once.
    static WRITING: RefCell<Vec<PathBuf>> = const { RefCell::new(Vec::new()) };
    /// How many entries `WRITING` has: a plain `Cell` (no destructor, so no
    /// lazy registration), read on every `Persistent` call.
    static WRITING_COUNT: Cell<usize> = const { Cell::new(0) };
}

/// The key under which a database file is registered: its canonical path;
/// `None` for an in-memory database or a path that does not resolve.
pub(crate) fn file_key(path: &Path) -> Option<PathBuf> {
    if super::options::is_memory_path(path) {
        return None;
    }
    std::fs::canonicalize(path).ok()
}

/// Registers a transaction of this thread on `file` while alive.
pub(crate) struct WriteMark<'p>(&'p Path);

impl<'p> WriteMark<'p> {
    pub(crate) fn enter(file: &'p Path) -> Self {
        let _ = WRITING.try_with(|w| {
            if let Ok(mut w) = w.try_borrow_mut() {
                w.push(file.to_owned());
                WRITING_COUNT.set(w.len());
            }
        });
        WriteMark(file)
    }
}

impl Drop for WriteMark<'_> {
    fn drop(&mut self) {
        let _ = WRITING.try_with(|w| {
            if let Ok(mut w) = w.try_borrow_mut() {
                if let Some(i) = w.iter().rposition(|p| p == self.0) {
                    w.remove(i);
                }
                WRITING_COUNT.set(w.len());
            }
        });
    }
}

/// Whether this thread has a transaction open on `file` (through any connection).
#[inline]
pub(crate) fn this_thread_writes(file: &Path) -> bool {
    WRITING_COUNT.get() != 0 && this_thread_writes_slow(file)
}

#[cold]
#[inline(never)]
fn this_thread_writes_slow(file: &Path) -> bool {
    WRITING
        .try_with(|w| w.try_borrow().is_ok_and(|w| w.iter().any(|p| p == file)))
        .unwrap_or(false)
}

/// Turns the busy error of a statement that could only wait for this thread's
/// own transaction on `file` into [`Error::Locked`], which says so.
pub(crate) fn held_by_this_thread(e: Error, file: &Path) -> Error {
    match e {
        Error::Busy { table, sql, source } => Error::Locked {
            table,
            sql,
            detail: format!(
                "this thread has a transaction open on `{}` through another connection (a \
                 Persistent or PerQuery `transaction` on the same file), and this statement \
                 would wait for its write lock, which this same thread holds: pass that \
                 transaction's `tx` instead",
                file.display()
            ),
            source,
        },
        other => other,
    }
}
