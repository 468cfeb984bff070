"""``nbtrack gc``: remove deleted runs and experiments for good (MLflow's ``mlflow gc``)."""

from __future__ import annotations

import click

from nbtrack import gc as garbage
from nbtrack.cli.options import pass_client
from nbtrack.cli.output import count
from nbtrack.client import MlflowClient


@click.command("gc", short_help="Permanently remove deleted runs and their artifacts.")
@click.option(
    "--older-than",
    metavar="AGE",
    help="Only runs deleted at least this long ago, e.g. 30d, 12h, 1d2h3m4s  [default: any]",
)
@click.option(
    "--run-ids",
    metavar="ID,ID",
    help="Only these deleted runs (comma-separated)  [default: every deleted run]",
)
@pass_client
def gc(client: MlflowClient, older_than: str | None, run_ids: str | None) -> None:
    """Permanently remove deleted runs: their rows and artifact folders.

    Deleted experiments left without runs are removed too. Active runs and experiments
    are never touched. This cannot be undone: `runs restore` no longer finds what gc
    removed.
    """
    result = garbage.purge_deleted(
        client.store,
        older_than_ms=garbage.parse_age(older_than) if older_than is not None else None,
        run_ids=[i.strip() for i in run_ids.split(",") if i.strip()] if run_ids else None,
    )
    for run_id in result.run_ids:
        click.echo(f"Run with id {run_id} has been permanently deleted.")
    for experiment_id in result.experiment_ids:
        click.echo(f"Experiment with id {experiment_id} has been permanently deleted.")
    for location in result.kept_locations:
        click.echo(f"Artifacts at {location} are not local and were left in place.", err=True)
    click.echo(
        f"Removed {count(len(result.run_ids), 'run')} and "
        f"{count(len(result.experiment_ids), 'experiment')}."
    )
