//! The writer queue (`Options::writer_queue(true)`; off by default): the
//! crate's connections to one database file take an
//! exclusive `flock` on a side file, `<database>-writer`, around every write
//! (a `BEGIN IMMEDIATE` .. `COMMIT` / `ROLLBACK` transaction, or one write
//! statement in autocommit mode), so that writers wait for each other in the
//! kernel instead of in sleep-and-retry loops.
//!
//! Why: SQLite's lock has no waiting list. A writer that finds it taken can
//! only sleep and try again (the busy handler of `busy.rs`), so under
//! contention several processes wake every few hundred microseconds on a
//! machine with fewer cores than writers, take CPU from the writer that holds
//! the lock, and one of them can lose every race for a long time
//! (BENCHMARKS.md, issue 14: at 8 processes a p99 of 6.4 ms and a slowest
//! insert of 273 ms). A process blocked in `flock` sleeps until the kernel
//! wakes it at the release, so the next writer starts within one wake-up of
//! the previous one's end, and the others use no CPU meanwhile.
//!
//! What it is not: a lock that correctness depends on. SQLite's own locks
//! still decide; the queue only orders the crate's writers before they ask
//! SQLite. Whatever cannot use it writes as before, through the busy handler:
//! an in-memory database, a read-only connection, a directory where the side
//! file cannot be created (it is then opened read-only if it exists, which
//! `flock` accepts), a connection of the caller's own (the external strategy),
//! work through `with_rusqlite`, and other programs.
//!
//! - **Bounded by the busy timeout.** A wait first tries the lock without
//!   blocking. When it is taken, this connection's waiting thread (one, made
//!   the first time it is needed, kept while the connection lives) blocks in
//!   `flock` and the writer waits for it on a condition variable for at most
//!   the busy timeout; a holder that is stopped (`SIGSTOP`, a debugger) or
//!   stuck cannot keep a writer past its timeout. After a timeout the write
//!   goes to SQLite with no time left, so it fails with
//!   [`Error::Busy`](crate::Error::Busy) only when SQLite's lock is still
//!   taken. The price is a second wake-up at every hand-over (the waiting
//!   thread's, then the writer's): a blocked `flock` cannot time out, and
//!   the crate uses no signals.
//! - **Not through a checkpoint.** The WAL hook ([`after_commit`]) releases
//!   the turn as soon as the commit is in the WAL, before the automatic
//!   checkpoint that it then runs itself.
//! - **Readers never take it**, nor a statement SQLite says is read-only.
//! - **Threads queue too**: `flock` locks belong to an open file description,
//!   so every connection opens its own handle.
//! - **A crash frees it**: the kernel releases a dead process's `flock`.
//! - **Fairness**: one `flock` alone lets the writer that has just released
//!   it take it again before the waiter the kernel woke gets a core (measured:
//!   a p99 of 8 ms at 8 processes, most inserts never waiting and a few
//!   waiting very long), and a strict hand-over (the woken writer, and
//!   nobody else, goes next) left a core idle at every hand-over. So a
//!   second lock, `<database>-writer-starving`, bounds the unfairness: see
//!   [`Locks`].

use std::cell::RefCell;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use super::busy;

