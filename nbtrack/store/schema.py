"""The SQLite schema of an nbtrack store, and its migrations.

The file is a plain SQLite database meant to be read with SQL too (sqlite-utils,
Datasette, pandas.read_sql). Tables follow MLflow's SQL store:

- ``experiments`` / ``experiment_tags``
- ``runs`` (one row a run; ``parent_run_id`` for nested runs), ``params``, ``tags``
- ``metrics`` (every logged point: step, timestamp, value; ``is_nan`` because SQLite
  stores NaN as NULL; an identical point logged twice is kept once, as in MLflow)
- ``latest_metrics`` (per run and key, the point at the highest step, then the newest
  timestamp: what search and ``Run.data.metrics`` see)
- ``datasets``, ``inputs``, ``input_tags`` (dataset inputs of runs)
- ``registered_models``, ``registered_model_tags``,
  ``registered_model_aliases``,
  ``model_versions``, ``model_version_tags``, ``model_card_sections`` (the registry)
- ``sync_runs``, ``sync_metrics``, ``sync_artifacts``, ``sync_model_versions`` (what
  ``nbtrack sync`` and ``nbtrack import`` moved, per server: the no-duplicates record)
- ``logged_models`` with ``logged_model_tags``, ``logged_model_params`` and
  ``logged_model_metrics``; ``run_model_outputs`` (which run produced which model) and
  ``logged_model_versions`` (which registry version came from which model): MLflow 3's
  LoggedModels (migration 3)

Indexes (migration 4 for the last four): ``runs`` by (experiment, start time), by parent,
and by (experiment, lifecycle stage) holding the run and parent ids; ``params`` and
``tags`` by (key, value) and ``latest_metrics`` by (key, is_nan, value), so that a search
filter on a key reads one index range.

Times are milliseconds since the epoch. ±inf metric values are stored as
±1.7976931348623157e308, as MLflow stores them, and read back as ±inf.

The schema version is ``PRAGMA user_version``; ``PRAGMA application_id`` marks the file
as an nbtrack store so that a foreign SQLite file is never written to.
"""

from __future__ import annotations

import sqlite3

APPLICATION_ID = 0x6E627472  # "nbtr"

