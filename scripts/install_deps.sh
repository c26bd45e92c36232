#!/usr/bin/env bash
# Installs what mahal needs on Debian 12: the build toolchain, Eigen, OpenBLAS, doctest,
# Google Benchmark, CLI11 and nlohmann-json from Debian, numpy for python_ref/ and matplotlib for
# the reproduce-xing2002 figure from PyPI.
# Safe to run again: it skips what is already there.
set -euo pipefail

# OpenBLAS's OpenMP build: its GEMMs run on the library's OpenMP team (cmake/mahal_blas.cmake).
debian_packages=(build-essential cmake pkg-config libeigen3-dev libopenblas-openmp-dev
  liblapacke-dev doctest-dev libbenchmark-dev libcli11-dev nlohmann-json3-dev)
python_packages=(numpy matplotlib)

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install_deps: installing ${missing[*]}" >&2
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

for p in "${python_packages[@]}"; do
  python3 -c "import $p" 2>/dev/null || python3 -m pip install -q "$p"
done
