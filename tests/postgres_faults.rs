//! Faults on PostgreSQL (issue 11): a server restart while four writers run,
//! and a client killed with SIGKILL in the middle of `insert_many`.
//!
//! The restart test never touches the shared server: it makes a private
//! throwaway cluster (`initdb` into a temporary directory, run as the
//! `postgres` OS user when the test runs as root, since `initdb` refuses
//! root), on a free loopback port with trust auth, and removes it at the end,
//! also when the test panics. The SIGKILL test runs on the shared server
//! (`DOCTABLE_PG`) in a schema of its own.
//!
//! Needs the `postgres` feature. Without the PostgreSQL server binaries (for
//! the restart test) or a server (for the kill test) each test prints one
//! line and passes, unless `DOCTABLE_REQUIRE_PG` is set: then it fails.
#![cfg(feature = "postgres")]

#[allow(unused_macros)]
#[macro_use]
#[path = "support/backends.rs"]
mod backends;
#[path = "support/pg_cluster.rs"]
mod pg_cluster;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use backends::{PgSchema, TestResult};
use doctable::postgres::{Persistent, Pool};
use doctable::{Conn, DocTable, Error};
use pg_cluster::PrivateCluster;

/// One written row: `n` is unique across every writer; rows written by one
/// `insert_many` share `batch` (single inserts have `batch = 0`).
#[derive(DocTable, Debug, Clone, PartialEq)]
struct Written {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(unique)]
    n: i64,
    #[doctable(index)]
    batch: i64,
    writer: i64,
}

/// Rows per `insert_many` batch.
const BATCH: i64 = 20;

// ---------------------------------------------------------------------------
// Server restart while four writers run.

/// The SQLSTATEs a call may fail with while the server restarts: the
/// connection was lost (08006), could not be made (08001), the server ended
/// the session (57P01 admin shutdown) or is not accepting sessions yet or any
/// more (57P03 cannot connect now).
const RESTART_CODES: [&str; 4] = ["08006", "08001", "57P01", "57P03"];

/// What one writer saw.
#[derive(Debug, Default)]
struct Seen {
    /// Every row whose insert call returned `Ok`.
    acknowledged: Vec<i64>,
    /// Batches whose `insert_many` returned `Ok`.
    acknowledged_batches: Vec<i64>,
    /// Every error: (SQLSTATE, Display text).
    errors: Vec<(String, String)>,
    /// Calls that succeeded after the restart had finished.
    ok_after_restart: usize,
}

/// One writer: alternately a single insert and an `insert_many` batch of
/// [`BATCH`] rows, until `stop`; `n` values are `writer * 10^9 + i`.
fn write_until<C: Conn<Backend = doctable::Postgres>>(
    db: &C,
    writer: i64,
    stop: &AtomicBool,
    restarted: &AtomicBool,
) -> Seen {
    let mut seen = Seen::default();
    let mut next = writer * 1_000_000_000;
    let mut call = 0_i64;
    while !stop.load(Ordering::Acquire) {
        call += 1;
        let after_restart = restarted.load(Ordering::Acquire);
        let result = if call % 2 == 0 {
            let row = Written {
                id: None,
                n: next,
                batch: 0,
                writer,
            };
            next += 1;
            Written::insert(db, &row).map(|_| vec![row.n])
        } else {
            // Batch ids are unique too: the first n of the batch, plus one (never 0).
            let batch = next + 1;
            let rows: Vec<Written> = (0..BATCH)
                .map(|i| Written {
                    id: None,
                    n: next + i,
                    batch,
                    writer,
                })
                .collect();
            next += BATCH;
            Written::insert_many(db, &rows).map(|changed| {
                assert_eq!(changed as i64, BATCH, "insert_many reported {changed} rows");
                seen.acknowledged_batches.push(batch);
                rows.iter().map(|r| r.n).collect()
            })
        };
        match result {
            Ok(ns) => {
                seen.acknowledged.extend(ns);
                if after_restart {
                    seen.ok_after_restart += 1;
                }
            }
            Err(e) => {
                let code = match &e {
                    Error::Postgres { code, .. } => code.clone(),
                    other => panic!("writer {writer}: not an Error::Postgres: {other:?}"),
                };
                seen.errors.push((code, e.to_string()));
                // Do not spin while the server is down.
                thread::sleep(Duration::from_millis(20));
            }
        }
    }
    seen
}

