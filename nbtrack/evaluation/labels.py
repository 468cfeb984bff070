"""Class labels as MLflow's classifier evaluator orders them, and the checks around them.

The labels are ``label_list`` when given, else every value in the targets and the
predictions, sorted. With two labels the positive one is ``pos_label`` (default: the
larger) and goes last. What MLflow only warns about is an error here: continuous
targets or predictions under ``model_type="classifier"`` (a regressor evaluated as a
classifier), and a ``pos_label`` that is not among the labels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nbtrack.errors import EvaluationError


def class_labels(
    y_true: np.ndarray, y_pred: np.ndarray, label_list: Any, pos_label: Any
) -> tuple[np.ndarray, Any, int]:
    """(labels with the positive one last when binary, the positive label, its sorted index)."""
    _discrete(y_true, "targets")
    _discrete(y_pred, "predictions")
    if label_list is None:
        labels = np.unique(np.concatenate([y_true, y_pred]))
    else:
        labels = np.unique(np.asarray(label_list))
        unknown = sorted(set(np.unique(y_true).tolist()) - set(labels.tolist()), key=str)
        if unknown:
            raise EvaluationError(
                f"targets hold labels {unknown} that are not in label_list {labels.tolist()}"
            )
    if len(labels) < 2:
        raise EvaluationError(
            "Evaluation dataset for classification must contain at least two unique labels, "
            f"but only {len(labels)} unique labels were found; pass evaluator_config="
            "{'label_list': [...]} with every class"
        )
    if pos_label is not None and pos_label not in labels.tolist():
        raise EvaluationError(
            f"pos_label {pos_label!r} is not one of the labels {labels.tolist()}; set "
            "evaluator_config['pos_label'] to one of them"
        )
    if len(labels) != 2:
        return labels, None, 0
    if pos_label is None:
        return labels, labels[-1], 1
    pos_index = int(np.flatnonzero(labels == pos_label)[0])
    ordered = np.append(np.delete(labels, pos_index), pos_label)
    return ordered, pos_label, pos_index


def _discrete(values: np.ndarray, what: str) -> None:
    """Refuse continuous numbers as class labels."""
    if values.dtype.kind != "f":
        return
    finite = values[np.isfinite(values)]
    fractional = finite[finite != np.round(finite)]
    if fractional.size:
        raise EvaluationError(
            f"model_type='classifier' but the {what} are continuous numbers (e.g. "
            f"{fractional[0]:g}); evaluate a regressor with model_type='regressor'"
        )


def numeric(values: np.ndarray, what: str) -> np.ndarray:
    """Regression targets or predictions as float64, refusing text labels."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise EvaluationError(
            f"model_type='regressor' but the {what} are not numbers (e.g. {values[0]!r}); "
            "evaluate a classifier with model_type='classifier'"
        ) from None
