"""Runs as a pandas DataFrame with MLflow's column names (``metrics.x``, ``params.y``…).

The frame is built column by column from long-format rows tagged with their run's lookup
index (:mod:`nbtrack.store.frame_rows`): each group of columns (metrics, params, tags) is
filled in one numpy scatter into a keys × runs table, and the info columns are permuted
into the requested order at once. No Python work is done per cell beyond what the SQLite
driver does to hand the values over; the work is linear in the rows read.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from nbtrack.store.frame_rows import (
    SEPARATOR,
    FrameRows,
    MetricRows,
    TextRows,
    Texts,
    frame_rows,
)
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
        return _build(frame_rows(store.db, run_ids), run_ids)


def _build(raw: FrameRows, run_ids: Sequence[str]) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    order = np.asarray(raw["order"], dtype=np.int64)
    runs = raw["runs"]
    n = len(runs.lookup)
    position = order[runs.lookup]
    rows = np.argsort(position)  # frame row -> index in `runs`
    # row_of[lookup index] -> row in the frame (runs absent from the store never looked up)
    row_of = np.full(len(order), -1, dtype=np.int64)
    row_of[runs.lookup[rows]] = np.arange(n)
    if not n:  # pandas gives empty columns their own types: let it, as it does for MLflow
        data: dict[str, Any] = {column: [] for column in INFO_COLUMNS}
        for column in ("start_time", "end_time"):
            data[column] = pd.to_datetime(pd.DataFrame({"t": []})["t"], unit="ms", utc=True)
        return pd.DataFrame(data)
    text = pd.Series(["text", None]).dtype  # as pandas types a list of strings, options and all
    data = {
        "run_id": _text(np.asarray(run_ids, dtype=object)[position[rows]], text),
        "experiment_id": _text(_int_text(runs.experiment_id[rows]), text),
        "status": _text_column(runs.status, row_of[runs.lookup], n, text),
        "artifact_uri": _text_column(runs.artifact_uri, row_of[runs.lookup], n, text),
        "start_time": _utc(runs.start_time[rows]),
        "end_time": _utc(runs.end_time[rows]),
    }
    data |= _metric_columns(raw["metrics"], row_of, n)
    data |= _text_columns("params", raw["params"], row_of, n, text)
    data |= _text_columns("tags", raw["tags"], row_of, n, text)
    return pd.DataFrame(data)


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


def _int_text(values: np.ndarray) -> np.ndarray:
    """Integers as their decimal text, one ``str`` call per distinct value."""
    import numpy as np

    distinct, inverse = np.unique(values, return_inverse=True)
    return np.array([str(v) for v in distinct.tolist()], dtype=object)[inverse]


def _utc(millis: np.ndarray) -> pd.Series:
    """Milliseconds since the epoch (NaN for none) as UTC timestamps.

    Typed as pandas types MLflow's list of them: integers if all are there, floats with
    NaN if some are missing, nothing but None if all are (which gets second resolution).
    """
    import numpy as np
    import pandas as pd

    missing = np.isnan(millis) if millis.dtype.kind == "f" else np.zeros(len(millis), bool)
    if missing.all():
        column = pd.DataFrame({"t": [None] * len(millis)})["t"]
    elif missing.any():
        column = pd.Series(millis, dtype=np.float64)
    else:
        column = pd.Series(millis.astype(np.int64))
    return pd.to_datetime(column, unit="ms", utc=True)


def _metric_columns(rows: MetricRows, row_of: np.ndarray, n: int) -> dict[str, Any]:
    """``{metrics.key: column}``, keys sorted; NaN where a run lacks the metric."""
    import numpy as np
    import pandas as pd

    if not len(rows.lookup):
        return {}
    keys = rows.keys.split(SEPARATOR) if isinstance(rows.keys, str) else rows.keys
    codes, distinct = pd.factorize(np.array(keys, dtype=object), sort=True)
    table = np.full((len(distinct), n), np.nan)
    table[codes, row_of[rows.lookup]] = _decoded(rows.values)
    return {f"metrics.{key}": column for key, column in zip(distinct, table, strict=True)}


def _text_columns(
    prefix: str, rows: TextRows, row_of: np.ndarray, n: int, dtype: Any
) -> dict[str, Any]:
    """``{prefix.key: column}`` for params or tags, keys sorted; None where a run lacks one."""
    import numpy as np
    import pandas as pd

    if not len(rows.lookup):
        return {}
    keys, values = rows.keys, rows.values
    if (
        isinstance(keys, str)
        and isinstance(values, str)
        and getattr(dtype, "storage", None) == "pyarrow"
    ):  # split and grouped by pyarrow: no Python string is made for a cell
        import pyarrow.compute as pc

        encoded = pc.dictionary_encode(_arrow_split(keys))
        codes = encoded.indices.to_numpy()
        distinct = encoded.dictionary.to_pylist()
        split: Any = _arrow_split(values)
    else:
        keys = keys.split(SEPARATOR) if isinstance(keys, str) else keys
        codes, found = pd.factorize(np.array(keys, dtype=object))
        distinct = found.tolist()
        split = np.array(values.split(SEPARATOR) if isinstance(values, str) else values, object)
    target = row_of[rows.lookup]
    by_key = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[by_key], np.arange(len(distinct) + 1))
    columns = {}
    for code in sorted(range(len(distinct)), key=distinct.__getitem__):
        chosen = by_key[bounds[code] : bounds[code + 1]]
        columns[f"{prefix}.{distinct[code]}"] = _placed(split, chosen, target[chosen], n, dtype)
    return columns


def _arrow_split(joined: str) -> Any:
    """The values joined by SEPARATOR as one Arrow string array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.split_pattern(pa.scalar(joined, pa.large_string()), SEPARATOR).values


