"""The local artifact store: each run's files live in a folder named by its artifact URI.

Every path is contained: a relative artifact path may not climb out with ``..``, and the
path it resolves to (symlinks followed) must stay inside the run's folder, so a symlink
placed there cannot make nbtrack write or read elsewhere. Files are written to a hidden
staging name (``.tmp-<host>-<pid>-…``) and renamed into place; a failed write removes its
staging file, and staging left by a killed process is swept by the next write beside it.

Also ``nbtrack.artifacts.download_artifacts`` (MLflow's ``mlflow.artifacts`` function). Which
folder a ``runs:/`` or ``models:/`` URI names is a question for the store above this module:
the fluent layer answers it through :func:`set_locator` (see :mod:`nbtrack.run_io`).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from urllib.parse import unquote, urlparse

from nbtrack.entities import FileInfo
from nbtrack.errors import ArtifactNotFound, InvalidParameter, StoreError

STAGING_PREFIX = ".tmp-"
MAX_NAME_BYTES = 255  # the longest file name common file systems take

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
    if not isinstance(path, str):
        raise InvalidParameter(f"{what} must be a string (found {path!r})", path=path)
    text = path.replace("\\", "/").strip("/") if not os.path.isabs(path) else path
    parts = text.split("/")
    if os.path.isabs(text) or ".." in parts:
        raise InvalidParameter(
            f"{what} must be a relative path inside the run's artifacts (found {path!r}); "
            "drop leading slashes and '..'",
            path=path,
        )
    kept = [p for p in parts if p not in ("", ".")]
    for part in kept:
        _check_name(part, path, what)
    return "/".join(kept)


def _check_name(part: str, path: str, what: str) -> None:
    """Refuse a path component no file system can hold (NUL, lone surrogates, too long)."""
    try:
        size = len(part.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidParameter(
            f"{what} {path!r} holds a lone surrogate character, which no file name can hold; "
            "remove it",
            path=path,
        ) from None
    if "\0" in part:
        raise InvalidParameter(
            f"{what} {path!r} holds a NUL character, which no file name can hold; remove it",
            path=path,
        )
    if size > MAX_NAME_BYTES:
        raise InvalidParameter(
            f"{what} has a name of {size} bytes, longer than the {MAX_NAME_BYTES} a file "
            f"name can hold (found {part[:40]!r}…); shorten it",
            path=path,
        )
    if part.startswith(STAGING_PREFIX):
        raise InvalidParameter(
            f"{what} {path!r} starts with {STAGING_PREFIX!r}, which nbtrack keeps for files "
            "being written; rename it",
            path=path,
        )


class LocalArtifacts:
    """Reads and writes one run's (or one model version's) artifact folder."""

    def __init__(self, artifact_uri: str):
        self.root = uri_to_path(artifact_uri)

    def path(self, artifact_path: str | None = None) -> Path:
        """Where an artifact path lives on disk (it may not exist), never outside the folder."""
        rel = check_relative(artifact_path)
        target = self.root / rel if rel else self.root
        if rel:
            self._contain(target, artifact_path)
        return target

    def _contain(self, target: Path, shown: object) -> None:
        """Refuse a path that symlinks lead out of the run's folder."""
        root = self.root.resolve()
        if not target.resolve().is_relative_to(root):
            raise InvalidParameter(
                f"artifact path {shown!r} leads outside the run's artifact folder {root} "
                "(through a symbolic link); nbtrack reads and writes only inside it",
                path=str(shown),
            )

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
        check_relative(source.name, "file name")
        dest = target_dir / source.name
        self._contain(dest, f"{artifact_path or ''}/{source.name}")
        target_dir.mkdir(parents=True, exist_ok=True)
        _atomic_write(dest, _copy_from(source))

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
        files = sorted(p for p in source.rglob("*") if p.is_file())
        for file in files:  # every name checked before the first file is written
            check_relative(file.relative_to(source).as_posix(), "file name")
        for file in files:
            dest = target / file.relative_to(source)
            self._contain(dest, file.relative_to(source).as_posix())
            dest.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(dest, _copy_from(file))

    def write_bytes(self, artifact_file: str, data: bytes) -> Path:
        """Write one artifact file atomically: readers never see half a file."""
        if not check_relative(artifact_file) or artifact_file.replace("\\", "/").endswith(
            ("/", "/.")
        ):
            raise InvalidParameter(
                f"artifact_file must name a file, such as 'notes.txt' (found {artifact_file!r}, "
                "which names a folder)",
                path=artifact_file,
            )
        dest = self.path(artifact_file)
        if dest.is_dir():
            raise InvalidParameter(
                f"artifact_file {artifact_file!r} is a folder of the run's artifacts; name a "
                "file inside it",
                path=artifact_file,
            )
        dest.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(dest, lambda tmp: Path(tmp).write_bytes(data))
        return dest

    def _outside_links(self, folder: str, names: list[str]) -> list[str]:
        """For copytree: the entries of ``folder`` that symlinks lead out of the run's folder."""
        root = self.root.resolve()
        return [n for n in names if not (Path(folder) / n).resolve().is_relative_to(root)]

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
            if entry.name.startswith(STAGING_PREFIX):
                continue
            child = f"{rel}/{entry.name}" if rel else entry.name
            is_dir = entry.is_dir()
            infos.append(FileInfo(child, is_dir, None if is_dir else entry.stat().st_size))
        return infos

    def download_artifacts(self, artifact_path: str = "", dst_path: str | None = None) -> str:
        """Copy an artifact file or folder to ``dst_path`` (a new temp folder by default)."""
        source = self.path(artifact_path)
        self._contain(source, artifact_path)
        if not source.exists():
            raise ArtifactNotFound(
                f"no artifact {artifact_path!r} under {self.root}; list_artifacts shows what "
                "exists",
                path=artifact_path,
            )
        import shutil
        import tempfile

        dest_dir = Path(dst_path) if dst_path else Path(tempfile.mkdtemp(prefix="nbtrack-"))
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = dest_dir / (source.name if artifact_path else "artifacts")
        if source.is_dir():
            shutil.copytree(source, dest, dirs_exist_ok=True, ignore=self._outside_links)
        else:
            shutil.copy2(source, dest)
        return str(dest.absolute())


