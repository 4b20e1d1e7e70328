//! The three connection strategies, starting with the scenario that broke the
//! Python ancestor: two processes inserting row by row into one SQLite file at
//! the same time. There each writer soon died with "database is locked"; here
//! both finish, and every row is there.
//!
//! Run it with `cargo run --example connections` (debug build), or
//! `cargo run --release --example connections` to see the real speed.
//! `cargo run --example connections -- 5000` sets the rows per writer
//! (default 100,000, as in the ancestor notebook: a few seconds either way).
//! The database lives in a temporary directory, removed at the end.
//!
//! 1. Persistent: the parent creates the table, then re-executes this program
//!    twice as `--writer <path> <first-id> <count> <writer-no>`. Each child opens
//!    its own `Persistent` and calls `Number::insert` once per row, each insert its
//!    own autocommit transaction. The parent waits, checks that both children
//!    exited cleanly, and checks the exact count and every id.
//! 2. PerQuery: a fresh connection for every call.
//! 3. External: the caller's own `rusqlite::Connection` and `rusqlite::Transaction`,
//!    which the crate uses but never commits, rolls back or closes.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, ExitCode, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use doctable::{DocTable, PerQuery, Persistent};

/// One row written by a writer process.
#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "numbers")]
struct Number {
    /// Assigned by SQLite on insert, so it records the order of the commits.
    #[doctable(primary_key)]
    seq: Option<i64>,
    /// The id the writer chose: writer 1 writes `0..n`, writer 2 `n..2n`.
    #[doctable(unique)]
    id: i64,
    /// The ancestor notebook's `value`: `id / 2`.
    value: f64,
    /// Which writer process inserted the row.
    writer: i64,
}

impl Number {
    fn new(id: i64, writer: i64) -> Self {
        Number {
            seq: None,
            id,
            value: id as f64 / 2.0,
            writer,
        }
    }
}

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The ancestor notebook's first writer inserted 100,000 rows.
const DEFAULT_ROWS_PER_WRITER: i64 = 100_000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = if args.first().map(String::as_str) == Some("--writer") {
        writer_main(&args[1..])
    } else {
        parent_main(&args)
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Fails with `message` unless `ok`: the example's checks, without panicking.
fn check(ok: bool, message: impl FnOnce() -> String) -> AnyResult<()> {
    if ok { Ok(()) } else { Err(message().into()) }
}

fn unix_micros() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------
// The child: one writer process.
// ---------------------------------------------------------------------------

/// `--writer <path> <first-id> <count> <writer-no>`: opens its own connection,
/// waits for the parent's go (a byte on stdin, so both start together), then
/// inserts `count` rows one by one. Prints one `REPORT` line for the parent.
fn writer_main(args: &[String]) -> AnyResult<()> {
    let [path, first, count, writer_no] = args else {
        return Err(
            format!("usage: --writer <path> <first-id> <count> <writer-no>, got {args:?}").into(),
        );
    };
    let first: i64 = first.parse()?;
    let count: i64 = count.parse()?;
    let writer_no: i64 = writer_no.parse()?;

    let db = Persistent::open(path)?;
    let mut go = [0u8; 1];
    std::io::stdin().read_exact(&mut go)?;

    let started = unix_micros();
    let clock = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut waited = 0u64;
    for id in first..first + count {
        let t = Instant::now();
        Number::insert(&db, &Number::new(id, writer_no))?;
        let took = t.elapsed();
        slowest = slowest.max(took);
        // An insert this slow waited for the other process's write lock.
        if took >= Duration::from_millis(1) {
            waited += 1;
        }
    }
    let elapsed = clock.elapsed();
    let ended = unix_micros();
    println!(
        "REPORT {writer_no} {count} {started} {ended} {} {} {waited}",
        elapsed.as_micros(),
        slowest.as_micros()
    );
    Ok(())
}

/// What a writer process said about its run.
#[derive(Debug)]
struct WriterReport {
    writer: i64,
    rows: i64,
    started_us: u128,
    ended_us: u128,
    elapsed: Duration,
    slowest: Duration,
    waited: u64,
}

fn parse_report(stdout: &str) -> AnyResult<WriterReport> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("REPORT "))
        .ok_or_else(|| format!("no REPORT line in the writer's output: {stdout:?}"))?;
    let f: Vec<&str> = line.split_whitespace().skip(1).collect();
    let [writer, rows, started, ended, elapsed, slowest, waited] = f[..] else {
        return Err(format!("malformed report line {line:?}").into());
    };
    Ok(WriterReport {
        writer: writer.parse()?,
        rows: rows.parse()?,
        started_us: started.parse()?,
        ended_us: ended.parse()?,
        elapsed: Duration::from_micros(elapsed.parse()?),
        slowest: Duration::from_micros(slowest.parse()?),
        waited: waited.parse()?,
    })
}

