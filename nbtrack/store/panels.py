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
is a root. When a filter matches a run but not its parent, the parent (and its ancestors
up to the scope's top) are shown as *context* rows, so matched child runs always appear
under their parents, never flat without them; context rows are counted apart from the
matches. Every matching run appears exactly once, whatever the filter. Reading, paging
and sorting the shown runs is :mod:`nbtrack.store.shown_runs`.
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
from nbtrack.store.shown_runs import PARENT_INDEX, PARENT_INDEX_SQL, TEMP_TABLES, ShownRuns
from nbtrack.store.sql import experiment_int, marks
from nbtrack.store.sqlite_errors import translate
from nbtrack.store.tracking import TrackingStore, decode_value

_DESCENDANTS = (
    "d(id) AS (SELECT run_uuid FROM runs WHERE parent_run_id = ? "
    "UNION SELECT c.run_uuid FROM runs c JOIN d ON c.parent_run_id = d.id)"
)
# key tables and the indexes led by their key (schema migration 4)
_KEY_INDEXES = {
    "metrics": ("latest_metrics", "latest_metrics_key_nan_value"),
    "params": ("params", "params_key_value"),
    "tags": ("tags", "tags_key_value"),
}
MMAP_BYTES = 1 << 30  # address space only: the OS shares the pages with its file cache
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


class PanelQueries:
    """Read-only queries for the panels on one store, through a connection of their own."""

    def __init__(self, store: TrackingStore):
        self.store = store
        self.file_id = store.db.file_id  # the file this connection reads
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._shown_key: tuple[RunScope, int] | None = None  # what temp.shown holds now
        self._memo: dict[str, object] = {}  # counts and key stats of temp.shown
        self._key_names: tuple[tuple, dict[str, list[str]]] | None = None
        self._descendants: tuple[int, dict[str, int]] = (-1, {})  # (store version, counts)

    @property
    def conn(self) -> sqlite3.Connection:
        """The panels' connection, opened on first use."""
        if self._conn is None:
            conn = self.store.db.open_reader()
            conn.execute("PRAGMA temp_store = MEMORY")
            for statement in TEMP_TABLES:
                conn.execute(statement)
            # pages read through memory, not a system call each: a sort over 100,000 runs
            # probes the runs table in random order
            conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
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
                    conn.execute(f"DROP INDEX IF EXISTS {PARENT_INDEX}")
                    conn.execute("DELETE FROM temp.shown")
                    conn.execute(f"INSERT INTO temp.shown (id, parent, root) {select}", args)
                    conn.execute(PARENT_INDEX_SQL)
                    if scope.filter_string and scope.filter_string.strip():
                        sql, context_args = _select_context(scope)
                        conn.execute(
                            f"INSERT OR IGNORE INTO temp.shown (id, parent, root, context) {sql}",
                            context_args,
                        )
                    # runs without a parent are roots from the start; those whose parent
                    # is not shown, once every run is in (read through the parent index)
                    conn.execute(
                        "UPDATE temp.shown SET root = 1 WHERE parent IS NOT NULL "
                        "AND parent NOT IN (SELECT id FROM temp.shown)"
                    )
                    self._shown_key = key
                yield ShownRuns(conn, self._memo, _one_experiment(scope))
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

    def key_names(self, experiment_ids: Sequence[str] | None) -> dict[str, list[str]]:
        """The metric, param and tag keys logged by active runs of these experiments.

        By group (``"metrics"``, ``"params"``, ``"tags"``), sorted; every experiment when
        ``experiment_ids`` is None. Read by skipping through each key index (one seek per
        distinct key, milliseconds at 100,000 runs), kept until the store changes.
        """
        scope = tuple(experiment_ids) if experiment_ids is not None else None
        with self._lock, self._translated():
            version = self.conn.execute("PRAGMA data_version").fetchone()[0]
            memo = self._key_names
            if memo is not None and memo[0] == (scope, version):
                return memo[1]
            found = {
                group: _distinct_keys(self.conn, table, index, scope)
                for group, (table, index) in _KEY_INDEXES.items()
            }
            self._key_names = ((scope, version), found)
            return found

    def descendants(self, run_id: str) -> list[str]:
        """Ids of the active descendants of a run, any depth, oldest first."""
        sql = (
            f"WITH RECURSIVE {_DESCENDANTS} SELECT r.run_uuid FROM runs r "
            "WHERE r.run_uuid IN (SELECT id FROM d) AND r.lifecycle_stage = 'active' "
            "ORDER BY r.start_time, r.run_uuid"
        )
        return [row[0] for row in self._query(sql, [run_id])]

    def descendant_counts(self, run_ids: Sequence[str]) -> dict[str, int]:
        """For each run with any, how many active descendants (any depth) it has.

        Kept until the store changes: the same parents come back on every page, sort
        and filter, and a sweep's thousands of runs take milliseconds to count.
        """
        sql = (
            "WITH RECURSIVE d(root, id) AS (SELECT parent_run_id, run_uuid FROM runs "
            "WHERE parent_run_id IN (SELECT value FROM json_each(?)) "
            "AND lifecycle_stage = 'active' UNION SELECT d.root, c.run_uuid FROM runs c "
            "JOIN d ON c.parent_run_id = d.id WHERE c.lifecycle_stage = 'active') "
            "SELECT root, count(*) FROM d GROUP BY root"
        )
        with self._lock, self._translated():
            version = self.conn.execute("PRAGMA data_version").fetchone()[0]
            if self._descendants[0] != version:
                self._descendants = (version, {})
            known = self._descendants[1]
            missing = [run_id for run_id in dict.fromkeys(run_ids) if run_id not in known]
            if missing:
                known.update(dict.fromkeys(missing, 0))
                known.update(self.conn.execute(sql, [json.dumps(missing)]).fetchall())
            return {run_id: known[run_id] for run_id in run_ids if known[run_id]}

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


def _distinct_keys(
    conn: sqlite3.Connection, table: str, index: str, experiment_ids: tuple[str, ...] | None
) -> list[str]:
    """The keys of a key table (in runs of some experiments), by a loose scan of its index."""
    keys_in = f"{table} INDEXED BY {index}"
    walk = (
        f"WITH RECURSIVE k(key) AS (SELECT min(key) FROM {keys_in} UNION ALL "
        f"SELECT (SELECT min(key) FROM {keys_in} WHERE key > k.key) FROM k "
        "WHERE k.key IS NOT NULL) SELECT key FROM k WHERE key IS NOT NULL"
    )
    args: list[object] = []
    if experiment_ids is not None:
        exp_ids = [experiment_int(e) for e in experiment_ids]
        walk += (
            f" AND EXISTS (SELECT 1 FROM {table} AS t INDEXED BY {index} "
            "JOIN runs r ON r.run_uuid = t.run_uuid "
            f"WHERE t.key = k.key AND r.experiment_id IN ({marks(exp_ids)}) "
            "AND r.lifecycle_stage = 'active')"
        )
        args += exp_ids
    return [row[0] for row in conn.execute(walk, args)]


def _one_experiment(scope: RunScope) -> int | None:
    """The experiment every run of a scope is in, when it names one."""
    ids = scope.experiment_ids
    return experiment_int(ids[0]) if ids is not None and len(ids) == 1 else None


def _as_nbtrack_error(exc: BaseException, path: Path) -> BaseException:
    return translate(exc, path) or exc


def _scope_conditions(scope: RunScope) -> tuple[str, list[str], list]:
    """(``WITH RECURSIVE`` prefix, conditions on ``runs r``, their args): the scope, unfiltered."""
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
    return prefix, conds, args


def _select_scope(scope: RunScope) -> tuple[str, list]:
    """``SELECT run_uuid, parent_run_id, <no parent> FROM runs …`` for the runs of a scope."""
    where = search.runs_query(scope.filter_string or None, None)
    prefix, conds, args = _scope_conditions(scope)
    conds.append(f"({where.where})")
    args += where.where_args
    sql = (
        f"{prefix}SELECT r.run_uuid, r.parent_run_id, r.parent_run_id IS NULL FROM runs r "
        f"WHERE {' AND '.join(conds)}"
    )
    return sql, args


def _select_context(scope: RunScope) -> tuple[str, list]:
    """``SELECT id, parent, <no parent>, 1`` of the unmatched ancestors of the shown runs.

    Walks up from each shown run whose parent is not shown, through ancestors in the
    scope (same experiments, lifecycle, ``under`` and ``run_ids``; the filter aside),
    stopping at the first one outside it, so every context row leads to a match.
    """
    prefix, conds, args = _scope_conditions(scope)
    where = " AND ".join(conds)
    up = (
        # driven from the shown runs' parents (CROSS JOIN: never a scan of every run)
        "up(id, parent) AS (SELECT r.run_uuid, r.parent_run_id FROM "
        "(SELECT DISTINCT parent AS id FROM temp.shown WHERE parent IS NOT NULL) p "
        "CROSS JOIN runs r ON r.run_uuid = p.id "
        f"WHERE r.run_uuid NOT IN (SELECT id FROM temp.shown) AND {where} "
        "UNION SELECT r.run_uuid, r.parent_run_id FROM up CROSS JOIN runs r "
        "ON r.run_uuid = up.parent "
        f"WHERE r.run_uuid NOT IN (SELECT id FROM temp.shown) AND {where})"
    )
    head = f"{prefix}, {up}" if prefix else f"WITH RECURSIVE {up}"
    under = args[:1] if scope.under is not None else []
    rest = args[len(under) :]
    return f"{head} SELECT id, parent, parent IS NULL, 1 FROM up", [*under, *rest, *rest]


_queries: dict[str, PanelQueries] = {}
_queries_lock = threading.Lock()


def panel_queries(store: TrackingStore) -> PanelQueries:
    """The shared ``PanelQueries`` of a store (one connection per store file and process)."""
    key = str(store.db.path)
    with _queries_lock:
        found = _queries.get(key)
        if found is None or found.store is not store or found.file_id != store.db.file_id:
            if found is not None:  # the store was reopened (close_all, its file replaced)
                found.close()
            found = _queries[key] = PanelQueries(store)
        return found


def close_all() -> None:
    """Close every panel connection (tests, and before a store file is moved)."""
    with _queries_lock:
        for queries in _queries.values():
            queries.close()
        _queries.clear()
