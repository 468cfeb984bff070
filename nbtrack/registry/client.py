"""``MlflowClient``'s registry methods: registered models, versions, stages, aliases, tags.

``RegistryClient`` holds them with MLflow's names and semantics (``MlflowClient`` inherits
it, as MLflow's client holds its registry client). Names, aliases, stages and tags are
checked with MLflow's rules (:mod:`nbtrack.registry.validation`) before anything reaches
the store (``nbtrack.store.registry``), so a wrong call raises an ``NbtrackError`` and
changes nothing. Which version a reference names is decided in one place,
:mod:`nbtrack.registry.resolver`.

A version is a snapshot: ``create_model_version`` copies the model folder its source
names (``runs:/<run_id>/<path>``, ``models:/<name>/<version>``, ``models:/<name>@<alias>``,
a ``file:`` URI or a local path) into the registry's own storage,
``<artifact root>/models/<name>/<version>/`` (:mod:`nbtrack.registry.snapshots`), so later
changes to the run's artifacts do not change it. The copy is made before the version's row
is written and removed if the write fails; deleting a version (or its model) removes the
copy after the row.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from nbtrack import context, validation
from nbtrack.entities import ModelVersion, PagedList, RegisteredModel
from nbtrack.errors import InvalidParameter
from nbtrack.registry import snapshots
from nbtrack.registry import validation as check
from nbtrack.registry.resolver import latest_version, version_in_stage
from nbtrack.registry.validation import ACTIVE_STAGES, LATEST_ALIAS, STAGES
from nbtrack.store.registry import RegistryStore
from nbtrack.store.sql import decode_page_token, encode_page_token

if TYPE_CHECKING:
    from nbtrack.entities import Run
    from nbtrack.store import TrackingStore

T = TypeVar("T")

SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT = 100
SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD = 1000
SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT = 10_000
SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD = 200_000
DEFAULT_AWAIT_MAX_SLEEP_SECONDS = 300


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
        limit = check.max_results(max_results, SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD)
        # the filter compiler loads on first use, so that import nbtrack stays light
        from nbtrack.store import search

        query = search.registered_models_query(filter_string, order_by)
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
            snapshots.remove(self._models_root(), location)

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
        folder, source_run = snapshots.source_folder(self, source)
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
        user = context.user()
        staged = snapshots.stage(self._models_root(), folder)
        placed: list[Path] = []

        def place(version: int) -> str:
            target = snapshots.final_folder(self._models_root(), name, version)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(staged, target)
            placed.append(target)
            return target.as_uri()

        try:
            version = store.create_model_version(
                name,
                snapshots.source_text(source),
                run_id or source_run,
                clean_tags,
                run_link,
                check.description(description),
                user,
                place,
                create_model,
            )
        except BaseException:
            import shutil

            shutil.rmtree(placed[0] if placed else staged, ignore_errors=True)
            raise
        return self._link_logged_model(version, folder)

    def _link_logged_model(self, version: ModelVersion, folder: Path) -> ModelVersion:
        """Link a new version to the LoggedModel its folder came from (MLflow 3)."""
        model_id = snapshots.folder_model_id(folder)
        if model_id is None:
            return version
        self.store.link_model_version(model_id, version.name, int(version.version))
        return self.get_model_version(version.name, version.version)

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
        limit = check.max_results(max_results, SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD)
        # the filter compiler loads on first use, so that import nbtrack stays light
        from nbtrack.store import search

        query = search.model_versions_query(filter_string, order_by)
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
            snapshots.remove(self._models_root(), location)

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
            return latest_version(self, name)
        return self.registry_store.get_model_version_by_alias(name, alias)

    # -- helpers --------------------------------------------------------------------------

    def _version_or_stage(
        self, name: str, version: str | int | None, stage: str | None
    ) -> tuple[str, int]:
        """The checked name and the version given, or the latest version in ``stage``."""
        name = check.model_name(name)
        if (version is None) == (stage is None):
            raise InvalidParameter("give either version or stage (exactly one of them)", name=name)
        if version is not None:
            return name, check.version_number(version)
        return name, int(version_in_stage(self, name, check.stage_name(stage)).version)

    def _models_root(self) -> Path:
        """The registry's own storage: ``<artifact root>/models``."""
        return Path(self.store.artifact_root) / snapshots.MODELS_FOLDER


# -- helpers --------------------------------------------------------------------------


def _page(
    search: Callable[..., tuple[list[T], bool]], query: Any, limit: int, page_token: str | None
) -> PagedList[T]:
    """One page of a registry search, with the token of the next page (None on the last)."""
    offset = decode_page_token(page_token)
    items, more = search(query, limit, offset)
    return PagedList(items, encode_page_token(offset + limit) if more else None)
