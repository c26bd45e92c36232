#!/usr/bin/env bash
# cuda/device_check.sh — the one check to run on a machine with an NVIDIA GPU (H100/H200).
#
# From the repository root:   bash cuda/device_check.sh
#
# The GPU machine may have the CUDA toolkit and nothing else of what mahal needs (no Eigen,
# OpenBLAS, doctest or Google Benchmark, and no network to fetch them). So the programs are
# built beforehand on the build machine by cuda/make_device_bundle.sh, which packs them with the
# libraries they need into build-device/bundle.tar.gz; carry build-device to the GPU machine.
# When the bundle is there this script unpacks it and runs its programs against that machine's
# CUDA libraries (found by a search of the usual folders). Without a bundle it builds mahal
# itself in build-gpu (only possible where the dependencies are installed).
#
# Order: a probe of the machine (seconds), the GPU tests (each test_gpu_* program), then the
# benchmarks while the budget lasts: mahal_lmnn_driver first (LMNN fits on GPU and CPU: a
# generated 10-class CSV, letters.csv when the bundle or a data folder has it, and 10 iterations
# with the 3 nearest impostors at n = 1e4, 3e4, 1e5), then the Google Benchmark programs' cuda|gpu
# cases and the CPU cases their ratios need.
#
# BUDGET (seconds, default 420) bounds the whole run: each step's limit is cut to what is left,
# and each Google Benchmark program gets at most 100 s. Output in OUT (default build-gpu): three
# files, device_report.md, tests.log and logs.tar.gz (everything else), because a device run
# brings back only a few files.
# Exit status: 0 when every GPU test passes, 1 otherwise (the report is written either way).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
WORK="build-gpu"
OUT="${OUT:-$WORK}"
LOGS="$WORK/logs"
SCRATCH="$WORK/scratch"
rm -rf "$LOGS" "$SCRATCH"  # nothing of an earlier run may pass for this one's
mkdir -p "$OUT" "$LOGS" "$SCRATCH"
REPORT="$OUT/device_report.md"
JOBS="${JOBS:-16}"
BUDGET="${BUDGET:-420}"
started=$(date +%s)
elapsed_s() { echo $(($(date +%s) - started)); }
log() { echo "device_check [$(elapsed_s)s]: $*" >&2; }
# limit WANTED: WANTED seconds, or what is left of the budget (less a 15 s reserve for the
# report), at least 1.
limit() {
  local left=$((BUDGET - 15 - $(elapsed_s)))
  [ "$left" -lt "$1" ] && echo $((left > 1 ? left : 1)) || echo "$1"
}

# ---- the machine ----------------------------------------------------------------------------
gpu_line=$(nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap \
  --format=csv,noheader 2>/dev/null | head -n 1)
[ -n "$gpu_line" ] || gpu_line="nvidia-smi unavailable"
log "GPU: $gpu_line"
{
  echo "GPU: $gpu_line"
  # shellcheck disable=SC1091
  echo "os: $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
  echo "glibc: $(ldd --version 2>/dev/null | head -n 1)"
  for tool in nvcc c++ g++ cmake ninja make python3; do
    echo "$tool: $(command -v "$tool" >/dev/null && "$tool" --version 2>&1 | grep -m 1 . || echo absent)"
  done
  echo "eigen3 headers: $([ -d /usr/include/eigen3 ] && echo yes || echo no)"
  echo "openblas: $(ldconfig -p 2>/dev/null | grep -c libopenblas) entries in ldconfig"
} >"$LOGS/probe.txt" 2>&1

# Folders holding CUDA's libraries, for the loader: the toolkit's first (a quick look), then
# anywhere else, Python wheels included (a wider search, cut off after 30 s).
cuda_libraries=(-name 'libcublas.so.*' -o -name 'libcublasLt.so.*' -o -name 'libcusolver.so.*' -o
  -name 'libcusparse.so.*' -o -name 'libcudart.so.*' -o -name 'libnvJitLink.so.*')
cuda_dirs=$({
  find /usr/local/cuda* -maxdepth 4 \( "${cuda_libraries[@]}" \) -printf '%h\n' 2>/dev/null
  timeout 30 find /usr/local /usr/lib /opt -xdev \( "${cuda_libraries[@]}" \) -printf '%h\n' 2>/dev/null
} | awk '!seen[$0]++' | paste -sd: -)
echo "CUDA library folders: ${cuda_dirs:-none found}" >>"$LOGS/probe.txt"

