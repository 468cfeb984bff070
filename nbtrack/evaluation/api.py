"""``nbtrack.evaluate``: MLflow's ``evaluate`` for classifiers and regressors, plus intervals.

Everything is computed first (predictions, metrics, bootstrap intervals, plots and tables
in a temporary folder); only then is the run touched: the active run, or a new one that
``evaluate`` starts and ends. The metrics and their intervals go in one ``log_batch``
(all or none), the evaluation data as a dataset input with context ``"evaluation"``, the
files as artifacts at the run's root. Bad input raises ``EvaluationError`` with nothing
logged.
"""

from __future__ import annotations

import inspect
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nbtrack.errors import EvaluationError
from nbtrack.evaluation import artifacts as files
from nbtrack.evaluation import bootstrap, inputs
from nbtrack.evaluation.config import Settings, settings
from nbtrack.evaluation.metrics import (
    GREATER_IS_BETTER,
    EvaluationMetric,
    classifier_metrics,
    evaluate_extra,
    regressor_metrics,
)
from nbtrack.evaluation.result import Comparison, EvaluationArtifact, EvaluationResult

MODEL_TYPES = ("classifier", "regressor")
EVALUATED_MODEL_TAG = "nbtrack.evaluation.model_uri"  # read by model cards
CONTEXT = "evaluation"


@dataclass
class Scored:
    """One model's predictions on the rows, its metrics and their resampled values."""

    y_pred: np.ndarray
    y_proba: np.ndarray | None
    labels: np.ndarray | None
    pos_index: int
    metrics: dict[str, float]
    resampled: dict[str, np.ndarray]
    predictor: inputs.Predictor | None


def evaluate(
    model: Any = None,
    data: Any = None,
    *,
    model_type: str | None = None,
    targets: Any = None,
    predictions: str | None = None,
    dataset_path: str | None = None,
    feature_names: list[str] | None = None,
    evaluators: Any = None,
    evaluator_config: dict[str, Any] | None = None,
    extra_metrics: list[EvaluationMetric] | None = None,
    custom_artifacts: Any = None,
    env_manager: str = "local",
    model_config: dict[str, Any] | None = None,
    inference_params: dict[str, Any] | None = None,
    model_id: str | None = None,
    baseline_model: Any = None,
) -> EvaluationResult:
    """Evaluate a model on labelled data, log the results, return them.

    Parameters
    ----------
    model
        A model URI (``runs:/…``, ``models:/…``), a pyfunc model from
        ``nbtrack.pyfunc.load_model``, a scikit-learn estimator, a function of the features
        returning predictions, or None when ``data`` holds a ``predictions`` column.
    data
        A DataFrame (with the ``targets`` column), a numpy array or list of feature rows
        (``targets`` is then the label array), ``(X_test, y_test)``, or an
        ``nbtrack.data`` dataset built with ``targets=``.
    model_type
        ``"classifier"`` or ``"regressor"``.
    targets
        The label column's name (DataFrame) or the labels (array or list data).
    predictions
        The column of ``data`` holding predictions when ``model`` is None; the output
        column to use when the model returns several.
    dataset_path
        Where the data came from, recorded as the dataset input's source.
    feature_names
        The feature columns (default: every column but targets and predictions).
    evaluators
        None or ``"default"`` (the only evaluator).
    evaluator_config
        MLflow's keys: ``metric_prefix``, ``pos_label``, ``label_list``, ``average``,
        ``sample_weights``, ``log_model_explainability`` (permutation importance here),
        ``explainability_nsamples``, ``max_classes_for_multiclass_roc_pr``; nbtrack's:
        ``bootstrap_resamples`` (default 1000, 0 for no intervals), ``bootstrap_seed``
        (default 0), ``confidence_level`` (default 0.95), ``explainability_repeats``
        (default 5). Other keys reach ``extra_metrics`` functions by parameter name.
    extra_metrics
        Metrics from :func:`make_metric`.
    custom_artifacts, env_manager, model_config, inference_params, model_id
        MLflow's; nbtrack evaluates in the current environment and takes no custom
        artifacts, model config or inference params (passing them is an error).
    baseline_model
        A second model (any form ``model`` takes) evaluated on the same rows and the same
        resamples: ``result.baseline_model_metrics`` and the paired ``result.differences``.

    Returns
    -------
    EvaluationResult
        ``metrics`` (MLflow's names and values), ``confidence_intervals``, ``artifacts``,
        ``run_id``, and the baseline comparison; shows itself as a report in a notebook.
    """
    _unsupported(evaluators, custom_artifacts, env_manager, model_config, inference_params)
    if model_type not in MODEL_TYPES:
        raise EvaluationError(
            f"model_type must be 'classifier' or 'regressor' (found {model_type!r})"
        )
    extra = _extra_metrics(extra_metrics)
    if isinstance(evaluator_config, dict) and isinstance(targets, str):
        targets = evaluator_config.get("col_mapping", {}).get(targets, targets)
    found = inputs.rows(data, targets, predictions, feature_names, model is not None, dataset_path)
    config = settings(evaluator_config, len(found.targets))
    resampling = bootstrap.Resampling(config.resamples, config.seed, len(found.targets))
    candidate = _score(model, found, model_type, config, extra, predictions, resampling)
    baseline = None
    if baseline_model is not None:
        baseline = _score(baseline_model, found, model_type, config, extra, predictions, resampling)
    with tempfile.TemporaryDirectory(prefix="nbtrack-evaluate-") as tmp:
        made = _files(Path(tmp), found, model_type, config, candidate)
        result = _result(found, model_type, config, candidate, baseline, extra, resampling)
        made[f"{config.prefix}evaluation_summary"] = files.summary_json(
            Path(tmp) / f"{config.prefix}evaluation_summary.json", result.summary(), config.level
        )
        _log(result, found, made, candidate.predictor, model_id)
    return result


