"""Parallel coordinates of a sweep: every descendant run of a parent as one line.

Varying params sit on the left, metrics on the right. A param whose values are not all
numbers gets a categorical axis (its values as tick labels); a positive numeric param
that spans decades gets a log axis. Lines are coloured by a chosen metric and drawn in
SVG by the shared chart library (``charts.ParallelChart``: no WebGL, any number of
sweeps on a page); hovering a line names its run. Brushes, in each axis's data units
(real values on log axes, category indexes on categorical ones), are the chart's
``brushes`` trait: dragging on an axis narrows the linked run table below, and
``.selected`` returns the runs inside every brush.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ipywidgets

from nbtrack import display
from nbtrack.client import MlflowClient
from nbtrack.errors import InvalidParameter
from nbtrack.frames import runs_frame
from nbtrack.panels import static
from nbtrack.panels.base import Panel
from nbtrack.panels.charts import ParallelChart
from nbtrack.panels.rows import is_timing
from nbtrack.panels.runs import RunTable
from nbtrack.panels.sweep_axes import AxisChooser, AxisPrefs, Candidate, load_prefs, save_prefs
from nbtrack.panels.sweep_svg import as_image, parcoords_svg

if TYPE_CHECKING:
    import pandas as pd

LOG_SPAN = 50.0  # max/min ratio from which a positive param gets a log axis
MIN_WIDTH, MAX_WIDTH = 640, 1180
HEIGHT = 420
MAX_STATIC_ROWS = 200  # runs listed in the static table (the static chart draws all)


@dataclass(frozen=True)
class Axis:
    """One parcoords dimension: its label, plotted values and ticks."""

    label: str
    kind: str  # "param-number", "param-log", "param-category", "metric"
    values: tuple[float | None, ...]  # data units (category codes for categories)
    categories: tuple[str, ...] = ()  # a categorical axis's labels, by code

    @property
    def scale(self) -> str:
        """How the chart draws the axis: linear, log or category."""
        return {"param-log": "log", "param-category": "category"}.get(self.kind, "linear")

    def to_chart(self) -> dict[str, Any]:
        """The axis as the chart takes it."""
        axis: dict[str, Any] = {
            "label": self.label,
            "scale": self.scale,
            "values": list(self.values),
        }
        if self.categories:
            axis["categories"] = list(self.categories)
        return axis


class ParallelCoordinates(Panel):
    """The sweep under a parent run, as SVG parallel coordinates with a linked table.

    Parameters
    ----------
    parent_run_id
        The parent run; its descendants at every depth are drawn.
    color_by
        The metric that colours the lines (default: the search's own score: the metric
        the parent's ``refit`` or ``scoring`` param names, else ``mean_test_score``, else
        ``rank_test_score``, else the first metric that is not a timing).
    client
        The client to read through (default: current tracking URI).
    live
        Refresh when the store changes (default True).
    timings
        Whether timing metrics (``mean_fit_time``, ``std_score_time``, any ``*_time``)
        get axes by default (default False: they are off the axes, still in the linked
        table, and the "Axes" chooser can add them).

    The "Axes" chooser (or :meth:`set_axis`) picks which params and metrics are axes; the
    choice is stored with the parent's experiment and applies to its other sweeps too.
    """

    def __init__(
        self,
        parent_run_id: str,
        color_by: str | None = None,
        client: MlflowClient | None = None,
        live: bool = True,
        timings: bool = False,
    ):
        client = client or MlflowClient()
        self.timings = timings
        self.parent = client.get_run(parent_run_id)  # unknown ids fail here
        self.parent_run_id = parent_run_id
        self.run_ids: list[str] = []
        self.axes: list[Axis] = []
        self._metric_values: dict[str, list[float | None]] = {}
        self._names: dict[str, str] = {}
        self._wanted_color = color_by
        self.candidates: list[Candidate] = []
        self.prefs = AxisPrefs()
        self.title = ipywidgets.HTML()
        self.color_choice = ipywidgets.Dropdown(description="Colour by", layout={"width": "24em"})
        self.chooser = AxisChooser(lambda chosen: self._choose(chosen))
        self.reset_button = ipywidgets.Button(
            description="Reset brushes", icon="undo", tooltip="Clear every brush"
        )
        self.figure: ParallelChart | None = None  # created with its data by the first refresh
        self.table = RunTable(
            under=parent_run_id,
            tree=False,
            page_size=25,
            client=client,
            title="Runs inside the brushes",
            live=live,
        )
        self.table.grid.tree_toggle = False  # a sweep's runs are listed flat
        super().__init__(client=client, live=live)
        toolbar = ipywidgets.HBox([self.color_choice, self.chooser.button, self.reset_button])
        self._frame(self.title, toolbar, self.chooser, self.figure, self.table)
        self.color_choice.observe(self.callback(lambda _: self._draw_color()), names=["value"])
        self.reset_button.on_click(self.callback(lambda _: self.clear_brushes()))

    def run_statuses(self) -> dict[str, str]:
        """The parent's status: the sweep's outputs re-render with every run when it ends."""
        return {self.parent_run_id: self.parent.info.status}

    # -- reading ----------------------------------------------------------------------

    def _update(self) -> None:
        self.parent = self.client.get_run(self.parent_run_id)
        ids = self.queries.descendants(self.parent_run_id)
        table = self.client.store.run_table(ids)
        self._names = {row.run_id: row.name for row in table.runs}
        params: dict[str, dict[str, str]] = {}
        metrics: dict[str, dict[str, float]] = {}
        for run_id, key, value in table.params:
            params.setdefault(key, {})[run_id] = value
        for run_id, key, number in table.metrics:
            metrics.setdefault(key, {})[run_id] = number
        varying = [k for k in sorted(params) if len({params[k].get(i) for i in ids}) > 1]
        self.candidates = [Candidate(f"params.{k}", k, True) for k in varying] + [
            Candidate(f"metrics.{k}", k, self.timings or not is_timing(k)) for k in sorted(metrics)
        ]
        self.prefs = load_prefs(self.client, self.parent.info.experiment_id)
        chosen = {c.key for c in self.candidates if self.prefs.wants(c)}
        self.chooser.offer(self.candidates, chosen)
        axes = [
            _param_axis(key, [params[key].get(i) for i in ids])
            for key in varying
            if f"params.{key}" in chosen
        ]
        self._metric_values = {
            key: [_finite(metrics[key].get(i)) for i in ids]
            for key in sorted(metrics)
            if f"metrics.{key}" in chosen
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
            self.color_choice.value = (
                wanted if wanted in keys else search_score(self.parent.data.params, keys)
            )
        if changed or self.figure is None:
            self._draw()

    def _chart_data(self) -> dict[str, Any]:
        return {
            "ids": list(self.run_ids),
            "names": [self._names.get(i) or i[:8] for i in self.run_ids],
            "axes": [a.to_chart() for a in self.axes],
        }

    def _draw(self) -> None:
        layout = {"width": _width(self.axes), "height": HEIGHT}
        if self.figure is None:
            self.figure = ParallelChart(
                self._chart_data(), layout, color_by=self.color_choice.value or ""
            )
            self.figure.observe(self.callback(self._on_brush), names=["brushes"])
            return
        labels = {a.label for a in self.axes}
        with self.figure.hold_sync():
            self.figure.update(self._chart_data(), **layout)
            kept = {k: v for k, v in self.figure.brushes.items() if k in labels}
            if kept != self.figure.brushes:
                self.figure.brushes = kept

    def _draw_color(self) -> None:
        if self.figure is not None:
            self.figure.color_by = self.color_choice.value or ""

    # -- choosing axes ----------------------------------------------------------------

    def _choose(self, chosen: set[str]) -> None:
        with self.reporting():
            self.prefs = self.prefs.choose(self.candidates, chosen)
            save_prefs(self.client, self.parent.info.experiment_id, self.prefs)
            self.refresh()

    @property
    def axis_keys(self) -> list[str]:
        """The params and metrics drawn as axes, as ``params.<key>`` / ``metrics.<key>``."""
        chosen = {c.key for c in self.candidates if self.prefs.wants(c)}
        return [c.key for c in self.candidates if c.key in chosen]

    def set_axis(self, key: str, shown: bool = True) -> None:
        """Show or hide an axis, as the "Axes" chooser does (stored with the experiment).

        ``key`` is ``"params.<name>"`` or ``"metrics.<name>"``, e.g. ``"metrics.mean_fit_time"``.

        Raises
        ------
        InvalidParameter
            If the sweep has no varying param or metric of that key.
        """
        keys = [c.key for c in self.candidates]
        if key not in keys:
            raise InvalidParameter(
                f"the sweep has no varying param or metric {key!r}; choose among "
                f"{', '.join(keys) or 'none yet'}",
                argument="key",
                value=key,
            )
        chosen = set(self.axis_keys) - {key} | ({key} if shown else set())
        self.prefs = self.prefs.choose(self.candidates, chosen)
        save_prefs(self.client, self.parent.info.experiment_id, self.prefs)
        self.refresh()

    # -- brushing ---------------------------------------------------------------------

    def _on_brush(self, _change: Any) -> None:
        ids = self.selected_run_ids
        self.table.set_scope(None if len(ids) == len(self.run_ids) else ids)

    @property
    def brushes(self) -> dict[str, list[list[float]]]:
        """The active brushes: axis label -> ranges in the axis's data units."""
        found = self.figure.brushes if self.figure is not None else {}
        return {label: [list(r) for r in ranges] for label, ranges in found.items() if ranges}

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

    def brush(self, label: str, low: float | None = None, high: float | None = None) -> None:
        """Brush an axis from Python, in its data units; without bounds, clear its brush.

        Log axes take real values, categorical axes the indexes of their categories.

        Raises
        ------
        InvalidParameter
            If the sweep has no axis of that name.
        """
        if label not in {a.label for a in self.axes} or self.figure is None:
            raise InvalidParameter(
                f"the sweep has no axis {label!r}; its axes are "
                f"{', '.join(a.label for a in self.axes) or 'none yet'}",
                argument="label",
                value=label,
            )
        brushes = dict(self.figure.brushes)
        if low is None or high is None:
            brushes.pop(label, None)
        else:
            brushes[label] = [[min(low, high), max(low, high)]]
        self.figure.brushes = brushes

    def clear_brushes(self) -> None:
        """Remove every brush (the linked table shows all runs again)."""
        if self.figure is not None:
            self.figure.brushes = {}

    # -- static rendering -------------------------------------------------------------

    def _summary_rows(self) -> tuple[list[str], list[list[str]]]:
        """The first ``MAX_STATIC_ROWS`` runs, one row each (the chart draws them all)."""
        header = ["run", *[a.label for a in self.axes]]
        body = []
        for i, run_id in enumerate(self.run_ids[:MAX_STATIC_ROWS]):
            body.append([self._names.get(run_id) or run_id, *[_shown(a, i) for a in self.axes]])
        return header, body

    def _static_note(self) -> str:
        total = len(self.run_ids)
        return f"{total} runs" + (
            f", the first {MAX_STATIC_ROWS} listed" if total > MAX_STATIC_ROWS else ""
        )

    def static_html(self) -> str:
        """The sweep as a static chart (SVG, no script) above a table of its runs."""
        header, body = self._summary_rows()
        chart = ""
        if self.axes and self.run_ids:
            svg = parcoords_svg(
                [a.to_chart() for a in self.axes], self.color_choice.value or "", _width(self.axes)
            )
            chart = as_image(svg, f"Parallel coordinates of {len(self.run_ids)} runs")
        return (
            '<div class="nbtrack-static">'
            + static.heading(f"Sweep under {self.parent.info.run_name}", self._static_note())
            + chart
            + static.html_table(header, body)
            + "</div>"
        )

    def static_text(self) -> str:
        """The sweep as a text table."""
        header, body = self._summary_rows()
        title = f"Sweep under {self.parent.info.run_name}: {self._static_note()}\n"
        return title + static.text_table(header, body)


