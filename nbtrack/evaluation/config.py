"""``evaluator_config``, checked: MLflow's keys plus nbtrack's bootstrap keys.

MLflow's: ``metric_prefix``, ``pos_label``, ``label_list``, ``average`` (weighted, macro,
micro), ``sample_weights``, ``log_model_explainability``, ``explainability_nsamples``,
``max_classes_for_multiclass_roc_pr``, ``col_mapping``. nbtrack's: ``bootstrap_resamples``
(1000; 0 for no intervals), ``bootstrap_seed`` (0), ``confidence_level`` (0.95),
``explainability_repeats`` (5). Any other key is kept for extra metrics, which receive
config values by parameter name, as in MLflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nbtrack.errors import EvaluationError


@dataclass(frozen=True)
class Settings:
    """``evaluator_config``, checked (MLflow's keys plus nbtrack's bootstrap keys)."""

    prefix: str = ""
    pos_label: Any = None
    label_list: Any = None
    average: str = "weighted"
    weights: np.ndarray | None = None
    explain: bool = True
    nsamples: int = 2000
    repeats: int = 5
    max_roc_classes: int = 10
    resamples: int = 1000
    seed: int = 0
    level: float = 0.95
    raw: dict[str, Any] = field(default_factory=dict)


def settings(config: dict[str, Any] | None, rows: int) -> Settings:
    """Check ``evaluator_config``; unknown keys stay available to extra metrics."""
    if config is not None and not isinstance(config, dict):
        raise EvaluationError(f"evaluator_config must be a dict (found {type(config).__name__})")
    config = dict(config or {})
    prefix = config.get("metric_prefix") or ""
    if not isinstance(prefix, str):
        raise EvaluationError(f"metric_prefix must be a string (found {prefix!r})")
    average = config.get("average", "weighted")
    if average not in ("weighted", "macro", "micro"):
        raise EvaluationError(f"average must be 'weighted', 'macro' or 'micro' (found {average!r})")
    weights = config.get("sample_weights")
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != (rows,):
            raise EvaluationError(
                f"sample_weights must hold one weight per row ({rows}); found shape {weights.shape}"
            )
    resamples = config.get("bootstrap_resamples", 1000)
    if not isinstance(resamples, int) or resamples < 0 or resamples == 1:
        raise EvaluationError(
            f"bootstrap_resamples must be 0 (no intervals) or ≥ 2 (found {resamples!r})"
        )
    level = config.get("confidence_level", 0.95)
    if not isinstance(level, float) or not 0 < level < 1:
        raise EvaluationError(f"confidence_level must be a float in (0, 1) (found {level!r})")
    return Settings(
        prefix=prefix,
        pos_label=config.get("pos_label"),
        label_list=config.get("label_list"),
        average=average,
        weights=weights,
        explain=bool(config.get("log_model_explainability", True)),
        nsamples=int(config.get("explainability_nsamples", 2000)),
        repeats=int(config.get("explainability_repeats", 5)),
        max_roc_classes=int(config.get("max_classes_for_multiclass_roc_pr", 10)),
        resamples=resamples,
        seed=int(config.get("bootstrap_seed", 0)),
        level=level,
        raw=config,
    )
