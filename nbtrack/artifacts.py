"""The local artifact store: each run's files live in a folder named by its artifact URI.

Also ``nbtrack.artifacts.download_artifacts`` (MLflow's ``mlflow.artifacts`` function). Which
folder a ``runs:/`` or ``models:/`` URI names is a question for the store above this module:
the fluent layer answers it through :func:`set_locator` (see :mod:`nbtrack.run_io`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlparse

from nbtrack.entities import FileInfo
from nbtrack.errors import ArtifactNotFound, InvalidParameter

Locator = Callable[[str | None, str | None, str | None], Path]
"""(artifact_uri, run_id, tracking_uri) → the local file or folder they name."""

_locator: Locator | None = None


def uri_to_path(uri: str) -> Path:
    """The local folder of a ``file://`` URI or plain path."""
    if uri.startswith("file:"):
        return Path(unquote(urlparse(uri).path))
    if "://" in uri:
        raise InvalidParameter(
            f"artifact location {uri!r} is not local; nbtrack stores artifacts in local folders"
        )
    return Path(uri)


def check_relative(path: str | None, what: str = "artifact_path") -> str:
    """A relative, normalised artifact path that cannot escape the run's folder."""
    if path is None or path in ("", "."):
        return ""
    text = path.replace("\\", "/").strip("/") if not os.path.isabs(path) else path
    parts = text.split("/")
    if os.path.isabs(text) or ".." in parts:
        raise InvalidParameter(
            f"{what} must be a relative path inside the run's artifacts (found {path!r}); "
            "drop leading slashes and '..'",
            path=path,
        )
    return "/".join(p for p in parts if p not in ("", "."))


class LocalArtifacts:
    """Reads and writes one run's (or one model version's) artifact folder."""

    def __init__(self, artifact_uri: str):
        self.root = uri_to_path(artifact_uri)

    def path(self, artifact_path: str | None = None) -> Path:
        """Where an artifact path lives on disk (it may not exist)."""
        rel = check_relative(artifact_path)
        return self.root / rel if rel else self.root

    def log_artifact(
        self, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Copy one local file into the artifacts (under ``artifact_path`` if given)."""
        source = Path(local_path)
        if not source.is_file():
            raise ArtifactNotFound(
                f"cannot log {source}: no such file; for a folder use log_artifacts",
                path=str(source),
            )
        target_dir = self.path(artifact_path)
        target_dir.mkdir(parents=True, exist_ok=True)
        _atomic_copy(source, target_dir / source.name)

    def log_artifacts(
        self, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Copy a local folder's contents into the artifacts."""
        source = Path(local_dir)
        if not source.is_dir():
            raise ArtifactNotFound(
                f"cannot log {source}: no such folder; for one file use log_artifact",
                path=str(source),
            )
        target = self.path(artifact_path)
        for file in sorted(p for p in source.rglob("*") if p.is_file()):
            dest = target / file.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            _atomic_copy(file, dest)

    def write_bytes(self, artifact_file: str, data: bytes) -> Path:
        """Write one artifact file atomically: readers never see half a file."""
        dest = self.path(artifact_file)
        if not check_relative(artifact_file):
            raise InvalidParameter("artifact_file must name a file, such as 'notes.txt'")
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, dest)
        return dest

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """The files and folders directly under ``path``, sorted by name."""
        rel = check_relative(path)
        base = self.path(rel)
        if base.is_file():
            return []
        if not base.is_dir():
            return []
        infos = []
        for entry in sorted(base.iterdir(), key=lambda p: p.name):
            if entry.name.startswith(".tmp-"):
                continue
            child = f"{rel}/{entry.name}" if rel else entry.name
            is_dir = entry.is_dir()
            infos.append(FileInfo(child, is_dir, None if is_dir else entry.stat().st_size))
        return infos

    def download_artifacts(self, artifact_path: str = "", dst_path: str | None = None) -> str:
        """Copy an artifact file or folder to ``dst_path`` (a new temp folder by default)."""
        source = self.path(artifact_path)
        if not source.exists():
            raise ArtifactNotFound(
                f"no artifact {artifact_path!r} under {self.root}; list_artifacts shows what "
                "exists",
                path=artifact_path,
            )
        dest_dir = Path(dst_path) if dst_path else Path(tempfile.mkdtemp(prefix="nbtrack-"))
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = dest_dir / (source.name if artifact_path else "artifacts")
        if source.is_dir():
            shutil.copytree(source, dest, dirs_exist_ok=True)
        else:
            shutil.copy2(source, dest)
        return str(dest.absolute())


def _atomic_copy(source: Path, dest: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-")
    os.close(fd)
    shutil.copyfile(source, tmp)
    os.replace(tmp, dest)


def set_locator(locator: Locator) -> None:
    """Install the function that turns artifact URIs and run ids into local paths."""
    global _locator
    _locator = locator


def download_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    dst_path: str | None = None,
    tracking_uri: str | None = None,
    registry_uri: str | None = None,
) -> str:
    """Copy artifacts to a local folder and return the local path (``mlflow.artifacts``'s).

    Parameters
    ----------
    artifact_uri
        ``runs:/<run_id>/<path>``, ``models:/<name>/<version>``, a ``file:`` URI or a path.
        Pass either this or ``run_id`` (with an optional ``artifact_path``), not both.
    run_id, artifact_path
        A run, and a path inside its artifacts (its whole artifact folder when omitted).
    dst_path
        Where to copy to (created if needed); a new temporary folder by default.
    tracking_uri, registry_uri
        The store to read (the one in force by default); the registry is in the same store.
    """
    if artifact_uri is not None and (run_id is not None or artifact_path is not None):
        raise InvalidParameter(
            "pass artifact_uri, or run_id with an optional artifact_path, not both"
        )
    if artifact_uri is None and run_id is None:
        raise InvalidParameter(
            "download_artifacts needs artifact_uri (such as 'runs:/<run_id>/model') or run_id"
        )
    if _locator is None:  # pragma: no cover - nbtrack's package import installs it
        raise InvalidParameter("import nbtrack before downloading artifacts")
    source = _locator(artifact_uri, run_id, tracking_uri)
    if artifact_path:
        source = LocalArtifacts(str(source)).path(artifact_path)
    if not source.exists():
        raise ArtifactNotFound(
            f"nothing at {artifact_uri or f'run {run_id}'} ({source}); list_artifacts shows "
            "what a run holds",
            path=str(source),
        )
    if artifact_uri is None and not artifact_path:  # a run's whole folder: its contents
        dest = Path(dst_path) if dst_path else Path(tempfile.mkdtemp(prefix="nbtrack-"))
        shutil.copytree(source, dest, dirs_exist_ok=True)
        return str(dest.absolute())
    return LocalArtifacts(str(source.parent)).download_artifacts(source.name, dst_path)