def _placed(values: Any, chosen: np.ndarray, rows: np.ndarray, n: int, dtype: Any) -> Any:
    """A text column of ``n`` rows: ``values[chosen[i]]`` in row ``rows[i]``, the rest missing.

    ``values`` is an Arrow array (and ``dtype`` Arrow-backed) or a numpy object array.
    """
    import numpy as np
    import pandas as pd

    if isinstance(values, np.ndarray):
        column = np.full(n, None, dtype=object)
        column[rows] = values[chosen]
        return _text(column, dtype)
    import pyarrow as pa
    import pyarrow.compute as pc

    take = np.full(n, -1, dtype=np.int64)
    take[rows] = chosen
    placed = pc.take(values, pa.array(take, mask=take < 0))
    return pd.array(pd.arrays.ArrowExtensionArray(placed), dtype=dtype)


def _text_column(values: Texts, rows: np.ndarray, n: int, dtype: Any) -> Any:
    """A text column of ``n`` rows: ``values[i]`` in row ``rows[i]``, the rest missing."""
    import numpy as np

    if isinstance(values, str) and getattr(dtype, "storage", None) == "pyarrow":
        split: Any = _arrow_split(values)
    else:
        split = np.array(values.split(SEPARATOR) if isinstance(values, str) else values, object)
    return _placed(split, np.arange(len(rows)), rows, n, dtype)


def _text(values: np.ndarray, dtype: Any) -> Any:
    """Strings (None for missing) as a column of ``dtype``, the type of a list of strings.

    Under pandas 3 that is its ``str`` type, missing values NaN; before it, ``object``.
    Giving the type spares pandas inferring it again cell by cell.
    """
    import numpy as np
    import pandas as pd

    if isinstance(dtype, np.dtype):  # object: the type of pandas before 3
        return pd.Series(values, dtype=object, copy=False)
    return pd.array(values, dtype=dtype)


def _decoded(value: np.ndarray) -> np.ndarray:
    """Stored metric values as the floats they stand for (±inf decoded), in place."""
    import numpy as np

    value[value >= DBL_MAX] = np.inf
    value[value <= -DBL_MAX] = -np.inf
    return value
