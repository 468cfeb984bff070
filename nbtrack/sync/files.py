"""Artifact files of a run: listing them locally, and what still needs to move."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from nbtrack.artifacts import uri_to_path

PARTIAL_SUFFIX = ".nbtrack-partial"


@dataclass(frozen=True)
class LocalFile:
    """One artifact file: its path inside the run's artifacts, location, size and mtime."""

    rel: str
    path: Path
    size: int
    mtime_ns: int

    @property
    def key(self) -> tuple[int, int]:
        """What the sync record keeps to tell whether the file changed."""
        return (self.size, self.mtime_ns)


def run_files(artifact_uri: str) -> list[LocalFile]:
    """Every file under a local run's artifact folder (none if it has no folder)."""
    root = uri_to_path(artifact_uri)
    if not root.is_dir():
        return []
    files = []
    for folder, _, names in os.walk(root):
        for name in sorted(names):
            if name.endswith(PARTIAL_SUFFIX):
                continue
            path = Path(folder) / name
            st = path.stat()
            rel = path.relative_to(root).as_posix()
            files.append(LocalFile(rel, path, st.st_size, st.st_mtime_ns))
    return files


def changed_files(files: list[LocalFile], synced: dict[str, tuple[int, int]]) -> list[LocalFile]:
    """The files not yet synced, or changed since (size or modification time)."""
    return [f for f in files if synced.get(f.rel) != f.key]


def folder_files(root: Path) -> list[tuple[str, int]]:
    """``(path, size)`` of every file under a folder (none if it does not exist)."""
    if not root.is_dir():
        return []
    return sorted(
        (p.relative_to(root).as_posix(), p.stat().st_size) for p in root.rglob("*") if p.is_file()
    )


def copy_file(source: Path, dest: Path) -> None:
    """Copy a file so that ``dest`` appears whole or not at all."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + PARTIAL_SUFFIX)
    shutil.copyfile(source, partial)
    partial.replace(dest)
