//! Concurrent writers: separate processes, threads sharing one connection,
//! threads each with a `PerQuery`, and a writer that waits past its busy timeout.
//!
//! The first three run on both engines from one source (`on_shared!`,
//! tests/support/shared.rs): SQLite on one file, PostgreSQL in one schema of
//! its own per test, with the `Persistent` and the `Pool` (and `PerQuery`).
//! The busy timeout and the first open of a new file are SQLite's own.
//!
//! The two-process test re-executes this test binary as its own child (the
//! same test, with the database and `<first-id>:<count>` in the environment).

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use doctable::{Conn, DocTable, Error, Options, PerQuery, Persistent};

mod reliability_support;
use reliability_support::wait_all;

#[allow(unused_macros)]
#[macro_use]
#[path = "support/backends.rs"]
mod backends;
#[macro_use]
#[path = "support/shared.rs"]
mod shared;
use backends::TestResult;
use shared::{Opener, Shared};

/// One row per writer call. `seq` is assigned by the engine; `id` is chosen by the
/// writer and unique, so a row written twice would be a constraint error.
#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "numbers")]
struct Number {
    #[doctable(primary_key)]
    seq: Option<i64>,
    #[doctable(unique)]
    id: i64,
    value: f64,
    writer: i64,
}

fn number(id: i64, writer: i64) -> Number {
    Number {
        seq: None,
        id,
        value: id as f64 / 2.0,
        writer,
    }
}

/// Fails unless the table holds exactly the ids `expected`, each once, with its value.
fn assert_exactly(db: &impl Conn, expected: impl IntoIterator<Item = i64>) -> TestResult {
    let mut expected: Vec<i64> = expected.into_iter().collect();
    expected.sort_unstable();
    let count = Number::count().get(db)?;
    assert_eq!(count, expected.len() as i64, "row count");
    let rows: Vec<(i64, f64)> = Number::select_cols((Number::id, Number::value))
        .order_by(Number::id.asc())
        .all(db)?;
    let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
    let missing: Vec<i64> = expected
        .iter()
        .copied()
        .filter(|id| ids.binary_search(id).is_err())
        .take(10)
        .collect();
    assert!(missing.is_empty(), "missing ids (first 10): {missing:?}");
    assert_eq!(ids, expected, "ids read back");
    for (id, value) in rows {
        assert_eq!(value, id as f64 / 2.0, "value of id {id}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// (a) Two processes, row by row, at the same time.
// ---------------------------------------------------------------------------

const ROWS_PER_PROCESS: i64 = 5_000;

on_shared!(
    two_processes_insert_row_by_row_at_once => [persistent, pg_persistent, pg_pool],
    threads_share_one_connection => [persistent, pg_persistent, pg_pool],
    threads_each_with_their_own_per_query => [per_query, pg_per_query],
);

/// The parent creates the table and starts two copies of this test binary as
/// writers; each opens its own connection and inserts its rows one by one,
/// each insert its own autocommit transaction. Both must exit 0 without any
/// error output, and every row must be there exactly once.
fn two_processes_insert_row_by_row_at_once<O: Opener>(s: &Shared<O>) -> TestResult {
    if let Some(role) = &s.role {
        return child_writer(s, role);
    }

    let db = s.open()?;
    Number::create_table(&db)?;

    let mut children = Vec::new();
    for writer in 0..2 {
        let role = format!("{}:{}", writer * ROWS_PER_PROCESS, ROWS_PER_PROCESS);
        children.push(s.child_command(&role)?.spawn()?);
    }
    // Both children wait for a byte on stdin before writing, so they start together.
    for child in &mut children {
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(b"g")?;
        }
    }
    let clock = Instant::now();
    let outputs = wait_all(children, Duration::from_secs(120))?;
    let elapsed = clock.elapsed();

    let mut windows = Vec::new();
    for (writer, output) in outputs.iter().enumerate() {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "writer {writer} failed with {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            output.status
        );
        for text in [&stdout, &stderr] {
            let lower = text.to_lowercase();
            assert!(
                !lower.contains("locked") && !lower.contains("busy") && !lower.contains("error"),
                "writer {writer} reported an error:\n{text}"
            );
        }
        // The child's own report: it ran (the test was not filtered out) and wrote its rows.
        let report = stdout
            .lines()
            .find_map(|l| l.split_once("WRITER-DONE ").map(|(_, rest)| rest))
            .unwrap_or_else(|| panic!("writer {writer} printed no report:\n{stdout}\n{stderr}"));
        let fields: Vec<u128> = report
            .split_whitespace()
            .map(|f| f.parse())
            .collect::<Result<_, _>>()?;
        assert_eq!(fields.len(), 3, "report {report:?}");
        assert_eq!(
            fields[0], ROWS_PER_PROCESS as u128,
            "rows writer {writer} inserted"
        );
        windows.push((fields[1], fields[2]));
    }
    // The writers' time windows (µs since the epoch) overlapped: they wrote at the same time.
    let overlap_start = windows.iter().map(|w| w.0).max().unwrap_or(0);
    let overlap_end = windows.iter().map(|w| w.1).min().unwrap_or(0);
    assert!(
        overlap_end > overlap_start,
        "the writers did not run at the same time: {windows:?}"
    );

    assert_exactly(&db, 0..2 * ROWS_PER_PROCESS)?;
    for writer in 0..2 {
        let rows = Number::count().filter(Number::writer.eq(writer)).get(&db)?;
        assert_eq!(rows, ROWS_PER_PROCESS, "rows from writer {writer}");
    }
    eprintln!(
        "{}: two processes inserted 2 x {ROWS_PER_PROCESS} rows in {:.2} s, overlapping {:.2} s",
        O::NAME,
        elapsed.as_secs_f64(),
        (overlap_end - overlap_start) as f64 / 1e6
    );
    Ok(())
}

fn unix_micros() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0)
}

