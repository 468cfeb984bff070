"""Runs as a pandas DataFrame with MLflow's column names (``metrics.x``, ``params.y``…).

The frame is built column by column: the store returns long-format rows tagged with the
position of their run, each key's values are grouped with one stable sort, and every
column is filled in one numpy scatter. The work is linear in the rows read.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from nbtrack.store.frame_rows import FrameRows, frame_rows
from nbtrack.store.metrics import DBL_MAX
from nbtrack.store.tracking import TrackingStore

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

INFO_COLUMNS = ("run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time")


def runs_frame(store: TrackingStore, run_ids: Sequence[str]) -> pd.DataFrame:
    """One row per run, in the order given: info columns, then metrics, params, tags.

    Each group of columns is sorted by key. Missing metrics are NaN, missing params and
    tags are missing values of their column; times are UTC timestamps. Ids that name no
    run are left out.
    """
    with _gc_paused():
        return _build(frame_rows(store.db, run_ids), len(run_ids))


def _build(raw: FrameRows, n_ids: int) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    runs = sorted(raw["runs"])
    # row_of[position in run_ids] -> row in the frame (runs absent from the store dropped)
    row_of = np.full(n_ids, -1, dtype=np.int64)
    row_of[[r[0] for r in runs]] = np.arange(len(runs))
    n = len(runs)
    _, run_id, experiment_id, status, artifact_uri, start_time, end_time = (
        [list(column) for column in zip(*runs, strict=True)] if runs else [[]] * 7
    )
    data: dict[str, Any] = {
        "run_id": run_id,
        "experiment_id": [str(e) for e in experiment_id],
        "status": status,
        "artifact_uri": artifact_uri,
        "start_time": start_time,
        "end_time": end_time,
    }
    data |= _columns("metrics", raw["metrics"], row_of, n, _metric_values)
    data |= _columns("params", raw["params"], row_of, n, _text_values)
    data |= _columns("tags", raw["tags"], row_of, n, _text_values)
    frame = pd.DataFrame(data)
    for column in ("start_time", "end_time"):
        frame[column] = pd.to_datetime(frame[column], unit="ms", utc=True)
    return frame


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a million short-lived rows are created.

    The rows hold no cycles; a collection would only rescan every object still alive,
    again and again, and make a large frame cost more than linear time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _columns(
    prefix: str,
    rows: list[tuple],
    row_of: np.ndarray,
    n: int,
    values: Callable[[list[tuple]], tuple[np.ndarray, object]],
) -> dict[str, np.ndarray]:
    """``{prefix.key: column}`` for long rows ``(position, key, value…)``, keys sorted."""
    import numpy as np
    import pandas as pd

    if not rows:
        return {}
    columns = list(zip(*rows, strict=True))
    codes, keys = pd.factorize(np.array(columns[1], dtype=object), sort=True)
    order = np.argsort(codes, kind="stable")
    rows_sorted = row_of[np.array(columns[0], dtype=np.int64)[order]]
    stored, empty = values(columns[2:])
    stored = stored[order]
    bounds = np.searchsorted(codes[order], np.arange(len(keys) + 1))
    out = {}
    for k, key in enumerate(keys):
        column = np.full(n, empty, dtype=stored.dtype)
        lo, hi = bounds[k], bounds[k + 1]
        column[rows_sorted[lo:hi]] = stored[lo:hi]
        out[f"{prefix}.{key}"] = column
    return out


def _metric_values(columns: list[tuple]) -> tuple[np.ndarray, object]:
    """Stored (value, is_nan) pairs as the floats they stand for (NaN, ±inf decoded)."""
    import numpy as np

    value = np.array(columns[0], dtype=np.float64)
    value[np.array(columns[1], dtype=bool)] = np.nan
    value[value >= DBL_MAX] = np.inf
    value[value <= -DBL_MAX] = -np.inf
    return value, np.nan


def _text_values(columns: list[tuple]) -> tuple[np.ndarray, object]:
    """Param or tag values; a run without the key gets None, as the old lists had."""
    import numpy as np

    return np.array(columns[0], dtype=object), None
