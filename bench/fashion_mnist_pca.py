"""Fashion-MNIST from its IDX files to labelled CSVs (label, then the features) for mahal:
the pixels scaled to [0, 1], centred with the training mean and projected onto the first P
principal components of the training images (the test images with the same mean and basis).

    python3 bench/fashion_mnist_pca.py IDX_DIR P OUT_DIR   # writes OUT_DIR/train.csv, test.csv
"""
import gzip
import os
import struct
import sys

import numpy as np


def read_idx(path):
    """An IDX file (LeCun's MNIST format, gzipped or not) as a numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, kind, dims = struct.unpack(">HBB", data[:4])
    if zero != 0 or kind != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path}: {body.size} values for the shape {shape}")
    return body.reshape(shape)


def load(directory, part):
    images = read_idx(os.path.join(directory, f"{part}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(directory, f"{part}-labels-idx1-ubyte.gz"))
    return images.reshape(len(images), -1).astype(np.float64) / 255.0, labels.astype(np.int64)


def write(path, X, y):
    header = "label," + ",".join(f"pc{i + 1}" for i in range(X.shape[1]))
    table = np.column_stack([y, X])
    np.savetxt(path, table, delimiter=",", header=header, comments="",
               fmt=["%d"] + ["%.7g"] * X.shape[1])


def main():
    directory, components, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    Xtr, ytr = load(directory, "train")
    Xte, yte = load(directory, "t10k")
    mean = Xtr.mean(0)
    # The principal axes: eigenvectors of the 784×784 scatter, largest first.
    centred = Xtr - mean
    values, vectors = np.linalg.eigh(centred.T @ centred)
    basis = vectors[:, ::-1][:, :components]
    kept = values[::-1][:components].sum() / values.sum()
    print(f"{components} components keep {kept:.3f} of the variance", file=sys.stderr)
    write(os.path.join(out, "train.csv"), centred @ basis, ytr)
    write(os.path.join(out, "test.csv"), (Xte - mean) @ basis, yte)


if __name__ == "__main__":
    main()
