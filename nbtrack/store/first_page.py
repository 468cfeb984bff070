"""The first page of a new sort over many shown runs, found by walking an index in its order.

Sorting every shown run to show the first fifty (a LIMIT query still joins and ranks
each one: 200 ms at 100,000 runs) is avoidable when the first sort term has an index
in its order: a metric, param or tag key (``(key, value)`` indexes), or the start time
within one experiment. The walk reads that index from the best value on, keeps the runs
placed by their own value (every matched run when flat; in a tree, the roots without a
proxy, see :mod:`nbtrack.store.shown_runs`) and stops at the ``limit``-th: its value is
the page's *boundary*. A run placed by a worse value cannot be on the page (``limit``
runs come before it), so the page is among the walked runs, every run tied on the
boundary value (their order falls to the later terms) and the roots placed by a proxy
(a few context or valueless parents). The caller sorts only those, with the full ORDER BY.

NaN and missing values rank after every value: when the walk finds fewer than ``limit``
runs with a value, there is no boundary, and the full query is needed. So it is when a
walk reads long before finding shown runs (a few shown runs, sorted against the grain
of their filter): each walk stops once it took the steps the full query would take.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from nbtrack.store import search
from nbtrack.store.search_fields import RUNS

# key tables and their (key, value) indexes (schema migration 4)
_VALUE_INDEXES = {
    "latest_metrics": "latest_metrics_key_nan_value",
    "params": "params_key_value",
    "tags": "tags_key_value",
}
STEPS_PER_RANKED = 40  # SQLite VM steps the full query takes per run it ranks (measured)
MANY_TIES = 1_000  # more runs tied on the boundary value: only the first ones are read
_START = RUNS.order_attrs["start_time"].column
# in a tree, roots placed by their own values; flat, every matched run
PLACED_BY_ITSELF = {
    True: "s.root = 1 AND s.id NOT IN (SELECT id FROM temp.proxy)",
    False: "s.context = 0",
}


@dataclass(frozen=True)
class Leading:
    """The first term of a sort.

    ``table`` is the key table of a metric, param or tag term (then ``key`` is its key),
    or None for an attribute (then ``key`` is its column, e.g. ``r.start_time``, or ""
    for a column that can be NULL).
    """

    table: str | None
    key: str
    descending: bool


def leading(order_by: Sequence[str] | None) -> Leading:
    """The first sort term of ``order_by`` (newest first when it is empty).

    Read from the ORDER BY that ``search.runs_query`` compiles, so that it is the term
    the full query ranks by.

    Raises
    ------
    InvalidFilter
        If that term does not parse.
    """
    compiled = search.runs_query(None, list(order_by or [])[:1])
    first, second = compiled.order.split(", ")[:2]
    if compiled.join_args:  # "LEFT JOIN <table> o0 …", ranked by: rank, "o0.value <way>"
        return Leading(compiled.joins.split()[2], compiled.join_args[0], second.endswith("DESC"))
    # "<column> <way>"; a column that can be NULL starts with "<column> IS NULL"
    column, _, way = first.rpartition(" ")
    return Leading(None, column if way in ("ASC", "DESC") else "", way == "DESC")


def candidates(
    conn: sqlite3.Connection,
    order_by: Sequence[str] | None,
    limit: int,
    roots_only: bool,
    experiment: int | None,
    ranked: int,
) -> list[str] | None:
    """Ids among which the first ``limit`` runs (or tree roots) of this order are.

    ``temp.proxy`` must hold the proxies of this order when ``roots_only``.
    ``experiment`` is the one experiment every shown run is in (None: several), which
    lets the start time's index be walked; ``ranked`` is how many runs the full query
    would rank. None when no index walk bounds the page in as many steps as it takes,
    or when the page is most of those runs (every run exported, say).
    """
    lead = leading(order_by)
    index = _index(lead, experiment)
    if index is None or limit < 1 or 2 * limit > ranked:
        return None
    table, where, value, args = index
    steps = STEPS_PER_RANKED * ranked
    # CROSS JOIN: the index drives, each run it reads is looked up among the shown ones
    walk = f"FROM {table} CROSS JOIN temp.shown s ON s.id = v.run_uuid "
    walk += f"WHERE {where} AND {PLACED_BY_ITSELF[roots_only]}"
    way = "DESC" if lead.descending else "ASC"
    sql = f"SELECT v.run_uuid, {value} {walk} ORDER BY {value} {way} LIMIT ?"
    found = _rows_within(conn, steps, sql, [*args, limit])
    if found is None or len(found) < limit:
        return None
    tied = [*args, found[-1][1]]  # the boundary value
    sql = f"SELECT v.run_uuid {walk} AND {value} = ? LIMIT ?"
    ties = _rows_within(conn, steps, sql, [*tied, MANY_TIES + 1])
    if ties is not None and len(ties) > MANY_TIES:
        # the later terms order them: when these are just the tie-breakers (start time
        # newest first, then run id), the start time's index walks them in that order
        if lead.table is None or experiment is None or len(list(order_by or [])) > 1:
            return None
        sql = (
            "SELECT r.run_uuid FROM runs r INDEXED BY runs_experiment_start "
            "CROSS JOIN temp.shown s ON s.id = r.run_uuid WHERE r.experiment_id = ? "
            f"AND {PLACED_BY_ITSELF[roots_only]} AND EXISTS (SELECT 1 FROM {table} "
            f"WHERE v.run_uuid = r.run_uuid AND {where} AND {value} = ?) "
            "ORDER BY r.start_time DESC, r.run_uuid LIMIT ?"
        )
        ties = _rows_within(conn, steps, sql, [experiment, *tied, limit])
    if ties is None:
        return None
    ids = dict.fromkeys(row[0] for row in found + ties)
    if roots_only:
        ids.update(dict.fromkeys(row[0] for row in conn.execute("SELECT id FROM temp.proxy")))
    return list(ids)


def _index(lead: Leading, experiment: int | None) -> tuple[str, str, str, list[object]] | None:
    """(the index as ``v``, the condition on it, its value column, the condition's args).

    None when the first sort term has no index in its order.
    """
    if lead.table is not None:
        nan = " AND v.is_nan = 0" if lead.table == "latest_metrics" else ""
        index = f"{lead.table} v INDEXED BY {_VALUE_INDEXES[lead.table]}"
        return index, f"v.key = ?{nan}", "v.value", [lead.key]
    if lead.key == _START and experiment is not None:
        index = "runs v INDEXED BY runs_experiment_start"
        return index, "v.experiment_id = ?", "v.start_time", [experiment]
    return None


def _rows_within(
    conn: sqlite3.Connection, steps: int, sql: str, args: Sequence[object]
) -> list[tuple] | None:
    """The rows of a query, or None once it ran ``steps`` SQLite VM steps (stopped there).

    Only for SELECTs: stopping one leaves the transaction it runs in as it was.
    """
    stopped: list[bool] = []

    def stop() -> bool:  # called once ``steps`` steps ran
        stopped.append(True)
        return True

    conn.set_progress_handler(stop, max(1, steps))
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError:
        if stopped:  # "interrupted"
            return None
        raise
    finally:
        conn.set_progress_handler(None, 0)
