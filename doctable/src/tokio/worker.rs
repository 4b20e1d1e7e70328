//! The worker threads behind [`Db`](super::Db): each owns one connection and
//! runs the jobs of one shared queue, a whole operation at a time.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ::tokio::sync::Notify;

use crate::error::{Error, Result};

/// One operation, boxed: it runs with the worker's connection and sends its
/// own result (the caller's future, or stream, is on the other end), calling
/// [`Turn::answering`] just before.
pub(super) type Job<C> = Box<dyn FnOnce(&C, &Turn<'_, C>) + Send>;

/// What a [`Job`] is handed besides the connection: its worker's turn.
pub(super) struct Turn<'q, C> {
    queue: &'q Queue<C>,
    /// Whether [`answering`](Turn::answering) took the spinner token.
    spinner: std::cell::Cell<bool>,
}

impl<C> Turn<'_, C> {
    /// The job is about to send its result: its worker takes the spinner
    /// token now, if it is free, so that a job the caller queues as soon as
    /// it has the result finds a worker on its way back to the queue and
    /// signals nobody (else the race between the two would often wake a
    /// sleeping worker for a job this one then takes itself).
    pub(super) fn answering(&self) {
        let backing_off = self.queue.worker_backoff.load(Ordering::Relaxed) != 0;
        if self.spinner.get() || self.queue.spin.worker.is_zero() || backing_off {
            return;
        }
        let mut state = self.queue.lock();
        if !state.spinning {
            state.spinning = true;
            self.spinner.set(true);
        }
    }
}

/// How long a worker that has just finished a job spins for the next one
/// before it sleeps, and how long an awaiting caller spins for its result
/// before it yields (see the module documentation, "Spinning").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Spin {
    /// The worker's bound; zero: sleep at once.
    pub(super) worker: Duration,
    /// The caller's bound; zero: yield at once.
    pub(super) caller: Duration,
}

impl Spin {
    /// The bounds measured best on the 2-core machine (BENCHMARKS.md, "Async
    /// handle: the cost of a hop").
    const DEFAULT: Spin = Spin {
        worker: Duration::from_micros(50),
        caller: Duration::from_micros(50),
    };

    /// The largest bound the environment may set: far under the 20 ms a
    /// runtime thread may be held (the heartbeat test's bar).
    const MAX: Duration = Duration::from_millis(1);

    /// The bounds in `DOCTABLE_TOKIO_SPIN_US` (`<worker>[,<caller>]`, in
    /// microseconds, for measuring; at most [`MAX`](Spin::MAX)), else the
    /// defaults. A value that does not parse is ignored: the knob never
    /// fails an open.
    pub(super) fn from_env() -> Spin {
        let Ok(text) = std::env::var("DOCTABLE_TOKIO_SPIN_US") else {
            return Spin::DEFAULT;
        };
        let mut parts = text.split(',').map(|p| p.trim().parse::<u64>().ok());
        let mut bound = || {
            parts
                .next()
                .flatten()
                .map(|us| Duration::from_micros(us).min(Spin::MAX))
        };
        let worker = bound();
        let caller = bound();
        Spin {
            worker: worker.unwrap_or(Spin::DEFAULT.worker),
            caller: caller.unwrap_or(Spin::DEFAULT.caller),
        }
    }
}

/// Calls `done` between short runs of `spin_loop` until it says so or
/// `bound` has passed, yielding the core between runs (the clock is read
/// once per run, not per check).
///
/// The yield is what makes spinning safe on a busy machine: it returns at
/// once when no other thread wants the core, but when the cores are
/// oversubscribed the thread this one waits for is often queued behind it on
/// the same core, and a spin that does not yield keeps it off until the
/// bound. Measured beside a parallel build (BENCHMARKS.md, "Async handle: the
/// cost of a hop"): gets 4 to 12 times slower with 50 µs of spinning before
/// the first yield, 1.7 to 2.5 times slower with 2 to 5 µs, against
/// yielding from the start.
///
/// Returns `false` when a yield took half the bound or more: the core went
/// to another thread for a time slice, so the machine is oversubscribed and
/// spinning is not worth it for a while (the callers count it as a miss, the
/// workers back off).
pub(super) fn spin_until(bound: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        for _ in 0..8 {
            if done() {
                return true;
            }
            std::hint::spin_loop();
        }
        let before_yield = start.elapsed();
        if before_yield >= bound {
            return true;
        }
        std::thread::yield_now();
        if start.elapsed().saturating_sub(before_yield) >= bound / 2 {
            done();
            return false;
        }
    }
}

/// After this many callers' spins in a row ran to their bound in vain, the
/// callers stop spinning ...
const CALLER_MISSES: u32 = 4;

/// ... but for one call in this many, which spins to see if short answers
/// are back.
const CALLER_PROBE: u32 = 16;

/// After a worker's spin lost its core to another thread for a time slice
/// (an oversubscribed machine: a job queued meanwhile waits for the spinner
/// to get a core back, where a sleeping worker would have been woken), the
/// next this many jobs are followed by no spin: the workers sleep and are
/// signalled, as without spinning.
const WORKER_BACKOFF: u32 = 64;

