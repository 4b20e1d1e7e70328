//! The async handle (feature `tokio`): the same typed queries from async
//! code, without blocking the runtime.
//!
//! A [`Db`] keeps a few worker threads, each owning one connection (a
//! [`Persistent`](crate::Persistent) to a SQLite file, a
//! [`postgres::Persistent`](crate::postgres::Persistent), or any strategy
//! through [`Db::open`]). An operation is a closure that uses the sync API,
//! with its builders and compile-time checks unchanged; the whole closure is
//! shipped to a free worker and its result comes back to the awaiting task:
//! one hop per operation, never one per row. The runtime's threads never run
//! a statement, so other tasks go on while a long scan runs.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use doctable::{DocTable, Options, tokio::Db};
//!
//! #[derive(DocTable, Debug, Clone, PartialEq)]
//! struct Doc { #[doctable(primary_key)] id: Option<i64>, title: String, year: i64 }
//!
//! # let dir = tempfile::tempdir()?;
//! let db = Db::sqlite_with(dir.path().join("docs.db"), &Options::default(), 2).await?;
//! db.run(|c| Doc::create_table(c)).await?;
//! let doc = Doc { id: None, title: "Tables".into(), year: 2001 };
//! let id = db.run({ let doc = doc.clone(); move |c| Doc::insert(c, &doc) }).await?;
//! let hits: Vec<Doc> = db.run(|c| Doc::select().filter(Doc::year.gt(2000)).all(c)).await?;
//! assert_eq!(hits, [Doc { id: Some(id), ..doc }]);
//!
//! db.transaction(|tx| {
//!     Doc::insert(tx, &Doc { id: None, title: "Rows".into(), year: 2002 })?;
//!     Doc::update().set(Doc::year, Doc::year + 1).all_rows().run(tx)
//! })
//! .await?;
//!
//! let mut chunks = db.stream(Doc::select().order_by(Doc::id), 100);
//! let mut years = Vec::new();
//! while let Some(chunk) = chunks.next().await {
//!     years.extend(chunk?.into_iter().map(|d| d.year));
//! }
//! assert_eq!(years, [2002, 2003]);
//! # Ok(())
//! # }
//! ```
//!
//! # Cancellation
//!
//! A closure is queued for the workers when [`run`](Db::run) (or
//! [`transaction`](Db::transaction), ...) is called, not when its future is
//! first polled, so two calls made before awaiting either run at once. Once
//! a worker has started it, it runs to its end there whatever becomes of the
//! future: a transaction is committed (on `Ok`) or rolled back (on `Err` or
//! a panic) on the worker, never left open, and the worker keeps its
//! connection. Dropping the future (a `tokio::time::timeout`, a `select!`, an
//! aborted task) only discards the result. A closure whose future was
//! dropped before a worker took it up does not run at all. So after a
//! cancelled [`transaction`](Db::transaction) the database holds either all
//! of its writes or none.
//!
//! # Panics and a closed handle
//!
//! A panicking closure is [`Error::Panicked`]: the panic unwinds through the
//! crate's rollback guards on the worker, which then takes the next job with
//! the same connection. After [`Db::close`] (or when the workers are gone),
//! every call is [`Error::Closed`] at once; nothing waits forever.
//!
//! # Spinning
//!
//! A short operation (a lookup by key, a one-row insert) is a few
//! microseconds of SQLite work; putting a thread to sleep and waking it costs
//! as much again, twice per operation (caller to worker, worker to caller).
//! So both sides spin briefly instead, with bounds:
//!
//! - a worker that has just finished a job spins up to 50 µs for the next
//!   one before it sleeps on the queue's condition variable; at most one
//!   worker spins at a time, and a new job signals a sleeping worker only
//!   when no spinning (or already signalled) worker is left to take it;
//! - the future of [`run`](Db::run) (and of the transactions), when first
//!   polled, spins up to 50 µs on its result before it registers its waker
//!   and returns `Pending`, and only when a worker was idle to take the job
//!   at once (a job queued behind busy workers yields at once). A runtime
//!   thread is so held for at most 50 µs a call. After four spins in a row
//!   that ran to the bound in vain (longer operations: PostgreSQL round
//!   trips, scans), only one call in sixteen spins, until one catches its
//!   result again.
//!
//! Both spins yield the core between short runs of checks, so a thread they
//! wait for that is queued on the same core gets it. A yield that gave the
//! core away for a time slice means the machine is oversubscribed: the
//! caller counts a miss, and the workers skip their spins for the next 64
//! jobs (sleeping and being signalled, as without spinning).
//!
//! An idle handle costs nothing: the spins end at their bound and the
//! threads sleep. `DOCTABLE_TOKIO_SPIN_US=<worker>[,<caller>]` (in
//! microseconds, read when a `Db` opens; `0` turns a side's spin off) is
//! for measuring other bounds.