# ---- the programs: the carried bundle, or a build here --------------------------------------
mode=""
BIN=""
data_dir=""
prepare_bundle() {
  local root="$WORK/bundle"
  rm -rf "$root" && mkdir -p "$root" && tar -C "$root" -xzf build-device/bundle.tar.gz || return 1
  BIN="$root/bin"
  export LD_LIBRARY_PATH="$root/lib${cuda_dirs:+:$cuda_dirs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  # This machine's libstdc++ may be older than the build machine's: then use the carried one.
  if ! "$BIN/test_gpu_backend" --list-test-cases >/dev/null 2>"$LOGS/start.txt" &&
    grep -q 'GLIBCXX\|CXXABI\|libstdc++' "$LOGS/start.txt"; then
    export LD_LIBRARY_PATH="$root/compat:$LD_LIBRARY_PATH"
    echo "using the carried libstdc++ (compat/)" >>"$LOGS/probe.txt"
  fi
  cat "$root/manifest.txt" >>"$LOGS/probe.txt"
  echo "unresolved libraries: $(ldd "$BIN"/* 2>/dev/null | grep 'not found' | sort -u | tr -s ' \t' ' ')" \
    >>"$LOGS/probe.txt"
  [ -f "$root/data/letters.csv" ] && data_dir="$root/data"
  return 0
}

build_here() {
  local build="$WORK/build" gen=() status=0
  command -v ninja >/dev/null && gen=(-G Ninja)
  # CMake 3.25 does not know nvcc's C++20 flag; the two CUDA20 variables supply it. Warnings
  # are not errors here: this machine's compilers are not the ones CI checks.
  log "configure (no bundle: building here)"
  timeout "$(limit 90)" cmake -S . -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DMAHAL_CUDA=ON -DMAHAL_BUILD_TESTS=ON -DMAHAL_BUILD_BENCHMARKS=ON -DMAHAL_BUILD_APPS=ON \
    -DMAHAL_WARNINGS_AS_ERRORS=OFF -DCMAKE_CUDA20_STANDARD_COMPILE_OPTION=-std=c++20 \
    -DCMAKE_CUDA20_EXTENSION_COMPILE_OPTION=-std=c++20 >"$LOGS/configure.log" 2>&1 || status=$?
  [ "$status" -eq 0 ] || return "$status"
  log "build"
  timeout "$(limit 240)" cmake --build "$build" -j "$JOBS" --target test_gpu_backend \
    test_gpu_kmeans test_gpu_lmnn test_gpu_mmc test_gpu_siamese mahal_lmnn_driver \
    mahal_bench_engine mahal_bench_mmc mahal_bench_siamese mahal_cli \
    >"$LOGS/build.log" 2>&1 || status=$?
  mkdir -p "$WORK/bin"
  find "$build" -type f -perm -u+x \( -name 'test_gpu_*' -o -name 'mahal_*' -o -name mahal \) \
    -exec cp {} "$WORK/bin/" \;
  BIN="$WORK/bin"
  return "$status"
}

setup_status=0
if [ -f build-device/bundle.tar.gz ]; then
  mode="bundle"
  log "unpacking build-device/bundle.tar.gz"
  prepare_bundle || setup_status=$?
else
  mode="build"
  build_here || setup_status=$?
fi
if [ -z "$data_dir" ]; then
  for candidate in "${MAHAL_DATA_DIR:-}" ../shared/datasets shared/datasets; do
    [ -n "$candidate" ] && [ -f "$candidate/letters.csv" ] && data_dir=$(cd "$candidate" && pwd) && break
  done
fi

# What mahal itself sees (the CUDA runtime and driver as loaded by its programs).
gpu_devices=$("$BIN/mahal" info --json 2>"$LOGS/mahal_info.err" | tee "$LOGS/mahal_info.json" |
  python3 -c 'import json, sys; print(json.load(sys.stdin).get("gpu_devices", 0))' 2>/dev/null)
gpu_devices=${gpu_devices:-0}
cuda_status=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("cuda_status", "?"))' \
  "$LOGS/mahal_info.json" 2>/dev/null || tail -n 1 "$LOGS/mahal_info.err")
