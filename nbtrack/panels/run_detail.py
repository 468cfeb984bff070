"""One run in detail, as tabs.

Header, params, metrics with history charts, tags, the captured source, the artifacts as a
tree with previews and downloads (``nbtrack.panels.artifacts``), dataset inputs and the
logged model with its signature.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets

from nbtrack import display, tag_keys
from nbtrack.card_facts import dataset_facts
from nbtrack.client import MlflowClient
from nbtrack.entities import ModelVersion, Run
from nbtrack.panels import plots, previews, static
from nbtrack.panels.artifacts import ArtifactTree, summary_text, tree_html
from nbtrack.panels.base import Panel
from nbtrack.panels.chart_options import X_TITLES, ChartOptions
from nbtrack.panels.chart_options import series as chart_series
from nbtrack.panels.charts import Chart
from nbtrack.panels.failures import error_line, traceback_text
from nbtrack.panels.register import RegisterModel
from nbtrack.panels.registry import RegistryBrowser
from nbtrack.panels.run_edit import RunEditor

MAX_SOURCE_BYTES = previews.MAX_TEXT_BYTES
SOURCE_TAGS = (
    (tag_keys.SOURCE_NAME, "Source"),
    (tag_keys.SOURCE_TYPE, "Source type"),
    (tag_keys.NOTEBOOK_PATH, "Notebook"),
    (tag_keys.GIT_COMMIT, "Git commit"),
    (tag_keys.GIT_BRANCH, "Git branch"),
    (tag_keys.PYTHON_VERSION, "Python"),
)
TABS = ("Overview", "Charts", "Source", "Artifacts", "Inputs", "Model", "Edit")


class RunDetail(Panel):
    """Everything one run recorded, refreshed live while it runs.

    Parameters
    ----------
    run_id
        The run to show.
    client
        The client to read through (default: current tracking URI).
    live
        Refresh when the store changes (default True).
    """

    def __init__(self, run_id: str, client: MlflowClient | None = None, live: bool = True):
        client = client or MlflowClient()
        self.run: Run = client.get_run(run_id)  # unknown ids fail here, before any widget
        self.run_id = run_id
        self.artifact_tree = ArtifactTree(self.run.info.artifact_uri, run_id)
        self._texts: dict[tuple[str, int | None], str] = {}  # source and MLmodel files read
        self.header = ipywidgets.HTML()
        self.overview = ipywidgets.HTML()
        self.metric_choice = ipywidgets.Dropdown(description="Metric", layout={"width": "22em"})
        self.figure: Chart | None = None  # created with its data, once there is a metric
        self.no_charts = ipywidgets.HTML()
        self.source = ipywidgets.HTML()
        self.inputs = ipywidgets.HTML()
        self.model = ipywidgets.HTML()
        self.chart_box = ipywidgets.Box()
        self.logged_once = ipywidgets.HTML()
        self.model_versions: list[ModelVersion] = []
        self._versions_key: list[tuple[str, str, list[str]]] | None = None
        self.versions_box = ipywidgets.VBox()
        self.registry: RegistryBrowser | None = None  # opened from a version's button
        self.register_button = ipywidgets.Button(
            description="Register model",
            icon="plus",
            tooltip="Register this run's model",
            layout={"width": "auto", "display": "none"},
        )
        self.register_button.add_class("nbtrack-register-open")
        self.register_box = ipywidgets.VBox()
        self.register_form: RegisterModel | None = None  # opened by the button
        self._live = live
        self.chart_options = ChartOptions()
        charts = ipywidgets.VBox(
            [
                self.metric_choice,
                self.chart_options,
                self.no_charts,
                self.chart_box,
                self.logged_once,
            ]
        )
        model_tab = ipywidgets.VBox([self.versions_box, self.model])
        self.editor = RunEditor(client, run_id, changed=lambda: self.refresh())
        self.tabs = ipywidgets.Tab(
            children=[
                self.overview,
                charts,
                self.source,
                self.artifact_tree,
                self.inputs,
                model_tab,
                self.editor,
            ],
            titles=TABS,
        )
        super().__init__(client=client, live=live)
        self._frame(self.header, self.register_button, self.register_box, self.tabs)
        self.register_button.on_click(self.callback(lambda _: self.open_register()))
        self.metric_choice.observe(self.callback(lambda _: self._draw_chart()), names=["value"])
        self.chart_options.watch(self.callback(lambda _: self._draw_chart()))

    # -- reading ----------------------------------------------------------------------

    def _update(self) -> None:
        self.run = self.client.get_run(self.run_id)
        self.artifact_tree.refresh(self.run.info.artifact_uri)
        self.editor.show(self.run)
        _set(self.header, _header(self.client, self.run))
        _set(self.overview, _failure(self.run) + _overview(self.run))
        _set(self.source, _source(self.run, self._read(_is_source)))
        _set(self.inputs, _inputs(self.run))
        _set(self.model, _models(self._read(_is_model)))
        self._draw_versions()
        metrics = sorted(self.run.data.metrics)
        stepped = {key for _, key in self.queries.histories([self.run_id], metrics, points=2)}
        keys = [k for k in metrics if k in stepped]  # a single value is no chart
        once = {k: self.run.data.metrics[k] for k in metrics if k not in stepped}
        _set(self.logged_once, _kv_table("Logged once", once, "") if once else "")
        self.metric_choice.layout.display = None if keys else "none"
        self.chart_options.layout.display = None if keys else "none"
        if list(self.metric_choice.options) != keys:
            current = self.metric_choice.value
            self.metric_choice.options = keys
            self.metric_choice.value = current if current in keys else (keys[0] if keys else None)
        has_model = tag_keys.LOGGED_MODELS in self.run.data.tags or any(
            _is_model(e) for e in self.artifact_tree.entries
        )
        self.register_button.layout.display = None if has_model else "none"
        self._draw_chart()

    def _read(self, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, str]:
        """The text of the artifact files ``wanted(entry)`` picks, read once per size."""
        found = {}
        for entry in self.artifact_tree.entries:
            if entry["dir"] or not wanted(entry) or (entry["size"] or 0) > MAX_SOURCE_BYTES:
                continue
            key = (entry["path"], entry["size"])
            if key not in self._texts:
                try:
                    file = self.artifact_tree.store.path(entry["path"])
                    self._texts[key] = file.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError, ValueError):
                    continue
            found[entry["path"]] = self._texts[key]
        return found

    def _draw_versions(self) -> None:
        """A button per registered version made from this run's models."""
        found = list(self.client.search_model_versions(f"run_id = '{self.run_id}'"))
        found.sort(key=lambda v: (v.name, int(v.version)))
        key = [(v.name, v.version, v.aliases) for v in found]
        if key == self._versions_key:
            return
        self._versions_key = key
        self.model_versions = found
        buttons = []
        for version in found:
            aliases = "".join(f" @{a}" for a in version.aliases)
            button = ipywidgets.Button(
                description=f"{version.name} version {version.version}{aliases}",
                tooltip="Open this version in the model registry",
                icon="external-link",
                layout={"width": "auto"},
            )
            button.add_class("nbtrack-version-link")
            button.on_click(self.callback(lambda _, v=version: self.open_version(v)))
            buttons.append(button)
        heading = (
            static.heading("Registered versions", f"{len(found)}")
            if found
            else static.heading("Registered versions")
            + '<p style="color:#6b7280">No model of this run is registered.</p>'
        )
        self.versions_box.children = (
            ipywidgets.HTML(heading),
            ipywidgets.HBox(buttons, layout={"flex_flow": "row wrap"}),
        )

    def open_version(self, version: ModelVersion) -> RegistryBrowser:
        """Open the model registry on a version, above the tabs."""
        if self.registry is not None:
            self.registry.close()
        self.registry = RegistryBrowser(model=version.name, client=self.client, live=self._live)
        self.registry.version_list.value = version.version
        self.register_box.children = (self.registry,)
        return self.registry

    def open_register(self) -> RegisterModel:
        """Open the "Register model" form of this run above the tabs."""
        if self.register_form is None:
            self.register_form = RegisterModel(self.run_id, client=self.client, live=self._live)
            self.register_box.children = (self.register_form,)
        return self.register_form

    def _draw_chart(self) -> None:
        key = self.metric_choice.value
        history = self.client.get_metric_history(self.run_id, key) if key else []
        empty = (
            "Each metric of this run was logged once: their values are below."
            if self.run.data.metrics
            else "This run has logged no metrics yet."
        )
        self.no_charts.value = "" if key else f'<p style="color:#6b7280">{empty}</p>'

        self.chart_box.layout.display = None if key else "none"
        if not key:
            return
        options = self.chart_options
        options.offer(self.metric_choice.options, key)
        keys = [key, *options.overlay.value]
        histories = [history] + [self.client.get_metric_history(self.run_id, k) for k in keys[1:]]
        drawn = [chart_series(h, options.x_axis.value, options.smoothing.value) for h in histories]
        y_title = key if len(keys) == 1 else "value"
        layout = {
            "x_title": X_TITLES[options.x_axis.value],
            "y_log": options.log_scale.value,
            "title": "",
        }  # the legend names the metrics
        if self.figure is None:
            self.figure = plots.history_chart(keys, drawn, y_title)
            self.figure.update(**layout)
            self.chart_box.children = (self.figure,)
        else:
            plots.set_history(self.figure, keys, drawn, y_title)
            self.figure.update(**layout)

    def run_statuses(self) -> dict[str, str]:
        """The status of the run shown."""
        return {self.run_id: self.run.info.status}

    # -- static rendering -------------------------------------------------------------

    def static_html(self) -> str:
        """Header, params, metrics, tags and the artifact tree as HTML."""
        entries = self.artifact_tree.entries
        return (
            '<div class="nbtrack-static">'
            + _header(self.client, self.run)
            + _failure(self.run)
            + _overview(self.run)
            + static.heading("Artifacts", summary_text(entries) if entries else "")
            + tree_html(entries, self.artifact_tree.truncated)
            + "</div>"
        )

    def static_text(self) -> str:
        """The run's params and metrics as text."""
        run = self.run
        lines = [
            f"Run {run.info.run_name} ({run.info.run_id}) {run.info.status}",
            f"started {display.timestamp(run.info.start_time)}, "
            f"duration {display.run_duration(run.info.start_time, run.info.end_time) or '-'}",
        ]
        if run.info.status == "FAILED":
            lines.append(f"error: {error_line(run.info.artifact_uri) or '(no traceback stored)'}")
        for title, values in (("params", run.data.params), ("metrics", run.data.metrics)):
            if values:
                lines.append(f"{title}:")
                lines += [f"  {k} = {display.value(v)}" for k, v in sorted(values.items())]
        if self.artifact_tree.entries:
            lines.append(f"artifacts: {summary_text(self.artifact_tree.entries)}")
        return "\n".join(lines)


