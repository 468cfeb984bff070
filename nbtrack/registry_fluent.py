"""The fluent model-registry calls (``nbtrack.search_registered_models`` …) on the session's store.

MLflow's fluent forms return plain lists and page through every result when
``max_results`` is None.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

from nbtrack import session
from nbtrack.client import MlflowClient
from nbtrack.entities import ModelVersion, PagedList, RegisteredModel
from nbtrack.errors import ModelNotFound
from nbtrack.registry import (
    DEFAULT_AWAIT_MAX_SLEEP_SECONDS,
    SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
)
from nbtrack.registry.validation import model_name

__all__ = [
    "register_model",
    "search_model_versions",
    "search_registered_models",
    "set_model_version_tag",
]

T = TypeVar("T")


def search_registered_models(
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
) -> list[RegisteredModel]:
    """Registered models matching a filter (``name LIKE 'iris%'``), every page when unbounded.

    Parameters
    ----------
    max_results
        At most this many; all of them when None.
    filter_string, order_by
        As ``MlflowClient.search_registered_models``.
    """
    search = session.client().search_registered_models
    return _every_page(
        lambda n, token: search(filter_string, n, order_by, token),
        max_results,
        SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
    )


def search_model_versions(
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
) -> list[ModelVersion]:
    """Model versions matching a filter (``name = 'iris'``), every page when unbounded.

    Parameters
    ----------
    max_results
        At most this many; all of them when None.
    filter_string, order_by
        As ``MlflowClient.search_model_versions``.
    """
    search = session.client().search_model_versions
    return _every_page(
        lambda n, token: search(filter_string, n, order_by, token),
        max_results,
        SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
    )


def set_model_version_tag(
    name: str, version: str | None = None, key: str | None = None, value: Any = None
) -> None:
    """Set a tag on a registered model version."""
    session.client().set_model_version_tag(name, version, key, value)


def _every_page(
    fetch: Callable[[int, str | None], PagedList[T]], max_results: int | None, page_size: int
) -> list[T]:
    found: list[T] = []
    token: str | None = None
    while True:
        wanted = page_size if max_results is None else min(page_size, max_results - len(found))
        page = fetch(wanted, token)
        found.extend(page)
        token = page.token
        if not token or (max_results is not None and len(found) >= max_results):
            return found


def register_model(
    model_uri: str,
    name: str,
    await_registration_for: int = DEFAULT_AWAIT_MAX_SLEEP_SECONDS,
    *,
    tags: dict[str, Any] | None = None,
) -> ModelVersion:
    """Register the model at ``model_uri`` as a new version of ``name`` (created if needed).

    Parameters
    ----------
    model_uri
        ``runs:/<run_id>/<path>``, ``models:/<name>/<version>`` (or ``@alias``), or a
        local path of a model folder.
    name
        The registered model; created when it does not exist yet.
    await_registration_for
        Accepted for MLflow compatibility: the version is READY when this returns.
    tags
        Tags of the new version.

    Returns
    -------
    ModelVersion
        The new version, a snapshot of the model folder with its lineage (source, run).
    """
    client = session.client()
    name = model_name(name)
    exists = _model_exists(client, name)
    version = client._create_version(name, model_uri, tags=tags, create_model=True)
    if exists:
        print(
            f"Registered model {name!r} already exists. Creating a new version of this model...",
            file=sys.stderr,
        )
    else:
        print(f"Successfully registered model {name!r}.", file=sys.stderr)
    print(f"Created version '{version.version}' of model '{version.name}'.", file=sys.stderr)
    return version


def _model_exists(client: MlflowClient, name: str) -> bool:
    try:
        client.get_registered_model(name)
    except ModelNotFound:
        return False
    return True
