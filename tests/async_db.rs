//! The async handle (`doctable::tokio::Db`, feature `tokio`) on a
//! multi-threaded tokio runtime, each body run on SQLite (a file in a
//! temporary directory, one `Persistent` per worker) and on PostgreSQL (a
//! schema of its own, one client per worker): many concurrent tasks, the
//! runtime never blocked by a scan, cancelled transactions, panics, a closed
//! handle, streams with flat memory.

#[allow(unused_macros)]
#[macro_use]
#[path = "support/backends.rs"]
mod backends;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use backends::{Engine, Kind, TestResult};
use doctable::tokio::Db;
use doctable::{Conn, DocTable, Error, Options};

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "notes")]
struct Note {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(index)]
    task: i64,
    seq: i64,
    body: String,
}

fn note(task: i64, seq: i64) -> Note {
    Note {
        id: None,
        task,
        seq,
        body: format!("note {seq} of task {task}, with some text to read back"),
    }
}

/// Workers (connections) per handle.
const WORKERS: usize = 2;
/// How long a test waits for anything before it calls it a hang.
const WAIT: Duration = Duration::from_secs(20);

/// Where a test's database is, and how to look at it from outside the handle.
enum Site {
    Sqlite(tempfile::TempDir),
    #[cfg(feature = "postgres")]
    Postgres {
        schema: backends::PgSchema,
        /// Every session of the handle carries this `application_name`.
        app: String,
    },
}

impl Site {
    fn sqlite_path(dir: &tempfile::TempDir) -> std::path::PathBuf {
        dir.path().join("async.db")
    }

    /// The engine's connection parameters for the handle (PostgreSQL).
    #[cfg(feature = "postgres")]
    fn pg_params(schema: &backends::PgSchema, app: &str) -> String {
        format!("{} application_name={app}", schema.params)
    }

    /// Whether a transaction is still open on the database: SQLite, a
    /// `BEGIN IMMEDIATE` from another connection fails at once; PostgreSQL,
    /// a session of the handle is `idle in transaction` (or active).
    fn transaction_open(&self) -> Result<bool, String> {
        off_runtime(|| self.transaction_open_here())
    }

    fn transaction_open_here(&self) -> Result<bool, backends::BoxError> {
        match self {
            Site::Sqlite(dir) => {
                let conn = doctable::rusqlite::Connection::open(Site::sqlite_path(dir))?;
                conn.busy_timeout(Duration::ZERO)?;
                match conn.execute_batch("BEGIN IMMEDIATE") {
                    Ok(()) => {
                        conn.execute_batch("ROLLBACK")?;
                        Ok(false)
                    }
                    Err(_) => Ok(true),
                }
            }
            #[cfg(feature = "postgres")]
            Site::Postgres { schema, app } => {
                let mut client = backends::pg_client(&schema.params)?;
                let row = client.query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 \
                     AND state <> 'idle'",
                    &[app],
                )?;
                Ok(row.try_get::<_, i64>(0)? != 0)
            }
        }
    }

    /// How many server sessions the handle has open (PostgreSQL), or `None`.
    fn sessions(&self) -> Result<Option<i64>, String> {
        off_runtime(|| self.sessions_here())
    }

    fn sessions_here(&self) -> Result<Option<i64>, backends::BoxError> {
        match self {
            Site::Sqlite(_) => Ok(None),
            #[cfg(feature = "postgres")]
            Site::Postgres { schema, app } => {
                let mut client = backends::pg_client(&schema.params)?;
                let row = client.query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                    &[app],
                )?;
                Ok(Some(row.try_get(0)?))
            }
        }
    }
}

/// Runs `f` on a thread of its own: the sync `postgres` client cannot be
/// used on a runtime thread (it runs a runtime of its own).
fn off_runtime<R: Send>(
    f: impl FnOnce() -> Result<R, backends::BoxError> + Send,
) -> Result<R, String> {
    std::thread::scope(|s| {
        s.spawn(|| f().map_err(|e| e.to_string()))
            .join()
            .unwrap_or_else(|_| Err("the probe panicked".to_owned()))
    })
}

