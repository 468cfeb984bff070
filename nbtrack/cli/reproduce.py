"""``nbtrack reproduce``: re-execute what produced a run and show the metric differences."""

from __future__ import annotations

import warnings

import click

import nbtrack
from nbtrack.cli.options import pass_client
from nbtrack.client import MlflowClient


@click.command("reproduce")
@click.argument("run_id")
@click.option(
    "--kernel",
    "kernel_name",
    metavar="NAME",
    help="Jupyter kernel for notebooks and %%track cells [default: python3].",
)
@pass_client
def reproduce(client: MlflowClient, run_id: str, kernel_name: str | None) -> None:
    """Re-execute what produced RUN_ID as a new run and compare their metrics.

    A project run: same URI, version, entry point and params. A notebook run: same
    notebook and params. A %%track cell: the notebook's executed cells up to it, in a
    fresh kernel.
    """
    from nbtrack.projects import reproduce as reproduce_run

    nbtrack.set_tracking_uri(client.tracking_uri)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        result = reproduce_run(run_id, kernel_name=kernel_name)
    for warning in caught:  # nbtrack's in one line each, without Python's source line
        if str(warning.message).startswith("nbtrack:"):
            click.echo(str(warning.message), err=True)
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    click.echo(result.text())
