"""``nbtrack sync push|pull`` and ``nbtrack import``: runs and models to and from MLflow."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from nbtrack.cli.options import json_option, pass_client
from nbtrack.cli.output import echo_json
from nbtrack.client import MlflowClient


class _Bar:
    """A progress bar on stderr, opened once the number of runs is known."""

    def __init__(self, label: str):
        self.label = label
        self.bar: Any = None

    def total(self, n: int) -> None:
        if n:
            self.bar = click.progressbar(length=n, label=self.label, file=sys.stderr)
            self.bar.__enter__()

    def step(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@contextmanager
def _progress(label: str) -> Iterator[_Bar]:
    bar = _Bar(label)
    try:
        yield bar
    finally:
        bar.close()


def _report(report: Any, as_json: bool, verb: str) -> None:
    if as_json:
        echo_json({k: v for k, v in vars(report).items() if not k.startswith("_")})
    else:
        click.echo(f"{verb}: {report.summary()}.")


@click.group("sync", short_help="Push runs and models to an MLflow server, or pull them.")
def sync() -> None:
    """Move runs, artifacts, models and the registry to and from an MLflow tracking server.

    The server is `mlflow server --serve-artifacts` (artifacts go through its proxy).
    Credentials come from MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD or
    MLFLOW_TRACKING_TOKEN; MLFLOW_TRACKING_INSECURE_TLS=true skips the certificate
    check. Both commands are re-runnable: the store records what moved where, so a
    second run sends only what is new and an interrupted one resumes.
    """


@sync.command("push", short_help="Send local runs (and models) to an MLflow server.")
@click.option("--to", "url", required=True, metavar="URL", help="The server, e.g. http://host:5000")
@click.option(
    "--experiment",
    "experiments",
    multiple=True,
    metavar="NAME",
    help="Push this experiment (repeatable)  [default: every experiment]",
)
@click.option(
    "--run-id", "run_ids", multiple=True, metavar="ID", help="Push this run (repeatable)."
)
@click.option("--models", is_flag=True, help="Also push the model registry.")
@json_option
@pass_client
def push(
    client: MlflowClient,
    url: str,
    experiments: tuple[str, ...],
    run_ids: tuple[str, ...],
    models: bool,
    as_json: bool,
) -> None:
    """Send local runs and artifacts to an MLflow tracking server.

    Experiments, runs (params, every metric step, tags, status, times, parents, dataset
    inputs, notes) and artifacts; with --models, registered models, versions, aliases,
    tags and descriptions too.
    """
    from nbtrack.sync import push as send

    with _progress("Pushing runs") as bar:
        report = send(
            url,
            experiments=list(experiments) or None,
            run_ids=list(run_ids) or None,
            models=models,
            tracking_uri=client.tracking_uri,
            progress=bar.step,
            on_total=bar.total,
        )
    _report(report, as_json, f"Pushed to {report.server}")


@sync.command("pull", short_help="Bring an MLflow server's runs (and models) here.")
@click.option(
    "--from", "url", required=True, metavar="URL", help="The server, e.g. http://host:5000"
)
@click.option(
    "--experiment",
    "experiments",
    multiple=True,
    metavar="NAME",
    help="Pull this experiment (repeatable)  [default: every experiment]",
)
@click.option("--models", is_flag=True, help="Also pull the model registry.")
@json_option
@pass_client
def pull(
    client: MlflowClient, url: str, experiments: tuple[str, ...], models: bool, as_json: bool
) -> None:
    """Bring an MLflow server's runs into the local store, for offline panels.

    Runs, metric histories and artifacts (with --models the registry), keeping run ids
    and times.
    """
    from nbtrack.sync import pull as fetch

    with _progress("Pulling runs") as bar:
        report = fetch(
            url,
            experiments=list(experiments) or None,
            models=models,
            tracking_uri=client.tracking_uri,
            progress=bar.step,
            on_total=bar.total,
        )
    _report(report, as_json, f"Pulled from {report.source}")


@click.command("import", short_help="Import an MLflow store (mlflow.db or mlruns/).")
@click.argument("path", type=click.Path(exists=True))
@click.option(
    "--experiment",
    "experiments",
    multiple=True,
    metavar="NAME",
    help="Import this experiment (repeatable)  [default: every experiment]",
)
@click.option("--no-models", is_flag=True, help="Leave the model registry out.")
@json_option
@pass_client
def import_(
    client: MlflowClient, path: str, experiments: tuple[str, ...], no_models: bool, as_json: bool
) -> None:
    """Import a local MLflow store: an mlflow.db SQLite file or an mlruns/ folder.

    Runs, metric histories, artifacts and the registry, keeping ids and times.
    Re-runnable: what was imported before is not imported twice.
    """
    from nbtrack.sync import import_store

    with _progress("Importing runs") as bar:
        report = import_store(
            path,
            experiments=list(experiments) or None,
            models=not no_models,
            tracking_uri=client.tracking_uri,
            progress=bar.step,
            on_total=bar.total,
        )
    _report(report, as_json, f"Imported {path}")
