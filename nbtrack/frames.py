"""Runs as a pandas DataFrame with MLflow's column names (``metrics.x``, ``params.y``…)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from nbtrack.store.tracking import TrackingStore

if TYPE_CHECKING:
    import pandas as pd

INFO_COLUMNS = ("run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time")


def runs_frame(store: TrackingStore, run_ids: Sequence[str]) -> pd.DataFrame:
    """One row per run, in the order given: info columns, then metrics, params, tags.

    Missing metrics are NaN, missing params and tags None; times are UTC timestamps.
    """
    import pandas as pd

    table = store.run_table(run_ids)
    info = {row.run_id: row for row in table.runs}
    order = [rid for rid in run_ids if rid in info]
    index = {rid: i for i, rid in enumerate(order)}
    n = len(order)
    data: dict[str, list] = {
        "run_id": order,
        "experiment_id": [info[r].experiment_id for r in order],
        "status": [info[r].status for r in order],
        "artifact_uri": [info[r].artifact_uri for r in order],
        "start_time": [info[r].start_time for r in order],
        "end_time": [info[r].end_time for r in order],
    }
    metrics: dict[str, list] = {}
    for rid, key, value in table.metrics:
        metrics.setdefault(key, [math.nan] * n)[index[rid]] = value
    groups = {
        "metrics": metrics,
        "params": _pivot(table.params, index, n),
        "tags": _pivot(table.tags, index, n),
    }
    for prefix, columns in groups.items():
        for key in sorted(columns):
            data[f"{prefix}.{key}"] = columns[key]
    frame = pd.DataFrame(data)
    for column in ("start_time", "end_time"):
        frame[column] = pd.to_datetime(frame[column], unit="ms", utc=True)
    return frame


def _pivot(rows: list[tuple], index: dict[str, int], n: int) -> dict[str, list]:
    columns: dict[str, list] = {}
    for rid, key, value in rows:
        columns.setdefault(key, [None] * n)[index[rid]] = value
    return columns