/// The heartbeat test takes this for writing, every other test for reading:
/// it measures the runtime's latency with no other test of this file loading
/// the two cores at the same time.
static ALONE: std::sync::RwLock<()> = std::sync::RwLock::new(());

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// The test's turn: alone for the heartbeat, else beside the others.
fn turn(body: &str) -> Box<dyn std::any::Any> {
    if body.contains("heartbeat") {
        Box::new(alone())
    } else {
        Box::new(ALONE.read().unwrap_or_else(|p| p.into_inner()))
    }
}

/// No other test of this file runs until the guard is dropped.
fn alone() -> std::sync::RwLockWriteGuard<'static, ()> {
    ALONE.write().unwrap_or_else(|p| p.into_inner())
}

/// One `#[test]` per engine for each body `async fn <body><C>(db: Db<C>,
/// site: &Site) -> TestResult`: `<body>::sqlite`, and `<body>::postgres`
/// with the `postgres` feature.
macro_rules! on_both_engines {
    ($($body:ident),* $(,)?) => {$(
        mod $body {
            use super::*;

            #[test]
            fn sqlite() -> TestResult {
                let _turn = turn(stringify!($body));
                let dir = tempfile::tempdir()?;
                let path = Site::sqlite_path(&dir);
                let site = Site::Sqlite(dir);
                runtime().block_on(async {
                    let db = Db::sqlite_with(path, &Options::default(), WORKERS).await?;
                    super::$body(db, &site).await
                })
            }

            #[cfg(feature = "postgres")]
            #[test]
            fn postgres() -> TestResult {
                let _turn = turn(stringify!($body));
                let Some(schema) = backends::PgSchema::new() else {
                    return Ok(());
                };
                let app = format!("dt_async_{}", schema.name);
                let params = Site::pg_params(&schema, &app);
                let site = Site::Postgres { schema, app };
                runtime().block_on(async {
                    let db = Db::postgres(&params, WORKERS).await?;
                    super::$body(db, &site).await
                })
            }
        }
    )*};
}

on_both_engines!(
    two_hundred_tasks_insert_and_read_exact_counts,
    a_heartbeat_keeps_ticking_during_fifty_full_scans,
    a_thousand_cancelled_transactions_leave_only_committed_rows,
    a_panicking_closure_is_an_error_and_the_handle_goes_on,
    a_closed_handle_is_an_error_never_a_hang,
    a_stream_reads_in_chunks_with_flat_memory_and_stops_when_dropped,
    errors_are_the_crates_own,
    a_read_runs_on_another_worker_while_a_transaction_writes,
    jobs_that_meet_each_get_a_worker_whether_it_spins_or_sleeps,
);

/// Rounds of one job per worker that meet at a barrier, pushed back to back:
/// each needs a worker of its own, so a job left queued behind a spinning
/// worker (a signal the queue failed to send) is a hang. Between rounds the
/// caller goes on at once (a worker is still spinning), after a few tens of
/// microseconds (its spin may be ending) or after a millisecond (every worker
/// asleep).
async fn jobs_that_meet_each_get_a_worker_whether_it_spins_or_sleeps<C>(
    db: Db<C>,
    _site: &Site,
) -> TestResult
where
    C: Conn + Send + 'static,
{
    const ROUNDS: usize = 300;
    for round in 0..ROUNDS {
        let barrier = Arc::new(Barrier::new(db.workers()));
        let meets: Vec<_> = (0..db.workers())
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                db.run(move |_| {
                    barrier.wait();
                    Ok(())
                })
            })
            .collect();
        for meet in meets {
            tokio::time::timeout(WAIT, meet)
                .await
                .map_err(|_| format!("round {round}: a job waited behind a busy worker"))??;
        }
        match round % 3 {
            0 => {}
            1 => {
                let until = Instant::now() + Duration::from_micros(40);
                while Instant::now() < until {
                    std::hint::spin_loop();
                }
            }
            _ => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
    Ok(())
}

async fn a_read_runs_on_another_worker_while_a_transaction_writes<C>(
    db: Db<C>,
    _site: &Site,
) -> TestResult
where
    C: Conn + Send + 'static,
    C::Backend: Engine,
{
    db.run(|c| Note::create_table(c)).await?;
    // Both closures meet twice, each on its own worker: the read runs while
    // the transaction is open, and sees the database without its write.
    let (written, read) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    let writer = db.transaction({
        let (written, read) = (Arc::clone(&written), Arc::clone(&read));
        move |tx| {
            Note::insert(tx, &note(1, 1))?;
            written.wait();
            read.wait();
            Ok(())
        }
    });
    let reader = db.run(move |c| {
        written.wait();
        let n = Note::count().get(c)?;
        read.wait();
        Ok(n)
    });
    let (w, r) = tokio::time::timeout(WAIT, async { (writer.await, reader.await) }).await?;
    w?;
    assert_eq!(r?, 0);
    assert_eq!(db.run(|c| Note::count().get(c)).await?, 1);
    Ok(())
}

