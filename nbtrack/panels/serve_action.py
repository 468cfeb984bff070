"""The registry browser's Serve action: a model version behind a local scoring server.

"Serve" starts ``nbtrack.models.serve(models:/name/version, port=0)`` (a separate process
on a free loopback port) and shows its URL, a ready-made ``curl`` command and a Stop
button; Stop ends the process. Closing the panel or the kernel stops it too.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import ipywidgets

from nbtrack.errors import NbtrackError
from nbtrack.panels import static

if TYPE_CHECKING:
    from nbtrack.serving.handle import ModelServer


class ServeAction(ipywidgets.VBox):
    """A Serve / Stop serving button and what the running server answers at.

    Parameters
    ----------
    tracking_uri
        The store the served ``models:/`` URIs are resolved in.
    """

    def __init__(self, tracking_uri: str) -> None:
        self.tracking_uri = tracking_uri
        self.server: ModelServer | None = None
        self.button = ipywidgets.Button(
            description="Serve", icon="play", tooltip="Serve this version on a free local port"
        )
        self.button.add_class("nbtrack-serve-button")
        self.status = ipywidgets.HTML()
        self.status.add_class("nbtrack-serve-status")
        super().__init__([self.status])

    def toggle(self, name: str, version: str) -> None:
        """Serve ``models:/name/version``, or stop the server this action started."""
        if self.server is not None:
            self.stop()
        else:
            self.start(f"models:/{name}/{version}")

    def start(self, model_uri: str) -> None:
        """Start serving ``model_uri``; a failure to start is shown, not raised."""
        from nbtrack.serving import serve

        self.status.value = "Starting a server…"
        try:
            self.server = serve(model_uri, port=0, tracking_uri=self.tracking_uri)
        except NbtrackError as exc:
            self.status.value = f'<span style="color:#b91c1c">{static.esc(exc)}</span>'
            return
        self.button.description, self.button.icon = "Stop serving", "stop"
        self.status.value = _running_html(self.server)

    def stop(self) -> None:
        """Stop the server started here (its process ends)."""
        if self.server is None:
            return
        server, self.server = self.server, None
        server.stop()
        self.button.description, self.button.icon = "Serve", "play"
        self.status.value = (
            f'<span style="color:#6b7280">Server for {static.esc(server.served)} stopped.</span>'
        )


def _running_html(server: ModelServer) -> str:
    url = html.escape(server.url)
    return (
        f"<div>Serving <code>{html.escape(server.served)}</code> at "
        f'<a class="nbtrack-serve-url" href="{url}/ping" target="_blank" '
        f'style="color:#1976d2">{url}</a> '
        f"(pid {server.pid}); POST to <code>{url}/invocations</code>, e.g.:"
        '<pre class="nbtrack-serve-curl" style="white-space:pre-wrap;margin:4px 0">'
        f"{html.escape(server.curl)}</pre></div>"
    )
