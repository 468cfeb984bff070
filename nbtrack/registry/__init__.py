"""The model registry: ``MlflowClient``'s registry methods and the one version resolver.

* :mod:`~nbtrack.registry.client` – ``RegistryClient``, the registry half of ``MlflowClient``;
* :mod:`~nbtrack.registry.resolver` – which version a number, alias, ``latest``, stage or
  ``models:/`` URI names;
* :mod:`~nbtrack.registry.snapshots` – a version's files in the registry's storage;
* :mod:`~nbtrack.registry.validation` – MLflow's rules for names, stages, aliases and tags.

The fluent ``nbtrack.register_model`` is in :mod:`nbtrack.tracking`, beside the other
fluent calls that act on the session's store.
"""

from __future__ import annotations

from nbtrack.registry.client import (
    DEFAULT_AWAIT_MAX_SLEEP_SECONDS,
    SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
    SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD,
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD,
    RegistryClient,
)
from nbtrack.registry.resolver import (
    latest_version,
    parse_model_uri,
    resolve_model_uri,
    resolve_version,
    version_in_stage,
)
from nbtrack.registry.validation import ACTIVE_STAGES, LATEST_ALIAS, STAGES

__all__ = [
    "ACTIVE_STAGES",
    "DEFAULT_AWAIT_MAX_SLEEP_SECONDS",
    "LATEST_ALIAS",
    "SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT",
    "SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD",
    "SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT",
    "SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD",
    "STAGES",
    "RegistryClient",
    "latest_version",
    "parse_model_uri",
    "resolve_model_uri",
    "resolve_version",
    "version_in_stage",
]
