//! Runs every benchmark workload at a tiny size: checks the benchmark still
//! works, and that doctable and hand-written rusqlite read back the same rows.
//! The timings are not checked here (see BENCHMARKS.md for real runs).

#[path = "../benches/compare.rs"]
mod compare;

use std::sync::atomic::Ordering;

#[test]
fn every_workload_runs_at_tiny_size() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sizes = compare::Sizes::smoke();
    compare::prepare(&sizes, dir.path());
    let mut lines = Vec::new();
    // In this process rather than in children: the test binary is not the bench.
    compare::run(
        &sizes,
        |workload, side| {
            // `--callgrind` counts only what runs inside `measured`: every
            // workload must do its work there, or its count would be empty.
            let before = compare::MEASURED.load(Ordering::Relaxed);
            let figures = compare::measure(workload, side, &sizes, dir.path());
            assert!(
                compare::MEASURED.load(Ordering::Relaxed) > before,
                "{workload}:{side:?} did no work inside `measured`"
            );
            figures
        },
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

/// `--callgrind` mode: every workload has a label and a count of operations,
/// and the instruction total is read from callgrind's output format. (The
/// valgrind runs themselves are not part of the test suite: see BENCHMARKS.md.)
#[test]
fn callgrind_mode_labels_and_parses() {
    let sizes = compare::Sizes::callgrind();
    for workload in compare::WORKLOADS {
        let (label, ops, unit) = compare::callgrind_label(workload, &sizes);
        assert!(
            !label.is_empty() && ops > 0 && !unit.is_empty(),
            "{workload}"
        );
    }
    let out =
        "# callgrind format\nversion: 1\nevents: Ir\nfl=(1)\nfn=(1)\n0 12\n\ntotals: 18007816\n";
    assert_eq!(compare::callgrind_total(out), Some(18_007_816));
    assert_eq!(compare::callgrind_total("summary: 42\n"), Some(42));
    assert_eq!(compare::callgrind_total("events: Ir\n"), None);
}
