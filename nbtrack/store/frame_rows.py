"""The rows a runs DataFrame is built from, in long format, tagged by position.

Every row starts with the position of its run in the requested id list, so a caller can
scatter a whole column at once (numpy fancy indexing) instead of looking ids up row by
row. The ids are bound as one JSON array (``json_each``): one statement per table
whatever the number of runs, joined to each table through its ``run_uuid`` key.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TypedDict

from nbtrack.store.database import Database

# CROSS JOIN keeps the id list as the outer loop: one primary-key lookup per run.
_IDS = "json_each(?) AS ids CROSS JOIN {table} AS t ON t.run_uuid = ids.value"
_RUNS = (
    "SELECT ids.key, t.run_uuid, t.experiment_id, t.status, t.artifact_uri, t.start_time, "
    "t.end_time FROM " + _IDS.format(table="runs")
)
_METRICS = "SELECT ids.key, t.key, t.value, t.is_nan FROM " + _IDS.format(table="latest_metrics")
_PARAMS = "SELECT ids.key, t.key, t.value FROM " + _IDS.format(table="params")
_TAGS = "SELECT ids.key, t.key, t.value FROM " + _IDS.format(table="tags")


class FrameRows(TypedDict):
    """Rows for a runs frame; the first value of each row is the run's position.

    ``runs``: (position, run_uuid, experiment_id, status, artifact_uri, start_time,
    end_time); ``metrics``: (position, key, value, is_nan) from the latest metrics;
    ``params`` and ``tags``: (position, key, value). Rows come in no particular order.
    """

    runs: list[tuple]
    metrics: list[tuple]
    params: list[tuple]
    tags: list[tuple]


def frame_rows(db: Database, run_ids: Sequence[str]) -> FrameRows:
    """Info, latest metrics, params and tags of the given runs, read in one snapshot.

    Ids that name no run are absent from every list.
    """
    ids = json.dumps(list(run_ids))
    with db.read() as c:
        return FrameRows(
            runs=c.execute(_RUNS, (ids,)).fetchall(),
            metrics=c.execute(_METRICS, (ids,)).fetchall(),
            params=c.execute(_PARAMS, (ids,)).fetchall(),
            tags=c.execute(_TAGS, (ids,)).fetchall(),
        )
