"""The deployment gate: ``MetricThreshold`` and ``validate_evaluation_results``, as MLflow's.

The checks and their semantics are MLflow 3.17's (``mlflow.models.evaluation.validation``):
a value ``threshold``; a ``min_absolute_change`` and a ``min_relative_change`` over the
baseline (relative to the baseline's magnitude; a zero baseline falls back to "better by
1e-10"). nbtrack adds ``significance_level``: the improvement over the baseline (beyond
``min_absolute_change`` when given) must also be significant, by a one-sided paired
bootstrap test on the same resamples of the same rows. A failed gate raises
``ModelValidationFailedException`` whose message is a table of every failed check; the
checks, passed or not, are kept on the candidate result (``result.validation``) for the
report.
"""

from __future__ import annotations

import math
import operator
from decimal import Decimal
from typing import Any

from nbtrack.errors import (
    EvaluationError,
    MetricThresholdClassException,
    ModelValidationFailedException,
)
from nbtrack.evaluation.bootstrap import p_value_of_improvement
from nbtrack.evaluation.result import Check, EvaluationResult

_NUMBER = (int, float)


class MetricThreshold:
    """Thresholds one metric must meet (``mlflow.models.MetricThreshold``).

    Parameters
    ----------
    threshold
        The value to reach: ``>=`` when greater is better, ``<=`` otherwise.
    min_absolute_change
        A positive number: the candidate must beat the baseline by at least this much.
    min_relative_change
        A float in [0, 1]: the candidate must beat the baseline by at least this share of
        the baseline's magnitude.
    greater_is_better
        Required: whether larger values of the metric are better.
    significance_level
        nbtrack only: a float in (0, 1), e.g. 0.05. The candidate's improvement over the
        baseline (beyond ``min_absolute_change`` when given, else beyond zero) must be
        significant at this level: the share of paired bootstrap resamples where it is not
        must be at most this. Needs a baseline evaluated on the same rows with
        ``bootstrap_resamples`` > 0.
    """

    def __init__(
        self,
        threshold: float | None = None,
        min_absolute_change: float | None = None,
        min_relative_change: float | None = None,
        greater_is_better: bool | None = None,
        *,
        significance_level: float | None = None,
    ):
        if threshold is not None and type(threshold) not in _NUMBER:
            raise _invalid_threshold("`threshold` parameter must be a number.")
        if min_absolute_change is not None and (
            type(min_absolute_change) not in _NUMBER or min_absolute_change <= 0
        ):
            raise _invalid_threshold("`min_absolute_change` parameter must be a positive number.")
        if min_relative_change is not None:
            if not isinstance(min_relative_change, float):
                raise _invalid_threshold(
                    "`min_relative_change` parameter must be a floating point number."
                )
            if not 0 <= min_relative_change <= 1:
                raise _invalid_threshold("`min_relative_change` parameter must be between 0 and 1.")
        if significance_level is not None and (
            type(significance_level) is not float or not 0 < significance_level < 1
        ):
            raise _invalid_threshold(
                "`significance_level` parameter must be a float between 0 and 1, e.g. 0.05."
            )
        if greater_is_better is None:
            raise _invalid_threshold("`greater_is_better` parameter must be defined.")
        if not isinstance(greater_is_better, bool):
            raise _invalid_threshold("`greater_is_better` parameter must be a boolean.")
        if all(
            v is None
            for v in (threshold, min_absolute_change, min_relative_change, significance_level)
        ):
            raise _invalid_threshold("no threshold was specified.")
        self.threshold = threshold
        self.min_absolute_change = min_absolute_change
        self.min_relative_change = min_relative_change
        self.greater_is_better = greater_is_better
        self.significance_level = significance_level

    @property
    def compares(self) -> bool:
        """Whether a baseline is needed."""
        return bool(self.min_absolute_change or self.min_relative_change or self.significance_level)

    def __str__(self) -> str:
        parts = []
        if self.threshold is not None:
            parts.append(f"Threshold: {self.threshold}.")
        if self.min_absolute_change is not None:
            parts.append(f"Minimum Absolute Change: {self.min_absolute_change}.")
        if self.min_relative_change is not None:
            parts.append(f"Minimum Relative Change: {self.min_relative_change}.")
        if self.significance_level is not None:
            parts.append(f"Significance Level: {self.significance_level}.")
        parts.append(
            "Greater value is better." if self.greater_is_better else "Lower value is better."
        )
        return " ".join(parts)

    __repr__ = __str__


def validate_evaluation_results(
    validation_thresholds: dict[str, MetricThreshold],
    candidate_result: EvaluationResult,
    baseline_result: EvaluationResult | None = None,
) -> None:
    """Check a candidate's evaluation against thresholds and a baseline's evaluation.

    Parameters
    ----------
    validation_thresholds
        Metric name → :class:`MetricThreshold` (names as in ``result.metrics``).
    candidate_result
        ``evaluate``'s result for the candidate model.
    baseline_result
        ``evaluate``'s result for the baseline model. When None, the baseline the candidate
        was evaluated with (``evaluate(baseline_model=...)``) is used, if any.

    Raises
    ------
    ModelValidationFailedException
        One or more checks failed; the message is a table of every failed check.
    """
    if type(validation_thresholds) is not dict or not all(
        type(k) is str and isinstance(v, MetricThreshold) for k, v in validation_thresholds.items()
    ):
        raise EvaluationError(
            "The validation thresholds argument must be a dictionary that maps strings "
            "to MetricThreshold objects."
        )
    baseline = _Baseline(candidate_result, baseline_result)
    checks: list[Check] = []
    for name, threshold in validation_thresholds.items():
        checks += _checks(name, threshold, candidate_result, baseline)
    candidate_result.validation = checks
    failed = [c for c in checks if not c.passed]
    if failed:
        raise ModelValidationFailedException(failure_table(failed, len(checks)), checks=failed)


