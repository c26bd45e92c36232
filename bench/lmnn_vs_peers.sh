#!/usr/bin/env bash
# LMNN against pylmnn, metric-learn and mlpack on digits and letters, 1 and 2 threads.
#
#   bench/lmnn_vs_peers.sh [--with-slow-peers] [more lmnn_vs_peers.py options]
#
# Environment: PEERS_VENV (default /tmp/lmnn_peers_venv) is created on first use with
#   pip install "scikit-learn<1.6" pylmnn metric-learn mlpack
# (metric-learn 0.7 needs scikit-learn < 1.6); MAHAL_DATA (default ../shared/datasets)
# holds letters.csv; BUILD (default build) holds bench/mahal_lmnn_driver.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
venv="${PEERS_VENV:-/tmp/lmnn_peers_venv}"
data="${MAHAL_DATA:-$root/../shared/datasets}"
build="${BUILD:-$root/build}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv --system-site-packages "$venv"
  "$venv/bin/pip" install "scikit-learn<1.6" pylmnn metric-learn mlpack
fi
digits="$(mktemp -d)"
trap 'rm -rf "$digits"' EXIT
"$venv/bin/python" "$here/make_digits_csv.py" "$digits"
"$venv/bin/python" "$here/lmnn_vs_peers.py" --bench "$build/bench/mahal_lmnn_driver" \
  --datasets "$data" --digits-dir "$digits" "$@"
