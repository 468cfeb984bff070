"""The SQL of ``nbtrack sync`` and ``nbtrack import``: the mapping tables and bulk reads.

The ``sync_*`` tables (schema migration 2) record, per server (a URL without credentials,
or ``file:<path>`` for an imported MLflow store), which local run is which remote run,
how much of each metric history was synced, which artifact files were sent, and which
model versions correspond. A row is written only after the other side acknowledged what
it describes, so a killed or failed sync leaves the record true and the next one resumes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from nbtrack.store.database import Database
from nbtrack.store.metrics import ROW_WIDTH, MetricBatch, decode_value
from nbtrack.store.sql import chunks, fetch_in, marks
from nbtrack.store.tracking import _INSERT_METRIC_ROWS, _REFRESH_LATEST, _insert_rows

# The digest recorded (pushed or pulled) for a run whose deletion was synced: the next sync
# that finds the run active again restores it on the other side.
DELETED = "deleted"


@dataclass(frozen=True)
class MappedRun:
    """One local run and the remote run it was synced with."""

    local_run: str
    remote_run: str
    remote_exp: str
    pushed: str | None  # digest of what was pushed (None: created, not yet complete)
    pulled: str | None  # digest of the remote run when last pulled


@dataclass(frozen=True)
class MetricStat:
    """How many points a metric history has, and its highest step and timestamp."""

    count: int
    step: int
    timestamp: int


class SyncStore:
    """The sync record and the bulk reads and writes sync needs, on one store file."""

    def __init__(self, db: Database):
        self.db = db

    # -- runs -------------------------------------------------------------------------

    def mapped_runs(self, server: str) -> dict[str, MappedRun]:
        """Every local run synced with ``server``, by local id."""
        rows = self.db.query(
            "SELECT local_run, remote_run, remote_exp, pushed, pulled FROM sync_runs "
            "WHERE server = ?",
            (server,),
        )
        return {row[0]: MappedRun(*row) for row in rows}

    def record_run(
        self,
        server: str,
        local_run: str,
        remote_run: str,
        remote_exp: str,
        pushed: str | None = None,
        pulled: str | None = None,
    ) -> None:
        """Remember that ``local_run`` is ``remote_run`` on ``server``, and what was synced.

        A digest left None keeps the one recorded before.
        """
        with self.db.write() as c:
            c.execute(
                "INSERT INTO sync_runs (server, local_run, remote_run, remote_exp, pushed, "
                "pulled) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (server, local_run) DO UPDATE SET "
                "remote_run = excluded.remote_run, remote_exp = excluded.remote_exp, "
                "pushed = COALESCE(excluded.pushed, sync_runs.pushed), "
                "pulled = COALESCE(excluded.pulled, sync_runs.pulled)",
                (server, local_run, remote_run, remote_exp, pushed, pulled),
            )

    def run_ids(
        self,
        experiment_ids: Sequence[int] | None,
        run_ids: Sequence[str] | None,
        lifecycle_stage: str = "active",
    ) -> list[str]:
        """Runs in ``lifecycle_stage`` of some experiments (all when None) or among the ids.

        Oldest first.
        """
        sql = "SELECT run_uuid FROM runs WHERE lifecycle_stage = ?"
        args: list[object] = [lifecycle_stage]
        if experiment_ids is not None:
            sql += f" AND experiment_id IN ({', '.join('?' * len(experiment_ids)) or 'NULL'})"
            args += list(experiment_ids)
        rows = self.db.query(sql + " ORDER BY start_time, run_uuid", args)
        ids = [row[0] for row in rows]
        if run_ids is not None:
            wanted = set(run_ids)
            ids = [i for i in ids if i in wanted]
        return ids

    def lifecycle_stages(self, run_ids: Sequence[str]) -> dict[str, str]:
        """``active`` or ``deleted`` for each of ``run_ids`` that exists."""
        with self.db.read() as c:
            rows = fetch_in(
                c, "SELECT run_uuid, lifecycle_stage FROM runs", "run_uuid", list(run_ids)
            )
        return dict(rows)

    def parents(self, run_ids: Sequence[str]) -> dict[str, str]:
        """The parent of each nested run among ``run_ids``."""
        with self.db.read() as c:
            rows = fetch_in(
                c,
                "SELECT run_uuid, parent_run_id FROM runs WHERE parent_run_id IS NOT NULL AND",
                "run_uuid",
                list(run_ids),
            )
        return dict(rows)

    # -- metrics ----------------------------------------------------------------------

    def metric_stats(self, run_ids: Sequence[str]) -> dict[str, dict[str, MetricStat]]:
        """Per run and key: the number of points, the highest step and timestamp."""
        result: dict[str, dict[str, MetricStat]] = {i: {} for i in run_ids}
        rows: list[tuple] = []
        with self.db.read() as c:
            for chunk in chunks(list(run_ids)):
                rows += c.execute(
                    "SELECT run_uuid, key, COUNT(*), MAX(step), MAX(timestamp) FROM metrics "
                    f"WHERE run_uuid IN ({marks(chunk)}) GROUP BY run_uuid, key",
                    chunk,
                ).fetchall()
        for run_id, key, count, step, ts in rows:
            result[run_id][key] = MetricStat(count, step, ts)
        return result

    def synced_metrics(self, server: str) -> dict[str, dict[str, MetricStat]]:
        """Per local run and key: what was synced of each metric history with ``server``."""
        rows = self.db.query(
            "SELECT local_run, key, count, step, timestamp FROM sync_metrics WHERE server = ?",
            (server,),
        )
        result: dict[str, dict[str, MetricStat]] = {}
        for run_id, key, count, step, ts in rows:
            result.setdefault(run_id, {})[key] = MetricStat(count, step, ts)
        return result

    def record_metrics(self, server: str, run_id: str, stats: dict[str, MetricStat]) -> None:
        """Remember how much of each metric history of a run is synced."""
        with self.db.write() as c:
            c.executemany(
                "INSERT OR REPLACE INTO sync_metrics (server, local_run, key, count, step, "
                "timestamp) VALUES (?, ?, ?, ?, ?, ?)",
                [(server, run_id, k, s.count, s.step, s.timestamp) for k, s in stats.items()],
            )

    def metric_points(
        self, run_id: str, key: str, after: MetricStat | None
    ) -> list[tuple[float, int, int]]:
        """``(value, timestamp, step)`` of a history, only the points outside ``after``'s box.

        A point is new when its step or its timestamp exceeds what was synced; with no
        ``after`` every point is returned.
        """
        sql = "SELECT value, is_nan, timestamp, step FROM metrics WHERE run_uuid = ? AND key = ?"
        args: list[object] = [run_id, key]
        if after is not None:
            sql += " AND (step > ? OR timestamp > ?)"
            args += [after.step, after.timestamp]
        rows = self.db.query(sql + " ORDER BY step, timestamp", args)
        return [(decode_value(v, n), ts, step) for v, n, ts, step in rows]

    # -- artifacts --------------------------------------------------------------------

    def synced_artifacts(self, server: str) -> dict[str, dict[str, tuple[int, int]]]:
        """Per local run: ``path -> (size, mtime_ns)`` of the files synced with ``server``."""
        rows = self.db.query(
            "SELECT local_run, path, size, mtime_ns FROM sync_artifacts WHERE server = ?",
            (server,),
        )
        result: dict[str, dict[str, tuple[int, int]]] = {}
        for run_id, path, size, mtime in rows:
            result.setdefault(run_id, {})[path] = (size, mtime)
        return result

    def record_artifacts(
        self, server: str, run_id: str, files: Iterable[tuple[str, int, int]]
    ) -> None:
        """Remember artifact files ``(path, size, mtime_ns)`` of a run as synced."""
        with self.db.write() as c:
            c.executemany(
                "INSERT OR REPLACE INTO sync_artifacts (server, local_run, path, size, mtime_ns) "
                "VALUES (?, ?, ?, ?, ?)",
                [(server, run_id, *f) for f in files],
            )

    # -- model versions ---------------------------------------------------------------

    def mapped_versions(self, server: str) -> dict[tuple[str, int], tuple[str, str | None]]:
        """``(name, local version) -> (remote version, digest)`` for ``server``."""
        rows = self.db.query(
            "SELECT name, version, remote_version, digest FROM sync_model_versions "
            "WHERE server = ?",
            (server,),
        )
        return {(name, v): (remote, digest) for name, v, remote, digest in rows}

    def record_version(
        self, server: str, name: str, version: int, remote_version: str, digest: str | None
    ) -> None:
        """Remember that local ``name`` v``version`` is ``remote_version`` on ``server``."""
        with self.db.write() as c:
            c.execute(
                "INSERT OR REPLACE INTO sync_model_versions (server, name, version, "
                "remote_version, digest) VALUES (?, ?, ?, ?, ?)",
                (server, name, version, remote_version, digest),
            )

    def set_version_times(
        self, name: str, version: int, creation_time: int, last_updated_time: int
    ) -> None:
        """Give a pulled model version the times it has on the other side."""
        with self.db.write() as c:
            c.execute(
                "UPDATE model_versions SET creation_time = ?, last_updated_time = ? "
                "WHERE name = ? AND version = ?",
                (creation_time, last_updated_time, name, version),
            )

    # -- pulled runs ------------------------------------------------------------------

    def write_pulled_run(self, run: PulledRun) -> None:
        """Insert or update a run brought from elsewhere, keeping its id and times.

        Params already present keep their value (params are immutable); tags take the
        incoming value; metric points are added once (an identical point is kept once).
        """
        with self.db.write() as c:
            c.execute(
                "INSERT INTO runs (run_uuid, name, experiment_id, user_id, status, start_time, "
                "end_time, artifact_uri, parent_run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (run_uuid) DO UPDATE SET name = excluded.name, "
                "status = excluded.status, end_time = excluded.end_time, "
                "parent_run_id = COALESCE(excluded.parent_run_id, runs.parent_run_id)",
                (
                    run.run_id,
                    run.name,
                    run.experiment_id,
                    run.user_id,
                    run.status,
                    run.start_time,
                    run.end_time,
                    run.artifact_uri,
                    run.parent_run_id,
                ),
            )
            c.executemany(
                "INSERT OR IGNORE INTO params (run_uuid, key, value) VALUES (?, ?, ?)",
                [(run.run_id, k, v) for k, v in run.params.items()],
            )
            c.executemany(
                "INSERT OR REPLACE INTO tags (run_uuid, key, value) VALUES (?, ?, ?)",
                [(run.run_id, k, v) for k, v in run.tags.items()],
            )
            flat: list[object] = []
            for key, value, timestamp, step in run.metrics:
                flat += [run.run_id, key, value, timestamp, step, 0]
            batch = MetricBatch.from_flat(flat)
            _insert_rows(c, _INSERT_METRIC_ROWS, batch.encoded(), width=ROW_WIDTH)
            keys = sorted({m[0] for m in run.metrics})
            c.executemany(_REFRESH_LATEST, [(run.run_id, key) for key in keys])


@dataclass
class PulledRun:
    """A run as brought from an MLflow server or store, ready to write locally."""

    run_id: str
    experiment_id: int
    name: str
    user_id: str
    status: str
    start_time: int
    end_time: int | None
    artifact_uri: str
    parent_run_id: str | None
    params: dict[str, str]
    tags: dict[str, str]
    metrics: list[tuple[str, float, int, int]]  # (key, value, timestamp, step)
