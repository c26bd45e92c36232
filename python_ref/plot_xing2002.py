#!/usr/bin/env python3
"""Draw results.json of `mahal reproduce-xing2002` in the manner of Xing et al. (NIPS 2002),
Figure 6: one panel per data set, two groups of six bars (little / much side information),
jet colours in the paper's order, ±1 s.e. error bars; the paper's bar heights as black ticks.

    python3 python_ref/plot_xing2002.py OUT/results.json OUT/figure6.png
"""
import json
import sys

METHODS = ["kmeans_euclidean", "kmeans_diag", "kmeans_full",
           "ckmeans_euclidean", "ckmeans_diag", "ckmeans_full"]
LABELS = ["K-means", "K-means + diagonal A", "K-means + full A",
          "constrained K-means", "c. K-means + diagonal A", "c. K-means + full A"]


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: plot_xing2002.py results.json figure6.png")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib import cm
    except ImportError:
        sys.exit("plot_xing2002.py: matplotlib is not installed")
    report = json.load(open(argv[1]))
    panels = {}
    for r in report["rows"]:
        panels.setdefault((r["dataset"], r["name"]), {})[(r["regime"], r["method"])] = r
    n = len(panels)
    cols = 3 if n > 2 else n
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    colours = [cm.jet(k / 5) for k in range(6)]
    width = 0.13
    for ax, ((key, name), cells) in zip(axes.flat, panels.items()):
        any_row = next(iter(cells.values()))
        for g, regime in enumerate(["little", "much"]):
            for m, method in enumerate(METHODS):
                r = cells.get((regime, method))
                if r is None:
                    continue
                x = g + (m - 2.5) * width
                ax.bar(x, r["mean"], width, yerr=r["stderr"] if r["trials"] > 1 else None,
                       color=colours[m], edgecolor="black", linewidth=0.3, capsize=1.5,
                       label=LABELS[m] if g == 0 else None)
                if r.get("paper_mean") is not None:
                    ax.plot([x - width / 2, x + width / 2], [r["paper_mean"]] * 2, color="black",
                            linewidth=1.2, label="paper" if (g, m) == (0, 0) else None)
        ax.set_xticks([0, 1])
        ax.set_xticklabels(["little side-info", "much side-info"], fontsize=8)
        ax.set_ylim(0, 1.1)
        ax.set_title("%s (N=%d)" % (name, any_row["n"]), fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(argv[2], dpi=120)


if __name__ == "__main__":
    main(sys.argv)
