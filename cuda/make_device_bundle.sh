#!/usr/bin/env bash
# cuda/make_device_bundle.sh — builds, on this (build) machine, everything the GPU check runs,
# and packs it for a GPU machine that has the CUDA toolkit but none of mahal's other
# dependencies (Eigen, OpenBLAS, doctest, Google Benchmark, ...) and no network.
#
# From the repository root:   bash cuda/make_device_bundle.sh [DATA_DIR]
# Writes build-device/bundle.tar.gz (git ignores build*/), which cuda/device_check.sh unpacks
# and runs when it finds it. The archive holds:
#   bin/   the GPU test programs, the benchmark programs and the mahal program (Release, CUDA
#          for sm_90, stripped);
#   lib/   the shared libraries they need that a CUDA image may lack (OpenBLAS and its Fortran
#          runtime, libgomp, Google Benchmark); CUDA's own libraries are the GPU machine's;
#   compat/ libstdc++ and libgcc_s of this machine, used there only if its own are too old;
#   data/  letters.csv from DATA_DIR (default ../shared/datasets) when present: third-party
#          data that travels with the check and is never committed;
#   manifest.txt  commit, compilers, and the glibc / GLIBCXX versions the programs need.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-cuda}
DEST=build-device
DATA_DIR=${1:-../shared/datasets}
tests=(test_gpu_backend test_gpu_kmeans test_gpu_lmnn test_gpu_mmc test_gpu_siamese)
programs=(mahal_bench_engine mahal_bench_mmc mahal_bench_siamese mahal_lmnn_driver mahal_cli)

cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DMAHAL_CUDA=ON -DMAHAL_BUILD_TESTS=ON \
  -DMAHAL_BUILD_BENCHMARKS=ON -DMAHAL_BUILD_APPS=ON >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target "${tests[@]}" "${programs[@]}"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,lib,compat,data}
for target in "${tests[@]}" "${programs[@]}"; do
  name=$target
  [ "$target" = mahal_cli ] && name=mahal
  file=$(find "$BUILD" -type f -name "$name" -perm -u+x | head -n 1)
  [ -n "$file" ] || { echo "make_device_bundle: $name was not built" >&2; exit 1; }
  strip -o "$stage/bin/$name" "$file"
done

# Libraries resolved outside CUDA's folders and outside glibc itself.
ldd "$stage"/bin/* | awk '/=> \//{print $3}' | sort -u | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so.* | libm.so.* | libdl.so.* | libpthread.so.* | librt.so.* | ld-linux*) ;;
    libstdc++.so.* | libgcc_s.so.*) cp -L "$lib" "$stage/compat/" ;;
    libcu* | libnvJitLink* | libnvrtc*) ;;  # the GPU machine's CUDA
    *) cp -L "$lib" "$stage/lib/" ;;
  esac
done
[ -f "$DATA_DIR/letters.csv" ] && cp "$DATA_DIR/letters.csv" "$stage/data/"

{
  echo "commit: $(git rev-parse HEAD)$(git diff --quiet HEAD || echo ' (with uncommitted changes)')"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "c++: $(c++ --version | head -n 1)"
  echo "nvcc: $(nvcc --version | grep -o 'release [0-9.]*')"
  echo "needs glibc: $(objdump -T "$stage"/bin/* "$stage"/lib/* 2>/dev/null |
    grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1)"
  echo "needs libstdc++: $(objdump -T "$stage"/bin/* "$stage"/lib/* 2>/dev/null |
    grep -o 'GLIBCXX_[0-9.]*' | sort -uV | tail -n 1)"
  echo "CUDA libraries: $(ldd "$stage"/bin/* | awk '/=>/{print $1}' |
    grep -E '^lib(cu|nvJitLink|nvrtc)' | sort -u | tr '\n' ' ')"
} >"$stage/manifest.txt"

mkdir -p "$DEST"
tar -C "$stage" -czf "$DEST/bundle.tar.gz" .
cat "$stage/manifest.txt"
du -h "$DEST/bundle.tar.gz"
