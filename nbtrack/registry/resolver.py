"""The one version resolver: which registered model version a reference names.

Every caller that turns a reference into a :class:`ModelVersion` comes here: model URIs
(``pyfunc.load_model``, ``register_model`` and ``create_model_version`` sources), model
cards, the registry panel and the CLI. A reference is

* a version number: ``3`` or ``"3"``;
* ``latest``: the highest live version, whatever its stage;
* an alias: ``@champion`` (or ``champion`` where no stage is meant);
* a stage: ``Staging``, ``Production``, ``Archived`` or ``None`` (any case): the highest
  version in that stage;
* a model URI: ``models:/<name>/<version>``, ``models:/<name>/latest``,
  ``models:/<name>/<stage>`` or ``models:/<name>@<alias>``.

Versions are looked up with the registry client's methods by name, never through a search
filter, so any legal model name (quotes included) resolves the same way in every form.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Protocol

from nbtrack.entities import ModelVersion
from nbtrack.errors import InvalidParameter, ModelNotFound
from nbtrack.registry.validation import LATEST_ALIAS, STAGES

_MODELS_URI = re.compile(r"models:/+(?P<name>[^/@]+)(?:/(?P<ref>[^/]+)|@(?P<alias>[^/]+))/?")
_STAGE_BY_LOWER = {stage.lower(): stage for stage in STAGES}


if TYPE_CHECKING:  # a type only: no Protocol class is built at import

    class VersionSource(Protocol):
        """What the resolver reads: ``MlflowClient``'s registry methods."""

        def get_model_version(self, name: str, version: str | int) -> ModelVersion:
            """One version by number."""

        def get_latest_versions(
            self, name: str, stages: list[str] | None = None
        ) -> list[ModelVersion]:
            """The highest version in each stage."""

        def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
            """The version an alias points at."""


def resolve_version(client: VersionSource, name: str, ref: str | int) -> ModelVersion:
    """The version of model ``name`` a reference names: number, ``latest``, alias or stage.

    Parameters
    ----------
    client
        An ``MlflowClient``.
    name
        The registered model.
    ref
        ``3``, ``"3"``, ``"latest"``, ``"@champion"``, ``"champion"`` or a stage name
        (``"Production"``); a bare word that is a stage name means the stage, so an alias
        spelled like a stage is reached with its ``@``.

    Raises
    ------
    ModelNotFound
        If the model, version or alias does not exist, or no version is in the stage.
    """
    if isinstance(ref, int) and not isinstance(ref, bool):
        return client.get_model_version(name, ref)
    text = str(ref).strip()
    if text.startswith("@"):
        return client.get_model_version_by_alias(name, text[1:])
    if text.isdigit():
        return client.get_model_version(name, text)
    if text.lower() == LATEST_ALIAS:
        return latest_version(client, name)
    stage = _STAGE_BY_LOWER.get(text.lower())
    if stage is not None:
        return version_in_stage(client, name, stage)
    return client.get_model_version_by_alias(name, text)


def resolve_model_uri(client: VersionSource, uri: str) -> ModelVersion:
    """The version a ``models:/`` URI names (MLflow's forms; see the module docstring).

    Raises
    ------
    InvalidParameter
        If the URI is malformed or its reference is neither a number, ``latest`` nor a stage.
    ModelNotFound
        If what it names does not exist.
    """
    name, ref = parse_model_uri(uri)
    plain = not ref.startswith("@") and not ref.isdigit() and ref.lower() != LATEST_ALIAS
    if plain and ref.lower() not in _STAGE_BY_LOWER:
        raise InvalidParameter(
            f"{ref!r} in {uri!r} is neither a version number, 'latest', nor a stage "
            f"({', '.join(STAGES)}); write models:/<name>@{ref} for an alias",
            model_uri=uri,
        )
    return resolve_version(client, name, ref)


def parse_model_uri(uri: str) -> tuple[str, str]:
    """``models:/<name>/<ref>`` → (name, ref); ``models:/<name>@<alias>`` → (name, "@alias")."""
    match = _MODELS_URI.fullmatch(uri)
    if match is None:
        raise InvalidParameter(
            f"model URI {uri!r} is malformed; write models:/<name>/<version>, "
            "models:/<name>@<alias>, models:/<name>/<stage> or models:/<name>/latest",
            model_uri=uri,
        )
    if match["alias"] is not None:
        return match["name"], "@" + match["alias"]
    return match["name"], match["ref"]


def latest_version(client: VersionSource, name: str) -> ModelVersion:
    """The highest live version of a model, whatever its stage."""
    versions = client.get_latest_versions(name)
    if not versions:
        raise ModelNotFound(
            f"registered model {name!r} has no versions yet; register one with register_model",
            name=name,
        )
    return max(versions, key=lambda mv: int(mv.version))


def version_in_stage(client: VersionSource, name: str, stage: str) -> ModelVersion:
    """The highest version of a model in a (canonical) stage."""
    found = client.get_latest_versions(name, [stage])
    if not found:
        raise ModelNotFound(
            f"registered model {name!r} has no version in stage {stage}; move one there with "
            "transition_model_version_stage",
            name=name,
            stage=stage,
        )
    return found[0]
