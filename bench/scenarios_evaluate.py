"""Evaluation scenarios: ``models.evaluate`` of a classifier on 10,000 rows, nbtrack and MLflow.

The same loaded pyfunc model and data go to both libraries' ``models.evaluate``, with every
default metric and plot; explainability is off for both (MLflow's needs shap, which its
benchmark environment does not install). nbtrack is timed with its default 1,000 bootstrap
resamples (intervals for every metric) and without them; MLflow has no intervals.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from timing import median_time


def _setup(mlflow):
    import numpy as np
    import pandas as pd
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    x, y = make_classification(n_samples=20_000, n_features=20, random_state=0)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(20)])
    model = LogisticRegression(max_iter=1000).fit(frame[:10_000], y[:10_000])
    data = frame[10_000:].assign(label=np.asarray(y[10_000:]))
    sklearn_flavor = importlib.import_module(f"{mlflow.__name__}.sklearn")
    pyfunc = importlib.import_module(f"{mlflow.__name__}.pyfunc")
    mlflow.set_experiment("bench")
    with mlflow.start_run():
        info = sklearn_flavor.log_model(model, name="model")
    return pyfunc.load_model(info.model_uri), data


def _timed(mlflow, config: dict) -> float:
    models = importlib.import_module(f"{mlflow.__name__}.models")
    loaded, data = _setup(mlflow)
    config = {"log_model_explainability": False, **config}

    def run():
        models.evaluate(loaded, data, targets="label", model_type="classifier",
                        evaluator_config=config)  # fmt: skip

    run()  # warm-up: imports (matplotlib, sklearn.metrics), the first figures
    return median_time(run, 5)


def scenario_evaluate_classifier_10k(mlflow, workdir: Path) -> dict[str, float]:
    """Default metrics and plots, plus (nbtrack) 1,000-resample intervals of every metric."""
    config = {"bootstrap_resamples": 1000} if mlflow.__name__ == "nbtrack" else {}
    return {"evaluate_10k_with_intervals_s": _timed(mlflow, config)}


def scenario_evaluate_classifier_10k_no_intervals(mlflow, workdir: Path) -> dict[str, float]:
    """Default metrics and plots, no intervals on either side."""
    config = {"bootstrap_resamples": 0} if mlflow.__name__ == "nbtrack" else {}
    return {"evaluate_10k_s": _timed(mlflow, config)}
