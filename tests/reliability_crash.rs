//! Crash atomicity: a writer process killed with SIGKILL at random moments.
//!
//! A child process (this test binary re-executed with `DOCTABLE_CRASH_CHILD`)
//! loops forever: an `insert_many` of a large batch, an `update` of a whole
//! earlier batch, a two-statement `transaction` on a pair of counters, and a
//! `delete` of the oldest batches beyond `MAX_LIVE`. It reports each step on stdout
//! after it returns. The parent kills it with SIGKILL at a random moment (often
//! inside a batch), reopens the file and checks:
//!
//! - `PRAGMA integrity_check` is `ok`;
//! - every batch is entirely present (`BATCH` rows, positions `0..BATCH`) or
//!   entirely absent, and its rows share one `value` (an update is all or nothing);
//! - the pair's two counters are equal (a transaction is all or nothing);
//! - nothing reported as committed is lost: every batch the child reported
//!   inserted (and had not begun to delete) is there, every reported delete
//!   stayed deleted, and no reported update or counter step went backwards.
//!
//! CI runs `KILLS` = 50 kills; `DOCTABLE_RELIABILITY_SCALE=n` runs 50 x n, and
//! `DOCTABLE_RELIABILITY_SEED` repeats a run's kill times (the seed is printed).

mod reliability_support;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use doctable::{Conn, DocTable, PerQuery, Persistent};
use reliability_support::{
    Rng, TestResult, child_command, integrity_check, scale, seed, stream_lines,
};

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "items")]
struct Item {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(index)]
    batch: i64,
    pos: i64,
    value: i64,
    payload: String,
}

/// Two counters that one transaction increments with two statements.
#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "pair")]
struct Pair {
    #[doctable(primary_key)]
    id: Option<i64>,
    left: i64,
    right: i64,
}

/// Rows per `insert_many` (about 100 KiB of payload).
const BATCH: i64 = 1_000;
/// The child deletes its oldest batches when more than this many are present.
const MAX_LIVE: usize = 6;
const CHILD_ENV: &str = "DOCTABLE_CRASH_CHILD";
const TEST: &str = "sigkill_at_random_moments_leaves_whole_batches";

fn payload(batch: i64, pos: i64) -> String {
    format!("batch {batch:>8} position {pos:>5} ").repeat(3)
}

// ---------------------------------------------------------------------------
// The child: writes until it is killed.

fn child(spec: &str) -> TestResult {
    let Some((strategy, path)) = spec.split_once(',') else {
        return Err(format!("bad {CHILD_ENV}={spec:?}").into());
    };
    let seed: u64 = std::env::var("DOCTABLE_CRASH_CHILD_SEED")?.parse()?;
    match strategy {
        "persistent" => child_loop(&Persistent::open(Path::new(path))?, seed),
        "per_query" => child_loop(&PerQuery::open(Path::new(path))?, seed),
        other => Err(format!("unknown strategy {other}").into()),
    }
}

