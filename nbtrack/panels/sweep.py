"""Parallel coordinates of a sweep: every descendant run of a parent as one line.

Varying params sit on the left, metrics on the right. A param whose values are not all
numbers gets a categorical axis (its values as tick labels); a positive numeric param
that spans decades gets a log axis (parcoords has none, so it plots log10 and labels the
ticks with the real values). Lines are coloured by a chosen metric. Brushing axes
(plotly ``constraintrange``) narrows the linked run table below, and ``.selected``
returns the runs inside every brush.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ipywidgets
import plotly.graph_objects as go

from nbtrack import display
from nbtrack.client import MlflowClient
from nbtrack.frames import runs_frame
from nbtrack.panels import static
from nbtrack.panels.base import Panel
from nbtrack.panels.runs import RunTable

if TYPE_CHECKING:
    import pandas as pd

LOG_SPAN = 50.0  # max/min ratio from which a positive param gets a log axis
MAX_CATEGORY_TICKS = 30
MIN_WIDTH, MAX_WIDTH = 640, 1180


@dataclass(frozen=True)
class Axis:
    """One parcoords dimension: its label, plotted values and ticks."""

    label: str
    kind: str  # "param-number", "param-log", "param-category", "metric"
    values: tuple[float | None, ...]  # plotted (log10 for log axes, codes for categories)
    tickvals: tuple[float, ...] | None = None
    ticktext: tuple[str, ...] | None = None
    categories: tuple[str, ...] = ()  # a categorical axis's labels, by code

    def to_plotly(self, constraint: Any = None) -> dict[str, Any]:
        """The dimension as plotly takes it."""
        dim: dict[str, Any] = {"label": self.label, "values": list(self.values)}
        if self.tickvals is not None:
            dim["tickvals"] = list(self.tickvals)
            dim["ticktext"] = list(self.ticktext or ())
        if constraint is not None:
            dim["constraintrange"] = constraint
        return dim


class ParallelCoordinates(Panel):
    """The sweep under a parent run, as plotly parallel coordinates with a linked table.

    Parameters
    ----------
    parent_run_id
        The parent run; its descendants at every depth are drawn.
    color_by
        The metric that colours the lines (default: the first metric).
    client
        The client to read through (default: current tracking URI).
    live
        Refresh when the store changes (default True).
    """

    def __init__(
        self,
        parent_run_id: str,
        color_by: str | None = None,
        client: MlflowClient | None = None,
        live: bool = True,
    ):
        client = client or MlflowClient()
        self.parent = client.get_run(parent_run_id)  # unknown ids fail here
        self.parent_run_id = parent_run_id
        self.run_ids: list[str] = []
        self.axes: list[Axis] = []
        self._metric_values: dict[str, list[float | None]] = {}
        self._wanted_color = color_by
        self.title = ipywidgets.HTML()
        self.color_choice = ipywidgets.Dropdown(description="Colour by", layout={"width": "24em"})
        self.figure = go.FigureWidget(
            data=[go.Parcoords(dimensions=[], line={"color": [], "colorscale": "Viridis"})],
            layout={"template": "plotly_white", "height": 440,
                    "margin": {"l": 80, "r": 150, "t": 72, "b": 32}, "font": {"size": 12}},
        )
        self.table = RunTable(under=parent_run_id, tree=False, page_size=25, client=client,
                              actions=False, title="Runs inside the brushes", live=live)
        super().__init__(client=client, live=live)
        self._frame(self.title, self.color_choice, self.figure, self.table)
        self.color_choice.observe(self.callback(lambda _: self._draw_color()), names=["value"])
        self.figure.data[0].on_change(self.callback(self._on_brush), "dimensions")

    # -- reading ----------------------------------------------------------------------

    def _update(self) -> None:
        self.parent = self.client.get_run(self.parent_run_id)
        ids = self.queries.descendants(self.parent_run_id)
        table = self.client.store.run_table(ids)
        params: dict[str, dict[str, str]] = {}
        metrics: dict[str, dict[str, float]] = {}
        for run_id, key, value in table.params:
            params.setdefault(key, {})[run_id] = value
        for run_id, key, number in table.metrics:
            metrics.setdefault(key, {})[run_id] = number
        axes = [
            _param_axis(key, [params[key].get(i) for i in ids])
            for key in sorted(params)
            if len({params[key].get(i) for i in ids}) > 1
        ]
        self._metric_values = {
            key: [_finite(metrics[key].get(i)) for i in ids] for key in sorted(metrics)
        }
        axes += [Axis(key, "metric", tuple(v)) for key, v in self._metric_values.items()]
        changed = ids != self.run_ids or axes != self.axes
        self.run_ids, self.axes = ids, axes
        name = self.parent.info.run_name
        title = static.heading(f"Sweep under {name}", f"{len(ids)} runs · {len(axes)} axes")
        if self.title.value != title:
            self.title.value = title
        keys = list(self._metric_values)
        if list(self.color_choice.options) != keys:
            wanted = self.color_choice.value or self._wanted_color
            self.color_choice.options = keys
            self.color_choice.value = wanted if wanted in keys else (keys[0] if keys else None)
        if changed:
            self._draw()

    def _draw(self) -> None:
        trace = self.figure.data[0]
        kept = {d.label: d.constraintrange for d in trace.dimensions if d.constraintrange}
        with self.figure.batch_update():
            trace.dimensions = [a.to_plotly(kept.get(a.label)) for a in self.axes]
            # room for each axis's tick labels, within what a notebook column shows
            self.figure.layout.width = min(MAX_WIDTH, max(MIN_WIDTH, 150 * len(self.axes) + 240))
            self._draw_color()

    def _draw_color(self) -> None:
        key = self.color_choice.value
        values = self._metric_values.get(key, []) if key else []
        trace = self.figure.data[0]
        finite = [v for v in values if v is not None]
        fill = min(finite) if finite else 0.0
        trace.line = {
            "color": [fill if v is None else v for v in values] if finite else None,
            "colorscale": "Viridis",
            "showscale": bool(finite),
            "colorbar": {"title": {"text": key or ""}, "x": 1.04, "xanchor": "left"},
        }

    # -- brushing ---------------------------------------------------------------------

    def _on_brush(self, _trace: Any, dimensions: Any) -> None:
        ids = self.selected_run_ids
        self.table.set_scope(None if len(ids) == len(self.run_ids) else ids)

    @property
    def brushes(self) -> dict[str, list[list[float]]]:
        """The active brushes: axis label -> ranges in plotted units."""
        found = {}
        for dim in self.figure.data[0].dimensions:
            if dim.constraintrange:
                ranges = dim.constraintrange
                found[dim.label] = [list(r) for r in ranges] if _nested(ranges) else [list(ranges)]
        return found

    @property
    def selected_run_ids(self) -> list[str]:
        """The runs whose line passes inside every brush (all runs when none)."""
        brushes = self.brushes
        index = {a.label: a for a in self.axes}
        keep = []
        for i, run_id in enumerate(self.run_ids):
            inside = True
            for label, ranges in brushes.items():
                axis = index.get(label)
                value = axis.values[i] if axis is not None else None
                if value is None or not any(lo <= value <= hi for lo, hi in ranges):
                    inside = False
                    break
            if inside:
                keep.append(run_id)
        return keep

    @property
    def selected(self) -> pd.DataFrame:
        """The runs inside the brushes as a ``search_runs``-style DataFrame."""
        return runs_frame(self.client.store, self.selected_run_ids)

    def brush(self, label: str, low: float, high: float) -> None:
        """Brush an axis from Python (in the axis's real units; log axes take real values)."""
        axis = {a.label: a for a in self.axes}[label]
        if axis.kind == "param-log":
            low, high = math.log10(low), math.log10(high)
        for dim in self.figure.data[0].dimensions:
            if dim.label == label:
                dim.constraintrange = [low, high]

    # -- static rendering -------------------------------------------------------------

    def _summary_rows(self) -> tuple[list[str], list[list[str]]]:
        header = ["run", *[a.label for a in self.axes]]
        names = {r.run_id: r.name for r in self.client.store.run_table(self.run_ids).runs}
        body = []
        for i, run_id in enumerate(self.run_ids):
            body.append([names.get(run_id, run_id), *[_shown(a, i) for a in self.axes]])
        return header, body

    def static_html(self) -> str:
        """The sweep as an HTML table (one row per run)."""
        header, body = self._summary_rows()
        return (
            '<div class="nbtrack-static">'
            + static.heading(f"Sweep under {self.parent.info.run_name}", f"{len(body)} runs")
            + static.html_table(header, body) + "</div>"
        )

    def static_text(self) -> str:
        """The sweep as a text table."""
        header, body = self._summary_rows()
        return (f"Sweep under {self.parent.info.run_name}: {len(body)} runs\n"
                + static.text_table(header, body))


# -- axes -------------------------------------------------------------------------------


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _number(text: str | None) -> float | None:
    if text is None or text.strip().lower() in ("true", "false", "nan", "inf", "-inf"):
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _param_axis(key: str, raw: Sequence[str | None]) -> Axis:
    """A param's axis: numeric, log (positive values spanning decades) or categorical."""
    numbers = [_number(v) for v in raw]
    present = [v for v in raw if v is not None]
    if all(n is not None for n, v in zip(numbers, raw, strict=True) if v is not None):
        finite = [n for n in numbers if n is not None]
        if finite and min(finite) > 0 and max(finite) / min(finite) >= LOG_SPAN:
            return _log_axis(key, numbers)
        return Axis(key, "param-number", tuple(numbers))
    labels = sorted({v for v in present}, key=_natural)
    if any(v is None for v in raw):
        labels.append("(none)")
    code = {label: float(i) for i, label in enumerate(labels)}
    values = tuple(code[v if v is not None else "(none)"] for v in raw)
    ticks = tuple(range(len(labels)))
    if len(labels) > MAX_CATEGORY_TICKS:  # too many to label: every n-th one
        step = math.ceil(len(labels) / MAX_CATEGORY_TICKS)
        ticks = ticks[::step]
    return Axis(key, "param-category", values, tuple(float(t) for t in ticks),
                tuple(labels[t] for t in ticks), tuple(labels))


def _log_axis(key: str, numbers: list[float | None]) -> Axis:
    values = tuple(math.log10(n) if n is not None else None for n in numbers)
    distinct = sorted({n for n in numbers if n is not None})
    if len(distinct) <= 10:
        ticks = distinct
    else:
        lo, hi = math.floor(math.log10(distinct[0])), math.ceil(math.log10(distinct[-1]))
        ticks = [10.0**e for e in range(lo, hi + 1)]
    return Axis(key, "param-log", values, tuple(math.log10(t) for t in ticks),
                tuple(f"{t:g}" for t in ticks))


def _natural(text: str) -> tuple[int, float, str]:
    number = _number(text)
    return (0, number, text) if number is not None else (1, 0.0, text)


def _nested(ranges: Any) -> bool:
    return bool(ranges) and isinstance(ranges[0], (list, tuple))


def _shown(axis: Axis, i: int) -> str:
    value = axis.values[i]
    if value is None:
        return ""
    if axis.kind == "param-log":
        return f"{10**value:g}"
    if axis.kind == "param-category":
        return axis.categories[int(value)]
    return display.value(value)
