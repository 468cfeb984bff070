"""``nbtrack reproduce RUN_ID``: re-execute what produced a run, as a new run, and compare.

What is re-executed depends on how the run was made:

- ``nbtrack run`` of an MLproject folder: the same URI, version, entry point, params and
  environment manager;
- ``nbtrack run`` of a notebook: the same notebook and params, in a fresh kernel;
- a ``%%track`` cell: the notebook's executed cells up to and including that cell, from
  the kernel's history (``cell_history.json``, stored by ``%%track``), in a fresh kernel.
  The cells before it log to a throwaway store, so only the tracked cell's run is new.

The new run is tagged ``nbtrack.reproduced_from`` with the original's id; the result
lists every metric of either run with both values and their difference.
"""

from __future__ import annotations

import html
import json
import math
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbtrack import context, tag_keys
from nbtrack.cell_history import HISTORY_FILE
from nbtrack.client import MlflowClient
from nbtrack.entities import Run, RunStatus
from nbtrack.errors import ExecutionException, InvalidState
from nbtrack.projects import record
from nbtrack.uri import db_path

REPRODUCED_FROM = "nbtrack.reproduced_from"
REPLAY_FILE = "reproduction.ipynb"


@dataclass
class Reproduction:
    """An original run, its reproduction, and their metrics side by side."""

    original_run_id: str
    run_id: str
    status: str
    metrics: list[tuple[str, float | None, float | None]] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        """Whether every metric has the same value in both runs (NaN equal to NaN)."""
        return all(_same(a, b) for _, a, b in self.metrics)

    def differences(self) -> dict[str, tuple[float | None, float | None]]:
        """The metrics whose values differ: key → (original, reproduced)."""
        return {k: (a, b) for k, a, b in self.metrics if not _same(a, b)}

    def text(self) -> str:
        """The comparison as a plain-text table."""
        verdict = "identical metrics" if self.identical else "metrics differ"
        lines = [
            f"reproduced run {self.original_run_id} as {self.run_id} ({self.status}): {verdict}"
        ]
        width = max([len(k) for k, _, _ in self.metrics] + [6])
        if self.metrics:
            header = ("metric", "original", "reproduced", "diff")
            lines.append(f"  {header[0]:<{width}}  " + "  ".join(f"{h:>12}" for h in header[1:]))
        for key, a, b in self.metrics:
            lines.append(f"  {key:<{width}}  {_fmt(a):>12}  {_fmt(b):>12}  {_diff(a, b):>12}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            ("<tr>" if _same(a, b) else '<tr style="color:#dc2626">')
            + f"<td>{html.escape(k)}</td><td>{_fmt(a)}</td><td>{_fmt(b)}</td>"
            f"<td>{_diff(a, b)}</td></tr>"
            for k, a, b in self.metrics
        )
        head = html.escape(self.text().splitlines()[0])
        return (
            f'<div class="nbtrack-reproduction"><div>{head}</div><table>'
            "<tr><th>metric</th><th>original</th><th>reproduced</th><th>diff</th></tr>"
            f"{rows}</table></div>"
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": self.text(), "text/html": self._repr_html_()}


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b or (math.isnan(a) and math.isnan(b))


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.6g}"


