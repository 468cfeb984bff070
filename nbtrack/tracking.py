"""The fluent API (``nbtrack.start_run``, ``nbtrack.log_metric``…): runs and their logging.

As in MLflow, each thread has its own stack of active runs (kept by :mod:`nbtrack.session`);
logging with no active run starts one; a ``with start_run()`` block ends its run FINISHED,
FAILED when it raises and KILLED when interrupted; runs still active when the interpreter
exits are ended too; ``register_model`` registers into the session's store. The experiment
functions and ``search_runs`` live in :mod:`nbtrack.experiments` and are re-exported here,
so this module is the whole fluent API.
"""

from __future__ import annotations

import atexit
import os
import sys
from typing import TYPE_CHECKING, Any, cast

from nbtrack import async_logging, context, session, system_metrics, tag_keys
from nbtrack.async_logging import RunOperations
from nbtrack.client import MlflowClient
from nbtrack.entities import (
    DatasetInput,
    InputTag,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunStatus,
    RunTag,
)
from nbtrack.errors import (
    AsyncLoggingError,
    InvalidParameter,
    InvalidState,
    RunNotFound,
)
from nbtrack.experiments import (
    create_experiment,
    delete_experiment,
    get_experiment,
    get_experiment_by_name,
    search_experiments,
    search_runs,
    set_experiment,
)
from nbtrack.session import get_tracking_uri, set_tracking_uri
from nbtrack.store.sql import now_ms
from nbtrack.system_metrics import SystemMetricsMonitor

if TYPE_CHECKING:
    from nbtrack.data import Dataset

__all__ = [
    "ActiveRun",
    "active_run",
    "create_experiment",
    "delete_experiment",
    "delete_run",
    "delete_tag",
    "end_run",
    "flush_async_logging",
    "get_experiment",
    "get_experiment_by_name",
    "get_parent_run",
    "get_run",
    "get_tracking_uri",
    "last_active_run",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]

ENV_RUN_IDS = ("NBTRACK_RUN_ID", "MLFLOW_RUN_ID")  # a launcher hands its run to the script

_atexit_registered = False


