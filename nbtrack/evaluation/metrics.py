"""The default evaluator's metrics, as MLflow 3.17 computes them, and user-defined metrics.

Names, definitions and order follow ``mlflow.models.evaluation.evaluators.classifier`` and
``regressor``: every value comes from the same scikit-learn call with the same arguments,
so a metric here equals MLflow's to the last bit.

- **binary classifier**: ``true_negatives``, ``false_positives``, ``false_negatives``,
  ``true_positives``, ``example_count``, ``accuracy_score``, ``recall_score``,
  ``precision_score``, ``f1_score``, ``log_loss`` (with probabilities), ``roc_auc`` and
  ``precision_recall_auc`` (average precision; with probabilities);
- **multiclass classifier**: ``example_count``, ``accuracy_score``, ``recall_score``,
  ``precision_score``, ``f1_score`` (``average``, default ``"weighted"``), ``log_loss``
  and ``roc_auc`` (one-vs-rest; with probabilities);
- **regressor**: ``example_count``, ``mean_absolute_error``, ``mean_squared_error``,
  ``root_mean_squared_error``, ``sum_on_target``, ``mean_on_target``, ``r2_score``,
  ``max_error``, ``mean_absolute_percentage_error``;
- ``score`` first, for a scikit-learn model: its own ``score(X, y)``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nbtrack.errors import EvaluationError

GREATER_IS_BETTER = {
    "score": True,
    "true_negatives": True,
    "false_positives": False,
    "false_negatives": False,
    "true_positives": True,
    "accuracy_score": True,
    "recall_score": True,
    "precision_score": True,
    "f1_score": True,
    "log_loss": False,
    "roc_auc": True,
    "precision_recall_auc": True,
    "mean_absolute_error": False,
    "mean_squared_error": False,
    "root_mean_squared_error": False,
    "r2_score": True,
    "max_error": False,
    "mean_absolute_percentage_error": False,
}


@dataclass
class MetricValue:
    """A metric's result: per-row ``scores``, ``justifications`` and ``aggregate_results``.

    As ``mlflow.metrics.MetricValue``: numeric scores without aggregates get the mean,
    variance and 90th percentile.
    """

    scores: list[Any] | None = None
    justifications: list[str] | None = None
    aggregate_results: dict[str, float] | None = None

    def __post_init__(self) -> None:
        scores = np.asarray(self.scores if self.scores is not None else [], dtype=object)
        numeric = scores.size > 0 and all(map(_is_number, scores))
        if self.aggregate_results is None and numeric:
            scores = scores.astype(np.float64)
            self.aggregate_results = {
                "mean": float(np.mean(scores)),
                "variance": float(np.var(scores)),
                "p90": float(np.percentile(scores, 90)),
            }


class EvaluationMetric:
    """A user-defined metric for ``evaluate(extra_metrics=...)``; built by :func:`make_metric`."""

    def __init__(
        self,
        eval_fn: Callable[..., Any],
        name: str,
        greater_is_better: bool,
        long_name: str | None = None,
        version: str | None = None,
        metric_details: str | None = None,
        metric_metadata: dict[str, Any] | None = None,
        genai_metric_args: dict[str, Any] | None = None,
    ):
        self.eval_fn = eval_fn
        self.name = name
        self.greater_is_better = greater_is_better
        self.long_name = long_name or name
        self.version = version
        self.metric_details = metric_details
        self.metric_metadata = metric_metadata
        self.genai_metric_args = genai_metric_args

    def __str__(self) -> str:
        return f"EvaluationMetric(name={self.name}, greater_is_better={self.greater_is_better})"

    __repr__ = __str__


def make_metric(
    *,
    eval_fn: Callable[..., Any],
    greater_is_better: bool,
    name: str | None = None,
    long_name: str | None = None,
    version: str | None = None,
    metric_details: str | None = None,
    metric_metadata: dict[str, Any] | None = None,
    genai_metric_args: dict[str, Any] | None = None,
) -> EvaluationMetric:
    """A metric for ``evaluate(extra_metrics=[...])``, as ``mlflow.models.make_metric``.

    Parameters
    ----------
    eval_fn
        ``eval_fn(predictions, targets, metrics, **kwargs)`` returning a number or a
        :class:`MetricValue`: ``predictions`` and ``targets`` are pandas Series,
        ``metrics`` the default metrics (name → MetricValue); any other parameter is a
        feature column of the data or an ``evaluator_config`` key. The older form
        ``eval_fn(eval_df, builtin_metrics)`` (a frame with ``prediction`` and ``target``
        columns, a dict of numbers) also works.
    greater_is_better
        Whether larger values are better (used by thresholds and the report).
    name
        The metric's name; the function's name when omitted (required for a lambda).
    long_name, version, metric_details, metric_metadata, genai_metric_args
        Descriptive, kept on the metric as MLflow keeps them. A ``version`` names the
        metric ``name/version``.
    """
    if name is None:
        fn_name = getattr(eval_fn, "__name__", None)
        if not fn_name or fn_name == "<lambda>":
            raise EvaluationError(
                "make_metric needs a name= when eval_fn is a lambda or has no __name__"
            )
        name = fn_name
    if not isinstance(greater_is_better, bool):
        raise EvaluationError(
            f"greater_is_better must be True or False (found {greater_is_better!r})"
        )
    return EvaluationMetric(
        eval_fn,
        name,
        greater_is_better,
        long_name,
        version,
        metric_details,
        metric_metadata,
        genai_metric_args,
    )


# -- the default metrics ------------------------------------------------------------------


def classifier_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_proba: np.ndarray | None,
    labels: np.ndarray,
    pos_label: Any,
    pos_index: int,
    average: str,
    weights: np.ndarray | None,
) -> dict[str, float]:
    """MLflow's classifier metrics (binary when ``labels`` has two classes)."""
    from sklearn import metrics as sk

    if len(labels) == 2:
        tn, fp, fn, tp = sk.confusion_matrix(y_true, y_pred, labels=labels).ravel()
        out: dict[str, float] = {
            "true_negatives": int(tn),
            "false_positives": int(fp),
            "false_negatives": int(fn),
            "true_positives": int(tp),
        }
        out.update(_common(y_true, y_pred, y_proba, labels, "binary", pos_label, weights))
        if y_proba is not None:
            scores = y_proba[:, pos_index]
            out["roc_auc"] = float(
                sk.roc_auc_score(np.asarray(y_true) == pos_label, scores, sample_weight=weights)
            )
            out["precision_recall_auc"] = float(
                sk.average_precision_score(
                    y_true, scores, pos_label=pos_label, sample_weight=weights
                )
            )
        return out
    out = _common(y_true, y_pred, y_proba, labels, average, None, weights)
    if average in ("macro", "weighted") and y_proba is not None:
        out["roc_auc"] = float(
            sk.roc_auc_score(
                y_true, y_proba, sample_weight=weights, average=average, multi_class="ovr"
            )
        )
    return out


