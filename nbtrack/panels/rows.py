"""The run table's content as plain JSON-ready data: its columns and one page of rows.

Kept apart from the widget so that the static rendering, the tests and the widget all
read the same thing. Values that JSON cannot carry (NaN, ±inf) travel as the strings
``"NaN"``, ``"Infinity"``, ``"-Infinity"``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from nbtrack import tag_keys
from nbtrack.panels.failures import error_line
from nbtrack.store.panels import PanelQueries, RunScope
from nbtrack.store.shown_runs import KeyStat, ShownRuns

SPARK_POINTS = 32
MAX_SPARK_KEYS = 12
CONTEXT_CHILDREN = 10  # matches first shown under an (always open) context row

# (key, label, order_by column or None when SQL cannot sort on it)
ATTRIBUTES: tuple[tuple[str, str, str | None], ...] = (
    ("run_name", "Run name", "attributes.run_name"),
    ("status", "Status", "attributes.status"),
    ("start_time", "Created", "attributes.start_time"),
    ("duration", "Duration", None),
    ("user_id", "User", "attributes.user_id"),
    ("source", "Source", f"tags.`{tag_keys.SOURCE_NAME}`"),
)
TIMING_METRICS = frozenset({"mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time"})
LEADING_ATTRIBUTES = 2  # run name and status come first; the other attributes last


def is_timing(key: str) -> bool:
    """Whether a metric measures time (scikit-learn's fit and score times, any ``*_time``)."""
    return key in TIMING_METRICS or key.endswith("_time")


def json_number(value: float) -> float | str:
    """A float JSON can carry: NaN and ±inf become strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def order_column(group: str, key: str) -> str:
    """The ``order_by`` column of a param, metric or tag key (backticked: any key works)."""
    return f"{group}.`{key}`"


@dataclass
class TableState:
    """What the user chose: the view over the scope (sort, page, tree, expanded rows)."""

    order_by: list[str] = field(default_factory=list)
    page: int = 0
    page_size: int = 50
    tree: bool = True
    expanded: Sequence[str] = ()
    collapsed: Sequence[str] = ()  # context rows the user closed (they open by themselves)
    child_limits: dict[str, int] = field(default_factory=dict)


@dataclass
class TableContent:
    """One rendering of the table."""

    columns: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    total: int  # shown runs
    roots: int  # rows paged over (tree roots, or every run when flat)
    page: int  # the page actually shown (clamped)


def columns(stats: dict[str, list[KeyStat]], total: int) -> list[dict[str, Any]]:
    """The table's columns: name, status, metrics, params, user tags, other attributes.

    In each group the keys keep one order, by name (metrics: timings last), whatever
    their values: a column never moves when a filter or a new run makes it constant or
    varying again. ``varies`` tells which ones differ, for the "Only differing columns"
    box and the dimmed headers of the constant ones.
    """
    attributes = [
        {"group": "attributes", "key": key, "label": label, "sort": sort, "varies": True}
        for key, label, sort in ATTRIBUTES
    ]
    cols = attributes[:LEADING_ATTRIBUTES]
    for group in ("metrics", "params", "tags"):
        keys = [
            s
            for s in stats.get(group, [])
            if group != "tags" or not s.key.startswith(tag_keys.SYSTEM_PREFIXES)
        ]
        keys.sort(key=lambda s: (group == "metrics" and is_timing(s.key), s.key))
        cols += [
            {
                "group": group,
                "key": s.key,
                "label": s.key,
                "sort": order_column(group, s.key),
                "varies": s.varies or s.present < total,
            }
            for s in keys
        ]
    return cols + attributes[LEADING_ATTRIBUTES:]


def build(queries: PanelQueries, scope: RunScope, state: TableState) -> TableContent:
    """Read one page of the table (and the expanded children under its rows).

    Raises
    ------
    InvalidFilter
        If the scope's filter or the sort does not parse.
    """
    size = max(1, state.page_size)
    with queries.shown(scope) as shown:
        total, roots = shown.counts()
        paged = roots if state.tree else total
        page = min(max(0, state.page), max(0, (paged - 1) // size))
        top = shown.page(state.order_by, page * size, size, roots_only=state.tree)
        stats = shown.key_stats()
        limit = max([size, *state.child_limits.values()])
        expanded, context, kids = _open_branches(shown, top, state, limit)
        candidates = top + [k for ks in kids.values() for k in ks]
        counts = shown.child_counts(candidates) if state.tree else {}
    cols = columns(stats, total)
    placed = _walk(top, kids, counts, expanded, context, state, size)
    ids = [item["id"] for item in placed if "id" in item]
    rows = _rows(queries, ids, cols, counts, placed)
    for row in rows:
        if row.get("id") in context:
            row["context"] = True
    return TableContent(cols, rows, total, paged, page)


def _open_branches(
    shown: ShownRuns, top: list[str], state: TableState, limit: int
) -> tuple[set[str], set[str], dict[str, list[str]]]:
    """(expanded runs, context runs, children of each expanded run) for one page.

    Context rows (unmatched parents of matched runs) open by themselves, unless the user
    collapsed them: they are shown only for the matches below them. Opening them may
    reveal deeper context rows, so the tree is read level by level.
    """
    if not state.tree:
        return set(), set(), {}
    expanded = set(state.expanded)
    context: set[str] = set()
    kids: dict[str, list[str]] = {}
    level = top
    collapsed = set(state.collapsed)
    while level:
        found = shown.context_ids(level)
        context |= found
        expanded |= found - collapsed
        wanted = [run_id for run_id in level if run_id in expanded and run_id not in kids]
        fetched = shown.children(wanted, state.order_by, limit) if wanted else {}
        kids.update(fetched)
        level = [k for ks in fetched.values() for k in ks]
    return expanded, context, kids


def _walk(
    top: list[str],
    kids: dict[str, list[str]],
    counts: dict[str, int],
    expanded: set[str],
    context: set[str],
    state: TableState,
    size: int,
) -> list[dict[str, Any]]:
    """The visible rows in order: each run, then its expanded children, depth first.

    A context row opens on its first ``CONTEXT_CHILDREN`` matches (a page of 50 groups
    could otherwise hold thousands of rows), the rest behind "show more".
    """
    placed: list[dict[str, Any]] = []

    def visit(run_ids: list[str], depth: int) -> None:
        for run_id in run_ids:
            placed.append({"id": run_id, "depth": depth})
            if run_id not in expanded:
                continue
            limit = state.child_limits.get(run_id, first_children(run_id in context, size))
            children = kids.get(run_id, [])[:limit]
            visit(children, depth + 1)
            hidden = counts.get(run_id, 0) - len(children)
            if hidden > 0:
                placed.append({"more": run_id, "depth": depth + 1, "hidden": hidden})

    visit(top, 0)
    return placed


def first_children(context: bool, page_size: int) -> int:
    """How many children an opened row shows before "show more" (fewer under context rows)."""
    return min(page_size, CONTEXT_CHILDREN) if context else page_size


def more_children(shown: int | None, context: bool, page_size: int) -> int:
    """The children shown after "show more": twice those shown now (10, 20, 40... or 50, 100...).

    ``shown`` is the limit the user reached so far (None: the first one).
    """
    return 2 * (shown if shown is not None else first_children(context, page_size))


def _rows(
    queries: PanelQueries,
    ids: list[str],
    cols: list[dict[str, Any]],
    counts: dict[str, int],
    placed: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    table = queries.store.run_table(ids)
    spark_keys = [c["key"] for c in cols if c["group"] == "metrics"][:MAX_SPARK_KEYS]
    sparks = queries.histories(ids, spark_keys, SPARK_POINTS)
    descendants = queries.descendant_counts(ids)
    info = {row.run_id: row for row in table.runs}
    values: dict[str, dict[str, dict[str, Any]]] = {i: {"p": {}, "m": {}, "t": {}} for i in ids}
    for rid, key, value in table.params:
        values[rid]["p"][key] = value
    for rid, key, number in table.metrics:
        values[rid]["m"][key] = json_number(number)
    for rid, key, value in table.tags:
        values[rid]["t"][key] = value
    rows = []
    for item in placed:
        run_id = item.get("id")
        if run_id is None:
            rows.append(item)
            continue
        if run_id not in info:  # deleted between the two reads; the next refresh settles it
            continue
        run = info[run_id]
        data = values[run_id]
        rows.append(
            {
                "id": run_id,
                "depth": item["depth"],
                "name": run.name,
                "status": run.status,
                "start": run.start_time,
                "end": run.end_time,
                "user": run.user_id,
                "source": data["t"].get(tag_keys.SOURCE_NAME, ""),
                "children": counts.get(run_id, 0),
                "descendants": descendants.get(run_id, 0),
                "models": tag_keys.LOGGED_MODELS in data["t"],
                "error": error_line(run.artifact_uri) if run.status == "FAILED" else "",
                "deleted": run.lifecycle_stage == "deleted",
                "p": data["p"],
                "m": data["m"],
                "t": {
                    k: v for k, v in data["t"].items() if not k.startswith(tag_keys.SYSTEM_PREFIXES)
                },
                "s": {
                    key: [json_number(v) for v in sparks[(run_id, key)]]
                    for key in spark_keys
                    if (run_id, key) in sparks
                },
            }
        )
    return rows
