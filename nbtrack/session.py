"""The session: the state the fluent API and every higher layer share in one process.

It is the one place to get and set the tracking URI in force (``set_tracking_uri``, else
``NBTRACK_TRACKING_URI``, else ``./nbtrack.db``; the value itself and its parsing live in
:mod:`nbtrack.uri`, below the client that defaults to it), and it owns one
:class:`MlflowClient` per tracking URI, the active experiment, and each thread's stack of
active runs. Other modules call these functions instead of reaching into
``nbtrack.tracking``; the fluent API (``nbtrack.start_run`` …) is built on them.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Protocol

from nbtrack import uri as _uri
from nbtrack.client import MlflowClient
from nbtrack.entities import Experiment, RunInfo
from nbtrack.errors import InvalidParameter, ResourceAlreadyExists
from nbtrack.store.experiments import DEFAULT_EXPERIMENT_ID

ENV_EXPERIMENT_NAMES = ("NBTRACK_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_NAME")
ENV_EXPERIMENT_IDS = ("NBTRACK_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_ID")


if TYPE_CHECKING:  # a type only: no Protocol class is built at import

    class StackedRun(Protocol):
        """What the run stack holds: a started run (``nbtrack.ActiveRun``)."""

        @property
        def info(self) -> RunInfo:
            """The run's info."""


_local = threading.local()
_lock = threading.Lock()
_clients: dict[str, MlflowClient] = {}
_active_experiment_id: str | None = None
_last_run_id: str | None = None


# -- tracking URI and client ------------------------------------------------------------


def get_tracking_uri() -> str:
    """The tracking URI in force."""
    return _uri.get_tracking_uri()


def set_tracking_uri(uri: str | os.PathLike[str]) -> None:
    """Send everything that follows to another store; the active experiment is forgotten."""
    global _active_experiment_id
    try:
        before: str | None = _uri.get_tracking_uri()
    except InvalidParameter:  # MLFLOW_TRACKING_URI alone: no store was in use yet
        before = None
    _uri.set_tracking_uri(uri)
    if _uri.get_tracking_uri() != before:
        _active_experiment_id = None  # an experiment id means nothing in another store


def client() -> MlflowClient:
    """The client of the store in force (one per tracking URI, shared by all threads)."""
    tracking_uri = _uri.get_tracking_uri()
    found = _clients.get(tracking_uri)
    if found is None:
        with _lock:
            found = _clients.setdefault(tracking_uri, MlflowClient(tracking_uri))
    return found


# -- active experiment ------------------------------------------------------------------


def set_active_experiment_id(experiment_id: str | None) -> None:
    """Make an experiment the active one (None: fall back to the environment or Default)."""
    global _active_experiment_id
    _active_experiment_id = experiment_id


def active_experiment_id() -> str:
    """The experiment new runs go to.

    ``set_experiment``'s, else the one ``NBTRACK_EXPERIMENT_NAME`` / ``MLFLOW_EXPERIMENT_NAME``
    names (created if missing), else ``NBTRACK_EXPERIMENT_ID`` / ``MLFLOW_EXPERIMENT_ID``,
    else Default (``"0"``).
    """
    if _active_experiment_id is not None:
        return _active_experiment_id
    current = client()
    for var in ENV_EXPERIMENT_NAMES:
        name = os.environ.get(var)
        if name:
            return get_or_create_experiment(current, name).experiment_id
    for var in ENV_EXPERIMENT_IDS:
        exp_id = os.environ.get(var)
        if exp_id:
            return current.get_experiment(exp_id).experiment_id
    return DEFAULT_EXPERIMENT_ID


def get_or_create_experiment(current: MlflowClient, name: str) -> Experiment:
    """The experiment of that name, created if missing (another process may create it first)."""
    found = current.get_experiment_by_name(name)
    if found is not None:
        return found
    try:
        return current.get_experiment(current.create_experiment(name))
    except ResourceAlreadyExists:  # lost the race to another process: use theirs
        found = current.get_experiment_by_name(name)
        if found is None:
            raise
        return found


def forget_experiment(experiment_id: str) -> None:
    """Stop treating an experiment as active (it was deleted)."""
    global _active_experiment_id
    if _active_experiment_id == str(experiment_id):
        _active_experiment_id = None


# -- the run stack ----------------------------------------------------------------------


def run_stack() -> list[StackedRun]:
    """The active runs of this thread, outermost first (the list itself, mutable)."""
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def active_run_id() -> str | None:
    """The id of this thread's innermost active run, or None."""
    stack = run_stack()
    return stack[-1].info.run_id if stack else None


def active_run_ids() -> list[str]:
    """The ids of this thread's active runs, outermost first."""
    return [run.info.run_id for run in run_stack()]


def push_run(run: StackedRun) -> None:
    """Make a started run the innermost active run (and the last one started)."""
    global _last_run_id
    run_stack().append(run)
    _last_run_id = run.info.run_id


def last_run_id() -> str | None:
    """The id of the run most recently started in this process, or None."""
    return _last_run_id


# -- tests ------------------------------------------------------------------------------


def reset() -> None:
    """Forget active runs, clients, the active experiment and ``set_tracking_uri``."""
    global _active_experiment_id, _last_run_id
    _local.stack = []
    _clients.clear()
    _active_experiment_id = None
    _last_run_id = None
    _uri.reset_tracking_uri()
