//! The fuzz targets on stable Rust, without libFuzzer: replays every input in
//! `fuzz/corpus/<target>/` and `fuzz/artifacts/<target>/`, then runs `N`
//! pseudo-random inputs per target (mutations of the corpus and fresh bytes).
//! A panic is caught, its input saved as `fuzz/artifacts/<target>/smoke-crash-*`
//! and the run fails.
//!
//! ```text
//! cargo run --release --no-default-features --bin smoke -- [N=2000] [SEED]
//! ```

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use doctable_fuzz::targets::{expr_builder, row_decode};

type Target = fn(&[u8]) -> usize;

const TARGETS: [(&str, Target); 2] = [("expr_builder", expr_builder), ("row_decode", row_decode)];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// A new input from the corpus: a copy with bytes flipped, inserted, removed
/// or spliced from another, or fresh random bytes.
fn mutate(rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    if corpus.is_empty() || rng.below(4) == 0 {
        let len = rng.below(512);
        return (0..len).map(|_| rng.next() as u8).collect();
    }
    let mut input = corpus[rng.below(corpus.len())].clone();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(input.len() + 1);
        match rng.below(4) {
            0 if at < input.len() => input[at] = rng.next() as u8,
            1 => input.insert(at, rng.next() as u8),
            2 if at < input.len() => {
                input.remove(at);
            }
            _ => {
                let other = &corpus[rng.below(corpus.len())];
                let from = rng.below(other.len() + 1);
                let to = (from + rng.below(32)).min(other.len());
                input.splice(at..at, other[from..to].iter().copied());
            }
        }
    }
    input
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let seed: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // Keep the panic message, but not a backtrace per caught panic.
    let mut failed = false;
    for (name, target) in TARGETS {
        let mut rng = Rng(seed | 1);
        let mut corpus = Vec::new();
        let mut replayed = 0;
        for dir in ["corpus", "artifacts"] {
            for file in files_in(&root.join(dir).join(name)) {
                let Ok(input) = std::fs::read(&file) else {
                    continue;
                };
                if catch_unwind(AssertUnwindSafe(|| target(&input))).is_err() {
                    eprintln!("{name}: PANIC on {}", file.display());
                    failed = true;
                }
                replayed += 1;
                corpus.push(input);
            }
        }
        let clock = Instant::now();
        let mut errors = 0;
        let mut crashes = 0;
        for i in 0..n {
            let input = mutate(&mut rng, &corpus);
            match catch_unwind(AssertUnwindSafe(|| target(&input))) {
                Ok(e) => errors += e,
                Err(_) => {
                    crashes += 1;
                    failed = true;
                    let dir = root.join("artifacts").join(name);
                    let path = dir.join(format!("smoke-crash-{seed}-{i}"));
                    let saved =
                        std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, &input));
                    eprintln!(
                        "{name}: PANIC on a random input, saved: {} ({saved:?})",
                        path.display()
                    );
                }
            }
        }
        println!(
            "{name}: replayed {replayed} corpus file(s); {n} random inputs (seed {seed}) in {:.1} s: \
             {crashes} panic(s), {errors} operation(s) returned an error (expected)",
            clock.elapsed().as_secs_f64()
        );
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
