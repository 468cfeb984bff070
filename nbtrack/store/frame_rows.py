"""The rows a runs DataFrame is built from, tagged by lookup index, text packed per key.

The ids are bound as one JSON array (``json_each``) sorted by id: one statement per table
whatever the number of runs, and each table is then read in its own key order
(``run_uuid`` first), so consecutive lookups land on the same pages instead of jumping
across the file. Every value carries the index of its run in that sorted array;
:attr:`FrameRows.order` maps it back to the position in the requested list, so a caller
can scatter a whole column at once (numpy fancy indexing) instead of looking ids up row
by row. Nothing carries a run id: the caller has the ids it asked for.

Params, tags and run info, most of a frame's cells, come packed: one row per key (or
per table), its lookup indices and its values each joined into one string by SQLite, to
be split in one call (by pyarrow straight into the column pandas keeps, when it keeps
strings in Arrow) instead of a row tuple, an index and a key string per cell. Values
that hold the separator are read row by row instead.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
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
_RUNS_PACKED = (
    _FOUND + "SELECT group_concat(found.lookup), group_concat(t.experiment_id), "
    "group_concat(t.status, :sep), group_concat(t.artifact_uri, :sep), "
    "group_concat(t.start_time), "
    "group_concat(ifnull(t.end_time, 'nan')), max(instr(t.artifact_uri, :sep)) "
    "FROM found CROSS JOIN runs AS t ON t.rowid = found.row"
)
_RUNS = (
    _FOUND + "SELECT found.lookup, t.experiment_id, t.status, t.artifact_uri, t.start_time, "
    "t.end_time FROM found CROSS JOIN runs AS t ON t.rowid = found.row"
)
# A NaN metric comes back as NULL: a frame shows it, like a missing metric, as NaN.
_METRICS = (
    "SELECT ids.key, t.key, CASE WHEN t.is_nan THEN NULL ELSE t.value END FROM "
    + _IDS.format(table="latest_metrics")
)
_PACKED = (
    "SELECT t.key, group_concat(ids.key), group_concat(t.value, :sep), "
    "max(instr(t.value, :sep)) FROM {ids} GROUP BY t.key"
)
_BY_ROW = "SELECT ids.key, t.key, t.value FROM {ids} WHERE :key IS NULL OR t.key = :key"


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


class TextColumn(NamedTuple):
    """The values of one param or tag key and the lookup indices of their runs."""

    key: str
    lookup: np.ndarray
    values: Texts


class FrameRows(TypedDict):
    """What a runs frame is built from; lookup indices index the sorted ids.

    ``order[i]`` is the position, in the requested ids, of the run whose lookup index is
    ``i``. ``runs``: :class:`RunColumns`; ``metrics``: rows (index, key, value) from the
    latest metrics, value None for NaN; ``params`` and ``tags``: one :class:`TextColumn`
    per key. Nothing comes in a promised order.
    """

    order: list[int]
    runs: RunColumns
    metrics: list[tuple]
    params: list[TextColumn]
    tags: list[TextColumn]


def frame_rows(db: Database, run_ids: Sequence[str]) -> FrameRows:
    """Info, latest metrics, params and tags of the given runs, read in one snapshot.

    Ids that name no run are absent from everything.
    """
    order = sorted(range(len(run_ids)), key=run_ids.__getitem__)
    ids = {"ids": json.dumps([run_ids[i] for i in order])}
    with db.read() as c:
        return FrameRows(
            order=order,
            runs=_run_columns(c, ids),
            metrics=c.execute(_METRICS, ids).fetchall(),
            params=_text_columns(c, "params", ids),
            tags=_text_columns(c, "tags", ids),
        )


def _run_columns(c: sqlite3.Connection, ids: dict[str, str]) -> RunColumns:
    import numpy as np

    try:
        lookup, experiment_id, status, artifact_uri, start_time, end_time, has_separator = (
            c.execute(_RUNS_PACKED, {**ids, "sep": SEPARATOR}).fetchone()
        )
    except sqlite3.DataError:  # joined, a column is longer than SQLite's longest string
        has_separator = True
    if has_separator:  # an artifact URI holds the separator (or too long): row by row
        columns = list(zip(*c.execute(_RUNS, ids), strict=True)) or [()] * 6
        return RunColumns(
            np.array(columns[0], np.int64),
            np.array(columns[1], np.int64),
            list(columns[2]),
            list(columns[3]),
            np.array(columns[4], np.int64),
            np.array(columns[5], np.float64),
        )
    if lookup is None:  # no run found
        nothing = np.array([], np.int64)
        return RunColumns(nothing, nothing, [], [], nothing, nothing.astype(np.float64))
    return RunColumns(
        np.fromstring(lookup, dtype=np.int64, sep=","),
        np.fromstring(experiment_id, dtype=np.int64, sep=","),
        status,
        artifact_uri,
        np.fromstring(start_time, dtype=np.int64, sep=","),
        np.fromstring(end_time, dtype=np.float64, sep=","),
    )


def _text_columns(c: sqlite3.Connection, table: str, ids: dict[str, str]) -> list[TextColumn]:
    import numpy as np

    joined = _IDS.format(table=table)
    try:
        packed = c.execute(_PACKED.format(ids=joined), {**ids, "sep": SEPARATOR}).fetchall()
    except sqlite3.DataError:  # joined, a key's values are longer than SQLite's longest string
        return _by_row(c, joined, ids, None)
    columns = []
    for key, lookup, values, has_separator in packed:
        if has_separator:  # the packing would split a value: this key row by row
            columns += _by_row(c, joined, ids, key)
        else:
            columns.append(TextColumn(key, np.fromstring(lookup, dtype=np.int64, sep=","), values))
    return columns


def _by_row(
    c: sqlite3.Connection, joined: str, ids: dict[str, str], key: str | None
) -> list[TextColumn]:
    """The columns of one key (every key if None) read a row per value, grouped here."""
    import numpy as np

    grouped: dict[str, tuple[list[int], list[str]]] = {}
    for lookup, name, value in c.execute(_BY_ROW.format(ids=joined), {**ids, "key": key}):
        indices, values = grouped.setdefault(name, ([], []))
        indices.append(lookup)
        values.append(value)
    return [
        TextColumn(name, np.array(indices, np.int64), values)
        for name, (indices, values) in grouped.items()
    ]