# -- axes -------------------------------------------------------------------------------


def search_score(parent_params: dict[str, str], keys: Sequence[str]) -> str | None:
    """The metric a search optimised, among ``keys``: the one its lines are coloured by."""
    named = [parent_params.get("refit"), parent_params.get("scoring")]
    wanted = [f"mean_test_{n}" for n in named if n and n not in ("True", "False", "None")]
    wanted += [n for n in named if n]
    wanted += ["mean_test_score", "rank_test_score"]
    found = next((k for k in wanted if k in keys), None)
    return found or next((k for k in keys if not is_timing(k)), keys[0] if keys else None)


def _width(axes: Sequence[Axis]) -> int:
    """Room for each axis's tick labels, within what a notebook column shows."""
    return min(MAX_WIDTH, max(MIN_WIDTH, 150 * len(axes) + 240))


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
            return Axis(key, "param-log", tuple(numbers))
        return Axis(key, "param-number", tuple(numbers))
    labels = sorted({v for v in present}, key=_natural)
    if any(v is None for v in raw):
        labels.append("(none)")
    code = {label: float(i) for i, label in enumerate(labels)}
    values = tuple(code[v if v is not None else "(none)"] for v in raw)
    return Axis(key, "param-category", values, tuple(labels))


def _natural(text: str) -> tuple[int, float, str]:
    number = _number(text)
    return (0, number, text) if number is not None else (1, 0.0, text)


def _shown(axis: Axis, i: int) -> str:
    value = axis.values[i]
    if value is None:
        return ""
    if axis.kind == "param-log":
        return f"{value:g}"
    if axis.kind == "param-category":
        return axis.categories[int(value)]
    return display.value(value)
