"""``nbtrack.models``: the model format, as ``mlflow.models``.

:class:`Model` is a model folder's ``MLmodel`` file, :class:`ModelInfo` what ``log_model``
returns, :class:`ModelSignature` and :func:`infer_signature` describe what a model takes;
:func:`set_model` names the model a model-code file defines (custom Python models).
"""

from __future__ import annotations

from typing import Any

from nbtrack.models.model import Model, ModelInfo, get_model_info
from nbtrack.models.python_model import set_model
from nbtrack.models.signature import ModelSignature, infer_signature

__all__ = [
    "EvaluationArtifact",
    "EvaluationMetric",
    "EvaluationResult",
    "MetricThreshold",
    "Model",
    "ModelInfo",
    "ModelServer",
    "ModelSignature",
    "evaluate",
    "get_model_info",
    "infer_signature",
    "make_metric",
    "serve",
    "set_model",
]

# Evaluation (as ``mlflow.models.evaluate`` and friends) needs numpy and scikit-learn:
# loaded from nbtrack.evaluation on first access.
_EVALUATION = frozenset(
    {"EvaluationArtifact", "EvaluationMetric", "EvaluationResult", "MetricThreshold",
     "evaluate", "make_metric"}
)  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _EVALUATION:
        import nbtrack.evaluation

        return getattr(nbtrack.evaluation, name)
    if name in ("serve", "ModelServer"):  # the model server handle, loaded on first use
        from nbtrack import serving

        return getattr(serving, name)
    raise AttributeError(f"module 'nbtrack.models' has no attribute {name!r}")
