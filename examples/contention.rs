//! Long-running measurements behind BENCHMARKS.md's "Connections under load"
//! rows (examples, not tests: they time things):
//!
//! - `cargo run --release --example contention -- readers [secs]`: read
//!   throughput (filtered selects and gets) of 1, 2 and 4 threads on a
//!   `Pool` against an `Arc<Persistent>`, each measurement in a fresh process.
//! - `cargo run --release --example contention -- writers [secs] [rounds]
//!   [modes]`: 1, 2, 4 and 8 processes inserting row by row into one file:
//!   aggregate rows per second and the p50, p99 and largest single-insert
//!   latency over all writers, medians of `rounds` runs. `modes`, comma
//!   separated (default `queue`): `queue`, the crate's writer queue
//!   (`Options::writer_queue(true)`); `off`, the crate's busy handler alone
//!   (the default options); `sqlite`, SQLite's own busy handler (the oldest
//!   figures). The modes take turns within each round.
//! - `cargo run --release --example contention -- perquery_wal [n]`: `n`
//!   (default 100,000) `PerQuery` inserts, and the largest size the `-wal`
//!   file reached.
//! - `cargo run --release --example contention -- single_inserts [n] [queue|off]`:
//!   `n` (default 1,000) single-row inserts on one `Persistent` with the
//!   writer queue or without, µs an insert (and, under callgrind, its
//!   instructions).
//! - `cargo run --release --example contention -- perquery_get [n]`: `n`
//!   (default 1,000) gets by key through a `PerQuery`, minimum and median.
//!
//! Files go to `$TMPDIR`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use doctable::{Conn, DocTable, PerQuery, Persistent, Pool};

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "docs")]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    title: String,
    body: String,
    #[doctable(index)]
    score: f64,
    #[doctable(index)]
    year: i64,
}

fn doc(i: usize) -> Doc {
    Doc {
        id: None,
        title: format!("title {i}"),
        body: "body text ".repeat(20),
        score: (i as f64 * 0.618).fract(),
        year: 1950 + (i % 70) as i64,
    }
}

