"""Registered models and versions read from their rows, with tags, aliases, latest versions.

The registry store's shared readers: existence checks that raise ``ModelNotFound`` naming
what does exist, and the builders of ``RegisteredModel`` and ``ModelVersion`` entities.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from nbtrack.entities import ModelVersion, RegisteredModel
from nbtrack.errors import ModelNotFound
from nbtrack.store.sql import fetch_in

STAGE_DELETED = "Deleted_Internal"  # MLflow's marker of a deleted version
STAGE_ARCHIVED = "Archived"

MV_COLUMNS = (
    "name, version, creation_time, last_updated_time, description, user_id, current_stage, "
    "source, run_id, status, status_message, run_link"
)
LIVE = f"current_stage != '{STAGE_DELETED}'"


def require_model(c: sqlite3.Connection, name: str) -> None:
    """Raise ModelNotFound unless the registered model exists."""
    if c.execute("SELECT 1 FROM registered_models WHERE name = ?", (name,)).fetchone():
        return
    raise ModelNotFound(
        f"no registered model named {name!r}; search_registered_models() lists them, "
        f"create_registered_model({name!r}) creates it",
        name=name,
    )


def require_version(c: sqlite3.Connection, name: str, version: int) -> None:
    """Raise ModelNotFound unless the model has this live (not deleted) version."""
    require_model(c, name)
    if c.execute(
        f"SELECT 1 FROM model_versions WHERE name = ? AND version = ? AND {LIVE}",
        (name, version),
    ).fetchone():
        return
    live = [
        str(row[0])
        for row in c.execute(
            f"SELECT version FROM model_versions WHERE name = ? AND {LIVE} ORDER BY version",
            (name,),
        )
    ]
    raise ModelNotFound(
        f"registered model {name!r} has no version {version} (its versions: "
        f"{', '.join(live) or 'none'}); search_model_versions(\"name = '{name}'\") lists them",
        name=name,
        version=str(version),
    )


def versions_where(c: sqlite3.Connection, where: str, args: Sequence[object]) -> list[ModelVersion]:
    """The versions whose rows match a WHERE clause, by name and number."""
    rows = c.execute(
        f"SELECT {MV_COLUMNS} FROM model_versions WHERE {where} ORDER BY name, version", args
    ).fetchall()
    return build_versions(c, rows)


def versions_by_key(c: sqlite3.Connection, keys: Sequence[tuple[str, int]]) -> list[ModelVersion]:
    """Versions for (name, version) pairs, in the order given."""
    rows: list[tuple] = []
    for name in {k[0] for k in keys}:
        rows += fetch_in(
            c,
            f"SELECT {MV_COLUMNS} FROM model_versions WHERE name = ? AND",
            "version",
            [k[1] for k in keys if k[0] == name],
            prefix_args=(name,),
        )
    built = {(mv.name, mv.version): mv for mv in build_versions(c, rows)}
    return [built[(name, str(version))] for name, version in keys]


def build_versions(c: sqlite3.Connection, rows: list[tuple]) -> list[ModelVersion]:
    """ModelVersion entities from ``MV_COLUMNS`` rows, with their tags and aliases."""
    names = sorted({row[0] for row in rows})
    tags: dict[tuple[str, int], dict[str, str]] = {}
    for name, version, key, value in fetch_in(
        c, "SELECT name, version, key, value FROM model_version_tags", "name", names
    ):
        tags.setdefault((name, version), {})[key] = value
    aliases: dict[tuple[str, int], list[str]] = {}
    for name, alias, version in fetch_in(
        c,
        "SELECT name, alias, version FROM registered_model_aliases",
        "name",
        names,
    ):
        aliases.setdefault((name, version), []).append(alias)
    model_ids = {
        (name, version): model_id
        for name, version, model_id in fetch_in(
            c, "SELECT name, version, model_id FROM logged_model_versions", "name", names
        )
    }
    return [
        ModelVersion(
            name=row[0],
            version=str(row[1]),
            creation_timestamp=row[2],
            last_updated_timestamp=row[3],
            description=row[4],
            user_id=row[5],
            current_stage=row[6],
            source=row[7],
            run_id=row[8],
            status=row[9],
            status_message=row[10],
            tags=tags.get((row[0], row[1]), {}),
            run_link=row[11],
            aliases=sorted(aliases.get((row[0], row[1]), [])),
            model_id=model_ids.get((row[0], row[1])),
        )
        for row in rows
    ]


def latest_versions(c: sqlite3.Connection, names: Sequence[str]) -> dict[str, list[ModelVersion]]:
    """For each model, its highest live version in each stage, by version number."""
    found: dict[str, list[ModelVersion]] = {}
    if not names:
        return found
    rows = fetch_in(
        c,
        f"SELECT {MV_COLUMNS} FROM model_versions mv WHERE {LIVE} AND version = "
        "(SELECT MAX(version) FROM model_versions m2 WHERE m2.name = mv.name "
        "AND m2.current_stage = mv.current_stage) AND",
        "name",
        names,
    )
    rows.sort(key=lambda row: (row[0], row[1]))
    for mv in build_versions(c, rows):
        found.setdefault(mv.name, []).append(mv)
    return found


def models_by_name(c: sqlite3.Connection, names: Sequence[str]) -> list[RegisteredModel]:
    """Registered models in the order of ``names`` (all of which exist)."""
    rows = {
        row[0]: row
        for row in fetch_in(
            c,
            "SELECT name, creation_time, last_updated_time, description FROM registered_models",
            "name",
            names,
        )
    }
    tags: dict[str, dict[str, str]] = {}
    for name, key, value in fetch_in(
        c, "SELECT name, key, value FROM registered_model_tags", "name", names
    ):
        tags.setdefault(name, {})[key] = value
    aliases: dict[str, dict[str, str]] = {}
    for name, alias, version in fetch_in(
        c, "SELECT name, alias, version FROM registered_model_aliases", "name", names
    ):
        aliases.setdefault(name, {})[alias] = str(version)
    latest = latest_versions(c, names)
    return [
        RegisteredModel(
            name=name,
            creation_timestamp=rows[name][1],
            last_updated_timestamp=rows[name][2],
            description=rows[name][3],
            latest_versions=latest.get(name, []),
            tags=tags.get(name, {}),
            aliases=dict(sorted(aliases.get(name, {}).items())),
        )
        for name in names
    ]
