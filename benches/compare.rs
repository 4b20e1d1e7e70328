//! doctable side by side with hand-written rusqlite doing the same SQL work.
//!
//! `cargo bench --bench compare` prints a table of median times and the ratio
//! doctable / rusqlite for each workload of BENCHMARKS.md. Both sides use the
//! same bundled SQLite, the same schema (created by doctable), the same pragmas
//! (WAL, synchronous=NORMAL, foreign keys on, 5 s busy timeout) and copies of
//! the same data files, prepared once per run.
//!
//! Every measurement runs in a fresh child process of the bench (the binary
//! re-executes itself), the two sides alternating, and the table reports the
//! median of each. Measured in one shared process instead, results moved by up
//! to 1.3x (and 2.9x once) with the order in which connections had been opened
//! and used, for either side alike: an effect of process state, not of the
//! library (see BENCHMARKS.md).
//!
//! Sizes: `DOCTABLE_BENCH_ROWS` (default 100000), `DOCTABLE_BENCH_RUNS`
//! (default 5), `DOCTABLE_BENCH_STREAM_ROWS` (default 1000000).
//! `DOCTABLE_BENCH_ONLY=bulk,get,...` runs only the SQLite workloads named.
//!
//! With `--features postgres`, a second table compares doctable on
//! PostgreSQL (`doctable::postgres::Persistent`) with hand-written `postgres`
//! client code using prepared statements, on the server in `DOCTABLE_PG`
//! (see [`pg`]). `DOCTABLE_BENCH_ENGINES=postgres` (or `sqlite`) runs one
//! table only.
//!
//! `cargo bench --bench compare -- --callgrind [workload...]` counts
//! instructions instead of timing: each side of each workload (or of the
//! ones named) runs once, at `Sizes::callgrind`, in a fresh child process
//! under `valgrind --tool=callgrind`, counting only inside
//! `callgrind_measured` (the part the timings bracket), and the counts are
//! printed as a markdown table. The counts repeat exactly from run to run.
//! Needs valgrind; not part of CI.
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
    #[doctable(index)]
    pub(crate) score: f64,
    #[doctable(index)]
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
        if std::env::var("DOCTABLE_BENCH_SIZES").as_deref() == Ok("callgrind") {
            return Self::callgrind();
        }
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

    /// The sizes of `--callgrind` mode: each workload a few seconds under
    /// callgrind, which runs code about 50 times slower than natively.
    pub(crate) fn callgrind() -> Self {
        Sizes {
            rows: 10_000,
            single_inserts: 1_000,
            filtered_queries: 100,
            gets: 2_000,
            per_query_calls: 100,
            stream_rows: 50_000,
            runs: 1,
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
    /// The median, over the runs, of doctable's figure over the reference's
    /// in the same run (the two measured one right after the other): steadier
    /// than the ratio of the two medians when the machine or the server drifts
    /// between runs. NaN until [`with_paired`] sets it.
    pub(crate) paired: f64,
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

/// Rows per statement of doctable's multi-row `insert_many` on SQLite (for
/// this five-column table: the 32-row cap, far below 32,766 parameters).
const MULTI_ROWS: usize = 32;

/// `INSERT INTO docs (..) VALUES (?1, ..), (..)` for `rows` rows.
fn multi_insert_sql(rows: usize) -> String {
    let mut sql = String::from("INSERT INTO docs (id, title, body, score, year) VALUES ");
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        let b = r * 5;
        sql.push_str(&format!(
            "(?{}, ?{}, ?{}, ?{}, ?{})",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5
        ));
    }
    sql
}

/// What a user would write by hand for a multi-row bulk insert: chunks of
/// `MULTI_ROWS` rows, one cached statement per chunk size, one transaction.
fn insert_multi_raw(conn: &rusqlite::Connection, docs: &[Doc]) {
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    let full = multi_insert_sql(MULTI_ROWS);
    for chunk in docs.chunks(MULTI_ROWS) {
        let rest;
        let sql = if chunk.len() == MULTI_ROWS {
            &full
        } else {
            rest = multi_insert_sql(chunk.len());
            &rest
        };
        let mut stmt = conn.prepare_cached(sql).unwrap();
        // Bound as the single-row reference binds (`params!`: `&dyn ToSql`).
        let values = chunk.iter().flat_map(|d| -> [&dyn rusqlite::ToSql; 5] {
            [&d.id, &d.title, &d.body, &d.score, &d.year]
        });
        stmt.execute(rusqlite::params_from_iter(values)).unwrap();
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
    xs.get(xs.len() / 2).copied().unwrap_or(f64::NAN)
}

fn percentile(xs: &mut [f64], p: f64) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    let i = ((xs.len() as f64 - 1.0) * p).round() as usize;
    xs[i]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
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

/// Which implementation a measurement runs: doctable, or the hand-written
/// rusqlite reference (for `autoincrement`: doctable with a rowid key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Doctable,
    Reference,
}

/// The workloads, in report order.
pub(crate) const WORKLOADS: &[&str] = &[
    "bulk",
    "bulk_multi",
    "autoincrement",
    "single",
    "select_all",
    "filtered",
    "get",
    "per_query",
    "per_query_ckpt",
    "update",
    "delete",
    "stream",
    "collect",
];

const TEMPLATE: &str = "template.db";
const STREAM: &str = "stream.db";

/// Writes the data files every measurement starts from.
pub(crate) fn prepare(sizes: &Sizes, dir: &Path) {
    let docs = corpus(sizes.rows);
    Doc::insert_many(&Persistent::open(fresh(dir, TEMPLATE)).unwrap(), &docs).unwrap();
    let db = Persistent::open(fresh(dir, STREAM)).unwrap();
    let mut left = sizes.stream_rows;
    while left > 0 {
        let n = left.min(docs.len());
        Doc::insert_many(&db, &docs[..n]).unwrap();
        left -= n;
    }
}

/// A private copy of the template file (closed, so it is one file: the last
/// connection to close checkpointed and removed its WAL).
fn copy_of_template(dir: &Path, name: &str) -> PathBuf {
    let path = fresh(dir, name);
    std::fs::copy(dir.join(TEMPLATE), &path).unwrap();
    path
}

/// How many times a workload's measured part has been entered in this process
/// (`tests/bench_smoke.rs` checks that every workload goes through it).
pub(crate) static MEASURED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Runs `f`, the measured part of a workload: the part the timings bracket,
/// and the only part `--callgrind` mode counts.
fn measured<R>(f: impl FnOnce() -> R) -> R {
    MEASURED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    callgrind_measured(f)
}

/// The function callgrind's `--toggle-collect` names: instructions are counted
/// only while it is on the stack, so setup (corpus, files, opening
/// connections) and the timer reads outside it are excluded. Never inlined,
/// and named uniquely, so the pattern `*callgrind_measured*` matches it alone.
#[inline(never)]
fn callgrind_measured<R>(f: impl FnOnce() -> R) -> R {
    std::hint::black_box(f())
}

/// Runs one side of one workload once and returns its figures.
pub(crate) fn measure(workload: &str, side: Side, sizes: &Sizes, dir: &Path) -> Vec<f64> {
    let doctable = side == Side::Doctable;
    let per = |t: Instant, n: usize| micros(t.elapsed()) / n as f64;
    let template = dir.join(TEMPLATE);
    match workload {
        "bulk_multi" => {
            let docs = corpus(sizes.rows);
            let path = fresh(dir, &format!("{workload}-{side:?}.db"));
            if doctable {
                let db = Persistent::open(&path).unwrap();
                let t = Instant::now();
                measured(|| Doc::insert_many(&db, &docs).unwrap());
                vec![per(t, docs.len())]
            } else {
                let conn = open_raw(&path);
                let t = Instant::now();
                measured(|| insert_multi_raw(&conn, &docs));
                vec![per(t, docs.len())]
            }
        }
        "bulk" | "autoincrement" => {
            let docs = corpus(sizes.rows);
            let path = fresh(dir, &format!("{workload}-{side:?}.db"));
            if workload == "autoincrement" && doctable {
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
                let db = Persistent::open(&path).unwrap();
                Counted::create_table(&db).unwrap();
                let t = Instant::now();
                measured(|| Counted::insert_many(&db, &counted).unwrap());
                vec![per(t, docs.len())]
            } else if doctable || workload == "autoincrement" {
                let db = Persistent::open(&path).unwrap();
                let t = Instant::now();
                measured(|| Doc::insert_many(&db, &docs).unwrap());
                vec![per(t, docs.len())]
            } else {
                let conn = open_raw(&path);
                let t = Instant::now();
                measured(|| insert_raw(&conn, &docs));
                vec![per(t, docs.len())]
            }
        }
        "single" => {
            let docs = corpus(sizes.single_inserts);
            let path = fresh(dir, &format!("single-{side:?}.db"));
            let mut latencies: Vec<f64> = if doctable {
                let db = Persistent::open(&path).unwrap();
                docs.iter()
                    .map(|d| {
                        let t = Instant::now();
                        measured(|| Doc::insert(&db, d).unwrap());
                        micros(t.elapsed())
                    })
                    .collect()
            } else {
                let conn = open_raw(&path);
                docs.iter()
                    .map(|d| {
                        let t = Instant::now();
                        measured(|| {
                            conn.prepare_cached(INSERT)
                                .unwrap()
                                .execute(params![d.id, d.title, d.body, d.score, d.year])
                                .unwrap()
                        });
                        micros(t.elapsed())
                    })
                    .collect()
            };
            vec![
                percentile(&mut latencies, 0.5),
                percentile(&mut latencies, 0.99),
            ]
        }
        "select_all" => {
            let t;
            let n = if doctable {
                let db = Persistent::open(&template).unwrap();
                t = Instant::now();
                measured(|| Doc::select().all(&db).unwrap().len())
            } else {
                let raw = open_raw(&template);
                t = Instant::now();
                measured(|| {
                    let mut stmt = raw.prepare_cached(SELECT_ALL).unwrap();
                    let all: Vec<Doc> = stmt
                        .query_map([], read_raw)
                        .unwrap()
                        .collect::<rusqlite::Result<_>>()
                        .unwrap();
                    all.len()
                })
            };
            assert_eq!(n, sizes.rows);
            vec![per(t, n)]
        }
        "filtered" => {
            let filters: Vec<(i64, f64)> = (0..sizes.filtered_queries)
                .map(|i| (1950 + (i as i64 * 7) % 70, 0.2 + (i % 5) as f64 * 0.1))
                .collect();
            let t;
            if doctable {
                let db = Persistent::open(&template).unwrap();
                t = Instant::now();
                measured(|| {
                    for &(year, score) in &filters {
                        let rows = Doc::select()
                            .filter(Doc::year.gt(year).and(Doc::score.lt(score)))
                            .order_by(Doc::score.asc())
                            .limit(100)
                            .all(&db)
                            .unwrap();
                        std::hint::black_box(rows);
                    }
                });
            } else {
                let raw = open_raw(&template);
                t = Instant::now();
                measured(|| {
                    for &(year, score) in &filters {
                        let mut stmt = raw.prepare_cached(SELECT_FILTERED).unwrap();
                        let rows: Vec<Doc> = stmt
                            .query_map(params![year, score], read_raw)
                            .unwrap()
                            .collect::<rusqlite::Result<_>>()
                            .unwrap();
                        std::hint::black_box(rows);
                    }
                });
            }
            vec![per(t, filters.len())]
        }
        "get" | "per_query" | "per_query_ckpt" => {
            let n = if workload == "get" {
                sizes.gets
            } else {
                sizes.per_query_calls
            };
            let keys: Vec<i64> = (0..n)
                .map(|i| 1 + (i as i64 * 7919) % sizes.rows as i64)
                .collect();
            let t;
            match (workload, doctable) {
                ("get", true) => {
                    let db = Persistent::open(&template).unwrap();
                    t = Instant::now();
                    measured(|| {
                        for &k in &keys {
                            std::hint::black_box(Doc::get(&db, k).unwrap().unwrap());
                        }
                    });
                }
                ("get", false) => {
                    let raw = open_raw(&template);
                    t = Instant::now();
                    measured(|| {
                        for &k in &keys {
                            let mut stmt = raw.prepare_cached(GET).unwrap();
                            std::hint::black_box(stmt.query_row([k], read_raw).unwrap());
                        }
                    });
                }
                (_, true) => {
                    let db = PerQuery::open(&template).unwrap();
                    t = Instant::now();
                    measured(|| {
                        for &k in &keys {
                            std::hint::black_box(Doc::get(&db, k).unwrap().unwrap());
                        }
                    });
                }
                (_, false) => {
                    // `per_query`: the same setting as PerQuery (no checkpoint
                    // at close); `per_query_ckpt`: SQLite's default, what
                    // PerQuery did before.
                    let no_ckpt = workload == "per_query";
                    // `per_query` as PerQuery does it: one idle connection
                    // kept open, so that each call's open finds the WAL
                    // index (`-shm`) in place; `per_query_ckpt` as before.
                    let _anchor = no_ckpt.then(|| {
                        let c = rusqlite::Connection::open(&template).unwrap();
                        c.query_row("PRAGMA schema_version", [], |_| Ok(()))
                            .unwrap();
                        c
                    });
                    t = Instant::now();
                    measured(|| {
                        for &k in &keys {
                            let conn = rusqlite::Connection::open(&template).unwrap();
                            conn.set_db_config(
                                rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
                                no_ckpt,
                            )
                            .unwrap();
                            conn.busy_timeout(Duration::from_secs(5)).unwrap();
                            conn.pragma_update(None, "foreign_keys", true).unwrap();
                            conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
                            let mut stmt = conn.prepare(GET).unwrap();
                            std::hint::black_box(stmt.query_row([k], read_raw).unwrap());
                        }
                    });
                }
            }
            vec![per(t, keys.len())]
        }
        "update" => {
            let path = copy_of_template(dir, &format!("update-{side:?}.db"));
            let years: Vec<i64> = (1950..1970).collect();
            let t;
            if doctable {
                let db = Persistent::open(&path).unwrap();
                t = Instant::now();
                measured(|| {
                    for &y in &years {
                        Doc::update()
                            .set(Doc::score, Doc::score + 1)
                            .filter(Doc::year.eq(y))
                            .run(&db)
                            .unwrap();
                    }
                });
            } else {
                let conn = open_raw(&path);
                t = Instant::now();
                measured(|| {
                    for &y in &years {
                        conn.prepare_cached(UPDATE).unwrap().execute([y]).unwrap();
                    }
                });
            }
            vec![per(t, years.len())]
        }
        "delete" => {
            let path = copy_of_template(dir, &format!("delete-{side:?}.db"));
            let t;
            if doctable {
                let db = Persistent::open(&path).unwrap();
                t = Instant::now();
                measured(|| Doc::delete().filter(Doc::year.lt(1960)).run(&db).unwrap());
            } else {
                let conn = open_raw(&path);
                t = Instant::now();
                measured(|| {
                    conn.prepare_cached(DELETE)
                        .unwrap()
                        .execute([1960])
                        .unwrap()
                });
            }
            vec![per(t, 1)]
        }
        "stream" | "collect" => {
            let path = dir.join(STREAM);
            let (t, before, n);
            if doctable {
                let db = Persistent::open(&path).unwrap();
                reset_peak();
                before = peak_kib().unwrap_or(0);
                t = Instant::now();
                n = measured(|| {
                    if workload == "stream" {
                        let mut n = 0usize;
                        Doc::select()
                            .for_each(&db, |d| {
                                n += usize::from(!d.body.is_empty());
                                Ok(())
                            })
                            .unwrap();
                        n
                    } else {
                        Doc::select().all(&db).unwrap().len()
                    }
                });
            } else {
                let raw = open_raw(&path);
                reset_peak();
                before = peak_kib().unwrap_or(0);
                t = Instant::now();
                n = measured(|| {
                    let mut stmt = raw.prepare_cached(SELECT_ALL).unwrap();
                    if workload == "stream" {
                        let mut n = 0usize;
                        let mut rows = stmt.query([]).unwrap();
                        while let Some(row) = rows.next().unwrap() {
                            n += usize::from(!read_raw(row).unwrap().body.is_empty());
                        }
                        n
                    } else {
                        let all: Vec<Doc> = stmt
                            .query_map([], read_raw)
                            .unwrap()
                            .collect::<rusqlite::Result<_>>()
                            .unwrap();
                        all.len()
                    }
                });
            }
            let us = per(t, n);
            let grown = peak_kib().unwrap_or(0).saturating_sub(before) as f64;
            assert_eq!(n, sizes.stream_rows);
            vec![us, grown]
        }
        other => panic!("unknown workload {other}"),
    }
}

/// The report lines of one workload, from the median figures of each side.
fn lines(workload: &str, sizes: &Sizes, a: &[f64], b: &[f64], get_persistent: f64) -> Vec<Line> {
    let line = |name: String, unit: &'static str, i: usize| Line {
        workload: name,
        unit,
        doctable: a[i],
        rusqlite: b[i],
        paired: f64::NAN,
    };
    match workload {
        "bulk" => vec![line(
            format!("1. bulk insert {} rows (insert_many)", sizes.rows),
            "µs/row",
            0,
        )],
        "bulk_multi" => vec![line(
            format!(
                "1c. bulk insert {} rows (insert_many; reference: hand-written {MULTI_ROWS}-row INSERTs, one cached statement per size, one transaction)",
                sizes.rows
            ),
            "µs/row",
            0,
        )],
        "per_query_ckpt" => vec![line(
            format!(
                "8b. get through PerQuery (x{}; reference: open/query/close with SQLite's checkpoint at close, as PerQuery did before)",
                sizes.per_query_calls
            ),
            "µs/get",
            0,
        )],
        "autoincrement" => vec![line(
            "1b. the same with an AUTOINCREMENT key (reference: doctable's default rowid key)"
                .into(),
            "µs/row",
            0,
        )],
        "single" => vec![
            line(
                format!("2. {} single-row inserts, p50", sizes.single_inserts),
                "µs/insert",
                0,
            ),
            line(
                format!("2. {} single-row inserts, p99", sizes.single_inserts),
                "µs/insert",
                1,
            ),
        ],
        "select_all" => vec![line(
            format!("3. select all {} rows into Vec<Doc>", sizes.rows),
            "µs/row",
            0,
        )],
        "filtered" => vec![line(
            format!(
                "4. filtered select, order, limit 100 (x{})",
                sizes.filtered_queries
            ),
            "µs/query",
            0,
        )],
        "get" => vec![line(
            format!("5. get by primary key (x{})", sizes.gets),
            "µs/get",
            0,
        )],
        "per_query" => vec![line(
            format!(
                "8. get through PerQuery (x{}; reference: the same open/query/close, no checkpoint at close, an idle connection holding the file open; Persistent: {get_persistent:.1} µs, so +{:.1} µs/call)",
                sizes.per_query_calls,
                a[0] - get_persistent
            ),
            "µs/get",
            0,
        )],
        "update" => vec![line(
            "6. update set score = score + 1 where year = X".into(),
            "µs/update",
            0,
        )],
        "delete" => vec![line(
            "7. delete where year < X (~13% of rows)".into(),
            "µs/delete",
            0,
        )],
        "stream" | "collect" => vec![line(
            format!(
                "9. {} {} rows ({}); peak +{:.0} KiB vs +{:.0} KiB",
                workload,
                sizes.stream_rows,
                if workload == "stream" {
                    "for_each"
                } else {
                    "all"
                },
                a[1],
                b[1]
            ),
            "µs/row",
            0,
        )],
        _ => Vec::new(),
    }
}

