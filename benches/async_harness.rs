//! The harness of the async benchmark (BENCHMARKS.md "Async (issue 15)"),
//! shared word for word by its two halves: `benches/async_compare.rs` in this
//! workspace (doctable's async handle) and `peers/src/main.rs` in its own
//! workspace (sqlx and sea-orm), both `#[path]`-including this file. Each half
//! measures hand-written rusqlite with [`raw_measure`] in the same run, so
//! every figure is a ratio to raw rusqlite on the same machine at the same
//! moment.
//!
//! The workloads are the SQLite table's of BENCHMARKS.md (`benches/compare.rs`):
//! the same table, rows (the same deterministic corpus), sizes, SQL and
//! pragmas. Every measurement runs in a fresh child process (this binary run
//! again), the sides rotating which goes first, and each figure is the median
//! of `DOCTABLE_BENCH_RUNS` runs.
//!
//! The including crate root must name the rusqlite crate `rusqlite`
//! (`use doctable::rusqlite;` in the main workspace, `extern crate rusqlite;`
//! in peers/).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::rusqlite::{self, params};

/// One row, as every side sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub(crate) id: Option<i64>,
    pub(crate) title: String,
    pub(crate) body: String,
    pub(crate) score: f64,
    pub(crate) year: i64,
}

/// The table, exactly as doctable's `create_table` writes it for
/// `benches/compare.rs`'s `Doc`.
pub(crate) const DDL: &str = r#"CREATE TABLE IF NOT EXISTS "docs" (
    "id" INTEGER PRIMARY KEY,
    "title" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "score" REAL NOT NULL,
    "year" INTEGER NOT NULL
);
CREATE INDEX "ix_docs_score" ON "docs" ("score");
CREATE INDEX "ix_docs_year" ON "docs" ("year");"#;

pub(crate) const INSERT: &str =
    "INSERT INTO docs (id, title, body, score, year) VALUES (?1, ?2, ?3, ?4, ?5)";
pub(crate) const SELECT_ALL: &str = "SELECT id, title, body, score, year FROM docs";
pub(crate) const SELECT_FILTERED: &str = "SELECT id, title, body, score, year FROM docs \
     WHERE year > ?1 AND score < ?2 ORDER BY score LIMIT 100";
pub(crate) const GET: &str = "SELECT id, title, body, score, year FROM docs WHERE id = ?1";
pub(crate) const UPDATE: &str = "UPDATE docs SET score = score + 1 WHERE year = ?1";
pub(crate) const DELETE: &str = "DELETE FROM docs WHERE year < ?1";

/// The side every ratio is taken against.
pub(crate) const RAW: &str = "rusqlite";

/// How much work each workload does (as `benches/compare.rs`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sizes {
    pub(crate) rows: usize,
    pub(crate) single_inserts: usize,
    pub(crate) filtered_queries: usize,
    pub(crate) gets: usize,
    pub(crate) runs: usize,
}

impl Sizes {
    pub(crate) fn from_env() -> Self {
        if std::env::var("DOCTABLE_BENCH_SIZES").as_deref() == Ok("smoke") {
            return Self::smoke();
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
            runs: env("DOCTABLE_BENCH_RUNS", 5),
        }
    }

    /// Every workload at a tiny size: checks the harness runs, times nothing.
    pub(crate) fn smoke() -> Self {
        Sizes {
            rows: 300,
            single_inserts: 20,
            filtered_queries: 10,
            gets: 50,
            runs: 1,
        }
    }
}

/// The deterministic corpus of `benches/compare.rs` (the same rows).
pub(crate) fn corpus(n: usize) -> Vec<Row> {
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
            Row {
                id: None,
                title: format!("Document no. {i:08}"),
                body,
                score: (next() % 10_000) as f64 / 10_000.0,
                year: 1950 + (next() % 75) as i64,
            }
        })
        .collect()
}

/// The workloads, in report order.
pub(crate) const WORKLOADS: &[&str] = &[
    "bulk",
    "single",
    "select_all",
    "filtered",
    "get",
    "update",
    "delete",
];

/// The (year, score) bounds of the filtered queries.
pub(crate) fn filters(sizes: &Sizes) -> Vec<(i64, f64)> {
    (0..sizes.filtered_queries)
        .map(|i| (1950 + (i as i64 * 7) % 70, 0.2 + (i % 5) as f64 * 0.1))
        .collect()
}