def _set(widget: ipywidgets.HTML, value: str) -> None:
    if widget.value != value:  # unchanged HTML is not resent: no flicker, state kept
        widget.value = value


# -- sections ---------------------------------------------------------------------------


def _header(client: MlflowClient, run: Run) -> str:
    info = run.info
    experiment = client.get_experiment(info.experiment_id)
    parent = run.data.tags.get(tag_keys.PARENT_RUN_ID)
    facts = [
        ("Run ID", f"<code>{static.esc(info.run_id)}</code>"),
        ("Experiment", static.esc(f"{experiment.name} ({experiment.experiment_id})")),
        ("Started", static.esc(display.timestamp(info.start_time))),
        ("Duration", static.esc(display.run_duration(info.start_time, info.end_time) or "-")),
        ("User", static.esc(info.user_id)),
    ]
    if parent:
        facts.append(("Parent run", f"<code>{static.esc(parent)}</code>"))
    note = run.data.tags.get(tag_keys.NOTE)
    items = "".join(
        f'<span style="margin-right:18px"><span style="color:#6b7280">{k}</span> {v}</span>'
        for k, v in facts
    )
    description = f'<p style="margin:4px 0">{static.esc(note)}</p>' if note else ""
    deleted = (
        ' <span style="color:#b91c1c;font-size:12px">deleted</span>'
        if info.lifecycle_stage == "deleted"
        else ""
    )
    return (
        f'<div style="font-size:15px;font-weight:600;margin:2px 0 4px">'
        f"{static.esc(info.run_name)} {static.badge(info.status)}{deleted}</div>"
        f'<div style="font-size:12px;line-height:1.8">{items}</div>{description}'
    )


