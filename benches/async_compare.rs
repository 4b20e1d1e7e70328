//! doctable's async handle (`doctable::tokio::Db`) against hand-written
//! rusqlite on the workloads of BENCHMARKS.md's SQLite table: this
//! workspace's half of the async benchmark (BENCHMARKS.md "Async (issue
//! 15)"). The other half, sqlx and sea-orm against the same reference, is
//! `peers/` (its own workspace); `peers/run.sh` runs both and prints one
//! table. The harness, workloads and reference side are
//! `benches/async_harness.rs`, shared by both halves.
//!
//! `cargo bench --bench async_compare --features tokio [-- --tsv PATH]`.
//! The async side runs as a service would: on a multi-threaded tokio
//! runtime, each operation one `db.run(..)` (one hop to a worker thread that
//! owns its connection), with `Options::default()` (the reference's pragmas)
//! and two workers (this machine's cores).
//!
//! With `--features tokio,postgres`, a second table: `Db::postgres` against
//! hand-written `tokio-postgres` on the server in `DOCTABLE_PG` (see
//! [`pg`]). `DOCTABLE_BENCH_ENGINES=sqlite` (or `postgres`) runs one table.
#![allow(dead_code, missing_docs, clippy::unwrap_used, clippy::expect_used)]

use doctable::rusqlite;

#[path = "async_harness.rs"]
mod harness;
#[cfg(feature = "postgres")]
#[path = "async_compare_pg.rs"]
mod pg;

use std::path::Path;
use std::time::Instant;

use doctable::tokio::Db;
use doctable::{DocTable, Options};
use harness::{Row, Sizes};

/// The side measured here.
const ASYNC: &str = "doctable async";
/// doctable's sync API on the calling thread, with `DOCTABLE_ASYNC_BENCH_SYNC=1`:
/// what the hop to a worker costs, in the same run.
const SYNC: &str = "doctable sync";

/// The row type, as in `benches/compare.rs`.
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

impl From<Row> for Doc {
    fn from(r: Row) -> Self {
        Doc {
            id: r.id,
            title: r.title,
            body: r.body,
            score: r.score,
            year: r.year,
        }
    }
}

/// Worker threads of the async handle: this machine's cores, at least two
/// (the handle's default).
fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().max(2))
}

async fn open(path: &Path) -> Db<doctable::Persistent> {
    Db::sqlite_with(path, &Options::default(), workers())
        .await
        .unwrap()
}

fn docs(n: usize) -> Vec<Doc> {
    harness::corpus(n).into_iter().map(Doc::from).collect()
}

async fn async_measure(workload: &str, sizes: &Sizes, dir: &Path) -> Vec<f64> {
    use harness::*;
    match workload {
        "bulk" => {
            let rows = docs(sizes.rows);
            let n = rows.len();
            let db = open(&fresh(dir, "bulk-async.db")).await;
            let t = Instant::now();
            db.run(move |c| Doc::insert_many(c, &rows)).await.unwrap();
            vec![per(t, n)]
        }
        "single" => {
            let rows = docs(sizes.single_inserts);
            let db = open(&fresh(dir, "single-async.db")).await;
            let mut lat = Vec::with_capacity(rows.len());
            for d in rows {
                let t = Instant::now();
                db.run(move |c| Doc::insert(c, &d)).await.unwrap();
                lat.push(micros(t));
            }
            p50_p99(lat)
        }
        "select_all" => {
            let db = open(&template(dir)).await;
            let t = Instant::now();
            let all = db.run(|c| Doc::select().all(c)).await.unwrap();
            let us = per(t, all.len());
            assert_eq!(all.len(), sizes.rows);
            vec![us]
        }
        "filtered" => {
            let filters = filters(sizes);
            let db = open(&template(dir)).await;
            let t = Instant::now();
            for &(year, score) in &filters {
                let rows = db
                    .run(move |c| {
                        Doc::select()
                            .filter(Doc::year.gt(year).and(Doc::score.lt(score)))
                            .order_by(Doc::score.asc())
                            .limit(100)
                            .all(c)
                    })
                    .await
                    .unwrap();
                std::hint::black_box(rows);
            }
            vec![per(t, filters.len())]
        }
        "get" => {
            let keys = keys(sizes);
            let db = open(&template(dir)).await;
            let t = Instant::now();
            for &k in &keys {
                let row = db.run(move |c| Doc::get(c, k)).await.unwrap().unwrap();
                std::hint::black_box(row);
            }
            vec![per(t, keys.len())]
        }
        "update" => {
            let years = update_years();
            let db = open(&copy_of_template(dir, "update-async.db")).await;
            let t = Instant::now();
            for &y in &years {
                db.run(move |c| {
                    Doc::update()
                        .set(Doc::score, Doc::score + 1)
                        .filter(Doc::year.eq(y))
                        .run(c)
                })
                .await
                .unwrap();
            }
            vec![per(t, years.len())]
        }
        "delete" => {
            let db = open(&copy_of_template(dir, "delete-async.db")).await;
            let t = Instant::now();
            let n = db
                .run(|c| Doc::delete().filter(Doc::year.lt(DELETE_BELOW)).run(c))
                .await
                .unwrap();
            let us = micros(t);
            assert!(n > 0);
            vec![us]
        }
        other => panic!("unknown workload {other}"),
    }
}