/// Every worker runs one job at the same moment (a barrier of `WORKERS`),
/// each reading through its connection: all of them are alive, none is
/// stuck in a job queued before, and every connection still works.
async fn all_workers_answer<C>(db: &Db<C>) -> TestResult
where
    C: Conn + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(db.workers()));
    let mut waits = Vec::new();
    for _ in 0..db.workers() {
        let barrier = Arc::clone(&barrier);
        waits.push(db.run(move |c| {
            barrier.wait();
            Note::count().get(c)
        }));
    }
    for wait in waits {
        tokio::time::timeout(WAIT, wait)
            .await
            .map_err(|_| "a worker did not answer: one is lost or stuck")??;
    }
    Ok(())
}

/// Rows per task, from the database.
async fn rows_per_task<C>(db: &Db<C>) -> Result<HashMap<i64, i64>, Error>
where
    C: Conn + Send + 'static,
{
    let counts = db
        .run(|c| {
            Note::select_cols((Note::task, Note::id.count()))
                .group_by(Note::task)
                .all(c)
        })
        .await?;
    Ok(counts.into_iter().collect())
}

async fn two_hundred_tasks_insert_and_read_exact_counts<C>(db: Db<C>, _site: &Site) -> TestResult
where
    C: Conn + Send + 'static,
    C::Backend: Engine,
{
    db.run(|c| Note::create_table(c)).await?;
    const TASKS: i64 = 200;
    const PER_TASK: i64 = 5;
    let mut handles = Vec::new();
    for task in 0..TASKS {
        let db = db.clone();
        handles.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for seq in 0..PER_TASK {
                let row = note(task, seq);
                ids.push(db.run(move |c| Note::insert(c, &row)).await?);
            }
            let mine = db
                .run(move |c| {
                    Note::select()
                        .filter(Note::task.eq(task))
                        .order_by(Note::seq)
                        .all(c)
                })
                .await?;
            let total = db.run(|c| Note::count().get(c)).await?;
            Ok::<_, Error>((ids, mine, total))
        }));
    }
    let mut all_ids = Vec::new();
    for (task, handle) in (0..TASKS).zip(handles) {
        let (ids, mine, total) = handle.await??;
        assert_eq!(
            mine,
            (0..PER_TASK)
                .map(|seq| Note {
                    id: Some(ids[seq as usize]),
                    ..note(task, seq)
                })
                .collect::<Vec<_>>()
        );
        assert!((PER_TASK..=TASKS * PER_TASK).contains(&total));
        all_ids.extend(ids);
    }
    all_ids.sort_unstable();
    all_ids.dedup();
    assert_eq!(all_ids.len() as i64, TASKS * PER_TASK);
    assert_eq!(db.run(|c| Note::count().get(c)).await?, TASKS * PER_TASK);
    let per_task = rows_per_task(&db).await?;
    assert_eq!(per_task.len() as i64, TASKS);
    assert!(per_task.values().all(|&n| n == PER_TASK));
    Ok(())
}

