#!/bin/sh
# One-shot verification on digits: learn the embedding on classes 0–4 only, enrol each of the
# unseen classes 5–9 with ONE training sample, and verify every test sample of classes 5–9
# against every enrolled class (mahal verify's protocol: genuine = own class, impostor = the 4
# others; score = distance to the enrolled sample). The Euclidean metric on the z-scored features
# is the baseline. Repeated for DRAWS different choices of the enrolled samples; one JSON line per
# (algorithm, draw).
#
#   bench/oneshot_digits.sh [DRAWS] [STEPS]
#
# Environment: MAHAL (default build/apps/mahal), PY (a python with scikit-learn, default python3),
# ROC_DIR (if set, the ROC points of draw 0 are written there as <algo>.csv), ALGOS (the models,
# default "euclidean siamese triplet lmnn"; any `mahal fit --algo` name, or euclidean for none).
set -eu
DRAWS=${1:-5}
STEPS=${2:-2000}
MAHAL=${MAHAL:-build/apps/mahal}
PY=${PY:-python3}
HERE=$(dirname "$0")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

"$PY" "$HERE/make_digits_csv.py" "$TMP"
# base.csv: training samples of classes 0–4; probes.csv: test samples of 5–9;
# gallery_<s>.csv: one training sample of each class 5–9, drawn with seed s.
"$PY" - "$TMP" "$DRAWS" <<'PY'
import sys
import numpy as np
tmp, draws = sys.argv[1], int(sys.argv[2])
def read(p):
    with open(p) as f:
        header = f.readline()
    return header, np.loadtxt(p, delimiter=",", skiprows=1)
h, tr = read(f"{tmp}/digits_train.csv")
_, te = read(f"{tmp}/digits_test.csv")
def write(p, rows):
    np.savetxt(p, rows, delimiter=",", header=h.strip(), comments="", fmt="%.17g")
write(f"{tmp}/base.csv", tr[tr[:, 0] <= 4])
write(f"{tmp}/probes.csv", te[te[:, 0] >= 5])
for s in range(draws):
    rng = np.random.default_rng(s)
    rows = [tr[rng.choice(np.flatnonzero(tr[:, 0] == c))] for c in range(5, 10)]
    write(f"{tmp}/gallery_{s}.csv", np.array(rows))
PY

for ALGO in ${ALGOS:-euclidean siamese triplet lmnn}; do
  MODEL=""
  if [ "$ALGO" != euclidean ]; then
    STEPS_OPTION=""
    case "$ALGO" in
      lmnn | mmc*) ;;
      *) STEPS_OPTION="--steps $STEPS" ;;
    esac
    # shellcheck disable=SC2086
    "$MAHAL" fit --algo "$ALGO" --train "$TMP/base.csv" $STEPS_OPTION \
      --out "$TMP/$ALGO.mahal" --json --quiet > /dev/null
    MODEL="--model $TMP/$ALGO.mahal"
  fi
  s=0
  while [ "$s" -lt "$DRAWS" ]; do
    ROC=""
    if [ "$s" -eq 0 ] && [ -n "${ROC_DIR:-}" ]; then ROC="--roc-out $ROC_DIR/$ALGO.csv"; fi
    # shellcheck disable=SC2086
    "$MAHAL" verify $MODEL --gallery "$TMP/gallery_$s.csv" \
      --probes "$TMP/probes.csv" --far 0.01 $ROC --json |
      "$PY" -c "import json,sys; r=json.load(sys.stdin); print(json.dumps({'algo':'$ALGO','draw':$s,**{k:r[k] for k in ('auc','eer','tar_at_far','far','accuracy','kfold_accuracy','identification_accuracy','genuine_trials','impostor_trials')}}))"
    s=$((s + 1))
  done
done
