"""The rows a runs DataFrame is built from, tagged by lookup index, text packed per key.

The ids are bound as one JSON array (``json_each``) sorted by id: one statement per table
whatever the number of runs, and each table is then read in its own key order
(``run_uuid`` first), so consecutive lookups land on the same pages instead of jumping
across the file. Every value carries the index of its run in that sorted array;
:attr:`FrameRows.order` maps it back to the position in the requested list, so a caller
can scatter a whole column at once (numpy fancy indexing) instead of looking ids up row
by row. Nothing carries a run id: the caller has the ids it asked for.

Params, tags and run info, most of a frame's cells, come packed: one row per table, its
lookup indices, its keys and its values each joined into one string by SQLite, to be
split in one call (by pyarrow straight into the column pandas keeps, when it keeps
strings in Arrow) instead of a row tuple, an index and a key string per cell. A table
with a key or value that holds the separator is read row by row instead.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from itertools import chain
from typing import TYPE_CHECKING, NamedTuple, TypedDict

from nbtrack.store.database import Database

if TYPE_CHECKING:
    import numpy as np

SEPARATOR = "\x1f"  # ASCII unit separator: in no value a person or library logs, checked
# CROSS JOIN keeps the id list as the outer loop: one primary-key lookup per run.
_IDS = "json_each(:ids) AS ids CROSS JOIN {table} AS t ON t.run_uuid = ids.value"
# Runs are found by id (in id order), then read in rowid order, the order of their pages.
_FOUND = (
    "WITH found AS MATERIALIZED (SELECT ids.key AS lookup, r.rowid AS row "
    "FROM json_each(:ids) AS ids CROSS JOIN runs AS r ON r.run_uuid = ids.value ORDER BY 2) "
)
# Packed: one row per table. Whether a value held the separator is told afterwards, by
# counting separators in the joined text (a C scan), not by SQLite testing every value.
_RUNS_PACKED = (
    _FOUND + "SELECT group_concat(found.lookup), group_concat(t.experiment_id), "
    "group_concat(t.status, :sep), group_concat(t.artifact_uri, :sep), "
    "group_concat(t.start_time), group_concat(ifnull(t.end_time, 'nan')) "
    "FROM found CROSS JOIN runs AS t ON t.rowid = found.row"
)
_RUNS = (
    _FOUND + "SELECT found.lookup, t.experiment_id, t.status, t.artifact_uri, t.start_time, "
    "t.end_time FROM found CROSS JOIN runs AS t ON t.rowid = found.row"
)
# No GROUP BY: sorting half a million rows by key costs more than grouping them in numpy.
_PACKED = (
    "SELECT group_concat(ids.key), group_concat(t.key, :sep), group_concat(t.value, :sep) "
    "FROM {ids}"
)
_BY_ROW = "SELECT ids.key, t.key, t.value FROM {ids}"
# Metric values come a row each (SQLite's text for a float is not exact), their lookup
# indices and keys packed by a second pass over the same rows in the same order.
_METRIC_KEYS = "SELECT group_concat(ids.key), group_concat(t.key, :sep) FROM " + _IDS.format(
    table="latest_metrics"
)
_METRIC_VALUES = "SELECT {value} FROM " + _IDS.format(table="latest_metrics")
# A NaN metric comes back as NULL: a frame shows it, like a missing metric, as NaN.
_METRIC_VALUE = "CASE WHEN t.is_nan THEN NULL ELSE t.value END"


# Text values: joined by SEPARATOR into one string, or a list if one of them holds it.
Texts = str | list[str]


class RunColumns(NamedTuple):
    """The info of the runs found, one array or :data:`Texts` each, in one same order.

    ``end_time`` is NaN for a run not ended.
    """

    lookup: np.ndarray
    experiment_id: np.ndarray
    status: Texts
    artifact_uri: Texts
    start_time: np.ndarray
    end_time: np.ndarray


class TextRows(NamedTuple):
    """The params or tags found, one per row: its run's lookup index, its key, its value."""

    lookup: np.ndarray
    keys: Texts
    values: Texts


class MetricRows(NamedTuple):
    """The latest metrics found, one per row: lookup index, key, value as stored.

    A NaN value is NaN; infinities are still stored as the largest finite floats.
    """

    lookup: np.ndarray
    keys: Texts
    values: np.ndarray


class FrameRows(TypedDict):
    """What a runs frame is built from; lookup indices index the sorted ids.

    ``order[i]`` is the position, in the requested ids, of the run whose lookup index is
    ``i``. ``runs``: :class:`RunColumns`; ``metrics``: :class:`MetricRows`; ``params``
    and ``tags``: :class:`TextRows`. Nothing comes in a promised order.
    """

    order: list[int]
    runs: RunColumns
    metrics: MetricRows
    params: TextRows
    tags: TextRows