def _unsupported(evaluators: Any, custom: Any, env: str, model_config: Any, params: Any) -> None:
    if evaluators not in (None, "default", ["default"]):
        raise EvaluationError(f"nbtrack has only the default evaluator (found {evaluators!r})")
    if env != "local":
        raise EvaluationError(f"env_manager must be 'local' in nbtrack (found {env!r})")
    for name, value in (
        ("custom_artifacts", custom),
        ("model_config", model_config),
        ("inference_params", params),
    ):
        if value is not None:
            raise EvaluationError(f"nbtrack.evaluate does not take {name}; leave it None")


def _extra_metrics(metrics: Any) -> list[EvaluationMetric]:
    bad = [m for m in metrics or [] if not isinstance(m, EvaluationMetric)]
    if bad:
        kinds = ", ".join(f"'{m}' has type '{type(m).__name__}'" for m in bad)
        raise EvaluationError(
            f"extra_metrics must be made with nbtrack.models.make_metric: {kinds}"
        )
    return list(metrics or [])


# -- one model ----------------------------------------------------------------------------


def _score(
    model: Any,
    found: inputs.Rows,
    model_type: str,
    config: Settings,
    extra: list[EvaluationMetric],
    column: str | None,
    resampling: bootstrap.Resampling,
) -> Scored:
    predictor = inputs.predictor(model) if model is not None else None
    n = len(found.targets)
    if predictor is None:
        y_pred = np.asarray(found.predictions)
        proba = None
    else:
        y_pred = inputs.predicted(predictor.predict(found.model_input), n, column)
        proba = predictor.predict_proba(found.model_input) if predictor.predict_proba else None
    if _has_nan(y_pred):
        raise EvaluationError("the predictions hold missing values (NaN/None)")
    if model_type == "classifier":
        return _classify(found, y_pred, proba, predictor, config, extra, resampling)
    return _regress(found, y_pred, predictor, config, extra, resampling)


def _has_nan(values: np.ndarray) -> bool:
    import pandas as pd

    return bool(np.asarray(pd.isna(values)).any())


def _classify(
    found: inputs.Rows,
    y_pred: np.ndarray,
    proba: Any,
    predictor: inputs.Predictor | None,
    config: Settings,
    extra: list[EvaluationMetric],
    resampling: bootstrap.Resampling,
) -> Scored:
    from nbtrack.evaluation.labels import class_labels

    y_true = found.targets
    labels, pos_label, pos_index = class_labels(y_true, y_pred, config.label_list, config.pos_label)
    if proba is not None:
        proba = np.asarray(proba, dtype=np.float64)
        if proba.ndim != 2 or proba.shape != (len(y_true), len(labels)):
            raise EvaluationError(
                f"predict_proba returned shape {proba.shape} for {len(y_true)} rows and "
                f"{len(labels)} labels {list(labels)}; pass evaluator_config={{'label_list': "
                "[every class the model knows]}}"
            )
    metrics = _sklearn_score(predictor, found, config)
    metrics.update(
        classifier_metrics(
            y_true, y_pred, proba, labels, pos_label, pos_index, config.average, config.weights
        )
    )
    block = bootstrap.classifier_block(
        y_true, y_pred, proba, labels, pos_index, config.average, config.weights
    )
    resampled = _resampled(resampling, block, metrics, "accuracy_score")
    _add_extra(metrics, resampled, extra, found, y_pred, config, resampling)
    return Scored(y_pred, proba, labels, pos_index, metrics, resampled, predictor)