async fn a_heartbeat_keeps_ticking_during_fifty_full_scans<C>(db: Db<C>, _site: &Site) -> TestResult
where
    C: Conn + Send + 'static,
    C::Backend: Engine,
{
    // Each scan takes some milliseconds on its worker (a debug build; the
    // PostgreSQL server shares the machine's two cores).
    let rows_in_table: i64 = match <C::Backend as Engine>::KIND {
        Kind::Sqlite => 10_000,
        Kind::Postgres => 2_000,
    };
    const SCANS: usize = 50;
    db.run(|c| Note::create_table(c)).await?;
    let rows: Vec<Note> = (0..rows_in_table).map(|i| note(i % 100, i)).collect();
    db.run(move |c| Note::insert_many(c, &rows)).await?;

    let stop = Arc::new(AtomicBool::new(false));
    let beating = heartbeat(Arc::clone(&stop), None);
    let started = Instant::now();
    let mut scans = Vec::new();
    for _ in 0..SCANS {
        let db = db.clone();
        scans.push(tokio::spawn(async move {
            db.run(|c| {
                let t = Instant::now();
                let rows = Note::select().all(c)?;
                let worker = std::thread::current().name().map(str::to_owned);
                Ok((rows.len() as i64, t.elapsed(), worker))
            })
            .await
        }));
    }
    let mut lengths = Vec::new();
    for scan in scans {
        let (n, took, worker) = scan.await??;
        assert_eq!(n, rows_in_table);
        // The statement ran on one of the handle's threads, not the runtime's.
        assert!(worker.is_some_and(|w| w.starts_with("doctable-worker-")));
        lengths.push(took);
    }
    let scanning = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let (worst, ticks) = beating.await?;
    lengths.sort_unstable();
    let median = lengths[lengths.len() / 2];

    // What the machine itself allows: the same heartbeat beside as many
    // threads spinning on the CPU as there are workers, none of them
    // touching the runtime (a shared 2-core machine delays a waking thread
    // by itself).
    let spin = Arc::new(AtomicBool::new(false));
    let spinners: Vec<_> = (0..db.workers())
        .map(|_| {
            let spin = Arc::clone(&spin);
            std::thread::spawn(move || {
                while !spin.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            })
        })
        .collect();
    let (baseline, _) = heartbeat(Arc::new(AtomicBool::new(false)), Some(ticks.max(100))).await?;
    spin.store(true, Ordering::Relaxed);
    for s in spinners {
        s.join().map_err(|_| "a spinning thread panicked")?;
    }
    eprintln!(
        "{SCANS} scans of {rows_in_table} rows on {} workers: {scanning:?} in all, {median:?} \
         each on its worker (median); heartbeat: {ticks} ticks, largest delay {worst:?}; beside \
         {} spinning threads instead: largest delay {baseline:?}",
        db.workers(),
        db.workers()
    );
    // The scans took long enough for a blocked runtime to show.
    assert!(scanning > Duration::from_millis(100), "{scanning:?}");
    // The bar, as it is: the test runs alone in this binary (`ALONE`),
    // and the baseline is in the message only, to tell a loaded machine from
    // a blocked runtime.
    assert!(
        worst < Duration::from_millis(20),
        "largest delay {worst:?}, bar 20 ms (beside spinning threads: {baseline:?})"
    );
    Ok(())
}

/// Ticks every millisecond until `stop` (or `ticks` ticks), and returns the largest delay past 1 ms.
fn heartbeat(
    stop: Arc<AtomicBool>,
    ticks: Option<u32>,
) -> tokio::task::JoinHandle<(Duration, u32)> {
    tokio::spawn(async move {
        let mut worst = Duration::ZERO;
        let mut n = 0u32;
        while !stop.load(Ordering::Relaxed) && ticks.is_none_or(|t| n < t) {
            let before = Instant::now();
            tokio::time::sleep(Duration::from_millis(1)).await;
            worst = worst.max(before.elapsed().saturating_sub(Duration::from_millis(1)));
            n += 1;
        }
        (worst, n)
    })
}

/// A small deterministic random number generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// How a transaction of the cancellation test ends (when it runs at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Commit,
    Fail,
    Panic,
}

