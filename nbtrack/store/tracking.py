"""Experiments, runs, params, metrics, tags and dataset inputs: every tracking SQL statement."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

from nbtrack import tag_keys
from nbtrack.entities import (
    Dataset,
    DatasetInput,
    InputTag,
    LifecycleStage,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunStatus,
    RunTag,
    ViewType,
)
from nbtrack.errors import (
    InvalidParameter,
    InvalidState,
    RunNotFound,
)
from nbtrack.store.database import Database
from nbtrack.store.experiments import (
    ExperimentStore,
)
from nbtrack.store.logged_models import LoggedModelStore, model_outputs
from nbtrack.store.metrics import ROW_WIDTH, MetricBatch, decode_value, encode_value
from nbtrack.store.purge import PurgeStore
from nbtrack.store.sql import (
    experiment_int,
    fetch_in,
    marks,
    now_ms,
    page_of_ids,
)

_UPSERT_LATEST = """
INSERT INTO latest_metrics (run_uuid, key, value, timestamp, step, is_nan)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (run_uuid, key) DO UPDATE SET
    value = excluded.value, timestamp = excluded.timestamp,
    step = excluded.step, is_nan = excluded.is_nan
WHERE excluded.step > latest_metrics.step
   OR (excluded.step = latest_metrics.step AND excluded.timestamp > latest_metrics.timestamp)
   OR (excluded.step = latest_metrics.step AND excluded.timestamp = latest_metrics.timestamp
       AND excluded.value > latest_metrics.value)
"""
_REFRESH_LATEST = """
INSERT OR REPLACE INTO latest_metrics (run_uuid, key, value, timestamp, step, is_nan)
SELECT run_uuid, key, value, timestamp, step, is_nan FROM metrics
WHERE run_uuid = ? AND key = ? ORDER BY step DESC, timestamp DESC, value DESC LIMIT 1
"""
_INSERT_METRIC_ROWS = (
    "INSERT OR IGNORE INTO metrics (run_uuid, key, value, timestamp, step, is_nan) VALUES "
)
# log_metric's point, inserted only into an active run: the check and the insert in one
# statement (numbered parameters reuse the run id)
_INSERT_METRIC_IF_ACTIVE = (
    "INSERT OR IGNORE INTO metrics (run_uuid, key, value, timestamp, step, is_nan) "
    "SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS "
    "(SELECT 1 FROM runs WHERE run_uuid = ?1 AND lifecycle_stage = 'active')"
)
_RUN_COLUMNS = (
    "run_uuid, experiment_id, name, user_id, status, start_time, end_time, "
    "lifecycle_stage, artifact_uri"
)


class RunRow(NamedTuple):
    """One run's row of a run table."""

    run_id: str
    experiment_id: str
    name: str
    user_id: str
    status: str
    start_time: int
    end_time: int | None
    lifecycle_stage: str
    artifact_uri: str


class RunTable(NamedTuple):
    """Runs with their params, latest metrics and tags as ``(run_id, key, value)`` rows."""

    runs: list[RunRow]
    params: list[tuple[str, str, str]]
    metrics: list[tuple[str, str, float]]
    tags: list[tuple[str, str, str]]