def _common(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_proba: np.ndarray | None,
    labels: np.ndarray,
    average: str,
    pos_label: Any,
    weights: np.ndarray | None,
) -> dict[str, float]:
    from sklearn import metrics as sk

    kw = {"average": average, "pos_label": pos_label, "sample_weight": weights}
    out: dict[str, float] = {
        "example_count": len(y_true),
        "accuracy_score": float(sk.accuracy_score(y_true, y_pred, sample_weight=weights)),
        "recall_score": float(sk.recall_score(y_true, y_pred, **kw)),
        "precision_score": float(sk.precision_score(y_true, y_pred, **kw)),
        "f1_score": float(sk.f1_score(y_true, y_pred, **kw)),
    }
    if y_proba is not None:
        # sorted: the column order of y_proba (MLflow passes the positive label last, which
        # scikit-learn sorts anyway, with a warning)
        sorted_labels = np.sort(labels)
        out["log_loss"] = float(
            sk.log_loss(y_true, y_proba, labels=sorted_labels, sample_weight=weights)
        )
    return out


def regressor_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, weights: np.ndarray | None
) -> dict[str, float]:
    """MLflow's regressor metrics."""
    from sklearn import metrics as sk

    total = float((y_true * weights).sum() if weights is not None else sum(y_true))
    mse = float(sk.mean_squared_error(y_true, y_pred, sample_weight=weights))
    return {
        "example_count": len(y_true),
        "mean_absolute_error": float(sk.mean_absolute_error(y_true, y_pred, sample_weight=weights)),
        "mean_squared_error": mse,
        "root_mean_squared_error": math.sqrt(mse),
        "sum_on_target": total,
        "mean_on_target": total / len(y_true),
        "r2_score": float(sk.r2_score(y_true, y_pred, sample_weight=weights)),
        "max_error": float(sk.max_error(y_true, y_pred)),
        "mean_absolute_percentage_error": float(
            sk.mean_absolute_percentage_error(y_true, y_pred, sample_weight=weights)
        ),
    }