/// A side file of the database at `path`: `<path><suffix>`.
fn side_file(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The two locks of a queue, each on its own side file (`flock` locks a
/// whole file). `turn` is held by the writer that writes. `starving` is
/// held (shared) by the writers that have waited for `turn` longer than
/// [`STARVING_AFTER`]: while any does, no writer takes a free `turn` without
/// queueing in the kernel behind them.
///
/// Why: `flock` hands nothing over. At a release the kernel wakes a waiter,
/// but the writer that released is still running and, coming back for its
/// next write a few microseconds later, takes the lock again before the
/// woken one has a core (measured with one lock: at 8 processes the median
/// insert never waited while the p99 waited 8 ms). Letting it do so is what
/// keeps the throughput (no core sits idle while a woken writer is
/// scheduled); `starving` bounds how long anyone loses that race.
#[derive(Debug)]
struct Locks {
    turn: File,
    starving: File,
}

/// How long a writer waits in the queue before the others stop taking a
/// free turn ahead of it. A trade (BENCHMARKS.md, issue 14, measured at 8
/// processes on 2 cores): 0.3 ms bounded the slowest insert best and
/// halved the throughput, every hand-over costing two wake-ups; without
/// the bound the throughput held and the slowest insert waited longer.
const STARVING_AFTER: Duration = Duration::from_millis(2);

impl Locks {
    fn open(database: &Path) -> Option<Locks> {
        Some(Locks {
            turn: open_side(&side_file(database, "-writer"))?,
            starving: open_side(&side_file(database, "-writer-starving"))?,
        })
    }

    /// The turn without blocking, unless a writer is starving: `Some(true)`
    /// when taken, `Some(false)` when it must be waited for, `None` when
    /// the files cannot be locked at all.
    fn try_take(&self) -> Option<bool> {
        match self.starving.try_lock() {
            Ok(()) => {
                let taken = match self.turn.try_lock() {
                    Ok(()) => Some(true),
                    Err(TryLockError::WouldBlock) => Some(false),
                    Err(TryLockError::Error(_)) => None,
                };
                let _ = self.starving.unlock();
                taken
            }
            Err(TryLockError::WouldBlock) => Some(false),
            Err(TryLockError::Error(_)) => None,
        }
    }
}

/// Opens (creating it if needed) a side file.
fn open_side(path: &Path) -> Option<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        // A directory this process cannot write: a file made by another
        // process still serves (`flock` needs no write access).
        .or_else(|_| File::open(path))
        .ok()
}

/// One connection's place in the writer queue of its database file.
#[derive(Debug)]
pub(crate) struct WriterQueue {
    database: PathBuf,
    /// Opened at the first write; `None` when they cannot be (no queue then).
    locks: OnceLock<Option<Arc<Locks>>>,
    /// The waiting thread, made at the first write that has to wait.
    waiter: OnceLock<Option<Arc<Waiter>>>,
    /// Whether this connection holds the turn.
    held: AtomicBool,
    /// The WAL size (pages) at which a commit checkpoints ([`after_commit`]).
    checkpoint_pages: u32,
    /// The process that made it (a child made by fork() has no waiting
    /// thread, and shares the parent's file handle).
    pid: u32,
}

impl WriterQueue {
    /// A queue on the side files of `database` (nothing is opened yet),
    /// whose connection checkpoints the WAL once it has `checkpoint_pages`
    /// pages (0: never), as SQLite's automatic checkpoint would.
    pub(crate) fn new(database: &Path, checkpoint_pages: u32) -> Arc<Self> {
        Arc::new(WriterQueue {
            checkpoint_pages,
            database: database.to_owned(),
            locks: OnceLock::new(),
            waiter: OnceLock::new(),
            held: AtomicBool::new(false),
            pid: std::process::id(),
        })
    }

    /// Whether process `pid` made it (a child made by fork() makes its own).
    pub(crate) fn made_by(&self, pid: u32) -> bool {
        self.pid == pid
    }

    fn locks(&self) -> Option<&Arc<Locks>> {
        self.locks
            .get_or_init(|| Locks::open(&self.database).map(Arc::new))
            .as_ref()
    }

    /// Takes the turn, waiting at most `timeout`. Returns the time left of
    /// it (the whole of it when the turn was free or there is no queue).
    fn acquire(&self, timeout: Duration) -> Duration {
        if self.held.load(Ordering::Relaxed) {
            return timeout;
        }
        let Some(locks) = self.locks() else {
            return timeout;
        };
        let idle = self
            .waiter
            .get()
            .and_then(Option::as_ref)
            .is_none_or(|w| w.is_idle());
        if idle {
            match locks.try_take() {
                Some(true) => {
                    self.held.store(true, Ordering::Relaxed);
                    return timeout;
                }
                Some(false) => {}
                // Locks unsupported here (some network filesystems): no queue.
                None => return timeout,
            }
        }
        if timeout.is_zero() {
            return timeout;
        }
        let Some(waiter) = self.waiter(locks) else {
            return timeout;
        };
        let started = Instant::now();
        match waiter.wait(started, timeout, locks) {
            Granted::Yes => {
                self.held.store(true, Ordering::Relaxed);
                timeout.saturating_sub(started.elapsed())
            }
            // The lock could not be taken at all: SQLite decides, as without a queue.
            Granted::Failed => timeout.saturating_sub(started.elapsed()),
            // Still taken after the whole timeout: SQLite gets no more time.
            Granted::TimedOut => Duration::ZERO,
        }
    }

    fn waiter(&self, locks: &Arc<Locks>) -> Option<&Arc<Waiter>> {
        self.waiter
            .get_or_init(|| Waiter::start(Arc::clone(locks)))
            .as_ref()
    }

    /// Releases the lock if this connection holds it.
    fn release(&self) {
        if !self.held.swap(false, Ordering::Relaxed) {
            return;
        }
        if let Some(locks) = self.locks.get().and_then(Option::as_ref) {
            // An unlock that fails leaves the lock to the close of the file,
            // or of the process; SQLite's locks are unaffected either way.
            let _ = locks.turn.unlock();
        }
    }
}

impl Drop for WriterQueue {
    fn drop(&mut self) {
        // In a child made by fork() the file handle is the parent's too:
        // unlocking it would end the parent's turn. (A write in such a child
        // fails in the commit hook; its queue is not worth a `getpid` on
        // every write.)
        if std::process::id() == self.pid {
            self.release();
        }
        if let Some(Some(waiter)) = self.waiter.get() {
            waiter.close();
        }
    }
}

/// Where the waiting thread and the writer it waits for stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing asked.
    Idle,
    /// The writer waits: the thread is (or is about to be) blocked in `flock`.
    Wanted,
    /// The thread took the lock for the writer, which has not yet seen it.
    Granted,
    /// The writer gave up; the thread, still blocked, releases the lock when
    /// it gets it (unless the writer asks again first).
    Abandoned,
    /// `flock` failed: the writer goes on without the queue.
    Failed,
    /// The queue is gone: the thread ends.
    Closed,
}