async fn a_thousand_cancelled_transactions_leave_only_committed_rows<C>(
    db: Db<C>,
    site: &Site,
) -> TestResult
where
    C: Conn + Send + 'static,
    C::Backend: Engine,
{
    const TRANSACTIONS: i64 = 1_000;
    const ROWS_EACH: i64 = 3;
    db.run(|c| Note::create_table(c)).await?;
    let seed = 0x5eed_0015_u64;
    let mut rng = Rng(seed);
    let mut tasks = Vec::new();
    for task in 0..TRANSACTIONS {
        let ending = match rng.below(10) {
            0 => Ending::Fail,
            1 => Ending::Panic,
            _ => Ending::Commit,
        };
        // Microseconds the closure pauses between its inserts, and after
        // which the future is dropped (some never are).
        let pause = Duration::from_micros(rng.below(400));
        let deadline = match rng.below(4) {
            0 => None,
            _ => Some(Duration::from_micros(rng.below(3_000))),
        };
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let work = db.transaction(move |tx| {
                for seq in 0..ROWS_EACH {
                    Note::insert(tx, &note(task, seq))?;
                    std::thread::sleep(pause);
                }
                match ending {
                    Ending::Commit => Ok(()),
                    Ending::Fail => Err(Error::Usage("this one rolls back".into())),
                    Ending::Panic => panic!("a closure that panics halfway"),
                }
            });
            let outcome = match deadline {
                None => Some(work.await),
                Some(limit) => tokio::time::timeout(limit, work).await.ok(),
            };
            (task, ending, outcome)
        }));
    }
    let mut finished = HashMap::new();
    for t in tasks {
        let (task, ending, outcome) = t.await?;
        finished.insert(task, (ending, outcome));
    }
    // Every job queued before this has ended: all workers are free, alive
    // and their connections in working order.
    all_workers_answer(&db).await?;

    let per_task = rows_per_task(&db).await?;
    let (mut committed, mut dropped) = (0, 0);
    for (task, (ending, outcome)) in &finished {
        let rows = per_task.get(task).copied().unwrap_or(0);
        match (ending, outcome) {
            (Ending::Commit, Some(Ok(()))) => {
                committed += 1;
                assert_eq!(rows, ROWS_EACH, "task {task} committed (seed {seed:#x})");
            }
            (Ending::Commit, None) => {
                dropped += 1;
                assert!(
                    rows == 0 || rows == ROWS_EACH,
                    "task {task}: {rows} rows, half a transaction (seed {seed:#x})"
                );
            }
            (Ending::Fail, Some(Err(Error::Usage(_))))
            | (Ending::Panic, Some(Err(Error::Panicked { .. })))
            | (Ending::Fail | Ending::Panic, None) => {
                assert_eq!(rows, 0, "task {task} rolled back (seed {seed:#x})");
            }
            other => panic!("task {task}: unexpected outcome {other:?}"),
        }
    }
    assert!(per_task.keys().all(|task| finished.contains_key(task)));
    eprintln!("{committed} committed and seen, {dropped} commits dropped halfway");
    assert!(
        committed > 0 && dropped > 0,
        "the deadlines cut nothing, or everything"
    );
    assert!(!site.transaction_open()?, "a transaction was left open");
    if let Some(sessions) = site.sessions()? {
        assert_eq!(sessions, db.workers() as i64);
    }
    Ok(())
}

async fn a_panicking_closure_is_an_error_and_the_handle_goes_on<C>(
    db: Db<C>,
    site: &Site,
) -> TestResult
where
    C: Conn + Send + 'static,
    C::Backend: Engine,
{
    db.run(|c| Note::create_table(c)).await?;
    let plain = db
        .run(|_c| -> doctable::Result<()> { panic!("plain panic") })
        .await;
    match plain {
        Err(Error::Panicked { message }) => assert_eq!(message, "plain panic"),
        other => panic!("expected Error::Panicked, got {other:?}"),
    }
    // Twice as many panicking transactions as workers: each worker meets one
    // (or more), and rolls it back.
    for i in 0..(2 * WORKERS as i64) {
        let failed = db
            .transaction(move |tx| -> doctable::Result<()> {
                Note::insert(tx, &note(i, 0))?;
                let _ = Note::count().get(tx)?;
                panic!("panic {i} inside a transaction");
            })
            .await;
        assert!(
            matches!(&failed, Err(Error::Panicked { message }) if *message == format!("panic {i} inside a transaction")),
            "{failed:?}"
        );
    }
    assert_eq!(db.run(|c| Note::count().get(c)).await?, 0);
    assert!(!site.transaction_open()?);
    all_workers_answer(&db).await?;
    db.transaction(|tx| Note::insert(tx, &note(1, 1))).await?;
    assert_eq!(db.run(|c| Note::count().get(c)).await?, 1);
    let mut stream = db
        .stream_with(|_c, _sink: &doctable::tokio::ChunkSender<Note>| panic!("a scan that panics"));
    assert!(matches!(
        stream.next().await,
        Some(Err(Error::Panicked { .. }))
    ));
    assert!(stream.next().await.is_none());
    all_workers_answer(&db).await?;
    Ok(())
}

