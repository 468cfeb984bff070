"""Static renderings of the panels, for where no widget manager runs.

nbviewer, GitHub's notebook preview and an exported HTML file show the ``text/html`` of a
panel's ``_repr_mimebundle_``; a terminal IPython shows its ``text/plain``. Both are built
here from the same data the live panels show. The HTML is self-contained (inline styles
only, no script) so it survives sanitizing previews.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from nbtrack import display

if TYPE_CHECKING:
    from nbtrack.panels.rows import TableContent

MAX_TEXT_COLUMNS = 8
_CELL = "padding:2px 8px;border-bottom:1px solid #ddd;text-align:left;white-space:nowrap"
_HEAD = _CELL + ";background:#f3f4f6;font-weight:600"
STATUS_COLORS = {
    "RUNNING": "#2563eb",
    "SCHEDULED": "#6b7280",
    "FINISHED": "#15803d",
    "FAILED": "#b91c1c",
    "KILLED": "#b45309",
}


def esc(value: object) -> str:
    """HTML-escape any value's text."""
    return html.escape("" if value is None else str(value))


def badge(status: str) -> str:
    """A run status as a coloured label."""
    color = STATUS_COLORS.get(status, "#6b7280")
    return (
        f'<span style="color:{color};border:1px solid {color};border-radius:8px;'
        f'padding:0 6px;font-size:85%">{esc(status)}</span>'
    )


def html_table(header: Sequence[str], body: Iterable[Sequence[str]], raw: bool = False) -> str:
    """An HTML table; cells are escaped unless ``raw`` (then they are HTML already)."""
    head = "".join(f'<th style="{_HEAD}">{esc(h)}</th>' for h in header)
    rows = "".join(
        "<tr>" + "".join(f'<td style="{_CELL}">{c if raw else esc(c)}</td>' for c in row) + "</tr>"
        for row in body
    )
    return (
        '<table style="border-collapse:collapse;font-size:13px">'
        f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    )


def text_table(header: Sequence[str], body: Iterable[Sequence[str]]) -> str:
    """A plain-text table with aligned columns."""
    rows = [list(header), *[list(r) for r in body]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def heading(title: str, note: str = "") -> str:
    """A panel heading with an optional grey note."""
    extra = f' <span style="color:#6b7280;font-weight:normal">{esc(note)}</span>' if note else ""
    return f'<div style="font-weight:600;margin:4px 0">{esc(title)}{extra}</div>'


# -- run table ----------------------------------------------------------------------------


def _cell_values(col: dict[str, Any], row: dict[str, Any]) -> str:
    group, key = col["group"], col["key"]
    if group == "attributes":
        kids = row.get("children", 0)
        note = f" ({kids} child run{'s' if kids != 1 else ''})" if kids else ""
        note += " [context: its child runs match]" if row.get("context") else ""
        return {
            "run_name": "  " * row["depth"] + str(row["name"]) + note,
            "status": row["status"],
            "start_time": display.timestamp(row["start"]),
            "duration": display.run_duration(row["start"], row["end"]),
            "user_id": row["user"],
            "source": row["source"],
        }[key]
    return display.value(row[{"params": "p", "metrics": "m", "tags": "t"}[group]].get(key))


def _runs_summary(content: TableContent, filter_string: str) -> str:
    summary = f"{content.total} runs"
    if filter_string:
        summary += f" matching {filter_string}"
    return summary


def runs_html(content: TableContent, filter_string: str = "") -> str:
    """The run table's current page as HTML."""
    runs = [r for r in content.rows if "id" in r]
    cols = content.columns
    header = [
        c["label"] if c["group"] == "attributes" else f"{c['group']}.{c['key']}" for c in cols
    ]
    body = []
    for row in runs:
        cells = [esc(_cell_values(c, row)) for c in cols]
        cells[[c["key"] for c in cols].index("status")] = badge(row["status"])
        body.append(cells)
    shown = f"showing {len(runs)}" if len(runs) < content.total else ""
    return (
        '<div class="nbtrack-static">'
        + heading(
            "nbtrack runs",
            " · ".join(x for x in (_runs_summary(content, filter_string), shown) if x),
        )
        + html_table(header, body, raw=True)
        + "</div>"
    )


def runs_text(content: TableContent, filter_string: str = "") -> str:
    """The run table's current page as plain text (the first few columns)."""
    runs = [r for r in content.rows if "id" in r]
    keep = [c for c in content.columns if c["key"] not in ("user_id", "source")]
    keep = keep[:MAX_TEXT_COLUMNS]
    header = [
        c["label"] if c["group"] == "attributes" else f"{c['group']}.{c['key']}" for c in keep
    ]
    body = [[_cell_values(c, row) for c in keep] for row in runs]
    failed = [f"  {row['name']}: {row['error']}" for row in runs if row.get("error")]
    errors = "\n\nFailed runs:\n" + "\n".join(failed) if failed else ""
    return _runs_summary(content, filter_string) + "\n" + text_table(header, body) + errors
