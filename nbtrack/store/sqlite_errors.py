"""Every ``sqlite3`` error turned into the nbtrack error that says what happened and what to do.

SQLite reports a handful of conditions a user can act on: another process holds the lock,
the disk is full, the medium is read-only, the file is damaged, a request exceeds one of
SQLite's limits. Each becomes one :class:`~nbtrack.errors.NbtrackError` whose message names
the store and the fix; nothing raw reaches the user.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from nbtrack.errors import (
    DamagedStore,
    InvalidParameter,
    NbtrackError,
    ReadOnlyStore,
    StoreError,
)

# SQLite's primary result codes (https://sqlite.org/rescode.html)
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
SQLITE_TOOBIG = 18
SQLITE_NOTADB = 26
# Messages of SQLITE_ERROR that mean "the request is beyond one of SQLite's limits".
_LIMIT_MESSAGES = (
    "too many sql variables",
    "expression tree is too large",
    "pattern too complex",
    "too many terms in compound select",
    "too many columns",
    "string or blob too big",
    "too many arguments",
)
_DAMAGE_MESSAGES = ("malformed", "not a database", "no such table")


def primary_code(exc: sqlite3.Error) -> int:
    """SQLite's primary result code of an error (0 when the driver did not give one)."""
    return (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def is_lock_error(exc: sqlite3.Error) -> bool:
    """Whether the error is SQLite saying another connection holds the lock."""
    code = primary_code(exc)
    if code:
        return code in (SQLITE_BUSY, SQLITE_LOCKED)
    text = str(exc)
    return "locked" in text or "busy" in text


def is_damage(exc: sqlite3.Error) -> bool:
    """Whether the error says the file is damaged (or lost part of nbtrack's schema)."""
    if primary_code(exc) in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return True
    text = str(exc).lower()
    return any(m in text for m in _DAMAGE_MESSAGES)


def translate(exc: BaseException, path: Path) -> NbtrackError | None:
    """The nbtrack error for a raw error a statement raised, or None to let it through.

    Parameters
    ----------
    exc
        What the ``sqlite3`` call raised: a ``sqlite3.Error``, or the ``OverflowError`` and
        ``UnicodeEncodeError`` the driver raises for values SQLite cannot hold.
    path
        The store file, named in the message.
    """
    if isinstance(exc, OverflowError):
        return InvalidParameter(
            f"a number is outside the 64-bit integer range SQLite stores ({exc}); "
            f"use a value between {-(2**63)} and {2**63 - 1}"
        )
    if isinstance(exc, UnicodeEncodeError):
        return InvalidParameter(
            "a text value holds a lone surrogate character "
            f"({exc.object[exc.start : exc.end]!r}), which is not valid Unicode and cannot be "
            "stored or looked up; remove it (text.encode('utf-8', 'replace').decode() replaces it)"
        )
    if not isinstance(exc, sqlite3.Error):
        return None
    return _translate_sqlite(exc, path)


def _translate_sqlite(exc: sqlite3.Error, path: Path) -> NbtrackError:
    code = primary_code(exc)
    text = str(exc)
    if is_lock_error(exc):
        return StoreError(
            f"the store {path} stayed locked by another process ({text}); close the other "
            "writer and retry",
            path=str(path),
        )
    if is_damage(exc):
        return damaged(path, text)
    if code == SQLITE_READONLY:
        return read_only(path)
    if code == SQLITE_FULL:
        return StoreError(
            f"the disk holding {path} is full ({text}); nothing was written. Free some "
            "space and retry",
            path=str(path),
        )
    if code == SQLITE_TOOBIG or any(m in text.lower() for m in _LIMIT_MESSAGES):
        return InvalidParameter(
            f"the request is larger than SQLite accepts ({text}); split it into smaller "
            "ones (fewer filter clauses, shorter patterns, smaller batches)"
        )
    if code in (SQLITE_IOERR, SQLITE_CANTOPEN):
        return StoreError(
            f"the store {path} could not be read or written ({text}); check that the disk "
            "is mounted and healthy, then retry",
            path=str(path),
        )
    return StoreError(f"the store {path} refused the operation ({text})", path=str(path))


def damaged(path: Path, detail: str) -> DamagedStore:
    """The error for a damaged store: nothing is written to it, and how to recover."""
    detail = "; ".join(detail.split("\n"))  # SQLite's integrity report spans lines
    return DamagedStore(
        f"the store {path} is damaged ({detail}); nbtrack will not write to it, and left "
        "it untouched. Restore it from a backup, or recover what SQLite can still read "
        f"with: sqlite3 {path} .recover | sqlite3 recovered.db (then point the tracking "
        "URI at recovered.db)",
        path=str(path),
    )


def read_only(path: Path) -> ReadOnlyStore:
    """The error for a write to a store opened read-only."""
    return ReadOnlyStore(
        f"the store {path} is read-only (its file or folder cannot be written): searching, "
        "panels and loading models work, logging does not. Copy the store and its "
        "artifact folder to a writable place to log to it",
        path=str(path),
    )
