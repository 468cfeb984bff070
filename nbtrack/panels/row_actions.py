"""What the run table does with its rows: edit, delete, restore, and the panels it opens.

The browser sends one message per action (``widgets/runs.js``); ``RowActions`` (mixed
into ``RunTable``) answers it. Editing a run opens the run detail's own Edit form
(``run_edit.RunEditor``: rename, note as ``mlflow.note.content``, tags, delete/restore)
below the table; deleting or restoring the selected runs writes through the client as
``delete_run`` / ``restore_run`` do, and the table's "Deleted runs" view shows what can be
restored. Every other panel (compare, run detail, register) opens below the table too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets

from nbtrack.client import MlflowClient
from nbtrack.entities import ViewType
from nbtrack.errors import InvalidParameter
from nbtrack.panels import rows as table_rows
from nbtrack.panels import static
from nbtrack.panels.base import Panel
from nbtrack.panels.compare import CompareRuns
from nbtrack.panels.register import RegisterModel
from nbtrack.panels.run_detail import RunDetail
from nbtrack.panels.run_edit import DELETED, RunEditor

EXPORT_NAME = "nbtrack-runs.csv"  # the file name the browser saves an export under
# the table's view choices (the grid's ``view`` trait) as MLflow's ViewType
VIEWS = {"active": ViewType.ACTIVE_ONLY, "deleted": ViewType.DELETED_ONLY, "all": ViewType.ALL}


class EditRun(Panel):
    """The Edit form of one run (the run detail's), opened below the run table.

    Parameters
    ----------
    run_id
        The run edited.
    client
        The client that writes.
    changed
        Called after each successful write (the table refreshes).
    live
        Refresh when the store changes.
    """

    def __init__(
        self,
        run_id: str,
        client: MlflowClient | None = None,
        changed: Any = None,
        live: bool = True,
    ):
        client = client or MlflowClient()
        self.run = client.get_run(run_id)  # an unknown id fails here, before any widget
        self.heading = ipywidgets.HTML()
        self._changed = changed
        self.editor = RunEditor(client, run_id, changed=self._after_write)
        super().__init__(client=client, live=live)
        self._frame(self.heading, self.editor)

    def _after_write(self) -> None:
        self.refresh()
        if self._changed is not None:
            self._changed()

    def _update(self) -> None:
        self.run = self.client.get_run(self.run.info.run_id)
        self.editor.show(self.run)
        self.heading.value = static.heading(f"Edit run {self._name()}", self._note())

    def _name(self) -> str:
        return self.run.info.run_name or self.run.info.run_id

    def _note(self) -> str:
        deleted = self.run.info.lifecycle_stage == DELETED
        return f"{self.run.info.run_id}" + (" · deleted (Restore run brings it back)" * deleted)

    def static_html(self) -> str:
        """The run edited, as a heading."""
        return static.heading(f"Edit run {self._name()}", self._note())

    def static_text(self) -> str:
        """The run edited, in one line."""
        return f"Edit run {self._name()} ({self._note()})"


class RowActions:
    """The row actions of ``RunTable`` (a mixin: it needs the table's grid and client)."""

    grid: Any
    client: MlflowClient
    detail: ipywidgets.VBox
    _live: bool
    _child_limits: dict[str, int]

    # methods of RunTable and Panel, declared for the type checker only
    refresh: Callable[[], None]
    callback: Callable[[Callable[..., Any]], Callable[..., None]]
    open_sweep: Callable[[str], Panel]
    to_csv: Callable[..., str | None]

    def _on_msg(self, _grid: Any, content: dict, _buffers: Any) -> None:
        action = content.get("action") if isinstance(content, dict) else None
        run_id = content.get("run_id")
        openers = {
            "sweep": self.open_sweep,
            "open": self.open_run,
            "register": self.open_register,
            "edit": self.open_editor,
        }
        if action == "compare":
            self.compare()
        elif action in openers and isinstance(run_id, str):
            openers[action](run_id)
        elif action == "export":
            self.grid.send({"download": EXPORT_NAME, "csv": self.to_csv()})
        elif action == "more" and isinstance(run_id, str):
            context = any(r.get("id") == run_id and r.get("context") for r in self.grid.rows)
            self._child_limits[run_id] = table_rows.more_children(
                self._child_limits.get(run_id), context, self.grid.page_size
            )
            self.refresh()
        elif action == "delete":
            self.delete_runs(self.grid.selected_run_ids)
        elif action == "restore":
            self.restore_runs(self.grid.selected_run_ids)

    # -- lifecycle ----------------------------------------------------------------------

    def delete_runs(self, run_ids: Sequence[str]) -> int:
        """Delete these runs (``delete_run``; the "Deleted runs" view restores them).

        Returns how many were deleted (runs already deleted are left as they are).
        """
        done = self._set_lifecycle(run_ids, delete=True)
        what = f"Deleted {done} run{'s' * (done != 1)}"
        self.grid.filter_note = f"{what}; the view “Deleted runs” lists them to restore."
        return done

    def restore_runs(self, run_ids: Sequence[str]) -> int:
        """Restore these deleted runs (``restore_run``); returns how many were restored."""
        done = self._set_lifecycle(run_ids, delete=False)
        self.grid.filter_note = f"Restored {done} run{'s' * (done != 1)}."
        return done

    def _set_lifecycle(self, run_ids: Sequence[str], delete: bool) -> int:
        done = 0
        for run_id in list(run_ids):
            deleted = self.client.get_run(run_id).info.lifecycle_stage == DELETED
            if deleted == delete:
                continue
            if delete:
                self.client.delete_run(run_id)
            else:
                self.client.restore_run(run_id)
            done += 1
        self.grid.selected_run_ids = []
        self.refresh()
        return done

    @property
    def view(self) -> str:
        """The runs listed: ``"active"`` (default), ``"deleted"`` or ``"all"``."""
        return self.grid.view

    @view.setter
    def view(self, value: str) -> None:
        if value not in VIEWS:
            raise InvalidParameter(
                f"view must be one of {', '.join(map(repr, VIEWS))} (found {value!r})",
                argument="view",
                value=value,
            )
        self.grid.view = value

    # -- panels below the table -------------------------------------------------------

    def _open(self, panel: Panel | None) -> None:
        """Show a panel below the table (closing the one shown before), or none."""
        for widget in self.detail.children:  # the panel shown before and its Close button
            widget.close()
        self.detail.layout.display = None if panel is not None else "none"
        if panel is None:
            self.detail.children = ()
            return
        close = ipywidgets.Button(
            description="Close",
            icon="times",
            tooltip="Close this panel",
            layout={"width": "auto", "align_self": "flex-end"},
        )
        close.on_click(self.callback(lambda _: self.close_opened()))
        self.detail.children = (close, panel)

    def close_opened(self) -> None:
        """Close the panel shown below the table."""
        self._open(None)

    def compare(self, run_ids: Sequence[str] | None = None) -> Panel:
        """Open the compare panel below the table (for the selection by default)."""
        ids = list(run_ids or self.grid.selected_run_ids)
        panel = CompareRuns(ids, client=self.client, live=self._live)
        self._open(panel)
        return panel

    def open_run(self, run_id: str) -> Panel:
        """Open one run's detail below the table."""
        panel = RunDetail(run_id, client=self.client, live=self._live)
        self._open(panel)
        return panel

    def open_register(self, run_id: str) -> Panel:
        """Open the "Register model" form of one run below the table."""
        panel = RegisterModel(run_id, client=self.client, live=self._live)
        self._open(panel)
        return panel

    def open_editor(self, run_id: str) -> EditRun:
        """Open the Edit form of one run (rename, note, tags, delete/restore) below the table."""
        panel = EditRun(run_id, client=self.client, changed=self.refresh, live=self._live)
        self._open(panel)
        return panel