class _Baseline:
    """The baseline's metrics and resampled values, paired with the candidate's if possible."""

    def __init__(self, candidate: EvaluationResult, given: EvaluationResult | None):
        if given is not None:
            self.metrics: dict[str, Any] = given.metrics
            same = (
                given.resampling is not None
                and given.resampling == candidate.resampling
                and given.dataset_digest == candidate.dataset_digest
            )
            self.resampled = given.resampled if same else {}
            self.why_unpaired = (
                ""
                if same
                else (
                    "the baseline was not evaluated on the same rows with the same "
                    "bootstrap_resamples and bootstrap_seed"
                )
            )
        else:
            self.metrics = candidate.baseline_model_metrics or {}
            self.resampled = candidate.baseline_resampled
            self.why_unpaired = "" if self.resampled else "no baseline was evaluated"


def _checks(
    name: str, t: MetricThreshold, candidate: EvaluationResult, baseline: _Baseline
) -> list[Check]:
    value = candidate.metrics.get(name)
    base = baseline.metrics.get(name)
    if value is None:
        return [
            Check(
                name,
                "missing",
                None,
                base,
                "present",
                False,
                "metric was missing from the evaluation result of the candidate model",
            )
        ]
    better = operator.ge if t.greater_is_better else operator.le
    sign = "≥" if t.greater_is_better else "≤"
    out = []
    if t.threshold is not None:
        out.append(
            Check(
                name,
                "threshold",
                value,
                base,
                f"{sign} {t.threshold}",
                bool(better(value, t.threshold)),
            )
        )
    if not t.compares:
        return out
    if base is None:
        out.append(
            Check(
                name,
                "baseline",
                value,
                None,
                "present",
                False,
                "metric was missing from the evaluation result of the baseline model",
            )
        )
        return out
    step = operator.add if t.greater_is_better else operator.sub
    if t.min_absolute_change is not None:
        bound = step(base, t.min_absolute_change)
        ok = better(Decimal(value), Decimal(bound))
        out.append(Check(name, "min_absolute_change", value, base, f"{sign} {bound:.6g}", ok))
    if t.min_relative_change is not None:
        out.append(_relative(name, t, value, base))
    if t.significance_level is not None:
        out.append(_significance(name, t, value, base, candidate, baseline))
    return out


def _relative(name: str, t: MetricThreshold, value: float, base: float) -> Check:
    sign = "≥" if t.greater_is_better else "≤"
    if base == 0:  # MLflow's fallback: strictly better by 1e-10
        bound = base + 1e-10 if t.greater_is_better else base - 1e-10
        ok = (operator.ge if t.greater_is_better else operator.le)(Decimal(value), Decimal(bound))
        return Check(
            name,
            "min_relative_change",
            value,
            base,
            f"{sign} {bound:.6g}",
            ok,
            "baseline is 0: candidate must be better",
        )
    change = (value - base) if t.greater_is_better else (base - value)
    relative = change / abs(base)
    wanted = t.min_relative_change or 0.0
    return Check(
        name,
        "min_relative_change",
        value,
        base,
        f"change ≥ {wanted:.2%}",
        relative >= wanted,
        f"relative change {relative:.2%}",
    )


def _significance(
    name: str,
    t: MetricThreshold,
    value: float,
    base: float,
    candidate: EvaluationResult,
    baseline: _Baseline,
) -> Check:
    level = t.significance_level or 0.0
    required = f"p ≤ {level:g}"
    mine, theirs = candidate.resampled.get(name), baseline.resampled.get(name)
    if mine is None or theirs is None or len(mine) != len(theirs):
        why = baseline.why_unpaired or "the metric has no bootstrap values (bootstrap_resamples=0)"
        return Check(
            name, "significance", value, base, required, False, f"cannot test significance: {why}"
        )
    margin = t.min_absolute_change or 0.0
    p = p_value_of_improvement(mine - theirs, t.greater_is_better, margin)
    beyond = f" beyond {margin:g}" if margin else ""
    return Check(
        name,
        "significance",
        value,
        base,
        required,
        p <= level,
        f"paired bootstrap p = {p:.4g} for an improvement{beyond}",
    )


def failure_table(failed: list[Check], total: int) -> str:
    """The failed checks as a plain-text table (the exception's message)."""
    header = ("metric", "check", "candidate", "baseline", "required", "detail")
    rows = [header] + [
        (c.metric, c.check, _num(c.candidate), _num(c.baseline), c.required, c.detail)
        for c in failed
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    title = f"Model validation failed: {len(failed)} of {total} checks failed"
    return "\n".join([title, *lines])


def _num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _invalid_threshold(problem: str) -> MetricThresholdClassException:
    """MLflow's error for a threshold that cannot be built, with its message prefix."""
    return MetricThresholdClassException("Could not instantiate MetricThreshold class: " + problem)
