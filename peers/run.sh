#!/usr/bin/env bash
# The async benchmark of BENCHMARKS.md "Async (issue 15)", both halves in one
# run, then one table: doctable's async handle against raw rusqlite 0.37 (the
# main workspace's bench), and sqlx 0.9 / sea-orm 2 against raw rusqlite 0.37
# (peers/, its own workspace). Every ratio is a side over the rusqlite column
# of its own half, measured in the same run. Sizes as for every bench here:
# DOCTABLE_BENCH_ROWS, DOCTABLE_BENCH_RUNS, DOCTABLE_BENCH_ONLY; the figures
# files go to DOCTABLE_ASYNC_BENCH_OUT (default: a new temporary directory).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${DOCTABLE_ASYNC_BENCH_OUT:-$(mktemp -d)}"
mkdir -p "${out}"

echo "== doctable async vs rusqlite (cargo bench --bench async_compare --features tokio)"
DOCTABLE_BENCH_ENGINES=sqlite cargo bench --quiet --bench async_compare --features tokio -- --tsv "${out}/main.tsv"
echo
echo "== sqlx and sea-orm vs rusqlite (peers/)"
cargo run --quiet --release --manifest-path peers/Cargo.toml -- --tsv "${out}/peers.tsv"
echo
echo "== one table (each ratio: the side / the rusqlite column of its half; figures in ${out})"
cargo run --quiet --release --manifest-path peers/Cargo.toml -- --merge "${out}/main.tsv" "${out}/peers.tsv"