fn fresh(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join("doctable-contention");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    for suffix in ["", "-wal", "-shm", "-writer", "-writer-starving"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    path
}

/// Filtered selects and gets for `secs`: operations done.
fn read_for<C: Conn<Backend = doctable::Sqlite>>(db: &C, secs: f64, seed: usize) -> usize {
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let mut ops = 0;
    let mut i = seed;
    while Instant::now() < end {
        i = i
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        if ops % 2 == 0 {
            let year = 1950 + (i >> 33) as i64 % 70;
            let rows = Doc::select()
                .filter(Doc::year.eq(year).and(Doc::score.lt(0.3)))
                .limit(20)
                .all(db)
                .unwrap();
            std::hint::black_box(rows);
        } else {
            let key = 1 + (i >> 33) as i64 % 20_000;
            std::hint::black_box(Doc::get(db, key).unwrap());
        }
        ops += 1;
    }
    ops
}

fn readers(secs: f64) {
    let path = fresh("readers.db");
    {
        let db = Persistent::open(&path).unwrap();
        Doc::create_table(&db).unwrap();
        let docs: Vec<Doc> = (0..20_000).map(doc).collect();
        Doc::insert_many(&db, &docs).unwrap();
    }
    println!("load average before: {}", load_average());
    println!("| threads | Arc<Persistent> ops/s | vs 1 thread | Pool ops/s | vs 1 thread |");
    println!("|---:|---:|---:|---:|---:|");
    let exe = std::env::current_exe().unwrap();
    // Each measurement a fresh process (one strategy, one thread count), so
    // neither strategy's connections share a process with the other's;
    // 3 rounds, the two strategies alternating which goes first.
    let measure = |strategy: &str, threads: usize| -> f64 {
        let out = std::process::Command::new(&exe)
            .arg("reader-child")
            .arg(&path)
            .arg(strategy)
            .arg(threads.to_string())
            .arg(secs.to_string())
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let (mut base_p, mut base_q) = (0.0, 0.0);
    for threads in [1usize, 2, 4] {
        let mut p = Vec::new();
        let mut q = Vec::new();
        for round in 0..3 {
            if round % 2 == 0 {
                p.push(measure("persistent", threads));
                q.push(measure("pool", threads));
            } else {
                q.push(measure("pool", threads));
                p.push(measure("persistent", threads));
            }
        }
        let (p, q) = (median(p), median(q));
        if threads == 1 {
            (base_p, base_q) = (p, q);
        }
        println!(
            "| {threads} | {p:.0} | {:.2} | {q:.0} | {:.2} |",
            p / base_p,
            q / base_q
        );
    }
    println!("load average after: {}", load_average());
}

/// One reader measurement in its own process: `threads` threads on one
/// strategy for `secs` (after a warm-up of a quarter of that); prints ops/s.
fn reader_child(path: &Path, strategy: &str, threads: usize, secs: f64) {
    let rate = match strategy {
        "persistent" => {
            let db = Arc::new(Persistent::open(path).unwrap());
            read_for(&*db, secs / 4.0, 1);
            run_threads(threads, secs, |seed| read_for(&*db, secs, seed))
        }
        "pool" => {
            let db = Pool::open_sized(path, &doctable::Options::new(), threads).unwrap();
            // Warm as many connections as there will be threads.
            run_threads(threads, secs / 4.0, |seed| read_for(&db, secs / 4.0, seed));
            run_threads(threads, secs, |seed| read_for(&db, secs, seed))
        }
        other => panic!("unknown strategy {other}"),
    };
    println!("{rate}");
}

/// The first three fields of /proc/loadavg.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn run_threads(threads: usize, secs: f64, f: impl Fn(usize) -> usize + Sync) -> f64 {
    let total: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let f = &f;
                s.spawn(move || f(t * 7919 + 1))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    total as f64 / secs
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

/// A writer process: inserts row by row for `secs`, prints its latencies
/// (µs). `mode`: `queue` (`Options::writer_queue(true)`), `off` (the default
/// options: the crate's busy handler alone), `sqlite` (SQLite's busy
/// handler, no queue).
fn writer_child(path: &Path, secs: f64, start_at: u128, mode: &str) {
    let options = doctable::Options::new().writer_queue(mode == "queue");
    let db = Persistent::open_with(path, &options).unwrap();
    if mode == "sqlite" {
        // SQLite's own busy handler (sleeps of up to 100 ms), as before the
        // crate had its own: the comparison row.
        db.with_rusqlite(|c| c.busy_timeout(Duration::from_secs(5)))
            .unwrap()
            .unwrap();
    }
    // All writers start together.
    while now_ms() < start_at {
        std::thread::sleep(Duration::from_micros(200));
    }
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let mut lat = Vec::new();
    let mut i = 0;
    while Instant::now() < end {
        let t = Instant::now();
        Doc::insert(&db, &doc(i)).unwrap();
        lat.push(t.elapsed().as_micros() as u64);
        i += 1;
    }
    let text: Vec<String> = lat.iter().map(u64::to_string).collect();
    println!("{}", text.join(" "));
}

fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

/// One run: `procs` writer processes in `mode` for `secs`: rows/s and the
/// p50, p99 (µs) and largest (ms) latency over all their inserts.
fn writers_once(procs: usize, secs: f64, mode: &str) -> [f64; 4] {
    let exe = std::env::current_exe().unwrap();
    let path = fresh(&format!("writers-{procs}.db"));
    {
        let db = Persistent::open(&path).unwrap();
        Doc::create_table(&db).unwrap();
    }
    let start_at = now_ms() + 500;
    let children: Vec<_> = (0..procs)
        .map(|_| {
            std::process::Command::new(&exe)
                .arg("writer-child")
                .arg(&path)
                .arg(secs.to_string())
                .arg(start_at.to_string())
                .arg(mode)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut lat: Vec<u64> = Vec::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success());
        lat.extend(
            String::from_utf8(out.stdout)
                .unwrap()
                .split_whitespace()
                .map(|n| n.parse::<u64>().unwrap()),
        );
    }
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() - 1) as f64 * p).round() as usize] as f64;
    [
        lat.len() as f64 / secs,
        pct(0.5),
        pct(0.99),
        *lat.last().unwrap() as f64 / 1000.0,
    ]
}

/// `writers [secs] [rounds] [modes]`: for 1, 2, 4 and 8 processes, `rounds`
/// runs of each mode (comma-separated, default `queue`; see `writer_child`),
/// the modes taking turns within a round; the median of each figure.
fn writers(secs: f64, rounds: usize, modes: &[&str]) {
    println!("load average before: {}", load_average());
    let counts = [1usize, 2, 4, 8];
    // results[mode][count] = one [rate, p50, p99, largest] per round
    let mut results = vec![vec![Vec::new(); counts.len()]; modes.len()];
    for (c, &procs) in counts.iter().enumerate() {
        for round in 0..rounds {
            for k in 0..modes.len() {
                let m = (k + round) % modes.len();
                results[m][c].push(writers_once(procs, secs, modes[m]));
            }
        }
    }
    for (m, mode) in modes.iter().enumerate() {
        println!("\nmode `{mode}` ({rounds} runs of {secs} s each, medians)");
        println!(
            "| processes | rows/s (all writers) | vs 1 writer | p50 µs | p99 µs | largest ms |"
        );
        println!("|---:|---:|---:|---:|---:|---:|");
        let med = |c: usize, i: usize| median(results[m][c].iter().map(|r| r[i]).collect());
        let one = med(0, 0);
        for (c, procs) in counts.iter().enumerate() {
            println!(
                "| {procs} | {:.0} | {:.2} | {:.0} | {:.0} | {:.1} |",
                med(c, 0),
                med(c, 0) / one,
                med(c, 1),
                med(c, 2),
                med(c, 3)
            );
        }
    }
    println!("load average after: {}", load_average());
}