/// `lines` (the table's lines from the medians of the runs) with each one's
/// paired ratio: `per_run(r)` gives the same lines from run `r` alone.
pub(crate) fn with_paired(
    mut lines: Vec<Line>,
    runs: usize,
    per_run: impl Fn(usize) -> Vec<Line>,
) -> Vec<Line> {
    let per_run: Vec<Vec<Line>> = (0..runs).map(per_run).collect();
    for (i, line) in lines.iter_mut().enumerate() {
        line.paired = median(per_run.iter().map(|r| r[i].ratio()).collect());
    }
    lines
}

/// `runs` measurements of each side, `one(side)` making each, alternating
/// which side goes first: (doctable's runs, the reference's runs).
pub(crate) fn alternate(
    runs: usize,
    mut one: impl FnMut(Side) -> Vec<f64>,
) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for run in 0..runs {
        if run % 2 == 0 {
            a.push(one(Side::Doctable));
            b.push(one(Side::Reference));
        } else {
            b.push(one(Side::Reference));
            a.push(one(Side::Doctable));
        }
    }
    (a, b)
}

/// Medians, figure by figure, of several runs' figures.
fn medians(runs: &[Vec<f64>]) -> Vec<f64> {
    let width = runs.first().map_or(0, Vec::len);
    (0..width)
        .map(|i| median(runs.iter().map(|r| r[i]).collect()))
        .collect()
}

