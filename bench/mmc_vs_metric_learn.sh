#!/usr/bin/env bash
# MMC vs metric-learn 0.7.0 on the same pairs. metric-learn 0.7 needs scikit-learn < 1.6 (it
# breaks with >= 1.8), so both go into a private venv (default under /tmp) and the system
# python's packages are left alone.
#   bench/mmc_vs_metric_learn.sh [BUILD_DIR] [DATA_DIR] [extra args for the .py]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
data="${2:-$here/../../shared/datasets}"
shift $(( $# > 2 ? 2 : $# )) || true
venv="${MAHAL_ML_VENV:-${TMPDIR:-/tmp}/mahal-metric-learn-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv --system-site-packages "$venv"
fi
# The venv sees the system site-packages, so check the version, not just the import.
"$venv/bin/python" -c "import metric_learn, sklearn
assert tuple(int(v) for v in sklearn.__version__.split('.')[:2]) < (1, 6)" 2>/dev/null ||
  "$venv/bin/pip" install -q "metric-learn==0.7.0" "scikit-learn<1.6"
"$venv/bin/python" "$here/mmc_vs_metric_learn.py" --driver "$build/bench/mahal_mmc_pairs_driver" \
  --data-dir "$data" "$@"