def _diff(a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "missing"
    return "0" if _same(a, b) else f"{b - a:+.3g}"


def compare(client: MlflowClient, original: Run, new_run_id: str) -> Reproduction:
    """Both runs' latest metrics side by side."""
    new = client.get_run(new_run_id)
    before, after = original.data.metrics, new.data.metrics
    rows = [(k, before.get(k), after.get(k)) for k in sorted({*before, *after})]
    return Reproduction(original.info.run_id, new_run_id, new.info.status, rows)


def reproduce(run_id: str, kernel_name: str | None = None) -> Reproduction:
    """Re-execute what produced ``run_id`` as a new run and compare their metrics.

    Parameters
    ----------
    run_id
        A run made by ``nbtrack run`` (an MLproject or a notebook) or by ``%%track``.
    kernel_name
        The Jupyter kernel for notebooks and cells (default: the notebook's, or python3).

    Returns
    -------
    Reproduction
        The new run's id and status, and each metric's original and reproduced value.
    """
    from nbtrack.projects.launch import run_project
    from nbtrack.projects.notebook import run_notebook

    client = MlflowClient()
    original = client.get_run(run_id)
    tags = original.data.tags
    kind = tags.get(record.KIND)
    extra = {REPRODUCED_FROM: run_id}
    name = f"{original.info.run_name}-reproduced"
    experiment = original.info.experiment_id
    if kind == "mlproject":
        _warn_if_moved(tags)
        try:
            submitted = run_project(
                tags[record.URI],
                tags.get(record.ENTRY_POINT, "main"),
                tags.get(record.VERSION),
                json.loads(tags.get(record.PARAMETERS, "{}")),
                experiment_id=experiment,
                run_name=name,
                env_manager=tags.get(record.ENV),
                tags=extra,
            )
            new_id = submitted.run_id
        except ExecutionException as exc:  # a failed reproduction is compared all the same
            if getattr(exc, "run_id", None) is None:
                raise
            new_id = str(exc.run_id)  # type: ignore[attr-defined]
    elif kind == "notebook":
        new_id = run_notebook(
            tags[record.URI],
            json.loads(tags.get(record.PARAMETERS, "{}")),
            experiment_id=experiment,
            run_name=name,
            kernel_name=kernel_name,
            tags=extra,
            raise_on_failure=False,
        )
    elif kind == "sweep":
        raise InvalidState(
            f"run {run_id} is a sweep's parent; reproduce one of its child runs", run_id=run_id
        )
    elif any(f.path == HISTORY_FILE for f in client.list_artifacts(run_id)):
        new_id = _replay_cell(client, original, name, extra, kernel_name)
    else:
        raise InvalidState(
            f"run {run_id} records no way to re-execute it: only runs made by `nbtrack run` "
            "or by a %%track cell can be reproduced",
            run_id=run_id,
        )
    return compare(client, original, new_id)


def _warn_if_moved(tags: dict[str, str]) -> None:
    """Warn when a project folder run without --version has moved to another commit."""
    recorded = tags.get(tag_keys.GIT_COMMIT)
    if recorded is None or tags.get(record.VERSION):
        return
    now, _ = context.git_head(tags[record.URI])
    if now and now != recorded:
        warnings.warn(
            f"nbtrack: {tags[record.URI]} is at commit {now[:12]} but the run was made at "
            f"{recorded[:12]}; it runs as it is now (`nbtrack run {tags[record.URI]} "
            f"--version {recorded[:12]}` runs the recorded commit)",
            stacklevel=3,
        )


def _replay_cell(
    client: MlflowClient,
    original: Run,
    run_name: str,
    extra: dict[str, str],
    kernel_name: str | None,
) -> str:
    """Replay a %%track cell's history in a fresh kernel; the new run's id."""
    import nbformat

    from nbtrack.projects.notebook import DEFAULT_KERNEL, execute

    with tempfile.TemporaryDirectory(prefix="nbtrack-history-") as folder:
        path = client.download_artifacts(original.info.run_id, HISTORY_FILE, folder)
        history = json.loads(Path(path).read_text(encoding="utf-8"))
    tags = original.data.tags
    source = tags.get(tag_keys.SOURCE_NAME, "<ipython>")
    new_id = record.create_run(
        client,
        original.info.experiment_id,
        kind="cell",
        source_name=source,
        uri=source,
        parameters={},
        logged_params={},
        run_name=run_name,
        tags=extra,
    )
    real_store = str(db_path(client.tracking_uri))
    handover = (
        "import os as _nbtrack_os, nbtrack as _nbtrack\n"
        f"_nbtrack.set_tracking_uri({real_store!r})\n"
        f"_nbtrack_os.environ['NBTRACK_RUN_ID'] = {new_id!r}"
    )
    cells = [*history["cells"][:-1], handover, history["cells"][-1]]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    folder = history.get("cwd") or os.getcwd()
    with tempfile.TemporaryDirectory(prefix="nbtrack-replay-") as scratch:
        env = dict(os.environ)
        env["NBTRACK_TRACKING_URI"] = os.path.join(scratch, "replay.db")
        for var in record.ENV_RUN_IDS:
            env.pop(var, None)
        cwd = folder if os.path.isdir(folder) else scratch
        try:
            execute(nb, cwd, kernel_name or DEFAULT_KERNEL, env, allow_errors=True)
        except KeyboardInterrupt:
            record.finish(client, new_id, RunStatus.KILLED)
            raise
    client.log_text(new_id, nbformat.writes(nb), REPLAY_FILE)
    if client.get_run(new_id).info.status == RunStatus.RUNNING:
        record.finish(
            client,
            new_id,
            RunStatus.FAILED,
            failure_text="the tracked cell did not start its run in the replay; "
            f"the replayed notebook is {REPLAY_FILE}\n",
        )
    return new_id