/// Runs every workload `sizes.runs` times per side, alternating which side
/// goes first, with `one(workload, side)` making each measurement.
pub(crate) fn run(
    sizes: &Sizes,
    mut one: impl FnMut(&str, Side) -> Vec<f64>,
    mut report: impl FnMut(Line),
) {
    let mut get_persistent = f64::NAN;
    // `DOCTABLE_BENCH_ONLY=bulk,get,...` runs the workloads named (in report order).
    let only = std::env::var("DOCTABLE_BENCH_ONLY").ok();
    let chosen = |w: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|n| n.trim() == w))
    };
    for workload in WORKLOADS.iter().filter(|w| chosen(w)) {
        let (a, b) = alternate(sizes.runs, |side| one(workload, side));
        let (ma, mb) = (medians(&a), medians(&b));
        if *workload == "get" {
            get_persistent = ma[0];
        }
        let table = lines(workload, sizes, &ma, &mb, get_persistent);
        for line in with_paired(table, a.len(), |r| {
            lines(workload, sizes, &a[r], &b[r], get_persistent)
        }) {
            report(line);
        }
    }
}

/// One measurement in a fresh child process: this binary run again.
fn in_child(workload: &str, side: Side, dir: &Path) -> Vec<f64> {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env("DOCTABLE_BENCH_CHILD", format!("{workload}:{side:?}"))
        .env("DOCTABLE_BENCH_DIR", dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|f| f.parse().unwrap())
        .collect()
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
        "SQLite {} (bundled), {cpu}, {cores} cores; {} rows; each figure the median of {} runs, \
         each run a fresh process; ratio: of the two medians; paired ratio: the median of each run's \
         own ratio (the two sides measured one right after the other)",
        rusqlite::version(),
        sizes.rows,
        sizes.runs
    );
    println!();
    println!("| workload | unit | doctable | rusqlite | ratio | paired ratio |");
    println!("|---|---|---:|---:|---:|---:|");
}

