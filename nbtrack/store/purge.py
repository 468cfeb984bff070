"""Removing deleted runs and experiments for good (``nbtrack gc``)."""

from __future__ import annotations

from collections.abc import Sequence

from nbtrack.store.database import Database
from nbtrack.store.sql import chunks, marks


class PurgeStore:
    """Permanent deletion; the tracking store builds on it."""

    db: Database

    def deleted_run_ids(self, older_than_ms: int | None = None) -> list[str]:
        """Runs marked deleted (before a time, if given): what ``gc`` would remove."""
        sql = "SELECT run_uuid FROM runs WHERE lifecycle_stage = 'deleted'"
        args: list[object] = []
        if older_than_ms is not None:
            sql += " AND deleted_time <= ?"
            args.append(older_than_ms)
        return [row[0] for row in self.db.query(sql, args)]

    def purge_runs(self, run_ids: Sequence[str]) -> list[str]:
        """Remove deleted runs and all their rows for good; return the ids removed.

        Runs that are not (or no longer) deleted are left alone, checked in the same
        transaction so a run restored meanwhile keeps its data.
        """
        purged: list[str] = []
        with self.db.write() as c:
            for ids in chunks(list(run_ids)):
                chunk = [
                    row[0]
                    for row in c.execute(
                        "SELECT run_uuid FROM runs WHERE lifecycle_stage = 'deleted' "
                        f"AND run_uuid IN ({marks(ids)})",
                        ids,
                    )
                ]
                purged += chunk
                holes = marks(chunk)
                for table in ("metrics", "latest_metrics", "params", "tags"):
                    c.execute(f"DELETE FROM {table} WHERE run_uuid IN ({holes})", chunk)
                c.execute(
                    "DELETE FROM input_tags WHERE input_uuid IN (SELECT input_uuid FROM inputs "
                    f"WHERE destination_type = 'RUN' AND destination_id IN ({holes}))",
                    chunk,
                )
                c.execute(
                    "DELETE FROM inputs WHERE destination_type = 'RUN' "
                    f"AND destination_id IN ({holes})",
                    chunk,
                )
                c.execute(
                    f"DELETE FROM runs WHERE lifecycle_stage = 'deleted' AND run_uuid IN ({holes})",
                    chunk,
                )
        return purged

    def purge_experiments(self, older_than_ms: int | None = None) -> list[str]:
        """Remove deleted experiments that hold no runs any more; return their ids.

        With ``older_than_ms``, only those last updated (deleted) at or before that time.
        """
        age = "" if older_than_ms is None else " AND last_update_time <= ?"
        with self.db.write() as c:
            ids = [
                str(row[0])
                for row in c.execute(
                    "SELECT experiment_id FROM experiments e WHERE lifecycle_stage = 'deleted' "
                    "AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.experiment_id = e.experiment_id)"
                    + age,
                    () if older_than_ms is None else (older_than_ms,),
                )
            ]
            for exp_id in ids:
                c.execute("DELETE FROM experiment_tags WHERE experiment_id = ?", (exp_id,))
                c.execute("DELETE FROM datasets WHERE experiment_id = ?", (exp_id,))
                c.execute("DELETE FROM experiments WHERE experiment_id = ?", (exp_id,))
        return ids
