"""Shared SQL helpers of the store: placeholders, chunked IN queries, paging, time."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from nbtrack.errors import ExperimentNotFound, InvalidParameter

if TYPE_CHECKING:
    from nbtrack.store.database import Database


def now_ms() -> int:
    """Milliseconds since the epoch, MLflow's unit of time."""
    return time.time_ns() // 1_000_000


def experiment_int(experiment_id: object) -> int:
    """An experiment id as the integer stored; an error naming a non-numeric id."""
    try:
        number = int(str(experiment_id))
    except ValueError:
        number = None
    if number is not None and -(2**63) <= number < 2**63:
        return number
    raise ExperimentNotFound(
        f"experiment id must be a 64-bit number such as '0' (found {str(experiment_id)[:40]!r}); "
        "to look up by name use get_experiment_by_name",
        experiment_id=experiment_id,
    )


def marks(items: Sequence[object]) -> str:
    """``?, ?, ?`` for an IN list (``NULL`` when empty, which matches nothing)."""
    return ", ".join("?" * len(items)) or "NULL"


CHUNK = 900  # stays under SQLite's default limit of bound variables


def chunks(items: list) -> Iterable[list]:
    """Slices small enough to bind as parameters of one statement."""
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def fetch_in(
    c: sqlite3.Connection,
    select: str,
    column: str,
    values: Sequence[object],
    prefix_args: tuple = (),
) -> list[tuple]:
    """Run ``select … WHERE column IN (values)`` in chunks; ``select`` may end in AND."""
    joiner = " " if select.rstrip().endswith("AND") else " WHERE "
    rows: list[tuple] = []
    for chunk in chunks(list(values)):
        rows += c.execute(
            f"{select}{joiner}{column} IN ({marks(chunk)})", (*prefix_args, *chunk)
        ).fetchall()
    return rows


def page_limit(max_results: int | None) -> int:
    """The page size a ``max_results`` asks for (no limit for None)."""
    if max_results is None:
        return 2**62
    if not isinstance(max_results, int) or max_results <= 0:
        raise InvalidParameter(
            f"max_results must be a positive whole number (found {max_results!r})"
        )
    return max_results


def encode_page_token(offset: int) -> str:
    """The page token of the page starting at ``offset`` (MLflow's base64 JSON form)."""
    import base64  # with struct: only paged searches need it

    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_page_token(token: str | None) -> int:
    """The offset a page token stands for; an error naming the token if it is not one."""
    if not token:
        return 0
    import base64

    try:
        offset = json.loads(base64.b64decode(token))["offset"]
        if isinstance(offset, int) and offset >= 0:
            return offset
    except (ValueError, KeyError, TypeError):
        pass
    raise InvalidParameter(
        f"invalid page_token {token!r}; pass the token of the previous page unchanged"
    )


def page_of_ids(
    db: Database, select: str, args: list[object], max_results: int | None, token: str | None
) -> tuple[list[Any], str | None]:
    """One page of ids from ``select`` (which ends in ``LIMIT ? OFFSET ?``), and the next token.

    One row more than the page is read, so the last page knows it is the last.
    """
    offset = decode_page_token(token)
    limit = page_limit(max_results)
    ids = [row[0] for row in db.query(select, [*args, limit + 1, offset])]
    return ids[:limit], encode_page_token(offset + limit) if len(ids) > limit else None
