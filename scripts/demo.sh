#!/usr/bin/env bash
# A short demo of every solver on the UCI data sets (used by run_main.sh).
#   scripts/demo.sh MAHAL DATA_DIR OUT_DIR
set -euo pipefail
mahal=$1 data=$2 out=$3
split() {  # first 70% of rows (after the header) as train, the rest as test, class-interleaved
  python3 - "$1" "$2" "$3" <<'PY'
import sys, random
src, train, test = sys.argv[1:]
lines = open(src).read().splitlines()
header, rows = lines[0], lines[1:]
random.Random(0).shuffle(rows)
cut = int(0.7 * len(rows))
open(train, "w").write("\n".join([header] + rows[:cut]) + "\n")
open(test, "w").write("\n".join([header] + rows[cut:]) + "\n")
PY
}
for name in wine iris; do
  split "$data/$name.csv" "$out/${name}_train.csv" "$out/${name}_test.csv"
  echo "== k-NN (k = 3, Euclidean, standardised) on $name" >&2
  $mahal knn --train "$out/${name}_train.csv" --test "$out/${name}_test.csv" --k 3 --standardize
done