class ActiveRun:
    """The run ``start_run`` returns; a context manager that ends it on exit."""

    def __init__(self, run: Run):
        self._run = run
        self._system_metrics: SystemMetricsMonitor | None = None

    @property
    def info(self) -> RunInfo:
        """The run's info as it was when started."""
        return self._run.info

    @property
    def data(self) -> RunData:
        """The run's params, latest metrics and tags, read now from the store."""
        return session.client().get_run(self._run.info.run_id).data

    @property
    def inputs(self) -> RunInputs:
        """The datasets the run used so far."""
        return session.client().get_run(self._run.info.run_id).inputs

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: object, tb: object) -> None:
        if exc_type is None:
            status = RunStatus.FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        ids = session.active_run_ids()
        if self.info.run_id in ids:
            while len(session.run_stack()) > ids.index(self.info.run_id):
                end_run(status)

    def __repr__(self) -> str:
        return f"<ActiveRun: run_id={self.info.run_id!r}, run_name={self.info.run_name!r}>"


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
        Sample CPU, memory, disk, network (and GPU) metrics in a background thread while
        the run is active (:mod:`nbtrack.system_metrics`); None follows
        ``enable_system_metrics_logging`` / ``MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING``.
    """
    stack = session.run_stack()
    if stack and not nested and parent_run_id is None:
        raise InvalidState(
            f"run {stack[-1].info.run_id} is already active; end it with end_run() first, "
            "or start a nested run with start_run(nested=True)",
            run_id=stack[-1].info.run_id,
        )
    client = session.client()
    if run_id is None and not stack:
        run_id = _run_id_from_environment(client)
    if run_id is not None:
        run = _resume(client, run_id, experiment_id, tags, description)
    else:
        parent = _parent_id(stack, nested, parent_run_id)
        all_tags = {**context.run_tags(), **(tags or {})}
        if description is not None:
            all_tags[tag_keys.NOTE] = description
        if parent is not None:
            all_tags[tag_keys.PARENT_RUN_ID] = parent
        exp_id = str(experiment_id) if experiment_id is not None else session.active_experiment_id()
        run = client.create_run(exp_id, tags=all_tags, run_name=run_name)
    active = ActiveRun(run)
    session.push_run(active)
    _register_atexit()
    if system_metrics.is_enabled() if log_system_metrics is None else log_system_metrics:
        monitor = SystemMetricsMonitor(
            run.info.run_id, client.tracking_uri, resume_logging=run_id is not None
        )
        monitor.start()
        active._system_metrics = monitor
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


def _parent_id(
    stack: list[session.StackedRun], nested: bool, parent_run_id: str | None
) -> str | None:
    if parent_run_id is None:
        return stack[-1].info.run_id if nested and stack else None
    if stack and stack[-1].info.run_id != parent_run_id:
        raise InvalidParameter(
            f"parent_run_id {parent_run_id} is not the active run ({stack[-1].info.run_id}); "
            "end the active run first or pass its id",
            run_id=parent_run_id,
        )
    parent = session.client().get_run(parent_run_id)
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
        extra.append(RunTag(tag_keys.NOTE, description))
    client.log_batch(run_id, tags=extra)
    return client.get_run(run_id)


def end_run(status: str = RunStatus.FINISHED) -> None:
    """End the active run (the innermost one) with this status; no-op if none is active."""
    stack = session.run_stack()
    if not stack:
        return
    if status not in RunStatus.ALL:
        raise InvalidParameter(
            f"status must be one of {', '.join(RunStatus.ALL)} (found {status!r})"
        )
    run = stack[-1]
    monitor = getattr(run, "_system_metrics", None)
    if monitor is not None:
        monitor.finish()
    try:
        session.client().set_terminated(run.info.run_id, status)
    except AsyncLoggingError:
        stack.pop()  # the run has ended; the error is about data queued before
        raise
    stack.pop()


def active_run() -> ActiveRun | None:
    """The innermost active run of this thread, or None."""
    stack = session.run_stack()
    return cast(ActiveRun, stack[-1]) if stack else None  # the stack holds what start_run put


def last_active_run() -> Run | None:
    """The active run, or else the run most recently started in this process."""
    current = active_run()
    run_id = current.info.run_id if current else session.last_run_id()
    return session.client().get_run(run_id) if run_id else None


def _run_id_or_active(run_id: str | None) -> str:
    if run_id is not None:
        return run_id
    stack = session.run_stack()
    if stack:
        return stack[-1].info.run_id
    return start_run().info.run_id  # MLflow's behaviour: logging starts a run


def get_run(run_id: str) -> Run:
    """The run with this id."""
    return session.client().get_run(run_id)


def get_parent_run(run_id: str) -> Run | None:
    """The parent of a nested run, or None."""
    return session.client().get_parent_run(run_id)


def delete_run(run_id: str) -> None:
    """Mark a run deleted."""
    session.client().delete_run(run_id)


# -- logging ------------------------------------------------------------------------


def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    """Log a param of the active run; return the value (a handle if ``synchronous=False``)."""
    return session.client().log_param(_run_id_or_active(None), key, value, synchronous)


def log_params(
    params: dict[str, Any], synchronous: bool | None = None, run_id: str | None = None
) -> RunOperations | None:
    """Log several params at once (one transaction)."""
    rid = _run_id_or_active(run_id)
    return session.client().log_batch(
        rid, params=[Param(k, v) for k, v in params.items()], synchronous=synchronous
    )


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    synchronous: bool | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
    model_id: str | None = None,
    dataset: Dataset | None = None,
    **_: Any,
) -> RunOperations | None:
    """Append a point to a metric of the active run (durable when this returns).

    With ``synchronous=False`` (or ``MLFLOW_ENABLE_ASYNC_LOGGING=true``) the point is queued
    and a ``RunOperations`` returned at once; its ``wait()`` blocks until it has committed.
    ``model_id`` (default: the active model, ``set_active_model``, else the models the run
    output at this step) also links the point to that LoggedModel, as in MLflow 3;
    ``dataset`` (``nbtrack.data.from_pandas``…) names the data it was computed on: it
    becomes an input of the run, and the model's metric records it.
    """
    rid = _run_id_or_active(run_id)
    ts = now_ms() if timestamp is None else timestamp
    done = session.client().log_metric(rid, key, value, ts, step, synchronous)
    _link_to_model(model_id, rid, [Metric(key, value, ts, step or 0)], dataset)
    return done


def log_metrics(
    metrics: dict[str, float],
    step: int | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
    timestamp: int | None = None,
    model_id: str | None = None,
    dataset: Dataset | None = None,
    **_: Any,
) -> RunOperations | None:
    """Log several metrics at the same step and time (one transaction); see log_metric."""
    rid = _run_id_or_active(run_id)
    ts = now_ms() if timestamp is None else timestamp
    points = [Metric(k, v, ts, step or 0) for k, v in metrics.items()]
    done = session.client().log_batch(rid, metrics=points, synchronous=synchronous)
    _link_to_model(model_id, rid, points, dataset)
    return done


def _link_to_model(
    model_id: str | None, run_id: str, points: list[Metric], dataset: Dataset | None = None
) -> None:
    """Record metric points on LoggedModels too, as MLflow 3 does.

    On the model named, else the active model, else the models the run output at the points'
    step (``log_model`` outputs its model at step 0).
    """
    if not points:
        return
    pair = None
    if dataset is not None:
        entity = dataset.to_entity() if hasattr(dataset, "to_entity") else dataset
        session.client().log_inputs(run_id, [DatasetInput(entity)])  # type: ignore[arg-type]
        pair = (entity.name, entity.digest)
    target = model_id or session.active_model_id()
    step = points[0].step
    targets = [target] if target else [m for m, s in session.model_outputs(run_id) if s == step]
    for one in targets:
        session.client().log_model_metrics(one, points, run_id, pair)


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> RunOperations | None:
    """Set a tag on the active run."""
    return session.client().set_tag(_run_id_or_active(None), key, value, synchronous)


def set_tags(tags: dict[str, Any], synchronous: bool | None = None) -> RunOperations | None:
    """Set several tags at once."""
    rid = _run_id_or_active(None)
    return session.client().log_batch(
        rid, tags=[RunTag(k, str(v)) for k, v in tags.items()], synchronous=synchronous
    )


def flush_async_logging() -> None:
    """Wait until everything logged with ``synchronous=False`` has been written.

    Raises
    ------
    AsyncLoggingError
        If the store refused queued data whose handle's ``wait()`` has not raised it.
    """
    async_logging.flush_async_logging()


def delete_tag(key: str) -> None:
    """Remove a tag from the active run."""
    session.client().delete_tag(_run_id_or_active(None), key)


def log_artifact(
    local_path: str, artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Copy a local file into the active run's artifacts."""
    session.client().log_artifact(_run_id_or_active(run_id), local_path, artifact_path)


