"""The fluent LoggedModel API of MLflow 3 (``nbtrack.initialize_logged_model`` …).

A LoggedModel is a model as an entity of its own: ``log_model`` creates one (its id is
``ModelInfo.model_id`` and ``models:/<model_id>`` loads it), ``initialize_logged_model`` /
``finalize_logged_model`` create one by hand, ``create_external_model`` records a model
whose files live elsewhere. ``set_active_model`` makes one the active model: metrics logged
while it is active are linked to it, as in MLflow.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal

from nbtrack import context, session, tracking
from nbtrack.artifacts import LocalArtifacts
from nbtrack.entities import LoggedModel, LoggedModelOutput, LoggedModelStatus
from nbtrack.errors import InvalidParameter, InvalidState

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ActiveModel",
    "clear_active_model",
    "create_external_model",
    "delete_logged_model_tag",
    "finalize_logged_model",
    "get_active_model_id",
    "get_logged_model",
    "initialize_logged_model",
    "last_logged_model",
    "log_model_params",
    "log_outputs",
    "search_logged_models",
    "set_active_model",
    "set_logged_model_tags",
]

MODEL_IS_EXTERNAL = "mlflow.model.isExternal"


def initialize_logged_model(
    name: str | None = None,
    source_run_id: str | None = None,
    tags: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    model_type: str | None = None,
    experiment_id: str | None = None,
) -> LoggedModel:
    """Create a PENDING LoggedModel; write its files, then ``finalize_logged_model``.

    Parameters
    ----------
    name
        The model's name (a random one if omitted).
    source_run_id
        The run that produces it; the active run by default.
    tags, params, model_type
        Stored with the model; ``model_type`` (``"agent"``…) helps search.
    experiment_id
        The experiment it belongs to: the source run's, else the active experiment.
    """
    return _create(name, source_run_id, tags, params, model_type, experiment_id)


def _create(
    name: str | None,
    source_run_id: str | None,
    tags: dict[str, str] | None,
    params: dict[str, str] | None,
    model_type: str | None,
    experiment_id: str | None,
    status: str = LoggedModelStatus.PENDING,
) -> LoggedModel:
    client = session.client()
    run_id = source_run_id or session.active_run_id()
    if experiment_id is None:
        experiment_id = (
            client.get_run(run_id).info.experiment_id if run_id else session.active_experiment_id()
        )
    all_tags = {**context.run_tags(), **(tags or {})}  # where it came from, as MLflow records
    model = client._create_logged_model(
        str(experiment_id), name, run_id, all_tags, params, model_type, status=status
    )
    session.record_logged_model(model.model_id)
    return model


def finalize_logged_model(model_id: str, status: Any) -> LoggedModel:
    """Mark a LoggedModel READY (its files are complete) or FAILED."""
    return session.client().finalize_logged_model(model_id, status)


def get_logged_model(model_id: str) -> LoggedModel:
    """The LoggedModel with this id."""
    return session.client().get_logged_model(model_id)


def last_logged_model() -> LoggedModel | None:
    """The LoggedModel most recently created in this thread (by log_model or by hand)."""
    model_id = session.last_logged_model_id()
    return get_logged_model(model_id) if model_id else None


def search_logged_models(
    experiment_ids: list[str] | None = None,
    filter_string: str | None = None,
    datasets: list[dict[str, str]] | None = None,
    max_results: int | None = None,
    order_by: list[dict[str, Any]] | None = None,
    output_format: Literal["pandas", "list"] = "pandas",
) -> list[LoggedModel] | pd.DataFrame:
    """LoggedModels matching a filter, across every page, as a DataFrame or a list.

    Parameters
    ----------
    experiment_ids
        Where to search; the active experiment by default.
    filter_string, datasets, order_by
        As ``MlflowClient.search_logged_models``.
    max_results
        At most this many; all by default.
    output_format
        ``"pandas"`` (one row a model, MLflow's columns) or ``"list"`` of LoggedModels.
    """
    if output_format not in ("pandas", "list"):
        raise InvalidParameter(f"output_format is 'pandas' or 'list' (found {output_format!r})")
    client = session.client()
    ids = experiment_ids or [session.active_experiment_id()]
    found: list[LoggedModel] = []
    token = None
    while True:
        wanted = None if max_results is None else max_results - len(found)
        page = client.search_logged_models(ids, filter_string, datasets, wanted, order_by, token)
        found.extend(page)
        token = page.token
        if not token or (max_results is not None and len(found) >= max_results):
            break
    if output_format == "list":
        return found
    import pandas as pd

    return pd.DataFrame([m.to_dictionary() for m in found], columns=_FRAME_COLUMNS)


_FRAME_COLUMNS = [
    "artifact_location",
    "creation_timestamp",
    "experiment_id",
    "last_updated_timestamp",
    "metrics",
    "model_id",
    "model_type",
    "name",
    "params",
    "source_run_id",
    "status",
    "status_message",
    "tags",
]


def set_logged_model_tags(model_id: str, tags: dict[str, Any]) -> None:
    """Set (or replace) tags of a LoggedModel."""
    session.client().set_logged_model_tags(model_id, tags)


def delete_logged_model_tag(model_id: str, key: str) -> None:
    """Remove a tag from a LoggedModel."""
    session.client().delete_logged_model_tag(model_id, key)


def log_model_params(params: dict[str, str], model_id: str | None = None) -> None:
    """Record params of a LoggedModel (the active model by default)."""
    target = model_id or session.active_model_id()
    if target is None:
        raise InvalidState(
            "log_model_params needs a model: pass model_id, or call set_active_model first"
        )
    session.client().log_model_params(target, params)


def log_outputs(models: list[LoggedModelOutput] | None = None) -> None:
    """Record LoggedModels as outputs of the active run (started if none), each at a step."""
    run_id = session.active_run_id() or tracking.start_run().info.run_id
    session.client().log_outputs(run_id, list(models or []))
    for output in models or []:
        session.add_model_output(run_id, output.model_id, int(output.step))


def create_external_model(
    name: str | None = None,
    source_run_id: str | None = None,
    tags: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    model_type: str | None = None,
    experiment_id: str | None = None,
) -> LoggedModel:
    """Record a model whose files live outside nbtrack (an API, an agent…), READY at once.

    Its artifacts hold only an ``MLmodel`` file with no flavors, so that it can still be
    registered; it is tagged ``mlflow.model.isExternal = true``.
    """
    all_tags = {**(tags or {}), MODEL_IS_EXTERNAL: "true"}
    model = _create(name, source_run_id, all_tags, params, model_type, experiment_id)
    spec: dict[str, Any] = {
        "artifact_path": "",
        "flavors": {},
        "model_id": model.model_id,
        "run_id": model.source_run_id,
        "utc_time_created": _utc_now(),
    }
    import yaml

    LocalArtifacts(model.artifact_location).write_bytes(
        "MLmodel", yaml.safe_dump(spec, sort_keys=False).encode("utf-8")
    )
    model = finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    session.record_logged_model(model.model_id)
    return model


def _utc_now() -> str:
    from datetime import datetime, timezone

    return str(datetime.now(timezone.utc).replace(tzinfo=None))


# -- the active model ------------------------------------------------------------------------


class ActiveModel(LoggedModel):
    """The model ``set_active_model`` made active; a ``with`` block restores the previous one."""

    def __init__(self, logged_model: LoggedModel, set_by_user: bool, previous: str | None = None):
        super().__init__(**{k: getattr(logged_model, k) for k in LoggedModel._fields})
        self.set_by_user = set_by_user
        self._previous = previous

    def __enter__(self) -> ActiveModel:
        return self

    def __exit__(self, *exc: object) -> None:
        session.set_active_model_id(self._previous)


def set_active_model(*, name: str | None = None, model_id: str | None = None) -> ActiveModel:
    """Make a LoggedModel the active model: metrics logged from now on are linked to it.

    Parameters
    ----------
    name
        The newest model of this name in the active experiment, created (external) if none.
    model_id
        The model with this id. Give one of the two.
    """
    if (name is None) == (model_id is None):
        raise InvalidParameter("set_active_model takes exactly one of name and model_id")
    if model_id is not None:
        model = get_logged_model(model_id)
    else:
        same = search_logged_models(
            filter_string=f"name = '{str(name).replace(chr(39), chr(39) * 2)}'",
            max_results=1,
            output_format="list",
        )
        model = same[0] if same else create_external_model(name=name)
    previous = session.active_model_id()
    session.set_active_model_id(model.model_id)
    return ActiveModel(model, set_by_user=True, previous=previous)


def get_active_model_id() -> str | None:
    """The active model's id (``set_active_model``, else ``MLFLOW_ACTIVE_MODEL_ID``), or None."""
    return session.active_model_id()


def clear_active_model() -> None:
    """No model is active any more (``MLFLOW_ACTIVE_MODEL_ID`` is unset too)."""
    session.set_active_model_id(None)
    for var in session.ENV_ACTIVE_MODEL_IDS:
        os.environ.pop(var, None)
