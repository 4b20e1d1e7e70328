//! Concurrency under load: many writers and readers on one database at once.
//!
//! Four row writers (`insert`, one row per call and per transaction), two batch
//! writers (`insert_many`, `BATCH` rows per call) and two readers (counting and
//! grouping in a loop) run at the same moment on one database file:
//!
//! - `processes_with_persistent`: eight processes, each with its own
//!   `Persistent` (on PostgreSQL also each with its own `Pool`);
//! - `processes_with_per_query`: eight processes, each with a `PerQuery`
//!   (a fresh connection for every call);
//! - `threads_sharing_one_connection`: eight threads on one `Arc<Persistent>`
//!   (on PostgreSQL also on one `Pool`).
//!
//! Each runs on both engines from one source (`on_shared!`,
//! tests/support/shared.rs): SQLite on one file (checked with `PRAGMA
//! integrity_check` afterwards), PostgreSQL in a schema of its own per test.
//!
//! Every writer finishes without error, the final rows are exactly the rows
//! written (each once), and no reader ever sees part of a batch: the number of
//! batch rows it counts is always a multiple of `BATCH`, and every batch it
//! sees is whole. (A writer that holds a long transaction past another's busy
//! timeout is `tests/concurrency.rs`'s.)
//!
//! Sizes are CI sizes; `DOCTABLE_RELIABILITY_SCALE=10` runs ten times the rows
//! (see RELIABILITY.md). A child process is this test binary re-executed on
//! the same test, with the database and `<role>,<index>,<count>` in its
//! environment (tests/support/shared.rs).

mod reliability_support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use doctable::{Conn, DocTable};
use reliability_support::{
    TestResult, assert_clean_exit, integrity_check, report_fields, scale, unix_micros, wait_all,
};

#[allow(unused_macros)]
#[macro_use]
#[path = "support/backends.rs"]
mod backends;
#[macro_use]
#[path = "support/shared.rs"]
mod shared;
use backends::Kind;
use shared::{Opener, Shared};

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "load", index(by_writer_n = [writer, n]))]
struct Load {
    #[doctable(primary_key)]
    seq: Option<i64>,
    writer: i64,
    n: i64,
    /// `None` for rows written one by one; the batch's id for `insert_many` rows.
    #[doctable(index)]
    batch: Option<i64>,
    payload: String,
}

const ROW_WRITERS: i64 = 4;
const BATCH_WRITERS: i64 = 2;
const READERS: i64 = 2;
/// Rows per `insert_many` call.
const BATCH: i64 = 40;

/// Rows each row writer inserts, one call each.
fn rows_per_writer() -> i64 {
    500 * scale() as i64
}

/// `insert_many` calls each batch writer makes.
fn batches_per_writer() -> i64 {
    25 * scale() as i64
}

fn row(writer: i64, n: i64, batch: Option<i64>) -> Load {
    Load {
        seq: None,
        writer,
        n,
        batch,
        payload: format!("writer {writer} row {n} ").repeat(4),
    }
}

/// Batch ids are unique across writers.
fn batch_id(writer: i64, b: i64) -> i64 {
    writer * 1_000_000 + b
}

// ---------------------------------------------------------------------------
// The work of one writer or reader, on any strategy.

/// Inserts `count` rows one by one.
fn write_rows(db: &impl Conn, writer: i64, count: i64) -> doctable::Result<()> {
    for n in 0..count {
        Load::insert(db, &row(writer, n, None))?;
    }
    Ok(())
}

/// Inserts `count` batches of `BATCH` rows, one `insert_many` each.
fn write_batches(db: &impl Conn, writer: i64, count: i64) -> doctable::Result<()> {
    for b in 0..count {
        let rows: Vec<Load> = (0..BATCH)
            .map(|k| row(writer, b * BATCH + k, Some(batch_id(writer, b))))
            .collect();
        let written = Load::insert_many(db, &rows)?;
        if written != BATCH as usize {
            return Err(doctable::Error::Usage(format!(
                "insert_many wrote {written} rows, not {BATCH}"
            )));
        }
    }
    Ok(())
}

/// What a reader saw.
#[derive(Debug, Default, Clone, Copy)]
struct ReaderStats {
    passes: u64,
    first_total: i64,
    last_total: i64,
    max_batches_seen: i64,
}

