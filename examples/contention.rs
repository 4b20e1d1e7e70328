//! Long-running measurements behind BENCHMARKS.md's "Connections under load"
//! rows (examples, not tests: they time things):
//!
//! - `cargo run --release --example contention -- readers [secs]`: read
//!   throughput (filtered selects and gets) of 1, 2 and 4 threads on a
//!   `Pool` against an `Arc<Persistent>`.
//! - `cargo run --release --example contention -- writers [secs]`: 1, 2, 4
//!   and 8 processes inserting row by row into one file: aggregate rows per
//!   second and the p50, p99 and largest single-insert latency over all
//!   writers. With `SQLITE_BUSY_HANDLER=1` the writers use SQLite's own busy
//!   handler instead of the crate's (the before figures).
//! - `cargo run --release --example contention -- perquery_wal [n]`: `n`
//!   (default 100,000) `PerQuery` inserts, and the largest size the `-wal`
//!   file reached.
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
    for suffix in ["", "-wal", "-shm"] {
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
    println!("| threads | Arc<Persistent> ops/s | vs 1 thread | Pool ops/s | vs 1 thread |");
    println!("|---:|---:|---:|---:|---:|");
    let (mut base_p, mut base_q) = (0.0, 0.0);
    for threads in [1usize, 2, 4] {
        let persistent = Arc::new(Persistent::open(&path).unwrap());
        let pool = Pool::open_sized(&path, &doctable::Options::new(), threads).unwrap();
        // Interleaved: Persistent, Pool, Persistent, Pool; the medians kept.
        // Warm both (page cache, statement caches) before timing.
        read_for(&*persistent, secs / 4.0, 1);
        read_for(&pool, secs / 4.0, 1);
        let mut p = Vec::new();
        let mut q = Vec::new();
        for _ in 0..3 {
            p.push(run_threads(threads, secs, |seed| {
                read_for(&*persistent, secs, seed)
            }));
            q.push(run_threads(threads, secs, |seed| {
                read_for(&pool, secs, seed)
            }));
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

/// A writer process: inserts row by row for `secs`, prints its latencies (µs).
fn writer_child(path: &Path, secs: f64, start_at: u128) {
    let db = Persistent::open(path).unwrap();
    if std::env::var_os("SQLITE_BUSY_HANDLER").is_some() {
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

fn writers(secs: f64) {
    println!("| processes | rows/s (all writers) | vs 1 writer | p50 µs | p99 µs | largest ms |");
    println!("|---:|---:|---:|---:|---:|---:|");
    let exe = std::env::current_exe().unwrap();
    let mut one = 0.0;
    for procs in [1usize, 2, 4, 8] {
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
        let rate = lat.len() as f64 / secs;
        if procs == 1 {
            one = rate;
        }
        lat.sort_unstable();
        let pct = |p: f64| lat[((lat.len() - 1) as f64 * p).round() as usize];
        println!(
            "| {procs} | {rate:.0} | {:.2} | {} | {} | {:.1} |",
            rate / one,
            pct(0.5),
            pct(0.99),
            *lat.last().unwrap() as f64 / 1000.0
        );
    }
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

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    match arg(0) {
        Some("readers") => readers(arg(1).map_or(2.0, |s| s.parse().unwrap())),
        Some("writers") => writers(arg(1).map_or(3.0, |s| s.parse().unwrap())),
        Some("writer-child") => writer_child(
            Path::new(arg(1).unwrap()),
            arg(2).unwrap().parse().unwrap(),
            arg(3).unwrap().parse().unwrap(),
        ),
        Some("perquery_wal") => perquery_wal(arg(1).map_or(100_000, |s| s.parse().unwrap())),
        _ => eprintln!("usage: contention readers|writers|perquery_wal [n]"),
    }
}
