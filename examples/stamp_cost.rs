//! What `#[doctable(added)]` and `#[doctable(updated)]` cost (BENCHMARKS.md
//! "Added and updated timestamps"): two tables of the same columns, one whose
//! two `SystemTime` columns are ordinary fields bound from the struct, one
//! whose two are the crate's stamps, timed side by side in one run (medians
//! of `runs` rounds, each on fresh files in `$TMPDIR`):
//!
//! `cargo run --release --example stamp_cost -- [rows] [runs]` (defaults
//! 100,000 rows, 5 runs): `insert_many` of all rows, one `update()` of every
//! row, and 2,000 `update_row` calls. With a third argument, `plain` or
//! `stamped`, it runs that side alone, for `valgrind --tool=callgrind`
//! (times on a loaded machine move; instruction counts do not).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use doctable::{DocTable, Persistent};

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "plain")]
struct Plain {
    #[doctable(primary_key)]
    id: Option<i64>,
    body: String,
    n: i64,
    added: SystemTime,
    updated: SystemTime,
}

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "stamped")]
struct Stamped {
    #[doctable(primary_key)]
    id: Option<i64>,
    body: String,
    n: i64,
    #[doctable(added)]
    added: SystemTime,
    #[doctable(updated)]
    updated: SystemTime,
}

fn at(i: usize) -> SystemTime {
    UNIX_EPOCH + Duration::from_micros(1_700_000_000_000_000 + i as u64)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// One round on table `T`: (insert_many, update() of every row, update_row x2000).
fn round<T: DocTable + doctable::HasPrimaryKey>(
    rows: &[T],
    set_all: impl Fn(&Persistent) -> doctable::Result<usize>,
    touch: impl Fn(&Persistent, usize) -> doctable::Result<()>,
) -> [Duration; 3] {
    let dir = tempfile::tempdir().unwrap();
    let db = Persistent::open(dir.path().join("t.db")).unwrap();
    T::create_table(&db).unwrap();
    let t = Instant::now();
    T::insert_many(&db, rows).unwrap();
    let insert = t.elapsed();
    let t = Instant::now();
    assert_eq!(set_all(&db).unwrap(), rows.len());
    let update = t.elapsed();
    let t = Instant::now();
    for i in 0..2000 {
        touch(&db, i % rows.len()).unwrap();
    }
    [insert, update, t.elapsed()]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(100_000, |a| a.parse().unwrap());
    let runs: usize = args.next().map_or(5, |a| a.parse().unwrap());
    let plain: Vec<Plain> = (0..n)
        .map(|i| Plain {
            id: None,
            body: format!("document {i}"),
            n: i as i64,
            added: at(i),
            updated: at(i),
        })
        .collect();
    let stamped: Vec<Stamped> = plain
        .iter()
        .map(|p| Stamped {
            id: None,
            body: p.body.clone(),
            n: p.n,
            added: p.added,
            updated: p.updated,
        })
        .collect();
    let side = args.next();
    let plain_round = || {
        round(
            &plain,
            |db| {
                Plain::update()
                    .set(Plain::n, Plain::n + 1)
                    .all_rows()
                    .run(db)
            },
            |db, i| {
                let mut row = plain[i].clone();
                row.id = Some(i as i64 + 1);
                row.updated = at(i + 1);
                Plain::update_row(db, &row)
            },
        )
    };
    let stamped_round = || {
        round(
            &stamped,
            |db| {
                Stamped::update()
                    .set(Stamped::n, Stamped::n + 1)
                    .all_rows()
                    .run(db)
            },
            |db, i| {
                let mut row = stamped[i].clone();
                row.id = Some(i as i64 + 1);
                Stamped::update_row(db, &row)
            },
        )
    };
    match side.as_deref() {
        Some("plain") => {
            plain_round();
            return;
        }
        Some("stamped") => {
            stamped_round();
            return;
        }
        Some(other) => panic!("the side is `plain` or `stamped`, not {other:?}"),
        None => {}
    }
    let mut times: [[Vec<Duration>; 3]; 2] = Default::default();
    for _ in 0..runs {
        // Alternating, so a slow stretch of the machine hits both sides.
        let p = plain_round();
        let s = stamped_round();
        for k in 0..3 {
            times[0][k].push(p[k]);
            times[1][k].push(s[k]);
        }
    }
    println!(
        "{n} rows, medians of {runs} runs; plain = the same two SystemTime columns bound from the struct"
    );
    println!("| operation | plain | stamped | ratio |");
    println!("|---|---:|---:|---:|");
    let names = [
        format!("insert_many of {n} rows"),
        format!("update() of {n} rows"),
        "2000 update_row".to_owned(),
    ];
    for (k, name) in names.iter().enumerate() {
        let p = median(times[0][k].clone());
        let s = median(times[1][k].clone());
        println!(
            "| {name} | {:.1} ms | {:.1} ms | {:.3} |",
            p.as_secs_f64() * 1e3,
            s.as_secs_f64() * 1e3,
            s.as_secs_f64() / p.as_secs_f64()
        );
    }
}
