"""Reference models of the German credit benchmark (duewise quality).

Reads the columns duewise uses and the fold of every applicant from
INPUTS (written by quality/german.go: customer_id, fold, event, inputs...),
and the original file SOURCE, and prints JSON with the AUC of "Bad" per
fold of two scikit-learn models, each on the same folds:

  same columns: HistGradientBoosting and standardized LogisticRegression on
                exactly duewise's inputs (categorical ones one-hot encoded);
  all columns:  the same two models on every column of SOURCE but the
                outcome (the setting of SOURCE.md's figures, which use
                other folds).

Models as in ../shared/data/SOURCE.md: default HistGradientBoostingClassifier
(random_state=0), StandardScaler + LogisticRegression(max_iter=5000).
Usage: python3 german_reference.py INPUTS SOURCE OUTCOME VALUE
"""
import json
import sys

import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def models():
    return {
        "hgb": HistGradientBoostingClassifier(random_state=0),
        "lr": make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)),
    }


def cross_validate(x, y, fold):
    out = {name: [] for name in models()}
    for f in sorted(fold.unique()):
        train, test = fold != f, fold == f
        for name, m in models().items():
            m.fit(x[train], y[train])
            out[name].append(float(roc_auc_score(y[test], m.predict_proba(x[test])[:, 1])))
    return out


def main():
    inputs, source, outcome, value = sys.argv[1:5]
    d = pd.read_csv(inputs, dtype={"customer_id": str})
    fold, y = d["fold"], d["event"].astype(int)
    x = pd.get_dummies(d.drop(columns=["customer_id", "fold", "event"]), dummy_na=True).astype(float)
    x = x.fillna(x.median()).to_numpy()
    res = {"sklearn": __import__("sklearn").__version__, "same_columns": cross_validate(x, y.to_numpy(), fold)}
    src = pd.read_csv(source)
    if len(src) == len(d):  # rows in file order: customer_id is the row number
        ys = (src[outcome].astype(str).str.strip() == value).astype(int).to_numpy()
        xs = pd.get_dummies(src.drop(columns=[outcome]), dummy_na=True).astype(float)
        res["all_columns"] = cross_validate(xs.fillna(xs.median()).to_numpy(), ys, fold)
        res["all_columns_count"] = int(src.shape[1] - 1)
    json.dump(res, sys.stdout)


if __name__ == "__main__":
    main()
