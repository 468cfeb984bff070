"""Training metrics of a fitted estimator, named as MLflow's sklearn autolog names them.

Predictions are computed once (``predict`` once, ``predict_proba`` once) and every metric
is derived from them (by ``scores`` for plain 1-D targets, else by ``sklearn.metrics``);
``training_score`` reuses them too when the estimator's ``score`` is scikit-learn's
default (accuracy for classifiers, R² for regressors).
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
import warnings
from collections.abc import Callable
from typing import Any

from nbtrack.autolog import scores

PREFIX = "training_"
_logger = logging.getLogger("nbtrack.autolog")


def unpatched(function: Any) -> Any:
    """The function autolog wrapped, or the function itself if it is not a wrapper."""
    return getattr(function, "__nbtrack_original__", function)


def training_metrics(
    estimator: Any, X: Any, y: Any, sample_weight: Any = None, pos_label: Any = None
) -> dict[str, float]:
    """MLflow's training metrics of a fitted classifier or regressor (empty without ``y``)."""
    return training_metrics_and_predictions(estimator, X, y, sample_weight, pos_label)[0]


def training_metrics_and_predictions(
    estimator: Any, X: Any, y: Any, sample_weight: Any = None, pos_label: Any = None
) -> tuple[dict[str, float], Any]:
    """The training metrics, and ``predict(X)`` when it was computed for them (else None)."""
    from sklearn.base import is_classifier, is_regressor

    if y is None:
        return {}, None
    with warnings.catch_warnings():
        # Like MLflow, keep scikit-learn's warnings about the training metrics to the log:
        # the user did not ask for these computations.
        warnings.simplefilter("ignore")
        if is_classifier(estimator):
            metrics, y_pred = _classifier_metrics(estimator, X, y, sample_weight, pos_label)
        elif is_regressor(estimator):
            metrics, y_pred = _regressor_metrics(estimator, X, y, sample_weight)
        else:
            metrics, y_pred = {}, None
        score = _training_score(estimator, X, y, sample_weight, metrics, y_pred)
    if score is not None:
        metrics[PREFIX + "score"] = score
    return metrics, y_pred


def _attempt(metrics: dict[str, float], name: str, compute: Callable[[], Any]) -> None:
    try:
        metrics[PREFIX + name] = float(compute())
    except Exception as exc:  # one metric that cannot be computed must not lose the others
        _logger.warning("nbtrack: training metric %s was not logged: %s", name, exc)


def _predict(estimator: Any, method: str, X: Any) -> Any:
    try:
        return getattr(estimator, method)(X)
    except Exception as exc:
        _logger.warning("nbtrack: %s on the training data failed: %s", method, exc)
        return None


def _classifier_metrics(
    estimator: Any, X: Any, y: Any, sample_weight: Any, pos_label: Any
) -> tuple[dict[str, float], Any]:
    from sklearn import metrics as skm

    metrics: dict[str, float] = {}
    y_pred = _predict(estimator, "predict", X)
    if y_pred is None:
        return metrics, None
    fast = scores.classification(y, y_pred, sample_weight) if pos_label is None else None
    if fast is not None:
        metrics.update({PREFIX + k: v for k, v in fast.items()})
    else:
        average = "weighted" if pos_label is None else "binary"
        for name, function in (
            ("precision_score", skm.precision_score),
            ("recall_score", skm.recall_score),
            ("f1_score", skm.f1_score),
        ):
            _attempt(
                metrics,
                name,
                functools.partial(
                    function,
                    y,
                    y_pred,
                    pos_label=pos_label,
                    average=average,
                    sample_weight=sample_weight,
                ),
            )
        _attempt(
            metrics,
            "accuracy_score",
            lambda: skm.accuracy_score(y, y_pred, normalize=True, sample_weight=sample_weight),
        )
    if hasattr(estimator, "predict_proba"):
        proba = _predict(estimator, "predict_proba", X)
        if proba is not None:
            _probability_metrics(metrics, y, proba, sample_weight)
    return metrics, y_pred