fn child_loop(db: &impl Conn, seed: u64) -> TestResult {
    let mut rng = Rng::new(seed);
    let mut batch = Item::select_cols(Item::batch.max())
        .first(db)?
        .flatten()
        .map_or(0, |b| b + 1);
    // New values are above every value present, so a batch's value only grows.
    let mut op = Item::select_cols(Item::value.max())
        .first(db)?
        .flatten()
        .unwrap_or(0)
        + 1;
    // libtest has printed "test <name> ... " without a newline: start a line.
    println!("\nREADY");
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let rows: Vec<Item> = (0..BATCH)
            .map(|pos| Item {
                id: None,
                batch,
                pos,
                value: 0,
                payload: payload(batch, pos),
            })
            .collect();
        println!("INSERTING {batch}");
        Item::insert_many(db, &rows)?;
        println!("INSERTED {batch}");

        let live: Vec<i64> = Item::select_cols(Item::batch)
            .distinct()
            .order_by(Item::batch)
            .all(db)?;
        if !live.is_empty() {
            let pick = live[rng.range(0, live.len() as u64 - 1) as usize];
            Item::update()
                .set(Item::value, op)
                .filter(Item::batch.eq(pick))
                .run(db)?;
            println!("UPDATED {pick} {op}");
            op += 1;
        }

        let left = db.atomic(|tx| {
            Pair::update()
                .set(Pair::left, Pair::left + 1)
                .all_rows()
                .run(tx)?;
            Pair::update()
                .set(Pair::right, Pair::right + 1)
                .all_rows()
                .run(tx)?;
            Ok(Pair::select_cols(Pair::left).first(tx)?.unwrap_or(-1))
        })?;
        println!("PAIR {left}");

        // Keep the newest MAX_LIVE batches; the older ones go in one delete.
        if live.len() > MAX_LIVE {
            let old = &live[..live.len() - MAX_LIVE];
            let cutoff = old[old.len() - 1];
            for b in old {
                println!("DELETING {b}");
            }
            Item::delete().filter(Item::batch.le(cutoff)).run(db)?;
            for b in old {
                println!("DELETED {b}");
            }
        }
        batch += 1;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The parent: kills, reopens, checks.

/// What the children have reported, over all runs.
#[derive(Default)]
struct Reported {
    inserted: BTreeSet<i64>,
    deleting: BTreeSet<i64>,
    deleted: BTreeSet<i64>,
    /// The last value each batch was reported updated to.
    updated: BTreeMap<i64, i64>,
    pair: i64,
}

#[derive(Default, Debug)]
struct Figures {
    kills: u64,
    kills_after_ready: u64,
    kills_inside_insert: u64,
    inside_insert_rolled_back: u64,
    inside_insert_committed: u64,
    batches_reported: u64,
    updates_reported: u64,
    max_rows: i64,
}

#[test]
fn sigkill_at_random_moments_leaves_whole_batches() -> TestResult {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        return child(&spec);
    }
    let kills = 50 * scale();
    let seed = seed();
    eprintln!("crash test: {kills} kills, DOCTABLE_RELIABILITY_SEED={seed}");
    let mut rng = Rng::new(seed);

    let dir = tempfile::tempdir()?;
    let path = dir.path().join("crash.db");
    {
        let db = Persistent::open(&path)?;
        Item::create_table(&db)?;
        Pair::create_table(&db)?;
        Pair::insert(
            &db,
            &Pair {
                id: Some(1),
                left: 0,
                right: 0,
            },
        )?;
    }

    let mut reported = Reported::default();
    let mut figures = Figures::default();
    let clock = Instant::now();
    for round in 0..kills {
        let strategy = if round % 4 == 3 {
            "per_query"
        } else {
            "persistent"
        };
        let mut cmd = child_command(
            TEST,
            &[
                (CHILD_ENV, format!("{strategy},{}", path.display())),
                ("DOCTABLE_CRASH_CHILD_SEED", rng.next_u64().to_string()),
            ],
        )?;
        let mut child = cmd.spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let lines = stream_lines(stdout);
        let mut seen = Vec::new();

        // One kill in six lands in the first milliseconds (process start, open,
        // WAL recovery); the others at a random time after the child is writing.
        if rng.range(0, 5) == 0 {
            std::thread::sleep(Duration::from_millis(rng.range(0, 30)));
        } else {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                match lines.recv_timeout(Duration::from_millis(50)) {
                    Ok(line) => {
                        let ready = line.contains("READY");
                        seen.push(line);
                        if ready {
                            break;
                        }
                    }
                    Err(RecvTimeoutError::Timeout) if Instant::now() < deadline => {
                        if let Some(status) = child.try_wait()? {
                            return Err(child_failed(round, status, &mut child, &seen));
                        }
                    }
                    Err(_) => {
                        let _ = child.kill();
                        let _ = child.wait();
                        return Err(format!("round {round}: the child never became ready").into());
                    }
                }
            }
            figures.kills_after_ready += 1;
            std::thread::sleep(Duration::from_millis(rng.range(0, 150)));
        }
        if let Some(status) = child.try_wait()? {
            return Err(child_failed(round, status, &mut child, &seen));
        }
        child.kill()?; // SIGKILL
        let status = child.wait()?;
        assert_eq!(
            status.signal(),
            Some(9),
            "round {round}: child ended by SIGKILL"
        );
        figures.kills += 1;
        seen.extend(lines.iter()); // ends when the dead child's pipe closes

        // What the child said it had done before it died.
        let mut in_flight = None;
        for line in &seen {
            let words: Vec<&str> = line.split_whitespace().collect();
            let num = |i: usize| words.get(i).and_then(|w| w.parse::<i64>().ok());
            match (words.first().copied(), num(1), num(2)) {
                (Some("INSERTING"), Some(b), _) => in_flight = Some(b),
                (Some("INSERTED"), Some(b), _) => {
                    in_flight = None;
                    reported.inserted.insert(b);
                    figures.batches_reported += 1;
                }
                (Some("UPDATED"), Some(b), Some(v)) => {
                    reported.updated.insert(b, v);
                    figures.updates_reported += 1;
                }
                (Some("PAIR"), Some(n), _) => reported.pair = reported.pair.max(n),
                (Some("DELETING"), Some(b), _) => {
                    reported.deleting.insert(b);
                }
                (Some("DELETED"), Some(b), _) => {
                    reported.deleted.insert(b);
                }
                _ => {}
            }
        }

        let present = check_file(&path, &reported, round)?;
        if let Some(b) = in_flight {
            figures.kills_inside_insert += 1;
            if present.contains(&b) {
                figures.inside_insert_committed += 1;
            } else {
                figures.inside_insert_rolled_back += 1;
            }
        }
        figures.max_rows = figures.max_rows.max(present.len() as i64 * BATCH);
    }
    let elapsed = clock.elapsed();
    eprintln!(
        "crash test: {figures:?}, rows lost 0, in {:.1} s",
        elapsed.as_secs_f64()
    );
    assert_eq!(figures.kills, kills);
    assert!(
        figures.batches_reported > 0 && figures.updates_reported > 0,
        "the children never got to write: {figures:?}"
    );
    assert!(
        figures.kills_inside_insert > 0,
        "no kill landed inside an insert_many: {figures:?}"
    );
    Ok(())
}

