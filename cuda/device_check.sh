#!/usr/bin/env bash
# cuda/device_check.sh — the one check to run on a machine with an NVIDIA GPU (H100/H200).
#
# From the repository root:   bash cuda/device_check.sh
# It builds a Release copy of mahal with the CUDA backend in build-gpu (only the GPU tests and,
# when present, the engine benchmark), runs `ctest -L gpu`, runs the GPU benchmarks, and writes
# a short report to ${OUT:-build-gpu}/device_report.md (plus ctest_gpu.log and bench_gpu.json).
# Designed to finish within 8 minutes on a 16-core machine; each step has its own time limit.
# Exit status: 0 when the GPU tests pass, 1 otherwise (the report is written either way).
set -uo pipefail

cd "$(dirname "$0")/.."
BUILD=build-gpu
OUT="${OUT:-$BUILD}"
mkdir -p "$OUT" "$BUILD"
REPORT="$OUT/device_report.md"
JOBS="${JOBS:-16}"
started=$(date +%s)
elapsed() { echo $(( $(date +%s) - started ))s; }
log() { echo "device_check [$(elapsed)]: $*" >&2; }

# ---- dependencies (best effort: the machine may have no network) ---------------------------
if [ -x scripts/install_deps.sh ] || [ -f scripts/install_deps.sh ]; then
  log "scripts/install_deps.sh"
  timeout 120 bash scripts/install_deps.sh >"$OUT/install_deps.log" 2>&1 ||
    log "install_deps.sh failed (continuing; see install_deps.log)"
fi

gpu_line=$(nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap \
  --format=csv,noheader 2>/dev/null | head -n 1)
[ -n "$gpu_line" ] || gpu_line="nvidia-smi unavailable"
log "GPU: $gpu_line"

# ---- configure and build ---------------------------------------------------------------------
# CMake 3.25 does not know nvcc's C++20 flag; the two CUDA20 variables supply it (the top-level
# CMakeLists.txt does the same when they are undefined; newer CMake versions define them).
configure_status=0
log "configure"
timeout 120 cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DMAHAL_CUDA=ON \
  -DMAHAL_BUILD_TESTS=ON -DMAHAL_BUILD_BENCHMARKS=ON -DMAHAL_BUILD_APPS=OFF \
  -DCMAKE_CUDA20_STANDARD_COMPILE_OPTION=-std=c++20 \
  -DCMAKE_CUDA20_EXTENSION_COMPILE_OPTION=-std=c++20 \
  >"$OUT/configure.log" 2>&1 || configure_status=$?

build_status=0
bench_bin="$BUILD/bench/mahal_bench_engine"
if [ "$configure_status" -eq 0 ]; then
  targets=$(cmake --build "$BUILD" --target help 2>/dev/null | grep -o 'test_gpu_[A-Za-z0-9_]*' |
    sort -u | tr '\n' ' ')
  log "build: ${targets:-no GPU test targets}"
  # shellcheck disable=SC2086
  timeout 300 cmake --build "$BUILD" -j "$JOBS" --target mahal $targets \
    >"$OUT/build.log" 2>&1 || build_status=$?
  if cmake --build "$BUILD" --target help 2>/dev/null | grep -q 'mahal_bench_engine'; then
    log "build: mahal_bench_engine"
    timeout 150 cmake --build "$BUILD" -j "$JOBS" --target mahal_bench_engine \
      >>"$OUT/build.log" 2>&1 || log "benchmark build failed (see build.log)"
  fi
fi

# ---- tests -----------------------------------------------------------------------------------
test_status=1
test_summary="not run"
if [ "$configure_status" -eq 0 ] && [ "$build_status" -eq 0 ]; then
  log "ctest -L gpu"
  (cd "$BUILD" && timeout 180 ctest -L gpu --output-on-failure) >"$OUT/ctest_gpu.log" 2>&1
  test_status=$?
  test_summary=$(grep -E 'tests passed|tests failed|No tests were found' "$OUT/ctest_gpu.log" |
    tail -n 1)
  [ -n "$test_summary" ] || test_summary="ctest exited with status $test_status"
elif [ "$configure_status" -ne 0 ]; then
  test_summary="configure failed (status $configure_status): see configure.log"
else
  test_summary="build failed (status $build_status): see build.log"
fi
log "tests: $test_summary"

# ---- benchmarks ------------------------------------------------------------------------------
bench_table="no benchmark binary ($bench_bin)"
if [ -x "$bench_bin" ]; then
  log "benchmarks"
  if timeout 150 "$bench_bin" --benchmark_filter='cuda|gpu' --benchmark_format=json \
      --benchmark_out="$OUT/bench_gpu.json" --benchmark_min_time=0.2 \
      >"$OUT/bench_gpu.log" 2>&1 || [ -s "$OUT/bench_gpu.json" ]; then
    bench_table=$(python3 - "$OUT/bench_gpu.json" <<'EOF' 2>&1
import json, sys
try:
    data = json.load(open(sys.argv[1]))
except Exception as e:  # a run cut short leaves a partial file
    print(f"(unreadable benchmark output: {e})")
    sys.exit(0)
rows = [b for b in data.get("benchmarks", []) if b.get("run_type", "iteration") == "iteration"]
if not rows:
    print("(no benchmark matched 'cuda|gpu')")
    sys.exit(0)
skip = {"name", "run_name", "run_type", "repetitions", "repetition_index", "threads",
        "iterations", "real_time", "cpu_time", "time_unit", "family_index",
        "per_family_instance_index", "aggregate_name", "aggregate_unit", "label", "error_occurred",
        "error_message"}
print("| benchmark | real time | iterations | counters |")
print("|---|---:|---:|---|")
for b in rows:
    counters = ", ".join(f"{k}={v:.4g}" for k, v in b.items()
                         if k not in skip and isinstance(v, (int, float)))
    print(f"| {b['name']} | {b['real_time']:.4g} {b.get('time_unit', '')} | "
          f"{b.get('iterations', '')} | {counters} |")
EOF
)
  else
    bench_table="benchmark run failed: see bench_gpu.log"
  fi
fi

# ---- report ----------------------------------------------------------------------------------
{
  echo "# mahal device check"
  echo
  echo "- GPU: $gpu_line"
  echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- nvcc: $(nvcc --version 2>/dev/null | grep -o 'release [0-9.]*' | head -n 1)"
  echo "- wall time: $(elapsed)"
  echo
  echo "## GPU tests (ctest -L gpu)"
  echo
  echo "$test_summary"
  if [ -f "$OUT/ctest_gpu.log" ]; then
    echo
    echo '```'
    grep -E 'Test +#|\[doctest\]|ERROR|FAILED|Failed|skipped' "$OUT/ctest_gpu.log" | head -n 60
    echo '```'
  fi
  echo
  echo "## GPU benchmarks"
  echo
  echo "$bench_table"
} >"$REPORT"
log "report: $REPORT"
cat "$REPORT"

[ "$test_status" -eq 0 ] && exit 0
exit 1