def _regress(
    found: inputs.Rows,
    y_pred: np.ndarray,
    predictor: inputs.Predictor | None,
    config: Settings,
    extra: list[EvaluationMetric],
    resampling: bootstrap.Resampling,
) -> Scored:
    from nbtrack.evaluation.labels import numeric

    y_true = numeric(found.targets, "targets")
    y_pred = numeric(y_pred, "predictions")
    metrics = _sklearn_score(predictor, found, config)
    metrics.update(regressor_metrics(y_true, y_pred, config.weights))
    block = bootstrap.regressor_block(y_true, y_pred, config.weights)
    resampled = _resampled(resampling, block, metrics, "r2_score")
    _add_extra(metrics, resampled, extra, found, y_pred, config, resampling)
    return Scored(y_pred, None, None, 0, metrics, resampled, predictor)


def _sklearn_score(
    predictor: inputs.Predictor | None, found: inputs.Rows, config: Settings
) -> dict[str, float]:
    """``score``: the estimator's own ``score(X, y)``, first, as MLflow logs it."""
    estimator = predictor.estimator if predictor else None
    if estimator is None or not hasattr(estimator, "score"):
        return {}
    try:
        return {
            "score": float(
                estimator.score(found.model_input, found.targets, sample_weight=config.weights)
            )
        }
    except Exception:  # as MLflow: a model whose score fails simply has no score metric
        return {}


def _resampled(
    resampling: bootstrap.Resampling, block: Any, metrics: dict[str, float], score_as: str
) -> dict[str, np.ndarray]:
    if resampling.count == 0:
        return {}
    values = bootstrap.resampled(resampling, block)
    # a scikit-learn classifier's score is its accuracy, a regressor's its r2: the same
    # resamples then; another score (a custom estimator's) gets no interval
    if "score" in metrics and np.isclose(metrics["score"], metrics[score_as], rtol=0, atol=1e-12):
        values["score"] = values[score_as]
    return {k: v for k, v in values.items() if k in metrics}


def _add_extra(
    metrics: dict[str, float],
    resampled: dict[str, np.ndarray],
    extra: list[EvaluationMetric],
    found: inputs.Rows,
    y_pred: np.ndarray,
    config: Settings,
    resampling: bootstrap.Resampling,
) -> None:
    if not extra:
        return
    builtin = dict(metrics)
    metrics.update(
        evaluate_extra(extra, y_pred, found.targets, found.features, builtin, config.raw)
    )
    if resampling.count == 0:
        return

    # one call per resample; the feature columns are sliced only for metrics that take one
    columns = set(found.features.columns)
    sliced = any(set(inspect.signature(m.eval_fn).parameters) & columns for m in extra)

    def on_rows(rows: np.ndarray) -> dict[str, float]:
        features = found.features.iloc[rows] if sliced else found.features.iloc[:0]
        return evaluate_extra(
            extra, y_pred[rows], found.targets[rows], features, builtin, config.raw
        )

    resampled.update(bootstrap.resampled_extra(resampling, on_rows))


# -- files, result, logging ---------------------------------------------------------------


def _files(
    folder: Path, found: inputs.Rows, model_type: str, config: Settings, scored: Scored
) -> dict[str, Path]:
    p, y_true, y_pred = config.prefix, found.targets, scored.y_pred
    made: dict[str, Path] = {}
    if scored.labels is not None:
        labels = scored.labels
        ordered = np.sort(labels)  # predict_proba's column order
        made[f"{p}confusion_matrix"] = files.confusion_matrix(
            folder, f"{p}confusion_matrix", y_true, y_pred, labels, config.weights
        )
        proba = scored.y_proba
        if proba is not None and (len(labels) == 2 or len(labels) <= config.max_roc_classes):
            made.update(
                files.curves(folder, y_true, proba, ordered, scored.pos_index, config.weights, p)
            )
            made[f"{p}calibration_curve_plot"] = files.calibration(
                folder, f"{p}calibration_curve_plot", y_true, proba, ordered, scored.pos_index
            )
        made[f"{p}per_class_metrics"] = files.per_class_table(
            folder / f"{p}per_class_metrics.csv", y_true, y_pred, proba, ordered, config.weights
        )
    else:
        made.update(files.regression_plots(folder, _floats(y_true), _floats(y_pred), p))
    if config.explain and scored.predictor is not None and len(found.features.columns):
        made.update(_importance(folder, found, model_type, config, scored.predictor))
    return made