echo "GPU devices seen by mahal: $gpu_devices (CUDA: $cuda_status)" >>"$LOGS/probe.txt"
# Which OpenBLAS build the CPU figures ran on, and on how many threads.
python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))
print("CPU side:", d.get("blas_threading", "?"), "OpenBLAS,", d.get("openmp_threads", "?"), "OpenMP threads")' \
  "$LOGS/mahal_info.json" >>"$LOGS/probe.txt" 2>/dev/null
log "GPU devices seen by mahal: $gpu_devices (CUDA: $cuda_status)"

# ---- GPU tests ---------------------------------------------------------------------------------
tests_log="$OUT/tests.log"
: >"$tests_log"
test_status=0
test_lines=()
tests_found=0
for bin in "$BIN"/test_gpu_*; do
  [ -x "$bin" ] || continue
  tests_found=$((tests_found + 1))
  name=$(basename "$bin")
  log "test: $name"
  rc=0
  timeout "$(limit 120)" "$bin" >"$LOGS/$name.log" 2>&1 || rc=$?
  { echo "==== $name (exit $rc)"; cat "$LOGS/$name.log"; } >>"$tests_log"
  summary=$(grep -E '\[doctest\] (test cases|assertions)' "$LOGS/$name.log" |
    sed -e 's/\[doctest\] //' -e 's/ *| */, /g' -e 's/, *$//' | paste -sd ';' -)
  [ "$rc" -eq 0 ] || test_status=1
  # A test program that asserted nothing ran no GPU case: each returns early without a device.
  if grep -Eq 'assertions: +0 \|' "$LOGS/$name.log"; then
    rc="$rc (no assertion ran)"
    test_status=1
  fi
  test_lines+=("| $name | $rc | ${summary:-no doctest summary (see tests.log)} |")
done
if [ "$tests_found" -eq 0 ]; then
  test_status=1
  test_lines+=("| (none) | — | no test program: $mode setup failed with status $setup_status (see logs) |")
fi
log "tests: $tests_found programs, status $test_status"

# ---- benchmarks ------------------------------------------------------------------------------
bench_md="$LOGS/bench_sections.md"
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
  local bin=$1 rows="" kmeans_rows=""
  local -a sets=()
  # name|csv|training rows|driver options (the n-sweep's CSVs are made when their turn comes)
  make_blobs_csv "$SCRATCH/blobs.csv" 5000 && sets+=("blobs|$SCRATCH/blobs.csv|4000|")
  [ -n "$data_dir" ] && [ -f "$data_dir/letters.csv" ] &&
    sets+=("letters|$data_dir/letters.csv|16000|" "letters|$data_dir/letters.csv|16000|--impostors 3")
  for n in 10000 30000 100000; do
    sets+=("blobs n=$n|$SCRATCH/blobs_$n.csv|$n|--impostors 3 --max-iter 10")
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
        --backend "$backend" 2>"$SCRATCH/run.err" | tail -n 1)
      { echo "== $name $options $backend"; cat "$SCRATCH/run.err"; echo "$line"; } >>"$LOGS/bench_lmnn.log"
      [ -n "$line" ] || line="(failed or timed out: $(tail -n 1 "$SCRATCH/run.err" | tr '|' '/'))"
      rows+="| $name | $options | $backend | $line |"$'\n'
    done
    # K-means on the largest set too (mahal cluster: 10 restarts, K = 10), GPU and CPU.
    if [ "$first" = 100000 ] && [ -x "$BIN/mahal" ]; then
      for backend in cuda cpu; do
        [ $((BUDGET - 15 - $(elapsed_s))) -lt 10 ] && continue
        log "mahal cluster $name --backend $backend"
        local km
        km=$(timeout "$(limit 60)" "$BIN/mahal" cluster --data "$file" --clusters 10 --json -q \
          --backend "$backend" 2>>"$LOGS/bench_kmeans.log" | tail -n 1)
        [ -n "$km" ] || km="(failed or timed out)"
        kmeans_rows+="| $name | $backend | $km |"$'\n'
      done
    fi
    rm -f "$SCRATCH"/blobs_*.csv  # large, and of no use in the report
  done
  {
    echo "### bench_lmnn (LMNN fit + 3-NN accuracy; JSON line per run)"
    echo
    echo "| data | options | backend | result |"
    echo "|---|---|---|---|"
    printf '%s' "$rows"
    echo
    if [ -n "$kmeans_rows" ]; then
      echo "### mahal cluster (K-means, K = 10, 10 restarts; JSON per run)"
      echo
      echo "| data | backend | result |"
      echo "|---|---|---|"
      printf '%s' "$kmeans_rows"
      echo
    fi
  } >>"$bench_md"
  bench_summary+=("bench_lmnn: $(printf '%s' "$rows" | grep -c 'train_seconds') of $((2 * ${#sets[@]})) runs ok (see report)")
}

