"""The model registry: registered models, versions, stages, aliases and tags (MLflow's API).

``RegistryClient`` holds ``MlflowClient``'s registry methods; ``register_model`` is the
fluent shortcut. Names, aliases, stages and tags are checked with MLflow's rules
(``nbtrack.registry_validation``) before anything reaches the store
(``nbtrack.store.registry``), so a wrong call raises an ``NbtrackError`` and changes nothing.

A version is a snapshot: ``create_model_version`` copies the model folder its source
names (``runs:/<run_id>/<path>``, ``models:/<name>/<version>``, ``models:/<name>@<alias>``,
a ``file:`` URI or a local path) into the registry's own storage,
``<artifact root>/models/<name>/<version>/``, so later changes to the run's artifacts do
not change it. The copy is made before the version's row is written and removed if the
write fails; deleting a version (or its model) removes the copy after the row.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from nbtrack import registry_validation as check
from nbtrack import validation
from nbtrack.artifacts import LocalArtifacts, uri_to_path
from nbtrack.entities import ModelVersion, PagedList, RegisteredModel
from nbtrack.errors import ArtifactNotFound, InvalidParameter, ModelNotFound, RegistryError
from nbtrack.registry_validation import ACTIVE_STAGES, LATEST_ALIAS, STAGES
from nbtrack.store.registry import RegistryStore

if TYPE_CHECKING:
    from nbtrack.entities import Run
    from nbtrack.store import TrackingStore

T = TypeVar("T")

SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT = 100
SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD = 1000
SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT = 10_000
SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD = 200_000
DEFAULT_AWAIT_MAX_SLEEP_SECONDS = 300
MODELS_FOLDER = "models"
MLMODEL_FILE = "MLmodel"


# -- the client mixin -------------------------------------------------------------------


class RegistryClient:
    """The registry half of ``MlflowClient``: MLflow's names, arguments and semantics."""

    if TYPE_CHECKING:

        @property
        def store(self) -> TrackingStore:
            """The tracking store (``MlflowClient`` provides it)."""

        def get_run(self, run_id: str) -> Run:
            """A run of the tracking store (``MlflowClient`` provides it)."""

    @property
    def registry_store(self) -> RegistryStore:
        """The registry store, on the tracking store's connection."""
        db = self.store.db
        cached = self.__dict__.get("_registry_store")
        if cached is None or cached.db is not db:
            cached = self.__dict__["_registry_store"] = RegistryStore(db)
        return cached

    # -- registered models ------------------------------------------------------------

    def create_registered_model(
        self, name: str, tags: dict[str, Any] | None = None, description: str | None = None
    ) -> RegisteredModel:
        """Create an empty registered model; its name must be free."""
        return self.registry_store.create_registered_model(
            check.model_name(name),
            check.registry_tags(tags, "registered model tag"),
            check.description(description),
        )

    def get_registered_model(self, name: str) -> RegisteredModel:
        """A registered model with its latest version per stage, tags and aliases."""
        return self.registry_store.get_registered_model(check.model_name(name))

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """Registered models matching ``name LIKE 'x%'``, ``tags.k = 'v'``… (AND-ed)."""
        from nbtrack.search import registered_models_query

        limit = check.max_results(max_results, SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD)
        query = registered_models_query(filter_string, order_by)
        return _page(self.registry_store.search_registered_models, query, limit, page_token)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a registered model; its versions, aliases and tags follow."""
        return self.registry_store.rename_registered_model(
            check.model_name(name), check.model_name(new_name, "new name")
        )

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        """Replace a registered model's description."""
        return self.registry_store.update_registered_model(
            check.model_name(name), check.description(description)
        )

    def delete_registered_model(self, name: str) -> None:
        """Delete a registered model with its versions, aliases, tags and their files."""
        locations = self.registry_store.delete_registered_model(check.model_name(name))
        for location in locations:
            self._remove_snapshot(location)

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        """Set (or replace) a tag on a registered model."""
        tag = check.registry_tags({key: value}, "registered model tag")
        self.registry_store.set_registered_model_tag(check.model_name(name), key, tag[key])

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag from a registered model."""
        validation.validate_key(key, "registered model tag")
        self.registry_store.delete_registered_model_tag(check.model_name(name), key)

    # -- model versions ---------------------------------------------------------------

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        await_creation_for: int = DEFAULT_AWAIT_MAX_SLEEP_SECONDS,
    ) -> ModelVersion:
        """Register a snapshot of the model folder ``source`` names as the model's next version.

        Parameters
        ----------
        name
            An existing registered model.
        source
            ``runs:/<run_id>/<path>``, ``models:/<name>/<version>`` (or ``@alias``), a
            ``file:`` URI or a local path; the folder must hold an ``MLmodel`` file.
        run_id
            The run that produced the model; taken from a ``runs:/`` or ``models:/``
            source when omitted.
        tags, run_link, description
            Stored with the version.
        await_creation_for
            Accepted for MLflow compatibility: versions are READY when this returns.

        Returns
        -------
        ModelVersion
            The new version, numbered from 1 per model.

        Raises
        ------
        ModelNotFound
            If the registered model (or a ``models:/`` source) does not exist.
        RunNotFound, ArtifactNotFound
            If the run or the model folder does not exist.
        InvalidParameter
            If an argument is malformed.
        """
        return self._create_version(name, source, run_id, tags, run_link, description)

    def _create_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        create_model: bool = False,
    ) -> ModelVersion:
        """Snapshot ``source`` and insert the version (and the model, if asked and missing)."""
        name = check.model_name(name)
        clean_tags = check.registry_tags(tags, "model version tag")
        folder, source_run = self._resolve_source(source)
        if run_id is not None:
            if source_run is not None and source_run != run_id and source.startswith("runs:"):
                raise InvalidParameter(
                    f"run_id {run_id!r} differs from the run in source {source!r}; "
                    "omit run_id to take it from the source",
                    run_id=run_id,
                )
            self.get_run(run_id)  # the lineage must point at a real run
        store = self.registry_store
        if not create_model:
            store.get_registered_model(name)  # fail before copying anything
        user = _user()
        staged = self._stage_snapshot(folder)
        placed: list[Path] = []

        def place(version: int) -> str:
            target = self._snapshot_folder(name, version)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(staged, target)
            placed.append(target)
            return target.as_uri()

        try:
            return store.create_model_version(
                name,
                _source_text(source),
                run_id or source_run,
                clean_tags,
                run_link,
                check.description(description),
                user,
                place,
                create_model,
            )
        except BaseException:
            shutil.rmtree(placed[0] if placed else staged, ignore_errors=True)
            raise

    def get_model_version(self, name: str, version: str | int) -> ModelVersion:
        """One version of a registered model."""
        return self.registry_store.get_model_version(
            check.model_name(name), check.version_number(version)
        )

    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        """The URI of the version's files: its snapshot in the registry's storage."""
        return self.registry_store.storage_location(
            check.model_name(name), check.version_number(version)
        )

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """Versions matching ``name = 'x'``, ``run_id = '…'``, ``tags.k = 'v'``… (AND-ed)."""
        from nbtrack.search import model_versions_query

        limit = check.max_results(max_results, SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD)
        query = model_versions_query(filter_string, order_by)
        return _page(self.registry_store.search_model_versions, query, limit, page_token)

    def update_model_version(
        self, name: str, version: str | int, description: str | None = None
    ) -> ModelVersion:
        """Replace a version's description."""
        return self.registry_store.update_model_version(
            check.model_name(name), check.version_number(version), check.description(description)
        )

    def transition_model_version_stage(
        self, name: str, version: str | int, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        """Move a version to None, Staging, Production or Archived.

        With ``archive_existing_versions=True`` (only for Staging and Production) the other
        versions in that stage move to Archived in the same transaction.
        """
        canonical = check.stage_name(stage)
        if archive_existing_versions and canonical not in ACTIVE_STAGES:
            raise InvalidParameter(
                f"archive_existing_versions=True needs the stage to be Staging or Production "
                f"(found {stage!r}); pass archive_existing_versions=False",
                stage=stage,
            )
        return self.registry_store.transition_model_version_stage(
            check.model_name(name),
            check.version_number(version),
            canonical,
            bool(archive_existing_versions),
        )

    def delete_model_version(self, name: str, version: str | int) -> None:
        """Delete a version and its files; its number is never reused."""
        location = self.registry_store.delete_model_version(
            check.model_name(name), check.version_number(version)
        )
        if location:
            self._remove_snapshot(location)

    def get_latest_versions(self, name: str, stages: list[str] | None = None) -> list[ModelVersion]:
        """The highest version in each stage (every stage when ``stages`` is empty)."""
        if isinstance(stages, str):
            raise InvalidParameter(f"stages must be a list of stages, e.g. [{stages!r}]")
        wanted = [check.stage_name(s) for s in stages] if stages else list(STAGES)
        return self.registry_store.get_latest_versions(check.model_name(name), wanted)

    def set_model_version_tag(
        self,
        name: str,
        version: str | int | None = None,
        key: str | None = None,
        value: Any = None,
        stage: str | None = None,
    ) -> None:
        """Set a tag on a version (or on the latest version in ``stage``)."""
        name, number = self._version_or_stage(name, version, stage)
        key = validation.validate_key(key, "model version tag")
        self.registry_store.set_model_version_tag(name, number, key, check.tag_value(key, value))

    def delete_model_version_tag(
        self,
        name: str,
        version: str | int | None = None,
        key: str | None = None,
        stage: str | None = None,
    ) -> None:
        """Remove a tag from a version (or from the latest version in ``stage``)."""
        name, number = self._version_or_stage(name, version, stage)
        key = validation.validate_key(key, "model version tag")
        self.registry_store.delete_model_version_tag(name, number, key)

    # -- aliases ----------------------------------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        """Point an alias at a version, moving it if it pointed at another."""
        self.registry_store.set_registered_model_alias(
            check.model_name(name), check.alias_name(alias), check.version_number(version)
        )

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias."""
        self.registry_store.delete_registered_model_alias(
            check.model_name(name), check.alias_name(alias, reserved_ok=True)
        )

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at; ``latest`` is the highest version."""
        name = check.model_name(name)
        if check.alias_name(alias, reserved_ok=True).lower() == LATEST_ALIAS:
            versions = self.get_latest_versions(name)
            if not versions:
                raise ModelNotFound(
                    f"registered model {name!r} has no versions yet; register one with "
                    "register_model",
                    name=name,
                )
            return max(versions, key=lambda mv: int(mv.version))
        return self.registry_store.get_model_version_by_alias(name, alias)

    # -- helpers ----------------------------------------------------------------------

    def _version_or_stage(
        self, name: str, version: str | int | None, stage: str | None
    ) -> tuple[str, int]:
        """The checked name and the version given, or the latest version in ``stage``."""
        name = check.model_name(name)
        if (version is None) == (stage is None):
            raise InvalidParameter("give either version or stage (exactly one of them)", name=name)
        if version is not None:
            return name, check.version_number(version)
        canonical = check.stage_name(stage)
        latest = self.get_latest_versions(name, [canonical])
        if not latest:
            raise ModelNotFound(
                f"registered model {name!r} has no version in stage {canonical}",
                name=name,
                stage=canonical,
            )
        return name, int(latest[0].version)

    def _resolve_source(self, source: object) -> tuple[Path, str | None]:
        """The local model folder a source names, and the run it came from (if known)."""
        if not isinstance(source, str) or not source:
            raise InvalidParameter(
                f"source must be a model URI or path such as 'runs:/<run_id>/model' "
                f"(found {source!r})"
            )
        from nbtrack.models.uri import parse_runs_uri, registered_version

        run_id = None
        if source.startswith("runs:"):
            run_id, path = parse_runs_uri(source)
            folder = LocalArtifacts(self.get_run(run_id).info.artifact_uri).path(path)
        elif source.startswith("models:"):
            version = registered_version(self, source)
            folder = uri_to_path(self.get_model_version_download_uri(version.name, version.version))
            run_id = version.run_id
        else:
            folder = uri_to_path(source).expanduser().absolute()
        if not (folder / MLMODEL_FILE).is_file():
            raise ArtifactNotFound(
                f"no model at {source!r}: {folder} holds no MLmodel file; log the model "
                "first (nbtrack.sklearn.log_model) and pass the URI it returned "
                "(model_info.model_uri)",
                path=str(folder),
            )
        return folder, run_id

    def _models_root(self) -> Path:
        return Path(self.store.artifact_root) / MODELS_FOLDER

    def _stage_snapshot(self, folder: Path) -> Path:
        """Copy a model folder into the registry's storage, under a temporary name."""
        staged = self._models_root() / f".tmp-{uuid.uuid4().hex}"
        try:
            shutil.copytree(folder, staged, ignore=shutil.ignore_patterns(".tmp-*"))
        except OSError as exc:
            shutil.rmtree(staged, ignore_errors=True)
            raise RegistryError(
                f"could not copy the model folder {folder} into the registry ({exc}); "
                "check the disk space and permissions",
                path=str(folder),
            ) from exc
        return staged

    def _snapshot_folder(self, name: str, version: int) -> Path:
        """Where a new version's files go: ``models/<name>/<version>``.

        A leftover folder of that name (a renamed or deleted model's) is never reused: a
        suffix makes the new one unique.
        """
        target = self._models_root() / name / str(version)
        if target.exists():
            target = target.with_name(f"{version}-{uuid.uuid4().hex[:8]}")
        return target

    def _remove_snapshot(self, location: str) -> None:
        """Remove a version's files, but only inside the registry's own storage."""
        path = uri_to_path(location).resolve()
        if self._models_root().resolve() in path.parents:
            shutil.rmtree(path, ignore_errors=True)


# -- module-level helpers ---------------------------------------------------------------


def _source_text(source: str) -> str:
    """The source as recorded: URIs as given, local paths made absolute."""
    if ":" in source.split("/")[0]:
        return source
    return str(Path(source).expanduser().absolute())


def _user() -> str:
    from nbtrack.context import user

    return user()


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
    from nbtrack import session

    client = session.client()
    name = check.model_name(name)
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


def resolve_version(client: RegistryClient, name: str, version_or_alias: str | int) -> ModelVersion:
    """The version a number (``3``, ``"3"``), ``latest`` or an alias (``@`` optional) names."""
    if isinstance(version_or_alias, int) or str(version_or_alias).strip().isdigit():
        return client.get_model_version(name, version_or_alias)
    return client.get_model_version_by_alias(name, str(version_or_alias).lstrip("@"))


def _model_exists(client: RegistryClient, name: str) -> bool:
    try:
        client.get_registered_model(name)
    except ModelNotFound:
        return False
    return True


def _page(
    search: Callable[..., tuple[list[T], bool]], query: Any, limit: int, page_token: str | None
) -> PagedList[T]:
    """One page of a registry search, with the token of the next page (None on the last)."""
    from nbtrack.store.sql import decode_page_token, encode_page_token

    offset = decode_page_token(page_token)
    items, more = search(query, limit, offset)
    return PagedList(items, encode_page_token(offset + limit) if more else None)