/// The jobs waiting for a worker, shared by the handle and its workers.
pub(super) struct Queue<C> {
    state: Mutex<State<C>>,
    /// Signalled when a job is queued for a sleeping worker, and when the
    /// queue closes.
    ready: Condvar,
    /// How many jobs are queued (`state.jobs.len()`, written under the
    /// lock): what a spinning worker watches without taking the lock.
    queued: AtomicUsize,
    /// Set (under the lock) when the queue closes: ends a spin early.
    closed: AtomicBool,
    /// The spin bounds of this queue's workers and callers.
    spin: Spin,
    /// Callers' spins that ran to their bound without the result, in a row
    /// (then counting the calls that skipped the spin): see
    /// [`caller_should_spin`](Queue::caller_should_spin).
    caller_misses: AtomicU32,
    /// How many more times a worker skips its spin after a job, because a
    /// spin lost its core to another thread ([`WORKER_BACKOFF`]).
    worker_backoff: AtomicU32,
    /// How many workers are running (or starting).
    running: AtomicUsize,
    /// Notified when a worker ends.
    ended: Notify,
}

struct State<C> {
    jobs: VecDeque<Job<C>>,
    closed: bool,
    /// Whether a worker holds the one spinner token: it is spinning, and
    /// takes the next job without being signalled.
    spinning: bool,
    /// Workers waiting on `ready` that no `push` has signalled yet.
    sleeping: usize,
    /// Workers waiting on `ready` that a `push` has signalled, not yet back:
    /// each will take a job. (`sleeping + woken` is exact; which waiter is
    /// which does not matter, the workers are alike.)
    woken: usize,
}

impl<C> State<C> {
    /// Workers that will take a queued job without a further signal.
    fn takers(&self) -> usize {
        usize::from(self.spinning) + self.woken
    }
}

impl<C> Queue<C> {
    pub(super) fn new(spin: Spin) -> Self {
        Queue {
            state: Mutex::new(State {
                jobs: VecDeque::new(),
                closed: false,
                spinning: false,
                sleeping: 0,
                woken: 0,
            }),
            ready: Condvar::new(),
            queued: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            spin,
            caller_misses: AtomicU32::new(0),
            worker_backoff: AtomicU32::new(0),
            running: AtomicUsize::new(0),
            ended: Notify::new(),
        }
    }

    /// The spin bounds of this queue.
    pub(super) fn spin(&self) -> Spin {
        self.spin
    }

    /// Whether a caller should spin for its result. Yes, unless the last
    /// [`CALLER_MISSES`] spins all ran to their bound in vain (operations
    /// longer than the bound: PostgreSQL round trips, scans; or cores too
    /// busy to answer in time): then only one call in [`CALLER_PROBE`]
    /// spins, to notice when short answers come back.
    pub(super) fn caller_should_spin(&self) -> bool {
        if self.caller_misses.load(Ordering::Relaxed) < CALLER_MISSES {
            return true;
        }
        let skipped = self.caller_misses.fetch_add(1, Ordering::Relaxed);
        skipped
            .wrapping_sub(CALLER_MISSES)
            .is_multiple_of(CALLER_PROBE)
    }

    /// Whether a worker that has just finished a job may spin for the next:
    /// spinning is on and not backing off (each call while it is counts one
    /// of the [`WORKER_BACKOFF`] skips).
    fn worker_may_spin(&self) -> bool {
        if self.spin.worker.is_zero() {
            return false;
        }
        if self.worker_backoff.load(Ordering::Relaxed) == 0 {
            return true;
        }
        let _ = self
            .worker_backoff
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        false
    }

