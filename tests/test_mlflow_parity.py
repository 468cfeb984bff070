"""Name and signature parity with MLflow 3.17's ``mlflow.__all__``, measured against real MLflow.

MLflow's names and signatures are read in its own venv (``NBTRACK_MLFLOW_PYTHON``); the
difference is printed (``pytest -s``) and must equal the documented lists below, which the
README's "Where nbtrack differs" section explains. A name counts as present when nbtrack has
it as the same kind of thing (a module for a module, a callable for a callable).
"""

from __future__ import annotations

import inspect
import json
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
from mlflow_servers import MLFLOW_PYTHON

import nbtrack

pytestmark = [
    pytest.mark.slow,  # importing MLflow takes seconds
    pytest.mark.skipif(
        not Path(MLFLOW_PYTHON).exists(),
        reason="needs MLflow's venv: make bench, or set NBTRACK_MLFLOW_PYTHON",
    ),
]

TRACING = "tracing (spans and traces of GenAI apps): not an nbtrack feature"
ASSESSMENTS = "GenAI assessments and feedback on traces: there are no traces"
PROMPTS = "the GenAI prompt registry: nbtrack's registry holds models only"
WORKSPACES = "workspaces of a multi-tenant MLflow server: nbtrack is one local store"
DATABRICKS = "Databricks only (login, Unity Catalog volumes)"

# Every name of mlflow.__all__ nbtrack does not have, and why (README: Where nbtrack differs).
LEFT_OUT = {
    "add_trace": TRACING,
    "context": TRACING + " (nbtrack.context is nbtrack's run-context module)",
    "delete_trace_tag": TRACING,
    "flush_trace_async_logging": TRACING,
    "get_active_trace_id": TRACING,
    "get_current_active_span": TRACING,
    "get_last_active_trace_id": TRACING,
    "get_trace": TRACING,
    "log_trace": TRACING,
    "search_sessions": TRACING,
    "search_traces": TRACING,
    "set_trace_tag": TRACING,
    "start_span": TRACING,
    "start_span_no_context": TRACING,
    "trace": TRACING,
    "update_current_trace": TRACING,
    "delete_assessment": ASSESSMENTS,
    "get_assessment": ASSESSMENTS,
    "log_assessment": ASSESSMENTS,
    "log_expectation": ASSESSMENTS,
    "log_feedback": ASSESSMENTS,
    "log_issue": ASSESSMENTS,
    "override_feedback": ASSESSMENTS,
    "update_assessment": ASSESSMENTS,
    "delete_prompt_alias": PROMPTS,
    "load_prompt": PROMPTS,
    "register_prompt": PROMPTS,
    "search_prompts": PROMPTS,
    "set_prompt_alias": PROMPTS,
    "create_workspace": WORKSPACES,
    "delete_workspace": WORKSPACES,
    "get_workspace": WORKSPACES,
    "list_workspaces": WORKSPACES,
    "set_workspace": WORKSPACES,
    "update_workspace": WORKSPACES,
    "login": DATABRICKS,
    "import_checkpoints": DATABRICKS,
    "gateway": "the AI gateway server for LLM providers: not an nbtrack feature",
    "test": "MLflow's pytest plugin for GenAI tests (it manages traces)",
}

# Parameters of shared names that nbtrack does not take, and why.
SIGNATURE_GAPS = {
    "MlflowClient": {"workspace_store_uri": WORKSPACES},
    "MlflowException": {
        "error_code": "nbtrack errors are typed: each class has its error_code",
        "sqlstate": "Databricks SQL states",
        "error_class": "Databricks error classes",
    },
    "autolog": {"log_traces": TRACING},
    "create_experiment": {"trace_location": TRACING},
    "set_experiment": {"trace_location": TRACING},
    "register_model": {"env_pack": DATABRICKS + " (model serving environments)"},
    "evaluate": {"_called_from_genai_evaluate": "private to MLflow's GenAI evaluation"},
    "run": {
        "backend": DATABRICKS + " and Kubernetes backends: nbtrack runs projects locally",
        "backend_config": DATABRICKS + " and Kubernetes backends",
        "build_image": "docker environments: nbtrack runs no docker",
        "docker_args": "docker environments: nbtrack runs no docker",
        "docker_auth": "docker environments: nbtrack runs no docker",
        "run_id": "nbtrack run always creates the run that holds the launch",
        "storage_dir": "remote (uri) parameters: nbtrack runs local folders only",
    },
}

