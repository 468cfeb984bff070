"""The run table: a live, SQL-paged view of runs with a tree, sparklines and selection.

``RunGrid`` is the browser view (``widgets/runs.js``); its synced traits are the source of
truth between Python and the browser: the user's filter, sort, page, expanded rows and
selection go one way, the columns and rows of the page the other. ``RunTable`` wraps it
in a panel that reads the store, refreshes live, and opens the compare, sweep, run detail
and edit panels below the table (its row actions: ``row_actions.RowActions``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import anywidget
import ipywidgets
import traitlets

from nbtrack.client import MlflowClient
from nbtrack.errors import InvalidFilter, InvalidParameter
from nbtrack.frames import runs_frame
from nbtrack.panels import filter_keys, static
from nbtrack.panels import rows as table_rows
from nbtrack.panels.assets import widget_file
from nbtrack.panels.base import Panel
from nbtrack.panels.row_actions import VIEWS, RowActions
from nbtrack.store import search
from nbtrack.store.panels import RunScope, panel_queries

if TYPE_CHECKING:
    import pandas as pd

COLUMNS_TAG = "nbtrack.panel.columns"  # experiment tag: the run table's column choices
# the view's ES module, joined from its parts in this order (no build step)
RUNS_JS = ("runs_cells.js", "runs_complete.js", "runs.js")
_VIEW_TRAITS = ["order_by", "page", "page_size", "tree", "expanded", "collapsed", "view"]


class RunGrid(anywidget.AnyWidget):
    """The run table's browser view; every trait below is synced with the browser."""

    _esm = "\n".join(widget_file(name).read_text(encoding="utf-8") for name in RUNS_JS)
    _css = widget_file("runs.css")

    columns = traitlets.List(traitlets.Dict()).tag(sync=True)
    rows = traitlets.List(traitlets.Dict()).tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)
    roots = traitlets.Int(0).tag(sync=True)
    filter = traitlets.Unicode("").tag(sync=True)
    filter_error = traitlets.Unicode("").tag(sync=True)
    filter_note = traitlets.Unicode("").tag(sync=True)
    placeholder = traitlets.Unicode("").tag(sync=True)
    order_by = traitlets.List(traitlets.Unicode()).tag(sync=True)
    page = traitlets.Int(0).tag(sync=True)
    page_size = traitlets.Int(50).tag(sync=True)
    tree = traitlets.Bool(True).tag(sync=True)
    hide_constant = traitlets.Bool(False).tag(sync=True)
    tree_toggle = traitlets.Bool(True).tag(sync=True)  # offer the "Nest child runs" box
    experiment = traitlets.Unicode("").tag(sync=True)  # the one experiment shown, if one
    experiment_choices = traitlets.List(traitlets.List(traitlets.Unicode())).tag(sync=True)
    # the user's column choices: {"hidden": ["params.alpha", ...], "pinned": [...]}
    column_prefs = traitlets.Dict().tag(sync=True)
    expanded = traitlets.List(traitlets.Unicode()).tag(sync=True)
    collapsed = traitlets.List(traitlets.Unicode()).tag(sync=True)  # closed context rows
    selected_run_ids = traitlets.List(traitlets.Unicode()).tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    actions = traitlets.Bool(True).tag(sync=True)
    # the keys a filter can name here ("metrics.rmse", ...), offered as the user types
    filter_keys = traitlets.List(traitlets.Unicode()).tag(sync=True)
    view = traitlets.Unicode("active").tag(sync=True)  # "active", "deleted" or "all"


