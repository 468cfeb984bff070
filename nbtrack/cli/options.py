"""What the commands share besides printing: the store's client and common options."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from nbtrack.client import MlflowClient
from nbtrack.entities import ViewType

F = TypeVar("F", bound=Callable[..., Any])

VIEWS = {"active": ViewType.ACTIVE_ONLY, "deleted": ViewType.DELETED_ONLY, "all": ViewType.ALL}

pass_client = click.make_pass_decorator(MlflowClient, ensure=True)
"""Pass the ``MlflowClient`` of the store chosen with ``nbtrack --tracking-uri``."""


def json_option(command: F) -> F:
    """Add the ``--json`` flag that every listing and show command takes."""
    return click.option(
        "--json", "as_json", is_flag=True, help="Print JSON (full values, times in ms)."
    )(command)


def view_option(noun: str) -> Callable[[F], F]:
    """Add ``--view active|deleted|all`` (MLflow's ``ViewType``) for a listing of ``noun``."""
    return click.option(
        "--view",
        type=click.Choice(list(VIEWS)),
        default="active",
        show_default=True,
        callback=lambda _ctx, _param, value: VIEWS[value],
        help=f"Which {noun} to list: active ones, deleted ones (until gc) or all.",
    )
