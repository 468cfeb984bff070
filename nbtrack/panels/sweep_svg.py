"""The sweep's parallel coordinates as a static SVG, drawn in Python (no JavaScript).

A saved notebook opened without a kernel, nbviewer, GitHub and an exported HTML file show
a panel's ``text/html``; this is the sweep's chart in it. The axes are those the live
chart draws (``Axis.to_chart()`` dicts: linear, log or category scales) and the lines are
coloured by the same metric on the same viridis scale. The SVG is embedded as a
``data:`` image, which survives the HTML sanitizers of JupyterLab (untrusted notebooks)
and of notebook previews that strip inline ``<svg>``.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Sequence
from typing import Any
from xml.sax.saxutils import escape

from nbtrack import display

VIRIDIS = (
    "#440154",
    "#472d7b",
    "#3b528b",
    "#2c728e",
    "#21918c",
    "#28ae80",
    "#5ec962",
    "#addc30",
    "#fde725",
)  # the live chart's colour scale (widgets/charts.js)
FADED = "#d1d5db"
FONT = "font-family:system-ui,sans-serif;font-size:11px"
MARGIN = {"l": 70, "r": 120, "t": 48, "b": 24}
MAX_TICKS = 6


def _extent(values: Sequence[float], pad: float = 0.04) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    lo, hi = min(finite), max(finite)
    if lo == hi:
        d = abs(lo) * 0.1 or 1.0
        return lo - d, hi + d
    d = (hi - lo) * pad
    return lo - d, hi + d


def nice_ticks(lo: float, hi: float, count: int = MAX_TICKS) -> list[float]:
    """About ``count`` round values covering [lo, hi] (as the live chart picks them)."""
    if not hi > lo:
        return [lo]
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    ratio = raw / magnitude
    step = (10 if ratio >= 7.5 else 5 if ratio >= 3.5 else 2 if ratio >= 1.5 else 1) * magnitude
    first = math.ceil(lo / step - 1e-9)
    ticks = []
    i = first
    while i * step <= hi + step * 1e-9:
        ticks.append(float(f"{i * step:.12g}"))
        i += 1
    return ticks


def _scale(axis: dict[str, Any], top: float, bottom: float) -> tuple[Callable, list]:
    """An axis's value -> y function and its (value, label) ticks."""
    values = [v for v in axis["values"] if v is not None]
    if axis["scale"] == "category":
        names = list(axis.get("categories", []))
        lo, hi = -0.5, max(0.5, len(names) - 0.5)
        every = max(1, math.ceil(len(names) / 30))
        ticks = [(float(i), n) for i, n in enumerate(names) if i % every == 0]
        transform: Callable[[float], float] = float
    elif axis["scale"] == "log":
        logs = [math.log10(v) for v in values if v > 0]
        lo, hi = _extent(logs)
        distinct = sorted({v for v in values if v > 0})
        if len(distinct) <= 10:
            ticks = [(v, f"{v:.4g}") for v in distinct]
        else:
            exps = range(math.ceil(lo), math.floor(hi) + 1)
            ticks = [(10.0**e, f"{10.0**e:g}") for e in exps]
        transform = math.log10
    else:
        lo, hi = _extent(values)
        ticks = [(t, display.value(t)) for t in nice_ticks(lo, hi)]
        transform = float
    k = (top - bottom) / ((hi - lo) or 1.0)

    def at(v: float) -> float:
        return bottom + (transform(v) - lo) * k

    return at, ticks


def viridis(t: float) -> str:
    """The viridis colour at ``t`` in [0, 1], as ``#rrggbb``."""
    x = max(0.0, min(1.0, t)) * (len(VIRIDIS) - 1)
    i = min(len(VIRIDIS) - 2, int(x))
    f = x - i
    a, b = VIRIDIS[i], VIRIDIS[i + 1]
    rgb = [
        round(int(a[k : k + 2], 16) + (int(b[k : k + 2], 16) - int(a[k : k + 2], 16)) * f)
        for k in (1, 3, 5)
    ]
    return "#" + "".join(f"{c:02x}" for c in rgb)


def parcoords_svg(axes: Sequence[dict[str, Any]], color_by: str = "", width: int = 900) -> str:
    """Parallel coordinates as SVG markup: one line per run, coloured by ``color_by``.

    Parameters
    ----------
    axes
        The axes as the live chart takes them (``label``, ``scale``, ``values``, and
        ``categories`` for categorical axes), one value per run.
    color_by
        The label of the axis whose values colour the lines ('' for one colour).
    width
        The drawing's width in pixels (its height is fixed).
    """
    height = 400
    top, bottom = MARGIN["t"], height - MARGIN["b"]
    left, right = MARGIN["l"], width - MARGIN["r"]
    gap = (right - left) / (len(axes) - 1) if len(axes) > 1 else 0.0
    xs = [left + k * gap if len(axes) > 1 else (left + right) / 2 for k in range(len(axes))]
    scales = [_scale(a, top, bottom) for a in axes]
    colour = next((a for a in axes if a["label"] == color_by), None)
    known = [v for v in colour["values"] if v is not None] if colour else []
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" style="{FONT}">',
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
        *_lines(axes, xs, [at for at, _ in scales], colour["values"] if colour else None),
    ]
    crowded = len(axes) > 1 and gap < 120
    room = max(6, int((gap or width) * (2 if crowded else 1) / 7) - 1)
    for k, axis in enumerate(axes):
        parts += _axis(axis, xs[k], scales[k], top, bottom, room, crowded and k % 2 == 1)
    if colour and known:
        parts.append(_colorbar(color_by, min(known), max(known), right + 40, top, bottom))
    parts.append("</svg>")
    return "".join(parts)


