"""The gate: MetricThreshold and validate_evaluation_results, as MLflow's, plus significance."""

from __future__ import annotations

import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import nbtrack
from nbtrack.errors import (
    EvaluationError,
    MetricThresholdClassException,
    ModelValidationFailedException,
)
from nbtrack.evaluation import EvaluationResult
from nbtrack.models import MetricThreshold

CONFIG = {"bootstrap_resamples": 300, "log_model_explainability": False}


def _result(metrics: dict[str, float]) -> EvaluationResult:
    return EvaluationResult(metrics=metrics, artifacts={})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"greater_is_better": True}, "no threshold was specified"),
        ({"threshold": 0.5}, "`greater_is_better` parameter must be defined"),
        ({"threshold": "0.5", "greater_is_better": True}, "`threshold` parameter must be a number"),
        ({"min_absolute_change": -1, "greater_is_better": True}, "positive number"),
        ({"min_relative_change": 1, "greater_is_better": True}, "floating point number"),
        ({"min_relative_change": 1.5, "greater_is_better": True}, "between 0 and 1"),
        ({"threshold": 1, "greater_is_better": "yes"}, "must be a boolean"),
        ({"significance_level": 5, "greater_is_better": True}, "significance_level"),
    ],
)
def test_metric_threshold_refuses_what_mlflow_refuses(kwargs, message):
    with pytest.raises(MetricThresholdClassException, match=message) as caught:
        MetricThreshold(**kwargs)
    assert str(caught.value).startswith("Could not instantiate MetricThreshold class: ")


@pytest.mark.parametrize(
    ("threshold", "candidate", "baseline", "passes"),
    [
        (MetricThreshold(threshold=0.8, greater_is_better=True), 0.8, None, True),  # >= passes
        (MetricThreshold(threshold=0.8, greater_is_better=True), 0.79, None, False),
        (MetricThreshold(threshold=0.2, greater_is_better=False), 0.2, None, True),  # <= passes
        (MetricThreshold(min_absolute_change=0.05, greater_is_better=True), 0.86, 0.8, True),
        (MetricThreshold(min_absolute_change=0.05, greater_is_better=True), 0.84, 0.8, False),
        (MetricThreshold(min_absolute_change=0.1, greater_is_better=False), 0.19, 0.3, True),
        # exactly on the bound in decimal is just off it in binary: fails, as in MLflow
        (MetricThreshold(min_absolute_change=0.05, greater_is_better=True), 0.85, 0.8, False),
        (MetricThreshold(min_relative_change=0.1, greater_is_better=True), 0.89, 0.8, True),
        (MetricThreshold(min_relative_change=0.1, greater_is_better=True), 0.87, 0.8, False),
        # a negative baseline (an r2 below 0): relative to its magnitude
        (MetricThreshold(min_relative_change=0.5, greater_is_better=True), -0.1, -0.4, True),
        # a zero baseline: the candidate must simply be better
        (MetricThreshold(min_relative_change=0.5, greater_is_better=True), 0.0, 0.0, False),
        (MetricThreshold(min_relative_change=0.5, greater_is_better=True), 1e-9, 0.0, True),
    ],
)
def test_checks_follow_mlflows_semantics(threshold, candidate, baseline, passes):
    candidate_result = _result({"m": candidate})
    baseline_result = _result({"m": baseline}) if baseline is not None else None
    if passes:
        nbtrack.validate_evaluation_results({"m": threshold}, candidate_result, baseline_result)
        assert candidate_result.passed is True
    else:
        with pytest.raises(ModelValidationFailedException):
            nbtrack.validate_evaluation_results({"m": threshold}, candidate_result, baseline_result)
        assert candidate_result.passed is False