pub(crate) fn print_line(line: &Line) {
    println!(
        "| {} | {} | {:.3} | {:.3} | {:.2} | {:.2} |",
        line.workload,
        line.unit,
        line.doctable,
        line.rusqlite,
        line.ratio(),
        line.paired
    );
}

/// The pattern `--callgrind` mode gives valgrind's `--toggle-collect`.
pub(crate) const CALLGRIND_TOGGLE: &str = "*callgrind_measured*";

/// A workload's name in the instruction table, how many operations its
/// measured part does, and what one operation is.
pub(crate) fn callgrind_label(workload: &str, sizes: &Sizes) -> (String, usize, &'static str) {
    match workload {
        "bulk" => (
            format!("1. bulk insert {} rows (insert_many)", sizes.rows),
            sizes.rows,
            "row",
        ),
        "bulk_multi" => (
            format!(
                "1c. bulk insert {} rows (reference: hand-written {MULTI_ROWS}-row INSERTs)",
                sizes.rows
            ),
            sizes.rows,
            "row",
        ),
        "per_query_ckpt" => (
            format!(
                "8b. get through PerQuery (x{}; reference: checkpoint at close)",
                sizes.per_query_calls
            ),
            sizes.per_query_calls,
            "get",
        ),
        "autoincrement" => (
            "1b. the same with an AUTOINCREMENT key (reference: doctable's default rowid key)"
                .into(),
            sizes.rows,
            "row",
        ),
        "single" => (
            format!("2. {} single-row inserts", sizes.single_inserts),
            sizes.single_inserts,
            "insert",
        ),
        "select_all" => (
            format!("3. select all {} rows into Vec<Doc>", sizes.rows),
            sizes.rows,
            "row",
        ),
        "filtered" => (
            format!(
                "4. filtered select, order, limit 100 (x{})",
                sizes.filtered_queries
            ),
            sizes.filtered_queries,
            "query",
        ),
        "get" => (
            format!("5. get by primary key (x{})", sizes.gets),
            sizes.gets,
            "get",
        ),
        "per_query" => (
            format!("8. get through PerQuery (x{})", sizes.per_query_calls),
            sizes.per_query_calls,
            "get",
        ),
        "update" => (
            "6. update set score = score + 1 where year = X (x20)".into(),
            20,
            "update",
        ),
        "delete" => (
            "7. delete where year < X (~13% of rows)".into(),
            1,
            "delete",
        ),
        "stream" => (
            format!("9. stream {} rows (for_each)", sizes.stream_rows),
            sizes.stream_rows,
            "row",
        ),
        "collect" => (
            format!("9. collect {} rows (all)", sizes.stream_rows),
            sizes.stream_rows,
            "row",
        ),
        other => panic!("unknown workload {other}"),
    }
}