/// The keys of the gets.
pub(crate) fn keys(sizes: &Sizes) -> Vec<i64> {
    (0..sizes.gets)
        .map(|i| 1 + (i as i64 * 7919) % sizes.rows as i64)
        .collect()
}

/// The years of the updates (20 statements).
pub(crate) fn update_years() -> Vec<i64> {
    (1950..1970).collect()
}

/// The bound of the one delete (~13% of the rows).
pub(crate) const DELETE_BELOW: i64 = 1960;

const TEMPLATE: &str = "template.db";

/// A fresh, empty file with the table.
pub(crate) fn fresh(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    open_raw(&path).execute_batch(DDL).unwrap();
    path
}

/// The file every read workload reads (all rows), and updates and deletes copy.
pub(crate) fn template(dir: &Path) -> PathBuf {
    dir.join(TEMPLATE)
}

/// A private copy of the template (closed, so one file: the last connection
/// to close checkpointed it and removed its WAL).
pub(crate) fn copy_of_template(dir: &Path, name: &str) -> PathBuf {
    let path = fresh(dir, name);
    std::fs::copy(template(dir), &path).unwrap();
    path
}

/// Writes the template file, once per run, before any measurement.
pub(crate) fn prepare(sizes: &Sizes, dir: &Path) {
    let path = fresh(dir, TEMPLATE);
    insert_raw(&open_raw(&path), &corpus(sizes.rows));
}

/// A connection configured as doctable configures its own.
pub(crate) fn open_raw(path: &Path) -> rusqlite::Connection {
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

fn read_raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        id: r.get(0)?,
        title: r.get(1)?,
        body: r.get(2)?,
        score: r.get(3)?,
        year: r.get(4)?,
    })
}

fn insert_raw(conn: &rusqlite::Connection, rows: &[Row]) {
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    {
        let mut stmt = conn.prepare_cached(INSERT).unwrap();
        for d in rows {
            stmt.execute(params![d.id, d.title, d.body, d.score, d.year])
                .unwrap();
        }
    }
    conn.execute_batch("COMMIT").unwrap();
}

/// Microseconds per operation since `t`.
pub(crate) fn per(t: Instant, n: usize) -> f64 {
    t.elapsed().as_secs_f64() * 1e6 / n as f64
}

/// Microseconds since `t`.
pub(crate) fn micros(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e6
}

/// The p50 and p99 of single-insert latencies, the figures of `single`.
pub(crate) fn p50_p99(mut xs: Vec<f64>) -> Vec<f64> {
    xs.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| xs[((xs.len() as f64 - 1.0) * p).round() as usize];
    vec![at(0.5), at(0.99)]
}

/// Hand-written rusqlite, one workload, once: the reference of every ratio
/// (the same code as `benches/compare.rs`'s reference side).
pub(crate) fn raw_measure(workload: &str, sizes: &Sizes, dir: &Path) -> Vec<f64> {
    match workload {
        "bulk" => {
            let rows = corpus(sizes.rows);
            let conn = open_raw(&fresh(dir, "bulk-raw.db"));
            let t = Instant::now();
            insert_raw(&conn, &rows);
            vec![per(t, rows.len())]
        }
        "single" => {
            let rows = corpus(sizes.single_inserts);
            let conn = open_raw(&fresh(dir, "single-raw.db"));
            let lat = rows
                .iter()
                .map(|d| {
                    let t = Instant::now();
                    conn.prepare_cached(INSERT)
                        .unwrap()
                        .execute(params![d.id, d.title, d.body, d.score, d.year])
                        .unwrap();
                    micros(t)
                })
                .collect();
            p50_p99(lat)
        }
        "select_all" => {
            let conn = open_raw(&template(dir));
            let t = Instant::now();
            let all: Vec<Row> = conn
                .prepare_cached(SELECT_ALL)
                .unwrap()
                .query_map([], read_raw)
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            let us = per(t, all.len());
            assert_eq!(all.len(), sizes.rows);
            vec![us]
        }
        "filtered" => {
            let filters = filters(sizes);
            let conn = open_raw(&template(dir));
            let t = Instant::now();
            for &(year, score) in &filters {
                let rows: Vec<Row> = conn
                    .prepare_cached(SELECT_FILTERED)
                    .unwrap()
                    .query_map(params![year, score], read_raw)
                    .unwrap()
                    .collect::<rusqlite::Result<_>>()
                    .unwrap();
                std::hint::black_box(rows);
            }
            vec![per(t, filters.len())]
        }
        "get" => {
            let keys = keys(sizes);
            let conn = open_raw(&template(dir));
            let t = Instant::now();
            for &k in &keys {
                let mut stmt = conn.prepare_cached(GET).unwrap();
                std::hint::black_box(stmt.query_row([k], read_raw).unwrap());
            }
            vec![per(t, keys.len())]
        }
        "update" => {
            let years = update_years();
            let conn = open_raw(&copy_of_template(dir, "update-raw.db"));
            let t = Instant::now();
            for &y in &years {
                conn.prepare_cached(UPDATE).unwrap().execute([y]).unwrap();
            }
            vec![per(t, years.len())]
        }
        "delete" => {
            let conn = open_raw(&copy_of_template(dir, "delete-raw.db"));
            let t = Instant::now();
            let n = conn
                .prepare_cached(DELETE)
                .unwrap()
                .execute([DELETE_BELOW])
                .unwrap();
            let us = micros(t);
            assert!(n > 0);
            vec![us]
        }
        other => panic!("unknown workload {other}"),
    }
}

