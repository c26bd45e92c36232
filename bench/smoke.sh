#!/usr/bin/env bash
# A smoke run of every benchmark program (seconds, for CI): each runs its smallest case once, so
# a benchmark that no longer builds or crashes is caught without timing anything.
#   bench/smoke.sh [BUILD_DIR] [DATA_DIR]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-${here}/../build}"
data="${2:-${here}/../../shared/datasets}"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
b="$build/bench"
"$here/run_benchmarks.sh" --smoke "$build" "$out/engine.json" >/dev/null
"$b/mahal_bench_mmc" --benchmark_filter='/100/' --benchmark_min_time=0.01 >/dev/null
"$b/mahal_bench_siamese" --benchmark_filter='/256/' --benchmark_min_time=0.01 >/dev/null
if [ -f "$data/iris.csv" ]; then
  "$b/mahal_lmnn_driver" --data "$data/iris.csv" --first 100 --max-iter 5 >/dev/null
fi
echo "bench smoke: engine, mmc, siamese and lmnn benchmarks ran"
