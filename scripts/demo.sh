#!/usr/bin/env bash
# A short demo of every solver (run by run_main.sh after the NIPS 2002 reproduction): each fits
# wine (seeded 70/30 split) and reports k-NN test accuracy in the learned space.
#   scripts/demo.sh MAHAL DATA_DIR OUT_DIR
set -euo pipefail
mahal=$1 data=$2 out=$3

# A seeded, class-interleaved 70/30 split of wine for the solver demo.
python3 - "$data/wine.csv" "$out/wine_train.csv" "$out/wine_test.csv" <<'PY'
import sys, random
src, train, test = sys.argv[1:]
lines = open(src).read().splitlines()
header, rows = lines[0], lines[1:]
random.Random(0).shuffle(rows)
cut = int(0.7 * len(rows))
open(train, "w").write("\n".join([header] + rows[:cut]) + "\n")
open(test, "w").write("\n".join([header] + rows[cut:]) + "\n")
PY
train=$out/wine_train.csv test=$out/wine_test.csv

echo "== k-NN, Euclidean (standardised)" >&2
"$mahal" knn --train "$train" --test "$test" --k 3 --standardize
for algo in mmc mmc-diag mmc-l lmnn siamese triplet triplet-semi-hard softmax-center; do
  echo "== fit --algo $algo" >&2
  "$mahal" fit --algo "$algo" --train "$train" --test "$test" --out "$out/wine_$algo.mahal" --quiet
done
echo "== verify: wine test samples against the training classes, LMNN metric" >&2
"$mahal" verify --model "$out/wine_lmnn.mahal" --gallery "$train" --probes "$test"
# Claims to decide: every test sample once under its own class and once under the next one.
python3 - "$test" "$out/wine_claims.csv" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
rows = [r.split(",", 1) for r in lines[1:]]
forged = [[str((int(label) + 1) % 3), rest] for label, rest in rows]
open(sys.argv[2], "w").write("\n".join([lines[0]] + [",".join(r) for r in rows + forged]) + "\n")
PY
echo "== verify: yes/no for $(($(wc -l < "$out/wine_claims.csv") - 1)) claims (half forged) at the EER threshold" >&2
"$mahal" verify --model "$out/wine_lmnn.mahal" --gallery "$train" --probes "$test" \
  --claims "$out/wine_claims.csv" --threshold eer --decisions-out "$out/wine_decisions.csv"
echo "== cluster: wine test samples, constrained K-means with a little side information" >&2
"$mahal" cluster --data "$test" --standardize --side-information little --quiet
echo "== cluster: the same under the MMC metric learned on the training part" >&2
"$mahal" cluster --data "$test" --model "$out/wine_mmc.mahal" --side-information little --quiet