/// Reads until `stop()`: each pass counts all rows (never fewer than the pass
/// before), counts batch rows (a multiple of `BATCH`), and groups batch rows by
/// batch (each batch whole). A violation is an error naming what was seen.
fn read_until(db: &impl Conn, stop: impl Fn() -> bool) -> doctable::Result<ReaderStats> {
    let bad = |what: String| Err(doctable::Error::Usage(format!("reader saw {what}")));
    let mut stats = ReaderStats {
        first_total: -1,
        ..ReaderStats::default()
    };
    loop {
        // Checked before the pass, so at least one pass runs after the writers finish.
        let stopping = stop();
        let total = Load::count().get(db)?;
        if total < stats.last_total {
            return bad(format!(
                "the row count go down from {} to {total}",
                stats.last_total
            ));
        }
        let batch_rows = Load::count().filter(Load::batch.is_not_null()).get(db)?;
        if batch_rows % BATCH != 0 {
            return bad(format!(
                "{batch_rows} batch rows, not a multiple of {BATCH}: part of a batch"
            ));
        }
        let per_batch: Vec<(Option<i64>, i64)> =
            Load::select_cols((Load::batch, Load::seq.count()))
                .filter(Load::batch.is_not_null())
                .group_by(Load::batch)
                .all(db)?;
        if let Some((batch, rows)) = per_batch.iter().find(|(_, rows)| *rows != BATCH) {
            return bad(format!("batch {batch:?} with {rows} of its {BATCH} rows"));
        }
        if stats.first_total < 0 {
            stats.first_total = total;
        }
        stats.last_total = total;
        stats.max_batches_seen = stats.max_batches_seen.max(per_batch.len() as i64);
        stats.passes += 1;
        if stopping {
            return Ok(stats);
        }
    }
}

