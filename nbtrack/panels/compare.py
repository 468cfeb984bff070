"""Runs side by side: params, metric histories and latest values.

Params differing between runs are highlighted (and a toggle hides the rest); scikit-learn
pipeline params (``step__param``) fold by step. Metric histories are overlaid, and the
latest value of each metric drawn as bars.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ipywidgets

from nbtrack import display
from nbtrack.client import MlflowClient
from nbtrack.entities import Run
from nbtrack.errors import InvalidParameter
from nbtrack.panels import plots, static
from nbtrack.panels.base import Panel
from nbtrack.panels.charts import Chart
from nbtrack.panels.scatter import ParamScatter

STEP_SEPARATOR = "__"  # scikit-learn's nested-param separator: "clf__C" is step "clf"
_DIFF = "background:#fff3bf"
_MISSING = '<span style="color:#9ca3af">–</span>'


class CompareRuns(Panel):
    """Compare runs: params, metric histories and latest metric values.

    Parameters
    ----------
    run_ids
        The runs to compare (two or more make sense; one is allowed).
    client
        The client to read through (default: current tracking URI).
    live
        Refresh when the store changes (default True).
    """

    def __init__(
        self, run_ids: Sequence[str], client: MlflowClient | None = None, live: bool = True
    ):
        ids = [] if isinstance(run_ids, str) else list(dict.fromkeys(run_ids))
        if not ids or not all(isinstance(i, str) for i in ids):
            raise InvalidParameter(
                f"compare_runs takes a list of run id strings (found {run_ids!r}); select "
                "runs in the run table or pass [run.info.run_id, ...]",
                argument="run_ids",
                value=run_ids,
            )
        client = client or MlflowClient()
        self.runs: list[Run] = [client.get_run(i) for i in ids]  # unknown ids fail here
        self.run_ids = ids
        self.title = ipywidgets.HTML()
        self.differences_only = ipywidgets.Checkbox(
            value=False, description="Differences only", indent=False
        )
        self.params = ipywidgets.HTML()
        self.steps = ipywidgets.VBox()
        self.metrics_table = ipywidgets.HTML()
        self.metric_choice = ipywidgets.Dropdown(description="History of", layout={"width": "24em"})
        # the charts are created with their data by the first refresh
        self.histories: Chart | None = None
        self.bars: Chart | None = None
        self.histories_box = ipywidgets.Box()
        # metrics with one value per run (no history), named under the chart, as wide as it
        self.logged_once = ipywidgets.HTML(layout={"max_width": f"{plots.WIDTH}px"})
        self.bars_box = ipywidgets.Box()
        self._step_tables: dict[str, ipywidgets.HTML] = {}
        self.scatter = ParamScatter()
        super().__init__(client=client, live=live)
        gap = {"grid_gap": "0 40px", "flex_flow": "row wrap", "align_items": "flex-start"}
        self._frame(
            self.title,
            ipywidgets.HBox(
                [
                    ipywidgets.VBox(
                        [
                            ipywidgets.HTML(static.heading("Parameters")),
                            self.differences_only,
                            self.params,
                            self.steps,
                        ]
                    ),
                    ipywidgets.VBox(
                        [ipywidgets.HTML(static.heading("Metrics (latest)")), self.metrics_table]
                    ),
                ],
                layout=gap,
            ),
            ipywidgets.HBox(
                [
                    ipywidgets.VBox([self.metric_choice, self.histories_box, self.logged_once]),
                    ipywidgets.VBox(
                        [ipywidgets.HTML(static.heading("Latest values")), self.bars_box]
                    ),
                ],
                layout=gap,
            ),
            self.scatter,
        )
        self.differences_only.observe(self.callback(lambda _: self._draw_params()), names=["value"])
        self.metric_choice.observe(self.callback(lambda _: self._draw_histories()), names=["value"])

    @property
    def names(self) -> list[str]:
        """The runs' names, made unique (the legend and column labels)."""
        seen: dict[str, int] = {}
        names = []
        for run in self.runs:
            name = run.info.run_name or run.info.run_id[:8]
            seen[name] = seen.get(name, 0) + 1
            names.append(name if seen[name] == 1 else f"{name} ({run.info.run_id[:6]})")
        return names

    def _update(self) -> None:
        self.runs = self.client.store.get_runs(self.run_ids)
        legend = " ".join(
            f'<span style="color:{plots.color(i)};margin-right:12px">● {static.esc(n)}</span>'
            for i, n in enumerate(self.names)
        )
        value = static.heading(f"Comparing {len(self.runs)} runs") + f"<div>{legend}</div>"
        if self.title.value != value:
            self.title.value = value
        self._draw_params()
        self._draw_metrics()
        self.scatter.show(self.runs, self.names, self.metric_choice.value)

    # -- params -----------------------------------------------------------------------

    def param_groups(self) -> dict[str, list[str]]:
        """Param keys by pipeline step ('' for keys outside any step), sorted."""
        keys = sorted({k for run in self.runs for k in run.data.params})
        steps = {k.split(STEP_SEPARATOR, 1)[0] for k in keys if STEP_SEPARATOR in k}
        groups: dict[str, list[str]] = {"": []}
        for key in keys:
            step = key.split(STEP_SEPARATOR, 1)[0] if STEP_SEPARATOR in key else ""
            groups.setdefault(step if step in steps else "", []).append(key)
        return groups

    def differing_params(self) -> list[str]:
        """Keys whose value is not the same in every run (missing counts as different)."""
        keys = sorted({k for run in self.runs for k in run.data.params})
        return [k for k in keys if len({run.data.params.get(k) for run in self.runs}) > 1]

    def _params_html(self, keys: list[str]) -> str:
        differ = set(self.differing_params())
        shown = [k for k in keys if k in differ] if self.differences_only.value else keys
        if not shown:
            text = "Every run has the same values." if keys else "No parameters logged."
            return f'<p style="color:#6b7280;margin:4px 0">{text}</p>'
        return _comparison_table(
            self.names, shown, differ, lambda run, k: run.data.params.get(k), self.runs
        )

    def _draw_params(self) -> None:
        groups = self.param_groups()
        value = self._params_html(groups.pop(""))
        if self.params.value != value:
            self.params.value = value
        differ = set(self.differing_params())
        boxes = []
        for step, keys in groups.items():
            table = self._step_tables.setdefault(step, ipywidgets.HTML())
            html = self._params_html(keys)
            if table.value != html:
                table.value = html
            n_diff = sum(k in differ for k in keys)
            box = ipywidgets.Accordion(children=[table], selected_index=None)
            plural = "s" if len(keys) != 1 else ""
            box.set_title(
                0,
                f"{step}: {len(keys)} param{plural}, {n_diff} differ"
                + ("s" if n_diff == 1 else ""),
            )
            boxes.append(box)
        if [b.get_title(0) for b in self.steps.children] != [b.get_title(0) for b in boxes]:
            self.steps.children = boxes  # only rebuilt when the steps change: open ones stay

    # -- metrics ----------------------------------------------------------------------

    def _draw_metrics(self) -> None:
        keys = sorted({k for run in self.runs for k in run.data.metrics})
        value = (
            _comparison_table(
                self.names, keys, set(), lambda run, k: run.data.metrics.get(k), self.runs
            )
            if keys
            else '<p style="color:#6b7280">No metrics logged.</p>'
        )
        if self.metrics_table.value != value:
            self.metrics_table.value = value
        # as in run detail, a metric logged once per run has no history to draw: its values
        # are in the table and the bars (a chart would be one dot per run on a made-up axis)
        stepped = {key for _, key in self.queries.histories(self.run_ids, keys, points=2)}
        drawn = [k for k in keys if k in stepped]
        if list(self.metric_choice.options) != drawn:
            current = self.metric_choice.value
            self.metric_choice.options = drawn
            self.metric_choice.value = (
                current if current in drawn else (drawn[0] if drawn else None)
            )
        self.metric_choice.layout.display = None if drawn else "none"
        self.histories_box.layout.display = None if drawn else "none"
        once = [k for k in keys if k not in stepped]
        note = (
            '<p style="color:#6b7280;margin:4px 0">Logged once per run (no history to draw): '
            f"{static.esc(', '.join(once))}. Their values are in the table and the bars.</p>"
            if once
            else ""
        )
        if self.logged_once.value != note:
            self.logged_once.value = note
        self._draw_histories()
        latest = {k: [run.data.metrics.get(k) for run in self.runs] for k in keys}
        if not keys:
            return
        if self.bars is None:
            self.bars = plots.bars_chart(self.names, latest)
            self.bars_box.children = (self.bars,)
        else:
            self.bars.update(plots.bars_data(self.names, latest))

    def _draw_histories(self) -> None:
        key = self.metric_choice.value
        if not key:
            return
        histories = []
        for run in self.runs:
            points = self.client.get_metric_history(run.info.run_id, key)
            histories.append(([m.step for m in points], [m.value for m in points]))
        if self.histories is None:
            self.histories = plots.history_chart(self.names, histories, key)
            self.histories_box.children = (self.histories,)
        else:
            plots.set_history(self.histories, self.names, histories, key)

    def run_statuses(self) -> dict[str, str]:
        """The status of each compared run."""
        return {run.info.run_id: run.info.status for run in self.runs}

    # -- static rendering -------------------------------------------------------------

    def static_html(self) -> str:
        """The params and latest metrics tables as HTML."""
        keys = sorted({k for run in self.runs for k in run.data.params})
        metric_keys = sorted({k for run in self.runs for k in run.data.metrics})
        differ = set(self.differing_params())
        return (
            '<div class="nbtrack-static">'
            + static.heading(f"Comparing {len(self.runs)} runs")
            + static.heading("Parameters")
            + _comparison_table(
                self.names, keys, differ, lambda r, k: r.data.params.get(k), self.runs
            )
            + static.heading("Metrics")
            + _comparison_table(
                self.names, metric_keys, set(), lambda r, k: r.data.metrics.get(k), self.runs
            )
            + "</div>"
        )

    def static_text(self) -> str:
        """The differing params and the latest metrics as text."""
        header = ["", *self.names]
        body = [
            [f"params.{k}", *[display.value(r.data.params.get(k)) for r in self.runs]]
            for k in self.differing_params()
        ]
        body += [
            [f"metrics.{k}", *[display.value(r.data.metrics.get(k)) for r in self.runs]]
            for k in sorted({k for run in self.runs for k in run.data.metrics})
        ]
        return f"Comparing {len(self.runs)} runs\n" + static.text_table(header, body)


def _comparison_table(
    names: list[str],
    keys: list[str],
    differ: set[str],
    value: Any,
    runs: list[Run],
) -> str:
    """Rows = keys, columns = runs (in their chart colours); rows in ``differ`` highlighted."""
    cell = "padding:2px 10px;border-bottom:1px solid #e5e7eb;white-space:nowrap"
    head = "".join(
        f'<th style="{cell};color:{plots.color(i)}">{static.esc(n)}</th>'
        for i, n in enumerate(names)
    )
    body = []
    for key in keys:
        style = _DIFF if key in differ else ""
        tds = []
        for v in (value(run, key) for run in runs):
            text = static.esc(display.value(v)) if v is not None else _MISSING
            tds.append(f'<td style="{cell}">{text}</td>')
        body.append(
            f'<tr style="{style}"><td style="{cell};font-weight:500">{static.esc(key)}</td>'
            + "".join(tds)
            + "</tr>"
        )
    return (
        '<table style="border-collapse:collapse;font-size:13px;margin:4px 0">'
        f'<thead><tr><th style="{cell}"></th>{head}</tr></thead><tbody>{"".join(body)}</tbody>'
        "</table>"
    )
