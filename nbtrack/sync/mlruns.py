"""MLflow's FileStore (an ``mlruns/`` folder) as a source of runs and models for import.

The layout, as MLflow 3 writes it::

    mlruns/<experiment_id>/meta.yaml                 name, lifecycle_stage …
    mlruns/<experiment_id>/tags/<key>
    mlruns/<experiment_id>/<run_id>/meta.yaml        status (a number), times, artifact_uri
    mlruns/<experiment_id>/<run_id>/params/<key>     one file a param (keys may hold '/')
    mlruns/<experiment_id>/<run_id>/tags/<key>
    mlruns/<experiment_id>/<run_id>/metrics/<key>    lines of "timestamp value step"
    mlruns/<experiment_id>/<run_id>/inputs/<id>/meta.yaml   and datasets/<id>/meta.yaml
    mlruns/<experiment_id>/models/<model_id>/        MLflow 3 logged models
    mlruns/models/<name>/meta.yaml, version-<n>/meta.yaml, aliases/<alias>, tags/<key>
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from nbtrack.artifacts import uri_to_path
from nbtrack.errors import InvalidParameter
from nbtrack.sync.files import copy_file, folder_files

# mlflow.entities.RunStatus numbers in meta.yaml
_STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}


class FileStoreSource:
    """Reads an ``mlruns/`` folder."""

    parallel = False  # plain file reads: not worth threads

    def __init__(self, root: Path):
        self.root = root
        self.server = f"file:{root}"
        if not any((d / "meta.yaml").is_file() for d in root.iterdir() if d.is_dir()):
            raise InvalidParameter(
                f"{root} is a folder but not an MLflow mlruns/ store (no experiment folder "
                "with a meta.yaml); give the path of the mlruns folder or of an mlflow.db",
                path=str(root),
            )

    def close(self) -> None:
        """Nothing to close."""

    def experiments(self, names: Sequence[str] | None) -> list[dict[str, Any]]:
        """The active experiments, with their tags."""
        result = []
        for folder in sorted(self.root.iterdir()):
            meta = _meta(folder / "meta.yaml")
            if folder.name == "models" or meta is None:
                continue
            if meta.get("lifecycle_stage", "active") != "active":
                continue
            if names and meta.get("name") not in set(names):
                continue
            result.append(
                {
                    "experiment_id": folder.name,
                    "name": meta["name"],
                    "tags": _kv_files(folder / "tags"),
                }
            )
        return result

    def runs(self, experiment_id: str) -> Iterator[dict[str, Any]]:
        """The active runs of an experiment, oldest first, in REST JSON shape."""
        folder = self.root / experiment_id
        runs = []
        for run_dir in folder.iterdir():
            meta = _meta(run_dir / "meta.yaml")
            if run_dir.name in ("models", "datasets", "tags") or meta is None:
                continue
            if meta.get("lifecycle_stage", "active") != "active":
                continue
            runs.append((run_dir, meta))
        runs.sort(key=lambda r: (r[1].get("start_time") or 0, r[0].name))
        for run_dir, meta in runs:
            status = meta.get("status", 3)
            yield {
                "info": {
                    "run_id": meta.get("run_id") or run_dir.name,
                    "run_name": meta.get("run_name") or "",
                    "user_id": meta.get("user_id") or "",
                    "status": _STATUS.get(status, status) if isinstance(status, int) else status,
                    "start_time": meta.get("start_time") or 0,
                    "end_time": meta.get("end_time"),
                    "artifact_uri": meta.get("artifact_uri") or str(run_dir / "artifacts"),
                    "_dir": str(run_dir),
                },
                "data": {
                    "params": _kv_files(run_dir / "params"),
                    "tags": _kv_files(run_dir / "tags"),
                    "metrics": _metric_files(run_dir / "metrics"),
                },
                "inputs": {"dataset_inputs": self._inputs(folder, run_dir)},
            }

    def _inputs(self, exp_dir: Path, run_dir: Path) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = []
        inputs = run_dir / "inputs"
        if not inputs.is_dir():
            return result
        for input_dir in sorted(inputs.iterdir()):
            meta = _meta(input_dir / "meta.yaml")
            if meta is None or meta.get("source_type") != "DATASET":
                continue
            dataset = _meta(exp_dir / "datasets" / str(meta.get("source_id")) / "meta.yaml")
            if dataset is None:
                continue
            tags = [{"key": k, "value": str(v)} for k, v in (meta.get("tags") or {}).items()]
            fields = ("name", "digest", "source_type", "source", "schema", "profile")
            result.append({"tags": tags, "dataset": {f: dataset.get(f) for f in fields}})
        return result

    def history(self, run: dict[str, Any], key: str) -> list[dict[str, Any]]:
        """Every point of one metric, from its ``timestamp value step`` lines."""
        file = Path(run["info"]["_dir"]) / "metrics" / key
        points = []
        for line in file.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2:
                step = int(parts[2]) if len(parts) > 2 else 0
                points.append(
                    {"key": key, "value": parts[1], "timestamp": int(parts[0]), "step": step}
                )
        return points

    def files(self, run: dict[str, Any]) -> list[tuple[str, int]]:
        """The files of the run's artifact folder."""
        return folder_files(uri_to_path(run["info"]["artifact_uri"]))

    def fetch(self, run: dict[str, Any], path: str, dest: Path) -> None:
        """Copy one artifact file."""
        copy_file(uri_to_path(run["info"]["artifact_uri"]) / path, dest)

    def registered_models(self) -> list[dict[str, Any]]:
        """Every registered model with its tags and aliases."""
        models_dir = self.root / "models"
        if not models_dir.is_dir():
            return []
        result = []
        for folder in sorted(models_dir.iterdir()):
            meta = _meta(folder / "meta.yaml")
            if meta is None:
                continue
            aliases = [
                {"alias": a["key"], "version": a["value"]} for a in _kv_files(folder / "aliases")
            ]
            result.append(
                {
                    "name": meta["name"],
                    "description": meta.get("description"),
                    "tags": _kv_files(folder / "tags"),
                    "aliases": aliases,
                    "_dir": str(folder),
                }
            )
        return result

    def versions(self, name: str) -> list[dict[str, Any]]:
        """Every live version of a registered model, with tags."""
        folder = self._model_dir(name)
        result = []
        for version_dir in folder.glob("version-*"):
            meta = _meta(version_dir / "meta.yaml")
            if meta is None or meta.get("current_stage") == "Deleted_Internal":
                continue
            meta["tags"] = _kv_files(version_dir / "tags")
            result.append(meta)
        return sorted(result, key=lambda v: int(v["version"]))

    def _model_dir(self, name: str) -> Path:
        for model in self.registered_models():
            if model["name"] == name:
                return Path(model["_dir"])
        return self.root / "models" / name

    def model_files(self, version: dict[str, Any]) -> tuple[str, list[tuple[str, int]]] | None:
        """The files of a version's logged model (MLflow 3 ``models:/m-…`` sources)."""
        model_id = version.get("model_id")
        if not model_id:
            return None
        for meta_file in self.root.glob(f"*/models/{model_id}/meta.yaml"):
            meta = _meta(meta_file) or {}
            folder = uri_to_path(meta.get("artifact_location") or "")
            if not folder.is_dir():
                folder = meta_file.parent / "artifacts"
            version["_model_folder"] = folder
            return meta.get("name") or model_id, folder_files(folder)
        return None

    def fetch_model_file(self, version: dict[str, Any], path: str, dest: Path) -> None:
        """Copy one file of a version's logged model."""
        copy_file(version["_model_folder"] / path, dest)


def _meta(file: Path) -> dict[str, Any] | None:
    if not file.is_file():
        return None
    data = yaml.safe_load(file.read_text())
    return data if isinstance(data, dict) else None


def _kv_files(folder: Path) -> list[dict[str, str]]:
    """One file per key (keys may contain '/', stored as sub-folders); values are contents."""
    if not folder.is_dir():
        return []
    return [
        {"key": p.relative_to(folder).as_posix(), "value": p.read_text()}
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    ]


def _metric_files(folder: Path) -> list[dict[str, Any]]:
    """The metric keys of a run; size and mtime stand in for the latest point (to see change)."""
    if not folder.is_dir():
        return []
    result = []
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            st = p.stat()
            key = p.relative_to(folder).as_posix()
            result.append({"key": key, "value": st.st_size, "timestamp": st.st_mtime_ns})
    return result