enum Granted {
    Yes,
    Failed,
    TimedOut,
}

/// A connection's waiting thread: blocks in `flock` for the writer, which
/// waits on `changed` with a timeout (a blocked `flock` cannot time out).
#[derive(Debug)]
struct Waiter {
    state: Mutex<State>,
    changed: Condvar,
}

impl Waiter {
    fn start(locks: Arc<Locks>) -> Option<Arc<Waiter>> {
        let waiter = Arc::new(Waiter {
            state: Mutex::new(State::Idle),
            changed: Condvar::new(),
        });
        let theirs = Arc::clone(&waiter);
        std::thread::Builder::new()
            .name("doctable-writer-queue".into())
            .stack_size(64 * 1024)
            .spawn(move || theirs.run(&locks))
            .ok()?;
        Some(waiter)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_idle(&self) -> bool {
        *self.lock() == State::Idle
    }

    /// The waiting thread's loop.
    fn run(&self, locks: &Locks) {
        let mut state = self.lock();
        loop {
            match *state {
                State::Closed => return,
                State::Wanted => {}
                _ => {
                    state = self
                        .changed
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                    continue;
                }
            }
            drop(state);
            let locked = locks.turn.lock().is_ok();
            state = self.lock();
            match (*state, locked) {
                (State::Wanted, true) => *state = State::Granted,
                (State::Wanted, false) => *state = State::Failed,
                (State::Abandoned, _) | (State::Closed, _) => {
                    if locked {
                        let _ = locks.turn.unlock();
                    }
                    if *state == State::Abandoned {
                        *state = State::Idle;
                    }
                }
                _ => {}
            }
            self.changed.notify_all();
        }
    }

    /// Asks the thread for the turn and waits for it, at most `timeout`
    /// from `started`; once it has waited [`STARVING_AFTER`], marks itself
    /// starving until it has the turn or stops waiting.
    fn wait(&self, started: Instant, timeout: Duration, locks: &Locks) -> Granted {
        let deadline = started + timeout;
        let mut starving = false;
        let granted = {
            let mut state = self.lock();
            match *state {
                // Abandoned: the thread is still blocked for an earlier wait,
                // which keeps its place for this one.
                State::Idle | State::Failed | State::Abandoned => {
                    *state = State::Wanted;
                    self.changed.notify_all();
                }
                State::Wanted | State::Granted | State::Closed => {}
            }
            loop {
                match *state {
                    State::Granted => {
                        *state = State::Idle;
                        break Granted::Yes;
                    }
                    State::Failed | State::Closed => {
                        *state = State::Idle;
                        break Granted::Failed;
                    }
                    _ => {}
                }
                let now = Instant::now();
                let left = deadline.saturating_duration_since(now);
                if left.is_zero() {
                    *state = State::Abandoned;
                    break Granted::TimedOut;
                }
                let mut slice = left;
                if !starving {
                    let due = (started + STARVING_AFTER).saturating_duration_since(now);
                    if due.is_zero() {
                        // Shared: every starving writer holds it at once. It
                        // is held exclusively only for the instant of another
                        // writer's look, so a failure is tried again soon.
                        starving = locks.starving.try_lock_shared().is_ok();
                        if !starving {
                            slice = slice.min(STARVING_AFTER / 4);
                        }
                    } else {
                        slice = slice.min(due);
                    }
                }
                state = match self.changed.wait_timeout(state, slice) {
                    Ok((guard, _)) => guard,
                    Err(p) => p.into_inner().0,
                };
            }
        };
        if starving {
            let _ = locks.starving.unlock();
        }
        granted
    }

    fn close(&self) {
        let mut state = self.lock();
        *state = State::Closed;
        self.changed.notify_all();
    }
}

thread_local! {
    /// The writer queue of the connection this thread is using, if it has one.
    static CURRENT: RefCell<Option<Arc<WriterQueue>>> = const { RefCell::new(None) };
}

/// Whether the connection this thread is using has a writer queue.
#[inline]
pub(crate) fn has_queue() -> bool {
    CURRENT.with_borrow(Option::is_some)
}

/// The busy timeout and the writer queue of the connection this thread uses,
/// set by a strategy around every call; the previous ones again when dropped
/// (a call on one connection inside a call on another). Releases the queue
/// if a write left it held (every call ends outside a transaction).
pub(crate) struct Scope {
    previous: Option<Arc<WriterQueue>>,
    _timeout: busy::Timeout,
}

impl Scope {
    #[inline]
    pub(crate) fn enter(timeout: Duration, queue: Option<&Arc<WriterQueue>>) -> Self {
        let previous = match queue {
            Some(q) => CURRENT.with(|c| c.replace(Some(Arc::clone(q)))),
            None => CURRENT.with(|c| c.take()),
        };
        Scope {
            previous,
            _timeout: busy::Timeout::enter(timeout),
        }
    }
}

impl Drop for Scope {
    #[inline]
    fn drop(&mut self) {
        let previous = self.previous.take();
        let ours = CURRENT.with(|c| c.replace(previous));
        if let Some(q) = ours {
            q.release();
        }
    }
}

/// This connection's turn at writing, for one statement or a transaction:
/// taken (when the connection has a queue and does not hold it yet) before
/// it runs; the busy timeout's remainder is what SQLite may still wait.
/// Dropping it releases the queue for a statement, not for a transaction,
/// which keeps it until its scope ends.
pub(crate) struct Turn {
    statement: bool,
    _timeout: Option<busy::Timeout>,
}

impl Turn {
    /// Takes the queue for a write statement run in autocommit mode, or for
    /// the transaction a `BEGIN IMMEDIATE` starts (`statement == false`).
    #[inline]
    pub(crate) fn take(statement: bool) -> Option<Turn> {
        if !has_queue() {
            return None;
        }
        Self::take_slow(statement)
    }

