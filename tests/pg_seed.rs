//! The seed's scenario on PostgreSQL (issue 11), at CI size: the code of
//! `examples/pg_seed` (its `scenario.rs`, included here) with two processes
//! inserting row by row and eight threads on one shared pool, all at the same
//! time, into one table: every writer finishes without error and the table
//! holds exactly the rows written, each once.
//!
//! A writer process is this test binary re-executed with
//! `DOCTABLE_PG_SEED_CHILD=<process>:<first>:<count>` and
//! `DOCTABLE_PG_SEED_PARAMS` (the test schema's connection parameters), the
//! example's own writer code. Needs the `postgres` feature; without a server
//! it skips (one line), unless `DOCTABLE_REQUIRE_PG` is set.
#![cfg(feature = "postgres")]

#[allow(unused_macros)]
#[macro_use]
#[path = "support/backends.rs"]
mod backends;
#[path = "../examples/pg_seed/scenario.rs"]
mod scenario;

use std::process::Command;

use backends::{PgSchema, TestResult};
use scenario::Sizes;

const CHILD_ENV: &str = "DOCTABLE_PG_SEED_CHILD";
const PARAMS_ENV: &str = "DOCTABLE_PG_SEED_PARAMS";
const TEST_NAME: &str = "two_processes_and_eight_pool_threads_insert_at_once";

#[test]
fn two_processes_and_eight_pool_threads_insert_at_once() -> TestResult {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        let parts: Vec<i64> = spec.split(':').map(str::parse).collect::<Result<_, _>>()?;
        let [process, first, count] = parts[..] else {
            return Err(format!("bad {CHILD_ENV}={spec:?}").into());
        };
        return scenario::child(&std::env::var(PARAMS_ENV)?, process, first, count);
    }
    let Some(schema) = PgSchema::new() else {
        return Ok(());
    };
    let exe = std::env::current_exe()?;
    let sizes = Sizes {
        processes: 2,
        threads: 8,
        per_writer: 500,
    };
    let outcome = scenario::run(&schema.params, sizes, |process, first, count| {
        let mut cmd = Command::new(&exe);
        cmd.args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, format!("{process}:{first}:{count}"))
            .env(PARAMS_ENV, &schema.params);
        cmd
    })?;
    assert_eq!(outcome.rows, sizes.total());
    println!(
        "{} rows by 2 processes and 8 pool threads in {:.2} s ({:.0} rows/s)",
        outcome.rows,
        outcome.elapsed.as_secs_f64(),
        outcome.rows_per_second()
    );
    Ok(())
}
