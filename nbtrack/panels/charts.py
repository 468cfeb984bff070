"""The chart widgets every panel draws with, and the one library they share.

The drawing code (``widgets/charts*.js``, plain SVG) reaches the page once per page load:
it is the state of a single ``ChartLibrary`` model per kernel, which every ``Chart``
references. A chart's own state is a 1 KB loader (``widgets/chart.js``) plus its data: the
first chart view imports the library from that model (cached in the page by its digest),
later ones reuse it. A chart is always created with its data (``kind``, ``data``,
``layout`` given to the constructor), never drawn empty and filled afterwards.

Works offline, on Binder and from a saved notebook reopened with a kernel: nothing is
fetched from the network, and a page reload restores the library model with the others.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Callable, Iterable
from typing import Any, Literal

import anywidget
import ipywidgets
import traitlets

from nbtrack.panels.assets import widget_file

ChartKind = Literal["lines", "bars", "parcoords"]
# the library's files, joined into one ES module (helpers and the entry point first)
LIBRARY_FILES = ("charts.js", "charts_lines.js", "charts_bars.js")


class ChartLibrary(ipywidgets.Widget):
    """The chart library's code and CSS, sent to the page once and shared by every chart.

    A plain widget model (no view): charts name it in their ``library`` trait, and the
    first chart view on a page imports ``code`` as an ES module.
    """

    code = traitlets.Unicode("").tag(sync=True)
    css = traitlets.Unicode("").tag(sync=True)
    digest = traitlets.Unicode("").tag(sync=True)


_library: ChartLibrary | None = None
_library_lock = threading.Lock()


def shared_library() -> ChartLibrary:
    """The kernel's chart library model (created on first use, again if it was closed)."""
    global _library
    with _library_lock:
        if _library is None or _library.comm is None:
            code = "\n".join(widget_file(f).read_text(encoding="utf-8") for f in LIBRARY_FILES)
            css = widget_file("charts.css").read_text(encoding="utf-8")
            digest = hashlib.sha256((code + css).encode("utf-8")).hexdigest()[:16]
            _library = ChartLibrary(code=code, css=css, digest=digest)
        return _library


class Chart(anywidget.AnyWidget):
    """One chart: what it draws (``kind``), its data and its layout, all synced.

    Parameters
    ----------
    kind
        ``"lines"`` (series of x/y points), ``"bars"`` (one small chart per metric, one
        bar per run) or ``"parcoords"`` (parallel coordinates; see ``ParallelChart``).
    data
        What is drawn; non-finite numbers are sent as missing values.
    layout
        Size and titles (``width``, ``height``, ``title``, ``x_title``, ``y_title``), kept
        in the ``chart_layout`` trait.
    """

    _esm = widget_file("chart.js")

    library = traitlets.Instance(ChartLibrary).tag(sync=True, **ipywidgets.widget_serialization)
    library_digest = traitlets.Unicode("").tag(sync=True)
    kind = traitlets.Unicode("lines").tag(sync=True)
    data = traitlets.Dict().tag(sync=True)
    chart_layout = traitlets.Dict(help="size and titles (``layout`` is the box's)").tag(sync=True)

    def __init__(
        self, kind: ChartKind, data: dict[str, Any], layout: dict[str, Any], **kwargs: Any
    ):
        library = shared_library()
        super().__init__(
            library=library,
            library_digest=library.digest,
            kind=kind,
            data=json_safe(data),
            chart_layout=dict(layout),
            **kwargs,
        )

    def update(self, data: dict[str, Any] | None = None, **layout: Any) -> None:
        """Redraw with new data and/or layout entries; unchanged values are not resent."""
        with self.hold_sync():
            if data is not None:
                safe = json_safe(data)
                if safe != self.data:
                    self.data = safe
            if layout and any(self.chart_layout.get(k) != v for k, v in layout.items()):
                self.chart_layout = {**self.chart_layout, **layout}


class ParallelChart(Chart):
    """Parallel coordinates whose brushes (data units) are synced with the browser.

    Its ``data`` holds ``ids`` and ``names`` of the runs and ``axes``: each a ``label``, a
    ``scale`` (``linear``, ``log`` or ``category`` with its ``categories``) and one value
    per run (the category's index for categorical axes).
    """

    brushes = traitlets.Dict().tag(sync=True)
    color_by = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self, data: dict[str, Any], layout: dict[str, Any], color_by: str = "", **kwargs: Any
    ):
        super().__init__("parcoords", data, layout, color_by=color_by, **kwargs)
        self._click_handlers: list[Callable[[str], None]] = []
        self.on_msg(self._on_msg)

    def on_run_click(self, handler: Callable[[str], None]) -> None:
        """Call ``handler(run_id)`` when a run's line is clicked in the browser."""
        self._click_handlers.append(handler)

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("event") == "click":
            run_id = content.get("run_id")
            if isinstance(run_id, str):
                for handler in self._click_handlers:
                    handler(run_id)


def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities as None (the browser's JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def finite_list(values: Iterable[float | None]) -> list[float | None]:
    """Numbers as a list, non-finite ones as None."""
    return [v if v is not None and math.isfinite(v) else None for v in values]