    #[inline(never)]
    fn take_slow(statement: bool) -> Option<Turn> {
        let timeout = busy::timeout();
        let left = CURRENT.with_borrow(|q| q.as_ref().map(|q| q.acquire(timeout)))?;
        Some(Turn {
            statement,
            _timeout: (left != timeout).then(|| busy::Timeout::enter(left)),
        })
    }
}

impl Drop for Turn {
    #[inline]
    fn drop(&mut self) {
        if self.statement {
            release_current();
        }
    }
}

/// SQLite's automatic checkpoint, when nothing else sets it: once the WAL has this many pages.
const DEFAULT_CHECKPOINT_PAGES: u32 = 1000;

/// The WAL hook of the crate's connections that queue: called by SQLite
/// after every commit, with the WAL's size in pages. The commit is in the
/// WAL, so the turn is released here, before the automatic checkpoint that
/// this hook then runs in place of SQLite's own (which this hook replaces:
/// a passive checkpoint once the WAL passes the connection's
/// `wal_autocheckpoint`). A checkpoint copies up to a thousand pages and
/// syncs the database file (measured here: tens of milliseconds); holding
/// the turn through it made every other writer wait for it too.
pub(crate) fn after_commit(
    wal: &rusqlite::hooks::Wal,
    pages: std::ffi::c_int,
) -> rusqlite::Result<()> {
    let limit = CURRENT.with_borrow(|q| {
        q.as_ref().map_or(DEFAULT_CHECKPOINT_PAGES, |q| {
            q.release();
            q.checkpoint_pages
        })
    });
    if limit > 0 && u32::try_from(pages).is_ok_and(|p| p >= limit) {
        // As SQLite's own hook: a checkpoint that cannot run now (another
        // is running) is left to a later commit, and the commit stands.
        let _ = wal.checkpoint();
    }
    Ok(())
}

/// Releases the current connection's queue (a transaction has ended).
pub(crate) fn release_current() {
    CURRENT.with_borrow(|q| {
        if let Some(q) = q {
            q.release();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn other_handle(queue: &WriterQueue) -> File {
        File::open(side_file(&queue.database, "-writer")).unwrap()
    }

    #[test]
    fn a_free_queue_is_taken_at_once_and_released() {
        let dir = tempfile::tempdir().unwrap();
        let queue = WriterQueue::new(&dir.path().join("a.db"), 1000);
        let left = queue.acquire(Duration::from_secs(5));
        assert_eq!(left, Duration::from_secs(5));
        assert!(queue.held.load(Ordering::Relaxed));
        // Held: another handle cannot take it; taking it again is a no-op.
        let other = other_handle(&queue);
        assert!(matches!(other.try_lock(), Err(TryLockError::WouldBlock)));
        assert_eq!(
            queue.acquire(Duration::from_secs(1)),
            Duration::from_secs(1)
        );
        queue.release();
        assert!(other.try_lock().is_ok());
        other.unlock().unwrap();
        // No wait happened, so no waiting thread was made.
        assert!(queue.waiter.get().is_none());
    }

    #[test]
    fn a_wait_ends_at_its_timeout_and_keeps_its_place() {
        let dir = tempfile::tempdir().unwrap();
        let queue = WriterQueue::new(&dir.path().join("b.db"), 1000);
        queue.acquire(Duration::ZERO);
        queue.release();
        let other = other_handle(&queue);
        other.lock().unwrap();
        let started = Instant::now();
        assert_eq!(queue.acquire(Duration::from_millis(100)), Duration::ZERO);
        assert!(started.elapsed() >= Duration::from_millis(100));
        assert!(!queue.held.load(Ordering::Relaxed));
        // Released by the other holder while nobody waits: the abandoned
        // wait lets it go again, and the next acquire gets it.
        other.unlock().unwrap();
        let started = Instant::now();
        let left = queue.acquire(Duration::from_secs(5));
        assert!(left > Duration::from_secs(4), "{left:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(queue.held.load(Ordering::Relaxed));
        queue.release();
        // Nothing of the earlier wait holds it now.
        std::thread::sleep(Duration::from_millis(50));
        assert!(other.try_lock().is_ok());
        other.unlock().unwrap();
    }

    #[test]
    fn a_waiter_is_woken_by_the_release() {
        let dir = tempfile::tempdir().unwrap();
        let queue = WriterQueue::new(&dir.path().join("c.db"), 1000);
        queue.acquire(Duration::ZERO);
        queue.release();
        let other = other_handle(&queue);
        other.lock().unwrap();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            other.unlock().unwrap();
            Instant::now()
        });
        let left = queue.acquire(Duration::from_secs(5));
        let woken = Instant::now();
        let released = releaser.join().unwrap();
        assert!(queue.held.load(Ordering::Relaxed));
        assert!(left < Duration::from_secs(5) && left > Duration::from_secs(4));
        assert!(
            woken.duration_since(released) < Duration::from_millis(500),
            "woken by the release, not by a timer"
        );
        queue.release();
    }

    #[test]
    fn a_scope_restores_the_outer_queue() {
        let dir = tempfile::tempdir().unwrap();
        let outer = WriterQueue::new(&dir.path().join("d.db"), 1000);
        let _outer = Scope::enter(Duration::from_secs(5), Some(&outer));
        {
            let _inner = Scope::enter(Duration::from_secs(1), None);
            assert!(CURRENT.with_borrow(Option::is_none));
            assert!(Turn::take(true).is_none());
        }
        let turn = Turn::take(true);
        assert!(turn.is_some());
        assert!(outer.held.load(Ordering::Relaxed));
        drop(turn);
        assert!(!outer.held.load(Ordering::Relaxed));
    }
}
