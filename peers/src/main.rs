//! sqlx and sea-orm on SQLite against hand-written rusqlite, on the workloads
//! of BENCHMARKS.md's SQLite table: the peers' half of the async benchmark
//! (BENCHMARKS.md "Async (issue 15)"; `peers/run.sh` runs both halves and
//! prints one table). The harness, workloads and reference side are
//! `benches/async_harness.rs`, shared with doctable's half.
//!
//! Both peers run as a service would run them: on a multi-threaded tokio
//! runtime, through a `SqlitePool` (sea-orm over the same pool, by
//! `SqlxSqliteConnector::from_sqlx_pool`), with the pragmas doctable and the reference
//! use (WAL, synchronous=NORMAL, foreign keys on, 5 s busy timeout, a
//! 64-statement cache). Each uses its idiomatic API for each workload:
//! sqlx `query`/`query_as` with `FromRow`; sea-orm's entity API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

extern crate rusqlite;

#[path = "../../benches/async_harness.rs"]
mod harness;

use std::path::Path;
use std::time::{Duration, Instant};

use harness::{Row, Sizes};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteSynchronous};

const SQLX: &str = "sqlx";
const SEA_ORM: &str = "sea-orm";

/// `Row` as sqlx reads it (`query_as`); the measurements only hold the rows.
#[derive(sqlx::FromRow)]
#[allow(dead_code)]
struct SqlxRow {
    id: Option<i64>,
    title: String,
    body: String,
    score: f64,
    year: i64,
}

/// The `docs` table as a sea-orm entity.
mod doc {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "docs")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub title: String,
        pub body: String,
        pub score: f64,
        pub year: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Rows per `insert_many` statement of sea-orm's bulk insert: doctable's
/// multi-row cap for this table on SQLite. sea-orm sends one statement for
/// the whole list it is given, so a bulk load chunks it.
const SEA_ORM_CHUNK: usize = 32;

async fn pool(path: &Path) -> SqlitePool {
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5))
        .statement_cache_capacity(64);
    sqlx::sqlite::SqlitePoolOptions::new()
        .connect_with(opts)
        .await
        .unwrap()
}

fn active(d: &Row) -> doc::ActiveModel {
    use sea_orm::ActiveValue::{NotSet, Set};
    doc::ActiveModel {
        id: NotSet,
        title: Set(d.title.clone()),
        body: Set(d.body.clone()),
        score: Set(d.score),
        year: Set(d.year),
    }
}

async fn sqlx_measure(workload: &str, sizes: &Sizes, dir: &Path) -> Vec<f64> {
    use harness::*;
    let insert = |d: &Row| {
        sqlx::query(INSERT)
            .bind(d.id)
            .bind(d.title.clone())
            .bind(d.body.clone())
            .bind(d.score)
            .bind(d.year)
    };
    match workload {
        "bulk" => {
            let rows = corpus(sizes.rows);
            let db = pool(&fresh(dir, "bulk-sqlx.db")).await;
            let t = Instant::now();
            let mut tx = db.begin().await.unwrap();
            for d in &rows {
                insert(d).execute(&mut *tx).await.unwrap();
            }
            tx.commit().await.unwrap();
            vec![per(t, rows.len())]
        }
        "single" => {
            let rows = corpus(sizes.single_inserts);
            let db = pool(&fresh(dir, "single-sqlx.db")).await;
            let mut lat = Vec::with_capacity(rows.len());
            for d in &rows {
                let t = Instant::now();
                insert(d).execute(&db).await.unwrap();
                lat.push(micros(t));
            }
            p50_p99(lat)
        }
        "select_all" => {
            let db = pool(&template(dir)).await;
            let t = Instant::now();
            let all: Vec<SqlxRow> = sqlx::query_as(SELECT_ALL).fetch_all(&db).await.unwrap();
            let us = per(t, all.len());
            assert_eq!(all.len(), sizes.rows);
            vec![us]
        }
        "filtered" => {
            let filters = filters(sizes);
            let db = pool(&template(dir)).await;
            let t = Instant::now();
            for &(year, score) in &filters {
                let rows: Vec<SqlxRow> = sqlx::query_as(SELECT_FILTERED)
                    .bind(year)
                    .bind(score)
                    .fetch_all(&db)
                    .await
                    .unwrap();
                std::hint::black_box(rows);
            }
            vec![per(t, filters.len())]
        }
        "get" => {
            let keys = keys(sizes);
            let db = pool(&template(dir)).await;
            let t = Instant::now();
            for &k in &keys {
                let row: SqlxRow = sqlx::query_as(GET).bind(k).fetch_one(&db).await.unwrap();
                std::hint::black_box(row);
            }
            vec![per(t, keys.len())]
        }
        "update" => {
            let years = update_years();
            let db = pool(&copy_of_template(dir, "update-sqlx.db")).await;
            let t = Instant::now();
            for &y in &years {
                sqlx::query(UPDATE).bind(y).execute(&db).await.unwrap();
            }
            vec![per(t, years.len())]
        }
        "delete" => {
            let db = pool(&copy_of_template(dir, "delete-sqlx.db")).await;
            let t = Instant::now();
            let done = sqlx::query(DELETE)
                .bind(DELETE_BELOW)
                .execute(&db)
                .await
                .unwrap();
            let us = micros(t);
            assert!(done.rows_affected() > 0);
            vec![us]
        }
        other => panic!("unknown workload {other}"),
    }
}

