"""Compare's param-versus-metric scatter: one point per run, in the run's colour.

The x axis offers the params whose values are numbers and differ between the runs; the y
axis any metric (latest values). Drawn by the shared chart library as a lines chart of
one-point series, so each run keeps its colour and legend entry from the other charts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import ipywidgets

from nbtrack.entities import Run
from nbtrack.panels import plots, static
from nbtrack.panels.charts import Chart


def numeric_params(runs: Sequence[Run]) -> list[str]:
    """Params that are numbers wherever logged and differ between the runs, sorted."""
    keys = sorted({k for run in runs for k in run.data.params})
    found = []
    for key in keys:
        values = [run.data.params.get(key) for run in runs]
        numbers = [_number(v) for v in values if v is not None]
        if numbers and all(n is not None for n in numbers) and len(set(values)) > 1:
            found.append(key)
    return found


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class ParamScatter(ipywidgets.VBox):
    """A param (x) against a metric (y), one point per run."""

    def __init__(self) -> None:
        self.param_choice = ipywidgets.Dropdown(description="Param", layout={"width": "20em"})
        self.metric_choice = ipywidgets.Dropdown(description="Metric", layout={"width": "20em"})
        self.chart: Chart | None = None
        self._runs: list[Run] = []
        self._names: list[str] = []
        self.box = ipywidgets.Box()
        heading = ipywidgets.HTML(static.heading("Param against metric"))
        super().__init__(
            [heading, ipywidgets.HBox([self.param_choice, self.metric_choice]), self.box]
        )
        for widget in (self.param_choice, self.metric_choice):
            widget.observe(lambda _: self._draw(), names=["value"])

    def show(self, runs: Sequence[Run], names: Sequence[str], metric: str | None = None) -> None:
        """Offer the runs' numeric params and metrics, and draw the chosen pair."""
        self._runs, self._names = list(runs), list(names)
        params = numeric_params(runs)
        metrics = sorted({k for run in runs for k in run.data.metrics})
        _offer(self.param_choice, params, None)
        _offer(self.metric_choice, metrics, metric)
        self.layout.display = None if params and metrics else "none"
        self._draw()

    def _draw(self) -> None:
        param, metric = self.param_choice.value, self.metric_choice.value
        if not param or not metric:
            return
        points = []
        for run in self._runs:
            x = run.data.params.get(param)
            y = run.data.metrics.get(metric)
            x_value = _number(x) if x is not None else None
            points.append(([x_value], [y]) if x_value is not None and y is not None else ([], []))
        layout: dict[str, Any] = {"x_title": param, "title": f"{metric} against {param}"}
        if self.chart is None:
            self.chart = plots.history_chart(self._names, points, metric)
            self.chart.update(**layout)
            self.box.children = (self.chart,)
        else:
            plots.set_history(self.chart, self._names, points, metric)
            self.chart.update(**layout)


def _offer(choice: ipywidgets.Dropdown, options: list[str], wanted: str | None) -> None:
    if list(choice.options) != options:
        current = choice.value if choice.value in options else wanted
        choice.options = options
        choice.value = current if current in options else (options[0] if options else None)
