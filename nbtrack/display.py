"""How values read to a person, the same in panels, cards, the CLI and cell summaries.

Durations (``850 ms``, ``12.3 s``, ``4 min 05 s``, ``2 h 03 min``), sizes in binary units
(``512 B``, ``1.5 KiB``, ``3.2 MiB``), numbers to six significant digits (four in panels),
and times in the local zone with the zone shown (``2026-12-01 14:05:12 UTC``,
``2026-12-01 15:05:12 UTC+01:00``).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

NUMBER_DIGITS = 6  # the CLI, cards: exact enough to compare runs by
SHORT_DIGITS = 4  # panels and cell summaries, as the live run table (widgets/runs.js)


def duration_ms(ms: float) -> str:
    """A span of milliseconds: ``850 ms``, ``12.3 s``, ``4 min 05 s``, ``2 h 03 min``."""
    ms = max(ms, 0)
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    minutes, seconds = divmod(int(ms / 1000 + 0.5), 60)  # halves up, as widgets/runs.js
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def run_duration(start_ms: int | None, end_ms: int | None) -> str:
    """How long a run took (empty while it has no end)."""
    if start_ms is None or end_ms is None:
        return ""
    return duration_ms(end_ms - start_ms)


def size(size_bytes: int | None) -> str:
    """A size in bytes in binary units: ``512 B``, ``1.5 KiB``, ``3.2 MiB`` (empty if None)."""
    if size_bytes is None:
        return ""
    if size_bytes < 1024:
        return f"{size_bytes} B"
    amount = size_bytes / 1024
    for unit in ("KiB", "MiB"):
        if amount < 1024:
            return f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} GiB"


def number(value: float, digits: int = NUMBER_DIGITS) -> str:
    """A metric value to ``digits`` significant digits (``nan``, ``inf``, ``-inf``)."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}g}"


def value(item: object, digits: int = SHORT_DIGITS) -> str:
    """A param, metric or tag value in a table: floats as :func:`number`, the rest as text."""
    if item is None:
        return ""
    if isinstance(item, float):
        return number(item, digits)
    return str(item)


def zone_name(moment: datetime) -> str:
    """``UTC`` or ``UTC+01:00``: the zone of an aware datetime, as an offset from UTC."""
    offset = moment.utcoffset() or timedelta(0)
    if not offset:
        return "UTC"
    sign = "+" if offset > timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def timestamp(ms: int | None) -> str:
    """Milliseconds since the epoch as a local date and time with its zone ('' if None)."""
    if ms is None:
        return ""
    moment = datetime.fromtimestamp(ms / 1000).astimezone()
    return f"{moment:%Y-%m-%d %H:%M:%S} {zone_name(moment)}"
