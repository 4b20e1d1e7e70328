//! The seed's scenario on PostgreSQL: two processes insert row by row (each
//! with its own `Persistent`, every insert its own transaction) while eight
//! threads insert row by row on one shared `Pool`, all at the same time, into
//! one table; then the exact count is checked and the rate printed.
//!
//! ```text
//! cargo run --release --example pg_seed --features postgres -- [--per-writer N] [--processes N] [--threads N]
//! ```
//!
//! Defaults: 2 processes, 8 threads, 5,000 rows per writer (or
//! `DOCTABLE_PG_SEED_PER_WRITER`). The server is `DOCTABLE_PG` (default
//! `host=127.0.0.1 user=root dbname=test`); the example works in a schema of
//! its own and drops it. With no server it says so in one line and exits 0
//! (1 when `DOCTABLE_REQUIRE_PG=1`). `tests/pg_seed.rs` runs the same code
//! (`scenario.rs`) at CI size.

mod scenario;

use std::process::Command;

use doctable::postgres::driver;
use scenario::{BoxError, Sizes};

/// The child's connection parameters (the example's own schema).
const PARAMS_ENV: &str = "DOCTABLE_PG_SEED_PARAMS";

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        let number = |i: usize| -> Result<i64, BoxError> {
            Ok(args
                .get(i)
                .ok_or("--child <process> <first> <count>")?
                .parse()?)
        };
        return scenario::child(
            &std::env::var(PARAMS_ENV)?,
            number(1)?,
            number(2)?,
            number(3)?,
        );
    }
    let sizes = sizes(&args)?;

    let base = std::env::var("DOCTABLE_PG")
        .unwrap_or_else(|_| "host=127.0.0.1 user=root dbname=test".to_owned());
    let mut admin = match driver::Client::connect(&base, driver::NoTls) {
        Ok(client) => client,
        Err(e) => {
            println!("pg_seed example skipped: no server at {base} ({e}); set DOCTABLE_PG=...");
            let required = std::env::var("DOCTABLE_REQUIRE_PG").as_deref() == Ok("1");
            std::process::exit(i32::from(required));
        }
    };
    let schema = format!("doctable_seed_{}", std::process::id());
    admin.batch_execute(&format!("CREATE SCHEMA {schema}"))?;
    let params = format!("{base} options='-c search_path={schema}'");
    let exe = std::env::current_exe()?;
    println!(
        "{} processes and {} pool threads, {} rows each, row by row into one table...",
        sizes.processes, sizes.threads, sizes.per_writer
    );
    let outcome = scenario::run(&params, sizes, |process, first, count| {
        let mut cmd = Command::new(&exe);
        cmd.arg("--child")
            .args([process, first, count].map(|n| n.to_string()))
            .env(PARAMS_ENV, &params);
        cmd
    });
    let _ = admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
    let outcome = outcome?;
    println!(
        "{} rows, exact count, no error, in {:.2} s: {:.0} rows/s",
        outcome.rows,
        outcome.elapsed.as_secs_f64(),
        outcome.rows_per_second()
    );
    Ok(())
}

/// The sizes from `--per-writer N`, `--processes N`, `--threads N`.
fn sizes(args: &[String]) -> Result<Sizes, BoxError> {
    let mut sizes = Sizes {
        processes: 2,
        threads: 8,
        per_writer: match std::env::var("DOCTABLE_PG_SEED_PER_WRITER") {
            Ok(n) => n.parse()?,
            Err(_) => 5_000,
        },
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let value: i64 = args
            .next()
            .ok_or_else(|| format!("{flag} needs a number"))?
            .parse()?;
        match flag.as_str() {
            "--per-writer" => sizes.per_writer = value,
            "--processes" => sizes.processes = value,
            "--threads" => sizes.threads = value,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if sizes.per_writer < 0 || sizes.processes < 0 || sizes.threads < 0 {
        return Err("sizes must not be negative".into());
    }
    Ok(sizes)
}