/// The lines a workload reports: (key, label, unit, index of the figure).
pub(crate) fn labels(workload: &str, sizes: &Sizes) -> Vec<(String, String, &'static str, usize)> {
    let one = |key: &str, label: String, unit| vec![(key.to_owned(), label, unit, 0)];
    match workload {
        "bulk" => one(
            "bulk",
            format!("1. bulk insert {} rows", sizes.rows),
            "µs/row",
        ),
        "single" => vec![
            (
                "single_p50".into(),
                format!("2. {} single-row inserts, p50", sizes.single_inserts),
                "µs/insert",
                0,
            ),
            (
                "single_p99".into(),
                format!("2. {} single-row inserts, p99", sizes.single_inserts),
                "µs/insert",
                1,
            ),
        ],
        "select_all" => one(
            "select_all",
            format!("3. select all {} rows into a Vec", sizes.rows),
            "µs/row",
        ),
        "filtered" => one(
            "filtered",
            format!(
                "4. filtered select, order, limit 100 (x{})",
                sizes.filtered_queries
            ),
            "µs/query",
        ),
        "get" => one(
            "get",
            format!("5. get by primary key (x{})", sizes.gets),
            "µs/get",
        ),
        "update" => one(
            "update",
            "6. update set score = score + 1 where year = X (x20)".into(),
            "µs/update",
        ),
        "delete" => one(
            "delete",
            "7. delete where year < X (~13% of rows)".into(),
            "µs/delete",
        ),
        other => panic!("unknown workload {other}"),
    }
}

/// One reported figure: a workload line, a side, its median.
#[derive(Debug, Clone)]
pub(crate) struct Figure {
    pub(crate) key: String,
    pub(crate) label: String,
    pub(crate) unit: String,
    pub(crate) side: String,
    pub(crate) value: f64,
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs.get(xs.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Every workload (or those in `DOCTABLE_BENCH_ONLY`), `sizes.runs` times per
/// side, the side going first rotating from run to run; `one` makes each
/// measurement. Returns the medians.
pub(crate) fn run(
    sizes: &Sizes,
    sides: &[&str],
    mut one: impl FnMut(&str, &str) -> Vec<f64>,
) -> Vec<Figure> {
    let only = std::env::var("DOCTABLE_BENCH_ONLY").ok();
    let chosen = |w: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|n| n.trim() == w))
    };
    let mut out = Vec::new();
    for workload in WORKLOADS.iter().filter(|w| chosen(w)) {
        let mut figures: Vec<Vec<Vec<f64>>> = vec![Vec::new(); sides.len()];
        for run in 0..sizes.runs {
            for k in 0..sides.len() {
                let s = (run + k) % sides.len();
                figures[s].push(one(workload, sides[s]));
            }
        }
        for (key, label, unit, i) in labels(workload, sizes) {
            for (s, side) in sides.iter().enumerate() {
                out.push(Figure {
                    key: key.clone(),
                    label: label.clone(),
                    unit: unit.to_owned(),
                    side: (*side).to_owned(),
                    value: median(figures[s].iter().map(|f| f[i]).collect()),
                });
            }
        }
    }
    out
}

/// The measurement this process is a child for, if it is one:
/// (workload, side, data directory).
pub(crate) fn child_request() -> Option<(String, String, PathBuf)> {
    let spec = std::env::var("DOCTABLE_ASYNC_BENCH_CHILD").ok()?;
    let (workload, side) = spec.split_once(':')?;
    let dir = std::env::var_os("DOCTABLE_ASYNC_BENCH_DIR")?;
    Some((workload.to_owned(), side.to_owned(), PathBuf::from(dir)))
}