MIGRATIONS: tuple[str, ...] = (
    # 1: the initial schema
    """
    CREATE TABLE experiments (
        experiment_id     INTEGER PRIMARY KEY AUTOINCREMENT,
        name              TEXT NOT NULL UNIQUE,
        artifact_location TEXT NOT NULL,
        lifecycle_stage   TEXT NOT NULL DEFAULT 'active'
                          CHECK (lifecycle_stage IN ('active', 'deleted')),
        creation_time     INTEGER NOT NULL,
        last_update_time  INTEGER NOT NULL
    );
    CREATE TABLE experiment_tags (
        experiment_id INTEGER NOT NULL REFERENCES experiments (experiment_id),
        key           TEXT NOT NULL,
        value         TEXT NOT NULL,
        PRIMARY KEY (experiment_id, key)
    );
    CREATE TABLE runs (
        run_uuid        TEXT PRIMARY KEY,
        name            TEXT NOT NULL,
        experiment_id   INTEGER NOT NULL REFERENCES experiments (experiment_id),
        user_id         TEXT NOT NULL,
        status          TEXT NOT NULL
                        CHECK (status IN ('RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED')),
        start_time      INTEGER NOT NULL,
        end_time        INTEGER,
        deleted_time    INTEGER,
        lifecycle_stage TEXT NOT NULL DEFAULT 'active'
                        CHECK (lifecycle_stage IN ('active', 'deleted')),
        artifact_uri    TEXT NOT NULL,
        parent_run_id   TEXT
    );
    CREATE INDEX runs_experiment_start ON runs (experiment_id, start_time DESC);
    CREATE INDEX runs_parent ON runs (parent_run_id);
    CREATE TABLE params (
        run_uuid TEXT NOT NULL REFERENCES runs (run_uuid),
        key      TEXT NOT NULL,
        value    TEXT NOT NULL,
        PRIMARY KEY (run_uuid, key)
    ) WITHOUT ROWID;
    CREATE TABLE tags (
        run_uuid TEXT NOT NULL REFERENCES runs (run_uuid),
        key      TEXT NOT NULL,
        value    TEXT NOT NULL,
        PRIMARY KEY (run_uuid, key)
    ) WITHOUT ROWID;
    CREATE TABLE metrics (
        run_uuid  TEXT NOT NULL,  -- no REFERENCES: checked once per batch, not per point
        key       TEXT NOT NULL,
        value     REAL NOT NULL,
        timestamp INTEGER NOT NULL,
        step      INTEGER NOT NULL,
        is_nan    INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (run_uuid, key, step, timestamp, value, is_nan)
    ) WITHOUT ROWID;
    CREATE TABLE latest_metrics (
        run_uuid  TEXT NOT NULL REFERENCES runs (run_uuid),
        key       TEXT NOT NULL,
        value     REAL NOT NULL,
        timestamp INTEGER NOT NULL,
        step      INTEGER NOT NULL,
        is_nan    INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (run_uuid, key)
    ) WITHOUT ROWID;
    CREATE INDEX latest_metrics_key_value ON latest_metrics (key, value);
    CREATE TABLE datasets (
        dataset_uuid        TEXT PRIMARY KEY,
        experiment_id       INTEGER NOT NULL REFERENCES experiments (experiment_id),
        name                TEXT NOT NULL,
        digest              TEXT NOT NULL,
        dataset_source_type TEXT NOT NULL,
        dataset_source      TEXT NOT NULL,
        dataset_schema      TEXT,
        dataset_profile     TEXT,
        UNIQUE (experiment_id, name, digest)
    );
    CREATE TABLE inputs (
        input_uuid       TEXT PRIMARY KEY,
        source_type      TEXT NOT NULL,
        source_id        TEXT NOT NULL,
        destination_type TEXT NOT NULL,
        destination_id   TEXT NOT NULL,
        UNIQUE (source_type, source_id, destination_type, destination_id)
    );
    CREATE INDEX inputs_destination ON inputs (destination_type, destination_id);
    CREATE TABLE input_tags (
        input_uuid TEXT NOT NULL REFERENCES inputs (input_uuid),
        name       TEXT NOT NULL,
        value      TEXT NOT NULL,
        PRIMARY KEY (input_uuid, name)
    );
    CREATE TABLE registered_models (
        name              TEXT PRIMARY KEY,
        creation_time     INTEGER NOT NULL,
        last_updated_time INTEGER NOT NULL,
        description       TEXT
    );
    CREATE TABLE registered_model_tags (
        name  TEXT NOT NULL REFERENCES registered_models (name) ON UPDATE CASCADE,
        key   TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (name, key)
    );
    CREATE TABLE model_versions (
        name              TEXT NOT NULL REFERENCES registered_models (name) ON UPDATE CASCADE,
        version           INTEGER NOT NULL,
        creation_time     INTEGER NOT NULL,
        last_updated_time INTEGER NOT NULL,
        description       TEXT,
        user_id           TEXT,
        current_stage     TEXT NOT NULL DEFAULT 'None',
        source            TEXT,
        storage_location  TEXT,
        run_id            TEXT,
        run_link          TEXT,
        status            TEXT NOT NULL DEFAULT 'READY',
        status_message    TEXT,
        PRIMARY KEY (name, version)
    );
    CREATE INDEX model_versions_run ON model_versions (run_id);
    CREATE TABLE model_version_tags (
        name    TEXT NOT NULL,
        version INTEGER NOT NULL,
        key     TEXT NOT NULL,
        value   TEXT NOT NULL,
        PRIMARY KEY (name, version, key),
        FOREIGN KEY (name, version) REFERENCES model_versions (name, version) ON UPDATE CASCADE
    );
    CREATE TABLE registered_model_aliases (
        name    TEXT NOT NULL REFERENCES registered_models (name) ON UPDATE CASCADE,
        alias   TEXT NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (name, alias)
    );
    CREATE TABLE model_card_sections (
        name    TEXT NOT NULL,
        version INTEGER NOT NULL,
        section TEXT NOT NULL,
        text    TEXT NOT NULL,
        PRIMARY KEY (name, version, section),
        FOREIGN KEY (name, version) REFERENCES model_versions (name, version) ON UPDATE CASCADE
    );
    """,
    # 2: what sync pushed to or pulled from each MLflow server or store (nbtrack/store/sync.py)
    """
    CREATE TABLE sync_runs (
        server       TEXT NOT NULL,  -- the server URL without credentials, or file:<store>
        local_run    TEXT NOT NULL,
        remote_run   TEXT NOT NULL,
        remote_exp   TEXT NOT NULL,
        pushed       TEXT,           -- digest of the params, tags, status, inputs last pushed
        pulled       TEXT,           -- digest of the remote run as last pulled
        PRIMARY KEY (server, local_run),
        UNIQUE (server, remote_run)
    );
    CREATE TABLE sync_metrics (
        server    TEXT NOT NULL,
        local_run TEXT NOT NULL,
        key       TEXT NOT NULL,
        count     INTEGER NOT NULL,  -- points synced: every point with step <= step and
        step      INTEGER NOT NULL,  -- timestamp <= timestamp, when the counts agree
        timestamp INTEGER NOT NULL,
        PRIMARY KEY (server, local_run, key)
    ) WITHOUT ROWID;
    CREATE TABLE sync_artifacts (
        server    TEXT NOT NULL,
        local_run TEXT NOT NULL,
        path      TEXT NOT NULL,
        size      INTEGER NOT NULL,
        mtime_ns  INTEGER NOT NULL,
        PRIMARY KEY (server, local_run, path)
    ) WITHOUT ROWID;
    CREATE TABLE sync_model_versions (
        server         TEXT NOT NULL,
        name           TEXT NOT NULL,
        version        INTEGER NOT NULL,
        remote_version TEXT NOT NULL,
        digest         TEXT,         -- of the tags, description and aliases last synced
        PRIMARY KEY (server, name, version),
        UNIQUE (server, name, remote_version)
    );
    """,
)


