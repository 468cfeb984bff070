"""A registered version's files: the snapshot of a model folder in the registry's storage.

``create_model_version`` copies the folder its source names into
``<artifact root>/models/<name>/<version>/``: first under a temporary name (``stage``),
then renamed into place inside the write transaction (``final_folder``). Deleting a
version removes its copy, but never anything outside the registry's storage (``remove``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from nbtrack.artifacts import LocalArtifacts, uri_to_path
from nbtrack.entities import Run
from nbtrack.errors import ArtifactNotFound, InvalidParameter, RegistryError
from nbtrack.registry.resolver import resolve_model_uri
from nbtrack.uri import logged_model_id, parse_runs_uri

MODELS_FOLDER = "models"
MLMODEL_FILE = "MLmodel"


if TYPE_CHECKING:  # a type only: no Protocol class is built at import
    from nbtrack.registry.resolver import VersionSource
    from nbtrack.store import TrackingStore

    class SourceReader(VersionSource, Protocol):
        """What reading a source needs: ``MlflowClient``'s run and registry lookups."""

        def get_run(self, run_id: str) -> Run:
            """A run, for a ``runs:/`` source."""

        def get_model_version_download_uri(self, name: str, version: str | int) -> str:
            """A version's files, for a ``models:/`` source."""

        @property
        def store(self) -> TrackingStore:
            """The tracking store, for a ``models:/<model_id>`` source (a LoggedModel)."""


def source_folder(client: SourceReader, source: object) -> tuple[Path, str | None]:
    """The local model folder a source names, and the run it came from (if known)."""
    if not isinstance(source, str) or not source:
        raise InvalidParameter(
            f"source must be a model URI or path such as 'runs:/<run_id>/model' (found {source!r})"
        )
    run_id = None
    if source.startswith("runs:"):
        run_id, path = parse_runs_uri(source)
        folder = LocalArtifacts(client.get_run(run_id).info.artifact_uri).path(path)
    elif model_id := logged_model_id(source):
        logged = client.store.get_logged_model(model_id)
        folder, run_id = uri_to_path(logged.artifact_location), logged.source_run_id
    elif source.startswith("models:"):
        version = resolve_model_uri(client, source)
        folder = uri_to_path(client.get_model_version_download_uri(version.name, version.version))
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


def folder_model_id(folder: Path) -> str | None:
    """The LoggedModel id a model folder's ``MLmodel`` records (MLflow 3), or None."""
    import yaml

    try:
        meta = yaml.safe_load((folder / MLMODEL_FILE).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    model_id = meta.get("model_id") if isinstance(meta, dict) else None
    return model_id if isinstance(model_id, str) and model_id else None


def source_text(source: str) -> str:
    """The source as recorded: URIs as given, local paths made absolute."""
    if ":" in source.split("/")[0]:
        return source
    return str(Path(source).expanduser().absolute())


def stage(models_root: Path, folder: Path) -> Path:
    """Copy a model folder into the registry's storage, under a temporary name."""
    import shutil  # shutil and uuid load when a model is registered, not at import
    import uuid

    staged = models_root / f".tmp-{uuid.uuid4().hex}"
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


def final_folder(models_root: Path, name: str, version: int) -> Path:
    """Where a new version's files go: ``models/<name>/<version>``.

    A leftover folder of that name (a renamed or deleted model's) is never reused: a
    suffix makes the new one unique.
    """
    target = models_root / name / str(version)
    if target.exists():
        import uuid

        target = target.with_name(f"{version}-{uuid.uuid4().hex[:8]}")
    return target


def remove(models_root: Path, location: str) -> None:
    """Remove a version's files, but only inside the registry's own storage."""
    path = uri_to_path(location).resolve()
    if models_root.resolve() in path.parents:
        import shutil

        shutil.rmtree(path, ignore_errors=True)
