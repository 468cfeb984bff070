"""Model scenarios: log, load and predict through pyfunc, the same code for nbtrack and MLflow.

Each library uses its defaults (skops for both in MLflow 3.17 outside Databricks); MLflow
also infers pip requirements in a subprocess and validates the serving example, which is
what makes its ``log_model`` take seconds.
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path

from timing import median_time


def _submodule(mlflow, name: str):
    """``mlflow.sklearn`` / ``nbtrack.sklearn``, imported the same way for both."""
    return importlib.import_module(f"{mlflow.__name__}.{name}")


def _data_and_model():
    import pandas as pd
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    x = pd.DataFrame(StandardScaler().fit_transform(x), columns=x.columns)
    return x, LogisticRegression().fit(x, y)


def scenario_log_model(mlflow, workdir: Path) -> dict[str, float]:
    """log_model of a LogisticRegression (breast cancer, 30 columns) with an input example."""
    sklearn_flavor = _submodule(mlflow, "sklearn")
    x, model = _data_and_model()
    mlflow.set_experiment("bench")
    names = iter(f"model_{i}" for i in range(100))
    with mlflow.start_run():
        sklearn_flavor.log_model(model, name=next(names), input_example=x.head(5))  # warm-up
        per_call = median_time(
            lambda: sklearn_flavor.log_model(model, name=next(names), input_example=x.head(5)),
            3,  # MLflow takes 5-15 s per call: keep its run of this scenario near a minute
        )
    return {"log_model_s": per_call}


def scenario_load_model(mlflow, workdir: Path) -> dict[str, float]:
    """pyfunc.load_model of a logged LogisticRegression from its runs:/ URI."""
    sklearn_flavor = _submodule(mlflow, "sklearn")
    pyfunc = _submodule(mlflow, "pyfunc")
    x, model = _data_and_model()
    mlflow.set_experiment("bench")
    with mlflow.start_run():
        info = sklearn_flavor.log_model(model, name="model", input_example=x.head(5))
    pyfunc.load_model(info.model_uri)  # warm-up: imports, first store connection
    return {"load_model_s": median_time(lambda: pyfunc.load_model(info.model_uri), 10)}


def scenario_predict_overhead(mlflow, workdir: Path) -> dict[str, float]:
    """pyfunc predict on one DataFrame row minus the bare estimator's predict on it.

    Times are per call, from batches of 50 calls; the difference of the fastest batches.
    """
    sklearn_flavor = _submodule(mlflow, "sklearn")
    pyfunc = _submodule(mlflow, "pyfunc")
    x, model = _data_and_model()
    mlflow.set_experiment("bench")
    with mlflow.start_run():
        info = sklearn_flavor.log_model(model, name="model", input_example=x.head(5))
    loaded = pyfunc.load_model(info.model_uri)
    bare = loaded.get_raw_model()  # the same estimator, without the pyfunc wrapper
    row = x.iloc[[0]]
    calls = 50

    def batch(fn) -> float:
        t0 = time.perf_counter()
        for _ in range(calls):
            fn(row)
        return (time.perf_counter() - t0) / calls

    batch(loaded.predict)  # warm-up
    batch(bare.predict)
    wrapped, unwrapped = [], []
    for _ in range(40):  # interleaved, so both sides see the same machine
        wrapped.append(batch(loaded.predict))
        unwrapped.append(batch(bare.predict))
    # the fastest batch of each side: other processes' load only ever adds time
    return {"predict_overhead_s": max(min(wrapped) - min(unwrapped), 1e-7)}