/// The instruction total of a callgrind output file (its `totals:` line, or
/// `summary:` in older formats); `None` if it has neither.
pub(crate) fn callgrind_total(out: &str) -> Option<u64> {
    out.lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// The valgrind command that counts one side of one workload: this binary run
/// again as a child, under callgrind, counting only `callgrind_measured`.
pub(crate) fn callgrind_command(
    exe: &Path,
    workload: &str,
    side: Side,
    data: &Path,
    out_file: &Path,
) -> std::process::Command {
    let mut cmd = valgrind_command(exe, out_file);
    cmd.env("DOCTABLE_BENCH_CHILD", format!("{workload}:{side:?}"))
        .env("DOCTABLE_BENCH_DIR", data);
    cmd
}

/// This binary under callgrind at `Sizes::callgrind`, counting only
/// `callgrind_measured`; the caller names the measurement in the environment.
pub(crate) fn valgrind_command(exe: &Path, out_file: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new("valgrind");
    cmd.arg("--tool=callgrind")
        .arg(format!("--toggle-collect={CALLGRIND_TOGGLE}"))
        .arg("--collect-atstart=no")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(exe)
        .env("DOCTABLE_BENCH_SIZES", "callgrind");
    cmd
}

/// Runs one side of one workload under callgrind and returns its instruction count.
fn under_callgrind(exe: &Path, workload: &str, side: Side, data: &Path, outs: &Path) -> u64 {
    let out_file = outs.join(format!("{workload}-{side:?}.out"));
    count_instructions(
        callgrind_command(exe, workload, side, data, &out_file),
        &out_file,
        workload,
        side,
    )
}

/// Runs `cmd` (a [`valgrind_command`] writing `out_file`) and returns the
/// instruction count it wrote.
pub(crate) fn count_instructions(
    mut cmd: std::process::Command,
    out_file: &Path,
    workload: &str,
    side: Side,
) -> u64 {
    let out = cmd.output().expect("run valgrind (is it installed?)");
    assert!(
        out.status.success(),
        "valgrind on {workload}:{side:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(out_file).unwrap();
    let total = callgrind_total(&text).expect("callgrind output has a totals line");
    assert!(
        total > 0,
        "{workload}:{side:?}: nothing counted in callgrind_measured"
    );
    total
}

/// `cargo bench --bench compare -- --callgrind [workload...]`: every workload
/// (or the ones named), each side in its own process under callgrind, printed
/// as a markdown table of instruction counts.
///
/// The data files are prepared natively (not under valgrind) in a fixed
/// directory, so that every run sees the same paths: the per-call connection
/// workload opens files inside its measured part. The directory and the
/// callgrind output files (for `callgrind_annotate`) stay after the run.
fn callgrind_main(names: &[String]) {
    let sizes = Sizes::callgrind();
    let workloads: Vec<&str> = if names.is_empty() {
        WORKLOADS.to_vec()
    } else {
        for n in names {
            assert!(
                WORKLOADS.contains(&n.as_str()),
                "unknown workload {n}; known: {WORKLOADS:?}"
            );
        }
        WORKLOADS
            .iter()
            .copied()
            .filter(|w| names.iter().any(|n| n == w))
            .collect()
    };
    let exe = std::env::current_exe().unwrap();
    let root = std::env::temp_dir().join("doctable-bench-callgrind");
    let _ = std::fs::remove_dir_all(&root);
    let (data, outs) = (root.join("data"), root.join("out"));
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&outs).unwrap();
    if bench_engines().iter().any(|e| e == "sqlite") {
        callgrind_sqlite(&workloads, &sizes, &exe, &data, &outs);
    }
    // With `--features postgres`: the PostgreSQL client's instructions too.
    #[cfg(feature = "postgres")]
    if bench_engines().iter().any(|e| e == "postgres") {
        pg::callgrind_main(&workloads, &exe, &outs);
    }
}

/// The engines `DOCTABLE_BENCH_ENGINES` names (default both).
fn bench_engines() -> Vec<String> {
    std::env::var("DOCTABLE_BENCH_ENGINES")
        .unwrap_or_else(|_| "sqlite,postgres".into())
        .split(',')
        .map(|e| e.trim().to_owned())
        .collect()
}

/// The SQLite instruction table of `--callgrind` mode.
fn callgrind_sqlite(workloads: &[&str], sizes: &Sizes, exe: &Path, data: &Path, outs: &Path) {
    prepare(sizes, data);
    let example = callgrind_command(
        exe,
        "get",
        Side::Doctable,
        data,
        &outs.join("get-Doctable.out"),
    );
    eprintln!(
        "one workload by hand: DOCTABLE_BENCH_CHILD=get:Doctable DOCTABLE_BENCH_DIR={} \
         DOCTABLE_BENCH_SIZES=callgrind {} {}",
        data.display(),
        example.get_program().to_string_lossy(),
        example
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "SQLite {} (bundled); {} rows; instructions (Ir) counted by valgrind --tool=callgrind \
         inside the measured part only, each side in a fresh process",
        rusqlite::version(),
        sizes.rows
    );
    println!();
    println!("| workload | rusqlite Ir | doctable Ir | ratio | Ir per op: rusqlite / doctable |");
    println!("|---|---:|---:|---:|---|");
    for &workload in workloads {
        let reference = under_callgrind(exe, workload, Side::Reference, data, outs);
        let doctable = under_callgrind(exe, workload, Side::Doctable, data, outs);
        let (label, ops, unit) = callgrind_label(workload, sizes);
        println!(
            "| {label} | {reference} | {doctable} | {:.3} | {} / {} per {unit} |",
            doctable as f64 / reference as f64,
            reference / ops as u64,
            doctable / ops as u64,
        );
    }
}

// ---------------------------------------------------------------------------
// PostgreSQL (feature `postgres`): doctable's `postgres::Persistent` against
// hand-written `postgres` client code with prepared statements.

/// The PostgreSQL table: the same workloads as SQLite's where they apply,
/// doctable (`doctable::postgres::Persistent`) against a hand-written
/// `postgres::Client` with statements prepared once per measurement. The
/// server is `DOCTABLE_PG` (default `host=127.0.0.1 user=root dbname=test`);
/// the data lives in two schemas of its own, dropped at the end: `<s>_ro`
/// (read by select, filtered, get and stream) and `<s>_rw` (made afresh
/// for every bulk, single, update and delete measurement, both sides alike).
#[cfg(feature = "postgres")]
pub(crate) mod pg {
    use super::{Doc, Line, Side, Sizes, corpus, measured, medians, micros, percentile};
    use doctable::DocTable;
    use doctable::postgres::Persistent;
    use postgres::fallible_iterator::FallibleIterator;
    use std::path::Path;
    use std::time::Instant;

    /// The hand-written side's SQL (doctable builds its own).
    const INSERT: &str = "INSERT INTO docs (title, body, score, year) VALUES ($1, $2, $3, $4)";
    const INSERT_RETURNING: &str =
        "INSERT INTO docs (title, body, score, year) VALUES ($1, $2, $3, $4) RETURNING id";
    const SELECT_ALL: &str = "SELECT id, title, body, score, year FROM docs";
    const SELECT_FILTERED: &str = "SELECT id, title, body, score, year FROM docs \
         WHERE year > $1 AND score < $2 ORDER BY score LIMIT 100";
    const GET: &str = "SELECT id, title, body, score, year FROM docs WHERE id = $1";
    const UPDATE: &str = "UPDATE docs SET score = score + 1 WHERE year = $1";
    const DELETE: &str = "DELETE FROM docs WHERE year < $1";

    /// The PostgreSQL workloads, in report order.
    pub(crate) const WORKLOADS: &[&str] = &[
        "bulk",
        "single",
        "select_all",
        "filtered",
        "get",
        "update",
        "delete",
        "stream",
    ];

    /// The server's connection parameters.
    pub(crate) fn base_params() -> String {
        std::env::var("DOCTABLE_PG")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| "host=127.0.0.1 user=root dbname=test".to_owned())
    }

    /// `base` with `search_path` set to `schema`.
    pub(crate) fn in_schema(base: &str, schema: &str) -> String {
        format!("{base} options='-c search_path={schema}'")
    }

    fn client(params: &str) -> postgres::Client {
        params
            .parse::<postgres::Config>()
            .unwrap()
            .connect(postgres::NoTls)
            .unwrap()
    }

    /// Whether the server answers.
    pub(crate) fn available(base: &str) -> bool {
        base.parse::<postgres::Config>()
            .ok()
            .and_then(|mut c| {
                c.connect_timeout(std::time::Duration::from_secs(5));
                c.connect(postgres::NoTls).ok()
            })
            .is_some()
    }

    /// Creates the read-only schema `<schema>_ro` with `sizes.rows` rows,
    /// inserted by doctable (so both sides read the same table).
    pub(crate) fn prepare(sizes: &Sizes, base: &str, schema: &str) {
        let mut admin = client(base);
        admin
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema}_ro CASCADE; DROP SCHEMA IF EXISTS {schema}_rw CASCADE; \
                 CREATE SCHEMA {schema}_ro"
            ))
            .unwrap();
        let db = Persistent::connect(&in_schema(base, &format!("{schema}_ro"))).unwrap();
        Doc::create_table(&db).unwrap();
        Doc::insert_many(&db, &corpus(sizes.rows)).unwrap();
        admin
            .batch_execute(&format!("VACUUM ANALYZE {schema}_ro.docs"))
            .unwrap();
    }

    /// Drops both schemas.
    pub(crate) fn cleanup(base: &str, schema: &str) {
        let _ = client(base).batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema}_ro CASCADE; DROP SCHEMA IF EXISTS {schema}_rw CASCADE"
        ));
    }

    /// A fresh `<schema>_rw` with an empty `docs` table (created by
    /// doctable), or a copy of the read-only rows when `filled`.
    fn fresh_rw(base: &str, schema: &str, filled: bool) -> String {
        let mut admin = client(base);
        admin
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema}_rw CASCADE; CREATE SCHEMA {schema}_rw"
            ))
            .unwrap();
        let params = in_schema(base, &format!("{schema}_rw"));
        Doc::create_table(&Persistent::connect(&params).unwrap()).unwrap();
        if filled {
            admin
                .batch_execute(&format!(
                    "INSERT INTO {schema}_rw.docs SELECT * FROM {schema}_ro.docs"
                ))
                .unwrap();
            admin
                .batch_execute(&format!("VACUUM ANALYZE {schema}_rw.docs"))
                .unwrap();
        }
        params
    }

    fn read(r: &postgres::Row) -> Doc {
        Doc {
            id: r.get(0),
            title: r.get(1),
            body: r.get(2),
            score: r.get(3),
            year: r.get(4),
        }
    }

    /// Runs one side of one workload once and returns its figures.
    pub(crate) fn measure(
        workload: &str,
        side: Side,
        sizes: &Sizes,
        base: &str,
        schema: &str,
    ) -> Vec<f64> {
        let doctable = side == Side::Doctable;
        let per = |t: Instant, n: usize| micros(t.elapsed()) / n as f64;
        let ro = in_schema(base, &format!("{schema}_ro"));
        match workload {
            "bulk" => {
                let docs = corpus(sizes.rows);
                let params = fresh_rw(base, schema, false);
                if doctable {
                    let db = Persistent::connect(&params).unwrap();
                    let t = Instant::now();
                    measured(|| Doc::insert_many(&db, &docs).unwrap());
                    vec![per(t, docs.len())]
                } else {
                    let mut c = client(&params);
                    let t = Instant::now();
                    measured(|| {
                        let mut tx = c.transaction().unwrap();
                        let stmt = tx.prepare(INSERT).unwrap();
                        for d in &docs {
                            tx.execute(&stmt, &[&d.title, &d.body, &d.score, &d.year])
                                .unwrap();
                        }
                        tx.commit().unwrap();
                    });
                    vec![per(t, docs.len())]
                }
            }
            "single" => {
                let docs = corpus(sizes.single_inserts);
                let params = fresh_rw(base, schema, false);
                let mut latencies: Vec<f64> = if doctable {
                    let db = Persistent::connect(&params).unwrap();
                    docs.iter()
                        .map(|d| {
                            let t = Instant::now();
                            measured(|| Doc::insert(&db, d).unwrap());
                            micros(t.elapsed())
                        })
                        .collect()
                } else {
                    let mut c = client(&params);
                    let stmt = c.prepare(INSERT_RETURNING).unwrap();
                    docs.iter()
                        .map(|d| {
                            let t = Instant::now();
                            measured(|| {
                                let id: i64 = c
                                    .query_one(&stmt, &[&d.title, &d.body, &d.score, &d.year])
                                    .unwrap()
                                    .get(0);
                                id
                            });
                            micros(t.elapsed())
                        })
                        .collect()
                };
                vec![
                    percentile(&mut latencies, 0.5),
                    percentile(&mut latencies, 0.99),
                ]
            }
            "select_all" => {
                let t;
                let n = if doctable {
                    let db = Persistent::connect(&ro).unwrap();
                    t = Instant::now();
                    measured(|| Doc::select().all(&db).unwrap().len())
                } else {
                    let mut c = client(&ro);
                    let stmt = c.prepare(SELECT_ALL).unwrap();
                    t = Instant::now();
                    measured(|| {
                        let all: Vec<Doc> = c.query(&stmt, &[]).unwrap().iter().map(read).collect();
                        all.len()
                    })
                };
                assert_eq!(n, sizes.rows);
                vec![per(t, n)]
            }
            "filtered" => {
                let filters: Vec<(i64, f64)> = (0..sizes.filtered_queries)
                    .map(|i| (1950 + (i as i64 * 7) % 70, 0.2 + (i % 5) as f64 * 0.1))
                    .collect();
                let t;
                if doctable {
                    let db = Persistent::connect(&ro).unwrap();
                    t = Instant::now();
                    measured(|| {
                        for &(year, score) in &filters {
                            let rows = Doc::select()
                                .filter(Doc::year.gt(year).and(Doc::score.lt(score)))
                                .order_by(Doc::score.asc())
                                .limit(100)
                                .all(&db)
                                .unwrap();
                            std::hint::black_box(rows);
                        }
                    });
                } else {
                    let mut c = client(&ro);
                    let stmt = c.prepare(SELECT_FILTERED).unwrap();
                    t = Instant::now();
                    measured(|| {
                        for &(year, score) in &filters {
                            let rows: Vec<Doc> = c
                                .query(&stmt, &[&year, &score])
                                .unwrap()
                                .iter()
                                .map(read)
                                .collect();
                            std::hint::black_box(rows);
                        }
                    });
                }
                vec![per(t, filters.len())]
            }
            "get" => {
                let keys: Vec<i64> = (0..sizes.gets)
                    .map(|i| 1 + (i as i64 * 7919) % sizes.rows as i64)
                    .collect();
                let t;
                if doctable {
                    let db = Persistent::connect(&ro).unwrap();
                    t = Instant::now();
                    measured(|| {
                        for &k in &keys {
                            std::hint::black_box(Doc::get(&db, k).unwrap().unwrap());
                        }
                    });
                } else {
                    let mut c = client(&ro);
                    let stmt = c.prepare(GET).unwrap();
                    t = Instant::now();
                    measured(|| {
                        for &k in &keys {
                            std::hint::black_box(read(
                                &c.query_opt(&stmt, &[&k]).unwrap().unwrap(),
                            ));
                        }
                    });
                }
                vec![per(t, keys.len())]
            }
            "update" => {
                let params = fresh_rw(base, schema, true);
                let years: Vec<i64> = (1950..1970).collect();
                let t;
                if doctable {
                    let db = Persistent::connect(&params).unwrap();
                    t = Instant::now();
                    measured(|| {
                        for &y in &years {
                            Doc::update()
                                .set(Doc::score, Doc::score + 1)
                                .filter(Doc::year.eq(y))
                                .run(&db)
                                .unwrap();
                        }
                    });
                } else {
                    let mut c = client(&params);
                    let stmt = c.prepare(UPDATE).unwrap();
                    t = Instant::now();
                    measured(|| {
                        for &y in &years {
                            c.execute(&stmt, &[&y]).unwrap();
                        }
                    });
                }
                vec![per(t, years.len())]
            }
            "delete" => {
                let params = fresh_rw(base, schema, true);
                let t;
                if doctable {
                    let db = Persistent::connect(&params).unwrap();
                    // The same statement prepared before the clock, as the
                    // reference's `prepare` does (a delete of no row: the
                    // year is a parameter, so the SQL and the cached
                    // statement are the measured one's).
                    Doc::delete()
                        .filter(Doc::year.lt(i64::MIN))
                        .run(&db)
                        .unwrap();
                    t = Instant::now();
                    measured(|| Doc::delete().filter(Doc::year.lt(1960)).run(&db).unwrap());
                } else {
                    let mut c = client(&params);
                    let stmt = c.prepare(DELETE).unwrap();
                    t = Instant::now();
                    measured(|| c.execute(&stmt, &[&1960_i64]).unwrap());
                }
                vec![per(t, 1)]
            }
            "stream" => {
                let t;
                let n = if doctable {
                    let db = Persistent::connect(&ro).unwrap();
                    t = Instant::now();
                    measured(|| {
                        let mut n = 0usize;
                        Doc::select()
                            .for_each(&db, |d| {
                                n += usize::from(!d.body.is_empty());
                                Ok(())
                            })
                            .unwrap();
                        n
                    })
                } else {
                    let mut c = client(&ro);
                    let stmt = c.prepare(SELECT_ALL).unwrap();
                    t = Instant::now();
                    measured(|| {
                        let mut n = 0usize;
                        let mut rows = c.query_raw(&stmt, std::iter::empty::<i64>()).unwrap();
                        while let Some(row) = rows.next().unwrap() {
                            n += usize::from(!read(&row).body.is_empty());
                        }
                        n
                    })
                };
                assert_eq!(n, sizes.rows);
                vec![per(t, n)]
            }
            other => panic!("unknown PostgreSQL workload {other}"),
        }
    }

    /// The report lines of one workload.
    fn lines(workload: &str, sizes: &Sizes, a: &[f64], b: &[f64]) -> Vec<Line> {
        let line = |name: String, unit: &'static str, i: usize| Line {
            workload: name,
            unit,
            doctable: a[i],
            rusqlite: b[i],
            paired: f64::NAN,
        };
        match workload {
            "bulk" => vec![line(
                format!(
                    "1. bulk insert {} rows (insert_many; reference: prepared single-row INSERTs in one transaction)",
                    sizes.rows
                ),
                "µs/row",
                0,
            )],
            "single" => vec![
                line(
                    format!(
                        "2. {} single-row inserts returning the key, p50",
                        sizes.single_inserts
                    ),
                    "µs/insert",
                    0,
                ),
                line(
                    format!(
                        "2. {} single-row inserts returning the key, p99",
                        sizes.single_inserts
                    ),
                    "µs/insert",
                    1,
                ),
            ],
            "select_all" => vec![line(
                format!("3. select all {} rows into Vec<Doc>", sizes.rows),
                "µs/row",
                0,
            )],
            "filtered" => vec![line(
                format!(
                    "4. filtered select, order, limit 100 (x{})",
                    sizes.filtered_queries
                ),
                "µs/query",
                0,
            )],
            "get" => vec![line(
                format!("5. get by primary key (x{})", sizes.gets),
                "µs/get",
                0,
            )],
            "update" => vec![line(
                "6. update set score = score + 1 where year = X".into(),
                "µs/update",
                0,
            )],
            "delete" => vec![line(
                "7. delete where year < X (~13% of rows)".into(),
                "µs/delete",
                0,
            )],
            "stream" => vec![line(
                format!(
                    "9. stream {} rows (for_each; reference: query_raw)",
                    sizes.rows
                ),
                "µs/row",
                0,
            )],
            _ => Vec::new(),
        }
    }

    /// Every PostgreSQL workload `sizes.runs` times per side, alternating
    /// which side goes first, `one` making each measurement.
    pub(crate) fn run(
        sizes: &Sizes,
        mut one: impl FnMut(&str, Side) -> Vec<f64>,
        mut report: impl FnMut(Line),
    ) {
        // `DOCTABLE_BENCH_ONLY=get,delete,...` runs the workloads named.
        let only = std::env::var("DOCTABLE_BENCH_ONLY").ok();
        let chosen = |w: &str| {
            only.as_deref()
                .is_none_or(|o| o.split(',').any(|n| n.trim() == w))
        };
        for workload in WORKLOADS.iter().filter(|w| chosen(w)) {
            let (a, b) = super::alternate(sizes.runs, |side| one(workload, side));
            let table = lines(workload, sizes, &medians(&a), &medians(&b));
            for line in super::with_paired(table, a.len(), |r| lines(workload, sizes, &a[r], &b[r]))
            {
                report(line);
            }
        }
    }

    /// `--callgrind` mode's PostgreSQL table (with `--features postgres`):
    /// the client's instructions (the bench process: doctable or the
    /// hand-written code, the `postgres` crate, the socket calls; not the
    /// server's), each side of each workload in a fresh child process under
    /// callgrind at `Sizes::callgrind`, counting only the measured part.
    pub(crate) fn callgrind_main(workloads: &[&str], exe: &Path, outs: &Path) {
        let base = base_params();
        if !available(&base) {
            println!(
                "(PostgreSQL instruction table skipped: no server at DOCTABLE_PG / the default)"
            );
            return;
        }
        let sizes = Sizes::callgrind();
        let schema = format!("doctable_bench_cg_{}", std::process::id());
        prepare(&sizes, &base, &schema);
        println!();
        println!(
            "PostgreSQL client, {} rows; instructions (Ir) of the bench process only (not the \
             server's) counted by valgrind --tool=callgrind inside the measured part, each side \
             in a fresh process",
            sizes.rows
        );
        println!();
        println!(
            "| workload | postgres (hand-written) Ir | doctable Ir | ratio | Ir per op: hand-written / doctable |"
        );
        println!("|---|---:|---:|---:|---|");
        for &workload in workloads.iter().filter(|w| WORKLOADS.contains(w)) {
            let count = |side: Side| {
                let out_file = outs.join(format!("pg-{workload}-{side:?}.out"));
                let mut cmd = super::valgrind_command(exe, &out_file);
                cmd.env("DOCTABLE_BENCH_PG_CHILD", format!("{workload}:{side:?}"))
                    .env("DOCTABLE_BENCH_PG_SCHEMA", &schema)
                    .env("DOCTABLE_PG", &base);
                super::count_instructions(cmd, &out_file, workload, side)
            };
            let reference = count(Side::Reference);
            let doctable = count(Side::Doctable);
            let (label, ops, unit) = callgrind_label(workload, &sizes);
            println!(
                "| {label} | {reference} | {doctable} | {:.3} | {} / {} per {unit} |",
                doctable as f64 / reference as f64,
                reference / ops as u64,
                doctable / ops as u64,
            );
        }
        cleanup(&base, &schema);
    }

    /// A workload's name in the PostgreSQL instruction table, its number of
    /// operations and what one is (SQLite's, but `stream` reads `rows`).
    fn callgrind_label(workload: &str, sizes: &Sizes) -> (String, usize, &'static str) {
        match workload {
            "stream" => (
                format!(
                    "9. stream {} rows (for_each; reference: query_raw)",
                    sizes.rows
                ),
                sizes.rows,
                "row",
            ),
            "single" => (
                format!(
                    "2. {} single-row inserts returning the key",
                    sizes.single_inserts
                ),
                sizes.single_inserts,
                "insert",
            ),
            other => super::callgrind_label(other, sizes),
        }
    }

    /// One measurement in a fresh child process.
    fn in_child(workload: &str, side: Side, base: &str, schema: &str) -> Vec<f64> {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .env("DOCTABLE_BENCH_PG_CHILD", format!("{workload}:{side:?}"))
            .env("DOCTABLE_BENCH_PG_SCHEMA", schema)
            .env("DOCTABLE_PG", base)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(|f| f.parse().unwrap())
            .collect()
    }

    /// In a child: runs the measurement named by `DOCTABLE_BENCH_PG_CHILD`
    /// and prints its figures; `false` when this is not such a child.
    pub(crate) fn child_main(sizes: &Sizes) -> bool {
        let Ok(child) = std::env::var("DOCTABLE_BENCH_PG_CHILD") else {
            return false;
        };
        let schema = std::env::var("DOCTABLE_BENCH_PG_SCHEMA").unwrap();
        let (workload, side) = child.split_once(':').unwrap();
        let side = if side == "Doctable" {
            Side::Doctable
        } else {
            Side::Reference
        };
        let figures = measure(workload, side, sizes, &base_params(), &schema);
        let text: Vec<String> = figures.iter().map(|f| f.to_string()).collect();
        println!("{}", text.join(" "));
        true
    }

    /// Prepares, prints the PostgreSQL table, cleans up; one line instead
    /// when there is no server.
    pub(crate) fn main(sizes: &Sizes) {
        let base = base_params();
        if !available(&base) {
            println!("(PostgreSQL table skipped: no server at DOCTABLE_PG / the default)");
            return;
        }
        let schema = format!("doctable_bench_{}", std::process::id());
        prepare(sizes, &base, &schema);
        let version: String = client(&base)
            .query_one("SHOW server_version", &[])
            .unwrap()
            .get(0);
        println!();
        println!(
            "PostgreSQL {version} (same machine, loopback TCP), {} rows; each figure the median of \
             {} runs, each run a fresh process; ratio: of the two medians; paired ratio: the median of each \
             run's own ratio (the two sides measured one right after the other)",
            sizes.rows, sizes.runs
        );
        println!();
        println!("| workload | unit | doctable | postgres (hand-written) | ratio | paired ratio |");
        println!("|---|---|---:|---:|---:|---:|");
        run(
            sizes,
            |workload, side| in_child(workload, side, &base, &schema),
            |line| super::print_line(&line),
        );
        cleanup(&base, &schema);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--callgrind") {
        // cargo bench appends `--bench`; every other plain argument names a workload.
        let names: Vec<String> = args.into_iter().filter(|a| !a.starts_with("--")).collect();
        callgrind_main(&names);
        return;
    }
    let sizes = Sizes::from_env();
    #[cfg(feature = "postgres")]
    if pg::child_main(&sizes) {
        return;
    }
    if let Ok(child) = std::env::var("DOCTABLE_BENCH_CHILD") {
        let dir = PathBuf::from(std::env::var_os("DOCTABLE_BENCH_DIR").unwrap());
        let (workload, side) = child.split_once(':').unwrap();
        let side = if side == "Doctable" {
            Side::Doctable
        } else {
            Side::Reference
        };
        let figures = measure(workload, side, &sizes, &dir);
        let text: Vec<String> = figures.iter().map(|f| f.to_string()).collect();
        println!("{}", text.join(" "));
        return;
    }
    // `DOCTABLE_BENCH_ENGINES=postgres` (or `sqlite`) runs one table only.
    let engines =
        std::env::var("DOCTABLE_BENCH_ENGINES").unwrap_or_else(|_| "sqlite,postgres".into());
    if engines.split(',').any(|e| e.trim() == "sqlite") {
        let dir = tempfile::tempdir().unwrap();
        prepare(&sizes, dir.path());
        print_header(&sizes);
        run(
            &sizes,
            |workload, side| in_child(workload, side, dir.path()),
            |line| print_line(&line),
        );
    }
    #[cfg(feature = "postgres")]
    if engines.split(',').any(|e| e.trim() == "postgres") {
        pg::main(&sizes);
    }
}