// ---------------------------------------------------------------------------
// The parent.
// ---------------------------------------------------------------------------

fn parent_main(args: &[String]) -> AnyResult<()> {
    let per_writer: i64 = match args.first() {
        Some(n) => n
            .replace('_', "")
            .parse()
            .map_err(|e| format!("rows per writer must be a number, got {n:?}: {e}"))?,
        None => DEFAULT_ROWS_PER_WRITER,
    };
    check(per_writer > 0, || {
        "rows per writer must be at least 1".into()
    })?;

    let dir = tempfile::tempdir()?;
    let path = dir.path().join("connections.db");

    two_writer_processes(&path, per_writer)?;
    per_query(&path)?;
    external(&path)?;

    println!("\nall checks passed; removing {}", dir.path().display());
    Ok(())
}

fn heading(title: &str) {
    println!("\n== {title}");
}

/// Part 1: the ancestor notebook's two writers, as two real processes.
fn two_writer_processes(path: &Path, per_writer: i64) -> AnyResult<()> {
    heading("1. Persistent: two writer processes, one row per transaction");
    let db = Persistent::open(path)?;
    Number::create_table(&db)?;
    println!(
        "parent: created table `numbers` in {} (WAL journal, busy timeout 5 s)",
        path.display()
    );

    let exe = std::env::current_exe()?;
    let mut children = Vec::new();
    for writer in 1..=2_i64 {
        let first = (writer - 1) * per_writer;
        let child = Command::new(&exe)
            .arg("--writer")
            .arg(path)
            .arg(first.to_string())
            .arg(per_writer.to_string())
            .arg(writer.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start writer {writer} ({}): {e}", exe.display()))?;
        println!(
            "parent: started writer {writer} (pid {}): ids {first}..{}",
            child.id(),
            first + per_writer
        );
        children.push(child);
    }

    // Both children are now open and waiting on stdin: say go to both at once.
    let clock = Instant::now();
    for child in &mut children {
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(b"g")?;
        }
    }

    // Wait for each child on its own thread, while this one reads the table:
    // under WAL a reader never blocks the writers, nor they it.
    let waiters: Vec<thread::JoinHandle<std::io::Result<Output>>> = children
        .into_iter()
        .map(|child| thread::spawn(move || child.wait_with_output()))
        .collect();
    let mut last_report = Instant::now();
    while !waiters.iter().all(|w| w.is_finished()) {
        thread::sleep(Duration::from_millis(50));
        if last_report.elapsed() >= Duration::from_millis(750) {
            let so_far = Number::count().get(&db)?;
            println!(
                "parent: {:>6.2} s  {so_far:>7} rows so far",
                clock.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
    }
    let wall = clock.elapsed();

    let mut reports = Vec::new();
    for (i, waiter) in waiters.into_iter().enumerate() {
        let writer = i + 1;
        let output = waiter
            .join()
            .map_err(|_| format!("the thread waiting for writer {writer} panicked"))??;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        check(output.status.success(), || {
            format!("writer {writer} failed ({}):\n{stderr}", output.status)
        })?;
        check(stderr.trim().is_empty(), || {
            format!("writer {writer} exited 0 but wrote errors:\n{stderr}")
        })?;
        reports.push(parse_report(&stdout)?);
    }

    println!("\nboth writers exited with status 0 and wrote nothing to stderr");
    for r in &reports {
        println!(
            "writer {}: {} rows in {:.2} s ({:.0} rows/s); slowest insert {:.1} ms; \
             {} inserts waited >= 1 ms for the other's lock",
            r.writer,
            r.rows,
            r.elapsed.as_secs_f64(),
            r.rows as f64 / r.elapsed.as_secs_f64(),
            r.slowest.as_secs_f64() * 1e3,
            r.waited
        );
    }
    let overlap_start = reports.iter().map(|r| r.started_us).max().unwrap_or(0);
    let overlap_end = reports.iter().map(|r| r.ended_us).min().unwrap_or(0);
    let overlap = Duration::from_micros(
        u64::try_from(overlap_end.saturating_sub(overlap_start)).unwrap_or(u64::MAX),
    );
    println!(
        "the two writers ran at the same time for {:.2} s",
        overlap.as_secs_f64()
    );

    // Every row, exactly once.
    let expected = 2 * per_writer;
    let total = Number::count().get(&db)?;
    check(total == expected, || {
        format!("expected {expected} rows, found {total}")
    })?;
    let rows: Vec<(i64, f64)> = Number::select_cols((Number::id, Number::value))
        .order_by(Number::id.asc())
        .all(&db)?;
    let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
    let missing = (0..expected)
        .filter(|i| ids.binary_search(i).is_err())
        .count();
    check(ids.len() as i64 == expected && missing == 0, || {
        format!(
            "{} ids read back, {missing} of 0..{expected} missing",
            ids.len()
        )
    })?;
    let wrong_value = rows.iter().filter(|(id, v)| *v != *id as f64 / 2.0).count();
    check(wrong_value == 0, || {
        format!("{wrong_value} rows have the wrong value")
    })?;

    // In commit order, how often did the writer change? Many switches mean
    // the two processes' inserts really were interleaved, row by row.
    let writers: Vec<i64> = Number::select_cols(Number::writer)
        .order_by(Number::seq.asc())
        .all(&db)?;
    let switches = writers.windows(2).filter(|w| w[0] != w[1]).count();

    println!(
        "count = {total} (= 2 x {per_writer}), every id 0..{expected} present once, \
         every value = id / 2"
    );
    println!(
        "in commit order the writer changed {switches} times: the inserts interleaved, in \
         runs, because a writer that finds the lock taken sleeps in SQLite's busy handler \
         (1, 2, 5, ... up to 100 ms) and retries, while the other keeps committing"
    );
    println!(
        "wall time {:.2} s for {expected} single-row transactions: {:.0} rows/s overall",
        wall.as_secs_f64(),
        expected as f64 / wall.as_secs_f64()
    );
    println!(
        "why it works: each connection waits on the busy timeout (5 s) instead of failing \
         when the other holds the write lock, and WAL keeps each lock short"
    );
    Ok(())
}

/// Part 2: a fresh connection for every call.
fn per_query(path: &Path) -> AnyResult<()> {
    heading("2. PerQuery: a fresh connection for every call");
    let db = PerQuery::open(path)?;
    let before = Number::count().get(&db)?;
    let base = 1_000_000;
    let clock = Instant::now();
    for id in base..base + 5 {
        Number::insert(&db, &Number::new(id, 3))?;
    }
    let per_call = clock.elapsed() / 5;
    let back: Vec<(i64, f64)> = Number::select_cols((Number::id, Number::value))
        .filter(Number::writer.eq(3))
        .order_by(Number::id.asc())
        .all(&db)?;
    println!("inserted 5 rows, each call opening and closing its own connection; read back:");
    for (id, value) in &back {
        println!("  id {id}  value {value}");
    }
    check(back.len() == 5, || {
        format!("read back {} rows, not 5", back.len())
    })?;
    let after = Number::count().get(&db)?;
    check(after == before + 5, || {
        format!("count went from {before} to {after}, not +5")
    })?;

    // The same five inserts on a kept connection, for comparison.
    let kept = Persistent::open(path)?;
    let clock = Instant::now();
    for id in base + 5..base + 10 {
        Number::insert(&kept, &Number::new(id, 3))?;
    }
    let kept_per_call = clock.elapsed() / 5;
    println!(
        "one insert took {:.0} µs through PerQuery, {:.0} µs through Persistent: \
         the difference is the open and close",
        per_call.as_secs_f64() * 1e6,
        kept_per_call.as_secs_f64() * 1e6
    );
    println!(
        "use PerQuery when a program touches the database now and then and should hold \
         no file handle or lock in between: a long-running service, a job that forks \
         worker processes (a connection must not cross a fork), or a file that other \
         tools replace or vacuum between calls"
    );
    match PerQuery::open(":memory:") {
        Err(e) => println!("PerQuery on :memory: is refused: {e}"),
        Ok(_) => return Err("PerQuery accepted :memory:".into()),
    }
    Ok(())
}

/// Part 3: the caller's own connection and transaction.
fn external(path: &Path) -> AnyResult<()> {
    use doctable::rusqlite;

    heading("3. External: your own rusqlite Connection and Transaction");
    let mut conn = rusqlite::Connection::open(path)?;
    // Our connection, our settings: the crate does not touch them.
    conn.busy_timeout(Duration::from_secs(5))?;
    let before = Number::count().get(&conn)?;
    Number::insert(&conn, &Number::new(2_000_000, 4))?;
    println!(
        "on a plain rusqlite::Connection: count was {before}, inserted one row, count is now {}",
        Number::count().get(&conn)?
    );

    // Another connection, to look from outside the transaction.
    let observer = Persistent::open(path)?;
    let outside_before = Number::count().get(&observer)?;

    let tx = conn.transaction()?;
    Number::insert(&tx, &Number::new(2_000_001, 4))?;
    let batch: Vec<Number> = (2_000_002..2_000_012)
        .map(|id| Number::new(id, 4))
        .collect();
    // insert_many is atomic: inside a transaction it uses a savepoint, not its own COMMIT.
    let n = Number::insert_many(&tx, &batch)?;
    let inside = Number::count().get(&tx)?;
    let outside = Number::count().get(&observer)?;
    println!(
        "inside the caller's transaction: inserted 1 + {n} rows; the transaction sees {inside} \
         rows, another connection still sees {outside}"
    );
    check(inside == outside_before + 11, || {
        format!(
            "inside the transaction: {inside} rows, expected {}",
            outside_before + 11
        )
    })?;
    check(outside == outside_before, || {
        format!("the crate committed: another connection sees {outside}, expected {outside_before}")
    })?;
    check(!tx.is_autocommit(), || {
        "the transaction is no longer open: the crate ended it".into()
    })?;
    println!("the transaction is still open after the crate's calls (is_autocommit() = false)");

    tx.rollback()?;
    let after = Number::count().get(&conn)?;
    println!("the caller rolled it back: count is {after} again, the 11 rows are gone");
    check(after == outside_before, || {
        format!("after rollback: {after} rows, expected {outside_before}")
    })?;
    let leftover = Number::count()
        .filter(Number::id.between(2_000_001, 2_000_011))
        .get(&observer)?;
    check(leftover == 0, || {
        format!("{leftover} rolled-back rows survived")
    })?;
    println!(
        "the crate never committed it: use this to put doctable writes inside your own unit of work"
    );
    Ok(())
}