class RunTable(RowActions, Panel):
    """Runs of one or more experiments as a live table.

    Parameters
    ----------
    experiment_ids
        Experiments shown (ids); None for every experiment.
    filter
        A ``search_runs`` filter, e.g. ``"metrics.rmse < 1 and params.alpha = '0.5'"``.
    order_by
        ``search_runs`` order terms, e.g. ``["metrics.rmse ASC"]``; newest first if empty.
    under
        Show only the descendants (any depth) of this run.
    run_ids
        Show only these runs.
    tree
        Nest child runs under their parents (default); False lists every run flat.
    page_size
        Rows (tree roots) per page.
    client
        The client to read through (default: current tracking URI).
    title
        A heading shown above the table.
    actions
        Whether rows offer Compare / sweep / detail / edit buttons, deleting and restoring
        the selection and the Active / Deleted / All runs view (default True).
    live
        Refresh when the store changes (default True).

    Raises
    ------
    InvalidFilter
        If ``filter`` or ``order_by`` does not parse (later filters typed in the table's
        box are reported inline instead).

    Examples
    --------
    >>> table = nbtrack.show_runs(filter="metrics.rmse < 1")  # doctest: +SKIP
    >>> table.selected_run_ids = [run_id]                     # selects it in the view
    >>> table.selected                                        # the selection as a DataFrame
    """

    def __init__(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter: str = "",
        order_by: Sequence[str] = (),
        under: str | None = None,
        run_ids: Iterable[str] | None = None,
        tree: bool = True,
        page_size: int = 50,
        client: MlflowClient | None = None,
        title: str = "",
        actions: bool = True,
        live: bool = True,
    ):
        search.runs_query(filter or None, list(order_by))  # a bad filter fails here, loudly
        self._experiment_ids = tuple(experiment_ids) if experiment_ids is not None else None
        self._under = under
        self._run_ids = tuple(run_ids) if run_ids is not None else None
        self._child_limits: dict[str, int] = {}
        client = client or MlflowClient()
        # the grid is created with its first page: a view never shows "No runs" first
        first = table_rows.build(
            panel_queries(client.store),
            self._scope(filter or ""),
            table_rows.TableState(
                order_by=list(order_by), page_size=_page_size(page_size), tree=tree
            ),
        )
        self._content: table_rows.TableContent | None = first
        self.grid = RunGrid(
            filter=filter or "",
            order_by=list(order_by),
            tree=tree,
            page_size=_page_size(page_size),
            title=title,
            actions=actions,
            columns=first.columns,
            rows=first.rows,
            total=first.total,
            roots=first.roots,
        )
        self.detail = ipywidgets.VBox(
            layout={
                "border_top": "2px solid #e5e7eb",
                "display": "none",
                "padding": "6px 0 0 0",
                "margin": "8px 0 0 0",
            }
        )
        self.detail.add_class("nbtrack-subpanel")
        self._updating = False
        self._loading = False  # set while the stored column choices are applied
        self._live = live  # panels opened below the table refresh as the table does
        super().__init__(client=client, live=live)
        self._frame(self.grid, self.detail)
        self.grid.observe(self.callback(self._on_filter), names=["filter"])
        self.grid.observe(self.callback(self._on_experiment), names=["experiment"])
        self._load_columns()
        self.grid.observe(self.callback(self._save_columns), names=["column_prefs"])
        self.grid.observe(self.callback(self._on_view), names=_VIEW_TRAITS)
        self.grid.on_msg(self.callback(self._on_msg))

    # -- the data ---------------------------------------------------------------------

    def _scope(self, filter: str | None = None) -> RunScope:
        """The runs shown, under the grid's filter (or ``filter`` before the grid exists)."""
        text = self.grid.filter if filter is None else filter
        view = self.grid.view if filter is None else "active"
        return RunScope(
            experiment_ids=self._experiment_ids,
            filter_string=text.strip() or None,
            under=self._under,
            run_ids=self._run_ids,
            view_type=VIEWS.get(view, VIEWS["active"]),
        )

    def _state(self) -> table_rows.TableState:
        return table_rows.TableState(
            order_by=list(self.grid.order_by),
            page=self.grid.page,
            page_size=self.grid.page_size,
            tree=self.grid.tree,
            expanded=list(self.grid.expanded),
            collapsed=list(self.grid.collapsed),
            child_limits=dict(self._child_limits),
        )

    def _update(self) -> None:
        try:
            content = table_rows.build(self.queries, self._scope(), self._state())
        except InvalidFilter as exc:
            self._on_bad_filter(exc)
            return
        self._content = content
        with self.grid.hold_sync():
            self._offer_experiments()
            self.grid.filter_error = ""
            self.grid.placeholder = _placeholder(content)
            keys = filter_keys.completions(self.queries.key_names(self._experiment_ids))
            if self.grid.filter_keys != keys:
                self.grid.filter_keys = keys
            if self.grid.columns != content.columns:
                self.grid.columns = content.columns
            if self.grid.rows != content.rows:
                self.grid.rows = content.rows
            self.grid.total = content.total
            self.grid.roots = content.roots
            with self._quiet():
                self.grid.page = content.page  # clamped when the rows shrank

    def run_statuses(self) -> dict[str, str]:
        """The status of each run on the shown page (its outputs re-render when one ends)."""
        rows = self._content.rows if self._content is not None else []
        return {row["id"]: row["status"] for row in rows if "id" in row}

    def _switchable(self) -> bool:
        """One experiment shown, not a run's descendants or a fixed set: it can switch."""
        ids = self._experiment_ids
        return ids is not None and len(ids) == 1 and self._under is None and self._run_ids is None

    def _offer_experiments(self) -> None:
        if not self._switchable() or not self.grid.actions:
            return
        found = self.client.search_experiments(max_results=None)
        choices = [[e.experiment_id, e.name] for e in sorted(found, key=lambda e: e.name)]
        if self.grid.experiment_choices != choices:
            self.grid.experiment_choices = choices
        current = self._experiment_ids[0] if self._experiment_ids else ""
        if self.grid.experiment != current:
            with self._quiet():
                self.grid.experiment = current

    def _on_experiment(self, change: dict) -> None:
        if self._updating or not change["new"] or not self._switchable():
            return
        self._experiment_ids = (change["new"],)
        self._load_columns()
        self._child_limits.clear()
        with self._quiet():
            self.grid.expanded = []
            self.grid.collapsed = []
            self.grid.selected_run_ids = []
        self._first_page()

    def _load_columns(self) -> None:
        """The column choices stored with the experiment shown (none for several)."""
        prefs: dict = {}
        if self.experiment_id is not None:
            text = self.client.get_experiment(self.experiment_id).tags.get(COLUMNS_TAG)
            try:
                found = json.loads(text) if text else {}
            except ValueError:
                found = {}
            if isinstance(found, dict):
                prefs = {
                    k: [str(x) for x in found.get(k, []) if isinstance(x, str)]
                    for k in ("hidden", "pinned")
                    if isinstance(found.get(k), list)
                }
        self._loading = True
        try:
            self.grid.column_prefs = prefs
        finally:
            self._loading = False

    def _save_columns(self, change: dict) -> None:
        if self._loading or self.experiment_id is None:
            return
        prefs = {k: list(change["new"].get(k, [])) for k in ("hidden", "pinned")}
        self.client.set_experiment_tag(self.experiment_id, COLUMNS_TAG, json.dumps(prefs))

    @property
    def experiment_id(self) -> str | None:
        """The experiment shown when the table shows one; assign an id to switch to it."""
        ids = self._experiment_ids
        return ids[0] if ids is not None and len(ids) == 1 else None

    @experiment_id.setter
    def experiment_id(self, value: str) -> None:
        if not self._switchable():
            raise InvalidParameter(
                "this table shows a fixed set of runs (under=, run_ids= or several "
                "experiments): open nbtrack.show_runs(experiment) to see another experiment",
                argument="experiment_id",
                value=value,
            )
        self.client.get_experiment(value)  # an unknown id fails here, naming it
        self.grid.experiment = value

    def _on_bad_filter(self, exc: InvalidFilter) -> None:
        """Prefix bare keys that name one metric, param or tag; else say what went wrong."""
        keys = self.queries.key_names(self._experiment_ids)
        fixed = filter_keys.resolve(self.grid.filter, keys)
        if fixed.resolved and not fixed.problems and fixed.filter != self.grid.filter:
            try:
                search.runs_query(fixed.filter, list(self.grid.order_by))
            except InvalidFilter:
                pass
            else:
                note = ", ".join(f"{bare} as {full}" for bare, full in fixed.resolved)
                self.grid.filter = fixed.filter  # its observer shows the runs
                self.grid.filter_note = f"Read {note}."
                return
        self.grid.filter_note = ""
        self.grid.filter_error = "; ".join(fixed.problems) if fixed.problems else str(exc)

    def _on_filter(self, change: dict) -> None:
        self.grid.filter_note = ""
        self._child_limits.clear()
        with self._quiet():
            self.grid.collapsed = []  # other context rows now
        self._first_page()

    def _on_view(self, change: dict) -> None:
        if self._updating:
            return
        if change["name"] in ("page", "expanded", "collapsed"):
            self.refresh()
            return
        if change["name"] == "view":  # another set of runs: a selection of the last one goes
            self.grid.selected_run_ids = []
        self._first_page()

    def _first_page(self) -> None:
        with self._quiet():
            self.grid.page = 0
        self.refresh()

    @contextmanager
    def _quiet(self) -> Iterator[None]:
        """Move traits without the view observers refreshing for each move."""
        self._updating = True
        try:
            yield
        finally:
            self._updating = False

    def set_scope(self, run_ids: Iterable[str] | None) -> None:
        """Show only these runs (None: every run of the table's scope again)."""
        with self._lock:
            self._run_ids = tuple(run_ids) if run_ids is not None else None
            self._first_page()

    # -- selection --------------------------------------------------------------------

    @property
    def selected_run_ids(self) -> list[str]:
        """Ids of the selected runs; assign a list to select those runs in the view."""
        return list(self.grid.selected_run_ids)

    @selected_run_ids.setter
    def selected_run_ids(self, run_ids: Iterable[str]) -> None:
        ids = list(dict.fromkeys(run_ids))
        for run_id in ids:
            if not isinstance(run_id, str):
                raise InvalidParameter(
                    f"selected_run_ids takes run id strings (found {run_id!r})", run_id=run_id
                )
        self.grid.selected_run_ids = ids

    @property
    def selected(self) -> pd.DataFrame:
        """The selected runs as a ``search_runs``-style DataFrame, in selection order."""
        return runs_frame(self.client.store, self.selected_run_ids)

    def shown_frame(self) -> pd.DataFrame:
        """Every run the table shows (all pages, in its sort) as a ``search_runs`` DataFrame."""
        with self.queries.shown(self._scope()) as shown:
            total, _ = shown.counts()
            ids = shown.page(list(self.grid.order_by), 0, max(total, 1))
        return runs_frame(self.client.store, ids)

    def to_csv(self, path: str | None = None) -> str | None:
        """The shown runs as CSV (``search_runs`` columns): written to ``path``, or returned.

        The table's "Export CSV" button downloads the same text in the browser.
        """
        return self.shown_frame().to_csv(path, index=False)

    @property
    def filter(self) -> str:
        """The filter in force; assign a ``search_runs`` filter string to change it."""
        return self.grid.filter

    @filter.setter
    def filter(self, value: str) -> None:
        self.grid.filter = value

    @property
    def filter_error(self) -> str:
        """Why the last filter or sort did not parse ('' when it did)."""
        return self.grid.filter_error

    @property
    def content(self) -> table_rows.TableContent | None:
        """The columns and rows shown now."""
        return self._content

    # -- actions from the browser (the rest: row_actions.RowActions) ----------------------

    def open_sweep(self, parent_run_id: str) -> Panel:
        """Open the parallel-coordinates view of a parent run's children below the table."""
        # the one allowed cycle: a sweep holds a run table, and a run table opens a sweep
        from nbtrack.panels.sweep import ParallelCoordinates

        panel = ParallelCoordinates(parent_run_id, client=self.client, live=self._live)
        self._open(panel)
        return panel

    # -- static rendering -------------------------------------------------------------

    def static_html(self) -> str:
        """The current page as an HTML table."""
        content = self._content or table_rows.TableContent([], [], 0, 0, 0)
        return static.runs_html(content, self.grid.filter)

    def static_text(self) -> str:
        """The current page as a text table."""
        content = self._content or table_rows.TableContent([], [], 0, 0, 0)
        return static.runs_text(content, self.grid.filter)


def _placeholder(content: table_rows.TableContent) -> str:
    """An example filter from the first metric and param shown, with a value of them."""
    found: dict[str, tuple[str, object] | None] = {"metrics": None, "params": None}
    for group, field in (("metrics", "m"), ("params", "p")):
        key = next((c["key"] for c in content.columns if c["group"] == group), None)
        if key is None:
            continue
        value = next((r[field][key] for r in content.rows if key in r.get(field, {})), None)
        found[group] = (key, value)
    return filter_keys.placeholder(found["metrics"], found["params"])


def _page_size(value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidParameter(
            f"page_size must be a positive whole number such as 50 (found {value!r})",
            argument="page_size",
            value=value,
        )
    return value
