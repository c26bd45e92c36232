#!/usr/bin/env bash
# The main job on a fresh machine: installs the dependencies, builds, and runs
#   1. mahal info (version, BLAS, CUDA devices),
#   2. the reproduction of Xing et al. (NIPS 2002), Figure 6, when it is available,
#   3. a short demo of every solver on the UCI data sets.
#   scripts/run_main.sh [--data-dir DIR] [--out DIR]
# The data sets are read from DIR (default: ../shared/datasets beside the repository, or
# $MAHAL_DATA_DIR); README.md says where to get them.
set -euo pipefail
cd "$(dirname "$0")/.."
data_dir=${MAHAL_DATA_DIR:-../shared/datasets}
out_dir=out
while [ $# -gt 0 ]; do
  case "$1" in
    --data-dir) data_dir=$2; shift 2 ;;
    --out) out_dir=$2; shift 2 ;;
    *) echo "run_main.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -d "$data_dir" ] || { echo "run_main.sh: data folder '$data_dir' not found (see README.md)" >&2; exit 1; }
scripts/install_deps.sh
scripts/build.sh
mkdir -p "$out_dir"
mahal=build/apps/mahal
echo "== mahal info" >&2
$mahal info
echo "== mahal reproduce-xing2002 (the main job: Xing et al. 2002, Figure 6)" >&2
$mahal reproduce-xing2002 --data-dir "$data_dir" --out "$out_dir/xing2002"
scripts/demo.sh "$mahal" "$data_dir" "$out_dir"
