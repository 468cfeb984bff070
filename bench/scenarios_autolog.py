"""Autolog scenarios: what ``sklearn.autolog`` adds to a fit, the same code for nbtrack and MLflow.

"Added" is the fastest autologged fit minus the fastest plain fit, the two timed in
alternation. Both libraries log every candidate of a search (``max_tuning_runs=None``)
and warn nothing.
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path


def _added(mlflow, fit, budget_s: float, max_pairs: int, min_pairs: int = 3, **autolog) -> float:
    """Extra time of ``fit`` with autolog on: fastest autologged fit minus fastest plain fit.

    Fits alternate (plain, autologged) so both see the same machine; the fastest of each is
    the one least disturbed by other processes, which only ever add time. BLAS runs on one
    thread so that two busy cores do not turn thread contention into noise.
    """
    from threadpoolctl import threadpool_limits

    flavor = importlib.import_module(f"{mlflow.__name__}.sklearn")
    plain, logged = [], []
    with threadpool_limits(limits=1):
        flavor.autolog(silent=True, max_tuning_runs=None, **autolog)
        fit()  # warm-up: imports, patches, the first run and model folders
        started = time.perf_counter()
        while len(plain) < max_pairs and (
            len(plain) < min_pairs or time.perf_counter() - started < budget_s
        ):
            flavor.autolog(disable=True)
            plain.append(_timed(fit))
            flavor.autolog(silent=True, max_tuning_runs=None, **autolog)
            logged.append(_timed(fit))
        flavor.autolog(disable=True)
    return max(min(logged) - min(plain), 0.0)


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _logistic_regression():
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    X, y = load_breast_cancer(return_X_y=True)
    return lambda: LogisticRegression(max_iter=1000).fit(X, y)


def _grid_search():
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import GridSearchCV

    X, y = load_breast_cancer(return_X_y=True)
    grid = {"max_depth": [2, 4, 6, None], "min_samples_leaf": [1, 2, 4]}  # 12 candidates
    search = GridSearchCV(RandomForestClassifier(n_estimators=20, random_state=0), grid, cv=3)
    return lambda: search.fit(X, y)


def scenario_autolog_logistic_regression(mlflow, workdir: Path) -> dict[str, float]:
    """LogisticRegression(max_iter=1000) on breast_cancer, without model logging."""
    mlflow.set_experiment("bench")
    fit = _logistic_regression()
    return {"autolog_logreg_added_s": _added(mlflow, fit, 25, 40, log_models=False)}


def scenario_autolog_grid_search(mlflow, workdir: Path) -> dict[str, float]:
    """GridSearchCV(RandomForestClassifier(n_estimators=20)), 12 candidates, cv=3, no models."""
    mlflow.set_experiment("bench")
    fit = _grid_search()
    return {"autolog_grid_search_added_s": _added(mlflow, fit, 30, 12, log_models=False)}


def scenario_autolog_grid_search_models(mlflow, workdir: Path) -> dict[str, float]:
    """The same search with its models logged (MLflow: seconds per model, so fewer pairs)."""
    mlflow.set_experiment("bench")
    fit = _grid_search()
    return {
        "autolog_grid_search_models_added_s": _added(
            mlflow, fit, 15, 6, min_pairs=2, log_models=True
        )
    }
