"""Schema migrations (nbtrack/store/schema.py): old stores gain what new ones have, at open."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import nbtrack
from nbtrack.store import schema

FILTER_INDEXES = {
    "params_key_value",
    "tags_key_value",
    "latest_metrics_key_nan_value",
    "runs_experiment_stage",
}


def _old_store(path: Path, version: int, ad_hoc_indexes: bool = False) -> None:
    """A store as nbtrack wrote it at schema ``version``, holding one run with a param and tag."""
    conn = sqlite3.connect(path)
    for script in schema.MIGRATIONS[:version]:
        conn.executescript(script)
    conn.execute(
        "INSERT INTO experiments (name, artifact_location, creation_time, last_update_time) "
        "VALUES ('old', 'a', 0, 0)"
    )
    conn.execute(
        "INSERT INTO runs (run_uuid, name, experiment_id, user_id, status, start_time, "
        "artifact_uri) VALUES ('r1', 'n', 1, 'u', 'FINISHED', 0, 'a')"
    )
    conn.execute("INSERT INTO params VALUES ('r1', 'model', 'ridge')")
    conn.execute("INSERT INTO tags VALUES ('r1', 'team', 'a')")
    if ad_hoc_indexes:  # what panels created on first open before migration 4
        for table in ("params", "tags"):
            conn.execute(f"CREATE INDEX panels_{table}_key_value ON {table} (key, value)")
    conn.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()


def _indexes(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
        return {name for (name,) in rows if not name.startswith("sqlite_autoindex")}
    finally:
        conn.close()


def _version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def test_a_new_store_has_the_filter_indexes(fresh_store):
    nbtrack.MlflowClient().create_experiment("new")
    assert _indexes(fresh_store) >= FILTER_INDEXES
    assert _version(fresh_store) == schema.SCHEMA_VERSION


@pytest.mark.parametrize(("version", "ad_hoc"), [(1, False), (3, False), (3, True)])
def test_an_old_store_gains_the_filter_indexes_once_at_open(tmp_path, version, ad_hoc):
    path = tmp_path / "old.db"
    _old_store(path, version, ad_hoc)
    client = nbtrack.MlflowClient(f"sqlite:///{path}")
    run = client.get_run("r1")  # opening the store migrates it
    assert run.data.params == {"model": "ridge"}  # nothing logged changed
    assert run.data.tags == {"team": "a"}
    indexes = _indexes(path)
    assert indexes >= FILTER_INDEXES
    assert not {"panels_params_key_value", "panels_tags_key_value"} & indexes
    assert _version(path) == schema.SCHEMA_VERSION
    found = client.search_runs(["1"], "params.model = 'ridge' and tags.team = 'a'")
    assert [r.info.run_id for r in found] == ["r1"]


@pytest.mark.parametrize(
    ("table", "where", "index"),
    [
        ("params", "key = 'a' AND value = 'b'", "COVERING INDEX params_key_value"),
        ("tags", "key = 'a' AND value LIKE 'b%'", "COVERING INDEX tags_key_value"),
        ("latest_metrics", "key = 'a' AND value < 1 AND is_nan = 0", "COVERING INDEX latest_"),
        ("runs", "experiment_id = 1 AND lifecycle_stage = 'active'", "COVERING INDEX runs_exp"),
    ],
)
def test_a_filter_reads_only_an_index(fresh_store, table, where, index):
    nbtrack.MlflowClient().create_experiment("plan")
    conn = sqlite3.connect(fresh_store)
    column = "run_uuid, parent_run_id" if table == "runs" else "run_uuid"
    plan = conn.execute(f"EXPLAIN QUERY PLAN SELECT {column} FROM {table} WHERE {where}")
    assert index in str(plan.fetchall())
    conn.close()
