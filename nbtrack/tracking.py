"""The fluent API (``nbtrack.start_run``, ``nbtrack.log_metric``…) and the active-run stack.

As in MLflow, each thread has its own stack of active runs; logging with no active run
starts one; a ``with start_run()`` block ends its run FINISHED, FAILED when it raises and
KILLED when interrupted; runs still active when the interpreter exits are ended too.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from nbtrack import context, uri
from nbtrack.client import MlflowClient
from nbtrack.entities import (
    DatasetInput,
    Experiment,
    InputTag,
    Metric,
    Param,
    Run,
    RunStatus,
    RunTag,
    ViewType,
)
from nbtrack.errors import ExperimentNotFound, InvalidParameter, InvalidState, RunNotFound
from nbtrack.store.experiments import DEFAULT_EXPERIMENT_ID
from nbtrack.store.sql import now_ms
from nbtrack.store.tracking import PARENT_TAG

if TYPE_CHECKING:
    import pandas as pd

    from nbtrack.data import Dataset

ENV_EXPERIMENT_NAMES = ("NBTRACK_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_NAME")
ENV_EXPERIMENT_IDS = ("NBTRACK_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_ID")
ENV_RUN_IDS = ("NBTRACK_RUN_ID", "MLFLOW_RUN_ID")
NOTE_TAG = "mlflow.note.content"
SEARCH_MAX_RESULTS_PANDAS = 100_000

_local = threading.local()
_state_lock = threading.Lock()
_clients: dict[str, MlflowClient] = {}
_active_experiment_id: str | None = None
_last_active_run_id: str | None = None
_atexit_registered = False


class ActiveRun:
    """The run ``start_run`` returns; a context manager that ends it on exit."""

    def __init__(self, run: Run):
        self._run = run

    @property
    def info(self):  # type: ignore[no-untyped-def]
        """The run's info as it was when started."""
        return self._run.info

    @property
    def data(self):  # type: ignore[no-untyped-def]
        """The run's params, latest metrics and tags, read now from the store."""
        return _client().get_run(self._run.info.run_id).data

    @property
    def inputs(self):  # type: ignore[no-untyped-def]
        """The datasets the run used so far."""
        return _client().get_run(self._run.info.run_id).inputs

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: object, tb: object) -> None:
        if exc_type is None:
            status = RunStatus.FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        stack = _stack()
        ids = [r.info.run_id for r in stack]
        if self.info.run_id in ids:
            while len(stack) > ids.index(self.info.run_id):
                end_run(status)

    def __repr__(self) -> str:
        return f"<ActiveRun: run_id={self.info.run_id!r}, run_name={self.info.run_name!r}>"


def _stack() -> list[ActiveRun]:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def _client() -> MlflowClient:
    tracking_uri = uri.get_tracking_uri()
    client = _clients.get(tracking_uri)
    if client is None:
        with _state_lock:
            client = _clients.setdefault(tracking_uri, MlflowClient(tracking_uri))
    return client


# -- tracking URI and experiments ---------------------------------------------------


def set_tracking_uri(tracking_uri: str | os.PathLike[str]) -> None:
    """Send everything that follows to another store (``sqlite:///path.db`` or a path)."""
    global _active_experiment_id
    before = uri.get_tracking_uri()
    uri.set_tracking_uri(tracking_uri)
    if uri.get_tracking_uri() != before:
        _active_experiment_id = None  # an experiment id means nothing in another store


def get_tracking_uri() -> str:
    """The tracking URI in force."""
    return uri.get_tracking_uri()


def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> Experiment:
    """Make an experiment the active one, creating it (by name) if it does not exist."""
    global _active_experiment_id
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidParameter(
            "set_experiment takes exactly one of experiment_name and experiment_id"
        )
    client = _client()
    if experiment_id is not None:
        experiment = client.get_experiment(str(experiment_id))
    else:
        found = client.get_experiment_by_name(experiment_name)  # type: ignore[arg-type]
        if found is None:
            new_id = client.create_experiment(experiment_name)  # type: ignore[arg-type]
            found = client.get_experiment(new_id)
        experiment = found
    if experiment.lifecycle_stage != "active":
        raise InvalidState(
            f"experiment {experiment.name!r} is deleted; restore it with "
            "MlflowClient().restore_experiment or remove it for good with `nbtrack gc`",
            experiment_id=experiment.experiment_id,
        )
    _active_experiment_id = experiment.experiment_id
    return experiment


