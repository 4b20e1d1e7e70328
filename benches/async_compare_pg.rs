//! PostgreSQL: `doctable::tokio::Db::postgres` against hand-written
//! `tokio-postgres` (statements prepared once per measurement), on the
//! workloads of `async_harness.rs` minus nothing: the same rows, SQL shapes
//! and sizes, on the server in `DOCTABLE_PG`. Read workloads share one
//! table filled once (then `VACUUM ANALYZE`); bulk and single get a fresh
//! empty table, update and delete a fresh copy of the rows, per measurement,
//! made before the timer starts. Both sides run on a multi-threaded tokio
//! runtime; each measurement in a fresh process, the sides alternating.
//!
//! A child learns the schema through the harness's directory argument (the
//! schema's name stands where a SQLite run passes its data directory).

use std::path::Path;
use std::time::Instant;

use doctable::DocTable;
use doctable::tokio::Db;

use super::harness::{self, Sizes};
use super::{Doc, docs, runtime, workers};

const RAW_PG: &str = "pg tokio-postgres";
const ASYNC_PG: &str = "pg doctable async";

const INSERT: &str = "INSERT INTO docs (title, body, score, year) VALUES ($1, $2, $3, $4)";
const INSERT_RETURNING: &str =
    "INSERT INTO docs (title, body, score, year) VALUES ($1, $2, $3, $4) RETURNING id";
const SELECT_ALL: &str = "SELECT id, title, body, score, year FROM docs";
const SELECT_FILTERED: &str = "SELECT id, title, body, score, year FROM docs \
     WHERE year > $1 AND score < $2 ORDER BY score LIMIT 100";
const GET: &str = "SELECT id, title, body, score, year FROM docs WHERE id = $1";
const UPDATE: &str = "UPDATE docs SET score = score + 1 WHERE year = $1";
const DELETE: &str = "DELETE FROM docs WHERE year < $1";

fn base_params() -> String {
    std::env::var("DOCTABLE_PG")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "host=127.0.0.1 user=root dbname=test".to_owned())
}

fn in_schema(base: &str, schema: &str) -> String {
    format!("{base} options='-c search_path={schema}'")
}

fn admin(base: &str) -> postgres::Client {
    base.parse::<postgres::Config>()
        .unwrap()
        .connect(postgres::NoTls)
        .unwrap()
}

/// The read-only `<schema>_ro`, filled once by doctable's sync API.
fn prepare(sizes: &Sizes, base: &str, schema: &str) {
    admin(base)
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema}_ro CASCADE; DROP SCHEMA IF EXISTS {schema}_rw CASCADE; \
             CREATE SCHEMA {schema}_ro"
        ))
        .unwrap();
    let db =
        doctable::postgres::Persistent::connect(&in_schema(base, &format!("{schema}_ro"))).unwrap();
    Doc::create_table(&db).unwrap();
    Doc::insert_many(&db, &docs(sizes.rows)).unwrap();
    admin(base)
        .batch_execute(&format!("VACUUM ANALYZE {schema}_ro.docs"))
        .unwrap();
}

/// A fresh `<schema>_rw`: an empty table, or a copy of the rows.
fn fresh_rw(base: &str, schema: &str, filled: bool) -> String {
    let mut admin = admin(base);
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema}_rw CASCADE; CREATE SCHEMA {schema}_rw"
        ))
        .unwrap();
    let params = in_schema(base, &format!("{schema}_rw"));
    Doc::create_table(&doctable::postgres::Persistent::connect(&params).unwrap()).unwrap();
    if filled {
        admin
            .batch_execute(&format!(
                "INSERT INTO {schema}_rw.docs SELECT * FROM {schema}_ro.docs"
            ))
            .unwrap();
        // A batch of several statements is one implicit transaction, which
        // VACUUM refuses: its own call.
        admin
            .batch_execute(&format!("VACUUM ANALYZE {schema}_rw.docs"))
            .unwrap();
    }
    params
}

