//! File-backed columns against an in-table BLOB, on SQLite, in one run:
//! insert, read (`select().all`), `select_cols` of the other columns, delete,
//! and `clean_files`, for a few value sizes. Prints medians of `RUNS` runs
//! and the ratio file / BLOB (below 1: the file column is faster).
//!
//! `cargo run --release --example file_columns_bench` (the full sizes: 20
//! values of 50 MiB, 10,000 of 10 KiB, and a sweep for the crossover);
//! `-- --quick` for a small run. Results: BENCHMARKS.md "File-backed columns".

use std::time::{Duration, Instant};

use doctable::{DocTable, Persistent};

#[derive(DocTable, Debug, Clone)]
#[doctable(table = "blobs")]
struct InTable {
    #[doctable(primary_key)]
    id: Option<i64>,
    title: String,
    year: i64,
    body: Vec<u8>,
}

#[derive(DocTable, Debug, Clone)]
#[doctable(table = "files")]
struct InFile {
    #[doctable(primary_key)]
    id: Option<i64>,
    title: String,
    year: i64,
    #[doctable(file)]
    body: Vec<u8>,
}

const RUNS: usize = 3;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn value(i: usize, size: usize) -> Vec<u8> {
    let mut state = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// One run's times: insert, read, select_cols, delete, clean (clean: None for the BLOB table).
struct Times([Duration; 5]);

fn run_blob(dir: &std::path::Path, values: &[Vec<u8>]) -> doctable::Result<Times> {
    let db = Persistent::open(dir.join("blob.db"))?;
    InTable::create_table(&db)?;
    let rows: Vec<InTable> = values
        .iter()
        .enumerate()
        .map(|(i, v)| InTable {
            id: None,
            title: format!("t{i}"),
            year: i as i64,
            body: v.clone(),
        })
        .collect();
    let t = Instant::now();
    InTable::insert_many(&db, &rows)?;
    let insert = t.elapsed();
    let t = Instant::now();
    let all = InTable::select().all(&db)?;
    let read = t.elapsed();
    assert_eq!(all.len(), values.len());
    drop(all);
    let t = Instant::now();
    let titles: Vec<(String, i64)> =
        InTable::select_cols((InTable::title, InTable::year)).all(&db)?;
    let cols = t.elapsed();
    assert_eq!(titles.len(), values.len());
    let t = Instant::now();
    InTable::delete().all_rows().run(&db)?;
    let delete = t.elapsed();
    Ok(Times([insert, read, cols, delete, Duration::ZERO]))
}

fn run_file(dir: &std::path::Path, values: &[Vec<u8>]) -> doctable::Result<Times> {
    let db = Persistent::open(dir.join("file.db"))?;
    InFile::create_table(&db)?;
    let rows: Vec<InFile> = values
        .iter()
        .enumerate()
        .map(|(i, v)| InFile {
            id: None,
            title: format!("t{i}"),
            year: i as i64,
            body: v.clone(),
        })
        .collect();
    let t = Instant::now();
    InFile::insert_many(&db, &rows)?;
    let insert = t.elapsed();
    let t = Instant::now();
    let all = InFile::select().all(&db)?;
    let read = t.elapsed();
    assert_eq!(all.len(), values.len());
    drop(all);
    let t = Instant::now();
    let titles: Vec<(String, i64)> = InFile::select_cols((InFile::title, InFile::year)).all(&db)?;
    let cols = t.elapsed();
    assert_eq!(titles.len(), values.len());
    let t = Instant::now();
    InFile::delete().all_rows().run(&db)?;
    let delete = t.elapsed();
    let t = Instant::now();
    let report = InFile::clean_files(&db)?;
    let clean = t.elapsed();
    assert_eq!(report.removed.len(), values.len());
    Ok(Times([insert, read, cols, delete, clean]))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::args().any(|a| a == "--quick");
    let cases: Vec<(usize, usize)> = if quick {
        vec![(200, 10 << 10), (4, 4 << 20)]
    } else {
        vec![
            (20, 50 << 20),
            (10_000, 10 << 10),
            (2_000, 1 << 10),
            (2_000, 4 << 10),
            (2_000, 16 << 10),
            (1_000, 64 << 10),
            (500, 256 << 10),
            (200, 1 << 20),
            (50, 4 << 20),
        ]
    };
    println!("| values | size | insert | read | select_cols other | delete | clean_files (file) |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for (n, size) in cases {
        let values: Vec<Vec<u8>> = (0..n).map(|i| value(i, size)).collect();
        let (mut blob, mut file): (Vec<Vec<Duration>>, Vec<Vec<Duration>>) =
            (vec![Vec::new(); 5], vec![Vec::new(); 5]);
        for _ in 0..RUNS {
            let dir = tempfile::tempdir()?;
            let b = run_blob(dir.path(), &values)?;
            let f = run_file(dir.path(), &values)?;
            for k in 0..5 {
                blob[k].push(b.0[k]);
                file[k].push(f.0[k]);
            }
        }
        let cell = |k: usize| {
            let (b, f) = (median(blob[k].clone()), median(file[k].clone()));
            format!(
                "{:.2} ({:.1} / {:.1} ms)",
                f.as_secs_f64() / b.as_secs_f64().max(1e-9),
                f.as_secs_f64() * 1e3,
                b.as_secs_f64() * 1e3
            )
        };
        let size_text = if size >= 1 << 20 {
            format!("{} MiB", size >> 20)
        } else {
            format!("{} KiB", size >> 10)
        };
        println!(
            "| {n} | {size_text} | {} | {} | {} | {} | {:.1} ms |",
            cell(0),
            cell(1),
            cell(2),
            cell(3),
            median(file[4].clone()).as_secs_f64() * 1e3
        );
    }
    Ok(())
}