def _probability_metrics(metrics: dict[str, float], y: Any, proba: Any, weight: Any) -> None:
    from sklearn import metrics as skm

    loss = scores.log_loss(y, proba, weight)
    if loss is not None:
        metrics[PREFIX + "log_loss"] = loss
    else:
        _attempt(metrics, "log_loss", lambda: skm.log_loss(y, proba, sample_weight=weight))
    binary = proba.ndim == 2 and proba.shape[1] == 2
    score = proba[:, 1] if binary else proba
    auc = scores.binary_roc_auc(y, score, weight) if binary else None
    if auc is not None:
        metrics[PREFIX + "roc_auc"] = auc
    else:
        _attempt(
            metrics,
            "roc_auc",
            lambda: skm.roc_auc_score(
                y, score, average="weighted", sample_weight=weight, multi_class="ovo"
            ),
        )


def _regressor_metrics(
    estimator: Any, X: Any, y: Any, sample_weight: Any
) -> tuple[dict[str, float], Any]:
    from sklearn import metrics as skm

    metrics: dict[str, float] = {}
    y_pred = _predict(estimator, "predict", X)
    if y_pred is None:
        return metrics, None
    fast = scores.regression(y, y_pred, sample_weight)
    if fast is not None:
        metrics.update({PREFIX + k: v for k, v in fast.items()})
    else:
        for name, function in (
            ("mean_squared_error", skm.mean_squared_error),
            ("mean_absolute_error", skm.mean_absolute_error),
            ("r2_score", skm.r2_score),
        ):
            _attempt(
                metrics,
                name,
                functools.partial(
                    function,
                    y,
                    y_pred,
                    sample_weight=sample_weight,
                    multioutput="uniform_average",
                ),
            )
    mse = metrics.get(PREFIX + "mean_squared_error")
    if mse is not None:
        metrics[PREFIX + "root_mean_squared_error"] = math.sqrt(mse)
    return metrics, y_pred


def _training_score(
    estimator: Any, X: Any, y: Any, sample_weight: Any, metrics: dict[str, float], y_pred: Any
) -> float | None:
    if not hasattr(estimator, "score"):
        return None
    same_as = _default_score(estimator) if y_pred is not None else None
    if same_as is not None and PREFIX + same_as in metrics:
        return metrics[PREFIX + same_as]
    try:
        score = unpatched(type(estimator).score)
        takes_weight = "sample_weight" in inspect.signature(score).parameters
        args = (X, y, sample_weight) if takes_weight else (X, y)
        return float(estimator.score(*args))
    except Exception as exc:
        _logger.warning("nbtrack: training_score was not logged: %s", exc)
        return None


def _default_score(estimator: Any) -> str | None:
    """Which training metric ``estimator.score`` equals, when it is scikit-learn's default.

    ``ClassifierMixin.score`` is accuracy and ``RegressorMixin.score`` is R², both of
    ``predict``; a Pipeline scores with its final step, and a search without its own
    ``scoring`` with its best estimator, so their defaults carry through.
    """
    from sklearn.base import ClassifierMixin, RegressorMixin, is_classifier, is_regressor
    from sklearn.model_selection._search import BaseSearchCV
    from sklearn.pipeline import Pipeline

    score = unpatched(getattr(type(estimator), "score", None))
    if is_classifier(estimator) and score is unpatched(ClassifierMixin.score):
        return "accuracy_score"
    if is_regressor(estimator) and score is unpatched(RegressorMixin.score):
        return "r2_score"
    if score is unpatched(Pipeline.score) and estimator.steps:
        final = estimator.steps[-1][1]
        return None if final in (None, "passthrough") else _default_score(final)
    if (
        score is unpatched(BaseSearchCV.score)
        and estimator.scoring is None
        and hasattr(estimator, "best_estimator_")
    ):
        return _default_score(estimator.best_estimator_)
    return None
