"""The queries behind the notebook panels: paging, trees, column stats, sparklines, changes.

Panels read through a connection of their own (one per store file and process), so that

- ``PRAGMA data_version`` on it moves whenever *any* other connection commits, this
  kernel's writer included: a change check that costs microseconds and that panel
  queries themselves never trigger;
- a refresh can hold the runs it shows in a temporary table (``shown``), computed once
  from the scope and filter and then counted, paged, sorted and summarised by key, all
  in SQL, and kept while neither the scope nor the store changes (a page turn or a sort
  reads only the page). A panel over 10,000 runs reads one page of them.

Tree rule: a shown run sits under its parent when the parent is shown too; otherwise it
is a root. So every matching run appears exactly once, whatever the filter.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nbtrack.entities import ViewType
from nbtrack.store import search
from nbtrack.store.sql import experiment_int, marks
from nbtrack.store.sqlite_errors import translate
from nbtrack.store.tracking import TrackingStore, decode_value

_DESCENDANTS = (
    "d(id) AS (SELECT run_uuid FROM runs WHERE parent_run_id = ? "
    "UNION SELECT c.run_uuid FROM runs c JOIN d ON c.parent_run_id = d.id)"
)
_HISTORY = """
SELECT run_uuid, key, value, is_nan FROM (
    SELECT run_uuid, key, value, is_nan,
           row_number() OVER w AS i, count(*) OVER (PARTITION BY run_uuid, key) AS n
    FROM metrics
    WHERE run_uuid IN (SELECT value FROM json_each(?)) AND key IN (SELECT value FROM json_each(?))
    WINDOW w AS (PARTITION BY run_uuid, key ORDER BY step, timestamp)
)
WHERE n > 1 AND ((i - 1) % ((n + ? - 1) / ?) = 0 OR i = n)
ORDER BY run_uuid, key, i
"""
_KEY_TABLES = {"params": "params", "metrics": "latest_metrics", "tags": "tags"}
STATS_SAMPLE = 2_000  # above this many shown runs, key stats come from a sample of them
MMAP_BYTES = 1 << 30  # address space only: the OS shares the pages with its file cache
ORDER_CACHE_ABOVE = 5_000  # above this many shown runs, one sort serves every page


@dataclass(frozen=True)
class RunScope:
    """Which runs a panel shows.

    Attributes
    ----------
    experiment_ids
        The experiments searched; None for every experiment.
    filter_string
        A ``search_runs`` filter; None or blank for all runs.
    under
        Only the descendants (any depth) of this run.
    run_ids
        Only these runs.
    view_type
        ``ViewType.ACTIVE_ONLY`` (default), ``DELETED_ONLY`` or ``ALL``.
    """

    experiment_ids: tuple[str, ...] | None = None
    filter_string: str | None = None
    under: str | None = None
    run_ids: tuple[str, ...] | None = None
    view_type: int = ViewType.ACTIVE_ONLY


@dataclass(frozen=True)
class KeyStat:
    """How a param, metric or tag key is spread over the shown runs.

    Over more than ``STATS_SAMPLE`` shown runs, both come from a uniform sample of them.
    """

    key: str
    present: int  # runs that have the key
    varies: bool  # whether those runs hold more than one value


class PanelQueries:
    """Read-only queries for the panels on one store, through a connection of their own."""

    def __init__(self, store: TrackingStore):
        self.store = store
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._shown_key: tuple[RunScope, int] | None = None  # what temp.shown holds now
        self._memo: dict[str, object] = {}  # counts and key stats of temp.shown

    @property
    def conn(self) -> sqlite3.Connection:
        """The panels' connection, opened on first use."""
        if self._conn is None:
            conn = self.store.db.open_reader()
            conn.execute("PRAGMA temp_store = MEMORY")
            # pages read through memory, not a system call each: a sort over 100,000 runs
            # probes the runs table in random order
            conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
            conn.execute(
                "CREATE TEMP TABLE shown (id TEXT PRIMARY KEY, parent TEXT, "
                "root INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID"
            )
            conn.execute("CREATE TEMP TABLE ordered (pos INTEGER PRIMARY KEY, id TEXT NOT NULL)")
            self._conn = conn
        return self._conn

    def close(self) -> None:
        """Close the panels' connection (reopened on next use)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
                self._shown_key = None

    def _query(self, sql: str, args: Sequence[object] = ()) -> list[tuple]:
        with self._lock, self._translated():
            return self.conn.execute(sql, args).fetchall()

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Raw ``sqlite3`` errors of the panels' connection as nbtrack's errors."""
        try:
            yield
        except (sqlite3.Error, OverflowError, UnicodeEncodeError) as exc:
            raise _as_nbtrack_error(exc, self.store.db.path) from exc

    # -- change detection -------------------------------------------------------------

    def change_token(self) -> int:
        """A number that moves whenever another connection (any process) commits."""
        return self._query("PRAGMA data_version")[0][0]

    # -- the shown runs ---------------------------------------------------------------

    @contextmanager
    def shown(self, scope: RunScope) -> Iterator[ShownRuns]:
        """Hold the runs of a scope for several queries, all on one snapshot of the store.

        The runs, their counts and key stats are reused while neither the scope nor the
        store changed: turning a page or sorting reads only that page.

        Raises
        ------
        InvalidFilter
            If the scope's filter does not parse (nothing is read then).
        """
        select, args = _select_scope(scope)
        with self._lock, self._translated():
            conn = self.conn
            conn.execute("BEGIN")
            try:
                key = (scope, conn.execute("PRAGMA data_version").fetchone()[0])
                if key != self._shown_key:
                    self._shown_key, self._memo = None, {}
                    conn.execute("DELETE FROM temp.shown")
                    conn.execute(f"INSERT INTO temp.shown (id, parent) {select}", args)
                    conn.execute(
                        "UPDATE temp.shown SET root = 1 WHERE parent IS NULL "
                        "OR parent NOT IN (SELECT id FROM temp.shown)"
                    )
                    self._shown_key = key
                yield ShownRuns(conn, self._memo)
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

    def descendants(self, run_id: str) -> list[str]:
        """Ids of the active descendants of a run, any depth, oldest first."""
        sql = (
            f"WITH RECURSIVE {_DESCENDANTS} SELECT r.run_uuid FROM runs r "
            "WHERE r.run_uuid IN (SELECT id FROM d) AND r.lifecycle_stage = 'active' "
            "ORDER BY r.start_time, r.run_uuid"
        )
        return [row[0] for row in self._query(sql, [run_id])]

    def descendant_counts(self, run_ids: Sequence[str]) -> dict[str, int]:
        """For each run, how many active descendants (any depth) it has."""
        sql = (
            "WITH RECURSIVE d(root, id) AS (SELECT parent_run_id, run_uuid FROM runs "
            "WHERE parent_run_id IN (SELECT value FROM json_each(?)) "
            "AND lifecycle_stage = 'active' UNION SELECT d.root, c.run_uuid FROM runs c "
            "JOIN d ON c.parent_run_id = d.id WHERE c.lifecycle_stage = 'active') "
            "SELECT root, count(*) FROM d GROUP BY root"
        )
        return dict(self._query(sql, [json.dumps(list(run_ids))]))

    def histories(
        self, run_ids: Sequence[str], keys: Sequence[str], points: int = 32
    ) -> dict[tuple[str, str], list[float]]:
        """Each (run, metric) history with more than one point, thinned to about ``points``."""
        if not run_ids or not keys:
            return {}
        rows = self._query(
            _HISTORY, [json.dumps(list(run_ids)), json.dumps(list(keys)), points, points]
        )
        found: dict[tuple[str, str], list[float]] = {}
        for run_id, key, value, is_nan in rows:
            found.setdefault((run_id, key), []).append(decode_value(value, is_nan))
        return found


