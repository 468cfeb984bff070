"""Hyperparameter searches (GridSearchCV, RandomizedSearchCV, the halving searches).

The search's run gets ``best_<param>`` params, the ``best_cv_score`` metric and the
``cv_results.csv`` table; each candidate (each row of ``cv_results_``) becomes a child run
tagged ``mlflow.parentRunId``, with the seed estimator's params updated by the candidate's,
and the row's aggregate numbers (``mean_test_score``, ``std_test_score``, ``rank_test_score``,
fit and score times…) as metrics: MLflow's layout, so sweeps can be drawn as parallel
coordinates. All candidates get a child run when ``max_tuning_runs`` is None; otherwise the
best ones by rank, as MLflow chooses them.
"""

from __future__ import annotations

import numbers
from typing import Any

from nbtrack import session, tag_keys
from nbtrack.autolog import state
from nbtrack.entities import DatasetInput, RunInfo
from nbtrack.store.sql import now_ms

CV_RESULTS_FILE = "cv_results.csv"
_NOT_METRICS = ("param", "split")  # per-parameter columns and per-split scores


def is_search(estimator: Any) -> bool:
    """Whether the estimator is a scikit-learn hyperparameter search."""
    from sklearn.model_selection._search import BaseSearchCV

    return isinstance(estimator, BaseSearchCV)


def estimator_params(estimator: Any) -> dict[str, Any]:
    """Params to log: deep ones, except for a search, whose seed's untuned params would mislead."""
    return estimator.get_params(deep=not is_search(estimator))


def best_params(search: Any) -> dict[str, Any]:
    """The best candidate's params as ``best_<name>``."""
    return {f"best_{k}": v for k, v in getattr(search, "best_params_", {}).items()}


def best_metrics(search: Any) -> dict[str, float]:
    """``best_cv_score``, when the search has one."""
    score = getattr(search, "best_score_", None)
    return {"best_cv_score": float(score)} if score is not None else {}


def log_cv_results(run_id: str, search: Any) -> None:
    """Store ``cv_results_`` as the ``cv_results.csv`` artifact of the search's run."""
    import pandas as pd

    text = pd.DataFrame(search.cv_results_).to_csv(index=False)
    session.client().log_text(run_id, text, CV_RESULTS_FILE)


def chosen_candidates(results: dict[str, Any], max_tuning_runs: int | None) -> list[int]:
    """Rows of ``cv_results_`` that get a child run: all, or the best ``max_tuning_runs``.

    The rank is ``rank_test_score``, or the first ``rank_test_*`` column for several scorers
    (MLflow's choice); ties keep the search's order.
    """
    count = len(results["params"])
    if max_tuning_runs is None:
        return list(range(count))
    rank_column = (
        "rank_test_score"
        if "rank_test_score" in results
        else next((k for k in results if k.startswith("rank_test_")), None)
    )
    if rank_column is None:
        return list(range(min(count, max_tuning_runs)))
    import numpy as np  # here, not at import nbtrack.sklearn

    order = np.argsort(np.asarray(results[rank_column]), kind="stable")
    return sorted(int(i) for i in order[:max_tuning_runs])


def _metric_columns(results: dict[str, Any]) -> list[str]:
    import numpy as np

    return [
        key
        for key, column in results.items()
        if not key.startswith(_NOT_METRICS)
        and key != "params"
        and len(column) > 0
        and isinstance(column[0], numbers.Number)
        and not isinstance(column[0], (bool, np.bool_))
    ]


def log_child_runs(
    parent: RunInfo,
    search: Any,
    max_tuning_runs: int | None,
    tags: dict[str, str],
    dataset: DatasetInput | None,
) -> list[str]:
    """Create one finished child run per chosen candidate; return their ids."""
    client = session.client()
    results = search.cv_results_
    seed = search.estimator
    base = estimator_params(seed)
    columns = _metric_columns(results)
    child_tags = {**tags, **state.estimator_tags(seed), tag_keys.PARENT_RUN_ID: parent.run_id}
    end_time = now_ms()
    run_ids = []
    for row in chosen_candidates(results, max_tuning_runs):
        child = client.create_run(
            parent.experiment_id, start_time=parent.start_time, tags=child_tags
        )
        run_id = child.info.run_id
        metrics = {key: results[key][row] for key in columns}
        client.log_batch(
            run_id,
            metrics=state.to_metrics(metrics),
            params=state.to_params({**base, **results["params"][row]}),
        )
        if dataset is not None:
            client.log_inputs(run_id, [dataset])
        client.set_terminated(run_id, end_time=end_time)
        run_ids.append(run_id)
    return run_ids
