"""What every panel shares: its client, live refresh, an error area and a static rendering."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import ipywidgets

from nbtrack.client import MlflowClient
from nbtrack.panels import outputs
from nbtrack.panels.live import REFRESHER, Presence, refresh_gap, report_error
from nbtrack.store.panels import PanelQueries, panel_queries

REFRESH_GAP = 3.0


class Panel(ipywidgets.VBox):
    """A panel over one store: refreshed live while shown, rendered statically elsewhere.

    Subclasses implement ``_update()`` (read the store, update the widgets; called on
    creation and whenever the store changed) and ``static_html()`` / ``static_text()``
    (what nbviewer, GitHub or a terminal show instead of the widgets).

    Parameters
    ----------
    client
        The client to read through; a new ``MlflowClient()`` (current tracking URI) if
        omitted.
    live
        Whether to refresh when the store changes (default True).
    """

    def __init__(self, client: MlflowClient | None = None, live: bool = True, **kwargs: Any):
        self.client = client or MlflowClient()
        self.queries: PanelQueries = panel_queries(self.client.store)
        self.output = ipywidgets.Output(
            layout=ipywidgets.Layout(max_height="12em", overflow="auto")
        )
        self._presence = Presence()
        self._lock = threading.RLock()
        self._seen_token: int | None = None
        self._quiet_until = 0.0  # no poll-driven refresh before this (time.monotonic)
        self._created = time.monotonic()
        self._closed = False
        super().__init__(**kwargs)
        self.add_class("nbtrack-panel")
        self.refresh()
        if live:
            REFRESHER.add(self)

    def _frame(self, *body: ipywidgets.Widget) -> None:
        """Lay out the panel: its body, then the error area and the presence marker."""
        self.children = (*body, self.output, self._presence)

    # -- refreshing -------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the store again and update the panel (keeps sort, filter, selection)."""
        with self._lock:
            self._seen_token = self.queries.change_token()
            self._update()

    def _update(self) -> None:
        raise NotImplementedError

    def poll(self) -> None:
        """Refresh if the store changed since the last refresh (called by the refresher).

        A store written to non-stop (another process logging every step) would keep a
        big panel refreshing back to back: after a refresh that took ``d`` seconds, the
        next poll-driven one waits ``REFRESH_GAP * d`` (at least ``live.refresh_gap``), so
        a panel spends at most a quarter of a core keeping up.
        """
        if self._closed or self._presence.hidden or time.monotonic() < self._quiet_until:
            return
        try:
            if self.queries.change_token() != self._seen_token:
                start = time.monotonic()
                self.refresh()
                outputs.refreshed(self)  # a run it shows ended: re-render its outputs
                end = time.monotonic()
                gap = max(REFRESH_GAP * (end - start), refresh_gap(end - self._created))
                self._quiet_until = end + gap
        except Exception as exc:  # shown in the panel, never raised into the thread
            report_error(self.output, exc)

    def first_with_history(self, run_ids: list[str], keys: list[str]) -> str | None:
        """The first metric key with a history (several points) in these runs, else the first."""
        stepped = {key for _, key in self.queries.histories(run_ids, keys, points=2)}
        return next((k for k in keys if k in stepped), keys[0] if keys else None)

    @property
    def live(self) -> bool:
        """Whether the panel is polled for store changes now."""
        return not self._closed and self in REFRESHER.panels()

    @contextmanager
    def reporting(self) -> Iterator[None]:
        """Run a callback so that its errors show in the panel instead of vanishing."""
        try:
            with self._lock:
                yield
        except Exception as exc:
            report_error(self.output, exc)

    def callback(self, fn: Callable[..., Any]) -> Callable[..., None]:
        """Wrap a widget callback with ``reporting``."""

        def run(*args: Any, **kwargs: Any) -> None:
            with self.reporting():
                fn(*args, **kwargs)

        return run

    def close(self) -> None:
        """Stop refreshing and close the panel's widgets."""
        self._closed = True
        REFRESHER.discard(self)
        for child in self.children:
            child.close()
        super().close()

    # -- rendering without a widget manager -------------------------------------------

    def static_html(self) -> str:
        """The panel's content as self-contained HTML."""
        raise NotImplementedError

    def static_text(self) -> str:
        """The panel's content as plain text."""
        raise NotImplementedError

    def __repr__(self) -> str:
        """The text form: what a plain ``python`` prompt prints for a panel."""
        try:
            return self.static_text()
        except Exception as exc:  # a repr never raises: say what the panel is instead
            return f"<{type(self).__name__} panel (no text form: {exc})>"

    def run_statuses(self) -> dict[str, str]:
        """The status of each run the panel shows (its outputs re-render when one ends)."""
        return {}

    def _ipython_display_(self) -> None:
        """Display under a display id, so the output can show the final state later."""
        outputs.show(self)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/html"] = self.static_html()
        bundle["text/plain"] = self.static_text()
        return bundle