fn perquery_wal(n: usize) {
    let path = fresh("perquery.db");
    let db = PerQuery::open(&path).unwrap();
    Doc::create_table(&db).unwrap();
    let wal = format!("{}-wal", path.display());
    let mut largest = 0;
    let started = Instant::now();
    for i in 0..n {
        Doc::insert(&db, &doc(i)).unwrap();
        largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
    }
    let took = started.elapsed();
    let reader = Persistent::open(&path).unwrap();
    let count = Doc::count().get(&reader).unwrap();
    assert_eq!(count, n as i64);
    println!(
        "{n} PerQuery inserts: largest -wal {largest} bytes ({:.1} KiB); {:.1} µs/insert; a reader opened afterwards counts {count} rows",
        largest as f64 / 1024.0,
        took.as_secs_f64() * 1e6 / n as f64
    );
}

/// `n` gets by key through a `PerQuery` on a 20,000-row file: µs a get
/// (for `strace -c -f` and callgrind of where an open/get/close goes).
fn perquery_get(n: usize) {
    let path = fresh("perquery-get.db");
    {
        let db = Persistent::open(&path).unwrap();
        Doc::create_table(&db).unwrap();
        let docs: Vec<Doc> = (0..20_000).map(doc).collect();
        Doc::insert_many(&db, &docs).unwrap();
    }
    let db = PerQuery::open(&path).unwrap();
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        std::hint::black_box(Doc::get(&db, 1 + (i as i64 * 7919) % 20_000).unwrap());
        times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{n} PerQuery gets: min {:.1} µs, median {:.1} µs; load average {}",
        times[0],
        times[n / 2],
        load_average()
    );
}

/// `n` single-row inserts through one `Persistent`, with the writer queue
/// (`queue`) or without (`off`): run whole under callgrind, the difference
/// of two runs over `n` is the queue's instructions an insert.
fn single_inserts(n: usize, mode: &str) {
    let path = fresh(&format!("single-{mode}.db"));
    let options = doctable::Options::new().writer_queue(mode == "queue");
    let db = Persistent::open_with(&path, &options).unwrap();
    Doc::create_table(&db).unwrap();
    let docs: Vec<Doc> = (0..n).map(doc).collect();
    let started = Instant::now();
    for d in &docs {
        Doc::insert(&db, d).unwrap();
    }
    println!(
        "{n} inserts ({mode}): {:.2} µs an insert; load average {}",
        started.elapsed().as_secs_f64() * 1e6 / n as f64,
        load_average()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    match arg(0) {
        Some("readers") => readers(arg(1).map_or(2.0, |s| s.parse().unwrap())),
        Some("writers") => {
            let modes: Vec<&str> = arg(3).unwrap_or("queue").split(',').collect();
            writers(
                arg(1).map_or(3.0, |s| s.parse().unwrap()),
                arg(2).map_or(1, |s| s.parse().unwrap()),
                &modes,
            )
        }
        Some("writer-child") => writer_child(
            Path::new(arg(1).unwrap()),
            arg(2).unwrap().parse().unwrap(),
            arg(3).unwrap().parse().unwrap(),
            arg(4).unwrap_or("queue"),
        ),
        Some("reader-child") => reader_child(
            Path::new(arg(1).unwrap()),
            arg(2).unwrap(),
            arg(3).unwrap().parse().unwrap(),
            arg(4).unwrap().parse().unwrap(),
        ),
        Some("single_inserts") => single_inserts(
            arg(1).map_or(1_000, |s| s.parse().unwrap()),
            arg(2).unwrap_or("queue"),
        ),
        Some("perquery_get") => perquery_get(arg(1).map_or(1_000, |s| s.parse().unwrap())),
        Some("perquery_wal") => perquery_wal(arg(1).map_or(100_000, |s| s.parse().unwrap())),
        _ => eprintln!(
            "usage: contention readers|writers|single_inserts|perquery_wal|perquery_get [n]"
        ),
    }
}
