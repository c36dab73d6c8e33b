#!/usr/bin/env python3
# Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
#
# Writes the ML training benchmark's data: ROWS rows of FEATURES float
# features in [0, 10) with four decimals, and a binary label drawn from a
# logistic model of a few features. The CSV text is assembled from digit
# arrays with numpy, so a million rows take seconds, not minutes.
#
#   ml_bench_data.py OUT.csv [ROWS] [FEATURES] [SEED]
import sys

import numpy as np


def main():
    out = sys.argv[1]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    features = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    rng = np.random.default_rng(seed)

    # Fixed-point values 0.0000 .. 9.9999, so the text is exact.
    ticks = rng.integers(0, 100_000, size=(rows, features), dtype=np.int64)
    x = ticks / 10_000.0
    weights = rng.normal(size=features) * (rng.random(features) < 0.3)
    logits = (x - 5.0) @ weights * 0.5 + rng.normal(size=rows)
    labels = (logits > 0).astype(np.uint8)

    # Each field is "d.dddd," (7 bytes); the row ends with "label\n".
    cells = np.empty((rows, features, 7), dtype=np.uint8)
    cells[:, :, 0] = ticks // 10_000 + 48
    cells[:, :, 1] = ord(".")
    for k in range(4):
        cells[:, :, 2 + k] = ticks // 10 ** (3 - k) % 10 + 48
    cells[:, :, 6] = ord(",")
    tail = np.empty((rows, 2), dtype=np.uint8)
    tail[:, 0] = labels + 48
    tail[:, 1] = ord("\n")
    body = np.concatenate([cells.reshape(rows, -1), tail], axis=1)

    header = ",".join([f"f{i}" for i in range(features)] + ["label"])
    with open(out, "wb") as f:
        f.write((header + "\n").encode())
        f.write(body.tobytes())


if __name__ == "__main__":
    main()
