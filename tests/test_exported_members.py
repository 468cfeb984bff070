"""The public surface of ``nbtrack``: pinned, so that changing it is a decision."""

from __future__ import annotations

import subprocess
import sys

import pytest

import nbtrack

EXPECTED = {
    "ActiveRun", "Client", "MlflowClient", "MlflowException", "NbtrackError", "active_run",
    "autolog", "compare_runs", "create_experiment", "delete_experiment", "delete_run",
    "delete_tag", "end_run", "get_experiment", "get_experiment_by_name", "get_parent_run",
    "get_run", "get_tracking_uri", "last_active_run", "log_artifact", "log_artifacts",
    "log_dict", "log_figure", "log_image", "log_input", "log_metric", "log_metrics",
    "log_param", "log_params", "log_table", "log_text", "model_card", "register_model",
    "run", "search_experiments", "search_runs", "set_experiment", "set_tag", "set_tags",
    "set_tracking_uri", "show_registry", "show_run", "show_runs", "show_sweep", "start_run",
    "evaluate", "validate_evaluation_results",
    # MLflow 3 parity (issue 17)
    "Image", "delete_experiment_tag", "flush_artifact_async_logging", "flush_async_logging",
    "get_artifact_uri", "get_registry_uri", "is_tracking_uri_set", "load_table", "log_inputs",
    "restore_experiment", "restore_run", "search_model_versions", "search_registered_models",
    "set_experiment_tag", "set_experiment_tags", "set_model_version_tag", "set_registry_uri",
    "ActiveModel", "clear_active_model", "create_external_model", "delete_logged_model_tag",
    "finalize_logged_model", "get_active_model_id", "get_logged_model", "initialize_logged_model",
    "last_logged_model", "log_model_params", "log_outputs", "search_logged_models",
    "set_active_model", "set_logged_model_tags",
    "disable_system_metrics_logging", "enable_system_metrics_logging",
    "set_system_metrics_node_id", "set_system_metrics_samples_before_logging",
    "set_system_metrics_sampling_interval", "doctor", "log_stream",
}  # fmt: skip


def test_all_is_pinned_and_sorted():
    assert set(nbtrack.__all__) == EXPECTED
    assert nbtrack.__all__ == sorted(nbtrack.__all__)
    for name in nbtrack.__all__:
        assert hasattr(nbtrack, name), name


def test_submodules_are_reachable_as_attributes():
    for name in ("data", "entities", "errors", "models", "pyfunc", "sklearn", "types"):
        assert getattr(nbtrack, name).__name__ == f"nbtrack.{name}"


HEAVY = "{'pandas', 'numpy', 'sklearn', 'IPython', 'ipywidgets', 'plotly', 'yaml', 'skops',"
HEAVY += " 'sqlite_utils', 'markdown_it', 'scipy', 'starlette', 'anywidget'}"
# what import nbtrack does without (issue 18): loaded where used, at first use
DEFERRED = "{'dataclasses', 'inspect', 'shutil', 'tempfile', 'uuid', 'getpass', 'base64'}"


@pytest.mark.parametrize(
    ("module", "absent"),
    [
        ("nbtrack", f"{HEAVY} | {DEFERRED}"),
        # the facades load nbtrack's flavor code, not the libraries it serves
        ("nbtrack.pyfunc", f"{HEAVY} | {{'dataclasses', 'inspect', 'tempfile', 'uuid'}}"),
        ("nbtrack.sklearn", HEAVY),
    ],
)
def test_import_is_light(module, absent):
    code = f"import sys, {module}; print(sorted(({absent}) & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_projects_loads_on_first_use():
    code = (
        "import sys, nbtrack; assert 'nbtrack.projects' not in sys.modules;"
        " print(nbtrack.projects.run is nbtrack.projects.run, 'papermill' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]
