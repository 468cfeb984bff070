"""``nbtrack import``: read a local MLflow store into the nbtrack store.

Two layouts are read, both as MLflow 3 writes them:

- an ``mlflow.db`` SQLite file (MLflow's SQL store; opened read-only with sqlite-utils),
- an ``mlruns/`` folder (MLflow's FileStore: ``meta.yaml`` files, one file per param,
  tag and metric history, ``models/`` for the registry).

Runs keep their ids and times; artifacts are copied from the locations the store records;
registered versions whose source is an MLflow 3 logged model (``models:/m-…``) get the
model's files copied into their run's artifacts. The import is re-runnable: the sync
record (keyed ``file:<path of the store>``) skips what was imported before.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from nbtrack.artifacts import uri_to_path
from nbtrack.errors import InvalidParameter
from nbtrack.sync.files import copy_file, folder_files
from nbtrack.sync.mlruns import FileStoreSource
from nbtrack.sync.puller import PullReport, apply

SQLITE_HEADER = b"SQLite format 3\x00"


def import_store(
    path: str | Path,
    experiments: Sequence[str] | None = None,
    models: bool = True,
    tracking_uri: str | None = None,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> PullReport:
    """Import an MLflow store (``mlflow.db`` file or ``mlruns/`` folder) into the local store.

    Parameters
    ----------
    path
        The ``mlflow.db`` file (or any MLflow SQLite store) or the ``mlruns`` folder.
    experiments
        Names of the experiments to import (all when None).
    models
        Also import the model registry (registered models, versions, aliases, tags).
    tracking_uri
        The local store; the current tracking URI by default.
    progress, on_total
        Called with the number of runs done, and once with the number of runs to do.

    Returns
    -------
    PullReport
        What was imported. Importing again brings only what changed.
    """
    source_path = Path(path).expanduser().resolve()
    source: Any
    if source_path.is_dir():
        source = FileStoreSource(source_path)
    elif source_path.is_file() and _is_sqlite(source_path):
        source = MlflowDbSource(source_path)
    else:
        raise InvalidParameter(
            f"{path} is neither an MLflow SQLite store (mlflow.db) nor an mlruns/ folder; "
            "give the path of one of them",
            path=str(path),
        )
    try:
        return apply(source, experiments, models, tracking_uri, progress, on_total)
    finally:
        source.close()


def _is_sqlite(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(len(SQLITE_HEADER)) == SQLITE_HEADER


class MlflowDbSource:
    """MLflow's SQL store in a SQLite file, read-only through sqlite-utils."""

    parallel = False  # one SQLite connection, used from one thread

    def __init__(self, path: Path):
        import sqlite_utils

        self.path = path
        self.server = f"file:{path}"
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        self.db = sqlite_utils.Database(conn)
        tables = set(self.db.table_names())
        if not {"experiments", "runs", "alembic_version"} <= tables:
            conn.close()
            raise InvalidParameter(
                f"{path} is a SQLite file but not an MLflow store (no experiments, runs and "
                "alembic_version tables); give the path of an mlflow.db",
                path=str(path),
            )
        self.has_logged_models = "logged_models" in tables

    def close(self) -> None:
        """Close the file."""
        self.db.conn.close()

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[dict[str, Any]]:
        return list(self.db.query(sql, params))

    def experiments(self, names: Sequence[str] | None) -> list[dict[str, Any]]:
        """The active experiments, with their tags."""
        rows = self._rows(
            "SELECT experiment_id, name FROM experiments WHERE lifecycle_stage = 'active' "
            "ORDER BY experiment_id"
        )
        if names:
            rows = [r for r in rows if r["name"] in set(names)]
        for row in rows:
            row["tags"] = self._rows(
                "SELECT key, value FROM experiment_tags WHERE experiment_id = ?",
                [row["experiment_id"]],
            )
        return rows

    def runs(self, experiment_id: str) -> Iterator[dict[str, Any]]:
        """The active runs of an experiment, oldest first, in REST JSON shape."""
        for row in self._rows(
            "SELECT run_uuid, name, user_id, status, start_time, end_time, artifact_uri "
            "FROM runs WHERE experiment_id = ? AND lifecycle_stage = 'active' "
            "ORDER BY start_time, run_uuid",
            [experiment_id],
        ):
            run_id = row["run_uuid"]
            yield {
                "info": {
                    "run_id": run_id,
                    "run_name": row["name"],
                    "user_id": row["user_id"],
                    "status": row["status"],
                    "start_time": row["start_time"],
                    "end_time": row["end_time"],
                    "artifact_uri": row["artifact_uri"],
                },
                "data": {
                    "params": self._rows(
                        "SELECT key, value FROM params WHERE run_uuid = ?", [run_id]
                    ),
                    "tags": self._rows("SELECT key, value FROM tags WHERE run_uuid = ?", [run_id]),
                    "metrics": self._rows(
                        "SELECT key, value, timestamp, step FROM latest_metrics WHERE run_uuid = ?",
                        [run_id],
                    ),
                },
                "inputs": {"dataset_inputs": self._inputs(run_id)},
            }

    def _inputs(self, run_id: str) -> list[dict[str, Any]]:
        result = []
        for row in self._rows(
            "SELECT i.input_uuid, d.name, d.digest, d.dataset_source_type, d.dataset_source, "
            "d.dataset_schema, d.dataset_profile FROM inputs i JOIN datasets d "
            "ON d.dataset_uuid = i.source_id WHERE i.source_type = 'DATASET' "
            "AND i.destination_type = 'RUN' AND i.destination_id = ?",
            [run_id],
        ):
            tags = self._rows(
                "SELECT name AS key, value FROM input_tags WHERE input_uuid = ?",
                [row["input_uuid"]],
            )
            dataset = {
                "name": row["name"],
                "digest": row["digest"],
                "source_type": row["dataset_source_type"],
                "source": row["dataset_source"],
                "schema": row["dataset_schema"],
                "profile": row["dataset_profile"],
            }
            result.append({"tags": tags, "dataset": dataset})
        return result

    def history(self, run: dict[str, Any], key: str) -> list[dict[str, Any]]:
        """Every point of one metric (NaN kept: MLflow stores it with ``is_nan``)."""
        rows = self._rows(
            "SELECT key, value, is_nan, timestamp, step FROM metrics WHERE run_uuid = ? "
            "AND key = ? ORDER BY step, timestamp",
            [run["info"]["run_id"], key],
        )
        for row in rows:
            if row.pop("is_nan"):
                row["value"] = "NaN"
        return rows

    def files(self, run: dict[str, Any]) -> list[tuple[str, int]]:
        """The files of the run's artifact folder."""
        return folder_files(self._local(run["info"]["artifact_uri"]))

    def fetch(self, run: dict[str, Any], path: str, dest: Path) -> None:
        """Copy one artifact file."""
        copy_file(self._local(run["info"]["artifact_uri"]) / path, dest)

    def _local(self, uri: str) -> Path:
        path = uri_to_path(uri)
        return path if path.is_absolute() else self.path.parent / path

    def registered_models(self) -> list[dict[str, Any]]:
        """Every registered model with its tags and aliases."""
        models = self._rows("SELECT name, description FROM registered_models ORDER BY name")
        for model in models:
            model["tags"] = self._rows(
                "SELECT key, value FROM registered_model_tags WHERE name = ?", [model["name"]]
            )
            model["aliases"] = self._rows(
                "SELECT alias, version FROM registered_model_aliases WHERE name = ?",
                [model["name"]],
            )
        return models

    def versions(self, name: str) -> list[dict[str, Any]]:
        """Every live version of a registered model, with tags."""
        rows = self._rows(
            "SELECT version, creation_time AS creation_timestamp, last_updated_time AS "
            "last_updated_timestamp, description, current_stage, source, run_id, "
            "storage_location FROM model_versions WHERE name = ? "
            "AND current_stage != 'Deleted_Internal' ORDER BY version",
            [name],
        )
        for row in rows:
            row["tags"] = self._rows(
                "SELECT key, value FROM model_version_tags WHERE name = ? AND version = ?",
                [name, row["version"]],
            )
        return rows

    def model_files(self, version: dict[str, Any]) -> tuple[str, list[tuple[str, int]]] | None:
        """The files of a version's logged model (MLflow 3 ``models:/m-…`` sources)."""
        source = version.get("source") or ""
        if not source.startswith("models:/m-") or not self.has_logged_models:
            return None
        model_id = source[len("models:/") :].strip("/")
        rows = self._rows(
            "SELECT name, artifact_location FROM logged_models WHERE model_id = ?", [model_id]
        )
        if not rows:
            return None
        version["_model_folder"] = self._local(rows[0]["artifact_location"])
        return rows[0]["name"] or model_id, folder_files(version["_model_folder"])

    def fetch_model_file(self, version: dict[str, Any], path: str, dest: Path) -> None:
        """Copy one file of a version's logged model."""
        copy_file(version["_model_folder"] / path, dest)