mod stream;
mod worker;

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use ::tokio::sync::{mpsc, oneshot};

pub use stream::{ChunkSender, ChunkStream};
use worker::{Job, Queue, Spin, Turn, guarded, spin_until};

use crate::conn::{Conn, Tx};
use crate::error::{Error, Result};
use crate::query::{Select, Selection};
use crate::record::Record;

/// An async handle on a database: a few worker threads, each owning one
/// connection of strategy `C`, serving one queue of operations.
/// `Clone + Send + Sync` (`C` needs only `Send`); the clones share the
/// workers, which stop when the last clone is dropped or [`close`](Db::close)
/// is called.
///
/// Several workers run reads at once (SQLite under WAL, each with its own
/// connection); writes queue on the engine's write lock as they do in the
/// sync API (a SQLite transaction starts with `BEGIN IMMEDIATE` and waits up
/// to the busy timeout).
pub struct Db<C> {
    shared: Arc<Shared<C>>,
}

/// A [`Db`] over SQLite: one [`Persistent`](crate::Persistent) connection
/// per worker, all to one file.
#[cfg(feature = "sqlite")]
pub type SqliteDb = Db<crate::Persistent>;

/// A [`Db`] over PostgreSQL: one
/// [`postgres::Persistent`](crate::postgres::Persistent) client per worker.
#[cfg(feature = "postgres")]
pub type PgDb = Db<crate::postgres::Persistent>;

/// What the clones of a [`Db`] share; dropping it closes the queue.
struct Shared<C> {
    queue: Arc<Queue<C>>,
    workers: usize,
}

impl<C> Drop for Shared<C> {
    fn drop(&mut self) {
        self.queue.close();
    }
}

impl<C> Clone for Db<C> {
    fn clone(&self) -> Self {
        Db {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<C> std::fmt::Debug for Db<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("workers", &self.shared.workers)
            .field("closed", &self.shared.queue.is_closed())
            .finish()
    }
}

#[cfg(feature = "sqlite")]
impl Db<crate::Persistent> {
    /// Opens `path` (created if needed) with the default
    /// [`Options`](crate::Options), one connection per worker, as many
    /// workers as the machine has cores (at least 2).
    pub async fn sqlite(path: impl AsRef<Path>) -> Result<Self> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::sqlite_with(path, &crate::Options::default(), cores.max(2)).await
    }

    /// Opens `path` with `options` on `workers` workers (at least 1), each
    /// with its own connection. An in-memory database is refused with more
    /// than one worker: each connection would see its own.
    pub async fn sqlite_with(
        path: impl AsRef<Path>,
        options: &crate::Options,
        workers: usize,
    ) -> Result<Self> {
        let path = path.as_ref().to_owned();
        if workers > 1 && crate::sqlite::options::is_memory_path(&path) {
            return Err(Error::Usage(format!(
                "Db::sqlite_with cannot share the in-memory database `{}` between {workers} \
                 workers: each connection would see its own empty database; use one worker, or \
                 a file",
                path.display()
            )));
        }
        let options = options.clone();
        Self::open(workers, move || {
            crate::Persistent::open_with(&path, &options)
        })
        .await
    }
}

#[cfg(feature = "postgres")]
impl Db<crate::postgres::Persistent> {
    /// Connects `workers` clients (at least 1) with `params`, as
    /// [`postgres::Persistent::connect`](crate::postgres::Persistent::connect)
    /// does; each reconnects by itself after the server link was lost.
    pub async fn postgres(params: &str, workers: usize) -> Result<Self> {
        let params = params.to_owned();
        Self::open(workers, move || {
            crate::postgres::Persistent::connect(&params)
        })
        .await
    }
}

