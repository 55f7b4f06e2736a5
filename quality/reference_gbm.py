"""The synthetic benchmark's reference: scikit-learn gradient boosting on
the rows and inputs duewise's behaviour model saw (package quality,
gbm.go; docs/benchmarks.md).

Usage: python3 reference_gbm.py SPEC.json ROWS.csv PREDICTIONS.csv

SPEC.json: {"seed": N, "horizon_days": 90, "inputs": [{"name": ...,
"type": "numeric"|"categorical", "direction": 1|-1|0}, ...]}.
ROWS.csv: a header "split,label,<input names in SPEC's order>", then one
line a row: split is train or valid (both fitted: duewise trains on the
first and stops early on the second), test (scored,
and in the AUC when labelled) or score (scored only); label is 1 (behind
within the horizon), 0 (not behind) or empty (not known: not fitted, not
in the AUC); an empty input is NULL (missing).

Fits HistGradientBoostingClassifier twice, with monotonic_cst from the
declared directions (constrained) and without (free), on the train and
valid rows with scikit-learn's own early stopping (a random 10% held
out, 10 trees without improvement, at most 1,000 trees). Writes the predictions of every
test and score row (columns constrained, free, in the order of ROWS.csv)
and prints one JSON object: the test AUC of each fit, its trees, the row
counts and the scikit-learn version. Exits 3 when scikit-learn is missing.
"""

import csv
import json
import math
import sys
import time

try:
    import numpy as np
    import sklearn
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
except ImportError as e:  # reported by the caller as "not computed"
    print(f"reference_gbm: {e} (Debian: apt-get install python3-sklearn)", file=sys.stderr)
    sys.exit(3)

MAX_TREES = 1000
MAX_CATEGORIES = 250  # HistGradientBoosting takes codes below max_bins (255)


def read(spec, path):
    """Returns split (array of str), label (float, NaN = unknown), X."""
    inputs = spec["inputs"]
    cats = [i for i, f in enumerate(inputs) if f["type"] == "categorical"]
    with open(path, newline="") as fh:
        r = csv.reader(fh)
        head = next(r)
        want = ["split", "label"] + [f["name"] for f in inputs]
        if head != want:
            raise SystemExit(f"reference_gbm: {path}:1: header {head}, want {want}")
        split, label, raw = [], [], []
        for line, row in enumerate(r, start=2):
            if len(row) != len(want):
                raise SystemExit(f"reference_gbm: {path}:{line}: {len(row)} fields, want {len(want)}")
            split.append(row[0])
            label.append(float(row[1]) if row[1] != "" else math.nan)
            raw.append(row[2:])
    split = np.array(split)
    X = np.full((len(raw), len(inputs)), np.nan)
    num = [i for i in range(len(inputs)) if i not in cats]
    for k, row in enumerate(raw):
        for i in num:
            if row[i] != "":
                X[k, i] = float(row[i])
    fit = split == "train"
    for i in cats:  # codes by frequency in the fitted rows; others missing
        counts = {}
        for k in np.flatnonzero(fit):
            v = raw[k][i]
            if v != "":
                counts[v] = counts.get(v, 0) + 1
        codes = {v: c for c, v in enumerate(sorted(counts, key=lambda v: (-counts[v], v))[:MAX_CATEGORIES])}
        for k, row in enumerate(raw):
            c = codes.get(row[i])
            if c is not None:
                X[k, i] = c
    return split, np.array(label), X


def fit(X, y, cat, cst, seed):
    """Fits with scikit-learn's own early stopping: a random 10% of the rows
    held out, stopped after 10 trees without a better log-loss on them, at
    most MAX_TREES trees (one fit: linear in the trees)."""
    m = HistGradientBoostingClassifier(max_iter=MAX_TREES, early_stopping=True, validation_fraction=0.1,
                                       n_iter_no_change=10, categorical_features=cat, monotonic_cst=cst,
                                       random_state=seed)
    m.fit(X, y)
    return m


def main(argv):
    if len(argv) != 4:
        raise SystemExit("usage: reference_gbm.py SPEC.json ROWS.csv PREDICTIONS.csv")
    with open(argv[1]) as fh:
        spec = json.load(fh)
    split, label, X = read(spec, argv[2])
    inputs, seed = spec["inputs"], int(spec["seed"])
    known = ~np.isnan(label)
    tr, va = (split == "train") & known, (split == "valid") & known
    te, out = (split == "test") & known, (split == "test") | (split == "score")
    if tr.sum() == 0 or va.sum() == 0 or len(set(label[tr])) < 2 or len(set(label[te])) < 2:
        raise SystemExit(f"reference_gbm: {tr.sum()} labelled train rows, {va.sum()} valid rows, "
                         f"{te.sum()} labelled test rows: need both classes in train and test")
    cat = np.array([f["type"] == "categorical" for f in inputs])
    constrained = [0 if c else int(f["direction"]) for f, c in zip(inputs, cat)]
    res = {"sklearn": sklearn.__version__, "seed": seed, "horizon_days": spec.get("horizon_days"),
           "rows": {"train": int(tr.sum()), "valid": int(va.sum()), "test": int(te.sum()),
                    "test_behind": int(label[te].sum()), "scored": int(out.sum())},
           "inputs": len(inputs), "increasing": constrained.count(1), "decreasing": constrained.count(-1)}
    preds = {}
    for name, cst in (("constrained", constrained), ("free", None)):
        t0 = time.time()
        fitted = tr | va  # the rows duewise trains and validates on
        m = fit(X[fitted], label[fitted], cat, cst, seed)
        trees = int(m.n_iter_)
        p = m.predict_proba(X[out])[:, 1]
        preds[name] = p
        pt = p[te[out]]
        res[name] = {"auc": float(roc_auc_score(label[te], pt)), "trees": trees, "fitted_trees": int(m.n_iter_),
                     "seconds": round(time.time() - t0, 1)}
    with open(argv[3], "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["constrained", "free"])
        for a, b in zip(preds["constrained"], preds["free"]):
            w.writerow([repr(float(a)), repr(float(b))])
    json.dump(res, sys.stdout)
    print()


if __name__ == "__main__":
    main(sys.argv)
