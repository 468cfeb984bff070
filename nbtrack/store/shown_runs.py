"""The runs a panel shows, held in the temporary table ``shown``: counted, paged, sorted.

``PanelQueries.shown()`` fills ``temp.shown`` once per scope and store version; this
module reads it. Each row is a run with its parent, whether it is a tree root, and
whether it is a *context* row: a run that does not match the filter but is an ancestor
of one that does, kept so that matched child runs are shown under their parents.

Tree sorting (what MLflow's UI users expect from a sorted, nested table): top-level runs
are ordered by the sort key, and so are the children within each parent. A run that
matched the filter and has a value for the first sort key is placed by its own value; a
context run, or one without that value, is placed by its best shown descendant (the one
that would sort first among those that have the value). So sorting by ``metrics.rmse``
brings a sweep parent that logged no rmse next to the runs its best child competes with,
instead of to the end. Paging is by top-level runs, so pages never split a group.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from nbtrack.store import first_page, search

STATS_SAMPLE = 1_000  # above this many shown runs, key stats come from a sample of them
ORDER_CACHE_ABOVE = 1_000  # above this many rows paged over, one sort serves the pages
WALKED_ROWS = 1_000  # ... but those within this many rows of the start (index walks)
_KEY_TABLES = {"params": "params", "metrics": "latest_metrics", "tags": "tags"}
# runs, or their stand-ins (see _proxies), as ``r`` for the ORDER BY of the sort
_PLACED = (
    "LEFT JOIN temp.proxy x ON x.id = s.id JOIN runs r ON r.run_uuid = coalesce(x.proxy, s.id)"
)
# (source, condition) of the runs paged over: tree roots, or every matched run
_PAGED = {
    True: (f"temp.shown s {_PLACED}", "s.root = 1"),
    False: ("temp.shown s JOIN runs r ON r.run_uuid = s.id", "s.context = 0"),
}

TEMP_TABLES = (
    "CREATE TEMP TABLE shown (id TEXT PRIMARY KEY, parent TEXT, root INTEGER NOT NULL DEFAULT 0, "
    "context INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID",
    "CREATE TEMP TABLE ordered (pos INTEGER PRIMARY KEY, id TEXT NOT NULL)",
    "CREATE TEMP TABLE proxy (id TEXT PRIMARY KEY, proxy TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TEMP TABLE needy (id TEXT PRIMARY KEY) WITHOUT ROWID",
)
# children by parent, for the tree's walks and counts (only runs with a parent): built
# once the matched runs are in (kept up while inserting, it cost 2-7 times as much)
PARENT_INDEX = "temp.shown_parent"
PARENT_INDEX_SQL = f"CREATE INDEX {PARENT_INDEX} ON shown (parent) WHERE parent IS NOT NULL"


@dataclass(frozen=True)
class KeyStat:
    """How a param, metric or tag key is spread over the shown runs.

    Over more than ``STATS_SAMPLE`` shown runs, both come from a uniform sample of them.
    """

    key: str
    present: int  # runs that have the key
    varies: bool  # whether those runs hold more than one value


class ShownRuns:
    """The runs of one scope, held in the temporary table ``shown`` (see ``shown()``)."""

    def __init__(self, conn: sqlite3.Connection, memo: dict[str, object], experiment: int | None):
        self._conn = conn
        self._memo = memo
        self._experiment = experiment  # the one experiment of every shown run, if one

    def _query(self, sql: str, args: Sequence[object] = ()) -> list[tuple]:
        return self._conn.execute(sql, args).fetchall()

    def counts(self) -> tuple[int, int]:
        """(shown runs that matched, tree roots: matched or context)."""
        if "counts" not in self._memo:
            sql = (
                "SELECT count(*) - coalesce(sum(context), 0), coalesce(sum(root), 0) "
                "FROM temp.shown"
            )
            self._memo["counts"] = tuple(self._query(sql)[0])
        return self._memo["counts"]  # type: ignore[return-value]

    def page(
        self, order_by: Sequence[str] | None, offset: int, limit: int, roots_only: bool = False
    ) -> list[str]:
        """Ids of one page of the matched runs (flat), or of the tree's roots, in order.

        Tree roots are ordered as the module docstring says (context roots included).
        """
        if roots_only:
            self._proxies(order_by)
        if self.counts()[1 if roots_only else 0] <= ORDER_CACHE_ABOVE:
            return self._sorted(order_by, roots_only, "LIMIT ? OFFSET ?", [limit, offset])
        # Many runs: the pages near the start of an order come from an index walk (see
        # first_page), or else the first one from a LIMIT query (SQLite keeps only the
        # best rows while it scans, no full sort); other pages are slices of one sort of
        # every run for that order (into temp.ordered).
        key = ("ordered", tuple(order_by or ()), roots_only)
        if self._memo.get("ordered") != key and offset + limit <= WALKED_ROWS:
            head = self._memo.get("head")  # kept: a refresh reads the same page
            if not (isinstance(head, tuple) and head[:2] == (key, offset + limit)):
                ids = self._head(order_by, offset + limit, roots_only, offset == 0)
                head = self._memo["head"] = (key, offset + limit, ids)
            if head[2] is not None:
                return head[2][offset:]
        self._sort_every(order_by, roots_only)
        sql = "SELECT id FROM temp.ordered WHERE pos > ? ORDER BY pos LIMIT ?"
        return [row[0] for row in self._query(sql, [offset, limit])]

    def _head(
        self, order_by: Sequence[str] | None, count: int, roots_only: bool, or_scan: bool
    ) -> list[str] | None:
        """The first ``count`` runs of an order, sorting only those that can be among them.

        Without an index to walk (see :mod:`nbtrack.store.first_page`): ranking every run
        in a LIMIT query when ``or_scan``, else None.
        """
        ranked = self.counts()[1 if roots_only else 0]
        found = first_page.candidates(
            self._conn, order_by, count, roots_only, self._experiment, ranked
        )
        if found is None:
            return self._sorted(order_by, roots_only, "LIMIT ?", [count]) if or_scan else None
        return self._sorted(order_by, roots_only, "LIMIT ?", [count], found)

    def _sorted(
        self,
        order_by: Sequence[str] | None,
        roots_only: bool,
        limit: str,
        limit_args: list[object],
        among: list[str] | None = None,
    ) -> list[str]:
        """The runs paged over (or those ``among`` them) in order, within a LIMIT clause."""
        sql, args = _select(order_by, roots_only, among)
        return [row[0] for row in self._query(f"{sql} {limit}", [*args, *limit_args])]

    def _sort_every(self, order_by: Sequence[str] | None, roots_only: bool) -> None:
        """Sort every run paged over for this order into ``temp.ordered`` (once)."""
        key = ("ordered", tuple(order_by or ()), roots_only)
        if self._memo.get("ordered") == key:
            return
        self._memo.pop("ordered", None)
        sql, args = _select(order_by, roots_only)
        self._conn.execute("DELETE FROM temp.ordered")
        self._conn.execute(f"INSERT INTO temp.ordered (id) {sql}", args)
        self._memo["ordered"] = key

    def children(
        self, parent_ids: Sequence[str], order_by: Sequence[str] | None, limit: int
    ) -> dict[str, list[str]]:
        """The first ``limit`` shown children of each parent, in the tree's order."""
        if not parent_ids:
            return {}
        self._proxies(order_by)
        order = search.runs_query(None, list(order_by or []))
        sql = (
            "SELECT id, parent FROM (SELECT s.id AS id, s.parent AS parent, "
            f"row_number() OVER (PARTITION BY s.parent ORDER BY {order.order}) AS n "
            f"FROM temp.shown s {_PLACED} {order.joins} "
            "WHERE s.parent IN (SELECT value FROM json_each(?))) "
            "WHERE n <= ? ORDER BY parent, n"
        )
        found: dict[str, list[str]] = {}
        for run_id, parent in self._query(
            sql, [*order.join_args, json.dumps(list(parent_ids)), limit]
        ):
            found.setdefault(parent, []).append(run_id)
        return found

    def _proxies(self, order_by: Sequence[str] | None) -> None:
        """Fill ``temp.proxy``: the run whose sort values place each context or valueless parent.

        Only runs with shown children need one (a leaf is placed by its own values), so
        this reads the few parents and their subtrees, never every shown run.
        """
        key = ("proxy", tuple(order_by or ()))
        if self._memo.get("proxy") == key:
            return
        self._memo.pop("proxy", None)
        order = search.runs_query(None, list(order_by or []))
        has, has_args = _has_value(order_by)
        self._conn.execute("DELETE FROM temp.proxy")
        self._conn.execute("DELETE FROM temp.needy")
        if has_args:
            needy = (
                "SELECT p.id FROM (SELECT DISTINCT parent AS id FROM temp.shown "
                "WHERE parent IS NOT NULL) p JOIN temp.shown s ON s.id = p.id "
                f"JOIN runs r ON r.run_uuid = p.id WHERE s.context = 1 OR NOT ({has})"
            )
        else:  # every run has a value: context rows (all with shown children) need one
            needy = "SELECT id FROM temp.shown WHERE context = 1"
        self._conn.execute(f"INSERT INTO temp.needy (id) {needy}", has_args)
        if self._query("SELECT count(*) FROM temp.needy")[0][0]:
            self._conn.execute(
                "WITH RECURSIVE sub(top, id) AS (SELECT id, id FROM temp.needy UNION ALL "
                "SELECT sub.top, c.id FROM sub JOIN temp.shown c ON c.parent = sub.id) "
                "INSERT INTO temp.proxy (id, proxy) SELECT top, id FROM ("
                "SELECT sub.top, sub.id, row_number() OVER "
                f"(PARTITION BY sub.top ORDER BY {order.order}) AS n FROM sub "
                "JOIN temp.shown s ON s.id = sub.id JOIN runs r ON r.run_uuid = sub.id "
                f"{order.joins} WHERE sub.id != sub.top AND s.context = 0 AND ({has})) "
                "WHERE n = 1",
                [*order.join_args, *has_args],
            )
        self._memo["proxy"] = key

    def child_counts(self, run_ids: Sequence[str]) -> dict[str, int]:
        """For each run, how many of its direct children are shown (matched or context)."""
        sql = (
            "SELECT parent, count(*) FROM temp.shown "
            "WHERE parent IN (SELECT value FROM json_each(?)) GROUP BY parent"
        )
        return dict(self._query(sql, [json.dumps(list(run_ids))]))

    def context_ids(self, run_ids: Sequence[str]) -> set[str]:
        """Those of ``run_ids`` that are context rows (shown for a matching descendant)."""
        sql = (
            "SELECT id FROM temp.shown WHERE context = 1 AND id IN (SELECT value FROM json_each(?))"
        )
        return {row[0] for row in self._query(sql, [json.dumps(list(run_ids))])}

    def key_stats(self) -> dict[str, list[KeyStat]]:
        """Per group (params, metrics, tags): each key's presence and whether it varies.

        Over the matched runs only (context rows are not what the filter asked for).
        """
        if "key_stats" in self._memo:
            return self._memo["key_stats"]  # type: ignore[return-value]
        shown, _ = self.counts()
        (every,) = self._query("SELECT count(*) FROM runs")[0]
        # A few shown runs among many: look each one's keys up (CROSS JOIN fixes that
        # order). Most runs shown: scan the key table once, probing the shown set.
        join = "CROSS JOIN" if shown * 3 < every or shown > STATS_SAMPLE else "JOIN"
        # Exact stats over many runs would read every value of every run (seconds at
        # 100,000 runs); the first ids of ``shown`` are a uniform sample (ids are random).
        limit = f" LIMIT {STATS_SAMPLE}" if shown > STATS_SAMPLE else ""
        source = f"(SELECT id FROM temp.shown WHERE context = 0{limit})"
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
                KeyStat(key, scaled(n, sampled, shown), bool(v)) for key, n, v in self._query(sql)
            ]
        self._memo["key_stats"] = stats
        return stats

    def ids(self) -> list[str]:
        """Every matched run id (unordered; context rows left out)."""
        return [row[0] for row in self._query("SELECT id FROM temp.shown WHERE context = 0")]


