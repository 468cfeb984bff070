"""``nbtrack experiments``: create, list, delete, restore and rename experiments."""

from __future__ import annotations

from pathlib import Path

import click

from nbtrack import display
from nbtrack.cli.options import json_option, pass_client, view_option
from nbtrack.cli.output import Column, count, echo_json, echo_table, experiment_json
from nbtrack.client import MlflowClient
from nbtrack.entities import ViewType


@click.group()
def experiments() -> None:
    """Create, list, delete, restore and rename experiments."""


def _location(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """Turn a folder typed in the shell into a file URI (relative to where it runs)."""
    if value is None or "://" in value or value.startswith("file:"):
        return value
    return Path(value).expanduser().absolute().as_uri()


@experiments.command("create")
@click.option("--experiment-name", "-n", required=True, help="A name no experiment has yet.")
@click.option(
    "--artifact-location",
    "-l",
    callback=_location,
    help="Folder for the runs' artifacts (stored at <location>/<run_id>/artifacts)  "
    "[default: <store>-artifacts/<experiment_id>]",
)
@pass_client
def create(client: MlflowClient, experiment_name: str, artifact_location: str | None) -> None:
    """Create an experiment and print its id."""
    experiment_id = client.create_experiment(experiment_name, artifact_location)
    click.echo(f"Created experiment '{experiment_name}' with id {experiment_id}")


@experiments.command("list")
@view_option("experiments")
@click.option(
    "--max-results", type=click.IntRange(min=1), help="List at most this many  [default: all]"
)
@json_option
@pass_client
def list_experiments(
    client: MlflowClient, view: int, max_results: int | None, as_json: bool
) -> None:
    """List experiments, newest first."""
    found = client.search_experiments(view_type=view, max_results=max_results)
    if as_json:
        echo_json([experiment_json(e) for e in found])
        return
    columns = [
        Column("ID", None),
        Column("Name"),
        Column("Artifact location", 60),
        Column("Created", None),
    ]
    rows = [
        [e.experiment_id, e.name, e.artifact_location, display.timestamp(e.creation_time)]
        for e in found
    ]
    if view != ViewType.ACTIVE_ONLY:
        columns.append(Column("Stage", None))
        for row, e in zip(rows, found, strict=True):
            row.append(e.lifecycle_stage)
    echo_table(columns, rows, count(len(found), "experiment"))


@experiments.command("delete")
@click.argument("experiment_id")
@pass_client
def delete(client: MlflowClient, experiment_id: str) -> None:
    """Mark an experiment and its runs deleted (restore undoes it; gc removes it for good)."""
    client.delete_experiment(experiment_id)
    click.echo(f"Experiment with id {experiment_id} has been deleted.")


@experiments.command("restore")
@click.argument("experiment_id")
@pass_client
def restore(client: MlflowClient, experiment_id: str) -> None:
    """Restore a deleted experiment and its runs."""
    client.restore_experiment(experiment_id)
    click.echo(f"Experiment with id {experiment_id} has been restored.")


@experiments.command("rename")
@click.argument("experiment_id")
@click.argument("new_name")
@pass_client
def rename(client: MlflowClient, experiment_id: str, new_name: str) -> None:
    """Give an active experiment a new name."""
    client.rename_experiment(experiment_id, new_name)
    click.echo(f"Experiment with id {experiment_id} has been renamed to '{new_name}'.")