def _kv_table(title: str, values: dict[str, Any], empty: str) -> str:
    if not values:
        return static.heading(title) + f'<p style="color:#6b7280">{empty}</p>'
    rows = [(k, display.value(values[k])) for k in sorted(values)]
    return static.heading(title, f"{len(values)}") + static.html_table(("Name", "Value"), rows)


def _failure(run: Run) -> str:
    """For a FAILED run: its exception and traceback, before anything else."""
    if run.info.status != "FAILED":
        return ""
    text = traceback_text(run.info.artifact_uri)
    lines = [line for line in (text or "").splitlines() if line.strip()]
    if not lines:
        summary = (
            "This run failed without storing a traceback (runs ended by an exception "
            "outside <code>%%track</code> keep only their status)."
        )
        detail = ""
    else:
        summary = f"<code>{static.esc(lines[-1].strip())}</code>"
        detail = f"<details><summary>Traceback</summary>{previews.pre(text or '')}</details>"
    return (
        '<div class="nbtrack-failure" style="border:1px solid #fecaca;background:#fef2f2;'
        'border-radius:4px;padding:6px 10px;margin:4px 0 8px">'
        f'<div style="color:#b91c1c;font-weight:600">Failed: {summary}</div>{detail}</div>'
    )


def _overview(run: Run) -> str:
    tags = run.data.tags.items()
    user_tags = {k: v for k, v in tags if not k.startswith(tag_keys.SYSTEM_PREFIXES)}
    return (
        '<div style="display:flex;gap:32px;flex-wrap:wrap;align-items:flex-start">'
        f"<div>{_kv_table('Parameters', run.data.params, 'No parameters logged.')}</div>"
        f"<div>{_kv_table('Metrics (latest)', run.data.metrics, 'No metrics logged.')}</div>"
        f"<div>{_kv_table('Tags', user_tags, 'No tags set.')}</div></div>"
    )


