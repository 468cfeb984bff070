"""The notebook panels: run table, run detail, compare, parallel coordinates, registry.

Each panel is an ipywidgets widget that reads the store directly (no server, no port),
refreshes itself while runs are logging, and renders as static HTML or text where no
widget manager runs (nbviewer, GitHub, a terminal). Importing this package needs the
``notebook`` extra (ipywidgets, anywidget); the charts need no plotting library.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from nbtrack.errors import missing

for _package in ("ipywidgets", "anywidget"):
    try:
        importlib.import_module(_package)
    except ImportError as _exc:
        raise missing(_package, "notebook", "the nbtrack panels") from _exc

from nbtrack import session  # noqa: E402
from nbtrack.client import MlflowClient  # noqa: E402
from nbtrack.errors import ExperimentNotFound, InvalidParameter  # noqa: E402
from nbtrack.panels import openers  # noqa: E402  (panels open each other by kind, no cycle)
from nbtrack.panels.base import Panel  # noqa: E402
from nbtrack.panels.compare import CompareRuns  # noqa: E402
from nbtrack.panels.registry import RegistryBrowser  # noqa: E402
from nbtrack.panels.run_detail import RunDetail  # noqa: E402
from nbtrack.panels.runs import RunGrid, RunTable  # noqa: E402
from nbtrack.panels.sweep import ParallelCoordinates  # noqa: E402

openers.register("run", RunDetail)

__all__ = [
    "CompareRuns",
    "Panel",
    "ParallelCoordinates",
    "RegistryBrowser",
    "RunDetail",
    "RunGrid",
    "RunTable",
    "compare_runs",
    "show_registry",
    "show_run",
    "show_runs",
    "show_sweep",
]


def _experiment_ids(
    client: MlflowClient, experiment: str | Sequence[str] | None
) -> tuple[str, ...] | None:
    """Experiment ids from names or ids; the current experiment when None; '*' for all."""
    if experiment is None:
        return (session.active_experiment_id(),)
    if experiment == "*":
        return None
    wanted = [experiment] if isinstance(experiment, str) else list(experiment)
    ids = []
    for item in wanted:
        text = str(item)
        found = client.get_experiment_by_name(text)
        if found is None and text.isdigit():
            found = client.get_experiment(text)
        if found is None:
            raise ExperimentNotFound(
                f"no experiment named or numbered {text!r}; nbtrack.search_experiments() "
                "lists them (pass '*' to show every experiment)",
                name=text,
            )
        ids.append(found.experiment_id)
    return tuple(ids)


def show_runs(
    experiment: str | Sequence[str] | None = None,
    filter: str | None = None,
    order_by: Sequence[str] = (),
    **kwargs: object,
) -> RunTable:
    """The run table of an experiment, live.

    Parameters
    ----------
    experiment
        An experiment name or id, a list of them, or ``"*"`` for every experiment; the
        current experiment when omitted.
    filter
        A ``search_runs`` filter string, e.g. ``"metrics.rmse < 1"``.
    order_by
        ``search_runs`` order terms, e.g. ``["metrics.rmse ASC"]``.
    **kwargs
        More ``RunTable`` options (``tree``, ``page_size``, ``client``…).

    Returns
    -------
    RunTable
        Displays itself as the last expression of a cell; ``.selected`` gives the
        selected runs as a DataFrame.
    """
    client = kwargs.pop("client", None) or MlflowClient()
    if not isinstance(client, MlflowClient):
        raise InvalidParameter(f"client must be an MlflowClient (found {client!r})")
    return RunTable(
        _experiment_ids(client, experiment),
        filter=filter or "",
        order_by=order_by,
        client=client,
        **kwargs,  # type: ignore[arg-type]
    )


def show_run(run_id: str, **kwargs: object) -> RunDetail:
    """One run in detail: params, metric charts, tags, source, artifacts, inputs, model."""
    return RunDetail(run_id, **kwargs)  # type: ignore[arg-type]


def compare_runs(run_ids: Sequence[str], **kwargs: object) -> CompareRuns:
    """Runs side by side: params (differences highlighted), metric histories, latest values."""
    return CompareRuns(run_ids, **kwargs)  # type: ignore[arg-type]


def show_sweep(parent_run_id: str, **kwargs: object) -> ParallelCoordinates:
    """The parallel-coordinates view of a parent run's children (all depths)."""
    return ParallelCoordinates(parent_run_id, **kwargs)  # type: ignore[arg-type]


def show_registry(**kwargs: object) -> RegistryBrowser:
    """The model registry: models, versions, aliases, stages and model cards."""
    return RegistryBrowser(**kwargs)  # type: ignore[arg-type]
