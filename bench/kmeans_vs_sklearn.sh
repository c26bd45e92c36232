#!/usr/bin/env bash
# K-means, mahal against scikit-learn (bench/kmeans_vs_sklearn.py), on the same data and threads.
# Installs scikit-learn and threadpoolctl into the default python3 when they are missing.
#   bench/kmeans_vs_sklearn.sh [BUILD_DIR] [extra arguments of kmeans_vs_sklearn.py]
# THREADS (default 1) is the thread count of both sides; MAHAL_DATA the folder of letters.csv.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-${here}/../build}"
shift || true
mahal="${build}/apps/mahal"
[[ -x "${mahal}" ]] || { echo "error: ${mahal} not found; build first" >&2; exit 1; }
if ! python3 -c "import sklearn, threadpoolctl" 2>/dev/null; then
  python3 -m pip install --quiet scikit-learn threadpoolctl
fi
exec python3 "${here}/kmeans_vs_sklearn.py" --mahal "${mahal}" \
  --data-dir "${MAHAL_DATA:-${here}/../../shared/datasets}" --threads "${THREADS:-1}" "$@"
