"""What is checked before a store file is used, without changing a byte of it.

In order: the path names a regular file (not a device, FIFO or folder) or nothing; a
non-empty file starts with SQLite's header; then a read-only connection reads its identity
(``application_id``, ``user_version``), refuses a foreign database, a newer nbtrack's store
or a store missing one of its tables, and looks for damage: the first page of every table
and index is read, and a store of up to :data:`FULL_CHECK_BYTES` gets SQLite's whole
``quick_check`` (about 2 ms a megabyte). Only then does nbtrack open the file to write.

A store whose file or folder cannot be written (a read-only mount, a folder of another
user) is opened read-only instead: reading works, writing raises
:class:`~nbtrack.errors.ReadOnlyStore`.
"""

from __future__ import annotations

import os
import re
import sqlite3
import stat
from pathlib import Path
from urllib.parse import quote

from nbtrack.errors import StoreError
from nbtrack.store.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION
from nbtrack.store.sqlite_errors import damaged, is_damage, is_lock_error

SQLITE_HEADER = b"SQLite format 3\x00"
FULL_CHECK_BYTES = 32 * 1024 * 1024
BUSY_TIMEOUT_S = 60.0
SIDE_SUFFIXES = ("-wal", "-shm")


def check_path(path: Path) -> None:
    """Refuse a path that cannot hold a store: not a regular file, or not SQLite."""
    try:
        info = path.stat()
    except FileNotFoundError:
        _check_new_store_folder(path)
        return
    except OSError as error:
        raise StoreError(
            f"the store {path} cannot be examined ({error}); check the path and its folder",
            path=str(path),
        ) from error
    if stat.S_ISDIR(info.st_mode):
        raise StoreError(
            f"the store {path} is a folder; give the path of a .db file instead",
            path=str(path),
        )
    if not stat.S_ISREG(info.st_mode):
        raise StoreError(
            f"{path} is not a regular file (it is a device, FIFO or socket); it was left "
            "untouched. Point the tracking URI at a .db file.",
            path=str(path),
        )
    if info.st_size == 0:
        _check_new_store_folder(path)
        return
    with path.open("rb") as f:
        header = f.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise StoreError(
            f"{path} is not an nbtrack store (it is not a SQLite database); it was left "
            "untouched. Point the tracking URI at a new or existing nbtrack .db file.",
            path=str(path),
        )


