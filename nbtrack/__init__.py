"""nbtrack: the machine-learning lifecycle inside Jupyter, on an embedded SQLite store.

The API keeps MLflow's names and semantics: ``import nbtrack as mlflow`` ports a script.
Heavy parts (pandas, scikit-learn, widgets) load only when a feature needs them.
"""

from __future__ import annotations

import importlib
from typing import Any

from nbtrack.async_logging import flush_artifact_async_logging
from nbtrack.client import Client, MlflowClient
from nbtrack.doctor import doctor
from nbtrack.errors import MlflowException, NbtrackError
from nbtrack.experiments import (
    delete_experiment_tag,
    restore_experiment,
    set_experiment_tag,
    set_experiment_tags,
)
from nbtrack.image import Image
from nbtrack.logged_models import (
    ActiveModel,
    clear_active_model,
    create_external_model,
    delete_logged_model_tag,
    finalize_logged_model,
    get_active_model_id,
    get_logged_model,
    initialize_logged_model,
    last_logged_model,
    log_model_params,
    log_outputs,
    search_logged_models,
    set_active_model,
    set_logged_model_tags,
)
from nbtrack.registry_fluent import (
    register_model,
    search_model_versions,
    search_registered_models,
    set_model_version_tag,
)
from nbtrack.run_io import get_artifact_uri, load_table, log_inputs, log_stream, restore_run
from nbtrack.session import get_registry_uri, is_tracking_uri_set, set_registry_uri
from nbtrack.system_metrics import (
    disable_system_metrics_logging,
    enable_system_metrics_logging,
    set_system_metrics_node_id,
    set_system_metrics_samples_before_logging,
    set_system_metrics_sampling_interval,
)
from nbtrack.tracking import (
    ActiveRun,
    active_run,
    create_experiment,
    delete_experiment,
    delete_run,
    delete_tag,
    end_run,
    flush_async_logging,
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
from nbtrack.version import __version__ as __version__

# Submodules loaded on first attribute access, as ``mlflow.sklearn`` is.
_LAZY_SUBMODULES = frozenset(
    {
        "data",
        "entities",
        "errors",
        "models",
        "panels",
        "projects",
        "pyfunc",
        "sklearn",
        "sync",
        "types",
    }
)

__all__ = [
    "ActiveModel",
    "ActiveRun",
    "Client",
    "Image",
    "MlflowClient",
    "MlflowException",
    "NbtrackError",
    "active_run",
    "autolog",
    "clear_active_model",
    "compare_runs",
    "create_experiment",
    "create_external_model",
    "delete_experiment",
    "delete_experiment_tag",
    "delete_logged_model_tag",
    "delete_run",
    "delete_tag",
    "disable_system_metrics_logging",
    "doctor",
    "enable_system_metrics_logging",
    "end_run",
    "evaluate",
    "finalize_logged_model",
    "flush_artifact_async_logging",
    "flush_async_logging",
    "get_active_model_id",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_logged_model",
    "get_parent_run",
    "get_registry_uri",
    "get_run",
    "get_tracking_uri",
    "initialize_logged_model",
    "is_tracking_uri_set",
    "last_active_run",
    "last_logged_model",
    "load_table",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_input",
    "log_inputs",
    "log_metric",
    "log_metrics",
    "log_model_params",
    "log_outputs",
    "log_param",
    "log_params",
    "log_stream",
    "log_table",
    "log_text",
    "model_card",
    "register_model",
    "restore_experiment",
    "restore_run",
    "run",
    "search_experiments",
    "search_logged_models",
    "search_model_versions",
    "search_registered_models",
    "search_runs",
    "set_active_model",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_logged_model_tags",
    "set_model_version_tag",
    "set_registry_uri",
    "set_system_metrics_node_id",
    "set_system_metrics_samples_before_logging",
    "set_system_metrics_sampling_interval",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "show_registry",
    "show_run",
    "show_runs",
    "show_sweep",
    "start_run",
    "validate_evaluation_results",
]


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    extra_tags: dict[str, Any] | None = None,
    exclude_flavors: list[str] | None = None,
) -> None:
    """Autolog every supported library (scikit-learn); see ``nbtrack.autolog.autolog``."""
    from nbtrack.autolog import autolog as enable

    enable(
        log_input_examples=log_input_examples,
        log_model_signatures=log_model_signatures,
        log_models=log_models,
        log_datasets=log_datasets,
        disable=disable,
        exclusive=exclusive,
        disable_for_unsupported_versions=disable_for_unsupported_versions,
        silent=silent,
        extra_tags=extra_tags,
        exclude_flavors=exclude_flavors,
    )