def log_artifacts(
    local_dir: str, artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Copy a local folder's contents into the active run's artifacts."""
    session.client().log_artifacts(_run_id_or_active(run_id), local_dir, artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    """Write a string as an artifact of the active run."""
    session.client().log_text(_run_id_or_active(run_id), text, artifact_file)


def log_dict(dictionary: dict[str, Any], artifact_file: str, run_id: str | None = None) -> None:
    """Write a dict as a JSON or YAML artifact of the active run."""
    session.client().log_dict(_run_id_or_active(run_id), dictionary, artifact_file)


def log_figure(
    figure: Any, artifact_file: str, *, save_kwargs: Any = None, run_id: str | None = None
) -> None:
    """Save a matplotlib or plotly figure as an artifact of the active run."""
    session.client().log_figure(_run_id_or_active(run_id), figure, artifact_file)


def log_image(
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = None,
    *,
    run_id: str | None = None,
) -> None:
    """Save an image as an artifact of the active run: one file, or a series by key and step.

    See ``MlflowClient.log_image``.
    """
    session.client().log_image(
        _run_id_or_active(run_id), image, artifact_file, key, step, timestamp, synchronous
    )


def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Write a DataFrame or dict of columns as a JSON table artifact of the active run."""
    session.client().log_table(_run_id_or_active(run_id), data, artifact_file)


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
        input_tags.append(InputTag(tag_keys.DATASET_CONTEXT, context))
    session.client().log_inputs(_run_id_or_active(None), [DatasetInput(entity, input_tags)])  # type: ignore[arg-type]


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
    for _ in range(len(session.run_stack())):
        try:
            end_run(status)
        except AsyncLoggingError as exc:  # the run ended; nobody is left to raise it to
            print(f"nbtrack: {exc}", file=sys.stderr)
        except Exception:  # the store may be gone at exit; nothing left to save it to
            session.run_stack().pop()


def _reset_for_tests() -> None:
    """Forget active runs, clients, the active experiment and ``set_tracking_uri`` (tests)."""
    session.reset()
