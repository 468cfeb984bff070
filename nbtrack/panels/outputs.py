"""Where a panel is shown in a notebook, and showing it again when a run it shows ends.

A panel displays itself with a display id (``Panel._ipython_display_`` calls ``show``), so
the outputs it made can be replaced. When a run the panel shows ends (its status leaves
RUNNING or SCHEDULED), every output of the panel is re-rendered: the widget view is drawn
again from the final state, and the ``text/html`` and ``text/plain`` that a saved notebook
keeps (what nbviewer, GitHub or a notebook opened without its widget state show) become the
final state instead of the first. A panel's header and the cell's summary then agree.

When: as soon as the live refresh sees the run ended (``refreshed``, on the refresher
thread: a run ended by another process while no cell runs), and at the end of each cell
execution (IPython's ``post_run_cell`` event, on the main thread, before the kernel reports
the cell done), so a run ended by a cell re-renders its panels within that execution,
before nbclient or the front end moves on. Only panels that showed a running run check
anything, one status read per such run.

Where: the update goes out with the parent message of each cell that displayed the panel
(JupyterLab gives a display update to the output area of the request it answers) and, when
different, with the current cell's (nbclient and VS Code update a display id wherever it
was shown).
"""

from __future__ import annotations

import contextvars
import uuid
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nbtrack.errors import NbtrackError

if TYPE_CHECKING:
    from nbtrack.panels.base import Panel

ACTIVE = frozenset({"RUNNING", "SCHEDULED"})


@dataclass
class Shown:
    """A panel's outputs: its display id, where it was displayed, what they show."""

    display_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    contexts: list[contextvars.Context] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)
    sent: dict[str, str] = field(default_factory=dict)  # statuses the live refresh sent
    renders: int = 0  # times the outputs were re-rendered (for tests and debugging)


_shown: weakref.WeakKeyDictionary[Panel, Shown] = weakref.WeakKeyDictionary()
_hooked: weakref.WeakSet[Any] = weakref.WeakSet()  # shells whose post_run_cell calls us


def show(panel: Panel) -> None:
    """Display a panel (its widget view, static HTML and text) under its display id."""
    from IPython import get_ipython
    from IPython.core.displaypub import DisplayPublisher
    from IPython.display import display

    shell = get_ipython()
    if shell is None or type(shell.display_pub) is DisplayPublisher:
        display(panel._repr_mimebundle_(), raw=True)  # a terminal would print updates again
        return
    state = _shown.setdefault(panel, Shown())
    state.statuses = panel.run_statuses()
    display(panel._repr_mimebundle_(), raw=True, display_id=state.display_id)
    state.contexts.append(contextvars.copy_context())  # the displaying cell's parent message
    if shell not in _hooked:
        shell.events.register("post_run_cell", rerender_ended)
        _hooked.add(shell)


def shown(panel: Panel) -> Shown | None:
    """The panel's outputs, if it was displayed."""
    return _shown.get(panel)


def rerender_ended(*_result: Any) -> None:
    """Re-render every displayed panel one of whose runs ended since it was rendered."""
    for panel, state in list(_shown.items()):
        if getattr(panel, "_closed", False) or not ACTIVE & set(state.statuses.values()):
            continue
        try:
            if _statuses_now(panel, state.statuses) == state.statuses:
                continue
            panel.refresh()
            rerender(panel, state)
        except Exception as exc:  # shown in the panel; the cell's own result stands
            from nbtrack.panels.live import report_error

            report_error(panel.output, exc)


def _statuses_now(panel: Panel, before: dict[str, str]) -> dict[str, str]:
    """The current status of the runs that were active (others cannot have ended)."""
    now = dict(before)
    for run_id, status in before.items():
        if status in ACTIVE:
            try:
                now[run_id] = panel.client.get_run(run_id).info.status
            except NbtrackError:  # deleted for good: show what is left
                now[run_id] = "DELETED"
    return now


def refreshed(panel: Panel) -> None:
    """After a live refresh (refresher thread): re-render where the panel was displayed.

    The cell running now, if any, gets the update at its end (``rerender_ended``).
    """
    state = _shown.get(panel)
    if state is None or not ACTIVE & set(state.statuses.values()):
        return
    now = panel.run_statuses()
    if now in (state.statuses, state.sent):
        return
    state.sent = now
    _send(panel, state, state.contexts)


def rerender(panel: Panel, state: Shown) -> None:
    """Replace every output of the panel with its current rendering."""
    state.statuses = panel.run_statuses()
    current = [contextvars.copy_context()]
    _send(panel, state, current if state.statuses == state.sent else state.contexts + current)


def _send(panel: Panel, state: Shown, contexts: list[contextvars.Context]) -> None:
    """Send the panel's rendering as an update of its display, once per request."""
    from IPython.display import update_display

    bundle = panel._repr_mimebundle_()
    sent: set[object] = set()
    for context in contexts:
        context = context.copy()  # the main thread and the refresher may both use it
        parent = context.run(_parent_id)
        if parent in sent:
            continue
        sent.add(parent)
        context.run(update_display, bundle, raw=True, display_id=state.display_id)
    state.renders += 1


def _parent_id() -> object:
    """The id of the request the kernel answers in this context (None outside a kernel)."""
    from IPython import get_ipython

    shell = get_ipython()
    header = getattr(getattr(shell, "display_pub", None), "parent_header", None) or {}
    return header.get("msg_id")
