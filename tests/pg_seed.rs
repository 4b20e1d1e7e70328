//! The seed's scenario on PostgreSQL (issue 11), at CI size: two processes
//! insert row by row (each with its own `postgres::Persistent`, each insert
//! its own autocommit transaction) while eight threads insert row by row on
//! one shared `postgres::Pool`, all at the same time, into one table. Every
//! writer finishes without error and the table holds exactly the rows
//! written, each once.
//!
//! A child process is this test binary re-executed with
//! `DOCTABLE_PG_SEED_CHILD=<first-n>:<count>` and `DOCTABLE_PG_SEED_PARAMS`
//! (the test schema's connection parameters). Needs the `postgres` feature;
//! without a server it skips (one line), unless `DOCTABLE_REQUIRE_PG` is set.
#![cfg(feature = "postgres")]

#[allow(unused_macros)]
#[macro_use]
#[path = "support/backends.rs"]
mod backends;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use backends::{PgSchema, TestResult};
use doctable::DocTable;
use doctable::postgres::{Persistent, Pool};

#[derive(DocTable, Debug, Clone, PartialEq)]
struct Seed {
    #[doctable(primary_key)]
    id: Option<i64>,
    /// Unique across every writer: `writer * PER_WRITER + i`.
    #[doctable(unique)]
    n: i64,
    who: String,
}

const CHILD_ENV: &str = "DOCTABLE_PG_SEED_CHILD";
const PARAMS_ENV: &str = "DOCTABLE_PG_SEED_PARAMS";
const TEST_NAME: &str = "two_processes_and_eight_pool_threads_insert_at_once";
const PROCESSES: i64 = 2;
const THREADS: i64 = 8;
/// Rows per writer (process or thread), at CI size.
const PER_WRITER: i64 = 500;

#[test]
fn two_processes_and_eight_pool_threads_insert_at_once() -> TestResult {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        return child(&spec);
    }
    let Some(schema) = PgSchema::new() else {
        return Ok(());
    };
    let setup = Persistent::connect(&schema.params)?;
    Seed::create_table(&setup)?;
    drop(setup);

    let exe = std::env::current_exe()?;
    let mut children = Vec::new();
    for p in 0..PROCESSES {
        let child = Command::new(&exe)
            .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, format!("{}:{PER_WRITER}", p * PER_WRITER))
            .env(PARAMS_ENV, &schema.params)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        children.push(child);
    }

    let pool = Arc::new(Pool::connect(&schema.params, THREADS as u32)?);
    let start = Arc::new(Barrier::new(THREADS as usize + 1));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let pool = Arc::clone(&pool);
            let start = Arc::clone(&start);
            thread::spawn(move || -> Result<(), String> {
                start.wait();
                let first = (PROCESSES + t) * PER_WRITER;
                for n in first..first + PER_WRITER {
                    let row = Seed {
                        id: None,
                        n,
                        who: format!("thread {t}"),
                    };
                    Seed::insert(&*pool, &row).map_err(|e| format!("thread {t}, n {n}: {e}"))?;
                }
                Ok(())
            })
        })
        .collect();
    // The processes wait for a byte on stdin, the threads for the barrier: all start together.
    for child in &mut children {
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(b"g")?;
        }
    }
    start.wait();
    let clock = Instant::now();

    for (t, handle) in threads.into_iter().enumerate() {
        match handle.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("pool writer failed: {e}"),
            Err(_) => panic!("pool writer thread {t} panicked"),
        }
    }
    for (p, mut child) in children.into_iter().enumerate() {
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if Instant::now() > deadline {
                child.kill()?;
                panic!("process writer {p} did not finish within 120 s");
            }
            thread::sleep(Duration::from_millis(20));
        };
        let mut stdout = String::new();
        let mut stderr = String::new();
        if let Some(mut out) = child.stdout.take() {
            out.read_to_string(&mut stdout)?;
        }
        if let Some(mut err) = child.stderr.take() {
            err.read_to_string(&mut stderr)?;
        }
        assert!(
            status.success() && stdout.contains("seed child done"),
            "process writer {p} failed ({status}):\n{stdout}\n{stderr}"
        );
    }
    let elapsed = clock.elapsed();

    let total = (PROCESSES + THREADS) * PER_WRITER;
    assert_eq!(Seed::count().get(&*pool)?, total);
    // Each value exactly once: n is unique, and every n in range is there.
    let ns = Seed::select_cols(Seed::n).order_by(Seed::n).all(&*pool)?;
    assert_eq!(ns, (0..total).collect::<Vec<_>>());
    let per_writer: Vec<(String, i64)> = Seed::select_cols((Seed::who, Seed::id.count()))
        .group_by(Seed::who)
        .order_by(Seed::who)
        .all(&*pool)?;
    assert_eq!(per_writer.len() as i64, PROCESSES + THREADS);
    assert!(
        per_writer.iter().all(|(_, n)| *n == PER_WRITER),
        "{per_writer:?}"
    );
    println!(
        "{total} rows by {PROCESSES} processes and {THREADS} pool threads in {:.2} s",
        elapsed.as_secs_f64()
    );
    Ok(())
}

/// A writer process: its own `Persistent`, one autocommit insert per row.
fn child(spec: &str) -> TestResult {
    let (first, count) = spec
        .split_once(':')
        .ok_or_else(|| format!("bad {CHILD_ENV}={spec:?}"))?;
    let (first, count): (i64, i64) = (first.parse()?, count.parse()?);
    let params = std::env::var(PARAMS_ENV)?;
    let db = Persistent::connect(&params)?;
    let mut go = [0_u8; 1];
    std::io::stdin().read_exact(&mut go)?;
    for n in first..first + count {
        let row = Seed {
            id: None,
            n,
            who: format!("process {}", first / PER_WRITER),
        };
        Seed::insert(&db, &row).map_err(|e| format!("process, n {n}: {e}"))?;
    }
    println!("seed child done");
    Ok(())
}
