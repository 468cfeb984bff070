"""How every ``nbtrack`` command prints: aligned tables for people, JSON for machines.

Tables truncate long values, show times as local datetimes and end with a one-line
summary ("3 runs"). JSON keeps full values and times in milliseconds since the epoch;
NaN and ±inf are written ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (the proto3 JSON
mapping MLflow's REST API uses), so the output is strict JSON that any parser reads.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import click

from nbtrack import display
from nbtrack.entities import Experiment, FileInfo, Run

ELLIPSIS = "…"
DEFAULT_WIDTH = 40
PIPE_WIDTH = 100  # the line length long values are cut to when not printing to a terminal


@dataclass(frozen=True)
class Column:
    """A table column: its header, widest cell (None: never truncated) and alignment."""

    header: str
    max_width: int | None = DEFAULT_WIDTH
    align: Literal["left", "right"] = "left"


def echo_json(value: Any) -> None:
    """Print a value as indented, strict JSON."""
    click.echo(json.dumps(_finite(value), indent=2, ensure_ascii=False))


def echo_table(columns: Sequence[Column], rows: Iterable[Sequence[Any]], summary: str) -> None:
    """Print rows as an aligned table (nothing but the summary when there are no rows)."""
    table = render_table(columns, rows)
    if table:
        click.echo(table)
    click.echo(summary)


def echo_fields(pairs: Iterable[tuple[str, Any]], cut: bool = True) -> None:
    """Print indented ``name  value`` lines, values aligned (and cut to the line if ``cut``)."""
    names = [(cell(name, DEFAULT_WIDTH), value) for name, value in pairs]
    width = max((len(name) for name, _ in names), default=0)
    line = terminal_width() or PIPE_WIDTH
    room = max(line - width - 4, DEFAULT_WIDTH) if cut else None
    for name, value in names:
        click.echo(f"  {name.ljust(width)}  {cell(value, room)}".rstrip())


def terminal_width() -> int | None:
    """The terminal's width in characters, or None when the output is not a terminal."""
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


def render_table(columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> str:
    """Render rows as a header, a rule, then one line per row (empty if no rows)."""
    cells = [
        [cell(value, col.max_width) for value, col in zip(row, columns, strict=True)]
        for row in rows
    ]
    if not cells:
        return ""
    widths = [
        max(len(col.header), *(len(row[i]) for row in cells)) for i, col in enumerate(columns)
    ]

    def line(values: Sequence[str]) -> str:
        padded = (
            v.rjust(w) if col.align == "right" else v.ljust(w)
            for v, w, col in zip(values, widths, columns, strict=True)
        )
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line([c.header for c in columns]), rule, *(line(r) for r in cells)])


def cell(value: Any, max_width: int | None = DEFAULT_WIDTH) -> str:
    """Render a value as one line of at most ``max_width`` characters."""
    if value is None:
        text = ""
    elif isinstance(value, float):
        text = display.number(value)
    else:
        text = " ".join(str(value).split())  # newlines and tabs would break the rows
    if max_width is not None and len(text) > max_width:
        return text[: max_width - 1] + ELLIPSIS
    return text


def count(n: int, noun: str) -> str:
    """``1 run``, ``3 runs``, ``0 experiments``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def run_json(run: Run) -> dict[str, Any]:
    """Shape a run as MLflow's ``Run.to_dictionary`` does, plus its dataset inputs."""
    data = run.to_dictionary()
    data["inputs"] = {
        "dataset_inputs": [
            {
                "dataset": {
                    "name": d.dataset.name,
                    "digest": d.dataset.digest,
                    "source_type": d.dataset.source_type,
                    "source": d.dataset.source,
                    "schema": d.dataset.schema,
                    "profile": d.dataset.profile,
                },
                "tags": {t.key: t.value for t in d.tags},
            }
            for d in run.inputs.dataset_inputs
        ]
    }
    return data


def experiment_json(experiment: Experiment) -> dict[str, Any]:
    """Shape an experiment as a dict of every field, times in milliseconds."""
    return {
        "experiment_id": experiment.experiment_id,
        "name": experiment.name,
        "artifact_location": experiment.artifact_location,
        "lifecycle_stage": experiment.lifecycle_stage,
        "tags": dict(experiment.tags),
        "creation_time": experiment.creation_time,
        "last_update_time": experiment.last_update_time,
    }


def file_json(info: FileInfo) -> dict[str, Any]:
    """Shape an artifact entry as ``list_artifacts`` reports it."""
    return {"path": info.path, "is_dir": info.is_dir, "file_size": info.file_size}


def _finite(value: Any) -> Any:
    """Spell NaN and ±inf floats inside a value as proto3 JSON strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