/// Prints a child's figures for [`in_child`] to read.
pub(crate) fn child_reply(figures: &[f64]) {
    let text: Vec<String> = figures.iter().map(|f| f.to_string()).collect();
    println!("{}", text.join(" "));
}

/// One measurement in a fresh child process: this binary run again.
pub(crate) fn in_child(workload: &str, side: &str, dir: &Path) -> Vec<f64> {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env("DOCTABLE_ASYNC_BENCH_CHILD", format!("{workload}:{side}"))
        .env("DOCTABLE_ASYNC_BENCH_DIR", dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{workload}:{side}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|f| f.parse().unwrap())
        .collect()
}

/// The figures as tab-separated lines (key, label, unit, side, value), for
/// [`merge`].
pub(crate) fn to_tsv(figures: &[Figure]) -> String {
    figures
        .iter()
        .map(|f| {
            format!(
                "{}\t{}\t{}\t{}\t{}\n",
                f.key, f.label, f.unit, f.side, f.value
            )
        })
        .collect()
}

/// Reads [`to_tsv`]'s lines; `origin` tells the two rusqlite columns apart.
pub(crate) fn from_tsv(text: &str, origin: &str) -> Vec<Figure> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 5, "bad line {l:?}");
            let side = if f[3] == RAW {
                format!("{RAW} ({origin})")
            } else {
                f[3].to_owned()
            };
            Figure {
                key: f[0].into(),
                label: f[1].into(),
                unit: f[2].into(),
                side,
                value: f[4].parse().unwrap(),
            }
        })
        .collect()
}

/// One markdown table: a row per workload line, a column per side, and after
/// each side but a rusqlite one its ratio to the rusqlite column before it.
pub(crate) fn table(figures: &[Figure]) -> String {
    let mut sides: Vec<&str> = Vec::new();
    let mut keys: Vec<(&str, &str, &str)> = Vec::new();
    for f in figures {
        if !sides.contains(&f.side.as_str()) {
            sides.push(&f.side);
        }
        if !keys.iter().any(|k| k.0 == f.key) {
            keys.push((&f.key, &f.label, &f.unit));
        }
    }
    let is_raw = |s: &str| s.starts_with(RAW);
    let mut out = String::from("| workload | unit |");
    let mut rule = String::from("|---|---|");
    for s in &sides {
        out.push_str(&format!(" {s} |"));
        rule.push_str("---:|");
        if !is_raw(s) {
            out.push_str(" ratio |");
            rule.push_str("---:|");
        }
    }
    out.push('\n');
    out.push_str(&rule);
    out.push('\n');
    for (key, label, unit) in keys {
        out.push_str(&format!("| {label} | {unit} |"));
        let mut raw = f64::NAN;
        for s in &sides {
            let v = figures
                .iter()
                .find(|f| f.key == key && f.side == *s)
                .map_or(f64::NAN, |f| f.value);
            out.push_str(&format!(" {v:.3} |"));
            if is_raw(s) {
                raw = v;
            } else {
                out.push_str(&format!(" {:.2} |", v / raw));
            }
        }
        out.push('\n');
    }
    out
}

/// The command line of either half: `--tsv PATH` writes the figures there as
/// well as printing the table; `--merge A.tsv B.tsv` prints the one table of
/// both halves' figures (A from this workspace, B from peers/) and measures
/// nothing.
pub(crate) enum Command {
    Measure { tsv: Option<PathBuf> },
    Merge { main: PathBuf, peers: PathBuf },
}

pub(crate) fn command() -> Command {
    // `cargo bench` passes `--bench`; ignore it and anything else unknown.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--merge") {
        return Command::Merge {
            main: PathBuf::from(&args[i + 1]),
            peers: PathBuf::from(&args[i + 2]),
        };
    }
    let tsv = args
        .iter()
        .position(|a| a == "--tsv")
        .map(|i| PathBuf::from(&args[i + 1]));
    Command::Measure { tsv }
}

/// `--merge`: the one table of both halves.
pub(crate) fn merge(main: &Path, peers: &Path) {
    let mut figures = from_tsv(&std::fs::read_to_string(main).unwrap(), "main");
    figures.extend(from_tsv(&std::fs::read_to_string(peers).unwrap(), "peers"));
    print!("{}", table(&figures));
}

/// The machine line printed above a table.
pub(crate) fn machine() -> String {
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
    format!("{cpu}, {cores} cores")
}
