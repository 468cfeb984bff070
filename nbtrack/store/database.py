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
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, NoReturn

from nbtrack.errors import NbtrackError, StoreError
from nbtrack.store.opening import (
    BUSY_TIMEOUT_S,
    check_path,
    connect_read_only,
    inspect,
    is_read_only,
)
from nbtrack.store.schema import APPLICATION_ID, SCHEMA_VERSION, migrate
from nbtrack.store.sqlite_errors import damaged, is_damage, is_lock_error, read_only, translate
from nbtrack.store.wal import FLOOR_BYTES, RESIZE_EVERY, resize_checkpoint

LOCK_RETRIES = 20

# Every open Database, so that a forked child gets fresh locks (see _fresh_locks_in_child).
_OPEN: weakref.WeakSet[Database] = weakref.WeakSet()


class Database:
    """A connection to one nbtrack store file, shared by the threads of one process.

    Parameters
    ----------
    path
        The SQLite file; created (with the schema) if missing or empty. A damaged,
        foreign or newer store is refused before anything is written to it; a store whose
        file or folder is not writable is opened read-only (:attr:`read_only`).
    tracer
        Optional ``tracer(sql, params)`` called before each statement, for debugging.
    """

    def __init__(self, path: str | os.PathLike[str], tracer: Callable[..., Any] | None = None):
        self.path = Path(path).expanduser().resolve()
        self.tracer = tracer
        self.read_only = False
        self._damage: str | None = None  # what a statement found damaged, once it did
        self._lock = threading.RLock()
        self._pid = -1
        self._conn: sqlite3.Connection | None = None
        self._file_id: tuple[int, int] | None = None  # (st_dev, st_ino) of the file open
        self._commits = 0
        self._connect()
        _OPEN.add(self)

    # -- opening ----------------------------------------------------------------------

    def _connect(self) -> None:
        check_path(self.path)
        app_id, version = inspect(self.path)
        self.read_only = is_read_only(self.path)
        conn = self._open_read_only(app_id, version) if self.read_only else self._open_read_write()
        if self.tracer is not None:
            conn.set_trace_callback(lambda sql: self.tracer(sql, None))  # type: ignore[misc]
        self._conn = conn
        self._pid = os.getpid()
        self._file_id = _file_id(self.path)

    def _open_read_only(self, app_id: int, version: int) -> sqlite3.Connection:
        if app_id != APPLICATION_ID or version != SCHEMA_VERSION:
            raise StoreError(
                f"the store {self.path} is read-only and needs its schema upgraded (from "
                f"{version} to {SCHEMA_VERSION}) before this nbtrack can read it; copy it "
                "to a writable folder and open it there once",
                path=str(self.path),
            )
        try:
            return connect_read_only(self.path)
        except sqlite3.DatabaseError as exc:
            raise _translated(exc, self.path) from exc

    def _open_read_write(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise _translated(exc, self.path) from exc
        try:
            self._check_and_migrate(conn)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            # The WAL stays smaller than the data (nbtrack/store/wal.py).
            resize_checkpoint(conn)
            conn.execute(f"PRAGMA journal_size_limit = {FLOOR_BYTES}")
        except sqlite3.Error as exc:
            conn.close()
            if is_lock_error(exc):
                raise StoreError(
                    f"the store {self.path} stayed locked for {BUSY_TIMEOUT_S:.0f} s by "
                    "another process; close the other writer and retry",
                    path=str(self.path),
                ) from exc
            raise _translated(exc, self.path) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _check_and_migrate(self, conn: sqlite3.Connection) -> None:
        app_id, version = _identity(conn)
        if app_id == APPLICATION_ID and version == SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            app_id, version = _identity(conn)  # another process may have migrated meanwhile
            if app_id not in (0, APPLICATION_ID) or version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} changed while it was opened and is no longer an nbtrack "
                    "store of this version; it was left untouched",
                    path=str(self.path),
                )
            if version < SCHEMA_VERSION:
                migrate(conn, version if app_id == APPLICATION_ID else 0)
            conn.execute("COMMIT")
        except BaseException:
            _rollback_quietly(conn)
            raise

    def open_reader(self) -> sqlite3.Connection:
        """A new connection for reading only (the panels' own), read-only when the store is."""
        if self.read_only:
            return connect_read_only(self.path)
        return sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )

    @property
    def conn(self) -> sqlite3.Connection:
        """The connection, reopened after a fork (a child must not share its parent's)."""
        if self._pid != os.getpid() or self._conn is None:
            self._connect()
        assert self._conn is not None
        return self._conn

    @property
    def file_id(self) -> tuple[int, int] | None:
        """``(st_dev, st_ino)`` of the file open: other connections to it compare theirs."""
        return self._file_id

    def reopen_if_replaced(self) -> bool:
        """Reopen :attr:`path` if the file open was deleted or replaced since it was opened.

        SQLite keeps reading and writing a file deleted under it (its inode lives on while
        open), so without this a notebook that deletes its store and runs again would go on
        filling the invisible old file. The new file is opened as any store is: created
        with the schema when missing. Costs one ``stat``: call it where work begins (a run
        starts, a client is made), not for every statement.

        Returns
        -------
        bool
            Whether the store was reopened.

        Raises
        ------
        StoreError
            The path can no longer hold a store (its folder was deleted, say).
        """
        if self._conn is None or _file_id(self.path) == self._file_id:
            return False
        with self._lock:
            if self._conn is None or _file_id(self.path) == self._file_id:
                return False  # another thread reopened it meanwhile
            self.close()
            self._connect()
            return True

    def close(self) -> None:
        """Close the connection; the next use reopens it."""
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None

    # -- statements -------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed when the block ends, rolled back if it raises.

        Raises
        ------
        ReadOnlyStore
            The store was opened read-only.
        DamagedStore
            The store is damaged (found at open or by an earlier statement).
        """
        with self._lock:
            if self.read_only:
                raise read_only(self.path)
            if self._damage is not None:
                raise damaged(self.path, self._damage)
            conn = self.conn
            try:
                _begin_immediate(conn, self.path)
                yield conn
                _commit(conn, self.path)
            except BaseException as exc:
                if conn.in_transaction:
                    _rollback_quietly(conn)
                self._raise_translated(exc)
            self._commits += 1
            if self._commits % RESIZE_EVERY == 0:
                resize_checkpoint(conn)

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: one consistent snapshot for several queries."""
        with self._lock:
            conn = self.conn
            try:
                conn.execute("BEGIN")
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    _rollback_quietly(conn)
                self._raise_translated(exc)

    def query(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        """Run one read statement and return all rows."""
        with self._lock:
            try:
                return self.conn.execute(sql, params).fetchall()
            except (sqlite3.Error, OverflowError, UnicodeEncodeError) as exc:
                self._raise_translated(exc)

    def _raise_translated(self, exc: BaseException) -> NoReturn:
        """Raise the nbtrack error for what a statement raised; remember damage for writes."""
        if isinstance(exc, sqlite3.Error) and is_damage(exc):
            self._damage = str(exc)
        translated = None if isinstance(exc, NbtrackError) else translate(exc, self.path)
        if translated is None:
            raise exc
        raise translated from exc


def _file_id(path: Path) -> tuple[int, int] | None:
    """What tells one file from another at the same path: (device, inode); None if absent."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _identity(conn: sqlite3.Connection) -> tuple[int, int]:
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    return app_id, version


def _retry_locked(step: Callable[[], Any], path: Path) -> None:
    # The busy timeout covers nearly every wait; this loop covers the few cases where
    # SQLite reports SQLITE_BUSY without calling the busy handler (WAL recovery).
    for attempt in range(LOCK_RETRIES):
        try:
            step()
            return
        except sqlite3.Error as exc:
            if not is_lock_error(exc):
                raise  # the caller translates it (and notes damage)
            if attempt == LOCK_RETRIES - 1:
                raise _translated(exc, path) from exc
            time.sleep(0.01 * (attempt + 1))


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


def _rollback_quietly(conn: sqlite3.Connection) -> None:
    # SQLite may already have rolled back (after a full disk or an I/O error); a failing
    # ROLLBACK must not hide the error that caused it.
    with suppress(sqlite3.Error):
        conn.execute("ROLLBACK")


def _translated(exc: BaseException, path: Path) -> BaseException:
    return translate(exc, path) or exc


def _fresh_locks_in_child() -> None:
    """Give each Database a new lock in a forked child, before any code of it runs.

    A lock another thread held at the fork (the async writer, say) is held for good in
    the child, where that thread does not exist: taking it would hang.
    """
    for db in list(_OPEN):
        db._lock = threading.RLock()


os.register_at_fork(after_in_child=_fresh_locks_in_child)
