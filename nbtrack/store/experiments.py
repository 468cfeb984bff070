"""Experiments and their tags: every experiment SQL statement."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from nbtrack.entities import Experiment, LifecycleStage, ViewType
from nbtrack.errors import (
    ExperimentNotFound,
    InvalidParameter,
    InvalidState,
    ResourceAlreadyExists,
    ResourceNotFound,
)
from nbtrack.store.database import Database
from nbtrack.store.sql import (
    experiment_int,
    fetch_in,
    marks,
    now_ms,
    page_of_ids,
)

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"


class ExperimentStore:
    """Experiment operations; the tracking store builds on them."""

    db: Database
    artifact_root: Path

    def _ensure_default_experiment(self) -> None:
        if self.db.query("SELECT 1 FROM experiments WHERE experiment_id = 0"):
            return
        with self.db.write() as c:
            if not c.execute("SELECT 1 FROM experiments WHERE experiment_id = 0").fetchone():
                ts = now_ms()
                c.execute(
                    "INSERT INTO experiments (experiment_id, name, artifact_location, "
                    "creation_time, last_update_time) VALUES (0, ?, ?, ?, ?)",
                    (DEFAULT_EXPERIMENT_NAME, self._experiment_location("0"), ts, ts),
                )

    def _experiment_location(self, experiment_id: str) -> str:
        return (self.artifact_root / experiment_id).as_uri()

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        """Create an experiment and return its id; the name must be free."""
        ts = now_ms()
        with self.db.write() as c:
            row = c.execute(
                "SELECT experiment_id, lifecycle_stage FROM experiments WHERE name = ?", (name,)
            ).fetchone()
            if row is not None:
                hint = (
                    " (it is deleted: restore it with restore_experiment or remove it for "
                    "good with `nbtrack gc`)"
                    if row[1] == LifecycleStage.DELETED
                    else ""
                )
                raise ResourceAlreadyExists(
                    f"experiment {name!r} already exists with id {row[0]}{hint}; "
                    "use set_experiment to reuse it or choose another name",
                    name=name,
                )
            cur = c.execute(
                "INSERT INTO experiments (name, artifact_location, creation_time, "
                "last_update_time) VALUES (?, '', ?, ?)",
                (name, ts, ts),
            )
            experiment_id = str(cur.lastrowid)
            location = artifact_location or self._experiment_location(experiment_id)
            c.execute(
                "UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?",
                (location, experiment_id),
            )
            c.executemany(
                "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?)",
                [(experiment_id, k, v) for k, v in (tags or {}).items()],
            )
        return experiment_id

    def _experiments(self, where: str, args: Sequence[object]) -> list[Experiment]:
        with self.db.read() as c:
            rows = c.execute(
                "SELECT experiment_id, name, artifact_location, lifecycle_stage, "
                f"creation_time, last_update_time FROM experiments e WHERE {where}",
                args,
            ).fetchall()
            tags: dict[str, dict[str, str]] = {}
            ids = [row[0] for row in rows]
            for exp_id, key, value in fetch_in(
                c, "SELECT experiment_id, key, value FROM experiment_tags", "experiment_id", ids
            ):
                tags.setdefault(str(exp_id), {})[key] = value
        return [
            Experiment(str(r[0]), r[1], r[2], r[3], tags.get(str(r[0]), {}), r[4], r[5])
            for r in rows
        ]

    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment with this id (deleted ones included)."""
        found = self._experiments("experiment_id = ?", (experiment_int(experiment_id),))
        if not found:
            raise ExperimentNotFound(
                f"no experiment with id {experiment_id!r}; list them with search_experiments()",
                experiment_id=experiment_id,
            )
        return found[0]

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment with this name, or None."""
        found = self._experiments("name = ?", (name,))
        return found[0] if found else None

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[Experiment], str | None]:
        """Experiments matching a filter, one page at a time."""
        # the filter compiler loads on first use, so that import nbtrack stays light
        from nbtrack.store import search

        query = search.experiments_query(filter_string, order_by)
        stages = ViewType.stages(view_type)
        sql = (
            f"SELECT e.experiment_id FROM experiments e {query.joins} "
            f"WHERE e.lifecycle_stage IN ({marks(stages)}) AND ({query.where}) "
            f"ORDER BY {query.order} LIMIT ? OFFSET ?"
        )
        args = [*query.join_args, *stages, *query.where_args]
        page, token = page_of_ids(self.db, sql, args, max_results, page_token)
        by_id = {
            e.experiment_id: e for e in self._experiments(f"experiment_id IN ({marks(page)})", page)
        }
        return [by_id[str(i)] for i in page], token

    def _set_experiment_stage(self, experiment_id: str, stage: str) -> None:
        exp = self.get_experiment(experiment_id)
        if experiment_id == DEFAULT_EXPERIMENT_ID and stage == LifecycleStage.DELETED:
            raise InvalidParameter(
                "the Default experiment (id 0) cannot be deleted", experiment_id=experiment_id
            )
        if exp.lifecycle_stage == stage:
            raise InvalidState(
                f"experiment {experiment_id} is already {stage}", experiment_id=experiment_id
            )
        ts = now_ms()
        with self.db.write() as c:
            c.execute(
                "UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? "
                "WHERE experiment_id = ?",
                (stage, ts, exp.experiment_id),
            )
            c.execute(
                "UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE experiment_id = ?",
                (stage, ts if stage == LifecycleStage.DELETED else None, exp.experiment_id),
            )

    def delete_experiment(self, experiment_id: str) -> None:
        """Mark an experiment and its runs deleted (``gc`` removes them for good)."""
        self._set_experiment_stage(experiment_id, LifecycleStage.DELETED)

    def restore_experiment(self, experiment_id: str) -> None:
        """Bring back a deleted experiment and its runs."""
        self._set_experiment_stage(experiment_id, LifecycleStage.ACTIVE)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Give an active experiment a new, free name."""
        exp = self.get_experiment(experiment_id)
        if exp.lifecycle_stage != LifecycleStage.ACTIVE:
            raise InvalidState(
                f"experiment {experiment_id} is deleted; restore it before renaming",
                experiment_id=experiment_id,
            )
        with self.db.write() as c:
            try:
                c.execute(
                    "UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?",
                    (new_name, now_ms(), exp.experiment_id),
                )
            except sqlite3.IntegrityError:
                raise ResourceAlreadyExists(
                    f"experiment {new_name!r} already exists; choose another name", name=new_name
                ) from None

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        """Set (or replace) a tag on an experiment."""
        exp = self.get_experiment(experiment_id)
        with self.db.write() as c:
            c.execute(
                "INSERT OR REPLACE INTO experiment_tags (experiment_id, key, value) "
                "VALUES (?, ?, ?)",
                (exp.experiment_id, key, value),
            )

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Remove a tag from an experiment; a missing tag is an error, as in MLflow."""
        exp = self.get_experiment(experiment_id)
        with self.db.write() as c:
            gone = c.execute(
                "DELETE FROM experiment_tags WHERE experiment_id = ? AND key = ?",
                (exp.experiment_id, key),
            ).rowcount
        if not gone:
            raise ResourceNotFound(
                f"experiment {exp.experiment_id} has no tag {key!r}; "
                "get_experiment(...).tags lists its tags",
                experiment_id=exp.experiment_id,
                key=key,
            )
