"""Model evaluation, as ``mlflow.models.evaluate``: metrics, plots, intervals and a gate.

``evaluate`` computes MLflow's default metrics for classifiers and regressors (same names,
same values), a bootstrap confidence interval for each, a paired comparison with a
baseline model, plots and tables anyone can open, and logs them to a run.
``validate_evaluation_results`` with ``MetricThreshold`` is the gate before deployment.
"""

from __future__ import annotations

from nbtrack.errors import ModelValidationFailedException
from nbtrack.evaluation.api import evaluate
from nbtrack.evaluation.metrics import EvaluationMetric, MetricValue, make_metric
from nbtrack.evaluation.result import EvaluationArtifact, EvaluationResult
from nbtrack.evaluation.validation import MetricThreshold, validate_evaluation_results

__all__ = [
    "EvaluationArtifact",
    "EvaluationMetric",
    "EvaluationResult",
    "MetricThreshold",
    "MetricValue",
    "ModelValidationFailedException",
    "evaluate",
    "make_metric",
    "validate_evaluation_results",
]
