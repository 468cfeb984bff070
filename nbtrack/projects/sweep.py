"""A sweep: several values for some parameters, one child run per combination.

``-P alpha=0.1,0.5,1.0 -P l1_ratio=0.2,0.8`` (or lists from Python) make a parent run
(``nbtrack.project.kind=sweep``, the grid in ``nbtrack.project.parameters``) and six
child runs, launched ``parallel`` at a time. The parent ends FINISHED when every child
did, FAILED otherwise (``sweep_failures.txt`` lists the failed children), KILLED on
Ctrl-C. Shown in a notebook, the result is the sweep panel on the parent
(``nbtrack.show_sweep``).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from nbtrack.client import MlflowClient
from nbtrack.entities import RunStatus
from nbtrack.errors import ProjectSpecError
from nbtrack.projects import record

FAILURES_FILE = "sweep_failures.txt"
MAX_NAME = 250


def is_sweep(parameters: Mapping[str, Any]) -> bool:
    """Whether some parameter has several values (a list or tuple)."""
    return any(isinstance(v, (list, tuple)) for v in parameters.values())


def combinations(parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every combination of the values, the first parameter varying slowest."""
    lists = {k: list(v) if isinstance(v, (list, tuple)) else [v] for k, v in parameters.items()}
    empty = [k for k, v in lists.items() if not v]
    if empty:
        raise ProjectSpecError(f"parameter {empty[0]!r} has no values to sweep", name=empty[0])
    return [dict(zip(lists, values, strict=True)) for values in itertools.product(*lists.values())]


def split_values(text: str) -> str | list[str]:
    """A command-line value: ``0.1,0.5`` is a list of values, ``0.1`` one value."""
    parts = text.split(",")
    return parts if len(parts) > 1 else text


@dataclass
class Sweep:
    """A finished (or interrupted) sweep: its parent run and child runs."""

    parent_run_id: str
    child_run_ids: list[str] = field(default_factory=list)
    status: str = RunStatus.RUNNING

    @property
    def run_id(self) -> str:
        """The parent run's id (what ``nbtrack.show_sweep`` takes)."""
        return self.parent_run_id

    def get_status(self) -> str:
        """The parent run's status."""
        return self.status

    def text(self) -> str:
        """One line: the parent, how many children, how it ended."""
        return (
            f"sweep {self.parent_run_id}: {len(self.child_run_ids)} child runs, {self.status}; "
            f"nbtrack.show_sweep({self.parent_run_id!r}) shows them"
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        try:
            from nbtrack.panels import show_sweep
        except ImportError:
            return {"text/plain": self.text()}
        return show_sweep(self.parent_run_id)._repr_mimebundle_(**kwargs)


def run_sweep(
    launch: Callable[[dict[str, Any], str, threading.Event], str],
    parameters: Mapping[str, Any],
    *,
    uri: str,
    entry_point: str,
    experiment: str,
    run_name: str | None = None,
    parallel: int = 1,
    client: MlflowClient | None = None,
) -> Sweep:
    """Run ``launch(values, parent_run_id, stop)`` for each combination, under a parent run.

    On Ctrl-C, children not started are dropped and ``stop`` is set: a launch stops its
    child (ending it KILLED) when it is.
    """
    if parallel < 1:
        raise ProjectSpecError(f"--parallel must be 1 or more (found {parallel})")
    grid = combinations(parameters)
    client = client or MlflowClient()
    parent = record.create_run(
        client,
        experiment,
        kind="sweep",
        source_name=uri,
        uri=uri,
        parameters=parameters,
        logged_params={},
        run_name=run_name,
        tags={record.ENTRY_POINT: entry_point},
    )
    sweep = Sweep(parent)
    pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="nbtrack-sweep")
    stop = threading.Event()
    futures = [pool.submit(launch, values, parent, stop) for values in grid]
    try:
        wait(futures)
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        stop.set()
        wait([f for f in futures if not f.cancelled()])  # a cancelled one never notifies
        sweep.child_run_ids = _done_ids(futures)
        sweep.status = RunStatus.KILLED
        record.finish(client, parent, RunStatus.KILLED)
        raise
    pool.shutdown()
    sweep.child_run_ids = _done_ids(futures)
    failures = _failures(client, futures, grid)
    sweep.status = RunStatus.FAILED if failures else RunStatus.FINISHED
    record.finish(client, parent, sweep.status, failure_text=failures, failure_file=FAILURES_FILE)
    return sweep


def _done_ids(futures: Sequence[Future[str]]) -> list[str]:
    return [f.result() for f in futures if f.done() and not f.cancelled() and not f.exception()]


def _failures(client: MlflowClient, futures: Sequence[Future[str]], grid: list[dict]) -> str:
    lines = []
    for future, values in zip(futures, grid, strict=True):
        error = future.exception()
        if error is not None:
            lines.append(f"{values}: not started: {error}")
            continue
        status = client.get_run(future.result()).info.status
        if status != RunStatus.FINISHED:
            lines.append(f"{values}: run {future.result()} {status}")
    return "\n".join(lines) + "\n" if lines else ""


def child_name(values: Mapping[str, Any]) -> str:
    """A child run's name: its combination, ``alpha=0.1 l1_ratio=0.2``."""
    return " ".join(f"{k}={v}" for k, v in values.items())[:MAX_NAME]
