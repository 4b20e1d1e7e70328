//! doctable side by side with hand-written rusqlite doing the same SQL work.
//!
//! `cargo bench --bench compare` prints a table of median times and the ratio
//! doctable / rusqlite for each workload of BENCHMARKS.md. Both sides use the
//! same bundled SQLite, the same schema (created by doctable), the same pragmas
//! (WAL, synchronous=NORMAL, foreign keys on, 5 s busy timeout) and files in
//! the same temp directory. Each workload alternates which side runs first.
//!
//! Sizes: `DOCTABLE_BENCH_ROWS` (default 100000), `DOCTABLE_BENCH_RUNS`
//! (default 5), `DOCTABLE_BENCH_STREAM_ROWS` (default 1000000).
#![allow(dead_code, missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use doctable::rusqlite::{self, params};
use doctable::{DocTable, PerQuery, Persistent};

/// The row type of every workload.
#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "docs")]
pub(crate) struct Doc {
    #[doctable(primary_key)]
    pub(crate) id: Option<i64>,
    pub(crate) title: String,
    pub(crate) body: String,
    #[doctable(index)]
    pub(crate) score: f64,
    #[doctable(index)]
    pub(crate) year: i64,
}

/// `Doc` with an `AUTOINCREMENT` key, to measure what that costs.
#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "counted_docs")]
pub(crate) struct Counted {
    #[doctable(primary_key, autoincrement)]
    pub(crate) id: Option<i64>,
    pub(crate) title: String,
    pub(crate) body: String,
    pub(crate) score: f64,
    pub(crate) year: i64,
}

const INSERT: &str = "INSERT INTO docs (id, title, body, score, year) VALUES (?1, ?2, ?3, ?4, ?5)";
const SELECT_ALL: &str = "SELECT id, title, body, score, year FROM docs";
const SELECT_FILTERED: &str = "SELECT id, title, body, score, year FROM docs \
     WHERE year > ?1 AND score < ?2 ORDER BY score LIMIT 100";
const GET: &str = "SELECT id, title, body, score, year FROM docs WHERE id = ?1";
const UPDATE: &str = "UPDATE docs SET score = score + 1 WHERE year = ?1";
const DELETE: &str = "DELETE FROM docs WHERE year < ?1";

/// How much work each workload does.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sizes {
    pub(crate) rows: usize,
    pub(crate) single_inserts: usize,
    pub(crate) filtered_queries: usize,
    pub(crate) gets: usize,
    pub(crate) per_query_calls: usize,
    pub(crate) stream_rows: usize,
    pub(crate) runs: usize,
}

impl Sizes {
    pub(crate) fn from_env() -> Self {
        let env = |name: &str, default: usize| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        Sizes {
            rows: env("DOCTABLE_BENCH_ROWS", 100_000),
            single_inserts: 1_000,
            filtered_queries: 1_000,
            gets: 10_000,
            per_query_calls: 1_000,
            stream_rows: env("DOCTABLE_BENCH_STREAM_ROWS", 1_000_000),
            runs: env("DOCTABLE_BENCH_RUNS", 5),
        }
    }

    /// Small enough for the test suite: checks every workload still runs.
    pub(crate) fn smoke() -> Self {
        Sizes {
            rows: 300,
            single_inserts: 20,
            filtered_queries: 10,
            gets: 50,
            per_query_calls: 10,
            stream_rows: 500,
            runs: 1,
        }
    }
}

/// One line of the result table.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub(crate) workload: String,
    pub(crate) unit: &'static str,
    pub(crate) doctable: f64,
    pub(crate) rusqlite: f64,
}

impl Line {
    pub(crate) fn ratio(&self) -> f64 {
        self.doctable / self.rusqlite
    }
}

/// A deterministic corpus: titles of ~20 characters, bodies of ~200.
pub(crate) fn corpus(n: usize) -> Vec<Doc> {
    const WORDS: [&str; 16] = [
        "table", "corpus", "token", "sqlite", "column", "query", "index", "author", "year",
        "score", "word", "count", "topic", "model", "text", "letter",
    ];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..n)
        .map(|i| {
            let mut body = String::with_capacity(210);
            while body.len() < 200 {
                body.push_str(WORDS[(next() % 16) as usize]);
                body.push(' ');
            }
            Doc {
                id: None,
                title: format!("Document no. {i:08}"),
                body,
                score: (next() % 10_000) as f64 / 10_000.0,
                year: 1950 + (next() % 75) as i64,
            }
        })
        .collect()
}

