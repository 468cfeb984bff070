"""``nbtrack run``: run an MLproject folder or a notebook as one run (MLflow's ``mlflow run``)."""

from __future__ import annotations

import re
import sys

import click

import nbtrack
from nbtrack.cli.options import pass_client
from nbtrack.client import MlflowClient

INTERRUPTED = 130  # the shell's code for a process ended by SIGINT


def parse_params(pairs: tuple[str, ...]) -> dict[str, str | list[str]]:
    """``-P name=value`` pairs; ``a,b,c`` is a list of values (a sweep).

    A backslash before a comma keeps it in the value.
    """
    params: dict[str, str | list[str]] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, found {pair!r}", param_hint="-P")
        if name in params:
            raise click.BadParameter(f"parameter {name!r} is given twice", param_hint="-P")
        values = [v.replace("\\,", ",") for v in re.split(r"(?<!\\),", value)]
        params[name] = values if len(values) > 1 else values[0]
    return params


@click.command("run")
@click.argument("uri")
@click.option(
    "--entry-point",
    "-e",
    default="main",
    show_default=True,
    metavar="NAME",
    help="The MLproject entry point, or a .py or .sh file of the project.",
)
@click.option(
    "--version",
    "-v",
    metavar="COMMIT",
    help="Run this commit, tag or branch of the project's git repository.",
)
@click.option(
    "--param-list",
    "-P",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="A parameter (repeat for several); a,b,c sweeps over several values.",
)
@click.option(
    "--experiment-name", metavar="NAME", help="Experiment of the run (created if missing)."
)
@click.option("--experiment-id", metavar="ID", help="Experiment id of the run.")
@click.option("--run-name", metavar="NAME", help="The run's name (the parent's, for a sweep).")
@click.option(
    "--env-manager",
    type=click.Choice(["local", "virtualenv"]),
    help="local: this Python [default]; virtualenv: the project's python_env.yaml.",
)
@click.option(
    "--parallel",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Sweep children run at once (kernels or processes).",
)
@click.option(
    "--kernel",
    "kernel_name",
    metavar="NAME",
    help="Jupyter kernel for a notebook [default: the notebook's].",
)
@pass_client
def run(
    client: MlflowClient,
    uri: str,
    entry_point: str,
    version: str | None,
    params: tuple[str, ...],
    experiment_name: str | None,
    experiment_id: str | None,
    run_name: str | None,
    env_manager: str | None,
    parallel: int,
    kernel_name: str | None,
) -> None:
    """Run URI (a project folder, a git repository or a .ipynb notebook) as one run.

    The run holds the -P params, the project's metrics and models: the script's
    nbtrack.start_run() continues it. Exit status 0 ends it FINISHED, another FAILED,
    Ctrl-C KILLED.
    """
    from nbtrack.projects import Sweep
    from nbtrack.projects import run as run_project

    nbtrack.set_tracking_uri(client.tracking_uri)
    try:
        result = run_project(
            uri,
            entry_point=entry_point,
            version=version,
            parameters=parse_params(params),
            experiment_name=experiment_name,
            experiment_id=experiment_id,
            run_name=run_name,
            env_manager=env_manager,
            parallel=parallel,
            kernel_name=kernel_name,
        )
    except KeyboardInterrupt:
        click.echo("nbtrack: interrupted; the run ended KILLED", err=True)
        sys.exit(INTERRUPTED)
    if isinstance(result, Sweep):
        click.echo(f"nbtrack: {result.text()}", err=True)
        if result.status != "FINISHED":
            sys.exit(1)
        return
    click.echo(f"nbtrack: run {result.run_id} {result.get_status()}", err=True)
