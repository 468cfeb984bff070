"""The evaluation report: what ``nbtrack.evaluate`` found, inline in the notebook.

Metrics with their confidence intervals, the baseline and the paired difference with its
interval, the gate's verdict per check once ``validate_evaluation_results`` ran, and the
plots. The live form is ipywidgets (HTML tables and Image widgets); the static form is one
self-contained HTML block with the plots as base64 PNGs (nbviewer, GitHub, exported HTML);
the text form is for a terminal. No chart library: the plots are the PNG artifacts.
"""

from __future__ import annotations

import base64
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets

from nbtrack.panels.base import Panel
from nbtrack.panels.static import esc, heading, html_table, text_table

if TYPE_CHECKING:
    from nbtrack.evaluation.result import EvaluationResult

VERDICT_COLORS = {"passed": "#15803d", "failed": "#b91c1c", "not validated": "#6b7280"}


class EvaluationReport(Panel):
    """One ``EvaluationResult`` as a report (not live: an evaluation does not change).

    Parameters
    ----------
    result
        What ``nbtrack.evaluate`` returned (after ``validate_evaluation_results`` the gate's
        checks show too).
    """

    def __init__(self, result: EvaluationResult, **kwargs: Any):
        self.result = result
        super().__init__(live=False, **kwargs)
        self.add_class("nbtrack-evaluation")

    def _update(self) -> None:
        images = [
            ipywidgets.Image(value=data, format="png", layout=ipywidgets.Layout(width="420px"))
            for _, data in _plots(self.result)
        ]
        body = ipywidgets.HTML(_header(self.result) + _tables_html(self.result))
        plots = ipywidgets.Box(images, layout=ipywidgets.Layout(flex_flow="row wrap"))
        self._frame(body, plots)

    def static_html(self) -> str:
        """The report as self-contained HTML, plots embedded as base64 PNGs."""
        figures = "".join(
            f'<img alt="{esc(name)}" style="width:420px;margin:2px" '
            f'src="data:image/png;base64,{base64.b64encode(data).decode()}"/>'
            for name, data in _plots(self.result)
        )
        return (
            '<div class="nbtrack-static">'
            + _header(self.result)
            + _tables_html(self.result)
            + f'<div style="display:flex;flex-wrap:wrap">{figures}</div></div>'
        )

    def static_text(self) -> str:
        """The report as plain text."""
        r = self.result
        lines = [_title(r) + f" — {_verdict(r)}", text_table(*_metric_rows(r))]
        if r.validation:
            lines += ["", "gate:", text_table(*_check_rows(r))]
        names = [name for name, _ in _plots(r)]
        if names:
            lines += ["", "plots: " + ", ".join(names)]
        return "\n".join(lines)


def _title(r: EvaluationResult) -> str:
    run = f" · run {r.run_id}" if r.run_id else ""
    return f"nbtrack evaluation · {r.model_type}{run}"


def _verdict(r: EvaluationResult) -> str:
    return "not validated" if r.passed is None else ("passed" if r.passed else "failed")


def _header(r: EvaluationResult) -> str:
    verdict = _verdict(r)
    color = VERDICT_COLORS[verdict]
    badge = (
        f'<span style="color:{color};border:1px solid {color};border-radius:8px;'
        f'padding:0 6px;font-size:85%">gate: {esc(verdict)}</span>'
    )
    note = f"{r.confidence_level:.0%} bootstrap intervals" if r.confidence_intervals else ""
    return heading(_title(r), note) + f"<div>{badge}</div>"


def _tables_html(r: EvaluationResult) -> str:
    out = html_table(*_metric_rows(r))
    if r.validation:
        header, body = _check_rows(r)
        out += heading("Gate") + html_table(header, body)
    return out


def _num(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _span(low: Any, high: Any) -> str:
    if low is None or (isinstance(low, float) and math.isnan(low)):
        return ""
    return f"[{_num(low)}, {_num(high)}]"


def _metric_rows(r: EvaluationResult) -> tuple[list[str], list[list[str]]]:
    level = f"{r.confidence_level:.0%} CI"
    header = ["metric", "value", level]
    has_baseline = r.baseline_model_metrics is not None
    if has_baseline:
        header += ["baseline", "difference", f"difference {level}", "p (better)"]
    body = []
    for row in r.summary():
        cells = [row["metric"], _num(row["value"]), _span(row["ci_lower"], row["ci_upper"])]
        if has_baseline:
            diff = row["difference"]
            cells += [
                _num(row["baseline"]),
                "" if diff is None else f"{diff:+.4g}",
                _span(row["difference_ci_lower"], row["difference_ci_upper"]),
                _num(row["p_value"]),
            ]
        body.append(cells)
    return header, body


def _check_rows(r: EvaluationResult) -> tuple[list[str], list[list[str]]]:
    header = ["metric", "check", "candidate", "baseline", "required", "result", "detail"]
    body = [
        [c.metric, c.check, _num(c.candidate), _num(c.baseline), c.required,
         "pass" if c.passed else "FAIL", c.detail]
        for c in r.validation or []
    ]  # fmt: skip
    return header, body


def _plots(r: EvaluationResult) -> list[tuple[str, bytes]]:
    """The PNG artifacts, read from the run's artifact folder."""
    out = []
    for name, artifact in r.artifacts.items():
        path = Path(artifact.path) if artifact.path else None
        if path is not None and path.suffix == ".png" and path.exists():
            out.append((name, path.read_bytes()))
    return out