def _check_new_store_folder(path: Path) -> None:
    folder = path.parent
    if not folder.is_dir():
        raise StoreError(
            f"cannot create the store {path}: folder {folder} does not exist; create it or "
            "choose another tracking URI",
            path=str(path),
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StoreError(
            f"cannot create the store {path}: folder {folder} is not writable (read-only "
            "medium or another user's folder); choose another tracking URI",
            path=str(path),
        )


def is_read_only(path: Path) -> bool:
    """Whether an existing store must be opened read-only (file or folder not writable)."""
    exists = path.exists() and path.stat().st_size > 0
    return exists and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def reader_uri(path: Path, immutable: bool = False) -> str:
    """The ``file:`` URI that opens a store read-only (``immutable`` when nothing can change)."""
    mode = "immutable=1" if immutable else "mode=ro"
    return f"file:{quote(str(path))}?{mode}"


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection; on a read-only medium without a WAL, an immutable one.

    SQLite needs the ``-shm`` file of a WAL store even to read; when it is missing and
    cannot be created (a read-only mount), the file is opened as immutable, which is
    exact as long as there is no ``-wal`` holding commits.
    """
    conn = sqlite3.connect(
        reader_uri(path), uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None,
        check_same_thread=False,
    )  # fmt: skip
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError as error:
        conn.close()
        wal = Path(f"{path}-wal")
        if is_lock_error(error) or (wal.exists() and wal.stat().st_size > 0):
            raise
    return sqlite3.connect(
        reader_uri(path, immutable=True), uri=True, isolation_level=None,
        check_same_thread=False,
    )  # fmt: skip


def inspect(path: Path) -> tuple[int, int]:
    """Read an existing store's identity and refuse it if foreign, newer or damaged.

    Returns
    -------
    tuple of int
        ``(application_id, user_version)``; ``(0, 0)`` for a file that does not exist or is
        empty (a new store).

    Raises
    ------
    StoreError
        The file is another application's database, an MLflow store, a newer nbtrack's
        store; :class:`~nbtrack.errors.DamagedStore` if it is damaged or lost a table.
    """
    if not path.exists() or path.stat().st_size == 0:
        return 0, 0
    existed = {suffix: Path(f"{path}{suffix}").exists() for suffix in SIDE_SUFFIXES}
    refused = True
    try:
        conn = connect_read_only(path)
        try:
            identity = _inspect(conn, path)
        finally:
            conn.close()
        refused = False
        return identity
    except sqlite3.DatabaseError as error:
        if is_lock_error(error):
            raise StoreError(
                f"the store {path} stayed locked for {BUSY_TIMEOUT_S:.0f} s by another "
                "process; close the other writer and retry",
                path=str(path),
            ) from error
        raise damaged(path, str(error)) from error
    finally:
        if refused:
            _remove_side_files_we_made(path, existed)


def _inspect(conn: sqlite3.Connection, path: Path) -> tuple[int, int]:
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    objects = conn.execute(
        "SELECT type, name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"
    ).fetchall()
    tables = {name for kind, name, _ in objects if kind == "table"}
    _refuse_foreign(path, app_id, version, tables)
    current = app_id == APPLICATION_ID and version == SCHEMA_VERSION
    if current and (missing := sorted(expected_tables() - tables)):
        raise damaged(path, f"table {missing[0]} is missing")
    _look_for_damage(conn, path, objects)
    return app_id, version


def _refuse_foreign(path: Path, app_id: int, version: int, tables: set[str]) -> None:
    if app_id == APPLICATION_ID and version > SCHEMA_VERSION:
        raise StoreError(
            f"the store {path} was written by a newer nbtrack (schema {version}, this "
            f"version knows up to {SCHEMA_VERSION}); upgrade with: pip install -U nbtrack",
            path=str(path),
        )
    if app_id != APPLICATION_ID and (app_id != 0 or tables):
        kind = "an MLflow store" if "alembic_version" in tables else "a foreign SQLite database"
        raise StoreError(
            f"{path} is {kind}, not an nbtrack store; it was left untouched. "
            "Point the tracking URI at a new or existing nbtrack .db file.",
            path=str(path),
        )


def _look_for_damage(conn: sqlite3.Connection, path: Path, objects: list[tuple]) -> None:
    """Read the first rows of every table and index; the whole file when it is small."""
    try:
        for kind, name, table in objects:
            if kind == "table":
                conn.execute(f'SELECT * FROM "{name}" LIMIT 1').fetchall()
            elif not name.startswith("sqlite_autoindex"):
                conn.execute(f'SELECT 1 FROM "{table}" INDEXED BY "{name}" LIMIT 1').fetchall()
        if path.stat().st_size <= FULL_CHECK_BYTES:
            problems = [row[0] for row in conn.execute("PRAGMA quick_check(3)")]
            if problems != ["ok"]:
                raise damaged(path, "; ".join(problems))
    except sqlite3.DatabaseError as error:
        if is_damage(error):
            raise damaged(path, str(error)) from error
        raise


def expected_tables() -> set[str]:
    """The tables every store of the current schema has."""
    return set(re.findall(r"CREATE TABLE (\w+)", "\n".join(MIGRATIONS)))


def _remove_side_files_we_made(path: Path, existed: dict[str, bool]) -> None:
    """Remove an empty ``-wal`` (and its ``-shm``) that inspecting a refused file created."""
    wal = Path(f"{path}-wal")
    if existed["-wal"] or not wal.exists() or wal.stat().st_size:
        return
    for suffix in SIDE_SUFFIXES:
        if not existed[suffix]:
            Path(f"{path}{suffix}").unlink(missing_ok=True)