impl<C: Conn + Send + 'static> Db<C> {
    /// A handle on `workers` worker threads (at least 1), each owning the
    /// connection `open` makes on it. The first connection is opened before
    /// the others (it may create the file, or set its journal mode); the
    /// first error is returned, and the workers already started stop.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> doctable::Result<()> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("words.db");
    /// // One PerQuery per worker: each operation opens the file afresh.
    /// let db = doctable::tokio::Db::open(2, move || doctable::PerQuery::open(&path)).await?;
    /// assert_eq!(db.workers(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn open(
        workers: usize,
        open: impl Fn() -> Result<C> + Send + Sync + 'static,
    ) -> Result<Self> {
        let workers = workers.max(1);
        let queue = Arc::new(Queue::new(Spin::from_env()));
        let db = Db {
            shared: Arc::new(Shared {
                queue: Arc::clone(&queue),
                workers,
            }),
        };
        let open: Arc<dyn Fn() -> Result<C> + Send + Sync> = Arc::new(open);
        let start = |index: usize| -> Result<oneshot::Receiver<Result<()>>> {
            let (opened, ready) = oneshot::channel();
            worker::spawn(index, Arc::clone(&queue), Arc::clone(&open), opened)?;
            Ok(ready)
        };
        let first = start(0)?;
        wait_opened(first).await?;
        let mut rest = Vec::with_capacity(workers - 1);
        for index in 1..workers {
            rest.push(start(index)?);
        }
        for ready in rest {
            wait_opened(ready).await?;
        }
        // On an early return above, `db` is dropped here, which closes the
        // queue: the workers already running stop.
        Ok(db)
    }

    /// How many workers (and so connections) the handle has.
    pub fn workers(&self) -> usize {
        self.shared.workers
    }

    /// Stops taking operations: every later call (on any clone) fails with
    /// [`Error::Closed`]. Operations already queued still run; then the
    /// workers end and close their connections.
    pub fn close(&self) {
        self.shared.queue.close();
    }

    /// [`close`](Db::close)s the handle and waits until its workers have
    /// run the operations queued before and closed their connections (for
    /// SQLite, the last one to close checkpoints the WAL): for a service's
    /// graceful shutdown, or a test that looks at the file afterwards.
    pub async fn shutdown(&self) {
        self.close();
        self.shared.queue.stopped().await;
    }

    /// Whether [`close`](Db::close) was called.
    pub fn is_closed(&self) -> bool {
        self.shared.queue.is_closed()
    }

    /// Runs `f` with a worker's connection and returns its result: any
    /// operation of the sync API, with the same builders.
    ///
    /// `f` is `'static`: move the values it needs into it. It is queued at
    /// once (the future need not be polled for it to start); see the
    /// [module documentation](self) for what a dropped future does.
    ///
    /// ```
    /// # use doctable::{DocTable, tokio::Db};
    /// # #[derive(DocTable)] struct Doc { #[doctable(primary_key)] id: Option<i64>, year: i64 }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> doctable::Result<()> {
    /// # let dir = tempfile::tempdir()?;
    /// let db = Db::sqlite(dir.path().join("docs.db")).await?;
    /// db.run(|c| Doc::create_table(c)).await?;
    /// let year = 2001;
    /// db.run(move |c| Doc::insert(c, &Doc { id: None, year })).await?;
    /// let n: i64 = db.run(move |c| Doc::count().filter(Doc::year.eq(year)).get(c)).await?;
    /// assert_eq!(n, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn run<R, F>(&self, f: F) -> impl Future<Output = Result<R>> + Send + 'static
    where
        F: FnOnce(&C) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        self.try_run(f)
    }

    /// [`run`](Db::run) with an error type of the caller's own: `f` returns
    /// `Result<R, E>` for any `E: From<doctable::Error>`; the handle's own
    /// errors ([`Error::Closed`], [`Error::Panicked`]) come back as `E` too.
    pub fn try_run<R, E, F>(
        &self,
        f: F,
    ) -> impl Future<Output = std::result::Result<R, E>> + Send + 'static
    where
        F: FnOnce(&C) -> std::result::Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<Error> + Send + 'static,
    {
        let (sent, mut result) = oneshot::channel();
        let job = Box::new(move |conn: &C, turn: &Turn<'_, C>| {
            if sent.is_closed() {
                // The future was dropped before a worker took this up.
                return;
            }
            let outcome = guarded(|| f(conn)).unwrap_or_else(|e| Err(E::from(e)));
            turn.answering();
            let _ = sent.send(outcome);
        }) as Job<C>;
        let queued = self.shared.queue.push(job);
        let queue = Arc::clone(&self.shared.queue);
        async move {
            // A worker was idle to take the job at once: a short operation
            // is done within the bound, and the result is taken here with no
            // waker registered, so the worker wakes nobody (see "Spinning").
            let spin = queue.spin().caller;
            if queued? && !spin.is_zero() && queue.caller_should_spin() {
                let mut ready = None;
                let kept_core = spin_until(spin, || match result.try_recv() {
                    Ok(outcome) => {
                        ready = Some(outcome);
                        true
                    }
                    Err(oneshot::error::TryRecvError::Closed) => {
                        ready = Some(Err(E::from(Error::Closed)));
                        true
                    }
                    Err(oneshot::error::TryRecvError::Empty) => false,
                });
                // A result that came only after the core went elsewhere is a
                // miss too: on an oversubscribed machine, sleep.
                queue.caller_spun(ready.is_some() && kept_core);
                if let Some(outcome) = ready {
                    return outcome;
                }
            }
            // A job dropped without running (its queue gone) drops `sent`.
            result.await.unwrap_or_else(|_| Err(E::from(Error::Closed)))
        }
    }

    /// Runs `f` inside one transaction on a worker's connection: committed
    /// when `f` returns `Ok`, rolled back when it returns `Err` or panics.
    /// Pass the [`Tx`] to table operations so they join it; `tx.transaction`
    /// nests a savepoint. A dropped future does not interrupt it (see the
    /// [module documentation](self)): the transaction ends on the worker,
    /// committed or rolled back, and the worker keeps its connection.
    ///
    /// ```
    /// # use doctable::{DocTable, tokio::Db};
    /// # #[derive(DocTable)] struct Doc { #[doctable(primary_key)] id: Option<i64>, year: i64 }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> doctable::Result<()> {
    /// # let dir = tempfile::tempdir()?;
    /// let db = Db::sqlite(dir.path().join("docs.db")).await?;
    /// db.run(|c| Doc::create_table(c)).await?;
    /// let failed: doctable::Result<()> = db
    ///     .transaction(|tx| {
    ///         Doc::insert(tx, &Doc { id: None, year: 2001 })?;
    ///         Err(doctable::Error::Usage("changed my mind".into()))
    ///     })
    ///     .await;
    /// assert!(failed.is_err());
    /// assert_eq!(db.run(|c| Doc::count().get(c)).await?, 0); // rolled back
    /// # Ok(())
    /// # }
    /// ```
    pub fn transaction<R, F>(&self, f: F) -> impl Future<Output = Result<R>> + Send + 'static
    where
        F: FnOnce(&Tx<'_, C::Backend>) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        self.try_run(move |conn: &C| conn.atomic(f))
    }

    /// [`transaction`](Db::transaction) with an error type of the caller's
    /// own (see [`Conn::try_atomic`]): `Err(e)` from `f` rolls back and is
    /// returned as it is.
    pub fn try_transaction<R, E, F>(
        &self,
        f: F,
    ) -> impl Future<Output = std::result::Result<R, E>> + Send + 'static
    where
        F: FnOnce(&Tx<'_, C::Backend>) -> std::result::Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<Error> + Send + 'static,
    {
        self.try_run(move |conn: &C| conn.try_atomic(f))
    }

    /// The rows of `select` in chunks of up to `chunk` rows (the last may be
    /// shorter), read on a worker as the stream is consumed: memory holds a
    /// few chunks, whatever the size of the result. The scan holds its worker
    /// until it ends or the stream is dropped (which stops it at the next
    /// chunk). A `chunk` of 0 is an [`Error::Usage`].
    ///
    /// ```
    /// # use doctable::{DocTable, tokio::Db};
    /// # #[derive(DocTable)] struct Doc { #[doctable(primary_key)] id: Option<i64>, year: i64 }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> doctable::Result<()> {
    /// # let dir = tempfile::tempdir()?;
    /// let db = Db::sqlite(dir.path().join("docs.db")).await?;
    /// db.run(|c| Doc::create_table(c)).await?;
    /// let docs: Vec<Doc> = (0..10).map(|i| Doc { id: None, year: 2000 + i }).collect();
    /// db.run(move |c| Doc::insert_many(c, &docs)).await?;
    /// let mut years = db.stream(Doc::select_cols(Doc::year).order_by(Doc::year), 4);
    /// let mut sizes = Vec::new();
    /// while let Some(chunk) = years.next().await {
    ///     sizes.push(chunk?.len());
    /// }
    /// assert_eq!(sizes, [4, 4, 2]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn stream<T, S>(&self, select: Select<T, S>, chunk: usize) -> ChunkStream<S::Row>
    where
        T: Record + 'static,
        S: Selection<T> + Send + 'static,
        S::Row: Send + 'static,
    {
        self.stream_with(move |conn: &C, sink: &ChunkSender<S::Row>| {
            select.chunks(conn, chunk, |rows| sink.send(rows))
        })
    }

    /// The general form of [`stream`](Db::stream), for any scan (a join, a
    /// [`select_sql`](crate::select_sql), rows built on the worker): `f`
    /// runs on a worker with its connection and hands each chunk to
    /// [`ChunkSender::send`], which waits while the reader is a chunk behind
    /// and fails once the stream is dropped (pass that error on with `?` to
    /// stop the scan). An error `f` returns is the stream's last item.
    ///
    /// ```
    /// # use doctable::{DocTable, tokio::Db};
    /// # #[derive(DocTable)] struct Doc { #[doctable(primary_key)] id: Option<i64>, year: i64 }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> doctable::Result<()> {
    /// # let dir = tempfile::tempdir()?;
    /// # let db = Db::sqlite(dir.path().join("docs.db")).await?;
    /// # db.run(|c| Doc::create_table(c)).await?;
    /// # db.run(|c| Doc::insert_many(c, &[Doc { id: None, year: 2001 }, Doc { id: None, year: 2002 }])).await?;
    /// let mut pairs = db.stream_with(|c, sink| {
    ///     Doc::select().order_by(Doc::id).chunks(c, 100, |docs| {
    ///         sink.send(docs.into_iter().map(|d| (d.id, d.year * 10)).collect())
    ///     })
    /// });
    /// let first = pairs.next().await.transpose()?;
    /// assert_eq!(first, Some(vec![(Some(1), 20010), (Some(2), 20020)]));
    /// # Ok(())
    /// # }
    /// ```
    pub fn stream_with<R, F>(&self, f: F) -> ChunkStream<R>
    where
        F: FnOnce(&C, &ChunkSender<R>) -> Result<()> + Send + 'static,
        R: Send + 'static,
    {
        let (sender, rows) = mpsc::channel(stream::CHUNKS_IN_FLIGHT);
        let job = Box::new(move |conn: &C, _: &Turn<'_, C>| {
            if sender.is_closed() {
                // The stream was dropped before a worker took this up.
                return;
            }
            let sink = ChunkSender::new(sender);
            match guarded(|| f(conn, &sink)) {
                Ok(Ok(())) => {}
                Ok(Err(e)) | Err(e) => sink.fail(e),
            }
        }) as Job<C>;
        match self.shared.queue.push(job) {
            Ok(_) => ChunkStream::new(rows),
            Err(e) => ChunkStream::failed(e),
        }
    }
}

/// Waits for a worker to say whether it opened its connection.
async fn wait_opened(ready: oneshot::Receiver<Result<()>>) -> Result<()> {
    ready.await.unwrap_or(Err(Error::Closed))
}
