#!/usr/bin/env bash
# Installs the built mahal into a temporary prefix, builds examples/quickstart.cpp (the README's
# example) as an outside project with find_package(mahal), and runs it on iris when available.
# It is built with mahal's own C++ compiler (a static libmahal carries that compiler's OpenMP
# runtime).
#   run_consumer_test.sh BUILD_DIR SOURCE_DIR DATA_DIR [CXX]
set -euo pipefail
build=$1 source=$2 data=$3 cxx=${4:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$source/tests/consumer" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
      -DQUICKSTART_SOURCE="$source/examples/quickstart.cpp" -DCMAKE_BUILD_TYPE=Release \
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
  echo "no iris.csv in $data: built but not run"
fi
echo "1 passed, 0 failed"
