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

from nbtrack import store
from nbtrack import uri as uris  # set_tracking_uri(uri=...) names its parameter as MLflow
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
_registry_uri: str | None = None


# -- tracking URI and client ------------------------------------------------------------


def get_tracking_uri() -> str:
    """The tracking URI in force."""
    return uris.get_tracking_uri()


def set_tracking_uri(uri: str | os.PathLike[str]) -> None:
    """Send everything that follows to another store; the active experiment is forgotten."""
    global _active_experiment_id
    try:
        before: str | None = uris.get_tracking_uri()
    except InvalidParameter:  # MLFLOW_TRACKING_URI alone: no store was in use yet
        before = None
    uris.set_tracking_uri(uri)
    if uris.get_tracking_uri() != before:
        _active_experiment_id = None  # an experiment id means nothing in another store
    else:
        _reopen_if_replaced()  # the notebook may have just deleted the store to start afresh


def is_tracking_uri_set() -> bool:
    """Whether a tracking URI was chosen (``set_tracking_uri`` or ``NBTRACK_TRACKING_URI``)."""
    return uris.is_tracking_uri_set()


def get_registry_uri() -> str:
    """The registry URI: the model registry lives in the tracking store, so its URI."""
    registry = _registry_uri
    if registry is not None and uris.db_path(registry) == uris.db_path(uris.get_tracking_uri()):
        return registry
    return uris.get_tracking_uri()


def set_registry_uri(uri: str) -> None:
    """Name the registry's store, which must be the tracking store (one SQLite file holds both).

    Raises
    ------
    InvalidParameter
        If the URI names another store or a remote registry (``databricks-uc``…).
    """
    global _registry_uri
    try:
        path = uris.db_path(uri)
    except InvalidParameter:  # a remote registry: databricks://…, http://…
        path = None
    if path is None or path != uris.db_path(uris.get_tracking_uri()):
        raise InvalidParameter(
            f"registry URI {uri!r} is not the tracking store "
            f"({uris.get_tracking_uri()}); nbtrack keeps the model registry in the tracking "
            "store's file: call set_tracking_uri instead, or drop set_registry_uri"
        )
    _registry_uri = uri


def client() -> MlflowClient:
    """The client of the store in force (one per tracking URI, shared by all threads)."""
    tracking_uri = uris.get_tracking_uri()
    found = _clients.get(tracking_uri)
    if found is None:
        with _lock:
            found = _clients.setdefault(tracking_uri, MlflowClient(tracking_uri))
    return found


def _reopen_if_replaced() -> None:
    """Open a fresh store if the file in use was deleted or replaced (one ``stat``).

    Its active experiment went with the old file, so it is forgotten.
    """
    global _active_experiment_id
    try:
        reopened = store.reopen_if_replaced(uris.get_tracking_uri())
    except InvalidParameter:  # no usable tracking URI yet: nothing is open
        return
    if reopened:
        _active_experiment_id = None


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
    _reopen_if_replaced()  # runs start here: never into a store file deleted under us
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


# -- the active model (MLflow 3's LoggedModels) -------------------------------------------

ENV_ACTIVE_MODEL_IDS = ("MLFLOW_ACTIVE_MODEL_ID", "_MLFLOW_ACTIVE_MODEL_ID")


def active_model_id() -> str | None:
    """The active model of this thread (``set_active_model``), else ``MLFLOW_ACTIVE_MODEL_ID``."""
    found = getattr(_local, "model_id", None)
    if found is not None:
        return str(found)
    for var in ENV_ACTIVE_MODEL_IDS:
        if value := os.environ.get(var):
            return value
    return None


def set_active_model_id(model_id: str | None) -> None:
    """Make a LoggedModel this thread's active model (None: no active model)."""
    _local.model_id = model_id


def last_logged_model_id() -> str | None:
    """The id of the LoggedModel most recently created in this thread, or None."""
    return getattr(_local, "last_model_id", None)


def record_logged_model(model_id: str) -> None:
    """Remember a LoggedModel as this thread's last one created (``last_logged_model``)."""
    _local.last_model_id = model_id


_model_outputs: dict[str, list[tuple[str, int]]] = {}


def model_outputs(run_id: str) -> list[tuple[str, int]]:
    """The (model_id, step) outputs of a run, read once and then kept up to date here.

    As MLflow keeps them on its active run: outputs that another process records later are
    not seen by this one.
    """
    found = _model_outputs.get(run_id)
    if found is None:
        run = client().get_run(run_id)
        found = [(o.model_id, o.step) for o in run.outputs.model_outputs]
        _model_outputs[run_id] = found
    return found


def add_model_output(run_id: str, model_id: str, step: int) -> None:
    """Note a model output of a run that this process just recorded in the store."""
    if run_id in _model_outputs:
        _model_outputs[run_id] = [
            *(o for o in _model_outputs[run_id] if o[0] != model_id),
            (model_id, step),
        ]


# -- tests ------------------------------------------------------------------------------


def reset() -> None:
    """Forget active runs, clients, the active experiment and ``set_tracking_uri``."""
    global _active_experiment_id, _last_run_id, _registry_uri
    _local.stack = []
    _local.model_id = None
    _local.last_model_id = None
    _model_outputs.clear()
    _registry_uri = None
    _clients.clear()
    _active_experiment_id = None
    _last_run_id = None
    uris.reset_tracking_uri()
