#!/usr/bin/env python3
# Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
#
# The peer side of bench/ml_train_bench.sh: Debian's python3-xgboost on the
# same CSV with the same parameters as `lockstep ml train`. Prints one JSON
# object: the CSV load time and each repetition's training time (DMatrix
# construction plus xgb.train, the work `lockstep ml train` times as
# "train"), and the model's sha256 per repetition.
#
#   ml_train_peer.py DATA.csv REPS NTHREAD
import hashlib
import json
import sys
import time

import numpy as np
import xgboost as xgb


def main():
    path, reps, nthread = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    start = time.perf_counter()
    table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64)
    load_seconds = time.perf_counter() - start
    x, y = table[:, :-1], table[:, -1]

    params = {"objective": "binary:logistic", "tree_method": "hist",
              "max_depth": 6, "learning_rate": 0.3, "seed": 0,
              "nthread": nthread}
    train_seconds, digests = [], []
    for _ in range(reps):
        start = time.perf_counter()
        dtrain = xgb.DMatrix(x, label=y, nthread=nthread)
        booster = xgb.train(params, dtrain, num_boost_round=100)
        train_seconds.append(time.perf_counter() - start)
        digests.append(hashlib.sha256(booster.save_raw("json")).hexdigest())
    print(json.dumps({"load_seconds": load_seconds,
                      "train_seconds": train_seconds,
                      "model_sha256": digests}))


if __name__ == "__main__":
    main()
