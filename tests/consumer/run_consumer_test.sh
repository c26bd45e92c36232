#!/usr/bin/env bash
# Installs the built mahal into a temporary prefix, builds examples/quickstart.cpp (the README's
# example), examples/verify_identity.cpp and examples/cluster_side_information.cpp as an outside
# project with find_package(mahal), and runs them on iris and wine when available.
# It is built with mahal's own C++ compiler (a static libmahal carries that compiler's OpenMP
# runtime).
#   run_consumer_test.sh BUILD_DIR SOURCE_DIR DATA_DIR [CXX]
set -euo pipefail
build=$1 source=$2 data=$3 cxx=${4:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$source/tests/consumer" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
      -DEXAMPLES="$source/examples" -DCMAKE_BUILD_TYPE=Release \
      ${cxx:+-DCMAKE_CXX_COMPILER="$cxx"} >/dev/null
cmake --build "$work/build" -j2 >/dev/null
# The README shows this very file: check that they have not drifted apart.
python3 - "$source/README.md" "$source/examples/quickstart.cpp" <<'PY'
import sys
readme, example = open(sys.argv[1]).read(), open(sys.argv[2]).read()
if example.strip() not in readme:
    sys.exit("README.md does not contain examples/quickstart.cpp verbatim")
PY
if [ -f "$data/iris.csv" ]; then
  out=$("$work/build/quickstart" "$data/iris.csv")
  echo "$out"
  echo "$out" | grep -q "full metric: leave-one-out 3-NN accuracy 0.9"
else
  echo "no iris.csv in $data: quickstart built but not run"
fi
if [ -f "$data/wine.csv" ]; then
  out=$("$work/build/verify_identity" "$data/wine.csv")
  echo "$out"
  # A metric that separates wine's classes: AUC above 0.9, and the first probe's own class is
  # the one claim accepted among the three.
  echo "$out" | grep -q "AUC 0\.9"
  [ "$(echo "$out" | grep -c ': yes')" -eq 1 ]
  own=$(echo "$out" | sed -n 's/^probe 0 (class \([0-9]*\)).*/\1/p' | head -n 1)
  echo "$out" | grep -q "claims class $own: yes"
else
  echo "no wine.csv in $data: verify_identity built but not run"
fi
if [ -f "$data/wine.csv" ]; then
  out=$("$work/build/cluster_side_information" "$data/wine.csv")
  echo "$out"
  # Xing et al.'s claim on wine's raw features: constrained K-means under the metric learned
  # from the pairs beats plain K-means in the Euclidean metric.
  python3 - "$out" <<'PY'
import re, sys
acc = {m[0]: (float(m[1]), float(m[2])) for m in
       re.findall(r"^(.*): K-means accuracy ([0-9.]+), constrained K-means accuracy ([0-9.]+)$",
                  sys.argv[1], re.M)}
euclid, learned = acc["Euclidean"][0], acc["learned A"][1]
if not learned > euclid + 0.05:
    sys.exit(f"learned-metric constrained K-means {learned} does not beat Euclidean {euclid}")
PY
fi
echo "1 passed, 0 failed"