    /// A caller's spin ended: `caught`, with the result in hand.
    pub(super) fn caller_spun(&self, caught: bool) {
        if !caught {
            self.caller_misses.fetch_add(1, Ordering::Relaxed);
        } else if self.caller_misses.load(Ordering::Relaxed) != 0 {
            // Written only when it changes: callers on many threads share it.
            self.caller_misses.store(0, Ordering::Relaxed);
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<C>> {
        // A job never runs while the lock is held (see `next`), so a panic
        // cannot poison it; `into_inner` keeps the queue going regardless.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until every worker has ended.
    pub(super) async fn stopped(&self) {
        loop {
            let ended = self.ended.notified();
            let mut ended = std::pin::pin!(ended);
            // Registered before the count is read: an end after the read wakes it.
            ended.as_mut().enable();
            if self.running.load(Ordering::Acquire) == 0 {
                return;
            }
            ended.await;
        }
    }

    /// Queues `job` for the next free worker, or gives it back with
    /// [`Error::Closed`] once the queue is closed. `Ok(true)` when a worker
    /// was idle to take it at once (spinning, or asleep and now signalled),
    /// `Ok(false)` when it waits behind busy workers.
    ///
    /// A sleeping worker is signalled (a futex call) only when no spinning
    /// or already signalled worker is left to take the job.
    pub(super) fn push(&self, job: Job<C>) -> Result<bool> {
        let mut state = self.lock();
        if state.closed {
            return Err(Error::Closed);
        }
        state.jobs.push_back(job);
        self.queued.store(state.jobs.len(), Ordering::Release);
        let signal = state.jobs.len() > state.takers() && state.sleeping > 0;
        if signal {
            state.sleeping -= 1;
            state.woken += 1;
        }
        let idle_worker = state.jobs.len() <= state.takers();
        drop(state);
        if signal {
            self.ready.notify_one();
        }
        Ok(idle_worker)
    }

    /// Refuses new jobs; the queued ones still run, then the workers stop.
    pub(super) fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        self.closed.store(true, Ordering::Release);
        drop(state);
        self.ready.notify_all();
    }

    pub(super) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The next job, waiting for one; `None` once the queue is closed and
    /// empty. `after_job`: this worker has just finished one, so it may spin
    /// for the next (if no other worker is spinning) before it sleeps;
    /// `spinner`: it holds the spinner token already ([`Turn::answering`]).
    fn next(&self, after_job: bool, spinner: bool) -> Option<Job<C>> {
        let mut may_spin = spinner || (after_job && self.worker_may_spin());
        let mut holds_token = spinner;
        let mut state = self.lock();
        loop {
            if let Some(job) = state.jobs.pop_front() {
                self.queued.store(state.jobs.len(), Ordering::Release);
                if holds_token {
                    // Given back under the lock: a `push` from here on
                    // signals a sleeper itself.
                    state.spinning = false;
                }
                return Some(job);
            }
            if state.closed {
                if holds_token {
                    state.spinning = false;
                }
                return None;
            }
            if holds_token || (may_spin && !state.spinning) {
                may_spin = false;
                state.spinning = true;
                drop(state);
                let kept_core = spin_until(self.spin.worker, || {
                    self.queued.load(Ordering::Acquire) > 0 || self.closed.load(Ordering::Acquire)
                });
                if !kept_core {
                    self.worker_backoff.store(WORKER_BACKOFF, Ordering::Relaxed);
                }
                state = self.lock();
                // Given back under the lock, before this worker looks at the
                // queue again: a `push` from here on signals a sleeper itself.
                state.spinning = false;
                holds_token = false;
                continue;
            }
            state.sleeping += 1;
            state = self
                .ready
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            // This waiter leaves the count; both are at least one while it
            // waits, so `saturating_sub` never actually saturates.
            if state.woken > 0 {
                state.woken -= 1;
            } else {
                state.sleeping = state.sleeping.saturating_sub(1);
            }
        }
    }
}

/// Starts one worker thread: it opens its connection with `open`, reports
/// how that went through `opened`, then runs jobs until the queue closes.
pub(super) fn spawn<C: 'static>(
    index: usize,
    queue: Arc<Queue<C>>,
    open: Arc<dyn Fn() -> Result<C> + Send + Sync>,
    opened: ::tokio::sync::oneshot::Sender<Result<()>>,
) -> Result<()> {
    queue.running.fetch_add(1, Ordering::AcqRel);
    let running = Running(Arc::clone(&queue));
    std::thread::Builder::new()
        .name(format!("doctable-worker-{index}"))
        .spawn(move || {
            // Counted out when this thread ends, after its connection is closed.
            let running = running;
            let queue = &running.0;
            let conn = match catch_unwind(AssertUnwindSafe(|| open())) {
                Ok(Ok(conn)) => conn,
                Ok(Err(e)) => {
                    let _ = opened.send(Err(e));
                    return;
                }
                Err(payload) => {
                    let _ = opened.send(Err(panicked(payload.as_ref())));
                    return;
                }
            };
            drop(open);
            if opened.send(Ok(())).is_err() {
                // The `Db` being built was dropped before it was ready.
                return;
            }
            let (mut after_job, mut spinner) = (false, false);
            while let Some(job) = queue.next(after_job, spinner) {
                let turn = Turn {
                    queue,
                    spinner: std::cell::Cell::new(false),
                };
                // Every job catches its closure's panic itself (`guarded`),
                // so this one only stops a panic in the crate's own sending
                // from ending the worker.
                let _ = catch_unwind(AssertUnwindSafe(|| job(&conn, &turn)));
                (after_job, spinner) = (true, turn.spinner.get());
            }
            drop(conn);
        })
        .map(drop)
        // A thread that did not start dropped `running` with its closure.
        .map_err(Error::Io)
}

/// A running worker, counted out of its queue when dropped.
struct Running<C>(Arc<Queue<C>>);

impl<C> Drop for Running<C> {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::AcqRel);
        self.0.ended.notify_waiters();
    }
}

/// Runs `f`, turning a panic into [`Error::Panicked`]. The panic unwinds
/// through the crate's own guards first, so a transaction it ran in is
/// rolled back before this returns.
pub(super) fn guarded<R>(f: impl FnOnce() -> R) -> std::result::Result<R, Error> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| panicked(payload.as_ref()))
}

/// The error for a panic with `payload`.
fn panicked(payload: &(dyn std::any::Any + Send)) -> Error {
    let message = if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(a panic without a text message)".to_owned()
    };
    Error::Panicked { message }
}