bench_programs="mahal_lmnn_driver mahal_bench_engine mahal_bench_mmc mahal_bench_siamese"
for target in $bench_programs; do
  bin="$BIN/$target"
  if [ ! -x "$bin" ]; then
    bench_summary+=("$target: not built")
    continue
  fi
  if [ $((BUDGET - 15 - $(elapsed_s))) -lt 15 ]; then
    bench_summary+=("$target: skipped (budget spent)")
    continue
  fi
  if [ "$target" = mahal_lmnn_driver ]; then
    run_bench_lmnn "$bin"
    continue
  fi
  # The GPU cases, and the CPU cases that a CPU-vs-GPU ratio on this machine needs.
  filter='cuda|gpu'
  case "$target" in
    mahal_bench_mmc) filter+='|cpu/(100|1000|10000)/' ;;
    mahal_bench_siamese) filter+='|_cpu/' ;;
  esac
  timeout 20 "$bin" --benchmark_list_tests=true --benchmark_filter="$filter" \
    >"$LOGS/bench_${target}_list.txt" 2>&1
  count=$(grep -c . "$LOGS/bench_${target}_list.txt")
  log "benchmarks: $target ($count cases)"
  timeout "$(limit 100)" "$bin" --benchmark_filter="$filter" --benchmark_format=json \
    --benchmark_out="$LOGS/bench_${target}.json" --benchmark_min_time=0.2 \
    >"$LOGS/bench_${target}.log" 2>&1
  table=$(gbench_table "$LOGS/bench_${target}.json")
  printf '### %s\n\n%s\n\n' "$target" "$table" >>"$bench_md"
  ran=$(($(echo "$table" | grep -c '^| ') - 1))
  bench_summary+=("$target: $((ran > 0 ? ran : 0)) of $count cases reported ($filter)")
done

# ---- report ----------------------------------------------------------------------------------
{
  echo "# mahal device check"
  echo
  echo "- GPU: $gpu_line"
  echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown); programs: $mode"
  echo "- data folder: ${data_dir:-none}"
  echo "- wall time: $(elapsed_s)s of a ${BUDGET}s budget"
  echo
  echo "## The machine"
  echo
  echo '```'
  cat "$LOGS/probe.txt"
  echo '```'
  echo
  echo "## GPU tests"
  echo
  if [ "$gpu_devices" -eq 0 ]; then
    echo "**Not run: mahal sees no GPU ($cuda_status); every GPU test returned early.**"
  elif [ "$test_status" -eq 0 ]; then
    echo "**All $tests_found GPU test programs passed.**"
  else
    echo "**GPU tests failed or did not run (below).**"
  fi
  echo
  echo "| program | exit | doctest summary |"
  echo "|---|---|---|"
  printf '%s\n' "${test_lines[@]}"
  echo
  echo '```'
  grep -E 'ERROR|FAILED|error:|what\(\)|Segmentation|Aborted' "$tests_log" | head -n 60
  echo '```'
  echo
  echo "## GPU benchmarks"
  echo
  cat "$bench_md"
} >"$REPORT"
cp "$REPORT" "$LOGS/"
tar -C "$WORK" -czf "$OUT/logs.tar.gz" logs 2>/dev/null
log "report: $REPORT"

echo "==== device check summary ($(elapsed_s)s) ===="
echo "GPU:        $gpu_line"
echo "programs:   $mode (setup status $setup_status)"
printf 'test:       %s\n' "${test_lines[@]}"
for line in "${bench_summary[@]}"; do echo "bench:      $line"; done
echo "report:     $REPORT"

[ "$test_status" -eq 0 ] && exit 0
exit 1