/// The child side: its role is `<first-id>:<count>`.
fn child_writer<O: Opener>(s: &Shared<O>, role: &str) -> TestResult {
    let Some((first, count)) = role.split_once(':') else {
        return Err(format!("bad role {role:?}").into());
    };
    let count: i64 = count.parse()?;
    let first: i64 = first.parse()?;
    let writer = first / ROWS_PER_PROCESS;

    let db = s.open()?;
    let mut go = [0u8; 1];
    std::io::stdin().read_exact(&mut go)?;
    let started = unix_micros();
    for id in first..first + count {
        Number::insert(&db, &number(id, writer))?;
    }
    // libtest has printed "test <name> ... " without a newline: start a line.
    println!("\nWRITER-DONE {count} {started} {}", unix_micros());
    Ok(())
}

// ---------------------------------------------------------------------------
// (b) Eight threads sharing one connection (an Arc<Persistent>, a Pool), with readers.
// ---------------------------------------------------------------------------

/// Eight writer threads share one connection (`Persistent`; or a `Pool`, four
/// connections for ten threads): each inserts 1,000 rows one by one and 4
/// batches of 50 with `insert_many`, while two reader threads keep selecting
/// and counting. No call fails, readers never see the count go down or a
/// half-written batch, and the final count is exact.
fn threads_share_one_connection<O: Opener>(s: &Shared<O>) -> TestResult {
    const WRITERS: i64 = 8;
    const SINGLE: i64 = 1_000;
    const BATCHES: i64 = 4;
    const BATCH: i64 = 50;
    const PER_WRITER: i64 = SINGLE + BATCHES * BATCH;

    let db = Arc::new(s.open()?);
    Number::create_table(&*db)?;

    let start = Arc::new(Barrier::new(WRITERS as usize + 2));
    let writers_done = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let db = Arc::clone(&db);
            let start = Arc::clone(&start);
            thread::spawn(move || -> doctable::Result<()> {
                start.wait();
                let base = w * 100_000;
                for i in 0..SINGLE {
                    Number::insert(&*db, &number(base + i, w))?;
                    // Every 250 rows, a batch: all of it or none, atomically.
                    if i % 250 == 249 {
                        let first = base + 50_000 + (i / 250) * BATCH;
                        let batch: Vec<Number> =
                            (first..first + BATCH).map(|id| number(id, w)).collect();
                        let n = Number::insert_many(&*db, &batch)?;
                        assert_eq!(n, BATCH as usize);
                    }
                }
                Ok(())
            })
        })
        .collect();

    let reads = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let db = Arc::clone(&db);
            let start = Arc::clone(&start);
            let done = Arc::clone(&writers_done);
            let reads = Arc::clone(&reads);
            thread::spawn(move || -> doctable::Result<()> {
                start.wait();
                let mut last = 0;
                while !done.load(Ordering::Acquire) {
                    let now = Number::count().get(&*db)?;
                    assert!(
                        now >= last,
                        "reader {r}: count went from {last} down to {now}"
                    );
                    last = now;
                    // Batch rows of one writer are 50_000.. ; each batch is whole or absent.
                    let w = (reads.load(Ordering::Relaxed) % WRITERS as usize) as i64;
                    let lo = w * 100_000 + 50_000;
                    let batch_rows = Number::select()
                        .filter(Number::id.between(lo, lo + BATCHES * BATCH - 1))
                        .all(&*db)?;
                    assert_eq!(
                        batch_rows.len() as i64 % BATCH,
                        0,
                        "reader {r} saw part of a batch"
                    );
                    assert!(batch_rows.iter().all(|n| n.writer == w));
                    reads.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
        })
        .collect();

    let clock = Instant::now();
    let written: Vec<_> = writers.into_iter().map(|h| h.join()).collect();
    let elapsed = clock.elapsed();
    // Stop the readers before looking at the writers' results, so that a
    // failed writer never leaves them running.
    writers_done.store(true, Ordering::Release);
    for (w, result) in written.into_iter().enumerate() {
        match result {
            Ok(result) => result.map_err(|e| format!("writer thread {w}: {e}"))?,
            Err(_) => return Err(format!("writer thread {w} panicked").into()),
        }
    }
    for (r, handle) in readers.into_iter().enumerate() {
        match handle.join() {
            Ok(result) => result.map_err(|e| format!("reader thread {r}: {e}"))?,
            Err(_) => return Err(format!("reader thread {r} panicked").into()),
        }
    }

    let expected = (0..WRITERS).flat_map(|w| {
        let base = w * 100_000;
        (base..base + SINGLE).chain(base + 50_000..base + 50_000 + BATCHES * BATCH)
    });
    assert_exactly(&*db, expected)?;
    assert_eq!(Number::count().get(&*db)?, WRITERS * PER_WRITER);
    assert!(reads.load(Ordering::Relaxed) > 0, "the readers never ran");
    eprintln!(
        "8 threads on one {}: {} rows in {:.2} s, {} reader passes meanwhile",
        O::NAME,
        WRITERS * PER_WRITER,
        elapsed.as_secs_f64(),
        reads.load(Ordering::Relaxed)
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// (c) Four threads, each with its own PerQuery.
// ---------------------------------------------------------------------------

/// Four threads, each with its own `PerQuery` on one database (so every
/// insert opens, writes, commits and closes its own connection), insert row
/// by row at the same time. No call fails and the count is exact.
fn threads_each_with_their_own_per_query<O: Opener>(s: &Shared<O>) -> TestResult {
    const THREADS: i64 = 4;
    const ROWS: i64 = 250;

    Number::create_table(&s.open()?)?;

    let start = Arc::new(Barrier::new(THREADS as usize));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let opener = s.opener.clone();
            let start = Arc::clone(&start);
            thread::spawn(move || -> Result<(), String> {
                let db = opener.open().map_err(|e| e.to_string())?;
                start.wait();
                for i in 0..ROWS {
                    Number::insert(&db, &number(t * 10_000 + i, t)).map_err(|e| e.to_string())?;
                }
                Ok(())
            })
        })
        .collect();
    let clock = Instant::now();
    for (t, handle) in handles.into_iter().enumerate() {
        match handle.join() {
            Ok(result) => result.map_err(|e| format!("thread {t}: {e}"))?,
            Err(_) => return Err(format!("thread {t} panicked").into()),
        }
    }
    let elapsed = clock.elapsed();

    let db = s.open()?;
    assert_exactly(
        &db,
        (0..THREADS).flat_map(|t| t * 10_000..t * 10_000 + ROWS),
    )?;
    eprintln!(
        "4 threads with {}: {} rows, one connection each, in {:.2} s",
        O::NAME,
        THREADS * ROWS,
        elapsed.as_secs_f64()
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// (d) A writer that waits longer than its busy timeout.
// ---------------------------------------------------------------------------

/// One connection holds the write lock in a long `transaction` (BEGIN
/// IMMEDIATE). Another, opened with a 200 ms busy timeout, tries to insert: it
/// waits about 200 ms, then gets `Error::Busy` naming the table, and is left
/// usable. Once the first transaction commits, the retry succeeds and both
/// rows are there.
#[test]
fn busy_timeout_gives_busy_error_then_retry_succeeds() -> TestResult {
    const TIMEOUT: Duration = Duration::from_millis(200);

    let dir = tempfile::tempdir()?;
    let path = dir.path().join("busy.db");
    let holder_db = Persistent::open(&path)?;
    Number::create_table(&holder_db)?;
    let impatient = Persistent::open_with(&path, &Options::new().busy_timeout(TIMEOUT))?;

    let (locked_tx, locked_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let holder = thread::spawn(move || -> doctable::Result<bool> {
        holder_db.transaction(|tx| {
            Number::insert(tx, &number(1, 1))?;
            let _ = locked_tx.send(());
            // Hold the write lock until told to commit (or, should the test
            // go wrong, for at most 10 s).
            let released = release_rx.recv_timeout(Duration::from_secs(10)).is_ok();
            Ok(released)
        })
    });
    locked_rx.recv_timeout(Duration::from_secs(10))?;

    let clock = Instant::now();
    let result = Number::insert(&impatient, &number(2, 2));
    let waited = clock.elapsed();
    let err = match result {
        Err(e) => e,
        Ok(id) => panic!("insert succeeded (rowid {id}) while another connection held the lock"),
    };
    let message = err.to_string();
    match &err {
        Error::Busy { table, .. } => {
            assert_eq!(table.as_deref(), Some("numbers"), "Busy names the table")
        }
        other => panic!("expected Error::Busy, got {other:?}"),
    }
    assert!(
        message.contains("`numbers`"),
        "message names the table: {message}"
    );
    assert!(message.contains("busy"), "message says busy: {message}");
    assert!(
        waited >= TIMEOUT.mul_f64(0.9) && waited < Duration::from_secs(2),
        "waited {waited:?}, expected about {TIMEOUT:?}"
    );
    // The failed insert left no transaction open on the impatient connection.
    assert!(impatient.with_rusqlite(|c| c.is_autocommit())?);

    // A batch and an explicit transaction fail the same way, at their
    // `BEGIN IMMEDIATE`, before writing anything.
    let batch = [number(3, 2), number(4, 2)];
    match Number::insert_many(&impatient, &batch) {
        Err(Error::Busy { .. }) => {}
        other => panic!("insert_many: expected Error::Busy, got {other:?}"),
    }
    match impatient.transaction(|tx| Number::insert(tx, &number(5, 2))) {
        Err(Error::Busy { .. }) => {}
        other => panic!("transaction: expected Error::Busy, got {other:?}"),
    }
    assert!(impatient.with_rusqlite(|c| c.is_autocommit())?);

    release_tx.send(())?;
    let released = match holder.join() {
        Ok(result) => result?,
        Err(_) => return Err("the lock-holding thread panicked".into()),
    };
    assert!(released, "the holder timed out instead of being released");

    // The holder's row is committed, nothing of the failed calls was written,
    // and the retries now go through.
    assert_exactly(&impatient, [1])?;
    let id = Number::insert(&impatient, &number(2, 2))?;
    assert!(id > 0);
    assert_eq!(Number::insert_many(&impatient, &batch)?, 2);
    impatient.transaction(|tx| Number::insert(tx, &number(5, 2)))?;
    assert_exactly(&impatient, [1, 2, 3, 4, 5])?;
    eprintln!(
        "busy: {waited:?} wait with a {TIMEOUT:?} timeout, then: {}",
        message.lines().next().unwrap_or_default()
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Regression: several connections opening a new file at the same moment.
// ---------------------------------------------------------------------------

/// Four connections (two `Persistent`, two `PerQuery`) open a file that does
/// not exist yet at the same moment, each create the table and insert. Turning
/// the new file to WAL takes the write lock where SQLite does not call the busy
/// handler, so this used to fail at once with "database is locked" (as
/// `Error::Open`) in about one round in two; now every open waits its turn.
#[test]
fn new_file_opened_by_four_connections_at_once() -> TestResult {
    const ROUNDS: usize = 30;
    const ROWS: i64 = 10;
    for round in 0..ROUNDS {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("new.db");
        let start = Arc::new(Barrier::new(4));
        let handles: Vec<_> = (0..4_i64)
            .map(|t| {
                let path = path.clone();
                let start = Arc::clone(&start);
                thread::spawn(move || -> doctable::Result<()> {
                    start.wait();
                    let mut rows = (t * 1_000..t * 1_000 + ROWS).map(|id| number(id, t));
                    if t % 2 == 0 {
                        let db = Persistent::open(&path)?;
                        Number::create_table(&db)?;
                        rows.try_for_each(|row| Number::insert(&db, &row).map(drop))
                    } else {
                        let db = PerQuery::open(&path)?;
                        Number::create_table(&db)?;
                        rows.try_for_each(|row| Number::insert(&db, &row).map(drop))
                    }
                })
            })
            .collect();
        for (t, handle) in handles.into_iter().enumerate() {
            match handle.join() {
                Ok(result) => result.map_err(|e| format!("round {round}, connection {t}: {e}"))?,
                Err(_) => return Err(format!("round {round}, connection {t} panicked").into()),
            }
        }
        let db = Persistent::open(&path)?;
        let mode: String =
            db.with_rusqlite(|c| c.query_row("PRAGMA journal_mode", [], |r| r.get(0)))??;
        assert_eq!(mode, "wal", "round {round}: journal mode");
        assert_exactly(&db, (0..4).flat_map(|t| t * 1_000..t * 1_000 + ROWS))?;
    }
    Ok(())
}