def frame_rows(db: Database, run_ids: Sequence[str]) -> FrameRows:
    """Info, latest metrics, params and tags of the given runs, read in one snapshot.

    Ids that name no run are absent from everything.
    """
    order = sorted(range(len(run_ids)), key=run_ids.__getitem__)
    ids = {"ids": _json_array([run_ids[i] for i in order])}
    with db.read() as c:
        return FrameRows(
            order=order,
            runs=_run_columns(c, ids),
            metrics=_metric_rows(c, ids),
            params=_text_rows(c, "params", ids),
            tags=_text_rows(c, "tags", ids),
        )


def _json_array(texts: list[str]) -> str:
    """``texts`` as a JSON array; plain ids (all of them, in practice) joined, not encoded."""
    joined = '","'.join(texts)
    plain = joined.isascii() and joined.isprintable() and "\\" not in joined
    if plain and joined.count('"') == 2 * (len(texts) - 1):  # no id holds a quote
        return f'["{joined}"]'
    return json.dumps(texts)


def _packed(c: sqlite3.Connection, sql: str, ids: dict[str, str]) -> tuple | None:
    """The one row of a packed query, None if a joined column is too long for SQLite."""
    try:
        return c.execute(sql, {**ids, "sep": SEPARATOR}).fetchone()
    except sqlite3.DataError:  # longer than SQLite's longest string: read row by row
        return None


def _intact(packed: tuple, *texts: int) -> bool:
    """Whether the ``texts`` columns of ``packed`` split back into one value per lookup.

    Column 0 holds the lookup indices joined by commas; a value holding the separator
    would add one more.
    """
    count = packed[0].count(",") + 1
    return all(packed[i].count(SEPARATOR) == count - 1 for i in texts)


def _run_columns(c: sqlite3.Connection, ids: dict[str, str]) -> RunColumns:
    import numpy as np

    packed = _packed(c, _RUNS_PACKED, ids)
    if packed is not None and packed[0] is None:  # no run found
        nothing = np.array([], np.int64)
        return RunColumns(nothing, nothing, [], [], nothing, nothing.astype(np.float64))
    if packed is not None and _intact(packed, 2, 3):
        lookup, experiment_id, status, artifact_uri, start_time, end_time = packed
        return RunColumns(
            np.fromstring(lookup, dtype=np.int64, sep=","),
            np.fromstring(experiment_id, dtype=np.int64, sep=","),
            status,
            artifact_uri,
            np.fromstring(start_time, dtype=np.int64, sep=","),
            np.fromstring(end_time, dtype=np.float64, sep=","),
        )
    # an artifact URI holds the separator (or all are too long joined): row by row
    columns = list(zip(*c.execute(_RUNS, ids), strict=True)) or [()] * 6
    return RunColumns(
        np.array(columns[0], np.int64),
        np.array(columns[1], np.int64),
        list(columns[2]),
        list(columns[3]),
        np.array(columns[4], np.int64),
        np.array(columns[5], np.float64),
    )


def _metric_rows(c: sqlite3.Connection, ids: dict[str, str]) -> MetricRows:
    import numpy as np

    packed = _packed(c, _METRIC_KEYS, ids)
    if packed is not None and packed[0] is None:  # nothing found
        return MetricRows(np.array([], np.int64), [], np.array([], np.float64))
    if packed is not None and _intact(packed, 1):
        values = c.execute(_METRIC_VALUES.format(value=_METRIC_VALUE), ids).fetchall()
        return MetricRows(
            np.fromstring(packed[0], dtype=np.int64, sep=","), packed[1], _floats(values)
        )
    value = f"ids.key, t.key, {_METRIC_VALUE}"  # a key holds the separator: row by row
    columns = list(zip(*c.execute(_METRIC_VALUES.format(value=value), ids), strict=True))
    return MetricRows(
        np.array(columns[0], np.int64), list(columns[1]), np.array(columns[2], np.float64)
    )


def _floats(rows: list[tuple]) -> np.ndarray:
    """The one column of ``rows`` as floats, None as NaN."""
    import numpy as np

    try:  # no None: straight from the tuples, no list of floats in between
        return np.fromiter(chain.from_iterable(rows), np.float64, len(rows))
    except TypeError:  # a NaN came as None
        return np.array(rows, np.float64).reshape(-1)


def _text_rows(c: sqlite3.Connection, table: str, ids: dict[str, str]) -> TextRows:
    import numpy as np

    joined = _IDS.format(table=table)
    packed = _packed(c, _PACKED.format(ids=joined), ids)
    if packed is not None and packed[0] is None:  # nothing found
        return TextRows(np.array([], np.int64), [], [])
    if packed is not None and _intact(packed, 1, 2):
        return TextRows(np.fromstring(packed[0], dtype=np.int64, sep=","), *packed[1:])
    # a key or value holds the separator (or all are too long joined): row by row
    columns = list(zip(*c.execute(_BY_ROW.format(ids=joined), ids), strict=True)) or [()] * 3
    return TextRows(np.array(columns[0], np.int64), list(columns[1]), list(columns[2]))