async fn a_closed_handle_is_an_error_never_a_hang<C>(db: Db<C>, site: &Site) -> TestResult
where
    C: Conn + Send + 'static,
    C::Backend: Engine,
{
    db.run(|c| Note::create_table(c)).await?;
    let other = db.clone();
    // Work queued before the close still runs.
    let queued: Vec<_> = (0..20)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                db.run(move |c| {
                    std::thread::sleep(Duration::from_millis(2));
                    Note::insert(c, &note(i, 0))
                })
                .await
            })
        })
        .collect();
    tokio::task::yield_now().await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    db.close();
    assert!(db.is_closed() && other.is_closed());
    let mut ran = 0;
    for q in queued {
        match tokio::time::timeout(WAIT, q).await?? {
            Ok(_) => ran += 1,
            Err(Error::Closed) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let started = Instant::now();
    let after = tokio::time::timeout(WAIT, other.run(|c| Note::count().get(c))).await?;
    assert!(matches!(after, Err(Error::Closed)), "{after:?}");
    let tx = tokio::time::timeout(WAIT, db.transaction(|tx| Note::count().get(tx))).await?;
    assert!(matches!(tx, Err(Error::Closed)), "{tx:?}");
    let mut stream = db.stream(Note::select(), 10);
    assert!(matches!(stream.next().await, Some(Err(Error::Closed))));
    assert!(stream.next().await.is_none());
    assert!(started.elapsed() < Duration::from_secs(1));
    eprintln!("{ran} of 20 operations queued before the close ran");
    assert!(ran > 0);
    // The workers end once the queue is empty and close their connections.
    tokio::time::timeout(WAIT, other.shutdown()).await?;
    if let Some(sessions) = site.sessions()? {
        // The server may take a moment to see a closed socket.
        let until = Instant::now() + WAIT;
        let mut sessions = sessions;
        while sessions != 0 {
            assert!(Instant::now() < until, "{sessions} sessions stayed open");
            tokio::time::sleep(Duration::from_millis(20)).await;
            sessions = site.sessions()?.unwrap_or(0);
        }
    }
    assert!(!site.transaction_open()?);
    drop((db, other));
    Ok(())
}

async fn a_stream_reads_in_chunks_with_flat_memory_and_stops_when_dropped<C>(
    db: Db<C>,
    _site: &Site,
) -> TestResult
where
    C: Conn + Send + 'static,
    C::Backend: Engine,
{
    const ROWS: i64 = 10_000;
    const CHUNK: usize = 100;
    db.run(|c| Note::create_table(c)).await?;
    let rows: Vec<Note> = (0..ROWS).map(|i| note(i % 7, i)).collect();
    db.run(move |c| Note::insert_many(c, &rows)).await?;

    // Every row, in order, in chunks of CHUNK.
    let mut stream = db.stream(Note::select().order_by(Note::seq), CHUNK);
    let mut seen = 0i64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        assert_eq!(chunk.len(), CHUNK);
        for row in chunk {
            assert_eq!(row.seq, seen);
            seen += 1;
        }
    }
    assert_eq!(seen, ROWS);

    // The worker stays at most a chunk or two ahead of a slow reader.
    let read = Arc::new(AtomicUsize::new(0));
    let mut slow = db.stream_with({
        let read = Arc::clone(&read);
        move |c, sink| {
            Note::select().order_by(Note::seq).chunks(c, CHUNK, |rows| {
                read.fetch_add(1, Ordering::SeqCst);
                sink.send(rows)
            })
        }
    });
    let first = slow.next().await.transpose()?.map(|c| c.len());
    assert_eq!(first, Some(CHUNK));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let ahead = read.load(Ordering::SeqCst);
    assert!(
        ahead <= 3,
        "the scan read {ahead} chunks while one was taken"
    );
    // Dropping the stream stops the scan and frees the worker.
    drop(slow);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(read.load(Ordering::SeqCst) <= 4);

    // One stream per worker, each dropped after its first chunk: every
    // worker is free again.
    for _ in 0..db.workers() {
        let mut s = db.stream(Note::select(), CHUNK);
        assert!(s.next().await.is_some());
    }
    all_workers_answer(&db).await?;

    // The `Stream` trait, polled by hand (no combinator crate needed).
    let mut s = Box::pin(db.stream(Note::select_cols(Note::seq).filter(Note::task.eq(3)), 1000));
    let mut n = 0;
    while let Some(chunk) =
        std::future::poll_fn(|cx| futures_core::Stream::poll_next(s.as_mut(), cx)).await
    {
        n += chunk?.len();
    }
    assert_eq!(n as i64, (0..ROWS).filter(|i| i % 7 == 3).count() as i64);

    // A chunk size of 0 is the stream's one item, an error.
    let mut zero = db.stream(Note::select(), 0);
    assert!(matches!(zero.next().await, Some(Err(Error::Usage(_)))));
    assert!(zero.next().await.is_none());
    Ok(())
}

