"""What ``evaluate`` returns: MLflow's ``EvaluationResult`` plus intervals and the baseline.

``metrics`` holds exactly the metrics MLflow's default evaluator returns (names and values);
the rest is nbtrack's: ``confidence_intervals`` (metric → (low, high)), the baseline's
metrics and intervals, the paired ``differences`` with their intervals, and after
``validate_evaluation_results`` the gate's ``validation`` checks. In a notebook the result
shows itself as the evaluation report panel (``nbtrack.panels.evaluation``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nbtrack.evaluation.bootstrap import Resampling


class EvaluationArtifact:
    """A file ``evaluate`` logged: its artifact ``uri``, local ``path`` and ``content``.

    ``content`` is a PIL image for a ``.png``, a DataFrame for a ``.csv`` and the parsed
    object for a ``.json``, read on first access.
    """

    def __init__(self, uri: str, path: str | None = None):
        self._uri = uri
        self._path = path
        self._content: Any = None

    @property
    def uri(self) -> str:
        """The artifact's URI in the run (``<artifact root>/<file>``)."""
        return self._uri

    @property
    def path(self) -> str | None:
        """The artifact's local file."""
        return self._path

    @property
    def content(self) -> Any:
        """The artifact read back (image, DataFrame or JSON object)."""
        if self._content is None and self._path is not None:
            suffix = Path(self._path).suffix
            if suffix == ".png":
                from PIL import Image

                with Image.open(self._path) as image:
                    self._content = image.copy()
            elif suffix == ".csv":
                import pandas as pd

                self._content = pd.read_csv(self._path)
            elif suffix == ".json":
                self._content = json.loads(Path(self._path).read_text())
        return self._content

    def __repr__(self) -> str:
        return f"{type(self).__name__}(uri='{self.uri}')"


@dataclass
class Comparison:
    """A metric of the candidate minus the baseline's, over the same resamples."""

    difference: float
    low: float
    high: float
    p_value: float


@dataclass
class Check:
    """One threshold check of ``validate_evaluation_results``."""

    metric: str
    check: str  # threshold, min_absolute_change, min_relative_change, significance, missing
    candidate: float | None
    baseline: float | None
    required: str
    passed: bool
    detail: str = ""


@dataclass
class EvaluationResult:
    """The metrics and artifacts of one ``evaluate`` call (``mlflow.models.EvaluationResult``)."""

    metrics: dict[str, Any]
    artifacts: dict[str, EvaluationArtifact]
    run_id: str | None = None
    confidence_intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    confidence_level: float = 0.95
    baseline_model_metrics: dict[str, Any] | None = None
    baseline_confidence_intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    differences: dict[str, Comparison] = field(default_factory=dict)
    greater_is_better: dict[str, bool] = field(default_factory=dict)
    model_type: str = ""
    validation: list[Check] | None = None
    resampling: Resampling | None = field(default=None, repr=False)
    dataset_digest: str | None = field(default=None, repr=False)
    resampled: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    baseline_resampled: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def tables(self) -> dict[str, Any]:
        """The CSV artifacts as DataFrames (per-class metrics, permutation importance…)."""
        return {
            name: artifact.content
            for name, artifact in self.artifacts.items()
            if artifact.path and artifact.path.endswith(".csv")
        }

    @property
    def passed(self) -> bool | None:
        """The gate's verdict once validated (None before ``validate_evaluation_results``)."""
        return None if self.validation is None else all(c.passed for c in self.validation)

    def summary(self) -> list[dict[str, Any]]:
        """One row per metric: value, interval, baseline, difference and its interval."""
        out = []
        for name, value in self.metrics.items():
            low, high = self.confidence_intervals.get(name, (None, None))
            row: dict[str, Any] = {
                "metric": name,
                "value": value,
                "ci_lower": low,
                "ci_upper": high,
            }
            if self.baseline_model_metrics is not None:
                row["baseline"] = self.baseline_model_metrics.get(name)
                diff = self.differences.get(name)
                row["difference"] = diff.difference if diff else None
                row["difference_ci_lower"] = diff.low if diff else None
                row["difference_ci_upper"] = diff.high if diff else None
                row["p_value"] = diff.p_value if diff else None
            out.append(row)
        return out

    def save(self, path: str) -> None:
        """Write ``metrics.json`` and ``artifacts_metadata.json`` to a folder (as MLflow)."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "metrics.json").write_text(json.dumps(self.metrics))
        meta = {name: {"uri": a.uri, "path": a.path} for name, a in self.artifacts.items()}
        (folder / "artifacts_metadata.json").write_text(json.dumps(meta))

    def _panel(self) -> Any:
        # the one upward import (evaluation → panels): the report is how a result displays
        from nbtrack.panels.evaluation import EvaluationReport

        return EvaluationReport(self)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        try:
            return self._panel()._repr_mimebundle_(**kwargs)
        except ImportError:  # no notebook extra (ipywidgets…): the plain repr
            return {"text/plain": repr(self)}

    def _repr_html_(self) -> str | None:
        try:
            return self._panel().static_html()
        except ImportError:
            return None

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={_short(v)}" for k, v in list(self.metrics.items())[:6])
        more = "…" if len(self.metrics) > 6 else ""
        return f"<EvaluationResult run_id={self.run_id!r} {shown}{more}>"


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