def _select(
    order_by: Sequence[str] | None, roots_only: bool, among: list[str] | None = None
) -> tuple[str, list[object]]:
    """``SELECT`` the runs paged over (or those ``among`` them) in order, with its args."""
    order = search.runs_query(None, list(order_by or []))
    source, where = _PAGED[roots_only]
    args: list[object] = list(order.join_args)
    if among is not None:  # driven from those runs (CROSS JOIN fixes that order)
        source = f"json_each(?) c CROSS JOIN {source}"
        where += " AND s.id = c.value"
        args.insert(0, json.dumps(among))
    sql = f"SELECT s.id FROM {source} {order.joins} WHERE {where} ORDER BY {order.order}"
    return sql, args


def _has_value(order_by: Sequence[str] | None) -> tuple[str, list]:
    """SQL over ``runs r``: whether a run has a value for the first sort term.

    Only metric, param and tag terms can lack one; attributes always have a value here.
    """
    lead = first_page.leading(order_by)
    if lead.table is None:
        return "1", []
    return f"EXISTS (SELECT 1 FROM {lead.table} WHERE run_uuid = r.run_uuid AND key = ?)", [
        lead.key
    ]


def scaled(count: int, sampled: int, shown: int) -> int:
    """A key's presence in ``sampled`` runs, scaled to ``shown`` (all only if all had it)."""
    if count >= sampled:
        return shown
    if sampled >= shown:
        return count
    return min(shown - 1, max(1, round(count * shown / sampled)))