async fn errors_are_the_crates_own<C>(db: Db<C>, _site: &Site) -> TestResult
where
    C: Conn + Send + 'static,
    C::Backend: Engine,
{
    db.run(|c| Note::create_table(c)).await?;
    let id = db.run(|c| Note::insert(c, &note(1, 1))).await?;
    let again = db
        .run(move |c| {
            Note::insert(
                c,
                &Note {
                    id: Some(id),
                    ..note(2, 2)
                },
            )
        })
        .await;
    assert!(matches!(again, Err(Error::Constraint { .. })), "{again:?}");
    let missing = db
        .run(move |c| {
            Note::update_row(
                c,
                &Note {
                    id: Some(id + 1000),
                    ..note(3, 3)
                },
            )
        })
        .await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );

    // The caller's own error type through try_transaction.
    #[derive(Debug)]
    enum AppError {
        Db(Error),
        Parse(std::num::ParseIntError),
    }
    impl From<Error> for AppError {
        fn from(e: Error) -> Self {
            AppError::Db(e)
        }
    }
    let parsed = db
        .try_transaction(|tx| -> Result<(), AppError> {
            Note::insert(tx, &note(9, 9))?;
            let n: i64 = "nine".parse().map_err(AppError::Parse)?;
            Note::insert(tx, &note(9, n))?;
            Ok(())
        })
        .await;
    assert!(
        matches!(&parsed, Err(AppError::Parse(e)) if e.to_string().contains("invalid digit")),
        "{parsed:?}"
    );
    let dup = db
        .try_run(move |c| -> Result<i64, AppError> {
            Ok(Note::insert(
                c,
                &Note {
                    id: Some(id),
                    ..note(4, 4)
                },
            )?)
        })
        .await;
    assert!(
        matches!(dup, Err(AppError::Db(Error::Constraint { .. }))),
        "{dup:?}"
    );
    assert_eq!(db.run(|c| Note::count().get(c)).await?, 1);
    Ok(())
}

/// A thread's name and CPU time (user + system, in clock ticks) from its
/// `/proc/.../stat` line.
#[cfg(target_os = "linux")]
fn name_and_ticks(stat: &str) -> Result<(&str, u64), backends::BoxError> {
    let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
        return Err(format!("unreadable stat: {stat}").into());
    };
    // After the name: state, then 10 fields, then utime and stime.
    let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    let field = |i: usize| -> Result<u64, backends::BoxError> {
        Ok(fields.get(i).ok_or("a short stat line")?.parse()?)
    };
    Ok((&stat[open + 1..close], field(11)? + field(12)?))
}

/// How many of this process's threads are named like the handle's workers,
/// and their CPU time in clock ticks.
#[cfg(target_os = "linux")]
fn worker_ticks() -> Result<(usize, u64), backends::BoxError> {
    let (mut threads, mut ticks) = (0, 0);
    for task in std::fs::read_dir("/proc/self/task")? {
        let Ok(stat) = std::fs::read_to_string(task?.path().join("stat")) else {
            continue; // a thread that ended meanwhile
        };
        let (name, used) = name_and_ticks(&stat)?;
        // The kernel keeps 15 bytes of a name: `doctable-worker`.
        if name.starts_with("doctable-worker") {
            threads += 1;
            ticks += used;
        }
    }
    Ok((threads, ticks))
}

