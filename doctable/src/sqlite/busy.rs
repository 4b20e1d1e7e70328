//! The crate's busy handler: short, jittered waits for a lock another
//! connection holds, bounded by the busy timeout.
//!
//! SQLite's own handler (what `busy_timeout` installs) sleeps 1, 2, 5, 10,
//! 15, 20, 25, 25, 25, 50, 50 and then 100 ms between tries: a writer that
//! has waited a while sleeps up to 100 ms after the lock is free, while a
//! newcomer takes it at once, so under contention the slowest insert waited
//! hundreds of milliseconds (BENCHMARKS.md). This handler sleeps from about
//! 50 µs, doubling to about 1.6 ms, each wait drawn at random between half
//! and one and a half of that so that waiting connections do not wake in
//! step: a ready writer tries again within about 2 ms of the lock coming free.
//!
//! A busy handler is a plain function (rusqlite's `busy_handler` takes a
//! `fn(i32) -> bool`, and the crate uses no `unsafe`), so the timeout it
//! keeps to is this thread's: the strategies set it ([`Timeout::enter`])
//! around every call on a connection, and an open sets it for the open.

use std::cell::Cell;
use std::time::{Duration, Instant};

use rusqlite::Connection;

thread_local! {
    /// The busy timeout of the connection this thread is using.
    static TIMEOUT: Cell<Duration> = const { Cell::new(Duration::from_secs(5)) };
    /// When the current wait for a lock began (its first call of the handler).
    static STARTED: Cell<Option<Instant>> = const { Cell::new(None) };
    /// The state of this thread's jitter (xorshift), 0 before its first use.
    static JITTER: Cell<u64> = const { Cell::new(0) };
}

/// The first wait, before jitter.
const FIRST: Duration = Duration::from_micros(50);
/// The longest wait, before jitter: `FIRST` doubled five times.
const DOUBLINGS: i32 = 5;

/// Installs the crate's handler on `conn`, keeping to `timeout`; a zero
/// timeout installs none (a lock held elsewhere fails at once).
pub(crate) fn install(conn: &Connection, timeout: Duration) -> rusqlite::Result<()> {
    if timeout.is_zero() {
        conn.busy_timeout(Duration::ZERO)
    } else {
        conn.busy_handler(Some(handler))
    }
}

/// This thread's busy timeout (what the handler keeps to).
pub(crate) fn timeout() -> Duration {
    TIMEOUT.with(Cell::get)
}

/// This thread's busy timeout set to a connection's while alive; the previous
/// one again when dropped (a call on one connection inside a call on another).
pub(crate) struct Timeout(Duration);

impl Timeout {
    #[inline]
    pub(crate) fn enter(timeout: Duration) -> Self {
        Timeout(TIMEOUT.with(|t| t.replace(timeout)))
    }
}

impl Drop for Timeout {
    #[inline]
    fn drop(&mut self) {
        TIMEOUT.with(|t| t.set(self.0));
    }
}

/// Called by SQLite with the number of times it has been called for this
/// lock: sleeps and returns `true` to try again, or `false` (SQLite then
/// returns `SQLITE_BUSY`) once the timeout has passed.
fn handler(count: i32) -> bool {
    let now = Instant::now();
    let started = if count == 0 {
        STARTED.with(|s| s.set(Some(now)));
        now
    } else {
        STARTED.with(Cell::get).unwrap_or(now)
    };
    let timeout = TIMEOUT.with(Cell::get);
    let Some(left) = timeout.checked_sub(now.duration_since(started)) else {
        return false;
    };
    if left.is_zero() {
        return false;
    }
    let base = FIRST * (1u32 << count.clamp(0, DOUBLINGS));
    // Between half and one and a half of `base`.
    let wait = base / 2 + base.mul_f64(unit_random());
    std::thread::sleep(wait.min(left));
    true
}

/// A number in `[0, 1)` from this thread's xorshift generator.
fn unit_random() -> f64 {
    JITTER.with(|j| {
        let mut x = j.get();
        if x == 0 {
            // Seeded from the clock and the thread, so that processes and
            // threads started together draw different waits.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let here = &x as *const u64 as u64;
            x = (u64::from(nanos) ^ here.rotate_left(32) ^ u64::from(std::process::id())) | 1;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        j.set(x);
        (x >> 11) as f64 / (1u64 << 53) as f64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_and_stop_at_the_timeout() {
        let _t = Timeout::enter(Duration::from_millis(30));
        let start = Instant::now();
        let mut count = 0;
        while handler(count) {
            count += 1;
            assert!(count < 10_000, "the handler never gave up");
        }
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(30), "{waited:?}");
        assert!(waited < Duration::from_millis(500), "{waited:?}");
        // 50 µs doubling to 1.6 ms: some 25 tries in 30 ms, never SQLite's few.
        assert!(count > 10, "{count} tries");
    }

    #[test]
    fn the_timeout_is_restored_after_a_nested_call() {
        let _outer = Timeout::enter(Duration::from_secs(7));
        {
            let _inner = Timeout::enter(Duration::from_secs(1));
            assert_eq!(TIMEOUT.with(Cell::get), Duration::from_secs(1));
        }
        assert_eq!(TIMEOUT.with(Cell::get), Duration::from_secs(7));
    }

    #[test]
    fn jitter_stays_in_its_range() {
        for _ in 0..1_000 {
            let r = unit_random();
            assert!((0.0..1.0).contains(&r), "{r}");
        }
    }
}
