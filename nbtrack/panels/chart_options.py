"""How the run detail draws metric histories: overlay, x axis, log scale, smoothing.

``ChartOptions`` is the row of controls under the metric choice; ``series`` turns one
metric's history into the x and y the chart draws under those options. Smoothing is the
exponential moving average TensorBoard and MLflow's UI use (bias-corrected, so the first
points are not pulled toward 0); NaN points stay gaps and do not enter the average.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import ipywidgets

from nbtrack.entities import Metric

X_AXES = (("Step", "step"), ("Relative time", "relative"))
X_TITLES = {"step": "step", "relative": "seconds since the first point"}


class ChartOptions(ipywidgets.HBox):
    """Overlay metrics, x axis (step or relative time), log scale and smoothing."""

    def __init__(self) -> None:
        self.overlay = ipywidgets.SelectMultiple(
            description="Overlay",
            rows=3,
            layout={"width": "20em"},
            tooltip="Other metrics drawn on the same chart (Ctrl-click to pick several)",
        )
        self.x_axis = ipywidgets.ToggleButtons(
            options=X_AXES, value="step", style={"button_width": "9.5em"}
        )
        self.log_scale = ipywidgets.Checkbox(
            description="Log scale", indent=False, layout={"width": "7em"}
        )
        self.smoothing = ipywidgets.FloatSlider(
            value=0.0,
            min=0.0,
            max=0.99,
            step=0.01,
            description="Smoothing",
            continuous_update=False,
            layout={"width": "18em"},
        )
        super().__init__(
            [
                self.overlay,
                ipywidgets.VBox([self.x_axis, ipywidgets.HBox([self.log_scale, self.smoothing])]),
            ],
            layout={"flex_flow": "row wrap", "align_items": "flex-start"},
        )

    def offer(self, keys: Sequence[str], primary: str | None) -> None:
        """Offer the metrics other than the primary one for overlaying."""
        others = [k for k in keys if k != primary]
        if list(self.overlay.options) != others:
            kept = tuple(k for k in self.overlay.value if k in others)
            self.overlay.options = others
            self.overlay.value = kept
        self.overlay.layout.display = None if others else "none"

    def watch(self, handler: Any) -> None:
        """Call ``handler`` whenever an option changes."""
        for widget in (self.overlay, self.x_axis, self.log_scale, self.smoothing):
            widget.observe(handler, names=["value"])


def series(
    history: Sequence[Metric], x_axis: str = "step", smoothing: float = 0.0
) -> tuple[list[float], list[float]]:
    """The x and y of one metric's history under the chart options."""
    if x_axis == "relative" and history:
        first = min(m.timestamp for m in history)
        xs = [(m.timestamp - first) / 1000 for m in history]
    else:
        xs = [float(m.step) for m in history]
    ys = [m.value for m in history]
    return xs, smooth(ys, smoothing) if smoothing > 0 else ys


def smooth(values: Sequence[float], weight: float) -> list[float]:
    """Bias-corrected exponential moving average (TensorBoard's smoothing)."""
    out: list[float] = []
    last = 0.0
    count = 0
    for value in values:
        if not math.isfinite(value):
            out.append(value)
            continue
        count += 1
        last = last * weight + (1 - weight) * value
        out.append(last / (1 - weight**count))
    return out
