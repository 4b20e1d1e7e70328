//! Runs every benchmark workload at a tiny size: checks the benchmark still
//! works, and that doctable and hand-written rusqlite read back the same rows.
//! The timings are not checked here (see BENCHMARKS.md for real runs).

#[path = "../benches/compare.rs"]
mod compare;

#[test]
fn every_workload_runs_at_tiny_size() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sizes = compare::Sizes::smoke();
    compare::prepare(&sizes, dir.path());
    let mut lines = Vec::new();
    // In this process rather than in children: the test binary is not the bench.
    compare::run(
        &sizes,
        |workload, side| compare::measure(workload, side, &sizes, dir.path()),
        |line| lines.push(line),
    );
    let names: Vec<&str> = lines.iter().map(|l| l.workload.as_str()).collect();
    for prefix in ["1.", "2.", "3.", "4.", "5.", "6.", "7.", "8.", "9."] {
        assert!(
            names.iter().any(|n| n.starts_with(prefix)),
            "workload {prefix} missing from {names:?}"
        );
    }
    for line in &lines {
        assert!(
            line.doctable > 0.0 && line.rusqlite > 0.0 && line.ratio().is_finite(),
            "bad figures: {line:?}"
        );
    }
}
