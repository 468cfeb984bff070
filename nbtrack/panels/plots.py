"""The plotly figures the panels draw: metric histories and latest-value bars.

Figures are ``plotly.graph_objects.FigureWidget``s, updated in place (inside
``batch_update``) on refresh so that zoom and hidden traces survive.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go

PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)
_LAYOUT = {
    "template": "plotly_white",
    "height": 300,
    "margin": {"l": 56, "r": 16, "t": 32, "b": 40},
    "font": {"size": 12},
}


def color(index: int) -> str:
    """The colour of the index-th run in every chart of a panel."""
    return PALETTE[index % len(PALETTE)]


def metric_figure() -> go.FigureWidget:
    """An empty one-line chart of a metric against its step."""
    fig = go.FigureWidget(layout={**_LAYOUT, "showlegend": False})
    fig.add_scatter(x=[], y=[], mode="lines+markers", line={"color": color(0)})
    fig.layout.xaxis.title.text = "step"
    return fig


def overlay_figure() -> go.FigureWidget:
    """An empty chart for several runs' histories of one metric."""
    fig = go.FigureWidget(
        layout={**_LAYOUT, "width": 560, "legend": {"orientation": "h", "y": -0.25}}
    )
    fig.layout.xaxis.title.text = "step"
    return fig


def set_overlay(
    fig: go.FigureWidget,
    names: Sequence[str],
    histories: Sequence[tuple[list[int], list[float]]],
    metric: str,
) -> None:
    """Show one trace per run (same order as ``names``), keeping the user's zoom."""
    with fig.batch_update():
        while len(fig.data) < len(names):
            i = len(fig.data)
            fig.add_scatter(x=[], y=[], mode="lines", line={"color": color(i)})
        if len(fig.data) > len(names):
            fig.data = fig.data[: len(names)]
        for trace, name, (steps, values) in zip(fig.data, names, histories, strict=True):
            if list(trace.x or []) != steps or list(trace.y or []) != values:
                trace.x, trace.y = steps, values
            trace.name = name
            trace.mode = "lines+markers" if len(steps) < 30 else "lines"
        fig.layout.yaxis.title.text = metric
        fig.layout.title.text = f"{metric} by step"


def bars_figure(names: Sequence[str], latest: dict[str, list[float | None]]) -> go.FigureWidget:
    """One small bar chart per metric: each run's latest value."""
    fig = go.FigureWidget(layout={**_LAYOUT, "showlegend": False})
    set_bars(fig, names, latest)
    return fig


def set_bars(
    fig: go.FigureWidget, names: Sequence[str], latest: dict[str, list[float | None]]
) -> None:
    """Redraw the bars: one subplot per metric (3 a row), one bar per run."""
    keys = sorted(latest)
    cols = min(3, max(1, len(keys)))
    rows = max(1, math.ceil(len(keys) / cols))
    gap = 0.08
    width = (1 - gap * (cols - 1)) / cols
    height_each = 1 / rows
    layout: dict = {"height": max(260, 200 * rows), "width": 560, "annotations": []}
    traces = []
    for i, key in enumerate(keys):
        row, col = divmod(i, cols)
        axis = "" if i == 0 else str(i + 1)
        x0 = col * (width + gap)
        y1 = 1 - row * height_each
        y0 = y1 - height_each + 0.12
        layout[f"xaxis{axis}"] = {"domain": [x0, x0 + width], "anchor": f"y{axis}",
                                  "showticklabels": False}
        layout[f"yaxis{axis}"] = {"domain": [y0, y1 - 0.06], "anchor": f"x{axis}"}
        layout["annotations"].append({
            "text": f"<b>{key}</b>", "x": x0 + width / 2, "y": y1, "xref": "paper",
            "yref": "paper", "showarrow": False, "yanchor": "bottom",
        })
        values = [v if v is not None and math.isfinite(v) else None for v in latest[key]]
        traces.append(go.Bar(
            x=list(names), y=values, xaxis=f"x{axis}", yaxis=f"y{axis}",
            marker={"color": [color(j) for j in range(len(names))]},
            hovertemplate="%{x}: %{y:.4g}<extra>" + key + "</extra>",
        ))
    with fig.batch_update():
        fig.data = ()
        fig.layout = {**_LAYOUT, "showlegend": False, **layout}
        for trace in traces:
            fig.add_trace(trace)