/// A connection configured exactly as doctable configures its own.
fn open_raw(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.set_prepared_statement_cache_capacity(64);
    let _: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .unwrap();
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
    conn
}

fn read_raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<Doc> {
    Ok(Doc {
        id: r.get(0)?,
        title: r.get(1)?,
        body: r.get(2)?,
        score: r.get(3)?,
        year: r.get(4)?,
    })
}

fn insert_raw(conn: &rusqlite::Connection, docs: &[Doc]) {
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    {
        let mut stmt = conn.prepare_cached(INSERT).unwrap();
        for d in docs {
            stmt.execute(params![d.id, d.title, d.body, d.score, d.year])
                .unwrap();
        }
    }
    conn.execute_batch("COMMIT").unwrap();
}

/// A fresh file with the table created (by doctable, so both sides share the schema).
fn fresh(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let db = Persistent::open(&path).unwrap();
    Doc::create_table(&db).unwrap();
    path
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

fn percentile(xs: &mut [f64], p: f64) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    let i = ((xs.len() as f64 - 1.0) * p).round() as usize;
    xs[i]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Runs `doctable` and `raw` `runs` times each, alternating which goes first,
/// and keeps the medians.
fn side_by_side(
    runs: usize,
    mut doctable: impl FnMut() -> f64,
    mut raw: impl FnMut() -> f64,
) -> (f64, f64) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for run in 0..runs {
        if run % 2 == 0 {
            a.push(doctable());
            b.push(raw());
        } else {
            b.push(raw());
            a.push(doctable());
        }
    }
    (median(a), median(b))
}

