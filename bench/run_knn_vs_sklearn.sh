#!/usr/bin/env bash
# Times mahal's k-NN search against scikit-learn's brute-force NearestNeighbors on the same data
# (bench/knn_vs_sklearn.py). Installs scikit-learn into the default python3 when it is missing.
#   bench/run_knn_vs_sklearn.sh [BUILD_DIR] [extra arguments of knn_vs_sklearn.py]
# THREADS (default 2) sets OMP_NUM_THREADS and OPENBLAS_NUM_THREADS for both sides;
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, when set, are passed through unchanged.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-${here}/../build}"
shift || true
threads="${THREADS:-2}"
driver="${build}/bench/mahal_knn_driver"
if [[ ! -x "${driver}" ]]; then
  echo "error: ${driver} not found; build first: cmake --build ${build} --target mahal_knn_driver" >&2
  exit 1
fi
if ! python3 -c "import sklearn, threadpoolctl" 2>/dev/null; then
  python3 -m pip install --quiet scikit-learn threadpoolctl
fi
export OMP_NUM_THREADS="${threads}" OPENBLAS_NUM_THREADS="${threads}"
exec python3 "${here}/knn_vs_sklearn.py" --driver "${driver}" --threads "${threads}" "$@"
