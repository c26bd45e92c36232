#!/bin/sh
# Side-by-side Siamese / triplet benchmark: mahal (build/apps/mahal) against PyTorch on the CPU,
# the same network, batch, steps and thread count, on scikit-learn's digits (z-scored with the
# training statistics, stratified 70/30 split, seed 0). Quality comes from one evaluator
# (bench/siamese_quality.py) for both.
#
#   bench/siamese_vs_torch.sh [THREADS] [STEPS] [BATCH]
#
# Environment: MAHAL (the mahal binary, default build/apps/mahal), PY_SPLIT (a python with
# scikit-learn, default python3), PY_TORCH (a python with torch, default /usr/bin/python3).
# The split and the embeddings go to a temporary folder outside the repository.
set -eu
THREADS=${1:-1}
STEPS=${2:-2000}
BATCH=${3:-256}
MAHAL=${MAHAL:-build/apps/mahal}
PY_SPLIT=${PY_SPLIT:-python3}
PY_TORCH=${PY_TORCH:-/usr/bin/python3}
HERE=$(dirname "$0")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS

"$PY_SPLIT" "$HERE/make_digits_csv.py" "$TMP"
for ALGO in siamese triplet; do
  "$MAHAL" fit --algo "$ALGO" --train "$TMP/digits_train.csv" --steps "$STEPS" --batch "$BATCH" \
    --out "$TMP/$ALGO.mahal" --json --quiet > "$TMP/fit.json"
  "$MAHAL" transform --model "$TMP/$ALGO.mahal" --input "$TMP/digits_train.csv" \
    --output "$TMP/etr.csv" --json > /dev/null
  "$MAHAL" transform --model "$TMP/$ALGO.mahal" --input "$TMP/digits_test.csv" \
    --output "$TMP/ete.csv" --json > /dev/null
  "$PY_SPLIT" "$HERE/siamese_quality.py" "$TMP/etr.csv" "$TMP/ete.csv" > "$TMP/q.json"
  "$PY_SPLIT" - "$TMP/fit.json" "$TMP/q.json" "$THREADS" <<'PY'
import json, sys
fit, q = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
rate = fit.get("pairs_per_second", fit.get("triplets_per_second"))
out = {"impl": "mahal", "algo": fit["algo"], "threads": int(sys.argv[3]), "steps": fit["steps"],
       "batch": fit["batch"], "train_seconds": fit["loop_seconds"],
       "train_cpu_seconds": fit.get("train_cpu_seconds"), "items_per_second": rate,
       "final_loss": fit["final_loss"]}
out.update(q)
print(json.dumps(out))
PY
  "$PY_TORCH" "$HERE/siamese_vs_torch.py" --train "$TMP/digits_train.csv" \
    --test "$TMP/digits_test.csv" --algo "$ALGO" --steps "$STEPS" --batch "$BATCH" \
    --threads "$THREADS"
done
