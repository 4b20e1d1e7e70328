//! The worker threads behind [`Db`](super::Db): each owns one connection and
//! runs the jobs of one shared queue, a whole operation at a time.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use ::tokio::sync::Notify;

use crate::error::{Error, Result};

/// One operation, boxed: it runs with the worker's connection and sends its
/// own result (the caller's future, or stream, is on the other end).
pub(super) type Job<C> = Box<dyn FnOnce(&C) + Send>;

/// The jobs waiting for a worker, shared by the handle and its workers.
pub(super) struct Queue<C> {
    state: Mutex<State<C>>,
    /// Signalled when a job is queued, and when the queue closes.
    ready: Condvar,
    /// How many workers are running (or starting).
    running: AtomicUsize,
    /// Notified when a worker ends.
    ended: Notify,
}

struct State<C> {
    jobs: VecDeque<Job<C>>,
    closed: bool,
}

impl<C> Queue<C> {
    pub(super) fn new() -> Self {
        Queue {
            state: Mutex::new(State {
                jobs: VecDeque::new(),
                closed: false,
            }),
            ready: Condvar::new(),
            running: AtomicUsize::new(0),
            ended: Notify::new(),
        }
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
    /// [`Error::Closed`] once the queue is closed.
    pub(super) fn push(&self, job: Job<C>) -> Result<()> {
        // A job never runs while the lock is held (see `next`), so a panic
        // cannot poison it; `into_inner` keeps the queue going regardless.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.closed {
            return Err(Error::Closed);
        }
        state.jobs.push_back(job);
        drop(state);
        self.ready.notify_one();
        Ok(())
    }

    /// Refuses new jobs; the queued ones still run, then the workers stop.
    pub(super) fn close(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.closed = true;
        drop(state);
        self.ready.notify_all();
    }

    pub(super) fn is_closed(&self) -> bool {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .closed
    }

    /// The next job, waiting for one; `None` once the queue is closed and empty.
    fn next(&self) -> Option<Job<C>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(job) = state.jobs.pop_front() {
                return Some(job);
            }
            if state.closed {
                return None;
            }
            state = self
                .ready
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
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
            while let Some(job) = queue.next() {
                // Every job catches its closure's panic itself (`guarded`),
                // so this one only stops a panic in the crate's own sending
                // from ending the worker.
                let _ = catch_unwind(AssertUnwindSafe(|| job(&conn)));
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