def _current_experiment_id() -> str:
    if _active_experiment_id is not None:
        return _active_experiment_id
    for var in ENV_EXPERIMENT_NAMES:
        name = os.environ.get(var)
        if name:
            found = _client().get_experiment_by_name(name)
            return found.experiment_id if found else _client().create_experiment(name)
    for var in ENV_EXPERIMENT_IDS:
        exp_id = os.environ.get(var)
        if exp_id:
            return _client().get_experiment(exp_id).experiment_id
    return DEFAULT_EXPERIMENT_ID


def create_experiment(
    name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
) -> str:
    """Create an experiment; return its id."""
    return _client().create_experiment(name, artifact_location, tags)


def get_experiment(experiment_id: str) -> Experiment:
    """The experiment with this id."""
    return _client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    """The experiment with this name, or None."""
    return _client().get_experiment_by_name(name)


def search_experiments(
    view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
) -> list[Experiment]:
    """All experiments matching a filter."""
    return list(_client().search_experiments(view_type, max_results, filter_string, order_by))


def delete_experiment(experiment_id: str) -> None:
    """Mark an experiment and its runs deleted."""
    global _active_experiment_id
    _client().delete_experiment(experiment_id)
    if _active_experiment_id == str(experiment_id):
        _active_experiment_id = None


