#!/usr/bin/env bash
# cuda/device_check.sh — the one check to run on a machine with an NVIDIA GPU (H100/H200).
#
# From the repository root:   bash cuda/device_check.sh
# It builds a Release copy of mahal with the CUDA backend in build-gpu (only the GPU tests and
# the benchmark programs), runs `ctest -L gpu`, runs every benchmark program's GPU cases, and
# writes a report to ${OUT:-build-gpu}/device_report.md (logs beside it), then prints a compact
# summary. The whole run keeps to a budget of BUDGET seconds (default 540: 9 minutes, which with
# the machine's start fits a 15-minute device lease): every step's time limit is cut to what is
# left, and each Google Benchmark program gets at most 100 s.
#
# Benchmark programs are the build's targets whose names contain "bench". Each is run as:
#   - a Google Benchmark binary (it answers --benchmark_list_tests): the cases matching
#     'cuda|gpu', and for bench_mmc and bench_siamese the CPU cases that the CPU-vs-GPU ratios
#     need (JSON to bench_<name>.json);
#   - mahal_lmnn_driver (bench/lmnn_driver.cpp), first: LMNN fits with --backend cuda and
#     --backend cpu on a generated 10-class CSV, on letters.csv when a data folder has it, and
#     10 iterations with the 3 nearest impostors at n = 1e4, 3e4, 1e5 (d = 32, 10 classes);
#   - anything else: listed as not run.
# Exit status: 0 when the GPU tests pass, 1 otherwise (the report is written either way).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
BUILD=build-gpu
OUT="${OUT:-$BUILD}"
mkdir -p "$OUT" "$BUILD"
REPORT="$OUT/device_report.md"
JOBS="${JOBS:-16}"
BUDGET="${BUDGET:-540}"
started=$(date +%s)
elapsed_s() { echo $(($(date +%s) - started)); }
log() { echo "device_check [$(elapsed_s)s]: $*" >&2; }
# limit WANTED: WANTED seconds, or what is left of the budget (less a 15 s reserve for the
# report), at least 1.
limit() {
  local left=$((BUDGET - 15 - $(elapsed_s)))
  [ "$left" -lt "$1" ] && echo $((left > 1 ? left : 1)) || echo "$1"
}

# ---- dependencies (best effort: the machine may have no network) ---------------------------
if [ -f scripts/install_deps.sh ]; then
  log "scripts/install_deps.sh"
  timeout "$(limit 60)" bash scripts/install_deps.sh >"$OUT/install_deps.log" 2>&1 ||
    log "install_deps.sh failed (continuing; see install_deps.log)"
fi

gpu_line=$(nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap \
  --format=csv,noheader 2>/dev/null | head -n 1)
[ -n "$gpu_line" ] || gpu_line="nvidia-smi unavailable"
log "GPU: $gpu_line"

# ---- configure and build ---------------------------------------------------------------------
# CMake 3.25 does not know nvcc's C++20 flag; the two CUDA20 variables supply it (the top-level
# CMakeLists.txt does the same when they are undefined; newer CMake versions define them).
data_dir=""
for candidate in "${MAHAL_DATA_DIR:-}" ../shared/datasets shared/datasets; do
  if [ -n "$candidate" ] && [ -d "$candidate" ]; then
    data_dir=$(cd "$candidate" && pwd)
    break
  fi
done
data_flag=()
[ -n "$data_dir" ] && data_flag=(-DMAHAL_DATA_DIR="$data_dir")

configure_status=0
log "configure"
timeout "$(limit 90)" cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DMAHAL_CUDA=ON \
  -DMAHAL_BUILD_TESTS=ON -DMAHAL_BUILD_BENCHMARKS=ON -DMAHAL_BUILD_APPS=OFF \
  -DCMAKE_CUDA20_STANDARD_COMPILE_OPTION=-std=c++20 \
  -DCMAKE_CUDA20_EXTENSION_COMPILE_OPTION=-std=c++20 "${data_flag[@]}" \
  >"$OUT/configure.log" 2>&1 || configure_status=$?

build_status=0
bench_targets=""
if [ "$configure_status" -eq 0 ]; then
  help=$(cmake --build "$BUILD" --target help 2>/dev/null)
  targets=$(echo "$help" | grep -o 'test_gpu_[A-Za-z0-9_]*' | sort -u | tr '\n' ' ')
  bench_targets=$(echo "$help" | grep -oE 'mahal_(bench_[A-Za-z0-9_]*|lmnn_driver)' |
    grep -v -e '^benchmark' -e '^mahal_doctest' | sort -u | tr '\n' ' ')
  log "build: mahal ${targets:-(no GPU test targets)}"
  # shellcheck disable=SC2086
  timeout "$(limit 270)" cmake --build "$BUILD" -j "$JOBS" --target mahal $targets \
    >"$OUT/build.log" 2>&1 || build_status=$?
  for target in $bench_targets; do  # one by one: a broken benchmark must not hide the others
    log "build: $target"
    timeout "$(limit 120)" cmake --build "$BUILD" -j "$JOBS" --target "$target" \
      >>"$OUT/build.log" 2>&1 || log "build of $target failed (see build.log)"
  done
