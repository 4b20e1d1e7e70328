//! What the async handle (`doctable::tokio::Db`) costs per operation, and
//! why its PostgreSQL side runs the sync client on worker threads.
//!
//! ```text
//! cargo run --release --example async_overhead --features tokio            # SQLite
//! DOCTABLE_PG="host=127.0.0.1 user=root dbname=test" \
//!   cargo run --release --example async_overhead --features tokio,postgres # + PostgreSQL
//! ```
//!
//! Each line is the median of `ROUNDS` rounds of `N` lookups by key (a
//! one-row `SELECT` of a five-column row), one task awaiting one at a time
//! (latency) and `TASKS` tasks at once (throughput), on a multi-threaded
//! runtime. SQLite: raw rusqlite (`prepare_cached`) on the calling thread,
//! doctable's sync `Persistent`, and `Db::run`. PostgreSQL: hand-written
//! `tokio-postgres` (prepared statement, one client per worker) against
//! `Db<postgres::Persistent>`, the sync `postgres::Persistent` and
//! hand-written sync `postgres` code (prepared statement, its own thread). Figures
//! are in BENCHMARKS.md ("Async handle: the cost of a hop").

use std::time::{Duration, Instant};

use doctable::tokio::Db;
use doctable::{DocTable, Options, Persistent};

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "docs")]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    title: String,
    body: String,
    score: f64,
    year: i64,
}

const ROWS: i64 = 1_000;
const N: usize = 20_000;
const ROUNDS: usize = 5;
const TASKS: usize = 8;
const WORKERS: usize = 2;

fn corpus() -> Vec<Doc> {
    (0..ROWS)
        .map(|i| Doc {
            id: None,
            title: format!("title {i}"),
            body: format!("body of document {i}, a few words long"),
            score: i as f64 / 7.0,
            year: 1990 + i % 30,
        })
        .collect()
}

fn key(i: usize) -> i64 {
    (i as i64 * 7919) % ROWS + 1
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort_unstable();
    xs[xs.len() / 2]
}

fn line(name: &str, total: Duration, n: usize, base: Option<Duration>) {
    let per = total.as_secs_f64() * 1e6 / n as f64;
    match base {
        Some(b) => println!(
            "| {name:<52} | {per:>8.2} µs | {:>5.2} |",
            total.as_secs_f64() / b.as_secs_f64()
        ),
        None => println!("| {name:<52} | {per:>8.2} µs |  1.00 |"),
    }
}

/// `f` run `ROUNDS` times; the median.
async fn rounds<F, Fut>(mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut times = Vec::new();
    for _ in 0..ROUNDS {
        let t = Instant::now();
        f().await;
        times.push(t.elapsed());
    }
    median(times)
}