fn read(r: &tokio_postgres::Row) -> Doc {
    Doc {
        id: r.get(0),
        title: r.get(1),
        body: r.get(2),
        score: r.get(3),
        year: r.get(4),
    }
}

async fn raw_client(params: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(params, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

async fn raw_measure(workload: &str, sizes: &Sizes, params: &str) -> Vec<f64> {
    use harness::{DELETE_BELOW, filters, keys, micros, p50_p99, per, update_years};
    match workload {
        "bulk" => {
            let rows = docs(sizes.rows);
            let mut c = raw_client(params).await;
            let t = Instant::now();
            let tx = c.transaction().await.unwrap();
            let stmt = tx.prepare(INSERT).await.unwrap();
            for d in &rows {
                tx.execute(&stmt, &[&d.title, &d.body, &d.score, &d.year])
                    .await
                    .unwrap();
            }
            tx.commit().await.unwrap();
            vec![per(t, rows.len())]
        }
        "single" => {
            let rows = docs(sizes.single_inserts);
            let c = raw_client(params).await;
            let stmt = c.prepare(INSERT_RETURNING).await.unwrap();
            let mut lat = Vec::with_capacity(rows.len());
            for d in &rows {
                let t = Instant::now();
                let row = c
                    .query_one(&stmt, &[&d.title, &d.body, &d.score, &d.year])
                    .await
                    .unwrap();
                std::hint::black_box(row.get::<_, i64>(0));
                lat.push(micros(t));
            }
            p50_p99(lat)
        }
        "select_all" => {
            let c = raw_client(params).await;
            let stmt = c.prepare(SELECT_ALL).await.unwrap();
            let t = Instant::now();
            let all: Vec<Doc> = c
                .query(&stmt, &[])
                .await
                .unwrap()
                .iter()
                .map(read)
                .collect();
            let us = per(t, all.len());
            assert_eq!(all.len(), sizes.rows);
            vec![us]
        }
        "filtered" => {
            let filters = filters(sizes);
            let c = raw_client(params).await;
            let stmt = c.prepare(SELECT_FILTERED).await.unwrap();
            let t = Instant::now();
            for &(year, score) in &filters {
                let rows: Vec<Doc> = c
                    .query(&stmt, &[&year, &score])
                    .await
                    .unwrap()
                    .iter()
                    .map(read)
                    .collect();
                std::hint::black_box(rows);
            }
            vec![per(t, filters.len())]
        }
        "get" => {
            let keys = keys(sizes);
            let c = raw_client(params).await;
            let stmt = c.prepare(GET).await.unwrap();
            let t = Instant::now();
            for &k in &keys {
                let row = c.query_opt(&stmt, &[&k]).await.unwrap().unwrap();
                std::hint::black_box(read(&row));
            }
            vec![per(t, keys.len())]
        }
        "update" => {
            let years = update_years();
            let c = raw_client(params).await;
            let stmt = c.prepare(UPDATE).await.unwrap();
            let t = Instant::now();
            for &y in &years {
                c.execute(&stmt, &[&y]).await.unwrap();
            }
            vec![per(t, years.len())]
        }
        "delete" => {
            let c = raw_client(params).await;
            let stmt = c.prepare(DELETE).await.unwrap();
            let t = Instant::now();
            let n = c.execute(&stmt, &[&DELETE_BELOW]).await.unwrap();
            let us = micros(t);
            assert!(n > 0);
            vec![us]
        }
        other => panic!("unknown workload {other}"),
    }
}

async fn open(params: &str) -> Db<doctable::postgres::Persistent> {
    Db::postgres(params, workers()).await.unwrap()
}

async fn async_measure(workload: &str, sizes: &Sizes, params: &str) -> Vec<f64> {
    use harness::{DELETE_BELOW, filters, keys, micros, p50_p99, per, update_years};
    match workload {
        "bulk" => {
            let rows = docs(sizes.rows);
            let n = rows.len();
            let db = open(params).await;
            let t = Instant::now();
            db.run(move |c| Doc::insert_many(c, &rows)).await.unwrap();
            vec![per(t, n)]
        }
        "single" => {
            let rows = docs(sizes.single_inserts);
            let db = open(params).await;
            let mut lat = Vec::with_capacity(rows.len());
            for d in rows {
                let t = Instant::now();
                std::hint::black_box(db.run(move |c| Doc::insert(c, &d)).await.unwrap());
                lat.push(micros(t));
            }
            p50_p99(lat)
        }
        "select_all" => {
            let db = open(params).await;
            let t = Instant::now();
            let all = db.run(|c| Doc::select().all(c)).await.unwrap();
            let us = per(t, all.len());
            assert_eq!(all.len(), sizes.rows);
            vec![us]
        }
        "filtered" => {
            let filters = filters(sizes);
            let db = open(params).await;
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
            let db = open(params).await;
            let t = Instant::now();
            for &k in &keys {
                let row = db.run(move |c| Doc::get(c, k)).await.unwrap().unwrap();
                std::hint::black_box(row);
            }
            vec![per(t, keys.len())]
        }
        "update" => {
            let years = update_years();
            let db = open(params).await;
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
            let db = open(params).await;
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

/// A child's measurement; `schema` came as the harness's directory.
pub(crate) fn measure(workload: &str, side: &str, sizes: &Sizes, schema: &Path) -> Vec<f64> {
    let base = base_params();
    let schema = schema.to_str().unwrap();
    // The table is made with the sync client, before the runtime starts.
    let params = match workload {
        "bulk" | "single" => fresh_rw(&base, schema, false),
        "update" | "delete" => fresh_rw(&base, schema, true),
        _ => in_schema(&base, &format!("{schema}_ro")),
    };
    let rt = runtime();
    match side {
        RAW_PG => rt.block_on(raw_measure(workload, sizes, &params)),
        ASYNC_PG => rt.block_on(async_measure(workload, sizes, &params)),
        other => panic!("unknown side {other}"),
    }
}

/// The PostgreSQL table (skipped, with one line, when no server answers).
pub(crate) fn main(sizes: &Sizes) {
    let base = base_params();
    let up = base
        .parse::<postgres::Config>()
        .ok()
        .and_then(|mut c| {
            c.connect_timeout(std::time::Duration::from_secs(5));
            c.connect(postgres::NoTls).ok()
        })
        .is_some();
    if !up {
        println!("PostgreSQL table skipped: no server at {base}");
        return;
    }
    let schema = format!("doctable_async_bench_{}", std::process::id());
    prepare(sizes, &base, &schema);
    let version: String = admin(&base)
        .query_one("SHOW server_version", &[])
        .unwrap()
        .get(0);
    println!();
    println!(
        "PostgreSQL {version} (loopback TCP); {}; {} rows; {} workers; each figure the median of {} runs, each run a fresh process",
        harness::machine(),
        sizes.rows,
        workers(),
        sizes.runs
    );
    println!();
    let figures = harness::run(sizes, &[RAW_PG, ASYNC_PG], |w, s| {
        harness::in_child(w, s, Path::new(&schema))
    });
    println!("| workload | unit | tokio-postgres (hand-written) | doctable async | ratio |");
    println!("|---|---|---:|---:|---:|");
    for raw in figures.iter().filter(|f| f.side == RAW_PG) {
        let ours = figures
            .iter()
            .find(|f| f.key == raw.key && f.side == ASYNC_PG)
            .map_or(f64::NAN, |f| f.value);
        println!(
            "| {} | {} | {:.3} | {:.3} | {:.2} |",
            raw.label,
            raw.unit,
            raw.value,
            ours,
            ours / raw.value
        );
    }
    let _ = admin(&base).batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {schema}_ro CASCADE; DROP SCHEMA IF EXISTS {schema}_rw CASCADE"
    ));
}