/// Peak resident memory of this process in KiB, reset by `reset_peak`.
fn peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn reset_peak() {
    // Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

pub(crate) fn run(sizes: Sizes, dir: &Path, mut report: impl FnMut(Line)) {
    let docs = corpus(sizes.rows);
    let runs = sizes.runs;

    // 1. bulk insert: one call each, so whole runs alternate.
    let (a, b) = side_by_side(
        runs,
        || {
            let db = Persistent::open(fresh(dir, "bulk-doctable.db")).unwrap();
            let t = Instant::now();
            Doc::insert_many(&db, &docs).unwrap();
            micros(t.elapsed()) / docs.len() as f64
        },
        || {
            let conn = open_raw(&fresh(dir, "bulk-raw.db"));
            let t = Instant::now();
            insert_raw(&conn, &docs);
            micros(t.elapsed()) / docs.len() as f64
        },
    );
    report(Line {
        workload: format!("1. bulk insert {} rows (insert_many)", docs.len()),
        unit: "µs/row",
        doctable: a,
        rusqlite: b,
    });

    // 1b. what AUTOINCREMENT costs: doctable against doctable with a plain rowid key.
    let counted: Vec<Counted> = docs
        .iter()
        .map(|d| Counted {
            id: None,
            title: d.title.clone(),
            body: d.body.clone(),
            score: d.score,
            year: d.year,
        })
        .collect();
    let (a, b) = side_by_side(
        runs,
        || {
            let path = fresh(dir, "autoincrement.db");
            let db = Persistent::open(&path).unwrap();
            Counted::create_table(&db).unwrap();
            let t = Instant::now();
            Counted::insert_many(&db, &counted).unwrap();
            micros(t.elapsed()) / counted.len() as f64
        },
        || {
            let db = Persistent::open(fresh(dir, "rowid.db")).unwrap();
            let t = Instant::now();
            Doc::insert_many(&db, &docs).unwrap();
            micros(t.elapsed()) / docs.len() as f64
        },
    );
    report(Line {
        workload: "1b. bulk insert with an AUTOINCREMENT key (vs doctable's default rowid key)"
            .into(),
        unit: "µs/row",
        doctable: a,
        rusqlite: b,
    });

    // 2. single-row inserts, each its own transaction: interleaved insert by
    // insert, the order alternating, so both sides meet the same machine state.
    let n = sizes.single_inserts.min(docs.len());
    let (mut p50a, mut p99a, mut p50b, mut p99b) = (vec![], vec![], vec![], vec![]);
    for _ in 0..runs {
        let db = Persistent::open(fresh(dir, "single-doctable.db")).unwrap();
        let conn = open_raw(&fresh(dir, "single-raw.db"));
        let (mut la, mut lb) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for (i, d) in docs[..n].iter().enumerate() {
            let mut doctable_side = || {
                let t = Instant::now();
                Doc::insert(&db, d).unwrap();
                la.push(micros(t.elapsed()));
            };
            let mut raw_side = || {
                let t = Instant::now();
                conn.prepare_cached(INSERT)
                    .unwrap()
                    .execute(params![d.id, d.title, d.body, d.score, d.year])
                    .unwrap();
                lb.push(micros(t.elapsed()));
            };
            if i % 2 == 0 {
                doctable_side();
                raw_side();
            } else {
                raw_side();
                doctable_side();
            }
        }
        p50a.push(percentile(&mut la, 0.5));
        p99a.push(percentile(&mut la, 0.99));
        p50b.push(percentile(&mut lb, 0.5));
        p99b.push(percentile(&mut lb, 0.99));
    }
    report(Line {
        workload: format!("2. {n} single-row inserts, p50"),
        unit: "µs/insert",
        doctable: median(p50a),
        rusqlite: median(p50b),
    });
    report(Line {
        workload: format!("2. {n} single-row inserts, p99"),
        unit: "µs/insert",
        doctable: median(p99a),
        rusqlite: median(p99b),
    });

    // A populated file shared by the read workloads. Each run opens its
    // connections afresh, outside the timing: a connection kept across runs
    // measured a memory-layout effect of whichever connection ran first in the
    // process (up to 1.5x here), not the library.
    let read_path = fresh(dir, "read.db");
    Doc::insert_many(&Persistent::open(&read_path).unwrap(), &docs).unwrap();
    let db = || Persistent::open(&read_path).unwrap();
    let raw = || open_raw(&read_path);

    // 3. select all rows: one call each.
    let (a, b) = side_by_side(
        runs,
        || {
            let db = db();
            let t = Instant::now();
            let all = Doc::select().all(&db).unwrap();
            let us = micros(t.elapsed()) / all.len() as f64;
            assert_eq!(all.len(), docs.len());
            us
        },
        || {
            let raw = raw();
            let t = Instant::now();
            let mut stmt = raw.prepare_cached(SELECT_ALL).unwrap();
            let all: Vec<Doc> = stmt
                .query_map([], read_raw)
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            let us = micros(t.elapsed()) / all.len() as f64;
            assert_eq!(all.len(), docs.len());
            us
        },
    );
    report(Line {
        workload: format!("3. select all {} rows into Vec<Doc>", docs.len()),
        unit: "µs/row",
        doctable: a,
        rusqlite: b,
    });

    // 4. filtered select, ORDER BY, LIMIT 100: interleaved in blocks of 10.
    let filters: Vec<(i64, f64)> = (0..sizes.filtered_queries)
        .map(|i| (1950 + (i as i64 * 7) % 70, 0.2 + (i % 5) as f64 * 0.1))
        .collect();
    let (a, b) = interleaved_runs(
        runs,
        filters.len(),
        10,
        || (db(), raw()),
        |(db, _), i| {
            let (year, score) = filters[i];
            let rows = Doc::select()
                .filter(Doc::year.gt(year).and(Doc::score.lt(score)))
                .order_by(Doc::score.asc())
                .limit(100)
                .all(db)
                .unwrap();
            std::hint::black_box(rows);
        },
        |(_, raw), i| {
            let (year, score) = filters[i];
            let mut stmt = raw.prepare_cached(SELECT_FILTERED).unwrap();
            let rows: Vec<Doc> = stmt
                .query_map(params![year, score], read_raw)
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            std::hint::black_box(rows);
        },
    );
    report(Line {
        workload: format!("4. filtered select, order, limit 100 (x{})", filters.len()),
        unit: "µs/query",
        doctable: a,
        rusqlite: b,
    });

    // 5. get by primary key: interleaved in blocks of 10.
    let keys: Vec<i64> = (0..sizes.gets)
        .map(|i| 1 + (i as i64 * 7919) % docs.len() as i64)
        .collect();
    let (a, b) = interleaved_runs(
        runs,
        keys.len(),
        10,
        || (db(), raw()),
        |(db, _), i| {
            std::hint::black_box(Doc::get(db, keys[i]).unwrap().unwrap());
        },
        |(_, raw), i| {
            let mut stmt = raw.prepare_cached(GET).unwrap();
            std::hint::black_box(stmt.query_row([keys[i]], read_raw).unwrap());
        },
    );
    report(Line {
        workload: format!("5. get by primary key (x{})", keys.len()),
        unit: "µs/get",
        doctable: a,
        rusqlite: b,
    });

    // 8. per-query strategy: the same gets through a fresh connection each
    // call, with no other connection open (so each close is the last one, which
    // checkpoints the WAL), against hand-written open/pragmas/query/close.
    let calls = &keys[..sizes.per_query_calls.min(keys.len())];
    let per_query = PerQuery::open(&read_path).unwrap();
    let (a, b) = interleaved_runs(
        runs,
        calls.len(),
        10,
        || (),
        |_, i| {
            std::hint::black_box(Doc::get(&per_query, calls[i]).unwrap().unwrap());
        },
        |_, i| {
            let conn = rusqlite::Connection::open(&read_path).unwrap();
            conn.busy_timeout(Duration::from_secs(5)).unwrap();
            conn.pragma_update(None, "foreign_keys", true).unwrap();
            conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
            let mut stmt = conn.prepare(GET).unwrap();
            std::hint::black_box(stmt.query_row([calls[i]], read_raw).unwrap());
        },
    );
    let persistent_get = {
        let db = db();
        let t = Instant::now();
        for &k in calls {
            std::hint::black_box(Doc::get(&db, k).unwrap().unwrap());
        }
        micros(t.elapsed()) / calls.len() as f64
    };
    report(Line {
        workload: format!(
            "8. get through PerQuery (Persistent: {persistent_get:.1} µs, so +{:.1} µs/call)",
            a - persistent_get
        ),
        unit: "µs/get",
        doctable: a,
        rusqlite: b,
    });

    // 6. update with arithmetic, and 7. delete, each on its own fresh copy.
    let years: Vec<i64> = (1950..1970).collect();
    let populated = |name: &str| {
        let path = fresh(dir, name);
        let db = Persistent::open(&path).unwrap();
        Doc::insert_many(&db, &docs).unwrap();
        path
    };
    let (a, b) = side_by_side(
        runs,
        || {
            let db = Persistent::open(populated("update-doctable.db")).unwrap();
            let t = Instant::now();
            for &y in &years {
                Doc::update()
                    .set(Doc::score, Doc::score + 1)
                    .filter(Doc::year.eq(y))
                    .run(&db)
                    .unwrap();
            }
            micros(t.elapsed()) / years.len() as f64
        },
        || {
            let conn = open_raw(&populated("update-raw.db"));
            let t = Instant::now();
            for &y in &years {
                conn.prepare_cached(UPDATE).unwrap().execute([y]).unwrap();
            }
            micros(t.elapsed()) / years.len() as f64
        },
    );
    report(Line {
        workload: "6. update set score = score + 1 where year = X".into(),
        unit: "µs/update",
        doctable: a,
        rusqlite: b,
    });
    let (a, b) = side_by_side(
        runs,
        || {
            let db = Persistent::open(populated("delete-doctable.db")).unwrap();
            let t = Instant::now();
            Doc::delete().filter(Doc::year.lt(1960)).run(&db).unwrap();
            micros(t.elapsed())
        },
        || {
            let conn = open_raw(&populated("delete-raw.db"));
            let t = Instant::now();
            conn.prepare_cached(DELETE)
                .unwrap()
                .execute([1960])
                .unwrap();
            micros(t.elapsed())
        },
    );
    report(Line {
        workload: "7. delete where year < X (~13% of rows)".into(),
        unit: "µs/delete",
        doctable: a,
        rusqlite: b,
    });

    // 9. reading many rows: streaming vs collecting, with peak memory.
    let stream_path = fresh(dir, "stream.db");
    {
        let db = Persistent::open(&stream_path).unwrap();
        let mut left = sizes.stream_rows;
        while left > 0 {
            let n = left.min(docs.len());
            Doc::insert_many(&db, &docs[..n]).unwrap();
            left -= n;
        }
    }
    let db = || Persistent::open(&stream_path).unwrap();
    let raw = || open_raw(&stream_path);
    let mut stream_peak = (0, 0);
    let (a, b) = side_by_side(
        runs,
        || {
            let db = db();
            reset_peak();
            let before = peak_kib().unwrap_or(0);
            let t = Instant::now();
            let mut n = 0usize;
            Doc::select()
                .for_each(&db, |d| {
                    n += usize::from(!d.body.is_empty());
                    Ok(())
                })
                .unwrap();
            let us = micros(t.elapsed()) / sizes.stream_rows as f64;
            stream_peak.0 = peak_kib().unwrap_or(0).saturating_sub(before);
            assert_eq!(n, sizes.stream_rows);
            us
        },
        || {
            let raw = raw();
            reset_peak();
            let before = peak_kib().unwrap_or(0);
            let t = Instant::now();
            let mut n = 0usize;
            let mut stmt = raw.prepare_cached(SELECT_ALL).unwrap();
            let mut rows = stmt.query([]).unwrap();
            while let Some(row) = rows.next().unwrap() {
                let d = read_raw(row).unwrap();
                n += usize::from(!d.body.is_empty());
            }
            let us = micros(t.elapsed()) / sizes.stream_rows as f64;
            stream_peak.1 = peak_kib().unwrap_or(0).saturating_sub(before);
            assert_eq!(n, sizes.stream_rows);
            us
        },
    );
    report(Line {
        workload: format!(
            "9. stream {} rows (for_each); peak +{} KiB vs +{} KiB",
            sizes.stream_rows, stream_peak.0, stream_peak.1
        ),
        unit: "µs/row",
        doctable: a,
        rusqlite: b,
    });
    let mut all_peak = (0, 0);
    let (a, b) = side_by_side(
        runs,
        || {
            let db = db();
            reset_peak();
            let before = peak_kib().unwrap_or(0);
            let t = Instant::now();
            let all = Doc::select().all(&db).unwrap();
            let us = micros(t.elapsed()) / sizes.stream_rows as f64;
            all_peak.0 = peak_kib().unwrap_or(0).saturating_sub(before);
            assert_eq!(all.len(), sizes.stream_rows);
            us
        },
        || {
            let raw = raw();
            reset_peak();
            let before = peak_kib().unwrap_or(0);
            let t = Instant::now();
            let mut stmt = raw.prepare_cached(SELECT_ALL).unwrap();
            let all: Vec<Doc> = stmt
                .query_map([], read_raw)
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            let us = micros(t.elapsed()) / sizes.stream_rows as f64;
            all_peak.1 = peak_kib().unwrap_or(0).saturating_sub(before);
            assert_eq!(all.len(), sizes.stream_rows);
            us
        },
    );
    report(Line {
        workload: format!(
            "9. collect {} rows (all); peak +{} KiB vs +{} KiB",
            sizes.stream_rows, all_peak.0, all_peak.1
        ),
        unit: "µs/row",
        doctable: a,
        rusqlite: b,
    });
}

/// Times `doctable(i)` and `raw(i)` for every `i < ops`, interleaved in
/// blocks of `block` operations whose order alternates, so both sides meet the
/// same machine state. Returns the mean µs per operation of each side.
fn interleaved(
    ops: usize,
    block: usize,
    mut doctable: impl FnMut(usize),
    mut raw: impl FnMut(usize),
) -> (f64, f64) {
    let (mut a, mut b) = (Duration::ZERO, Duration::ZERO);
    let mut start = 0;
    while start < ops {
        let end = (start + block).min(ops);
        let doctable_first = (start / block).is_multiple_of(2);
        for side in 0..2 {
            let t = Instant::now();
            if (side == 0) == doctable_first {
                (start..end).for_each(&mut doctable);
                a += t.elapsed();
            } else {
                (start..end).for_each(&mut raw);
                b += t.elapsed();
            }
        }
        start = end;
    }
    (micros(a) / ops as f64, micros(b) / ops as f64)
}

/// Medians over `runs` of [`interleaved`], each run with fresh state from `setup`.
fn interleaved_runs<S>(
    runs: usize,
    ops: usize,
    block: usize,
    mut setup: impl FnMut() -> S,
    mut doctable: impl FnMut(&S, usize),
    mut raw: impl FnMut(&S, usize),
) -> (f64, f64) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let state = setup();
        let (x, y) = interleaved(ops, block, |i| doctable(&state, i), |i| raw(&state, i));
        a.push(x);
        b.push(y);
    }
    (median(a), median(b))
}

pub(crate) fn print_header(sizes: &Sizes) {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "SQLite {} (bundled), {cpu}, {cores} cores; {} rows, median of {} runs",
        rusqlite::version(),
        sizes.rows,
        sizes.runs
    );
    println!();
    println!("| workload | unit | doctable | rusqlite | ratio |");
    println!("|---|---|---:|---:|---:|");
}

pub(crate) fn print_line(line: &Line) {
    println!(
        "| {} | {} | {:.3} | {:.3} | {:.2} |",
        line.workload,
        line.unit,
        line.doctable,
        line.rusqlite,
        line.ratio()
    );
}

fn main() {
    let sizes = Sizes::from_env();
    let dir = tempfile::tempdir().unwrap();
    print_header(&sizes);
    run(sizes, dir.path(), |line| print_line(&line));
}
