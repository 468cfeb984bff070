"""Projects and reproducible runs: ``nbtrack.projects.run`` (``nbtrack run``) and ``reproduce``.

One launch is one run: the launcher creates it (params, ``mlflow.source.type=PROJECT``,
entry point, git commit), the child continues it through ``NBTRACK_RUN_ID`` /
``MLFLOW_RUN_ID``, and its outcome ends it. The modules, by role:

- ``spec``: MLflow's ``MLproject`` format, typed parameters, errors with the file's line
- ``launch``: an entry point as a child process (exit status, Ctrl-C, output tail)
- ``envs``: ``--env-manager local|virtualenv`` (cached virtual environments)
- ``notebook``: a notebook as a project (papermill's ``parameters`` cell, a fresh kernel)
- ``sweep``: several values → a parent run and one child per combination
- ``record``: the launch's run (tags, the child's environment, ending it)
- ``reproduce``: re-running what produced a run, and the metric differences
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nbtrack.client import MlflowClient
from nbtrack.errors import ProjectSpecError
from nbtrack.projects import record
from nbtrack.projects.launch import SubmittedRun, check_parameters, run_project
from nbtrack.projects.notebook import is_notebook, run_notebook, typed_parameters
from nbtrack.projects.reproduce import Reproduction, reproduce
from nbtrack.projects.sweep import Sweep, child_name, combinations, is_sweep, run_sweep

STOP_POLL_S = 0.2

__all__ = ["CompletedRun", "Reproduction", "SubmittedRun", "Sweep", "reproduce", "run"]


@dataclass
class CompletedRun:
    """A notebook launch that has ended (notebooks run synchronously)."""

    run_id: str

    def wait(self) -> bool:
        """True if the run FINISHED (it has already ended)."""
        return self.get_status() == "FINISHED"

    def get_status(self) -> str:
        """The run's status, read from the store."""
        return MlflowClient().get_run(self.run_id).info.status

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        from nbtrack.capture import run_view

        return run_view(self.run_id)._repr_mimebundle_(include, exclude)


def run(
    uri: str,
    entry_point: str = "main",
    version: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    experiment_name: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    env_manager: str | None = None,
    synchronous: bool = True,
    parallel: int = 1,
    kernel_name: str | None = None,
) -> SubmittedRun | CompletedRun | Sweep:
    """Run an MLflow project folder or a notebook as one run (MLflow's ``mlflow.run``).

    Parameters
    ----------
    uri
        A project folder (an ``MLproject`` file, or ``.py``/``.sh`` entry points), a local
        git repository (with ``version``), or a ``.ipynb`` notebook.
    entry_point
        The MLproject entry point, or a ``.py``/``.sh`` file of the folder.
    version
        A commit, tag or branch of the git repository to run (checked out apart).
    parameters
        Parameter values. A list of values makes a sweep: a parent run and one child run
        per combination of the values.
    experiment_name, experiment_id
        Where the run goes (created by name if missing); default: the active experiment.
    run_name
        The run's name (the parent's, for a sweep).
    env_manager
        ``local`` (default: this Python) or ``virtualenv`` (the project's
        ``python_env.yaml``, built once and cached).
    synchronous
        Wait for an MLproject run to end (and raise ``ExecutionException`` if it failed);
        False returns at once. Notebooks and sweeps always wait.
    parallel
        How many sweep children run at once.
    kernel_name
        The Jupyter kernel for a notebook (default: the notebook's).

    Returns
    -------
    SubmittedRun, CompletedRun or Sweep
        ``.run_id`` and ``.get_status()``; a sweep shows its panel in a notebook.
    """
    values = dict(parameters or {})
    notebook = is_notebook(uri)
    if notebook and (version is not None or env_manager not in (None, "local")):
        raise ProjectSpecError(
            "a notebook runs in a fresh kernel of this environment: drop --version and "
            "--env-manager (or make the notebook part of an MLproject folder)",
            name=uri,
        )
    if not is_sweep(values):
        if notebook:
            return CompletedRun(
                run_notebook(
                    uri,
                    values,
                    experiment_name=experiment_name,
                    experiment_id=experiment_id,
                    run_name=run_name,
                    kernel_name=kernel_name,
                )
            )
        return run_project(
            uri,
            entry_point,
            version,
            values,
            experiment_name=experiment_name,
            experiment_id=experiment_id,
            run_name=run_name,
            env_manager=env_manager,
            synchronous=synchronous,
        )
    for combination in combinations(values):  # every bad value fails before anything runs
        if notebook:
            typed_parameters(uri, combination)
        else:
            check_parameters(uri, entry_point, version, combination)

    def launch(combination: dict[str, Any], parent: str, stop: threading.Event) -> str:
        name = child_name(combination)
        if notebook:
            return run_notebook(
                uri,
                combination,
                run_name=name,
                parent_run_id=parent,
                kernel_name=kernel_name,
                raise_on_failure=False,
                stop=stop,
            )
        submitted = run_project(
            uri,
            entry_point,
            version,
            combination,
            run_name=name,
            env_manager=env_manager,
            synchronous=False,
            parent_run_id=parent,
        )
        while submitted.process.poll() is None:
            if stop.wait(STOP_POLL_S):
                submitted.cancel()
        submitted.wait()
        return submitted.run_id

    client = MlflowClient()
    experiment = record.experiment_id(client, experiment_name, experiment_id, None)
    source = os.path.abspath(uri.partition("#")[0])
    return run_sweep(
        launch,
        values,
        uri=source,
        entry_point=entry_point,
        experiment=experiment,
        run_name=run_name,
        parallel=parallel,
        client=client,
    )