async fn sqlite() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("overhead.db");
    let sync = Persistent::open(&path)?;
    Doc::create_table(&sync)?;
    Doc::insert_many(&sync, &corpus())?;
    let raw = doctable::rusqlite::Connection::open(&path)?;
    let db = Db::sqlite_with(&path, &Options::default(), WORKERS).await?;

    println!("\nSQLite, {N} lookups by key, median of {ROUNDS} rounds\n");
    println!("| side | per lookup | ratio |\n|---|---:|---:|");
    let raw_time = rounds(|| async {
        let mut stmt = raw
            .prepare_cached("SELECT id, title, body, score, year FROM docs WHERE id = ?1")
            .expect("prepare");
        for i in 0..N {
            let doc = stmt
                .query_row([key(i)], |r| {
                    Ok(Doc {
                        id: r.get(0)?,
                        title: r.get(1)?,
                        body: r.get(2)?,
                        score: r.get(3)?,
                        year: r.get(4)?,
                    })
                })
                .expect("row");
            std::hint::black_box(doc);
        }
    })
    .await;
    line("raw rusqlite, calling thread", raw_time, N, None);
    let sync_time = rounds(|| async {
        for i in 0..N {
            std::hint::black_box(Doc::get(&sync, key(i)).expect("get"));
        }
    })
    .await;
    line(
        "doctable Persistent (sync), calling thread",
        sync_time,
        N,
        Some(raw_time),
    );
    let one = rounds(|| async {
        for i in 0..N {
            let k = key(i);
            std::hint::black_box(db.run(move |c| Doc::get(c, k)).await.expect("get"));
        }
    })
    .await;
    line("Db::run, one task awaiting each", one, N, Some(raw_time));
    let many = rounds(|| async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let db = db.clone();
                tokio::spawn(async move {
                    for i in (t..N).step_by(TASKS) {
                        let k = key(i);
                        std::hint::black_box(db.run(move |c| Doc::get(c, k)).await.expect("get"));
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
    })
    .await;
    line(
        &format!("Db::run, {TASKS} tasks at once ({WORKERS} workers)"),
        many,
        N,
        Some(raw_time),
    );
    let batch = rounds(|| async {
        let docs = db
            .run(|c| {
                let mut out = Vec::with_capacity(N);
                for i in 0..N {
                    out.push(Doc::get(c, key(i))?);
                }
                Ok(out)
            })
            .await
            .expect("batch");
        std::hint::black_box(docs);
    })
    .await;
    line(
        "Db::run, all lookups in one closure",
        batch,
        N,
        Some(raw_time),
    );
    Ok(())
}

#[cfg(feature = "postgres")]
async fn postgres() -> Result<(), Box<dyn std::error::Error>> {
    use std::sync::Arc;

    let base = std::env::var("DOCTABLE_PG")
        .unwrap_or_else(|_| "host=127.0.0.1 user=root dbname=test".to_owned());
    let schema = format!("doctable_async_overhead_{}", std::process::id());
    let params = format!("{base} options='-c search_path={schema}'");
    let n = N / 4;
    {
        let (admin, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        admin
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            ))
            .await?;
    }
    let db = Db::postgres(&params, WORKERS).await?;
    db.run(Doc::create_table).await?;
    db.run(|c| Doc::insert_many(c, &corpus())).await?;
    let mut clients = Vec::new();
    for _ in 0..WORKERS {
        let (client, conn) = tokio_postgres::connect(&params, tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        let stmt = client
            .prepare("SELECT id, title, body, score, year FROM docs WHERE id = $1")
            .await?;
        clients.push(Arc::new((client, stmt)));
    }
    let read = |r: &tokio_postgres::Row| Doc {
        id: r.get(0),
        title: r.get(1),
        body: r.get(2),
        score: r.get(3),
        year: r.get(4),
    };

    println!("\nPostgreSQL, {n} lookups by key, median of {ROUNDS} rounds\n");
    println!("| side | per lookup | ratio |\n|---|---:|---:|");
    let raw_one = rounds(|| async {
        let c = &clients[0];
        for i in 0..n {
            let row = c.0.query_one(&c.1, &[&key(i)]).await.expect("row");
            std::hint::black_box(read(&row));
        }
    })
    .await;
    line("tokio-postgres, one task awaiting each", raw_one, n, None);
    let one = rounds(|| async {
        for i in 0..n {
            let k = key(i);
            std::hint::black_box(db.run(move |c| Doc::get(c, k)).await.expect("get"));
        }
    })
    .await;
    line(
        "Db<postgres::Persistent>::run, one task",
        one,
        n,
        Some(raw_one),
    );
    // The sync client runs a runtime of its own: it lives on a thread of its own.
    let sync_time = {
        let params = params.clone();
        std::thread::spawn(move || {
            let sync = doctable::postgres::Persistent::connect(&params).expect("connect");
            let mut times = Vec::new();
            for _ in 0..ROUNDS {
                let t = Instant::now();
                for i in 0..n {
                    std::hint::black_box(Doc::get(&sync, key(i)).expect("get"));
                }
                times.push(t.elapsed());
            }
            median(times)
        })
        .join()
        .expect("sync thread")
    };
    line(
        "postgres::Persistent (sync), own thread",
        sync_time,
        n,
        Some(raw_one),
    );
    let raw_sync = {
        let params = params.clone();
        std::thread::spawn(move || {
            let mut client = postgres::Client::connect(&params, postgres::NoTls).expect("connect");
            let stmt = client
                .prepare("SELECT id, title, body, score, year FROM docs WHERE id = $1")
                .expect("prepare");
            let mut times = Vec::new();
            for _ in 0..ROUNDS {
                let t = Instant::now();
                for i in 0..n {
                    let r = client.query_one(&stmt, &[&key(i)]).expect("row");
                    std::hint::black_box(Doc {
                        id: r.get(0),
                        title: r.get(1),
                        body: r.get(2),
                        score: r.get(3),
                        year: r.get(4),
                    });
                }
                times.push(t.elapsed());
            }
            median(times)
        })
        .join()
        .expect("sync thread")
    };
    line(
        "hand-written sync postgres, own thread",
        raw_sync,
        n,
        Some(raw_one),
    );
    let raw_many = rounds(|| async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let c = Arc::clone(&clients[t % WORKERS]);
                tokio::spawn(async move {
                    for i in (t..n).step_by(TASKS) {
                        let row = c.0.query_one(&c.1, &[&key(i)]).await.expect("row");
                        std::hint::black_box(read(&row));
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
    })
    .await;
    line(
        &format!("tokio-postgres, {TASKS} tasks on {WORKERS} clients"),
        raw_many,
        n,
        Some(raw_one),
    );
    let many = rounds(|| async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let db = db.clone();
                tokio::spawn(async move {
                    for i in (t..n).step_by(TASKS) {
                        let k = key(i);
                        std::hint::black_box(db.run(move |c| Doc::get(c, k)).await.expect("get"));
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
    })
    .await;
    line(
        &format!("Db::run, {TASKS} tasks on {WORKERS} workers"),
        many,
        n,
        Some(raw_one),
    );
    db.shutdown().await;
    {
        let (admin, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        admin
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await?;
    }
    Ok(())
}

/// `DOCTABLE_ASYNC_COUNT=<side>:<n>`: only `n` SQLite lookups on one side
/// (`raw`, `sync`, `run`), for instruction counts: run it under
/// `valgrind --tool=callgrind` at two values of `n`, and the difference over
/// the difference in `n` is the instructions of one lookup, every thread
/// included (the setup cancels out).
async fn count_only(side: &str, n: usize) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("count.db");
    let sync = Persistent::open(&path)?;
    Doc::create_table(&sync)?;
    Doc::insert_many(&sync, &corpus())?;
    let raw = doctable::rusqlite::Connection::open(&path)?;
    let db = Db::sqlite_with(&path, &Options::default(), WORKERS).await?;
    match side {
        "raw" => {
            let mut stmt =
                raw.prepare_cached("SELECT id, title, body, score, year FROM docs WHERE id = ?1")?;
            for i in 0..n {
                let doc = stmt.query_row([key(i)], |r| {
                    Ok(Doc {
                        id: r.get(0)?,
                        title: r.get(1)?,
                        body: r.get(2)?,
                        score: r.get(3)?,
                        year: r.get(4)?,
                    })
                })?;
                std::hint::black_box(doc);
            }
        }
        "sync" => {
            for i in 0..n {
                std::hint::black_box(Doc::get(&sync, key(i))?);
            }
        }
        "run" => {
            for i in 0..n {
                let k = key(i);
                std::hint::black_box(db.run(move |c| Doc::get(c, k)).await?);
            }
        }
        other => return Err(format!("unknown side {other}").into()),
    }
    db.shutdown().await;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if let Ok(spec) = std::env::var("DOCTABLE_ASYNC_COUNT") {
        let (side, n) = spec
            .split_once(':')
            .ok_or("DOCTABLE_ASYNC_COUNT=<side>:<n>")?;
        return count_only(side, n.parse()?).await;
    }
    sqlite().await?;
    #[cfg(feature = "postgres")]
    postgres().await?;
    Ok(())
}