/// Reopens the file after a kill and checks every invariant; returns the batches present.
fn check_file(path: &Path, reported: &Reported, round: u64) -> Result<BTreeSet<i64>, String> {
    let fail = |what: String| format!("round {round}: {what}");
    let integrity = integrity_check(path).map_err(|e| fail(e.to_string()))?;
    if integrity != "ok" {
        return Err(fail(format!("integrity_check: {integrity}")));
    }
    let db = Persistent::open(path).map_err(|e| fail(e.to_string()))?;
    let groups = Item::select_cols((
        Item::batch,
        Item::id.count(),
        Item::pos.count_distinct(),
        Item::pos.min(),
        Item::pos.max(),
        Item::value.min(),
        Item::value.max(),
    ))
    .group_by(Item::batch)
    .order_by(Item::batch)
    .all(&db)
    .map_err(|e| fail(e.to_string()))?;
    let mut present = BTreeSet::new();
    for (batch, rows, positions, lo, hi, vmin, vmax) in groups {
        if rows != BATCH || positions != BATCH || lo != Some(0) || hi != Some(BATCH - 1) {
            return Err(fail(format!(
                "batch {batch} is partial: {rows} rows, {positions} positions {lo:?}..={hi:?}"
            )));
        }
        if vmin != vmax {
            return Err(fail(format!(
                "batch {batch} is partly updated: values {vmin:?}..={vmax:?}"
            )));
        }
        if let Some(&v) = reported.updated.get(&batch)
            && vmin < Some(v)
        {
            return Err(fail(format!(
                "batch {batch}: the update to {v} was reported but the value is {vmin:?}"
            )));
        }
        present.insert(batch);
    }
    let lost: Vec<i64> = reported
        .inserted
        .difference(&reported.deleting)
        .filter(|b| !present.contains(b))
        .copied()
        .collect();
    if !lost.is_empty() {
        return Err(fail(format!(
            "batches reported committed are missing: {lost:?}"
        )));
    }
    let undeleted: Vec<i64> = reported.deleted.intersection(&present).copied().collect();
    if !undeleted.is_empty() {
        return Err(fail(format!(
            "batches reported deleted are back: {undeleted:?}"
        )));
    }
    let pair = Pair::get(&db, 1).map_err(|e| fail(e.to_string()))?;
    match pair {
        Some(Pair { left, right, .. }) if left == right && left >= reported.pair => {}
        other => {
            return Err(fail(format!(
                "pair {other:?}: the counters differ or went back below {}",
                reported.pair
            )));
        }
    }
    Ok(present)
}

fn child_failed(
    round: u64,
    status: std::process::ExitStatus,
    child: &mut std::process::Child,
    seen: &[String],
) -> Box<dyn std::error::Error> {
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
    format!(
        "round {round}: the child exited by itself ({status}) before it was killed\n\
         stdout:\n{}\nstderr:\n{stderr}",
        seen.join("\n")
    )
    .into()
}