/// The spins are bounded: right after a burst of short operations (each
/// leaves a worker spinning), an idle handle's workers sleep and use no CPU.
#[cfg(target_os = "linux")]
#[test]
fn an_idle_handle_does_not_spin() -> TestResult {
    // Alone: other tests' workers carry the same thread names.
    let _alone = alone();
    let dir = tempfile::tempdir()?;
    runtime().block_on(async {
        let db = Db::sqlite_with(dir.path().join("idle.db"), &Options::default(), WORKERS).await?;
        db.run(Note::create_table).await?;
        // The measure sees the workers' CPU: a job that works until its
        // thread has used 10 ticks (100 ms of CPU, however busy the machine)
        // is counted.
        let (threads, before) = worker_ticks()?;
        assert!(threads >= WORKERS, "{threads} worker threads found");
        db.run(|_| {
            let own = || {
                let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
                name_and_ticks(&stat).ok().map(|(_, ticks)| ticks)
            };
            let (start, until) = (own().unwrap_or(0), Instant::now() + WAIT);
            while own().is_some_and(|t| t < start + 10) && Instant::now() < until {
                std::hint::spin_loop();
            }
            Ok(())
        })
        .await?;
        let busy = worker_ticks()?.1 - before;
        assert!(busy >= 10, "100 ms of CPU counted as {busy} ticks");
        for i in 0..200 {
            db.run(move |c| Note::insert(c, &note(i, 0))).await?;
        }
        let before = worker_ticks()?.1;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let idle = worker_ticks()?.1 - before;
        // A worker spinning all along would use about 50 ticks (100 a second).
        eprintln!(
            "an idle handle's workers used {idle} clock ticks in 500 ms ({busy} for 100 ms of CPU)"
        );
        assert!(idle <= 3, "{idle} ticks of CPU in 500 ms of idleness");
        assert_eq!(db.run(|c| Note::count().get(c)).await?, 200);
        Ok(())
    })
}

#[test]
fn the_handle_is_clone_send_sync_and_its_futures_send() {
    fn check<T: Clone + Send + Sync + 'static>(_: &T) {}
    fn send<T: Send + 'static>(_: &T) {}
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    rt.block_on(async {
        let db = Db::sqlite_with(dir.path().join("a.db"), &Options::default(), 1)
            .await
            .expect("open");
        check(&db);
        let fut = db.run(Note::create_table);
        send(&fut);
        fut.await.expect("create");
        send(&db.stream(Note::select(), 10));
    });
}

#[test]
fn in_memory_sqlite_is_refused_with_several_workers() -> TestResult {
    runtime().block_on(async {
        let refused = Db::sqlite_with(":memory:", &Options::default(), 2).await;
        assert!(matches!(refused, Err(Error::Usage(ref m)) if m.contains("in-memory")));
        let one = Db::sqlite_with(":memory:", &Options::default(), 1).await?;
        one.run(Note::create_table).await?;
        one.run(|c| Note::insert(c, &note(1, 1))).await?;
        assert_eq!(one.run(|c| Note::count().get(c)).await?, 1);
        Ok(())
    })
}

#[test]
fn a_connection_that_cannot_open_fails_the_open_and_stops_the_workers() -> TestResult {
    runtime().block_on(async {
        let dir = tempfile::tempdir()?;
        let missing = dir.path().join("no such folder").join("x.db");
        let failed =
            tokio::time::timeout(WAIT, Db::sqlite_with(&missing, &Options::default(), 3)).await?;
        assert!(failed.is_err(), "{failed:?}");
        // The second connection fails after the first opened: the first stops.
        let opened = Arc::new(AtomicUsize::new(0));
        let path = dir.path().join("half.db");
        let failed = Db::open(3, {
            let opened = Arc::clone(&opened);
            move || {
                if opened.fetch_add(1, Ordering::SeqCst) == 1 {
                    return Err(Error::Usage("the second connection cannot open".into()));
                }
                doctable::Persistent::open(&path)
            }
        })
        .await;
        assert!(matches!(failed, Err(Error::Usage(ref m)) if m.contains("second")));
        Ok(())
    })
}

#[cfg(feature = "postgres")]
#[test]
fn bad_postgres_parameters_fail_the_open_without_a_password() -> TestResult {
    runtime().block_on(async {
        let failed = tokio::time::timeout(
            WAIT,
            Db::postgres(
                "host=127.0.0.1 port=1 user=nobody password=sekrit connect_timeout=2",
                2,
            ),
        )
        .await?;
        let e = failed.expect_err("nothing listens on port 1");
        assert!(!e.to_string().contains("sekrit"), "{e}");
        assert!(!format!("{e:?}").contains("sekrit"));
        Ok(())
    })
}
