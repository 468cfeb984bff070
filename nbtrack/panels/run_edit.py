"""The run detail's Edit tab: rename, note, tag, untag, delete and restore one run.

Each action writes through the client as a user would (``update_run``, the
``mlflow.note.content`` tag MLflow's UI edits, ``set_tag``, ``delete_tag``, ``delete_run``,
``restore_run``); a refused value is reported in the tab and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets

from nbtrack import tag_keys
from nbtrack.client import MlflowClient
from nbtrack.entities import Run
from nbtrack.errors import NbtrackError
from nbtrack.panels import static

DELETED = "deleted"


class RunEditor(ipywidgets.VBox):
    """Rename, note, tag, untag, delete and restore a run.

    Parameters
    ----------
    client
        The client that writes.
    run_id
        The run edited.
    changed
        Called after each successful write (the detail panel refreshes).
    """

    def __init__(self, client: MlflowClient, run_id: str, changed: Callable[[], None]):
        self.client = client
        self.run_id = run_id
        self._changed = changed
        self.name = ipywidgets.Text(placeholder="run name", layout={"width": "24em"})
        self.note = ipywidgets.Textarea(
            placeholder="A note on this run (Markdown)", layout={"width": "32em", "height": "5em"}
        )
        self.tag_key = ipywidgets.Text(placeholder="tag key", layout={"width": "12em"})
        self.tag_value = ipywidgets.Text(placeholder="value", layout={"width": "16em"})
        self.status = ipywidgets.HTML()
        self.delete_button = ipywidgets.Button(description="Delete run", icon="trash")
        buttons = {}
        actions: tuple[tuple[str, str, Callable[[], None]], ...] = (
            ("Rename", "pencil", self.rename),
            ("Save note", "save", self.save_note),
            ("Set tag", "tag", self.set_tag),
            ("Delete tag", "times", self.delete_tag),
        )
        for title, icon, action in actions:
            buttons[title] = ipywidgets.Button(description=title, icon=icon)
            buttons[title].on_click(self._report(action))
        self.delete_button.on_click(self._report(self.toggle_deleted))
        self._filled = False
        label: dict[str, Any] = {"layout": {"width": "6em"}}
        super().__init__(
            [
                ipywidgets.HBox([ipywidgets.Label("Name", **label), self.name, buttons["Rename"]]),
                ipywidgets.HBox(
                    [ipywidgets.Label("Note", **label), self.note, buttons["Save note"]]
                ),
                ipywidgets.HBox(
                    [
                        ipywidgets.Label("Tag", **label),
                        self.tag_key,
                        self.tag_value,
                        buttons["Set tag"],
                        buttons["Delete tag"],
                    ]
                ),
                ipywidgets.HBox([ipywidgets.Label("Lifecycle", **label), self.delete_button]),
                self.status,
            ]
        )

    def show(self, run: Run) -> None:
        """Fill the boxes from the run the first time; keep the delete button in step."""
        if not self._filled:
            self._filled = True
            self.name.value = run.info.run_name or ""
            self.note.value = run.data.tags.get(tag_keys.NOTE, "")
        deleted = run.info.lifecycle_stage == DELETED
        self.delete_button.description = "Restore run" if deleted else "Delete run"
        self.delete_button.icon = "undo" if deleted else "trash"

    # -- actions ----------------------------------------------------------------------

    def rename(self, name: str | None = None) -> None:
        """Rename the run (the name box by default)."""
        value = (self.name.value if name is None else name).strip()
        self.client.update_run(self.run_id, name=value)
        self._done(f"renamed to {value}")

    def save_note(self, text: str | None = None) -> None:
        """Set the run's note (``mlflow.note.content``), as MLflow's UI does."""
        value = self.note.value if text is None else text
        self.client.set_tag(self.run_id, tag_keys.NOTE, value)
        self._done("note saved")

    def set_tag(self, key: str | None = None, value: str | None = None) -> None:
        """Set a tag on the run (the tag boxes by default)."""
        key = (self.tag_key.value if key is None else key).strip()
        value = self.tag_value.value if value is None else value
        self.client.set_tag(self.run_id, key, value)
        self._done(f"tag {key} = {value}")

    def delete_tag(self, key: str | None = None) -> None:
        """Delete a tag of the run (the key box by default)."""
        key = (self.tag_key.value if key is None else key).strip()
        self.client.delete_tag(self.run_id, key)
        self._done(f"tag {key} deleted")

    def toggle_deleted(self) -> None:
        """Delete the run, or restore it when it is deleted."""
        if self.client.get_run(self.run_id).info.lifecycle_stage == DELETED:
            self.client.restore_run(self.run_id)
            self._done("run restored")
        else:
            self.client.delete_run(self.run_id)
            self._done("run deleted (Restore run brings it back)")

    def _done(self, what: str) -> None:
        self.status.value = f'<span style="color:#15803d">Done: {static.esc(what)}.</span>'
        self._changed()

    def _report(self, fn: Callable[[], None]) -> Callable[[Any], None]:
        """A button callback running ``fn``; a refused value is shown, not raised."""

        def run(_button: Any) -> None:
            try:
                fn()
            except NbtrackError as exc:
                self.status.value = (
                    f'<span style="color:#b91c1c">Not changed: {static.esc(exc)}</span>'
                )

        return run
