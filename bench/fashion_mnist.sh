#!/usr/bin/env bash
# The scale case: Fashion-MNIST (Debian's dataset-fashion-mnist: 60000 training and 10000 test
# images of 28×28 = 784 pixels, 10 classes), projected onto the first P principal components of
# the training images (default 128). Runs, with the command-line program, in one go on the same
# split: the Euclidean 3-NN, LMNN (--impostors K, default 3: the paper's margin ball holds
# billions of pairs at this n), and the Siamese and triplet networks (default 2000 steps),
# each with its 3-NN test accuracy (training set as gallery) and time. Prints one JSON object
# per run and a Markdown table.
#   bench/fashion_mnist.sh [BUILD_DIR] [COMPONENTS] [IMPOSTORS] [STEPS]
# Installs the Debian package when it is missing (as root or with sudo); THREADS (default: all
# cores) sets OMP_NUM_THREADS and OPENBLAS_NUM_THREADS.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-$here/../build}"
components="${2:-128}"
impostors="${3:-3}"
steps="${4:-2000}"
mahal="$build/apps/mahal"
images=/usr/share/datasets/fashion-mnist
threads="${THREADS:-$(nproc)}"
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads

if [ ! -f "$images/train-images-idx3-ubyte.gz" ]; then
  sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist \
    >/dev/null
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== reading the IDX files, principal components of the training images ($components)" >&2
python3 "$here/fashion_mnist_pca.py" "$images" "$components" "$tmp"
train=$tmp/train.csv test=$tmp/test.csv

run() {  # name, then the mahal arguments; one JSON line with the name and the wall time
  local name=$1
  shift
  echo "== $name" >&2
  local start end
  start=$(date +%s.%N)
  "$mahal" "$@" --json >"$tmp/out.json"
  end=$(date +%s.%N)
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); r['run']=sys.argv[2]; \
r['wall_seconds']=float(sys.argv[4])-float(sys.argv[3]); print(json.dumps(r))" \
    "$tmp/out.json" "$name" "$start" "$end" | tee -a "$tmp/runs.jsonl"
}
run euclidean knn --train "$train" --test "$test" --k 3
run lmnn fit --algo lmnn --train "$train" --test "$test" --no-standardize --impostors "$impostors"
run siamese fit --algo siamese --train "$train" --test "$test" --no-standardize --steps "$steps"
run triplet fit --algo triplet --train "$train" --test "$test" --no-standardize --steps "$steps"

python3 - "$tmp/runs.jsonl" "$components" "$threads" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print(f"\nFashion-MNIST, {sys.argv[2]} principal components, {sys.argv[3]} thread(s)\n")
print("| run | 3-NN test accuracy | train s | iterations / steps | status | throughput |")
print("|---|---|---|---|---|---|")
for r in rows:
    speed = r.get("pairs_per_second") or r.get("triplets_per_second")
    print(f"| {r['run']} | {r['test_accuracy']:.4f} | {r.get('train_seconds', 0):.1f} | "
          f"{r.get('iterations', r.get('steps', '—'))} | {r.get('status', '—')} | "
          f"{f'{speed:.0f} / s' if speed else '—'} |")
PY