def test_the_message_is_a_table_of_every_failed_check():
    thresholds = {
        "accuracy_score": MetricThreshold(
            threshold=0.9, min_absolute_change=0.05, greater_is_better=True
        ),
        "log_loss": MetricThreshold(threshold=0.1, greater_is_better=False),
        "f1_score": MetricThreshold(threshold=0.5, greater_is_better=True),
        "roc_auc": MetricThreshold(threshold=0.5, greater_is_better=True),
        "recall_score": MetricThreshold(min_relative_change=0.1, greater_is_better=True),
    }
    candidate = _result(
        {"accuracy_score": 0.8, "log_loss": 0.3, "f1_score": 0.7, "recall_score": 0.5}
    )
    baseline = _result({"accuracy_score": 0.78})
    with pytest.raises(ModelValidationFailedException) as caught:
        nbtrack.validate_evaluation_results(thresholds, candidate, baseline)
    lines = str(caught.value).splitlines()
    assert lines[0] == "Model validation failed: 5 of 6 checks failed"
    assert lines[1].split() == ["metric", "check", "candidate", "baseline", "required", "detail"]
    body = [line.split()[:2] for line in lines[3:]]
    assert body == [
        ["accuracy_score", "threshold"],
        ["accuracy_score", "min_absolute_change"],
        ["log_loss", "threshold"],
        ["roc_auc", "missing"],
        ["recall_score", "baseline"],
    ]
    assert caught.value.error_code == "BAD_REQUEST"
    assert [c.passed for c in candidate.validation] == [False, False, False, True, False, False]


def test_thresholds_must_be_a_dict_of_metric_thresholds():
    with pytest.raises(EvaluationError, match="dictionary that maps strings"):
        nbtrack.validate_evaluation_results({"m": 0.5}, _result({"m": 1.0}))


@pytest.fixture(scope="module")
def models():
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    good = make_pipeline(StandardScaler(), LogisticRegression(C=0.05)).fit(x, y)
    also_good = make_pipeline(StandardScaler(), LogisticRegression(C=0.06)).fit(x, y)
    return x, y, good, also_good, DummyClassifier().fit(x, y)


def test_significance_uses_paired_resamples_of_separate_evaluations(models):
    x, y, good, also_good, dummy = models
    candidate = nbtrack.evaluate(good, (x, y), model_type="classifier", evaluator_config=CONFIG)
    weak = nbtrack.evaluate(dummy, (x, y), model_type="classifier", evaluator_config=CONFIG)
    twin = nbtrack.evaluate(also_good, (x, y), model_type="classifier", evaluator_config=CONFIG)
    significant = {
        "accuracy_score": MetricThreshold(
            min_absolute_change=0.01, greater_is_better=True, significance_level=0.05
        ),
    }
    nbtrack.validate_evaluation_results(significant, candidate, weak)
    assert [c.check for c in candidate.validation] == ["min_absolute_change", "significance"]
    # a nearly identical model: larger or not, the improvement is not significant
    with pytest.raises(ModelValidationFailedException, match="significance"):
        nbtrack.validate_evaluation_results(
            {"accuracy_score": MetricThreshold(greater_is_better=True, significance_level=0.05)},
            candidate,
            twin,
        )


def test_significance_needs_the_same_rows_and_resamples(models):
    x, y, good, _, dummy = models
    candidate = nbtrack.evaluate(good, (x, y), model_type="classifier", evaluator_config=CONFIG)
    other_seed = nbtrack.evaluate(
        dummy, (x, y), model_type="classifier", evaluator_config={**CONFIG, "bootstrap_seed": 1}
    )
    with pytest.raises(ModelValidationFailedException, match="cannot test significance"):
        nbtrack.validate_evaluation_results(
            {"roc_auc": MetricThreshold(greater_is_better=True, significance_level=0.05)},
            candidate,
            other_seed,
        )


def test_a_baseline_evaluated_with_the_candidate_is_the_default(models):
    x, y, good, _, dummy = models
    result = nbtrack.evaluate(
        good, (x, y), model_type="classifier", evaluator_config=CONFIG, baseline_model=dummy
    )
    assert result.baseline_model_metrics["accuracy_score"] == pytest.approx(y.mean())
    diff = result.differences["accuracy_score"]
    assert diff.low <= diff.difference <= diff.high
    assert diff.p_value < 0.01
    assert "accuracy_score" in result.baseline_confidence_intervals
    nbtrack.validate_evaluation_results(
        {
            "roc_auc": MetricThreshold(
                threshold=0.9,
                min_absolute_change=0.2,
                greater_is_better=True,
                significance_level=0.01,
            )
        },
        result,
    )
    assert result.passed is True
    assert "gate: passed" in result._repr_html_()
