"""nbtrack: the machine-learning lifecycle inside Jupyter, on an embedded SQLite store.

The API keeps MLflow's names and semantics: ``import nbtrack as mlflow`` ports a script.
Heavy parts (pandas, scikit-learn, widgets) load only when a feature needs them.
"""

from __future__ import annotations

import importlib
from typing import Any

from nbtrack.cards import model_card
from nbtrack.client import Client, MlflowClient
from nbtrack.errors import MlflowException, NbtrackError
from nbtrack.registry import register_model
from nbtrack.tracking import (
    ActiveRun,
    active_run,
    create_experiment,
    delete_experiment,
    delete_run,
    delete_tag,
    end_run,
    get_experiment,
    get_experiment_by_name,
    get_parent_run,
    get_run,
    get_tracking_uri,
    last_active_run,
    log_artifact,
    log_artifacts,
    log_dict,
    log_figure,
    log_image,
    log_input,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_table,
    log_text,
    search_experiments,
    search_runs,
    set_experiment,
    set_tag,
    set_tags,
    set_tracking_uri,
    start_run,
)

__version__ = "0.1.0"

# Submodules loaded on first attribute access, as ``mlflow.sklearn`` is.
_LAZY_SUBMODULES = frozenset({"data", "entities", "errors"})

__all__ = [
    "ActiveRun",
    "Client",
    "MlflowClient",
    "MlflowException",
    "NbtrackError",
    "active_run",
    "autolog",
    "create_experiment",
    "delete_experiment",
    "delete_run",
    "delete_tag",
    "end_run",
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
    "model_card",
    "register_model",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]


def autolog(*args: Any, **kwargs: Any) -> None:
    """Autolog every supported library (scikit-learn); see ``nbtrack.autolog.autolog``."""
    from nbtrack.autolog import autolog as enable

    enable(*args, **kwargs)


def load_ipython_extension(ipython: Any) -> None:
    """Register the ``%%track`` and ``%nbtrack`` magics (``%load_ext nbtrack``)."""
    from nbtrack.magics import load_ipython_extension as load

    load(ipython)


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"nbtrack.{name}")
    raise AttributeError(f"module 'nbtrack' has no attribute {name!r}")
