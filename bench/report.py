#!/usr/bin/env python3
"""Markdown tables from a mahal_bench_engine JSON file (--benchmark_out_format=json).

For every engine benchmark (pair scatter, all-pairs, k-NN) and size (n, d): the wall time, the
FLOP rate, and that rate as a percentage of (a) raw DGEMM of the engine's own GEMM shape for that
size (BM_dgemm_cpu/sqdist_block for all-pairs and k-NN, BM_dgemm_cpu/scatter for the scatter) and
(b) the square 1024³ DGEMM, both measured in the same run. Each benchmark's repetitions are
reduced to the best (shortest wall time, the least disturbed by other load on the machine; rates
and percentages are taken there) and the median.

  python3 bench/report.py bench_engine.json
"""

import json
import re
import sys


def load(path):
    """{name: (best time s, rate at best, median time s, repetitions)} over the repetitions."""
    with open(path) as f:
        data = json.load(f)
    runs = {}
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate":
            continue
        name = re.sub(r"/real_time$", "", b["run_name"])
        unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
        runs.setdefault(name, []).append((b["real_time"] * unit, b.get("FLOP/s", float("nan"))))
    rows = {}
    for name, reps in runs.items():
        reps.sort()
        rows[name] = (reps[0][0], reps[0][1], reps[len(reps) // 2][0], len(reps))
    return data["context"], rows


def main():
    context, rows = load(sys.argv[1])
    print(f"Context: {context.get('date')}, {context.get('num_cpus')} CPUs at "
          f"{context.get('mhz_per_cpu')} MHz, load average at start "
          f"{context.get('load_average_at_start')}, backend {context.get('mahal_cpu_backend')}, "
          f"CUDA devices {context.get('cuda_devices')}")
    square = rows.get("BM_dgemm_cpu/square/m:1024/n:1024/k:1024")
    if square:
        print(f"\nDGEMM 1024³: best {square[0] * 1e3:.1f} ms ({square[1] / 1e9:.2f} GFLOP/s), "
              f"median {square[2] * 1e3:.1f} ms, {square[3]} repetitions\n")
    sq_rate = square[1] if square else float("nan")
    for device in ["cpu", "cuda"]:
        for what, shape in [("pair_scatter", "scatter"), ("all_pairs", "sqdist_block"),
                            ("knn", "sqdist_block")]:
            keys = [k for k in rows if k.startswith(f"BM_{what}_{device}/")]
            if not keys:
                continue
            print(f"BM_{what}_{device}:\n")
            print("| n | d | best (ms) | median (ms) | GFLOP/s at best | DGEMM same shape "
                  "(GFLOP/s) | % of same shape | % of DGEMM 1024³ |")
            print("|---|---|---|---|---|---|---|---|")
            for key in sorted(keys, key=lambda k: tuple(int(v) for v in re.findall(r":(\d+)", k))):
                n, d = re.findall(r":(\d+)", key)
                t, rate, median, _ = rows[key]
                ref = rows.get(f"BM_dgemm_cpu/{shape}/n:{n}/d:{d}", (float("nan"),) * 2)[1]
                print(f"| {n} | {d} | {t * 1e3:.1f} | {median * 1e3:.1f} | {rate / 1e9:.2f} | "
                      f"{ref / 1e9:.2f} | "
                      f"{100 * rate / ref:.0f}% | {100 * rate / sq_rate:.0f}% |")
            print()


if __name__ == "__main__":
    main()