# -- migration: LoggedModels (issue 17) ------------------------------------------------------
# Kept apart so that the lead can renumber it against other branches' migrations at merge.

LOGGED_MODELS_MIGRATION = """
    CREATE TABLE logged_models (
        model_id               TEXT PRIMARY KEY,
        experiment_id          INTEGER NOT NULL,  -- no REFERENCES: gc purges experiments
        name                   TEXT NOT NULL,
        artifact_location      TEXT NOT NULL,
        creation_timestamp     INTEGER NOT NULL,
        last_updated_timestamp INTEGER NOT NULL,
        status                 TEXT NOT NULL CHECK (status IN ('PENDING', 'READY', 'FAILED')),
        status_message         TEXT,
        model_type             TEXT,
        source_run_id          TEXT,
        lifecycle_stage        TEXT NOT NULL DEFAULT 'active'
                               CHECK (lifecycle_stage IN ('active', 'deleted'))
    );
    CREATE INDEX logged_models_experiment ON logged_models (experiment_id, creation_timestamp);
    CREATE INDEX logged_models_run ON logged_models (source_run_id);
    CREATE TABLE logged_model_tags (
        model_id TEXT NOT NULL REFERENCES logged_models (model_id),
        key      TEXT NOT NULL,
        value    TEXT NOT NULL,
        PRIMARY KEY (model_id, key)
    ) WITHOUT ROWID;
    CREATE TABLE logged_model_params (
        model_id TEXT NOT NULL REFERENCES logged_models (model_id),
        key      TEXT NOT NULL,
        value    TEXT NOT NULL,
        PRIMARY KEY (model_id, key)
    ) WITHOUT ROWID;
    CREATE TABLE logged_model_metrics (
        model_id       TEXT NOT NULL REFERENCES logged_models (model_id),
        key            TEXT NOT NULL,
        value          REAL NOT NULL,
        timestamp      INTEGER NOT NULL,
        step           INTEGER NOT NULL,
        is_nan         INTEGER NOT NULL DEFAULT 0,
        run_id         TEXT NOT NULL DEFAULT '',
        dataset_name   TEXT,
        dataset_digest TEXT,
        PRIMARY KEY (model_id, key, step, timestamp, run_id, value, is_nan)
    ) WITHOUT ROWID;
    CREATE TABLE run_model_outputs (
        run_uuid TEXT NOT NULL,  -- no REFERENCES: gc purges runs, readers join
        model_id TEXT NOT NULL REFERENCES logged_models (model_id),
        step     INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (run_uuid, model_id)
    ) WITHOUT ROWID;
    CREATE INDEX run_model_outputs_model ON run_model_outputs (model_id);
    CREATE TABLE logged_model_versions (
        model_id TEXT NOT NULL REFERENCES logged_models (model_id),
        name     TEXT NOT NULL
                 REFERENCES registered_models (name) ON UPDATE CASCADE ON DELETE CASCADE,
        version  INTEGER NOT NULL,
        PRIMARY KEY (name, version)
    );
    CREATE INDEX logged_model_versions_model ON logged_model_versions (model_id);
"""

MIGRATIONS = (*MIGRATIONS, LOGGED_MODELS_MIGRATION)


# -- migration: indexes for search filters over many runs (issue 10) -----------------------
# A filter such as ``params.model = 'ridge' and metrics.rmse < 0.5`` over 100,000 runs reads
# index ranges only: params and tags by (key, value); latest_metrics by (key, is_nan, value),
# which also holds ``is_nan`` (every metric clause tests it) where (key, value) sent each
# match back to the table; the runs of an experiment with what a panel keeps of them; and
# in search order with their ids and stage, so an all-rows search reads only that index. Earlier
# panels created the params and tags ones ad hoc, under other names, on first open: those
# are replaced. Kept apart so that the lead can renumber it against other branches' at merge.

FILTER_INDEXES_MIGRATION = """
    DROP INDEX IF EXISTS panels_params_key_value;
    DROP INDEX IF EXISTS panels_tags_key_value;
    DROP INDEX IF EXISTS latest_metrics_key_value;
    CREATE INDEX params_key_value ON params (key, value);
    CREATE INDEX tags_key_value ON tags (key, value);
    CREATE INDEX latest_metrics_key_nan_value ON latest_metrics (key, is_nan, value);
    CREATE INDEX runs_experiment_stage ON runs
        (experiment_id, lifecycle_stage, run_uuid, parent_run_id);
    DROP INDEX runs_experiment_start;
    CREATE INDEX runs_experiment_start ON runs
        (experiment_id, start_time DESC, run_uuid, lifecycle_stage);
"""

MIGRATIONS = (*MIGRATIONS, FILTER_INDEXES_MIGRATION)

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection, from_version: int) -> None:
    """Apply the migrations after ``from_version``; the caller holds a write transaction."""
    for script in MIGRATIONS[from_version:]:
        for statement in script.split(";"):
            if statement.strip():
                conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
