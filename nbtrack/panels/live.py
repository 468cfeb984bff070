"""Live updates shared by every panel: one polling thread, a change check that costs nothing.

Each open panel is registered with the process's ``Refresher``. Ten times a second its
thread reads each store's change token (``PRAGMA data_version`` on the panels' own
connection, see ``nbtrack.store.panels``), one cheap read per store, and refreshes only the
panels whose store moved since their last refresh (``refresh_gap``): in a panel's first
seconds within a tenth of a second, so that a training run shown as it starts draws its
first points at once; then at most twice a second (or less often after a slow refresh, see
``Panel.poll``), so that a loop logging non-stop does not flood the browser with updates of
every panel over the store. Panels whose refresh is cheap
(a run's detail) are polled before costly ones (a table of many runs), so a live chart does
not wait behind them. A thread, not the kernel's event loop: a
cell that trains a model keeps the main thread busy, and the panels must move meanwhile.

Panels stop polling when closed (``panel.close()``) and pause while none of their views is
on screen (the ``Presence`` widget reports views coming and going). Errors during a
refresh go to the panel's output area, never to the thread.
"""

from __future__ import annotations

import atexit
import threading
import time
import traceback
import weakref
from typing import Any, Protocol

import anywidget
import ipywidgets
import traitlets

from nbtrack.errors import NbtrackError
from nbtrack.panels.assets import widget_file

POLL_INTERVAL_S = 0.1
FIRST_UPDATES_S = 3.0  # a panel's first seconds: its first points show as they come
FIRST_GAP_S = 0.1
STEADY_GAP_S = 0.5
REFRESHED_S = 0.002  # a poll that took longer refreshed its panel


class LivePanel(Protocol):
    """What the refresher needs from a panel."""

    def poll(self) -> None:
        """Refresh if the store changed since the last refresh."""


class Refresher:
    """A daemon thread that polls for the registered panels while there are any."""

    def __init__(self, interval: float = POLL_INTERVAL_S):
        self.interval = interval
        self._panels: weakref.WeakSet[Any] = weakref.WeakSet()
        # seconds each panel's last refresh took: cheap panels are polled first, so that a
        # run's live chart is not kept waiting behind a table of 10,000 runs on its store
        self._cost: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def add(self, panel: LivePanel) -> None:
        """Poll for this panel (until ``discard``), starting the thread if needed."""
        with self._lock:
            self._panels.add(panel)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="nbtrack-panels-live", daemon=True
                )
                self._thread.start()

    def discard(self, panel: LivePanel) -> None:
        """Stop polling for this panel."""
        with self._lock:
            self._panels.discard(panel)

    def panels(self) -> list[LivePanel]:
        """The panels polled for now."""
        with self._lock:
            return list(self._panels)

    def stop(self) -> None:
        """Stop polling for good (at interpreter exit: no SQLite call may run past it)."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                panels = sorted(self._panels, key=lambda p: self._cost.get(p, 0.0))
                if not panels:
                    self._thread = None
                    return
            for panel in panels:
                if self._stop.is_set():
                    return
                start = time.perf_counter()
                panel.poll()
                took = time.perf_counter() - start
                if took > REFRESHED_S:  # a poll that refreshed, not a bare change check
                    self._cost[panel] = took


def refresh_gap(age: float) -> float:
    """Least seconds between two poll-driven refreshes of a panel created ``age`` s ago."""
    return FIRST_GAP_S if age < FIRST_UPDATES_S else STEADY_GAP_S


REFRESHER = Refresher()
atexit.register(REFRESHER.stop)


class Presence(anywidget.AnyWidget):
    """An invisible widget whose views report when they are rendered and removed."""

    _esm = widget_file("presence.js")
    views = traitlets.Int(0, help="views of the panel on screen now")
    seen = traitlets.Bool(False, help="whether a view was ever rendered")

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.layout = ipywidgets.Layout(display="none")
        self.on_msg(self._on_msg)

    def _on_msg(self, _widget: Any, content: dict, _buffers: Any) -> None:
        event = content.get("event") if isinstance(content, dict) else None
        if event == "attached":
            self.seen = True
            self.views += 1
        elif event == "detached":
            self.views = max(0, self.views - 1)

    @property
    def hidden(self) -> bool:
        """True once every view that was shown has gone (not before any was shown)."""
        return self.seen and self.views == 0


def report_error(output: ipywidgets.Output, exc: BaseException) -> None:
    """Show an error in a panel's output area: one line for ours, a traceback otherwise."""
    if isinstance(exc, NbtrackError):
        output.append_stderr(f"{type(exc).__name__}: {exc}\n")
    else:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        output.append_stderr(text)