def _lines(
    axes: Sequence[dict[str, Any]],
    xs: Sequence[float],
    ats: Sequence[Callable[[float], float]],
    colours: Sequence[float | None] | None,
) -> list[str]:
    """One path per run; runs without a colour value faded."""
    known = [v for v in colours if v is not None] if colours else []
    cmin, cmax = (min(known), max(known)) if known else (0.0, 1.0)
    paths = []
    for i in range(len(axes[0]["values"]) if axes else 0):
        points, pen = [], "M"
        for k, axis in enumerate(axes):
            v = axis["values"][i]
            if v is None or (axis["scale"] == "log" and not v > 0):
                pen = "M"
                continue
            points.append(f"{pen}{xs[k]:.0f},{ats[k](v):.0f}")  # whole pixels: a smaller file
            pen = "L"
        c = colours[i] if colours else None
        if c is not None:
            stroke = viridis((c - cmin) / (cmax - cmin) if cmax > cmin else 0.5)
        else:
            stroke = FADED if colours else VIRIDIS[3]
        paths.append(f'<path d="{"".join(points)}" stroke="{stroke}"/>')
    return ['<g fill="none" stroke-width="1.2" stroke-opacity="0.8">', *paths, "</g>"]


def _axis(
    axis: dict[str, Any],
    x: float,
    scale: tuple[Callable[[float], float], list],
    top: float,
    bottom: float,
    room: int,
    lower: bool,
) -> list[str]:
    """An axis line, its ticks and labels, and its title (a row lower when ``lower``)."""
    at, ticks = scale
    parts = [f'<line x1="{x}" x2="{x}" y1="{top}" y2="{bottom}" stroke="#6b7280"/>']
    for value, label in ticks:
        y = at(value)
        parts.append(f'<line x1="{x - 4}" x2="{x}" y1="{y:.1f}" y2="{y:.1f}" stroke="#6b7280"/>')
        parts.append(_label(str(label), x - 7, y + 4))
    name = axis["label"]
    title = name if len(name) <= room else name[: room - 1] + "…"
    parts.append(
        f'<text x="{x}" y="{top - 18 - (14 if lower else 0)}" text-anchor="middle" '
        f'font-size="12" fill="#1f2328">{escape(title)}</text>'
    )
    return parts


def _label(text: str, x: float, y: float) -> str:
    """A tick label on a white box, readable over the lines that cross the axis there."""
    w = len(text) * 6.3 + 4
    return (
        f'<rect x="{x - w + 2:.1f}" y="{y - 11:.1f}" width="{w:.1f}" height="13" rx="2" '
        'fill="#fff" fill-opacity="0.85"/>'
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="end" fill="#374151" '
        'stroke="#fff" stroke-width="3" stroke-linejoin="round" paint-order="stroke">'
        f"{escape(text)}</text>"
    )


def _colorbar(title: str, lo: float, hi: float, x: float, top: float, bottom: float) -> str:
    stops = "".join(
        f'<stop offset="{100 * i / (len(VIRIDIS) - 1):.0f}%" stop-color="{c}"/>'
        for i, c in enumerate(VIRIDIS)
    )
    middle = (top + bottom) / 2
    name = title if len(title) <= 30 else title[:29] + "…"
    return (
        f'<defs><linearGradient id="nbc-static-grad" x1="0" x2="0" y1="1" y2="0">{stops}'
        "</linearGradient></defs>"
        f'<rect x="{x}" y="{top}" width="12" height="{bottom - top}" '
        'fill="url(#nbc-static-grad)"/>'
        f'<text x="{x + 16}" y="{top + 8}">{escape(display.value(hi))}</text>'
        f'<text x="{x + 16}" y="{bottom}">{escape(display.value(lo))}</text>'
        f'<text x="{x + 62}" y="{middle}" text-anchor="middle" font-size="12" '
        f'transform="rotate(-90 {x + 62} {middle})">{escape(name)}</text>'
    )


def as_image(svg: str, alt: str) -> str:
    """The SVG as an ``<img>`` with a ``data:`` URI (what sanitizers let through)."""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return (
        f'<img alt="{escape(alt, {chr(34): "&quot;"})}" '
        f'src="data:image/svg+xml;base64,{data}" style="max-width:100%;height:auto"/>'
    )
