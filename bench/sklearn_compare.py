"""Reference for bench/forest.ts: scikit-learn's RandomForestRegressor on the exported features.

Usage (throwaway venv, not the project one):
  python3 -m venv /tmp/skvenv && /tmp/skvenv/bin/pip install scikit-learn
  node dist/bench/forest.js            # writes /tmp/retailflow-forest/{train,test}.csv
  /tmp/skvenv/bin/python bench/sklearn_compare.py [--dir /tmp/retailflow-forest] [--min-samples-leaf 1] [--max-depth N]
Prints training time and holdout MSE/MAE/R2; writes nothing.
"""
import argparse
import pickle
import time

import numpy as np
import sklearn
from sklearn.ensemble import RandomForestRegressor
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score


def load(path):
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    with open(path) as f:
        names = f.readline().strip().split(",")
    return data[:, :-1], data[:, -1], names[:-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/tmp/retailflow-forest")
    ap.add_argument("--min-samples-leaf", type=int, default=1)
    ap.add_argument("--max-depth", type=int, default=None)
    ap.add_argument("--n-estimators", type=int, default=100)
    args = ap.parse_args()
    Xtr, ytr, names = load(f"{args.dir}/train.csv")
    Xte, yte, _ = load(f"{args.dir}/test.csv")
    print(f"scikit-learn {sklearn.__version__}; train {len(ytr)}, test {len(yte)}; features {', '.join(names)}")
    model = RandomForestRegressor(
        n_estimators=args.n_estimators,
        random_state=0,
        n_jobs=-1,
        min_samples_leaf=args.min_samples_leaf,
        max_depth=args.max_depth,
    )
    t0 = time.perf_counter()
    model.fit(Xtr, ytr)
    secs = time.perf_counter() - t0
    pred = model.predict(Xte)
    nodes = sum(e.tree_.node_count for e in model.estimators_)
    size = len(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
    print(f"params: n_estimators={args.n_estimators} min_samples_leaf={args.min_samples_leaf} max_depth={args.max_depth}")
    print(f"training wall time: {secs:.2f} s, {nodes} nodes, pickle {size / 2**20:.2f} MB")
    print(
        f"sklearn (holdout)          MSE {mean_squared_error(yte, pred):14.1f}  MAE {mean_absolute_error(yte, pred):9.2f}  R2 {r2_score(yte, pred):.4f}"
    )
    one = Xte[:1]
    t0 = time.perf_counter()
    for _ in range(200):
        model.predict(one)
    print(f"predict one row: {(time.perf_counter() - t0) / 200 * 1e6:.0f} µs (mean of 200)")


if __name__ == "__main__":
    main()
