"""The charts the panels draw: metric histories and latest-value bars.

Each chart is a ``charts.Chart`` created with its data; a refresh sends only what changed
(``Chart.update``), and the view redraws from the model, so a chart shown again (output
scrolled back, cell re-run) draws the same thing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from nbtrack.panels.charts import Chart, finite_list

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
# words in a metric's name that make a smaller value the better one
LOWER_IS_BETTER = ("loss", "error", "err", "rmse", "mse", "mae", "mape", "time", "perplexity")
WIDTH = 560
HEIGHT = 300

History = tuple[Sequence[float], Sequence[float]]  # x (step or seconds), y


def color(index: int) -> str:
    """The colour of the index-th run in every chart of a panel."""
    return PALETTE[index % len(PALETTE)]


def lines_data(names: Sequence[str], histories: Sequence[History]) -> dict:
    """One series per run (same order as ``names``), in the runs' colours."""
    return {
        "series": [
            {"name": name, "color": color(i), "x": list(steps), "y": finite_list(values)}
            for i, (name, (steps, values)) in enumerate(zip(names, histories, strict=True))
        ]
    }


def history_chart(names: Sequence[str], histories: Sequence[History], metric: str) -> Chart:
    """A chart of one metric's history in one or more runs, against the step."""
    return Chart(
        "lines",
        lines_data(names, histories),
        {
            "width": WIDTH,
            "height": HEIGHT,
            "x_title": "step",
            "y_title": metric,
            "title": f"{metric} by step" if len(names) > 1 else "",
        },
    )


def set_history(
    chart: Chart, names: Sequence[str], histories: Sequence[History], metric: str
) -> None:
    """Redraw a history chart (only what changed is sent)."""
    chart.update(
        lines_data(names, histories),
        y_title=metric,
        title=f"{metric} by step" if len(names) > 1 else "",
    )


def lower_is_better(key: str) -> bool:
    """Whether a smaller value of this metric is the better one (losses, errors, ranks...)."""
    name = key.lower()
    return any(word in name for word in LOWER_IS_BETTER) or name.startswith("rank_")


def best_index(key: str, values: Sequence[float | None]) -> int | None:
    """Which run has the best value of a metric (None when no run has a finite value)."""
    finite = [(v, i) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    if not finite:
        return None
    return (min(finite) if lower_is_better(key) else max(finite, key=lambda p: (p[0], -p[1])))[1]


def bars_data(names: Sequence[str], latest: dict[str, list[float | None]]) -> dict:
    """Per metric (sorted), each run's latest value and which run is best."""
    return {
        "names": list(names),
        "colors": [color(i) for i in range(len(names))],
        "metrics": [
            {
                "key": key,
                "values": finite_list(latest[key]),
                "best": best_index(key, latest[key]),
                "lower_is_better": lower_is_better(key),
            }
            for key in sorted(latest)
        ],
    }


def bars_chart(names: Sequence[str], latest: dict[str, list[float | None]]) -> Chart:
    """One small bar chart per metric (3 a row): each run's latest value."""
    return Chart("bars", bars_data(names, latest), {"width": WIDTH})