/// The read workloads through doctable's sync API (`Persistent`), for the
/// `doctable sync` column.
fn sync_measure(workload: &str, sizes: &Sizes, dir: &Path) -> Vec<f64> {
    use harness::*;
    let db = doctable::Persistent::open(template(dir)).unwrap();
    match workload {
        "filtered" => {
            let filters = filters(sizes);
            let t = Instant::now();
            for &(year, score) in &filters {
                let rows = Doc::select()
                    .filter(Doc::year.gt(year).and(Doc::score.lt(score)))
                    .order_by(Doc::score.asc())
                    .limit(100)
                    .all(&db)
                    .unwrap();
                std::hint::black_box(rows);
            }
            vec![per(t, filters.len())]
        }
        "get" => {
            let keys = keys(sizes);
            let t = Instant::now();
            for &k in &keys {
                std::hint::black_box(Doc::get(&db, k).unwrap().unwrap());
            }
            vec![per(t, keys.len())]
        }
        other => {
            panic!("the doctable sync column has no {other} (set DOCTABLE_BENCH_ONLY=filtered,get)")
        }
    }
}

fn measure(workload: &str, side: &str, dir: &Path) -> Vec<f64> {
    let sizes = Sizes::from_env();
    match side {
        harness::RAW => harness::raw_measure(workload, &sizes, dir),
        ASYNC => runtime().block_on(async_measure(workload, &sizes, dir)),
        SYNC => sync_measure(workload, &sizes, dir),
        #[cfg(feature = "postgres")]
        other if other.starts_with("pg ") => pg::measure(workload, other, &sizes, dir),
        other => panic!("unknown side {other}"),
    }
}

/// A multi-threaded runtime, as a service has.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The engines `DOCTABLE_BENCH_ENGINES` names (default both).
fn engines() -> Vec<String> {
    std::env::var("DOCTABLE_BENCH_ENGINES")
        .unwrap_or_else(|_| "sqlite,postgres".into())
        .split(',')
        .map(|e| e.trim().to_owned())
        .collect()
}

fn main() {
    if let Some((workload, side, dir)) = harness::child_request() {
        harness::child_reply(&measure(&workload, &side, &dir));
        return;
    }
    let tsv = match harness::command() {
        harness::Command::Merge { main, peers } => return harness::merge(&main, &peers),
        harness::Command::Measure { tsv } => tsv,
    };
    let sizes = Sizes::from_env();
    if engines().iter().any(|e| e == "sqlite") {
        let dir = tempfile::tempdir().unwrap();
        harness::prepare(&sizes, dir.path());
        println!(
            "SQLite {} (bundled, rusqlite 0.37); {}; {} rows; {} workers; each figure the median of {} runs, each run a fresh process",
            rusqlite::version(),
            harness::machine(),
            sizes.rows,
            workers(),
            sizes.runs
        );
        println!();
        let sides: &[&str] = if std::env::var("DOCTABLE_ASYNC_BENCH_SYNC").as_deref() == Ok("1") {
            &[harness::RAW, ASYNC, SYNC]
        } else {
            &[harness::RAW, ASYNC]
        };
        let figures = harness::run(&sizes, sides, |w, s| harness::in_child(w, s, dir.path()));
        print!("{}", harness::table(&figures));
        if let Some(path) = &tsv {
            std::fs::write(path, harness::to_tsv(&figures)).unwrap();
        }
    }
    #[cfg(feature = "postgres")]
    if engines().iter().any(|e| e == "postgres") {
        pg::main(&sizes);
    }
}
