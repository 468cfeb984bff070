"""A notebook cell run as a tracked run: what ``%%track`` does, as library code.

``track_cell`` starts a run, stores the cell's source (``cell.py``), its execution count
and notebook path as tags, and its literal top-level assignments as params; it runs the
cell (with autolog on unless asked otherwise), then logs the names given as params and
metrics, and ends the run FINISHED, FAILED (``traceback.txt`` stored, the exception
re-raised) or KILLED (interrupt). A compact summary (``RunSummary``) is shown below the
cell and, in a kernel, refreshed while the cell logs metrics step by step: a background
thread polls the store twice a second, so logging itself is not slowed.
"""

from __future__ import annotations

import ast
import contextlib
import contextvars
import html
import sys
import threading
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nbtrack import cell_history, display, session, tag_keys, tracking
from nbtrack.autolog import enabled
from nbtrack.entities import Param, Run, RunStatus
from nbtrack.store.sql import now_ms
from nbtrack.validation import MAX_PARAM_VALUE_LENGTH

CELL_FILE = "cell.py"
TRACEBACK_FILE = "traceback.txt"
REFRESH_S = 0.5
SHOWN_ITEMS = 12  # params and metrics listed in the summary; the rest are counted


# -- what the cell says ---------------------------------------------------------------


def literal_assignments(source: str) -> dict[str, Any]:
    """Top-level ``name = <literal>`` assignments of a cell, the last one of each name.

    Literals are what ``ast.literal_eval`` accepts: numbers (negative too), strings,
    booleans, None, and lists, tuples, dicts and sets of them. A name whose last top-level
    assignment is not a literal is left out; a cell that does not parse gives nothing.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    found: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                _collect(target, node.value, found)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name):
            value = node.value if isinstance(node, ast.AnnAssign) else None
            _collect(node.target, value, found)
    return {k: v for k, v in found.items() if v is not _NOT_LITERAL}


_NOT_LITERAL = object()


def _collect(target: ast.expr, value: ast.expr | None, found: dict[str, Any]) -> None:
    if isinstance(target, ast.Name):
        found[target.id] = _literal(value)
    elif isinstance(target, (ast.Tuple, ast.List)):
        values = value.elts if isinstance(value, (ast.Tuple, ast.List)) else None
        if values is not None and len(values) == len(target.elts):
            for sub_target, sub_value in zip(target.elts, values, strict=True):
                _collect(sub_target, sub_value, found)
        else:
            for sub_target in target.elts:
                _collect(sub_target, None, found)


def _literal(node: ast.expr | None) -> Any:
    if node is None:
        return _NOT_LITERAL
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NOT_LITERAL


# -- running the cell -------------------------------------------------------------------


@dataclass
class CellOptions:
    """How ``%%track`` was asked to run a cell."""

    experiment: str | None = None
    run_name: str | None = None
    nested: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    params: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    autolog: bool = True


def track_cell(
    source: str,
    execute: Callable[[], Any],
    namespace: dict[str, Any],
    options: CellOptions,
    execution_count: int | None = None,
    live: bool = False,
    cell_filename: str | None = None,
) -> Any:
    """Run a cell inside a new run and record it; return what ``execute`` returns.

    Parameters
    ----------
    source
        The cell's code, stored as ``cell.py`` and searched for literal assignments.
    execute
        Runs the cell (the caller knows how: plain ``exec`` or IPython's machinery).
    namespace
        Where the cell's variables live after it ran (``--params``/``--metrics`` names).
    options
        Experiment, run name, nesting, tags, named params and metrics, autolog.
    execution_count
        The cell's number, stored as a tag.
    live
        Show the summary as soon as metrics appear and refresh it while the cell runs.
    cell_filename
        The file name the cell's code was compiled under; the stored traceback starts there.
    """
    __tracebackhide__ = True  # IPython shows the cell's frames, not these
    if options.experiment is not None:
        tracking.set_experiment(options.experiment)
    tags = dict(options.tags)
    if execution_count is not None:
        tags[tag_keys.CELL_EXECUTION_COUNT] = str(execution_count)
    active = tracking.start_run(run_name=options.run_name, nested=options.nested, tags=tags)
    run_id = active.info.run_id
    client = session.client()
    client.log_text(run_id, source, CELL_FILE)
    _record_history(run_id, source, namespace)
    _log_params(run_id, literal_assignments(source), "literal assignment")
    summary = LiveSummary(run_id, live)
    status = RunStatus.FINISHED
    try:
        with _autolog(options.autolog, source):
            result = execute()
        _log_named(run_id, namespace, options)
        return result
    except KeyboardInterrupt:
        status = RunStatus.KILLED
        raise
    except BaseException as error:
        status = RunStatus.FAILED
        try:
            client.log_text(run_id, _traceback_text(error, cell_filename), TRACEBACK_FILE)
        except Exception as exc:  # the cell's own error is the one to show
            warnings.warn(f"nbtrack: the traceback was not stored: {exc}", stacklevel=2)
        raise
    finally:
        _end(run_id, status)
        summary.finish()


def _record_history(run_id: str, source: str, namespace: dict[str, Any]) -> None:
    """Store the kernel's executed cells (for ``nbtrack reproduce``); warn of hidden state."""
    try:
        analysis = cell_history.analyse(namespace, source)
        if analysis is not None:
            session.client().log_dict(run_id, analysis.to_json(), cell_history.HISTORY_FILE)
    except Exception as exc:  # the cell runs and is tracked all the same
        warnings.warn(f"nbtrack: the cell's history was not stored: {exc}", stacklevel=3)
        return
    if analysis is not None and analysis.problems:
        warnings.warn(cell_history.warning_text(analysis), stacklevel=3)


def _autolog(on: bool, source: str) -> contextlib.AbstractContextManager[None]:
    """Autolog for the cell, turned on (or off) for its duration.

    Left as it is when scikit-learn is neither loaded nor named in the cell: importing it
    only to patch it would cost a second.
    """
    if on and "sklearn" not in sys.modules and "sklearn" not in source:
        return contextlib.nullcontext()
    return enabled(on)


def _end(run_id: str, status: str) -> None:
    """End the cell's run, and runs the cell started inside it and left open."""
    open_ids = session.active_run_ids()
    if run_id in open_ids:
        while tracking.active_run().info.run_id != run_id:  # type: ignore[union-attr]
            tracking.end_run(RunStatus.FINISHED)
        tracking.end_run(status)
    elif session.client().get_run(run_id).info.status == RunStatus.RUNNING:
        session.client().set_terminated(run_id, status)


def _log_params(run_id: str, values: dict[str, Any], origin: str) -> None:
    params = []
    for key, value in values.items():
        text = str(value)
        if len(text) > MAX_PARAM_VALUE_LENGTH:
            warnings.warn(
                f"nbtrack: {origin} {key!r} is {len(text)} characters, more than a param "
                f"holds ({MAX_PARAM_VALUE_LENGTH}); it was not logged",
                stacklevel=3,
            )
            continue
        params.append(Param(key, text))
    session.client().log_batch(run_id, params=params)


def _log_named(run_id: str, namespace: dict[str, Any], options: CellOptions) -> None:
    missing = [n for n in (*options.params, *options.metrics) if n not in namespace]
    if missing:
        warnings.warn(
            f"nbtrack: the cell defines no {', '.join(map(repr, missing))}; "
            "they were not logged (check --params and --metrics)",
            stacklevel=3,
        )
    _log_params(
        run_id, {n: namespace[n] for n in options.params if n in namespace}, "--params name"
    )
    metrics: dict[str, float] = {}
    for name in options.metrics:
        if name not in namespace:
            continue
        try:
            metrics[name] = float(namespace[name])
        except (TypeError, ValueError):
            warnings.warn(
                f"nbtrack: --metrics name {name!r} is a {type(namespace[name]).__name__}, "
                "not a number; it was not logged",
                stacklevel=3,
            )
    if metrics:
        tracking.log_metrics(metrics, run_id=run_id)


def _traceback_text(error: BaseException, cell_filename: str | None) -> str:
    tb = error.__traceback__
    if cell_filename is not None:
        start = tb
        while start is not None and start.tb_frame.f_code.co_filename != cell_filename:
            start = start.tb_next
        tb = start or tb
    return "".join(traceback.format_exception(type(error), error, tb))


# -- the summary --------------------------------------------------------------------------


@dataclass
class RunSummary:
    """What a run holds now, shown compactly: name, status, duration, params, metrics."""

    run: Run
    child_runs: int = 0

    @classmethod
    def read(cls, run_id: str, count_children: bool = False) -> RunSummary:
        """Read the run (and optionally how many child runs it has) from the store."""
        client = session.client()
        run = client.get_run(run_id)
        children = 0
        if count_children:
            ids, _ = client.store.search_run_ids(
                [run.info.experiment_id],
                filter_string=f"tags.`{tag_keys.PARENT_RUN_ID}` = '{run_id}'",
            )
            children = len(ids)
        return cls(run, children)

    @property
    def duration_s(self) -> float:
        """Seconds from start to end (to now while running)."""
        info = self.run.info
        return ((info.end_time or now_ms()) - info.start_time) / 1000

    def _items(self, values: dict[str, Any], number: bool) -> tuple[list[tuple[str, str]], int]:
        shown = [(k, display.value(v) if number else str(v)) for k, v in sorted(values.items())]
        return shown[:SHOWN_ITEMS], max(0, len(shown) - SHOWN_ITEMS)

    def text(self) -> str:
        """The plain-text form (terminals, logs)."""
        info = self.run.info
        lines = [
            f"nbtrack run {info.run_name} · {info.status} · "
            f"{display.duration_ms(self.duration_s * 1000)} · id {info.run_id}"
        ]
        for label, values, number in (
            ("params", self.run.data.params, False),
            ("metrics", self.run.data.metrics, True),
        ):
            items, more = self._items(values, number)
            if items:
                extra = f", … +{more} more" if more else ""
                lines.append(f"  {label}: " + ", ".join(f"{k}={v}" for k, v in items) + extra)
        if self.child_runs:
            lines.append(f"  child runs: {self.child_runs}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        info = self.run.info
        color = _STATUS_COLORS.get(info.status, "#6b7280")
        parts = [
            '<div class="nbtrack-run-summary" style="font-family:var(--jp-ui-font-family,'
            "sans-serif);font-size:12px;border-left:3px solid " + color + ";padding:2px 8px;"
            'margin:4px 0">',
            f"<b>{html.escape(info.run_name)}</b> "
            f'<span style="color:{color};font-weight:600">{info.status}</span> · '
            f"{display.duration_ms(self.duration_s * 1000)} · <code>{info.run_id}</code>",
        ]
        for label, values, number in (
            ("params", self.run.data.params, False),
            ("metrics", self.run.data.metrics, True),
        ):
            items, more = self._items(values, number)
            if items:
                cells = " ".join(
                    f'<span style="white-space:nowrap;margin-right:8px">{html.escape(k)}='
                    f"<b>{html.escape(v)}</b></span>"
                    for k, v in items
                )
                tail = f" <i>+{more} more</i>" if more else ""
                parts.append(f"<div>{_label(label)} {cells}{tail}</div>")
        if self.child_runs:
            parts.append(f"<div>{_label('child runs')} {self.child_runs}</div>")
        parts.append("</div>")
        return "".join(parts)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": self.text(), "text/html": self._repr_html_()}


_STATUS_COLORS = {
    RunStatus.RUNNING: "#2563eb",
    RunStatus.FINISHED: "#16a34a",
    RunStatus.FAILED: "#dc2626",
    RunStatus.KILLED: "#d97706",
}


def _label(text: str) -> str:
    return f"<span style='color:#6b7280'>{text}:</span>"


class LiveSummary:
    """The summary under a cell: refreshed while it runs (``live``), final when it ends."""

    def __init__(self, run_id: str, live: bool):
        self.run_id = run_id
        self._handle: Any = None
        self._shown_metrics: dict[str, float] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if live:
            context = contextvars.copy_context()  # the kernel's parent message: same cell
            self._thread = threading.Thread(
                target=context.run, args=(self._poll,), name="nbtrack-summary", daemon=True
            )
            self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(REFRESH_S):
            try:
                summary = RunSummary.read(self.run_id)
                metrics = summary.run.data.metrics
                if metrics and metrics != self._shown_metrics:  # nothing to show before
                    self._show(summary)
            except Exception:  # the store is busy or gone; the final summary still comes
                continue

    def _show(self, summary: RunSummary) -> None:
        from IPython.display import display

        self._shown_metrics = summary.run.data.metrics
        bundle = summary._repr_mimebundle_()
        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)

    def finish(self) -> None:
        """Stop refreshing and show the final summary."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
        try:
            summary = RunSummary.read(self.run_id, count_children=True)
        except Exception as exc:
            warnings.warn(f"nbtrack: the run summary could not be read: {exc}", stacklevel=2)
            return
        self._show(summary)


# -- line-magic views -------------------------------------------------------------------


def run_view(run_id: str) -> RunSummary:
    """One run's summary, read now."""
    return RunSummary.read(run_id, count_children=True)
