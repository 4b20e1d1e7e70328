//! The process's resident memory, read from `/proc/self/status` (Linux), for
//! the streaming tests: each runs alone in its binary, because peak memory is
//! per process.

/// A `/proc/self/status` figure in KiB (`VmHWM` peak, `VmRSS` current).
pub fn status_kib(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with(key))
        .expect("status line");
    line.split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("a number")
}

/// Resets the peak to the current resident size (Linux 4.0+), and returns that size.
pub fn reset_peak() -> u64 {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset VmHWM");
    status_kib("VmRSS:")
}
