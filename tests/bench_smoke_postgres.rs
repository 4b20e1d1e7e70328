//! Runs every PostgreSQL benchmark workload (benches/compare.rs, `pg`) at a
//! tiny size on the test server: checks the PostgreSQL table of the bench
//! still works on both sides. Timings are not checked (see BENCHMARKS.md).
//! Needs the `postgres` feature; skips with one line without a server,
//! unless `DOCTABLE_REQUIRE_PG` is set.
#![cfg(feature = "postgres")]

#[allow(unused_macros)]
#[macro_use]
#[path = "support/backends.rs"]
mod backends;

#[path = "../benches/compare.rs"]
mod compare;

use std::sync::atomic::Ordering;

#[test]
fn every_postgres_workload_runs_at_tiny_size() {
    // The harness prints the skip line (or fails when PostgreSQL is required).
    let Some(probe) = backends::PgSchema::new() else {
        return;
    };
    drop(probe);
    let base = backends::pg_base_params();
    let schema = format!("doctable_bench_smoke_{}", std::process::id());
    let sizes = compare::Sizes::smoke();
    compare::pg::prepare(&sizes, &base, &schema);
    let mut lines = Vec::new();
    compare::pg::run(
        &sizes,
        |workload, side| {
            let before = compare::MEASURED.load(Ordering::Relaxed);
            let figures = compare::pg::measure(workload, side, &sizes, &base, &schema);
            assert!(
                compare::MEASURED.load(Ordering::Relaxed) > before,
                "{workload}:{side:?} did no work inside `measured`"
            );
            figures
        },
        |line| lines.push(line),
    );
    compare::pg::cleanup(&base, &schema);
    assert_eq!(lines.len(), compare::pg::WORKLOADS.len() + 1, "{lines:?}");
    for line in &lines {
        assert!(
            line.doctable.is_finite() && line.doctable > 0.0 && line.rusqlite > 0.0,
            "{line:?}"
        );
    }
}
