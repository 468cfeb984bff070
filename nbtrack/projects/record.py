"""The run that holds a launch: created before the child starts, ended from its outcome.

A launch (an MLproject entry point, a notebook, a sweep's parent) creates its run in the
parent process, hands its id to the child (``NBTRACK_RUN_ID`` and ``MLFLOW_RUN_ID``,
which ``nbtrack.start_run()`` continues), and ends it: FINISHED on success, FAILED with
what went wrong stored as an artifact, KILLED when interrupted.

Tags, as MLflow's ``mlflow run`` sets them, plus what ``nbtrack reproduce`` needs:

- ``mlflow.source.type`` (``PROJECT``), ``mlflow.source.name``, ``mlflow.project.entryPoint``,
  ``mlflow.project.env``, ``mlflow.project.backend`` (``local``), ``mlflow.source.git.commit``
- ``nbtrack.project.kind`` (``mlproject``, ``notebook`` or ``sweep``), ``nbtrack.project.uri``,
  ``nbtrack.project.version``, ``nbtrack.project.parameters`` (the ``-P`` values, JSON),
  ``nbtrack.project.exit_code``
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from nbtrack import context, session, tag_keys, tracking
from nbtrack.client import MlflowClient
from nbtrack.entities import Param, RunStatus, RunTag
from nbtrack.errors import InvalidParameter
from nbtrack.uri import db_path

KIND = "nbtrack.project.kind"
URI = "nbtrack.project.uri"
VERSION = "nbtrack.project.version"
PARAMETERS = "nbtrack.project.parameters"
EXIT_CODE = "nbtrack.project.exit_code"
ENTRY_POINT = "mlflow.project.entryPoint"
ENV = "mlflow.project.env"
BACKEND = "mlflow.project.backend"
OUTPUT_TAIL_FILE = "output_tail.txt"
ENV_RUN_IDS = tracking.ENV_RUN_IDS


def experiment_id(
    client: MlflowClient,
    experiment_name: str | None,
    experiment_id: str | None,
    parent_run_id: str | None,
) -> str:
    """Where the launch's run goes: named or given, else the parent's, else the active one."""
    if experiment_name is not None and experiment_id is not None:
        raise InvalidParameter("give an experiment name or an experiment id, not both")
    if experiment_name is not None:
        return session.get_or_create_experiment(client, experiment_name).experiment_id
    if experiment_id is not None:
        return client.get_experiment(str(experiment_id)).experiment_id
    if parent_run_id is not None:
        return client.get_run(parent_run_id).info.experiment_id
    return session.active_experiment_id()


def parent_of(parent_run_id: str | None) -> str | None:
    """The parent of a new launch: the one given, else the active run (as MLflow does)."""
    if parent_run_id is not None:
        return parent_run_id
    active = tracking.active_run()
    return active.info.run_id if active else None


def create_run(
    client: MlflowClient,
    experiment: str,
    *,
    kind: str,
    source_name: str,
    uri: str,
    parameters: Mapping[str, Any],
    logged_params: Mapping[str, str],
    run_name: str | None = None,
    parent_run_id: str | None = None,
    tags: Mapping[str, str] | None = None,
    source_dir: str | None = None,
) -> str:
    """Create the launch's RUNNING run with its params and provenance tags; its id."""
    all_tags = {
        **context.run_tags(),
        tag_keys.SOURCE_NAME: source_name,
        tag_keys.SOURCE_TYPE: "PROJECT",
        BACKEND: "local",
        KIND: kind,
        URI: uri,
        PARAMETERS: json.dumps({str(k): v for k, v in parameters.items()}),
    }
    all_tags.pop(tag_keys.GIT_COMMIT, None)  # the project's commit, not the launcher's
    all_tags.pop(tag_keys.GIT_BRANCH, None)
    all_tags.pop(tag_keys.NOTEBOOK_PATH, None)
    if source_dir is not None:
        commit, branch = context.git_head(source_dir)
        if commit:
            all_tags[tag_keys.GIT_COMMIT] = commit
        if branch:
            all_tags[tag_keys.GIT_BRANCH] = branch
    if parent_run_id is not None:
        all_tags[tag_keys.PARENT_RUN_ID] = parent_run_id
    all_tags.update(tags or {})
    run = client.create_run(experiment, tags=all_tags, run_name=run_name)
    run_id = run.info.run_id
    if logged_params:
        client.log_batch(run_id, params=[Param(k, v) for k, v in logged_params.items()])
    return run_id


def child_environment(client: MlflowClient, run_id: str, experiment: str) -> dict[str, str]:
    """The environment of a launch's child: this process's, plus the run to continue."""
    env = dict(os.environ)
    env.update(dict.fromkeys(ENV_RUN_IDS, run_id))
    env["NBTRACK_TRACKING_URI"] = str(db_path(client.tracking_uri))
    env["NBTRACK_EXPERIMENT_ID"] = env["MLFLOW_EXPERIMENT_ID"] = experiment
    for name in ("NBTRACK_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_NAME"):
        env.pop(name, None)  # the id above wins, as the run's experiment
    return env


def finish(
    client: MlflowClient,
    run_id: str,
    status: str,
    *,
    exit_code: int | None = None,
    failure_text: str | None = None,
    failure_file: str = OUTPUT_TAIL_FILE,
) -> None:
    """End the run with ``status``; store the exit code and what explains a failure."""
    tags = [RunTag(EXIT_CODE, str(exit_code))] if exit_code is not None else []
    if tags:
        client.log_batch(run_id, tags=tags)
    if failure_text:
        client.log_text(run_id, failure_text, failure_file)
    client.set_terminated(run_id, status)


def status_of(exit_code: int) -> str:
    """FINISHED for exit status 0, FAILED otherwise (MLflow's rule)."""
    return RunStatus.FINISHED if exit_code == 0 else RunStatus.FAILED