# -- user-defined metrics -----------------------------------------------------------------


def evaluate_extra(
    metrics: list[EvaluationMetric],
    y_pred: np.ndarray,
    y_true: np.ndarray,
    features: Any,
    builtin: dict[str, float],
    config: dict[str, Any],
) -> dict[str, float]:
    """The values of ``extra_metrics``, named as MLflow names them (``name[/version][/agg]``)."""
    import pandas as pd

    predictions = pd.Series(y_pred, name="prediction")
    targets = pd.Series(y_true, name="target")
    values = {k: MetricValue(aggregate_results={k: v}) for k, v in builtin.items()}
    out: dict[str, float] = {}
    for index, metric in enumerate(metrics):
        args = _arguments(metric, predictions, targets, values, features, config, index)
        value = metric.eval_fn(*args)
        name = f"{metric.name}/{metric.version}" if metric.version else metric.name
        if _is_number(value):
            value = MetricValue(aggregate_results={metric.name: value})
        if not isinstance(value, MetricValue):
            raise EvaluationError(
                f"extra metric {metric.name!r} returned {type(value).__name__}; an eval_fn "
                "must return a number or a MetricValue"
            )
        values[name] = value
        for agg, number in (value.aggregate_results or {}).items():
            if number is not None:
                out[name if agg == name.split("/")[0] else f"{name}/{agg}"] = float(number)
    return out


def _arguments(
    metric: EvaluationMetric,
    predictions: Any,
    targets: Any,
    values: dict[str, MetricValue],
    features: Any,
    config: dict[str, Any],
    index: int,
) -> list[Any]:
    import pandas as pd

    params = inspect.signature(metric.eval_fn).parameters
    names = list(params)
    if len(names) == 2 and names[0] != "predictions" and names[1] != "targets":
        frame = pd.DataFrame({"prediction": predictions, "target": targets})
        numbers = {
            k: v.aggregate_results[k]
            for k, v in values.items()
            if v.aggregate_results and k in v.aggregate_results
        }
        return [frame, numbers]
    args = []
    for name, param in params.items():
        if name == "predictions":
            args.append(predictions.copy())
        elif name == "targets":
            args.append(targets.copy())
        elif name == "metrics":
            args.append(dict(values))
        elif name in getattr(features, "columns", ()):
            args.append(features[name])
        elif name in config:
            args.append(config[name])
        elif param.default is not inspect.Parameter.empty:
            args.append(param.default)
        else:
            raise EvaluationError(
                f"extra metric {metric.name!r} (index {index}) takes a parameter {name!r} that "
                "is neither predictions, targets, metrics, a feature column nor an "
                "evaluator_config key; rename it or give it a default"
            )
    return args


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