async fn sea_orm_measure(workload: &str, sizes: &Sizes, dir: &Path) -> Vec<f64> {
    use harness::*;
    use sea_orm::sea_query::{Expr, ExprTrait};
    use sea_orm::{
        ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
        SqlxSqliteConnector, TransactionTrait,
    };
    async fn connect(path: &Path) -> DatabaseConnection {
        SqlxSqliteConnector::from_sqlx_sqlite_pool(pool(path).await)
    }
    match workload {
        "bulk" => {
            let rows = corpus(sizes.rows);
            let db = connect(&fresh(dir, "bulk-sea.db")).await;
            let t = Instant::now();
            let txn = db.begin().await.unwrap();
            for chunk in rows.chunks(SEA_ORM_CHUNK) {
                doc::Entity::insert_many(chunk.iter().map(active))
                    .exec(&txn)
                    .await
                    .unwrap();
            }
            txn.commit().await.unwrap();
            vec![per(t, rows.len())]
        }
        "single" => {
            let rows = corpus(sizes.single_inserts);
            let db = connect(&fresh(dir, "single-sea.db")).await;
            let mut lat = Vec::with_capacity(rows.len());
            for d in &rows {
                let t = Instant::now();
                let done = doc::Entity::insert(active(d)).exec(&db).await.unwrap();
                lat.push(micros(t));
                std::hint::black_box(done.last_insert_id);
            }
            p50_p99(lat)
        }
        "select_all" => {
            let db = connect(&template(dir)).await;
            let t = Instant::now();
            let all = doc::Entity::find().all(&db).await.unwrap();
            let us = per(t, all.len());
            assert_eq!(all.len(), sizes.rows);
            vec![us]
        }
        "filtered" => {
            let filters = filters(sizes);
            let db = connect(&template(dir)).await;
            let t = Instant::now();
            for &(year, score) in &filters {
                let rows = doc::Entity::find()
                    .filter(doc::Column::Year.gt(year))
                    .filter(doc::Column::Score.lt(score))
                    .order_by_asc(doc::Column::Score)
                    .limit(100)
                    .all(&db)
                    .await
                    .unwrap();
                std::hint::black_box(rows);
            }
            vec![per(t, filters.len())]
        }
        "get" => {
            let keys = keys(sizes);
            let db = connect(&template(dir)).await;
            let t = Instant::now();
            for &k in &keys {
                let row = doc::Entity::find_by_id(k).one(&db).await.unwrap().unwrap();
                std::hint::black_box(row);
            }
            vec![per(t, keys.len())]
        }
        "update" => {
            let years = update_years();
            let db = connect(&copy_of_template(dir, "update-sea.db")).await;
            let t = Instant::now();
            for &y in &years {
                doc::Entity::update_many()
                    .col_expr(doc::Column::Score, Expr::col(doc::Column::Score).add(1))
                    .filter(doc::Column::Year.eq(y))
                    .exec(&db)
                    .await
                    .unwrap();
            }
            vec![per(t, years.len())]
        }
        "delete" => {
            let db = connect(&copy_of_template(dir, "delete-sea.db")).await;
            let t = Instant::now();
            let done = doc::Entity::delete_many()
                .filter(doc::Column::Year.lt(DELETE_BELOW))
                .exec(&db)
                .await
                .unwrap();
            let us = micros(t);
            assert!(done.rows_affected > 0);
            vec![us]
        }
        other => panic!("unknown workload {other}"),
    }
}

fn measure(workload: &str, side: &str, dir: &Path) -> Vec<f64> {
    let sizes = Sizes::from_env();
    if side == harness::RAW {
        return harness::raw_measure(workload, &sizes, dir);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    match side {
        SQLX => rt.block_on(sqlx_measure(workload, &sizes, dir)),
        SEA_ORM => rt.block_on(sea_orm_measure(workload, &sizes, dir)),
        other => panic!("unknown side {other}"),
    }
}

/// The SQLite library each driver runs (both link the one libsqlite3-sys).
fn versions() -> String {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = std::env::temp_dir();
    let sqlx_version: String = rt.block_on(async {
        let db = pool(&dir.join("doctable-peers-version.db")).await;
        sqlx::query_scalar("SELECT sqlite_version()")
            .fetch_one(&db)
            .await
            .unwrap()
    });
    format!(
        "rusqlite 0.37: SQLite {}; sqlx 0.9 (sea-orm 2 over it): SQLite {sqlx_version}",
        rusqlite::version()
    )
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
    let dir = tempfile_dir();
    harness::prepare(&sizes, &dir);
    println!(
        "{}; {}; {} rows; each figure the median of {} runs, each run a fresh process",
        versions(),
        harness::machine(),
        sizes.rows,
        sizes.runs
    );
    println!();
    let figures = harness::run(&sizes, &[harness::RAW, SQLX, SEA_ORM], |w, s| {
        harness::in_child(w, s, &dir)
    });
    print!("{}", harness::table(&figures));
    if let Some(path) = tsv {
        std::fs::write(path, harness::to_tsv(&figures)).unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A private directory for this run's files.
fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("doctable-peers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
