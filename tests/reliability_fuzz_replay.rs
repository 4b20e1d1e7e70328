//! The fuzz targets (fuzz/src/targets.rs) on stable, inside `cargo test`:
//! every seed input kept in `fuzz/corpus/<target>/seed-*` replays without a
//! panic, and so do a few hundred pseudo-random inputs. The libFuzzer runs
//! themselves are `cargo +nightly fuzz run <target>` (see RELIABILITY.md).
//!
//! `DOCTABLE_RELIABILITY_SCALE=n` runs n times the random inputs;
//! `DOCTABLE_RELIABILITY_SEED` repeats a run.

mod reliability_support;

#[path = "../fuzz/src/targets.rs"]
mod targets;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use reliability_support::{Rng, TestResult, scale, seed};

type Target = fn(&[u8]) -> usize;

const TARGETS: [(&str, Target); 2] = [
    ("expr_builder", targets::expr_builder),
    ("row_decode", targets::row_decode),
];

fn seeds(target: &str) -> Result<Vec<(PathBuf, Vec<u8>)>, std::io::Error> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join("corpus")
        .join(target);
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        let is_seed = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("seed-"));
        if is_seed {
            let bytes = std::fs::read(&path)?;
            files.push((path, bytes));
        }
    }
    files.sort();
    Ok(files)
}

#[test]
fn fuzz_seed_corpus_replays_without_panics() -> TestResult {
    for (target, run) in TARGETS {
        let inputs = seeds(target)?;
        assert!(!inputs.is_empty(), "no seed inputs for {target}");
        let mut errors = 0;
        for (path, input) in &inputs {
            match catch_unwind(AssertUnwindSafe(|| run(input))) {
                Ok(e) => errors += e,
                Err(_) => return Err(format!("{target} panicked on {}", path.display()).into()),
            }
        }
        eprintln!(
            "{target}: {} seed inputs replayed, {errors} operations returned errors (expected)",
            inputs.len()
        );
    }
    Ok(())
}

#[test]
fn fuzz_targets_survive_random_inputs() -> TestResult {
    let seed = seed();
    let n = 300 * scale();
    for (target, run) in TARGETS {
        let corpus: Vec<Vec<u8>> = seeds(target)?.into_iter().map(|(_, b)| b).collect();
        let mut rng = Rng::new(seed);
        for i in 0..n {
            // Half fresh bytes, half a seed with a few bytes changed.
            let input: Vec<u8> = if corpus.is_empty() || i % 2 == 0 {
                let len = rng.range(0, 600) as usize;
                (0..len).map(|_| rng.next_u64() as u8).collect()
            } else {
                let mut input = corpus[rng.range(0, corpus.len() as u64 - 1) as usize].clone();
                for _ in 0..rng.range(1, 6) {
                    if input.is_empty() {
                        break;
                    }
                    let at = rng.range(0, input.len() as u64 - 1) as usize;
                    input[at] = rng.next_u64() as u8;
                }
                input
            };
            if catch_unwind(AssertUnwindSafe(|| run(&input))).is_err() {
                return Err(format!(
                    "{target} panicked on random input {i} (DOCTABLE_RELIABILITY_SEED={seed}): {input:?}"
                )
                .into());
            }
        }
    }
    Ok(())
}
