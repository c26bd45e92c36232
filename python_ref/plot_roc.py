"""Draws the ROC curve that `mahal verify --roc-out FILE` wrote (CSV far,tar,threshold or JSON)
as a PNG, TAR against FAR on a logarithmic FAR axis.

    python3 python_ref/plot_roc.py roc.csv [roc2.csv ...] --out roc.png [--title TEXT]

Several files give several curves (labelled by file name). Needs matplotlib; without it the
script says so and exits with status 0, so pipelines that draw figures optionally do not fail.
"""
import argparse
import csv
import json
import os
import sys


def read_roc(path):
    if path.endswith(".json"):
        with open(path) as f:
            j = json.load(f)
        return j["far"], j["tar"]
    far, tar = [], []
    with open(path) as f:
        for row in csv.DictReader(f):
            far.append(float(row["far"]))
            tar.append(float(row["tar"]))
    return far, tar


def main():
    p = argparse.ArgumentParser()
    p.add_argument("roc", nargs="+")
    p.add_argument("--out", required=True)
    p.add_argument("--title", default="ROC")
    a = p.parse_args()
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot_roc.py: matplotlib is not installed; no figure drawn", file=sys.stderr)
        return 0
    fig, ax = plt.subplots(figsize=(5, 4))
    for path in a.roc:
        far, tar = read_roc(path)
        # A log axis cannot show FAR = 0: start at the first positive FAR.
        pts = [(f, t) for f, t in zip(far, tar) if f > 0]
        ax.plot([f for f, _ in pts], [t for _, t in pts], label=os.path.basename(path))
    ax.set_xscale("log")
    ax.set_xlabel("false accept rate")
    ax.set_ylabel("true accept rate")
    ax.set_ylim(0, 1.01)
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(a.title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(a.out, dpi=120)
    print(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
