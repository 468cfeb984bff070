"""nbtrack.evaluate's metrics are MLflow's: the same names and values on the same model and data.

MLflow 3.17 runs in its own environment (NBTRACK_MLFLOW_PYTHON, default
``<repo>/.bench/mlflow-venv/bin/python``, which ``make bench`` builds); the models and
data travel by pickle (both environments have the same scikit-learn and pandas).
"""

from __future__ import annotations

import json
import pickle
import subprocess

import pytest
from mlflow_servers import MLFLOW_PYTHON

import nbtrack

MLFLOW_SCRIPT = """
import json, pickle, sys, warnings
warnings.simplefilter("ignore")
import mlflow
cases = pickle.load(open(sys.argv[1], "rb"))
mlflow.set_tracking_uri("sqlite:///" + sys.argv[2])
out = {}
for name, (model, df, target, model_type, config) in cases.items():
    path = f"{sys.argv[3]}/{name}"
    mlflow.sklearn.save_model(model, path, pip_requirements=["scikit-learn"])
    result = mlflow.models.evaluate(
        path, df, targets=target, model_type=model_type,
        evaluator_config={**config, "log_model_explainability": False},
    )
    out[name] = {k: float(v) for k, v in result.metrics.items()}
print("RESULT " + json.dumps(out))
"""


def _cases():
    import pandas as pd
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def split(loader):
        x, y = loader(return_X_y=True, as_frame=True)
        return train_test_split(x, y, test_size=0.4, random_state=0)

    cases = {}
    xtr, xte, ytr, yte = split(load_breast_cancer)
    binary = make_pipeline(StandardScaler(), LogisticRegression(C=0.05)).fit(xtr, ytr)
    df = xte.assign(label=yte)
    cases["binary"] = (binary, df, "label", "classifier", {})
    cases["binary_pos_label_0"] = (binary, df, "label", "classifier", {"pos_label": 0})
    strings = df.assign(label=yte.map({0: "malignant", 1: "benign"}))
    text_model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05)).fit(
        xtr, ytr.map({0: "malignant", 1: "benign"})
    )
    cases["binary_text_labels"] = (text_model, strings, "label", "classifier", {})
    xtr, xte, ytr, yte = split(load_wine)
    multi = make_pipeline(StandardScaler(), LogisticRegression(C=0.01)).fit(xtr, ytr)
    cases["multiclass"] = (multi, xte.assign(label=yte), "label", "classifier", {})
    cases["multiclass_macro"] = (
        multi, xte.assign(label=yte), "label", "classifier", {"average": "macro"}
    )  # fmt: skip
    xtr, xte, ytr, yte = split(load_diabetes)
    reg = LinearRegression().fit(xtr, ytr)
    cases["regressor"] = (reg, xte.assign(y=yte), "y", "regressor", {})
    weights = pd.Series(range(1, len(xte) + 1), dtype=float).to_numpy()
    cases["regressor_weighted"] = (reg, xte.assign(y=yte), "y", "regressor",
                                   {"sample_weights": weights})  # fmt: skip
    return cases


@pytest.mark.slow
@pytest.mark.skipif(
    not MLFLOW_PYTHON.exists(),
    reason=f"MLflow's python not found at {MLFLOW_PYTHON} (set NBTRACK_MLFLOW_PYTHON or run "
    "`make bench` once to build .bench/mlflow-venv)",
)
def test_every_default_metric_equals_mlflows(tmp_path):
    cases = _cases()
    (tmp_path / "cases.pkl").write_bytes(pickle.dumps(cases))
    (tmp_path / "models").mkdir()
    proc = subprocess.run(
        [str(MLFLOW_PYTHON), "-c", MLFLOW_SCRIPT, str(tmp_path / "cases.pkl"),
         str(tmp_path / "mlflow.db"), str(tmp_path / "models")],
        capture_output=True, text=True, timeout=600, cwd=tmp_path, check=False,
    )  # fmt: skip
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, proc.stderr[-3000:]
    theirs = json.loads(lines[-1][len("RESULT ") :])

    for name, (model, df, target, model_type, config) in cases.items():
        with nbtrack.start_run():
            info = nbtrack.sklearn.log_model(model, name="model")
        ours = nbtrack.evaluate(
            info.model_uri, df, targets=target, model_type=model_type,
            evaluator_config={**config, "bootstrap_resamples": 0,
                              "log_model_explainability": False},
        ).metrics  # fmt: skip
        assert list(ours) == list(theirs[name]), name  # same names, in the same order
        for key, value in ours.items():
            assert value == pytest.approx(theirs[name][key], rel=1e-12, abs=1e-15), (name, key)
