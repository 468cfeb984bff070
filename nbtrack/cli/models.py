"""``nbtrack models``: list registered models, show one or a version, move aliases, write cards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from nbtrack import display
from nbtrack.cards import model_card
from nbtrack.cli import serving
from nbtrack.cli.options import json_option, pass_client
from nbtrack.cli.output import (
    Column,
    count,
    echo_fields,
    echo_json,
    echo_table,
)
from nbtrack.client import MlflowClient
from nbtrack.entities import ModelVersion, RegisteredModel
from nbtrack.errors import ModelNotFound
from nbtrack.registry import (
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD,
    resolve_version,
)
from nbtrack.registry.validation import version_number


@click.group()
def models() -> None:
    """List, show, alias and document registered models; serve one, score files with it."""


@models.command("list")
@click.option(
    "--filter",
    "-f",
    "filter_string",
    default="",
    metavar="FILTER",
    help="MLflow's filter grammar, e.g. \"name LIKE 'iris%'\" or \"tags.team = 'ml'\".",
)
@click.option(
    "--max-results",
    type=click.IntRange(1, SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD),
    default=SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
    show_default=True,
    help="List at most this many models.",
)
@json_option
@pass_client
def list_models(client: MlflowClient, filter_string: str, max_results: int, as_json: bool) -> None:
    """List registered models by name, with their latest version and aliases."""
    page = client.search_registered_models(filter_string or None, max_results=max_results)
    if as_json:
        echo_json([model_json(m) for m in page])
        return
    columns = [
        Column("Name"),
        Column("Latest", None, "right"),
        Column("Stages", 30),
        Column("Aliases", 30),
        Column("Updated", None),
        Column("Description"),
    ]
    rows = [
        (
            m.name,
            max((int(v.version) for v in m.latest_versions), default=""),
            _stages(m),
            ", ".join(f"{a}→{v}" for a, v in m.aliases.items()),
            display.timestamp(m.last_updated_timestamp),
            m.description,
        )
        for m in page
    ]
    summary = count(len(page), "registered model")
    if page.token:
        summary += "; more models match: raise --max-results"
    echo_table(columns, rows, summary)


@models.command("show")
@click.argument("name")
@click.option(
    "--version",
    "-v",
    metavar="V",
    help="Show this version: a number, an alias (champion or @champion) or latest.",
)
@json_option
@pass_client
def show(client: MlflowClient, name: str, version: str | None, as_json: bool) -> None:
    """Show a registered model and its versions, or one version with its lineage."""
    if version is not None:
        _show_version(client, resolve_version(client, name, version), as_json)
        return
    model = client.get_registered_model(name)
    versions = list(
        client.search_model_versions(f"name = {_quoted(name)}", order_by=["version_number DESC"])
    )
    if as_json:
        echo_json({**model_json(model), "versions": [version_json(v) for v in versions]})
        return
    click.echo(f"Registered model {model.name}")
    fields = [
        ("Description", model.description),
        ("Created", display.timestamp(model.creation_timestamp)),
        ("Updated", display.timestamp(model.last_updated_timestamp)),
        *(("Tag " + k, v) for k, v in sorted(model.tags.items())),
    ]
    echo_fields([(k, v) for k, v in fields if v], cut=False)
    click.echo("")
    echo_table(
        [
            Column("Version", None, "right"),
            Column("Stage", None),
            Column("Aliases", 30),
            Column("Run ID", None),
            Column("Created", None),
            Column("Source"),
        ],
        [
            (
                v.version,
                v.current_stage,
                ", ".join(v.aliases),
                v.run_id,
                display.timestamp(v.creation_timestamp),
                v.source,
            )
            for v in versions
        ],
        count(len(versions), "version"),
    )


def _show_version(client: MlflowClient, version: ModelVersion, as_json: bool) -> None:
    location = client.get_model_version_download_uri(version.name, version.version)
    if as_json:
        echo_json({**version_json(version), "storage_location": location})
        return
    click.echo(f"Model {version.name} version {version.version}")
    fields = [
        ("Stage", version.current_stage),
        ("Aliases", ", ".join(version.aliases)),
        ("Description", version.description),
        ("Source", version.source),
        ("Run ID", version.run_id),
        ("Run link", version.run_link),
        ("Status", version.status),
        ("Registered by", version.user_id),
        ("Created", display.timestamp(version.creation_timestamp)),
        ("Updated", display.timestamp(version.last_updated_timestamp)),
        ("Files", location),
        *(("Tag " + k, v) for k, v in sorted(version.tags.items())),
    ]
    echo_fields([(k, v) for k, v in fields if v], cut=False)


@models.command("alias")
@click.argument("name")
@click.argument("alias")
@click.argument("version")
@pass_client
def alias(client: MlflowClient, name: str, alias: str, version: str) -> None:
    """Point ALIAS of model NAME at VERSION (moving it if it pointed at another)."""
    try:
        before = client.get_model_version_by_alias(name, alias).version
    except ModelNotFound:
        before = None
    client.set_registered_model_alias(name, alias, version)
    number = str(version_number(version))
    moved = f" (it was on version {before})" if before not in (None, number) else ""
    click.echo(f"Alias '{alias}' of model '{name}' now points at version {number}{moved}.")


@models.command("card")
@click.argument("name")
@click.argument("version")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the card to this file (README.md for a Hugging Face Hub repository) "
    "instead of printing it.",
)
@pass_client
def card(client: MlflowClient, name: str, version: str, output: Path | None) -> None:
    """Print (or write) the model card of VERSION of model NAME (a number, alias or latest)."""
    generated = model_card(name, version, client=client)
    if output is None:
        click.echo(generated.to_markdown(), nl=False)
        return
    generated.save(output)
    click.echo(f"Wrote the model card of {name} version {generated.version} to {output}")


def model_json(model: RegisteredModel) -> dict[str, Any]:
    """A registered model with every field, times in milliseconds."""
    return {
        "name": model.name,
        "creation_timestamp": model.creation_timestamp,
        "last_updated_timestamp": model.last_updated_timestamp,
        "description": model.description,
        "latest_versions": [version_json(v) for v in model.latest_versions],
        "tags": dict(model.tags),
        "aliases": dict(model.aliases),
    }


def version_json(version: ModelVersion) -> dict[str, Any]:
    """A model version with every field, times in milliseconds."""
    return {
        "name": version.name,
        "version": version.version,
        "creation_timestamp": version.creation_timestamp,
        "last_updated_timestamp": version.last_updated_timestamp,
        "description": version.description,
        "user_id": version.user_id,
        "current_stage": version.current_stage,
        "source": version.source,
        "run_id": version.run_id,
        "run_link": version.run_link,
        "status": version.status,
        "status_message": version.status_message,
        "tags": dict(version.tags),
        "aliases": list(version.aliases),
    }


def _stages(model: RegisteredModel) -> str:
    return ", ".join(
        f"{v.current_stage}: {v.version}"
        for v in model.latest_versions
        if v.current_stage != "None"
    )


def _quoted(name: str) -> str:
    """A name as a filter string value (MLflow's grammar has no escapes: pick the quote)."""
    return f'"{name}"' if "'" in name else f"'{name}'"


models.add_command(serving.serve)
models.add_command(serving.predict)
