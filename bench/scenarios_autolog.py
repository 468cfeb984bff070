"""Autolog scenarios: what ``sklearn.autolog`` adds to a fit, the same code for nbtrack and MLflow.

"Added" is measured in pairs: the same fit timed with autologging off, then on, and the
median of the differences is reported, so that a busy machine's drift cancels out. Both
libraries log every candidate of a search (``max_tuning_runs=None``) and warn nothing.
"""

from __future__ import annotations

import importlib
import statistics
import time
from pathlib import Path


def _added(mlflow, fit, pairs_budget_s: float, max_pairs: int, **autolog) -> float:
    """Median extra time of ``fit`` with autolog on, over paired runs (warm-up first)."""
    flavor = importlib.import_module(f"{mlflow.__name__}.sklearn")
    flavor.autolog(silent=True, max_tuning_runs=None, **autolog)
    fit()  # warm-up: imports, patches, the first run and model folders
    differences, pairs, started = [], 0, time.perf_counter()
    while pairs < max_pairs and (pairs < 3 or time.perf_counter() - started < pairs_budget_s):
        flavor.autolog(disable=True)
        t0 = time.perf_counter()
        fit()
        plain = time.perf_counter() - t0
        flavor.autolog(silent=True, max_tuning_runs=None, **autolog)
        t0 = time.perf_counter()
        fit()
        differences.append(time.perf_counter() - t0 - plain)
        pairs += 1
    flavor.autolog(disable=True)
    return max(statistics.median(differences), 0.0)


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
    return {"autolog_logreg_added_s": _added(mlflow, fit, 15, 25, log_models=False)}


def scenario_autolog_grid_search(mlflow, workdir: Path) -> dict[str, float]:
    """GridSearchCV(RandomForestClassifier(n_estimators=20)), 12 candidates, cv=3."""
    mlflow.set_experiment("bench")
    fit = _grid_search()
    return {
        "autolog_grid_search_added_s": _added(mlflow, fit, 20, 9, log_models=False),
        "autolog_grid_search_models_added_s": _added(mlflow, fit, 10, 5, log_models=True),
    }
