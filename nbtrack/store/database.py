"""One SQLite file: opening it safely, and short transactions that survive concurrency.

Every write runs in ``BEGIN IMMEDIATE … COMMIT``: the write lock is taken up front, so a
second process waits on the busy timeout instead of failing with "database is locked",
and the commit has reached the WAL file (and so survives a killed process) before the
call returns.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nbtrack.errors import StoreError
from nbtrack.store.schema import APPLICATION_ID, SCHEMA_VERSION, migrate

SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 60.0
LOCK_RETRIES = 20
WAL_CHECKPOINT_PAGES = 8192  # about 32 MB of WAL between checkpoints
WAL_SIZE_LIMIT = 64 * 1024 * 1024


class Database:
    """A connection to one nbtrack store file, shared by the threads of one process.

    Parameters
    ----------
    path
        The SQLite file; created (with the schema) if missing or empty.
    tracer
        Optional ``tracer(sql, params)`` called before each statement, for debugging.
    """

    def __init__(self, path: str | os.PathLike[str], tracer: Callable[..., Any] | None = None):
        self.path = Path(path).expanduser().resolve()
        self.tracer = tracer
        self._lock = threading.RLock()
        self._pid = -1
        self._conn: sqlite3.Connection | None = None
        self._connect()

    # -- opening ----------------------------------------------------------------------

    def _connect(self) -> None:
        _refuse_non_sqlite(self.path)
        if not self.path.parent.is_dir():
            raise StoreError(
                f"cannot create the store {self.path}: folder {self.path.parent} does not "
                "exist; create it or choose another tracking URI",
                path=str(self.path),
            )
        conn = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        try:
            self._check_and_migrate(conn)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            # Checkpoints fsync; a larger WAL between them makes each commit cheaper.
            conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
            conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        except sqlite3.DatabaseError as exc:
            conn.close()
            if isinstance(exc, sqlite3.OperationalError) and _is_lock_error(exc):
                raise StoreError(
                    f"the store {self.path} stayed locked for {BUSY_TIMEOUT_S:.0f} s by "
                    "another process; close the other writer and retry",
                    path=str(self.path),
                ) from exc
            raise _corrupt(self.path, exc) from exc
        if self.tracer is not None:
            conn.set_trace_callback(lambda sql: self.tracer(sql, None))  # type: ignore[misc]
        self._conn = conn
        self._pid = os.getpid()

    def _check_and_migrate(self, conn: sqlite3.Connection) -> None:
        app_id, version = _identity(conn)
        if app_id == APPLICATION_ID and version == SCHEMA_VERSION:
            return
        _refuse_foreign(conn, self.path, app_id, version)
        conn.execute("BEGIN IMMEDIATE")
        try:
            app_id, version = _identity(conn)  # another process may have migrated meanwhile
            if version < SCHEMA_VERSION:
                migrate(conn, version if app_id == APPLICATION_ID else 0)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @property
    def conn(self) -> sqlite3.Connection:
        """The connection, reopened after a fork (a child must not share its parent's)."""
        if self._pid != os.getpid() or self._conn is None:
            self._lock = threading.RLock()
            self._connect()
        assert self._conn is not None
        return self._conn

    def close(self) -> None:
        """Close the connection; the next use reopens it."""
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None

    # -- statements -------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        with self._lock:
            conn = self.conn
            _begin_immediate(conn, self.path)
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            _commit(conn, self.path)

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: one consistent snapshot for several queries."""
        with self._lock:
            conn = self.conn
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")

    def query(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        """Run one read statement and return all rows."""
        with self._lock:
            try:
                return self.conn.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as exc:
                if isinstance(exc, sqlite3.OperationalError):
                    raise
                raise _corrupt(self.path, exc) from exc


def _identity(conn: sqlite3.Connection) -> tuple[int, int]:
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    return app_id, version


def _refuse_non_sqlite(path: Path) -> None:
    if not path.exists() or path.stat().st_size == 0:
        return
    if path.is_dir():
        raise StoreError(
            f"the store {path} is a folder; give the path of a .db file instead",
            path=str(path),
        )
    with path.open("rb") as f:
        header = f.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise StoreError(
            f"{path} is not an nbtrack store (it is not a SQLite database); it was left "
            "untouched. Point the tracking URI at a new or existing nbtrack .db file.",
            path=str(path),
        )


def _refuse_foreign(conn: sqlite3.Connection, path: Path, app_id: int, version: int) -> None:
    if app_id == APPLICATION_ID and version > SCHEMA_VERSION:
        raise StoreError(
            f"the store {path} was written by a newer nbtrack (schema {version}, this "
            f"version knows up to {SCHEMA_VERSION}); upgrade with: pip install -U nbtrack",
            path=str(path),
        )
    if app_id == APPLICATION_ID:
        return
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if app_id != 0 or tables:
        kind = "an MLflow store" if "alembic_version" in tables else "a foreign SQLite database"
        raise StoreError(
            f"{path} is {kind}, not an nbtrack store; it was left untouched. "
            "Point the tracking URI at a new or existing nbtrack .db file.",
            path=str(path),
        )


def _is_lock_error(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


def _retry_locked(step: Callable[[], Any], path: Path) -> None:
    # The busy timeout covers nearly every wait; this loop covers the few cases where
    # SQLite reports SQLITE_BUSY without calling the busy handler (WAL recovery).
    for attempt in range(LOCK_RETRIES):
        try:
            step()
            return
        except sqlite3.OperationalError as exc:
            if not _is_lock_error(exc) or attempt == LOCK_RETRIES - 1:
                raise StoreError(
                    f"could not write to {path}: {exc}; another process holds the store "
                    "locked, close it and retry",
                    path=str(path),
                ) from exc
            time.sleep(0.01 * (attempt + 1))
        except sqlite3.DatabaseError as exc:
            raise _corrupt(path, exc) from exc


def _begin_immediate(conn: sqlite3.Connection, path: Path) -> None:
    try:  # the hot path (every log_metric) tries once before building the retry loop
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.DatabaseError:
        _retry_locked(lambda: conn.execute("BEGIN IMMEDIATE"), path)


def _commit(conn: sqlite3.Connection, path: Path) -> None:
    try:
        conn.execute("COMMIT")
    except sqlite3.DatabaseError:
        _retry_locked(lambda: conn.execute("COMMIT"), path)


def _corrupt(path: Path, exc: Exception) -> StoreError:
    return StoreError(
        f"the store {path} cannot be read ({exc}); it may be corrupt. It was left untouched: "
        "restore it from a backup or point the tracking URI at another file.",
        path=str(path),
    )
