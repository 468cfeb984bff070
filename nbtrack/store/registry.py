"""Registered models, model versions, aliases and tags: every registry SQL statement.

As in MLflow's SQL store, deleting a version keeps its row, marked with the internal stage
``Deleted_Internal`` and its lineage redacted, so that version numbers are never reused
within a registered model; deleting a registered model removes it and everything it holds.
Every operation runs in one transaction; a failed call changes nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from nbtrack.entities import ModelVersion, RegisteredModel
from nbtrack.errors import ModelNotFound, ResourceAlreadyExists
from nbtrack.store.database import Database
from nbtrack.store.registry_rows import (
    LIVE,
    STAGE_ARCHIVED,
    STAGE_DELETED,
    latest_versions,
    models_by_name,
    require_model,
    require_version,
    versions_by_key,
    versions_where,
)
from nbtrack.store.sql import now_ms

if TYPE_CHECKING:
    from nbtrack.store.search_fields import SqlQuery


class RegistryStore:
    """Registry operations on one store file (sharing the tracking store's connection)."""

    def __init__(self, db: Database):
        self.db = db

    # -- registered models ----------------------------------------------------------------

    def create_registered_model(
        self, name: str, tags: dict[str, str], description: str | None
    ) -> RegisteredModel:
        """Insert a registered model with its tags; the name must be free."""
        ts = now_ms()
        with self.db.write() as c:
            try:
                c.execute(
                    "INSERT INTO registered_models (name, creation_time, last_updated_time, "
                    "description) VALUES (?, ?, ?, ?)",
                    (name, ts, ts, description),
                )
            except sqlite3.IntegrityError:
                raise ResourceAlreadyExists(
                    f"registered model {name!r} already exists; add a version to it with "
                    "create_model_version or register_model, or choose another name",
                    name=name,
                ) from None
            c.executemany(
                "INSERT INTO registered_model_tags (name, key, value) VALUES (?, ?, ?)",
                [(name, k, v) for k, v in tags.items()],
            )
            return models_by_name(c, [name])[0]

    def get_registered_model(self, name: str) -> RegisteredModel:
        """The registered model with its latest version per stage, tags and aliases."""
        with self.db.read() as c:
            require_model(c, name)
            return models_by_name(c, [name])[0]

    def search_registered_models(
        self, query: SqlQuery, limit: int, offset: int
    ) -> tuple[list[RegisteredModel], bool]:
        """One page of registered models matching a compiled query, and whether more follow."""
        sql = (
            f"SELECT rm.name FROM registered_models rm {query.joins} WHERE ({query.where}) "
            f"ORDER BY {query.order} LIMIT ? OFFSET ?"
        )
        with self.db.read() as c:
            names = [
                row[0]
                for row in c.execute(sql, [*query.join_args, *query.where_args, limit + 1, offset])
            ]
            return models_by_name(c, names[:limit]), len(names) > limit

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a model; its versions, tags, aliases and card sections follow."""
        ts = now_ms()
        with self.db.write() as c:
            require_model(c, name)
            try:
                # ON UPDATE CASCADE carries the new name to every table that references it
                c.execute(
                    "UPDATE registered_models SET name = ?, last_updated_time = ? WHERE name = ?",
                    (new_name, ts, name),
                )
            except sqlite3.IntegrityError:
                raise ResourceAlreadyExists(
                    f"cannot rename {name!r}: registered model {new_name!r} already exists; "
                    "choose another name",
                    name=new_name,
                ) from None
            c.execute(
                "UPDATE model_versions SET last_updated_time = ? WHERE name = ?", (ts, new_name)
            )
            return models_by_name(c, [new_name])[0]

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        """Replace a registered model's description."""
        with self.db.write() as c:
            require_model(c, name)
            c.execute(
                "UPDATE registered_models SET description = ?, last_updated_time = ? "
                "WHERE name = ?",
                (description, now_ms(), name),
            )
            return models_by_name(c, [name])[0]

    def delete_registered_model(self, name: str) -> list[str]:
        """Remove a model with all its versions; return the versions' storage locations."""
        with self.db.write() as c:
            require_model(c, name)
            locations = [
                row[0]
                for row in c.execute(
                    "SELECT storage_location FROM model_versions WHERE name = ? "
                    "AND storage_location IS NOT NULL",
                    (name,),
                )
            ]
            for table in (
                "model_card_sections",
                "model_version_tags",
                "registered_model_aliases",
                "model_versions",
                "registered_model_tags",
                "registered_models",
            ):
                c.execute(f"DELETE FROM {table} WHERE name = ?", (name,))
            return locations

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        """Set (or replace) a tag on a registered model."""
        with self.db.write() as c:
            require_model(c, name)
            c.execute(
                "INSERT OR REPLACE INTO registered_model_tags (name, key, value) VALUES (?, ?, ?)",
                (name, key, value),
            )

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag from a registered model (no error if it has no such tag, as MLflow)."""
        with self.db.write() as c:
            require_model(c, name)
            c.execute("DELETE FROM registered_model_tags WHERE name = ? AND key = ?", (name, key))

    # -- model versions -------------------------------------------------------------------

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None,
        tags: dict[str, str],
        run_link: str | None,
        description: str | None,
        user_id: str | None,
        place: Callable[[int], str],
        create_model: bool = False,
    ) -> ModelVersion:
        """Insert the next version of a model (and the model itself if ``create_model``).

        The number is computed inside the write transaction (BEGIN IMMEDIATE), so two
        processes registering at once get distinct numbers. ``place(version)`` puts the
        version's files in their final location and returns it (the storage location); it
        runs inside the transaction, and the caller removes what it placed if this raises.
        """
        ts = now_ms()
        with self.db.write() as c:
            if create_model:
                c.execute(
                    "INSERT OR IGNORE INTO registered_models (name, creation_time, "
                    "last_updated_time) VALUES (?, ?, ?)",
                    (name, ts, ts),
                )
            require_model(c, name)
            (latest,) = c.execute(
                "SELECT MAX(version) FROM model_versions WHERE name = ?", (name,)
            ).fetchone()
            version = (latest or 0) + 1
            storage_location = place(version)
            c.execute(
                "INSERT INTO model_versions (name, version, creation_time, last_updated_time, "
                "description, user_id, source, storage_location, run_id, run_link) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    version,
                    ts,
                    ts,
                    description,
                    user_id,
                    source,
                    storage_location,
                    run_id,
                    run_link,
                ),
            )
            c.executemany(
                "INSERT INTO model_version_tags (name, version, key, value) VALUES (?, ?, ?, ?)",
                [(name, version, k, v) for k, v in tags.items()],
            )
            c.execute(
                "UPDATE registered_models SET last_updated_time = ? WHERE name = ?", (ts, name)
            )
            return versions_where(c, "name = ? AND version = ?", (name, version))[0]

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """One live (not deleted) version of a registered model."""
        with self.db.read() as c:
            require_version(c, name, version)
            return versions_where(c, "name = ? AND version = ?", (name, version))[0]

    def storage_location(self, name: str, version: int) -> str:
        """Where a version's files live: its snapshot, else its source."""
        with self.db.read() as c:
            require_version(c, name, version)
            row = c.execute(
                "SELECT COALESCE(storage_location, source) FROM model_versions "
                "WHERE name = ? AND version = ?",
                (name, version),
            ).fetchone()
            return row[0]

    def search_model_versions(
        self, query: SqlQuery, limit: int, offset: int
    ) -> tuple[list[ModelVersion], bool]:
        """One page of live versions matching a compiled query, and whether more follow."""
        sql = (
            f"SELECT mv.name, mv.version FROM model_versions mv {query.joins} "
            f"WHERE mv.{LIVE} AND ({query.where}) ORDER BY {query.order} LIMIT ? OFFSET ?"
        )
        with self.db.read() as c:
            keys = c.execute(
                sql, [*query.join_args, *query.where_args, limit + 1, offset]
            ).fetchall()
            return versions_by_key(c, keys[:limit]), len(keys) > limit

    def update_model_version(
        self, name: str, version: int, description: str | None
    ) -> ModelVersion:
        """Replace a version's description."""
        with self.db.write() as c:
            require_version(c, name, version)
            c.execute(
                "UPDATE model_versions SET description = ?, last_updated_time = ? "
                "WHERE name = ? AND version = ?",
                (description, now_ms(), name, version),
            )
            return versions_where(c, "name = ? AND version = ?", (name, version))[0]

    def transition_model_version_stage(
        self, name: str, version: int, stage: str, archive_existing_versions: bool
    ) -> ModelVersion:
        """Move a version to a (canonical) stage, archiving the others in it if asked."""
        ts = now_ms()
        with self.db.write() as c:
            require_version(c, name, version)
            if archive_existing_versions:
                c.execute(
                    "UPDATE model_versions SET current_stage = ?, last_updated_time = ? "
                    "WHERE name = ? AND version != ? AND current_stage = ?",
                    (STAGE_ARCHIVED, ts, name, version, stage),
                )
            c.execute(
                "UPDATE model_versions SET current_stage = ?, last_updated_time = ? "
                "WHERE name = ? AND version = ?",
                (stage, ts, name, version),
            )
            c.execute(
                "UPDATE registered_models SET last_updated_time = ? WHERE name = ?", (ts, name)
            )
            return versions_where(c, "name = ? AND version = ?", (name, version))[0]

    def delete_model_version(self, name: str, version: int) -> str | None:
        """Mark a version deleted, as MLflow does; return its storage location to remove.

        The row stays (redacted) so that its number is never given to a new version; its
        aliases and card sections go. Its tags stay, as in MLflow.
        """
        ts = now_ms()
        with self.db.write() as c:
            require_version(c, name, version)
            (location,) = c.execute(
                "SELECT storage_location FROM model_versions WHERE name = ? AND version = ?",
                (name, version),
            ).fetchone()
            c.execute(
                "DELETE FROM registered_model_aliases WHERE name = ? AND version = ?",
                (name, version),
            )
            c.execute(
                "DELETE FROM model_card_sections WHERE name = ? AND version = ?", (name, version)
            )
            c.execute(
                "UPDATE model_versions SET current_stage = ?, last_updated_time = ?, "
                "description = NULL, user_id = NULL, source = 'REDACTED-SOURCE-PATH', "
                "storage_location = NULL, run_id = 'REDACTED-RUN-ID', "
                "run_link = 'REDACTED-RUN-LINK', status_message = NULL "
                "WHERE name = ? AND version = ?",
                (STAGE_DELETED, ts, name, version),
            )
            c.execute(
                "UPDATE registered_models SET last_updated_time = ? WHERE name = ?", (ts, name)
            )
            return location

    def get_latest_versions(self, name: str, stages: Sequence[str]) -> list[ModelVersion]:
        """The highest live version in each of ``stages``, by version number."""
        with self.db.read() as c:
            require_model(c, name)
            return [
                v for v in latest_versions(c, [name]).get(name, []) if v.current_stage in stages
            ]

    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        """Set (or replace) a tag on a version."""
        with self.db.write() as c:
            require_version(c, name, version)
            c.execute(
                "INSERT OR REPLACE INTO model_version_tags (name, version, key, value) "
                "VALUES (?, ?, ?, ?)",
                (name, version, key, value),
            )

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        """Remove a tag from a version (no error if it has no such tag, as MLflow)."""
        with self.db.write() as c:
            require_version(c, name, version)
            c.execute(
                "DELETE FROM model_version_tags WHERE name = ? AND version = ? AND key = ?",
                (name, version, key),
            )

    # -- aliases --------------------------------------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: int) -> None:
        """Point an alias at a live version (moving it if it pointed elsewhere)."""
        with self.db.write() as c:
            require_version(c, name, version)
            c.execute(
                "INSERT OR REPLACE INTO registered_model_aliases (name, alias, version) "
                "VALUES (?, ?, ?)",
                (name, alias, version),
            )

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias (no error if the model has no such alias, as MLflow)."""
        with self.db.write() as c:
            require_model(c, name)
            c.execute(
                "DELETE FROM registered_model_aliases WHERE name = ? AND alias = ?", (name, alias)
            )

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at."""
        with self.db.read() as c:
            require_model(c, name)
            row = c.execute(
                "SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?",
                (name, alias),
            ).fetchone()
            if row is None:
                known = [
                    r[0]
                    for r in c.execute(
                        "SELECT alias FROM registered_model_aliases WHERE name = ? ORDER BY alias",
                        (name,),
                    )
                ]
                raise ModelNotFound(
                    f"registered model {name!r} has no alias {alias!r} (its aliases: "
                    f"{', '.join(known) or 'none'}); set one with "
                    "set_registered_model_alias(name, alias, version)",
                    name=name,
                    alias=alias,
                )
            return versions_where(c, "name = ? AND version = ?", (name, row[0]))[0]
