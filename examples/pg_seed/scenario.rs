//! The seed's scenario on PostgreSQL, shared by `examples/pg_seed` (sizes from
//! its arguments) and `tests/pg_seed.rs` (CI size): two processes insert row
//! by row, each with its own `postgres::Persistent` (every insert its own
//! autocommit transaction), while eight threads insert row by row on one
//! shared `postgres::Pool`, all at the same time, into one table. Every
//! writer must finish without error, and the table must then hold exactly the
//! rows written, each once.
//!
//! A writer process is started by the caller's `child_command` (the example
//! re-runs itself, the test re-runs its test binary); it runs [`child`],
//! waits for one byte on stdin (so every writer starts together), and prints
//! [`CHILD_DONE`] when it is done.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use doctable::DocTable;
use doctable::postgres::{Persistent, Pool};

/// What this module's functions fail with.
pub type BoxError = Box<dyn std::error::Error>;

/// One written row.
#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "seed")]
pub struct Seed {
    #[doctable(primary_key)]
    pub id: Option<i64>,
    /// Unique across every writer: writer `w` writes `w * per_writer ..`.
    #[doctable(unique)]
    pub n: i64,
    /// `process <p>` or `thread <t>`.
    pub who: String,
}

/// How many writers, and how many rows each writes.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Writer processes, each with its own `Persistent`.
    pub processes: i64,
    /// Writer threads on one shared `Pool` (of as many connections).
    pub threads: i64,
    /// Rows each writer inserts, one statement (and transaction) each.
    pub per_writer: i64,
}

impl Sizes {
    /// Every row written.
    pub fn total(&self) -> i64 {
        (self.processes + self.threads) * self.per_writer
    }
}

/// What a run measured.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    /// The rows in the table afterwards (checked equal to [`Sizes::total`]).
    pub rows: i64,
    /// From the common start to the last writer's end.
    pub elapsed: Duration,
}

impl Outcome {
    /// Rows written per second, all writers together.
    pub fn rows_per_second(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// What a writer process prints when it has written every row.
pub const CHILD_DONE: &str = "seed child done";

/// Runs the scenario on the server and schema `params` reaches: creates the
/// table, starts the writers, checks the exact count and that every value is
/// there once. `child_command(process, first, count)` makes the command of a
/// writer process (which must end up calling [`child`]).
pub fn run(
    params: &str,
    sizes: Sizes,
    child_command: impl Fn(i64, i64, i64) -> Command,
) -> Result<Outcome, BoxError> {
    let setup = Persistent::connect(params)?;
    Seed::create_table(&setup)?;
    drop(setup);
    let per = sizes.per_writer;

    let mut children = Vec::new();
    for p in 0..sizes.processes {
        let child = child_command(p, p * per, per)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        children.push(child);
    }

    let pool = Arc::new(Pool::connect(params, sizes.threads.max(1) as u32)?);
    let start = Arc::new(Barrier::new(sizes.threads as usize + 1));
    let threads: Vec<_> = (0..sizes.threads)
        .map(|t| {
            let pool = Arc::clone(&pool);
            let start = Arc::clone(&start);
            thread::spawn(move || -> Result<(), String> {
                start.wait();
                let first = (sizes.processes + t) * per;
                for n in first..first + per {
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
    // The processes wait for a byte on stdin, the threads for the barrier:
    // all start together.
    for child in &mut children {
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(b"g")?;
        }
    }
    start.wait();
    let clock = Instant::now();

    let mut failures = Vec::new();
    for (t, handle) in threads.into_iter().enumerate() {
        match handle.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(format!("pool writer failed: {e}")),
            Err(_) => failures.push(format!("pool writer thread {t} panicked")),
        }
    }
    for (p, mut child) in children.into_iter().enumerate() {
        let deadline = Instant::now() + Duration::from_secs(600);
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if Instant::now() > deadline {
                child.kill()?;
                return Err(format!("process writer {p} did not finish within 600 s").into());
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
        if !(status.success() && stdout.contains(CHILD_DONE)) {
            failures.push(format!(
                "process writer {p} failed ({status}):\n{stdout}\n{stderr}"
            ));
        }
    }
    let elapsed = clock.elapsed();
    if !failures.is_empty() {
        return Err(failures.join("\n").into());
    }

    let total = sizes.total();
    let rows = Seed::count().get(&*pool)?;
    if rows != total {
        return Err(format!("{rows} rows in the table, {total} written").into());
    }
    // Each value exactly once: n is unique, and every n in range is there.
    let ns = Seed::select_cols(Seed::n).order_by(Seed::n).all(&*pool)?;
    if ns != (0..total).collect::<Vec<_>>() {
        return Err("the values written are not each there once".into());
    }
    let per_writer: Vec<(String, i64)> = Seed::select_cols((Seed::who, Seed::id.count()))
        .group_by(Seed::who)
        .order_by(Seed::who)
        .all(&*pool)?;
    if per_writer.len() as i64 != sizes.processes + sizes.threads
        || per_writer.iter().any(|(_, n)| *n != per)
    {
        return Err(format!("rows per writer: {per_writer:?}").into());
    }
    Ok(Outcome { rows, elapsed })
}

/// A writer process: its own `Persistent`, one autocommit insert per row of
/// `first .. first + count`, after one byte on stdin; prints [`CHILD_DONE`].
pub fn child(params: &str, process: i64, first: i64, count: i64) -> Result<(), BoxError> {
    let db = Persistent::connect(params)?;
    let mut go = [0_u8; 1];
    std::io::stdin().read_exact(&mut go)?;
    for n in first..first + count {
        let row = Seed {
            id: None,
            n,
            who: format!("process {process}"),
        };
        Seed::insert(&db, &row).map_err(|e| format!("process {process}, n {n}: {e}"))?;
    }
    println!("{CHILD_DONE}");
    Ok(())
}