/// Fails unless the table holds exactly what every writer wrote, each row once.
fn assert_complete(db: &impl Conn) -> TestResult {
    let rows = rows_per_writer();
    let batches = batches_per_writer();
    let expected_total = ROW_WRITERS * rows + BATCH_WRITERS * batches * BATCH;
    assert_eq!(Load::count().get(db)?, expected_total, "final row count");
    for writer in 0..ROW_WRITERS + BATCH_WRITERS {
        let ns: Vec<i64> = Load::select_cols(Load::n)
            .filter(Load::writer.eq(writer))
            .order_by(Load::n)
            .all(db)?;
        let want = if writer < ROW_WRITERS {
            rows
        } else {
            batches * BATCH
        };
        assert_eq!(ns.len() as i64, want, "rows of writer {writer}");
        assert!(
            ns.iter().copied().eq(0..want),
            "writer {writer}: every row exactly once"
        );
    }
    let per_batch: Vec<(Option<i64>, i64)> = Load::select_cols((Load::batch, Load::seq.count()))
        .filter(Load::batch.is_not_null())
        .group_by(Load::batch)
        .order_by(Load::batch)
        .all(db)?;
    let want: Vec<(Option<i64>, i64)> = (ROW_WRITERS..ROW_WRITERS + BATCH_WRITERS)
        .flat_map(|w| (0..batches).map(move |b| (Some(batch_id(w, b)), BATCH)))
        .collect();
    assert_eq!(per_batch, want, "every batch whole");
    // Spot-check a payload: the rows are the rows written, not only their count.
    let some = Load::select()
        .filter(Load::writer.eq(0) & Load::n.eq(rows - 1))
        .first(db)?;
    assert_eq!(
        some.map(|r| r.payload),
        Some(row(0, rows - 1, None).payload)
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Processes.

on_shared!(
    processes_with_persistent => [persistent, pg_persistent, pg_pool],
    processes_with_per_query => [per_query, pg_per_query],
    threads_sharing_one_connection => [persistent, pg_persistent, pg_pool],
);

fn processes_with_persistent<O: Opener>(s: &Shared<O>) -> TestResult {
    run_processes(s)
}

fn processes_with_per_query<O: Opener>(s: &Shared<O>) -> TestResult {
    run_processes(s)
}

/// The SQLite file's integrity, `ok` for PostgreSQL (the server keeps its own).
fn integrity<O: Opener>(s: &Shared<O>) -> Result<String, Box<dyn std::error::Error>> {
    match s.kind() {
        Kind::Sqlite => integrity_check(Path::new(&s.opener.target())),
        Kind::Postgres => Ok("ok".to_owned()),
    }
}

/// The file whose existence tells the readers to stop.
fn stop_file(scratch: &Path) -> PathBuf {
    scratch.join("stop")
}

/// The child side: its role is `<role>,<index>,<count>`; waits for a byte on
/// stdin, does its part and prints a report line.
fn child<O: Opener>(s: &Shared<O>, spec: &str) -> TestResult {
    let fields: Vec<&str> = spec.split(',').collect();
    let [role, index, count] = fields[..] else {
        return Err(format!("bad role {spec:?}").into());
    };
    let index: i64 = index.parse()?;
    let count: i64 = count.parse()?;
    let db = s.open()?;
    let mut go = [0u8; 1];
    std::io::stdin().read_exact(&mut go)?;
    let started = unix_micros();
    match role {
        "rows" => write_rows(&db, index, count)?,
        "batches" => write_batches(&db, index, count)?,
        "reader" => {
            let stop = stop_file(&s.scratch);
            let deadline = Instant::now() + Duration::from_secs(600);
            let st = read_until(&db, || stop.exists() || Instant::now() > deadline)?;
            println!(
                "\nREADER-DONE {} {} {} {}",
                st.passes, st.first_total, st.last_total, st.max_batches_seen
            );
            return Ok(());
        }
        other => return Err(format!("unknown role {other}").into()),
    }
    // libtest has printed "test <name> ... " without a newline: start a line.
    println!("\nWRITER-DONE {count} {started} {}", unix_micros());
    Ok(())
}

/// Eight processes on one database: four row writers, two batch writers, two readers.
fn run_processes<O: Opener>(s: &Shared<O>) -> TestResult {
    if let Some(role) = &s.role {
        return child(s, role);
    }
    Load::create_table(&s.open()?)?;

    let spawn = |role: &str, index: i64, count: i64| {
        s.child_command(&format!("{role},{index},{count}"))
            .and_then(|mut c| c.spawn())
    };
    let mut writers = Vec::new();
    for w in 0..ROW_WRITERS {
        writers.push(spawn("rows", w, rows_per_writer())?);
    }
    for w in ROW_WRITERS..ROW_WRITERS + BATCH_WRITERS {
        writers.push(spawn("batches", w, batches_per_writer())?);
    }
    let mut readers = Vec::new();
    for r in 0..READERS {
        readers.push(spawn("reader", r, 0)?);
    }
    // Every child waits for a byte on stdin, so they all start together.
    for child in readers.iter_mut().chain(writers.iter_mut()) {
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(b"g")?;
        }
    }
    let clock = Instant::now();
    let limit = Duration::from_secs(120 * scale());
    let writer_outputs = wait_all(writers, limit);
    let elapsed = clock.elapsed();
    // Stop the readers whatever happened to the writers.
    std::fs::write(stop_file(&s.scratch), b"stop")?;
    let reader_outputs = wait_all(readers, Duration::from_secs(60))?;
    let writer_outputs = writer_outputs?;

    let mut windows = Vec::new();
    for (w, output) in writer_outputs.iter().enumerate() {
        assert_clean_exit(&format!("writer {w}"), output);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let fields = report_fields(&stdout, "WRITER-DONE")
            .ok_or_else(|| format!("writer {w} printed no report:\n{stdout}"))?;
        let nums: Vec<u128> = fields.iter().map(|f| f.parse()).collect::<Result<_, _>>()?;
        let [_count, start, end] = nums[..] else {
            return Err(format!("writer {w}: bad report {fields:?}").into());
        };
        windows.push((start, end));
    }
    let db = s.open()?;
    let total = Load::count().get(&db)?;
    let mut reader_lines = Vec::new();
    for (r, output) in reader_outputs.iter().enumerate() {
        assert_clean_exit(&format!("reader {r}"), output);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let fields = report_fields(&stdout, "READER-DONE")
            .ok_or_else(|| format!("reader {r} printed no report:\n{stdout}"))?;
        let nums: Vec<i64> = fields.iter().map(|f| f.parse()).collect::<Result<_, _>>()?;
        let [passes, first, last, _batches] = nums[..] else {
            return Err(format!("reader {r}: bad report {fields:?}").into());
        };
        assert!(passes > 0, "reader {r} made no pass");
        assert_eq!(last, total, "reader {r}'s last pass saw the final count");
        reader_lines.push((passes, first));
    }
    // The readers read while the writers wrote: one saw fewer rows at first than at the end.
    assert!(
        reader_lines.iter().any(|&(_, first)| first < total),
        "no reader ran before the writers finished: {reader_lines:?}"
    );
    // The row writers ran at the same time: their time windows overlap.
    let rows_windows = &windows[..ROW_WRITERS as usize];
    let overlap_start = rows_windows.iter().map(|w| w.0).max().unwrap_or(0);
    let overlap_end = rows_windows.iter().map(|w| w.1).min().unwrap_or(0);
    assert!(
        overlap_end > overlap_start,
        "the row writers did not run at the same time: {rows_windows:?}"
    );

    assert_complete(&db)?;
    assert_eq!(integrity(s)?, "ok");
    eprintln!(
        "{}: {} processes wrote {total} rows in {:.2} s ({ROW_WRITERS} x {} rows one by one, \
         {BATCH_WRITERS} x {} batches of {BATCH}); readers made {:?} passes",
        O::NAME,
        ROW_WRITERS + BATCH_WRITERS + READERS,
        elapsed.as_secs_f64(),
        rows_per_writer(),
        batches_per_writer(),
        reader_lines.iter().map(|r| r.0).collect::<Vec<_>>(),
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Threads on one connection.

/// The same eight roles as threads sharing one connection (`Arc<Persistent>`,
/// or a `Pool` of four connections for the eight threads).
fn threads_sharing_one_connection<O: Opener>(s: &Shared<O>) -> TestResult {
    let db = Arc::new(s.open()?);
    Load::create_table(&*db)?;

    let roles = (ROW_WRITERS + BATCH_WRITERS + READERS) as usize;
    let start = Arc::new(Barrier::new(roles));
    let done = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..ROW_WRITERS + BATCH_WRITERS)
        .map(|w| {
            let db = Arc::clone(&db);
            let start = Arc::clone(&start);
            thread::spawn(move || {
                start.wait();
                if w < ROW_WRITERS {
                    write_rows(&*db, w, rows_per_writer())
                } else {
                    write_batches(&*db, w, batches_per_writer())
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let db = Arc::clone(&db);
            let start = Arc::clone(&start);
            let done = Arc::clone(&done);
            thread::spawn(move || {
                start.wait();
                read_until(&*db, || done.load(Ordering::Acquire))
            })
        })
        .collect();

    let clock = Instant::now();
    let written: Vec<_> = writers.into_iter().map(|h| h.join()).collect();
    let elapsed = clock.elapsed();
    done.store(true, Ordering::Release);
    let read: Vec<_> = readers.into_iter().map(|h| h.join()).collect();
    for (w, result) in written.into_iter().enumerate() {
        match result {
            Ok(result) => result.map_err(|e| format!("writer thread {w}: {e}"))?,
            Err(_) => return Err(format!("writer thread {w} panicked").into()),
        }
    }
    let total = Load::count().get(&*db)?;
    let mut passes = Vec::new();
    let mut any_early = false;
    for (r, result) in read.into_iter().enumerate() {
        let stats = match result {
            Ok(result) => result.map_err(|e| format!("reader thread {r}: {e}"))?,
            Err(_) => return Err(format!("reader thread {r} panicked").into()),
        };
        assert!(stats.passes > 0, "reader {r} made no pass");
        assert_eq!(stats.last_total, total, "reader {r}'s last pass");
        any_early |= stats.first_total < total;
        passes.push(stats.passes);
    }
    assert!(any_early, "no reader ran before the writers finished");
    assert_complete(&*db)?;
    assert_eq!(integrity(s)?, "ok");
    eprintln!(
        "threads on one {}: {total} rows in {:.2} s; readers made {passes:?} passes",
        O::NAME,
        elapsed.as_secs_f64()
    );
    Ok(())
}