#[test]
fn server_restart_while_four_writers_run() -> TestResult {
    let Some(cluster) = PrivateCluster::start()? else {
        return Ok(());
    };
    let params = cluster.params();
    let setup = Persistent::connect(&params)?;
    Written::create_table(&setup)?;

    // Two writers with a Persistent each, two sharing one Pool.
    let pool = Pool::connect(&params, 2)?;
    let persistents = [Persistent::connect(&params)?, Persistent::connect(&params)?];
    let stop = Arc::new(AtomicBool::new(false));
    let restarted = Arc::new(AtomicBool::new(false));
    let running = Arc::new(AtomicUsize::new(0));
    let results: Arc<Mutex<BTreeMap<i64, Seen>>> = Arc::default();

    let mut handles = Vec::new();
    for (writer, db) in (1..).zip(persistents) {
        let (stop, restarted, running, results) = (
            Arc::clone(&stop),
            Arc::clone(&restarted),
            Arc::clone(&running),
            Arc::clone(&results),
        );
        handles.push(thread::spawn(move || {
            running.fetch_add(1, Ordering::AcqRel);
            let seen = write_until(&db, writer, &stop, &restarted);
            results
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(writer, seen);
        }));
    }
    for writer in 3..=4 {
        let (pool, stop, restarted, running, results) = (
            pool.clone(),
            Arc::clone(&stop),
            Arc::clone(&restarted),
            Arc::clone(&running),
            Arc::clone(&results),
        );
        handles.push(thread::spawn(move || {
            running.fetch_add(1, Ordering::AcqRel);
            let seen = write_until(&pool, writer, &stop, &restarted);
            results
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(writer, seen);
        }));
    }

    // Let them write, restart the server under them, let them write again.
    while running.load(Ordering::Acquire) < 4 {
        thread::sleep(Duration::from_millis(5));
    }
    thread::sleep(Duration::from_millis(500));
    let before = Written::count().get(&setup)?;
    cluster.pg_ctl("restart")?;
    restarted.store(true, Ordering::Release);
    thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::Release);
    for (i, h) in handles.into_iter().enumerate() {
        assert!(h.join().is_ok(), "writer thread {i} panicked");
    }
    let results = std::mem::take(&mut *results.lock().unwrap_or_else(|p| p.into_inner()));
    assert_eq!(results.len(), 4);

    // The setup connection sat idle through the restart: its first call may
    // fail (the client learns the session is gone only when it uses it),
    // the next one must succeed.
    if let Err(e) = Written::count().get(&setup) {
        assert!(
            matches!(&e, Error::Postgres { code, .. } if RESTART_CODES.contains(&code.as_str())),
            "idle connection after the restart: {e:?}"
        );
        println!("idle Persistent, first call after the restart: {e}");
    }
    let stored: Vec<Written> = Written::select().all(&setup)?;
    let present: BTreeSet<i64> = stored.iter().map(|r| r.n).collect();
    assert_eq!(present.len(), stored.len(), "a value stored twice");

    let mut total_errors = 0;
    let mut codes = BTreeMap::new();
    for (writer, seen) in &results {
        // Calls in flight during the restart failed with a clear error.
        for (code, text) in &seen.errors {
            assert!(
                RESTART_CODES.contains(&code.as_str()),
                "writer {writer}: unexpected SQLSTATE {code}: {text}"
            );
            assert!(
                text.contains(code) && text.len() > 20,
                "writer {writer}: an unclear error: {text}"
            );
            codes.entry(code.clone()).or_insert_with(|| text.clone());
        }
        total_errors += seen.errors.len();
        // Later calls succeeded: the strategy recovered by itself.
        assert!(
            seen.ok_after_restart >= 5,
            "writer {writer} made only {} successful calls after the restart; errors: {:?}",
            seen.ok_after_restart,
            seen.errors
        );
        // Every acknowledged row is there.
        let missing: Vec<_> = seen
            .acknowledged
            .iter()
            .filter(|n| !present.contains(n))
            .collect();
        assert!(
            missing.is_empty(),
            "writer {writer}: {} acknowledged rows missing, first {:?}",
            missing.len(),
            missing.first()
        );
    }
    assert!(
        total_errors > 0,
        "no call failed across the restart: the test did not catch any call in flight"
    );

    // No insert_many batch is partial; every acknowledged one is whole.
    let mut per_batch: BTreeMap<i64, i64> = BTreeMap::new();
    for row in stored.iter().filter(|r| r.batch != 0) {
        *per_batch.entry(row.batch).or_default() += 1;
    }
    let partial: Vec<_> = per_batch.iter().filter(|(_, n)| **n != BATCH).collect();
    assert!(
        partial.is_empty(),
        "partial batches (batch, rows): {partial:?}"
    );
    for seen in results.values() {
        for batch in &seen.acknowledged_batches {
            assert_eq!(
                per_batch.get(batch),
                Some(&BATCH),
                "acknowledged batch {batch}"
            );
        }
    }
    let acknowledged: usize = results.values().map(|s| s.acknowledged.len()).sum();
    println!(
        "restart: {before} rows before it, {} stored, {acknowledged} acknowledged, {} batches, \
         {total_errors} failed calls with SQLSTATEs {:?}",
        stored.len(),
        per_batch.len(),
        codes.keys().collect::<Vec<_>>()
    );
    for text in codes.values() {
        println!("  for example: {text}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// A client killed with SIGKILL during insert_many.

const KILL_CHILD_ENV: &str = "DOCTABLE_PG_KILL_CHILD";
const KILL_PARAMS_ENV: &str = "DOCTABLE_PG_KILL_PARAMS";
const KILL_TEST: &str = "client_killed_during_insert_many_leaves_no_partial_batch";
/// Rows per batch in the kill test: big enough that most of the child's time
/// is spent inside `insert_many`.
const KILL_BATCH: i64 = 500;
/// How many times a child is killed.
const KILLS: usize = 6;

#[test]
fn client_killed_during_insert_many_leaves_no_partial_batch() -> TestResult {
    if let Ok(child) = std::env::var(KILL_CHILD_ENV) {
        return kill_child(&child);
    }
    let Some(schema) = PgSchema::new() else {
        return Ok(());
    };
    let db = Persistent::connect(&schema.params)?;
    Written::create_table(&db)?;
    let exe = std::env::current_exe()?;
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .subsec_nanos() as u64
        | 1;
    let mut acknowledged_by_children = 0;
    let mut kills_in_transaction = 0;
    let mut watcher = schema.client();
    for k in 0..KILLS {
        let mut child = Command::new(&exe)
            .args(["--exact", KILL_TEST, "--nocapture", "--test-threads=1"])
            .env(KILL_CHILD_ENV, format!("{}-{}", std::process::id(), k + 1))
            .env(KILL_PARAMS_ENV, &schema.params)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        // Wait until the child has committed its first batch, then a random
        // 20-220 ms more, and kill it (SIGKILL).
        let stdout = child.stdout.take().ok_or("no child stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("batch ") && tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = rx.recv_timeout(Duration::from_secs(60));
        assert!(first.is_ok(), "kill child {k} committed no batch in 60 s");
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        thread::sleep(Duration::from_millis(20 + seed % 200));
        // Whether the child's session is inside a transaction (inside
        // insert_many) just before the kill.
        let in_transaction: i64 = watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE application_name = $1 AND xact_start IS NOT NULL",
                &[&format!(
                    "doctable-kill-child-{}-{}",
                    std::process::id(),
                    k + 1
                )],
            )?
            .try_get(0)?;
        child.kill()?;
        kills_in_transaction += usize::from(in_transaction > 0);
        let status = child.wait()?;
        assert!(!status.success(), "child {k} was not killed: {status}");
        let _ = reader.join();
        acknowledged_by_children += 1 + rx.try_iter().count();
    }

    // The server has ended the killed sessions' transactions; wait until no
    // session of the test schema's writers is left, then count.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left: i64 = watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE application_name LIKE $1",
                &[&format!("doctable-kill-child-{}-%", std::process::id())],
            )?
            .try_get(0)?;
        if left == 0 || Instant::now() > deadline {
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    let per_batch: Vec<(i64, i64)> = Written::select_cols((Written::batch, Written::id.count()))
        .group_by(Written::batch)
        .order_by(Written::batch)
        .all(&db)?;
    let partial: Vec<_> = per_batch.iter().filter(|(_, n)| *n != KILL_BATCH).collect();
    assert!(
        partial.is_empty(),
        "partial batches (batch, rows): {partial:?}"
    );
    assert!(
        per_batch.len() >= acknowledged_by_children,
        "{} batches stored, {acknowledged_by_children} acknowledged",
        per_batch.len()
    );
    // Most kills land inside a batch's transaction (a batch takes far longer
    // than the gap between two): at least one must have, or the test proved nothing.
    assert!(
        kills_in_transaction > 0,
        "no kill landed inside an insert_many transaction"
    );
    println!(
        "{KILLS} children killed ({kills_in_transaction} inside an open insert_many transaction): \
         {} whole batches of {KILL_BATCH} rows, none partial",
        per_batch.len()
    );
    Ok(())
}

/// A child (`tag` is `<parent pid>-<k>`): `insert_many` batches of [`KILL_BATCH`] rows in a loop until
/// killed, printing `batch <id>` after each one commits.
fn kill_child(tag: &str) -> TestResult {
    let k: i64 = tag.rsplit('-').next().unwrap_or(tag).parse()?;
    let params = std::env::var(KILL_PARAMS_ENV)?;
    let db = Persistent::connect(&format!(
        "{params} application_name=doctable-kill-child-{tag}"
    ))?;
    let mut out = std::io::stdout().lock();
    for b in 1.. {
        let batch = k * 1_000_000 + b;
        let rows: Vec<Written> = (0..KILL_BATCH)
            .map(|i| Written {
                id: None,
                n: batch * 10_000 + i,
                batch,
                writer: k,
            })
            .collect();
        Written::insert_many(&db, &rows)?;
        writeln!(out, "batch {batch}")?;
        out.flush()?;
    }
    Ok(())
}
