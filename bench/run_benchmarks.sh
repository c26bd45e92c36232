#!/usr/bin/env bash
# Runs the engine benchmarks and prints the tables of bench/RESULTS.md.
#   bench/run_benchmarks.sh [--smoke] [BUILD_DIR] [OUT_JSON]
# --smoke: only n = 1000 and the square DGEMM, one repetition (seconds; for CI).
# Full run: every size, 5 repetitions in random order (the load of a shared machine drifts), and
# report.py gives each benchmark's best and median repetition (about 3 minutes on 2 cores).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
smoke=0
if [[ "${1:-}" == "--smoke" ]]; then smoke=1; shift; fi
build="${1:-${here}/../build}"
out="${2:-bench_engine.json}"
bin="${build}/bench/mahal_bench_engine"
if [[ ! -x "${bin}" ]]; then
  echo "error: ${bin} not found; build first: cmake --build ${build} --target mahal_bench_engine" >&2
  exit 1
fi
if [[ ${smoke} == 1 ]]; then
  "${bin}" --benchmark_filter='n:1000/|square' --benchmark_min_time=0.05 \
    --benchmark_out="${out}" --benchmark_out_format=json
else
  "${bin}" --benchmark_min_time=0.1 --benchmark_repetitions=5 \
    --benchmark_enable_random_interleaving=true --benchmark_display_aggregates_only=true \
    --benchmark_out="${out}" --benchmark_out_format=json
fi
python3 "${here}/report.py" "${out}"