def _atomic_write(dest: Path, write: Callable[[str], object]) -> None:
    """Write through a staging file renamed into place; the staging file never stays."""
    import tempfile  # with random, bz2, lzma: loaded on the first artifact, not at import

    sweep_stale_staging(dest.parent)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=staging_prefix())
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, dest)
    except BaseException as error:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise _write_error(dest, error) from error
        raise


def _copy_from(source: Path) -> Callable[[str], object]:
    import shutil  # loaded on the first copied artifact, not at import

    return partial(shutil.copyfile, source)


def _write_error(dest: Path, error: OSError) -> StoreError:
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreError(
            f"the disk holding {dest.parent} is full; the artifact {dest.name!r} was not "
            "written. Free some space and retry",
            path=str(dest),
        )
    return StoreError(
        f"the artifact {dest} could not be written ({error.strerror or error}); check the "
        "folder's permissions and disk, then retry",
        path=str(dest),
    )


def staging_prefix() -> str:
    """The prefix of this process's staging files and folders: ``.tmp-<host>-<pid>-``."""
    return f"{STAGING_PREFIX}{_host()}-{os.getpid()}-"


def sweep_stale_staging(folder: Path) -> None:
    """Remove staging files and folders that a killed process of this host left in ``folder``."""
    host = f"{STAGING_PREFIX}{_host()}-"
    try:
        entries = [e for e in os.scandir(folder) if e.name.startswith(host)]
    except OSError:
        return
    for entry in entries:
        pid = entry.name[len(host) :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            if entry.is_dir(follow_symlinks=False):
                import shutil

                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                Path(entry.path).unlink(missing_ok=True)


def _host() -> str:
    import socket  # not at import time: socket costs more than the rest of this module

    return socket.gethostname().replace("-", "_")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


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
        import shutil
        import tempfile

        dest = Path(dst_path) if dst_path else Path(tempfile.mkdtemp(prefix="nbtrack-"))
        shutil.copytree(source, dest, dirs_exist_ok=True)
        return str(dest.absolute())
    return LocalArtifacts(str(source.parent)).download_artifacts(source.name, dst_path)
