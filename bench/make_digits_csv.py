"""Writes scikit-learn's digits as train/test CSVs (label first, header line): stratified 70/30
split, seed 0. Standardisation is done by the benchmark with the training statistics.

    python3 bench/make_digits_csv.py OUT_DIR
"""
import os
import sys

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


def main(out):
    os.makedirs(out, exist_ok=True)
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    header = "label," + ",".join(f"p{t}" for t in range(X.shape[1]))
    for name, A, b in (("train", Xtr, ytr), ("test", Xte, yte)):
        np.savetxt(f"{out}/digits_{name}.csv", np.column_stack([b, A]), delimiter=",",
                   header=header, comments="", fmt="%.17g")


if __name__ == "__main__":
    main(sys.argv[1])