fi

# ---- tests -----------------------------------------------------------------------------------
test_status=1
test_summary="not run"
failed_tests=""
if [ "$configure_status" -eq 0 ] && [ "$build_status" -eq 0 ]; then
  log "ctest -L gpu"
  (cd "$BUILD" && timeout "$(limit 150)" ctest -L gpu --output-on-failure --timeout 120) \
    >"$OUT/ctest_gpu.log" 2>&1
  test_status=$?
  test_summary=$(grep -E 'tests passed|tests failed|No tests were found' "$OUT/ctest_gpu.log" |
    tail -n 1)
  [ -n "$test_summary" ] || test_summary="ctest exited with status $test_status (time limit?)"
  failed_tests=$(sed -n '/The following tests FAILED/,$p' "$OUT/ctest_gpu.log" | grep -E '^\s+[0-9]+ -' |
    sed 's/^ *//' | tr '\n' ';')
elif [ "$configure_status" -ne 0 ]; then
  test_summary="configure failed (status $configure_status): see configure.log"
else
  test_summary="build failed (status $build_status): see build.log"
fi
log "tests: $test_summary"

# ---- benchmarks ------------------------------------------------------------------------------
bench_md="$OUT/bench_sections.md"
: >"$bench_md"
bench_summary=()

gbench_table() {  # JSON file → markdown table of the iteration rows
  python3 - "$1" <<'EOF' 2>&1
import json, sys
def salvage(text):  # a run cut short by its time limit leaves the finished cases, unclosed
    start = text.find("[", text.find('"benchmarks"'))
    decoder, found, at = json.JSONDecoder(), [], start + 1
    while start >= 0:
        at = text.find("{", at)
        if at < 0:
            break
        try:
            item, at = decoder.raw_decode(text, at)
        except ValueError:
            break
        found.append(item)
    return {"benchmarks": found}
try:
    text = open(sys.argv[1]).read()
except OSError as e:
    print(f"(no benchmark output: {e})")
    sys.exit(0)
try:
    data = json.loads(text)
except ValueError:
    data = salvage(text)
    print("(cut short: the cases that finished)")
    print()
rows = [b for b in data.get("benchmarks", []) if b.get("run_type", "iteration") == "iteration"]
if not rows:
    print("(no benchmark matched the filter)")
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
}

# A 10-class Gaussian-blob CSV (label first, header line) of ROWS rows (the last 1000 are the
# test set), d = 32. Plain Python, so it needs no package.
make_blobs_csv() {  # file rows
  python3 - "$1" "$2" <<'EOF'
import random, sys
rng = random.Random(7)
d, classes = 32, 10
centres = [[rng.gauss(0, 1.5) for _ in range(d)] for _ in range(classes)]
with open(sys.argv[1], "w") as f:
    f.write("label," + ",".join(f"x{t}" for t in range(d)) + "\n")
    for i in range(int(sys.argv[2])):
        c = i % classes
        f.write(str(c) + "," + ",".join(f"{centres[c][t] + rng.gauss(0, 2.0):.5f}"
                                        for t in range(d)) + "\n")
EOF
}

run_bench_lmnn() {  # binary
  local bin=$1 rows=""
  local -a sets=()
  # name|csv|training rows|driver options (the n-sweep's CSVs are made when their turn comes)
  make_blobs_csv "$OUT/blobs.csv" 5000 && sets+=("blobs|$OUT/blobs.csv|4000|")
  [ -n "$data_dir" ] && [ -f "$data_dir/letters.csv" ] &&
    sets+=("letters|$data_dir/letters.csv|16000|" "letters|$data_dir/letters.csv|16000|--impostors 3")
  for n in 10000 30000 100000; do
    sets+=("blobs n=$n|$OUT/blobs_$n.csv|$n|--impostors 3 --max-iter 10")
  done
  for set in "${sets[@]}"; do
    IFS='|' read -r name file first options <<<"$set"
    [ -f "$file" ] || make_blobs_csv "$file" $((first + 1000))
    for backend in cuda cpu; do
      local left=$((BUDGET - 15 - $(elapsed_s)))
      if [ "$left" -lt 10 ]; then
        rows+="| $name | $options | $backend | (budget spent) |"$'\n'
        continue
      fi
      log "bench_lmnn $name $options --backend $backend"
      local line
      # shellcheck disable=SC2086
      line=$(timeout "$(limit 60)" "$bin" --data "$file" --first "$first" $options \
        --backend "$backend" 2>>"$OUT/bench_lmnn.log" | tail -n 1)
      echo "$name $options $backend: $line" >>"$OUT/bench_lmnn.log"
      rows+="| $name | $options | $backend | ${line:-(failed or timed out: see bench_lmnn.log)} |"$'\n'
    done
    rm -f "$OUT"/blobs_*.csv  # large, and of no use in the report
  done
  {
    echo "### bench_lmnn (LMNN fit + 3-NN accuracy; JSON line per run)"
    echo
    echo "| data | options | backend | result |"
    echo "|---|---|---|---|"
    printf '%s' "$rows"
    echo
  } >>"$bench_md"
  bench_summary+=("bench_lmnn: $(printf '%s' "$rows" | grep -c 'train_seconds') of $((2 * ${#sets[@]})) runs ok (see report)")
}

