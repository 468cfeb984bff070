"""The registry browser's versions table: aliases first, source-run metrics, run links.

Each version shows its aliases, the key metrics its source run shares with the others
(why is @champion better?), and its source run as a link: a click opens that run's
detail below the registry browser. The table's HTML is made here; its browser view
(``widgets/registry.js``) only draws it and reports clicks on run links.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget
import traitlets

from nbtrack import display
from nbtrack.client import MlflowClient
from nbtrack.entities import ModelVersion
from nbtrack.panels import static
from nbtrack.panels.assets import widget_file
from nbtrack.panels.rows import is_timing

KEY_METRICS = 4  # source-run metrics shown beside each version


class VersionsTable(anywidget.AnyWidget):
    """The versions as an HTML table whose source-run links report their clicks."""

    _esm = widget_file("registry.js")

    value = traitlets.Unicode("", help="the table's HTML").tag(sync=True)

    def __init__(self) -> None:
        super().__init__()
        self._handlers: list[Callable[[str], None]] = []
        self.on_msg(self._on_msg)

    def on_run_click(self, handler: Callable[[str], None]) -> None:
        """Call ``handler(run_id)`` when a version's source run is clicked."""
        self._handlers.append(handler)

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("action") == "open_run":
            run_id = content.get("run_id")
            if isinstance(run_id, str):
                for handler in self._handlers:
                    handler(run_id)

    def show(self, client: MlflowClient, versions: list[ModelVersion]) -> None:
        """Draw these versions (unchanged HTML is not resent)."""
        value = versions_html(client, versions, links=True)
        if self.value != value:
            self.value = value


def versions_html(client: MlflowClient, versions: list[ModelVersion], links: bool = False) -> str:
    """The versions, aliases first, with their source runs' key metrics side by side.

    With ``links``, each source run is a link carrying its id in ``data-run`` (the live
    table); without, plain text (the static form).
    """
    if not versions:
        return ""
    table = client.store.run_table([v.run_id for v in versions if v.run_id])
    run_names = {r.run_id: r.name for r in table.runs}
    metrics: dict[str, dict[str, float]] = {}
    for run_id, key, value in table.metrics:
        metrics.setdefault(run_id, {})[key] = value
    keys = key_metrics(metrics)
    rows = []
    for v in versions:
        aliases = " ".join(f"<code>@{static.esc(a)}</code>" for a in v.aliases)
        tags = ", ".join(f"{static.esc(k)}={static.esc(val)}" for k, val in sorted(v.tags.items()))
        values = metrics.get(v.run_id or "", {})
        rows.append(
            (
                static.esc(v.version),
                aliases,
                *[static.esc(display.value(values[k])) if k in values else "" for k in keys],
                _run_cell(v.run_id, run_names.get(v.run_id or "", ""), links),
                static.esc(v.current_stage),
                static.esc(display.timestamp(v.creation_timestamp)),
                static.esc(v.description or ""),
                tags,
            )
        )
    header = ("Version", "Aliases", *keys, "Source run", "Stage (deprecated)", "Created (UTC)")
    return static.html_table((*header, "Description", "Tags"), rows, raw=True)


def _run_cell(run_id: str | None, name: str, link: bool) -> str:
    if not run_id:
        return ""
    text = f"{static.esc(name)} <code>{static.esc(run_id[:8])}</code>"
    if not link:
        return text
    return (
        f'<a href="#" class="nbtrack-run-link" data-run="{static.esc(run_id)}" '
        f'title="Open run {static.esc(run_id)}" style="color:#1976d2">{text}</a>'
    )


def key_metrics(metrics: dict[str, dict[str, float]]) -> list[str]:
    """Up to ``KEY_METRICS`` metrics the source runs share, timings last, by name."""
    if not metrics:
        return []
    common = set.intersection(*(set(m) for m in metrics.values()))
    return sorted(common, key=lambda k: (is_timing(k), k))[:KEY_METRICS]