def _floats(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def _importance(
    folder: Path, found: inputs.Rows, model_type: str, config: Settings, predictor: inputs.Predictor
) -> dict[str, Path]:
    from sklearn.metrics import accuracy_score, r2_score

    score = accuracy_score if model_type == "classifier" else r2_score
    return files.permutation_importance(
        folder,
        config.prefix,
        found.model_input,
        [str(c) for c in found.features.columns],
        found.targets,
        predictor.predict,
        score,
        config.nsamples,
        config.repeats,
        config.seed,
    )


def _result(
    found: inputs.Rows,
    model_type: str,
    config: Settings,
    candidate: Scored,
    baseline: Scored | None,
    extra: list[EvaluationMetric],
    resampling: bootstrap.Resampling,
) -> EvaluationResult:
    p = config.prefix
    better = dict(GREATER_IS_BETTER)
    for metric in extra:
        better[metric.name] = metric.greater_is_better
    result = EvaluationResult(
        metrics={f"{p}{k}": v for k, v in candidate.metrics.items()},
        artifacts={},
        confidence_intervals={
            f"{p}{k}": bootstrap.interval(v, config.level) for k, v in candidate.resampled.items()
        },
        confidence_level=config.level,
        greater_is_better={
            f"{p}{k}": better.get(k.split("/")[0], True)
            for k in candidate.metrics
            if k != "example_count"
        },
        model_type=model_type,
        resampling=resampling if resampling.count else None,
        dataset_digest=found.dataset.digest,
        resampled={f"{p}{k}": v for k, v in candidate.resampled.items()},
    )
    if baseline is not None:
        result.baseline_model_metrics = {f"{p}{k}": v for k, v in baseline.metrics.items()}
        result.baseline_confidence_intervals = {
            f"{p}{k}": bootstrap.interval(v, config.level) for k, v in baseline.resampled.items()
        }
        result.baseline_resampled = {f"{p}{k}": v for k, v in baseline.resampled.items()}
        result.differences = _differences(candidate, baseline, config, better)
    return result


def _differences(
    candidate: Scored, baseline: Scored, config: Settings, better: dict[str, bool]
) -> dict[str, Comparison]:
    out = {}
    for name, value in candidate.metrics.items():
        if name == "example_count" or name not in baseline.metrics:
            continue
        diff = float(value) - float(baseline.metrics[name])
        mine, theirs = candidate.resampled.get(name), baseline.resampled.get(name)
        low = high = p = float("nan")
        if mine is not None and theirs is not None:
            low, high = bootstrap.interval(mine - theirs, config.level)
            p = bootstrap.p_value_of_improvement(mine - theirs, better.get(name, True))
        out[f"{config.prefix}{name}"] = Comparison(diff, low, high, p)
    return out


def _log(
    result: EvaluationResult,
    found: inputs.Rows,
    made: dict[str, Path],
    predictor: inputs.Predictor | None,
    model_id: str | None,
) -> None:
    """Log metrics (one batch), the dataset input, the files and the model tag to a run."""
    from nbtrack import session, tracking
    from nbtrack.artifacts import uri_to_path
    from nbtrack.entities import DatasetInput, InputTag, Metric, RunTag
    from nbtrack.validation import metric_value, validate_key

    now = int(time.time() * 1000)
    values = dict(result.metrics)
    for name, (low, high) in result.confidence_intervals.items():
        values[f"{name}_ci_lower"], values[f"{name}_ci_upper"] = low, high
    batch = [
        Metric(validate_key(k, "metric"), metric_value(k, float(v)), now, 0)
        for k, v in values.items()
    ]
    tags = [RunTag(EVALUATED_MODEL_TAG, predictor.uri)] if predictor and predictor.uri else []
    if model_id:
        tags.append(RunTag("nbtrack.evaluation.model_id", model_id))
    client = session.client()
    active = tracking.active_run()
    run = active or tracking.start_run(tags={"mlflow.runType": CONTEXT})
    run_id = run.info.run_id
    try:
        client.log_batch(run_id, metrics=batch, tags=tags)
        client.log_inputs(
            run_id,
            [DatasetInput(found.dataset.to_entity(), [InputTag("mlflow.data.context", CONTEXT)])],
        )
        root = client.get_run(run_id).info.artifact_uri
        local = Path(uri_to_path(root))  # the store's artifacts are local folders
        for name, path in made.items():
            client.log_artifact(run_id, str(path))
            result.artifacts[name] = EvaluationArtifact(
                f"{root}/{path.name}", str(local / path.name)
            )
    except BaseException:
        if active is None:
            tracking.end_run("FAILED")  # the run evaluate started says it did not finish
        raise
    if active is None:
        tracking.end_run()
    result.run_id = run_id