# The LMNN driver first: its CPU-vs-GPU comparison is short and matters most.
bench_targets=$(echo "$bench_targets" | tr ' ' '\n' | grep -x mahal_lmnn_driver
  echo "$bench_targets" | tr ' ' '\n' | grep -v -x mahal_lmnn_driver)
for target in $bench_targets; do
  bin=$(find "$BUILD" -type f -name "$target" -perm -u+x 2>/dev/null | head -n 1)
  if [ -z "$bin" ]; then
    bench_summary+=("$target: not built")
    continue
  fi
  if [ $((BUDGET - 15 - $(elapsed_s))) -lt 15 ]; then
    bench_summary+=("$target: skipped (budget spent)")
    continue
  fi
  # The GPU cases, and the CPU cases that a CPU-vs-GPU ratio on this machine needs.
  filter='cuda|gpu'
  case "$target" in
    mahal_bench_mmc) filter+='|cpu/(100|1000|10000)/' ;;
    mahal_bench_siamese) filter+='|_cpu/' ;;
  esac
  if timeout 20 "$bin" --benchmark_list_tests=true --benchmark_filter="$filter" \
    >"$OUT/bench_${target}_list.txt" 2>/dev/null; then
    count=$(grep -c . "$OUT/bench_${target}_list.txt")
    if [ "$count" -eq 0 ]; then
      bench_summary+=("$target: no cuda|gpu benchmark")
      continue
    fi
    log "benchmarks: $target ($count cases)"
    timeout "$(limit 100)" "$bin" --benchmark_filter="$filter" --benchmark_format=json \
      --benchmark_out="$OUT/bench_${target}.json" --benchmark_min_time=0.2 \
      >"$OUT/bench_${target}.log" 2>&1
    table=$(gbench_table "$OUT/bench_${target}.json")
    printf '### %s\n\n%s\n\n' "$target" "$table" >>"$bench_md"
    ran=$(($(echo "$table" | grep -c '^| ') - 1))
    bench_summary+=("$target: $((ran > 0 ? ran : 0)) of $count cases reported ($filter)")
  elif [ "$target" = mahal_lmnn_driver ]; then
    run_bench_lmnn "$bin"
  else
    bench_summary+=("$target: unknown interface, not run")
  fi
done
[ -n "$bench_targets" ] || bench_summary+=("no benchmark targets")

# ---- report ----------------------------------------------------------------------------------
{
  echo "# mahal device check"
  echo
  echo "- GPU: $gpu_line"
  echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- nvcc: $(nvcc --version 2>/dev/null | grep -o 'release [0-9.]*' | head -n 1)"
  echo "- data folder: ${data_dir:-none}"
  echo "- wall time: $(elapsed_s)s of a ${BUDGET}s budget"
  echo
  echo "## GPU tests (ctest -L gpu)"
  echo
  echo "$test_summary"
  [ -n "$failed_tests" ] && echo && echo "Failed: $failed_tests"
  if [ -f "$OUT/ctest_gpu.log" ]; then
    echo
    echo '```'
    grep -E 'Test +#|\[doctest\] (test cases|assertions)|ERROR|FAILED|Failed|skipped' \
      "$OUT/ctest_gpu.log" | head -n 80
    echo '```'
  fi
  echo
  echo "## GPU benchmarks"
  echo
  cat "$bench_md"
} >"$REPORT"
log "report: $REPORT"

echo "==== device check summary ($(elapsed_s)s) ===="
echo "GPU:        $gpu_line"
echo "configure:  status $configure_status; build: status $build_status"
echo "gpu tests:  $test_summary"
[ -n "$failed_tests" ] && echo "failed:     $failed_tests"
for line in "${bench_summary[@]}"; do echo "bench:      $line"; done
echo "report:     $REPORT"

[ "$test_status" -eq 0 ] && exit 0
exit 1
