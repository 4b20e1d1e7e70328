//! Helpers shared by the `reliability_*` tests: scale, child processes, a
//! small seeded random generator, and database checks.
//!
//! Each test binary re-executes itself as a child: the parent passes
//! `--exact <test> --nocapture --test-threads=1` and an environment variable
//! that tells the test it is a child and what to do.
#![allow(dead_code)] // each test file uses its own subset

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use doctable::{Persistent, rusqlite};

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// `DOCTABLE_RELIABILITY_SCALE` (default 1): how many times the CI sizes to run.
pub fn scale() -> u64 {
    std::env::var("DOCTABLE_RELIABILITY_SCALE")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1)
}

/// A seed: `DOCTABLE_RELIABILITY_SEED` if set, else from the clock. Printed by
/// the caller, so a failing run can be repeated.
pub fn seed() -> u64 {
    std::env::var("DOCTABLE_RELIABILITY_SEED")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0x5eed)
        })
}

/// xorshift64*: enough randomness for kill times and picks, with no dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }
}

/// Microseconds since the Unix epoch (comparable between processes).
pub fn unix_micros() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0)
}

/// This test binary, run as the child of `test` with the given environment,
/// all three standard streams piped.
pub fn child_command(test: &str, env: &[(&str, String)]) -> std::io::Result<Command> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    Ok(cmd)
}

/// Waits for every child, killing them all and failing if any is still running
/// after `limit` (a deadlock must fail the test, not hang it). The children
/// print a few lines only, well within a pipe's buffer.
pub fn wait_all(mut children: Vec<Child>, limit: Duration) -> Result<Vec<Output>, String> {
    let deadline = Instant::now() + limit;
    loop {
        let mut running = 0;
        for child in &mut children {
            if child.try_wait().map_err(|e| e.to_string())?.is_none() {
                running += 1;
            }
        }
        if running == 0 {
            break;
        }
        if Instant::now() >= deadline {
            for child in &mut children {
                let _ = child.kill();
                let _ = child.wait();
            }
            return Err(format!(
                "{running} child process(es) still running after {limit:?}"
            ));
        }
        thread::sleep(Duration::from_millis(20));
    }
    children
        .into_iter()
        .map(|c| c.wait_with_output().map_err(|e| e.to_string()))
        .collect()
}

/// Reads a child's stdout line by line on a thread, so the child never blocks
/// on a full pipe; the lines arrive on the returned channel as they are printed.
pub fn stream_lines(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            match line {
                Ok(line) => {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    });
    rx
}

/// The value after `tag ` on the child's report line, split on whitespace.
/// (libtest prints "test <name> ... " without a newline first, so the tag is
/// searched for anywhere in a line.)
pub fn report_fields(stdout: &str, tag: &str) -> Option<Vec<String>> {
    let needle = format!("{tag} ");
    stdout.lines().find_map(|l| {
        l.find(&needle).map(|at| {
            l[at + needle.len()..]
                .split_whitespace()
                .map(str::to_owned)
                .collect()
        })
    })
}

/// `PRAGMA integrity_check` on `path`, through a fresh `Persistent`: `ok` or what it found.
pub fn integrity_check(path: &Path) -> Result<String, Box<dyn std::error::Error>> {
    let db = Persistent::open(path)?;
    let lines: Vec<String> = db.with_rusqlite(|c| {
        let mut stmt = c.prepare("PRAGMA integrity_check")?;
        stmt.query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()
    })??;
    Ok(lines.join("\n"))
}

/// Asserts that a child exited 0 and printed nothing that looks like an error.
pub fn assert_clean_exit(who: &str, output: &Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{who} failed with {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    for text in [&stdout, &stderr] {
        let lower = text.to_lowercase();
        assert!(
            !lower.contains("locked") && !lower.contains("busy") && !lower.contains("error"),
            "{who} reported an error:\n{text}"
        );
    }
}