class TrackingStore(ExperimentStore, PurgeStore, LoggedModelStore):
    """Tracking operations on one store file; artifacts live under ``artifact_root``."""

    def __init__(self, db: Database, artifact_root: Path):
        self.db = db
        self.artifact_root = artifact_root
        self._ensure_default_experiment()

    def reopen_if_replaced(self) -> bool:
        """Start a fresh store if the file was deleted or replaced since it was opened.

        See :meth:`Database.reopen_if_replaced`; a new file gets the Default experiment.
        """
        if not self.db.reopen_if_replaced():
            return False
        self._ensure_default_experiment()
        return True

    # -- runs -------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        user_id: str,
        start_time: int,
        tags: dict[str, str],
        run_name: str,
        parent_run_id: str | None = None,
    ) -> Run:
        """Insert a RUNNING run with its tags, in one transaction."""
        self.reopen_if_replaced()  # a run starts: never into a file deleted under us
        exp = self.get_experiment(experiment_id)
        if exp.lifecycle_stage != LifecycleStage.ACTIVE:
            raise InvalidState(
                f"experiment {exp.name!r} (id {experiment_id}) is deleted; restore it or "
                "log to another experiment",
                experiment_id=experiment_id,
            )
        if parent_run_id is not None:
            self._check_run_exists(parent_run_id)
        run_id = _new_id()
        artifact_uri = f"{exp.artifact_location.rstrip('/')}/{run_id}/artifacts"
        tags = {**tags, tag_keys.RUN_NAME: run_name}
        if parent_run_id:
            tags[tag_keys.PARENT_RUN_ID] = parent_run_id
        with self.db.write() as c:
            c.execute(
                "INSERT INTO runs (run_uuid, name, experiment_id, user_id, status, start_time, "
                "artifact_uri, parent_run_id) VALUES (?, ?, ?, ?, 'RUNNING', ?, ?, ?)",
                (
                    run_id,
                    run_name,
                    exp.experiment_id,
                    user_id,
                    start_time,
                    artifact_uri,
                    parent_run_id,
                ),
            )
            c.executemany(
                "INSERT INTO tags (run_uuid, key, value) VALUES (?, ?, ?)",
                [(run_id, k, v) for k, v in tags.items()],
            )
        info = RunInfo(
            run_id,
            exp.experiment_id,
            run_name,
            user_id,
            RunStatus.RUNNING,
            start_time,
            None,
            LifecycleStage.ACTIVE,
            artifact_uri,
        )
        return Run(info, RunData(tags=tags))  # what was just written: no need to read it back

    def _check_run_exists(self, run_id: str) -> None:
        if not self.db.query("SELECT 1 FROM runs WHERE run_uuid = ?", (run_id,)):
            raise _run_not_found(run_id)

    def get_run(self, run_id: str) -> Run:
        """The run with everything it logged."""
        runs = self.get_runs([run_id])
        if not runs:
            raise _run_not_found(run_id)
        return runs[0]

    def get_runs(self, run_ids: Sequence[str]) -> list[Run]:
        """Several runs in the order given (unknown ids are skipped), in one read."""
        with self.db.read() as c:
            infos = fetch_in(c, f"SELECT {_RUN_COLUMNS} FROM runs", "run_uuid", run_ids)
            found = [row[0] for row in infos]
            params: dict[str, dict[str, str]] = {i: {} for i in found}
            tags: dict[str, dict[str, str]] = {i: {} for i in found}
            metrics: dict[str, dict[str, float]] = {i: {} for i in found}
            for rid, key, value in fetch_in(
                c, "SELECT run_uuid, key, value FROM params", "run_uuid", found
            ):
                params[rid][key] = value
            for rid, key, value in fetch_in(
                c, "SELECT run_uuid, key, value FROM tags", "run_uuid", found
            ):
                tags[rid][key] = value
            for rid, key, value, is_nan in fetch_in(
                c, "SELECT run_uuid, key, value, is_nan FROM latest_metrics", "run_uuid", found
            ):
                metrics[rid][key] = decode_value(value, is_nan)
            inputs = self._inputs(c, found)
            outputs = model_outputs(c, found)
        by_id = {
            row[0]: Run(
                RunInfo(
                    row[0], str(row[1]), row[2], row[3], row[4], row[5], row[6], row[7], row[8]
                ),
                RunData(metrics[row[0]], params[row[0]], tags[row[0]]),
                RunInputs(inputs.get(row[0], [])),
                RunOutputs(outputs.get(row[0], [])),
            )
            for row in infos
        }
        return [by_id[i] for i in run_ids if i in by_id]

    def _active_run_check(self, c: sqlite3.Connection, run_id: str) -> None:
        row = c.execute("SELECT lifecycle_stage FROM runs WHERE run_uuid = ?", (run_id,)).fetchone()
        if row is None:
            raise _run_not_found(run_id)
        if row[0] != LifecycleStage.ACTIVE:
            raise InvalidState(
                f"run {run_id} is deleted; restore it with restore_run before logging to it",
                run_id=run_id,
            )

    def update_run_info(
        self, run_id: str, status: str | None, end_time: int | None, run_name: str | None
    ) -> None:
        """Change a run's status, end time or name (the name tag follows)."""
        with self.db.write() as c:
            self._active_run_check(c, run_id)
            if status is not None:
                c.execute(
                    "UPDATE runs SET status = ?, end_time = ? WHERE run_uuid = ?",
                    (status, end_time, run_id),
                )
            if run_name is not None:
                c.execute("UPDATE runs SET name = ? WHERE run_uuid = ?", (run_name, run_id))
                c.execute(
                    "INSERT OR REPLACE INTO tags (run_uuid, key, value) VALUES (?, ?, ?)",
                    (run_id, tag_keys.RUN_NAME, run_name),
                )

    def _set_run_stage(self, run_id: str, stage: str) -> None:
        with self.db.write() as c:
            row = c.execute(
                "SELECT lifecycle_stage FROM runs WHERE run_uuid = ?", (run_id,)
            ).fetchone()
            if row is None:
                raise _run_not_found(run_id)
            c.execute(
                "UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE run_uuid = ?",
                (stage, now_ms() if stage == LifecycleStage.DELETED else None, run_id),
            )

    def delete_run(self, run_id: str) -> None:
        """Mark a run deleted; its data stays until ``gc``."""
        self._set_run_stage(run_id, LifecycleStage.DELETED)

    def restore_run(self, run_id: str) -> None:
        """Bring back a deleted run."""
        self._set_run_stage(run_id, LifecycleStage.ACTIVE)

    # -- logging ----------------------------------------------------------------------

    def log_metric(self, run_id: str, key: str, value: float, timestamp: int, step: int) -> None:
        """Append one metric point and update the latest value (the hot path)."""
        stored, is_nan = encode_value(value)
        row = (run_id, key, stored, timestamp, step, is_nan)
        with self.db.write() as c:
            if not c.execute(_INSERT_METRIC_IF_ACTIVE, row).rowcount:
                # no row: the run is missing or deleted (this raises the right error), or
                # the same point was logged before (nothing to add; the latest may change)
                self._active_run_check(c, run_id)
            c.execute(_UPSERT_LATEST, row)

    def log_batch(
        self,
        run_id: str,
        metrics: MetricBatch | None = None,
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """Log metrics (checked by the client), params and tags atomically: all or none."""
        values = metrics.encoded() if metrics is not None else []
        keys = sorted({str(key) for key in metrics.keys}) if metrics is not None else []
        with self.db.write() as c:
            self._active_run_check(c, run_id)
            self._insert_params(c, run_id, params)
            c.executemany(
                "INSERT OR REPLACE INTO tags (run_uuid, key, value) VALUES (?, ?, ?)",
                [(run_id, t.key, t.value) for t in tags],
            )
            _insert_rows(c, _INSERT_METRIC_ROWS, values, width=ROW_WIDTH)
            # the latest point of each key is an index seek on the metrics primary key
            c.executemany(_REFRESH_LATEST, [(run_id, key) for key in keys])

    def _insert_params(self, c: sqlite3.Connection, run_id: str, params: Sequence[Param]) -> None:
        new: dict[str, str] = {}
        for p in params:
            if new.setdefault(p.key, p.value) != p.value:
                raise InvalidParameter(
                    f"param {p.key!r} is given twice with different values "
                    f"({new[p.key]!r} and {p.value!r}); log it once",
                    key=p.key,
                    run_id=run_id,
                )
        old = dict(
            fetch_in(
                c,
                "SELECT key, value FROM params WHERE run_uuid = ? AND",
                "key",
                list(new),
                prefix_args=(run_id,),
            )
        )
        for key, value in new.items():
            if key in old and old[key] != value:
                raise InvalidParameter(
                    f"param {key!r} was already logged with value {old[key]!r} in run "
                    f"{run_id}; params are immutable, so {value!r} was not logged. Log it "
                    "under another key, or start a new run for the new value",
                    key=key,
                    run_id=run_id,
                )
        c.executemany(
            "INSERT INTO params (run_uuid, key, value) VALUES (?, ?, ?)",
            [(run_id, k, v) for k, v in new.items() if k not in old],
        )

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag; an error if the run has no such tag."""
        with self.db.write() as c:
            self._active_run_check(c, run_id)
            cur = c.execute("DELETE FROM tags WHERE run_uuid = ? AND key = ?", (run_id, key))
            if cur.rowcount == 0:
                raise InvalidParameter(
                    f"run {run_id} has no tag {key!r} to delete", run_id=run_id, key=key
                )

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every point logged for a metric, by step then timestamp."""
        self._check_run_exists(run_id)
        rows = self.db.query(
            "SELECT value, is_nan, timestamp, step FROM metrics WHERE run_uuid = ? AND key = ? "
            "ORDER BY step, timestamp, value",
            (run_id, key),
        )
        return [Metric(key, decode_value(v, n), ts, step) for v, n, ts, step in rows]

    # -- dataset inputs ---------------------------------------------------------------

    def log_inputs(self, run_id: str, datasets: Iterable[DatasetInput]) -> None:
        """Record datasets used by a run (a dataset is stored once per experiment)."""
        with self.db.write() as c:
            self._active_run_check(c, run_id)
            (experiment_id,) = c.execute(
                "SELECT experiment_id FROM runs WHERE run_uuid = ?", (run_id,)
            ).fetchone()
            for item in datasets:
                d = item.dataset
                c.execute(
                    "INSERT OR IGNORE INTO datasets (dataset_uuid, experiment_id, name, digest, "
                    "dataset_source_type, dataset_source, dataset_schema, dataset_profile) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        _new_id(),
                        experiment_id,
                        d.name,
                        d.digest,
                        d.source_type,
                        d.source,
                        d.schema,
                        d.profile,
                    ),
                )
                (dataset_id,) = c.execute(
                    "SELECT dataset_uuid FROM datasets WHERE experiment_id = ? AND name = ? "
                    "AND digest = ?",
                    (experiment_id, d.name, d.digest),
                ).fetchone()
                c.execute(
                    "INSERT OR IGNORE INTO inputs (input_uuid, source_type, source_id, "
                    "destination_type, destination_id) VALUES (?, 'DATASET', ?, 'RUN', ?)",
                    (_new_id(), dataset_id, run_id),
                )
                (input_id,) = c.execute(
                    "SELECT input_uuid FROM inputs WHERE source_type = 'DATASET' AND "
                    "source_id = ? AND destination_type = 'RUN' AND destination_id = ?",
                    (dataset_id, run_id),
                ).fetchone()
                c.executemany(
                    "INSERT OR REPLACE INTO input_tags (input_uuid, name, value) VALUES (?, ?, ?)",
                    [(input_id, t.key, t.value) for t in item.tags],
                )

    def _inputs(self, c: sqlite3.Connection, run_ids: list[str]) -> dict[str, list[DatasetInput]]:
        rows = fetch_in(
            c,
            "SELECT i.destination_id, i.input_uuid, d.name, d.digest, d.dataset_source_type, "
            "d.dataset_source, d.dataset_schema, d.dataset_profile FROM inputs i "
            "JOIN datasets d ON d.dataset_uuid = i.source_id WHERE i.destination_type = 'RUN' AND",
            "i.destination_id",
            run_ids,
        )
        if not rows:
            return {}
        tags: dict[str, list[InputTag]] = {}
        for input_id, name, value in fetch_in(
            c, "SELECT input_uuid, name, value FROM input_tags", "input_uuid", [r[1] for r in rows]
        ):
            tags.setdefault(input_id, []).append(InputTag(name, value))
        result: dict[str, list[DatasetInput]] = {}
        for run_id, input_id, *dataset in rows:
            result.setdefault(run_id, []).append(
                DatasetInput(Dataset(*dataset), tags.get(input_id, []))
            )
        return result

    # -- search -----------------------------------------------------------------------

    def search_run_ids(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[str], str | None]:
        """Ids of the runs matching a filter, in order, one page at a time (all SQL)."""
        # the filter compiler loads on first use, so that import nbtrack stays light
        from nbtrack.store import search

        query = search.runs_query(filter_string, order_by)
        stages = ViewType.stages(run_view_type)
        exp_ids = [experiment_int(e) for e in experiment_ids]
        sql = (
            f"SELECT r.run_uuid FROM runs r {query.joins} "
            f"WHERE r.experiment_id IN ({marks(exp_ids)}) "
            f"AND r.lifecycle_stage IN ({marks(stages)}) AND ({query.where}) "
            f"ORDER BY {query.order} LIMIT ? OFFSET ?"
        )
        args = [*query.join_args, *exp_ids, *stages, *query.where_args]
        return page_of_ids(self.db, sql, args, max_results, page_token)

    def search_runs(
        self, experiment_ids: Sequence[str], **kwargs: object
    ) -> tuple[list[Run], str | None]:
        """Runs matching a filter, in order, one page at a time."""
        ids, token = self.search_run_ids(experiment_ids, **kwargs)  # type: ignore[arg-type]
        return self.get_runs(ids), token

    def run_table(self, run_ids: Sequence[str]) -> RunTable:
        """Runs, params, latest metrics (decoded) and tags: what a DataFrame is built from."""
        with self.db.read() as c:
            runs = fetch_in(c, f"SELECT {_RUN_COLUMNS} FROM runs", "run_uuid", run_ids)
            params = fetch_in(c, "SELECT run_uuid, key, value FROM params", "run_uuid", run_ids)
            metrics = fetch_in(
                c, "SELECT run_uuid, key, value, is_nan FROM latest_metrics", "run_uuid", run_ids
            )
            tags = fetch_in(c, "SELECT run_uuid, key, value FROM tags", "run_uuid", run_ids)
        return RunTable(
            runs=[RunRow(str(r[0]), str(r[1]), *r[2:]) for r in runs],
            params=params,
            metrics=[(rid, key, decode_value(v, nan)) for rid, key, v, nan in metrics],
            tags=tags,
        )


_ROWS_PER_STATEMENT = 500  # 3,000 bound values, far below SQLite's limit of 32,766


def _insert_rows(c: sqlite3.Connection, prefix: str, flat: list[object], width: int) -> None:
    """Insert rows with multi-row VALUES statements: several times faster than executemany."""
    marks = "(" + ", ".join("?" * width) + ")"
    step = width * _ROWS_PER_STATEMENT
    for i in range(0, len(flat), step):
        chunk = flat[i : i + step]
        c.execute(prefix + ", ".join([marks] * (len(chunk) // width)), chunk)


def _run_not_found(run_id: str) -> RunNotFound:
    return RunNotFound(
        f"no run with id {run_id!r} in this store; check the id (search_runs lists them) "
        "and the tracking URI",
        run_id=run_id,
    )


def _new_id() -> str:
    """A new run, dataset or input id: 32 hex digits, as MLflow's ``uuid4().hex``."""
    import uuid  # here: uuid imports platform, which import nbtrack does not need

    return uuid.uuid4().hex