# The panels need ipywidgets, anywidget and plotly: imported only when one is shown.


def show_runs(experiment: Any = None, filter: str | None = None, **kwargs: Any) -> Any:
    """The live run table of an experiment; see ``nbtrack.panels.show_runs``."""
    from nbtrack.panels import show_runs as show

    return show(experiment, filter, **kwargs)


def show_run(run_id: str, **kwargs: Any) -> Any:
    """One run in detail; see ``nbtrack.panels.show_run``."""
    from nbtrack.panels import show_run as show

    return show(run_id, **kwargs)


def compare_runs(run_ids: Any, **kwargs: Any) -> Any:
    """Runs side by side; see ``nbtrack.panels.compare_runs``."""
    from nbtrack.panels import compare_runs as show

    return show(run_ids, **kwargs)


def show_sweep(parent_run_id: str, **kwargs: Any) -> Any:
    """Parallel coordinates of a parent run's children; see ``nbtrack.panels.show_sweep``."""
    from nbtrack.panels import show_sweep as show

    return show(parent_run_id, **kwargs)


def show_registry(**kwargs: Any) -> Any:
    """The model registry browser; see ``nbtrack.panels.show_registry``."""
    from nbtrack.panels import show_registry as show

    return show(**kwargs)


def model_card(name: str, version_or_alias: str | int = "latest", **kwargs: Any) -> Any:
    """The model card of a registered model version; see ``nbtrack.cards.model_card``."""
    from nbtrack.cards import model_card as card

    return card(name, version_or_alias, **kwargs)


def run(
    uri: str,
    entry_point: str = "main",
    version: str | None = None,
    parameters: dict[str, Any] | None = None,
    *,
    experiment_name: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    env_manager: str | None = None,
    synchronous: bool = True,
    **kwargs: Any,
) -> Any:
    """Run an MLproject folder or a notebook as one run, as ``mlflow.run``.

    See :func:`nbtrack.projects.run` (also ``parallel`` and ``kernel_name``). Arguments after
    ``parameters`` are keyword-only: MLflow's docker and backend arguments sit between them.
    """
    from nbtrack.projects import run as launch

    return launch(
        uri,
        entry_point,
        version=version,
        parameters=parameters,
        experiment_name=experiment_name,
        experiment_id=experiment_id,
        run_name=run_name,
        env_manager=env_manager,
        synchronous=synchronous,
        **kwargs,
    )


def evaluate(
    model: Any = None,
    data: Any = None,
    *,
    model_type: str | None = None,
    targets: Any = None,
    predictions: str | None = None,
    dataset_path: str | None = None,
    feature_names: list[str] | None = None,
    evaluators: Any = None,
    evaluator_config: dict[str, Any] | None = None,
    extra_metrics: list[Any] | None = None,
    custom_artifacts: Any = None,
    env_manager: str = "local",
    model_config: dict[str, Any] | None = None,
    inference_params: dict[str, Any] | None = None,
    model_id: str | None = None,
    baseline_model: Any = None,
) -> Any:
    """Evaluate a model, as ``mlflow.evaluate``; see :func:`nbtrack.evaluation.evaluate`."""
    from nbtrack.evaluation import evaluate as evaluate_model

    return evaluate_model(
        model,
        data,
        model_type=model_type,
        targets=targets,
        predictions=predictions,
        dataset_path=dataset_path,
        feature_names=feature_names,
        evaluators=evaluators,
        evaluator_config=evaluator_config,
        extra_metrics=extra_metrics,
        custom_artifacts=custom_artifacts,
        env_manager=env_manager,
        model_config=model_config,
        inference_params=inference_params,
        model_id=model_id,
        baseline_model=baseline_model,
    )


def validate_evaluation_results(
    validation_thresholds: dict[str, Any],
    candidate_result: Any,
    baseline_result: Any = None,
) -> None:
    """The deployment gate; see :func:`nbtrack.evaluation.validate_evaluation_results`."""
    from nbtrack.evaluation import validate_evaluation_results as validate

    validate(validation_thresholds, candidate_result, baseline_result)


def load_ipython_extension(ipython: Any) -> None:
    """Register the ``%%track`` and ``%nbtrack`` magics (``%load_ext nbtrack``)."""
    from nbtrack.magics import load_ipython_extension as load

    load(ipython)


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"nbtrack.{name}")
    raise AttributeError(f"module 'nbtrack' has no attribute {name!r}")