def _is_source(entry: dict[str, Any]) -> bool:
    return "/" not in entry["path"] and entry["path"].endswith(".py")


def _is_model(entry: dict[str, Any]) -> bool:
    return Path(entry["path"]).name == previews.MODEL_FILE


def _source(run: Run, texts: dict[str, str]) -> str:
    facts = [(label, run.data.tags[key]) for key, label in SOURCE_TAGS if key in run.data.tags]
    parts = [static.html_table(("", ""), facts) if facts else ""]
    for path, text in sorted(texts.items()):
        parts.append(static.heading(path) + previews.pre(text))
    if len(parts) == 1:
        parts.append('<p style="color:#6b7280">No captured source for this run.</p>')
    return "".join(parts)


def _inputs(run: Run) -> str:
    items = run.inputs.dataset_inputs
    if not items:
        return '<p style="color:#6b7280">No dataset inputs logged.</p>'
    rows = []
    for item in items:
        facts = dataset_facts(item.dataset, item.tags)
        other = ", ".join(
            f"{t.key}={t.value}" for t in item.tags if t.key != tag_keys.DATASET_CONTEXT
        )
        rows.append(
            (
                facts.name,
                facts.context or "",
                facts.source,
                "" if facts.rows is None else f"{facts.rows:,}",
                facts.schema,
                facts.digest,
                other,
            )
        )
    return static.html_table(
        ("Name", "Context", "Source", "Rows", "Columns", "Digest", "Other tags"), rows
    )


def _models(texts: dict[str, str]) -> str:
    if not texts:
        return '<p style="color:#6b7280">No model logged in this run.</p>'
    return "".join(previews.model_html(text, path) for path, text in sorted(texts.items()))
