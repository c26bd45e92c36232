#!/usr/bin/env bash
# Fuzzes the file readers, the solvers, the k-NN search and the verification measures with
# libFuzzer (Clang, AddressSanitizer, UndefinedBehaviorSanitizer): builds the fuzz_* targets in
# build-fuzz/ (installing clang, its fuzzer runtime and libomp from Debian when missing), seeds
# them with inputs made by the library's own writers, and runs each for SECONDS. A finding
# stops its target and is left in build-fuzz/fuzz/findings/; once its cause is fixed, copy the
# input into fuzz/regressions/<target>/ so that every build replays it.
#   fuzz/run.sh [SECONDS] [TARGET...]   # 300 s each by default; all targets:
#                                         csv npy model_file solvers siamese verification knn
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(csv npy model_file solvers siamese verification knn)

scripts/install_deps.sh
missing=()
for p in clang libclang-rt-dev libomp-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMAHAL_CUDA=OFF \
  -DMAHAL_FUZZ=ON -DMAHAL_BUILD_BENCHMARKS=OFF -DMAHAL_BUILD_APPS=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target mahal_fuzz_seeds \
  $(printf 'fuzz_%s ' "${targets[@]}")

work=build-fuzz/fuzz
"$work/mahal_fuzz_seeds" "$work/seeds"
mkdir -p "$work/findings"
status=0
for t in "${targets[@]}"; do
  mkdir -p "$work/corpus/$t"
  echo "== fuzz_$t for $seconds s" >&2
  # The readers must bound every allocation by the file's size: 512 MB is far beyond any input.
  if ! "$work/fuzz_$t" -max_total_time="$seconds" -malloc_limit_mb=512 -rss_limit_mb=2048 \
      -artifact_prefix="$work/findings/${t}_" -print_final_stats=1 \
      "$work/corpus/$t" "$work/seeds/$t" "fuzz/regressions/$t" 2>"$work/$t.log"; then
    status=1
    grep -E "ERROR|SUMMARY|Test unit written" "$work/$t.log" >&2 || true
  fi
  grep -E "stat::number_of_executed_units|cov:" "$work/$t.log" | tail -n 2 >&2
done
exit $status