class ShownRuns:
    """The runs of one scope, held in the temporary table ``shown`` (see ``shown()``)."""

    def __init__(self, conn: sqlite3.Connection, memo: dict[str, object]):
        self._conn = conn
        self._memo = memo

    def _query(self, sql: str, args: Sequence[object] = ()) -> list[tuple]:
        return self._conn.execute(sql, args).fetchall()

    def counts(self) -> tuple[int, int]:
        """(shown runs, of which tree roots)."""
        if "counts" not in self._memo:
            sql = "SELECT count(*), coalesce(sum(root), 0) FROM temp.shown"
            self._memo["counts"] = tuple(self._query(sql)[0])
        return self._memo["counts"]  # type: ignore[return-value]

    def page(
        self, order_by: Sequence[str] | None, offset: int, limit: int, roots_only: bool = False
    ) -> list[str]:
        """Ids of one page of the shown runs (or of the tree's roots), in order."""
        order = search.runs_query(None, list(order_by or []))
        where = "WHERE s.root = 1 " if roots_only else ""
        select = (
            f"SELECT r.run_uuid FROM temp.shown s JOIN runs r ON r.run_uuid = s.id "
            f"{order.joins} {where}ORDER BY {order.order}"
        )
        if self.counts()[0] <= ORDER_CACHE_ABOVE:
            sql = f"{select} LIMIT ? OFFSET ?"
            return [row[0] for row in self._query(sql, [*order.join_args, limit, offset])]
        # Many runs: sort them once per order (into temp.ordered); pages are then slices.
        key = ("ordered", tuple(order_by or ()), roots_only)
        if self._memo.get("ordered") != key:
            self._memo.pop("ordered", None)
            self._conn.execute("DELETE FROM temp.ordered")
            self._conn.execute(f"INSERT INTO temp.ordered (id) {select}", order.join_args)
            self._memo["ordered"] = key
        sql = "SELECT id FROM temp.ordered WHERE pos > ? ORDER BY pos LIMIT ?"
        return [row[0] for row in self._query(sql, [offset, limit])]

    def children(
        self, parent_ids: Sequence[str], order_by: Sequence[str] | None, limit: int
    ) -> dict[str, list[str]]:
        """The first ``limit`` shown children of each parent, in order."""
        if not parent_ids:
            return {}
        order = search.runs_query(None, list(order_by or []))
        sql = (
            "SELECT id, parent FROM (SELECT r.run_uuid AS id, s.parent AS parent, "
            f"row_number() OVER (PARTITION BY s.parent ORDER BY {order.order}) AS n "
            f"FROM temp.shown s JOIN runs r ON r.run_uuid = s.id {order.joins} "
            "WHERE s.parent IN (SELECT value FROM json_each(?))) "
            "WHERE n <= ? ORDER BY parent, n"
        )
        found: dict[str, list[str]] = {}
        for run_id, parent in self._query(
            sql, [*order.join_args, json.dumps(list(parent_ids)), limit]
        ):
            found.setdefault(parent, []).append(run_id)
        return found

    def child_counts(self, run_ids: Sequence[str]) -> dict[str, int]:
        """For each run, how many of its direct children are shown."""
        sql = (
            "SELECT parent, count(*) FROM temp.shown "
            "WHERE parent IN (SELECT value FROM json_each(?)) GROUP BY parent"
        )
        return dict(self._query(sql, [json.dumps(list(run_ids))]))

    def key_stats(self) -> dict[str, list[KeyStat]]:
        """Per group (params, metrics, tags): each key's presence and whether it varies."""
        if "key_stats" in self._memo:
            return self._memo["key_stats"]  # type: ignore[return-value]
        shown, _ = self.counts()
        (every,) = self._query("SELECT count(*) FROM runs")[0]
        # A few shown runs among many: look each one's keys up (CROSS JOIN fixes that
        # order). Most runs shown: scan the key table once, probing the shown set.
        join = "CROSS JOIN" if shown * 3 < every or shown > STATS_SAMPLE else "JOIN"
        source = "temp.shown"
        if shown > STATS_SAMPLE:
            # Exact stats would read every value of every run (seconds at 100,000 runs);
            # the first ids of ``shown`` are a uniform sample (run ids are random).
            source = f"(SELECT id FROM temp.shown LIMIT {STATS_SAMPLE})"
        sampled = min(shown, STATS_SAMPLE)
        stats: dict[str, list[KeyStat]] = {}
        for group, table in _KEY_TABLES.items():
            # min != max tells "varies" without the sort a count(DISTINCT) needs
            varies = "min(t.value) != max(t.value)"
            if group == "metrics":
                varies += " OR min(t.is_nan) != max(t.is_nan)"
            sql = (
                f"SELECT t.key, count(*), {varies} FROM {source} s "
                f"{join} {table} t ON t.run_uuid = s.id GROUP BY t.key ORDER BY t.key"
            )
            stats[group] = [
                KeyStat(key, _scaled(n, sampled, shown), bool(v)) for key, n, v in self._query(sql)
            ]
        self._memo["key_stats"] = stats
        return stats

    def ids(self) -> list[str]:
        """Every shown run id (unordered)."""
        return [row[0] for row in self._query("SELECT id FROM temp.shown")]


