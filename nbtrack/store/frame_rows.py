"""The rows a runs DataFrame is built from, in long format, tagged by lookup index.

The ids are bound as one JSON array (``json_each``) sorted by id: one statement per table
whatever the number of runs, and each table is then read in its own key order
(``run_uuid`` first), so consecutive lookups land on the same pages instead of jumping
across the file. Every row starts with the index of its run in that sorted array;
:attr:`FrameRows.order` maps it back to the position in the requested list, so a caller
can scatter a whole column at once (numpy fancy indexing) instead of looking ids up row
by row. Rows carry no run id: the caller has the ids it asked for.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TypedDict

from nbtrack.store.database import Database

# CROSS JOIN keeps the id list as the outer loop: one primary-key lookup per run.
_IDS = "json_each(?) AS ids CROSS JOIN {table} AS t ON t.run_uuid = ids.value"
_RUNS = (
    "SELECT ids.key, t.experiment_id, t.status, t.artifact_uri, t.start_time, t.end_time "
    "FROM " + _IDS.format(table="runs")
)
# A NaN metric comes back as NULL: a frame shows it, like a missing metric, as NaN.
_METRICS = (
    "SELECT ids.key, t.key, CASE WHEN t.is_nan THEN NULL ELSE t.value END FROM "
    + _IDS.format(table="latest_metrics")
)
_PARAMS = "SELECT ids.key, t.key, t.value FROM " + _IDS.format(table="params")
_TAGS = "SELECT ids.key, t.key, t.value FROM " + _IDS.format(table="tags")


class FrameRows(TypedDict):
    """Rows for a runs frame; the first value of each row is its run's lookup index.

    ``order[i]`` is the position, in the requested ids, of the run whose lookup index is
    ``i``. ``runs``: (index, experiment_id, status, artifact_uri, start_time, end_time);
    ``metrics``: (index, key, value) from the latest metrics, value None for NaN;
    ``params`` and ``tags``: (index, key, value). Rows come in no promised order.
    """

    order: list[int]
    runs: list[tuple]
    metrics: list[tuple]
    params: list[tuple]
    tags: list[tuple]


def frame_rows(db: Database, run_ids: Sequence[str]) -> FrameRows:
    """Info, latest metrics, params and tags of the given runs, read in one snapshot.

    Ids that name no run are absent from every list.
    """
    order = sorted(range(len(run_ids)), key=run_ids.__getitem__)
    ids = json.dumps([run_ids[i] for i in order])
    with db.read() as c:
        return FrameRows(
            order=order,
            runs=c.execute(_RUNS, (ids,)).fetchall(),
            metrics=c.execute(_METRICS, (ids,)).fetchall(),
            params=c.execute(_PARAMS, (ids,)).fetchall(),
            tags=c.execute(_TAGS, (ids,)).fetchall(),
        )
