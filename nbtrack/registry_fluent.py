"""The fluent model-registry calls (``nbtrack.search_registered_models`` …) on the session's store.

MLflow's fluent forms return plain lists and page through every result when
``max_results`` is None; ``register_model`` is in :mod:`nbtrack.tracking`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from nbtrack import session
from nbtrack.entities import ModelVersion, PagedList, RegisteredModel
from nbtrack.registry import (
    SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
)

__all__ = ["search_model_versions", "search_registered_models", "set_model_version_tag"]

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