DESCRIBE = """
import inspect, json, sys, warnings
warnings.simplefilter("ignore")
import mlflow


def describe(obj):
    if inspect.ismodule(obj):
        return {"kind": "module", "params": None}
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return {"kind": "other", "params": None}
    params = [
        [p.name, p.kind.name] for p in sig.parameters.values() if p.name != "self"
    ]
    return {"kind": "class" if inspect.isclass(obj) else "function", "params": params}


print(json.dumps({name: describe(getattr(mlflow, name)) for name in mlflow.__all__}))
"""


def describe(obj: Any) -> dict[str, Any]:
    """The same description as DESCRIBE gives, for an nbtrack object."""
    if inspect.ismodule(obj) and callable(obj):  # nbtrack.autolog once imported: its function
        obj = getattr(obj, obj.__name__.rsplit(".", 1)[-1])
    if inspect.ismodule(obj):
        return {"kind": "module", "params": None}
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return {"kind": "other", "params": None}
    params = [[p.name, p.kind.name] for p in sig.parameters.values() if p.name != "self"]
    return {"kind": "class" if inspect.isclass(obj) else "function", "params": params}


@pytest.fixture(scope="module")
def mlflow_names() -> dict[str, dict[str, Any]]:
    done = subprocess.run(
        [MLFLOW_PYTHON, "-c", textwrap.dedent(DESCRIBE)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd="/",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def present(name: str, theirs: dict[str, Any]) -> bool:
    """Whether nbtrack has ``name`` as the same kind of thing as MLflow."""
    if not hasattr(nbtrack, name):
        return False
    return (describe(getattr(nbtrack, name))["kind"] == "module") == (theirs["kind"] == "module")


def test_every_name_of_mlflow_all_is_present_or_documented(mlflow_names):
    missing = sorted(n for n, theirs in mlflow_names.items() if not present(n, theirs))
    have = len(mlflow_names) - len(missing)
    print(f"\nnbtrack has {have} of the {len(mlflow_names)} distinct names of mlflow.__all__")
    print("missing:", ", ".join(missing))
    assert set(missing) == set(LEFT_OUT), (
        f"undocumented gaps: {sorted(set(missing) - set(LEFT_OUT))}; "
        f"documented but present: {sorted(set(LEFT_OUT) - set(missing))}"
    )
    assert set(mlflow_names) >= set(LEFT_OUT)


def test_shared_names_take_mlflows_parameters(mlflow_names):
    gaps: dict[str, set[str]] = {}
    order: dict[str, tuple[list[str], list[str]]] = {}
    for name, theirs in sorted(mlflow_names.items()):
        if not present(name, theirs) or theirs["params"] is None:
            continue
        ours = describe(getattr(nbtrack, name))["params"] or []
        accepted = {p[0] for p in ours}
        lacking = {
            p[0]
            for p in theirs["params"]
            if p[0] not in accepted and p[1] not in ("VAR_KEYWORD", "VAR_POSITIONAL")
        }
        if lacking:
            gaps[name] = lacking
        their_pos = [p[0] for p in theirs["params"] if p[1] == "POSITIONAL_OR_KEYWORD"]
        our_pos = [p[0] for p in ours if p[1] == "POSITIONAL_OR_KEYWORD"]
        common = [p for p in their_pos if p in our_pos]
        if [p for p in our_pos if p in common] != common or our_pos[: len(common)] != common:
            order[name] = (their_pos, our_pos)
    print("\nparameters nbtrack lacks:", {k: sorted(v) for k, v in gaps.items()})
    print("positional order differs:", order)
    assert gaps == {k: set(v) for k, v in SIGNATURE_GAPS.items()}
    assert order == {}