# -- runs -------------------------------------------------------------------------


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Start a new run (or resume ``run_id``) and make it the active run.

    Parameters
    ----------
    run_id
        Resume this run instead of starting one; it becomes RUNNING again. Without it,
        the run handed over in ``NBTRACK_RUN_ID``/``MLFLOW_RUN_ID`` (by ``nbtrack run``)
        is resumed, once.
    experiment_id
        Where to start the run; defaults to the active experiment (``set_experiment``,
        then ``NBTRACK_EXPERIMENT_NAME``/``MLFLOW_EXPERIMENT_NAME``, then Default).
    run_name
        A readable name; a random one such as ``brave-fox-123`` if omitted.
    nested
        Start the run as a child of the active run (required while one is active).
    parent_run_id
        Start the run as a child of this (active) run.
    tags, description
        Tags to set, and a description stored as ``mlflow.note.content``.
    log_system_metrics
        Accepted for MLflow compatibility; system metrics are not collected.
    """
    global _last_active_run_id
    stack = _stack()
    if stack and not nested and parent_run_id is None:
        raise InvalidState(
            f"run {stack[-1].info.run_id} is already active; end it with end_run() first, "
            "or start a nested run with start_run(nested=True)",
            run_id=stack[-1].info.run_id,
        )
    client = _client()
    if run_id is None and not stack:
        run_id = _run_id_from_environment(client)
    if run_id is not None:
        run = _resume(client, run_id, experiment_id, tags, description)
    else:
        parent = _parent_id(stack, nested, parent_run_id)
        all_tags = {**context.run_tags(), **(tags or {})}
        if description is not None:
            all_tags[NOTE_TAG] = description
        if parent is not None:
            all_tags[PARENT_TAG] = parent
        exp_id = str(experiment_id) if experiment_id is not None else _current_experiment_id()
        run = client.create_run(exp_id, tags=all_tags, run_name=run_name)
    active = ActiveRun(run)
    stack.append(active)
    _last_active_run_id = run.info.run_id
    _register_atexit()
    return active


def _run_id_from_environment(client: MlflowClient) -> str | None:
    """The run a launcher (``nbtrack run``) handed to this process, taken once.

    As MLflow does with ``MLFLOW_RUN_ID``: the first ``start_run`` continues that run and
    the variables are removed, so later runs are new ones. An ``MLFLOW_RUN_ID`` naming no
    run of this store (MLflow's own ``mlflow run`` set it) is left to MLflow.
    """
    if os.environ.get(ENV_RUN_IDS[0]):
        os.environ.pop(ENV_RUN_IDS[1], None)
        return os.environ.pop(ENV_RUN_IDS[0])
    run_id = os.environ.get(ENV_RUN_IDS[1])
    if not run_id:
        return None
    try:
        client.get_run(run_id)
    except (RunNotFound, InvalidParameter):
        return None
    del os.environ[ENV_RUN_IDS[1]]
    return run_id


def _parent_id(stack: list[ActiveRun], nested: bool, parent_run_id: str | None) -> str | None:
    if parent_run_id is None:
        return stack[-1].info.run_id if nested and stack else None
    if stack and stack[-1].info.run_id != parent_run_id:
        raise InvalidParameter(
            f"parent_run_id {parent_run_id} is not the active run ({stack[-1].info.run_id}); "
            "end the active run first or pass its id",
            run_id=parent_run_id,
        )
    parent = _client().get_run(parent_run_id)
    if parent.info.status != RunStatus.RUNNING:
        raise InvalidState(
            f"parent run {parent_run_id} is {parent.info.status}, not RUNNING; a parent must "
            "be active while its children start",
            run_id=parent_run_id,
        )
    return parent_run_id


def _resume(
    client: MlflowClient,
    run_id: str,
    experiment_id: str | None,
    tags: dict[str, Any] | None,
    description: str | None,
) -> Run:
    run = client.get_run(run_id)
    if experiment_id is not None and str(experiment_id) != run.info.experiment_id:
        raise InvalidParameter(
            f"run {run_id} belongs to experiment {run.info.experiment_id}, not "
            f"{experiment_id}; drop experiment_id to resume it",
            run_id=run_id,
        )
    client.update_run(run_id, status=RunStatus.RUNNING)
    extra = [RunTag(k, str(v)) for k, v in (tags or {}).items()]
    if description is not None:
        extra.append(RunTag(NOTE_TAG, description))
    client.log_batch(run_id, tags=extra)
    return client.get_run(run_id)


def end_run(status: str = RunStatus.FINISHED) -> None:
    """End the active run (the innermost one) with this status; no-op if none is active."""
    stack = _stack()
    if not stack:
        return
    if status not in RunStatus.ALL:
        raise InvalidParameter(
            f"status must be one of {', '.join(RunStatus.ALL)} (found {status!r})"
        )
    run = stack[-1]
    _client().set_terminated(run.info.run_id, status)
    stack.pop()


def active_run() -> ActiveRun | None:
    """The innermost active run of this thread, or None."""
    stack = _stack()
    return stack[-1] if stack else None


def last_active_run() -> Run | None:
    """The active run, or else the run most recently started in this process."""
    current = active_run()
    run_id = current.info.run_id if current else _last_active_run_id
    return _client().get_run(run_id) if run_id else None


def _run_id_or_active(run_id: str | None) -> str:
    if run_id is not None:
        return run_id
    stack = _stack()
    if stack:
        return stack[-1].info.run_id
    return start_run().info.run_id  # MLflow's behaviour: logging starts a run


def get_run(run_id: str) -> Run:
    """The run with this id."""
    return _client().get_run(run_id)


def get_parent_run(run_id: str) -> Run | None:
    """The parent of a nested run, or None."""
    return _client().get_parent_run(run_id)


def delete_run(run_id: str) -> None:
    """Mark a run deleted."""
    _client().delete_run(run_id)


# -- logging ------------------------------------------------------------------------


def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    """Log a param of the active run; return the value."""
    return _client().log_param(_run_id_or_active(None), key, value)


def log_params(
    params: dict[str, Any], synchronous: bool | None = None, run_id: str | None = None
) -> None:
    """Log several params at once (one transaction)."""
    rid = _run_id_or_active(run_id)
    _client().log_batch(rid, params=[Param(k, v) for k, v in params.items()])


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    synchronous: bool | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
    **_: Any,
) -> None:
    """Append a point to a metric of the active run (durable when this returns)."""
    _client().log_metric(_run_id_or_active(run_id), key, value, timestamp, step)


def log_metrics(
    metrics: dict[str, float],
    step: int | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
    timestamp: int | None = None,
    **_: Any,
) -> None:
    """Log several metrics at the same step and time (one transaction)."""
    rid = _run_id_or_active(run_id)
    ts = now_ms() if timestamp is None else timestamp
    _client().log_batch(rid, metrics=[Metric(k, v, ts, step or 0) for k, v in metrics.items()])


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> None:
    """Set a tag on the active run."""
    _client().set_tag(_run_id_or_active(None), key, value)


def set_tags(tags: dict[str, Any], synchronous: bool | None = None) -> None:
    """Set several tags at once."""
    rid = _run_id_or_active(None)
    _client().log_batch(rid, tags=[RunTag(k, str(v)) for k, v in tags.items()])


def delete_tag(key: str) -> None:
    """Remove a tag from the active run."""
    _client().delete_tag(_run_id_or_active(None), key)


def log_artifact(
    local_path: str, artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Copy a local file into the active run's artifacts."""
    _client().log_artifact(_run_id_or_active(run_id), local_path, artifact_path)


def log_artifacts(
    local_dir: str, artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Copy a local folder's contents into the active run's artifacts."""
    _client().log_artifacts(_run_id_or_active(run_id), local_dir, artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    """Write a string as an artifact of the active run."""
    _client().log_text(_run_id_or_active(run_id), text, artifact_file)


def log_dict(dictionary: dict[str, Any], artifact_file: str, run_id: str | None = None) -> None:
    """Write a dict as a JSON or YAML artifact of the active run."""
    _client().log_dict(_run_id_or_active(run_id), dictionary, artifact_file)


def log_figure(
    figure: Any, artifact_file: str, *, save_kwargs: Any = None, run_id: str | None = None
) -> None:
    """Save a matplotlib or plotly figure as an artifact of the active run."""
    _client().log_figure(_run_id_or_active(run_id), figure, artifact_file)


def log_image(
    image: Any, artifact_file: str | None = None, run_id: str | None = None, **_: Any
) -> None:
    """Save a numpy array or PIL image as an artifact of the active run."""
    if artifact_file is None:
        raise InvalidParameter("log_image needs artifact_file, such as 'confusion.png'")
    _client().log_image(_run_id_or_active(run_id), image, artifact_file)


def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Write a DataFrame or dict of columns as a JSON table artifact of the active run."""
    _client().log_table(_run_id_or_active(run_id), data, artifact_file)


def log_input(
    dataset: Dataset,
    context: str | None = None,
    tags: dict[str, str] | None = None,
    model: Any = None,
) -> None:
    """Record a dataset (``nbtrack.data.from_pandas`` / ``from_numpy``) as a run input."""
    entity = dataset.to_entity() if hasattr(dataset, "to_entity") else dataset
    input_tags = [InputTag(k, str(v)) for k, v in (tags or {}).items()]
    if context is not None:
        input_tags.append(InputTag("mlflow.data.context", context))
    _client().log_inputs(_run_id_or_active(None), [DatasetInput(entity, input_tags)])  # type: ignore[arg-type]


# -- search -------------------------------------------------------------------------


def search_runs(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str = "",
    run_view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int = SEARCH_MAX_RESULTS_PANDAS,
    order_by: list[str] | None = None,
    output_format: Literal["pandas", "list"] = "pandas",
    search_all_experiments: bool = False,
    experiment_names: Sequence[str] | None = None,
) -> pd.DataFrame | list[Run]:
    """Runs matching MLflow's filter grammar, as a DataFrame (default) or a list of Runs.

    Without ``experiment_ids`` or ``experiment_names`` the active experiment is searched
    (all experiments with ``search_all_experiments=True``).
    """
    if output_format not in ("pandas", "list"):
        raise InvalidParameter(
            f"output_format must be 'pandas' or 'list' (found {output_format!r})"
        )
    client = _client()
    ids = _search_experiment_ids(client, experiment_ids, experiment_names, search_all_experiments)
    run_ids, _ = client.store.search_run_ids(
        ids,
        filter_string=filter_string or None,
        run_view_type=run_view_type,
        max_results=max_results,
        order_by=order_by,
    )
    if output_format == "list":
        return client.store.get_runs(run_ids)
    from nbtrack.frames import runs_frame

    return runs_frame(client.store, run_ids)


def _search_experiment_ids(
    client: MlflowClient,
    experiment_ids: Sequence[str] | None,
    experiment_names: Sequence[str] | None,
    search_all: bool,
) -> list[str]:
    if isinstance(experiment_ids, (str, int)):
        experiment_ids = [str(experiment_ids)]
    ids = [str(e) for e in experiment_ids or []]
    for name in experiment_names or []:
        found = client.get_experiment_by_name(name)
        if found is None:
            raise ExperimentNotFound(
                f"no experiment named {name!r}; search_experiments() lists them", name=name
            )
        ids.append(found.experiment_id)
    if ids:
        return ids
    if search_all:
        return [e.experiment_id for e in client.search_experiments(max_results=None)]
    return [_current_experiment_id()]


# -- process exit ---------------------------------------------------------------------


def _register_atexit() -> None:
    global _atexit_registered
    if not _atexit_registered:
        atexit.register(_end_runs_at_exit)
        _atexit_registered = True


def _end_runs_at_exit() -> None:
    """End runs left active: FAILED/KILLED if a script died of an exception, else FINISHED."""
    status = RunStatus.FINISHED
    error = getattr(sys, "last_value", None)
    if error is not None and not context.in_notebook():
        status = RunStatus.KILLED if isinstance(error, KeyboardInterrupt) else RunStatus.FAILED
    for _ in range(len(_stack())):
        try:
            end_run(status)
        except Exception:  # the store may be gone at exit; nothing left to save it to
            _stack().pop()


def _reset_for_tests() -> None:
    """Forget active runs, clients and the active experiment (test isolation)."""
    global _active_experiment_id, _last_active_run_id
    _local.stack = []
    _clients.clear()
    _active_experiment_id = None
    _last_active_run_id = None
    uri.reset_tracking_uri()
