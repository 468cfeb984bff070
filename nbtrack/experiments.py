"""The fluent API's experiments and run search (``nbtrack.set_experiment``, ``search_runs``…).

They act on the store and the active experiment of the session (:mod:`nbtrack.session`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from nbtrack import async_logging, session
from nbtrack.client import MlflowClient
from nbtrack.entities import Experiment, Run, ViewType
from nbtrack.errors import InvalidParameter, InvalidState
from nbtrack.frames import runs_frame

if TYPE_CHECKING:
    import pandas as pd

SEARCH_MAX_RESULTS_PANDAS = 100_000


def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> Experiment:
    """Make an experiment the active one, creating it (by name) if it does not exist."""
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidParameter(
            "set_experiment takes exactly one of experiment_name and experiment_id"
        )
    client = session.client()
    if experiment_id is not None:
        experiment = client.get_experiment(str(experiment_id))
    else:
        experiment = session.get_or_create_experiment(client, experiment_name)  # type: ignore[arg-type]
    if experiment.lifecycle_stage != "active":
        raise InvalidState(
            f"experiment {experiment.name!r} is deleted; restore it with "
            "MlflowClient().restore_experiment or remove it for good with `nbtrack gc`",
            experiment_id=experiment.experiment_id,
        )
    session.set_active_experiment_id(experiment.experiment_id)
    return experiment


def create_experiment(
    name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
) -> str:
    """Create an experiment; return its id."""
    return session.client().create_experiment(name, artifact_location, tags)


def get_experiment(experiment_id: str) -> Experiment:
    """The experiment with this id."""
    return session.client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    """The experiment with this name, or None."""
    return session.client().get_experiment_by_name(name)


def search_experiments(
    view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
) -> list[Experiment]:
    """All experiments matching a filter."""
    found = session.client().search_experiments(view_type, max_results, filter_string, order_by)
    return list(found)


def delete_experiment(experiment_id: str) -> None:
    """Mark an experiment and its runs deleted."""
    session.client().delete_experiment(experiment_id)
    session.forget_experiment(experiment_id)


def restore_experiment(experiment_id: str) -> None:
    """Restore a deleted experiment and its runs."""
    session.client().restore_experiment(experiment_id)


def set_experiment_tag(key: str, value: Any) -> None:
    """Set a tag on the active experiment."""
    session.client().set_experiment_tag(session.active_experiment_id(), key, value)


def set_experiment_tags(tags: dict[str, Any]) -> None:
    """Set several tags on the active experiment."""
    for key, value in tags.items():
        set_experiment_tag(key, value)


def delete_experiment_tag(key: str) -> None:
    """Remove a tag from the active experiment."""
    session.client().delete_experiment_tag(session.active_experiment_id(), key)


# -- runs -----------------------------------------------------------------------------


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
    client = session.client()
    ids = _search_experiment_ids(client, experiment_ids, experiment_names, search_all_experiments)
    async_logging.drain()  # what this process queued is searched
    run_ids, _ = client.store.search_run_ids(
        ids,
        filter_string=filter_string or None,
        run_view_type=run_view_type,
        max_results=max_results,
        order_by=order_by,
    )
    if output_format == "list":
        return client.store.get_runs(run_ids)
    return runs_frame(client.store, run_ids)


def _search_experiment_ids(
    client: MlflowClient,
    experiment_ids: Sequence[str] | None,
    experiment_names: Sequence[str] | None,
    search_all: bool,
) -> list[str]:
    if isinstance(experiment_ids, (str, int)):
        experiment_ids = [str(experiment_ids)]
    if experiment_ids and experiment_names:
        raise InvalidParameter(
            "search_runs takes experiment_ids or experiment_names, not both (as MLflow); "
            "pass the names' ids with the others in experiment_ids"
        )
    ids = [str(e) for e in experiment_ids or []]
    for name in experiment_names or []:
        found = client.get_experiment_by_name(name)
        if found is None:  # MLflow skips a name it does not know, with a warning
            warnings.warn(
                f"nbtrack: no experiment named {name!r}; it is left out of the search",
                stacklevel=3,
            )
            continue
        ids.append(found.experiment_id)
    if experiment_names:
        return ids  # only unknown names: nothing to search, as in MLflow
    if ids:
        return ids
    if search_all:
        return [e.experiment_id for e in client.search_experiments(max_results=None)]
    return [session.active_experiment_id()]
