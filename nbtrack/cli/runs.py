"""``nbtrack runs``: list (with MLflow's filter grammar), show, delete and restore runs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import click

from nbtrack import display, tag_keys
from nbtrack.cli.options import json_option, pass_client, view_option
from nbtrack.cli.output import (
    Column,
    count,
    echo_fields,
    echo_json,
    file_json,
    render_table,
    run_json,
    terminal_width,
)
from nbtrack.client import SEARCH_MAX_RESULTS_DEFAULT, MlflowClient
from nbtrack.entities import Experiment, FileInfo, Run, ViewType

METRIC_COLUMNS = 6  # at most; fewer when the terminal is narrow (runs show has them all)
ARTIFACT_LINES = 50


@click.group()
def runs() -> None:
    """List, show, delete and restore runs."""


@runs.command("list")
@click.option(
    "--experiment",
    "-e",
    "experiment_names",
    multiple=True,
    metavar="NAME",
    help="Only runs of this experiment (repeat for several)  [default: every experiment]",
)
@click.option(
    "--filter",
    "-f",
    "filter_string",
    default="",
    metavar="FILTER",
    help="MLflow's filter grammar, e.g. \"metrics.rmse < 1 and params.alpha = '0.5'\".",
)
@click.option(
    "--order-by",
    "-o",
    multiple=True,
    metavar="KEY",
    help="Sort key such as 'metrics.rmse ASC' (repeat for ties)  [default: start_time DESC]",
)
@click.option(
    "--max-results",
    type=click.IntRange(min=1),
    default=SEARCH_MAX_RESULTS_DEFAULT,
    show_default=True,
    help="List at most this many runs.",
)
@view_option("runs")
@json_option
@pass_client
def list_runs(
    client: MlflowClient,
    experiment_names: tuple[str, ...],
    filter_string: str,
    order_by: tuple[str, ...],
    max_results: int,
    view: int,
    as_json: bool,
) -> None:
    """List the runs that match a filter, in order."""
    searched = _experiments(client, experiment_names)
    page = client.search_runs(
        [e.experiment_id for e in searched],
        filter_string=filter_string,
        run_view_type=view,
        max_results=max_results,
        order_by=list(order_by) or None,
    )
    if as_json:
        echo_json([run_json(run) for run in page])
        return
    names = {e.experiment_id: e.name for e in searched} if len(searched) > 1 else None
    columns, rows, metrics = _runs_table(page, names, view != ViewType.ACTIVE_ONLY)
    table, hidden = _fit(columns, rows, metrics, terminal_width())
    summary = count(len(page), "run")
    if hidden:
        summary += f"; {count(hidden, 'more metric')} in `runs show` or --json"
    if page.token:
        summary += "; more runs match: raise --max-results"
    if table:
        click.echo(table)
    click.echo(summary)


def _experiments(client: MlflowClient, names: Sequence[str]) -> list[Experiment]:
    """Look up the experiments named, or take every one (--view then picks the runs)."""
    if not names:
        return list(client.search_experiments(view_type=ViewType.ALL, max_results=None))
    found = []
    for name in dict.fromkeys(names):
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise click.ClickException(
                f"no experiment named {name!r}; `nbtrack experiments list` shows them"
            )
        found.append(experiment)
    return found


def _runs_table(
    runs: Sequence[Run], experiment_names: dict[str, str] | None, with_stage: bool
) -> tuple[list[Column], list[list[object]], int]:
    """Columns and rows for a list of runs (metrics last, most common first); metric count."""
    frequency = Counter(key for run in runs for key in run.data.metrics)
    keys = sorted(frequency, key=lambda k: (-frequency[k], k))
    columns = [Column("Run ID", None), Column("Name", 30)]
    if experiment_names:
        columns.append(Column("Experiment", 20))
    columns += [Column("Status", None), Column("Started", None), Column("Duration", None, "right")]
    if with_stage:
        columns.append(Column("Stage", None))
    columns += [Column(key if len(key) <= 20 else key[:19] + "…", 20, "right") for key in keys]
    rows = []
    for run in runs:
        info = run.info
        row: list[object] = [info.run_id, info.run_name]
        if experiment_names:
            row.append(experiment_names.get(info.experiment_id, info.experiment_id))
        row += [
            info.status,
            display.timestamp(info.start_time),
            display.run_duration(info.start_time, info.end_time),
        ]
        if with_stage:
            row.append(info.lifecycle_stage)
        row += [run.data.metrics.get(key) for key in keys]
        rows.append(row)
    return columns, rows, len(keys)


def _fit(
    columns: list[Column], rows: list[list[object]], metrics: int, width: int | None
) -> tuple[str, int]:
    """Render the table with as many metric columns as fit the terminal; count the others."""
    fixed = len(columns) - metrics
    shown = min(metrics, METRIC_COLUMNS)
    while True:
        table = render_table(columns[: fixed + shown], [row[: fixed + shown] for row in rows])
        if width is None or shown == 0 or len(table.partition("\n")[0]) <= width:
            return table, metrics - shown
        shown -= 1


@runs.command("show")
@click.argument("run_id")
@json_option
@pass_client
def show(client: MlflowClient, run_id: str, as_json: bool) -> None:
    """Show a run: its info, params, latest metrics, tags, datasets and artifacts."""
    run = client.get_run(run_id)
    artifacts = _all_artifacts(client, run_id)
    if as_json:
        echo_json({**run_json(run), "artifacts": [file_json(f) for f in artifacts]})
        return
    info = run.info
    experiment = client.get_experiment(info.experiment_id)
    click.echo(f"Run {info.run_id}")
    fields = [
        ("Name", info.run_name),
        ("Experiment", f"{experiment.name} (id {experiment.experiment_id})"),
        ("Status", info.status),
        ("Lifecycle stage", info.lifecycle_stage),
        ("Started", display.timestamp(info.start_time)),
        ("Ended", display.timestamp(info.end_time)),
        ("Duration", display.run_duration(info.start_time, info.end_time)),
        ("User", info.user_id),
        ("Parent run", run.data.tags.get(tag_keys.PARENT_RUN_ID)),
        ("Artifact URI", info.artifact_uri),
    ]
    echo_fields([(name, value) for name, value in fields if value], cut=False)
    _section("Params", sorted(run.data.params.items()))
    _section("Latest metrics", sorted(run.data.metrics.items()))
    _section("Tags", sorted(run.data.tags.items()))
    _section(
        "Datasets",
        [
            (
                d.dataset.name,
                f"digest {d.dataset.digest}, {d.dataset.source_type} {d.dataset.source}",
            )
            for d in run.inputs.dataset_inputs
        ],
    )
    files = [(f.path + "/" if f.is_dir else f.path, display.size(f.file_size)) for f in artifacts]
    _section("Artifacts", files[:ARTIFACT_LINES], len(files))
    if len(files) > ARTIFACT_LINES:
        click.echo(f"  … {len(files) - ARTIFACT_LINES} more (--json lists them all)")


def _section(title: str, pairs: Sequence[tuple[str, object]], total: int | None = None) -> None:
    click.echo(f"\n{title} ({len(pairs) if total is None else total})")
    echo_fields(pairs)


def _all_artifacts(client: MlflowClient, run_id: str, path: str | None = None) -> list[FileInfo]:
    """Every artifact file and folder of a run, depth first."""
    found = []
    for info in client.list_artifacts(run_id, path):
        found.append(info)
        if info.is_dir:
            found += _all_artifacts(client, run_id, info.path)
    return found


@runs.command("delete")
@click.argument("run_id")
@pass_client
def delete(client: MlflowClient, run_id: str) -> None:
    """Mark a run deleted (restore undoes it; gc removes it for good)."""
    client.delete_run(run_id)
    click.echo(f"Run with id {run_id} has been deleted.")


@runs.command("restore")
@click.argument("run_id")
@pass_client
def restore(client: MlflowClient, run_id: str) -> None:
    """Restore a deleted run."""
    client.restore_run(run_id)
    click.echo(f"Run with id {run_id} has been restored.")