def _as_nbtrack_error(exc: BaseException, path: Path) -> BaseException:
    return translate(exc, path) or exc


def _scaled(count: int, sampled: int, shown: int) -> int:
    """A key's presence in ``sampled`` runs, scaled to ``shown`` (all only if all had it)."""
    if count >= sampled:
        return shown
    if sampled >= shown:
        return count
    return min(shown - 1, max(1, round(count * shown / sampled)))


def _select_scope(scope: RunScope) -> tuple[str, list]:
    """``SELECT run_uuid, parent_run_id FROM runs …`` for the runs of a scope."""
    where = search.runs_query(scope.filter_string or None, None)
    prefix = ""
    conds: list[str] = []
    args: list[object] = []
    if scope.under is not None:
        prefix = f"WITH RECURSIVE {_DESCENDANTS} "
        args.append(scope.under)
        conds.append("r.run_uuid IN (SELECT id FROM d)")
    if scope.experiment_ids is not None:
        exp_ids = [experiment_int(e) for e in scope.experiment_ids]
        conds.append(f"r.experiment_id IN ({marks(exp_ids)})")
        args += exp_ids
    if scope.run_ids is not None:
        conds.append("r.run_uuid IN (SELECT value FROM json_each(?))")
        args.append(json.dumps(list(scope.run_ids)))
    stages = ViewType.stages(scope.view_type)
    conds.append(f"r.lifecycle_stage IN ({marks(stages)})")
    args += stages
    conds.append(f"({where.where})")
    args += where.where_args
    sql = f"{prefix}SELECT r.run_uuid, r.parent_run_id FROM runs r WHERE {' AND '.join(conds)}"
    return sql, args


_queries: dict[str, PanelQueries] = {}
_queries_lock = threading.Lock()


def panel_queries(store: TrackingStore) -> PanelQueries:
    """The shared ``PanelQueries`` of a store (one connection per store file and process)."""
    key = str(store.db.path)
    with _queries_lock:
        found = _queries.get(key)
        if found is None or found.store is not store:
            if found is not None:  # the store was reopened (close_all): so is the connection
                found.close()
            found = _queries[key] = PanelQueries(store)
        return found


def close_all() -> None:
    """Close every panel connection (tests, and before a store file is moved)."""
    with _queries_lock:
        for queries in _queries.values():
            queries.close()
        _queries.clear()
